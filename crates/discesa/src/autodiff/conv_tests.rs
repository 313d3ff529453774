//! Convolution, pooling and batch norm on the tape: first- and second-order gradient checks in
//! `f64` (conv options, both adjoint ops, pooling, flatten, both batch-norm forms), proptests over
//! random shapes, and batch norm's output and statistics on a worked example.

use super::*;
use crate::tensor::{Conv2dOptions, Pool2dOptions, Shape, Tensor};
use proptest::prelude::*;

fn normal(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::rand_normal(Shape::from(shape), 0.0, 1.0, seed)
}

fn check(name: &str, f: impl CheckFn, inputs: &[Tensor<f64>]) {
    check_loose(name, f, inputs, 1.0)
}

/// [`check`] with tolerances times `loose`: batch norm on few values per channel can have a small
/// variance, and then large third derivatives make central differences less accurate.
fn check_loose(name: &str, f: impl CheckFn, inputs: &[Tensor<f64>], loose: f64) {
    let o = CheckOptions {
        eps: 1e-6,
        atol: 1e-7 * loose,
        rtol: 1e-5 * loose,
        seed: 3,
    };
    let r1 = gradcheck(&f, inputs, o).unwrap();
    assert!(r1.passed, "gradcheck {name}: {r1}");
    let o2 = CheckOptions {
        atol: 1e-5,
        rtol: 1e-4,
        ..o
    };
    let r2 = gradgradcheck(&f, inputs, o2).unwrap();
    assert!(r2.passed, "gradgradcheck {name}: {r2}");
}

fn opts(s: usize, p: usize, d: usize, groups: usize) -> Conv2dOptions {
    Conv2dOptions {
        stride: [s, s],
        padding: [p, p],
        dilation: [d, d],
        groups,
    }
}

/// `conv(x, w)²` (and with bias): squaring makes every second derivative non-trivial.
fn check_conv(x: &[usize], w: &[usize], o: Conv2dOptions, bias: bool, seed: u64) {
    let xs = normal(x, seed);
    let ws = normal(w, seed + 1);
    let name = format!("conv2d {x:?} {w:?} {o:?} bias {bias}");
    if bias {
        let b = normal(&[w[0]], seed + 2);
        check(
            &name,
            move |v| Ok(v[0].conv2d(v[1], Some(v[2]), &o)?.powi(2)),
            &[xs, ws, b],
        );
    } else {
        check(
            &name,
            move |v| Ok(v[0].conv2d(v[1], None, &o)?.powi(2)),
            &[xs, ws],
        );
    }
}

#[test]
fn conv2d_gradients_across_options() {
    check_conv(
        &[2, 2, 4, 4],
        &[3, 2, 3, 3],
        Conv2dOptions::default(),
        false,
        1,
    );
    check_conv(&[1, 2, 4, 5], &[2, 2, 3, 3], opts(1, 1, 1, 1), true, 2);
    check_conv(&[2, 2, 5, 5], &[2, 2, 3, 2], opts(2, 1, 1, 1), false, 3);
    check_conv(&[1, 4, 6, 6], &[4, 2, 3, 3], opts(1, 2, 2, 2), true, 4);
    check_conv(
        &[2, 3, 3, 3],
        &[2, 3, 1, 1],
        Conv2dOptions::default(),
        true,
        5,
    );
    check_conv(&[1, 2, 5, 5], &[2, 2, 1, 1], opts(2, 0, 1, 1), false, 6);
}

#[test]
fn conv2d_adjoint_ops_differentiate_again() {
    let o = opts(2, 1, 1, 1);
    let x_shape = [2, 2, 5, 5];
    let w = normal(&[3, 2, 3, 3], 11);
    let gy = normal(&[2, 3, 3, 3], 12);
    let x = normal(&x_shape, 13);
    check(
        "conv2d_input_grad",
        move |v| Ok(v[0].conv2d_input_grad(v[1], x_shape, &o)?.powi(2)),
        &[gy.clone(), w.clone()],
    );
    check(
        "conv2d_weight_grad",
        move |v| Ok(v[0].conv2d_weight_grad(v[1], [3, 2, 3, 3], &o)?.powi(2)),
        &[x, gy],
    );
}

