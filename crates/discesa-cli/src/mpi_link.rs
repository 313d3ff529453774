//! Which executable talks to MPI. `discesa` is never linked with the MPI library, so that it
//! starts on a machine without one; with the `mpi` feature the build also makes `discesa-mpi`,
//! the same program linked with it. Under an MPI launcher `discesa` first checks that
//! `discesa-mpi` loads, then replaces itself with it: a missing library is one error line and
//! exit code 2, not the dynamic loader's message and exit code 127 from every rank.

use crate::fail::Fail;
use discesa::dist::Communicator;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The executable linked with MPI, beside `discesa`.
pub const MPI_EXECUTABLE: &str = "discesa-mpi";

/// What an executable linked with MPI supplies.
#[derive(Clone, Copy)]
pub struct MpiEntry {
    /// Initialises MPI and installs the rank's fault hook; the world communicator, or `None`
    /// when MPI cannot be initialised.
    pub init: fn() -> Option<Box<dyn Communicator>>,
    /// Finalises MPI after a successful run.
    pub finalize: fn(),
}

static ENTRY: OnceLock<MpiEntry> = OnceLock::new();

/// Makes `entry` this process's way to MPI (once, before the command runs).
pub(crate) fn register(entry: MpiEntry) {
    let _ = ENTRY.set(entry);
}

/// This process's way to MPI, if it is linked with it.
pub(crate) fn entry() -> Option<MpiEntry> {
    ENTRY.get().copied()
}

/// Replaces this process with [`MPI_EXECUTABLE`] beside it, same arguments and environment,
/// after checking that it loads (its `--version`, which touches no MPI). Returns only on
/// failure.
pub(crate) fn hand_over() -> Result<(), Fail> {
    let exe = std::env::current_exe()
        .map_err(|e| Fail::runtime(format!("cannot locate this executable: {e}")))?;
    let linked = exe.with_file_name(MPI_EXECUTABLE);
    if !linked.is_file() {
        return Err(Fail::input(format!(
            "{} is missing beside {}; rebuild with --features mpi",
            MPI_EXECUTABLE,
            exe.display()
        )));
    }
    let probe = Command::new(&linked)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Fail::runtime(format!("cannot start {}: {e}", linked.display())))?;
    if !probe.status.success() {
        return Err(Fail::input(format!(
            "cannot load the MPI library: {}; install Open MPI (scripts/setup.sh installs openmpi-bin) or run without the MPI launcher",
            loader_message(&String::from_utf8_lossy(&probe.stderr), probe.status)
        )));
    }
    exec(&linked)
}

/// The dynamic loader's reason from a failed start's stderr, without the path it begins with
/// (`/…/discesa-mpi: error while loading shared libraries: libmpi.so.40: cannot open …`).
fn loader_message(stderr: &str, status: std::process::ExitStatus) -> String {
    const MARK: &str = "error while loading shared libraries: ";
    let line = stderr.lines().find(|l| !l.trim().is_empty());
    match line {
        Some(l) => match l.find(MARK) {
            Some(at) => l[at + MARK.len()..].trim().to_string(),
            None => l.trim().to_string(),
        },
        None => format!("{MPI_EXECUTABLE} ended with {status}"),
    }
}

#[cfg(unix)]
fn exec(linked: &std::path::Path) -> Result<(), Fail> {
    use std::os::unix::process::CommandExt;
    let mut args = std::env::args_os();
    let mut command = Command::new(linked);
    // The program keeps the name it was called by (in usage lines, for one).
    if let Some(name) = args.next() {
        command.arg0(name);
    }
    let err = command.args(args).exec();
    Err(Fail::runtime(format!(
        "cannot start {}: {err}",
        linked.display()
    )))
}

#[cfg(not(unix))]
fn exec(linked: &std::path::Path) -> Result<(), Fail> {
    let status = Command::new(linked)
        .args(std::env::args_os().skip(1))
        .status()
        .map_err(|e| Fail::runtime(format!("cannot start {}: {e}", linked.display())))?;
    std::process::exit(status.code().unwrap_or(1));
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn the_loader_message_loses_its_path() {
        let status = std::process::ExitStatus::from_raw(127 << 8);
        let stderr = "/t/discesa-mpi: error while loading shared libraries: libmpi.so.40: cannot open shared object file: No such file or directory\n";
        assert_eq!(
            loader_message(stderr, status),
            "libmpi.so.40: cannot open shared object file: No such file or directory"
        );
        assert_eq!(
            loader_message("  \nsomething else\n", status),
            "something else"
        );
        assert!(loader_message("", status).starts_with("discesa-mpi ended with"));
    }
}
