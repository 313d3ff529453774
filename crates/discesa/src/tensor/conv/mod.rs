//! Convolution and pooling kernels on NCHW tensors: 2-D convolution with stride, padding,
//! dilation and groups (direct kernels for stride 1 in f32 and for the strided f32 forward,
//! im2col over the gemm kernel otherwise, a direct product for 1x1), its two adjoints (input and
//! weight gradients) as
//! kernels of their own, and max / average pooling with their adjoints. The autodiff tape
//! records these as ops (see `autodiff::conv`).

mod channels;
mod direct;
mod gemm_serial;
mod geometry;
mod im2col;
mod kernels;
mod lanes;
mod pool;
mod scratch;
mod shifted;
mod transpose;
mod wgrad;
mod wgrad_lanes;

pub use geometry::{Conv2dOptions, Pool2dOptions};
pub(crate) use geometry::{ConvGeom, PoolGeom};
use kernels::conv2d_forward_then;
pub(crate) use kernels::{conv2d_forward, conv2d_input_grad, conv2d_weight_grad, Epilogue};
pub(crate) use pool::{avg_pool2d_adjoint, avg_pool2d_forward, max_pool2d_forward};

use super::{Element, Shape, Tensor};
use crate::error::{shape_err, Result};

impl<T: Element> Tensor<T> {
    /// 2-D convolution (cross-correlation, as PyTorch's `conv2d`) of `self` `[N, C, H, W]` with
    /// `weight` `[O, C/groups, kh, kw]`, plus an optional `bias` `[O]`; gives `[N, O, OH, OW]`.
    ///
    /// ```
    /// use discesa::tensor::{Conv2dOptions, Tensor};
    /// let x = Tensor::<f32>::ones([1, 1, 3, 3]);
    /// let w = Tensor::<f32>::ones([1, 1, 3, 3]);
    /// let o = Conv2dOptions { padding: [1, 1], ..Default::default() };
    /// let y = x.conv2d(&w, None, &o).unwrap();
    /// assert_eq!(y.to_vec(), vec![4., 6., 4., 6., 9., 6., 4., 6., 4.]);
    /// ```
    pub fn conv2d(
        &self,
        weight: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        o: &Conv2dOptions,
    ) -> Result<Tensor<T>> {
        let g = ConvGeom::new("conv2d", self.shape(), weight.shape(), o)?;
        let y = conv2d_forward(self, weight, &g);
        match bias {
            None => Ok(y),
            Some(b) => {
                if b.dims() != [g.o] {
                    return Err(shape_err(
                        "conv2d",
                        format!(
                            "bias of shape {} does not fit {} output channels",
                            b.shape(),
                            g.o
                        ),
                    ));
                }
                y.add(&b.reshape([1, g.o, 1, 1])?)
            }
        }
    }

    /// [`conv2d`](Self::conv2d) without bias, then `then` applied to each image's output
    /// while it is in cache (for evaluation-only networks: bias, shortcut and ReLU in the same
    /// pass).
    pub(crate) fn conv2d_then(
        &self,
        weight: &Tensor<T>,
        o: &Conv2dOptions,
        then: &Epilogue<'_, T>,
    ) -> Result<Tensor<T>> {
        let g = ConvGeom::new("conv2d", self.shape(), weight.shape(), o)?;
        if !then.fits(&g) {
            return Err(shape_err(
                "conv2d",
                "bias or shortcut does not fit the output".to_string(),
            ));
        }
        Ok(conv2d_forward_then(self, weight, &g, Some(then)))
    }

    /// The adjoint of [`conv2d`](Self::conv2d) in its input (a transposed convolution): maps an
    /// output gradient `self` `[N, O, OH, OW]` to the input gradient of shape `input`.
    pub fn conv2d_input_grad(
        &self,
        weight: &Tensor<T>,
        input: &Shape,
        o: &Conv2dOptions,
    ) -> Result<Tensor<T>> {
        let g = ConvGeom::new("conv2d_input_grad", input, weight.shape(), o)?;
        g.check_output("conv2d_input_grad", self.shape())?;
        Ok(conv2d_input_grad(self, weight, &g))
    }

    /// The adjoint of [`conv2d`](Self::conv2d) in its weight: the gradient of shape `weight` from
    /// the input `self` and the output gradient `grad_out`.
    pub fn conv2d_weight_grad(
        &self,
        grad_out: &Tensor<T>,
        weight: &Shape,
        o: &Conv2dOptions,
    ) -> Result<Tensor<T>> {
        let g = ConvGeom::new("conv2d_weight_grad", self.shape(), weight, o)?;
        g.check_output("conv2d_weight_grad", grad_out.shape())?;
        Ok(conv2d_weight_grad(self, grad_out, &g))
    }

    /// Max pooling of `[N, C, H, W]` (padding counts as −∞); also returns, per output element,
    /// the position `y * W + x` of the chosen input inside its `H×W` plane.
    pub fn max_pool2d(&self, o: &Pool2dOptions) -> Result<(Tensor<T>, Vec<usize>)> {
        let g = PoolGeom::new("max_pool2d", self.shape(), o)?;
        Ok(max_pool2d_forward(self, &g))
    }

    /// Average pooling of `[N, C, H, W]`, padding counted as zeros in every window
    /// (PyTorch's `count_include_pad=True`).
    pub fn avg_pool2d(&self, o: &Pool2dOptions) -> Result<Tensor<T>> {
        let g = PoolGeom::new("avg_pool2d", self.shape(), o)?;
        Ok(avg_pool2d_forward(self, &g))
    }

    /// The adjoint of [`avg_pool2d`](Self::avg_pool2d): spreads an output gradient `self` back
    /// over the input of shape `input`.
    pub fn avg_pool2d_adjoint(&self, input: &Shape, o: &Pool2dOptions) -> Result<Tensor<T>> {
        let g = PoolGeom::new("avg_pool2d_adjoint", input, o)?;
        g.check_output("avg_pool2d_adjoint", self.shape())?;
        Ok(avg_pool2d_adjoint(self, &g))
    }
}

#[cfg(test)]
mod tests;
