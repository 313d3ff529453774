//! A direct convolution kernel for f32 on padded rows, AVX-512 or AVX2 + FMA picked at run time.
//!
//! On padded rows (see `shifted`), every tap of a stride-1 convolution reads one contiguous run
//! of each input plane, shifted by the tap's offset. This kernel keeps a block of outputs
//! (`OB` output rows × `PV` vectors of columns) in registers and accumulates over every
//! (input row, tap) pair while loading the shifted runs in place and broadcasting the weights.
//! The gemm route first copied each run into a column matrix and then packed it again: those
//! copies took as long as the products.
//!
//! The operation is `out[o, p] = Σ_{i, t} w(o, i, t) · src[i·plane + off[t] + p]` for every
//! `p < cols`, with the weights addressed by strides so that the same kernel serves the forward
//! convolution and its input gradient (whose weights are the transposed ones).

use super::lanes::{isa, Isa, Lane};
#[cfg(target_arch = "x86_64")]
use super::lanes::{Avx2, Avx512};

/// Columns are computed in whole vectors of this many floats (the widest ISA's width): callers
/// give rows of `out` and `src` this much room past `cols`.
pub(super) const LANES: usize = 16;

/// `cols` rounded up to whole vectors: the row stride callers give `out`.
pub(super) fn padded_cols(cols: usize) -> usize {
    cols.div_ceil(LANES) * LANES
}

/// Weights addressed as `w[o·so + i·si + t]` for output row `o`, input row `i`, tap `t`, or
/// `w[o·so + i·si + tap[t]]` when only some of the kernel's taps are used (one phase of a
/// strided convolution).
#[derive(Clone, Copy)]
pub(super) struct Weights<'a> {
    pub w: &'a [f32],
    pub so: usize,
    pub si: usize,
    pub tap: Option<&'a [usize]>,
}

impl Weights<'_> {
    /// Where tap `t` of an input row's weights is.
    #[inline(always)]
    pub(super) fn at(&self, t: usize) -> usize {
        self.tap.map_or(t, |m| m[t])
    }
}

/// One call's operands: `cout` output rows of `cols` columns (row stride `ostride`) from `cin`
/// input planes `plane` apart in `src`, one shift per tap in `offsets`; added to the outputs
/// with `add`, written over them otherwise.
pub(super) struct Direct<'a> {
    pub src: &'a [f32],
    pub plane: usize,
    pub cin: usize,
    pub offsets: &'a [usize],
    pub weights: Weights<'a>,
    pub cols: usize,
    pub cout: usize,
    pub add: bool,
}

