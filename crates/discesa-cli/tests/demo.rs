//! The README's first command: `discesa demo` runs on built-in data and shows real results.

use std::process::Command;

#[test]
fn demo_runs_and_learns_the_spirals() {
    let out = Command::new(env!("CARGO_BIN_EXE_discesa"))
        .args(["demo", "--quiet"])
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("f'(x) = 5.983082595909"), "{text}");
    assert!(
        text.contains("x^2 - y^2: Hessian diag = (2, -2) → saddle"),
        "{text}"
    );
    let line = text
        .lines()
        .find(|l| l.contains("after 200 epochs"))
        .expect("training line");
    let after: f64 = line
        .split('%')
        .nth(1)
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|s| s.parse().ok())
        .expect("accuracy after training");
    assert!(after > 85.0, "spiral test accuracy only {after}%: {line}");
}

#[test]
fn demo_rejects_zero_epochs() {
    let out = Command::new(env!("CARGO_BIN_EXE_discesa"))
        .args(["demo", "--epochs", "0"])
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
}
