//! `ps`: centralized synchronous data parallelism. Rank 0 holds the authoritative weights and
//! the optimizer state; every step the gradients are reduced to it, it updates, and the new
//! weights are broadcast. Rank 0 also computes its share unless it is a dedicated server.

use super::comm::Communicator;
use super::common::{begin, evaluate_shared, maybe_fail, shard};
use super::strategy::DistSteps;
use super::timeline::Timeline;
use crate::data::Dataset;
use crate::train::{BatchLoss, EvalMetrics, Result, StepOutcome, StepRunner, Trainer};

/// The parameter-server strategy.
pub struct ParameterServer {
    comm: Box<dyn Communicator>,
    dedicated: bool,
    timeline: Timeline,
}

impl ParameterServer {
    /// Rank 0 serves (and computes too unless `dedicated`).
    pub fn new(comm: Box<dyn Communicator>, dedicated: bool, timeline: Timeline) -> Self {
        ParameterServer {
            comm,
            dedicated,
            timeline,
        }
    }

    fn workers(&self) -> (usize, usize) {
        let first = usize::from(self.dedicated);
        (first, self.comm.size() - first)
    }
}

impl StepRunner for ParameterServer {
    fn begin(&mut self, trainer: &mut Trainer, data: &Dataset, train_rows: &[usize]) -> Result<()> {
        let (_, workers) = self.workers();
        begin(self.comm.as_mut(), trainer, data, train_rows, workers)
    }

    fn step(
        &mut self,
        trainer: &mut Trainer,
        data: &Dataset,
        rows: &[usize],
        at: (usize, usize),
        norms: &mut [f64],
    ) -> Result<StepOutcome> {
        maybe_fail(self.comm.as_ref(), trainer);
        let (first, workers) = self.workers();
        let rank = self.comm.rank();
        let t = self.timeline.now();
        let (loss_sum, metric_sum) = if rank >= first {
            let slice = shard(rows.len(), workers, rank - first);
            let mine = &rows[slice.clone()];
            if mine.is_empty() {
                let n = trainer.params().len();
                trainer.grads_mut().clear();
                trainer.grads_mut().resize(n, 0.0);
                (0.0, 0.0)
            } else {
                let BatchLoss {
                    loss,
                    metric_sum: msum,
                } = trainer.compute_gradient(data, mine, slice.start, None)?;
                let w = mine.len() as f32 / rows.len() as f32;
                trainer.grads_mut().iter_mut().for_each(|g| *g *= w);
                (loss * mine.len() as f64, msum)
            }
        } else {
            let n = trainer.params().len();
            trainer.grads_mut().clear();
            trainer.grads_mut().resize(n, 0.0);
            (0.0, 0.0)
        };
        self.timeline.span("compute", t);
        let t = self.timeline.now();
        self.comm.reduce_sum_f32(0, trainer.grads_mut())?;
        let mut global = [loss_sum];
        self.comm.all_reduce_sum_f64(&mut global)?;
        self.timeline.span("reduce to server", t);
        let loss = global[0] / rows.len() as f64;
        let t = self.timeline.now();
        trainer.finish_step(loss, at, norms, rank == 0)?;
        self.timeline.span("update", t);
        let t = self.timeline.now();
        self.comm
            .broadcast_f32(0, trainer.params_mut().flat_mut())?;
        self.timeline.span("broadcast weights", t);
        Ok(StepOutcome {
            loss_sum,
            metric_sum,
            loss,
        })
    }

    fn end_epoch(&mut self, _trainer: &mut Trainer, sums: &mut [f64; 2]) -> Result<()> {
        self.comm.all_reduce_sum_f64(sums)?;
        Ok(())
    }

    fn evaluate(
        &mut self,
        trainer: &mut Trainer,
        data: &Dataset,
        rows: &[usize],
    ) -> Result<EvalMetrics> {
        evaluate_shared(self.comm.as_mut(), trainer, data, rows)
    }
}

impl DistSteps for ParameterServer {
    fn comm(&mut self) -> &mut dyn Communicator {
        self.comm.as_mut()
    }
    fn timeline(&self) -> &Timeline {
        &self.timeline
    }
}
