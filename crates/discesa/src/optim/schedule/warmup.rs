//! Linear warm-up that hands over to another schedule.

use super::{LrSchedule, Schedule};
use crate::optim::{validate, OptimError};
use serde::{Deserialize, Serialize};

/// Start factor used when none is given, matching PyTorch's `LinearLR`.
pub const DEFAULT_START_FACTOR: f64 = 1.0 / 3.0;

/// For `step < steps`, `lr = base · (start + (1 − start)·step/steps)`; afterwards the
/// `then` schedule runs with its step count starting again from 0 (as PyTorch's
/// `SequentialLR` does), so it begins from the base rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warmup {
    /// Length of the warm-up (at least 1).
    pub steps: u64,
    /// Factor of the base rate at step 0, in [0, 1].
    pub start_factor: f64,
    /// Schedule that follows the warm-up.
    pub then: Box<Schedule>,
}

impl Warmup {
    /// Creates the schedule after checking its parameters and those of `then`.
    pub fn new(steps: u64, start_factor: f64, then: Schedule) -> Result<Self, OptimError> {
        let s = Self {
            steps,
            start_factor,
            then: Box::new(then),
        };
        s.validate()?;
        Ok(s)
    }

    /// Checks the parameters, including the following schedule's.
    pub fn validate(&self) -> Result<(), OptimError> {
        validate::positive("warm-up steps", self.steps as f64)?;
        validate::unit_closed("start factor", self.start_factor)?;
        self.then.validate()
    }
}

impl LrSchedule for Warmup {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        if step < self.steps {
            let frac = step as f64 / self.steps as f64;
            base_lr * (self.start_factor + (1.0 - self.start_factor) * frac)
        } else {
            self.then.lr_at(base_lr, step - self.steps)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Cosine, StepDecay};
    use super::*;

    #[test]
    fn ramps_linearly_then_hands_over() {
        let then = Schedule::Step(StepDecay::new(2, 0.5).unwrap());
        let w = Warmup::new(4, 0.2, then).unwrap();
        assert_eq!(w.lr_at(1.0, 0), 0.2);
        assert!((w.lr_at(1.0, 2) - 0.6).abs() < 1e-15);
        assert_eq!(w.lr_at(1.0, 4), 1.0);
        assert_eq!(w.lr_at(1.0, 5), 1.0);
        assert_eq!(w.lr_at(1.0, 6), 0.5);
    }

    #[test]
    fn checks_nested_schedule() {
        let bad = Schedule::Cosine(Cosine {
            t_max: 0,
            eta_min: 0.0,
        });
        assert!(Warmup::new(3, 0.1, bad).is_err());
        assert!(Warmup::new(0, 0.1, Schedule::default()).is_err());
        assert!(Warmup::new(3, 1.5, Schedule::default()).is_err());
    }
}
