//! The distributed side of `discesa train`: how many ranks (worker threads with `--workers`,
//! or the processes an MPI launcher started), which strategy, and running one rank.

use crate::fail::Fail;
use clap::Args;
use discesa::dist::{Communicator, Strategy, StrategyOptions};
use std::path::PathBuf;

/// Options of data-parallel training.
#[derive(Args, Debug, Default)]
pub struct DistArgs {
    /// Data-parallel ranks as worker threads in this process (no launcher needed).
    #[arg(long)]
    pub workers: Option<usize>,
    /// allreduce, ps, local-sgd or async (allreduce when there is more than one rank).
    #[arg(long)]
    pub strategy: Option<String>,
    /// Cap of every all-reduce bucket in MiB; by default the first (last layers') closes at
    /// 1 MiB and the others at 25 MiB, as in PyTorch DDP (allreduce, local-sgd warm-up).
    #[arg(long)]
    pub bucket_mb: Option<f64>,
    /// ps: rank 0 only serves and computes no gradients.
    #[arg(long)]
    pub dedicated_server: bool,
    /// local-sgd: local steps between parameter averages.
    #[arg(long)]
    pub sync_every: Option<u64>,
    /// local-sgd: all-reduce steps before the local steps begin.
    #[arg(long)]
    pub warmup_steps: Option<u64>,
    /// async: largest staleness (in versions) of an applied gradient.
    #[arg(long)]
    pub max_staleness: Option<u64>,
    /// Write a Chrome-trace timeline of every rank (forward+backward, all-reduce, waits, updates).
    #[arg(long, value_name = "TRACE.json")]
    pub profile: Option<PathBuf>,
}

/// Where the ranks come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// One process, one rank.
    Solo,
    /// Ranks as worker threads.
    Threads(usize),
    /// Ranks as MPI processes.
    Mpi(usize),
}

impl Launch {
    /// The number of ranks.
    pub fn ranks(self) -> usize {
        match self {
            Launch::Solo => 1,
            Launch::Threads(n) | Launch::Mpi(n) => n,
        }
    }
}

/// The number of ranks an MPI launcher started, when more than one; an MPI launch of a build
/// without MPI is bad input (every rank finds it; rank 0 says it).
pub fn mpi_launch() -> Result<Option<usize>, Fail> {
    match discesa::dist::mpi_world_size() {
        Some(n) if n > 1 && crate::mpi_link::entry().is_none() => Err(without_mpi()),
        Some(n) if n > 1 => Ok(Some(n)),
        _ => Ok(None),
    }
}

/// Kernel threads of one MPI rank when `--threads` is not given: this machine's cores shared
/// by the ranks running on it.
pub fn threads_per_rank() -> usize {
    (discesa::tensor::num_threads() / discesa::dist::local_ranks()).max(1)
}

/// Decides the launch and the strategy from the flags, the launcher's environment and the
/// batch size; every error is bad input. `batch_norm`: the model normalises by batch
/// statistics, which workers would take over their slices only, so `--threads` alone keeps it
/// in one rank (kernel threads) and trains the model one thread trains.
pub fn plan(
    d: &DistArgs,
    threads: Option<usize>,
    batch: usize,
    batch_norm: bool,
) -> Result<(Launch, StrategyOptions), Fail> {
    let launch =
        match (mpi_launch()?, d.workers) {
            (Some(_), Some(_)) => return Err(Fail::usage(
                "--workers cannot be combined with an MPI launch (the launcher starts the ranks)",
            )),
            (Some(n), _) => Launch::Mpi(n),
            (_, Some(0)) => return Err(Fail::usage("--workers must be at least 1")),
            (_, Some(1)) => Launch::Solo,
            (_, Some(n)) => Launch::Threads(n),
            (_, None) => match threads.map(|t| discesa::dist::in_process_workers(t, batch)) {
                Some(n) if n > 1 && !batch_norm => Launch::Threads(n),
                _ => Launch::Solo,
            },
        };
    let strategy = match &d.strategy {
        Some(s) => s
            .parse::<Strategy>()
            .map_err(|e| Fail::usage(format!("--strategy: {e}")))?,
        None => Strategy::AllReduce,
    };
    let defaults = StrategyOptions::default();
    let o = StrategyOptions {
        strategy,
        bucket_mb: d.bucket_mb,
        dedicated_server: d.dedicated_server,
        sync_every: d.sync_every.unwrap_or(defaults.sync_every),
        warmup_steps: d.warmup_steps.unwrap_or(defaults.warmup_steps),
        max_staleness: d.max_staleness.unwrap_or(defaults.max_staleness),
    };
    o.validate(launch.ranks()).map_err(Fail::usage)?;
    let computing = match o.strategy {
        Strategy::Async => 1,
        Strategy::Ps if o.dedicated_server => launch.ranks() - 1,
        _ => launch.ranks(),
    };
    if batch < computing {
        return Err(Fail::usage(format!(
            "--batch-size {batch} is smaller than the number of ranks computing gradients ({computing})"
        )));
    }
    Ok((launch, o))
}

