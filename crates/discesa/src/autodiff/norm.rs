//! Batch normalisation over `[N, C, H, W]` (statistics over N, H, W) or `[N, C]` (over N),
//! composed of primitive ops so that it differentiates to any order.

use super::Var;
use crate::error::{shape_err, Result};
use crate::tensor::{Element, Shape, Tensor};

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
        let (axes, bshape, c, count) = layout(OP, &self.shape())?;
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
        let mean = self.mean(axes, true)?;
        let xc = self.try_sub(mean)?;
        let var = xc.try_mul(xc)?.mean(axes, true)?;
        let scale = var
            .add_scalar(eps)
            .powf(T::from_f64(-0.5))
            .try_mul(weight.reshape(bshape)?)?;
        let y = xc.try_mul(scale)?.try_add(bias.reshape(bshape)?)?;
        let stats = BatchStats {
            mean: mean.value().reshape([c])?,
            var_biased: var.value().reshape([c])?,
            count,
        };
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
        let (_, bshape, c, _) = layout(OP, &self.shape())?;
        check_channels(OP, "weight", &weight.shape(), c)?;
        check_channels(OP, "bias", &bias.shape(), c)?;
        check_channels(OP, "running mean", mean.shape(), c)?;
        check_channels(OP, "running variance", var.shape(), c)?;
        let inv_std = var.map(|v| T::one() / (v + eps).sqrt()).reshape(bshape)?;
        let scale = weight.reshape(bshape)?.mul_const(&inv_std)?;
        let shift = bias
            .reshape(bshape)?
            .try_sub(scale.mul_const(&mean.reshape(bshape)?)?)?;
        self.try_mul(scale)?.try_add(shift)
    }
}
