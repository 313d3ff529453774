//! The element types optimizers run on, and lossless conversions to and from `f64`.

use num_traits::Float;
use std::fmt::Debug;

/// Floating-point element type of parameter buffers (`f32` or `f64`).
///
/// Bundles the thread-safety bounds needed to split large buffers across rayon workers.
pub trait OptimFloat: Float + Send + Sync + Debug + 'static {}

impl<T: Float + Send + Sync + Debug + 'static> OptimFloat for T {}

/// Converts a hyper-parameter to the element type; out-of-range values saturate to ±∞
/// instead of failing, since they are validated before use.
pub(crate) fn cast<T: OptimFloat>(x: f64) -> T {
    T::from(x).unwrap_or_else(|| {
        if x > 0.0 {
            T::infinity()
        } else {
            T::neg_infinity()
        }
    })
}

/// Widens an element to `f64` (exact for `f32` and `f64`).
pub(crate) fn widen<T: OptimFloat>(x: T) -> f64 {
    x.to_f64().unwrap_or(f64::NAN)
}
