//! `--model mlp|cnn|resnet<D>|plain<D>` and `--width W`: which network `discesa train` builds
//! for the prepared data.

use crate::fail::Fail;
use discesa::nn::{Activation, CnnConfig, MlpConfig, ModelSpec, ResNetConfig};

/// The network family asked for on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelChoice {
    /// Today's multilayer perceptron (`--hidden`, `--activation`, `--dropout`).
    Mlp,
    /// The LeNet-style convolutional network.
    Cnn,
    /// ResNet (`shortcut`) or plain network of the given depth.
    ResNet {
        /// 6n + 2.
        depth: usize,
        /// With shortcuts.
        shortcut: bool,
    },
}

const VALID: &str =
    "mlp, cnn, resnet<D> or plain<D> with D = 6n+2 (8, 14, 20, 32, 44, 56, 110, ...)";

impl ModelChoice {
    /// Parses `mlp`, `cnn`, `resnet20`, `plain56`; a depth that is not 6n+2 lists valid ones.
    pub fn parse(s: &str) -> Result<Self, Fail> {
        let lower = s.trim().to_ascii_lowercase();
        let (shortcut, digits) = match lower.as_str() {
            "mlp" => return Ok(ModelChoice::Mlp),
            "cnn" => return Ok(ModelChoice::Cnn),
            l if l.starts_with("resnet") => (true, &l[6..]),
            l if l.starts_with("plain") => (false, &l[5..]),
            _ => return Err(Fail::input(format!("--model `{s}`: expected {VALID}"))),
        };
        let depth: usize = digits
            .parse()
            .map_err(|_| Fail::input(format!("--model `{s}`: expected {VALID}")))?;
        if depth < 8 || !(depth - 2).is_multiple_of(6) {
            return Err(Fail::input(format!(
                "--model `{s}`: depth {depth} is not of the form 6n+2; valid depths are 8, 14, \
                 20, 26, 32, 38, 44, 50, 56, ..., 110, ..."
            )));
        }
        Ok(ModelChoice::ResNet { depth, shortcut })
    }

    /// The command-line name (`resnet20`).
    pub fn name(&self) -> String {
        match *self {
            ModelChoice::Mlp => "mlp".into(),
            ModelChoice::Cnn => "cnn".into(),
            ModelChoice::ResNet { depth, shortcut } => {
                format!("{}{depth}", if shortcut { "resnet" } else { "plain" })
            }
        }
    }
}

/// What the model needs to know about the data.
pub struct DataShape {
    /// Features per row.
    pub features: usize,
    /// Outputs (classes, or 1).
    pub outputs: usize,
    /// `[C, H, W]` for image data.
    pub image: Option<[usize; 3]>,
}

/// The MLP part of the settings.
pub struct MlpSettings {
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Non-linearity.
    pub activation: Activation,
    /// Dropout rates.
    pub dropout: Vec<f64>,
}

/// The model description for `choice` on data of shape `d`.
pub fn model_spec(
    choice: ModelChoice,
    width: usize,
    mlp: &MlpSettings,
    d: &DataShape,
) -> Result<ModelSpec, Fail> {
    if width == 0 {
        return Err(Fail::input("--width must be at least 1"));
    }
    let image = |name: String| {
        d.image.ok_or_else(|| {
            Fail::input(format!(
                "--model {name} needs image data (an IDX directory, or x.npy of shape \
                 [N, C, H, W]); this data has {} flat features",
                d.features
            ))
        })
    };
    let spec = match choice {
        ModelChoice::Mlp => ModelSpec::Mlp(MlpConfig {
            inputs: d.features,
            hidden: mlp.hidden.clone(),
            outputs: d.outputs,
            activation: mlp.activation,
            dropout: mlp.dropout.clone(),
        }),
        ModelChoice::Cnn => ModelSpec::Cnn(CnnConfig {
            width,
            hidden: 128,
            input: image(choice.name())?,
            classes: d.outputs,
        }),
        ModelChoice::ResNet { depth, shortcut } => ModelSpec::ResNet(ResNetConfig {
            depth,
            width,
            shortcut,
            input: image(choice.name())?,
            classes: d.outputs,
        }),
    };
    spec.build::<f32>()
        .map_err(|e| Fail::input(format!("--model {}: {e}", choice.name())))?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_bad_depths() {
        assert_eq!(ModelChoice::parse("mlp").unwrap(), ModelChoice::Mlp);
        assert_eq!(
            ModelChoice::parse("ResNet56").unwrap(),
            ModelChoice::ResNet {
                depth: 56,
                shortcut: true
            }
        );
        assert_eq!(ModelChoice::parse("plain20").unwrap().name(), "plain20");
        let e = ModelChoice::parse("resnet21").unwrap_err().message;
        assert!(e.contains("depth 21") && e.contains("8, 14, 20"), "{e}");
        assert!(ModelChoice::parse("vgg16").is_err());
        assert!(ModelChoice::parse("resnet").is_err());
    }
}
