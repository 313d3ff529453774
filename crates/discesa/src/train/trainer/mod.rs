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

mod batch;
mod eval;
mod fit;
mod step;

use super::history::EpochRecord;
use super::{Result, TargetScale, TrainConfig, TrainError};
use crate::autodiff::Tape;
use crate::data::Task;
use crate::nn::{init_buffers, BufferStore, ModelSpec, Module, ParamStore};
use crate::optim::{build, DecayMask, Optimizer, OptimizerState};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::Arc;

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

/// Where a rank's rows sit in a global batch (see [`Trainer::loss_and_grad_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchShare {
    /// Position of the first row in the global batch.
    pub offset: usize,
    /// Rows of the global batch.
    pub global_rows: usize,
}

impl BatchShare {
    /// A whole batch of `rows` rows (one process).
    pub fn whole(rows: usize) -> BatchShare {
        BatchShare {
            offset: 0,
            global_rows: rows,
        }
    }
}

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
