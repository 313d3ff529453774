//! End-to-end tests of convolutional models on image data: `evaluate` and `predict` on an IDX
//! directory, and the bad inputs of image models (shapes, depths, widths, state dicts, ranks).

use discesa::checkpoint::{load_safetensors, save_safetensors, TensorData, TensorValues};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_discesa");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// Runs and asserts success, returning stdout.
fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts exit code 2 with one `error:` line on stderr containing every needle.
fn input_error(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "`{n}` missing from: {err}");
    }
}

fn idx_file(path: &Path, magic: u32, dims: &[u32], body: &[u8]) {
    let mut b = magic.to_be_bytes().to_vec();
    for d in dims {
        b.extend(d.to_be_bytes());
    }
    b.extend(body);
    std::fs::write(path, b).unwrap();
}

/// A synthetic MNIST-layout directory of `side`×`side` images: class `l` lights up the `l`-th
/// horizontal band, over faint deterministic noise. Returns the test labels.
fn idx_dir(dir: &Path, side: usize, n_train: usize, n_test: usize) -> Vec<u8> {
    std::fs::create_dir_all(dir).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 40) as u8
    };
    let mut test_labels = Vec::new();
    for (prefix, n) in [("train", n_train), ("t10k", n_test)] {
        // Not in class order, so that file order is visible in the predictions.
        let labels: Vec<u8> = (0..n).map(|i| ((i * 7 + 3) % 10) as u8).collect();
        let mut pixels = Vec::with_capacity(n * side * side);
        for &l in &labels {
            for p in 0..side * side {
                let band = (p / side) * 10 / side;
                pixels.push(if band == usize::from(l) { 220 } else { noise() });
            }
        }
        let sd = side as u32;
        idx_file(
            &dir.join(format!("{prefix}-images-idx3-ubyte")),
            0x803,
            &[n as u32, sd, sd],
            &pixels,
        );
        idx_file(
            &dir.join(format!("{prefix}-labels-idx1-ubyte")),
            0x801,
            &[n as u32],
            &labels,
        );
        if prefix == "t10k" {
            test_labels = labels;
        }
    }
    test_labels
}

/// A `.npy` file of `f32` values with the given shape.
fn npy_f32(path: &Path, shape: &[usize], values: &[f32]) {
    discesa::data::write_npy_f32(path, shape, values).unwrap();
}

fn train(data: &Path, ck: &Path, model: &[&str]) {
    let mut args = vec![
        "train",
        "--data",
        s(data),
        "--epochs",
        "3",
        "--batch-size",
        "16",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--seed",
        "3",
        "--checkpoint",
        s(ck),
    ];
    args.extend_from_slice(model);
    ok(&args);
}

/// Parses a prediction file, checking its header; returns (index, prediction, probabilities).
fn read_predictions(path: &Path) -> Vec<(usize, usize, Vec<f64>)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = std::iter::once("index".to_string())
        .chain(std::iter::once("prediction".to_string()))
        .chain((0..10).map(|c| format!("p_{c}")))
        .collect();
    assert_eq!(lines.next().unwrap(), header.join(","));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 12, "{l}");
            let p: Vec<f64> = f[2..].iter().map(|v| v.parse().unwrap()).collect();
            (f[0].parse().unwrap(), f[1].parse().unwrap(), p)
        })
        .collect()
}

/// Predictions are rows in file order whose probabilities sum to one and whose prediction is
/// their arg-max; the accuracy they imply is the one `evaluate` reports.
fn check_evaluate_and_predict(ck: &Path, data: &Path, labels: &[u8], out: &Path) -> f64 {
    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "evaluate",
        "--checkpoint",
        s(ck),
        "--data",
        s(data),
        "--json",
    ]))
    .unwrap();
    assert_eq!(json["rows"].as_u64(), Some(labels.len() as u64));
    let accuracy = json["accuracy"].as_f64().unwrap();
    assert!(json["loss"].as_f64().unwrap().is_finite());
    ok(&[
        "predict",
        "--checkpoint",
        s(ck),
        "--data",
        s(data),
        "--output",
        s(out),
    ]);
    let rows = read_predictions(out);
    assert_eq!(rows.len(), labels.len());
    let mut correct = 0;
    for (i, (index, pred, p)) in rows.iter().enumerate() {
        assert_eq!(*index, i);
        let sum: f64 = p.iter().sum();
        assert!(
            (sum - 1.0).abs() < 1e-4,
            "row {i}: probabilities sum to {sum}"
        );
        let best = (0..10).fold(0, |b, c| if p[c] > p[b] { c } else { b });
        assert_eq!(*pred, best, "row {i}");
        correct += usize::from(*pred == usize::from(labels[i]));
    }
    let implied = correct as f64 / labels.len() as f64;
    assert!(
        (implied - accuracy).abs() < 1e-9,
        "predict implies {implied}, evaluate says {accuracy}"
    );
    accuracy
}

#[test]
fn evaluate_and_predict_score_the_test_images_of_an_idx_directory() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("idx");
    let labels = idx_dir(&data, 12, 200, 30);
    let cnn = t.path().join("cnn");
    train(&data, &cnn, &["--model", "cnn", "--width", "4"]);
    let acc = check_evaluate_and_predict(&cnn, &data, &labels, &t.path().join("cnn.csv"));
    assert!(acc >= 0.8, "the bands are easy: accuracy {acc}");
    let mlp = t.path().join("mlp");
    train(&data, &mlp, &["--hidden", "16"]);
    let acc = check_evaluate_and_predict(&mlp, &data, &labels, &t.path().join("mlp.csv"));
    assert!(acc >= 0.8, "the bands are easy: accuracy {acc}");
}

