//! Splits element-wise update kernels across rayon workers for large buffers.
//!
//! Every element is updated by the same arithmetic whichever way the buffer is split, so
//! results are bit-identical with and without parallelism.

use super::OptimFloat;
use rayon::prelude::*;

/// Buffers at least this long are updated in parallel.
pub(crate) const PAR_THRESHOLD: usize = 1 << 20;
/// Elements per parallel task: large enough to amortise scheduling, small enough to balance.
const CHUNK: usize = 1 << 16;

/// Runs `f` over `(params, grads)`, in parallel chunks for large buffers.
pub(crate) fn zip2<T: OptimFloat>(p: &mut [T], g: &[T], f: impl Fn(&mut [T], &[T]) + Sync) {
    if p.len() < PAR_THRESHOLD {
        f(p, g);
    } else {
        p.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .for_each(|(p, g)| f(p, g));
    }
}

/// Runs `f` over `(params, grads, state)`, in parallel chunks for large buffers.
pub(crate) fn zip3<T: OptimFloat>(
    p: &mut [T],
    g: &[T],
    a: &mut [T],
    f: impl Fn(&mut [T], &[T], &mut [T]) + Sync,
) {
    if p.len() < PAR_THRESHOLD {
        f(p, g, a);
    } else {
        p.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(a.par_chunks_mut(CHUNK))
            .for_each(|((p, g), a)| f(p, g, a));
    }
}

/// Runs `f` over `(params, grads, state1, state2)`, in parallel chunks for large buffers.
pub(crate) fn zip4<T: OptimFloat>(
    p: &mut [T],
    g: &[T],
    a: &mut [T],
    b: &mut [T],
    f: impl Fn(&mut [T], &[T], &mut [T], &mut [T]) + Sync,
) {
    if p.len() < PAR_THRESHOLD {
        f(p, g, a, b);
    } else {
        p.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(a.par_chunks_mut(CHUNK))
            .zip(b.par_chunks_mut(CHUNK))
            .for_each(|(((p, g), a), b)| f(p, g, a, b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_split_matches_serial_bit_for_bit() {
        let n = PAR_THRESHOLD + 12_345;
        let g: Vec<f32> = (0..n).map(|i| ((i % 97) as f32 - 48.0) * 0.013).collect();
        let kernel = |p: &mut [f32], g: &[f32], a: &mut [f32], b: &mut [f32]| {
            for (((p, g), a), b) in p.iter_mut().zip(g).zip(a.iter_mut()).zip(b.iter_mut()) {
                *a = 0.9 * *a + 0.1 * g;
                *b = 0.99 * *b + 0.01 * g * g;
                *p -= 0.01 * *a / (b.sqrt() + 1e-8);
            }
        };
        let (mut p1, mut a1, mut b1) = (vec![1.0f32; n], vec![0.5f32; n], vec![0.25f32; n]);
        let (mut p2, mut a2, mut b2) = (p1.clone(), a1.clone(), b1.clone());
        zip4(&mut p1, &g, &mut a1, &mut b1, kernel);
        kernel(&mut p2, &g, &mut a2, &mut b2);
        assert!(p1.iter().zip(&p2).all(|(x, y)| x.to_bits() == y.to_bits()));
        assert!(b1.iter().zip(&b2).all(|(x, y)| x.to_bits() == y.to_bits()));
        assert_ne!(p1[1], 1.0);
    }
}
