//! PyTorch parity of the convolutional models: a briefly trained checkpoint (so the batch-norm
//! buffers are not at their initial values) loads into the PyTorch reference module with
//! `load_state_dict(strict=True)` and PyTorch's eval-mode logits for a batch equal ours; and a
//! state dict saved from PyTorch initialises our model (`--init`) with the same logits.
//! Needs a Python with torch and safetensors (`DISCESA_TORCH_PYTHON`, default
//! `/tmp/bench-venv-torch/bin/python`); skips with a message when there is none.

use discesa::checkpoint::{load_safetensors_file, save_safetensors, TensorData};
use discesa::data::{Dataset, Targets, Task};
use discesa::nn::{CnnConfig, ModelSpec, ResNetConfig};
use discesa::train::{
    init_from_state_dict, save_checkpoint, Preprocessing, Silent, TrainConfig, Trainer,
};
use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> Option<PathBuf> {
    let p = std::env::var_os("DISCESA_TORCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/bench-venv-torch/bin/python"));
    let ok = Command::new(&p)
        .args(["-c", "import torch, safetensors"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(p)
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/torch_parity.py")
}

/// Random 1×12×12 images with arbitrary labels.
fn images(n: usize) -> Dataset {
    let x = discesa::Tensor::<f32>::rand_normal([n, 144], 0.0, 1.0, 7).to_vec();
    let labels = (0..n).map(|i| (i * 3 + 1) % 10).collect();
    Dataset::new(
        x,
        (0..144).map(|i| format!("p{i}")).collect(),
        Targets::Classes {
            labels,
            class_names: (0..10).map(|c| c.to_string()).collect(),
        },
    )
    .unwrap()
}

fn run(py: &Path, mode: &str, dirs: &[PathBuf]) -> String {
    let out = Command::new(py)
        .arg(script())
        .arg(mode)
        .args(dirs)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    assert!(out.status.success(), "{mode}: {text}");
    text
}

fn specs() -> Vec<(&'static str, ModelSpec)> {
    let resnet = |shortcut| {
        ModelSpec::ResNet(ResNetConfig {
            depth: 8,
            width: 4,
            shortcut,
            input: [1, 12, 12],
            classes: 10,
        })
    };
    let cnn = ModelSpec::Cnn(CnnConfig {
        width: 4,
        hidden: 16,
        input: [1, 12, 12],
        classes: 10,
    });
    vec![
        ("resnet8", resnet(true)),
        ("plain8", resnet(false)),
        ("cnn", cnn),
    ]
}

/// Trains briefly, saves the checkpoint and a batch with our logits into `dir`.
fn save_ours(dir: &Path, spec: ModelSpec) {
    let data = images(48);
    let config = TrainConfig {
        epochs: 2,
        batch_size: 16,
        lr: 0.05,
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(spec, Task::Classification, config).unwrap();
    let rows: Vec<usize> = (0..40).collect();
    t.fit(&data, &rows, &[], &mut Silent).unwrap();
    let prep = Preprocessing {
        format: "npy".into(),
        standardizer: None,
        csv_schema: None,
        image_scale: None,
        target: None,
        test_fraction: 0.0,
        val_fraction: 0.0,
        split_seed: 1,
        train_rows: None,
        target_scale: None,
    };
    save_checkpoint(dir, &t, &prep, None).unwrap();
    let x = data.features()[40 * 144..].to_vec();
    let logits = t.predict(&x).unwrap();
    save_safetensors(
        dir.join("batch.safetensors"),
        &[
            ("x", vec![8, 1, 12, 12], TensorData::F32(&x)),
            ("logits", vec![8, 10], TensorData::F32(&logits)),
        ],
    )
    .unwrap();
}

/// Loads PyTorch's exported state dict with `--init`'s loader and compares logits.
fn check_init(dir: &Path, spec: ModelSpec, tag: &str) {
    let config = TrainConfig::default();
    let mut t = Trainer::new(spec, Task::Classification, config).unwrap();
    init_from_state_dict(&mut t, &dir.join("torch.safetensors")).unwrap();
    assert_eq!(
        t.buffers().get("bn1.num_batches_tracked").unwrap(),
        &[1.0],
        "{tag}"
    );
    let batch = load_safetensors_file(dir.join("torch_batch.safetensors")).unwrap();
    let x = batch.expect_f32("x", &[8, 1, 12, 12]).unwrap();
    let want = batch.expect_f32("logits", &[8, 10]).unwrap();
    let got = t.predict(x).unwrap();
    let diff = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!("{tag}: --init from PyTorch, max |logit difference| {diff:.3e}");
    assert!(diff < 1e-4, "{tag}: {diff}");
}

#[test]
fn checkpoints_round_trip_through_pytorch_in_both_directions() {
    let Some(py) = python() else {
        eprintln!("skipping: no Python with torch and safetensors (set DISCESA_TORCH_PYTHON)");
        return;
    };
    let root = std::env::temp_dir().join(format!("discesa-torch-{}", std::process::id()));
    let dirs: Vec<PathBuf> = specs().iter().map(|(tag, _)| root.join(tag)).collect();
    for ((_, spec), dir) in specs().into_iter().zip(&dirs) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("spec.json"), serde_json::to_string(&spec).unwrap()).unwrap();
        save_ours(dir, spec);
    }
    let text = run(&py, "check", &dirs);
    assert_eq!(text.matches("ok: ").count(), dirs.len(), "{text}");
    run(&py, "export", &dirs);
    for ((tag, spec), dir) in specs().into_iter().zip(&dirs) {
        check_init(dir, spec, tag);
    }
    let _ = std::fs::remove_dir_all(&root);
}
