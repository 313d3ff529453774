//! The training loop: per batch the lecture's four steps (take a batch, forward, backpropagate
//! the loss, update), epochs with validation, early stopping and a guard against NaN/Inf.
//!
//! The hot path reuses everything it can: the input and target buffers (shared with the tape
//! through `Arc`, unique again after `tape.clear()`), the tape's node storage, the flat gradient
//! vector and the shuffled row order.
//!
//! The trainer works for any [`ModelSpec`]. Besides [`Trainer::fit`] it exposes the step in two
//! halves, so that distributed training can all-reduce the gradient in between and loss
//! landscapes can evaluate at chosen weights:
//! [`Trainer::loss_and_grad`] (training-mode loss and flat gradient of some rows) and
//! [`Trainer::apply_gradient`] (one optimizer step with a flat gradient), plus
//! [`Trainer::evaluate`] at the current parameters in evaluation mode.

use super::augment::augment_key;
use super::history::EpochRecord;
use super::runner::{LocalSteps, StepRunner};
use super::{Observer, Result, TargetScale, TrainConfig, TrainError};
use crate::autodiff::{Tape, Var};
use crate::data::{Dataset, Targets, Task};
use crate::nn::{
    cross_entropy, half_mse, init_buffers, metrics, mix, BufferStore, ForwardCtx, ModelSpec,
    Module, ParamStore,
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
    /// The epoch with the best validation loss, whose weights the run ends with when it
    /// stops early or reaches its last epoch with early stopping on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_epoch: Option<usize>,
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

/// Loss and metric of one training batch, from [`Trainer::loss_and_grad`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchLoss {
    /// Mean loss over the batch.
    pub loss: f64,
    /// Sum of the metric over the batch (correct predictions, or absolute errors).
    pub metric_sum: f64,
}

/// Called with a parameter tensor's index and the flat gradient once that tensor's part of it
/// is final (see [`Trainer::loss_and_grad_at`]).
pub type GradReady<'a> = dyn FnMut(usize, &mut [f32]) + 'a;

/// A model, its parameters and buffers, its optimizer and the run's progress.
pub struct Trainer {
    spec: ModelSpec,
    model: Box<dyn Module<f32>>,
    params: ParamStore<f32>,
    buffers: BufferStore<f32>,
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
    aug_tmp: Vec<f32>,
    target_scale: Option<TargetScale>,
    best: Option<BestWeights>,
}

/// The parameters and buffers of the best validation epoch so far (early stopping).
struct BestWeights {
    epoch: usize,
    params: Vec<f32>,
    buffers: BufferStore<f32>,
}

fn take_unique(buf: &mut Arc<[f32]>, len: usize) -> &mut [f32] {
    if buf.len() < len || Arc::get_mut(buf).is_none() {
        *buf = Arc::from(vec![0.0f32; len.max(buf.len())]);
    }
    &mut Arc::get_mut(buf).expect("buffer is unique")[..len]
}

impl Trainer {
    /// A fresh model initialised from `config.seed`.
    pub fn new(model: impl Into<ModelSpec>, task: Task, config: TrainConfig) -> Result<Self> {
        let spec = model.into();
        config.validate()?;
        if task == Task::Regression && spec.n_outputs() != 1 {
            return Err(TrainError::Invalid(format!(
                "a regression model has one output, not {}",
                spec.n_outputs()
            )));
        }
        let model = spec.build::<f32>()?;
        let params = crate::nn::init_params(model.as_ref(), config.seed)?;
        let optimizer = build::<f32>(config.optimizer, config.lr, &config.optim_options)?;
        Self::assemble(
            spec,
            model,
            params,
            optimizer,
            config,
            task,
            TrainProgress::default(),
        )
    }

    /// Rebuilds a trainer from checkpointed parts: weights, optimizer state and progress
    /// (buffers start at their initial values; set them with [`buffers_mut`](Self::buffers_mut)).
    pub fn restore(
        model: impl Into<ModelSpec>,
        task: Task,
        config: TrainConfig,
        weights: &[f32],
        optimizer: Option<&OptimizerState>,
        progress: TrainProgress,
    ) -> Result<Self> {
        let spec = model.into();
        config.validate()?;
        let model = spec.build::<f32>()?;
        let mut params = crate::nn::init_params(model.as_ref(), config.seed)?;
        params.set_flat(weights)?;
        let opt = match optimizer {
            Some(s) => crate::optim::from_state::<f32>(s)?,
            None => build::<f32>(config.optimizer, config.lr, &config.optim_options)?,
        };
        Self::assemble(spec, model, params, opt, config, task, progress)
    }

