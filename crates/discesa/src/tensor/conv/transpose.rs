//! Matrix transposes between the kernels' layouts: position-major rows with the channels in the
//! lanes and the channel-major planes of NCHW tensors. 8×8 tiles are transposed in registers,
//! the edges one by one.

/// `dst[c·ds + r] = src[r·ss + c]` for `r < rows`, `c < cols`.
///
/// Panics if `src` or `dst` is too short for those reads and writes.
pub(super) fn transpose(
    src: &[f32],
    ss: usize,
    rows: usize,
    cols: usize,
    dst: &mut [f32],
    ds: usize,
) {
    if rows == 0 || cols == 0 {
        return;
    }
    assert!(ss >= cols && ds >= rows, "rows must not overlap");
    assert!(src.len() >= (rows - 1) * ss + cols && dst.len() >= (cols - 1) * ds + rows);
    let (nr, nc) = (rows / 8 * 8, cols / 8 * 8);
    #[cfg(target_arch = "x86_64")]
    let (nr, nc) = if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX; every tile lies inside both buffers (asserted above).
        unsafe { tiles(src.as_ptr(), ss, dst.as_mut_ptr(), ds, nr, nc) };
        (nr, nc)
    } else {
        (0, 0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let (nr, nc) = (0, 0);
    for r in 0..rows {
        let from = if r < nr { nc } else { 0 };
        for c in from..cols {
            dst[c * ds + r] = src[r * ss + c];
        }
    }
}

/// The 8×8 tiles of [`transpose`] for rows below `nr` and columns below `nc`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn tiles(src: *const f32, ss: usize, dst: *mut f32, ds: usize, nr: usize, nc: usize) {
    use std::arch::x86_64::*;
    // SAFETY: the caller keeps every tile inside both buffers.
    unsafe {
        for r in (0..nr).step_by(8) {
            for c in (0..nc).step_by(8) {
                let ld = |k: usize| _mm256_loadu_ps(src.add((r + k) * ss + c));
                let (r0, r1, r2, r3) = (ld(0), ld(1), ld(2), ld(3));
                let (r4, r5, r6, r7) = (ld(4), ld(5), ld(6), ld(7));
                let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
                let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
                let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
                let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
                let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
                let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
                let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
                let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
                let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
                let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
                let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
                let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
                let st = |k: usize, v: __m256| _mm256_storeu_ps(dst.add((c + k) * ds + r), v);
                st(0, _mm256_permute2f128_ps::<0x20>(u0, u4));
                st(1, _mm256_permute2f128_ps::<0x20>(u1, u5));
                st(2, _mm256_permute2f128_ps::<0x20>(u2, u6));
                st(3, _mm256_permute2f128_ps::<0x20>(u3, u7));
                st(4, _mm256_permute2f128_ps::<0x31>(u0, u4));
                st(5, _mm256_permute2f128_ps::<0x31>(u1, u5));
                st(6, _mm256_permute2f128_ps::<0x31>(u2, u6));
                st(7, _mm256_permute2f128_ps::<0x31>(u3, u7));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element lands where the definition says, with partial tiles on both sides and row
    /// strides wider than the rows; what lies between rows is left alone.
    #[test]
    fn transpose_equals_its_definition() {
        for (rows, cols) in [
            (1, 1),
            (8, 8),
            (13, 20),
            (49, 64),
            (196, 32),
            (5, 3),
            (16, 9),
        ] {
            let (ss, ds) = (cols + 3, rows + 5);
            let src: Vec<f32> = (0..rows * ss).map(|j| j as f32).collect();
            let mut dst = vec![-1.0; cols * ds];
            transpose(&src, ss, rows, cols, &mut dst, ds);
            for c in 0..cols {
                for r in 0..ds {
                    let want = if r < rows { src[r * ss + c] } else { -1.0 };
                    assert_eq!(dst[c * ds + r], want, "{rows}x{cols} at ({c}, {r})");
                }
            }
        }
    }
}
