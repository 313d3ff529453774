//! The forward convolution: the direct kernels on padded rows or phase planes in `f32`, an
//! epilogue (bias, shortcut, ReLU) applied as the outputs leave their grid, the gemm routes
//! otherwise.

use super::{channel_lanes_pay, threads_for};
use crate::tensor::conv::channels::{self, ChannelLanes, Packed};
use crate::tensor::conv::direct::{self, Direct, Weights};
use crate::tensor::conv::gemm_serial::{gemm_serial, Mat};
use crate::tensor::conv::im2col::im2col;
use crate::tensor::conv::lanes;
use crate::tensor::conv::scratch::{with_scratch, Slot};
use crate::tensor::conv::shifted::{compact, compact_with, pad_into, shifted_cols, Padded};
use crate::tensor::conv::ConvGeom;
use crate::tensor::{for_images, Element, Tensor};

/// `y = conv(x, w)` without bias.
pub(crate) fn conv2d_forward<T: Element>(x: &Tensor<T>, wt: &Tensor<T>, g: &ConvGeom) -> Tensor<T> {
    conv2d_forward_then(x, wt, g, None)
}

/// What a forward convolution does to each image's output while it is still in cache:
/// `y ← relu?(y + bias[o] (+ skip))`. Evaluation-only networks use it to save a pass.
pub(crate) struct Epilogue<'a, T> {
    /// One value per output channel.
    pub bias: &'a [T],
    /// A tensor of the output's shape added before the ReLU (a residual shortcut).
    pub skip: Option<&'a [T]>,
    pub relu: bool,
}

impl<T: Element> Epilogue<'_, T> {
    /// Whether the bias and the shortcut fit the output of `g`.
    pub(crate) fn fits(&self, g: &ConvGeom) -> bool {
        self.bias.len() == g.o && self.skip.is_none_or(|s| s.len() == g.n * g.o * g.p())
    }

    /// The part for group `grp` of image `i`.
    fn group(&self, i: usize, grp: usize, g: &ConvGeom) -> GroupEpilogue<'_, T> {
        let (og, p) = (g.og(), g.p());
        let first = i * g.o * p + grp * og * p;
        GroupEpilogue {
            bias: &self.bias[grp * og..(grp + 1) * og],
            skip: self.skip.map(|s| &s[first..first + og * p]),
            relu: self.relu,
        }
    }
}

/// An [`Epilogue`] restricted to the `og` output rows of one group of one image.
struct GroupEpilogue<'a, T> {
    bias: &'a [T],
    skip: Option<&'a [T]>,
    relu: bool,
}

impl<T: Element> GroupEpilogue<'_, T> {
    /// The same epilogue on `f32` slices, if `T` is `f32`.
    fn as_f32(&self) -> Option<GroupEpilogue<'_, f32>> {
        Some(GroupEpilogue {
            bias: T::as_f32(self.bias)?,
            skip: match self.skip {
                Some(s) => Some(T::as_f32(s)?),
                None => None,
            },
            relu: self.relu,
        })
    }

    /// `row ← relu?(row + bias[o] (+ skip[o]))` for output channel `o`'s `p` values.
    #[inline]
    fn finish(&self, o: usize, row: &mut [T], p: usize) {
        let b = self.bias[o];
        match self.skip {
            Some(s) => {
                let s = &s[o * p..(o + 1) * p];
                row.iter_mut().zip(s).for_each(|(v, &r)| *v += b + r);
            }
            None => row.iter_mut().for_each(|v| *v += b),
        }
        if self.relu {
            row.iter_mut().for_each(|v| *v = v.max(T::zero()));
        }
    }

    /// Applies in place to the group's output `y` `[og, oh, ow]`.
    fn apply(&self, y: &mut [T], p: usize) {
        for (o, row) in y.chunks_exact_mut(p).enumerate() {
            self.finish(o, row, p);
        }
    }
}

/// [`conv2d_forward`] followed by an optional [`Epilogue`] on each image.
pub(crate) fn conv2d_forward_then<T: Element>(
    x: &Tensor<T>,
    wt: &Tensor<T>,
    g: &ConvGeom,
    then: Option<&Epilogue<'_, T>>,
) -> Tensor<T> {
    assert!(then.is_none_or(|e| e.fits(g)), "epilogue does not fit");
    let (xs, ws) = (x.as_slice(), wt.as_slice());
    let (cg, og, k, p) = (g.cg(), g.og(), g.k(), g.p());
    let plane = g.h * g.w;
    let threads = threads_for(g.n, g.n * g.o * p * k);
    let plan = DirectForward::plan(g, ws);
    // Every path writes each output element (gemm without accumulation, or a copy).
    Tensor::from_fn_overwrite(g.y_shape(), |out| {
        for_images(g.n, out, g.o * p, threads, |i, y| {
            let xi = &xs[i * g.c * plane..(i + 1) * g.c * plane];
            for grp in 0..g.opt.groups {
                let xg = &xi[grp * cg * plane..(grp + 1) * cg * plane];
                let wg = &ws[grp * og * k..(grp + 1) * og * k];
                let yg = &mut y[grp * og * p..(grp + 1) * og * p];
                let ep = then.map(|e| e.group(i, grp, g));
                let plan = plan.as_ref().map(|p| (p, grp));
                if !forward_group(xg, wg, yg, g, plan, ep.as_ref()) {
                    if let Some(ep) = &ep {
                        ep.apply(yg, p);
                    }
                }
            }
        });
    })
}

