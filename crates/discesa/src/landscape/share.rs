//! Who computes which grid points, and how the results come together.
//!
//! Inside a process the points are shared over threads (rayon). Across processes a
//! [`PointShare`] says which of the pending points this participant takes and gathers every
//! participant's results. [`SingleProcess`] is the whole world; [`RankShare`] shares the points
//! over the ranks of a communicator (threads or MPI).

use super::error::{LandscapeError, Result};
use crate::dist::{CommError, Communicator};
use std::cell::RefCell;

/// One computed grid point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointResult {
    /// Row-major point index (`j·nx + i`).
    pub index: usize,
    /// Mean loss.
    pub loss: f64,
    /// Accuracy (NaN for regression).
    pub accuracy: f64,
    /// λ_max of the Hessian, when asked for.
    pub lambda_max: f64,
    /// λ_min of the Hessian, when asked for.
    pub lambda_min: f64,
}

/// The seam for sharing points over processes.
pub trait PointShare {
    /// This participant's rank, `0..size`.
    fn rank(&self) -> usize;

    /// Number of participants.
    fn size(&self) -> usize;

    /// The points this participant computes, from the pending ones (the same list, in the same
    /// order, on every participant). Round robin, so expensive neighbourhoods are spread out.
    fn mine(&self, pending: &[usize]) -> Vec<usize> {
        pending
            .iter()
            .skip(self.rank())
            .step_by(self.size().max(1))
            .copied()
            .collect()
    }

    /// Combines every participant's results; on return each holds all of them.
    fn gather(&self, local: Vec<PointResult>) -> Result<Vec<PointResult>>;

    /// Rank 0's list of pending points, on every participant (only rank 0 reads the saved
    /// progress, so the others learn from it which points are left).
    fn pending_of_rank_zero(&self, pending: Vec<usize>) -> Result<Vec<usize>> {
        Ok(pending)
    }
}

/// Grid points shared over the ranks of a [`Communicator`] (MPI processes under `mpirun`).
pub struct RankShare<'a> {
    comm: RefCell<&'a mut dyn Communicator>,
}

impl<'a> RankShare<'a> {
    /// Shares points over `comm`'s ranks.
    pub fn new(comm: &'a mut dyn Communicator) -> Self {
        RankShare {
            comm: RefCell::new(comm),
        }
    }
}

const RESULT_BYTES: usize = 8 * 5;

fn encode(results: &[PointResult]) -> Vec<u8> {
    let mut out = Vec::with_capacity(results.len() * RESULT_BYTES);
    for r in results {
        out.extend((r.index as u64).to_le_bytes());
        for v in [r.loss, r.accuracy, r.lambda_max, r.lambda_min] {
            out.extend(v.to_le_bytes());
        }
    }
    out
}

fn decode(bytes: &[u8]) -> Vec<PointResult> {
    let word = |c: &[u8], k: usize| -> [u8; 8] { c[8 * k..8 * k + 8].try_into().expect("8 bytes") };
    bytes
        .chunks_exact(RESULT_BYTES)
        .map(|c| PointResult {
            index: u64::from_le_bytes(word(c, 0)) as usize,
            loss: f64::from_le_bytes(word(c, 1)),
            accuracy: f64::from_le_bytes(word(c, 2)),
            lambda_max: f64::from_le_bytes(word(c, 3)),
            lambda_min: f64::from_le_bytes(word(c, 4)),
        })
        .collect()
}

fn comm_error(e: CommError) -> LandscapeError {
    LandscapeError::Train(e.into())
}

impl PointShare for RankShare<'_> {
    fn rank(&self) -> usize {
        self.comm.borrow().rank()
    }

    fn size(&self) -> usize {
        self.comm.borrow().size()
    }

    /// Each rank broadcasts its results in turn (bit-exact `f64`, any count per rank).
    fn gather(&self, local: Vec<PointResult>) -> Result<Vec<PointResult>> {
        let mut comm = self.comm.borrow_mut();
        let (me, size) = (comm.rank(), comm.size());
        let mut all = Vec::new();
        for root in 0..size {
            let mut buf = if root == me {
                encode(&local)
            } else {
                Vec::new()
            };
            comm.broadcast_bytes(root, &mut buf).map_err(comm_error)?;
            all.extend(decode(&buf));
        }
        Ok(all)
    }

    fn pending_of_rank_zero(&self, pending: Vec<usize>) -> Result<Vec<usize>> {
        let mut buf: Vec<u8> = pending
            .iter()
            .flat_map(|&k| (k as u64).to_le_bytes())
            .collect();
        self.comm
            .borrow_mut()
            .broadcast_bytes(0, &mut buf)
            .map_err(comm_error)?;
        Ok(buf
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")) as usize)
            .collect())
    }
}

/// One process computing every point.
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleProcess;

impl PointShare for SingleProcess {
    fn rank(&self) -> usize {
        0
    }

    fn size(&self) -> usize {
        1
    }

    fn gather(&self, local: Vec<PointResult>) -> Result<Vec<PointResult>> {
        Ok(local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rank(usize, usize);
    impl PointShare for Rank {
        fn rank(&self) -> usize {
            self.0
        }
        fn size(&self) -> usize {
            self.1
        }
        fn gather(&self, local: Vec<PointResult>) -> Result<Vec<PointResult>> {
            Ok(local)
        }
    }

    #[test]
    fn shares_cover_every_point_once() {
        let pending: Vec<usize> = (0..11).collect();
        let mut all: Vec<usize> = (0..3).flat_map(|r| Rank(r, 3).mine(&pending)).collect();
        all.sort_unstable();
        assert_eq!(all, pending);
        assert_eq!(SingleProcess.mine(&pending), pending);
    }

    #[test]
    fn ranks_gather_every_result_bit_exactly_and_follow_rank_zero() {
        let results = std::sync::Mutex::new(Vec::new());
        crate::dist::run_threads(3, |mut comm| -> Result<()> {
            let share = RankShare::new(comm.as_mut());
            let r = share.rank();
            // Rank 0 saw progress the others did not: its list of pending points wins.
            let pending = if r == 0 {
                vec![1, 2, 4, 6, 7]
            } else {
                (0..8).collect()
            };
            let pending = share.pending_of_rank_zero(pending)?;
            let local: Vec<PointResult> = share
                .mine(&pending)
                .into_iter()
                .map(|k| PointResult {
                    index: k,
                    loss: 1.0 / (k as f64 + 3.0),
                    accuracy: f64::NAN,
                    lambda_max: k as f64 * 0.1,
                    lambda_min: -1e-300,
                })
                .collect();
            let mut all = share.gather(local)?;
            all.sort_by_key(|p| p.index);
            results.lock().unwrap().push(all);
            Ok(())
        })
        .unwrap();
        let results = results.into_inner().unwrap();
        assert_eq!(results.len(), 3);
        for all in &results {
            let idx: Vec<usize> = all.iter().map(|p| p.index).collect();
            assert_eq!(idx, [1, 2, 4, 6, 7]);
            for p in all {
                assert_eq!(p.loss.to_bits(), (1.0 / (p.index as f64 + 3.0)).to_bits());
                assert!(p.accuracy.is_nan());
                assert_eq!(p.lambda_min, -1e-300);
            }
        }
    }
}