/// Runs `body` on every rank of `launch`; returns rank 0's failure (or the first rank's,
/// named) as one line.
pub fn run_ranks(
    launch: Launch,
    body: &(dyn Fn(Option<Box<dyn Communicator>>) -> Result<(), Fail> + Sync),
) -> Result<(), Fail> {
    match launch {
        Launch::Solo => body(None),
        Launch::Threads(n) => {
            discesa::dist::fault::install_thread_hook();
            discesa::dist::run_threads(n, |c| body(Some(c))).map_err(|f| match f.error {
                Some(fail) if f.rank == 0 => fail,
                Some(fail) => Fail {
                    message: format!("rank {}: {}", f.rank, fail.message),
                    ..fail
                },
                None => Fail::runtime(f),
            })
        }
        Launch::Mpi(_) => run_mpi(body),
    }
}

/// Runs `body` on this MPI rank, through the MPI this executable is linked with.
fn run_mpi(
    body: &(dyn Fn(Option<Box<dyn Communicator>>) -> Result<(), Fail> + Sync),
) -> Result<(), Fail> {
    let entry = crate::mpi_link::entry().ok_or_else(without_mpi)?;
    let comm = (entry.init)().ok_or_else(|| Fail::runtime("MPI could not be initialised"))?;
    let comm = start_or_end(&entry, comm, None)?;
    // On failure MPI is left unfinalised: the launcher sees the non-zero exit and ends the job.
    body(Some(comm))?;
    (entry.finalize)();
    Ok(())
}

/// Holds the start-up vote ([`agree_on_start`]) on `comm`; when any rank failed, every rank is
/// here, so MPI is finalised before the failure is returned.
fn start_or_end(
    entry: &crate::mpi_link::MpiEntry,
    mut comm: Box<dyn Communicator>,
    mine: Option<&Fail>,
) -> Result<Box<dyn Communicator>, Fail> {
    match agree_on_start(comm.as_mut(), mine) {
        Ok(()) => Ok(comm),
        Err(e) => {
            drop(comm);
            (entry.finalize)();
            Err(e)
        }
    }
}

/// What a process whose set-up failed with `e` (settings, files, data) reports. Under an MPI
/// launch it still starts MPI and takes part in the start-up vote that the other ranks hold
/// before running ([`agree_on_start`]), so that the job says each mistake once and ends on every
/// MPI (MPICH's launcher keeps the other ranks alive when rank 0 exits).
pub fn failed_start(e: Fail) -> Fail {
    let (Ok(Some(_)), Some(entry)) = (mpi_launch(), crate::mpi_link::entry()) else {
        return e;
    };
    let Some(comm) = (entry.init)() else {
        return e;
    };
    // A process that only looks launched (the launcher's variables without the launcher) is
    // alone in its world: nobody to vote with, and the usual rules of `exit_with` apply.
    if comm.size() < 2 {
        return e;
    }
    // With this rank's failure in it, the vote always ends the job.
    start_or_end(&entry, comm, Some(&e)).err().unwrap_or(e)
}

/// The first collective of every MPI rank: did each set up well? `mine` is this rank's failure.
/// When one or more failed, a failing rank prints its line unless a lower rank failed with the
/// same message (rank 0 plainly, the others naming themselves), and every rank then ends with
/// the lowest failing rank's exit code: one line for a mistake every rank found, one per rank
/// for mistakes of their own.
fn agree_on_start(comm: &mut dyn Communicator, mine: Option<&Fail>) -> Result<(), Fail> {
    let (rank, size) = (comm.rank(), comm.size());
    // Per rank: 0 when it set up well, else its message's fingerprint (never 0); its exit code.
    let mut votes = vec![0.0f64; 2 * size];
    if let Some(f) = mine {
        votes[2 * rank] = fingerprint(&f.message);
        votes[2 * rank + 1] = f64::from(f.code);
    }
    comm.all_reduce_sum_f64(&mut votes)
        .map_err(|e| Fail::runtime(format!("start-up vote: {e}")))?;
    let Some(first) = (0..size).find(|&r| votes[2 * r] != 0.0) else {
        return Ok(());
    };
    if let Some(f) = mine {
        if !(0..rank).any(|r| votes[2 * r] == votes[2 * rank]) {
            f.print(rank);
        }
    }
    Err(Fail::said(votes[2 * first + 1] as i32))
}

/// A message's 48-bit fingerprint plus one, exact in an `f64` and never 0.
fn fingerprint(message: &str) -> f64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    message.hash(&mut h);
    ((h.finish() >> 16) + 1) as f64
}

/// An MPI launch of an executable that is not linked with MPI.
fn without_mpi() -> Fail {
    Fail::usage("built without MPI support; rebuild with --features mpi")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_become_workers_only_for_enough_rows_and_no_batch_norm() {
        if discesa::dist::mpi_world_size().is_some() {
            eprintln!("skipped: under an MPI launcher the ranks come from it");
            return;
        }
        let d = DistArgs::default();
        let launch = |threads, batch, bn| plan(&d, threads, batch, bn).unwrap().0;
        assert_eq!(launch(Some(2), 64, false), Launch::Threads(2));
        assert_eq!(launch(Some(2), 23, false), Launch::Solo);
        assert_eq!(launch(Some(2), 64, true), Launch::Solo);
        assert_eq!(launch(Some(1), 64, false), Launch::Solo);
        assert_eq!(launch(None, 64, false), Launch::Solo);
        let forced = DistArgs {
            workers: Some(2),
            ..DistArgs::default()
        };
        assert_eq!(
            plan(&forced, Some(2), 64, true).unwrap().0,
            Launch::Threads(2)
        );
    }
}
