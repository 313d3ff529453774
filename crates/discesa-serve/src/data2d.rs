//! The playground's 2-D data sets (spirals, circles, XOR, Gaussian blobs), two classes, with
//! Gaussian noise, seeded, in the square [-1.5, 1.5]² that the boundary heatmap covers.

use crate::error::ApiError;
use crate::limits::POINTS;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use std::f64::consts::PI;

/// Half the side of the square the data and the heatmap live in.
pub const EXTENT: f64 = 1.5;

/// Which data set and how to draw it.
#[derive(Debug, Clone)]
pub struct DataSpec {
    /// `spirals`, `circles`, `xor` or `blobs`.
    pub dataset: String,
    /// Number of points, both classes together.
    pub points: usize,
    /// Standard deviation of the Gaussian noise added to each coordinate.
    pub noise: f64,
    /// Seed of the draw.
    pub seed: u64,
}

/// Points and their class (0 or 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Points {
    /// Row-major `[n, 2]` coordinates.
    pub xy: Vec<f32>,
    /// Class of each point.
    pub labels: Vec<usize>,
}

impl Points {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The points at `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Points {
        Points {
            xy: idx
                .iter()
                .flat_map(|&i| [self.xy[2 * i], self.xy[2 * i + 1]])
                .collect(),
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
        }
    }
}

/// Draws the data set `spec` describes.
pub fn generate(spec: &DataSpec) -> Result<Points, ApiError> {
    if !(4..=POINTS).contains(&spec.points) {
        return Err(ApiError::bad(format!(
            "points = {} is outside the allowed 4..={POINTS}",
            spec.points
        )));
    }
    if !(spec.noise.is_finite() && (0.0..=1.0).contains(&spec.noise)) {
        return Err(ApiError::bad(format!(
            "noise = {} must be between 0 and 1",
            spec.noise
        )));
    }
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let noise = Normal::new(0.0, spec.noise.max(1e-12)).expect("a positive deviation");
    let n = spec.points;
    let mut xy = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = i % 2;
        let (x, y) = match spec.dataset.as_str() {
            "spirals" => {
                // 1.25 turns per arm; the second arm is the first turned by half a turn.
                let t = (i / 2) as f64 / (n / 2).max(1) as f64;
                let angle = 2.5 * PI * t + PI * class as f64;
                let r = 0.1 + 1.1 * t;
                (r * angle.cos(), r * angle.sin())
            }
            "circles" => {
                let r = if class == 0 {
                    0.5 * rng.random::<f64>().sqrt()
                } else {
                    0.8 + 0.35 * rng.random::<f64>()
                };
                let a = 2.0 * PI * rng.random::<f64>();
                (r * a.cos(), r * a.sin())
            }
            "xor" => {
                let pick = |rng: &mut StdRng| {
                    let v = 0.05 + 1.05 * rng.random::<f64>();
                    if rng.random::<bool>() {
                        v
                    } else {
                        -v
                    }
                };
                let x = pick(&mut rng);
                let y0 = pick(&mut rng).abs();
                // Class 0: same signs, class 1: opposite signs.
                let y = if (class == 0) == (x > 0.0) { y0 } else { -y0 };
                (x, y)
            }
            "blobs" => {
                let c = if class == 0 { -0.55 } else { 0.55 };
                let spread = Normal::new(0.0, 0.3).expect("a positive deviation");
                (c + spread.sample(&mut rng), c + spread.sample(&mut rng))
            }
            other => {
                return Err(ApiError::bad(format!(
                    "unknown data set '{other}': expected spirals, circles, xor or blobs"
                )))
            }
        };
        let (dx, dy) = if spec.noise > 0.0 {
            (noise.sample(&mut rng), noise.sample(&mut rng))
        } else {
            (0.0, 0.0)
        };
        xy.push((x + dx).clamp(-EXTENT, EXTENT) as f32);
        xy.push((y + dy).clamp(-EXTENT, EXTENT) as f32);
        labels.push(class);
    }
    Ok(Points { xy, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> DataSpec {
        DataSpec {
            dataset: name.into(),
            points: 200,
            noise: 0.0,
            seed: 3,
        }
    }

    #[test]
    fn every_data_set_is_balanced_and_inside_the_square() {
        for name in ["spirals", "circles", "xor", "blobs"] {
            let p = generate(&spec(name)).unwrap();
            assert_eq!(p.len(), 200);
            assert_eq!(p.labels.iter().filter(|&&c| c == 1).count(), 100);
            assert!(p.xy.iter().all(|v| v.abs() <= EXTENT as f32), "{name}");
        }
    }

    #[test]
    fn labels_follow_the_definition() {
        let p = generate(&spec("xor")).unwrap();
        for (i, &c) in p.labels.iter().enumerate() {
            let same = (p.xy[2 * i] > 0.0) == (p.xy[2 * i + 1] > 0.0);
            assert_eq!(same, c == 0);
        }
        let p = generate(&spec("circles")).unwrap();
        for (i, &c) in p.labels.iter().enumerate() {
            let r = (p.xy[2 * i].powi(2) + p.xy[2 * i + 1].powi(2)).sqrt();
            assert_eq!(r < 0.65, c == 0);
        }
        assert_eq!(
            generate(&spec("blobs")).unwrap(),
            generate(&spec("blobs")).unwrap()
        );
    }

    #[test]
    fn bad_specs_are_refused() {
        assert!(generate(&spec("moons"))
            .unwrap_err()
            .message
            .contains("moons"));
        let mut s = spec("xor");
        s.points = POINTS + 1;
        assert!(generate(&s).is_err());
        s.points = 10;
        s.noise = f64::NAN;
        assert!(generate(&s).is_err());
    }
}
