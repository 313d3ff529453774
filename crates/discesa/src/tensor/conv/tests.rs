//! The kernels against naive loops written straight from the definitions, and the adjoint
//! identities `⟨conv(x, w), g⟩ = ⟨x, input_grad(g, w)⟩ = ⟨w, weight_grad(x, g)⟩`.

use super::*;
use proptest::prelude::*;

/// The definition: `y[n,o,oy,ox] = Σ w[o,ci,ki,kj] · x[n, grp·cg+ci, oy·s+ki·d−p, ox·s+kj·d−p]`.
fn naive_conv(x: &Tensor<f64>, w: &Tensor<f64>, o: &Conv2dOptions) -> Tensor<f64> {
    let g = ConvGeom::new("naive", x.shape(), w.shape(), o).unwrap();
    let (xs, ws) = (x.as_slice(), w.as_slice());
    let mut y = vec![0.0; g.y_shape().numel()];
    let (cg, og) = (g.cg(), g.og());
    for n in 0..g.n {
        for oc in 0..g.o {
            let grp = oc / og;
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let mut s = 0.0;
                    for ci in 0..cg {
                        for ki in 0..g.kh {
                            for kj in 0..g.kw {
                                let iy = (oy * o.stride[0] + ki * o.dilation[0]) as isize
                                    - o.padding[0] as isize;
                                let ix = (ox * o.stride[1] + kj * o.dilation[1]) as isize
                                    - o.padding[1] as isize;
                                if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                                    continue;
                                }
                                let c = grp * cg + ci;
                                let xv =
                                    xs[((n * g.c + c) * g.h + iy as usize) * g.w + ix as usize];
                                let wv = ws[((oc * cg + ci) * g.kh + ki) * g.kw + kj];
                                s += xv * wv;
                            }
                        }
                    }
                    y[((n * g.o + oc) * g.oh + oy) * g.ow + ox] = s;
                }
            }
        }
    }
    Tensor::from_vec(y, g.y_shape()).unwrap()
}

fn dot(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    a.as_slice()
        .iter()
        .zip(b.as_slice())
        .map(|(x, y)| x * y)
        .sum()
}

fn opts(s: usize, p: usize, d: usize, groups: usize) -> Conv2dOptions {
    Conv2dOptions {
        stride: [s, s],
        padding: [p, p],
        dilation: [d, d],
        groups,
    }
}

/// Forward against the definition and both adjoints against the adjoint identities.
fn check_conv(x: [usize; 4], w: [usize; 4], o: Conv2dOptions, seed: u64) {
    let xt = Tensor::<f64>::rand_normal(x, 0.0, 1.0, seed);
    let wt = Tensor::<f64>::rand_normal(w, 0.0, 1.0, seed + 1);
    let y = xt.conv2d(&wt, None, &o).unwrap();
    let want = naive_conv(&xt, &wt, &o);
    assert!(y.allclose(&want, 1e-10, 1e-10), "forward {x:?} {w:?} {o:?}");
    let gy = Tensor::<f64>::rand_normal(*y.shape(), 0.0, 1.0, seed + 2);
    let gx = gy.conv2d_input_grad(&wt, xt.shape(), &o).unwrap();
    let gw = xt.conv2d_weight_grad(&gy, wt.shape(), &o).unwrap();
    let lhs = dot(&y, &gy);
    let scale = 1.0 + lhs.abs();
    assert!(
        (lhs - dot(&xt, &gx)).abs() < 1e-9 * scale,
        "input grad {x:?} {w:?} {o:?}"
    );
    assert!(
        (lhs - dot(&wt, &gw)).abs() < 1e-9 * scale,
        "weight grad {x:?} {w:?} {o:?}"
    );
    // The f32 kernels (the direct kernel where the CPU has it) agree with the f64 ones.
    let (x32, w32, gy32) = (xt.cast::<f32>(), wt.cast::<f32>(), gy.cast::<f32>());
    let close = |a: Tensor<f32>, b: &Tensor<f64>, what: &str| {
        assert!(
            a.cast::<f64>().allclose(b, 1e-4, 1e-4),
            "f32 {what} {x:?} {w:?} {o:?}"
        );
    };
    close(x32.conv2d(&w32, None, &o).unwrap(), &y, "forward");
    close(
        gy32.conv2d_input_grad(&w32, xt.shape(), &o).unwrap(),
        &gx,
        "input grad",
    );
    close(
        x32.conv2d_weight_grad(&gy32, wt.shape(), &o).unwrap(),
        &gw,
        "weight grad",
    );
}

