//! Builds optimizers by name, for the command line and for resuming from a snapshot.

use super::{
    Adam, AdamConfig, HyperParams, OptimError, OptimFloat, Optimizer, OptimizerKind,
    OptimizerState, RmsProp, RmsPropConfig, Sgd, SgdConfig,
};
use serde::{Deserialize, Serialize};

/// Optional hyper-parameters; unset ones take each optimizer's PyTorch default.
///
/// Setting an option the chosen optimizer does not use is an error rather than being
/// silently ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct OptimOptions {
    /// Weight decay (L2, or decoupled for AdamW). Default 0, or 0.01 for AdamW.
    pub weight_decay: Option<f64>,
    /// Momentum factor for `momentum`, `nesterov` (default 0.9) and `rmsprop` (default 0).
    pub momentum: Option<f64>,
    /// Dampening for `momentum` (default 0).
    pub dampening: Option<f64>,
    /// Smoothing constant for `rmsprop` (default 0.99).
    pub alpha: Option<f64>,
    /// First-moment decay for `adam`/`adamw` (default 0.9).
    pub beta1: Option<f64>,
    /// Second-moment decay for `adam`/`adamw` (default 0.999).
    pub beta2: Option<f64>,
    /// Numerical-stability term for `rmsprop`, `adam`, `adamw` (default 1e-8).
    pub eps: Option<f64>,
}

