//! im2col and its adjoint col2im for one image and one group: row `(ci, ki, kj)` of the column
//! matrix holds, for every output position, the input value under kernel tap `(ki, kj)` of
//! channel `ci` (zero in the padding).

use super::ConvGeom;
use crate::tensor::Element;

/// The output columns `[lo, hi)` whose input column `ox·s + off` lies inside `0..w`.
#[inline]
fn valid_range(ow: usize, w: usize, s: usize, off: isize) -> (usize, usize) {
    let lo = if off >= 0 { 0 } else { (-off) as usize }.div_ceil(s);
    let room = w as isize - off;
    let hi = if room <= 0 {
        0
    } else {
        (room as usize).div_ceil(s)
    };
    (lo.min(ow), hi.min(ow).max(lo.min(ow)))
}

/// Visits every (column-matrix row, output row) pair with the input row it reads (`None` in the
/// vertical padding) and the horizontal offset of its taps.
#[inline]
fn for_each_row(g: &ConvGeom, mut f: impl FnMut(usize, Option<usize>, isize)) {
    let sh = g.opt.stride[0];
    let [ph, pw] = g.opt.padding;
    let [dh, dw] = g.opt.dilation;
    for ci in 0..g.cg() {
        for ki in 0..g.kh {
            for kj in 0..g.kw {
                let row = (ci * g.kh + ki) * g.kw + kj;
                let off = (kj * dw) as isize - pw as isize;
                for oy in 0..g.oh {
                    let iy = (oy * sh + ki * dh) as isize - ph as isize;
                    let src =
                        (iy >= 0 && (iy as usize) < g.h).then(|| (ci * g.h + iy as usize) * g.w);
                    f(row * g.p() + oy * g.ow, src, off);
                }
            }
        }
    }
}

/// Fills `col` `[cg·kh·kw, oh·ow]` from one group of one image `src` `[cg, h, w]`.
pub(crate) fn im2col<T: Element>(src: &[T], g: &ConvGeom, col: &mut [T]) {
    let (ow, w, sw) = (g.ow, g.w, g.opt.stride[1]);
    for_each_row(g, |at, srow, off| {
        let d = &mut col[at..at + ow];
        let Some(s0) = srow else {
            d.fill(T::zero());
            return;
        };
        let (lo, hi) = valid_range(ow, w, sw, off);
        d[..lo].fill(T::zero());
        d[hi..].fill(T::zero());
        let s = &src[s0..s0 + w];
        if hi == lo {
            // No tap of this row lands inside the image (and `lo + off` may be negative).
            return;
        }
        if sw == 1 {
            let a = (lo as isize + off) as usize;
            d[lo..hi].copy_from_slice(&s[a..a + (hi - lo)]);
        } else {
            for (ox, v) in d[lo..hi].iter_mut().enumerate() {
                *v = s[(((lo + ox) * sw) as isize + off) as usize];
            }
        }
    });
}

/// Adds the column matrix `col` back into one group of one image `dst` `[cg, h, w]`.
pub(crate) fn col2im<T: Element>(col: &[T], g: &ConvGeom, dst: &mut [T]) {
    let (ow, w, sw) = (g.ow, g.w, g.opt.stride[1]);
    for_each_row(g, |at, srow, off| {
        let Some(s0) = srow else { return };
        let (lo, hi) = valid_range(ow, w, sw, off);
        let c = &col[at..at + ow];
        let d = &mut dst[s0..s0 + w];
        if hi == lo {
            // Every tap of this row falls in the padding.
            return;
        }
        if sw == 1 {
            let a = (lo as isize + off) as usize;
            for (x, &v) in d[a..a + (hi - lo)].iter_mut().zip(&c[lo..hi]) {
                *x += v;
            }
        } else {
            for (ox, &v) in c[lo..hi].iter().enumerate() {
                d[(((lo + ox) * sw) as isize + off) as usize] += v;
            }
        }
    });
}
