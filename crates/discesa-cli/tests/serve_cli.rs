//! `discesa serve` and `discesa train --serve` from the command line: start-up, a taken port,
//! runs that cannot be shown.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn discesa(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_discesa"))
        .args(args)
        .output()
        .expect("run discesa")
}

fn input_error(args: &[&str], needle: &str) {
    let out = discesa(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.starts_with("error: ") && err.contains(needle),
        "{args:?}: {err}"
    );
}

#[test]
fn a_taken_port_is_named_and_exits_2() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    input_error(&["serve", "--port", &port], &format!("port {port}"));
}

#[test]
fn runs_that_cannot_be_shown_exit_2() {
    input_error(
        &["serve", "--port", "0", "--run", "/no/such/dir/metrics.csv"],
        "does not exist",
    );
    input_error(
        &["serve", "--port", "0", "--run", "Cargo.toml"],
        "not a metrics file",
    );
    input_error(
        &["train", "--data", "x.csv", "--serve=0"],
        "--serve needs --metrics",
    );
}

#[test]
fn serve_answers_quickly_on_the_port_it_prints() {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_discesa"))
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut page = String::new();
    s.read_to_string(&mut page).unwrap();
    let elapsed = started.elapsed();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("Formula explorer"));
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}
