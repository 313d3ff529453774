//! Step decay: multiply the learning rate by `gamma` every `step_size` steps.

use super::LrSchedule;
use crate::optim::{validate, OptimError};
use serde::{Deserialize, Serialize};

/// `lr = base · gamma^⌊step / step_size⌋` (PyTorch's `StepLR`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepDecay {
    /// Steps between two decays (at least 1).
    pub step_size: u64,
    /// Decay factor applied at each boundary (positive).
    pub gamma: f64,
}

impl StepDecay {
    /// Creates the schedule after checking `step_size >= 1` and `gamma > 0`.
    pub fn new(step_size: u64, gamma: f64) -> Result<Self, OptimError> {
        let s = Self { step_size, gamma };
        s.validate()?;
        Ok(s)
    }

    /// Checks the parameters (also useful after deserialising).
    pub fn validate(&self) -> Result<(), OptimError> {
        validate::positive("step_size", self.step_size as f64)?;
        validate::positive("gamma", self.gamma)?;
        Ok(())
    }
}

impl LrSchedule for StepDecay {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        let k = step / self.step_size.max(1);
        base_lr * self.gamma.powf(k as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decays_at_boundaries() {
        let s = StepDecay::new(10, 0.5).unwrap();
        assert_eq!(s.lr_at(1.0, 0), 1.0);
        assert_eq!(s.lr_at(1.0, 9), 1.0);
        assert_eq!(s.lr_at(1.0, 10), 0.5);
        assert_eq!(s.lr_at(1.0, 29), 0.25);
        assert_eq!(s.lr_at(0.2, 30), 0.2 * 0.125);
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(StepDecay::new(0, 0.5).is_err());
        assert!(StepDecay::new(10, 0.0).is_err());
        let zero = StepDecay {
            step_size: 0,
            gamma: 0.5,
        };
        assert_eq!(zero.lr_at(1.0, 3), 0.125);
    }
}
