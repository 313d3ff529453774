//! What every strategy does the same way: slicing global batches, checking at start that all
//! ranks see the same data, sharing validation, summing epoch totals, keeping ranks in step,
//! and the runner ([`Ranked`]) that wraps each strategy's own steps in those shared parts.

use super::async_sgd::StalenessHistogram;
use super::comm::Communicator;
use super::fault;
use super::strategy::DistSteps;
use super::timeline::Timeline;
use crate::data::{Dataset, Targets};
use crate::train::{EvalMetrics, Result, StepOutcome, StepRunner, TrainError, Trainer};
use std::ops::Range;

/// Rank `rank`'s contiguous slice of a global batch of `n` rows split over `size` ranks, as even
/// as possible (the first `n % size` ranks take one row more).
pub fn shard(n: usize, size: usize, rank: usize) -> Range<usize> {
    let size = size.max(1);
    let (base, extra) = (n / size, n % size);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

/// A fingerprint of the training data: sizes, every label or target, the row split and a
/// sample of feature values spread over the rows.
fn fingerprint(data: &Dataset, train_rows: &[usize]) -> Vec<u8> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |x: u64| {
        h ^= x;
        h = h.wrapping_mul(0x100_0000_01b3);
    };
    eat(data.len() as u64);
    eat(data.n_features() as u64);
    eat(train_rows.len() as u64);
    train_rows.iter().for_each(|&r| eat(r as u64));
    match data.targets() {
        Targets::Classes { labels, .. } => labels.iter().for_each(|&l| eat(l as u64)),
        Targets::Values(v) => v.iter().for_each(|x| eat(u64::from(x.to_bits()))),
    }
    // Only the sampled rows are written out: images are kept as bytes, and all of MNIST as
    // floats would be 188 MB on every rank.
    let sampled: Vec<usize> = (0..data.len()).step_by((data.len() / 512).max(1)).collect();
    let mut features = vec![0.0f32; sampled.len() * data.n_features()];
    data.write_features(&sampled, &mut features);
    features.iter().for_each(|x| eat(u64::from(x.to_bits())));
    let mut out = format!(
        "{} rows of {} features, {} training rows, hash {h:016x}",
        data.len(),
        data.n_features(),
        train_rows.len()
    )
    .into_bytes();
    out.shrink_to_fit();
    out
}

/// Refuses to start when a rank's data differs from rank 0's (another file, another size).
pub(crate) fn check_same_data(
    comm: &mut dyn Communicator,
    data: &Dataset,
    train_rows: &[usize],
) -> Result<()> {
    let mine = fingerprint(data, train_rows);
    let mut root = mine.clone();
    comm.broadcast_bytes(0, &mut root)?;
    let mut differs = vec![0.0f64; comm.size()];
    differs[comm.rank()] = f64::from(u8::from(root != mine));
    comm.all_reduce_sum_f64(&mut differs)?;
    let bad: Vec<String> = (0..differs.len())
        .filter(|&r| differs[r] > 0.0)
        .map(|r| r.to_string())
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    let detail = if differs[comm.rank()] > 0.0 {
        format!(
            " (this rank: {}; rank 0: {})",
            String::from_utf8_lossy(&mine),
            String::from_utf8_lossy(&root)
        )
    } else {
        format!(" (rank 0: {})", String::from_utf8_lossy(&root))
    };
    Err(TrainError::Invalid(format!(
        "rank{} {} {} different data than rank 0{detail}; every rank must read the same file",
        if bad.len() > 1 { "s" } else { "" },
        bad.join(", "),
        if bad.len() > 1 { "see" } else { "sees" },
    )))
}

/// Checks the data, the batch size against the rank count, and makes every rank start from
/// rank 0's parameters.
fn begin(
    comm: &mut dyn Communicator,
    trainer: &mut Trainer,
    data: &Dataset,
    train_rows: &[usize],
    workers: usize,
) -> Result<()> {
    let bs = trainer.config().batch_size;
    if bs < workers {
        return Err(TrainError::Invalid(format!(
            "the global batch size {bs} is smaller than the number of ranks computing gradients ({workers}); \
             use a batch size of at least {workers}"
        )));
    }
    check_same_data(comm, data, train_rows)?;
    comm.broadcast_f32(0, trainer.params_mut().flat_mut())?;
    Ok(())
}

