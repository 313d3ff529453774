//! `kill -9` at random moments of `discesa train --checkpoint`: after every kill the checkpoint
//! loads and `discesa evaluate` reads it, and the run resumed to the end has the same weights,
//! byte for byte, as a run never interrupted.
//!
//! The kill moments come from a fixed seed; `DISCESA_KILLS`, `DISCESA_KILL_SEED`,
//! `DISCESA_KILL_DATA` (a data set with its target given by `DISCESA_KILL_TARGET`) and
//! `DISCESA_KILL_EPOCHS` make a bigger run by hand (see scripts/kill_test.sh).

use discesa::train::{load_checkpoint, PENDING_WEIGHTS_FILE, STATE_FILE, WEIGHTS_FILE};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_discesa");

/// SplitMix64: reproducible kill moments without a dependency.
struct Moments(u64);

impl Moments {
    fn next_unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A synthetic three-class CSV: small enough that an epoch (and its checkpoint) takes
/// milliseconds, so kills land in every phase of a save.
fn synthetic_csv(path: &Path) {
    let mut text = String::from("a,b,c,d,label\n");
    for i in 0..240u32 {
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
}

struct Run {
    data: PathBuf,
    target: String,
    epochs: usize,
}

impl Run {
    fn command(&self, checkpoint: &Path, resume: bool) -> Command {
        let mut c = Command::new(BIN);
        c.args(["train", "--data"])
            .arg(&self.data)
            .args([
                "--target",
                &self.target,
                "--hidden",
                "32,16",
                "--batch-size",
                "16",
            ])
            .args(["--epochs", &self.epochs.to_string(), "--seed", "7"])
            .args(["--dropout", "0.2", "--threads", "1", "--json"])
            .arg("--checkpoint")
            .arg(checkpoint)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if resume {
            c.arg("--resume");
        }
        c
    }

    /// Runs to the end; returns how long it took.
    fn complete(&self, checkpoint: &Path, resume: bool) -> Duration {
        let start = Instant::now();
        let status = self.command(checkpoint, resume).status().unwrap();
        assert!(
            status.success(),
            "training into {} failed",
            checkpoint.display()
        );
        start.elapsed()
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// After a kill: no checkpoint yet, or one that loads and that `evaluate` reads.
fn check_readable(run: &Run, dir: &Path) -> bool {
    if !dir.join(STATE_FILE).exists() {
        return false;
    }
    let ck = load_checkpoint(dir)
        .unwrap_or_else(|e| panic!("unreadable checkpoint {:?}: {e}", entries(dir)));
    assert!(ck.state.progress.epochs_done >= 1);
    let out = Command::new(BIN)
        .args(["evaluate", "--json", "--checkpoint"])
        .arg(dir)
        .arg("--data")
        .arg(&run.data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "evaluate failed on {:?}: {}",
        entries(dir),
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

#[test]
fn kill_9_at_random_moments_never_loses_the_checkpoint_and_resume_is_bit_identical() {
    let scratch = tempfile::TempDir::new().unwrap();
    let (data, target) = match std::env::var("DISCESA_KILL_DATA") {
        Ok(d) => (
            PathBuf::from(d),
            env_or("DISCESA_KILL_TARGET", String::new()),
        ),
        Err(_) => {
            let p = scratch.path().join("three.csv");
            synthetic_csv(&p);
            (p, "label".to_string())
        }
    };
    let run = Run {
        data,
        target,
        epochs: env_or("DISCESA_KILL_EPOCHS", 12),
    };
    let kills: usize = env_or("DISCESA_KILLS", 12);
    let mut moments = Moments(env_or("DISCESA_KILL_SEED", 2026));

    let reference = scratch.path().join("reference");
    let full = run.complete(&reference, false);

    let dir = scratch.path().join("killed");
    let (mut killed, mut readable, mut with_pending) = (0, 0, 0);
    let mut finished_early = 0;
    while killed < kills {
        let resume = dir.join(STATE_FILE).exists();
        let mut child = run.command(&dir, resume).spawn().unwrap();
        // Anywhere from start-up to a little past the whole run's length.
        let wait = full.mul_f64(1.1 * moments.next_unit());
        std::thread::sleep(wait);
        if child.try_wait().unwrap().is_some() {
            // It finished first; start again from scratch so later kills still have work.
            finished_early += 1;
            std::fs::remove_dir_all(&dir).unwrap();
            continue;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        killed += 1;
        with_pending += usize::from(dir.join(PENDING_WEIGHTS_FILE).exists());
        readable += usize::from(check_readable(&run, &dir));
    }
    let resume = dir.join(STATE_FILE).exists();
    run.complete(&dir, resume);
    println!(
        "{killed} kills ({readable} with a checkpoint, all readable; {with_pending} during a \
         replacement), {finished_early} runs finished before their kill; uninterrupted run {full:?}"
    );
    let a = std::fs::read(reference.join(WEIGHTS_FILE)).unwrap();
    let b = std::fs::read(dir.join(WEIGHTS_FILE)).unwrap();
    assert!(
        a == b,
        "the resumed run's weights differ from the uninterrupted run's"
    );
    assert_eq!(entries(&dir), [WEIGHTS_FILE, STATE_FILE]);
    // The kills must have hit runs that had checkpoints, or the test proves little.
    assert!(
        readable * 2 >= kills,
        "only {readable} of {kills} kills found a checkpoint"
    );
}
