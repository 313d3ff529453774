//! Stride-1 convolutions on a zero-padded copy of the input. With rows of the padded width
//! `wp`, the im2col row of tap `(ci, ki, kj)` over all outputs is one contiguous run of the
//! padded plane, so im2col is one copy and col2im one vector add per row of the column matrix,
//! instead of one short copy per row of every output row. The price is `wp − ow` unused
//! columns per output row, computed by the product and dropped.

use super::ConvGeom;
use crate::tensor::Element;

/// The padded layout of one group of one image: planes `[cg, hp, wp]`, and the column range
/// `len` that covers every output `(oy, ox)` at `oy·wp + ox`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Padded {
    pub hp: usize,
    pub wp: usize,
    pub len: usize,
}

impl Padded {
    /// Only for stride 1, where output rows are `wp` apart in the padded plane.
    pub(super) fn of(g: &ConvGeom) -> Self {
        debug_assert_eq!(g.opt.stride, [1, 1]);
        let hp = g.h + 2 * g.opt.padding[0];
        let wp = g.w + 2 * g.opt.padding[1];
        Padded {
            hp,
            wp,
            len: (g.oh - 1) * wp + g.ow,
        }
    }

    /// Elements of one padded plane.
    pub(super) fn plane(&self) -> usize {
        self.hp * self.wp
    }

    /// The shift of tap `(ki, kj)` inside a padded plane, taps in weight order.
    pub(super) fn tap_offsets<'a>(&'a self, g: &'a ConvGeom) -> impl Iterator<Item = usize> + 'a {
        let [dh, dw] = g.opt.dilation;
        (0..g.kh).flat_map(move |ki| (0..g.kw).map(move |kj| ki * dh * self.wp + kj * dw))
    }

    /// The start of row `k = (ci, ki, kj)` of the column matrix inside the padded group.
    #[inline]
    fn offsets<'a>(&'a self, g: &'a ConvGeom) -> impl Iterator<Item = usize> + 'a {
        let [dh, dw] = g.opt.dilation;
        (0..g.cg()).flat_map(move |ci| {
            (0..g.kh).flat_map(move |ki| {
                (0..g.kw).map(move |kj| ci * self.plane() + ki * dh * self.wp + kj * dw)
            })
        })
    }
}

/// Copies one group `src` `[cg, h, w]` into `dst` `[cg, hp, wp]` with zeros around it.
pub(super) fn pad_into<T: Element>(src: &[T], g: &ConvGeom, pd: &Padded, dst: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if pd.wp <= 16 * MASKED_CHUNKS && matches!(super::lanes::isa(), Some(super::lanes::Isa::Avx512))
    {
        if let (Some(s), Some(d)) = (T::as_f32(src), T::as_f32_mut(dst)) {
            // SAFETY: the CPU has AVX-512 F; the masks keep every access inside its row.
            unsafe { pad_masked_avx512(s, g, pd, d) };
            return;
        }
    }
    let [ph, pw] = g.opt.padding;
    let chunked = pd.wp >= CHUNK && pw <= CHUNK && g.w >= CHUNK;
    for (s, d) in src
        .chunks_exact(g.h * g.w)
        .zip(dst.chunks_exact_mut(pd.plane()))
    {
        let (top, rest) = d.split_at_mut(ph * pd.wp);
        let (rows, bottom) = rest.split_at_mut(g.h * pd.wp);
        zero(top);
        zero(bottom);
        for (sr, dr) in s.chunks_exact(g.w).zip(rows.chunks_exact_mut(pd.wp)) {
            if chunked {
                pad_row_chunked(sr, pw, dr);
            } else {
                dr[..pw].fill(T::zero());
                dr[pw..pw + g.w].copy_from_slice(sr);
                dr[pw + g.w..].fill(T::zero());
            }
        }
    }
}

/// Padded rows up to this many 16-float vectors take the masked AVX-512 route.
#[cfg(target_arch = "x86_64")]
const MASKED_CHUNKS: usize = 4;

