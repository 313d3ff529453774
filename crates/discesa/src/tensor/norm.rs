//! Batch-norm kernels over `[N, C, S]` views (`S = H·W` for images, 1 for `[N, C]`): the
//! per-channel statistics, the normalising affine map, and the fused first-order backward. Each
//! is one or two passes over the data instead of the eight elementwise ops the composed form
//! takes; the autodiff rule uses the composed form only when it records a gradient graph.

use super::{Element, Tensor};

/// Elements above which a kernel is split over the kernel threads.
const PAR_ELEMENTS: usize = 1 << 15;

/// `[N, C, S]`: images, channels, and values per channel in one image.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChannelView {
    pub n: usize,
    pub c: usize,
    pub s: usize,
}

impl ChannelView {
    /// The view of `[N, C]` or `[N, C, H, W]`; `None` for other ranks.
    pub(crate) fn of(dims: &[usize]) -> Option<Self> {
        match *dims {
            [n, c] => Some(ChannelView { n, c, s: 1 }),
            [n, c, h, w] => Some(ChannelView { n, c, s: h * w }),
            _ => None,
        }
    }

    /// Values per channel over the whole batch.
    pub(crate) fn count(&self) -> usize {
        self.n * self.s
    }

    fn numel(&self) -> usize {
        self.n * self.c * self.s
    }

    fn threads(&self) -> usize {
        if self.numel() < PAR_ELEMENTS {
            1
        } else {
            super::num_threads()
        }
    }

    /// The `S` values of channel `ch` in image `i`.
    #[inline]
    fn at<'a, T>(&self, data: &'a [T], i: usize, ch: usize) -> &'a [T] {
        let o = (i * self.c + ch) * self.s;
        &data[o..o + self.s]
    }
}

/// Width of the lane-wise accumulators: independent partial sums let the compiler vectorise
/// floating-point reductions it must otherwise keep in order.
const LANES: usize = 16;

