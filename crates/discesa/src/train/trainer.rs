//! The training loop: per batch the lecture's four steps (take a batch, forward, backpropagate
//! the loss, update), epochs with validation, early stopping and a guard against NaN/Inf.
//!
//! The hot path reuses everything it can: the input and target buffers (shared with the tape
//! through `Arc`, unique again after `tape.clear()`), the tape's node storage, the flat gradient
//! vector and the shuffled row order.

use super::history::EpochRecord;
use super::{Observer, Result, TrainConfig, TrainError};
use crate::autodiff::{Tape, Var};
use crate::data::{Dataset, Targets, Task};
use crate::nn::{
    cross_entropy, half_mse, metrics, mix, ForwardCtx, Mlp, MlpConfig, Module, ParamStore,
};
use crate::optim::{build, clip_grad_norm, DecayMask, LrSchedule, Optimizer, OptimizerState};
use crate::tensor::Tensor;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

/// Where a run stands: enough, with the weights and optimizer state, to resume it exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainProgress {
    /// Epochs completed.
    pub epochs_done: usize,
    /// Optimisation steps completed.
    pub step: u64,
    /// Best validation loss so far.
    pub best_val_loss: Option<f64>,
    /// Epochs since the validation loss last improved.
    pub bad_epochs: usize,
    /// True once early stopping has ended the run.
    pub stopped_early: bool,
    /// Every completed epoch's record.
    pub history: Vec<EpochRecord>,
}

/// Loss and metrics of a model on some rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EvalMetrics {
    /// Rows evaluated.
    pub n: usize,
    /// Mean loss (cross-entropy, or half squared error for regression).
    pub loss: f64,
    /// Fraction classified correctly (classification).
    pub accuracy: Option<f64>,
    /// Mean absolute error (regression).
    pub mae: Option<f64>,
    /// Root mean squared error (regression).
    pub rmse: Option<f64>,
}

impl EvalMetrics {
    /// The headline metric: accuracy, or MAE for regression.
    pub fn metric(&self) -> f64 {
        self.accuracy.or(self.mae).unwrap_or(f64::NAN)
    }
}

/// A model, its parameters, its optimizer and the run's progress.
pub struct Trainer {
    model: Mlp<f32>,
    params: ParamStore<f32>,
    optimizer: Box<dyn Optimizer<f32>>,
    config: TrainConfig,
    task: Task,
    progress: TrainProgress,
    layers: Vec<(String, Vec<Range<usize>>)>,
    tape: Tape<f32>,
    grads: Vec<f32>,
    xbuf: Arc<[f32]>,
    ybuf: Arc<[f32]>,
    labels: Vec<usize>,
    order: Vec<usize>,
}

fn take_unique(buf: &mut Arc<[f32]>, len: usize) -> &mut [f32] {
    if buf.len() < len || Arc::get_mut(buf).is_none() {
        *buf = Arc::from(vec![0.0f32; len.max(buf.len())]);
    }
    &mut Arc::get_mut(buf).expect("buffer is unique")[..len]
}

impl Trainer {
    /// A fresh model initialised from `config.seed`.
    pub fn new(model: MlpConfig, task: Task, config: TrainConfig) -> Result<Self> {
        config.validate()?;
        if task == Task::Regression && model.outputs != 1 {
            return Err(TrainError::Invalid(format!(
                "a regression model has one output, not {}",
                model.outputs
            )));
        }
        let mlp = Mlp::new(model)?;
        let params = crate::nn::init_params(&mlp, config.seed)?;
        let optimizer = build::<f32>(config.optimizer, config.lr, &config.optim_options)?;
        Self::assemble(
            mlp,
            params,
            optimizer,
            config,
            task,
            TrainProgress::default(),
        )
    }

