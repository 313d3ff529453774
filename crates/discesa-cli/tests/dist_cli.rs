//! End-to-end tests of data-parallel `discesa train` on the built binary with worker threads
//! (`--workers`); `mpi_cli.rs` runs the same under `mpirun`.

mod common;

use common::*;
use std::path::Path;

#[test]
fn workers_equal_the_single_process_run_with_adam_and_dropout() {
    let t = Temp::new("workers");
    let data = data_csv(&t.path("d.csv"), 150);
    let extra = ["--dropout", "0.2"];
    let solo = t.path("solo");
    ok(run(&train_args(&data, &solo, &extra), &[]), "one process");
    let want = weights(&solo);
    for (n, strategy) in [("2", "allreduce"), ("3", "ps"), ("2", "ps")] {
        let ck = t.path(&format!("{strategy}-{n}"));
        let mut a = train_args(&data, &ck, &extra);
        a.extend(["--workers", n, "--strategy", strategy].map(String::from));
        ok(run(&a, &[]), strategy);
        assert_close(&weights(&ck), &want, &format!("{strategy} on {n} workers"));
    }
}

#[test]
fn a_panicking_worker_ends_the_run_and_resume_is_bit_identical() {
    let t = Temp::new("wfault");
    let data = data_csv(&t.path("d.csv"), 150);
    let extra = ["--dropout", "0.2", "--workers", "2", "--epochs", "4"];
    let whole = t.path("whole");
    ok(
        run(&train_args(&data, &whole, &extra), &[]),
        "uninterrupted",
    );
    let ck = t.path("ck");
    let args = train_args(&data, &ck, &extra);
    // 120 training rows in batches of 20: step 10 is in the second epoch.
    let out = run(&args, &[("DISCESA_FAULT", "panic@rank=1,step=10")]);
    assert_eq!(out.status.code(), Some(1));
    one_error_line(&out, 1, "rank 1 panicked: injected fault");
    let mut resume = args.clone();
    resume.push("--resume".into());
    ok(run(&resume, &[]), "resume");
    assert_eq!(bytes(&ck), bytes(&whole), "resumed weights differ");
}

/// The timeline's event names per track (`tid`), from a Chrome trace file.
fn trace_tracks(path: &Path) -> Vec<(u64, Vec<String>)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut tracks: Vec<(u64, Vec<String>)> = Vec::new();
    for e in v["traceEvents"].as_array().unwrap() {
        if e["ph"] != "X" {
            continue;
        }
        let tid = e["tid"].as_u64().unwrap();
        let name = e["name"].as_str().unwrap().to_string();
        match tracks.iter_mut().find(|t| t.0 == tid) {
            Some(t) => t.1.push(name),
            None => tracks.push((tid, vec![name])),
        }
    }
    tracks.sort_by_key(|t| t.0);
    tracks
}

#[test]
fn profile_writes_a_timeline_per_rank_and_for_one_process() {
    let t = Temp::new("profile");
    let data = data_csv(&t.path("d.csv"), 150);
    // 120 training rows in batches of 20: 6 steps per epoch, 3 epochs.
    let plain = t.path("plain");
    ok(run(&train_args(&data, &plain, &[]), &[]), "one process");
    let trace = t.path("one.json");
    let ck = t.path("one");
    let out = ok(
        run(&train_args(&data, &ck, &["--profile", s(&trace)]), &[]),
        "one process with --profile",
    );
    assert_eq!(bytes(&ck), bytes(&plain), "--profile changed the training");
    assert!(String::from_utf8_lossy(&out.stderr).contains("time shares"));
    let tracks = trace_tracks(&trace);
    assert_eq!(tracks.len(), 1, "{tracks:?}");
    let count = |names: &[String], n: &str| names.iter().filter(|x| *x == n).count();
    assert_eq!(count(&tracks[0].1, "compute"), 18);
    assert_eq!(count(&tracks[0].1, "update"), 18);

    let trace = t.path("two.json");
    let ck = t.path("two");
    ok(
        run(
            &train_args(&data, &ck, &["--workers", "2", "--profile", s(&trace)]),
            &[],
        ),
        "two workers with --profile",
    );
    let tracks = trace_tracks(&trace);
    assert_eq!(tracks.len(), 2, "one track per rank");
    for (_, names) in &tracks {
        for n in [
            "compute",
            "all-reduce bucket 0",
            "wait for all-reduce",
            "update",
        ] {
            assert_eq!(count(names, n), 18, "{n}");
        }
    }
}

#[test]
fn bad_distributed_options_are_one_line_and_exit_2() {
    let t = Temp::new("wbad");
    let data = data_csv(&t.path("d.csv"), 60);
    let ck = t.path("ck");
    let cases: [(&[&str], &str); 5] = [
        (
            &["--workers", "2", "--strategy", "gossip"],
            "unknown strategy `gossip`",
        ),
        (
            &[
                "--workers",
                "2",
                "--strategy",
                "local-sgd",
                "--sync-every",
                "0",
            ],
            "--sync-every must be at least 1",
        ),
        (
            &["--workers", "3", "--batch-size", "2"],
            "smaller than the number of ranks",
        ),
        (&["--workers", "0"], "--workers must be at least 1"),
        (&["--strategy", "async"], "at least 2 ranks"),
    ];
    for (extra, needle) in cases {
        let out = run(&train_args(&data, &ck, extra), &[]);
        one_error_line(&out, 2, needle);
        assert!(!ck.exists(), "{extra:?} wrote a checkpoint");
    }
}
