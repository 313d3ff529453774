//! The element types a tensor can hold: `f32` for speed, `f64` for gradient checks.

use std::fmt::{Debug, Display};

/// A floating-point element type supported by [`Tensor`](super::Tensor).
pub trait Element:
    num_traits::Float
    + num_traits::FloatConst
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + std::iter::Sum
    + std::ops::AddAssign
    + std::ops::MulAssign
    + 'static
{
    /// The name used in messages and file formats (`f32`, `f64`).
    const NAME: &'static str;
    /// Converts from `f64` (rounding for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// `s` itself if `Self` is `f32`: the entry to kernels written for `f32` alone.
    fn as_f32(s: &[Self]) -> Option<&[f32]>;
    /// `s` itself if `Self` is `f32`, mutably.
    fn as_f32_mut(s: &mut [Self]) -> Option<&mut [f32]>;
}

impl Element for f32 {
    const NAME: &'static str = "f32";
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn as_f32(s: &[f32]) -> Option<&[f32]> {
        Some(s)
    }
    fn as_f32_mut(s: &mut [f32]) -> Option<&mut [f32]> {
        Some(s)
    }
}

impl Element for f64 {
    const NAME: &'static str = "f64";
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    fn as_f32(_: &[f64]) -> Option<&[f32]> {
        None
    }
    fn as_f32_mut(_: &mut [f64]) -> Option<&mut [f32]> {
        None
    }
}