/// Batch norm: every rank takes rank 0's running statistics (each rank normalises with its own
/// batch statistics while training, as DDP does), so validation on any rank scores the model
/// that rank 0 saves.
pub(crate) fn share_buffers(comm: &mut dyn Communicator, trainer: &mut Trainer) -> Result<()> {
    let names: Vec<String> = trainer
        .buffers()
        .entries()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    for name in names {
        let mut v = trainer.buffers().get(&name).unwrap_or_default().to_vec();
        comm.broadcast_f32(0, &mut v)?;
        trainer.buffers_mut().set(&name, &v)?;
    }
    Ok(())
}

/// Validation split over the ranks (with rank 0's running statistics); the sums are added so
/// every rank gets the same scores.
pub(crate) fn evaluate_shared(
    comm: &mut dyn Communicator,
    trainer: &mut Trainer,
    data: &Dataset,
    rows: &[usize],
) -> Result<EvalMetrics> {
    share_buffers(comm, trainer)?;
    let mine = &rows[shard(rows.len(), comm.size(), comm.rank())];
    let m = if mine.is_empty() {
        None
    } else {
        Some(trainer.evaluate(data, mine)?)
    };
    let n = mine.len() as f64;
    let mut sums = match m {
        Some(m) => [
            n * m.loss,
            n * m.metric(),
            n * m.rmse.map_or(0.0, |r| r * r),
        ],
        None => [0.0; 3],
    };
    comm.all_reduce_sum_f64(&mut sums)?;
    let total = rows.len().max(1) as f64;
    let classification = trainer.task() == crate::data::Task::Classification;
    Ok(EvalMetrics {
        n: rows.len(),
        loss: sums[0] / total,
        accuracy: classification.then_some(sums[1] / total),
        mae: (!classification).then_some(sums[1] / total),
        rmse: (!classification).then_some((sums[2] / total).sqrt()),
    })
}

/// Makes sure every rank holds rank 0's parameters (MPI reductions may round differently on
/// some rank; a mismatch is repaired from rank 0). Returns whether a repair was needed.
pub(crate) fn agree_on_params(comm: &mut dyn Communicator, trainer: &mut Trainer) -> Result<bool> {
    let p = trainer.params().flat();
    let mut h: u64 = 0;
    for x in p {
        h = (h ^ u64::from(x.to_bits())).wrapping_mul(0x100_0000_01b3);
    }
    let mut root = h.to_le_bytes().to_vec();
    comm.broadcast_bytes(0, &mut root)?;
    let mut differ = [f64::from(u8::from(root != h.to_le_bytes()))];
    comm.all_reduce_sum_f64(&mut differ)?;
    if differ[0] > 0.0 {
        comm.broadcast_f32(0, trainer.params_mut().flat_mut())?;
        return Ok(true);
    }
    Ok(false)
}

/// A zero gradient for every parameter: the share of a rank that computed none this step.
pub(crate) fn zero_grads(trainer: &mut Trainer) {
    let n = trainer.params().len();
    let g = trainer.grads_mut();
    g.clear();
    g.resize(n, 0.0);
}

/// The test switch `DISCESA_FAULT`, checked before each step.
fn maybe_fail(comm: &dyn Communicator, trainer: &Trainer) {
    fault::maybe_panic(comm.rank(), trainer.progress().step);
}

/// One rank's place in the group: its communicator and the spans it records.
pub struct Rank {
    /// This rank's communicator.
    pub comm: Box<dyn Communicator>,
    /// The timeline recorded on this rank.
    pub timeline: Timeline,
}

/// What one step works on: the global batch `rows` of `data`, where it stands (epoch, batch,
/// both 1-based) and the epoch's per-layer gradient norms, which the trainer's update adds to.
pub struct Step<'a> {
    /// The model, its optimizer and progress.
    pub trainer: &'a mut Trainer,
    /// The whole data set.
    pub data: &'a Dataset,
    /// The rows of the global batch.
    pub rows: &'a [usize],
    /// (epoch, batch), both 1-based.
    pub at: (usize, usize),
    /// The epoch's per-layer gradient norms.
    pub norms: &'a mut [f64],
}

/// What sets a strategy apart from the others; [`Ranked`] adds the parts all of them share.
pub trait RankSteps {
    /// How many ranks compute gradients (the global batch needs a row for each).
    fn workers(&self, comm: &dyn Communicator) -> usize {
        comm.size()
    }

