//! Training that works without tuning, on the real small data sets: iris with no flag at all,
//! digits without `--task`, and the Hitters salary regression against a least-squares fit on
//! the same split.
//!
//! The data sets are looked up in `$DISCESA_DATA`, else in `../shared/data` beside the
//! repository; without them the tests say they are skipped.

use discesa::data::Targets;
use discesa::train::{load_checkpoint, prepare, PrepareOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_discesa");

fn data_file(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("DISCESA_DATA").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")),
        PathBuf::from,
    );
    let p = dir.join(name);
    if p.is_file() {
        Some(p)
    } else {
        println!("skipping: {} not found (set DISCESA_DATA)", p.display());
        None
    }
}

fn train(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .arg("train")
        .args(args)
        .args(["--threads", "1", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn summary(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn iris_with_no_flags_reaches_95_percent_and_says_what_it_chose() {
    let Some(iris) = data_file("iris.csv") else {
        return;
    };
    let out = Command::new(BIN)
        .args(["train", "--data"])
        .arg(&iris)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let note = err
        .lines()
        .find(|l| l.starts_with("note: up to"))
        .unwrap_or_else(|| {
            panic!("no note on the chosen epochs: {err}");
        });
    assert!(
        note.contains("200 epochs") && note.contains("batches of 11") && note.contains("10 epochs"),
        "{note}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("test:")).unwrap();
    let acc: f64 = line
        .split_whitespace()
        .skip_while(|w| *w != "accuracy")
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(acc >= 0.95, "{line}");
}

#[test]
fn digits_without_task_is_classification_with_a_note() {
    let Some(digits) = data_file("digits.csv") else {
        return;
    };
    let out = train(&[
        "--data",
        digits.to_str().unwrap(),
        "--epochs",
        "10",
        "--hidden",
        "32",
    ]);
    let err = stderr(&out);
    let notes: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("taken as classification"))
        .collect();
    assert_eq!(notes.len(), 1, "{err}");
    assert!(notes[0].starts_with("note: target 'digit' has 10 distinct integer values"));
    let s = summary(&out);
    assert!(s["test_accuracy"].as_f64().unwrap() > 0.8, "{s}");
    // Told it is a regression, it is one.
    let reg = train(&[
        "--data",
        digits.to_str().unwrap(),
        "--epochs",
        "1",
        "--task",
        "regression",
    ]);
    assert!(summary(&reg)["test_mae"].is_number());
    assert!(!stderr(&reg).contains("taken as classification"));
}

/// Least squares with an intercept on `rows` of the training data (features as the network
/// sees them: one-hot, standardised), by the normal equations in f64 with a vanishing ridge
/// for the collinear one-hot columns; returns the test MAE.
fn least_squares_test_mae(hitters: &Path) -> (f64, usize, usize) {
    let p = prepare(
        hitters,
        &PrepareOptions {
            target: Some("Salary".into()),
            test_fraction: 1.0 / 3.0,
            ..PrepareOptions::default()
        },
    )
    .unwrap();
    let fit_rows: Vec<usize> = p.train_rows.iter().chain(&p.val_rows).copied().collect();
    let f = p.data.n_features() + 1;
    let row = |d: &discesa::data::Dataset, r: usize| -> Vec<f64> {
        let mut v: Vec<f64> = d.row(r).unwrap().iter().map(|&x| f64::from(x)).collect();
        v.push(1.0);
        v
    };
    let Targets::Values(y) = p.data.targets() else {
        panic!("Salary is a regression target")
    };
    let mut a = vec![vec![0.0f64; f + 1]; f];
    for &r in &fit_rows {
        let x = row(&p.data, r);
        for i in 0..f {
            for j in 0..f {
                a[i][j] += x[i] * x[j];
            }
            a[i][f] += x[i] * f64::from(y[r]);
        }
    }
    for (i, ai) in a.iter_mut().enumerate() {
        ai[i] += 1e-9;
    }
    // Gauss-Jordan with partial pivoting.
    for c in 0..f {
        let piv = (c..f)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap();
        a.swap(c, piv);
        let d = a[c][c];
        a[c].iter_mut().for_each(|v| *v /= d);
        for i in 0..f {
            if i != c {
                let m = a[i][c];
                let pivot_row = a[c].clone();
                a[i].iter_mut()
                    .zip(&pivot_row)
                    .for_each(|(v, p)| *v -= m * p);
            }
        }
    }
    let w: Vec<f64> = a.iter().map(|r| r[f]).collect();
    let Targets::Values(ty) = p.test.targets() else {
        panic!()
    };
    let mae = (0..p.test.len())
        .map(|r| {
            let x = row(&p.test, r);
            let pred: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
            (pred - f64::from(ty[r])).abs()
        })
        .sum::<f64>()
        / p.test.len() as f64;
    (mae, fit_rows.len(), p.test.len())
}

#[test]
fn hitters_salary_lands_within_15_percent_of_linear_regression() {
    let Some(hitters) = data_file("Hitters.csv") else {
        return;
    };
    let (linear, n_fit, n_test) = least_squares_test_mae(&hitters);
    let dir = tempfile::TempDir::new().unwrap();
    let ck = dir.path().join("ck");
    let textbook = |extra: &[&str]| {
        let mut args = vec![
            "--data",
            hitters.to_str().unwrap(),
            "--target",
            "Salary",
            "--test-fraction",
            "0.3333333333333333",
            "--hidden",
            "50",
            "--dropout",
            "0.4",
            "--optimizer",
            "rmsprop",
            "--lr",
            "1e-3",
            "--epochs",
            "100",
            "--batch-size",
            "32",
        ];
        args.extend_from_slice(extra);
        summary(&train(&args))
    };
    let net = textbook(&["--checkpoint", ck.to_str().unwrap()]);
    let mae = net["test_mae"].as_f64().unwrap();
    println!(
        "Hitters: network test MAE {mae:.1}, least squares {linear:.1} ({n_fit} fitted rows, \
         {n_test} test rows)"
    );
    assert!(
        mae <= 1.15 * linear,
        "test MAE {mae} vs linear regression {linear}"
    );
    // The scale is in the checkpoint, and evaluation and prediction are in dollars (thousands).
    let state = load_checkpoint(&ck).unwrap().state;
    let scale = state
        .preprocessing
        .target_scale
        .expect("target scale saved");
    assert!(scale.mean > 300.0 && scale.std > 200.0, "{scale:?}");
    let ev = Command::new(BIN)
        .args(["evaluate", "--json", "--checkpoint"])
        .arg(&ck)
        .arg("--data")
        .arg(&hitters)
        .output()
        .unwrap();
    assert!(ev.status.success(), "{}", stderr(&ev));
    let ev: serde_json::Value = serde_json::from_slice(&ev.stdout).unwrap();
    let all_mae = ev["mae"].as_f64().unwrap();
    assert!(all_mae > 50.0 && all_mae < 2.0 * linear, "{ev}");
    let predictions = dir.path().join("p.csv");
    let pred = Command::new(BIN)
        .args(["predict", "--checkpoint"])
        .arg(&ck)
        .arg("--data")
        .arg(&hitters)
        .arg("--output")
        .arg(&predictions)
        .output()
        .unwrap();
    assert!(pred.status.success(), "{}", stderr(&pred));
    let text = std::fs::read_to_string(&predictions).unwrap();
    let values: Vec<f64> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.rsplit(',').next()?.parse().ok())
        .collect();
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    assert!(
        values.len() > 200 && mean > 300.0,
        "{} values, mean {mean}",
        values.len()
    );
    // Without standardisation the textbook settings fall short, as they did before.
    let raw = textbook(&["--no-standardize-target"]);
    assert!(
        raw["test_mae"].as_f64().unwrap() > 1.3 * linear,
        "raw target {raw} vs linear {linear}"
    );
}

/// The soak's file check in short (scripts/soak.sh runs 300 epochs): 40 checkpointed epochs
/// leave nothing in the directory but the checkpoint.
#[test]
fn checkpoint_every_epoch_leaves_only_the_checkpoint() {
    let dir = tempfile::TempDir::new().unwrap();
    let csv = dir.path().join("d.csv");
    let mut text = String::from("a,b,y\n");
    for i in 0..200 {
        let x = f64::from(i) * 0.1;
        text.push_str(&format!(
            "{:.3},{:.3},{:.3}\n",
            x.sin(),
            x.cos(),
            x.sin() * 3.0 + 0.5
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let ck = dir.path().join("ck");
    train(&[
        "--data",
        csv.to_str().unwrap(),
        "--epochs",
        "40",
        "--hidden",
        "8",
        "--checkpoint",
        ck.to_str().unwrap(),
    ]);
    let mut left: Vec<String> = std::fs::read_dir(&ck)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["model.safetensors", "state.json"]);
    assert_eq!(load_checkpoint(&ck).unwrap().state.progress.epochs_done, 40);
}
