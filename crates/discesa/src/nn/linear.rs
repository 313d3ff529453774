//! Fully connected layer `y = x Wᵀ + b` with a PyTorch-layout weight `[out, in]`.

use super::init::Init;
use super::module::{expect_params, ForwardCtx, Module};
use super::params::ParamSpec;
use crate::autodiff::Var;
use crate::error::{shape_err, Result};
use crate::tensor::{Element, Tensor};

/// A linear (affine) layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    /// Input features.
    pub inputs: usize,
    /// Output features.
    pub outputs: usize,
    /// Weight initialiser (bias starts at zero).
    pub init: Init,
}

impl Linear {
    /// A layer with He-normal weights (suits ReLU networks).
    pub fn new(inputs: usize, outputs: usize) -> Self {
        Linear {
            inputs,
            outputs,
            init: Init::HeNormal { fan_in: inputs },
        }
    }

    /// The same layer initialised as PyTorch's `nn.Linear` draws its weight: uniform in
    /// ±1/√inputs.
    pub fn uniform(inputs: usize, outputs: usize) -> Self {
        Linear {
            inputs,
            outputs,
            init: Init::Uniform {
                bound: 1.0 / (inputs as f64).sqrt(),
            },
        }
    }

    /// The same layer with Xavier-uniform weights (suits tanh and sigmoid networks).
    pub fn xavier(inputs: usize, outputs: usize) -> Self {
        Linear {
            inputs,
            outputs,
            init: Init::XavierUniform {
                fan_in: inputs,
                fan_out: outputs,
            },
        }
    }
}

impl<T: Element> Module<T> for Linear {
    fn describe(&self) -> String {
        format!("Linear({} → {})", self.inputs, self.outputs)
    }

    fn param_specs(&self) -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "weight".into(),
                shape: vec![self.outputs, self.inputs],
                init: self.init,
            },
            ParamSpec {
                name: "bias".into(),
                shape: vec![self.outputs],
                init: Init::Zeros,
            },
        ]
    }

    fn num_param_tensors(&self) -> usize {
        2
    }

    fn forward<'t>(
        &self,
        x: Var<'t, T>,
        params: &[Var<'t, T>],
        _buffers: &mut [Tensor<T>],
        _ctx: &ForwardCtx,
    ) -> Result<Var<'t, T>> {
        let name = <Self as Module<T>>::describe(self);
        expect_params(&name, params, 2)?;
        let shape = x.shape();
        if shape.ndim() != 2 || shape.dim(1) != self.inputs {
            return Err(shape_err(
                "Linear",
                format!(
                    "{name} expects input of shape [batch, {}], got {shape}",
                    self.inputs
                ),
            ));
        }
        x.matmul_t(params[0], false, true)?.try_add(params[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::{gradcheck, CheckOptions, Tape};
    use crate::nn::init_params;
    use crate::tensor::Tensor;

    #[test]
    fn computes_x_w_transpose_plus_b() {
        let tape = Tape::<f64>::new();
        let x = tape.constant(Tensor::from_vec(vec![1.0, 2.0], [1, 2]).unwrap());
        let w = tape.var(Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0], [3, 2]).unwrap());
        let b = tape.var(Tensor::from_vec(vec![0.5, 0.5, 0.5], [3]).unwrap());
        let y = Linear::new(2, 3)
            .forward(x, &[w, b], &mut [], &ForwardCtx::eval())
            .unwrap();
        assert_eq!(y.value().to_vec(), vec![1.5, 2.5, 3.5]);
        let bad = tape.constant(Tensor::zeros([1, 3]));
        let err = Linear::new(2, 3).forward(bad, &[w, b], &mut [], &ForwardCtx::eval());
        assert!(err.unwrap_err().to_string().contains("[batch, 2]"));
    }

    #[test]
    fn gradcheck_input_weight_bias() {
        let layer = Linear::new(3, 2);
        let p = init_params::<f64>(&layer, 1).unwrap();
        let mut inputs = vec![Tensor::rand_normal([4, 3], 0.0, 1.0, 2)];
        inputs.extend(p.views());
        let r = gradcheck(
            |v| layer.forward(v[0], &v[1..], &mut [], &ForwardCtx::eval()),
            &inputs,
            CheckOptions::default(),
        )
        .unwrap();
        assert!(r.passed, "{r}");
    }
}
