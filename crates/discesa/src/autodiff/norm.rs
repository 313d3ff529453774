//! Batch normalisation over `[N, C, H, W]` (statistics over N, H, W) or `[N, C]` (over N).
//! Training mode is one recorded op computed by fused kernels; its backward rule, when it is
//! itself recorded, is composed of primitive ops, so batch norm differentiates to any order.

use super::op::{Inputs, Op};
use super::Var;
use crate::error::{shape_err, Result};
use crate::tensor::{
    channel_affine, channel_stats, BatchNormSaved, ChannelView, Element, Shape, Tensor,
};
use std::sync::Arc;

/// The per-channel statistics of one training-mode batch norm (values, not recorded): what the
/// batch-norm module folds into its running statistics.
#[derive(Clone, Debug)]
pub struct BatchStats<T: Element> {
    /// Batch mean per channel, `[C]`.
    pub mean: Tensor<T>,
    /// Biased batch variance per channel (divided by `count`), `[C]`.
    pub var_biased: Tensor<T>,
    /// Values per channel: `N·H·W` (or `N`).
    pub count: usize,
}

/// The reduced axes, the broadcast shape of per-channel values and the count per channel.
fn layout(op: &'static str, x: &Shape) -> Result<(&'static [isize], Shape, usize, usize)> {
    match *x.dims() {
        [n, c] => Ok((&[0], Shape::from([1, c]), c, n)),
        [n, c, h, w] => Ok((&[0, 2, 3], Shape::from([1, c, 1, 1]), c, n * h * w)),
        _ => Err(shape_err(
            op,
            format!("the input must be [N, C, H, W] or [N, C], got shape {x}"),
        )),
    }
}

fn check_channels(op: &'static str, what: &str, s: &Shape, c: usize) -> Result<()> {
    if s.dims() != [c] {
        return Err(shape_err(
            op,
            format!("{what} of shape {s} does not fit {c} channels (expected [{c}])"),
        ));
    }
    Ok(())
}

impl<'t, T: Element> Var<'t, T> {
    /// Training-mode batch norm: normalises with the batch mean and the biased batch variance,
    /// then scales by `weight` and shifts by `bias` (both `[C]`). Returns the output and the
    /// batch statistics.
    pub fn batch_norm_train(
        self,
        weight: Var<'t, T>,
        bias: Var<'t, T>,
        eps: T,
    ) -> Result<(Var<'t, T>, BatchStats<T>)> {
        const OP: &str = "batch_norm_train";
        let (_, _, c, count) = layout(OP, &self.shape())?;
        check_channels(OP, "weight", &weight.shape(), c)?;
        check_channels(OP, "bias", &bias.shape(), c)?;
        if count < 2 {
            return Err(shape_err(
                OP,
                format!(
                    "needs more than one value per channel in training, input {}",
                    self.shape()
                ),
            ));
        }
        self.same_tape_as(OP, &weight)?;
        self.same_tape_as(OP, &bias)?;
        let v = ChannelView::of(self.shape().dims()).expect("rank checked by layout");
        let x = self.value();
        let (mean, var) = channel_stats(x.as_slice(), &v);
        let inv_std: Vec<T> = var.iter().map(|&s| T::one() / (s + eps).sqrt()).collect();
        let (w, b) = (weight.value(), bias.value());
        let scale: Vec<T> = w
            .as_slice()
            .iter()
            .zip(&inv_std)
            .map(|(&g, &i)| g * i)
            .collect();
        let shift: Vec<T> = (0..c)
            .map(|ch| b.as_slice()[ch] - mean[ch] * scale[ch])
            .collect();
        let y = channel_affine(&x, &v, &scale, &shift);
        let stats = BatchStats {
            mean: Tensor::from_vec(mean.clone(), [c])?,
            var_biased: Tensor::from_vec(var, [c])?,
            count,
        };
        let saved = BatchNormSaved { mean, inv_std, eps };
        let y = self.tape.push(
            y,
            Op::BatchNormTrain(Arc::new(saved)),
            Inputs::Many(Arc::from([self.id, weight.id, bias.id])),
        );
        Ok((y, stats))
    }

