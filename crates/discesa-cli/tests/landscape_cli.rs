//! End-to-end tests of `discesa landscape` (and `train --keep-epochs`) on the built binary.

use discesa::checkpoint::load_safetensors_file;
use discesa::data::read_npy;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_discesa");

struct Temp(PathBuf);

impl Temp {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("discesa-ls-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Temp(p)
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

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Three noisy classes in four features, deterministic.
fn data_csv(dir: &Path) -> (PathBuf, Vec<String>) {
    let mut lines = vec!["f0,f1,f2,f3,label".to_string()];
    for i in 0..240u32 {
        let c = i % 3;
        let r = |k: u32| ((i * 7919 + k * 104_729) % 1000) as f64 / 1000.0 - 0.5;
        lines.push(format!(
            "{:.4},{:.4},{:.4},{:.4},c{c}",
            f64::from(c) + r(1),
            2.0 - f64::from(c) + r(2),
            r(3),
            f64::from(c) * r(4),
        ));
    }
    let p = dir.join("data.csv");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    (p, lines)
}

fn train(data: &Path, ck: &Path, extra: &[&str]) {
    let mut args = vec![
        "train",
        "--data",
        s(data),
        "--target",
        "label",
        "--lr",
        "0.05",
        "--seed",
        "3",
        "--checkpoint",
        s(ck),
    ];
    if !extra.contains(&"--epochs") {
        args.extend_from_slice(&["--epochs", "3"]);
    }
    if !extra.contains(&"--hidden") {
        args.extend_from_slice(&["--hidden", "8"]);
    }
    args.extend_from_slice(extra);
    ok(&args);
}

fn npy(p: &Path) -> (Vec<usize>, Vec<f64>) {
    let a = read_npy(p).unwrap();
    (a.shape.clone(), a.into_f64())
}

fn evaluate_loss(ck: &Path, csv: &Path) -> f64 {
    let out = ok(&[
        "evaluate",
        "--checkpoint",
        s(ck),
        "--data",
        s(csv),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    v["loss"].as_f64().unwrap()
}

#[test]
fn interpolation_ends_are_the_checkpoints_losses_on_the_same_rows() {
    let t = Temp::new("interp");
    let (data, lines) = data_csv(&t.0);
    let a = t.0.join("a");
    train(&data, &a, &["--keep-epochs"]);
    assert!(
        a.join("epoch-0001.safetensors").is_file() && a.join("epoch-0003.safetensors").is_file()
    );
    // B continues A: same split and preprocessing, other weights.
    let b = t.0.join("b");
    std::fs::create_dir_all(&b).unwrap();
    for f in ["model.safetensors", "state.json"] {
        std::fs::copy(a.join(f), b.join(f)).unwrap();
    }
    ok(&[
        "train",
        "--data",
        s(&data),
        "--checkpoint",
        s(&b),
        "--resume",
        "--epochs",
        "12",
    ]);
    let out = t.0.join("out");
    let other = format!("interpolate:{}", s(&b));
    ok(&[
        "landscape",
        "--checkpoint",
        s(&a),
        "--data",
        s(&data),
        "--directions",
        &other,
        "--grid",
        "-0.5:1.5:5",
        "--samples",
        "60",
        "--output",
        s(&out),
    ]);
    let (shape, loss) = npy(&out.join("loss.npy"));
    assert_eq!(shape, vec![5]);
    let (_, x) = npy(&out.join("x.npy"));
    assert_eq!(x, vec![-0.5, 0.0, 0.5, 1.0, 1.5]);
    // The rows evaluated, written back as CSV lines, scored by `discesa evaluate`.
    let samples = load_safetensors_file(out.join("samples.safetensors")).unwrap();
    let rows = samples.get("rows").unwrap().to_f64_vec();
    assert_eq!(rows.len(), 60);
    assert_eq!(samples.get("inputs").unwrap().shape, vec![60, 4]);
    let mut subset = vec![lines[0].clone()];
    subset.extend(rows.iter().map(|&r| lines[r as usize + 1].clone()));
    let csv = t.0.join("rows.csv");
    std::fs::write(&csv, subset.join("\n") + "\n").unwrap();
    let (la, lb) = (evaluate_loss(&a, &csv), evaluate_loss(&b, &csv));
    assert!(
        (loss[1] - la).abs() < 1e-5 * la.max(1.0),
        "α = 0: {} vs {la}",
        loss[1]
    );
    assert!(
        (loss[3] - lb).abs() < 1e-5 * lb.max(1.0),
        "α = 1: {} vs {lb}",
        loss[3]
    );
    assert!((la - lb).abs() > 1e-3, "the checkpoints differ");
    let d = load_safetensors_file(out.join("directions.safetensors")).unwrap();
    assert_eq!(d.get("x.layers.0.weight").unwrap().shape, vec![8, 4]);
    assert!(
        d.get("y.layers.0.weight").is_err(),
        "1-D runs have no y direction"
    );
    assert!(out.join("surface_1d.png").is_file());
}

#[test]
fn a_single_point_is_computed_without_pictures() {
    let t = Temp::new("point");
    let (data, _) = data_csv(&t.0);
    let a = t.0.join("a");
    train(&data, &a, &[]);
    for (grid, shape) in [("0:0:1,0:0:1", vec![1, 1]), ("0:0:1", vec![1])] {
        let out = t.0.join(format!("out-{}", shape.len()));
        let args = [
            "landscape",
            "--checkpoint",
            s(&a),
            "--data",
            s(&data),
            "--grid",
            grid,
            "--samples",
            "30",
            "--output",
            s(&out),
        ];
        ok(&args);
        let (got, loss) = npy(&out.join("loss.npy"));
        assert_eq!(got, shape, "{grid}");
        assert!(loss[0].is_finite(), "{grid}: {loss:?}");
        assert!(out.join("landscape.json").is_file());
        assert!(!out.join("contour.png").exists() && !out.join("surface_1d.png").exists());
    }
}

#[test]
fn pca_hessian_surface_resumes_and_keeps_the_file_contract() {
    let t = Temp::new("pca");
    let (data, _) = data_csv(&t.0);
    let a = t.0.join("a");
    train(&data, &a, &["--keep-epochs"]);
    let out = t.0.join("out");
    let args = [
        "landscape",
        "--checkpoint",
        s(&a),
        "--data",
        s(&data),
        "--directions",
        "pca",
        "--grid",
        "-2:2:4,-1:1:3",
        "--samples",
        "40",
        "--hessian",
        "--spectrum",
        "--slq-iters",
        "20",
        "--output",
        s(&out),
    ];
    let first = ok(&args);
    assert!(first.contains("12 computed, 0 resumed"), "{first}");
    let (shape, loss) = npy(&out.join("loss.npy"));
    assert_eq!(shape, vec![3, 4], "(ny, nx)");
    assert_eq!(npy(&out.join("x.npy")).1.len(), 4);
    assert_eq!(npy(&out.join("y.npy")).1, vec![-1.0, 0.0, 1.0]);
    for f in ["accuracy.npy", "lambda_max.npy", "lambda_min.npy"] {
        assert_eq!(npy(&out.join(f)).0, vec![3, 4], "{f}");
    }
    let pca: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("pca.json")).unwrap()).unwrap();
    assert_eq!(pca["epochs"], serde_json::json!([1, 2, 3]));
    let r = pca["explained_variance_ratio"].as_array().unwrap();
    assert!(r[0].as_f64().unwrap() >= r[1].as_f64().unwrap());
    assert_eq!(pca["trajectory"].as_array().unwrap().len(), 3);
    let h: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("hessian.json")).unwrap()).unwrap();
    assert!(h["lambda_max"].as_f64().unwrap() >= h["lambda_min"].as_f64().unwrap());
    assert!(h["trace"].as_f64().is_some());
    for f in [
        "contour.png",
        "heatmap.png",
        "surface_3d.png",
        "convexity.png",
        "density.png",
        "surface.vtp",
        "landscape.json",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    // Interrupted: keep 5 of the 12 points; the rest is computed, the values agree.
    let pf = out.join("progress.json");
    let mut p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&pf).unwrap()).unwrap();
    p["points"].as_array_mut().unwrap().truncate(5);
    std::fs::write(&pf, serde_json::to_string(&p).unwrap()).unwrap();
    let second = ok(&args);
    assert!(second.contains("7 computed, 5 resumed"), "{second}");
    let (_, again) = npy(&out.join("loss.npy"));
    for (u, v) in loss.iter().zip(&again) {
        assert!((u - v).abs() <= 1e-12 * u.abs().max(1.0));
    }
}

