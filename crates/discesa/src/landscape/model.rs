//! What a landscape needs of a trained model: its parameter layout, the loss (and accuracy) at
//! any θ in evaluation mode, and Hessian-vector products of the loss.
//!
//! [`LossModel`] is the seam between the landscape code and the model zoo: any network that can
//! run an evaluation-mode forward from a flat θ implements it. [`ModuleModel`] does so for every
//! [`Module`] (the f32 copy evaluates, the f64 copy differentiates twice).

use super::error::{invalid, Result};
use super::hessian::WithHvp;
use super::plane::{GenericPlane, Plane};
use crate::autodiff::{Tape, Var};
use crate::data::Task;
use crate::nn::{
    cross_entropy, half_mse, metrics, BufferStore, ForwardCtx, ModelSpec, Module, ParamEntry,
};
use crate::tensor::{Element, Tensor};
use std::sync::Arc;

/// Targets of the evaluation samples.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleTargets {
    /// Class labels (classification).
    Classes(Vec<usize>),
    /// One value per sample (regression).
    Values(Vec<f32>),
}

/// The rows a landscape is evaluated on, after the run's preprocessing.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    /// Row-major inputs, `shape.iter().product()` values.
    pub inputs: Vec<f32>,
    /// `[n, features]`, or `[n, c, h, w]` for images.
    pub shape: Vec<usize>,
    /// Targets.
    pub targets: SampleTargets,
}

impl Samples {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.shape.first().copied().unwrap_or(0)
    }

    /// True without samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values per sample.
    pub fn features(&self) -> usize {
        self.shape[1..].iter().product()
    }

    /// The task the targets imply.
    pub fn task(&self) -> Task {
        match self.targets {
            SampleTargets::Classes(_) => Task::Classification,
            SampleTargets::Values(_) => Task::Regression,
        }
    }

    /// The inputs of rows `start..start + n` as a tensor of element type `T`.
    pub fn input_tensor<T: Element>(&self, start: usize, n: usize) -> Result<Tensor<T>> {
        let f = self.features();
        let mut shape = self.shape.clone();
        shape[0] = n;
        let data = self.inputs[start * f..(start + n) * f]
            .iter()
            .map(|&v| T::from_f64(f64::from(v)))
            .collect();
        Ok(Tensor::from_vec(data, shape.as_slice())?)
    }
}

/// Loss and accuracy at one point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointValue {
    /// Mean loss over the samples (the training loss function).
    pub loss: f64,
    /// Fraction classified correctly (classification; NaN for regression).
    pub accuracy: f64,
}

/// Sums over a batch, combined into means at the end.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sums {
    pub loss: f64,
    pub correct: f64,
    pub n: usize,
}

impl Sums {
    pub(crate) fn value(&self, task: Task) -> PointValue {
        let n = self.n.max(1) as f64;
        PointValue {
            loss: self.loss / n,
            accuracy: match task {
                Task::Classification => self.correct / n,
                Task::Regression => f64::NAN,
            },
        }
    }
}

/// Loss sum and correct count of `out` (`[n, outputs]`) against the targets of rows
/// `start..start + n`, accumulated in f64 (cross-entropy from a stable log-sum-exp).
pub(crate) fn score(out: &[f32], outputs: usize, s: &Samples, start: usize, sums: &mut Sums) {
    let n = out.len() / outputs.max(1);
    match &s.targets {
        SampleTargets::Classes(labels) => {
            let labels = &labels[start..start + n];
            for (row, &l) in out.chunks_exact(outputs).zip(labels) {
                let m = row
                    .iter()
                    .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
                let lse = m + row
                    .iter()
                    .map(|&v| (f64::from(v) - m).exp())
                    .sum::<f64>()
                    .ln();
                sums.loss += lse - f64::from(row[l]);
            }
            sums.correct += metrics::correct_count(out, outputs, labels) as f64;
        }
        SampleTargets::Values(v) => {
            for (p, y) in out.iter().zip(&v[start..start + n]) {
                sums.loss += 0.5 * (f64::from(*p) - f64::from(*y)).powi(2);
            }
        }
    }
    sums.n += n;
}

/// A trained model seen as a function of its flat parameters.
pub trait LossModel: Sync {
    /// Named tensors in flat layout order (PyTorch `state_dict` names).
    fn entries(&self) -> &[ParamEntry];

    /// Number of scalar parameters.
    fn len(&self) -> usize {
        self.entries()
            .iter()
            .map(|e| e.offset + e.numel())
            .max()
            .unwrap_or(0)
    }

    /// True for a model without parameters.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of outputs per sample.
    fn outputs(&self) -> usize;

    /// Checks that the samples fit the model (shape, task, label range).
    fn check_samples(&self, s: &Samples) -> Result<()>;

