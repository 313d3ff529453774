//! Range checks shared by optimizer constructors and schedules.

use super::OptimError;

fn invalid(name: &'static str, value: f64, requirement: &'static str) -> OptimError {
    OptimError::InvalidHyperParameter {
        name,
        value,
        requirement,
    }
}

/// Learning rates must be strictly positive and finite.
pub(crate) fn learning_rate(lr: f64) -> Result<f64, OptimError> {
    positive("learning rate", lr)
}

/// Checks `value > 0` and finite.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<f64, OptimError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(invalid(name, value, "a positive finite number"))
    }
}

/// Checks `value >= 0` and finite.
pub(crate) fn non_negative(name: &'static str, value: f64) -> Result<f64, OptimError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(invalid(name, value, "a finite number >= 0"))
    }
}

/// Checks `0 <= value < 1` (betas, smoothing constants, momentum).
pub(crate) fn unit_half_open(name: &'static str, value: f64) -> Result<f64, OptimError> {
    if (0.0..1.0).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(name, value, "in [0, 1)"))
    }
}

/// Checks `0 < value < 1` (momentum when the optimizer is defined by it).
pub(crate) fn unit_open(name: &'static str, value: f64) -> Result<f64, OptimError> {
    if value > 0.0 && value < 1.0 {
        Ok(value)
    } else {
        Err(invalid(name, value, "in (0, 1)"))
    }
}

/// Checks `0 <= value <= 1`.
pub(crate) fn unit_closed(name: &'static str, value: f64) -> Result<f64, OptimError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(invalid(name, value, "in [0, 1]"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_rate_rejects_non_positive_and_non_finite() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = learning_rate(bad).unwrap_err().to_string();
            assert!(
                err.contains("learning rate must be a positive finite number"),
                "{err}"
            );
            assert!(err.contains(&format!("{bad}")), "{err}");
        }
        assert_eq!(learning_rate(1e-3), Ok(1e-3));
    }

    #[test]
    fn ranges_are_checked_at_their_edges() {
        assert!(unit_half_open("beta1", 0.0).is_ok());
        assert!(unit_half_open("beta1", 1.0).is_err());
        assert!(unit_open("momentum", 0.0).is_err());
        assert!(unit_closed("dampening", 1.0).is_ok());
        assert!(unit_closed("dampening", 1.5).is_err());
        assert!(non_negative("weight decay", 0.0).is_ok());
        assert!(non_negative("weight decay", -1e-9).is_err());
        assert!(positive("eps", 0.0).is_err());
    }
}
