//! Shapes: up to [`MAX_DIMS`] dimensions stored inline, so creating a tensor never allocates for
//! its shape; broadcasting and axis rules live here.

use crate::error::{shape_err, Error, Result};
use std::fmt;

/// The largest number of dimensions a tensor may have.
pub const MAX_DIMS: usize = 6;

/// The dimensions of a tensor (row-major, last axis contiguous).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Shape {
    dims: [usize; MAX_DIMS],
    ndim: u8,
}

impl Shape {
    /// A shape from its dimensions; more than [`MAX_DIMS`] is an error.
    pub fn new(dims: &[usize]) -> Result<Self> {
        if dims.len() > MAX_DIMS {
            return Err(shape_err(
                "shape",
                format!(
                    "{} dimensions given, at most {MAX_DIMS} are supported",
                    dims.len()
                ),
            ));
        }
        let mut d = [0; MAX_DIMS];
        d[..dims.len()].copy_from_slice(dims);
        Ok(Shape {
            dims: d,
            ndim: dims.len() as u8,
        })
    }

    /// The shape of a scalar (no dimensions).
    pub const fn scalar() -> Self {
        Shape {
            dims: [0; MAX_DIMS],
            ndim: 0,
        }
    }

    /// The dimensions as a slice.
    #[inline]
    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.ndim as usize]
    }

    /// Number of dimensions.
    #[inline]
    pub fn ndim(&self) -> usize {
        self.ndim as usize
    }

    /// Number of elements (1 for a scalar).
    #[inline]
    pub fn numel(&self) -> usize {
        self.dims().iter().product()
    }

    /// Size of axis `i` (must be in range).
    #[inline]
    pub fn dim(&self, i: usize) -> usize {
        self.dims()[i]
    }

    /// Row-major strides in elements.
    pub fn strides(&self) -> [usize; MAX_DIMS] {
        let mut s = [0; MAX_DIMS];
        let mut acc = 1;
        for i in (0..self.ndim()).rev() {
            s[i] = acc;
            acc *= self.dims[i];
        }
        s
    }

    /// Resolves a possibly negative axis (`-1` is the last) against this shape.
    pub fn axis(&self, op: &'static str, axis: isize) -> Result<usize> {
        let n = self.ndim() as isize;
        let a = if axis < 0 { axis + n } else { axis };
        if a < 0 || a >= n {
            return Err(Error::Axis {
                op,
                axis,
                shape: *self,
            });
        }
        Ok(a as usize)
    }

    /// The same shape with axis `i` set to `size`.
    pub fn with_dim(&self, i: usize, size: usize) -> Self {
        let mut s = *self;
        s.dims[i] = size;
        s
    }

    /// NumPy broadcasting of two shapes.
    pub fn broadcast(op: &'static str, a: &Shape, b: &Shape) -> Result<Shape> {
        if a == b {
            return Ok(*a);
        }
        let n = a.ndim().max(b.ndim());
        let mut out = [0; MAX_DIMS];
        for i in 0..n {
            let da = if i + a.ndim() >= n {
                a.dims[i + a.ndim() - n]
            } else {
                1
            };
            let db = if i + b.ndim() >= n {
                b.dims[i + b.ndim() - n]
            } else {
                1
            };
            out[i] = if da == db || db == 1 {
                da
            } else if da == 1 {
                db
            } else {
                return Err(shape_err(
                    op,
                    format!(
                        "shapes {a} and {b} cannot be broadcast together (axis {i}: {da} vs {db})"
                    ),
                ));
            };
        }
        Ok(Shape {
            dims: out,
            ndim: n as u8,
        })
    }

    /// Strides of `self` seen as broadcast into `target` (0 on broadcast axes).
    pub fn broadcast_strides(&self, target: &Shape) -> [usize; MAX_DIMS] {
        let own = self.strides();
        let mut s = [0; MAX_DIMS];
        let off = target.ndim() - self.ndim();
        for i in 0..self.ndim() {
            if self.dims[i] != 1 {
                s[i + off] = own[i];
            }
        }
        s
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.dims().iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<&[usize]> for Shape {
    /// Panics beyond [`MAX_DIMS`] dimensions; use [`Shape::new`] for a `Result`.
    fn from(d: &[usize]) -> Self {
        Shape::new(d).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Self {
        Shape::from(&d[..])
    }
}

/// Visits every multi-index of `shape` in row-major order, giving the offsets into two operands with
/// the given (possibly broadcast) strides. The innermost axis is handed over as a run so callers
/// can write tight loops.
pub(crate) fn for_each_run2(
    shape: &Shape,
    sa: &[usize; MAX_DIMS],
    sb: &[usize; MAX_DIMS],
    mut f: impl FnMut(usize, usize, usize, usize, usize),
) {
    let nd = shape.ndim();
    if nd == 0 {
        f(0, 0, 0, 0, 0);
        return;
    }
    let inner = shape.dims()[nd - 1];
    let (ia, ib) = (sa[nd - 1], sb[nd - 1]);
    let outer: usize = shape.dims()[..nd - 1].iter().product();
    let mut idx = [0usize; MAX_DIMS];
    let (mut oa, mut ob) = (0usize, 0usize);
    for o in 0..outer {
        f(o * inner, oa, ob, ia, ib);
        // advance the outer multi-index
        let mut ax = nd - 1;
        while ax > 0 {
            ax -= 1;
            idx[ax] += 1;
            oa += sa[ax];
            ob += sb[ax];
            if idx[ax] < shape.dims()[ax] {
                break;
            }
            oa -= sa[ax] * idx[ax];
            ob -= sb[ax] * idx[ax];
            idx[ax] = 0;
        }
    }
    let _ = inner;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy() {
        let a = Shape::from([3, 1, 5]);
        let b = Shape::from([4, 1]);
        assert_eq!(Shape::broadcast("t", &a, &b).unwrap().dims(), &[3, 4, 5]);
        let e = Shape::broadcast("add", &Shape::from([2, 3]), &Shape::from([4])).unwrap_err();
        assert!(e.to_string().contains("[2, 3] and [4]"), "{e}");
    }

    #[test]
    fn negative_axes_resolve() {
        let s = Shape::from([2, 3, 4]);
        assert_eq!(s.axis("t", -1).unwrap(), 2);
        assert!(s.axis("sum", 3).unwrap_err().to_string().contains("axis 3"));
    }
}
