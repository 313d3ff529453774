//! Every differentiable op against central finite differences (first and second order), the
//! lecture's worked examples against their closed forms, and the API's error cases.

use super::*;
use crate::error::Result;
use crate::tensor::{Shape, Tensor};
use proptest::prelude::*;

fn opts() -> CheckOptions {
    CheckOptions {
        eps: 1e-6,
        atol: 1e-7,
        rtol: 1e-5,
        seed: 3,
    }
}

fn normal(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::rand_normal(Shape::from(shape), 0.0, 1.0, seed)
}

fn positive(shape: &[usize], seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(Shape::from(shape), 0.5, 2.0, seed)
}

/// Values kept away from 0 so that kinks (relu, abs, max) are not straddled by the difference.
fn away_from_zero(shape: &[usize], seed: u64) -> Tensor<f64> {
    normal(shape, seed).map(|v| {
        if v.abs() < 0.1 {
            v.signum() * 0.1 + v
        } else {
            v
        }
    })
}

fn both(f: impl CheckFn, inputs: &[Tensor<f64>]) -> (CheckReport, CheckReport) {
    let r1 = gradcheck(&f, inputs, opts()).unwrap();
    let r2 = gradgradcheck(
        &f,
        inputs,
        CheckOptions {
            atol: 1e-5,
            rtol: 1e-4,
            ..opts()
        },
    )
    .unwrap();
    (r1, r2)
}

fn check(name: &str, f: impl CheckFn, inputs: &[Tensor<f64>]) {
    let (r1, r2) = both(f, inputs);
    assert!(r1.passed, "gradcheck {name}: {r1}");
    assert!(r2.passed, "gradgradcheck {name}: {r2}");
}

#[test]
fn unary_ops_match_finite_differences() {
    let x = normal(&[3, 4], 1);
    let p = positive(&[3, 4], 2);
    let z = away_from_zero(&[3, 4], 3);
    let t = Tensor::rand_uniform([3, 4], -1.2, 1.2, 4);
    check("neg", |v| Ok(-v[0]), std::slice::from_ref(&x));
    check("exp", |v| Ok(v[0].exp()), std::slice::from_ref(&x));
    check("log", |v| Ok(v[0].ln()), std::slice::from_ref(&p));
    check("sqrt", |v| Ok(v[0].sqrt()), std::slice::from_ref(&p));
    check("sin", |v| Ok(v[0].sin()), std::slice::from_ref(&x));
    check("cos", |v| Ok(v[0].cos()), std::slice::from_ref(&x));
    check("tan", |v| Ok(v[0].tan()), std::slice::from_ref(&t));
    check("tanh", |v| Ok(v[0].tanh()), std::slice::from_ref(&x));
    check("sigmoid", |v| Ok(v[0].sigmoid()), std::slice::from_ref(&x));
    check("relu", |v| Ok(v[0].relu() * v[0]), std::slice::from_ref(&z));
    check("abs", |v| Ok(v[0].abs() * v[0]), std::slice::from_ref(&z));
    check(
        "add_scalar",
        |v| Ok((v[0] + 2.5) * v[0]),
        std::slice::from_ref(&x),
    );
    check("mul_scalar", |v| Ok(v[0] * 3.0), std::slice::from_ref(&x));
    check("powf", |v| Ok(v[0].powf(2.5)), std::slice::from_ref(&p));
    check("powi", |v| Ok(v[0].powi(3)), std::slice::from_ref(&x));
    check("scalar/var", |v| Ok(2.0 / v[0]), std::slice::from_ref(&p));
}