#[test]
fn conv2d_adjoints_equal_the_tape_gradients() {
    let o = opts(1, 1, 1, 1);
    let tape = Tape::new();
    let x = tape.var(normal(&[2, 3, 4, 4], 21));
    let w = tape.var(normal(&[4, 3, 3, 3], 22));
    let y = x.conv2d(w, None, &o).unwrap();
    let gy = normal(&[2, 4, 4, 4], 23);
    let g = tape.backward_seeded(y, &gy).unwrap();
    let gx = gy
        .conv2d_input_grad(&w.value(), x.value().shape(), &o)
        .unwrap();
    let gw = x
        .value()
        .conv2d_weight_grad(&gy, w.value().shape(), &o)
        .unwrap();
    assert!(g.wrt(x).allclose(&gx, 1e-12, 1e-12));
    assert!(g.wrt(w).allclose(&gw, 1e-12, 1e-12));
}

#[test]
fn pooling_gradients() {
    let x = normal(&[2, 2, 5, 6], 31);
    let o = Pool2dOptions {
        kernel: [3, 3],
        stride: [2, 2],
        padding: [1, 1],
    };
    check(
        "max_pool2d",
        move |v| Ok(v[0].max_pool2d(&o)?.powi(2)),
        std::slice::from_ref(&x),
    );
    check(
        "avg_pool2d",
        move |v| Ok(v[0].avg_pool2d(&o)?.powi(2)),
        std::slice::from_ref(&x),
    );
    let p2 = Pool2dOptions::new(2);
    check(
        "max_pool2d 2",
        move |v| Ok(v[0].max_pool2d(&p2)?.powi(2)),
        std::slice::from_ref(&x),
    );
    check(
        "global_avg_pool2d",
        |v| Ok(v[0].global_avg_pool2d()?.powi(2)),
        std::slice::from_ref(&x),
    );
    check(
        "flatten",
        |v| Ok(v[0].flatten()?.powi(2)),
        std::slice::from_ref(&x),
    );
}

#[test]
fn pooling_shapes() {
    let tape = Tape::new();
    let x = tape.var(normal(&[2, 3, 4, 6], 1));
    assert_eq!(x.flatten().unwrap().shape().dims(), [2, 72]);
    assert_eq!(x.global_avg_pool2d().unwrap().shape().dims(), [2, 3]);
    assert_eq!(
        x.max_pool2d(&Pool2dOptions::new(2)).unwrap().shape().dims(),
        [2, 3, 2, 3]
    );
    assert!(tape.var(normal(&[3], 2)).flatten().is_err());
    assert!(tape.var(normal(&[3, 4], 2)).global_avg_pool2d().is_err());
}

#[test]
fn batch_norm_gradients() {
    for (shape, seed) in [(vec![3, 2, 2, 3], 41u64), (vec![5, 3], 42)] {
        let c = shape[1];
        let x = normal(&shape, seed);
        let w = normal(&[c], seed + 1);
        let b = normal(&[c], seed + 2);
        check(
            &format!("batch_norm_train {shape:?}"),
            |v| Ok(v[0].batch_norm_train(v[1], v[2], 1e-5)?.0.powi(2)),
            &[x.clone(), w.clone(), b.clone()],
        );
        let mean = normal(&[c], seed + 3);
        let var = Tensor::rand_uniform([c], 0.5, 2.0, seed + 4);
        check(
            &format!("batch_norm_eval {shape:?}"),
            move |v| Ok(v[0].batch_norm_eval(v[1], v[2], &mean, &var, 1e-5)?.powi(2)),
            &[x, w, b],
        );
    }
}

