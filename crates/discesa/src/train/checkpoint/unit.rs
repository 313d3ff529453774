//! The checkpoint unit on disk: `model.safetensors` and `state.json` replaced together, so a
//! process killed at any moment leaves a pair that loads (see `docs/checkpoints.md`).
//!
//! `state.json` is the commit record: it names the weights it belongs to by their SHA-256.
//! Saving writes the new weights beside the old ones as `model.safetensors.new`, then replaces
//! `state.json` (the commit, one rename), then renames the new weights into place. Loading
//! takes whichever of `model.safetensors` and `model.safetensors.new` has the recorded digest,
//! and the next save finishes an interrupted one first.

use super::{read_state, CheckpointState, STATE_FILE, WEIGHTS_FILE};
use crate::checkpoint::{parse_safetensors, TensorFile};
use crate::fsio::{remove_stale_temps, sync_dir, write_atomic, write_json_atomic, FileError};
use crate::train::{Result, TrainError};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// Name of the new weights while they wait for `state.json` to commit them.
pub const PENDING_WEIGHTS_FILE: &str = "model.safetensors.new";

/// Lowercase hexadecimal SHA-256 of `bytes`, as `sha256sum` prints it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads a file, `None` if it does not exist.
fn read_if_present(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// Finishes or undoes a save that was interrupted: pending weights that `state.json` names are
/// renamed into place, pending weights it does not name (never committed) are removed, and
/// temporary files of killed writers are deleted. Ranks of one job resuming from a shared
/// directory may all do this at once: a pending file another one has already moved is done.
pub(super) fn finish_interrupted_save(dir: &Path) -> Result<()> {
    let pending = dir.join(PENDING_WEIGHTS_FILE);
    if let Some(bytes) = read_if_present(&pending)? {
        let committed = read_state(&dir.join(STATE_FILE))
            .ok()
            .and_then(|s| s.weights_sha256)
            .is_some_and(|digest| digest == sha256_hex(&bytes));
        let done = if committed {
            fs::rename(&pending, dir.join(WEIGHTS_FILE))
        } else {
            fs::remove_file(&pending)
        };
        match done {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) if committed => {
                return Err(FileError::new("replacing", &dir.join(WEIGHTS_FILE), e).into())
            }
            Err(e) => return Err(FileError::new("removing", &pending, e).into()),
        }
        sync_dir(dir)?;
    }
    remove_stale_temps(dir)?;
    Ok(())
}

/// Creates `dir` (and makes its creation durable) when it does not exist yet.
fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Ok(sync_dir(parent)?)
}

/// Replaces the checkpoint in `dir` by `weights` (safetensors bytes) and `state`, as one unit.
/// `state.weights_sha256` is set here.
pub(super) fn write_unit(dir: &Path, weights: &[u8], mut state: CheckpointState) -> Result<()> {
    ensure_dir(dir)?;
    finish_interrupted_save(dir)?;
    state.weights_sha256 = Some(sha256_hex(weights));
    let pending = dir.join(PENDING_WEIGHTS_FILE);
    write_atomic(&pending, weights)?;
    // The commit: from here on the new pair is the checkpoint.
    write_json_atomic(dir.join(STATE_FILE), &state)?;
    fs::rename(&pending, dir.join(WEIGHTS_FILE))
        .map_err(|e| FileError::new("replacing", &dir.join(WEIGHTS_FILE), e))?;
    Ok(sync_dir(dir)?)
}

/// The weights file of the committed unit and its bytes: the candidate whose digest
/// `state.json` records, or `model.safetensors` unchecked for states written before digests.
fn committed_weights(dir: &Path, state: &CheckpointState) -> Result<Option<(PathBuf, Vec<u8>)>> {
    let live = dir.join(WEIGHTS_FILE);
    let Some(digest) = &state.weights_sha256 else {
        let bytes = fs::read(&live).map_err(|source| TrainError::Io {
            path: live.clone(),
            source,
        })?;
        return Ok(Some((live, bytes)));
    };
    for path in [live, dir.join(PENDING_WEIGHTS_FILE)] {
        if let Some(bytes) = read_if_present(&path)? {
            if &sha256_hex(&bytes) == digest {
                return Ok(Some((path, bytes)));
            }
        }
    }
    Ok(None)
}

/// Reads the committed unit in `dir`: its state and its weights file.
///
/// A save running at the same time can move the files between two reads; the read is then
/// tried again, a few times, before the pair is declared damaged.
pub(super) fn read_unit(dir: &Path) -> Result<(CheckpointState, TensorFile)> {
    let state_path = dir.join(STATE_FILE);
    const ATTEMPTS: usize = 3;
    for _ in 0..ATTEMPTS {
        if !state_path.is_file() {
            return Err(TrainError::Invalid(format!(
                "{} is not a checkpoint directory (no {STATE_FILE})",
                dir.display()
            )));
        }
        let state = read_state(&state_path)?;
        if let Some((path, bytes)) = committed_weights(dir, &state)? {
            let file = parse_safetensors(&bytes, &path)?;
            return Ok((state, file));
        }
    }
    Err(TrainError::Invalid(format!(
        "{}: neither {WEIGHTS_FILE} nor {PENDING_WEIGHTS_FILE} has the SHA-256 that {STATE_FILE} \
         records; the checkpoint was changed by something other than discesa",
        dir.display()
    )))
}