    fn assemble(
        spec: ModelSpec,
        model: Box<dyn Module<f32>>,
        params: ParamStore<f32>,
        mut optimizer: Box<dyn Optimizer<f32>>,
        config: TrainConfig,
        task: Task,
        progress: TrainProgress,
    ) -> Result<Self> {
        if config.optim_options.weight_decay.is_some_and(|w| w > 0.0) {
            optimizer.set_decay_mask(Some(decay_mask(&params)?));
        }
        let layers = params.layers();
        let buffers = init_buffers(model.as_ref())?;
        Ok(Trainer {
            spec,
            model,
            params,
            buffers,
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
            aug_tmp: Vec::new(),
            target_scale: None,
            best: None,
        })
    }

    /// Trains a regression model on standardised targets (`None`: raw targets). Metrics and
    /// predictions stay in the target's own units.
    pub fn set_target_scale(&mut self, scale: Option<TargetScale>) {
        self.target_scale = scale.filter(|_| self.task == Task::Regression);
    }

    /// The target standardisation in use.
    pub fn target_scale(&self) -> Option<TargetScale> {
        self.target_scale
    }

    /// Standard deviation of the target in model units (1 without standardisation).
    fn target_std(&self) -> f64 {
        self.target_scale.map_or(1.0, |s| s.std)
    }

    /// The model's description (saved in checkpoints).
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The model.
    pub fn model(&self) -> &dyn Module<f32> {
        self.model.as_ref()
    }

    /// The parameters (one flat buffer).
    pub fn params(&self) -> &ParamStore<f32> {
        &self.params
    }

    /// The parameters, to set θ directly (`params_mut().set_flat(..)` or `flat_mut()`).
    pub fn params_mut(&mut self) -> &mut ParamStore<f32> {
        &mut self.params
    }

    /// The buffers (batch-norm running statistics; empty for an MLP).
    pub fn buffers(&self) -> &BufferStore<f32> {
        &self.buffers
    }

    /// The buffers, to restore or synchronise them.
    pub fn buffers_mut(&mut self) -> &mut BufferStore<f32> {
        &mut self.buffers
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &dyn Optimizer<f32> {
        self.optimizer.as_ref()
    }

    /// The optimizer, mutable (learning rate, state).
    pub fn optimizer_mut(&mut self) -> &mut dyn Optimizer<f32> {
        self.optimizer.as_mut()
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

    /// Checks that `data` fits the model: feature count, task and number of classes.
    pub fn check_data(&self, data: &Dataset) -> Result<()> {
        self.check_inputs(data)?;
        if data.task() != self.task {
            return Err(TrainError::Invalid(format!(
                "the data is a {} task but the model was built for {}",
                data.task(),
                self.task
            )));
        }
        if let Some(c) = data.n_classes() {
            if c > self.spec.n_outputs() {
                return Err(TrainError::Invalid(format!(
                    "the data has {c} classes but the model has {} outputs",
                    self.spec.n_outputs()
                )));
            }
        }
        Ok(())
    }

    /// Checks that the inputs of `data` fit the model: image shape (both named) and feature count.
    fn check_inputs(&self, data: &Dataset) -> Result<()> {
        if let (Some(want), Some(have)) = (self.spec.input_shape(), data.image_shape()) {
            if want != have {
                return Err(TrainError::Invalid(format!(
                    "the data has images of shape {} but the model takes {}",
                    chw(have),
                    chw(want)
                )));
            }
        }
        if data.n_features() != self.spec.n_inputs() {
            return Err(TrainError::Invalid(format!(
                "the data has {} features but the model expects {}",
                data.n_features(),
                self.spec.n_inputs()
            )));
        }
        Ok(())
    }

    /// Gathers `rows` into the reusable input/target buffers, augmenting images when `epoch`
    /// is given (training) and augmentation is on; returns the input tensor.
    fn load_batch(
        &mut self,
        data: &Dataset,
        rows: &[usize],
        epoch: Option<usize>,
    ) -> Result<Tensor<f32>> {
        let f = data.n_features();
        let x = take_unique(&mut self.xbuf, rows.len() * f);
        data.write_features(rows, x);
        let aug = self.config.augment;
        if let (Some(epoch), Some(shape), false) = (epoch, self.spec.input_shape(), aug.is_off()) {
            for (img, &r) in x.chunks_exact_mut(f).zip(rows) {
                let key = augment_key(self.config.seed, epoch, r);
                aug.apply(img, shape, key, &mut self.aug_tmp);
            }
        }
        match data.targets() {
            Targets::Classes { labels, .. } => {
                self.labels.clear();
                self.labels.extend(rows.iter().map(|&r| labels[r]));
            }
            Targets::Values(v) => {
                let scale = self.target_scale;
                let y = take_unique(&mut self.ybuf, rows.len());
                for (d, &r) in y.iter_mut().zip(rows) {
                    *d = scale.map_or(v[r], |s| s.to_model(v[r]));
                }
            }
        }
        Ok(Tensor::from_shared(
            self.xbuf.clone(),
            0,
            self.spec.batch_dims(rows.len()).as_slice(),
        )?)
    }

    fn loss<'t>(&self, out: Var<'t, f32>, n: usize) -> Result<Var<'t, f32>> {
        Ok(match self.task {
            Task::Classification => cross_entropy(out, &self.labels)?,
            Task::Regression => half_mse(out, &Tensor::from_shared(self.ybuf.clone(), 0, [n, 1])?)?,
        })
    }

