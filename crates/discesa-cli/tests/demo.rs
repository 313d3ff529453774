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
fn demo_prints_a_short_summary_when_not_on_a_terminal() {
    // Output captured (not a terminal): a few progress lines, not one per epoch.
    let out = Command::new(env!("CARGO_BIN_EXE_discesa"))
        .args(["demo", "--epochs", "40"])
        .output()
        .expect("the binary runs");
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let epoch_lines: Vec<&str> = err.lines().filter(|l| l.contains("epoch")).collect();
    assert_eq!(epoch_lines.len(), 5, "{err}");
    assert!(epoch_lines[4].contains("epoch 40/40"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("after 40 epochs"));
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