#[test]
fn conv_matches_the_definition_across_options() {
    check_conv([2, 3, 5, 6], [4, 3, 3, 3], Conv2dOptions::default(), 1);
    check_conv([2, 3, 5, 6], [4, 3, 3, 3], opts(1, 1, 1, 1), 2);
    check_conv([2, 3, 7, 6], [4, 3, 3, 2], opts(2, 1, 1, 1), 3);
    check_conv([1, 4, 9, 9], [6, 2, 3, 3], opts(2, 2, 2, 2), 4);
    check_conv([3, 4, 4, 5], [4, 1, 3, 3], opts(1, 1, 1, 4), 5);
    check_conv([2, 6, 5, 5], [4, 6, 1, 1], Conv2dOptions::default(), 6);
    check_conv([2, 6, 5, 5], [4, 6, 1, 1], opts(2, 0, 1, 1), 7);
    check_conv([2, 4, 5, 5], [4, 2, 1, 1], opts(1, 0, 1, 2), 8);
    check_conv([1, 2, 3, 3], [2, 2, 5, 5], opts(3, 2, 1, 1), 9);
    // Planes wider than one register block of the direct kernel, channels not a multiple of
    // its four-row blocks.
    check_conv([2, 7, 14, 14], [9, 7, 3, 3], opts(1, 1, 1, 1), 10);
    check_conv([1, 4, 30, 30], [6, 2, 3, 3], opts(1, 1, 2, 2), 11);
    check_conv([1, 3, 9, 40], [5, 3, 2, 5], opts(1, 2, 1, 1), 12);
    // Strided ones wide enough for whole register blocks of the phase planes.
    check_conv([2, 5, 29, 28], [7, 5, 3, 3], opts(2, 1, 1, 1), 13);
    check_conv([1, 3, 20, 23], [4, 3, 4, 3], opts(3, 0, 1, 1), 14);
    // Enough channels for the kernel with channels in the lanes (forward and input gradient),
    // counts that leave partial vectors, groups, and a strided one over its phase planes.
    check_conv([2, 40, 7, 7], [40, 40, 3, 3], opts(1, 1, 1, 1), 15);
    check_conv([1, 8, 6, 6], [70, 4, 3, 3], opts(1, 1, 1, 2), 16);
    check_conv([1, 16, 14, 14], [34, 16, 3, 3], opts(2, 1, 1, 1), 17);
    // The weight gradient with channels in the lanes: one partial vector, dilation, no padding
    // with a kernel that is not square, groups.
    check_conv([3, 5, 10, 10], [17, 5, 3, 3], opts(1, 1, 1, 1), 18);
    check_conv([2, 8, 9, 9], [36, 8, 3, 3], opts(1, 2, 2, 1), 19);
    check_conv([2, 3, 6, 7], [20, 3, 2, 3], opts(1, 0, 1, 1), 20);
    check_conv([2, 6, 5, 5], [40, 3, 3, 3], opts(1, 1, 1, 2), 21);
    // Exactly one and three vectors of channels (AVX-512), in and out.
    check_conv([2, 16, 9, 9], [16, 16, 3, 3], opts(1, 1, 1, 1), 22);
    check_conv([2, 48, 6, 6], [48, 48, 3, 3], opts(1, 1, 1, 1), 23);
    check_conv([2, 16, 28, 28], [16, 16, 3, 3], opts(1, 1, 1, 1), 24);
}