    /// The strategy's own set-up, before the shared start checks the data and the parameters.
    fn prepare(&mut self, _trainer: &Trainer) {}

    /// Whether this rank takes part in global batch `index` (0-based) of an epoch.
    fn takes_batch(&mut self, _rank: &Rank, _index: usize) -> bool {
        true
    }

    /// One step, as [`StepRunner::step`].
    fn step(&mut self, rank: &mut Rank, step: Step<'_>) -> Result<StepOutcome>;

    /// The end of an epoch, as [`StepRunner::end_epoch`].
    fn end_epoch(
        &mut self,
        rank: &mut Rank,
        trainer: &mut Trainer,
        sums: &mut [f64; 2],
    ) -> Result<()>;

    /// The staleness of applied updates, where the strategy counts it.
    fn staleness(&self, _rank: &Rank) -> Option<&StalenessHistogram> {
        None
    }
}

/// A strategy on one rank: at start the data check and rank 0's parameters, the fault switch
/// before each step and validation split over the ranks, around the strategy's own steps.
pub struct Ranked<S> {
    rank: Rank,
    steps: S,
}

impl<S: RankSteps> Ranked<S> {
    /// `steps` on the rank of `comm`, recording into `timeline`.
    pub fn new(comm: Box<dyn Communicator>, timeline: Timeline, steps: S) -> Self {
        Ranked {
            rank: Rank { comm, timeline },
            steps,
        }
    }
}

impl<S: RankSteps> StepRunner for Ranked<S> {
    fn begin(&mut self, trainer: &mut Trainer, data: &Dataset, train_rows: &[usize]) -> Result<()> {
        let workers = self.steps.workers(self.rank.comm.as_ref());
        self.steps.prepare(trainer);
        begin(self.rank.comm.as_mut(), trainer, data, train_rows, workers)
    }

    fn takes_batch(&mut self, index: usize) -> bool {
        self.steps.takes_batch(&self.rank, index)
    }

    fn step(
        &mut self,
        trainer: &mut Trainer,
        data: &Dataset,
        rows: &[usize],
        at: (usize, usize),
        norms: &mut [f64],
    ) -> Result<StepOutcome> {
        maybe_fail(self.rank.comm.as_ref(), trainer);
        let step = Step {
            trainer,
            data,
            rows,
            at,
            norms,
        };
        self.steps.step(&mut self.rank, step)
    }

    fn end_epoch(&mut self, trainer: &mut Trainer, sums: &mut [f64; 2]) -> Result<()> {
        self.steps.end_epoch(&mut self.rank, trainer, sums)
    }

    fn evaluate(
        &mut self,
        trainer: &mut Trainer,
        data: &Dataset,
        rows: &[usize],
    ) -> Result<EvalMetrics> {
        evaluate_shared(self.rank.comm.as_mut(), trainer, data, rows)
    }
}

impl<S: RankSteps> DistSteps for Ranked<S> {
    fn comm(&mut self) -> &mut dyn Communicator {
        self.rank.comm.as_mut()
    }
    fn timeline(&self) -> &Timeline {
        &self.rank.timeline
    }
    fn staleness(&self) -> Option<&StalenessHistogram> {
        self.steps.staleness(&self.rank)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Targets;

    fn images(n: usize, changed: Option<usize>) -> Dataset {
        let width = 4;
        let mut pixels: Vec<u8> = (0..n * width).map(|i| (i % 251) as u8).collect();
        if let Some(i) = changed {
            pixels[i] ^= 1;
        }
        let targets = Targets::Classes {
            labels: vec![0; n],
            class_names: vec!["a".into()],
        };
        Dataset::from_bytes(pixels, [1, 2, 2], targets).unwrap()
    }

    #[test]
    fn the_fingerprint_sees_a_changed_pixel_of_a_sampled_row() {
        let rows: Vec<usize> = (0..2048).collect();
        let base = fingerprint(&images(2048, None), &rows);
        assert_eq!(base, fingerprint(&images(2048, None), &rows));
        // Every 4th row is sampled at this size: row 8's first pixel is seen.
        assert_ne!(base, fingerprint(&images(2048, Some(8 * 4)), &rows));
        assert_ne!(base, fingerprint(&images(2047, None), &rows[..2047]));
    }
}
