//! A serialisable description of a model, stored in checkpoints; [`ModelSpec::build`] is the
//! one place that turns it into a module.

use super::mlp::{Mlp, MlpConfig};
use super::module::Module;
use super::resnet::{cnn, CnnConfig, ResNet, ResNetConfig};
use crate::error::Result;
use crate::tensor::Element;
use serde::{Deserialize, Deserializer, Serialize};

/// Which network to build, with its sizes. Saved in `state.json` as an object with a `kind`
/// key (`{"kind": "mlp", "inputs": 784, ...}`, `{"kind": "resnet", "depth": 20, ...}`); a bare
/// MLP configuration (the layout before convolutional models existed) still reads as
/// [`ModelSpec::Mlp`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ModelSpec {
    /// A multilayer perceptron.
    Mlp(MlpConfig),
    /// A CIFAR-style ResNet, or the plain network without shortcuts.
    ResNet(ResNetConfig),
    /// The small LeNet-style convolutional network.
    Cnn(CnnConfig),
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Tagged {
    Mlp(MlpConfig),
    ResNet(ResNetConfig),
    Cnn(CnnConfig),
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
            AnySpec::Tagged(Tagged::ResNet(c)) => ModelSpec::ResNet(c),
            AnySpec::Tagged(Tagged::Cnn(c)) => ModelSpec::Cnn(c),
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
            ModelSpec::ResNet(c) => Box::new(ResNet::<T>::new(c.clone())?),
            ModelSpec::Cnn(c) => Box::new(cnn::<T>(c)?),
        })
    }

    /// Input features per sample (`C·H·W` for images).
    pub fn n_inputs(&self) -> usize {
        match self {
            ModelSpec::Mlp(c) => c.inputs,
            _ => self.input_shape().map_or(0, |s| s.iter().product()),
        }
    }

    /// `[C, H, W]` for a convolutional model, `None` for one on flat features.
    pub fn input_shape(&self) -> Option<[usize; 3]> {
        match self {
            ModelSpec::Mlp(_) => None,
            ModelSpec::ResNet(c) => Some(c.input),
            ModelSpec::Cnn(c) => Some(c.input),
        }
    }

    /// Outputs per sample (classes, or 1 for regression).
    pub fn n_outputs(&self) -> usize {
        match self {
            ModelSpec::Mlp(c) => c.outputs,
            ModelSpec::ResNet(c) => c.classes,
            ModelSpec::Cnn(c) => c.classes,
        }
    }

    /// The short name used on the command line (`mlp`, `resnet20`, `plain56`, `cnn`).
    pub fn name(&self) -> String {
        match self {
            ModelSpec::Mlp(_) => "mlp".into(),
            ModelSpec::ResNet(c) => c.name(),
            ModelSpec::Cnn(_) => "cnn".into(),
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
            _ => None,
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
        let r = ModelSpec::ResNet(ResNetConfig {
            depth: 20,
            width: 16,
            shortcut: false,
            input: [1, 28, 28],
            classes: 10,
        });
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["kind"], "resnet");
        assert_eq!(serde_json::from_value::<ModelSpec>(json).unwrap(), r);
        assert_eq!(r.name(), "plain20");
        assert_eq!(r.n_inputs(), 784);
        assert_eq!(r.batch_dims(2), vec![2, 1, 28, 28]);
    }
}