/// [`pad_into`] in `f32` with AVX-512: each padded row as whole-vector masked loads and stores,
/// the zeros coming from the lanes masked off the load (one load and one store per 16 columns
/// where the chunked copy took separate zero and copy stores: the padding was 4 % of a 64-channel
/// 14×14 forward).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn pad_masked_avx512(src: &[f32], g: &ConvGeom, pd: &Padded, dst: &mut [f32]) {
    use std::arch::x86_64::*;
    let [ph, pw] = g.opt.padding;
    let (h, w, wp) = (g.h, g.w, pd.wp);
    let chunks = wp.div_ceil(16);
    debug_assert!(chunks <= MASKED_CHUNKS);
    // Lane k of chunk c is padded column q = 16c + k, read from source column q − pw.
    let mut masks = [(0u16, 0u16); MASKED_CHUNKS];
    for (c, m) in masks.iter_mut().enumerate().take(chunks) {
        for k in 0..16 {
            let q = 16 * c + k;
            if q >= pw && q - pw < w {
                m.0 |= 1 << k;
            }
            if q < wp {
                m.1 |= 1 << k;
            }
        }
    }
    for (s, d) in src
        .chunks_exact(h * w)
        .zip(dst.chunks_exact_mut(pd.plane()))
    {
        let (top, rest) = d.split_at_mut(ph * wp);
        let (rows, bottom) = rest.split_at_mut(h * wp);
        zero(top);
        zero(bottom);
        for r in 0..h {
            let sr = s[r * w..].as_ptr();
            let dr = rows[r * wp..].as_mut_ptr();
            for (c, &(load, store)) in masks.iter().enumerate().take(chunks) {
                // SAFETY: the load mask keeps the reads to source columns 0..w of row r, the
                // store mask the writes to padded columns 0..wp of row r; the address of a
                // masked-off lane is never touched.
                unsafe {
                    let v = _mm512_maskz_loadu_ps(load, sr.wrapping_add(16 * c).wrapping_sub(pw));
                    _mm512_mask_storeu_ps(dr.add(16 * c), store, v);
                }
            }
        }
    }
}

/// Elements per fixed-size copy: short rows would otherwise cost a `memcpy` / `memset` call
/// each, which took 5 % of a 64-channel 14×14 forward.
const CHUNK: usize = 8;

/// `dr = [0; pw] ++ sr ++ [0; …]` by fixed-size stores only (`sr.len() ≥ CHUNK`, at most
/// `CHUNK` zeros on either side): the zero chunks at both ends first, then the row in
/// chunks, the last one ending at the row's end (overlapping the one before it).
#[inline(always)]
fn pad_row_chunked<T: Element>(sr: &[T], pw: usize, dr: &mut [T]) {
    let (n, wp) = (sr.len(), dr.len());
    debug_assert!(n >= CHUNK && pw <= CHUNK && wp - pw - n <= CHUNK);
    set_chunk(dr, 0, &[T::zero(); CHUNK]);
    set_chunk(dr, wp - CHUNK, &[T::zero(); CHUNK]);
    copy_row(sr, &mut dr[pw..pw + n]);
}

#[inline(always)]
fn chunk<T: Element>(s: &[T], at: usize) -> &[T; CHUNK] {
    s[at..at + CHUNK].try_into().expect("CHUNK elements")
}

#[inline(always)]
fn set_chunk<T: Element>(d: &mut [T], at: usize, v: &[T; CHUNK]) {
    let d: &mut [T; CHUNK] = (&mut d[at..at + CHUNK]).try_into().expect("CHUNK elements");
    *d = *v;
}

/// `d = s` by fixed-size copies where the row is long enough: output rows of a convnet are 7
/// to 32 elements, and a `memcpy` call per row took 5 % of a plain-20 training step.
#[inline(always)]
fn copy_row<T: Element>(s: &[T], d: &mut [T]) {
    let n = s.len();
    if n < CHUNK {
        d.copy_from_slice(s);
        return;
    }
    assert_eq!(n, d.len(), "rows of equal length");
    let mut i = 0;
    while i + CHUNK <= n {
        set_chunk(d, i, chunk(s, i));
        i += CHUNK;
    }
    if i < n {
        set_chunk(d, n - CHUNK, chunk(s, n - CHUNK));
    }
}

