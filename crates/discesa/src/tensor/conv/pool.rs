//! Max and average pooling over each `H×W` plane, and the adjoint of average pooling. (The
//! adjoint of max pooling is a scatter with the recorded indices: `Tensor::scatter_add`.)

use super::PoolGeom;
use crate::tensor::{num_threads, Element, Tensor};
use rayon::prelude::*;

/// Elements above which planes are spread over the kernel threads.
const PARALLEL_ELEMENTS: usize = 1 << 15;

/// The window rows (or columns) `[lo, hi)` of output position `o` inside `0..len`.
#[inline]
fn window(o: usize, s: usize, p: usize, k: usize, len: usize) -> (usize, usize) {
    let start = (o * s) as isize - p as isize;
    let lo = start.max(0) as usize;
    let hi = ((start + k as isize).max(0) as usize).min(len);
    (lo, hi.max(lo))
}

/// Runs `f(plane, out_plane)` over every plane of `out`, in parallel when large.
fn for_planes<T: Element>(out: &mut [T], per: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if num_threads() > 1 && out.len() >= PARALLEL_ELEMENTS {
        out.par_chunks_mut(per)
            .enumerate()
            .for_each(|(i, o)| f(i, o));
    } else {
        out.chunks_mut(per).enumerate().for_each(|(i, o)| f(i, o));
    }
}

/// Max pooling; returns the output and each output's argmax `iy·W + ix` within its plane.
pub(crate) fn max_pool2d_forward<T: Element>(
    x: &Tensor<T>,
    g: &PoolGeom,
) -> (Tensor<T>, Vec<usize>) {
    let (xs, plane) = (x.as_slice(), g.h * g.w);
    let per = g.oh * g.ow;
    let [kh, kw] = g.opt.kernel;
    let [sh, sw] = g.opt.stride;
    let [ph, pw] = g.opt.padding;
    let mut idx = vec![0usize; g.n * g.c * per];
    let run = |i: usize, o: &mut [T], ix: &mut [usize]| {
        let src = &xs[i * plane..(i + 1) * plane];
        for oy in 0..g.oh {
            let (y0, y1) = window(oy, sh, ph, kh, g.h);
            for ox in 0..g.ow {
                let (x0, x1) = window(ox, sw, pw, kw, g.w);
                let mut best = y0 * g.w + x0;
                let mut bv = src[best];
                for yy in y0..y1 {
                    for xx in x0..x1 {
                        let v = src[yy * g.w + xx];
                        if v > bv || (v.is_nan() && !bv.is_nan()) {
                            bv = v;
                            best = yy * g.w + xx;
                        }
                    }
                }
                o[oy * g.ow + ox] = bv;
                ix[oy * g.ow + ox] = best;
            }
        }
    };
    let y = Tensor::from_fn_shape(g.y_shape(), |out| {
        if num_threads() > 1 && out.len() >= PARALLEL_ELEMENTS {
            out.par_chunks_mut(per)
                .zip(idx.par_chunks_mut(per))
                .enumerate()
                .for_each(|(i, (o, ix))| run(i, o, ix));
        } else {
            for (i, (o, ix)) in out.chunks_mut(per).zip(idx.chunks_mut(per)).enumerate() {
                run(i, o, ix);
            }
        }
    });
    (y, idx)
}

/// Average pooling with the padding counted as zeros (divisor `kh·kw` everywhere).
pub(crate) fn avg_pool2d_forward<T: Element>(x: &Tensor<T>, g: &PoolGeom) -> Tensor<T> {
    let (xs, plane) = (x.as_slice(), g.h * g.w);
    let [kh, kw] = g.opt.kernel;
    let [sh, sw] = g.opt.stride;
    let [ph, pw] = g.opt.padding;
    let scale = T::one() / T::from_f64((kh * kw) as f64);
    Tensor::from_fn_shape(g.y_shape(), |out| {
        for_planes(out, g.oh * g.ow, |i, o| {
            let src = &xs[i * plane..(i + 1) * plane];
            for oy in 0..g.oh {
                let (y0, y1) = window(oy, sh, ph, kh, g.h);
                for ox in 0..g.ow {
                    let (x0, x1) = window(ox, sw, pw, kw, g.w);
                    let mut s = T::zero();
                    for yy in y0..y1 {
                        s += src[yy * g.w + x0..yy * g.w + x1].iter().copied().sum::<T>();
                    }
                    o[oy * g.ow + ox] = s * scale;
                }
            }
        })
    })
}

/// The adjoint of average pooling: every input gets `1/(kh·kw)` of the gradient of each window
/// that covers it.
pub(crate) fn avg_pool2d_adjoint<T: Element>(gy: &Tensor<T>, g: &PoolGeom) -> Tensor<T> {
    let (gs, per) = (gy.as_slice(), g.oh * g.ow);
    let [kh, kw] = g.opt.kernel;
    let [sh, sw] = g.opt.stride;
    let [ph, pw] = g.opt.padding;
    let scale = T::one() / T::from_f64((kh * kw) as f64);
    Tensor::from_fn_shape(g.x_shape(), |out| {
        for_planes(out, g.h * g.w, |i, d| {
            let src = &gs[i * per..(i + 1) * per];
            for oy in 0..g.oh {
                let (y0, y1) = window(oy, sh, ph, kh, g.h);
                for ox in 0..g.ow {
                    let (x0, x1) = window(ox, sw, pw, kw, g.w);
                    let v = src[oy * g.ow + ox] * scale;
                    for yy in y0..y1 {
                        for e in &mut d[yy * g.w + x0..yy * g.w + x1] {
                            *e += v;
                        }
                    }
                }
            }
        })
    })
}
