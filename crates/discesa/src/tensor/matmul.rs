//! Matrix products through the `gemm` crate (runtime CPU dispatch, AVX-512 where present),
//! with transposes folded into strides so no operand is ever copied.

use super::{Element, Shape, Tensor};
use crate::error::{shape_err, Result};
use gemm::Parallelism;
use std::mem::MaybeUninit;
use std::sync::Arc;

/// Work (m·n·k) above which a product is split over threads. Below ~16 M the threads' wake-up
/// costs more than the second core brings: the 784-256-256-10 step at batch 64 (a 12.8 M
/// product) ran at 34–48k samples/s on two threads and 85k on one (`discesa bench --threads 2`).
const PARALLEL_WORK: usize = 1 << 24;

/// `dst = op(a) · op(b)` (or `dst += ...` if `accumulate`), for row-major buffers, where
/// `op(x)` is `xᵀ` when the matching flag is set. `a` is `m×k` (`k×m` if transposed), `b` is
/// `k×n` (`n×k` if transposed), `dst` is `m×n`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_into<T: Element>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    a: &[T],
    ta: bool,
    b: &[T],
    tb: bool,
    accumulate: bool,
) {
    assert!(
        dst.len() >= m * n && a.len() >= m * k && b.len() >= k * n,
        "gemm_into: buffers too small"
    );
    // SAFETY: `dst` is a unique, initialised buffer of at least m·n elements.
    unsafe { gemm_ptr(m, n, k, dst.as_mut_ptr(), a, ta, b, tb, accumulate) }
}

/// [`gemm_into`] on a raw destination of `m·n` elements, which may be uninitialised unless
/// `accumulate` is set: every element is written exactly once (fresh outputs skip zero-filling).
///
/// # Safety
/// `dst` must be valid for `m·n` writes, not alias `a` or `b`, and be initialised if `accumulate`.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_ptr<T: Element>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    a: &[T],
    ta: bool,
    b: &[T],
    tb: bool,
    accumulate: bool,
) {
    debug_assert!(a.len() >= m * k && b.len() >= k * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m * n {
                dst.add(i).write(T::zero());
            }
        }
        return;
    }
    if tb && m < SMALL_M_TRANSPOSE {
        // With a short left operand and a transposed right one, the kernel is 2-4x faster
        // writing a column-major result; transposing that small result back is cheap.
        let mut scratch = vec![T::zero(); m * n];
        raw_gemm(
            m,
            n,
            k,
            scratch.as_mut_ptr(),
            (m as isize, 1),
            a,
            ta,
            b,
            tb,
            false,
        );
        for i in 0..m {
            for j in 0..n {
                let v = scratch[j * m + i];
                let d = dst.add(i * n + j);
                if accumulate {
                    *d += v;
                } else {
                    d.write(v);
                }
            }
        }
        return;
    }
    raw_gemm(m, n, k, dst, (1, n as isize), a, ta, b, tb, accumulate);
}

/// The kernel call with explicit destination strides `(column stride, row stride)`.
///
/// # Safety
/// As for [`gemm_ptr`], for every position the strides reach.
#[allow(clippy::too_many_arguments)]
unsafe fn raw_gemm<T: Element>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    (dst_cs, dst_rs): (isize, isize),
    a: &[T],
    ta: bool,
    b: &[T],
    tb: bool,
    accumulate: bool,
) {
    // Row-major: element (i, j) of an r×c matrix sits at i*c + j, so rs = c and cs = 1.
    let (a_rs, a_cs) = if ta { (1, m as isize) } else { (k as isize, 1) };
    let (b_rs, b_cs) = if tb { (1, k as isize) } else { (n as isize, 1) };
    let threads = super::num_threads();
    let par = if threads > 1 && m * n * k >= PARALLEL_WORK {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    // SAFETY: the caller guarantees that the strides stay inside buffers that do not alias.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            dst_cs,
            dst_rs,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            T::one(),
            T::one(),
            false,
            false,
            false,
            par,
        );
    }
}

/// Below this many rows of the left operand, a product with a transposed right operand is
/// computed in column-major order and transposed back.
const SMALL_M_TRANSPOSE: usize = 128;

impl<T: Element> Tensor<T> {
    /// Matrix product: 2-D × 2-D, or batched over leading axes (equal batch shapes, or a 2-D
    /// right operand shared by every batch).
    pub fn matmul(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
        self.matmul_t(other, false, false)
    }

    /// `op(self) · op(other)` where `op` transposes the last two axes when its flag is set.
    pub fn matmul_t(&self, other: &Tensor<T>, ta: bool, tb: bool) -> Result<Tensor<T>> {
        let (out_shape, batch, m, n, k, b_batched) =
            matmul_shape(self.shape(), other.shape(), ta, tb)?;
        let (a, b) = (self.as_slice(), other.as_slice());
        let len = out_shape.numel();
        if len <= 1 {
            return Ok(Tensor::from_fn_shape(out_shape, |o| {
                gemm_into(m, n, k, o, a, ta, b, tb, false)
            }));
        }
        // The kernel writes every output element, so the buffer is not zero-filled first.
        let mut buf: Arc<[MaybeUninit<T>]> = Arc::new_uninit_slice(len);
        let out = Arc::get_mut(&mut buf)
            .expect("fresh buffer is unique")
            .as_mut_ptr() as *mut T;
        for i in 0..batch {
            let bo = if b_batched { i * k * n } else { 0 };
            // SAFETY: batch i writes elements [i·m·n, (i+1)·m·n) of the fresh `len`-element
            // buffer exactly once; the operands are distinct live slices of the right sizes.
            unsafe {
                gemm_ptr(
                    m,
                    n,
                    k,
                    out.add(i * m * n),
                    &a[i * m * k..(i + 1) * m * k],
                    ta,
                    &b[bo..bo + k * n],
                    tb,
                    false,
                );
            }
        }
        // SAFETY: every element was written above (batch · m · n = len).
        let buf = unsafe { buf.assume_init() };
        Ok(Tensor::from_arc(buf, 0, out_shape))
    }
}

/// Checks operand shapes and returns (output shape, batch count, m, n, k, whether b is batched).
pub(crate) fn matmul_shape(
    a: &Shape,
    b: &Shape,
    ta: bool,
    tb: bool,
) -> Result<(Shape, usize, usize, usize, usize, bool)> {
    let err = |why: &str| {
        Err(shape_err(
            "matmul",
            format!(
                "cannot multiply {a}{} by {b}{}: {why}",
                if ta { "ᵀ" } else { "" },
                if tb { "ᵀ" } else { "" }
            ),
        ))
    };
    if a.ndim() < 2 || b.ndim() < 2 {
        return err("both operands need at least 2 dimensions");
    }
    let (ar, ac) = (a.dim(a.ndim() - 2), a.dim(a.ndim() - 1));
    let (br, bc) = (b.dim(b.ndim() - 2), b.dim(b.ndim() - 1));
    let (m, k) = if ta { (ac, ar) } else { (ar, ac) };
    let (k2, n) = if tb { (bc, br) } else { (br, bc) };
    if k != k2 {
        return err(&format!("inner dimensions {k} and {k2} differ"));
    }
    let a_batch = &a.dims()[..a.ndim() - 2];
    let b_batch = &b.dims()[..b.ndim() - 2];
    let b_batched = !b_batch.is_empty();
    if b_batched && a_batch != b_batch {
        return err("batch dimensions differ");
    }
    let batch: usize = a_batch.iter().product();
    let mut dims = a_batch.to_vec();
    dims.extend([m, n]);
    Ok((Shape::new(&dims)?, batch, m, n, k, b_batched))
}