#[test]
fn binary_ops_match_finite_differences_with_broadcasting() {
    let a = normal(&[2, 3, 4], 5);
    let b = normal(&[3, 1], 6);
    let bp = positive(&[3, 1], 7);
    let ap = positive(&[2, 3, 4], 8);
    check("add", |v| Ok((v[0] + v[1]) * v[0]), &[a.clone(), b.clone()]);
    check("sub", |v| Ok((v[0] - v[1]) * v[1]), &[a.clone(), b.clone()]);
    check("mul", |v| Ok(v[0] * v[1]), &[a.clone(), b.clone()]);
    check("div", |v| Ok(v[0] / v[1]), &[a.clone(), bp.clone()]);
    check("pow", |v| v[0].pow(v[1]), &[ap.clone(), b.clone()]);
    let c = away_from_zero(&[2, 3, 4], 9).mul_scalar(3.0);
    check(
        "maximum",
        |v| Ok(v[0].maximum(v[1])? * v[0]),
        &[c.clone(), b.clone()],
    );
    check(
        "minimum",
        |v| Ok(v[0].minimum(v[1])? * v[1]),
        &[c, b.clone()],
    );
    let cond = a.gt(&Tensor::scalar(0.0)).unwrap();
    check(
        "where",
        move |v| Var::where_cond(&cond, v[0], v[1]),
        &[a, b],
    );
}

#[test]
fn reductions_match_finite_differences() {
    let x = normal(&[3, 4, 5], 10);
    check(
        "sum axis",
        |v| v[0].sum(&[1], false),
        std::slice::from_ref(&x),
    );
    check(
        "sum keepdim",
        |v| Ok(v[0].sum(&[0, 2], true)? * v[0]),
        std::slice::from_ref(&x),
    );
    check(
        "sum_all",
        |v| Ok(v[0].powi(2).sum_all()),
        std::slice::from_ref(&x),
    );
    check(
        "mean",
        |v| v[0].mean(&[-1], false),
        std::slice::from_ref(&x),
    );
    check(
        "max",
        |v| Ok(v[0].max(&[2], false)?.powi(2)),
        std::slice::from_ref(&x),
    );
    check("min", |v| v[0].min(&[0, 1], true), std::slice::from_ref(&x));
    check(
        "logsumexp",
        |v| v[0].logsumexp(1, false),
        std::slice::from_ref(&x),
    );
    check(
        "log_softmax",
        |v| v[0].log_softmax(-1),
        std::slice::from_ref(&x),
    );
    check("softmax", |v| v[0].softmax(0), std::slice::from_ref(&x));
}

#[test]
fn layout_ops_match_finite_differences() {
    let x = normal(&[2, 3, 4], 11);
    let y = normal(&[2, 2, 4], 12);
    check(
        "reshape",
        |v| Ok(v[0].reshape([6, 4])?.powi(2)),
        std::slice::from_ref(&x),
    );
    check(
        "permute",
        |v| Ok(v[0].permute(&[2, 0, 1])?.sin()),
        std::slice::from_ref(&x),
    );
    check(
        "transpose",
        |v| Ok(v[0].transpose(0, -1)?.sin()),
        std::slice::from_ref(&x),
    );
    check(
        "narrow",
        |v| Ok(v[0].narrow(1, 1, 2)?.exp()),
        std::slice::from_ref(&x),
    );
    check(
        "concat",
        |v| Ok(Var::concat(&[v[0], v[1]], 1)?.powi(2)),
        &[x.clone(), y],
    );
    check(
        "stack",
        |v| Ok(Var::stack(&[v[0], v[0].sin()], 0)?.powi(2)),
        std::slice::from_ref(&x),
    );
    check(
        "broadcast_to",
        |v| Ok(v[0].broadcast_to([5, 2, 3, 4])?.powi(2)),
        std::slice::from_ref(&x),
    );
    check(
        "sum_to",
        |v| Ok(v[0].sum_to([3, 1])?.powi(2)),
        std::slice::from_ref(&x),
    );
    check(
        "index_select",
        |v| Ok(v[0].index_select(1, &[2, 0, 2])?.powi(2)),
        std::slice::from_ref(&x),
    );
    let idx = [1usize, 0, 2, 2, 0, 1, 2, 0, 1, 1, 0, 2, 2, 2, 0, 0];
    check(
        "gather",
        move |v| Ok(v[0].gather(1, &idx, [2, 2, 4])?.powi(2)),
        std::slice::from_ref(&x),
    );
}

