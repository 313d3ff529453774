//! A direct convolution kernel with the output channels in the vector lanes (f32, AVX-512 or
//! AVX2 + FMA), for layers with many channels on small planes.
//!
//! The padded-row kernel (`direct`) puts output columns in the lanes: on a 7×7 plane with
//! padded rows of 9 it computes 64 columns for 49 outputs, and its loads of shifted runs
//! straddle cache lines. Here a register block is `PX` output positions × `CV` vectors of output
//! channels: each (input channel, tap) step loads `CV` vectors of packed weights (aligned) and
//! broadcasts one input value per position, and only the real positions are computed. The
//! outputs come out position-major, `[positions, cpad]`, for the caller to transpose.
//!
//! The operation is `out[j, o] = Σ_{i, t} w(o, i, t) · src[i·plane + off[t] + pos[j]]`.

use super::direct::Weights;
use super::lanes::{vector_blocks, Isa, Lane};
#[cfg(target_arch = "x86_64")]
use super::lanes::{Avx2, Avx512};
use super::transpose::transpose;

/// A cache line of floats: the packed weights' unit, so every packed row starts on a line.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([f32; 16]);

/// Weights packed as `[cin, taps, cpad]`: for each (input channel, tap) the weights of every
/// output channel side by side, zero from `cout` to `cpad` (a whole number of vectors).
pub(super) struct Packed {
    lines: Vec<Line>,
    cin: usize,
    taps: usize,
    cout: usize,
    cpad: usize,
    isa: Isa,
}

impl Packed {
    /// Packs `w(o, i, t)` (addressed as [`Weights`] says) for `isa`'s vector width.
    pub(super) fn new(isa: Isa, w: &Weights<'_>, cin: usize, cout: usize, taps: usize) -> Self {
        let cpad = cout.div_ceil(isa.width()) * isa.width();
        let len = cin * taps * cpad;
        let mut lines = vec![Line([0.0; 16]); len.div_ceil(16)];
        let flat = Self::floats_mut(&mut lines);
        for i in 0..cin {
            for t in 0..taps {
                let row = &mut flat[(i * taps + t) * cpad..][..cout];
                for (o, v) in row.iter_mut().enumerate() {
                    *v = w.w[o * w.so + i * w.si + w.at(t)];
                }
            }
        }
        Packed {
            lines,
            cin,
            taps,
            cout,
            cpad,
            isa,
        }
    }

    fn floats_mut(lines: &mut [Line]) -> &mut [f32] {
        // SAFETY: `Line` is 16 `f32` with no padding (repr(C), size 64).
        unsafe {
            std::slice::from_raw_parts_mut(lines.as_mut_ptr().cast::<f32>(), lines.len() * 16)
        }
    }

    fn floats(&self) -> &[f32] {
        // SAFETY: as in `floats_mut`.
        unsafe {
            std::slice::from_raw_parts(self.lines.as_ptr().cast::<f32>(), self.lines.len() * 16)
        }
    }

    /// The row stride of the outputs: `cout` rounded up to whole vectors.
    pub(super) fn cpad(&self) -> usize {
        self.cpad
    }
}

/// One call's operands: `w.cin` input planes `plane` apart in `src`, one shift per tap in
/// `offsets` (as many as the packed taps), outputs at the positions `pos`; added to `out` with
/// `add`, written over it otherwise.
pub(super) struct ChannelLanes<'a> {
    pub src: &'a [f32],
    pub plane: usize,
    pub offsets: &'a [usize],
    pub pos: &'a [usize],
    pub w: &'a Packed,
    pub add: bool,
}

/// Input channels per pass over the positions. Each pass after the first reloads and stores
/// every accumulator of the call's outputs, which outgrow L1 from about 128 positions of 64
/// channels on; there the weights of up to 256 KiB stream from L2 instead (4 vector loads per
/// 24 FMAs; one pass was 2 % faster on 64 channels of 14×14), and below that a pass keeps its
/// ~24 KiB of packed weights in L1.
fn channels_per_pass(w: &Packed, positions: usize) -> usize {
    let budget = if positions >= 128 { 256 } else { 24 } * 1024;
    (budget / (w.taps * w.cpad * 4).max(1)).clamp(1, w.cin.max(1))
}

