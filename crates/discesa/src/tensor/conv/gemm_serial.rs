//! One single-threaded gemm call on strided operands: the convolution kernels split work over
//! images themselves, so each product runs on one thread with its operands in place.

use crate::tensor::Element;
use gemm::Parallelism;

/// A read-only matrix operand: pointer and (row, column) strides in elements.
#[derive(Clone, Copy)]
pub(crate) struct Mat<T> {
    pub ptr: *const T,
    pub rs: isize,
    pub cs: isize,
}

impl<T> Mat<T> {
    /// A row-major `rows × cols` matrix.
    pub fn rows(s: &[T], cols: usize) -> Self {
        Mat {
            ptr: s.as_ptr(),
            rs: cols as isize,
            cs: 1,
        }
    }
    /// A matrix at `ptr` with row stride `rs` and column stride `cs` (elements).
    pub fn strided(ptr: *const T, rs: usize, cs: usize) -> Self {
        Mat {
            ptr,
            rs: rs as isize,
            cs: cs as isize,
        }
    }
    /// The transpose of a row-major matrix with `cols` columns.
    pub fn rows_t(s: &[T], cols: usize) -> Self {
        Mat {
            ptr: s.as_ptr(),
            rs: 1,
            cs: cols as isize,
        }
    }
}

/// `dst = a · b` (or `dst += a · b` if `acc`) for `a` `m×k`, `b` `k×n`, `dst` row-major `m×n`.
///
/// # Safety
/// `a` and `b` must cover every element their strides reach for these sizes; `dst` must hold
/// `m·n` elements and not overlap them.
pub(crate) unsafe fn gemm_serial<T: Element>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    acc: bool,
    a: Mat<T>,
    b: Mat<T>,
) {
    debug_assert!(dst.len() >= m * n);
    // SAFETY: forwarded from the caller; `dst` is a unique slice of at least m·n elements.
    unsafe { gemm_serial_strided(m, n, k, dst.as_mut_ptr(), n, 1, acc, a, b) }
}

/// `dst = a · b` (or `+=`) with `dst[i, j]` at `dst + i·rs + j·cs`.
///
/// # Safety
/// As [`gemm_serial`]; every `dst` element the strides reach must be writable, distinct for
/// distinct `(i, j)`, and not overlap `a` or `b`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_serial_strided<T: Element>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    rs: usize,
    cs: usize,
    acc: bool,
    a: Mat<T>,
    b: Mat<T>,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !acc {
            for i in 0..m {
                for j in 0..n {
                    // SAFETY: inside the destination by the caller's contract.
                    unsafe { *dst.add(i * rs + j * cs) = T::zero() };
                }
            }
        }
        return;
    }
    // SAFETY: forwarded from the caller.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            cs as isize,
            rs as isize,
            acc,
            a.ptr,
            a.cs,
            a.rs,
            b.ptr,
            b.cs,
            b.rs,
            T::one(),
            T::one(),
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}
