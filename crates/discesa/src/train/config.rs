//! Training hyper-parameters, serialisable so a checkpoint records how it was produced.

use super::{Augment, Result, TrainError};
use crate::optim::{OptimOptions, OptimizerKind, Schedule};
use serde::{Deserialize, Serialize};

/// How to train: the optimiser, its schedule, batching, stopping and logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Passes over the training rows.
    pub epochs: usize,
    /// Rows per optimisation step.
    pub batch_size: usize,
    /// Rows per evaluation forward pass (no gradients, so it can be large).
    pub eval_batch_size: usize,
    /// Seed of initialisation, shuffling (a function of seed and epoch) and dropout (of seed
    /// and step).
    pub seed: u64,
    /// Optimiser name (`sgd`, `momentum`, `nesterov`, `rmsprop`, `adam`, `adamw`).
    pub optimizer: OptimizerKind,
    /// Base learning rate.
    pub lr: f64,
    /// Extra optimiser options (weight decay, momentum, betas...).
    pub optim_options: OptimOptions,
    /// Learning-rate schedule over epochs (`cosine:20`, `step:10:0.5`...).
    pub schedule: Schedule,
    /// Rescale the whole gradient to at most this L2 norm.
    pub clip_grad_norm: Option<f64>,
    /// Stop when the validation loss has not improved for this many epochs.
    pub patience: Option<usize>,
    /// Training-image augmentation (random crop, flip); off by default.
    #[serde(default)]
    pub augment: Augment,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 20,
            batch_size: 64,
            eval_batch_size: 2048,
            seed: 1,
            optimizer: OptimizerKind::Adam,
            lr: 1e-3,
            optim_options: OptimOptions::default(),
            schedule: Schedule::default(),
            clip_grad_norm: None,
            patience: None,
            augment: Augment::default(),
        }
    }
}

impl TrainConfig {
    /// Checks every value, naming the bad one.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(TrainError::Invalid(m));
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!(
                "learning rate {} must be a positive finite number",
                self.lr
            ));
        }
        if self.batch_size == 0 || self.eval_batch_size == 0 {
            return bad("batch size must be at least 1".into());
        }
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        if let Some(c) = self.clip_grad_norm {
            if !(c.is_finite() && c > 0.0) {
                return bad(format!(
                    "gradient clipping norm {c} must be positive and finite"
                ));
            }
        }
        if self.patience == Some(0) {
            return bad("patience must be at least 1 epoch".into());
        }
        self.schedule.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_values_and_round_trips() {
        let ok = TrainConfig::default();
        assert!(ok.validate().is_ok());
        for lr in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let c = TrainConfig { lr, ..ok.clone() };
            assert!(c
                .validate()
                .unwrap_err()
                .to_string()
                .contains("learning rate"));
        }
        assert!(TrainConfig {
            batch_size: 0,
            ..ok.clone()
        }
        .validate()
        .is_err());
        assert!(TrainConfig {
            patience: Some(0),
            ..ok.clone()
        }
        .validate()
        .is_err());
        let json = serde_json::to_string(&ok).unwrap();
        let back: TrainConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ok);
    }
}