/// Zeros `d`, whole chunks at a time where it is long enough.
fn zero<T: Element>(d: &mut [T]) {
    if d.len() < CHUNK {
        d.fill(T::zero());
        return;
    }
    let n = d.len();
    let mut i = 0;
    while i + CHUNK <= n {
        set_chunk(d, i, &[T::zero(); CHUNK]);
        i += CHUNK;
    }
    if i < n {
        set_chunk(d, n - CHUNK, &[T::zero(); CHUNK]);
    }
}

/// The column matrix `[cg·kh·kw, len]` of a padded group `xp`.
pub(super) fn shifted_cols<T: Element>(xp: &[T], g: &ConvGeom, pd: &Padded, col: &mut [T]) {
    for (row, at) in col.chunks_exact_mut(pd.len).zip(pd.offsets(g)) {
        row.copy_from_slice(&xp[at..at + pd.len]);
    }
}

/// Adds the column matrix `col` back into a padded group `xp` (the adjoint of
/// [`shifted_cols`]).
pub(super) fn add_shifted_cols<T: Element>(col: &[T], g: &ConvGeom, pd: &Padded, xp: &mut [T]) {
    for (row, at) in col.chunks_exact(pd.len).zip(pd.offsets(g)) {
        for (x, &v) in xp[at..at + pd.len].iter_mut().zip(row) {
            *x += v;
        }
    }
}

/// The inside of a padded group `xp` `[cg, hp, wp]` into `dst` `[cg, h, w]`.
pub(super) fn crop<T: Element>(xp: &[T], g: &ConvGeom, pd: &Padded, dst: &mut [T]) {
    let [ph, pw] = g.opt.padding;
    for (s, d) in xp
        .chunks_exact(pd.plane())
        .zip(dst.chunks_exact_mut(g.h * g.w))
    {
        for (sr, dr) in s[ph * pd.wp..]
            .chunks_exact(pd.wp)
            .zip(d.chunks_exact_mut(g.w))
        {
            copy_row(&sr[pw..pw + g.w], dr);
        }
    }
}

/// Output rows on the padded grid `[og, len]` (rows `stride` ≥ `len` apart) into `y`
/// `[og, oh, ow]`, dropping the columns past `ow`.
pub(super) fn compact<T: Element>(
    grid: &[T],
    stride: usize,
    g: &ConvGeom,
    pd: &Padded,
    y: &mut [T],
) {
    for (gr, yr) in grid.chunks(stride).zip(y.chunks_exact_mut(g.p())) {
        for (oy, d) in yr.chunks_exact_mut(g.ow).enumerate() {
            copy_row(&gr[oy * pd.wp..oy * pd.wp + g.ow], d);
        }
    }
}

/// [`compact`], then `finish(o, yr)` on each output channel `o`'s `[oh, ow]` just copied, while
/// it is in L1: a bias, shortcut or ReLU applied on the way out (one call per channel, not per
/// short row, so that it vectorises).
pub(super) fn compact_with<T: Element>(
    grid: &[T],
    stride: usize,
    g: &ConvGeom,
    pd: &Padded,
    y: &mut [T],
    mut finish: impl FnMut(usize, &mut [T]),
) {
    for (o, (gr, yr)) in grid
        .chunks(stride)
        .zip(y.chunks_exact_mut(g.p()))
        .enumerate()
    {
        for (oy, d) in yr.chunks_exact_mut(g.ow).enumerate() {
            copy_row(&gr[oy * pd.wp..oy * pd.wp + g.ow], d);
        }
        finish(o, yr);
    }
}

