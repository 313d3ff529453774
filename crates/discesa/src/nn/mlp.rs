//! The multilayer perceptron builder: `Linear → g → Dropout` per hidden layer, then a linear
//! output layer; its configuration is plain data, saved in checkpoints to rebuild the model.

use super::module::{layout_of, ForwardCtx, Module};
use super::{Activation, Dropout, Linear, Sequential};
use crate::autodiff::Var;
use crate::error::{invalid, Result};
use crate::tensor::{Element, Tensor};
use serde::{Deserialize, Serialize};

/// Shape and regularisation of an MLP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Input features.
    pub inputs: usize,
    /// Width of each hidden layer.
    pub hidden: Vec<usize>,
    /// Output width (classes, or 1 for regression).
    pub outputs: usize,
    /// Hidden non-linearity.
    pub activation: Activation,
    /// Dropout rate after each hidden layer: empty (none), one rate for all, or one per layer.
    #[serde(default)]
    pub dropout: Vec<f64>,
}

impl MlpConfig {
    /// Checks sizes and rates, naming what is wrong.
    pub fn validate(&self) -> Result<()> {
        let bad = |d: String| Err(invalid("MlpConfig", d));
        if self.inputs == 0 || self.outputs == 0 {
            return bad(format!(
                "inputs ({}) and outputs ({}) must be positive",
                self.inputs, self.outputs
            ));
        }
        if let Some(i) = self.hidden.iter().position(|&h| h == 0) {
            return bad(format!("hidden layer {} has width 0", i + 1));
        }
        if self.dropout.len() > 1 && self.dropout.len() != self.hidden.len() {
            return bad(format!(
                "{} dropout rates given for {} hidden layers (give one rate, or one per layer)",
                self.dropout.len(),
                self.hidden.len()
            ));
        }
        for &p in &self.dropout {
            Dropout::new(p)?;
        }
        Ok(())
    }

    /// The dropout rate after hidden layer `i`.
    pub fn dropout_at(&self, i: usize) -> f64 {
        match self.dropout.len() {
            0 => 0.0,
            1 => self.dropout[0],
            _ => self.dropout[i],
        }
    }
}

/// A multilayer perceptron built from an [`MlpConfig`]; parameters are named like PyTorch's
/// `nn.Sequential` inside a `layers` attribute (`layers.0.weight`, `layers.3.bias`, ...).
pub struct Mlp<T: Element> {
    config: MlpConfig,
    net: Sequential<T>,
}

impl<T: Element> Mlp<T> {
    /// Builds the network; He initialisation for ReLU-like activations, Xavier otherwise.
    pub fn new(config: MlpConfig) -> Result<Self> {
        config.validate()?;
        let linear = |i, o| {
            if config.activation.prefers_he_init() {
                Linear::new(i, o)
            } else {
                Linear::xavier(i, o)
            }
        };
        let mut net = Sequential::new("layers");
        let mut width = config.inputs;
        for (i, &h) in config.hidden.iter().enumerate() {
            net = net.push(linear(width, h)).push(config.activation);
            let p = config.dropout_at(i);
            if p > 0.0 {
                net = net.push(Dropout::new(p)?);
            }
            width = h;
        }
        net = net.push(linear(width, config.outputs));
        Ok(Mlp { config, net })
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }
}

impl<T: Element> Module<T> for Mlp<T> {
    fn describe(&self) -> String {
        let mut sizes = vec![self.config.inputs];
        sizes.extend(&self.config.hidden);
        sizes.push(self.config.outputs);
        let sizes: Vec<String> = sizes.iter().map(usize::to_string).collect();
        format!(
            "MLP {} ({})",
            sizes.join("-"),
            self.config.activation.name()
        )
    }

    layout_of!(net);

    fn forward<'t>(
        &self,
        x: Var<'t, T>,
        params: &[Var<'t, T>],
        buffers: &mut [Tensor<T>],
        ctx: &ForwardCtx,
    ) -> Result<Var<'t, T>> {
        self.net.forward(x, params, buffers, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::{gradcheck, CheckOptions};
    use crate::nn::init_params;
    use crate::tensor::Tensor;

    fn config() -> MlpConfig {
        MlpConfig {
            inputs: 4,
            hidden: vec![5, 3],
            outputs: 2,
            activation: Activation::Relu,
            dropout: vec![0.4, 0.3],
        }
    }

    #[test]
    fn layout_counts_dropout_modules_like_pytorch() {
        let m = Mlp::<f32>::new(config()).unwrap();
        let p = init_params(&m, 1).unwrap();
        let names: Vec<&str> = p.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "layers.0.weight",
                "layers.0.bias",
                "layers.3.weight",
                "layers.3.bias",
                "layers.6.weight",
                "layers.6.bias"
            ]
        );
        assert_eq!(p.entries()[2].shape, vec![3, 5]);
        assert_eq!(p.len(), 4 * 5 + 5 + 5 * 3 + 3 + 3 * 2 + 2);
        assert_eq!(m.describe(), "MLP 4-5-3-2 (relu)");
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let mut c = config();
        c.dropout = vec![0.1, 0.2, 0.3];
        assert!(Mlp::<f32>::new(c)
            .err()
            .unwrap()
            .to_string()
            .contains("3 dropout rates"));
        let mut c = config();
        c.hidden = vec![5, 0];
        assert!(Mlp::<f32>::new(c).is_err());
        let mut c = config();
        c.dropout = vec![1.5];
        assert!(Mlp::<f32>::new(c).is_err());
    }

    #[test]
    fn gradcheck_whole_mlp_in_eval_mode() {
        let mut c = config();
        c.activation = Activation::Tanh;
        let m = Mlp::<f64>::new(c).unwrap();
        let p = init_params(&m, 3).unwrap();
        let mut inputs = vec![Tensor::rand_normal([3, 4], 0.0, 1.0, 4)];
        inputs.extend(p.views());
        let r = gradcheck(
            |v| m.forward(v[0], &v[1..], &mut [], &ForwardCtx::eval()),
            &inputs,
            CheckOptions::default(),
        )
        .unwrap();
        assert!(r.passed, "{r}");
    }
}
