//! The direct weight-gradient kernel of stride-1 convolutions (f32, AVX-512 or AVX2 + FMA).
//!
//! The weight gradient is a sum over every output position of every image:
//! `∂w[o, c, t] = Σ_q g[o, q] · x[c, q + off_t]`, with the output gradient `g` on padded rows
//! (zero in the unused columns) and the input `x` zero-padded. Laying several images' planes end
//! to end in one row per channel turns it into long dot products. This kernel keeps a block of
//! `OB` output channels × `JB` (channel, tap) pairs of vector partial sums in registers over the
//! whole row and reads the shifted input in place. The gemm route made nine small products per
//! image, each packing both operands again.

use super::lanes::{isa, Isa, Lane};
#[cfg(target_arch = "x86_64")]
use super::lanes::{Avx2, Avx512};

/// One call's operands: `rows` rows of `a` (`astride` apart) against the runs of `b` that start
/// at `starts[j]`, each `len` long (a whole number of 16-float vectors).
pub(super) struct Correlate<'a> {
    pub a: &'a [f32],
    pub astride: usize,
    pub rows: usize,
    pub b: &'a [f32],
    pub starts: &'a [usize],
    pub len: usize,
}

impl Correlate<'_> {
    /// Adds `Σ_{q < len} a[o·astride + q] · b[starts[j] + q]` to `out[o·so + j]`.
    ///
    /// Panics if an operand is too short for the reads and writes this implies or `len` is not
    /// a multiple of 16.
    pub(super) fn add_to(&self, out: &mut [f32], so: usize) {
        self.check(out, so);
        if self.rows > 0 && !self.starts.is_empty() && self.len > 0 {
            let isa = isa().expect("callers check `lanes::available()` first");
            // SAFETY: checked above; `isa()` only names instruction sets this CPU has.
            unsafe { self.add_on(isa, out, so) };
        }
    }

    /// The bounds `add_to` relies on.
    fn check(&self, out: &[f32], so: usize) {
        assert!(self.len.is_multiple_of(16));
        if self.rows == 0 || self.starts.is_empty() {
            return;
        }
        assert!(
            self.astride >= self.len && self.a.len() >= (self.rows - 1) * self.astride + self.len
        );
        let last = self.starts.iter().copied().max().unwrap_or(0);
        assert!(self.b.len() >= last + self.len);
        assert!(so >= self.starts.len() && out.len() >= (self.rows - 1) * so + self.starts.len());
    }

    /// [`Correlate::add_to`] on one instruction set.
    ///
    /// # Safety
    /// [`Correlate::check`] passed, no size is zero, and this CPU has `isa`.
    unsafe fn add_on(&self, isa: Isa, out: &mut [f32], so: usize) {
        // SAFETY: forwarded from the caller.
        unsafe {
            match isa {
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => add_avx512(self, out.as_mut_ptr(), so),
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => add_avx2(self, out.as_mut_ptr(), so),
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl")]
unsafe fn add_avx512(c: &Correlate<'_>, out: *mut f32, so: usize) {
    // 4 × 6 accumulators, 4 rows of `a` and one run of `b`: 29 of the 32 registers.
    unsafe { add_blocks::<Avx512, 4, 6>(c, out, so) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn add_avx2(c: &Correlate<'_>, out: *mut f32, so: usize) {
    // 2 × 5 accumulators, 2 rows of `a` and one run of `b`: 13 of the 16 registers.
    unsafe { add_blocks::<Avx2, 2, 5>(c, out, so) }
}

/// Blocks of `JB` pairs outside, `OB` rows inside, narrower blocks at the edges.
#[inline(always)]
unsafe fn add_blocks<L: Lane, const OB: usize, const JB: usize>(
    c: &Correlate<'_>,
    out: *mut f32,
    so: usize,
) {
    let pairs = c.starts.len();
    let mut j = 0;
    while j < pairs {
        let jb = JB.min(pairs - j);
        let mut o = 0;
        while o < c.rows {
            let ob = if c.rows - o >= OB { OB } else { 1 };
            let starts = &c.starts[j..j + jb];
            // SAFETY: forwarded; rows o..o+ob and pairs j..j+jb are inside the checked bounds.
            unsafe {
                let a = c.a.as_ptr().add(o * c.astride);
                let dst = out.add(o * so + j);
                macro_rules! dispatch {
                    ($ob:expr, $($jb:literal),*) => {
                        match jb {
                            $($jb if $jb <= JB => block::<L, $ob, $jb>(c, a, starts, dst, so),)*
                            _ => unreachable!("at most JB pairs"),
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
        j += jb;
    }
}

/// `OB` rows of `a` at `a` against the `JB` runs at `starts`, added to `dst[o·so + j]`.
#[inline(always)]
unsafe fn block<L: Lane, const OB: usize, const JB: usize>(
    c: &Correlate<'_>,
    a: *const f32,
    starts: &[usize],
    dst: *mut f32,
    so: usize,
) {
    // SAFETY (whole body): the pointers stay inside the bounds `Correlate::check` verified.
    unsafe {
        let mut runs = [c.b.as_ptr(); JB];
        for (r, &s) in runs.iter_mut().zip(starts) {
            *r = r.add(s);
        }
        let mut acc = [[L::zero(); JB]; OB];
        let mut q = 0;
        while q < c.len {
            let mut rows = [L::zero(); OB];
            for (o, r) in rows.iter_mut().enumerate() {
                *r = L::load(a.add(o * c.astride + q));
            }
            for (jj, run) in runs.iter().enumerate() {
                let x = L::load(run.add(q));
                for (o, r) in rows.iter().enumerate() {
                    acc[o][jj] = L::fma(*r, x, acc[o][jj]);
                }
            }
            q += L::WIDTH;
        }
        for (o, row) in acc.iter().enumerate() {
            for (jj, &v) in row.iter().enumerate() {
                *dst.add(o * so + jj) += L::sum(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel against the sums it defines, with partial blocks of rows and pairs.
    #[test]
    fn correlation_equals_its_definition() {
        let isas = super::super::lanes::cpu_isas();
        if isas.is_empty() {
            eprintln!("skipped: this CPU has neither AVX-512 nor AVX2 with FMA");
        }
        for (rows, pairs, len) in [(5, 7, 48), (16, 13, 912), (1, 1, 16), (9, 24, 160)] {
            let astride = len + 5;
            let a: Vec<f32> = (0..rows * astride)
                .map(|j| ((j * 7919) % 29) as f32 / 29.0 - 0.5)
                .collect();
            let starts: Vec<usize> = (0..pairs).map(|j| (j * 37) % 101).collect();
            let b: Vec<f32> = (0..101 + len)
                .map(|j| ((j * 104729) % 31) as f32 / 31.0 - 0.5)
                .collect();
            let so = pairs + 2;
            let c = Correlate {
                a: &a,
                astride,
                rows,
                b: &b,
                starts: &starts,
                len,
            };
            for &isa in &isas {
                let mut out: Vec<f32> = (0..rows * so).map(|j| j as f32).collect();
                c.check(&out, so);
                // SAFETY: checked; `cpu_isas` lists what this CPU has.
                unsafe { c.add_on(isa, &mut out, so) };
                for o in 0..rows {
                    for (j, &s) in starts.iter().enumerate() {
                        let dot: f64 = (0..len)
                            .map(|q| f64::from(a[o * astride + q]) * f64::from(b[s + q]))
                            .sum();
                        let want = (o * so + j) as f64 + dot;
                        let got = f64::from(out[o * so + j]);
                        assert!(
                            (got - want).abs() < 1e-3 * (1.0 + want.abs()),
                            "{isa:?}: rows {rows} pairs {pairs} at ({o}, {j}): {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
