//! The input gradient (transposed convolution): the direct kernels for stride 1 in `f32`, col2im
//! over gemm otherwise.

use super::{channel_lanes_pay, threads_for};
use crate::tensor::conv::channels::{self, ChannelLanes, Packed};
use crate::tensor::conv::direct::{self, Direct, Weights};
use crate::tensor::conv::gemm_serial::{gemm_serial, Mat};
use crate::tensor::conv::im2col::col2im;
use crate::tensor::conv::lanes;
use crate::tensor::conv::scratch::{with_scratch, Slot};
use crate::tensor::conv::shifted::{add_shifted_cols, crop, expand, Padded};
use crate::tensor::conv::ConvGeom;
use crate::tensor::{for_images, Element, Tensor};

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
    let channels = InputGradChannels::plan(g, ws);
    // The padded-row and pointwise paths write each input-gradient element; col2im adds into
    // zeros.
    let fill = |out: &mut [T]| {
        for_images(g.n, out, g.c * plane, threads, |i, xi| {
            let gi = &gs[i * g.o * p..(i + 1) * g.o * p];
            for grp in 0..g.opt.groups {
                let gg = &gi[grp * og * p..(grp + 1) * og * p];
                let wg = &ws[grp * og * k..(grp + 1) * og * k];
                let xg = &mut xi[grp * cg * plane..(grp + 1) * cg * plane];
                let ch = channels.as_ref().map(|c| (&c.pos[..], &c.packed[grp]));
                input_grad_group(gg, wg, xg, g, ch);
            }
        });
    };
    if g.is_pointwise() || g.opt.stride == [1, 1] {
        Tensor::from_fn_overwrite(g.x_shape(), fill)
    } else {
        Tensor::from_fn_shape(g.x_shape(), fill)
    }
}

/// The stride-1 f32 input gradient with input channels in the lanes: where each input sits on
/// the kernel's grid and the transposed weights of each group, packed once per call.
struct InputGradChannels {
    pos: Vec<usize>,
    packed: Vec<Packed>,
}

impl InputGradChannels {
    fn plan<T: Element>(g: &ConvGeom, w: &[T]) -> Option<Self> {
        let w = T::as_f32(w)?;
        let isa = lanes::isa()?;
        if g.is_pointwise() || g.opt.stride != [1, 1] {
            return None;
        }
        let pd = Padded::of(g);
        if !channel_lanes_pay(g.cg()) {
            return None;
        }
        let pw = g.opt.padding[1];
        let pos = (0..g.h)
            .flat_map(|y| (0..g.w).map(move |x| y * pd.wp + pw + x))
            .collect();
        let taps = g.kh * g.kw;
        let packed = (0..g.opt.groups)
            .map(|grp| {
                let weights = Weights {
                    w: &w[grp * g.og() * g.k()..(grp + 1) * g.og() * g.k()],
                    so: taps,
                    si: g.k(),
                    tap: None,
                };
                Packed::new(isa, &weights, g.og(), g.cg(), taps)
            })
            .collect();
        Some(InputGradChannels { pos, packed })
    }
}

/// One group of one image of the input gradient: `xg = col2im(wgᵀ · gg)`; `channels` (the
/// positions and packed weights of an [`InputGradChannels`]) takes the channel-lanes kernel.
fn input_grad_group<T: Element>(
    gg: &[T],
    wg: &[T],
    xg: &mut [T],
    g: &ConvGeom,
    channels: Option<(&[usize], &Packed)>,
) {
    let (og, k, p) = (g.og(), g.k(), g.p());
    let prod = |gy: &[T], n: usize, col: &mut [T]| {
        // SAFETY: wgᵀ is k×og, gy is og×n, col is k×n, all distinct buffers.
        unsafe { gemm_serial(k, n, og, col, false, Mat::rows_t(wg, k), Mat::rows(gy, n)) }
    };
    if g.is_pointwise() {
        prod(gg, p, xg);
    } else if g.opt.stride == [1, 1] {
        let pd = Padded::of(g);
        if lanes::available() {
            if let (Some(gf), Some(wf), Some(xf)) =
                (T::as_f32(gg), T::as_f32(wg), T::as_f32_mut(xg))
            {
                return input_grad_direct(gf, wf, xf, g, &pd, channels);
            }
        }
        with_scratch(Slot::Grid, og * pd.len, |grid| {
            expand(gg, g, &pd, grid);
            with_scratch(Slot::Cols, k * pd.len, |col| {
                prod(grid, pd.len, col);
                with_scratch(Slot::Padded, g.cg() * pd.plane(), |xp| {
                    xp.fill(T::zero());
                    add_shifted_cols(col, g, &pd, xp);
                    crop(xp, g, &pd, xg);
                });
            });
        });
    } else {
        with_scratch(Slot::Cols, k * p, |col| {
            prod(gg, p, col);
            col2im(col, g, xg);
        });
    }
}

/// The stride-1 input gradient of one group by the direct kernel: the padded input
/// `xp[c, u] = Σ_{o, t} w[o, c, t] · grid[o, u − off_t]` is a correlation of the output gradient
/// on padded rows (with `max_off` zeros on both sides) with the transposed weights and the
/// mirrored offsets `max_off − off_t`. Only the rows inside the padding are computed.
fn input_grad_direct(
    gg: &[f32],
    wg: &[f32],
    xg: &mut [f32],
    g: &ConvGeom,
    pd: &Padded,
    channels: Option<(&[usize], &Packed)>,
) {
    let (og, cg, p) = (g.og(), g.cg(), g.p());
    let taps: Vec<usize> = pd.tap_offsets(g).collect();
    let max_off = taps.iter().copied().max().unwrap_or(0);
    let offsets: Vec<usize> = taps.iter().map(|&t| max_off - t).collect();
    let row = pd.len + 2 * max_off;
    let [ph, pw] = g.opt.padding;
    let (first, cols) = (ph * pd.wp, g.h * pd.wp);
    let span = direct::padded_cols(cols);
    with_scratch(
        Slot::Grid,
        og * row + direct::LANES,
        |grid: &mut [f32]| {
            for (o, r) in grid[..og * row].chunks_exact_mut(row).enumerate() {
                r[..max_off].fill(0.0);
                expand(
                    &gg[o * p..(o + 1) * p],
                    g,
                    pd,
                    &mut r[max_off..max_off + pd.len],
                );
                r[max_off + pd.len..].fill(0.0);
            }
            grid[og * row..].fill(0.0);
            if let Some((pos, w)) = channels {
                return with_scratch(Slot::Padded, pos.len() * w.cpad(), |out: &mut [f32]| {
                    ChannelLanes {
                        src: &grid[first..],
                        plane: row,
                        offsets: &offsets,
                        pos,
                        w,
                        add: false,
                    }
                    .run(out);
                    channels::transpose_out(w, out, pos.len(), xg);
                });
            }
            with_scratch(Slot::Padded, cg * span, |xp: &mut [f32]| {
                Direct {
                    src: &grid[first..],
                    plane: row,
                    cin: og,
                    offsets: &offsets,
                    weights: Weights {
                        w: wg,
                        so: taps.len(),
                        si: g.k(),
                        tap: None,
                    },
                    cols,
                    cout: cg,
                    add: false,
                }
                .run(xp, span);
                for (src, dst) in xp.chunks_exact(span).zip(xg.chunks_exact_mut(g.h * g.w)) {
                    for (sr, dr) in src[..cols]
                        .chunks_exact(pd.wp)
                        .zip(dst.chunks_exact_mut(g.w))
                    {
                        dr.copy_from_slice(&sr[pw..pw + g.w]);
                    }
                }
            });
        },
    );
}
