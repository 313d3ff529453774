//! The stride-1 weight-gradient kernel with the output channels in the vector lanes (f32,
//! AVX-512 or AVX2 + FMA), for layers with many channels on small planes.
//!
//! [`Correlate`](super::wgrad::Correlate) sums along padded rows in the lanes: on a 7×7 plane
//! padded to 9×9 it multiplies 81 positions for 49 real ones, and ends every dot product with
//! a horizontal sum. Here the output gradient comes transposed to position-major rows
//! `gt` `[positions, cpad]`, and a register block is `PR` (input channel, tap) pairs × `CV`
//! vectors of output channels, summed over the real positions only: each position loads `CV`
//! vectors of `gt` and broadcasts one input value per pair.
//!
//! The operation is `out[k, o] += Σ_j gt[j, o] · src[bases[k] + pos[j]]`.

use super::lanes::{vector_blocks, Isa, Lane};
#[cfg(target_arch = "x86_64")]
use super::lanes::{Avx2, Avx512};

/// One call's operands: pair `k` reads the input at `bases[k] + pos[j]` for position `j`, whose
/// output-gradient row is `gt[j·cpad..(j + 1)·cpad]`.
pub(super) struct PairLanes<'a> {
    pub src: &'a [f32],
    pub bases: &'a [usize],
    pub pos: &'a [usize],
    pub gt: &'a [f32],
    pub cpad: usize,
}

