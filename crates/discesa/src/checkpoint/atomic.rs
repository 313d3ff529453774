//! Atomic file replacement: write a temporary file beside the target, flush it to disk,
//! then rename it over the target.

use super::CheckpointError;
use serde::Serialize;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinguishes temporary files of concurrent writers within one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError {
    let path = path.to_path_buf();
    move |source| CheckpointError::Io {
        action,
        path,
        source,
    }
}

/// Hidden temporary name in the target's directory, so the final rename never crosses
/// file systems.
fn temp_path(path: &Path) -> Result<PathBuf, CheckpointError> {
    let name = path.file_name().ok_or_else(|| CheckpointError::Io {
        action: "writing",
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name"),
    })?;
    let unique = format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    Ok(path.with_file_name(unique))
}

/// Writes `path` atomically with the content produced by `fill`.
///
/// Readers see either the old file or the complete new one. On any error (including one
/// returned by `fill`) the temporary file is removed and an existing `path` is untouched.
pub fn write_atomic_with(
    path: impl AsRef<Path>,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let tmp = temp_path(path)?;
    let result = write_and_rename(path, &tmp, fill);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_and_rename(
    path: &Path,
    tmp: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), CheckpointError> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
        .map_err(io_err("creating temporary file", tmp))?;
    let mut writer = BufWriter::new(file);
    fill(&mut writer).map_err(io_err("writing", path))?;
    let file = writer
        .into_inner()
        .map_err(|e| e.into_error())
        .map_err(io_err("writing", path))?;
    file.sync_all().map_err(io_err("flushing to disk", path))?;
    drop(file);
    fs::rename(tmp, path).map_err(io_err("replacing", path))?;
    sync_parent(path);
    Ok(())
}

/// Makes the rename itself durable where the platform allows it; failure only weakens
/// durability after a power cut, never correctness, so it is ignored.
fn sync_parent(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = File::open(parent) {
        let _ = dir.sync_all();
    }
}

/// Writes `bytes` to `path` atomically (see [`write_atomic_with`]).
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<(), CheckpointError> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Writes `value` as pretty-printed JSON to `path` atomically. Serialisation happens
/// before the file is touched, so a value that fails to serialise changes nothing.
pub fn write_json_atomic(
    path: impl AsRef<Path>,
    value: &impl Serialize,
) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| CheckpointError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh, empty directory under the system temp dir, removed when dropped.
    pub(crate) struct TempDir(pub PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "discesa-{tag}-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        pub(crate) fn entries(&self) -> Vec<String> {
            let mut v: Vec<String> = fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn writes_and_replaces_leaving_no_temp_file() {
        let dir = TempDir::new("atomic");
        let path = dir.0.join("model.bin");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second version").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second version");
        assert_eq!(dir.entries(), vec!["model.bin".to_string()]);
    }

    #[test]
    fn failure_midway_keeps_the_old_file_and_removes_the_temp() {
        let dir = TempDir::new("atomic-fail");
        let path = dir.0.join("state.json");
        write_atomic(&path, b"good").unwrap();
        let err = write_atomic_with(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("writing") && msg.contains("state.json") && msg.contains("disk full"),
            "{msg}"
        );
        assert_eq!(fs::read(&path).unwrap(), b"good");
        assert_eq!(dir.entries(), vec!["state.json".to_string()]);
    }

    #[test]
    fn failed_rename_removes_the_temp() {
        let dir = TempDir::new("atomic-rename");
        let target = dir.0.join("occupied");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), b"x").unwrap();
        let err = write_atomic(&target, b"data").unwrap_err();
        assert!(err.to_string().contains("replacing"), "{err}");
        assert_eq!(dir.entries(), vec!["occupied".to_string()]);
        assert!(target.join("keep").exists());
    }

    #[test]
    fn missing_directory_is_reported_with_the_path() {
        let dir = TempDir::new("atomic-missing");
        let path = dir.0.join("no-such-dir").join("f.json");
        let err = write_json_atomic(&path, &vec![1, 2])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("creating temporary file") && err.contains("no-such-dir"),
            "{err}"
        );
    }

    struct Unserialisable;

    impl Serialize for Unserialisable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("refused"))
        }
    }

    #[test]
    fn json_is_written_and_serialisation_errors_change_nothing() {
        let dir = TempDir::new("atomic-json");
        let path = dir.0.join("run.json");
        write_json_atomic(&path, &serde_json::json!({"epoch": 3})).unwrap();
        let back: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(back["epoch"], 3);
        let err = write_json_atomic(&path, &Unserialisable)
            .unwrap_err()
            .to_string();
        assert!(err.contains("run.json") && err.contains("refused"), "{err}");
        assert_eq!(
            back,
            serde_json::from_slice::<serde_json::Value>(&fs::read(&path).unwrap()).unwrap()
        );
        assert_eq!(dir.entries(), vec!["run.json".to_string()]);
    }
}