/// The f32 weight gradient of more images than one pass of its kernels holds (channels in the
/// lanes, then the correlation kernel), on values that are multiples of 1/8 in [−1, 1]: every
/// product is a multiple of 1/64 and every sum stays below 2^18, so the f32 sums are exact and
/// must equal the f64 ones exactly, however the kernels split them.
#[test]
fn the_weight_gradient_of_many_images_is_exact_on_a_coarse_grid() {
    let coarse = |shape: [usize; 4], seed| {
        Tensor::<f64>::rand_normal(shape, 0.0, 1.0, seed)
            .map(|v| (v * 4.0).round().clamp(-8.0, 8.0) / 8.0)
    };
    for (x, w) in [
        ([70, 33, 7, 7], [32, 33, 3, 3]),
        ([60, 8, 16, 16], [8, 8, 3, 3]),
    ] {
        let o = opts(1, 1, 1, 1);
        let xt = coarse(x, 1);
        let gy = coarse([x[0], w[0], x[2], x[3]], 2);
        let want = xt.conv2d_weight_grad(&gy, &w.into(), &o).unwrap();
        let got = xt
            .cast::<f32>()
            .conv2d_weight_grad(&gy.cast::<f32>(), &w.into(), &o)
            .unwrap();
        assert_eq!(got.cast::<f64>().to_vec(), want.to_vec(), "{x:?} {w:?}");
    }
}

/// `conv2d_then` equals the convolution followed by the bias, the shortcut and the ReLU done
/// as separate ops, for `T` in f64 (the gemm route) and f32 (the direct kernel where the CPU
/// has it, which applies them while it moves the outputs off the padded grid).
fn check_epilogue<T: Element>(x: [usize; 4], w: [usize; 4], o: Conv2dOptions, tol: f64) {
    let normal = |shape: &[usize], seed| Tensor::<T>::rand_normal(shape, T::zero(), T::one(), seed);
    let (xt, wt) = (normal(&x, 1), normal(&w, 2));
    let y = xt.conv2d(&wt, None, &o).unwrap();
    let bias = normal(&[w[0]], 3);
    let skip = normal(y.shape().dims(), 4);
    let b4 = bias.reshape([1, w[0], 1, 1]).unwrap();
    for (with_skip, relu) in [(false, false), (true, false), (false, true), (true, true)] {
        let mut want = y.add(&b4).unwrap();
        if with_skip {
            want = want.add(&skip).unwrap();
        }
        if relu {
            want = want.unary(crate::tensor::UnaryOp::Relu);
        }
        let e = Epilogue {
            bias: bias.as_slice(),
            skip: with_skip.then(|| skip.as_slice()),
            relu,
        };
        let got = xt.conv2d_then(&wt, &o, &e).unwrap();
        assert!(
            got.allclose(&want, tol, tol),
            "{x:?} {w:?} {o:?} skip {with_skip} relu {relu}"
        );
    }
}

#[test]
fn conv_epilogue_equals_the_separate_ops() {
    for (x, w, o) in [
        ([2, 3, 6, 7], [5, 3, 3, 3], opts(1, 1, 1, 1)),
        ([2, 4, 14, 14], [6, 2, 3, 3], opts(1, 1, 1, 2)),
        ([2, 3, 7, 6], [4, 3, 3, 3], opts(2, 1, 1, 1)),
        ([2, 6, 5, 5], [4, 6, 1, 1], Conv2dOptions::default()),
        ([2, 33, 7, 7], [40, 33, 3, 3], opts(1, 1, 1, 1)),
        ([1, 16, 14, 14], [64, 16, 3, 3], opts(2, 1, 1, 1)),
    ] {
        check_epilogue::<f64>(x, w, o, 1e-12);
        check_epilogue::<f32>(x, w, o, 1e-5);
    }
    let x = Tensor::<f32>::zeros([1, 2, 4, 4]);
    let w = Tensor::<f32>::zeros([3, 2, 3, 3]);
    let short = Epilogue {
        bias: &[0.0; 2],
        skip: None,
        relu: false,
    };
    let e = x
        .conv2d_then(&w, &Conv2dOptions::default(), &short)
        .unwrap_err();
    assert!(e.to_string().contains("does not fit"), "{e}");
}

