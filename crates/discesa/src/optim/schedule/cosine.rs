//! Cosine annealing from the base learning rate down to `eta_min`.

use super::LrSchedule;
use crate::optim::{validate, OptimError};
use serde::{Deserialize, Serialize};

/// `lr = eta_min + (base − eta_min)·(1 + cos(π·t/t_max))/2` with `t = min(step, t_max)`
/// (PyTorch's `CosineAnnealingLR` closed form, held at `eta_min` after `t_max` instead of
/// rising again).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cosine {
    /// Steps to go from the base rate to `eta_min` (at least 1).
    pub t_max: u64,
    /// Final learning rate (absolute, not a factor).
    pub eta_min: f64,
}

impl Cosine {
    /// Creates the schedule after checking `t_max >= 1` and `eta_min >= 0`.
    pub fn new(t_max: u64, eta_min: f64) -> Result<Self, OptimError> {
        let s = Self { t_max, eta_min };
        s.validate()?;
        Ok(s)
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), OptimError> {
        validate::positive("t_max", self.t_max as f64)?;
        validate::non_negative("eta_min", self.eta_min)?;
        Ok(())
    }
}

impl LrSchedule for Cosine {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        let t_max = self.t_max.max(1);
        let t = step.min(t_max) as f64;
        let cos = (std::f64::consts::PI * t / t_max as f64).cos();
        self.eta_min + (base_lr - self.eta_min) * (1.0 + cos) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anneals_to_eta_min_and_stays() {
        let s = Cosine::new(100, 0.01).unwrap();
        assert_eq!(s.lr_at(1.0, 0), 1.0);
        assert!((s.lr_at(1.0, 50) - (0.01 + 0.99 * 0.5)).abs() < 1e-12);
        let q = 0.01 + 0.99 * (1.0 + (std::f64::consts::PI / 4.0).cos()) / 2.0;
        assert!((s.lr_at(1.0, 25) - q).abs() < 1e-12);
        assert!((s.lr_at(1.0, 100) - 0.01).abs() < 1e-15);
        assert_eq!(s.lr_at(1.0, 250), s.lr_at(1.0, 100));
        assert!(Cosine::new(0, 0.0).is_err());
        assert!(Cosine::new(10, -1.0).is_err());
    }
}