    /// Rebuilds a trainer from checkpointed parts: weights, optimizer state and progress.
    pub fn restore(
        model: MlpConfig,
        task: Task,
        config: TrainConfig,
        weights: &[f32],
        optimizer: Option<&OptimizerState>,
        progress: TrainProgress,
    ) -> Result<Self> {
        config.validate()?;
        let mlp = Mlp::new(model)?;
        let mut params = crate::nn::init_params(&mlp, config.seed)?;
        params.set_flat(weights)?;
        let opt = match optimizer {
            Some(s) => crate::optim::from_state::<f32>(s)?,
            None => build::<f32>(config.optimizer, config.lr, &config.optim_options)?,
        };
        Self::assemble(mlp, params, opt, config, task, progress)
    }

    fn assemble(
        model: Mlp<f32>,
        params: ParamStore<f32>,
        mut optimizer: Box<dyn Optimizer<f32>>,
        config: TrainConfig,
        task: Task,
        progress: TrainProgress,
    ) -> Result<Self> {
        if config.optim_options.weight_decay.is_some_and(|w| w > 0.0) {
            let mask = DecayMask::exclude_biases_and_norms(&params.segments(), params.len())?;
            optimizer.set_decay_mask(Some(mask));
        }
        let layers = params.layers();
        Ok(Trainer {
            model,
            params,
            optimizer,
            config,
            task,
            progress,
            layers,
            tape: Tape::with_capacity(64),
            grads: Vec::new(),
            xbuf: Arc::from(Vec::new()),
            ybuf: Arc::from(Vec::new()),
            labels: Vec::new(),
            order: Vec::new(),
        })
    }

    /// The model.
    pub fn model(&self) -> &Mlp<f32> {
        &self.model
    }

