//! One step in two halves: the training-mode loss and flat gradient of some rows, then the
//! optimizer step with a (possibly averaged) gradient, guarded against NaN and Inf.

use super::{BatchLoss, BatchShare, GradReady, Result, TrainError, Trainer};
use crate::data::Dataset;
use crate::nn::{mix, ForwardCtx};
use crate::optim::{clip_grad_norm, sum_squares};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

impl Trainer {
    /// Training-mode forward and backward pass on `rows` of `data` at the current parameters:
    /// writes the flat gradient of the batch's mean loss (parameter layout, resized to fit) into
    /// `grad` and returns the loss. Batch norm updates its running statistics; the parameters,
    /// optimizer and step counter are untouched (see [`apply_gradient`](Self::apply_gradient)).
    /// Dropout masks depend on (seed, current step, position in the batch).
    pub fn loss_and_grad(
        &mut self,
        data: &Dataset,
        rows: &[usize],
        grad: &mut Vec<f32>,
    ) -> Result<BatchLoss> {
        self.loss_and_grad_at(data, rows, BatchShare::whole(rows.len()), grad, None)
    }

    /// [`loss_and_grad`](Self::loss_and_grad) for a slice of a global batch, `share`: dropout
    /// masks follow the sample's position in the global batch, not the rank that computes it,
    /// and the gradient is this slice's weighted part of the global batch mean (so that the
    /// parts only need summing). `on_ready(k, grad)` is called as soon as parameter tensor
    /// `k`'s gradient is in place, while backward still runs (to overlap communication).
    pub fn loss_and_grad_at(
        &mut self,
        data: &Dataset,
        rows: &[usize],
        share: BatchShare,
        grad: &mut Vec<f32>,
        on_ready: Option<&mut GradReady<'_>>,
    ) -> Result<BatchLoss> {
        if rows.is_empty() {
            return Err(TrainError::Invalid("an empty batch has no gradient".into()));
        }
        let x = self.load_batch(data, rows, Some(self.progress.epochs_done + 1))?;
        let n = rows.len();
        let ctx = ForwardCtx::train(self.config.seed, self.progress.step).at_row(share.offset);
        let weight = n as f32 / share.global_rows.max(n) as f32;
        let result = {
            let leaves = self.params.leaves(&self.tape);
            let out = self.model.forward(
                self.tape.constant(x),
                &leaves,
                self.buffers.tensors_mut(),
                &ctx,
            )?;
            let loss = self.loss(out, n)?;
            let value = f64::from(loss.item()?);
            // Weighting the loss weights every gradient in backward, at no extra pass.
            let loss = if weight == 1.0 {
                loss
            } else {
                loss.mul_scalar(weight)
            };
            let metric_sum = self.metric_sum(out.value().as_slice(), n);
            match on_ready {
                None => {
                    let g = self.tape.backward(loss)?;
                    self.params.gather_grads(&g, &leaves, grad);
                }
                Some(hook) => {
                    grad.resize(self.params.len(), 0.0);
                    let entries = self.params.entries();
                    self.tape.backward_with_ready(loss, &leaves, &mut |k, g| {
                        let e = &entries[k];
                        let dst = &mut grad[e.offset..e.offset + e.numel()];
                        match g {
                            Some(g) => dst.copy_from_slice(g.as_slice()),
                            None => dst.fill(0.0),
                        }
                        hook(k, grad);
                    })?;
                }
            }
            BatchLoss {
                loss: value,
                metric_sum,
            }
        };
        self.tape.clear();
        Ok(result)
    }

    /// [`loss_and_grad_at`](Self::loss_and_grad_at) into the trainer's own gradient buffer
    /// ([`grads_mut`](Self::grads_mut)), which strategies then average over ranks.
    pub fn compute_gradient(
        &mut self,
        data: &Dataset,
        rows: &[usize],
        share: BatchShare,
        on_ready: Option<&mut GradReady<'_>>,
    ) -> Result<BatchLoss> {
        let mut grads = std::mem::take(&mut self.grads);
        let r = self.loss_and_grad_at(data, rows, share, &mut grads, on_ready);
        self.grads = grads;
        r
    }

    /// The trainer's own flat gradient buffer (see [`compute_gradient`](Self::compute_gradient)).
    pub fn grads_mut(&mut self) -> &mut Vec<f32> {
        &mut self.grads
    }

    /// Ends the current step with the gradient in [`grads_mut`](Self::grads_mut): checks that
    /// it and `loss` are finite (naming the layer otherwise), adds each layer's gradient norm
    /// to `norms`, and applies it; `at` is (epoch, batch) for messages. With `update` false
    /// (a parameter-server worker) the step is only counted.
    pub fn finish_step(
        &mut self,
        loss: f64,
        at: (usize, usize),
        norms: &mut [f64],
        update: bool,
    ) -> Result<()> {
        if !update {
            self.progress.step += 1;
            return Ok(());
        }
        let mut grads = std::mem::take(&mut self.grads);
        let r = self
            .check_finite(loss, &grads, at.0, at.1, norms)
            .and_then(|_| self.apply_gradient(&mut grads));
        self.grads = grads;
        r
    }

    /// The global row order of epoch `epoch` (1-based): a function of (seed, epoch) alone, so
    /// resuming needs no RNG stream and every rank computes the same order.
    pub fn epoch_order(&self, train_rows: &[usize], epoch: usize, order: &mut Vec<usize>) {
        order.clear();
        order.extend_from_slice(train_rows);
        order.shuffle(&mut StdRng::seed_from_u64(mix(
            self.config.seed ^ mix(epoch as u64)
        )));
    }

    /// One optimizer step with the flat gradient `grad` (clipped in place first when
    /// `clip_grad_norm` is set); advances the step counter.
    pub fn apply_gradient(&mut self, grad: &mut [f32]) -> Result<()> {
        if grad.len() != self.params.len() {
            return Err(TrainError::Invalid(format!(
                "a gradient of {} values for a model with {} parameters",
                grad.len(),
                self.params.len()
            )));
        }
        if let Some(max) = self.config.clip_grad_norm {
            clip_grad_norm(grad, max)?;
        }
        self.optimizer.step(self.params.flat_mut(), grad)?;
        self.progress.step += 1;
        Ok(())
    }

    /// Adds each layer's gradient norm to `norms`; fails naming the layers whose gradient (or
    /// the loss) is not finite.
    pub(super) fn check_finite(
        &self,
        loss: f64,
        grads: &[f32],
        epoch: usize,
        batch: usize,
        norms: &mut [f64],
    ) -> Result<()> {
        let mut bad = Vec::new();
        for (i, (name, ranges)) in self.layers.iter().enumerate() {
            let ss: f64 = ranges.iter().map(|r| sum_squares(&grads[r.clone()])).sum();
            if !ss.is_finite() {
                bad.push(name.clone());
            }
            norms[i] += ss.sqrt();
        }
        if loss.is_finite() && bad.is_empty() {
            return Ok(());
        }
        bad.reverse();
        let what = if loss.is_nan() {
            "loss became NaN".to_string()
        } else if loss.is_infinite() {
            "loss became infinite".to_string()
        } else {
            format!("gradient became non-finite (loss {loss})")
        };
        let layer = bad
            .first()
            .cloned()
            .unwrap_or_else(|| "(none: every gradient is finite)".into());
        let others = if bad.len() > 1 {
            format!(" (also {})", bad[1..].join(", "))
        } else {
            String::new()
        };
        Err(TrainError::NonFinite {
            what,
            step: self.progress.step + 1,
            epoch,
            batch,
            layer,
            others,
        })
    }
}