    /// Batch metric sum: correct predictions, or summed absolute error in the target's units.
    fn metric_sum(&self, out: &[f32], n: usize) -> f64 {
        match self.task {
            Task::Classification => {
                metrics::correct_count(out, self.spec.n_outputs(), &self.labels) as f64
            }
            Task::Regression => {
                out.iter()
                    .zip(&self.ybuf[..n])
                    .map(|(p, y)| f64::from((p - y).abs()))
                    .sum::<f64>()
                    * self.target_std()
            }
        }
    }

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
        self.loss_and_grad_at(data, rows, 0, grad, None)
    }

    /// [`loss_and_grad`](Self::loss_and_grad) for a slice of a global batch: `row_offset` is
    /// the position of `rows[0]` in the global batch (dropout masks follow the sample, not the
    /// rank that computes it), and `on_ready(k, grad)` is called as soon as parameter tensor
    /// `k`'s gradient is in place, while backward still runs (to overlap communication).
    pub fn loss_and_grad_at(
        &mut self,
        data: &Dataset,
        rows: &[usize],
        row_offset: usize,
        grad: &mut Vec<f32>,
        on_ready: Option<&mut GradReady<'_>>,
    ) -> Result<BatchLoss> {
        if rows.is_empty() {
            return Err(TrainError::Invalid("an empty batch has no gradient".into()));
        }
        let x = self.load_batch(data, rows, Some(self.progress.epochs_done + 1))?;
        let n = rows.len();
        let ctx = ForwardCtx::train(self.config.seed, self.progress.step).at_row(row_offset);
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
        row_offset: usize,
        on_ready: Option<&mut GradReady<'_>>,
    ) -> Result<BatchLoss> {
        let mut grads = std::mem::take(&mut self.grads);
        let r = self.loss_and_grad_at(data, rows, row_offset, &mut grads, on_ready);
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
    fn check_finite(
        &self,
        loss: f64,
        grads: &[f32],
        epoch: usize,
        batch: usize,
        norms: &mut [f64],
    ) -> Result<()> {
        let mut bad = Vec::new();
        for (i, (name, ranges)) in self.layers.iter().enumerate() {
            let ss: f64 = ranges
                .iter()
                .flat_map(|r| &grads[r.clone()])
                .map(|&g| f64::from(g) * f64::from(g))
                .sum();
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
    fn remember_best(&mut self, epoch: usize) {
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
    fn restore_best(&mut self) {
        if let Some(b) = self.best.take() {
            if b.epoch != self.progress.epochs_done
                && self.params.set_flat(&b.params).is_ok()
                && self.buffers.copy_from(&b.buffers).is_ok()
            {
                self.progress.best_epoch = Some(b.epoch);
            }
        }
    }

    /// Loss and metrics on `rows` of `data` at the current parameters, in evaluation mode
    /// (dropout off, batch norm on its running statistics), without recording gradients.
    pub fn evaluate(&mut self, data: &Dataset, rows: &[usize]) -> Result<EvalMetrics> {
        self.check_data(data)?;
        let (mut loss_sum, mut metric_sum, mut sq_sum) = (0.0, 0.0, 0.0);
        for chunk in rows.chunks(self.config.eval_batch_size) {
            let x = self.load_batch(data, chunk, None)?;
            let n = chunk.len();
            // Moved out for the closure; evaluation mode reads the buffers without changing them.
            let mut buffers = std::mem::take(&mut self.buffers);
            let r = self.tape.no_grad(|| -> Result<(f64, f64, f64)> {
                let params = self.params.constants(&self.tape);
                let out = self.model.forward(
                    self.tape.constant(x),
                    &params,
                    buffers.tensors_mut(),
                    &ForwardCtx::eval(),
                )?;
                let loss = f64::from(self.loss(out, n)?.item()?);
                let value = out.value();
                let sq = match self.task {
                    Task::Regression => {
                        value
                            .as_slice()
                            .iter()
                            .zip(&self.ybuf[..n])
                            .map(|(p, y)| f64::from(p - y).powi(2))
                            .sum::<f64>()
                            * self.target_std().powi(2)
                    }
                    Task::Classification => 0.0,
                };
                Ok((loss, self.metric_sum(value.as_slice(), n), sq))
            });
            self.buffers = buffers;
            self.tape.clear();
            let (loss, msum, sq) = r?;
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

    /// Model outputs (logits, or values for regression), `rows.len() × outputs`, for `rows` of
    /// `data`, converted batch by batch.
    pub fn predict_rows(&mut self, data: &Dataset, rows: &[usize]) -> Result<Vec<f32>> {
        let f = self.spec.n_inputs();
        self.check_inputs(data)?;
        if let Some(&r) = rows.iter().find(|&&r| r >= data.len()) {
            return Err(TrainError::Invalid(format!(
                "row {r} is out of range for {} rows",
                data.len()
            )));
        }
        let mut out = Vec::with_capacity(rows.len() * self.spec.n_outputs());
        let mut x = Vec::new();
        for chunk in rows.chunks(self.config.eval_batch_size) {
            x.resize(chunk.len() * f, 0.0);
            data.write_features(chunk, &mut x);
            out.extend(self.predict(&x)?);
        }
        Ok(out)
    }

    /// Model outputs (logits, or values for regression) for row-major `features`, `n × outputs`.
    pub fn predict(&mut self, features: &[f32]) -> Result<Vec<f32>> {
        let f = self.spec.n_inputs();
        if !features.len().is_multiple_of(f) {
            return Err(TrainError::Invalid(format!(
                "{} feature values are not a whole number of rows of {f}",
                features.len()
            )));
        }
        let mut out = Vec::with_capacity(features.len() / f * self.spec.n_outputs());
        for chunk in features.chunks(self.config.eval_batch_size * f) {
            let dims = self.spec.batch_dims(chunk.len() / f);
            let x = Tensor::from_vec(chunk.to_vec(), dims.as_slice())?;
            let y = self.tape.no_grad(|| -> Result<Tensor<f32>> {
                let params = self.params.constants(&self.tape);
                Ok(self
                    .model
                    .forward(
                        self.tape.constant(x),
                        &params,
                        self.buffers.tensors_mut(),
                        &ForwardCtx::eval(),
                    )?
                    .value())
            })?;
            self.tape.clear();
            match self.target_scale {
                Some(s) => out.extend(y.as_slice().iter().map(|&v| s.from_model(v))),
                None => out.extend_from_slice(y.as_slice()),
            }
        }
        Ok(out)
    }
}

/// Weight decay applies to weight matrices and kernels only: biases, normalisation weights and
/// every other one-dimensional parameter are excluded (names alone miss `down.1.weight`).
fn decay_mask(params: &ParamStore<f32>) -> Result<DecayMask> {
    let vectors: std::collections::HashSet<&str> = params
        .entries()
        .iter()
        .filter(|e| e.shape.len() <= 1)
        .map(|e| e.name.as_str())
        .collect();
    Ok(DecayMask::from_segments(
        &params.segments(),
        params.len(),
        |name| !vectors.contains(name),
    )?)
}

/// `[C, H, W]` written as `C×H×W (channels × height × width)`.
fn chw(s: [usize; 3]) -> String {
    format!("{}x{}x{} (channels x height x width)", s[0], s[1], s[2])
}
