//! `local-sgd`: after `warmup` all-reduce steps, each rank takes `K` steps on its own slice
//! with its own optimizer, then the parameters are averaged, weighted by the samples each rank
//! processed since the last average (PyTorch's PeriodicModelAverager / PostLocalSGD).
//!
//! Optimizer moments (momentum, Adam's m and v) stay local and are not averaged, as PyTorch's
//! PostLocalSGDOptimizer does; with plain SGD and `K = 1` the average equals the all-reduce step.
//! The parameters are also averaged at the end of every epoch, so validation and checkpoints see
//! one model.

use super::allreduce::averaged_gradient;
use super::buckets::BucketPlan;
use super::comm::Communicator;
use super::common::{begin, evaluate_shared, maybe_fail, shard};
use super::strategy::DistSteps;
use super::timeline::Timeline;
use crate::data::Dataset;
use crate::train::{BatchLoss, EvalMetrics, Result, StepOutcome, StepRunner, Trainer};

/// The local-SGD strategy.
pub struct LocalSgd {
    comm: Box<dyn Communicator>,
    sync_every: u64,
    warmup: u64,
    bucket_bytes: usize,
    plan: Option<BucketPlan>,
    rows_since_sync: usize,
    timeline: Timeline,
}

impl LocalSgd {
    /// Averages every `sync_every` steps after `warmup` all-reduce steps.
    pub fn new(
        comm: Box<dyn Communicator>,
        sync_every: u64,
        warmup: u64,
        bucket_bytes: usize,
        timeline: Timeline,
    ) -> Self {
        LocalSgd {
            comm,
            sync_every: sync_every.max(1),
            warmup,
            bucket_bytes,
            plan: None,
            rows_since_sync: 0,
            timeline,
        }
    }

    /// Replaces every rank's parameters by their sample-weighted average.
    fn average(&mut self, trainer: &mut Trainer) -> Result<()> {
        let t = self.timeline.now();
        let mut total = [self.rows_since_sync as f64];
        self.comm.all_reduce_sum_f64(&mut total)?;
        if total[0] > 0.0 {
            let w = (self.rows_since_sync as f64 / total[0]) as f32;
            let p = trainer.params_mut().flat_mut();
            p.iter_mut().for_each(|x| *x *= w);
            self.comm.all_reduce_sum_f32(p)?;
        }
        self.rows_since_sync = 0;
        self.timeline.span("average parameters", t);
        Ok(())
    }
}

impl StepRunner for LocalSgd {
    fn begin(&mut self, trainer: &mut Trainer, data: &Dataset, train_rows: &[usize]) -> Result<()> {
        self.plan = Some(BucketPlan::new(
            trainer.params().entries(),
            self.bucket_bytes,
        ));
        let size = self.comm.size();
        begin(self.comm.as_mut(), trainer, data, train_rows, size)
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
        if trainer.progress().step < self.warmup {
            let plan = self.plan.as_ref().expect("begin ran first");
            let (loss_sum, metric_sum, _) = averaged_gradient(
                self.comm.as_mut(),
                plan,
                trainer,
                data,
                rows,
                &mut self.timeline,
            )?;
            let mut global = [loss_sum];
            self.comm.all_reduce_sum_f64(&mut global)?;
            let loss = global[0] / rows.len() as f64;
            trainer.finish_step(loss, at, norms, true)?;
            return Ok(StepOutcome {
                loss_sum,
                metric_sum,
                loss,
            });
        }
        let slice = shard(rows.len(), self.comm.size(), self.comm.rank());
        let mine = &rows[slice.clone()];
        let t = self.timeline.now();
        let out = if mine.is_empty() {
            trainer.finish_step(0.0, at, norms, false)?;
            StepOutcome {
                loss_sum: 0.0,
                metric_sum: 0.0,
                loss: 0.0,
            }
        } else {
            let BatchLoss { loss, metric_sum } =
                trainer.compute_gradient(data, mine, slice.start, None)?;
            self.timeline.span("compute", t);
            let t = self.timeline.now();
            trainer.finish_step(loss, at, norms, true)?;
            self.timeline.span("update", t);
            StepOutcome {
                loss_sum: loss * mine.len() as f64,
                metric_sum,
                loss,
            }
        };
        self.rows_since_sync += mine.len();
        if (trainer.progress().step - self.warmup).is_multiple_of(self.sync_every) {
            self.average(trainer)?;
        }
        Ok(out)
    }

    fn end_epoch(&mut self, trainer: &mut Trainer, sums: &mut [f64; 2]) -> Result<()> {
        // Every rank has the same number of steps, so all agree on whether to average.
        if trainer.progress().step > self.warmup {
            self.average(trainer)?;
        }
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

impl DistSteps for LocalSgd {
    fn comm(&mut self) -> &mut dyn Communicator {
        self.comm.as_mut()
    }
    fn timeline(&self) -> &Timeline {
        &self.timeline
    }
}