#[test]
fn conv_runs_over_threads_like_on_one() {
    // Large enough to split over images: the threaded weight gradient sums partials per thread.
    let x = Tensor::<f32>::rand_normal([6, 8, 12, 12], 0.0, 1.0, 1);
    let w = Tensor::<f32>::rand_normal([8, 8, 3, 3], 0.0, 1.0, 2);
    let o = opts(1, 1, 1, 1);
    let y = x.conv2d(&w, None, &o).unwrap();
    let want = naive_conv(&x.cast(), &w.cast(), &o);
    assert!(y.cast::<f64>().allclose(&want, 1e-4, 1e-4));
    let gw = x.conv2d_weight_grad(&y, w.shape(), &o).unwrap();
    let gw1: Tensor<f64> = x.cast().conv2d_weight_grad(&want, w.shape(), &o).unwrap();
    assert!(gw.cast::<f64>().allclose(&gw1, 1e-3, 1e-2));
}

#[test]
fn conv_bias_adds_per_channel_and_shapes_are_checked() {
    let x = Tensor::<f64>::rand_normal([1, 2, 4, 4], 0.0, 1.0, 1);
    let w = Tensor::<f64>::rand_normal([3, 2, 3, 3], 0.0, 1.0, 2);
    let b = Tensor::from_vec(vec![1.0, -2.0, 0.5], [3]).unwrap();
    let o = Conv2dOptions::default();
    let y = x.conv2d(&w, Some(&b), &o).unwrap();
    let y0 = x.conv2d(&w, None, &o).unwrap();
    for (i, (a, c)) in y.as_slice().iter().zip(y0.as_slice()).enumerate() {
        assert!((a - c - b.as_slice()[i / 4]).abs() < 1e-12);
    }
    let e = x
        .conv2d(&w, Some(&Tensor::zeros([2])), &o)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bias of shape [2]"), "{e}");
    let e = x
        .conv2d(&Tensor::zeros([3, 3, 3, 3]), None, &o)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("[1, 2, 4, 4]") && e.contains("[3, 3, 3, 3]"),
        "{e}"
    );
    let e = x
        .conv2d(&Tensor::zeros([3, 2, 5, 5]), None, &o)
        .unwrap_err()
        .to_string();
    assert!(e.contains("larger than the padded input"), "{e}");
    let e = Tensor::<f64>::zeros([2, 4, 4])
        .conv2d(&w, None, &o)
        .unwrap_err()
        .to_string();
    assert!(e.contains("4-D"), "{e}");
    let bad = Conv2dOptions { groups: 0, ..o };
    assert!(x.conv2d(&w, None, &bad).is_err());
}

fn naive_pool(x: &Tensor<f64>, o: &Pool2dOptions, max: bool) -> Tensor<f64> {
    let g = PoolGeom::new("naive", x.shape(), o).unwrap();
    let xs = x.as_slice();
    let mut y = Vec::new();
    for pl in 0..g.n * g.c {
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let mut acc = if max { f64::NEG_INFINITY } else { 0.0 };
                for ki in 0..o.kernel[0] {
                    for kj in 0..o.kernel[1] {
                        let iy = (oy * o.stride[0] + ki) as isize - o.padding[0] as isize;
                        let ix = (ox * o.stride[1] + kj) as isize - o.padding[1] as isize;
                        if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                            continue;
                        }
                        let v = xs[pl * g.h * g.w + iy as usize * g.w + ix as usize];
                        acc = if max { acc.max(v) } else { acc + v };
                    }
                }
                y.push(if max {
                    acc
                } else {
                    acc / (o.kernel[0] * o.kernel[1]) as f64
                });
            }
        }
    }
    Tensor::from_vec(y, g.y_shape()).unwrap()
}

