//! Learning-rate schedules: the rate to use at each step (or epoch) as a function of the
//! base rate.
//!
//! Each schedule lives in its own file; [`Schedule`] composes them (a warm-up hands over to
//! any other schedule), is serde-serializable for checkpoints, and parses from the short
//! strings used on the command line (see [`Schedule::parse`]).

mod constant;
mod cosine;
mod exponential;
mod parse;
mod step_decay;
mod warmup;

pub use constant::Constant;
pub use cosine::Cosine;
pub use exponential::Exponential;
pub use step_decay::StepDecay;
pub use warmup::{Warmup, DEFAULT_START_FACTOR};

use super::OptimError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A learning rate that depends on the step (or epoch) index, counted from 0.
pub trait LrSchedule {
    /// Learning rate for step `step` given the base (initial) rate.
    fn lr_at(&self, base_lr: f64, step: u64) -> f64;
}

/// Any of the provided schedules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Schedule {
    /// See [`Constant`].
    Constant(Constant),
    /// See [`StepDecay`].
    Step(StepDecay),
    /// See [`Exponential`].
    Exp(Exponential),
    /// See [`Cosine`].
    Cosine(Cosine),
    /// See [`Warmup`].
    Warmup(Warmup),
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::Constant(Constant {})
    }
}

impl Schedule {
    /// Parses the command-line form, for example `constant`, `step:10:0.5`, `exp:0.95`,
    /// `cosine:100`, `cosine:100:1e-5` or `warmup:5+cosine:100` (`warmup:5:0.1+…` sets
    /// the start factor; a bare `warmup:5` continues with a constant rate).
    pub fn parse(input: &str) -> Result<Self, OptimError> {
        parse::parse(input)
    }

    /// Checks every parameter (useful after deserialising).
    pub fn validate(&self) -> Result<(), OptimError> {
        match self {
            Schedule::Constant(_) => Ok(()),
            Schedule::Step(s) => s.validate(),
            Schedule::Exp(s) => s.validate(),
            Schedule::Cosine(s) => s.validate(),
            Schedule::Warmup(s) => s.validate(),
        }
    }
}

impl LrSchedule for Schedule {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        match self {
            Schedule::Constant(s) => s.lr_at(base_lr, step),
            Schedule::Step(s) => s.lr_at(base_lr, step),
            Schedule::Exp(s) => s.lr_at(base_lr, step),
            Schedule::Cosine(s) => s.lr_at(base_lr, step),
            Schedule::Warmup(s) => s.lr_at(base_lr, step),
        }
    }
}

impl std::str::FromStr for Schedule {
    type Err = OptimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Schedule::parse(s)
    }
}

/// Writes the command-line form, which [`Schedule::parse`] reads back.
impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Constant(_) => write!(f, "constant"),
            Schedule::Step(s) => write!(f, "step:{}:{}", s.step_size, s.gamma),
            Schedule::Exp(s) => write!(f, "exp:{}", s.gamma),
            Schedule::Cosine(s) if s.eta_min == 0.0 => write!(f, "cosine:{}", s.t_max),
            Schedule::Cosine(s) => write!(f, "cosine:{}:{}", s.t_max, s.eta_min),
            Schedule::Warmup(w) if w.start_factor == DEFAULT_START_FACTOR => {
                write!(f, "warmup:{}+{}", w.steps, w.then)
            }
            Schedule::Warmup(w) => write!(f, "warmup:{}:{}+{}", w.steps, w.start_factor, w.then),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_round_trip_keeps_values() {
        let s = Schedule::parse("warmup:5:0.1+cosine:100:0.001").unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"type\":\"warmup\""), "{json}");
        let back: Schedule = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        for step in [0, 3, 5, 50, 105, 500] {
            assert_eq!(back.lr_at(0.1, step), s.lr_at(0.1, step));
        }
    }

    #[test]
    fn composed_warmup_cosine_values() {
        let s = Schedule::parse("warmup:5+cosine:100").unwrap();
        assert!((s.lr_at(0.3, 0) - 0.1).abs() < 1e-15);
        assert_eq!(s.lr_at(0.3, 5), 0.3);
        assert!((s.lr_at(0.3, 55) - 0.15).abs() < 1e-12);
        assert!(s.lr_at(0.3, 105).abs() < 1e-15);
    }
}