/// Each case: the arguments, the words the one error line must hold, and no new file anywhere
/// under the temporary directory.
#[test]
fn bad_image_input_is_one_line_exit_2_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let data = root.join("idx12");
    idx_dir(&data, 12, 40, 10);
    let other = root.join("idx16");
    idx_dir(&other, 16, 20, 10);
    let cnn = root.join("cnn");
    train(&data, &cnn, &["--model", "cnn", "--width", "2"]);
    let mlp = root.join("mlp");
    train(&data, &mlp, &["--hidden", "4"]);

    // State dicts: the trained CNN's own tensors with one missing, one extra, one misshapen.
    let tensors = load_safetensors(cnn.join("model.safetensors")).unwrap();
    let write = |name: &str, list: &[(String, Vec<usize>, Vec<f32>)]| {
        let p = root.join(name);
        let rows: Vec<(&str, &[usize], TensorData<'_>)> = list
            .iter()
            .map(|(n, s, v)| (n.as_str(), s.as_slice(), TensorData::F32(v)))
            .collect();
        save_safetensors(&p, &rows).unwrap();
        p
    };
    let as_f32: Vec<(String, Vec<usize>, Vec<f32>)> = tensors
        .iter()
        .filter_map(|t| match &t.data {
            TensorValues::F32(v) => Some((t.name.clone(), t.shape.clone(), v.clone())),
            _ => None,
        })
        .collect();
    assert!(as_f32.len() >= 4, "{:?}", tensors.iter().map(|t| &t.name));
    let first = as_f32[0].0.clone();
    let missing = write("missing.safetensors", &as_f32[1..]);
    let mut extra_list = as_f32.clone();
    extra_list.push(("head.extra.weight".into(), vec![2], vec![0.0, 1.0]));
    let extra = write("extra.safetensors", &extra_list);
    let mut bad_shape = as_f32.clone();
    let (ref name, ref mut shape, ref mut values) = bad_shape[0];
    let misshapen_name = name.clone();
    shape[0] += 1;
    values.resize(shape.iter().product(), 0.5);
    let misshapen = write("misshapen.safetensors", &bad_shape);

    // .npy features of rank 3 (no channel axis) for a convolutional model.
    let npy = root.join("rank3");
    std::fs::create_dir_all(&npy).unwrap();
    npy_f32(&npy.join("x.npy"), &[20, 12, 12], &[0.5; 20 * 144]);
    let y: Vec<f32> = (0..20).map(|i| (i % 4) as f32).collect();
    npy_f32(&npy.join("y.npy"), &[20], &y);

    let before = listing(root);
    let new_ck = root.join("new-ck");
    let out_csv = root.join("out.csv");
    let train_args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["train", "--data", s(&data), "--checkpoint", s(&new_ck)]
            .iter()
            .map(|a| a.to_string())
            .collect();
        v.extend(extra.iter().map(|a| a.to_string()));
        v
    };
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            strings(&["evaluate", "--checkpoint", s(&cnn), "--data", s(&other)]),
            vec!["1x16x16", "1x12x12"],
        ),
        (
            strings(&[
                "predict",
                "--checkpoint",
                s(&cnn),
                "--data",
                s(&other),
                "--output",
                s(&out_csv),
            ]),
            vec!["1x16x16", "1x12x12"],
        ),
        (
            strings(&[
                "train",
                "--data",
                s(&other),
                "--checkpoint",
                s(&cnn),
                "--resume",
            ]),
            vec!["[1, 12, 12]", "[1, 16, 16]"],
        ),
        (
            train_args(&["--model", "resnet21"]),
            vec!["21", "8, 14, 20"],
        ),
        (train_args(&["--model", "plain9"]), vec!["9", "8, 14, 20"]),
        (
            train_args(&["--model", "resnet8", "--width", "0"]),
            vec!["--width"],
        ),
        (
            train_args(&["--model", "cnn", "--width", "0"]),
            vec!["--width"],
        ),
        (
            strings(&[
                "train",
                "--data",
                s(&data),
                "--checkpoint",
                s(&mlp),
                "--resume",
                "--model",
                "resnet8",
            ]),
            vec!["mlp", "resnet8"],
        ),
        (
            train_args(&["--model", "cnn", "--width", "2", "--init", s(&missing)]),
            vec![first.as_str(), "missing"],
        ),
        (
            train_args(&["--model", "cnn", "--width", "2", "--init", s(&extra)]),
            vec!["head.extra.weight"],
        ),
        (
            train_args(&["--model", "cnn", "--width", "2", "--init", s(&misshapen)]),
            vec![misshapen_name.as_str(), "shape"],
        ),
        (
            strings(&[
                "train",
                "--data",
                s(&npy),
                "--model",
                "cnn",
                "--checkpoint",
                s(&new_ck),
            ]),
            vec!["[N, C, H, W]"],
        ),
    ];
    for (args, needles) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&args);
        input_error(&out, &needles);
        assert_eq!(listing(root), before, "{args:?} wrote files");
    }
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Every file under `dir` with its size and modification time, and every directory.
fn listing(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                // A directory's time changes when a temporary sibling comes and goes.
                stack.push(e.path());
                out.push((e.path(), 0, std::time::UNIX_EPOCH));
            } else {
                out.push((e.path(), m.len(), m.modified().unwrap()));
            }
        }
    }
    out.sort();
    out
}
