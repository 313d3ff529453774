//! Properties across the module: no input panics, printing round-trips, derivatives match
//! finite differences, simplification keeps values.

use proptest::prelude::*;

use super::lexer::{lex, TokKind};
use super::*;

const VARS: [&str; 3] = ["x", "y", "z"];

fn s() -> Span {
    Span::default()
}

/// Random formula trees over x, y, z. A minus directly on a literal is folded into the number,
/// as the parser does, so that round trips can compare trees exactly.
fn arb_expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        (1u32..40).prop_map(|n| Expr::num(f64::from(n) / 4.0, s())),
        (0usize..3).prop_map(|i| Expr::var(VARS[i], s())),
        Just(Expr::new(ExprKind::Const(Const::Pi), s())),
        Just(Expr::new(ExprKind::Const(Const::E), s())),
    ];
    leaf.prop_recursive(5, 40, 2, |inner| {
        let funcs = [
            Func::Exp,
            Func::Log,
            Func::Sqrt,
            Func::Sin,
            Func::Cos,
            Func::Tan,
            Func::Tanh,
            Func::Sigmoid,
            Func::Relu,
            Func::Abs,
            Func::Step,
            Func::Sign,
        ];
        prop_oneof![
            inner.clone().prop_map(|a| match a.kind {
                ExprKind::Num(v) => Expr::num(-v, s()),
                _ => Expr::neg(a, s()),
            }),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::add(a, b, s())),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::sub(a, b, s())),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::mul(a, b, s())),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::div(a, b, s())),
            (inner.clone(), 0u32..5).prop_map(|(a, n)| Expr::pow(
                a,
                Expr::num(f64::from(n), s()),
                s()
            )),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::pow(a, b, s())),
            (0usize..funcs.len(), inner).prop_map(move |(i, a)| Expr::call(funcs[i], a, s())),
        ]
    })
}

fn env_at(x: f64, y: f64, z: f64) -> Env {
    Env::new().with("x", x).with("y", y).with("z", z)
}

/// f evaluated with `var` moved to `t`.
fn eval_along(e: &Expr, var: &str, t: f64, base: &Env) -> f64 {
    let mut env = base.clone();
    env.set(var, t);
    eval(e, &env).unwrap_or(f64::NAN)
}

/// Central difference with Richardson extrapolation; `None` where the function is not finite or
/// not smooth enough for differences to agree (kinks, poles, cancellation).
fn finite_difference(e: &Expr, var: &str, base: &Env) -> Option<f64> {
    let x0 = base.get(var)?;
    let f0 = eval(e, base).ok()?;
    if !f0.is_finite() || f0.abs() > 1e6 {
        return None;
    }
    let central =
        |h: f64| (eval_along(e, var, x0 + h, base) - eval_along(e, var, x0 - h, base)) / (2.0 * h);
    let h = 1e-3 * (1.0 + x0.abs());
    for t in [x0 - h, x0, x0 + h] {
        let mut env = base.clone();
        env.set(var, t);
        if largest_part(e, &env) > 1e6 {
            return None;
        }
    }
    let (d1, d2, d4) = (central(h), central(h / 2.0), central(h / 4.0));
    if !(d1.is_finite() && d2.is_finite() && d4.is_finite()) {
        return None;
    }
    let r1 = (4.0 * d2 - d1) / 3.0;
    let r2 = (4.0 * d4 - d2) / 3.0;
    let scale = 1.0 + r2.abs();
    if (r1 - r2).abs() > 1e-7 * scale || (d2 - d4).abs() > 1e-2 * scale {
        return None;
    }
    Some(r2)
}

/// Whether the power rule is undefined here for some `a^g`: `g` depends on `var` and `a <= 0`
/// (such a power is only real at isolated exponents, and its derivative uses `log(a)`), or `a`
/// depends on `var`, `a = 0` and `g < 1` (the derivative is 0·∞), even where a difference
/// quotient happens to be finite.
fn power_rule_undefined(e: &Expr, var: &str, env: &Env) -> bool {
    let mut found = false;
    e.visit(&mut |node| {
        if let ExprKind::Pow(a, g) = &node.kind {
            let base = eval(a, env).unwrap_or(f64::NAN);
            if g.contains_var(var) && (base.is_nan() || base <= 0.0) {
                found = true;
            }
            // f^p with p < 1 at f = 0: the power rule's p·f^(p-1)·f' is 0·∞ there, even where
            // f is flat (e.g. (-relu(z))^0.5 for z < 0), so the symbolic form is undefined.
            let p = eval(g, env).unwrap_or(f64::NAN);
            if a.contains_var(var) && base == 0.0 && (p.is_nan() || p < 1.0) {
                found = true;
            }
        }
    });
    found
}