impl Direct<'_> {
    /// Writes `out[o·ostride + p]` for `o < cout`, `p < padded_cols(cols)`; the columns past
    /// `cols` hold values of no meaning.
    ///
    /// Panics if `src` or `out` are too short for the reads and writes this implies.
    pub(super) fn run(&self, out: &mut [f32], ostride: usize) {
        self.check(out, ostride);
        if self.cout > 0 && self.cols > 0 {
            let isa = isa().expect("callers check `available()` first");
            // SAFETY: checked above; `isa()` only names instruction sets this CPU has.
            unsafe { self.run_on(isa, out, ostride) };
        }
    }

    /// The bounds `run` relies on.
    fn check(&self, out: &[f32], ostride: usize) {
        let span = padded_cols(self.cols);
        if self.cout == 0 || self.cols == 0 {
            return;
        }
        assert!(ostride >= span && out.len() >= (self.cout - 1) * ostride + span);
        let max_off = self.offsets.iter().copied().max().unwrap_or(0);
        assert!(self.cin > 0 && self.src.len() >= (self.cin - 1) * self.plane + max_off + span);
        let Weights { w, so, si, tap } = self.weights;
        let taps = self.offsets.len();
        assert!(tap.is_none_or(|m| m.len() == taps));
        let last_tap = (0..taps).map(|t| self.weights.at(t)).max().unwrap_or(0);
        assert!(w.len() > (self.cout - 1) * so + (self.cin - 1) * si + last_tap);
    }

    /// [`Direct::run`] on one instruction set.
    ///
    /// # Safety
    /// [`Direct::check`] passed for these operands and `out`, `cout` and `cols` are not zero,
    /// and this CPU has `isa`.
    unsafe fn run_on(&self, isa: Isa, out: &mut [f32], ostride: usize) {
        // SAFETY: `check` bounds every read of `src` and `w` and every write of `out` that the
        // block loops make; the CPU has the features of `isa`.
        unsafe {
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => run_avx512(self, out.as_mut_ptr(), ostride),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => run_avx2(self, out.as_mut_ptr(), ostride),
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl")]
unsafe fn run_avx512(d: &Direct<'_>, out: *mut f32, ostride: usize) {
    // 4 × 6 accumulators, 6 loaded vectors and a broadcast: 31 of the 32 registers.
    unsafe { run_blocks::<Avx512, 4, 6>(d, out, ostride) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2(d: &Direct<'_>, out: *mut f32, ostride: usize) {
    // 4 × 3 accumulators, 3 loaded vectors and a broadcast: all 16 registers.
    unsafe { run_blocks::<Avx2, 4, 3>(d, out, ostride) }
}

/// Column tiles of `PV` vectors outside (their input runs stay in L1 across the output rows),
/// blocks of `OB` output rows inside; narrower blocks at the right and bottom edges.
#[inline(always)]
unsafe fn run_blocks<L: Lane, const OB: usize, const PV: usize>(
    d: &Direct<'_>,
    out: *mut f32,
    ostride: usize,
) {
    let vectors = padded_cols(d.cols) / L::WIDTH;
    let mut v0 = 0;
    while v0 < vectors {
        let pv = PV.min(vectors - v0);
        let p0 = v0 * L::WIDTH;
        let mut o = 0;
        while o < d.cout {
            let ob = if d.cout - o >= OB { OB } else { 1 };
            // SAFETY: forwarded; (o, p0) is inside the bounds `run` checked.
            unsafe {
                let at = Block {
                    src: d.src.as_ptr().add(p0),
                    w: d.weights.w.as_ptr().add(o * d.weights.so),
                    out: out.add(o * ostride + p0),
                    ostride,
                };
                macro_rules! dispatch {
                    ($ob:expr, $($pv:literal),*) => {
                        match pv {
                            $($pv if $pv <= PV => at.compute::<L, $ob, $pv>(d),)*
                            _ => unreachable!("at most PV vectors"),
                        }
                    };
                }
                if ob == OB {
                    dispatch!(OB, 1, 2, 3, 4, 5, 6);
                } else {
                    dispatch!(1, 1, 2, 3, 4, 5, 6);
                }
            }
            o += ob;
        }
        v0 += pv;
    }
}

/// Where one register block reads and writes.
struct Block {
    src: *const f32,
    w: *const f32,
    out: *mut f32,
    ostride: usize,
}

impl Block {
    /// `OB` output rows × `PV` vectors, accumulated over every input row and tap.
    #[inline(always)]
    unsafe fn compute<L: Lane, const OB: usize, const PV: usize>(&self, d: &Direct<'_>) {
        let Weights { so, si, .. } = d.weights;
        // SAFETY (whole body): the pointers stay inside the bounds `Direct::run` checked.
        unsafe {
            let mut acc = [[L::zero(); PV]; OB];
            if d.add {
                for (o, row) in acc.iter_mut().enumerate() {
                    for (v, a) in row.iter_mut().enumerate() {
                        *a = L::load(self.out.add(o * self.ostride + v * L::WIDTH));
                    }
                }
            }
            for i in 0..d.cin {
                let s = self.src.add(i * d.plane);
                let wi = self.w.add(i * si);
                for (t, &off) in d.offsets.iter().enumerate() {
                    let wt = wi.add(d.weights.at(t));
                    let mut x = [L::zero(); PV];
                    for (v, xv) in x.iter_mut().enumerate() {
                        *xv = L::load(s.add(off + v * L::WIDTH));
                    }
                    for (o, row) in acc.iter_mut().enumerate() {
                        let wv = L::splat(wt.add(o * so));
                        for (a, &xv) in row.iter_mut().zip(&x) {
                            *a = L::fma(wv, xv, *a);
                        }
                    }
                }
            }
            for (o, row) in acc.iter().enumerate() {
                for (v, &a) in row.iter().enumerate() {
                    L::store(self.out.add(o * self.ostride + v * L::WIDTH), a);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel against the sum it defines, on sizes that leave partial tiles and blocks.
    #[test]
    fn direct_kernel_equals_its_definition() {
        let isas = super::super::lanes::cpu_isas();
        if isas.is_empty() {
            eprintln!("skipped: this CPU has neither AVX-512 nor AVX2 with FMA");
        }
        for (cin, cout, plane, cols, offsets) in [
            (3, 5, 40, 21, vec![0, 1, 2, 7, 8, 9]),
            (16, 8, 900, 838, vec![0, 1, 2, 30, 31, 32, 60, 61, 62]),
            (2, 13, 81, 63, vec![0, 10, 20]),
            (1, 1, 20, 1, vec![3]),
        ] {
            let taps = offsets.len();
            let span = padded_cols(cols);
            let max_off = *offsets.iter().max().unwrap();
            let src: Vec<f32> = (0..(cin - 1) * plane + max_off + span)
                .map(|j| ((j * 7919) % 23) as f32 / 23.0 - 0.5)
                .collect();
            let w: Vec<f32> = (0..cout * cin * taps)
                .map(|j| ((j * 104729) % 17) as f32 / 17.0 - 0.5)
                .collect();
            let ostride = span + 3;
            // Reversed taps through a map, added to outputs that start at 1.
            let reversed: Vec<usize> = (0..taps).rev().collect();
            for (&isa, mapped) in isas.iter().flat_map(|i| [(i, false), (i, true)]) {
                let start = if mapped { 1.0 } else { f32::NAN };
                let mut out = vec![start; (cout - 1) * ostride + span];
                let d = Direct {
                    src: &src,
                    plane,
                    cin,
                    offsets: &offsets,
                    weights: Weights {
                        w: &w,
                        so: cin * taps,
                        si: taps,
                        tap: mapped.then_some(&reversed[..]),
                    },
                    cols,
                    cout,
                    add: mapped,
                };
                d.check(&out, ostride);
                // SAFETY: checked; `cpu_isas` lists what this CPU has.
                unsafe { d.run_on(isa, &mut out, ostride) };
                for o in 0..cout {
                    for p in 0..cols {
                        let mut want = if mapped { 1.0 } else { 0.0f64 };
                        for i in 0..cin {
                            for (t, &off) in offsets.iter().enumerate() {
                                let wt = if mapped { reversed[t] } else { t };
                                want += f64::from(w[(o * cin + i) * taps + wt])
                                    * f64::from(src[i * plane + off + p]);
                            }
                        }
                        let got = f64::from(out[o * ostride + p]);
                        assert!(
                            (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                            "{isa:?}: cin {cin} cout {cout} at ({o}, {p}): {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
