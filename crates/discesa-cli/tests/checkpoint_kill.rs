//! `kill -9` at random moments of `discesa train --checkpoint`: after every kill the checkpoint
//! loads, `discesa evaluate` reads it, and its weights are byte for byte those of the same
//! epoch of a run never interrupted; every killed run is resumed, and the last one, run to the
//! end, has the same weights as the uninterrupted run.
//!
//! The kill moments are uniform over the length of a whole run (measured first), from a fixed
//! seed; a kill before the first checkpoint or after the run has finished does not count, so
//! the 20 kills all hit a run that was training or saving. `DISCESA_KILLS`,
//! `DISCESA_KILL_SEED`, `DISCESA_KILL_DATA` (a data set with its target given by
//! `DISCESA_KILL_TARGET`) and `DISCESA_KILL_EPOCHS` make a bigger run by hand
//! (scripts/kill_test.sh runs it on MNIST).

mod common;

use discesa::train::{
    load_checkpoint, read_state_dict, PENDING_WEIGHTS_FILE, STATE_FILE, WEIGHTS_FILE,
};
use std::collections::BTreeSet;
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

struct Run {
    data: PathBuf,
    target: String,
    epochs: usize,
}

impl Run {
    fn command(&self, checkpoint: &Path, resume: bool) -> Command {
        self.command_with(checkpoint, resume, false)
    }

    /// With `keep_epochs`, also the weights of every epoch (the reference trajectory).
    fn command_with(&self, checkpoint: &Path, resume: bool, keep_epochs: bool) -> Command {
        let mut c = Command::new(BIN);
        c.args(["train", "--data"])
            .arg(&self.data)
            .args(["--hidden", "128,64", "--batch-size", "16"])
            .args(["--epochs", &self.epochs.to_string(), "--seed", "7"])
            .args(["--dropout", "0.2", "--threads", "1", "--json"])
            .arg("--checkpoint")
            .arg(checkpoint)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if !self.target.is_empty() {
            c.args(["--target", &self.target]);
        }
        if resume {
            c.arg("--resume");
        }
        if keep_epochs {
            c.arg("--keep-epochs");
        }
        c
    }

    /// Runs to the end; returns how long it took.
    fn complete(&self, checkpoint: &Path, resume: bool, keep_epochs: bool) -> Duration {
        let start = Instant::now();
        let status = self
            .command_with(checkpoint, resume, keep_epochs)
            .status()
            .unwrap();
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

/// After a kill: `None` when there is no checkpoint yet; otherwise the checkpoint loads, its
/// weights equal the reference run's after the same epoch, `evaluate` reads it, and the epoch
/// it holds is returned.
fn check_checkpoint(run: &Run, dir: &Path, reference: &Path) -> Option<usize> {
    if !dir.join(STATE_FILE).exists() {
        return None;
    }
    let ck = load_checkpoint(dir)
        .unwrap_or_else(|e| panic!("unreadable checkpoint {:?}: {e}", entries(dir)));
    let epoch = ck.state.progress.epochs_done;
    assert!(epoch >= 1);
    let want = reference_weights(reference, epoch);
    assert!(
        ck.weights == want,
        "the checkpoint after epoch {epoch} differs from the uninterrupted run's epoch {epoch}"
    );
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
    Some(epoch)
}

/// The uninterrupted run's weights after `epoch`, in the model's flat layout (parameters in
/// `state_dict` order, as `load_checkpoint` returns them).
fn reference_weights(reference: &Path, epoch: usize) -> Vec<f32> {
    let path = reference.join(discesa::train::snapshot_name(epoch));
    let file = discesa::checkpoint::load_safetensors_file(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ck = load_checkpoint(reference).unwrap();
    let model = ck.state.model.build::<f32>().unwrap();
    read_state_dict(&file, model.as_ref(), false).unwrap().0
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
            // Small enough that the whole test stays within seconds, big enough (with the
            // 128-64 network below) that an epoch's steps and its checkpoint each take a few
            // milliseconds, so kills land in every phase of training and of a save.
            let p = common::data_csv(&scratch.path().join("three.csv"), 600);
            (p, "label".to_string())
        }
    };
    let run = Run {
        data,
        target,
        epochs: env_or("DISCESA_KILL_EPOCHS", 12),
    };
    let kills: usize = env_or("DISCESA_KILLS", 20);
    let mut moments = Moments(env_or("DISCESA_KILL_SEED", 2026));

    let reference = scratch.path().join("reference");
    let full = run.complete(&reference, false, true);

    let dir = scratch.path().join("killed");
    let (mut killed, mut with_pending) = (0, 0);
    let (mut finished_early, mut before_first) = (0, 0);
    let mut epochs_hit = BTreeSet::new();
    let mut attempts = 0;
    while killed < kills {
        attempts += 1;
        assert!(
            attempts <= kills * 10,
            "{attempts} attempts for {killed} kills"
        );
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
        let pending = dir.join(PENDING_WEIGHTS_FILE).exists();
        match check_checkpoint(&run, &dir, &reference) {
            // Killed before its first checkpoint: nothing to check, and no kill of a checkpoint.
            None => before_first += 1,
            Some(epoch) => {
                killed += 1;
                with_pending += usize::from(pending);
                epochs_hit.insert(epoch);
            }
        }
    }
    let resume = dir.join(STATE_FILE).exists();
    run.complete(&dir, resume, false);
    println!(
        "{killed} kills, every checkpoint readable and equal to the uninterrupted run's epoch \
         ({with_pending} during a replacement; epochs held {epochs_hit:?}); {before_first} kills \
         before the first checkpoint and {finished_early} runs finished before their kill did \
         not count; uninterrupted run {full:?}"
    );
    let a = std::fs::read(reference.join(WEIGHTS_FILE)).unwrap();
    let b = std::fs::read(dir.join(WEIGHTS_FILE)).unwrap();
    assert!(
        a == b,
        "the resumed run's weights differ from the uninterrupted run's"
    );
    assert_eq!(entries(&dir), [WEIGHTS_FILE, STATE_FILE]);
    // Kills spread over the run, or the test proves little: they must have found checkpoints
    // of several different epochs.
    assert!(
        epochs_hit.len() * 4 >= run.epochs.min(kills),
        "the kills found checkpoints of epochs {epochs_hit:?} only"
    );
}