/// One group of one image of the forward convolution: `yg = wg · cols(xg)`, by the direct
/// kernel when `plan` is given. Returns whether it also applied `then` (the direct kernel does,
/// while it moves the outputs off its grid).
fn forward_group<T: Element>(
    xg: &[T],
    wg: &[T],
    yg: &mut [T],
    g: &ConvGeom,
    plan: Option<(&DirectForward, usize)>,
    then: Option<&GroupEpilogue<'_, T>>,
) -> bool {
    if let Some((plan, grp)) = plan {
        if let (Some(xf), Some(wf), Some(yf)) = (T::as_f32(xg), T::as_f32(wg), T::as_f32_mut(yg)) {
            let then = then.map(|e| e.as_f32().expect("f32 like the operands"));
            plan.run(xf, wf, yf, g, grp, then.as_ref());
            return true;
        }
    }
    let (og, k, p) = (g.og(), g.k(), g.p());
    let prod = |col: &[T], n: usize, out: &mut [T]| {
        // SAFETY: wg is og×k, col is k×n, out is og×n, all distinct buffers.
        unsafe { gemm_serial(og, n, k, out, false, Mat::rows(wg, k), Mat::rows(col, n)) }
    };
    if g.is_pointwise() {
        prod(xg, p, yg);
    } else if g.opt.stride == [1, 1] {
        let pd = Padded::of(g);
        with_scratch(Slot::Padded, g.cg() * pd.plane(), |xp| {
            pad_into(xg, g, &pd, xp);
            with_scratch(Slot::Cols, k * pd.len, |col| {
                shifted_cols(xp, g, &pd, col);
                with_scratch(Slot::Grid, og * pd.len, |grid| {
                    prod(col, pd.len, grid);
                    compact(grid, pd.len, g, &pd, yg);
                });
            });
        });
    } else {
        with_scratch(Slot::Cols, k * p, |col| {
            im2col(xg, g, col);
            prod(col, p, yg);
        });
    }
    false
}

/// How every image's f32 forward runs on the direct kernels, worked out once per call.
struct DirectForward {
    route: Route,
    /// With output channels in the lanes: where each output sits on the grid, and the packed
    /// weights of each group, one per phase (one phase for stride 1).
    channels: Option<(Vec<usize>, Vec<Vec<Packed>>)>,
}

/// The grid the direct kernels compute on.
enum Route {
    /// Stride 1 on padded rows, with each tap's shift.
    Padded { pd: Padded, offsets: Vec<usize> },
    /// Strided, over phase planes.
    Phases(Phases),
}

impl DirectForward {
    /// `None` where the gemm routes run: `f64`, a CPU without the kernels' instruction sets,
    /// 1x1 stride-1 convolutions (one product), and strided ones `Phases` does not fit.
    fn plan<T: Element>(g: &ConvGeom, w: &[T]) -> Option<Self> {
        let w = T::as_f32(w)?;
        let isa = lanes::isa()?;
        let route = if g.is_pointwise() {
            return None;
        } else if g.opt.stride == [1, 1] {
            let pd = Padded::of(g);
            let offsets = pd.tap_offsets(g).collect();
            Route::Padded { pd, offsets }
        } else if Phases::fit(g) {
            Route::Phases(Phases::of(g))
        } else {
            return None;
        };
        let (wq, taps): (usize, Vec<Vec<usize>>) = match &route {
            Route::Padded { pd, .. } => (pd.wp, vec![(0..g.kh * g.kw).collect()]),
            Route::Phases(ph) => (ph.wq, ph.taps.clone()),
        };
        let channels = channel_lanes_pay(g.og()).then(|| {
            let pos = (0..g.oh)
                .flat_map(|oy| (0..g.ow).map(move |ox| oy * wq + ox))
                .collect();
            let packed = (0..g.opt.groups)
                .map(|grp| {
                    let wg = &w[grp * g.og() * g.k()..(grp + 1) * g.og() * g.k()];
                    taps.iter()
                        .map(|tap| {
                            let weights = Weights {
                                w: wg,
                                so: g.k(),
                                si: g.kh * g.kw,
                                tap: Some(tap),
                            };
                            Packed::new(isa, &weights, g.cg(), g.og(), tap.len())
                        })
                        .collect()
                })
                .collect();
            (pos, packed)
        });
        Some(DirectForward { route, channels })
    }

