//! Evaluating the plane `θ + a·dx + b·dy`: a generic evaluator for any model and one for MLPs
//! that uses the linearity of the first layer in `(a, b)`.
//!
//! The first layer's pre-activations at `θ + a·dx + b·dy` are `X·W₀ᵀ + a·X·Dx₀ᵀ + b·X·Dy₀ᵀ`
//! (biases alike): three products computed once, after which every grid point costs a weighted
//! sum instead of the widest product of the network.

use super::error::Result;
use super::model::{score, LossModel, PointValue, Samples, Sums};
use crate::nn::{Activation, MlpConfig, ParamEntry};
use crate::tensor::gemm_into;

/// Loss and accuracy at the coefficients `(a, b)` of a plane.
pub trait Plane: Sync {
    /// The value at `θ + a·dx + b·dy`.
    fn eval(&self, a: f64, b: f64) -> Result<PointValue>;
}

/// `θ + a·dx + b·dy` in f32.
fn combine(theta: &[f32], dx: &[f32], dy: &[f32], a: f64, b: f64) -> Vec<f32> {
    let (a, b) = (a as f32, b as f32);
    theta
        .iter()
        .zip(dx)
        .zip(dy)
        .map(|((&w, &u), &v)| w + a * u + b * v)
        .collect()
}

/// Any model: θ is combined and the model's own evaluation runs.
pub struct GenericPlane<'a, M: LossModel + ?Sized> {
    model: &'a M,
    theta: &'a [f32],
    dx: &'a [f32],
    dy: &'a [f32],
    samples: &'a Samples,
}

impl<'a, M: LossModel + ?Sized> GenericPlane<'a, M> {
    /// The plane of `model` through `theta`.
    pub fn new(
        model: &'a M,
        theta: &'a [f32],
        dx: &'a [f32],
        dy: &'a [f32],
        samples: &'a Samples,
    ) -> Self {
        GenericPlane {
            model,
            theta,
            dx,
            dy,
            samples,
        }
    }
}

impl<M: LossModel + ?Sized> Plane for GenericPlane<'_, M> {
    fn eval(&self, a: f64, b: f64) -> Result<PointValue> {
        let p = combine(self.theta, self.dx, self.dy, a, b);
        self.model.evaluate(&p, self.samples)
    }
}

/// `x·wᵀ + bias` for `x` of `n × k` and `w` of `m × k`, into `out` (`n × m`).
fn linear(out: &mut [f32], x: &[f32], w: &[f32], bias: &[f32], n: usize, k: usize, m: usize) {
    gemm_into(n, m, k, out, x, false, w, true, false);
    for row in out.chunks_exact_mut(m) {
        row.iter_mut().zip(bias).for_each(|(o, &c)| *o += c);
    }
}

fn activate(g: Activation, v: &mut [f32]) {
    match g {
        Activation::Relu => v.iter_mut().for_each(|x| *x = x.max(0.0)),
        Activation::Identity => {}
        g => v
            .iter_mut()
            .for_each(|x| *x = g.value(f64::from(*x)) as f32),
    }
}

/// An MLP's plane with the first layer's three products precomputed.
pub struct MlpPlane<'a> {
    activation: Activation,
    /// `(in, out)` of every linear layer.
    dims: Vec<(usize, usize)>,
    /// `(weight, bias)` entries of every linear layer.
    layers: Vec<(&'a ParamEntry, &'a ParamEntry)>,
    theta: &'a [f32],
    dx: &'a [f32],
    dy: &'a [f32],
    samples: &'a Samples,
    z: [Vec<f32>; 3],
}

impl<'a> MlpPlane<'a> {
    /// Precomputes the first layer at `theta`, along `dx` and along `dy`.
    pub fn new(
        cfg: &MlpConfig,
        entries: &'a [ParamEntry],
        theta: &'a [f32],
        dx: &'a [f32],
        dy: &'a [f32],
        samples: &'a Samples,
    ) -> Result<Self> {
        let layers: Vec<_> = entries.chunks_exact(2).map(|p| (&p[0], &p[1])).collect();
        let dims: Vec<(usize, usize)> = layers
            .iter()
            .map(|(w, _)| (w.shape[1], w.shape[0]))
            .collect();
        let n = samples.len();
        let (w0, b0) = layers[0];
        let (k, m) = dims[0];
        let slice = |v: &'a [f32], e: &ParamEntry| &v[e.offset..e.offset + e.numel()];
        let z = [theta, dx, dy].map(|v| {
            let mut out = vec![0.0f32; n * m];
            linear(
                &mut out,
                &samples.inputs,
                slice(v, w0),
                slice(v, b0),
                n,
                k,
                m,
            );
            out
        });
        Ok(MlpPlane {
            activation: cfg.activation,
            dims,
            layers,
            theta,
            dx,
            dy,
            samples,
            z,
        })
    }
}

impl Plane for MlpPlane<'_> {
    fn eval(&self, a: f64, b: f64) -> Result<PointValue> {
        let n = self.samples.len();
        let (af, bf) = (a as f32, b as f32);
        let [z0, zx, zy] = &self.z;
        let mut h: Vec<f32> = z0
            .iter()
            .zip(zx)
            .zip(zy)
            .map(|((&p, &u), &v)| p + af * u + bf * v)
            .collect();
        let last = self.layers.len() - 1;
        if last > 0 {
            activate(self.activation, &mut h);
        }
        for l in 1..=last {
            let (we, be) = self.layers[l];
            let (k, m) = self.dims[l];
            let pick = |e: &ParamEntry| e.offset..e.offset + e.numel();
            let w = combine(
                &self.theta[pick(we)],
                &self.dx[pick(we)],
                &self.dy[pick(we)],
                a,
                b,
            );
            let bias = combine(
                &self.theta[pick(be)],
                &self.dx[pick(be)],
                &self.dy[pick(be)],
                a,
                b,
            );
            let mut out = vec![0.0f32; n * m];
            linear(&mut out, &h, &w, &bias, n, k, m);
            if l < last {
                activate(self.activation, &mut out);
            }
            h = out;
        }
        let mut sums = Sums::default();
        let outputs = self.dims[last].1;
        score(&h, outputs, self.samples, 0, &mut sums);
        Ok(sums.value(self.samples.task()))
    }
}
