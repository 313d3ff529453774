use super::*;
use crate::nn::{Activation, MlpConfig};
use crate::train::test_util::blobs;
use crate::train::Silent;
use tempfile::TempDir;

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
        train_rows: None,
        target_scale: None,
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

    let dir = TempDir::new().unwrap();
    let mut first = Trainer::new(model(), Task::Classification, config(2)).unwrap();
    first.fit(&data, &rows, &val, &mut Silent).unwrap();
    save_checkpoint(dir.path(), &first, &prep(), None).unwrap();
    drop(first);
    let ck = load_checkpoint(dir.path()).unwrap();
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
    let dir = TempDir::new().unwrap();
    let t = Trainer::new(model(), Task::Classification, config(1)).unwrap();
    save_checkpoint(
        dir.path(),
        &t,
        &prep(),
        Some(&["a".into(), "b".into(), "c".into()]),
    )
    .unwrap();
    let file = crate::checkpoint::load_safetensors_file(dir.path().join(WEIGHTS_FILE)).unwrap();
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
    let ck = load_checkpoint(dir.path()).unwrap();
    assert_eq!(ck.weights, t.params().flat());
    assert_eq!(ck.state.class_names.as_deref().unwrap().len(), 3);
    // Edit the state so the model no longer matches the weights.
    let path = dir.path().join(STATE_FILE);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("12,", "13,", 1);
    let text = text.replacen("\n      12\n", "\n      13\n", 1);
    std::fs::write(&path, text).unwrap();
    let err = load_checkpoint(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("layers.0.weight") && err.contains("13"),
        "{err}"
    );
    assert!(load_checkpoint(&dir.path().join("missing")).is_err());
}

fn trained(epochs: usize) -> Trainer {
    let data = blobs(40);
    let rows: Vec<usize> = (0..40).collect();
    let mut t = Trainer::new(model(), Task::Classification, config(epochs)).unwrap();
    t.fit(&data, &rows, &[], &mut Silent).unwrap();
    t
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Saves `t` into a scratch directory and returns the files of that unit.
fn unit_files(t: &Trainer) -> (Vec<u8>, Vec<u8>) {
    let dir = TempDir::new().unwrap();
    save_checkpoint(dir.path(), t, &prep(), None).unwrap();
    (
        std::fs::read(dir.path().join(WEIGHTS_FILE)).unwrap(),
        std::fs::read(dir.path().join(STATE_FILE)).unwrap(),
    )
}

#[test]
fn identical_weights_give_byte_identical_files_and_the_state_names_them() {
    let t = trained(1);
    let (a, state_a) = unit_files(&t);
    let (b, _) = unit_files(&t);
    assert_eq!(a, b);
    let state: CheckpointState = serde_json::from_slice(&state_a).unwrap();
    assert_eq!(
        state.weights_sha256.as_deref(),
        Some(sha256_hex(&a).as_str())
    );
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let (c, _) = unit_files(&trained(2));
    assert_ne!(a, c);
}

#[test]
fn every_interruption_point_leaves_a_loadable_pair_and_the_next_save_cleans_up() {
    let (one, two, three) = (trained(1), trained(2), trained(3));
    let (w1, s1) = unit_files(&one);
    let (w2, s2) = unit_files(&two);
    let epochs = |dir: &Path| load_checkpoint(dir).unwrap().state.progress.epochs_done;
    let weights = |dir: &Path| load_checkpoint(dir).unwrap().weights;
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let write = |name: &str, bytes: &[u8]| std::fs::write(d.join(name), bytes).unwrap();
    let stale = format!(".4999999-1.tmp.{STATE_FILE}");

    // Killed while writing the new weights: only a stale temporary file beside the old pair.
    write(WEIGHTS_FILE, &w1);
    write(STATE_FILE, &s1);
    write(&stale, b"half a state");
    assert_eq!(epochs(d), 1);
    assert_eq!(weights(d), one.params().flat());
    // Killed before the commit: the new weights wait beside the old pair.
    write(PENDING_WEIGHTS_FILE, &w2);
    assert_eq!(epochs(d), 1);
    assert_eq!(weights(d), one.params().flat());
    // Killed after the commit, before the rename: the state names the pending weights.
    write(STATE_FILE, &s2);
    assert_eq!(epochs(d), 2);
    assert_eq!(weights(d), two.params().flat());
    // The next save finishes the interrupted one and leaves only the pair.
    save_checkpoint(d, &three, &prep(), None).unwrap();
    assert_eq!(epochs(d), 3);
    assert_eq!(weights(d), three.params().flat());
    assert_eq!(names(d), [WEIGHTS_FILE, STATE_FILE]);

    // Uncommitted pending weights are dropped by the next save.
    write(PENDING_WEIGHTS_FILE, &w1);
    assert_eq!(epochs(d), 3);
    save_checkpoint(d, &two, &prep(), None).unwrap();
    assert_eq!(names(d), [WEIGHTS_FILE, STATE_FILE]);
    assert_eq!(weights(d), two.params().flat());

    // Weights that match nothing the state records are refused, naming both files.
    write(WEIGHTS_FILE, &w1);
    let err = load_checkpoint(d).unwrap_err().to_string();
    assert!(
        err.contains(WEIGHTS_FILE) && err.contains(PENDING_WEIGHTS_FILE) && err.contains("SHA-256"),
        "{err}"
    );
    // A state from before digests existed loads its weights unchecked.
    let mut old: serde_json::Value = serde_json::from_slice(&s1).unwrap();
    old.as_object_mut().unwrap().remove("weights_sha256");
    write(STATE_FILE, &serde_json::to_vec(&old).unwrap());
    assert_eq!(epochs(d), 1);
    assert_eq!(weights(d), one.params().flat());
}

#[test]
fn resuming_finishes_an_interrupted_save_even_with_nothing_left_to_train() {
    let (one, two) = (trained(1), trained(2));
    let (w1, _) = unit_files(&one);
    let (w2, s2) = unit_files(&two);
    let dir = TempDir::new().unwrap();
    let d = dir.path();
    let write = |name: &str, bytes: &[u8]| std::fs::write(d.join(name), bytes).unwrap();
    // Killed after the commit of epoch 2, before its weights were renamed into place.
    write(WEIGHTS_FILE, &w1);
    write(PENDING_WEIGHTS_FILE, &w2);
    write(STATE_FILE, &s2);
    let ck = resume_checkpoint(d).unwrap();
    assert_eq!(ck.state.progress.epochs_done, 2);
    assert_eq!(ck.weights, two.params().flat());
    assert_eq!(names(d), [WEIGHTS_FILE, STATE_FILE]);
    assert_eq!(std::fs::read(d.join(WEIGHTS_FILE)).unwrap(), w2);
    // Killed before the commit: the uncommitted weights are dropped, the old pair stays.
    write(PENDING_WEIGHTS_FILE, &w1);
    let ck = resume_checkpoint(d).unwrap();
    assert_eq!(ck.weights, two.params().flat());
    assert_eq!(names(d), [WEIGHTS_FILE, STATE_FILE]);
}

#[test]
fn first_save_creates_nested_directories() {
    let dir = TempDir::new().unwrap();
    let d = dir.path().join("runs").join("a");
    let err = load_checkpoint(&d).unwrap_err().to_string();
    assert!(err.contains("not a checkpoint directory"), "{err}");
    save_checkpoint(&d, &trained(1), &prep(), None).unwrap();
    assert_eq!(names(&d), [WEIGHTS_FILE, STATE_FILE]);
}