    /// The forward of group `grp`, `then` applied as the outputs leave the grid.
    fn run(
        &self,
        xg: &[f32],
        wg: &[f32],
        yg: &mut [f32],
        g: &ConvGeom,
        grp: usize,
        then: Option<&GroupEpilogue<'_, f32>>,
    ) {
        let channels = self.channels.as_ref().map(|(pos, packed)| Channels {
            pos,
            packed: &packed[grp],
        });
        match &self.route {
            Route::Padded { pd, offsets } => {
                forward_direct(xg, wg, yg, g, pd, offsets, channels, then)
            }
            Route::Phases(ph) => ph.forward(xg, wg, yg, g, channels, then),
        }
    }
}

/// One group's share of a [`DirectForward`] with output channels in the lanes.
#[derive(Clone, Copy)]
struct Channels<'a> {
    pos: &'a [usize],
    packed: &'a [Packed],
}

impl Channels<'_> {
    /// One pass per phase of the channel kernel over `src` (phases `phase_plane` apart, input
    /// channels `plane` apart), then the outputs transposed into `yg` through `then`.
    #[allow(clippy::too_many_arguments)]
    fn forward(
        &self,
        src: &[f32],
        plane: usize,
        phase_plane: usize,
        offsets: &[impl AsRef<[usize]>],
        g: &ConvGeom,
        yg: &mut [f32],
        then: Option<&GroupEpilogue<'_, f32>>,
    ) {
        let cpad = self.packed[0].cpad();
        let n = self.pos.len();
        with_scratch(Slot::Grid, n * cpad, |out: &mut [f32]| {
            for (phase, (w, offsets)) in self.packed.iter().zip(offsets).enumerate() {
                ChannelLanes {
                    src: &src[phase * phase_plane..],
                    plane,
                    offsets: offsets.as_ref(),
                    pos: self.pos,
                    w,
                    add: phase > 0,
                }
                .run(out);
            }
            channels::transpose_out(&self.packed[0], out, n, yg);
            if let Some(e) = then {
                e.apply(yg, g.p());
            }
        });
    }
}

/// Output rows on a grid of row stride `span` into `yg`, through `then` when there is one.
fn leave_grid(
    grid: &[f32],
    span: usize,
    g: &ConvGeom,
    pd: &Padded,
    yg: &mut [f32],
    then: Option<&GroupEpilogue<'_, f32>>,
) {
    match then {
        Some(e) => compact_with(grid, span, g, pd, yg, |o, row| e.finish(o, row, g.p())),
        None => compact(grid, span, g, pd, yg),
    }
}

/// A strided convolution as stride-1 problems for the direct kernel: the padded input split
/// into `sh·sw` phase planes (every `sh`-th row from row `a`, every `sw`-th column from column
/// `b`); tap `(ki, kj)` reads phase `(ki mod sh, kj mod sw)` shifted by `(ki / sh, kj / sw)`.
/// The phase planes hold each input element once, where im2col copied it once per tap.
struct Phases {
    /// Rows and columns of one phase plane; outputs sit at `oy·wq + ox` in it.
    hq: usize,
    wq: usize,
    /// Per phase `a·sw + b`: the shift of each of its taps, and the tap's index in the kernel.
    offsets: Vec<Vec<usize>>,
    taps: Vec<Vec<usize>>,
}

impl Phases {
    /// Strided, undilated, and every phase has a tap (a 1x1 stride-2 kernel reads one phase of
    /// four: im2col's subsample copies less).
    fn fit(g: &ConvGeom) -> bool {
        let [sh, sw] = g.opt.stride;
        g.opt.dilation == [1, 1] && g.opt.stride != [1, 1] && g.kh >= sh && g.kw >= sw
    }

