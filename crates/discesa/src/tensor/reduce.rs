//! Reductions over chosen axes (sum, mean, max, min, argmax), `sum_to` (the adjoint of
//! broadcasting) and the numerically stable logsumexp / log-softmax.

use super::{for_each_run2, Element, Shape, Tensor, MAX_DIMS};
use crate::error::{shape_err, Result};

/// A set of axes as a bit mask.
pub(crate) fn axes_mask(op: &'static str, shape: &Shape, axes: &[isize]) -> Result<u8> {
    let mut m = 0u8;
    for &a in axes {
        m |= 1 << shape.axis(op, a)?;
    }
    Ok(m)
}

/// The shape after reducing `mask`, keeping reduced axes as size 1 or dropping them.
pub(crate) fn reduced_shape(shape: &Shape, mask: u8, keepdim: bool) -> Shape {
    let mut dims = [0usize; MAX_DIMS];
    let mut n = 0;
    for (i, &d) in shape.dims().iter().enumerate() {
        if mask & (1 << i) != 0 {
            if keepdim {
                dims[n] = 1;
                n += 1;
            }
        } else {
            dims[n] = d;
            n += 1;
        }
    }
    Shape::new(&dims[..n]).expect("fewer dims than input")
}

#[derive(Clone, Copy)]
enum Fold {
    Sum,
    Max,
    Min,
}

impl<T: Element> Tensor<T> {
    fn fold(&self, mask: u8, keepdim: bool, fold: Fold) -> Tensor<T> {
        let kshape = reduced_shape(&self.shape, mask, true);
        let out_shape = reduced_shape(&self.shape, mask, keepdim);
        let src = self.as_slice();
        let init = match fold {
            Fold::Sum => T::zero(),
            Fold::Max => T::neg_infinity(),
            Fold::Min => T::infinity(),
        };
        let comb = move |acc: T, x: T| match fold {
            Fold::Sum => acc + x,
            Fold::Max => {
                if x > acc || x.is_nan() {
                    x
                } else {
                    acc
                }
            }
            Fold::Min => {
                if x < acc || x.is_nan() {
                    x
                } else {
                    acc
                }
            }
        };
        if kshape.numel() == 1 {
            let v = match fold {
                Fold::Sum => src.iter().copied().sum(),
                _ => src.iter().fold(init, |a, &x| comb(a, x)),
            };
            return Tensor::full(out_shape, v);
        }
        let so = kshape.broadcast_strides(&self.shape);
        let si = self.shape.strides();
        let inner = self.dims().last().copied().unwrap_or(1);
        let t = Tensor::from_fn_shape(kshape, |o| {
            o.fill(init);
            for_each_run2(&self.shape, &so, &si, |_, oo, oi, io, _| {
                let run = &src[oi..oi + inner];
                if io == 0 {
                    o[oo] = match fold {
                        Fold::Sum => o[oo] + run.iter().copied().sum::<T>(),
                        _ => run.iter().fold(o[oo], |a, &x| comb(a, x)),
                    };
                } else {
                    for (d, &x) in o[oo..oo + inner].iter_mut().zip(run) {
                        *d = comb(*d, x);
                    }
                }
            })
        });
        t.reshape(out_shape).expect("same size")
    }

    /// Sum of all elements (a scalar tensor).
    pub fn sum_all(&self) -> Tensor<T> {
        Tensor::scalar(sum_in_lanes(self.as_slice()))
    }

    /// Sum over `axes` (negative counts from the end), keeping them as size 1 if `keepdim`.
    pub fn sum(&self, axes: &[isize], keepdim: bool) -> Result<Tensor<T>> {
        let m = axes_mask("sum", &self.shape, axes)?;
        Ok(self.fold(m, keepdim, Fold::Sum))
    }

    /// Mean over `axes`.
    pub fn mean(&self, axes: &[isize], keepdim: bool) -> Result<Tensor<T>> {
        let m = axes_mask("mean", &self.shape, axes)?;
        let count: usize = (0..self.ndim())
            .filter(|i| m & (1 << i) != 0)
            .map(|i| self.dims()[i])
            .product();
        Ok(self
            .fold(m, keepdim, Fold::Sum)
            .mul_scalar(T::one() / T::from_f64(count as f64)))
    }

    /// Maximum over `axes`.
    pub fn max(&self, axes: &[isize], keepdim: bool) -> Result<Tensor<T>> {
        let m = axes_mask("max", &self.shape, axes)?;
        Ok(self.fold(m, keepdim, Fold::Max))
    }

    /// Minimum over `axes`.
    pub fn min(&self, axes: &[isize], keepdim: bool) -> Result<Tensor<T>> {
        let m = axes_mask("min", &self.shape, axes)?;
        Ok(self.fold(m, keepdim, Fold::Min))
    }

