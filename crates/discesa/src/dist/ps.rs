//! `ps`: centralized synchronous data parallelism. Rank 0 holds the authoritative weights and
//! the optimizer state; every step the gradients are reduced to it, it updates, and the new
//! weights are broadcast. Rank 0 also computes its share unless it is a dedicated server.

use super::comm::Communicator;
use super::common::{shard, zero_grads, Rank, RankSteps, Step};
use crate::train::{BatchLoss, BatchShare, Result, StepOutcome, Trainer};

/// The parameter-server strategy.
pub struct ParameterServer {
    dedicated: bool,
}

impl ParameterServer {
    /// Rank 0 serves (and computes too unless `dedicated`).
    pub fn new(dedicated: bool) -> Self {
        ParameterServer { dedicated }
    }

    /// The first rank computing gradients, and how many do.
    fn workers_from(&self, comm: &dyn Communicator) -> (usize, usize) {
        let first = usize::from(self.dedicated);
        (first, comm.size() - first)
    }
}

impl RankSteps for ParameterServer {
    fn workers(&self, comm: &dyn Communicator) -> usize {
        self.workers_from(comm).1
    }

    fn step(&mut self, rank: &mut Rank, step: Step<'_>) -> Result<StepOutcome> {
        let (first, workers) = self.workers_from(rank.comm.as_ref());
        let me = rank.comm.rank();
        let t = rank.timeline.now();
        // A dedicated server computes nothing: its slice is empty.
        let slice = if me >= first {
            shard(step.rows.len(), workers, me - first)
        } else {
            0..0
        };
        let mine = &step.rows[slice.clone()];
        let (loss_sum, metric_sum) = if mine.is_empty() {
            zero_grads(step.trainer);
            (0.0, 0.0)
        } else {
            let share = BatchShare {
                offset: slice.start,
                global_rows: step.rows.len(),
            };
            let BatchLoss {
                loss,
                metric_sum: msum,
            } = step
                .trainer
                .compute_gradient(step.data, mine, share, None)?;
            (loss * mine.len() as f64, msum)
        };
        rank.timeline.span("compute", t);
        let t = rank.timeline.now();
        rank.comm.reduce_sum_f32(0, step.trainer.grads_mut())?;
        let mut global = [loss_sum];
        rank.comm.all_reduce_sum_f64(&mut global)?;
        rank.timeline.span("reduce to server", t);
        let loss = global[0] / step.rows.len() as f64;
        let t = rank.timeline.now();
        step.trainer
            .finish_step(loss, step.at, step.norms, me == 0)?;
        rank.timeline.span("update", t);
        let t = rank.timeline.now();
        rank.comm
            .broadcast_f32(0, step.trainer.params_mut().flat_mut())?;
        rank.timeline.span("broadcast weights", t);
        Ok(StepOutcome {
            loss_sum,
            metric_sum,
            loss,
        })
    }

    fn end_epoch(
        &mut self,
        rank: &mut Rank,
        _trainer: &mut Trainer,
        sums: &mut [f64; 2],
    ) -> Result<()> {
        rank.comm.all_reduce_sum_f64(sums)?;
        Ok(())
    }
}