/// The largest magnitude of any subexpression at the point, infinite if one is not finite.
/// IEEE arithmetic can hide an infinite or undefined inner value (`1/(1/0)` is 0, `1^NaN` is
/// 1) where no derivative exists, and huge inner values make differences meaningless.
fn largest_part(e: &Expr, env: &Env) -> f64 {
    let mut largest = 0.0f64;
    e.visit(&mut |node| {
        let v = eval(node, env).unwrap_or(f64::NAN);
        largest = if v.is_finite() {
            largest.max(v.abs())
        } else {
            f64::INFINITY
        };
    });
    largest
}

/// A token pattern that simplification should have removed, if any.
fn noise(printed: &str) -> Option<String> {
    let toks: Vec<TokKind> = lex(printed).ok()?.into_iter().map(|t| t.kind).collect();
    let one = |t: &TokKind| *t == TokKind::Num(1.0);
    let zero = |t: &TokKind| *t == TokKind::Num(0.0);
    for (i, w) in toks.windows(2).enumerate() {
        let prev = i.checked_sub(1).map(|p| &toks[p]);
        let after_op = prev.is_none_or(|p| {
            matches!(
                p,
                TokKind::Plus | TokKind::Minus | TokKind::Star | TokKind::LParen
            )
        });
        // `0^y` and `1^f(y)` may stay: they are powers, not identities.
        if toks.get(i + 2) == Some(&TokKind::Caret) && (one(&w[1]) || zero(&w[1])) {
            continue;
        }
        let bad = match (&w[0], &w[1]) {
            (TokKind::Star, t) if one(t) || zero(t) => true,
            (TokKind::Caret, t) if one(t) || zero(t) => true,
            (TokKind::Plus | TokKind::Minus, t) if zero(t) => true,
            (TokKind::Minus | TokKind::Plus, TokKind::Minus) => true,
            // A number after '*' is a coefficient left behind, unless it is a power's base.
            (TokKind::Star, TokKind::Num(_)) => toks.get(i + 2) != Some(&TokKind::Caret),
            (TokKind::Slash, t) if one(t) => true,
            (t, TokKind::Star) if after_op && (one(t) || zero(t)) => true,
            (t, TokKind::Plus | TokKind::Minus) if after_op && zero(t) => true,
            _ => false,
        };
        if bad {
            return Some(format!("{:?} {:?}", w[0], w[1]));
        }
    }
    let caret_minus_one = toks
        .windows(3)
        .any(|w| w[0] == TokKind::Caret && w[1] == TokKind::Minus && one(&w[2]));
    caret_minus_one.then(|| "^-1".to_string())
}