    /// Evaluation-mode batch norm with fixed statistics `mean` and `var` (constants, `[C]`):
    /// `(x − mean) / √(var + eps) · weight + bias`.
    pub fn batch_norm_eval(
        self,
        weight: Var<'t, T>,
        bias: Var<'t, T>,
        mean: &Tensor<T>,
        var: &Tensor<T>,
        eps: T,
    ) -> Result<Var<'t, T>> {
        const OP: &str = "batch_norm_eval";
        let (_, _, c, _) = layout(OP, &self.shape())?;
        check_channels(OP, "weight", &weight.shape(), c)?;
        check_channels(OP, "bias", &bias.shape(), c)?;
        check_channels(OP, "running mean", mean.shape(), c)?;
        check_channels(OP, "running variance", var.shape(), c)?;
        let inv_std = var.map(|v| T::one() / (v + eps).sqrt());
        let scale = weight.mul_const(&inv_std)?;
        let shift = bias.try_sub(scale.mul_const(mean)?)?;
        self.channel_affine(scale, shift)
    }

    /// `self · scale[c] + shift[c]` per channel of `[N, C]` or `[N, C, H, W]` (`scale` and
    /// `shift` `[C]`), one recorded op computed in one pass.
    pub fn channel_affine(self, scale: Var<'t, T>, shift: Var<'t, T>) -> Result<Var<'t, T>> {
        const OP: &str = "channel_affine";
        let (_, _, c, _) = layout(OP, &self.shape())?;
        check_channels(OP, "scale", &scale.shape(), c)?;
        check_channels(OP, "shift", &shift.shape(), c)?;
        self.same_tape_as(OP, &scale)?;
        self.same_tape_as(OP, &shift)?;
        let v = ChannelView::of(self.shape().dims()).expect("rank checked by layout");
        let y = channel_affine(
            &self.value(),
            &v,
            scale.value().as_slice(),
            shift.value().as_slice(),
        );
        Ok(self.tape.push(
            y,
            Op::ChannelAffine,
            Inputs::Many(Arc::from([self.id, scale.id, shift.id])),
        ))
    }
}

/// `[∂x, ∂weight, ∂bias]` of `batch_norm_train(x, weight, ·, eps)` from the output gradient `g`,
/// recorded with primitive ops (the statistics recomputed from `x`), so that the gradient can be
/// differentiated again: `∂β = Σg`, `∂γ = Σ g·x̂`, `∂x = γσ⁻¹ (g − mean(g) − x̂·mean(g·x̂))`.
pub(crate) fn composed_grads<'t, T: Element>(
    g: Var<'t, T>,
    x: Var<'t, T>,
    weight: Var<'t, T>,
    eps: T,
) -> Result<[Var<'t, T>; 3]> {
    let (axes, bshape, _, _) = layout("batch_norm_train", &x.shape())?;
    let xc = x.try_sub(x.mean(axes, true)?)?;
    let inv_std = xc
        .try_mul(xc)?
        .mean(axes, true)?
        .add_scalar(eps)
        .powf(T::from_f64(-0.5));
    let xhat = xc.try_mul(inv_std)?;
    let g_xhat = g.try_mul(xhat)?;
    let gx = g
        .try_sub(g.mean(axes, true)?)?
        .try_sub(xhat.try_mul(g_xhat.mean(axes, true)?)?)?
        .try_mul(inv_std.try_mul(weight.reshape(bshape)?)?)?;
    Ok([gx, g_xhat.sum(axes, false)?, g.sum(axes, false)?])
}

/// `[∂x, ∂scale, ∂shift]` of `channel_affine(x, scale, ·)` from `g`, recorded with primitive ops.
pub(crate) fn composed_affine_grads<'t, T: Element>(
    g: Var<'t, T>,
    x: Var<'t, T>,
    scale: Var<'t, T>,
) -> Result<[Var<'t, T>; 3]> {
    let (axes, bshape, _, _) = layout("channel_affine", &x.shape())?;
    Ok([
        g.try_mul(scale.reshape(bshape)?)?,
        g.try_mul(x)?.sum(axes, false)?,
        g.sum(axes, false)?,
    ])
}
