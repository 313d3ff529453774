//! Who computes which grid points, and how the results come together.
//!
//! Inside a process the points are shared over threads (rayon). Across processes a
//! [`PointShare`] says which of the pending points this participant takes and gathers every
//! participant's results. [`SingleProcess`] is the whole world; a communicator (threads or
//! MPI) implements the same two calls with its rank, size and an all-gather.

use super::error::Result;

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
}
