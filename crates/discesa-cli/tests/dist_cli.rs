//! End-to-end tests of data-parallel `discesa train` on the built binary: worker threads
//! (`--workers`) always, MPI ranks (`mpirun`) when the binary is built with `--features mpi`
//! and Open MPI's `mpirun` is installed. A test that cannot run says why on stderr.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_discesa");

struct Temp(PathBuf);

impl Temp {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("discesa-dist-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Temp(p)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Three noisy classes in four features; `rows` decides the size (another size is other data).
fn data_csv(path: &Path, rows: u32) -> PathBuf {
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

/// The training command shared by every run of a comparison (one kernel thread per rank).
fn train_args(data: &Path, ck: &Path, extra: &[&str]) -> Vec<String> {
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

fn run(args: &[String], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn weights(ck: &Path) -> Vec<f32> {
    discesa::train::load_checkpoint(ck)
        .unwrap_or_else(|e| panic!("{}: {e}", ck.display()))
        .weights
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (1.0 + x.abs()))
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "{what}: parameters differ by {worst}");
    // Rounding differences only: far below what one training step changes.
}

fn bytes(ck: &Path) -> Vec<u8> {
    std::fs::read(ck.join("model.safetensors")).unwrap()
}

/// Exactly one `error:` line on stderr containing `needle`, exit code `code`.
fn one_error_line(out: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains(needle), "{err}");
}

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

// ---- MPI ----

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
            "the binary is built without MPI support (cargo test -p discesa-cli --features mpi --test dist_cli runs it)"
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
        let json: serde_json::Value =
            serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim())
                .expect("one JSON line from rank 0 only");
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
    let json: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
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
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim())
            .expect("one report, from rank 0");
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