    pub(crate) fn sum_mask(&self, mask: u8, keepdim: bool) -> Tensor<T> {
        self.fold(mask, keepdim, Fold::Sum)
    }
    pub(crate) fn max_mask(&self, mask: u8, keepdim: bool) -> Tensor<T> {
        self.fold(mask, keepdim, Fold::Max)
    }
    pub(crate) fn min_mask(&self, mask: u8, keepdim: bool) -> Tensor<T> {
        self.fold(mask, keepdim, Fold::Min)
    }

    /// Index of the largest entry along `axis` (first one on ties), as `usize` values in the shape
    /// with that axis removed.
    pub fn argmax(&self, axis: isize) -> Result<(Vec<usize>, Shape)> {
        let ax = self.shape.axis("argmax", axis)?;
        let size = self.dims()[ax];
        if size == 0 {
            return Err(shape_err(
                "argmax",
                format!("axis {ax} of {} is empty", self.shape),
            ));
        }
        let outer: usize = self.dims()[..ax].iter().product();
        let inner: usize = self.dims()[ax + 1..].iter().product();
        let src = self.as_slice();
        let mut out = vec![0usize; outer * inner];
        for r in 0..outer {
            for c in 0..inner {
                let mut best = 0;
                let mut bv = src[r * size * inner + c];
                for j in 1..size {
                    let v = src[(r * size + j) * inner + c];
                    if v > bv {
                        bv = v;
                        best = j;
                    }
                }
                out[r * inner + c] = best;
            }
        }
        Ok((out, reduced_shape(&self.shape, 1 << ax, false)))
    }

    /// Sums broadcast axes away so that the result has `shape`: the adjoint of broadcasting.
    pub fn sum_to(&self, shape: &Shape) -> Result<Tensor<T>> {
        if &self.shape == shape {
            return Ok(self.clone());
        }
        let nd = self.ndim();
        if shape.ndim() > nd {
            return Err(shape_err(
                "sum_to",
                format!("cannot reduce {} to {shape}", self.shape),
            ));
        }
        let off = nd - shape.ndim();
        let mut mask = 0u8;
        for i in 0..nd {
            if i < off || (shape.dim(i - off) == 1 && self.dims()[i] != 1) {
                mask |= 1 << i;
            } else if shape.dim(i - off) != self.dims()[i] {
                return Err(shape_err(
                    "sum_to",
                    format!("cannot reduce {} to {shape}", self.shape),
                ));
            }
        }
        // Fast path for bias gradients: [rows, n] -> [n].
        if mask == 1 && nd == 2 {
            let (rows, n) = (self.dims()[0], self.dims()[1]);
            let src = self.as_slice();
            return Ok(Tensor::from_fn_shape(*shape, |o| {
                for r in 0..rows {
                    for (d, &x) in o.iter_mut().zip(&src[r * n..(r + 1) * n]) {
                        *d += x;
                    }
                }
            }));
        }
        self.fold(mask, true, Fold::Sum).reshape(*shape)
    }

    /// `log Σ exp(x)` over `axis`, computed stably by shifting with the maximum.
    pub fn logsumexp(&self, axis: isize, keepdim: bool) -> Result<Tensor<T>> {
        let m = self.max(&[axis], true)?;
        let m_safe = m.map(|v| if v.is_finite() { v } else { T::zero() });
        let s = self
            .sub(&m_safe)?
            .unary(super::UnaryOp::Exp)
            .sum(&[axis], true)?;
        let out = s.unary(super::UnaryOp::Log).add(&m_safe)?;
        if keepdim {
            Ok(out)
        } else {
            let ax = self.shape.axis("logsumexp", axis)?;
            out.reshape(reduced_shape(&self.shape, 1 << ax, false))
        }
    }

    /// `x - logsumexp(x)` over `axis`: log-probabilities from logits.
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor<T>> {
        self.sub(&self.logsumexp(axis, true)?)
    }
}

/// The sum of `v` in 16 running partial sums (element `k` goes to sum `k mod 16`), added
/// pairwise at the end: one order for every run, as a single running sum was, but in vector
/// registers instead of one dependent add per element (and with less rounding error).
fn sum_in_lanes<T: Element>(v: &[T]) -> T {
    const LANES: usize = 16;
    let mut acc = [T::zero(); LANES];
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    for (a, &x) in acc.iter_mut().zip(rest) {
        *a += x;
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for k in 0..width {
            let upper = acc[k + width];
            acc[k] += upper;
        }
    }
    acc[0]
}

#[cfg(test)]
mod tests {
    use super::sum_in_lanes;

    #[test]
    fn the_lane_sum_adds_every_element_once() {
        for n in [0usize, 1, 7, 15, 16, 17, 33, 1000, 4097] {
            // Small integers: every partial sum is exact, so any order must give the count.
            let ones = vec![1.0f32; n];
            assert_eq!(sum_in_lanes(&ones), n as f32, "length {n}");
            let ramp: Vec<f64> = (0..n).map(|i| i as f64).collect();
            assert_eq!(sum_in_lanes(&ramp), (n * n.saturating_sub(1) / 2) as f64);
        }
    }
}