#[test]
fn noise_detector_flags_only_identities() {
    for bad in [
        "x*1", "1*x", "x + 0", "0 + x", "x^1", "x^0", "--x", "x + -y", "x*2", "x^-1",
    ] {
        assert!(noise(bad).is_some(), "{bad}");
    }
    for good in [
        "x*2^y", "10*x", "0.1*x", "x + 0.5", "x^10", "2*x", "1/x", "x - 1", "1e-10*x",
    ] {
        assert_eq!(noise(good), None, "{good}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn parser_never_panics_on_formula_like_text(
        src in "[xy0-9eE.+*/^() -]{0,24}|(sin|exp|pi|x|y|2|\\.|e|\\+|-|\\*|/|\\^|\\(|\\)| |,|sqr|1e-)*"
    ) {
        if let Ok(e) = parse(&src) {
            let env = env_at(0.5, -1.5, 2.0);
            let _ = eval(&e, &env);
            let d = diff(&e, "x");
            let _ = eval(&d, &env);
            prop_assert_eq!(parse(&e.to_string()).ok(), Some(e.clone()));
            prop_assert!(parse(&d.to_string()).is_ok(), "{}", d);
        }
    }

    #[test]
    fn parser_never_panics_on_arbitrary_text(src in "\\PC{0,40}") {
        if let Err(err) = parse(&src) {
            prop_assert!(err.column >= 1 && err.column <= src.chars().count() + 1);
            let _ = err.render(&src);
        }
    }

    #[test]
    fn printing_round_trips_to_the_same_tree(e in arb_expr()) {
        let printed = e.to_string();
        let back = parse(&printed);
        prop_assert!(back.is_ok(), "{} -> {:?}", printed, back);
        prop_assert_eq!(back.unwrap(), e);
    }

    #[test]
    fn simplify_keeps_values(
        e in arb_expr(), x in -3.0f64..3.0, y in -3.0f64..3.0, z in -3.0f64..3.0,
    ) {
        let env = env_at(x, y, z);
        let want = eval(&e, &env).unwrap();
        let simple = simplify(&e);
        let got = eval(&simple, &env).unwrap();
        let largest = largest_part(&e, &env);
        if want.is_finite() && largest.is_finite() {
            // Reordered arithmetic rounds differently; the rounding error can grow with the
            // largest intermediate value (think cos of a huge argument).
            prop_assert!(
                (got - want).abs() <= 1e-10 * (1.0 + want.abs() + largest),
                "{} = {} but simplified {} = {}", e, want, simple, got
            );
        }
        prop_assert!(simple.size() <= 4 * e.size() + 4, "{} grew to {}", e, simple);
    }

}

/// Symbolic derivatives of random formulas agree with difference quotients; at least half of the
/// random points must be smooth enough to compare, so the property cannot pass vacuously.
#[test]
fn derivatives_match_finite_differences() {
    use std::cell::Cell;
    let compared = Cell::new(0usize);
    let cases = 400;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(cases));
    let inputs = (
        arb_expr(),
        0usize..3,
        -3.0f64..3.0,
        -3.0f64..3.0,
        -3.0f64..3.0,
    );
    let result = runner.run(&inputs, |(e, var, x, y, z)| {
        let var = VARS[var];
        let env = env_at(x, y, z);
        let d = diff(&e, var);
        let printed = d.to_string();
        prop_assert_eq!(noise(&printed), None, "d/d{} {} = {}", var, e, printed);
        let reparsed = parse(&printed);
        prop_assert!(reparsed.is_ok(), "{}", printed);
        let defined = !power_rule_undefined(&e, var, &env);
        if let Some(fd) = finite_difference(&e, var, &env).filter(|_| defined) {
            compared.set(compared.get() + 1);
            let got = eval(&d, &env).unwrap();
            prop_assert!(
                (got - fd).abs() <= 1e-5 * (1.0 + fd.abs()),
                "d/d{} {} at {:?}: symbolic {} = {}, differences {}",
                var,
                e,
                (x, y, z),
                printed,
                got,
                fd
            );
            let again = eval(&reparsed.unwrap(), &env).unwrap();
            prop_assert!(
                (again - got).abs() <= 1e-12 * (1.0 + got.abs()),
                "{}",
                printed
            );
        }
        Ok(())
    });
    if let Err(err) = result {
        panic!("{err}");
    }
    assert!(
        compared.get() * 2 >= cases as usize,
        "only {} of {cases} points were comparable",
        compared.get()
    );
}

/// Formulas near the nesting limit still differentiate, evaluate and print on a test thread's
/// small stack.
#[test]
fn deep_formulas_do_not_exhaust_the_stack() {
    let nested = format!("{}x{}", "sin(".repeat(120), ")".repeat(120));
    let chain = (0..250)
        .map(|i| format!("x^{}", i % 7))
        .collect::<Vec<_>>()
        .join("+");
    let quotients = (0..60)
        .map(|i| format!("(x+{i})"))
        .collect::<Vec<_>>()
        .join("/");
    let x = 0.3;
    for f in [nested, chain, quotients] {
        let e = parse(&f).unwrap();
        let d = diff(&e, "x");
        let env = Env::new().with("x", x);
        let got = eval(&d, &env).unwrap();
        let h = 1e-6;
        let fd = (eval_along(&e, "x", x + h, &env) - eval_along(&e, "x", x - h, &env)) / (2.0 * h);
        assert!((got - fd).abs() <= 1e-4 * (1.0 + fd.abs()), "{got} vs {fd}");
        assert_eq!(parse(&d.to_string()).unwrap(), d);
    }
}
