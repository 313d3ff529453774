//! The three convolution kernels: forward, input gradient (transposed convolution) and weight
//! gradient. Each image is one im2col matrix times the weight, on one thread; images are spread
//! over the kernel threads.

use super::gemm_serial::{gemm_serial, Mat};
use super::im2col::{col2im, im2col};
use super::scratch::{with_scratch, Slot};
use super::ConvGeom;
use crate::tensor::{num_threads, Element, Tensor};

/// Multiply-adds below which a whole batch runs on the calling thread.
const PARALLEL_WORK: usize = 1 << 18;

/// The number of threads worth using for `n` images of `work` multiply-adds in all.
fn threads_for(n: usize, work: usize) -> usize {
    if work < PARALLEL_WORK {
        1
    } else {
        num_threads().min(n).max(1)
    }
}

/// Runs `f(image, out_image)` for every image, over contiguous runs of images per thread.
fn for_images<T: Element>(
    n: usize,
    out: &mut [T],
    per: usize,
    threads: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    if threads <= 1 || n <= 1 {
        for (i, o) in out.chunks_mut(per.max(1)).enumerate().take(n) {
            f(i, o);
        }
        return;
    }
    let imgs = n.div_ceil(threads);
    rayon::scope(|s| {
        for (t, chunk) in out.chunks_mut(imgs * per).enumerate() {
            let f = &f;
            s.spawn(move |_| {
                for (j, o) in chunk.chunks_mut(per).enumerate() {
                    f(t * imgs + j, o);
                }
            });
        }
    });
}

/// `y = conv(x, w)` without bias.
pub(crate) fn conv2d_forward<T: Element>(x: &Tensor<T>, wt: &Tensor<T>, g: &ConvGeom) -> Tensor<T> {
    let (xs, ws) = (x.as_slice(), wt.as_slice());
    let (cg, og, k, p) = (g.cg(), g.og(), g.k(), g.p());
    let plane = g.h * g.w;
    let threads = threads_for(g.n, g.n * g.o * p * k);
    Tensor::from_fn_shape(g.y_shape(), |out| {
        for_images(g.n, out, g.o * p, threads, |i, y| {
            let xi = &xs[i * g.c * plane..(i + 1) * g.c * plane];
            for grp in 0..g.opt.groups {
                let xg = &xi[grp * cg * plane..(grp + 1) * cg * plane];
                let wg = &ws[grp * og * k..(grp + 1) * og * k];
                let yg = &mut y[grp * og * p..(grp + 1) * og * p];
                let prod = |col: &[T], yg: &mut [T]| {
                    // SAFETY: wg is og×k, col is k×p, yg is og×p, all distinct buffers.
                    unsafe { gemm_serial(og, p, k, yg, false, Mat::rows(wg, k), Mat::rows(col, p)) }
                };
                if g.is_pointwise() {
                    prod(xg, yg);
                } else {
                    with_scratch(Slot::Cols, k * p, |col| {
                        im2col(xg, g, col);
                        prod(col, yg);
                    });
                }
            }
        });
    })
}

/// The input gradient `∂L/∂x` from the output gradient `gy`: col = wᵀ·gy, then col2im.
pub(crate) fn conv2d_input_grad<T: Element>(
    gy: &Tensor<T>,
    wt: &Tensor<T>,
    g: &ConvGeom,
) -> Tensor<T> {
    let (gs, ws) = (gy.as_slice(), wt.as_slice());
    let (cg, og, k, p) = (g.cg(), g.og(), g.k(), g.p());
    let plane = g.h * g.w;
    let threads = threads_for(g.n, g.n * g.o * p * k);
    Tensor::from_fn_shape(g.x_shape(), |out| {
        for_images(g.n, out, g.c * plane, threads, |i, xi| {
            let gi = &gs[i * g.o * p..(i + 1) * g.o * p];
            for grp in 0..g.opt.groups {
                let gg = &gi[grp * og * p..(grp + 1) * og * p];
                let wg = &ws[grp * og * k..(grp + 1) * og * k];
                let xg = &mut xi[grp * cg * plane..(grp + 1) * cg * plane];
                let prod = |col: &mut [T]| {
                    // SAFETY: wgᵀ is k×og, gg is og×p, col is k×p, all distinct buffers.
                    unsafe {
                        gemm_serial(k, p, og, col, false, Mat::rows_t(wg, k), Mat::rows(gg, p))
                    }
                };
                if g.is_pointwise() {
                    prod(xg);
                } else {
                    with_scratch(Slot::Cols, k * p, |col| {
                        prod(col);
                        col2im(col, g, xg);
                    });
                }
            }
        });
    })
}

/// Adds the weight gradient of images `range` into `acc` `[O, cg·kh·kw]`.
fn weight_grad_images<T: Element>(
    xs: &[T],
    gs: &[T],
    g: &ConvGeom,
    range: std::ops::Range<usize>,
    acc: &mut [T],
) {
    let (cg, og, k, p) = (g.cg(), g.og(), g.k(), g.p());
    let plane = g.h * g.w;
    for i in range {
        let xi = &xs[i * g.c * plane..(i + 1) * g.c * plane];
        let gi = &gs[i * g.o * p..(i + 1) * g.o * p];
        for grp in 0..g.opt.groups {
            let xg = &xi[grp * cg * plane..(grp + 1) * cg * plane];
            let gg = &gi[grp * og * p..(grp + 1) * og * p];
            let ag = &mut acc[grp * og * k..(grp + 1) * og * k];
            let prod = |col: &[T], ag: &mut [T]| {
                // SAFETY: gg is og×p, colᵀ is p×k, ag is og×k, all distinct buffers.
                unsafe { gemm_serial(og, k, p, ag, true, Mat::rows(gg, p), Mat::rows_t(col, p)) }
            };
            if g.is_pointwise() {
                prod(xg, ag);
            } else {
                with_scratch(Slot::Cols, k * p, |col| {
                    im2col(xg, g, col);
                    prod(col, ag);
                });
            }
        }
    }
}

/// The weight gradient `∂L/∂w` from the input `x` and the output gradient `gy`: a sum over images
/// of gy·colᵀ, one partial sum per thread.
pub(crate) fn conv2d_weight_grad<T: Element>(
    x: &Tensor<T>,
    gy: &Tensor<T>,
    g: &ConvGeom,
) -> Tensor<T> {
    let (xs, gs) = (x.as_slice(), gy.as_slice());
    let len = g.o * g.k();
    let threads = threads_for(g.n, g.n * g.o * g.p() * g.k());
    Tensor::from_fn_shape(g.w_shape(), |out| {
        if threads <= 1 {
            return weight_grad_images(xs, gs, g, 0..g.n, out);
        }
        let imgs = g.n.div_ceil(threads);
        let mut partial: Vec<Vec<T>> = (1..threads).map(|_| vec![T::zero(); len]).collect();
        rayon::scope(|s| {
            let (first, rest) = (&mut *out, &mut partial);
            s.spawn(move |_| weight_grad_images(xs, gs, g, 0..imgs.min(g.n), first));
            for (t, acc) in rest.iter_mut().enumerate() {
                let lo = ((t + 1) * imgs).min(g.n);
                let hi = ((t + 2) * imgs).min(g.n);
                s.spawn(move |_| weight_grad_images(xs, gs, g, lo..hi, acc));
            }
        });
        for acc in &partial {
            for (o, &v) in out.iter_mut().zip(acc) {
                *o += v;
            }
        }
    })
}