#[test]
fn bad_input_is_one_line_exit_2_and_writes_nothing() {
    let t = Temp::new("bad");
    let (data, _) = data_csv(&t.0);
    let a = t.0.join("a");
    train(&data, &a, &["--epochs", "2", "--keep-epochs"]);
    let wide = t.0.join("wide");
    train(&data, &wide, &["--hidden", "5"]);
    let small = t.0.join("small.csv");
    std::fs::write(
        &small,
        "p,q,label\n1,2,c0\n2,1,c1\n1,3,c0\n3,1,c1\n0,2,c0\n2,0,c1\n",
    )
    .unwrap();
    let out = t.0.join("out");
    let base = |extra: &[&str]| {
        let mut v: Vec<String> = [
            "landscape",
            "--checkpoint",
            s(&a),
            "--data",
            s(&data),
            "--output",
            s(&out),
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        v.extend(extra.iter().map(|x| x.to_string()));
        v
    };
    let other = format!("interpolate:{}", s(&wide));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (base(&["--grid", "1:2"]), "min:max:count"),
        (base(&["--grid", "-1:1:x"]), "min:max:count"),
        (base(&["--grid", "0:1:0"]), "between 1 and 1001"),
        (base(&["--grid", "0:1:1002"]), "between 1 and 1001"),
        (base(&["--directions", "pca"]), "at least three"),
        (
            base(&["--directions", &other, "--grid", "0:1:3"]),
            "another shape",
        ),
        (base(&["--directions", &other]), "1-D"),
        (base(&["--norm", "filters"]), "unknown normalisation"),
        (base(&["--directions", "sideways"]), "unknown kind"),
        (base(&["--split", "val"]), "train or test"),
        (
            [
                "landscape",
                "--checkpoint",
                s(&a),
                "--data",
                s(&small),
                "--output",
                s(&out),
            ]
            .iter()
            .map(|x| x.to_string())
            .collect(),
            "features",
        ),
        (
            [
                "landscape",
                "--checkpoint",
                s(&t.0.join("none")),
                "--data",
                s(&data),
                "--output",
                s(&out),
            ]
            .iter()
            .map(|x| x.to_string())
            .collect(),
            "checkpoint",
        ),
    ];
    for (args, needle) in cases {
        let o = Command::new(BIN).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {err}");
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(needle),
            "{args:?}: {err}"
        );
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}
