//! The weight gradient: for stride 1 in `f32` the kernel with the output channels in the lanes
//! (layers with enough output channels) or the direct correlation kernel, gemm over im2col
//! otherwise.

use super::{channel_lanes_pay, threads_for};
use crate::tensor::conv::direct;
use crate::tensor::conv::gemm_serial::{gemm_serial, gemm_serial_strided, Mat};
use crate::tensor::conv::im2col::im2col;
use crate::tensor::conv::lanes::{self, Isa};
use crate::tensor::conv::scratch::{with_scratch, Slot};
use crate::tensor::conv::shifted::{expand, pad_into, Padded};
use crate::tensor::conv::transpose::transpose;
use crate::tensor::conv::wgrad::Correlate;
use crate::tensor::conv::wgrad_lanes::PairLanes;
use crate::tensor::conv::ConvGeom;
use crate::tensor::{Element, Tensor};

/// Adds the weight gradient of images `range` into `acc` `[O, cg·kh·kw]`.
fn weight_grad_images<T: Element>(
    xs: &[T],
    gs: &[T],
    g: &ConvGeom,
    range: std::ops::Range<usize>,
    acc: &mut [T],
) {
    if let Some(isa) = lanes::isa().filter(|_| g.opt.stride == [1, 1] && !g.is_pointwise()) {
        if let (Some(xf), Some(gf), Some(af)) = (T::as_f32(xs), T::as_f32(gs), T::as_f32_mut(acc)) {
            if channel_lanes_pay(g.og()) {
                return weight_grad_lanes(isa, xf, gf, g, range, af);
            }
            return weight_grad_direct(xf, gf, g, range, af);
        }
    }
    let (cg, og, k, p) = (g.cg(), g.og(), g.k(), g.p());
    let plane = g.h * g.w;
    for i in range {
        let xi = &xs[i * g.c * plane..(i + 1) * g.c * plane];
        let gi = &gs[i * g.o * p..(i + 1) * g.o * p];
        for grp in 0..g.opt.groups {
            let xg = &xi[grp * cg * plane..(grp + 1) * cg * plane];
            let gg = &gi[grp * og * p..(grp + 1) * og * p];
            let ag = &mut acc[grp * og * k..(grp + 1) * og * k];
            weight_grad_group(xg, gg, ag, g);
        }
    }
}

/// Floats of input planes and output-gradient rows the direct weight gradient lays end to end
/// at once (1 MiB, so that they stay in L2 across its blocks).
const WGRAD_FLOATS: usize = 1 << 18;

/// The padded planes of group `grp` of `images` laid end to end in `xb`, one row of `stride`
/// floats per input channel, zeros after the last plane.
fn pad_images_end_to_end(
    xs: &[f32],
    g: &ConvGeom,
    pd: &Padded,
    grp: usize,
    images: std::ops::Range<usize>,
    xb: &mut [f32],
    stride: usize,
) {
    let (cg, hw, plane) = (g.cg(), g.h * g.w, pd.plane());
    for (c, row) in xb.chunks_exact_mut(stride).enumerate() {
        for (b, i) in images.clone().enumerate() {
            let src = &xs[(i * g.c + grp * cg + c) * hw..][..hw];
            pad_into(src, g, pd, &mut row[b * plane..(b + 1) * plane]);
        }
        row[images.len() * plane..].fill(0.0);
    }
}

/// Where each (input channel, tap) pair starts when the channels' padded rows lie `stride`
/// apart: `c·stride + tap`, channel-major as the weight layout.
fn pair_starts(channels: usize, taps: &[usize], stride: usize) -> Vec<usize> {
    (0..channels)
        .flat_map(|c| taps.iter().map(move |&t| c * stride + t))
        .collect()
}

/// Adds the stride-1 weight gradient of images `range` into `acc` by the direct kernel: the
/// padded planes of several images end to end in one row per channel, their output-gradient rows
/// (zero in the unused columns) likewise, and one long dot product per (o, c, tap).
fn weight_grad_direct(
    xs: &[f32],
    gs: &[f32],
    g: &ConvGeom,
    range: std::ops::Range<usize>,
    acc: &mut [f32],
) {
    let pd = Padded::of(g);
    let (cg, og, k, p) = (g.cg(), g.og(), g.k(), g.p());
    let plane = pd.plane();
    let taps: Vec<usize> = pd.tap_offsets(g).collect();
    let max_off = taps.iter().copied().max().unwrap_or(0);
    let per = (WGRAD_FLOATS / ((cg + og) * plane)).max(1);
    for first in (range.start..range.end).step_by(per) {
        let nb = per.min(range.end - first);
        let len = direct::padded_cols(nb * plane);
        let stride = len + max_off;
        let starts = pair_starts(cg, &taps, stride);
        for grp in 0..g.opt.groups {
            with_scratch(Slot::Padded, cg * stride, |xb: &mut [f32]| {
                pad_images_end_to_end(xs, g, &pd, grp, first..first + nb, xb, stride);
                with_scratch(Slot::Grid, og * len, |ga: &mut [f32]| {
                    for (o, row) in ga.chunks_exact_mut(len).enumerate() {
                        for b in 0..nb {
                            let src = &gs[((first + b) * g.o + grp * og + o) * p..][..p];
                            let dst = &mut row[b * plane..(b + 1) * plane];
                            expand(src, g, &pd, &mut dst[..pd.len]);
                            dst[pd.len..].fill(0.0);
                        }
                        row[nb * plane..].fill(0.0);
                    }
                    Correlate {
                        a: ga,
                        astride: len,
                        rows: og,
                        b: xb,
                        starts: &starts,
                        len,
                    }
                    .add_to(&mut acc[grp * og * k..(grp + 1) * og * k], k);
                });
            });
        }
    }
}