fn check_pool(x: [usize; 4], o: Pool2dOptions, seed: u64) {
    let xt = Tensor::<f64>::rand_normal(x, 0.0, 1.0, seed);
    let (m, idx) = xt.max_pool2d(&o).unwrap();
    assert!(
        m.allclose(&naive_pool(&xt, &o, true), 0.0, 0.0),
        "max {x:?} {o:?}"
    );
    let plane = x[2] * x[3];
    let per = m.numel() / (x[0] * x[1]);
    for (j, &i) in idx.iter().enumerate() {
        assert_eq!(xt.as_slice()[(j / per) * plane + i], m.as_slice()[j]);
    }
    let a = xt.avg_pool2d(&o).unwrap();
    assert!(
        a.allclose(&naive_pool(&xt, &o, false), 1e-12, 1e-12),
        "avg {x:?} {o:?}"
    );
    let gy = Tensor::<f64>::rand_normal(*a.shape(), 0.0, 1.0, seed + 1);
    let gx = gy.avg_pool2d_adjoint(xt.shape(), &o).unwrap();
    assert!((dot(&a, &gy) - dot(&xt, &gx)).abs() < 1e-10 * (1.0 + dot(&a, &gy).abs()));
}

#[test]
fn pooling_matches_the_definition() {
    check_pool([2, 3, 6, 6], Pool2dOptions::new(2), 1);
    check_pool([1, 2, 7, 5], Pool2dOptions::new(3), 2);
    let o = Pool2dOptions {
        kernel: [3, 3],
        stride: [2, 1],
        padding: [1, 1],
    };
    check_pool([2, 2, 7, 6], o, 3);
    let o = Pool2dOptions {
        kernel: [2, 3],
        stride: [1, 2],
        padding: [1, 1],
    };
    check_pool([1, 1, 4, 5], o, 4);
}

#[test]
fn pooling_rejects_bad_windows() {
    let x = Tensor::<f64>::zeros([1, 1, 4, 4]);
    let e = x
        .max_pool2d(&Pool2dOptions::new(5))
        .unwrap_err()
        .to_string();
    assert!(e.contains("larger than the padded input"), "{e}");
    let o = Pool2dOptions {
        padding: [2, 2],
        ..Pool2dOptions::new(3)
    };
    assert!(x
        .avg_pool2d(&o)
        .unwrap_err()
        .to_string()
        .contains("at most half"));
    assert!(x.avg_pool2d(&Pool2dOptions::new(0)).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn conv_matches_the_definition_on_random_shapes(
        n in 1usize..3, cg in 1usize..4, og in 1usize..4, groups in 1usize..3,
        h in 1usize..8, w in 1usize..8, kh in 1usize..4, kw in 1usize..4,
        s in 1usize..3, p in 0usize..3, d in 1usize..3, seed in 0u64..1000,
    ) {
        let o = opts(s, p, d, groups);
        let x = [n, cg * groups, h, w];
        let wt = [og * groups, cg, kh, kw];
        prop_assume!(ConvGeom::new("t", &Shape::from(x), &Shape::from(wt), &o).is_ok());
        check_conv(x, wt, o, seed);
    }

    #[test]
    fn pooling_matches_the_definition_on_random_shapes(
        n in 1usize..3, c in 1usize..3, h in 1usize..9, w in 1usize..9,
        kh in 1usize..4, kw in 1usize..4, sh in 1usize..3, sw in 1usize..3,
        ph in 0usize..2, pw in 0usize..2, seed in 0u64..1000,
    ) {
        let o = Pool2dOptions { kernel: [kh, kw], stride: [sh, sw], padding: [ph, pw] };
        prop_assume!(PoolGeom::new("t", &Shape::from([n, c, h, w]), &o).is_ok());
        check_pool([n, c, h, w], o, seed);
    }
}
