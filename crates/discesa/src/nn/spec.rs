//! A serialisable description of a model, stored in checkpoints; [`ModelSpec::build`] is the
//! one place that turns it into a module.

use super::mlp::{Mlp, MlpConfig};
use super::module::Module;
use crate::error::Result;
use crate::tensor::Element;
use serde::{Deserialize, Deserializer, Serialize};

/// Which network to build, with its sizes. Saved in `state.json` as an object with a `kind`
/// key (`{"kind": "mlp", "inputs": 784, ...}`); a bare MLP configuration (the layout before
/// convolutional models existed) still reads as [`ModelSpec::Mlp`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelSpec {
    /// A multilayer perceptron.
    Mlp(MlpConfig),
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Tagged {
    Mlp(MlpConfig),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum AnySpec {
    Tagged(Tagged),
    Legacy(MlpConfig),
}

impl<'de> Deserialize<'de> for ModelSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(match AnySpec::deserialize(d)? {
            AnySpec::Tagged(Tagged::Mlp(c)) | AnySpec::Legacy(c) => ModelSpec::Mlp(c),
        })
    }
}

impl From<MlpConfig> for ModelSpec {
    fn from(c: MlpConfig) -> Self {
        ModelSpec::Mlp(c)
    }
}

impl ModelSpec {
    /// Builds the module (checking the sizes).
    pub fn build<T: Element>(&self) -> Result<Box<dyn Module<T>>> {
        Ok(match self {
            ModelSpec::Mlp(c) => Box::new(Mlp::<T>::new(c.clone())?),
        })
    }

    /// Input features per sample (`C·H·W` for images).
    pub fn n_inputs(&self) -> usize {
        match self {
            ModelSpec::Mlp(c) => c.inputs,
        }
    }

    /// `[C, H, W]` for a convolutional model, `None` for one on flat features.
    pub fn input_shape(&self) -> Option<[usize; 3]> {
        match self {
            ModelSpec::Mlp(_) => None,
        }
    }

    /// Outputs per sample (classes, or 1 for regression).
    pub fn n_outputs(&self) -> usize {
        match self {
            ModelSpec::Mlp(c) => c.outputs,
        }
    }

    /// The short name used on the command line (`mlp`, `resnet20`, `plain56`, `cnn`).
    pub fn name(&self) -> String {
        match self {
            ModelSpec::Mlp(_) => "mlp".into(),
        }
    }

    /// The dimensions of a batch of `n` samples as the model takes it.
    pub fn batch_dims(&self, n: usize) -> Vec<usize> {
        match self.input_shape() {
            Some([c, h, w]) => vec![n, c, h, w],
            None => vec![n, self.n_inputs()],
        }
    }

    /// The MLP configuration, if this is an MLP.
    pub fn as_mlp(&self) -> Option<&MlpConfig> {
        match self {
            ModelSpec::Mlp(c) => Some(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Activation;

    #[test]
    fn tagged_and_legacy_json_read_back() {
        let c = MlpConfig {
            inputs: 4,
            hidden: vec![3],
            outputs: 2,
            activation: Activation::Tanh,
            dropout: vec![],
        };
        let spec = ModelSpec::from(c.clone());
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["kind"], "mlp");
        assert_eq!(json["inputs"], 4);
        let back: ModelSpec = serde_json::from_value(json).unwrap();
        assert_eq!(back, spec);
        let legacy: ModelSpec = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(legacy, spec);
        assert_eq!(spec.batch_dims(5), vec![5, 4]);
        assert_eq!(spec.build::<f32>().unwrap().param_specs().len(), 4);
    }
}