impl ChannelLanes<'_> {
    /// Writes (or adds to) `out[j·cpad + o]` for every position `j` and `o < cpad`; the
    /// channels from `cout` on hold zeros (or what they held, with `add`).
    ///
    /// Panics if `src` or `out` are too short for the reads and writes this implies.
    pub(super) fn run(&self, out: &mut [f32]) {
        self.check(out);
        if !self.pos.is_empty() && self.w.cin > 0 {
            // SAFETY: checked; the packed weights were made for an instruction set this CPU has.
            unsafe { self.run_on(out) };
        }
    }

    fn check(&self, out: &[f32]) {
        assert_eq!(self.offsets.len(), self.w.taps);
        assert!(out.len() >= self.pos.len() * self.w.cpad);
        if self.pos.is_empty() || self.w.cin == 0 {
            return;
        }
        let far = self.pos.iter().max().unwrap() + self.offsets.iter().max().unwrap_or(&0);
        assert!(self.src.len() > (self.w.cin - 1) * self.plane + far);
    }

    /// # Safety
    /// [`ChannelLanes::check`] passed, there are positions and input channels, and the CPU has
    /// the packed weights' instruction set.
    unsafe fn run_on(&self, out: &mut [f32]) {
        let out = out.as_mut_ptr();
        // SAFETY: forwarded.
        unsafe {
            match self.w.isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => run_avx512(self, out),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => run_avx2(self, out),
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl")]
unsafe fn run_avx512(d: &ChannelLanes<'_>, out: *mut f32) {
    // Up to 4 channel vectors × 6 positions (24 accumulators, 4 weights, a broadcast); fewer
    // channel vectors take more positions.
    let nv = d.w.cpad / Avx512::WIDTH;
    // SAFETY: forwarded; every column block stays below `cpad`.
    unsafe {
        sweep_columns(d, nv, |v0, left, i0, i1| match left {
            1 => sweep::<Avx512, 1, 8>(d, out, v0, i0, i1),
            2 => sweep::<Avx512, 2, 8>(d, out, v0, i0, i1),
            3 => sweep::<Avx512, 3, 7>(d, out, v0, i0, i1),
            _ => sweep::<Avx512, 4, 6>(d, out, v0, i0, i1),
        })
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2(d: &ChannelLanes<'_>, out: *mut f32) {
    // 2 channel vectors × 6 positions: 12 accumulators, 2 weights, a broadcast.
    let nv = d.w.cpad / Avx2::WIDTH;
    // SAFETY: forwarded; every column block stays below `cpad`.
    unsafe {
        sweep_columns(d, nv, |v0, left, i0, i1| match left {
            1 => sweep::<Avx2, 1, 8>(d, out, v0, i0, i1),
            _ => sweep::<Avx2, 2, 6>(d, out, v0, i0, i1),
        })
    }
}

/// Passes over blocks of input channels, and inside each over blocks of channel vectors:
/// `block(v0, left, i0, i1)` handles vectors from `v0` (`left` of them remain) and returns how
/// many it took.
#[inline(always)]
unsafe fn sweep_columns(
    d: &ChannelLanes<'_>,
    nv: usize,
    mut block: impl FnMut(usize, usize, usize, usize) -> usize,
) {
    let step = channels_per_pass(d.w, d.pos.len());
    let mut i0 = 0;
    while i0 < d.w.cin {
        let i1 = (i0 + step).min(d.w.cin);
        vector_blocks(nv, |v0, left| block(v0, left, i0, i1));
        i0 = i1;
    }
}

/// Every position block for channel vectors `v0..v0 + CV` and input channels `i0..i1`; returns
/// `CV`.
#[inline(always)]
unsafe fn sweep<L: Lane, const CV: usize, const PX: usize>(
    d: &ChannelLanes<'_>,
    out: *mut f32,
    v0: usize,
    i0: usize,
    i1: usize,
) -> usize {
    let n = d.pos.len();
    let load = d.add || i0 > 0;
    let mut j = 0;
    while j < n {
        let px = PX.min(n - j);
        macro_rules! dispatch {
            ($($p:literal),*) => {
                match px {
                    $($p if $p <= PX => block::<L, CV, $p>(d, out, v0, j, i0, i1, load),)*
                    _ => unreachable!("at most PX positions"),
                }
            };
        }
        // SAFETY: forwarded; `j + px ≤ n`.
        unsafe { dispatch!(1, 2, 3, 4, 5, 6, 7, 8) };
        j += px;
    }
    CV
}

/// One register block: positions `j..j + P`, channel vectors `v0..v0 + CV`, accumulated over
/// input channels `i0..i1` and every tap (on top of `out` when `load`).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn block<L: Lane, const CV: usize, const P: usize>(
    d: &ChannelLanes<'_>,
    out: *mut f32,
    v0: usize,
    j: usize,
    i0: usize,
    i1: usize,
    load: bool,
) {
    let (cpad, taps) = (d.w.cpad, d.w.taps);
    // SAFETY (whole body): `check` bounds every position, tap and channel read here, and `out`
    // holds `n · cpad` floats.
    unsafe {
        let o = |p: usize, c: usize| out.add((j + p) * cpad + (v0 + c) * L::WIDTH);
        let mut acc = [[L::zero(); CV]; P];
        if load {
            for (p, row) in acc.iter_mut().enumerate() {
                for (c, a) in row.iter_mut().enumerate() {
                    *a = L::load(o(p, c));
                }
            }
        }
        let src = d.src.as_ptr();
        let mut at = [src; P];
        for (p, a) in at.iter_mut().enumerate() {
            *a = src.add(d.pos[j + p]);
        }
        let w = d.w.floats().as_ptr().add(v0 * L::WIDTH);
        for i in i0..i1 {
            let wi = w.add(i * taps * cpad);
            let si = i * d.plane;
            for (t, &off) in d.offsets.iter().enumerate() {
                let wt = wi.add(t * cpad);
                let mut wv = [L::zero(); CV];
                for (c, v) in wv.iter_mut().enumerate() {
                    *v = L::load(wt.add(c * L::WIDTH));
                }
                for (p, row) in acc.iter_mut().enumerate() {
                    let x = L::splat(at[p].add(si + off));
                    for (a, &wc) in row.iter_mut().zip(&wv) {
                        *a = L::fma(wc, x, *a);
                    }
                }
            }
        }
        for (p, row) in acc.iter().enumerate() {
            for (c, &a) in row.iter().enumerate() {
                L::store(o(p, c), a);
            }
        }
    }
}

/// `out` `[n, cpad]` (position-major, from [`ChannelLanes::run`] with `w`) into `y`
/// `[cout, n]`.
pub(super) fn transpose_out(w: &Packed, out: &[f32], n: usize, y: &mut [f32]) {
    transpose(out, w.cpad, n, w.cout, y, n);
}

#[cfg(test)]
mod tests {
    use super::super::lanes::cpu_isas;
    use super::*;

    /// The kernel against the sum it defines, for channel counts that leave partial vectors
    /// and position counts that leave partial blocks, written and added.
    #[test]
    fn channel_lanes_kernel_equals_its_definition() {
        for (cin, cout, plane, offsets, npos) in [
            (3, 64, 81, vec![0, 1, 2, 9, 10, 11, 18, 19, 20], 49),
            (40, 32, 256, vec![0, 1, 2, 16, 17, 18, 32, 33, 34], 196),
            (5, 20, 50, vec![0, 7], 13),
            (2, 88, 30, vec![3], 1),
            // Several passes over the input channels: below and above 128 positions.
            (24, 64, 100, vec![0, 1, 2, 10, 11, 12, 20, 21, 22], 60),
            (120, 64, 196, vec![0, 1, 2, 14, 15, 16, 28, 29, 30], 130),
        ] {
            let taps = offsets.len();
            let max_off = *offsets.iter().max().unwrap();
            let pos: Vec<usize> = (0..npos).map(|j| (j * 5) % (plane - max_off)).collect();
            let src: Vec<f32> = (0..cin * plane)
                .map(|j| ((j * 7919) % 23) as f32 / 23.0 - 0.5)
                .collect();
            let w: Vec<f32> = (0..cout * cin * taps)
                .map(|j| ((j * 104729) % 17) as f32 / 17.0 - 0.5)
                .collect();
            let reversed: Vec<usize> = (0..taps).rev().collect();
            for (&isa, add) in cpu_isas().iter().flat_map(|i| [(i, false), (i, true)]) {
                let weights = Weights {
                    w: &w,
                    so: cin * taps,
                    si: taps,
                    tap: add.then_some(&reversed[..]),
                };
                let packed = Packed::new(isa, &weights, cin, cout, taps);
                let cpad = packed.cpad();
                assert!(cpad >= cout && cpad.is_multiple_of(isa.width()));
                let start = if add { 1.0 } else { f32::NAN };
                let mut out = vec![start; npos * cpad];
                ChannelLanes {
                    src: &src,
                    plane,
                    offsets: &offsets,
                    pos: &pos,
                    w: &packed,
                    add,
                }
                .run(&mut out);
                for (j, &at) in pos.iter().enumerate() {
                    for o in 0..cpad {
                        let mut want = if add { 1.0 } else { 0.0f64 };
                        for i in 0..cin {
                            for (t, &off) in offsets.iter().enumerate() {
                                let wt = if add { reversed[t] } else { t };
                                let wo = if o < cout {
                                    w[(o * cin + i) * taps + wt]
                                } else {
                                    0.0
                                };
                                want += f64::from(wo) * f64::from(src[i * plane + off + at]);
                            }
                        }
                        let got = f64::from(out[j * cpad + o]);
                        assert!(
                            (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                            "{isa:?}: cin {cin} cout {cout} at ({j}, {o}): {got} vs {want}"
                        );
                    }
                }
                let mut y = vec![0.0; cout * npos];
                transpose_out(&packed, &out, npos, &mut y);
                for j in 0..npos {
                    for o in 0..cout {
                        assert_eq!(y[o * npos + j], out[j * cpad + o]);
                    }
                }
            }
        }
    }
}