    /// The parameters (one flat buffer).
    pub fn params(&self) -> &ParamStore<f32> {
        &self.params
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &dyn Optimizer<f32> {
        self.optimizer.as_ref()
    }

    /// The training configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Changes the number of epochs (to extend a resumed run).
    pub fn set_epochs(&mut self, epochs: usize) {
        self.config.epochs = epochs;
    }

    /// Classification or regression.
    pub fn task(&self) -> Task {
        self.task
    }

    /// Progress so far.
    pub fn progress(&self) -> &TrainProgress {
        &self.progress
    }

    /// Layer names, in the order of [`EpochRecord::grad_norms`].
    pub fn layer_names(&self) -> Vec<String> {
        self.layers.iter().map(|(n, _)| n.clone()).collect()
    }

    fn check_data(&self, data: &Dataset) -> Result<()> {
        let cfg = self.model.config();
        if data.n_features() != cfg.inputs {
            return Err(TrainError::Invalid(format!(
                "the data has {} features but the model expects {}",
                data.n_features(),
                cfg.inputs
            )));
        }
        if data.task() != self.task {
            return Err(TrainError::Invalid(format!(
                "the data is a {} task but the model was built for {}",
                data.task(),
                self.task
            )));
        }
        if let Some(c) = data.n_classes() {
            if c > cfg.outputs {
                return Err(TrainError::Invalid(format!(
                    "the data has {c} classes but the model has {} outputs",
                    cfg.outputs
                )));
            }
        }
        Ok(())
    }

    /// Gathers `rows` into the reusable input/target buffers; returns the input tensor.
    fn load_batch(&mut self, data: &Dataset, rows: &[usize]) -> Result<Tensor<f32>> {
        let f = data.n_features();
        let x = take_unique(&mut self.xbuf, rows.len() * f);
        let all = data.features();
        for (dst, &r) in x.chunks_exact_mut(f).zip(rows) {
            dst.copy_from_slice(&all[r * f..(r + 1) * f]);
        }
        match data.targets() {
            Targets::Classes { labels, .. } => {
                self.labels.clear();
                self.labels.extend(rows.iter().map(|&r| labels[r]));
            }
            Targets::Values(v) => {
                let y = take_unique(&mut self.ybuf, rows.len());
                for (d, &r) in y.iter_mut().zip(rows) {
                    *d = v[r];
                }
            }
        }
        Ok(Tensor::from_shared(self.xbuf.clone(), 0, [rows.len(), f])?)
    }

    fn loss<'t>(&self, out: Var<'t, f32>, n: usize) -> Result<Var<'t, f32>> {
        Ok(match self.task {
            Task::Classification => cross_entropy(out, &self.labels)?,
            Task::Regression => half_mse(out, &Tensor::from_shared(self.ybuf.clone(), 0, [n, 1])?)?,
        })
    }

    /// Batch metric sum: correct predictions, or summed absolute error.
    fn metric_sum(&self, out: &[f32], n: usize) -> f64 {
        match self.task {
            Task::Classification => {
                metrics::correct_count(out, self.model.config().outputs, &self.labels) as f64
            }
            Task::Regression => out
                .iter()
                .zip(&self.ybuf[..n])
                .map(|(p, y)| f64::from((p - y).abs()))
                .sum(),
        }
    }

    /// One optimisation step on `rows`; returns (loss, metric sum).
    fn train_step(
        &mut self,
        data: &Dataset,
        rows: &[usize],
        epoch: usize,
        batch: usize,
        norms: &mut [f64],
    ) -> Result<(f64, f64)> {
        let x = self.load_batch(data, rows)?;
        let n = rows.len();
        let ctx = ForwardCtx::train(self.config.seed, self.progress.step);
        let (loss, msum) = {
            let leaves = self.params.leaves(&self.tape);
            let out = self.model.forward(self.tape.constant(x), &leaves, &ctx)?;
            let loss = self.loss(out, n)?;
            let value = f64::from(loss.item()?);
            let msum = self.metric_sum(out.value().as_slice(), n);
            let g = self.tape.backward(loss)?;
            self.params.gather_grads(&g, &leaves, &mut self.grads);
            (value, msum)
        };
        self.tape.clear();
        self.progress.step += 1;
        let mut bad = Vec::new();
        for (i, (name, ranges)) in self.layers.iter().enumerate() {
            let ss: f64 = ranges
                .iter()
                .flat_map(|r| &self.grads[r.clone()])
                .map(|&g| f64::from(g) * f64::from(g))
                .sum();
            if !ss.is_finite() {
                bad.push(name.clone());
            }
            norms[i] += ss.sqrt();
        }
        if !loss.is_finite() || !bad.is_empty() {
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
            return Err(TrainError::NonFinite {
                what,
                step: self.progress.step,
                epoch,
                batch,
                layer,
                others,
            });
        }
        if let Some(max) = self.config.clip_grad_norm {
            clip_grad_norm(&mut self.grads, max)?;
        }
        self.optimizer.step(self.params.flat_mut(), &self.grads)?;
        Ok((loss, msum))
    }

    /// Trains until `config.epochs` epochs are done (or early stopping), validating on
    /// `val_rows` after each epoch when there are any. Resumes from [`progress`](Self::progress).
    pub fn fit(
        &mut self,
        data: &Dataset,
        train_rows: &[usize],
        val_rows: &[usize],
        observer: &mut dyn Observer,
    ) -> Result<()> {
        self.check_data(data)?;
        if train_rows.is_empty() {
            return Err(TrainError::Invalid("no training rows".into()));
        }
        let bs = self.config.batch_size;
        let n_batches = train_rows.len().div_ceil(bs);
        while self.progress.epochs_done < self.config.epochs && !self.progress.stopped_early {
            let epoch = self.progress.epochs_done + 1;
            let lr = self
                .config
                .schedule
                .lr_at(self.config.lr, self.progress.epochs_done as u64);
            self.optimizer.set_learning_rate(lr)?;
            // The order is a function of (seed, epoch) alone, so resuming needs no RNG stream.
            let mut order = std::mem::take(&mut self.order);
            order.clear();
            order.extend_from_slice(train_rows);
            order.shuffle(&mut StdRng::seed_from_u64(mix(
                self.config.seed ^ mix(epoch as u64)
            )));
            observer.on_epoch_start(epoch, self.config.epochs, n_batches, train_rows.len());
            let start = Instant::now();
            let mut norms = vec![0.0; self.layers.len()];
            let (mut loss_sum, mut metric_sum) = (0.0, 0.0);
            for (b, rows) in order.chunks(bs).enumerate() {
                let r = self.train_step(data, rows, epoch, b + 1, &mut norms);
                let (loss, msum) = match r {
                    Ok(v) => v,
                    Err(e) => {
                        self.order = order;
                        return Err(e);
                    }
                };
                loss_sum += loss * rows.len() as f64;
                metric_sum += msum;
                observer.on_batch(
                    b + 1,
                    loss,
                    (b * bs + rows.len()) as f64 / start.elapsed().as_secs_f64(),
                );
            }
            self.order = order;
            let seconds = start.elapsed().as_secs_f64();
            let n = train_rows.len() as f64;
            norms.iter_mut().for_each(|v| *v /= n_batches as f64);
            let val = if val_rows.is_empty() {
                None
            } else {
                Some(self.evaluate(data, val_rows)?)
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
                } else {
                    self.progress.bad_epochs += 1;
                    if self.progress.bad_epochs >= patience {
                        self.progress.stopped_early = true;
                    }
                }
            }
            self.progress.history.push(record.clone());
            observer.on_epoch_end(self, &record)?;
        }
        Ok(())
    }

    /// Loss and metrics on `rows` of `data`, without recording gradients.
    pub fn evaluate(&mut self, data: &Dataset, rows: &[usize]) -> Result<EvalMetrics> {
        self.check_data(data)?;
        let (mut loss_sum, mut metric_sum, mut sq_sum) = (0.0, 0.0, 0.0);
        for chunk in rows.chunks(self.config.eval_batch_size) {
            let x = self.load_batch(data, chunk)?;
            let n = chunk.len();
            let (loss, msum, sq) = self.tape.no_grad(|| -> Result<(f64, f64, f64)> {
                let params = self.params.constants(&self.tape);
                let out =
                    self.model
                        .forward(self.tape.constant(x), &params, &ForwardCtx::eval())?;
                let loss = f64::from(self.loss(out, n)?.item()?);
                let value = out.value();
                let sq = match self.task {
                    Task::Regression => value
                        .as_slice()
                        .iter()
                        .zip(&self.ybuf[..n])
                        .map(|(p, y)| f64::from(p - y).powi(2))
                        .sum(),
                    Task::Classification => 0.0,
                };
                Ok((loss, self.metric_sum(value.as_slice(), n), sq))
            })?;
            self.tape.clear();
            loss_sum += loss * n as f64;
            metric_sum += msum;
            sq_sum += sq;
        }
        let n = rows.len().max(1) as f64;
        let classification = self.task == Task::Classification;
        Ok(EvalMetrics {
            n: rows.len(),
            loss: loss_sum / n,
            accuracy: classification.then_some(metric_sum / n),
            mae: (!classification).then_some(metric_sum / n),
            rmse: (!classification).then_some((sq_sum / n).sqrt()),
        })
    }

    /// Model outputs (logits, or values for regression) for row-major `features`, `n × outputs`.
    pub fn predict(&mut self, features: &[f32]) -> Result<Vec<f32>> {
        let f = self.model.config().inputs;
        if !features.len().is_multiple_of(f) {
            return Err(TrainError::Invalid(format!(
                "{} feature values are not a whole number of rows of {f}",
                features.len()
            )));
        }
        let mut out = Vec::with_capacity(features.len() / f * self.model.config().outputs);
        for chunk in features.chunks(self.config.eval_batch_size * f) {
            let x = Tensor::from_vec(chunk.to_vec(), [chunk.len() / f, f])?;
            let y = self.tape.no_grad(|| -> Result<Tensor<f32>> {
                let params = self.params.constants(&self.tape);
                Ok(self
                    .model
                    .forward(self.tape.constant(x), &params, &ForwardCtx::eval())?
                    .value())
            })?;
            self.tape.clear();
            out.extend_from_slice(y.as_slice());
        }
        Ok(out)
    }
}
