//! Constant learning rate.

use super::LrSchedule;
use serde::{Deserialize, Serialize};

/// Keeps the base learning rate for every step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Constant {}

impl LrSchedule for Constant {
    fn lr_at(&self, base_lr: f64, _step: u64) -> f64 {
        base_lr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_changes() {
        assert_eq!(Constant {}.lr_at(0.3, 0), 0.3);
        assert_eq!(Constant {}.lr_at(0.3, 1_000_000), 0.3);
    }
}
