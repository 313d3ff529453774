//! End-to-end tests of data-parallel `discesa train` on MPI ranks (`mpirun`), when the binary
//! is built with `--features mpi` and Open MPI's `mpirun` is installed. A test that cannot run
//! says why on stderr.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// `mpirun` when it runs here, else why not.
fn mpirun() -> Result<&'static str, String> {
    match Command::new("mpirun").arg("--version").output() {
        Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Open MPI") => {
            Ok("mpirun")
        }
        Ok(o) if o.status.success() => Err("mpirun is not Open MPI's".into()),
        _ => Err("mpirun not found (scripts/setup.sh installs openmpi-bin)".into()),
    }
}

/// The reason an MPI test cannot run, printed; `None` when it can.
fn mpi_skip(test: &str, needs_feature: bool) -> bool {
    let why = match mpirun() {
        Err(why) => Some(why),
        Ok(_) if needs_feature && !cfg!(feature = "mpi") => Some(
            "the binary is built without MPI support (cargo test -p discesa-cli --features mpi --test mpi_cli runs it)"
                .to_string(),
        ),
        Ok(_) => None,
    };
    if let Some(why) = &why {
        eprintln!("skipped {test}: {why}");
    }
    why.is_some()
}

/// `mpirun -n N discesa ARGS`, killed after `limit` (a hang is a failure, not a stuck suite).
fn mpi(n: usize, args: &[String], env: &[(&str, &str)], limit: Duration) -> (Output, Duration) {
    mpmd(&[(n, args.to_vec())], env, limit)
}

/// One `mpirun` with several application contexts (`-n 1 A : -n 1 B`).
fn mpmd(
    apps: &[(usize, Vec<String>)],
    env: &[(&str, &str)],
    limit: Duration,
) -> (Output, Duration) {
    let mut c = Command::new("mpirun");
    c.args(["--allow-run-as-root", "--oversubscribe"]);
    c.args(["--mca", "btl_vader_single_copy_mechanism", "none"]);
    for (k, v) in env {
        c.args(["-x", &format!("{k}={v}")]);
    }
    for (i, (n, args)) in apps.iter().enumerate() {
        if i > 0 {
            c.arg(":");
        }
        c.args(["-n", &n.to_string(), BIN]).args(args);
    }
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let start = Instant::now();
    let mut child = c.spawn().unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "mpirun did not end within {limit:?}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let elapsed = start.elapsed();
    (child.wait_with_output().unwrap(), elapsed)
}

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn mpirun_on_a_build_without_mpi_is_one_error_line() {
    if cfg!(feature = "mpi") {
        eprintln!("skipped mpirun_on_a_build_without_mpi_is_one_error_line: this binary has MPI");
        return;
    }
    if mpi_skip("mpirun_on_a_build_without_mpi_is_one_error_line", false) {
        return;
    }
    let t = Temp::new("nompi");
    let data = data_csv(&t.path("d.csv"), 60);
    let ck = t.path("ck");
    let (out, _) = mpi(2, &train_args(&data, &ck, &[]), &[], LIMIT);
    one_error_line(
        &out,
        2,
        "built without MPI support; rebuild with --features mpi",
    );
    assert!(!ck.exists());
}

/// `cc ARGS` in `dir`, or why it cannot run.
fn cc(dir: &Path, args: &[&str]) -> Result<(), String> {
    match Command::new("cc").current_dir(dir).args(args).output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "cc {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Err(format!("no C compiler (cc: {e})")),
    }
}

#[test]
fn discesa_itself_does_not_need_the_mpi_library() {
    let out = match Command::new("readelf").args(["-d", BIN]).output() {
        Ok(o) if o.status.success() => o,
        _ => {
            eprintln!("skipped discesa_itself_does_not_need_the_mpi_library: readelf (binutils) not found");
            return;
        }
    };
    let dynamic = String::from_utf8_lossy(&out.stdout);
    assert!(dynamic.contains("(NEEDED)"), "{dynamic}");
    assert!(!dynamic.contains("libmpi"), "{dynamic}");
}

