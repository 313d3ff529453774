//! Symbolic differentiation by the chain rule, for printing derivatives and cross-checking autodiff.

use super::ast::{Expr, ExprKind};
use super::func::Func;
use super::simplify::simplify;

/// The simplified partial derivative of `expr` with respect to `var`.
///
/// `relu' = step` and `abs' = sign` (their values at 0 are 0, the usual subgradient choice);
/// `step` and `sign` themselves have derivative 0.
pub fn diff(expr: &Expr, var: &str) -> Expr {
    simplify(&derivative(expr, var))
}

/// The simplified partial derivative with respect to each variable, in order of first
/// appearance.
pub fn gradient(expr: &Expr) -> Vec<(String, Expr)> {
    expr.variables()
        .into_iter()
        .map(|v| {
            let d = diff(expr, &v);
            (v, d)
        })
        .collect()
}

/// The chain-rule derivative without simplification (full of `*1` and `+0`); every new node
/// carries the span of the node it differentiates.
pub fn derivative(expr: &Expr, var: &str) -> Expr {
    let s = expr.span;
    let num = |v: f64| Expr::num(v, s);
    let d = |e: &Expr| derivative(e, var);
    match &expr.kind {
        ExprKind::Num(_) | ExprKind::Const(_) => num(0.0),
        ExprKind::Var(name) => num(if name == var { 1.0 } else { 0.0 }),
        ExprKind::Neg(a) => Expr::neg(d(a), s),
        ExprKind::Add(a, b) => Expr::add(d(a), d(b), s),
        ExprKind::Sub(a, b) => Expr::sub(d(a), d(b), s),
        ExprKind::Mul(a, b) => Expr::add(
            Expr::mul(d(a), (**b).clone(), s),
            Expr::mul((**a).clone(), d(b), s),
            s,
        ),
        // Dividing by a constant is scaling: no quotient rule, so no `b/b^2` to cancel.
        ExprKind::Div(a, b) if !b.contains_var(var) => Expr::div(d(a), (**b).clone(), s),
        ExprKind::Div(a, b) => Expr::div(
            Expr::sub(
                Expr::mul(d(a), (**b).clone(), s),
                Expr::mul((**a).clone(), d(b), s),
                s,
            ),
            Expr::pow((**b).clone(), num(2.0), s),
            s,
        ),
        ExprKind::Pow(f, g) => {
            let (f, g) = (f.as_ref(), g.as_ref());
            if !g.contains_var(var) {
                // n * f^(n-1) * f'
                let lowered = Expr::pow(f.clone(), Expr::sub(g.clone(), num(1.0), s), s);
                Expr::mul(Expr::mul(g.clone(), lowered, s), d(f), s)
            } else if !f.contains_var(var) {
                // a^g * ln(a) * g'
                let ln_f = Expr::call(Func::Log, f.clone(), s);
                Expr::mul(Expr::mul(expr.clone(), ln_f, s), d(g), s)
            } else {
                // f^g * (g' ln f + g f'/f)
                let ln_f = Expr::call(Func::Log, f.clone(), s);
                let inner = Expr::add(
                    Expr::mul(d(g), ln_f, s),
                    Expr::div(Expr::mul(g.clone(), d(f), s), f.clone(), s),
                    s,
                );
                Expr::mul(expr.clone(), inner, s)
            }
        }
        ExprKind::Call(func, u) => Expr::mul(outer_derivative(*func, u, expr), d(u), s),
    }
}

