//! Gradient clipping over the flat gradient buffer, with PyTorch's semantics.

use super::float::{cast, widen};
use super::parallel::PAR_THRESHOLD;
use super::{validate, OptimError, OptimFloat};
use crate::simd::simd_dispatch;
use rayon::prelude::*;

/// Elements per partial sum; partial sums are added in a fixed order so the norm does not
/// depend on how rayon schedules the work.
const NORM_CHUNK: usize = 1 << 14;

/// Lanes of independent partial sums in [`sum_squares`]: one chain of dependent additions
/// would take four cycles per element, eight chains let the compiler vectorise.
const LANES: usize = 8;

simd_dispatch! {
    /// Σ x² over `xs` in `f64`, in [`LANES`] partial sums combined in a fixed order (so the
    /// result depends only on the values, never on timing). Compiled per SIMD instruction set
    /// (chosen at run time): widening to `f64` fills two lanes of an SSE2 register, eight of an
    /// AVX-512 one.
    pub fn sum_squares<T: OptimFloat>(xs: &[T]) -> f64 {
        let mut acc = [0f64; LANES];
        let mut add = |run: &[T]| {
            for (a, &x) in acc.iter_mut().zip(run) {
                let x = widen(x);
                *a += x * x;
            }
        };
        let chunks = xs.chunks_exact(LANES);
        let tail = chunks.remainder();
        chunks.for_each(&mut add);
        add(tail);
        acc.iter().sum()
    }
}

/// Global L2 norm of the buffer, accumulated in `f64` and deterministic.
pub fn grad_norm<T: OptimFloat>(grads: &[T]) -> f64 {
    let partial: Vec<f64> = if grads.len() >= PAR_THRESHOLD {
        grads.par_chunks(NORM_CHUNK).map(sum_squares).collect()
    } else {
        grads.chunks(NORM_CHUNK).map(sum_squares).collect()
    };
    partial.iter().sum::<f64>().sqrt()
}

/// Rescales `grads` so their global L2 norm is at most `max_norm`, and returns the norm
/// before clipping.
///
/// As in PyTorch's `clip_grad_norm_`, the scale is `max_norm / (norm + 1e-6)` and is applied
/// only when it is below 1. A NaN or infinite norm is an error and leaves `grads` unchanged,
/// so the caller can skip the step instead of poisoning the parameters.
pub fn clip_grad_norm<T: OptimFloat>(grads: &mut [T], max_norm: f64) -> Result<f64, OptimError> {
    validate::positive("max_norm", max_norm)?;
    let norm = grad_norm(grads);
    if !norm.is_finite() {
        return Err(OptimError::NonFiniteGradNorm { norm });
    }
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        let c = cast::<T>(coef);
        let scale = |chunk: &mut [T]| chunk.iter_mut().for_each(|g| *g = *g * c);
        if grads.len() >= PAR_THRESHOLD {
            grads.par_chunks_mut(NORM_CHUNK).for_each(scale);
        } else {
            scale(grads);
        }
    }
    Ok(norm)
}

/// Clamps every gradient element to `[-clip_value, clip_value]`; NaN stays NaN.
pub fn clip_grad_value<T: OptimFloat>(grads: &mut [T], clip_value: f64) -> Result<(), OptimError> {
    validate::positive("clip value", clip_value)?;
    let hi = cast::<T>(clip_value);
    let lo = -hi;
    let clamp = |chunk: &mut [T]| {
        chunk.iter_mut().for_each(|g| {
            *g = if *g > hi {
                hi
            } else if *g < lo {
                lo
            } else {
                *g
            }
        })
    };
    if grads.len() >= PAR_THRESHOLD {
        grads.par_chunks_mut(NORM_CHUNK).for_each(clamp);
    } else {
        clamp(grads);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_squares_in_lanes_equals_the_direct_sum_for_every_length() {
        for n in 0..40 {
            let xs: Vec<f32> = (0..n).map(|i| (i as f32 - 13.5) * 0.25).collect();
            let direct: f64 = xs.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
            // Squares of quarters are exact in f64, so the order of the additions cannot
            // change the result.
            assert_eq!(sum_squares(&xs), direct, "length {n}");
        }
        assert!(sum_squares(&[1.0f32, f32::NAN]).is_nan());
    }

    #[test]
    fn norm_clipping_matches_pytorch_formula() {
        let mut g = vec![3.0f64, 4.0, 0.0];
        let norm = clip_grad_norm(&mut g, 1.0).unwrap();
        assert_eq!(norm, 5.0);
        let coef = 1.0 / (5.0 + 1e-6);
        assert_eq!(g, vec![3.0 * coef, 4.0 * coef, 0.0]);
        assert!((grad_norm(&g) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn small_gradients_are_left_alone() {
        let mut g = vec![0.3f32, -0.4];
        let before = g.clone();
        let norm = clip_grad_norm(&mut g, 1.0).unwrap();
        assert!((norm - 0.5).abs() < 1e-7);
        assert_eq!(g, before);
    }

    #[test]
    fn non_finite_norm_is_an_error_and_changes_nothing() {
        let mut g = vec![1.0f32, f32::INFINITY, 2.0];
        let err = clip_grad_norm(&mut g, 1.0).unwrap_err();
        assert!(err.to_string().contains("not finite"), "{err}");
        assert_eq!(g[0], 1.0);
        assert!(clip_grad_norm(&mut g, -1.0).is_err());
    }

    #[test]
    fn large_buffer_norm_is_accurate_and_scaled_in_parallel() {
        let n = PAR_THRESHOLD + 7;
        let mut g = vec![0.5f32; n];
        let norm = clip_grad_norm(&mut g, 1.0).unwrap();
        assert!((norm - 0.5 * (n as f64).sqrt()).abs() < 1e-9 * norm);
        assert!((grad_norm(&g) - 1.0).abs() < 1e-5);
        assert!(g.iter().all(|&x| x == g[0]));
    }

    #[test]
    fn value_clipping_clamps_and_keeps_nan() {
        let mut g = vec![-5.0f64, -0.5, 0.5, 5.0, f64::NAN];
        clip_grad_value(&mut g, 1.0).unwrap();
        assert_eq!(&g[..4], &[-1.0, -0.5, 0.5, 1.0]);
        assert!(g[4].is_nan());
        assert!(clip_grad_value(&mut g, 0.0).is_err());
    }
}
