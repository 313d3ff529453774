//! `local-sgd`: after `warmup` all-reduce steps, each rank takes `K` steps on its own slice
//! with its own optimizer, then the parameters are averaged, weighted by the samples each rank
//! processed since the last average (PyTorch's PeriodicModelAverager / PostLocalSGD).
//!
//! Optimizer moments (momentum, Adam's m and v) stay local and are not averaged, as PyTorch's
//! PostLocalSGDOptimizer does; with plain SGD and `K = 1` the average equals the all-reduce step.
//! The parameters are also averaged at the end of every epoch, so validation and checkpoints see
//! one model.

use super::allreduce::AllReduce;
use super::buckets::BucketCaps;
use super::common::{shard, Rank, RankSteps, Step};
use crate::train::{BatchLoss, BatchShare, Result, StepOutcome, Trainer};

/// The local-SGD strategy.
pub struct LocalSgd {
    all_reduce: AllReduce,
    sync_every: u64,
    warmup: u64,
    rows_since_sync: usize,
}

impl LocalSgd {
    /// Averages every `sync_every` steps after `warmup` all-reduce steps (with gradient buckets
    /// of at most `caps`).
    pub fn new(sync_every: u64, warmup: u64, caps: BucketCaps) -> Self {
        LocalSgd {
            all_reduce: AllReduce::new(caps),
            sync_every: sync_every.max(1),
            warmup,
            rows_since_sync: 0,
        }
    }

    /// Replaces every rank's parameters by their sample-weighted average.
    fn average(&mut self, rank: &mut Rank, trainer: &mut Trainer) -> Result<()> {
        let t = rank.timeline.now();
        let mut total = [self.rows_since_sync as f64];
        rank.comm.all_reduce_sum_f64(&mut total)?;
        if total[0] > 0.0 {
            let w = (self.rows_since_sync as f64 / total[0]) as f32;
            let p = trainer.params_mut().flat_mut();
            p.iter_mut().for_each(|x| *x *= w);
            rank.comm.all_reduce_sum_f32(p)?;
        }
        self.rows_since_sync = 0;
        rank.timeline.span("average parameters", t);
        Ok(())
    }
}

impl RankSteps for LocalSgd {
    fn prepare(&mut self, trainer: &Trainer) {
        self.all_reduce.prepare(trainer);
    }

    fn step(&mut self, rank: &mut Rank, step: Step<'_>) -> Result<StepOutcome> {
        if step.trainer.progress().step < self.warmup {
            return self.all_reduce.step(rank, step);
        }
        let slice = shard(step.rows.len(), rank.comm.size(), rank.comm.rank());
        let mine = &step.rows[slice.clone()];
        let t = rank.timeline.now();
        let out = if mine.is_empty() {
            step.trainer.finish_step(0.0, step.at, step.norms, false)?;
            StepOutcome {
                loss_sum: 0.0,
                metric_sum: 0.0,
                loss: 0.0,
            }
        } else {
            // A local step follows its slice's own mean gradient; dropout masks still follow
            // the global position.
            let local_share = BatchShare {
                offset: slice.start,
                global_rows: mine.len(),
            };
            let BatchLoss { loss, metric_sum } =
                step.trainer
                    .compute_gradient(step.data, mine, local_share, None)?;
            rank.timeline.span("compute", t);
            let t = rank.timeline.now();
            step.trainer.finish_step(loss, step.at, step.norms, true)?;
            rank.timeline.span("update", t);
            StepOutcome {
                loss_sum: loss * mine.len() as f64,
                metric_sum,
                loss,
            }
        };
        self.rows_since_sync += mine.len();
        if (step.trainer.progress().step - self.warmup).is_multiple_of(self.sync_every) {
            self.average(rank, step.trainer)?;
        }
        Ok(out)
    }

    fn end_epoch(
        &mut self,
        rank: &mut Rank,
        trainer: &mut Trainer,
        sums: &mut [f64; 2],
    ) -> Result<()> {
        // Every rank has the same number of steps, so all agree on whether to average.
        if trainer.progress().step > self.warmup {
            self.average(rank, trainer)?;
        }
        rank.comm.all_reduce_sum_f64(sums)?;
        Ok(())
    }
}
