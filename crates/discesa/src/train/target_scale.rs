//! Regression targets standardised with the training split's statistics: the network learns
//! `(y - mean) / std`, so a target in the hundreds trains with the same learning rate as one
//! near 1, and outputs are mapped back before any metric or prediction is reported.

use serde::{Deserialize, Serialize};

/// Mean and standard deviation of the training rows' regression targets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TargetScale {
    /// Mean of the training targets.
    pub mean: f64,
    /// Their population standard deviation, or 1 when they are all equal.
    pub std: f64,
}

impl TargetScale {
    /// The scale of `values[rows]`; `None` without rows or with a non-finite value.
    pub fn fit(values: &[f32], rows: &[usize]) -> Option<TargetScale> {
        if rows.is_empty() {
            return None;
        }
        let n = rows.len() as f64;
        let mean = rows.iter().map(|&r| f64::from(values[r])).sum::<f64>() / n;
        let var = rows
            .iter()
            .map(|&r| (f64::from(values[r]) - mean).powi(2))
            .sum::<f64>()
            / n;
        let std = var.sqrt();
        if !(mean.is_finite() && std.is_finite()) {
            return None;
        }
        Some(TargetScale {
            mean,
            std: if std > 0.0 { std } else { 1.0 },
        })
    }

    /// A target in the network's units.
    pub fn to_model(&self, y: f32) -> f32 {
        ((f64::from(y) - self.mean) / self.std) as f32
    }

    /// A network output in the target's units.
    pub fn from_model(&self, out: f32) -> f32 {
        (f64::from(out) * self.std + self.mean) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_training_rows_only_and_round_trips() {
        let v = [100.0, 300.0, 500.0, 1e6];
        let s = TargetScale::fit(&v, &[0, 1, 2]).unwrap();
        assert_eq!(s.mean, 300.0);
        assert!((s.std - (80_000.0f64 / 3.0).sqrt()).abs() < 1e-9);
        assert_eq!(s.to_model(300.0), 0.0);
        assert!((s.from_model(s.to_model(123.5)) - 123.5).abs() < 1e-3);
        let constant = TargetScale::fit(&[7.0, 7.0], &[0, 1]).unwrap();
        assert_eq!((constant.mean, constant.std), (7.0, 1.0));
        assert!(TargetScale::fit(&v, &[]).is_none());
        assert!(TargetScale::fit(&[f32::NAN], &[0]).is_none());
    }
}