#[test]
fn batch_norm_train_worked_example() {
    // Channel 0 holds 1, 2, 3, 4: mean 2.5, biased variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25.
    // Channel 1 holds 0, 0, 2, 6: mean 2, biased variance (4 + 4 + 0 + 16) / 4 = 6.
    let tape = Tape::new();
    let x = tape.var(Tensor::from_vec(vec![1., 0., 2., 0., 3., 2., 4., 6.], [4, 2]).unwrap());
    let w = tape.var(Tensor::from_vec(vec![2.0, 0.5], [2]).unwrap());
    let b = tape.var(Tensor::from_vec(vec![0.5, -1.0], [2]).unwrap());
    let eps = 1e-5;
    let (y, st) = x.batch_norm_train(w, b, eps).unwrap();
    assert_eq!(st.mean.to_vec(), vec![2.5, 2.0]);
    assert_eq!(st.var_biased.to_vec(), vec![1.25, 6.0]);
    assert_eq!(st.count, 4);
    let (s0, s1) = ((1.25f64 + eps).sqrt(), (6.0f64 + eps).sqrt());
    let want = [
        2.0 * -1.5 / s0 + 0.5,
        0.5 * -2.0 / s1 - 1.0,
        2.0 * -0.5 / s0 + 0.5,
        0.5 * -2.0 / s1 - 1.0,
        2.0 * 0.5 / s0 + 0.5,
        0.5 * 0.0 / s1 - 1.0,
        2.0 * 1.5 / s0 + 0.5,
        0.5 * 4.0 / s1 - 1.0,
    ];
    for (a, e) in y.value().as_slice().iter().zip(want) {
        assert!((a - e).abs() < 1e-12, "{a} vs {e}");
    }
    // The same numbers laid out as [N, C, H, W] = [2, 2, 1, 2]: statistics over N, H, W.
    let x4 =
        tape.var(Tensor::from_vec(vec![1., 2., 0., 0., 3., 4., 2., 6.], [2, 2, 1, 2]).unwrap());
    let (_, st4) = x4.batch_norm_train(w, b, eps).unwrap();
    assert_eq!(st4.mean.to_vec(), vec![2.5, 2.0]);
    assert_eq!(st4.var_biased.to_vec(), vec![1.25, 6.0]);
    assert_eq!(st4.count, 4);
    // Evaluation with these statistics gives the training output.
    let ye = x
        .batch_norm_eval(w, b, &st.mean, &st.var_biased, eps)
        .unwrap();
    assert!(ye.value().allclose(&y.value(), 1e-12, 1e-12));
}

#[test]
fn batch_norm_rejects_bad_shapes() {
    let tape = Tape::new();
    let w = tape.var(Tensor::ones([2]));
    let b = tape.var(Tensor::zeros([2]));
    let x = tape.var(normal(&[4, 3], 1));
    let e = x.batch_norm_train(w, b, 1e-5).unwrap_err().to_string();
    assert!(
        e.contains("weight of shape [2]") && e.contains("3 channels"),
        "{e}"
    );
    let one = tape.var(normal(&[1, 2], 1));
    assert!(one
        .batch_norm_train(w, b, 1e-5)
        .unwrap_err()
        .to_string()
        .contains("more than one"));
    let x3 = tape.var(normal(&[2, 2, 3], 1));
    assert!(x3
        .batch_norm_train(w, b, 1e-5)
        .unwrap_err()
        .to_string()
        .contains("[N, C, H, W]"));
    let m = Tensor::zeros([3]);
    let x2 = tape.var(normal(&[4, 2], 1));
    assert!(x2
        .batch_norm_eval(w, b, &m, &Tensor::ones([2]), 1e-5)
        .is_err());
}

/// conv → batch norm → tanh → max pool → conv → global pool → linear, on fixed data.
fn small_convnet<'t>(v: &[Var<'t, f64>]) -> crate::error::Result<Var<'t, f64>> {
    let o = opts(1, 1, 1, 1);
    let tape = v[0].tape();
    let g = tape.constant(Tensor::ones([3]));
    let b = tape.constant(Tensor::zeros([3]));
    let h = tape
        .constant(normal(&[2, 1, 6, 6], 51))
        .conv2d(v[0], None, &o)?;
    let (h, _) = h.batch_norm_train(g, b, 1e-5)?;
    let h = h.tanh().max_pool2d(&Pool2dOptions::new(2))?;
    let h = h.conv2d(v[1], None, &o)?.global_avg_pool2d()?;
    h.matmul(v[2])
}

#[test]
fn small_convnet_second_derivatives_match_finite_differences() {
    // Second order through every new op at once.
    let w1 = normal(&[3, 1, 3, 3], 52).mul_scalar(0.5);
    let w2 = normal(&[2, 3, 3, 3], 53).mul_scalar(0.5);
    let lin = normal(&[2, 3], 54);
    check("small convnet", small_convnet, &[w1, w2, lin]);
}