#[test]
fn gather_picks_class_log_probabilities() {
    let logits = normal(&[4, 3], 14);
    let labels = [2usize, 0, 1, 2];
    check(
        "cross-entropy",
        move |v| Ok(-v[0].log_softmax(1)?.gather(1, &labels, [4, 1])?.mean_all()),
        &[logits],
    );
}

#[test]
fn matmul_in_every_transpose_case() {
    let a = normal(&[3, 4], 15);
    let b = normal(&[4, 5], 16);
    check("mm", |v| v[0].matmul(v[1]), &[a.clone(), b.clone()]);
    check(
        "mm At",
        |v| v[0].matmul_t(v[1], true, false),
        &[a.transpose(0, 1).unwrap(), b.clone()],
    );
    check(
        "mm Bt",
        |v| v[0].matmul_t(v[1], false, true),
        &[a.clone(), b.transpose(0, 1).unwrap()],
    );
    check(
        "mm AtBt",
        |v| v[0].matmul_t(v[1], true, true),
        &[a.transpose(0, 1).unwrap(), b.transpose(0, 1).unwrap()],
    );
    check(
        "bmm",
        |v| v[0].matmul(v[1]),
        &[normal(&[2, 3, 4], 17), normal(&[2, 4, 2], 18)],
    );
    check(
        "bmm shared",
        |v| Ok(v[0].matmul(v[1])?.tanh()),
        &[normal(&[2, 3, 4], 19), b],
    );
}

fn shape_strategy() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..4, 1..4)
}

