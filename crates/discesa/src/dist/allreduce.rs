//! `allreduce`: every rank computes the gradient of its slice of the global batch; the
//! gradients are summed in buckets (reverse layer order), each bucket's non-blocking all-reduce
//! starting the moment backward has produced all of its gradients; every rank then takes the
//! same optimizer step.

use super::buckets::{BucketCaps, BucketPlan};
use super::comm::{Communicator, PendingReduce};
use super::common::{agree_on_params, shard, zero_grads, Rank, RankSteps, Step};
use super::timeline::Timeline;
use crate::data::Dataset;
use crate::train::{BatchShare, GradReady, Result, StepOutcome, Trainer};
use std::time::Instant;

/// The DDP-style strategy.
pub struct AllReduce {
    caps: BucketCaps,
    plan: Option<BucketPlan>,
    /// The summed buckets of the last step, whose buffers carry the next step's buckets.
    spare: Vec<Vec<f32>>,
}

impl AllReduce {
    /// All-reduce with gradient buckets of at most `caps`.
    pub fn new(caps: BucketCaps) -> Self {
        AllReduce {
            caps,
            plan: None,
            spare: Vec::new(),
        }
    }
}

/// Computes this rank's weighted share of the gradient of global batch `rows` and sums it over
/// ranks bucket by bucket while backward runs. Afterwards `trainer.grads_mut()` holds the
/// global batch-mean gradient; returns this rank's (loss sum, metric sum, rows).
fn averaged_gradient(
    comm: &mut dyn Communicator,
    plan: &BucketPlan,
    trainer: &mut Trainer,
    data: &Dataset,
    rows: &[usize],
    timeline: &mut Timeline,
    spare: &mut Vec<Vec<f32>>,
) -> Result<(f64, f64, usize)> {
    let slice = shard(rows.len(), comm.size(), comm.rank());
    let mine = &rows[slice.clone()];
    let alone = comm.size() == 1;
    // A single bucket holds the whole gradient and fills when backward ends anyway: it is sent
    // as the gradient buffer itself (already weighted by backward) through the blocking
    // all-reduce, and the sum comes back as the new gradient buffer (no copy in or out). After
    // a failed step the buffer is left for the next `compute_gradient` to refill.
    let send_whole = !alone && !mine.is_empty() && plan.ranges.len() == 1;
    let mut pending: Vec<(usize, Option<Instant>, Box<dyn PendingReduce>)> =
        Vec::with_capacity(plan.ranges.len());
    let mut filled = vec![0usize; plan.ranges.len()];
    let mut failure = None;
    let t0 = timeline.now();
    let (loss, msum) = if mine.is_empty() {
        zero_grads(trainer);
        let g = trainer.grads_mut();
        for (b, r) in plan.ranges.iter().enumerate() {
            pending.push((
                b,
                timeline.now(),
                comm.start_all_reduce_sum(g[r.clone()].to_vec())?,
            ));
        }
        (0.0, 0.0)
    } else {
        let mut hook = |k: usize, grads: &mut [f32]| {
            let b = plan.bucket_of[k];
            filled[b] += 1;
            if filled[b] == plan.members[b] && failure.is_none() {
                let r = plan.ranges[b].clone();
                let mut part = spare.pop().unwrap_or_default();
                part.clear();
                part.extend_from_slice(&grads[r]);
                match comm.start_all_reduce_sum(part) {
                    Ok(p) => pending.push((b, timeline.now(), p)),
                    Err(e) => failure = Some(e),
                }
            }
            // Lets MPI progress the buckets already in flight.
            for (_, _, p) in pending.iter_mut() {
                let _ = p.test();
            }
        };
        // A single rank has nothing to sum (its gradient is already the batch mean), and the
        // whole gradient is sent once backward is done.
        let hook: Option<&mut GradReady<'_>> = if alone || send_whole {
            None
        } else {
            Some(&mut hook)
        };
        let share = BatchShare {
            offset: slice.start,
            global_rows: rows.len(),
        };
        let b = trainer.compute_gradient(data, mine, share, hook)?;
        (b.loss, b.metric_sum)
    };
    if let Some(e) = failure {
        return Err(e.into());
    }
    timeline.span("compute", t0);
    let t1 = timeline.now();
    let grads = trainer.grads_mut();
    if send_whole {
        *grads = comm.all_reduce_sum_owned(std::mem::take(grads))?;
        timeline.span("all-reduce bucket 0", t1);
    }
    for (b, started, p) in pending {
        let sum = p.wait()?;
        grads[plan.ranges[b].clone()].copy_from_slice(&sum);
        spare.push(sum);
        timeline.span(&format!("all-reduce bucket {b}"), started);
    }
    if !alone {
        timeline.span("wait for all-reduce", t1);
    }
    Ok((loss * mine.len() as f64, msum, mine.len()))
}

impl RankSteps for AllReduce {
    fn prepare(&mut self, trainer: &Trainer) {
        self.plan = Some(BucketPlan::new(trainer.params().entries(), self.caps));
    }

    fn step(&mut self, rank: &mut Rank, step: Step<'_>) -> Result<StepOutcome> {
        let plan = self.plan.as_ref().expect("prepare ran first");
        let (loss_sum, metric_sum, n) = averaged_gradient(
            rank.comm.as_mut(),
            plan,
            step.trainer,
            step.data,
            step.rows,
            &mut rank.timeline,
            &mut self.spare,
        )?;
        let mut global = [loss_sum];
        rank.comm.all_reduce_sum_f64(&mut global)?;
        let loss = global[0] / step.rows.len() as f64;
        let t = rank.timeline.now();
        step.trainer.finish_step(loss, step.at, step.norms, true)?;
        rank.timeline.span("update", t);
        Ok(StepOutcome {
            loss_sum,
            metric_sum,
            loss: if n > 0 { loss } else { 0.0 },
        })
    }

    fn end_epoch(
        &mut self,
        rank: &mut Rank,
        trainer: &mut Trainer,
        sums: &mut [f64; 2],
    ) -> Result<()> {
        rank.comm.all_reduce_sum_f64(sums)?;
        agree_on_params(rank.comm.as_mut(), trainer)?;
        Ok(())
    }
}
