//! The epoch loop: global batches in a (seed, epoch) order, validation, early stopping that
//! keeps the best epoch's weights.

use super::super::history::EpochRecord;
use super::super::runner::{LocalSteps, StepRunner};
use super::super::Observer;
use super::{BestWeights, Result, TrainError, Trainer};
use crate::data::Dataset;
use crate::optim::LrSchedule;
use std::time::Instant;

impl Trainer {
    /// Trains until `config.epochs` epochs are done (or early stopping), validating on
    /// `val_rows` after each epoch when there are any. Resumes from [`progress`](Self::progress).
    pub fn fit(
        &mut self,
        data: &Dataset,
        train_rows: &[usize],
        val_rows: &[usize],
        observer: &mut dyn Observer,
    ) -> Result<()> {
        self.fit_with(data, train_rows, val_rows, observer, &mut LocalSteps)
    }

    /// [`fit`](Self::fit) with the steps taken by `steps` (a distributed strategy, or
    /// [`LocalSteps`]): every rank runs this loop over the same global batches.
    pub fn fit_with(
        &mut self,
        data: &Dataset,
        train_rows: &[usize],
        val_rows: &[usize],
        observer: &mut dyn Observer,
        steps: &mut dyn StepRunner,
    ) -> Result<()> {
        self.check_data(data)?;
        if train_rows.is_empty() {
            return Err(TrainError::Invalid("no training rows".into()));
        }
        let bs = self.config.batch_size;
        let n_batches = train_rows.len().div_ceil(bs);
        steps.begin(self, data, train_rows)?;
        while self.progress.epochs_done < self.config.epochs && !self.progress.stopped_early {
            let epoch = self.progress.epochs_done + 1;
            let lr = self
                .config
                .schedule
                .lr_at(self.config.lr, self.progress.epochs_done as u64);
            self.optimizer.set_learning_rate(lr)?;
            let mut order = std::mem::take(&mut self.order);
            self.epoch_order(train_rows, epoch, &mut order);
            observer.on_epoch_start(epoch, self.config.epochs, n_batches, train_rows.len());
            let start = Instant::now();
            let mut norms = vec![0.0; self.layers.len()];
            let (mut loss_sum, mut metric_sum) = (0.0, 0.0);
            for (b, rows) in order.chunks(bs).enumerate() {
                if !steps.takes_batch(b) {
                    continue;
                }
                let r = steps.step(self, data, rows, (epoch, b + 1), &mut norms);
                let out = match r {
                    Ok(v) => v,
                    Err(e) => {
                        self.order = order;
                        return Err(e);
                    }
                };
                loss_sum += out.loss_sum;
                metric_sum += out.metric_sum;
                observer.on_batch(
                    b + 1,
                    out.loss,
                    (b * bs + rows.len()) as f64 / start.elapsed().as_secs_f64(),
                );
            }
            self.order = order;
            let mut sums = [loss_sum, metric_sum];
            steps.end_epoch(self, &mut sums)?;
            let [loss_sum, metric_sum] = sums;
            let seconds = start.elapsed().as_secs_f64();
            let n = train_rows.len() as f64;
            norms.iter_mut().for_each(|v| *v /= n_batches as f64);
            let val = if val_rows.is_empty() {
                None
            } else {
                Some(steps.evaluate(self, data, val_rows)?)
            };
            let record = EpochRecord {
                epoch,
                step: self.progress.step,
                lr,
                train_loss: loss_sum / n,
                train_metric: metric_sum / n,
                val_loss: val.map(|v| v.loss),
                val_metric: val.map(|v| v.metric()),
                seconds,
                samples_per_second: n / seconds.max(1e-12),
                grad_norms: norms,
            };
            self.progress.epochs_done = epoch;
            if let (Some(v), Some(patience)) = (val, self.config.patience) {
                if self.progress.best_val_loss.is_none_or(|b| v.loss < b) {
                    self.progress.best_val_loss = Some(v.loss);
                    self.progress.bad_epochs = 0;
                    self.remember_best(epoch);
                } else {
                    self.progress.bad_epochs += 1;
                    if self.progress.bad_epochs >= patience {
                        self.progress.stopped_early = true;
                    }
                }
                if self.progress.stopped_early || epoch == self.config.epochs {
                    self.restore_best();
                }
            }
            self.progress.history.push(record.clone());
            observer.on_epoch_end(self, &record)?;
        }
        Ok(())
    }

    /// Keeps the current weights as the best epoch's.
    pub(super) fn remember_best(&mut self, epoch: usize) {
        self.progress.best_epoch = Some(epoch);
        match &mut self.best {
            Some(b) => {
                b.epoch = epoch;
                b.params.clear();
                b.params.extend_from_slice(self.params.flat());
                b.buffers.clone_from(&self.buffers);
            }
            None => {
                self.best = Some(BestWeights {
                    epoch,
                    params: self.params.flat().to_vec(),
                    buffers: self.buffers.clone(),
                })
            }
        }
    }

    /// At the end of a run with early stopping: back to the best epoch's weights, when this
    /// process saw that epoch (a run resumed after it keeps the weights it has).
    pub(super) fn restore_best(&mut self) {
        if let Some(b) = self.best.take() {
            if b.epoch != self.progress.epochs_done
                && self.params.set_flat(&b.params).is_ok()
                && self.buffers.copy_from(&b.buffers).is_ok()
            {
                self.progress.best_epoch = Some(b.epoch);
            }
        }
    }
}