/// f'(u) for a built-in f, written in terms of `u` (the `call` node is reused where f'(u)
/// contains f(u) itself).
fn outer_derivative(func: Func, u: &Expr, call: &Expr) -> Expr {
    let s = call.span;
    let num = |v: f64| Expr::num(v, s);
    let apply = |f: Func| Expr::call(f, u.clone(), s);
    match func {
        Func::Exp => call.clone(),
        Func::Log => Expr::div(num(1.0), u.clone(), s),
        Func::Sqrt => Expr::div(num(1.0), Expr::mul(num(2.0), call.clone(), s), s),
        Func::Sin => apply(Func::Cos),
        Func::Cos => Expr::neg(apply(Func::Sin), s),
        Func::Tan => Expr::div(num(1.0), Expr::pow(apply(Func::Cos), num(2.0), s), s),
        Func::Tanh => Expr::sub(num(1.0), Expr::pow(call.clone(), num(2.0), s), s),
        Func::Sigmoid => Expr::mul(call.clone(), Expr::sub(num(1.0), call.clone(), s), s),
        Func::Relu => apply(Func::Step),
        Func::Abs => apply(Func::Sign),
        Func::Step | Func::Sign => num(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{eval, parse, Env};

    fn d_at(src: &str, var: &str, env: &Env) -> f64 {
        eval(&diff(&parse(src).unwrap(), var), env).unwrap()
    }

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs().max(1e-300)
    }

    #[test]
    fn lecture_formula_derivative_values() {
        let src = "sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2))";
        for (x, want) in [
            (1.0, 5.983082595909),
            (0.5, -1.360431078598),
            (2.0, -182.869807305983),
        ] {
            let got = d_at(src, "x", &Env::new().with("x", x));
            assert!(close(got, want, 1e-9), "f'({x}) = {got}, want {want}");
        }
    }

    #[test]
    fn lecture_polynomial_partials() {
        let f = parse("(x+2*y^3)^2").unwrap();
        let dx = diff(&f, "x");
        let dy = diff(&f, "y");
        assert_eq!(dx.to_string(), "2*(x + 2*y^3)");
        let expected_dx = parse("2*(x + 2*y^3)").unwrap();
        let expected_dy = parse("12*(x + 2*y^3)*y^2").unwrap();
        for (x, y) in [(1.0, 2.0), (-0.5, 0.3), (3.0, -1.25)] {
            let env = Env::new().with("x", x).with("y", y);
            let want_x = eval(&expected_dx, &env).unwrap();
            let want_y = eval(&expected_dy, &env).unwrap();
            assert!(close(eval(&dx, &env).unwrap(), want_x, 1e-12));
            assert!(close(eval(&dy, &env).unwrap(), want_y, 1e-12));
        }
    }

    #[test]
    fn derivative_of_every_function_matches_its_formula() {
        let x = 0.4_f64;
        let env = Env::new().with("x", x);
        let sig = 1.0 / (1.0 + (-x).exp());
        let cases: &[(&str, f64)] = &[
            ("exp(x)", x.exp()),
            ("log(x)", 1.0 / x),
            ("ln(x)", 1.0 / x),
            ("sqrt(x)", 0.5 / x.sqrt()),
            ("sin(x)", x.cos()),
            ("cos(x)", -x.sin()),
            ("tan(x)", 1.0 / x.cos().powi(2)),
            ("tanh(x)", 1.0 - x.tanh().powi(2)),
            ("sigmoid(x)", sig * (1.0 - sig)),
            ("relu(x)", 1.0),
            ("relu(-x)", 0.0),
            ("abs(x)", 1.0),
            ("abs(-x)", 1.0),
            ("step(x)", 0.0),
            ("sign(x)", 0.0),
            ("pi*x + e", std::f64::consts::PI),
            ("x^3", 3.0 * x * x),
            ("2^x", 2f64.powf(x) * 2f64.ln()),
            ("x^x", x.powf(x) * (x.ln() + 1.0)),
            ("1/x", -1.0 / (x * x)),
            ("-x^2", -2.0 * x),
        ];
        for &(src, want) in cases {
            let got = d_at(src, "x", &env);
            assert!(
                (got - want).abs() < 1e-12 * (1.0 + want.abs()),
                "d/dx {src} = {got}, want {want}"
            );
        }
    }

    #[test]
    fn printed_derivatives_are_readable() {
        let cases = [
            ("x^2", "2*x"),
            ("3*x^4", "12*x^3"),
            ("x*y", "y"),
            ("sin(x)", "cos(x)"),
            ("cos(x)", "-sin(x)"),
            ("exp(2*x)", "2*exp(2*x)"),
            ("log(x)", "1/x"),
            ("sqrt(x)", "1/(2*sqrt(x))"),
            ("relu(x)", "step(x)"),
            ("abs(x)", "sign(x)"),
            ("1/x", "-1/x^2"),
            ("x - y", "1"),
            ("y - x", "-1"),
            ("5", "0"),
            ("e^x", "e^x"),
            ("sin(x)/sqrt(2*pi)", "cos(x)/sqrt(2*pi)"),
            ("tanh(x)", "1 - tanh(x)^2"),
            ("sigmoid(x)", "sigmoid(x)*(1 - sigmoid(x))"),
            ("x/(1 + x^2)", "(1 - x^2)/(x^2 + 1)^2"),
        ];
        for (src, want) in cases {
            assert_eq!(
                diff(&parse(src).unwrap(), "x").to_string(),
                want,
                "d/dx {src}"
            );
        }
    }

    #[test]
    fn gradient_lists_variables_in_order() {
        let g = gradient(&parse("y*x^2 + z").unwrap());
        let names: Vec<&str> = g.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["y", "x", "z"]);
        assert_eq!(g[0].1.to_string(), "x^2");
        assert_eq!(g[1].1.to_string(), "2*y*x");
        assert_eq!(g[2].1.to_string(), "1");
    }

    #[test]
    fn derived_nodes_keep_source_spans() {
        let f = parse("1 + sin(q)").unwrap();
        let d = diff(&f, "q");
        let err = eval(&d, &Env::new()).unwrap_err();
        assert!(err.to_string().contains("column 9"), "{err}");
    }
}
