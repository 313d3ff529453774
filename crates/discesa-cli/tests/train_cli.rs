//! End-to-end tests of `discesa train`, `evaluate` and `predict` on the built binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_discesa");
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

struct Temp(PathBuf);

impl Temp {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("discesa-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Temp(p)
    }
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts exit code 2 with one `error:` line on stderr containing `needle`.
fn input_error(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(needle),
        "{err}"
    );
}

const SMALL: &str =
    "a,b,label\n1,2,x\n2,1,y\n1.5,2.5,x\n3,1,y\n0.5,2,x\n2.5,0.5,y\n1,3,x\n3,0,y\n0,2,x\n2,0,y\n";

#[test]
fn bad_input_is_one_line_exit_2_and_writes_nothing() {
    let t = Temp::new("bad");
    let good = t.file("good.csv", SMALL);
    let ck = t.0.join("ck");
    let metrics = t.0.join("m.csv");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--target".into(), "lable".into()], "label"),
        (vec!["--lr".into(), "0".into()], "positive finite"),
        (vec!["--lr".into(), "nan".into()], "positive finite"),
        (
            vec![
                "--dropout".into(),
                "0.1,0.2".into(),
                "--hidden".into(),
                "4".into(),
            ],
            "2 rates",
        ),
        (vec!["--activation".into(), "swish".into()], "swish"),
        (vec!["--optimizer".into(), "adagrad".into()], "adagrad"),
        (
            vec!["--plot".into(), s(&t.0.join("p.gif")).into()],
            "extension",
        ),
        (vec!["--resume".into()], "--checkpoint"),
        (vec!["--train-rows".into(), "0".into()], "--train-rows"),
    ];
    for (extra, needle) in cases {
        let mut args: Vec<String> = vec!["train".into(), "--data".into(), s(&good).into()];
        args.extend(extra);
        if needle != "--checkpoint" {
            args.extend(["--checkpoint".into(), s(&ck).into()]);
        }
        args.extend(["--metrics".into(), s(&metrics).into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&args);
        input_error(&out, needle);
    }
    let files = [
        ("ragged.csv", "a,b,label\n1,2,x\n1,y\n", "line 3"),
        ("text.csv", "a,b,label\n1,2,x\n1,oops,y\n2,3,x\n", "oops"),
        ("empty.csv", "", "empty"),
    ];
    for (name, text, needle) in files {
        let p = t.file(name, text);
        let out = run(&[
            "train",
            "--data",
            s(&p),
            "--task",
            "classification",
            "--checkpoint",
            s(&ck),
            "--metrics",
            s(&metrics),
        ]);
        input_error(&out, needle);
    }
    let idx = t.0.join("mnist");
    std::fs::create_dir_all(&idx).unwrap();
    for f in [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ] {
        std::fs::write(idx.join(f), [0u8, 0, 8, 1, 0, 0, 0, 1, 0]).unwrap();
    }
    input_error(&run(&["train", "--data", s(&idx)]), "magic");
    assert!(
        !ck.exists() && !metrics.exists(),
        "nothing may be written on bad input"
    );
    let out = run(&["train", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
}

fn iris() -> Option<PathBuf> {
    let p = Path::new(DATA).join("iris.csv");
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("skipping: {} not found", p.display());
        None
    }
}

#[test]
fn iris_train_evaluate_predict_and_resume() {
    let Some(iris) = iris() else { return };
    let t = Temp::new("iris");
    let ck = t.0.join("ck");
    let metrics = t.0.join("metrics.jsonl");
    let common = [
        "--data",
        s(&iris),
        "--target",
        "species",
        "--hidden",
        "16",
        "--lr",
        "0.01",
        "--batch-size",
        "16",
        "--seed",
        "3",
    ];
    let mut args = vec![
        "train",
        "--epochs",
        "40",
        "--json",
        "--checkpoint",
        s(&ck),
        "--metrics",
        s(&metrics),
    ];
    args.extend(common);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["test_accuracy"].as_f64().unwrap() >= 0.85, "{v}");
    assert_eq!(v["epochs"].as_u64(), Some(40));
    for key in ["test_loss", "seconds", "samples_per_second"] {
        assert!(v[key].as_f64().is_some(), "{key} missing in {v}");
    }
    assert_eq!(
        std::fs::read_to_string(&metrics).unwrap().lines().count(),
        40
    );
    assert!(ck.join("model.safetensors").is_file() && ck.join("state.json").is_file());

    let out = run(&[
        "evaluate",
        "--checkpoint",
        s(&ck),
        "--data",
        s(&iris),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["rows"].as_u64(), Some(150));
    assert!(e["accuracy"].as_f64().unwrap() > 0.85);

    let pred = t.0.join("pred.csv");
    let out = run(&[
        "predict",
        "--checkpoint",
        s(&ck),
        "--data",
        s(&iris),
        "--output",
        s(&pred),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&pred).unwrap();
    assert!(text
        .lines()
        .next()
        .unwrap()
        .starts_with("line,prediction,p_"));
    assert_eq!(text.lines().count(), 151);

    // Resume: 20 epochs + 20 more equals 40 straight, bit for bit.
    let ck2 = t.0.join("ck2");
    let mut args = vec!["train", "--epochs", "20", "--checkpoint", s(&ck2)];
    args.extend(common);
    assert!(run(&args).status.success());
    let mut args = vec![
        "train",
        "--epochs",
        "40",
        "--checkpoint",
        s(&ck2),
        "--resume",
    ];
    args.extend(common);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Compare tensors by name (the safetensors header's key order is not fixed).
    let load = |dir: &Path| {
        let mut t = discesa::checkpoint::load_safetensors(dir.join("model.safetensors")).unwrap();
        t.sort_by(|a, b| a.name.cmp(&b.name));
        t
    };
    let (a, b) = (load(&ck), load(&ck2));
    assert_eq!(a.len(), 4);
    for (x, y) in a.iter().zip(&b) {
        let bits = |t: &discesa::checkpoint::NamedTensor| -> Vec<u32> {
            t.as_f32().unwrap().iter().map(|v| v.to_bits()).collect()
        };
        assert_eq!(x.name, y.name);
        assert!(
            bits(x) == bits(y),
            "{}: resumed weights differ from the uninterrupted run",
            x.name
        );
    }

    // A checkpoint whose shapes do not match its model.
    let state = ck2.join("state.json");
    let text = std::fs::read_to_string(&state).unwrap().replacen(
        "\"hidden\": [\n      16\n    ]",
        "\"hidden\": [\n      17\n    ]",
        1,
    );
    std::fs::write(&state, text).unwrap();
    input_error(
        &run(&["evaluate", "--checkpoint", s(&ck2), "--data", s(&iris)]),
        "layers.0.weight",
    );
}

#[test]
fn config_file_is_read_and_flags_override_it() {
    let Some(iris) = iris() else { return };
    let t = Temp::new("toml");
    let cfg = t.file(
        "run.toml",
        &format!("data = {:?}\ntarget = \"species\"\nhidden = [8]\nepochs = 50\nlr = 0.01\nbatch-size = 16\n", s(&iris)),
    );
    let out = run(&["train", "--config", s(&cfg), "--epochs", "3", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["epochs"].as_u64(), Some(3));
    let bad = t.file("bad.toml", "epochs = 3\nbogus = 1\n");
    input_error(&run(&["train", "--config", s(&bad)]), "bogus");
}

#[test]
fn train_rows_trains_on_a_subset_and_resume_keeps_it() {
    let t = Temp::new("subset");
    let mut text = String::from("a,b,label\n");
    for i in 0..60 {
        text.push_str(&format!(
            "{},{},{}\n",
            i % 7,
            i % 5,
            if i % 2 == 0 { "x" } else { "y" }
        ));
    }
    let data = t.file("d.csv", &text);
    let ck = t.0.join("ck");
    let metrics = t.0.join("m.csv");
    let base = [
        "train",
        "--data",
        s(&data),
        "--hidden",
        "4",
        "--batch-size",
        "5",
        "--checkpoint",
        s(&ck),
        "--metrics",
        s(&metrics),
    ];
    let steps = |m: &Path| -> Vec<u64> {
        let text = std::fs::read_to_string(m).unwrap();
        text.lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
            .collect()
    };
    let mut args = base.to_vec();
    args.extend(["--epochs", "1", "--train-rows", "12"]);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 12 rows at batch 5: 3 steps per epoch, whatever the size of the split.
    assert_eq!(steps(&metrics), vec![3]);
    let mut args = base.to_vec();
    args.extend(["--epochs", "2", "--resume"]);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(steps(&metrics), vec![3, 6]);
}
