//! 2-D convolution layer on NCHW batches, with PyTorch's weight layout `[out, in/groups, kh, kw]`.

use super::init::Init;
use super::module::{expect_params, ForwardCtx, Module};
use super::params::ParamSpec;
use crate::autodiff::Var;
use crate::error::{shape_err, Result};
use crate::tensor::{Conv2dOptions, Element, Tensor};

/// A convolution layer (`nn.Conv2d`).
#[derive(Debug, Clone, PartialEq)]
pub struct Conv2d {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride, padding, dilation and groups.
    pub options: Conv2dOptions,
    /// Whether the layer has a bias (not before batch norm, which would cancel it).
    pub bias: bool,
}

impl Conv2d {
    /// A square `k×k` convolution with the given stride and padding, without bias.
    pub fn square(cin: usize, cout: usize, k: usize, stride: usize, padding: usize) -> Self {
        Conv2d {
            in_channels: cin,
            out_channels: cout,
            kernel: [k, k],
            options: Conv2dOptions {
                stride: [stride, stride],
                padding: [padding, padding],
                ..Conv2dOptions::default()
            },
            bias: false,
        }
    }

    /// The same layer with a bias.
    pub fn with_bias(mut self) -> Self {
        self.bias = true;
        self
    }

    fn fan_in(&self) -> usize {
        self.in_channels / self.options.groups.max(1) * self.kernel[0] * self.kernel[1]
    }
}

impl<T: Element> Module<T> for Conv2d {
    fn describe(&self) -> String {
        format!(
            "Conv2d({} → {}, {}×{}, stride {})",
            self.in_channels,
            self.out_channels,
            self.kernel[0],
            self.kernel[1],
            self.options.stride[0]
        )
    }

    fn param_specs(&self) -> Vec<ParamSpec> {
        // PyTorch's default: uniform with bound 1/√fan_in for weight and bias.
        let bound = 1.0 / (self.fan_in().max(1) as f64).sqrt();
        let mut specs = vec![ParamSpec {
            name: "weight".into(),
            shape: vec![
                self.out_channels,
                self.in_channels / self.options.groups.max(1),
                self.kernel[0],
                self.kernel[1],
            ],
            init: Init::Uniform { bound },
        }];
        if self.bias {
            specs.push(ParamSpec {
                name: "bias".into(),
                shape: vec![self.out_channels],
                init: Init::Uniform { bound },
            });
        }
        specs
    }

    fn num_param_tensors(&self) -> usize {
        1 + usize::from(self.bias)
    }

    fn forward<'t>(
        &self,
        x: Var<'t, T>,
        params: &[Var<'t, T>],
        _buffers: &mut [Tensor<T>],
        _ctx: &ForwardCtx,
    ) -> Result<Var<'t, T>> {
        let name = <Self as Module<T>>::describe(self);
        expect_params(&name, params, 1 + usize::from(self.bias))?;
        let s = x.shape();
        if s.ndim() != 4 || s.dim(1) != self.in_channels {
            return Err(shape_err(
                "Conv2d",
                format!(
                    "{name} expects input of shape [batch, {}, height, width], got {s}",
                    self.in_channels
                ),
            ));
        }
        x.conv2d(params[0], params.get(1).copied(), &self.options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::{gradcheck, CheckOptions, Tape};
    use crate::nn::init_params;

    #[test]
    fn layout_shapes_and_gradcheck() {
        let c = Conv2d::square(2, 3, 3, 2, 1).with_bias();
        let specs = <Conv2d as Module<f64>>::param_specs(&c);
        assert_eq!(specs[0].shape, vec![3, 2, 3, 3]);
        assert_eq!(specs[1].shape, vec![3]);
        let p = init_params::<f64>(&c, 1).unwrap();
        let tape = Tape::new();
        let x = tape.constant(Tensor::rand_normal([2, 2, 5, 5], 0.0, 1.0, 2));
        let y = c
            .forward(x, &p.leaves(&tape), &mut [], &ForwardCtx::eval())
            .unwrap();
        assert_eq!(y.shape().dims(), &[2, 3, 3, 3]);
        let bad = tape.constant(Tensor::zeros([2, 1, 5, 5]));
        let err = c.forward(bad, &p.leaves(&tape), &mut [], &ForwardCtx::eval());
        assert!(err.unwrap_err().to_string().contains("[batch, 2,"));
        let mut inputs = vec![Tensor::rand_normal([1, 2, 4, 4], 0.0, 1.0, 3)];
        inputs.extend(p.views());
        let r = gradcheck(
            |v| c.forward(v[0], &v[1..], &mut [], &ForwardCtx::eval()),
            &inputs,
            CheckOptions::default(),
        )
        .unwrap();
        assert!(r.passed, "{r}");
    }
}
