//! How [`Trainer::fit_with`](super::Trainer::fit_with) takes each step: the single-process
//! [`LocalSteps`], or a distributed strategy (`crate::dist`) that splits every global batch over
//! ranks. The epoch loop, validation, early stopping and the observer stay in one place.

use super::{BatchLoss, BatchShare, EvalMetrics, Result, Trainer};
use crate::data::Dataset;

/// What one step contributed to the epoch's sums.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    /// Sum of per-sample losses over the rows this rank processed.
    pub loss_sum: f64,
    /// Sum of the metric (correct predictions, absolute errors) over those rows.
    pub metric_sum: f64,
    /// The loss to show in progress (this rank's batch mean).
    pub loss: f64,
}

/// A way of taking optimisation steps over global batches.
pub trait StepRunner {
    /// Called once before the first epoch (broadcast initial parameters, check the data).
    fn begin(
        &mut self,
        _trainer: &mut Trainer,
        _data: &Dataset,
        _train_rows: &[usize],
    ) -> Result<()> {
        Ok(())
    }

    /// Whether this rank takes part in global batch `index` (0-based) of an epoch.
    fn takes_batch(&mut self, _index: usize) -> bool {
        true
    }

    /// One step on the global batch `rows`; `at` is (epoch, batch), both 1-based.
    fn step(
        &mut self,
        trainer: &mut Trainer,
        data: &Dataset,
        rows: &[usize],
        at: (usize, usize),
        norms: &mut [f64],
    ) -> Result<StepOutcome>;

    /// At the end of an epoch: turns this rank's `[loss sum, metric sum]` into the whole
    /// group's, and brings the ranks into agreement.
    fn end_epoch(&mut self, _trainer: &mut Trainer, _sums: &mut [f64; 2]) -> Result<()> {
        Ok(())
    }

    /// Validation scores at the current parameters (the same on every rank).
    fn evaluate(
        &mut self,
        trainer: &mut Trainer,
        data: &Dataset,
        rows: &[usize],
    ) -> Result<EvalMetrics> {
        trainer.evaluate(data, rows)
    }
}

/// One process computes each whole batch and updates.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalSteps;

impl StepRunner for LocalSteps {
    fn step(
        &mut self,
        trainer: &mut Trainer,
        data: &Dataset,
        rows: &[usize],
        at: (usize, usize),
        norms: &mut [f64],
    ) -> Result<StepOutcome> {
        let BatchLoss { loss, metric_sum } =
            trainer.compute_gradient(data, rows, BatchShare::whole(rows.len()), None)?;
        trainer.finish_step(loss, at, norms, true)?;
        Ok(StepOutcome {
            loss_sum: loss * rows.len() as f64,
            metric_sum,
            loss,
        })
    }
}
