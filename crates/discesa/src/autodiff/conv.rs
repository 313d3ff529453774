//! Convolution, pooling and flattening on the tape. The convolution and its two adjoints are
//! three ops that differentiate into each other; max pooling is a gather with the argmax
//! indices (its adjoint, a scatter with the same fixed indices, is linear); average pooling and
//! its adjoint are a pair of linear ops.

use super::op::{Inputs, Op};
use super::Var;
use crate::error::{shape_err, Error, Result};
use crate::tensor::conv_kernels as ck;
use crate::tensor::{Conv2dOptions, ConvGeom, Element, Pool2dOptions, PoolGeom, Shape, Tensor};

impl<'t, T: Element> Var<'t, T> {
    /// 2-D convolution of `self` `[N, C, H, W]` with `weight` `[O, C/groups, kh, kw]` and an
    /// optional `bias` `[O]` (PyTorch's `conv2d`); differentiable to any order.
    pub fn conv2d(
        self,
        weight: Var<'t, T>,
        bias: Option<Var<'t, T>>,
        o: &Conv2dOptions,
    ) -> Result<Var<'t, T>> {
        self.same_tape_as("conv2d", &weight)?;
        let g = ConvGeom::new("conv2d", &self.shape(), &weight.shape(), o)?;
        let y = self.record_conv(weight, Op::Conv2d(g));
        match bias {
            None => Ok(y),
            Some(b) => {
                self.same_tape_as("conv2d", &b)?;
                if b.shape().dims() != [g.o] {
                    return Err(shape_err(
                        "conv2d",
                        format!(
                            "bias of shape {} does not fit {} output channels",
                            b.shape(),
                            g.o
                        ),
                    ));
                }
                y.try_add(b.reshape([1, g.o, 1, 1])?)
            }
        }
    }

    /// The adjoint of [`conv2d`](Self::conv2d) in its input (a transposed convolution): maps an
    /// output gradient `self` to a gradient of an input of shape `input`. Differentiable again.
    pub fn conv2d_input_grad(
        self,
        weight: Var<'t, T>,
        input: impl Into<Shape>,
        o: &Conv2dOptions,
    ) -> Result<Var<'t, T>> {
        self.same_tape_as("conv2d_input_grad", &weight)?;
        let g = ConvGeom::new("conv2d_input_grad", &input.into(), &weight.shape(), o)?;
        g.check_output("conv2d_input_grad", &self.shape())?;
        Ok(self.record_conv(weight, Op::Conv2dInputGrad(g)))
    }

    /// The adjoint of [`conv2d`](Self::conv2d) in its weight: the gradient of a weight of shape
    /// `weight` from the input `self` and the output gradient `grad_out`. Differentiable again.
    pub fn conv2d_weight_grad(
        self,
        grad_out: Var<'t, T>,
        weight: impl Into<Shape>,
        o: &Conv2dOptions,
    ) -> Result<Var<'t, T>> {
        self.same_tape_as("conv2d_weight_grad", &grad_out)?;
        let g = ConvGeom::new("conv2d_weight_grad", &self.shape(), &weight.into(), o)?;
        g.check_output("conv2d_weight_grad", &grad_out.shape())?;
        Ok(self.record_conv(grad_out, Op::Conv2dWeightGrad(g)))
    }

    /// Max pooling of `[N, C, H, W]`; the gradient goes to the (first) maximal entry of each
    /// window.
    pub fn max_pool2d(self, o: &Pool2dOptions) -> Result<Var<'t, T>> {
        let g = PoolGeom::new("max_pool2d", &self.shape(), o)?;
        let (y, idx) = ck::max_pool2d_forward(&self.value(), &g);
        let planes = g.n * g.c;
        let flat = self.reshape([planes, g.h * g.w])?;
        let y = y.reshape([planes, g.oh * g.ow])?;
        let picked = self.tape.push(
            y,
            Op::Gather {
                axis: 1,
                idx: idx.into(),
            },
            Inputs::One(flat.id),
        );
        picked.reshape(g.y_shape())
    }

    /// Average pooling of `[N, C, H, W]`, padding counted as zeros (PyTorch's default
    /// `count_include_pad=True`).
    pub fn avg_pool2d(self, o: &Pool2dOptions) -> Result<Var<'t, T>> {
        let g = PoolGeom::new("avg_pool2d", &self.shape(), o)?;
        Ok(self.record_pool(Op::AvgPool2d(g)))
    }

    /// The mean of each `H×W` plane: `[N, C, H, W]` → `[N, C]`.
    pub fn global_avg_pool2d(self) -> Result<Var<'t, T>> {
        if self.shape().ndim() != 4 {
            return Err(shape_err(
                "global_avg_pool2d",
                format!(
                    "the input must be 4-D [N, C, H, W], got shape {}",
                    self.shape()
                ),
            ));
        }
        self.mean(&[2, 3], false)
    }

    /// `[N, ...]` → `[N, product of the rest]`.
    pub fn flatten(self) -> Result<Var<'t, T>> {
        let s = self.shape();
        if s.ndim() < 2 {
            return Err(shape_err(
                "flatten",
                format!("needs a batch axis and at least one more, got shape {s}"),
            ));
        }
        let n = s.dim(0);
        self.reshape([n, s.dims()[1..].iter().product()])
    }

    pub(crate) fn same_tape_as(&self, op: &'static str, other: &Var<'t, T>) -> Result<()> {
        if std::ptr::eq(self.tape, other.tape) {
            Ok(())
        } else {
            Err(Error::Autodiff {
                op,
                detail: "the variables live on different tapes".into(),
            })
        }
    }

    /// Computes and records one of the three convolution ops on `(self, other)`; the geometry
    /// was checked when the forward convolution was built.
    pub(crate) fn record_conv(self, other: Var<'t, T>, op: Op<T>) -> Var<'t, T> {
        let v = {
            let nodes = self.tape.nodes();
            let (a, b) = (
                &nodes[self.id as usize].value,
                &nodes[other.id as usize].value,
            );
            match &op {
                Op::Conv2d(g) => ck::conv2d_forward(a, b, g),
                Op::Conv2dInputGrad(g) => ck::conv2d_input_grad(a, b, g),
                Op::Conv2dWeightGrad(g) => ck::conv2d_weight_grad(a, b, g),
                _ => unreachable!("record_conv is only called with convolution ops"),
            }
        };
        self.tape.push(v, op, Inputs::Two(self.id, other.id))
    }

    /// Computes and records average pooling or its adjoint.
    pub(crate) fn record_pool(self, op: Op<T>) -> Var<'t, T> {
        let v: Tensor<T> = {
            let nodes = self.tape.nodes();
            let a = &nodes[self.id as usize].value;
            match &op {
                Op::AvgPool2d(g) => ck::avg_pool2d_forward(a, g),
                Op::AvgPool2dAdjoint(g) => ck::avg_pool2d_adjoint(a, g),
                _ => unreachable!("record_pool is only called with pooling ops"),
            }
        };
        self.tape.push(v, op, Inputs::One(self.id))
    }
}