/// `(Σ f(i), …)` over a slice pair, accumulated lane-wise; `f` returns two terms.
#[inline(always)]
fn sum2<T: Element>(a: &[T], b: &[T], f: impl Fn(T, T) -> (T, T)) -> (T, T) {
    let mut acc0 = [T::zero(); LANES];
    let mut acc1 = [T::zero(); LANES];
    let (ac, bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (ca, cb) in ac.zip(bc) {
        for l in 0..LANES {
            let (u, v) = f(ca[l], cb[l]);
            acc0[l] += u;
            acc1[l] += v;
        }
    }
    let (mut s0, mut s1) = (T::zero(), T::zero());
    for (&x, &y) in ar.iter().zip(br) {
        let (u, v) = f(x, y);
        s0 += u;
        s1 += v;
    }
    for l in 0..LANES {
        s0 += acc0[l];
        s1 += acc1[l];
    }
    (s0, s1)
}

/// `per(ch)` for every channel, the channels split over the kernel threads.
fn map_channels<R: Send + Copy + Default>(
    v: &ChannelView,
    per: impl Fn(usize) -> R + Sync,
) -> Vec<R> {
    let mut out = vec![R::default(); v.c];
    let threads = v.threads().min(v.c);
    if threads <= 1 {
        for (ch, o) in out.iter_mut().enumerate() {
            *o = per(ch);
        }
        return out;
    }
    let chunk = v.c.div_ceil(threads);
    rayon::scope(|s| {
        for (k, part) in out.chunks_mut(chunk).enumerate() {
            let per = &per;
            s.spawn(move |_| {
                for (j, o) in part.iter_mut().enumerate() {
                    *o = per(k * chunk + j);
                }
            });
        }
    });
    out
}

/// `out[i, ch, :] = α·a[i, ch, :] + β·b[i, ch, :] + γ` with `(α, β, γ) = coef[ch]`, images split
/// over the kernel threads; the per-channel coefficients stay out of the inner loop so it
/// vectorises.
fn affine_pairs<T: Element>(v: &ChannelView, a: &[T], b: &[T], coef: &[(T, T, T)]) -> Tensor<T> {
    let threads = v.threads().min(v.n).max(1);
    Tensor::from_fn_overwrite(
        super::Shape::new(&[v.n, v.c, v.s]).expect("three dims"),
        |out| {
            super::for_images(v.n, out, v.c * v.s, threads, |i, img| {
                for (ch, o) in img.chunks_mut(v.s).enumerate() {
                    let (xa, xb) = (v.at(a, i, ch), v.at(b, i, ch));
                    let (al, be, ga) = coef[ch];
                    for ((o, &x), &y) in o.iter_mut().zip(xa).zip(xb) {
                        *o = al * x + be * y + ga;
                    }
                }
            })
        },
    )
}

/// Per-channel mean and biased variance (two passes, partial sums per image gathered in `f64`).
pub(crate) fn channel_stats<T: Element>(x: &[T], v: &ChannelView) -> (Vec<T>, Vec<T>) {
    let count = v.count() as f64;
    let stats = map_channels::<(f64, f64)>(v, |ch| {
        let mut sum = 0.0;
        for i in 0..v.n {
            sum += sum2(v.at(x, i, ch), v.at(x, i, ch), |a, _| (a, T::zero()))
                .0
                .to_f64();
        }
        let mean = sum / count;
        let m = T::from_f64(mean);
        let mut sq = 0.0;
        for i in 0..v.n {
            let xs = v.at(x, i, ch);
            sq += sum2(xs, xs, |a, _| ((a - m) * (a - m), T::zero()))
                .0
                .to_f64();
        }
        (mean, sq / count)
    });
    stats
        .iter()
        .map(|&(m, var)| (T::from_f64(m), T::from_f64(var)))
        .unzip()
}

/// `y[i, ch, :] = x[i, ch, :] · scale[ch] + shift[ch]`, shaped like `x`.
pub(crate) fn channel_affine<T: Element>(
    x: &Tensor<T>,
    v: &ChannelView,
    scale: &[T],
    shift: &[T],
) -> Tensor<T> {
    let xs = x.as_slice();
    let coef: Vec<(T, T, T)> = scale
        .iter()
        .zip(shift)
        .map(|(&a, &c)| (a, T::zero(), c))
        .collect();
    let y = affine_pairs(v, xs, xs, &coef);
    y.reshape(*x.shape()).expect("same number of elements")
}

/// Gradients of `y = x·scale[ch] + shift[ch]` from `g = ∂L/∂y`: `(g·scale, Σ g·x, Σ g)`.
pub(crate) fn channel_affine_backward<T: Element>(
    x: &Tensor<T>,
    g: &Tensor<T>,
    scale: &[T],
    v: &ChannelView,
) -> (Tensor<T>, Vec<T>, Vec<T>) {
    let (xs, gs) = (x.as_slice(), g.as_slice());
    let sums = map_channels::<(f64, f64)>(v, |ch| {
        let (mut sgx, mut sg) = (0.0, 0.0);
        for i in 0..v.n {
            let (a, b) = sum2(v.at(gs, i, ch), v.at(xs, i, ch), |g, x| (g * x, g));
            sgx += a.to_f64();
            sg += b.to_f64();
        }
        (sgx, sg)
    });
    let coef: Vec<(T, T, T)> = scale.iter().map(|&a| (a, T::zero(), T::zero())).collect();
    let gx = affine_pairs(v, gs, gs, &coef);
    let (gscale, gshift) = sums
        .iter()
        .map(|&(a, b)| (T::from_f64(a), T::from_f64(b)))
        .unzip();
    (
        gx.reshape(*x.shape()).expect("same number of elements"),
        gscale,
        gshift,
    )
}

/// The saved per-channel values a training-mode batch norm's backward reads.
#[derive(Clone, Debug)]
pub(crate) struct BatchNormSaved<T> {
    pub mean: Vec<T>,
    pub inv_std: Vec<T>,
    pub eps: T,
}

/// Gradients of a training-mode batch norm `y = (x − μ)·σ⁻¹·γ + β` (μ, σ the batch statistics)
/// from `g = ∂L/∂y`:
/// `∂L/∂β = Σg`, `∂L/∂γ = Σ g·x̂`, `∂L/∂x = γσ⁻¹ (g − mean(g) − x̂·mean(g·x̂))` with
/// `x̂ = (x − μ)σ⁻¹`; the last is `A·g + B·x + C` per channel, one pass after one of sums.
pub(crate) fn batch_norm_backward<T: Element>(
    x: &Tensor<T>,
    g: &Tensor<T>,
    weight: &[T],
    saved: &BatchNormSaved<T>,
    v: &ChannelView,
) -> (Tensor<T>, Vec<T>, Vec<T>) {
    let (xs, gs) = (x.as_slice(), g.as_slice());
    let sums = map_channels::<(f64, f64)>(v, |ch| {
        let m = saved.mean[ch];
        let (mut sg, mut sgx) = (0.0, 0.0);
        for i in 0..v.n {
            let (a, b) = sum2(v.at(gs, i, ch), v.at(xs, i, ch), |g, x| (g, g * (x - m)));
            sg += a.to_f64();
            sgx += b.to_f64();
        }
        (sg, sgx)
    });
    let count = v.count() as f64;
    let mut coef = Vec::with_capacity(v.c);
    let (mut gw, mut gb) = (Vec::with_capacity(v.c), Vec::with_capacity(v.c));
    for (ch, &(sg, sgx)) in sums.iter().enumerate() {
        let inv = saved.inv_std[ch].to_f64();
        let gamma = weight[ch].to_f64();
        let a = gamma * inv;
        let b = -gamma * inv * inv * inv * sgx / count;
        let c = -a * sg / count - b * saved.mean[ch].to_f64();
        coef.push((T::from_f64(a), T::from_f64(b), T::from_f64(c)));
        gb.push(T::from_f64(sg));
        gw.push(T::from_f64(sgx * inv));
    }
    let gx = affine_pairs(v, gs, xs, &coef);
    (
        gx.reshape(*x.shape()).expect("same number of elements"),
        gw,
        gb,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_stats(x: &[f64], v: &ChannelView) -> (Vec<f64>, Vec<f64>) {
        let m = v.count() as f64;
        (0..v.c)
            .map(|ch| {
                let vals: Vec<f64> = (0..v.n).flat_map(|i| v.at(x, i, ch).to_vec()).collect();
                let mean = vals.iter().sum::<f64>() / m;
                let var = vals.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / m;
                (mean, var)
            })
            .unzip()
    }

    #[test]
    fn stats_match_the_definition_on_odd_sizes() {
        // 37 values per channel: lanes and remainder both used.
        let v = ChannelView { n: 3, c: 2, s: 37 };
        let x: Vec<f64> = (0..v.numel())
            .map(|i| ((i * 7919) % 101) as f64 / 10.0 - 3.0)
            .collect();
        let (m, var) = channel_stats(&x, &v);
        let (rm, rvar) = reference_stats(&x, &v);
        for ch in 0..v.c {
            assert!((m[ch] - rm[ch]).abs() < 1e-12, "mean of channel {ch}");
            assert!(
                (var[ch] - rvar[ch]).abs() < 1e-12,
                "variance of channel {ch}"
            );
        }
    }

    #[test]
    fn affine_scales_and_shifts_each_channel() {
        let x = Tensor::<f64>::from_vec((0..12).map(f64::from).collect(), [2, 3, 2]).unwrap();
        let v = ChannelView { n: 2, c: 3, s: 2 };
        let y = channel_affine(&x, &v, &[1.0, 2.0, -1.0], &[0.0, 1.0, 10.0]);
        assert_eq!(
            y.to_vec(),
            vec![0., 1., 5., 7., 6., 5., 6., 7., 17., 19., 0., -1.]
        );
    }
}
