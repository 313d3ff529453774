//! Constructors: constant fills, ranges, identity, and seeded random tensors.

use super::{zeroed, Element, Shape, Storage, Tensor};
use crate::error::{invalid, Result};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

impl<T: Element> Tensor<T> {
    /// All zeros.
    pub fn zeros(shape: impl Into<Shape>) -> Self {
        let shape = shape.into();
        if shape.numel() == 1 {
            return Tensor {
                storage: Storage::Scalar(T::zero()),
                shape,
            };
        }
        Tensor {
            storage: Storage::Heap {
                buf: zeroed(shape.numel()),
                offset: 0,
            },
            shape,
        }
    }

    /// All ones.
    pub fn ones(shape: impl Into<Shape>) -> Self {
        Self::full(shape, T::one())
    }

    /// Every element equal to `value`.
    pub fn full(shape: impl Into<Shape>, value: T) -> Self {
        Self::from_fn_shape(shape.into(), |o| o.fill(value))
    }

    /// `start, start + step, ...` below `end` (1-D).
    pub fn arange(start: T, end: T, step: T) -> Result<Self> {
        if step == T::zero() || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            return Err(invalid(
                "arange",
                format!(
                    "start {start}, end {end} and step {step} must be finite with a non-zero step"
                ),
            ));
        }
        let n = ((end - start) / step).ceil().to_f64().max(0.0) as usize;
        Ok(Self::from_fn_shape(Shape::from([n]), |o| {
            for (i, v) in o.iter_mut().enumerate() {
                *v = start + step * T::from_f64(i as f64);
            }
        }))
    }

    /// `n` evenly spaced values from `start` to `end` inclusive (1-D).
    pub fn linspace(start: T, end: T, n: usize) -> Self {
        Self::from_fn_shape(Shape::from([n]), |o| {
            let d = if n > 1 {
                (end - start) / T::from_f64((n - 1) as f64)
            } else {
                T::zero()
            };
            for (i, v) in o.iter_mut().enumerate() {
                *v = start + d * T::from_f64(i as f64);
            }
        })
    }

    /// The `n × n` identity matrix.
    pub fn eye(n: usize) -> Self {
        Self::from_fn_shape(Shape::from([n, n]), |o| {
            for i in 0..n {
                o[i * n + i] = T::one();
            }
        })
    }

    /// Uniform samples in `[low, high)` from a generator seeded with `seed` (reproducible).
    pub fn rand_uniform(shape: impl Into<Shape>, low: T, high: T, seed: u64) -> Self {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        Self::rand_uniform_with(shape, low, high, &mut rng)
    }

    /// Uniform samples in `[low, high)` drawn from `rng`.
    pub fn rand_uniform_with(shape: impl Into<Shape>, low: T, high: T, rng: &mut impl Rng) -> Self {
        let (lo, hi) = (low.to_f64(), high.to_f64());
        Self::from_fn_shape(shape.into(), |o| {
            for v in o.iter_mut() {
                *v = T::from_f64(lo + (hi - lo) * rng.random::<f64>());
            }
        })
    }

    /// Normal samples with the given mean and standard deviation, seeded (reproducible).
    pub fn rand_normal(shape: impl Into<Shape>, mean: T, std: T, seed: u64) -> Self {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        Self::rand_normal_with(shape, mean, std, &mut rng)
    }

    /// Normal samples with the given mean and standard deviation drawn from `rng`.
    pub fn rand_normal_with(shape: impl Into<Shape>, mean: T, std: T, rng: &mut impl Rng) -> Self {
        let (m, s) = (mean.to_f64(), std.to_f64());
        Self::from_fn_shape(shape.into(), |o| {
            for v in o.iter_mut() {
                let z: f64 = StandardNormal.sample(rng);
                *v = T::from_f64(m + s * z);
            }
        })
    }
}
