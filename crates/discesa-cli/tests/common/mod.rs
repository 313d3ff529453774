//! Helpers shared by end-to-end tests of `discesa train` (`dist_cli.rs`, worker threads;
//! `mpi_cli.rs`, MPI ranks; `checkpoint_kill.rs`, its data): a temporary folder, the test data,
//! the training command and the checks of its outputs.
#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_discesa");

/// A temporary folder, removed on drop.
pub struct Temp(pub PathBuf);

impl Temp {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("discesa-dist-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Temp(p)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Three noisy classes in four features; `rows` decides the size (another size is other data).
pub fn data_csv(path: &Path, rows: u32) -> PathBuf {
    let mut text = String::from("a,b,c,d,label\n");
    for i in 0..rows {
        let x = f64::from(i);
        let class = i % 3;
        let c = f64::from(class);
        text.push_str(&format!(
            "{:.4},{:.4},{:.4},{:.4},k{class}\n",
            (x * 0.37).sin() + c,
            (x * 0.91).cos() - c,
            (x * 0.13).sin() * c,
            (x * 0.57).cos()
        ));
    }
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

/// The one JSON object a run printed with `--json` (rank 0 only under a launcher).
pub fn stdout_json(out: &Output) -> serde_json::Value {
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim())
        .expect("one JSON line from rank 0 only")
}

/// The training command shared by every run of a comparison (one kernel thread per rank).
pub fn train_args(data: &Path, ck: &Path, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = [
        "train",
        "--data",
        s(data),
        "--target",
        "label",
        "--hidden",
        "16,8",
        "--seed",
        "3",
        "--threads",
        "1",
        "--val-fraction",
        "0",
        "--checkpoint",
        s(ck),
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    for (flag, default) in [
        ("--epochs", "3"),
        ("--lr", "0.01"),
        ("--optimizer", "adam"),
        ("--batch-size", "20"),
    ] {
        if !extra.contains(&flag) {
            a.push(flag.into());
            a.push(default.into());
        }
    }
    a.extend(extra.iter().map(|x| x.to_string()));
    a
}

pub fn run(args: &[String], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

pub fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn weights(ck: &Path) -> Vec<f32> {
    discesa::train::load_checkpoint(ck)
        .unwrap_or_else(|e| panic!("{}: {e}", ck.display()))
        .weights
}

pub fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (1.0 + x.abs()))
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "{what}: parameters differ by {worst}");
    // Rounding differences only: far below what one training step changes.
}

pub fn bytes(ck: &Path) -> Vec<u8> {
    std::fs::read(ck.join("model.safetensors")).unwrap()
}

/// Exactly one `error:` line on stderr containing `needle`, exit code `code`.
pub fn one_error_line(out: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains(needle), "{err}");
}