/// A shape that broadcasts against `s`: a suffix of it with some axes set to 1.
fn broadcast_partner(s: Vec<usize>) -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    let n = s.len();
    (0..=n, prop::collection::vec(any::<bool>(), n)).prop_map(move |(drop, ones)| {
        let other: Vec<usize> = s[drop.min(n - 1)..]
            .iter()
            .zip(&ones[drop.min(n - 1)..])
            .map(|(&d, &one)| if one { 1 } else { d })
            .collect();
        (s.clone(), other)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn broadcast_arithmetic_gradients(
        (sa, sb) in shape_strategy().prop_flat_map(broadcast_partner),
        seed in 0u64..1000,
        swap in any::<bool>(),
    ) {
        let (sa, sb) = if swap { (sb, sa) } else { (sa, sb) };
        let a = normal(&sa, seed);
        let b = positive(&sb, seed + 1);
        let (r1, r2) = both(|v| Ok((v[0] * v[1] + v[0] / v[1] - v[1]).tanh()), &[a, b]);
        prop_assert!(r1.passed, "{:?} {:?}: {}", sa, sb, r1);
        prop_assert!(r2.passed, "{:?} {:?}: {}", sa, sb, r2);
    }

    #[test]
    fn reduction_gradients_over_random_axes(shape in shape_strategy(), seed in 0u64..1000, axis_pick in 0usize..4, keep in any::<bool>()) {
        let x = normal(&shape, seed);
        let ax = (axis_pick % shape.len()) as isize;
        let r = gradcheck(move |v| Ok(v[0].sum(&[ax], keep)?.sin() + v[0].logsumexp(ax, keep)?), &[x], opts()).unwrap();
        prop_assert!(r.passed, "{:?} axis {}: {}", shape, ax, r);
    }

    #[test]
    fn matmul_gradients_over_random_shapes(m in 1usize..5, k in 1usize..5, n in 1usize..5, seed in 0u64..1000) {
        let r = gradcheck(|v| Ok(v[0].matmul(v[1])?.sigmoid()), &[normal(&[m, k], seed), normal(&[k, n], seed + 1)], opts()).unwrap();
        prop_assert!(r.passed, "{}x{}x{}: {}", m, k, n, r);
    }
}

// ---- The lecture's worked examples: autodiff equals the closed form to 1e-12 in f64 ----

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn lecture_f_xy_cubic() {
    // f(x, y) = (x + 2y³)²
    for (x0, y0) in [(1.0f64, 2.0f64), (-0.7, 0.3), (2.5, -1.1)] {
        let tape = Tape::new();
        let (x, y) = (tape.scalar_var(x0), tape.scalar_var(y0));
        let f = (x + 2.0 * y.powi(3)).powi(2);
        let g = tape.backward(f).unwrap();
        let u: f64 = x0 + 2.0 * y0.powi(3);
        assert!(close(g.wrt(x).item().unwrap(), 2.0 * u));
        assert!(close(g.wrt(y).item().unwrap(), 12.0 * u * y0 * y0));
    }
}

#[test]
fn lecture_polynomial_gradient() {
    // f = x1² x2 + x1 x2³, ∇f = [2 x1 x2 + x2³, x1² + 3 x1 x2²]
    let tape = Tape::new();
    let (a, b) = (1.3, -0.4);
    let (x1, x2) = (tape.scalar_var(a), tape.scalar_var(b));
    let f = x1 * x1 * x2 + x1 * x2.powi(3);
    let g = tape.backward(f).unwrap();
    assert!(close(g.wrt(x1).item().unwrap(), 2.0 * a * b + b.powi(3)));
    assert!(close(g.wrt(x2).item().unwrap(), a * a + 3.0 * a * b * b));
}

#[test]
fn lecture_chain_rule_through_time() {
    // h(t) = exp(x1 x2²), x1 = t cos t, x2 = t sin t
    let tape = Tape::new();
    let t = tape.scalar_var(1.0);
    let x1 = t * t.cos();
    let x2 = t * t.sin();
    let h = (x1 * x2.powi(2)).exp();
    let g = tape.backward(h).unwrap().wrt(t).item().unwrap();
    let tv: f64 = 1.0;
    let (a, b) = (tv * tv.cos(), tv * tv.sin());
    let closed = (a * b * b).exp()
        * (b * b * (tv.cos() - tv * tv.sin()) + 2.0 * a * b * (tv.sin() + tv * tv.cos()));
    assert!(close(g, closed), "{g} vs {closed}");
    assert!((g - 1.529376673391).abs() < 1e-12, "{g}");
}

#[test]
fn lecture_least_squares() {
    // L(θ) = ‖y − Φθ‖², ∂L/∂θ = −2 (y − Φθ)ᵀ Φ
    let phi = normal(&[50, 7], 21);
    let y = normal(&[50, 1], 22);
    let theta = normal(&[7, 1], 23);
    let tape = Tape::new();
    let th = tape.var(theta.clone());
    let r = tape
        .constant(y.clone())
        .try_sub(tape.constant(phi.clone()).matmul(th).unwrap())
        .unwrap();
    let l = r.powi(2).sum_all();
    let g = tape.backward(l).unwrap().wrt(th);
    let resid = y.sub(&phi.matmul(&theta).unwrap()).unwrap();
    let closed = resid
        .matmul_t(&phi, true, false)
        .unwrap()
        .mul_scalar(-2.0)
        .reshape([7, 1])
        .unwrap();
    for (a, b) in g.as_slice().iter().zip(closed.as_slice()) {
        assert!(close(*a, *b), "{a} vs {b}");
    }
}

#[test]
fn lecture_nested_exponential() {
    // f(x) = √(x² + e^{x²}) + cos(x² + e^{x²})
    for (x0, expected) in [
        (1.0f64, 5.983082595909f64),
        (0.5, -1.360431078598),
        (2.0, -182.869807305983),
    ] {
        let tape = Tape::new();
        let x = tape.scalar_var(x0);
        let u = x * x + (x * x).exp();
        let f = u.sqrt() + u.cos();
        let g = tape.backward(f).unwrap().wrt(x).item().unwrap();
        let uv: f64 = x0 * x0 + (x0 * x0).exp();
        let closed = (2.0 * x0 + 2.0 * x0 * (x0 * x0).exp()) * (0.5 / uv.sqrt() - uv.sin());
        assert!(close(g, closed), "x={x0}: {g} vs {closed}");
        assert!(
            (g - expected).abs() < 1e-9 * expected.abs().max(1.0),
            "x={x0}: {g} vs {expected}"
        );
    }
}

// ---- Higher order ----

#[test]
fn hessian_of_quadratic_form_is_a_plus_a_transpose() {
    let a = normal(&[4, 4], 30);
    let x = normal(&[4, 1], 31);
    let ac = a.clone();
    let h = hessian(
        move |x| {
            let av = x.tape().constant(ac.clone());
            Ok(x.matmul_t(av.matmul(x)?, true, false)?.sum_all())
        },
        &x,
    )
    .unwrap();
    let expected = a.add(&a.transpose(0, 1).unwrap()).unwrap();
    assert!(h.allclose(&expected, 1e-12, 1e-12), "{h:?} vs {expected:?}");
}

#[test]
fn hvp_equals_finite_difference_of_gradients() {
    fn f<'t>(x: Var<'t, f64>) -> Result<Var<'t, f64>> {
        Ok((x.sin() * x.powi(2)).sum_all() + x.exp().sum_all().ln())
    }
    let x = normal(&[5], 32);
    let v = normal(&[5], 33);
    let (_, _, hv) = hvp(f, &x, &v).unwrap();
    let eps = 1e-5;
    let (_, gp) = gradient(f, &x.add(&v.mul_scalar(eps)).unwrap()).unwrap();
    let (_, gm) = gradient(f, &x.sub(&v.mul_scalar(eps)).unwrap()).unwrap();
    let fd = gp.sub(&gm).unwrap().mul_scalar(0.5 / eps);
    assert!(hv.allclose(&fd, 1e-6, 1e-8), "{hv:?} vs {fd:?}");
}