    fn of(g: &ConvGeom) -> Self {
        let [sh, sw] = g.opt.stride;
        let hq = (g.h + 2 * g.opt.padding[0]).div_ceil(sh);
        let wq = (g.w + 2 * g.opt.padding[1]).div_ceil(sw);
        let mut offsets = vec![Vec::new(); sh * sw];
        let mut taps = vec![Vec::new(); sh * sw];
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let phase = (ki % sh) * sw + kj % sw;
                offsets[phase].push((ki / sh) * wq + kj / sw);
                taps[phase].push(ki * g.kw + kj);
            }
        }
        Phases {
            hq,
            wq,
            offsets,
            taps,
        }
    }

    /// Elements of one phase plane.
    fn plane(&self) -> usize {
        self.hq * self.wq
    }

    /// Writes the phase planes of one group `xg` `[cg, h, w]`: `[cg, sh·sw, hq, wq]`, zero
    /// where the padded input has padding or the plane runs past it.
    fn split(&self, xg: &[f32], g: &ConvGeom, dst: &mut [f32]) {
        let [sh, sw] = g.opt.stride;
        let [ph, pw] = g.opt.padding;
        let hw = g.h * g.w;
        for (src, planes) in xg
            .chunks_exact(hw)
            .zip(dst.chunks_exact_mut(sh * sw * self.plane()))
        {
            for (phase, q) in planes.chunks_exact_mut(self.plane()).enumerate() {
                let (a, b) = (phase / sw, phase % sw);
                for (r, row) in q.chunks_exact_mut(self.wq).enumerate() {
                    let y = (r * sh + a).wrapping_sub(ph);
                    if y >= g.h {
                        row.fill(0.0);
                        continue;
                    }
                    // Columns c0.. read x = c·sw + b − pw = x0, x0 + sw, … while x < w.
                    let c0 = pw.saturating_sub(b).div_ceil(sw);
                    let x0 = c0 * sw + b - pw;
                    let line = &src[y * g.w + x0.min(g.w)..(y + 1) * g.w];
                    let n = line.len().div_ceil(sw).min(self.wq - c0);
                    row[..c0].fill(0.0);
                    for (v, &x) in row[c0..c0 + n].iter_mut().zip(line.iter().step_by(sw)) {
                        *v = x;
                    }
                    row[c0 + n..].fill(0.0);
                }
            }
        }
    }

    /// The forward of one group: one direct-kernel pass per phase, adding into the same grid.
    fn forward(
        &self,
        xg: &[f32],
        wg: &[f32],
        yg: &mut [f32],
        g: &ConvGeom,
        channels: Option<Channels<'_>>,
        then: Option<&GroupEpilogue<'_, f32>>,
    ) {
        let phases = self.offsets.len();
        let planes = g.cg() * phases * self.plane();
        let cols = (g.oh - 1) * self.wq + g.ow;
        let span = direct::padded_cols(cols);
        let max_off = self.offsets.iter().flatten().copied().max().unwrap_or(0);
        // The last plane's runs read up to `max_off + span` past its start.
        with_scratch(Slot::Padded, planes + max_off + span, |xq: &mut [f32]| {
            self.split(xg, g, &mut xq[..planes]);
            xq[planes..].fill(0.0);
            if let Some(ch) = channels {
                let plane = phases * self.plane();
                return ch.forward(xq, plane, self.plane(), &self.offsets, g, yg, then);
            }
            with_scratch(Slot::Grid, g.og() * span, |grid: &mut [f32]| {
                for (phase, (offsets, taps)) in self.offsets.iter().zip(&self.taps).enumerate() {
                    Direct {
                        src: &xq[phase * self.plane()..],
                        plane: phases * self.plane(),
                        cin: g.cg(),
                        offsets,
                        weights: Weights {
                            w: wg,
                            so: g.k(),
                            si: g.kh * g.kw,
                            tap: Some(taps),
                        },
                        cols,
                        cout: g.og(),
                        add: phase > 0,
                    }
                    .run(grid, span);
                }
                let pd = Padded {
                    hp: self.hq,
                    wp: self.wq,
                    len: cols,
                };
                leave_grid(grid, span, g, &pd, yg, then);
            });
        });
    }
}

/// The stride-1 forward of one group by the direct kernel on padded rows (`offsets`: each tap's
/// shift): no column matrix. The outputs leave the padded grid through `then`.
#[allow(clippy::too_many_arguments)]
fn forward_direct(
    xg: &[f32],
    wg: &[f32],
    yg: &mut [f32],
    g: &ConvGeom,
    pd: &Padded,
    offsets: &[usize],
    channels: Option<Channels<'_>>,
    then: Option<&GroupEpilogue<'_, f32>>,
) {
    let planes = g.cg() * pd.plane();
    let span = direct::padded_cols(pd.len);
    // The last plane's final vector reads up to LANES − 1 elements past it.
    with_scratch(Slot::Padded, planes + direct::LANES, |xp: &mut [f32]| {
        pad_into(xg, g, pd, &mut xp[..planes]);
        xp[planes..].fill(0.0);
        if let Some(ch) = channels {
            return ch.forward(
                xp,
                pd.plane(),
                0,
                std::slice::from_ref(&offsets),
                g,
                yg,
                then,
            );
        }
        with_scratch(Slot::Grid, g.og() * span, |grid: &mut [f32]| {
            Direct {
                src: xp,
                plane: pd.plane(),
                cin: g.cg(),
                offsets,
                weights: Weights {
                    w: wg,
                    so: g.k(),
                    si: offsets.len(),
                    tap: None,
                },
                cols: pd.len,
                cout: g.og(),
                add: false,
            }
            .run(grid, span);
            leave_grid(grid, span, g, pd, yg, then);
        });
    });
}
