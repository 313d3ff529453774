//! Error messages across subcommands: one `error:` line, exit 2 for what the user gave, and
//! never more than about 120 characters of that input quoted back.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_discesa");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// Exit code `code`, a single `error:` line, at most `max` characters long.
fn one_error_line(out: &Output, code: i32, max: usize) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    let n = lines[0].chars().count();
    assert!(n <= max, "{n} characters: {}", lines[0]);
    lines[0].to_string()
}

#[test]
fn a_10000_character_formula_is_cut_around_the_column_named() {
    // The stray ')' at the very end.
    let formula = format!("x{})", " ".repeat(9_999));
    for cmd in ["grad", "hessian", "descend"] {
        let mut args = vec![cmd, formula.as_str()];
        if cmd != "grad" {
            args.extend(["--at", "x=1"]);
        }
        if cmd == "descend" {
            args.truncate(2);
            args.extend(["--from", "x=1"]);
        }
        let line = one_error_line(&run(&args), 2, 300);
        assert!(line.contains("column 10001"), "{cmd}: {line}");
        assert!(line.contains(" >>)<<"), "{cmd}: {line}");
    }
    // A deeply nested formula names column 1 and shows only its start.
    let line = one_error_line(&run(&["grad", &"(".repeat(10_000)]), 2, 300);
    assert!(line.contains("column"), "{line}");
    // So is a huge number.
    one_error_line(&run(&["grad", &"1".repeat(10_000)]), 2, 400);
}

#[test]
fn long_values_are_cut_in_every_subcommand() {
    let long = format!("{}x", "1,".repeat(5000));
    let point = format!("x={}", "9".repeat(10_000));
    let dir = tempfile::TempDir::new().unwrap();
    let csv = dir.path().join("d.csv");
    std::fs::write(
        &csv,
        format!("a,b\n1,2\n{},3\n2,4\n3,5\n4,6\n", "q".repeat(10_000)),
    )
    .unwrap();
    let csv = csv.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["grad", "x", "--at", &point],
        vec!["grad", "x", "--at", &long],
        vec!["descend", "x^2", "--from", "x=1", "--lr", &long],
        vec!["train", "--data", csv, "--hidden", &long],
        vec!["train", "--data", csv, "--target", &long],
        vec!["train", "--data", csv, "--epochs", "1"],
    ];
    for args in cases {
        let out = run(&args);
        let line = one_error_line(&out, 2, 400);
        assert!(
            !line.contains(&"q".repeat(130))
                && !line.contains(&"9".repeat(130))
                && !line.contains(&"1,".repeat(65)),
            "{args:?}: {line}"
        );
    }
}

#[test]
fn user_errors_exit_2_in_every_subcommand() {
    let dir = tempfile::TempDir::new().unwrap();
    let missing = dir.path().join("missing");
    let missing = missing.to_str().unwrap();
    let out_dir = dir.path().join("out");
    let out_dir = out_dir.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["demo", "--epochs", "0"],
        vec!["grad", "sine(x)", "--at", "x=1"],
        vec!["hessian", "x*y", "--at", "x=1"],
        vec!["descend", "x^2", "--from", "x=1", "--lr", "-1"],
        vec!["gallery", out_dir, "--size", "big"],
        vec!["train", "--data", missing],
        vec!["evaluate", "--checkpoint", missing, "--data", missing],
        vec![
            "predict",
            "--checkpoint",
            missing,
            "--data",
            missing,
            "--output",
            out_dir,
        ],
        vec![
            "landscape",
            "--checkpoint",
            missing,
            "--data",
            missing,
            "--output",
            out_dir,
        ],
    ];
    for args in cases {
        one_error_line(&run(&args), 2, 400);
    }
    // Usage errors (clap) also exit 2.
    assert_eq!(run(&["train", "--bogus"]).status.code(), Some(2));
    assert_eq!(run(&["no-such-command"]).status.code(), Some(2));
}

#[test]
fn failing_to_write_an_output_exits_1_in_every_subcommand() {
    let dir = tempfile::TempDir::new().unwrap();
    let csv = dir.path().join("s.csv");
    std::fs::write(
        &csv,
        "a,b,y\n1,2,x\n2,1,y\n1.5,2.5,x\n3,1,y\n0.5,2,x\n2.5,0.5,y\n1,3,x\n3,0,y\n0,2,x\n2,0,y\n",
    )
    .unwrap();
    let csv = csv.to_str().unwrap();
    // A directory that cannot be created: under a regular file.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let under = |name: &str| blocker.join(name).to_str().unwrap().to_string();
    let (ck, metrics, plot, dot, gallery) = (
        under("ck"),
        under("m.csv"),
        under("p.png"),
        under("g.dot"),
        under("gallery"),
    );
    let train =
        |flag: &str, path: &str| run(&["train", "--data", csv, "--epochs", "1", flag, path]);
    for out in [
        train("--checkpoint", &ck),
        train("--metrics", &metrics),
        train("--plot", &plot),
        run(&["grad", "x", "--at", "x=1", "--dot", &dot]),
        run(&["descend", "x^2", "--from", "x=1", "--plot", &plot]),
        run(&["gallery", &gallery]),
    ] {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(
            err.lines().filter(|l| l.starts_with("error: ")).count(),
            1,
            "{err}"
        );
    }
}

#[test]
fn a_reader_that_stops_early_ends_the_output_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(BIN)
        .args(["bench", "--only", "gemm_f32", "--quick", "--threads", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("RESULT discesa gemm_f32"), "{first}");
    // The reader is gone: the next line the benchmark prints meets a closed pipe.
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "{err}");
}