/// Adds the stride-1 weight gradient of images `range` into `acc` by the kernel with the output
/// channels in the lanes: the padded planes of several images end to end in one row per input
/// channel, their output gradients transposed to position-major rows, one sum per (input
/// channel, tap) pair over the real positions, transposed into `acc` at the end.
fn weight_grad_lanes(
    isa: Isa,
    xs: &[f32],
    gs: &[f32],
    g: &ConvGeom,
    range: std::ops::Range<usize>,
    acc: &mut [f32],
) {
    let pd = Padded::of(g);
    let (cg, og, k, p) = (g.cg(), g.og(), g.k(), g.p());
    let plane = pd.plane();
    let cpad = og.div_ceil(isa.width()) * isa.width();
    let per = (WGRAD_FLOATS / (cg * plane + p * cpad)).clamp(1, range.len().max(1));
    // Pair (c, tap) of image b at position (oy, ox) reads c·stride + tap + b·plane + oy·wp + ox,
    // inside image b's padded plane.
    let stride = per * plane;
    let taps: Vec<usize> = pd.tap_offsets(g).collect();
    let bases = pair_starts(cg, &taps, stride);
    let wp = pd.wp;
    let pos: Vec<usize> = (0..per)
        .flat_map(|b| {
            (0..g.oh).flat_map(move |oy| (0..g.ow).map(move |ox| b * plane + oy * wp + ox))
        })
        .collect();
    with_scratch(Slot::Cols, k * cpad, |sums: &mut [f32]| {
        for grp in 0..g.opt.groups {
            sums.fill(0.0);
            for first in range.clone().step_by(per) {
                let nb = per.min(range.end - first);
                with_scratch(Slot::Padded, cg * stride, |xb: &mut [f32]| {
                    pad_images_end_to_end(xs, g, &pd, grp, first..first + nb, xb, stride);
                    with_scratch(Slot::Grid, nb * p * cpad, |gt: &mut [f32]| {
                        for (b, rows) in gt.chunks_exact_mut(p * cpad).enumerate() {
                            let gi = &gs[((first + b) * g.o + grp * og) * p..][..og * p];
                            transpose(gi, p, og, p, rows, cpad);
                            if og < cpad {
                                rows.chunks_exact_mut(cpad).for_each(|r| r[og..].fill(0.0));
                            }
                        }
                        PairLanes {
                            src: xb,
                            bases: &bases,
                            pos: &pos[..nb * p],
                            gt,
                            cpad,
                        }
                        .add_to(isa, sums);
                    });
                });
            }
            let ag = &mut acc[grp * og * k..(grp + 1) * og * k];
            for (o, row) in ag.chunks_exact_mut(k).enumerate() {
                for (kk, a) in row.iter_mut().enumerate() {
                    *a += sums[kk * cpad + o];
                }
            }
        }
    });
}

/// Adds one group of one image's weight gradient `gg · cols(xg)ᵀ` into `ag`.
fn weight_grad_group<T: Element>(xg: &[T], gg: &[T], ag: &mut [T], g: &ConvGeom) {
    let (og, k, p) = (g.og(), g.k(), g.p());
    let prod = |gy: &[T], col: &[T], n: usize, ag: &mut [T]| {
        // SAFETY: gy is og×n, colᵀ is n×k, ag is og×k, all distinct buffers.
        unsafe { gemm_serial(og, k, n, ag, true, Mat::rows(gy, n), Mat::rows_t(col, n)) }
    };
    if g.is_pointwise() {
        prod(gg, xg, p, ag);
    } else if g.opt.stride == [1, 1] {
        // Per tap (ki, kj): ∂w[:, :, ki, kj] += grid · xp_shiftedᵀ, the shifted padded planes
        // read in place as a matrix with column stride `plane`: no column matrix at all.
        let pd = Padded::of(g);
        let taps = g.kh * g.kw;
        assert!(ag.len() >= og * k && xg.len() >= g.cg() * g.h * g.w);
        with_scratch(Slot::Padded, g.cg() * pd.plane(), |xp| {
            pad_into(xg, g, &pd, xp);
            with_scratch(Slot::Grid, og * pd.len, |grid| {
                expand(gg, g, &pd, grid);
                for (tap, off) in pd.tap_offsets(g).enumerate() {
                    // SAFETY: grid is og×len; the shifted planes reach xp[off + (cg−1)·plane +
                    // len − 1] < cg·plane; the destination [o, ci·taps + tap] lies in ag (og×k)
                    // and is distinct per (o, ci); the three buffers are distinct.
                    unsafe {
                        gemm_serial_strided(
                            og,
                            g.cg(),
                            pd.len,
                            ag.as_mut_ptr().add(tap),
                            k,
                            taps,
                            true,
                            Mat::rows(grid, pd.len),
                            Mat::strided(xp.as_ptr().add(off), 1, pd.plane()),
                        )
                    }
                }
            });
        });
    } else {
        with_scratch(Slot::Cols, k * p, |col| {
            im2col(xg, g, col);
            prod(gg, col, p, ag);
        });
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