#[test]
fn mixed_partials_match_closed_form() {
    // f = x² y³ + sin(x y): f_xy = 6 x y² + cos(xy) − x y sin(xy)
    let (x0, y0): (f64, f64) = (0.7, -1.3);
    let h = hessian(
        |v| {
            let x = v.narrow(0, 0, 1)?;
            let y = v.narrow(0, 1, 1)?;
            Ok((x.powi(2) * y.powi(3) + (x * y).sin()).sum_all())
        },
        &Tensor::from_vec(vec![x0, y0], [2]).unwrap(),
    )
    .unwrap();
    let fxy = 6.0 * x0 * y0 * y0 + (x0 * y0).cos() - x0 * y0 * (x0 * y0).sin();
    let fxx = 2.0 * y0.powi(3) - y0 * y0 * (x0 * y0).sin();
    let fyy = 6.0 * x0 * x0 * y0 - x0 * x0 * (x0 * y0).sin();
    let hs = h.as_slice();
    assert!(close(hs[1], fxy) && close(hs[2], fxy), "{hs:?} vs {fxy}");
    assert!(close(hs[0], fxx) && close(hs[3], fyy), "{hs:?}");
}

#[test]
fn jvp_matches_jacobian_times_vector() {
    fn f<'t>(x: Var<'t, f64>) -> Result<Var<'t, f64>> {
        let w = x.tape().constant(Tensor::rand_normal([3, 4], 0.0, 1.0, 40));
        Ok(w.matmul(x.tanh().reshape([4, 1])?)?.sin())
    }
    let x = normal(&[4], 41);
    let v = normal(&[4], 42);
    let (_, jv) = jvp(f, &x, &v).unwrap();
    let j = jacobian(f, &x).unwrap();
    let expected = j
        .matmul(&v.reshape([4, 1]).unwrap())
        .unwrap()
        .reshape([3, 1])
        .unwrap();
    assert!(
        jv.allclose(&expected, 1e-12, 1e-12),
        "{jv:?} vs {expected:?}"
    );
}

#[test]
fn third_derivative_by_repeated_differentiation() {
    let tape = Tape::new();
    let x = tape.scalar_var(0.8);
    let y = x.powi(4) + x.sin();
    let d1 = tape.grad_graph(&[y], &[x], None).unwrap()[0];
    let d2 = tape.grad_graph(&[d1], &[x], None).unwrap()[0];
    let d3 = tape.grad(&[d2], &[x], None).unwrap()[0].item().unwrap();
    let expected = 24.0 * 0.8 - 0.8f64.cos();
    assert!(close(d3, expected), "{d3} vs {expected}");
}

