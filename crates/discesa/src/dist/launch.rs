//! Starting ranks: worker threads in this process ([`run_threads`]), or detecting that an MPI
//! launcher started this process ([`mpi_world_size`]).

use super::comm::Communicator;
use super::fault::panic_message;
use super::local::LocalComm;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The number of ranks an MPI launcher (Open MPI's `mpirun`, MPICH's Hydra, Slurm's `srun`
/// with PMI) says this process belongs to, read from the variables they set.
pub fn mpi_world_size() -> Option<usize> {
    [
        "OMPI_COMM_WORLD_SIZE",
        "PMI_SIZE",
        "PMIX_SIZE",
        "MPI_LOCALNRANKS",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok()?.trim().parse().ok())
}

/// How many ranks of this job run on this machine, from the launcher's variables (Open MPI,
/// MPICH's Hydra, Slurm); 1 when unknown.
pub fn local_ranks() -> usize {
    [
        "OMPI_COMM_WORLD_LOCAL_SIZE",
        "MPI_LOCALNRANKS",
        "SLURM_NTASKS_PER_NODE",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok()?.trim().parse().ok())
    .filter(|&n: &usize| n > 0)
    .unwrap_or(1)
}

/// Rows per worker from which `threads` cores train faster as that many in-process
/// data-parallel workers (one kernel thread each) than as kernel threads that split every
/// operation of one rank: below it the per-step synchronisation of the workers costs more than
/// the second core brings. Measured with `discesa bench --threads 2 --workers 1|2` and
/// `discesa train --threads 2 --workers 1|2` (docs/distributed.md, "Two cores in one process").
pub const WORKER_MIN_ROWS: usize = 12;

/// How many in-process workers `threads` cores should run for a global batch of `batch`: all
/// of them when each gets at least [`WORKER_MIN_ROWS`] rows, else 1 (kernel threads).
pub fn in_process_workers(threads: usize, batch: usize) -> usize {
    if threads >= 2 && batch >= WORKER_MIN_ROWS * threads {
        threads
    } else {
        1
    }
}

/// This process's rank according to the MPI launcher's variables, if launched by one.
pub fn mpi_rank() -> Option<usize> {
    ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.trim().parse().ok())
}

/// Why a group of ranks failed: the first rank that failed and its error or panic.
#[derive(Debug)]
pub struct RankFailure<E> {
    /// The rank.
    pub rank: usize,
    /// Its error (`None` for a panic).
    pub error: Option<E>,
    /// The panic message or the error's text.
    pub message: String,
}

impl<E> fmt::Display for RankFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.error {
            None => write!(f, "rank {} panicked: {}", self.rank, self.message),
            Some(_) => write!(f, "rank {}: {}", self.rank, self.message),
        }
    }
}

/// Runs `body` on `n` ranks: rank 0 on the calling thread, the others on worker threads named
/// `rank N`. When a rank fails (error or panic) the group is aborted, so the other ranks'
/// collectives return at once instead of waiting; the failure reported is rank 0's own error if
/// it has one, otherwise the first rank's that failed.
pub fn run_threads<E, F>(n: usize, body: F) -> Result<(), RankFailure<E>>
where
    E: fmt::Display + Send,
    F: Fn(Box<dyn Communicator>) -> Result<(), E> + Sync,
{
    let comms = LocalComm::group(n);
    let handles: Vec<LocalComm> = comms.iter().map(LocalComm::handle).collect();
    let run = |comm: LocalComm| -> Result<(), (Option<E>, String)> {
        let handle = comm.handle();
        let out = catch_unwind(AssertUnwindSafe(|| body(Box::new(comm))));
        let failure = match out {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => {
                let m = e.to_string();
                (Some(e), m)
            }
            Err(p) => (None, panic_message(p.as_ref())),
        };
        handle.abort(&failure.1);
        Err(failure)
    };
    let mut comms = comms.into_iter();
    let first = comms.next().expect("at least one rank");
    let results: Vec<Result<(), (Option<E>, String)>> = std::thread::scope(|s| {
        let workers: Vec<_> = comms
            .enumerate()
            .map(|(i, c)| {
                std::thread::Builder::new()
                    .name(format!("rank {}", i + 1))
                    .spawn_scoped(s, || run(c))
                    .expect("spawn a worker thread")
            })
            .collect();
        let mut out = vec![run(first)];
        for w in workers {
            out.push(
                w.join()
                    .unwrap_or_else(|p| Err((None, panic_message(p.as_ref())))),
            );
        }
        out
    });
    let first_failed = handles[0].failed_rank();
    let mut results: Vec<Option<(Option<E>, String)>> =
        results.into_iter().map(Result::err).collect();
    // Rank 0's own error (not a consequence of another rank's abort) wins; then the first.
    let pick = match (&results[0], first_failed) {
        (Some((_, _)), Some(0)) => Some(0),
        (Some((Some(_), m)), _) if !m.starts_with("rank ") => Some(0),
        (_, r) => r,
    };
    match pick {
        None => Ok(()),
        Some(r) => {
            let (error, message) = results[r].take().unwrap_or((None, "failed".to_string()));
            Err(RankFailure {
                rank: r,
                error,
                message,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_only_when_each_gets_enough_rows() {
        let edge = WORKER_MIN_ROWS * 2;
        assert_eq!(in_process_workers(2, edge - 1), 1);
        assert_eq!(in_process_workers(2, edge), 2);
        assert_eq!(in_process_workers(1, 10 * edge), 1);
        assert_eq!(in_process_workers(4, WORKER_MIN_ROWS * 4), 4);
        assert_eq!(in_process_workers(4, WORKER_MIN_ROWS * 3), 1);
    }
}
