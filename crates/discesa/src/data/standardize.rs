//! Per-feature standardisation (zero mean, unit variance) fit on training rows only, saved with a
//! model so evaluation and prediction inputs are scaled identically.

use super::dataset::Dataset;
use super::error::{DataError, Result};
use serde::{Deserialize, Serialize};

/// Rows converted at a time while fitting.
const FIT_CHUNK: usize = 1024;

/// Feature means and standard deviations learned from training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// Names of the features, checked when applying to a data set.
    pub feature_names: Vec<String>,
    /// Mean of each feature.
    pub mean: Vec<f32>,
    /// Divisor of each feature: its population standard deviation, or 1 for a constant feature
    /// so that it maps to 0 instead of dividing by zero.
    pub std: Vec<f32>,
}

impl Standardizer {
    /// Learns mean and spread of each feature over `rows` (pass the training split, never the
    /// validation or test rows, so no information leaks from them).
    pub fn fit(data: &Dataset, rows: &[usize]) -> Result<Standardizer> {
        if rows.is_empty() {
            return Err(DataError::InvalidArgument(
                "cannot fit a standardizer on zero rows".into(),
            ));
        }
        data.check_rows(rows)?;
        let f = data.n_features();
        let mut sum = vec![0f64; f];
        let mut squares = vec![0f64; f];
        // Two passes (mean, then squared deviations) over chunks of rows, so no copy of the
        // whole data set is made.
        let mut buf = vec![0f32; f * FIT_CHUNK.min(rows.len())];
        for chunk in rows.chunks(FIT_CHUNK) {
            let b = &mut buf[..chunk.len() * f];
            data.write_features(chunk, b);
            for row in b.chunks_exact(f) {
                for (s, &v) in sum.iter_mut().zip(row) {
                    *s += f64::from(v);
                }
            }
        }
        let n = rows.len() as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        for chunk in rows.chunks(FIT_CHUNK) {
            let b = &mut buf[..chunk.len() * f];
            data.write_features(chunk, b);
            for row in b.chunks_exact(f) {
                for ((q, &v), m) in squares.iter_mut().zip(row).zip(&mean) {
                    let d = f64::from(v) - m;
                    *q += d * d;
                }
            }
        }
        let std = squares
            .iter()
            .zip(&mean)
            .map(|(q, m)| {
                let s = (q / n).sqrt();
                // Spread at rounding-noise level means the column is constant.
                let constant = !s.is_finite() || s <= 16.0 * f64::EPSILON * m.abs() || s == 0.0;
                if constant || (s as f32) == 0.0 {
                    1.0
                } else {
                    s as f32
                }
            })
            .collect();
        Ok(Standardizer {
            feature_names: data.feature_names().to_vec(),
            mean: mean.iter().map(|&m| m as f32).collect(),
            std,
        })
    }

    /// Learns from every row of `data`.
    pub fn fit_all(data: &Dataset) -> Result<Standardizer> {
        let rows: Vec<usize> = (0..data.len()).collect();
        Self::fit(data, &rows)
    }

    /// Standardises every row of `data` (applied as its features are written out); its features
    /// must match the fitted ones.
    pub fn apply(&self, data: &mut Dataset) -> Result<()> {
        if data.n_features() != self.mean.len() {
            return Err(DataError::FeatureMismatch(format!(
                "data has {} features, the standardizer was fit on {}",
                data.n_features(),
                self.mean.len()
            )));
        }
        if let Some((i, (a, b))) = self
            .feature_names
            .iter()
            .zip(data.feature_names())
            .enumerate()
            .find(|(_, (a, b))| a != b)
        {
            return Err(DataError::FeatureMismatch(format!(
                "feature {i} is '{b}' but the standardizer was fit on '{a}'"
            )));
        }
        data.set_standardization(&self.mean, &self.std)
    }

    /// Standardises a row-major feature buffer in place (its length must be a multiple of the
    /// feature count), for inputs that are not in a [`Dataset`].
    pub fn apply_rows(&self, features: &mut [f32]) -> Result<()> {
        let f = self.mean.len();
        if f == 0 || !features.len().is_multiple_of(f) {
            return Err(DataError::FeatureMismatch(format!(
                "{} values are not whole rows of {f} features",
                features.len()
            )));
        }
        for row in features.chunks_exact_mut(f) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Targets;

    fn data() -> Dataset {
        // Columns: varying, constant, large offset with small spread.
        let rows = [
            [1.0, 5.0, 1000.0],
            [2.0, 5.0, 1001.0],
            [3.0, 5.0, 1002.0],
            [10.0, 5.0, 0.0],
        ];
        Dataset::new(
            rows.iter().flatten().copied().collect(),
            vec!["a".into(), "c".into(), "o".into()],
            Targets::Values(vec![0.0; 4]),
        )
        .unwrap()
    }

    #[test]
    fn fit_on_training_rows_only() {
        let d = data();
        let s = Standardizer::fit(&d, &[0, 1, 2]).unwrap();
        assert_eq!(s.mean, vec![2.0, 5.0, 1001.0]);
        let expected = (2.0f32 / 3.0).sqrt();
        assert!((s.std[0] - expected).abs() < 1e-6);
        assert_eq!(s.std[1], 1.0, "constant column must divide by 1");
        let mut t = d.clone();
        s.apply(&mut t).unwrap();
        let train: Vec<f32> = (0..3).map(|r| t.row(r).unwrap()[0]).collect();
        assert!((train.iter().sum::<f32>()).abs() < 1e-6);
        let var = train.iter().map(|v| v * v).sum::<f32>() / 3.0;
        assert!((var - 1.0).abs() < 1e-5, "variance {var}");
        assert!(t.features().iter().all(|v| v.is_finite()));
        assert_eq!(t.row(3).unwrap()[1], 0.0);
        // The held-out row is scaled with training statistics, not its own.
        assert!((t.row(3).unwrap()[0] - 8.0 / expected).abs() < 1e-4);
    }

    #[test]
    fn survives_serde_and_checks_features() {
        let d = data();
        let s = Standardizer::fit_all(&d).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let back: Standardizer = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let other = Dataset::new(
            vec![0.0; 3],
            vec!["a".into(), "x".into(), "o".into()],
            Targets::Values(vec![0.0]),
        )
        .unwrap();
        let err = s.apply(&mut other.clone()).unwrap_err();
        assert!(err.to_string().contains("'x'"), "{err}");
        assert!(s.apply_rows(&mut [0.0; 4]).is_err());
        let mut buf = [1.0, 5.0, 1000.0];
        s.apply_rows(&mut buf).unwrap();
        assert_eq!(buf[1], 0.0);
        assert!(Standardizer::fit(&d, &[]).is_err());
        assert!(Standardizer::fit(&d, &[9]).is_err());
    }
}