// ---- Tape behaviour ----

#[test]
fn reused_value_accumulates_gradient() {
    let tape = Tape::new();
    let x = tape.scalar_var(3.0);
    let y = x * x * x + x;
    assert_eq!(tape.backward(y).unwrap().wrt(x).item().unwrap(), 28.0);
}

#[test]
fn detach_and_no_grad_stop_gradients() {
    let tape = Tape::new();
    let x = tape.scalar_var(2.0);
    let y = x * x.detach();
    assert_eq!(tape.backward(y).unwrap().wrt(x).item().unwrap(), 2.0);
    let z = tape.no_grad(|| x * x);
    assert!(!z.requires_grad());
    assert!(tape.backward(z).unwrap().get(x).is_none());
}

#[test]
fn non_scalar_backward_without_seed_is_an_error() {
    let tape = Tape::new();
    let x = tape.var(Tensor::<f64>::ones([3, 2]));
    let e = tape.backward(x.sin()).unwrap_err().to_string();
    assert!(
        e.contains("backward") && e.contains("[3, 2]") && e.contains("seed"),
        "{e}"
    );
    let wrong = Tensor::ones([2]);
    let e = tape
        .backward_seeded(x.sin(), &wrong)
        .unwrap_err()
        .to_string();
    assert!(e.contains("[2]") && e.contains("[3, 2]"), "{e}");
}

#[test]
fn mismatched_shapes_name_the_op_and_shapes() {
    let tape = Tape::<f32>::new();
    let a = tape.var(Tensor::ones([2, 3]));
    let b = tape.var(Tensor::ones([4]));
    let e = a.try_add(b).unwrap_err().to_string();
    assert!(
        e.starts_with("add:") && e.contains("[2, 3]") && e.contains("[4]"),
        "{e}"
    );
    let e = a.matmul(a).unwrap_err().to_string();
    assert!(
        e.starts_with("matmul:") && e.contains("inner dimensions 3 and 2"),
        "{e}"
    );
    let e = a.sum(&[2], false).unwrap_err().to_string();
    assert!(e.contains("sum") && e.contains("axis 2"), "{e}");
}

#[test]
#[should_panic(expected = "mul: shapes [2, 3] and [4]")]
fn operators_panic_with_the_same_message() {
    let tape = Tape::<f32>::new();
    let _ = tape.var(Tensor::ones([2, 3])) * tape.var(Tensor::ones([4]));
}

#[test]
fn variables_of_another_tape_are_rejected() {
    let t1 = Tape::<f64>::new();
    let t2 = Tape::<f64>::new();
    let x = t1.scalar_var(1.0);
    let y = t2.scalar_var(1.0);
    assert!(x
        .try_add(y)
        .unwrap_err()
        .to_string()
        .contains("different tapes"));
    assert!(t2.backward(x).is_err());
}

#[test]
fn cleared_tape_does_not_grow_over_many_steps() {
    let mut tape = Tape::<f32>::with_capacity(64);
    let w = Tensor::rand_normal([8, 8], 0.0, 0.3, 50);
    let x = Tensor::rand_normal([4, 8], 0.0, 1.0, 51);
    let mut first_len = 0;
    let mut cap = 0;
    for step in 0..10_000 {
        {
            let wv = tape.var(w.clone());
            let h = tape.constant(x.clone()).matmul(wv).unwrap().tanh();
            let loss = h.powi(2).mean_all();
            let g = tape.backward(loss).unwrap();
            assert_eq!(g.wrt(wv).dims(), &[8, 8]);
        }
        if step == 0 {
            first_len = tape.len();
        }
        assert_eq!(tape.len(), first_len);
        tape.clear();
        if step == 10 {
            cap = tape.nodes.borrow().capacity();
        }
        if step > 10 {
            assert_eq!(
                tape.nodes.borrow().capacity(),
                cap,
                "tape storage grew at step {step}"
            );
        }
    }
}
