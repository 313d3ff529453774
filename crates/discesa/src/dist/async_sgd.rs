//! `async`: rank 0 serves, ranks 1.. work. A worker computes the gradient of a whole batch on
//! the weights it last received and sends it with their version; the server applies each
//! gradient on arrival (no barrier) and answers with the current weights. A gradient more than
//! `max_staleness` versions old is not applied: its worker waits for the current weights and
//! computes that batch again, so no applied update is ever staler than the bound. The
//! staleness of every applied update is counted.

use super::comm::Communicator;
use super::common::{Rank, RankSteps, Step};
use crate::train::{BatchLoss, BatchShare, Result, StepOutcome, Trainer};
use serde::Serialize;

const TAG_GRAD: u16 = 1;
const TAG_WEIGHTS: u16 = 2;
const HEADER: usize = 5;

/// How stale the applied updates were: `counts[s]` updates were `s` versions old.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StalenessHistogram {
    /// Applied updates by staleness.
    pub counts: Vec<u64>,
    /// Gradients refused for being staler than the bound (their batches were recomputed).
    pub refused: u64,
}

impl StalenessHistogram {
    fn record(&mut self, s: usize) {
        if self.counts.len() <= s {
            self.counts.resize(s + 1, 0);
        }
        self.counts[s] += 1;
    }

    /// The largest staleness of an applied update.
    pub fn max(&self) -> usize {
        self.counts.iter().rposition(|&c| c > 0).unwrap_or(0)
    }

    /// `0:120 1:340 ...`
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(s, c)| format!("{s}:{c}"))
            .collect();
        if self.refused > 0 {
            parts.push(format!("refused:{}", self.refused));
        }
        parts.join(" ")
    }
}

fn split(v: u64) -> [f32; 2] {
    [f32::from_bits(v as u32), f32::from_bits((v >> 32) as u32)]
}

fn join(lo: f32, hi: f32) -> u64 {
    u64::from(lo.to_bits()) | (u64::from(hi.to_bits()) << 32)
}

/// The asynchronous strategy.
pub struct AsyncSgd {
    max_staleness: u64,
    version: u64,
    expected: usize,
    histogram: StalenessHistogram,
    message: Vec<f32>,
}

impl AsyncSgd {
    /// Rank 0 serves; gradients staler than `max_staleness` versions are refused.
    pub fn new(max_staleness: u64) -> Self {
        AsyncSgd {
            max_staleness,
            version: 0,
            expected: 0,
            histogram: StalenessHistogram::default(),
            message: Vec::new(),
        }
    }

    fn reply(
        &mut self,
        comm: &mut dyn Communicator,
        to: usize,
        accepted: bool,
        trainer: &Trainer,
    ) -> Result<()> {
        self.message.clear();
        self.message.push(f32::from_bits(u32::from(accepted)));
        self.message.extend(split(self.version));
        self.message.extend_from_slice(trainer.params().flat());
        comm.send_f32(to, TAG_WEIGHTS, &self.message)?;
        Ok(())
    }

    /// Rank 0: applies `expected` gradients, in arrival order.
    fn serve(&mut self, rank: &mut Rank, trainer: &mut Trainer, sums: &mut [f64; 2]) -> Result<()> {
        let epoch = trainer.progress().epochs_done + 1;
        let mut norms = vec![0.0; trainer.layer_names().len()];
        let mut applied = 0;
        while applied < self.expected {
            let t = rank.timeline.now();
            let (src, msg) = rank.comm.recv_f32(None, TAG_GRAD)?;
            rank.timeline.span("wait for a gradient", t);
            let from = join(msg[0], msg[1]);
            let staleness = self.version.saturating_sub(from);
            if staleness > self.max_staleness {
                self.histogram.refused += 1;
                self.reply(rank.comm.as_mut(), src, false, trainer)?;
                continue;
            }
            self.histogram.record(staleness as usize);
            let (loss, msum, n) = (
                f64::from(msg[2]),
                f64::from(msg[3]),
                msg[4].to_bits() as f64,
            );
            let t = rank.timeline.now();
            trainer.grads_mut().clear();
            trainer.grads_mut().extend_from_slice(&msg[HEADER..]);
            trainer.finish_step(loss, (epoch, applied + 1), &mut norms, true)?;
            rank.timeline.span("update", t);
            self.version += 1;
            applied += 1;
            sums[0] += loss * n;
            sums[1] += msum;
            self.reply(rank.comm.as_mut(), src, true, trainer)?;
        }
        self.expected = 0;
        Ok(())
    }
}

impl RankSteps for AsyncSgd {
    fn workers(&self, _comm: &dyn Communicator) -> usize {
        1
    }

    fn prepare(&mut self, trainer: &Trainer) {
        self.version = trainer.progress().step;
    }

    fn takes_batch(&mut self, rank: &Rank, index: usize) -> bool {
        let (me, workers) = (rank.comm.rank(), rank.comm.size() - 1);
        if me == 0 {
            self.expected += 1;
            false
        } else {
            index % workers == me - 1
        }
    }

    fn step(&mut self, rank: &mut Rank, step: Step<'_>) -> Result<StepOutcome> {
        loop {
            let t = rank.timeline.now();
            let BatchLoss {
                loss,
                metric_sum: msum,
            } = step.trainer.compute_gradient(
                step.data,
                step.rows,
                BatchShare::whole(step.rows.len()),
                None,
            )?;
            rank.timeline.span("compute", t);
            let t = rank.timeline.now();
            self.message.clear();
            self.message.extend(split(self.version));
            self.message.push(loss as f32);
            self.message.push(msum as f32);
            self.message.push(f32::from_bits(step.rows.len() as u32));
            self.message.extend_from_slice(step.trainer.grads_mut());
            rank.comm.send_f32(0, TAG_GRAD, &self.message)?;
            let (_, reply) = rank.comm.recv_f32(Some(0), TAG_WEIGHTS)?;
            rank.timeline.span("wait for the server", t);
            self.version = join(reply[1], reply[2]);
            step.trainer.params_mut().set_flat(&reply[3..])?;
            if reply[0].to_bits() == 1 {
                step.trainer.finish_step(loss, step.at, step.norms, false)?;
                // The server adds up the epoch's sums of the updates it applied.
                return Ok(StepOutcome {
                    loss_sum: 0.0,
                    metric_sum: 0.0,
                    loss,
                });
            }
        }
    }

    fn end_epoch(
        &mut self,
        rank: &mut Rank,
        trainer: &mut Trainer,
        sums: &mut [f64; 2],
    ) -> Result<()> {
        if rank.comm.rank() == 0 {
            self.serve(rank, trainer, sums)?;
        }
        rank.comm.all_reduce_sum_f64(sums)?;
        rank.comm
            .broadcast_f32(0, trainer.params_mut().flat_mut())?;
        let mut v = self.version.to_le_bytes().to_vec();
        rank.comm.broadcast_bytes(0, &mut v)?;
        self.version = u64::from_le_bytes(v.try_into().unwrap_or_default());
        Ok(())
    }

    fn staleness(&self, rank: &Rank) -> Option<&StalenessHistogram> {
        (rank.comm.rank() == 0).then_some(&self.histogram)
    }
}
