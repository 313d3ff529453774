use super::*;
use crate::nn::{Activation, MlpConfig};
use crate::train::test_util::{blobs, TempDir};
use crate::train::Silent;

fn prep() -> Preprocessing {
    Preprocessing {
        format: "csv".into(),
        standardizer: None,
        csv_schema: None,
        image_scale: None,
        target: None,
        test_fraction: 0.2,
        val_fraction: 0.1,
        split_seed: 1,
    }
}

fn model() -> MlpConfig {
    MlpConfig {
        inputs: 4,
        hidden: vec![12, 8],
        outputs: 3,
        activation: Activation::Relu,
        dropout: vec![0.3],
    }
}

fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 7,
        seed: 42,
        lr: 0.01,
        schedule: crate::optim::Schedule::parse("cosine:4").unwrap(),
        ..TrainConfig::default()
    }
}

#[test]
fn resumed_run_is_bit_identical_to_uninterrupted_run() {
    let data = blobs(60);
    let rows: Vec<usize> = (0..50).collect();
    let val: Vec<usize> = (50..60).collect();
    let mut full = Trainer::new(model(), Task::Classification, config(4)).unwrap();
    full.fit(&data, &rows, &val, &mut Silent).unwrap();

    let dir = TempDir::new("resume");
    let mut first = Trainer::new(model(), Task::Classification, config(2)).unwrap();
    first.fit(&data, &rows, &val, &mut Silent).unwrap();
    save_checkpoint(&dir.0, &first, &prep(), None).unwrap();
    drop(first);
    let ck = load_checkpoint(&dir.0).unwrap();
    assert_eq!(ck.state.progress.epochs_done, 2);
    let mut resumed = ck.trainer().unwrap();
    resumed.set_epochs(4);
    resumed.fit(&data, &rows, &val, &mut Silent).unwrap();

    let a: Vec<u32> = full.params().flat().iter().map(|x| x.to_bits()).collect();
    let b: Vec<u32> = resumed
        .params()
        .flat()
        .iter()
        .map(|x| x.to_bits())
        .collect();
    assert_eq!(a, b, "weights differ after resume");
    assert_eq!(full.progress().step, resumed.progress().step);
    assert_eq!(
        full.progress().history.len(),
        resumed.progress().history.len()
    );
    // Different seeds really do give different weights (the test can fail).
    let mut other = Trainer::new(
        model(),
        Task::Classification,
        TrainConfig {
            seed: 43,
            ..config(4)
        },
    )
    .unwrap();
    other.fit(&data, &rows, &val, &mut Silent).unwrap();
    assert_ne!(other.params().flat(), full.params().flat());
}

#[test]
fn files_use_pytorch_names_and_mismatched_shapes_are_rejected() {
    let dir = TempDir::new("names");
    let t = Trainer::new(model(), Task::Classification, config(1)).unwrap();
    save_checkpoint(
        &dir.0,
        &t,
        &prep(),
        Some(&["a".into(), "b".into(), "c".into()]),
    )
    .unwrap();
    let file = crate::checkpoint::load_safetensors_file(dir.0.join(WEIGHTS_FILE)).unwrap();
    assert_eq!(
        file.names(),
        [
            "layers.0.bias",
            "layers.0.weight",
            "layers.3.bias",
            "layers.3.weight",
            "layers.6.bias",
            "layers.6.weight"
        ]
    );
    assert_eq!(file.get("layers.0.weight").unwrap().shape, vec![12, 4]);
    let ck = load_checkpoint(&dir.0).unwrap();
    assert_eq!(ck.weights, t.params().flat());
    assert_eq!(ck.state.class_names.as_deref().unwrap().len(), 3);
    // Edit the state so the model no longer matches the weights.
    let path = dir.0.join(STATE_FILE);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("12,", "13,", 1);
    let text = text.replacen("\n      12\n", "\n      13\n", 1);
    std::fs::write(&path, text).unwrap();
    let err = load_checkpoint(&dir.0).unwrap_err().to_string();
    assert!(
        err.contains("layers.0.weight") && err.contains("13"),
        "{err}"
    );
    assert!(load_checkpoint(&dir.0.join("missing")).is_err());
}