    /// Loss and accuracy at `theta` in evaluation mode.
    fn evaluate(&self, theta: &[f32], s: &Samples) -> Result<PointValue>;

    /// Runs `body` with a Hessian-vector product of the loss at `theta` (f64); the forward pass
    /// and the gradient graph are built once and reused by every product.
    fn with_hvp(&self, theta: &[f64], s: &Samples, body: &mut WithHvp<'_>) -> Result<()>;

    /// An evaluator of the plane `θ + a·dx + b·dy`; models may precompute what is linear in
    /// `(a, b)`.
    fn plane<'a>(
        &'a self,
        theta: &'a [f32],
        dx: &'a [f32],
        dy: &'a [f32],
        s: &'a Samples,
    ) -> Result<Box<dyn Plane + 'a>> {
        Ok(Box::new(GenericPlane::new(self, theta, dx, dy, s)))
    }
}

/// Rows per forward pass of the generic evaluator.
const EVAL_CHUNK: usize = 1024;

/// Any [`Module`], in f32 for evaluation and f64 for Hessian-vector products; buffers (batch-norm
/// running statistics) stay at their trained values, every pass runs in evaluation mode.
pub struct ModuleModel {
    f32: Box<dyn Module<f32>>,
    f64: Box<dyn Module<f64>>,
    buffers32: Vec<Tensor<f32>>,
    buffers64: Vec<Tensor<f64>>,
    entries: Vec<ParamEntry>,
    outputs: usize,
    input_shape: Vec<usize>,
    task: Task,
    mlp: Option<crate::nn::MlpConfig>,
    resnet: Option<crate::nn::ResNetConfig>,
}

impl ModuleModel {
    /// Wraps the two precisions of one architecture with its buffers; `input_shape` excludes
    /// the batch axis.
    pub fn new(
        f32: Box<dyn Module<f32>>,
        f64: Box<dyn Module<f64>>,
        buffers: &BufferStore<f32>,
        outputs: usize,
        input_shape: Vec<usize>,
        task: Task,
    ) -> Result<Self> {
        let buffers32 = buffers.tensors().to_vec();
        let buffers64 = buffers32.iter().map(|t| t.cast::<f64>()).collect();
        let mut entries = Vec::new();
        let mut offset = 0;
        for spec in f32.param_specs() {
            let n: usize = spec.shape.iter().product();
            entries.push(ParamEntry {
                name: spec.name,
                offset,
                shape: spec.shape,
            });
            offset += n;
        }
        Ok(ModuleModel {
            f32,
            f64,
            buffers32,
            buffers64,
            entries,
            outputs,
            input_shape,
            task,
            mlp: None,
            resnet: None,
        })
    }

    /// The model a checkpoint describes, with its buffers; MLPs get the plane evaluator that
    /// uses the linearity of the first layer, ResNets the one with batch norm folded.
    pub fn from_spec(spec: &ModelSpec, buffers: &BufferStore<f32>, task: Task) -> Result<Self> {
        let input_shape = spec.batch_dims(1)[1..].to_vec();
        let mut m = Self::new(
            spec.build::<f32>()?,
            spec.build::<f64>()?,
            buffers,
            spec.n_outputs(),
            input_shape,
            task,
        )?;
        m.mlp = spec.as_mlp().cloned();
        if let ModelSpec::ResNet(c) = spec {
            m.resnet = Some(c.clone());
        }
        Ok(m)
    }

    /// An MLP without buffers.
    pub fn mlp(config: crate::nn::MlpConfig, task: Task) -> Result<Self> {
        Self::from_spec(&ModelSpec::Mlp(config), &BufferStore::default(), task)
    }

    /// The f32 buffers by `state_dict` name.
    fn named_buffers(&self) -> std::collections::HashMap<String, Vec<f32>> {
        self.f32
            .buffer_specs()
            .into_iter()
            .zip(&self.buffers32)
            .map(|(spec, t)| (spec.name, t.to_vec()))
            .collect()
    }

    /// The evaluator that runs the module's own forward on the tape at every point (the
    /// reference the specialised planes are tested against).
    pub fn generic_plane<'a>(
        &'a self,
        theta: &'a [f32],
        dx: &'a [f32],
        dy: &'a [f32],
        s: &'a Samples,
    ) -> Box<dyn Plane + 'a> {
        Box::new(GenericPlane::new(self, theta, dx, dy, s))
    }

    fn views<T: Element>(&self, theta: &[T]) -> Vec<Tensor<T>> {
        let buf: Arc<[T]> = Arc::from(theta);
        self.entries
            .iter()
            .map(|e| {
                Tensor::from_shared(buf.clone(), e.offset, e.shape.as_slice())
                    .expect("entries lie inside θ")
            })
            .collect()
    }

    fn loss<'t, T: Element>(&self, out: Var<'t, T>, s: &Samples) -> Result<Var<'t, T>> {
        Ok(match &s.targets {
            SampleTargets::Classes(l) => cross_entropy(out, l)?,
            SampleTargets::Values(v) => {
                let t = v.iter().map(|&y| T::from_f64(f64::from(y))).collect();
                half_mse(out, &Tensor::from_vec(t, [v.len(), 1])?)?
            }
        })
    }
}

