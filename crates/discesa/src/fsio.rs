//! The crate's one way of writing a file: atomically and durably.
//!
//! A file is written to a hidden temporary sibling, flushed to disk, renamed over the target
//! and the directory is flushed, so a reader (or a process restarted after `kill -9` or a
//! power cut) sees either the old file or the complete new one, never a mix. Every module
//! that writes files (data, checkpoints, figures, metrics, CLI outputs) goes through here.

use serde::Serialize;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes temporary files of concurrent writers within one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Marks temporary files: `.{pid}-{n}.tmp.{name}`. The writer's process id lets
/// [`remove_stale_temps`] tell leftovers of a killed writer from files in use, and the target's
/// name stays at the end so tools that pick a format from the extension (figures) still can.
const TEMP_MARK: &str = ".tmp.";

/// A failed file operation: what was being done, to which file, and why.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}: {source}", path.display())]
pub struct FileError {
    /// What was being done ("writing", "replacing", "flushing to disk", …).
    pub action: &'static str,
    /// The file concerned (the target, not the temporary sibling).
    pub path: PathBuf,
    /// The operating system's error.
    pub source: std::io::Error,
}

impl FileError {
    /// Wraps an I/O error with the action and the path.
    pub fn new(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        FileError {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

fn err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> FileError + 'a {
    move |source| FileError::new(action, path, source)
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// A temporary sibling of a target file that becomes the target on [`PendingFile::commit`]
/// and is removed if dropped uncommitted (an error or a panic midway leaves nothing behind).
#[derive(Debug)]
pub struct PendingFile {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
}

impl PendingFile {
    /// Reserves a hidden temporary name beside `target`
    /// (`.{pid}-{n}.tmp.{name}`, same directory, so the rename never crosses file systems).
    /// Nothing is created yet: write the temporary file at [`PendingFile::temp_path`].
    pub fn new(target: impl AsRef<Path>) -> Result<Self, FileError> {
        let target = target.as_ref().to_path_buf();
        let name = target.file_name().ok_or_else(|| {
            FileError::new(
                "writing",
                &target,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name"),
            )
        })?;
        let temp = target.with_file_name(format!(
            ".{}-{}{TEMP_MARK}{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            name.to_string_lossy(),
        ));
        Ok(PendingFile {
            target,
            temp,
            committed: false,
        })
    }

    /// Where the new content is to be written.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Flushes the temporary file to disk, renames it over the target and flushes the
    /// directory, so the replacement survives a crash.
    pub fn commit(mut self) -> Result<(), FileError> {
        let file = File::open(&self.temp).map_err(err("reopening", &self.target))?;
        file.sync_all()
            .map_err(err("flushing to disk", &self.target))?;
        drop(file);
        fs::rename(&self.temp, &self.target).map_err(err("replacing", &self.target))?;
        self.committed = true;
        sync_dir(parent_dir(&self.target))
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the temporary file may never have been created.
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Flushes a directory's entries (creations, renames, removals) to disk. File systems that
/// cannot sync a directory (they answer "invalid argument" or "unsupported") are accepted:
/// there the rename is as durable as the platform makes it.
pub fn sync_dir(dir: &Path) -> Result<(), FileError> {
    let result = File::open(dir).and_then(|d| d.sync_all());
    match result {
        Ok(()) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(FileError::new("flushing directory", dir, e)),
    }
}

/// Writes `path` atomically with the content produced by `fill`.
///
/// Readers see either the old file or the complete new one. On any error (including one
/// returned by `fill`) the temporary file is removed and an existing `path` is untouched.
pub fn write_atomic_with(
    path: impl AsRef<Path>,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), FileError> {
    let path = path.as_ref();
    let pending = PendingFile::new(path)?;
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(pending.temp_path())
        .map_err(err("creating temporary file", path))?;
    let mut writer = BufWriter::new(file);
    fill(&mut writer).map_err(err("writing", path))?;
    let file = writer
        .into_inner()
        .map_err(|e| e.into_error())
        .map_err(err("writing", path))?;
    drop(file);
    pending.commit()
}

/// Writes `bytes` to `path` atomically (see [`write_atomic_with`]).
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<(), FileError> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Writes `value` as pretty-printed JSON (with a final newline) to `path` atomically.
/// Serialisation happens before the file is touched, so a value that fails to serialise
/// changes nothing.
pub fn write_json_atomic(path: impl AsRef<Path>, value: &impl Serialize) -> Result<(), FileError> {
    let path = path.as_ref();
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| FileError::new("serialising JSON for", path, std::io::Error::other(e)))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Removes the temporary files in `dir` that this module's writers left when they were killed
/// (their process no longer exists), and returns their names. Temporaries of live processes,
/// this one included, are kept. Only Linux tells whether a process exists (`/proc`); elsewhere
/// nothing is removed.
pub fn remove_stale_temps(dir: &Path) -> Result<Vec<String>, FileError> {
    let mut removed = Vec::new();
    if !Path::new("/proc/self").exists() {
        return Ok(removed);
    }
    let entries = fs::read_dir(dir).map_err(err("listing", dir))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = temp_writer_pid(&name) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let path = entry.path();
            match fs::remove_file(&path) {
                Ok(()) => removed.push(name),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(FileError::new("removing", &path, e)),
            }
        }
    }
    if !removed.is_empty() {
        sync_dir(dir)?;
    }
    Ok(removed)
}

/// The writer's process id if `name` is one of our temporary names `.{pid}-{n}.tmp.{name}`.
fn temp_writer_pid(name: &str) -> Option<u32> {
    let (id, _) = name.strip_prefix('.')?.split_once(TEMP_MARK)?;
    let (pid, n) = id.split_once('-')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests;