/// The fused backward of a per-channel op `f(x, a, b)` (values) and its recorded one
/// (`grad_graph`) agree, for x of shape `dims` and `a`, `b` of one value per channel.
fn fused_and_recorded_agree(
    name: &str,
    dims: &[usize],
    seed: u64,
    f: impl for<'t> Fn(Var<'t, f64>, Var<'t, f64>, Var<'t, f64>) -> Var<'t, f64>,
) {
    let c = dims[1];
    let tape = Tape::new();
    let x = tape.var(normal(dims, seed).mul_scalar(3.0).add_scalar(1.5));
    let a = tape.var(normal(&[c], seed + 1));
    let b = tape.var(normal(&[c], seed + 2));
    let r = tape.constant(normal(dims, seed + 3));
    let loss = f(x, a, b).try_mul(r).unwrap().powi(2).sum_all();
    let fused = tape.grad(&[loss], &[x, a, b], None).unwrap();
    let recorded = tape.grad_graph(&[loss], &[x, a, b], None).unwrap();
    for (input, (u, v)) in ["x", "a", "b"].iter().zip(fused.iter().zip(&recorded)) {
        assert!(
            u.allclose(&v.value(), 1e-9, 1e-9),
            "gradient in {input} of {name} {dims:?}: {u:?} vs {:?}",
            v.value()
        );
    }
}

fn batch_norm_paths_agree(dims: &[usize], seed: u64) {
    fused_and_recorded_agree("batch_norm_train", dims, seed, |x, w, b| {
        x.batch_norm_train(w, b, 1e-5).unwrap().0
    });
}

fn channel_affine_paths_agree(dims: &[usize], seed: u64) {
    fused_and_recorded_agree("channel_affine", dims, seed, |x, s, b| {
        x.channel_affine(s, b).unwrap()
    });
}

#[test]
fn batch_norm_fused_and_recorded_gradients_agree_on_wide_planes() {
    // 14x14 planes: the lane-wise sums and their remainder.
    batch_norm_paths_agree(&[3, 4, 14, 14], 61);
    batch_norm_paths_agree(&[40, 5], 62);
    channel_affine_paths_agree(&[3, 4, 14, 14], 63);
    channel_affine_paths_agree(&[40, 5], 64);
}

#[test]
fn channel_affine_gradients() {
    for (shape, seed) in [(vec![2, 3, 3, 2], 71u64), (vec![4, 2], 72)] {
        let c = shape[1];
        check(
            &format!("channel_affine {shape:?}"),
            |v| Ok(v[0].channel_affine(v[1], v[2])?.powi(2)),
            &[
                normal(&shape, seed),
                normal(&[c], seed + 1),
                normal(&[c], seed + 2),
            ],
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn batch_norm_fused_and_recorded_gradients_agree(
        n in 2usize..5, c in 1usize..4, h in 1usize..7, w in 1usize..7, flat: bool,
        seed in 0u64..1000,
    ) {
        let dims = if flat { vec![n * h, c] } else { vec![n, c, h, w] };
        batch_norm_paths_agree(&dims, seed);
        channel_affine_paths_agree(&dims, seed);
    }

    #[test]
    fn conv2d_gradients_on_random_shapes(
        n in 1usize..3, cg in 1usize..3, og in 1usize..3, groups in 1usize..3,
        h in 2usize..6, w in 2usize..6, k in 1usize..4, s in 1usize..3, p in 0usize..2,
        d in 1usize..3, bias: bool, seed in 0u64..1000,
    ) {
        let o = opts(s, p, d, groups);
        let xs = [n, cg * groups, h, w];
        let ws = [og * groups, cg, k, k];
        let span = d * (k - 1);
        prop_assume!(2 * p + h > span && 2 * p + w > span);
        check_conv(&xs, &ws, o, bias, seed);
    }

    #[test]
    fn pooling_and_batch_norm_gradients_on_random_shapes(
        n in 2usize..4, c in 1usize..3, h in 2usize..6, w in 2usize..6,
        k in 1usize..4, s in 1usize..3, p in 0usize..2, seed in 0u64..1000,
    ) {
        let o = Pool2dOptions { kernel: [k, k], stride: [s, s], padding: [p.min(k / 2); 2] };
        prop_assume!(h + 2 * o.padding[0] >= k && w + 2 * o.padding[1] >= k);
        let x = normal(&[n, c, h, w], seed);
        check("max_pool2d", move |v| Ok(v[0].max_pool2d(&o)?.powi(2)), std::slice::from_ref(&x));
        check("avg_pool2d", move |v| Ok(v[0].avg_pool2d(&o)?.powi(2)), std::slice::from_ref(&x));
        let wt = normal(&[c], seed + 1);
        let b = normal(&[c], seed + 2);
        check_loose(
            "batch_norm_train",
            |v| Ok(v[0].batch_norm_train(v[1], v[2], 1e-5)?.0.powi(2)),
            &[x.clone(), wt, b],
            10.0,
        );
    }
}