impl OptimOptions {
    fn given(&self) -> [(&'static str, Option<f64>); 7] {
        [
            ("weight_decay", self.weight_decay),
            ("momentum", self.momentum),
            ("dampening", self.dampening),
            ("alpha", self.alpha),
            ("beta1", self.beta1),
            ("beta2", self.beta2),
            ("eps", self.eps),
        ]
    }

    fn accept_only(&self, kind: OptimizerKind, accepted: &[&str]) -> Result<(), OptimError> {
        for (option, value) in self.given() {
            if value.is_some() && !accepted.contains(&option) {
                return Err(OptimError::OptionNotApplicable {
                    option,
                    optimizer: kind.name(),
                    accepted: accepted.join(", "),
                });
            }
        }
        Ok(())
    }
}

/// Builds the optimizer `kind` with learning rate `lr`, validating every hyper-parameter.
pub fn build<T: OptimFloat>(
    kind: OptimizerKind,
    lr: f64,
    options: &OptimOptions,
) -> Result<Box<dyn Optimizer<T>>, OptimError> {
    let o = options;
    let wd = o.weight_decay.unwrap_or(0.0);
    Ok(match kind {
        OptimizerKind::Sgd => {
            o.accept_only(kind, &["weight_decay"])?;
            Box::new(Sgd::new(SgdConfig::plain(lr).with_weight_decay(wd))?)
        }
        OptimizerKind::Momentum | OptimizerKind::Nesterov => {
            let momentum = o.momentum.unwrap_or(0.9);
            super::validate::unit_open("momentum", momentum)?;
            let cfg = if kind == OptimizerKind::Nesterov {
                o.accept_only(kind, &["weight_decay", "momentum"])?;
                SgdConfig::nesterov(lr, momentum)
            } else {
                o.accept_only(kind, &["weight_decay", "momentum", "dampening"])?;
                SgdConfig {
                    dampening: o.dampening.unwrap_or(0.0),
                    ..SgdConfig::momentum(lr, momentum)
                }
            };
            Box::new(Sgd::new(cfg.with_weight_decay(wd))?)
        }
        OptimizerKind::RmsProp => {
            o.accept_only(kind, &["weight_decay", "momentum", "alpha", "eps"])?;
            let d = RmsPropConfig::new(lr);
            Box::new(RmsProp::new(RmsPropConfig {
                alpha: o.alpha.unwrap_or(d.alpha),
                eps: o.eps.unwrap_or(d.eps),
                momentum: o.momentum.unwrap_or(d.momentum),
                weight_decay: wd,
                ..d
            })?)
        }
        OptimizerKind::Adam | OptimizerKind::AdamW => {
            o.accept_only(kind, &["weight_decay", "beta1", "beta2", "eps"])?;
            let d = if kind == OptimizerKind::AdamW {
                AdamConfig::adamw(lr)
            } else {
                AdamConfig::adam(lr)
            };
            Box::new(Adam::new(AdamConfig {
                beta1: o.beta1.unwrap_or(d.beta1),
                beta2: o.beta2.unwrap_or(d.beta2),
                eps: o.eps.unwrap_or(d.eps),
                weight_decay: o.weight_decay.unwrap_or(d.weight_decay),
                ..d
            })?)
        }
    })
}

/// Like [`build`], with the optimizer given by name (`sgd`, `momentum`, `nesterov`,
/// `rmsprop`, `adam`, `adamw`); unknown names fail with the list of valid ones.
pub fn build_named<T: OptimFloat>(
    name: &str,
    lr: f64,
    options: &OptimOptions,
) -> Result<Box<dyn Optimizer<T>>, OptimError> {
    build(name.parse()?, lr, options)
}

/// Recreates an optimizer from a snapshot, ready to continue where it stopped.
pub fn from_state<T: OptimFloat>(
    state: &OptimizerState,
) -> Result<Box<dyn Optimizer<T>>, OptimError> {
    let mut opt: Box<dyn Optimizer<T>> = match state.hyper {
        HyperParams::Sgd(cfg) => Box::new(Sgd::new(cfg)?),
        HyperParams::RmsProp(cfg) => Box::new(RmsProp::new(cfg)?),
        HyperParams::Adam(cfg) => Box::new(Adam::new(cfg)?),
    };
    opt.load_state(state)?;
    Ok(opt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_builds_with_defaults_and_reports_its_name() {
        for kind in OptimizerKind::ALL {
            let opt = build::<f32>(kind, 0.1, &OptimOptions::default()).unwrap();
            assert_eq!(opt.kind(), kind);
            assert_eq!(opt.name(), kind.name());
            assert_eq!(opt.learning_rate(), 0.1);
        }
    }

    #[test]
    fn unknown_name_lists_valid_names() {
        let err = build_named::<f64>("adagrad", 0.1, &OptimOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("`adagrad`"), "{err}");
        assert!(
            err.contains("sgd, momentum, nesterov, rmsprop, adam, adamw"),
            "{err}"
        );
    }

    #[test]
    fn inapplicable_option_is_rejected() {
        let opts = OptimOptions {
            beta1: Some(0.5),
            ..Default::default()
        };
        let err = build::<f32>(OptimizerKind::Sgd, 0.1, &opts).err().unwrap();
        assert_eq!(
            err.to_string(),
            "option `beta1` does not apply to optimizer sgd; it accepts: weight_decay"
        );
    }

    #[test]
    fn invalid_hyper_parameters_are_rejected_with_the_value() {
        let cases: Vec<(OptimizerKind, f64, OptimOptions, &str)> = vec![
            (
                OptimizerKind::Sgd,
                -0.1,
                OptimOptions::default(),
                "learning rate must be a positive finite number, got -0.1",
            ),
            (
                OptimizerKind::Adam,
                f64::NAN,
                OptimOptions::default(),
                "learning rate must be a positive finite number, got NaN",
            ),
            (
                OptimizerKind::Adam,
                0.1,
                OptimOptions {
                    beta1: Some(1.0),
                    ..Default::default()
                },
                "beta1 must be in [0, 1), got 1",
            ),
            (
                OptimizerKind::AdamW,
                0.1,
                OptimOptions {
                    beta2: Some(-0.1),
                    ..Default::default()
                },
                "beta2 must be in [0, 1), got -0.1",
            ),
            (
                OptimizerKind::Adam,
                0.1,
                OptimOptions {
                    eps: Some(0.0),
                    ..Default::default()
                },
                "eps must be a positive finite number, got 0",
            ),
            (
                OptimizerKind::RmsProp,
                0.1,
                OptimOptions {
                    alpha: Some(1.5),
                    ..Default::default()
                },
                "alpha must be in [0, 1), got 1.5",
            ),
            (
                OptimizerKind::Momentum,
                0.1,
                OptimOptions {
                    momentum: Some(0.0),
                    ..Default::default()
                },
                "momentum must be in (0, 1), got 0",
            ),
            (
                OptimizerKind::Sgd,
                0.1,
                OptimOptions {
                    weight_decay: Some(-1.0),
                    ..Default::default()
                },
                "weight decay must be a finite number >= 0, got -1",
            ),
        ];
        for (kind, lr, opts, expected) in cases {
            let err = build::<f64>(kind, lr, &opts).err().unwrap().to_string();
            assert_eq!(err, expected);
        }
    }

    #[test]
    fn nesterov_with_dampening_is_rejected() {
        let cfg = SgdConfig {
            dampening: 0.1,
            ..SgdConfig::nesterov(0.1, 0.9)
        };
        let err = Sgd::<f32>::new(cfg).err().unwrap().to_string();
        assert!(
            err.contains("dampening must be 0 for Nesterov momentum"),
            "{err}"
        );
    }

    #[test]
    fn set_learning_rate_validates() {
        let mut opt = build::<f32>(OptimizerKind::Adam, 0.1, &OptimOptions::default()).unwrap();
        assert!(opt.set_learning_rate(0.0).is_err());
        assert_eq!(opt.learning_rate(), 0.1);
        opt.set_learning_rate(0.05).unwrap();
        assert_eq!(opt.learning_rate(), 0.05);
    }
}
