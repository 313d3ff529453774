//! Exponential decay: multiply the learning rate by `gamma` every step.

use super::LrSchedule;
use crate::optim::{validate, OptimError};
use serde::{Deserialize, Serialize};

/// `lr = base · gamma^step` (PyTorch's `ExponentialLR`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Exponential {
    /// Decay factor per step (positive).
    pub gamma: f64,
}

impl Exponential {
    /// Creates the schedule after checking `gamma > 0`.
    pub fn new(gamma: f64) -> Result<Self, OptimError> {
        let s = Self { gamma };
        s.validate()?;
        Ok(s)
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), OptimError> {
        validate::positive("gamma", self.gamma)?;
        Ok(())
    }
}

impl LrSchedule for Exponential {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        base_lr * self.gamma.powf(step as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decays_geometrically() {
        let s = Exponential::new(0.9).unwrap();
        assert_eq!(s.lr_at(2.0, 0), 2.0);
        assert!((s.lr_at(2.0, 3) - 2.0 * 0.729).abs() < 1e-15);
        assert!(Exponential::new(-0.9).is_err());
    }
}