#[test]
fn a_missing_mpi_library_is_one_error_line() {
    if !cfg!(feature = "mpi") {
        eprintln!("skipped a_missing_mpi_library_is_one_error_line: this binary has no MPI");
        return;
    }
    // `discesa` beside a `discesa-mpi` that needs a library which is gone, as on a machine
    // without Open MPI; the launcher is only its variables.
    let t = Temp::new("nolib");
    std::fs::write(t.path("gone.c"), "int gone(void) { return 0; }\n").unwrap();
    std::fs::write(
        t.path("main.c"),
        "int gone(void);\nint main(void) { return gone(); }\n",
    )
    .unwrap();
    let built = cc(
        &t.0,
        &["-shared", "-fPIC", "-o", "libdiscesa_gone.so", "gone.c"],
    )
    .and_then(|()| {
        cc(
            &t.0,
            &["-o", "discesa-mpi", "main.c", "-L.", "-ldiscesa_gone"],
        )
    });
    if let Err(why) = built {
        eprintln!("skipped a_missing_mpi_library_is_one_error_line: {why}");
        return;
    }
    std::fs::remove_file(t.path("libdiscesa_gone.so")).unwrap();
    std::fs::copy(BIN, t.path("discesa")).unwrap();
    let data = data_csv(&t.path("d.csv"), 60);
    let ck = t.path("ck");
    let out = Command::new(t.path("discesa"))
        .args(train_args(&data, &ck, &[]))
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .env("OMPI_COMM_WORLD_RANK", "0")
        .output()
        .unwrap();
    one_error_line(
        &out,
        2,
        "cannot load the MPI library: libdiscesa_gone.so: cannot open shared object file",
    );
    assert!(!ck.exists());
}