impl LossModel for ModuleModel {
    fn entries(&self) -> &[ParamEntry] {
        &self.entries
    }

    fn outputs(&self) -> usize {
        self.outputs
    }

    fn check_samples(&self, s: &Samples) -> Result<()> {
        if s.shape[1..] != self.input_shape[..] {
            return invalid(format!(
                "the data has samples of shape {:?} but the model expects {:?}",
                &s.shape[1..],
                self.input_shape
            ));
        }
        if s.task() != self.task {
            return invalid(format!(
                "the data is a {} task but the model was trained for {}",
                s.task(),
                self.task
            ));
        }
        if let SampleTargets::Classes(l) = &s.targets {
            if let Some(&bad) = l.iter().find(|&&l| l >= self.outputs) {
                return invalid(format!(
                    "label {bad} is out of range for a model with {} outputs",
                    self.outputs
                ));
            }
        }
        if s.is_empty() {
            return invalid("no samples to evaluate");
        }
        Ok(())
    }

    fn evaluate(&self, theta: &[f32], s: &Samples) -> Result<PointValue> {
        let params = self.views(theta);
        let mut sums = Sums::default();
        let mut tape = Tape::<f32>::new();
        let mut start = 0;
        while start < s.len() {
            let n = EVAL_CHUNK.min(s.len() - start);
            let x = s.input_tensor::<f32>(start, n)?;
            let out = tape.no_grad(|| -> Result<Tensor<f32>> {
                let p: Vec<Var<'_, f32>> =
                    params.iter().map(|t| tape.constant(t.clone())).collect();
                let mut buffers = self.buffers32.clone();
                Ok(self
                    .f32
                    .forward(tape.constant(x), &p, &mut buffers, &ForwardCtx::eval())?
                    .value())
            })?;
            tape.clear();
            score(out.as_slice(), self.outputs, s, start, &mut sums);
            start += n;
        }
        Ok(sums.value(self.task))
    }

    fn with_hvp(&self, theta: &[f64], s: &Samples, body: &mut WithHvp<'_>) -> Result<()> {
        let tape = Tape::<f64>::new();
        let leaves: Vec<Var<'_, f64>> =
            self.views(theta).into_iter().map(|t| tape.var(t)).collect();
        let x = tape.constant(s.input_tensor::<f64>(0, s.len())?);
        let mut buffers = self.buffers64.clone();
        let out = self
            .f64
            .forward(x, &leaves, &mut buffers, &ForwardCtx::eval())?;
        let loss = self.loss(out, s)?;
        let grads = tape.grad_graph(&[loss], &leaves, None)?;
        let entries = &self.entries;
        let mut hvp = |v: &[f64]| -> Result<Vec<f64>> {
            let mut dot: Option<Var<'_, f64>> = None;
            for (g, e) in grads.iter().zip(entries) {
                let ve = Tensor::from_vec(
                    v[e.offset..e.offset + e.numel()].to_vec(),
                    e.shape.as_slice(),
                )?;
                let term = g.mul_const(&ve)?.sum_all();
                dot = Some(match dot {
                    Some(d) => d + term,
                    None => term,
                });
            }
            let mut hv = vec![0.0; v.len()];
            if let Some(d) = dot {
                let parts = tape.grad(&[d], &leaves, None)?;
                for (p, e) in parts.iter().zip(entries) {
                    hv[e.offset..e.offset + e.numel()].copy_from_slice(p.as_slice());
                }
            }
            Ok(hv)
        };
        body(&mut hvp)
    }

    fn plane<'a>(
        &'a self,
        theta: &'a [f32],
        dx: &'a [f32],
        dy: &'a [f32],
        s: &'a Samples,
    ) -> Result<Box<dyn Plane + 'a>> {
        if let Some(cfg) = &self.mlp {
            return Ok(Box::new(super::plane::MlpPlane::new(
                cfg,
                &self.entries,
                theta,
                dx,
                dy,
                s,
            )?));
        }
        if let Some(cfg) = &self.resnet {
            return Ok(Box::new(super::resnet_plane::ResNetPlane::new(
                cfg,
                &self.entries,
                self.named_buffers(),
                theta,
                dx,
                dy,
                s,
            )?));
        }
        Ok(self.generic_plane(theta, dx, dy, s))
    }
}