/// `y` `[og, oh, ow]` onto the padded grid `[og, len]`, zeros in the unused columns (the adjoint
/// of [`compact`]).
pub(super) fn expand<T: Element>(y: &[T], g: &ConvGeom, pd: &Padded, grid: &mut [T]) {
    for (yr, gr) in y.chunks_exact(g.p()).zip(grid.chunks_exact_mut(pd.len)) {
        for (oy, s) in yr.chunks_exact(g.ow).enumerate() {
            let at = oy * pd.wp;
            copy_row(s, &mut gr[at..at + g.ow]);
            let end = (at + pd.wp).min(pd.len);
            gr[at + g.ow..end].fill(T::zero());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_row_equals_zeros_around_the_row() {
        for n in CHUNK..=3 * CHUNK + 1 {
            for pw in 0..=CHUNK {
                let sr: Vec<f32> = (0..n).map(|i| i as f32 + 1.0).collect();
                for extra in (0..3).filter(|e| pw + e <= CHUNK) {
                    let wp = n + 2 * pw + extra;
                    let mut dr = vec![f32::NAN; wp];
                    pad_row_chunked(&sr, pw, &mut dr);
                    let want: Vec<f32> = (0..wp)
                        .map(|j| {
                            if j >= pw && j < pw + n {
                                sr[j - pw]
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    assert_eq!(dr, want, "row {n}, padding {pw}, width {wp}");
                }
            }
        }
    }

    /// The masked AVX-512 route (f32, where the CPU has it) and the chunked one (f64) pad every
    /// width, padding and height alike.
    #[test]
    fn padding_is_the_same_on_every_route() {
        use crate::tensor::{Conv2dOptions, Shape};
        for (h, w, ph, pw) in [
            (14, 14, 1, 1),
            (7, 7, 1, 1),
            (3, 5, 2, 0),
            (5, 28, 1, 1),
            (2, 40, 0, 3),
            (4, 70, 1, 2),
            (1, 1, 3, 3),
        ] {
            let o = Conv2dOptions {
                padding: [ph, pw],
                ..Default::default()
            };
            let x = Shape::from([1, 2, h, w]);
            let g = ConvGeom::new("t", &x, &Shape::from([1, 2, 1, 1]), &o).unwrap();
            let pd = Padded::of(&g);
            let src: Vec<f64> = (0..2 * h * w).map(|i| i as f64 + 1.0).collect();
            let mut want = vec![f64::NAN; 2 * pd.plane()];
            pad_into(&src, &g, &pd, &mut want);
            let src32: Vec<f32> = src.iter().map(|&v| v as f32).collect();
            let mut got = vec![f32::NAN; 2 * pd.plane()];
            pad_into(&src32, &g, &pd, &mut got);
            let got: Vec<f64> = got.iter().map(|&v| f64::from(v)).collect();
            assert_eq!(got, want, "{h}x{w}, padding {ph}, {pw}");
            for c in 0..2 {
                for (r, row) in want[c * pd.plane()..(c + 1) * pd.plane()]
                    .chunks(pd.wp)
                    .enumerate()
                {
                    for (q, &v) in row.iter().enumerate() {
                        let inside = r >= ph && r < ph + h && q >= pw && q < pw + w;
                        let want = if inside {
                            src[c * h * w + (r - ph) * w + (q - pw)]
                        } else {
                            0.0
                        };
                        assert_eq!(v, want, "{h}x{w}, padding {ph}, {pw} at ({c}, {r}, {q})");
                    }
                }
            }
        }
    }

    #[test]
    fn copy_row_copies_every_length() {
        for n in 0..3 * CHUNK + 2 {
            let s: Vec<f64> = (0..n).map(|i| i as f64 - 3.5).collect();
            let mut d = vec![f64::NAN; n];
            copy_row(&s, &mut d);
            assert_eq!(d, s, "length {n}");
        }
    }

    #[test]
    fn zero_clears_every_length() {
        for n in 0..3 * CHUNK {
            let mut d = vec![1.0f64; n];
            zero(&mut d);
            assert!(d.iter().all(|&v| v == 0.0), "length {n}");
        }
    }
}