impl PairLanes<'_> {
    /// Adds `Σ_j gt[j, o] · src[bases[k] + pos[j]]` to `out[k·cpad + o]` for every pair `k` and
    /// `o < cpad`.
    ///
    /// Panics if an operand is too short for the reads and writes this implies, or `cpad` is
    /// not a whole number of `isa`'s vectors.
    pub(super) fn add_to(&self, isa: Isa, out: &mut [f32]) {
        self.check(isa, out);
        if !self.pos.is_empty() && !self.bases.is_empty() {
            // SAFETY: checked; callers pass an instruction set this CPU has (`lanes::isa`).
            unsafe {
                match isa {
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx512 => add_avx512(self, out.as_mut_ptr()),
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx2 => add_avx2(self, out.as_mut_ptr()),
                }
            }
        }
    }

    fn check(&self, isa: Isa, out: &[f32]) {
        assert!(self.cpad.is_multiple_of(isa.width()));
        assert!(self.gt.len() >= self.pos.len() * self.cpad);
        assert!(out.len() >= self.bases.len() * self.cpad);
        if self.pos.is_empty() || self.bases.is_empty() {
            return;
        }
        let far = self.bases.iter().max().unwrap() + self.pos.iter().max().unwrap();
        assert!(self.src.len() > far);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl")]
unsafe fn add_avx512(d: &PairLanes<'_>, out: *mut f32) {
    // Up to 4 channel vectors × 6 pairs (24 accumulators, 4 gradient vectors, a broadcast);
    // fewer channel vectors take more pairs.
    // SAFETY: forwarded; every block stays below `cpad` and the pair count.
    vector_blocks(d.cpad / Avx512::WIDTH, |v0, left| unsafe {
        match left {
            1 => pairs::<Avx512, 1, 12>(d, out, v0),
            2 => pairs::<Avx512, 2, 10>(d, out, v0),
            3 => pairs::<Avx512, 3, 7>(d, out, v0),
            _ => pairs::<Avx512, 4, 6>(d, out, v0),
        }
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn add_avx2(d: &PairLanes<'_>, out: *mut f32) {
    // 2 channel vectors × 6 pairs: 12 accumulators, 2 gradient vectors, a broadcast.
    // SAFETY: forwarded; every block stays below `cpad` and the pair count.
    vector_blocks(d.cpad / Avx2::WIDTH, |v0, left| unsafe {
        match left {
            1 => pairs::<Avx2, 1, 12>(d, out, v0),
            _ => pairs::<Avx2, 2, 6>(d, out, v0),
        }
    })
}

/// Every pair block for channel vectors `v0..v0 + CV`; returns `CV`.
#[inline(always)]
unsafe fn pairs<L: Lane, const CV: usize, const PR: usize>(
    d: &PairLanes<'_>,
    out: *mut f32,
    v0: usize,
) -> usize {
    let n = d.bases.len();
    let mut k = 0;
    while k < n {
        let pr = PR.min(n - k);
        macro_rules! dispatch {
            ($($p:literal),*) => {
                match pr {
                    $($p if $p <= PR => block::<L, CV, $p>(d, out, k, v0),)*
                    _ => unreachable!("at most PR pairs"),
                }
            };
        }
        // SAFETY: forwarded; `k + pr ≤ n`.
        unsafe { dispatch!(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) };
        k += pr;
    }
    CV
}

/// One register block: pairs `k0..k0 + P`, channel vectors `v0..v0 + CV`, summed over every
/// position on top of what `out` holds.
#[inline(always)]
unsafe fn block<L: Lane, const CV: usize, const P: usize>(
    d: &PairLanes<'_>,
    out: *mut f32,
    k0: usize,
    v0: usize,
) {
    let cpad = d.cpad;
    // SAFETY (whole body): `check` bounds every pair, position and channel read here, and
    // `out` holds `pairs · cpad` floats.
    unsafe {
        let o = |r: usize, c: usize| out.add((k0 + r) * cpad + (v0 + c) * L::WIDTH);
        let mut acc = [[L::zero(); CV]; P];
        for (r, row) in acc.iter_mut().enumerate() {
            for (c, a) in row.iter_mut().enumerate() {
                *a = L::load(o(r, c));
            }
        }
        let src = d.src.as_ptr();
        let mut at = [src; P];
        for (r, a) in at.iter_mut().enumerate() {
            *a = src.add(d.bases[k0 + r]);
        }
        let mut g = d.gt.as_ptr().add(v0 * L::WIDTH);
        for &q in d.pos {
            let mut gv = [L::zero(); CV];
            for (c, v) in gv.iter_mut().enumerate() {
                *v = L::load(g.add(c * L::WIDTH));
            }
            for (row, &a) in acc.iter_mut().zip(&at) {
                let x = L::splat(a.add(q));
                for (s, &gc) in row.iter_mut().zip(&gv) {
                    *s = L::fma(gc, x, *s);
                }
            }
            g = g.add(cpad);
        }
        for (r, row) in acc.iter().enumerate() {
            for (c, &a) in row.iter().enumerate() {
                L::store(o(r, c), a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lanes::cpu_isas;
    use super::*;

    /// The kernel against the sum it defines, for pair counts that leave partial blocks and
    /// channel counts of one to five vectors.
    #[test]
    fn pair_lanes_kernel_equals_its_definition() {
        for isa in cpu_isas() {
            for (pairs, vectors, npos) in
                [(7, 1, 13), (24, 2, 49), (13, 3, 5), (9, 4, 30), (5, 5, 2)]
            {
                let cpad = vectors * isa.width();
                let bases: Vec<usize> = (0..pairs).map(|k| (k * 37) % 61).collect();
                let pos: Vec<usize> = (0..npos).map(|j| (j * 5) % 40).collect();
                let src: Vec<f32> = (0..101)
                    .map(|j| ((j * 7919) % 23) as f32 / 23.0 - 0.5)
                    .collect();
                let gt: Vec<f32> = (0..npos * cpad)
                    .map(|j| ((j * 104729) % 17) as f32 / 17.0 - 0.5)
                    .collect();
                let mut out: Vec<f32> = (0..pairs * cpad).map(|j| j as f32 / 7.0).collect();
                let before = out.clone();
                PairLanes {
                    src: &src,
                    bases: &bases,
                    pos: &pos,
                    gt: &gt,
                    cpad,
                }
                .add_to(isa, &mut out);
                for k in 0..pairs {
                    for o in 0..cpad {
                        let want = f64::from(before[k * cpad + o])
                            + (0..npos)
                                .map(|j| {
                                    f64::from(gt[j * cpad + o]) * f64::from(src[bases[k] + pos[j]])
                                })
                                .sum::<f64>();
                        let got = f64::from(out[k * cpad + o]);
                        assert!(
                            (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                            "{isa:?}: {pairs} pairs, {vectors} vectors at ({k}, {o}): {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
