//! Feature storage of a [`Dataset`](super::Dataset): the values as they were read (`f32`, or
//! `u8` pixels that stay bytes in memory) and the per-feature standardisation applied when a
//! batch is written out, so no standardised or widened copy of a whole data set is ever kept.

use crate::simd::simd_dispatch;
use std::sync::Arc;

/// Raw feature values, shared (through `Arc`) by a data set and every subset taken from it.
#[derive(Debug)]
pub(crate) enum Store {
    /// Values used as they are.
    F32(Vec<f32>),
    /// Bytes (image pixels): value `b` becomes `b / 255` in `[0, 1]`.
    U8(Vec<u8>),
}

impl Store {
    /// Number of stored values.
    pub(crate) fn len(&self) -> usize {
        match self {
            Store::F32(v) => v.len(),
            Store::U8(v) => v.len(),
        }
    }
}

/// Per-feature `(x - mean) / std`, applied while writing a batch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Affine {
    pub(crate) mean: Vec<f32>,
    pub(crate) std: Vec<f32>,
}

simd_dispatch! {
    /// `b / 255` for every byte of `src` into `dst`: a correctly rounded division (the same bits
    /// whichever way it is computed), in a loop the compiler vectorises for each SIMD instruction
    /// set; the widest this CPU has is chosen at run time.
    fn scale_bytes(dst: &mut [f32], src: &[u8]) {
        for (d, &b) in dst.iter_mut().zip(src) {
            *d = f32::from(b) / 255.0;
        }
    }
}

/// Where a data set's logical rows live in a shared [`Store`].
#[derive(Debug, Clone)]
pub(crate) struct FeatureView {
    pub(crate) store: Arc<Store>,
    /// Physical row of each logical row; `None` means row `i` is stored at `i`.
    pub(crate) rows: Option<Arc<[usize]>>,
    pub(crate) width: usize,
    pub(crate) affine: Option<Arc<Affine>>,
}

impl FeatureView {
    pub(crate) fn physical(&self, row: usize) -> usize {
        self.rows.as_ref().map_or(row, |r| r[row])
    }

    /// True when the stored values are exactly the features (no conversion, reordering or
    /// standardisation), so they can be lent out without a copy.
    pub(crate) fn as_plain_slice(&self) -> Option<&[f32]> {
        match (&*self.store, &self.rows, &self.affine) {
            (Store::F32(v), None, None) => Some(v),
            _ => None,
        }
    }

    /// Writes the features of `rows` (logical indices) into `out`, row after row.
    pub(crate) fn write(&self, rows: &[usize], out: &mut [f32]) {
        let f = self.width;
        assert_eq!(
            out.len(),
            rows.len() * f,
            "output holds {} values, {} rows of {f} features need {}",
            out.len(),
            rows.len(),
            rows.len() * f
        );
        if f == 0 {
            return;
        }
        for (dst, &r) in out.chunks_exact_mut(f).zip(rows) {
            let p = self.physical(r);
            match &*self.store {
                Store::F32(v) => dst.copy_from_slice(&v[p * f..(p + 1) * f]),
                Store::U8(v) => scale_bytes(dst, &v[p * f..(p + 1) * f]),
            }
            if let Some(a) = &self.affine {
                for ((d, m), s) in dst.iter_mut().zip(&a.mean).zip(&a.std) {
                    *d = (*d - m) / s;
                }
            }
        }
    }

    /// The same storage seen through `indices` (logical rows of `self`).
    pub(crate) fn select(&self, indices: &[usize]) -> FeatureView {
        let rows: Arc<[usize]> = indices.iter().map(|&i| self.physical(i)).collect();
        FeatureView {
            rows: Some(rows),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value, at every position of the vector loops and their tails, gives the
    /// bits of the scalar division.
    #[test]
    fn wide_byte_scaling_equals_the_scalar_division() {
        let src: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 256) as u8).collect();
        for len in [0, 1, 15, 16, 17, 63, 64, 65, 255, 1000] {
            let mut dst = vec![f32::NAN; len];
            scale_bytes(&mut dst, &src[..len]);
            for (d, &b) in dst.iter().zip(&src) {
                assert_eq!(
                    d.to_bits(),
                    (f32::from(b) / 255.0).to_bits(),
                    "{b} at length {len}"
                );
            }
        }
    }

    #[test]
    fn bytes_scale_like_a_division_and_views_compose() {
        let bytes: Vec<u8> = (0..=255).collect();
        let v = FeatureView {
            store: Arc::new(Store::U8(bytes)),
            rows: None,
            width: 2,
            affine: None,
        };
        let mut out = [0.0; 4];
        v.write(&[0, 127], &mut out);
        assert_eq!(out, [0.0, 1.0 / 255.0, 254.0 / 255.0, 1.0]);
        let sub = v.select(&[127, 3]).select(&[1, 0]);
        sub.write(&[0, 1], &mut out);
        assert_eq!(out, [6.0 / 255.0, 7.0 / 255.0, 254.0 / 255.0, 1.0]);
        assert!(sub.as_plain_slice().is_none());
        let std = FeatureView {
            affine: Some(Arc::new(Affine {
                mean: vec![1.0, 0.0],
                std: vec![2.0, 1.0],
            })),
            ..v
        };
        let mut one = [0.0; 2];
        std.write(&[127], &mut one);
        assert_eq!(one, [(254.0 / 255.0 - 1.0) / 2.0, 1.0]);
    }

    #[test]
    #[should_panic(expected = "output holds")]
    fn wrong_output_length_panics_with_sizes() {
        let v = FeatureView {
            store: Arc::new(Store::F32(vec![0.0; 4])),
            rows: None,
            width: 2,
            affine: None,
        };
        v.write(&[0, 1], &mut [0.0; 3]);
    }
}