#[test]
fn a_command_line_mistake_under_a_launcher_is_said_by_rank_0_only() {
    // The launcher's variables alone: every rank finds the same mistake, rank 0 says it and the
    // others end with the same code in silence (no launcher is needed to see that).
    let t = Temp::new("usage");
    let data = data_csv(&t.path("d.csv"), 60);
    let ck = t.path("ck");
    let cases: [(Vec<String>, &str); 2] = [
        (
            vec!["train".into(), "--bogus".into()],
            "unexpected argument '--bogus'",
        ),
        (
            train_args(&data, &ck, &["--strategy", "nope"]),
            if cfg!(feature = "mpi") {
                "unknown strategy `nope`"
            } else {
                "built without MPI support"
            },
        ),
    ];
    for (args, needle) in &cases {
        for rank in ["0", "1"] {
            let env = [
                ("OMPI_COMM_WORLD_SIZE", "2"),
                ("OMPI_COMM_WORLD_RANK", rank),
            ];
            let out = run(args, &env);
            if rank == "0" {
                one_error_line(&out, 2, needle);
                let usage = String::from_utf8_lossy(&out.stderr).contains("Usage: discesa ");
                assert!(!args.contains(&"--bogus".to_string()) || usage, "{out:?}");
            } else {
                assert_eq!(out.status.code(), Some(2), "{args:?}");
                assert!(
                    out.stderr.is_empty(),
                    "rank 1 said: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
    assert!(!ck.exists());
}

#[test]
fn allreduce_and_ps_on_mpi_ranks_equal_the_single_process_run() {
    if mpi_skip(
        "allreduce_and_ps_on_mpi_ranks_equal_the_single_process_run",
        true,
    ) {
        return;
    }
    let t = Temp::new("mpieq");
    let data = data_csv(&t.path("d.csv"), 150);
    let extra = ["--dropout", "0.2"];
    let solo = t.path("solo");
    ok(run(&train_args(&data, &solo, &extra), &[]), "one process");
    let want = weights(&solo);
    // The tiny bucket cap puts every parameter tensor in a bucket of its own, all-reduced while
    // backward goes on.
    let cases: [(usize, &str, &[&str]); 4] = [
        (2, "allreduce", &[]),
        (2, "ps", &[]),
        (3, "allreduce", &[]),
        (2, "allreduce", &["--bucket-mb", "0.0001"]),
    ];
    for (i, (n, strategy, more)) in cases.into_iter().enumerate() {
        let ck = t.path(&format!("{strategy}-{n}-{i}"));
        let mut a = train_args(&data, &ck, &extra);
        a.extend(["--strategy", strategy, "--json"].map(String::from));
        a.extend(more.iter().map(|x| x.to_string()));
        let (out, _) = mpi(n, &a, &[], LIMIT);
        let out = ok(out, strategy);
        let json = stdout_json(&out);
        assert_eq!(json["ranks"], n);
        assert_close(
            &weights(&ck),
            &want,
            &format!("{strategy} on {n} MPI ranks"),
        );
    }
}

#[test]
fn local_sgd_every_step_with_sgd_equals_allreduce_on_mpi() {
    if mpi_skip(
        "local_sgd_every_step_with_sgd_equals_allreduce_on_mpi",
        true,
    ) {
        return;
    }
    let t = Temp::new("mpilocal");
    let data = data_csv(&t.path("d.csv"), 150);
    let sgd = ["--optimizer", "sgd", "--lr", "0.1"];
    let all = t.path("all");
    ok(
        mpi(2, &train_args(&data, &all, &sgd), &[], LIMIT).0,
        "allreduce",
    );
    let local = t.path("local");
    let mut a = train_args(&data, &local, &sgd);
    a.extend(["--strategy", "local-sgd", "--sync-every", "1"].map(String::from));
    ok(mpi(2, &a, &[], LIMIT).0, "local-sgd");
    assert_close(
        &weights(&local),
        &weights(&all),
        "local-sgd K=1 against allreduce",
    );
}

#[test]
fn async_on_mpi_keeps_the_staleness_bound() {
    if mpi_skip("async_on_mpi_keeps_the_staleness_bound", true) {
        return;
    }
    let t = Temp::new("mpiasync");
    let data = data_csv(&t.path("d.csv"), 150);
    let ck = t.path("ck");
    let mut a = train_args(
        &data,
        &ck,
        &["--optimizer", "sgd", "--lr", "0.1", "--epochs", "4"],
    );
    a.extend(["--strategy", "async", "--max-staleness", "1", "--json"].map(String::from));
    let out = ok(mpi(3, &a, &[], LIMIT).0, "async");
    let json = stdout_json(&out);
    let counts: Vec<u64> = json["staleness_histogram"]["counts"]
        .as_array()
        .expect("staleness histogram in --json")
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert!(
        counts.len() <= 2,
        "staleness above the bound of 1: {counts:?}"
    );
    // 150 rows less 20 % for the test split: 120 training rows, 6 batches of 20 per epoch;
    // every batch of every epoch is applied exactly once.
    assert_eq!(counts.iter().sum::<u64>(), 4 * 6, "{counts:?}");
    assert!(json["test_accuracy"].as_f64().unwrap() > 0.6, "{json}");
}

#[test]
fn a_panicking_mpi_rank_ends_the_job_and_resume_is_bit_identical() {
    if mpi_skip(
        "a_panicking_mpi_rank_ends_the_job_and_resume_is_bit_identical",
        true,
    ) {
        return;
    }
    let t = Temp::new("mpifault");
    let data = data_csv(&t.path("d.csv"), 150);
    let extra = ["--dropout", "0.2", "--epochs", "4"];
    let whole = t.path("whole");
    ok(
        mpi(2, &train_args(&data, &whole, &extra), &[], LIMIT).0,
        "uninterrupted",
    );
    let ck = t.path("ck");
    let args = train_args(&data, &ck, &extra);
    let (out, took) = mpi(
        2,
        &args,
        &[("DISCESA_FAULT", "panic@rank=1,step=10")],
        LIMIT,
    );
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("rank 1 panicked: injected fault"),
        "{err}"
    );
    assert!(
        took < Duration::from_secs(20),
        "the job took {took:?} to end"
    );
    let mut resume = args.clone();
    resume.push("--resume".into());
    ok(mpi(2, &resume, &[], LIMIT).0, "resume");
    assert_eq!(bytes(&ck), bytes(&whole), "resumed weights differ");
}

#[test]
fn mpi_ranks_with_different_data_and_bad_options_are_refused_once() {
    if mpi_skip(
        "mpi_ranks_with_different_data_and_bad_options_are_refused_once",
        true,
    ) {
        return;
    }
    let t = Temp::new("mpibad");
    let data = data_csv(&t.path("d.csv"), 90);
    let other = data_csv(&t.path("other.csv"), 93);
    let ck = t.path("ck");
    let (out, _) = mpmd(
        &[
            (1, train_args(&data, &ck, &[])),
            (1, train_args(&other, &ck, &[])),
        ],
        &[],
        LIMIT,
    );
    one_error_line(&out, 2, "rank 1 sees different data than rank 0");
    assert!(!ck.exists());
    // A file mistake: said once when every rank makes it, and named when one rank alone does
    // (the ranks' start-up vote decides, on Open MPI as on MPICH).
    let missing = t.path("missing.csv");
    let (out, _) = mpi(3, &train_args(&missing, &ck, &[]), &[], LIMIT);
    one_error_line(&out, 2, "missing.csv");
    let (out, _) = mpmd(
        &[
            (1, train_args(&data, &ck, &[])),
            (1, train_args(&missing, &ck, &[])),
        ],
        &[],
        LIMIT,
    );
    one_error_line(&out, 2, "error: rank 1: ");
    assert!(!ck.exists());
    let cases: [(&[&str], &str); 3] = [
        (&["--strategy", "gossip"], "unknown strategy `gossip`"),
        (
            &["--strategy", "local-sgd", "--sync-every", "0"],
            "--sync-every must be at least 1",
        ),
        (&["--batch-size", "2"], "smaller than the number of ranks"),
    ];
    for (extra, needle) in cases {
        let (out, _) = mpi(3, &train_args(&data, &ck, extra), &[], LIMIT);
        one_error_line(&out, 2, needle);
        assert!(!ck.exists(), "{extra:?} wrote a checkpoint");
    }
}

#[test]
fn landscape_on_two_mpi_ranks_writes_the_files_of_one_process() {
    if mpi_skip(
        "landscape_on_two_mpi_ranks_writes_the_files_of_one_process",
        true,
    ) {
        return;
    }
    let t = Temp::new("mpils");
    let data = data_csv(&t.path("d.csv"), 150);
    let ck = t.path("ck");
    ok(run(&train_args(&data, &ck, &[]), &[]), "train");
    let args = |out: &Path| -> Vec<String> {
        [
            "landscape",
            "--checkpoint",
            s(&ck),
            "--data",
            s(&data),
            "--grid",
            "-1:1:5,-1:1:4",
            "--samples",
            "100",
            "--threads",
            "1",
            "--json",
            "--output",
            s(out),
        ]
        .map(String::from)
        .to_vec()
    };
    let one = t.path("one");
    ok(run(&args(&one), &[]), "one process");
    let two = t.path("two");
    let out = ok(mpi(2, &args(&two), &[], LIMIT).0, "two ranks");
    let report = stdout_json(&out);
    assert_eq!(report["computed"], 20, "{report}");
    let mut names: Vec<String> = std::fs::read_dir(&one)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.contains(&"loss.npy".to_string()), "{names:?}");
    for name in names.iter().filter(|n| *n != "landscape.json") {
        assert_eq!(
            std::fs::read(one.join(name)).unwrap(),
            std::fs::read(two.join(name)).unwrap_or_default(),
            "{name} differs between 1 process and 2 ranks"
        );
    }
}
