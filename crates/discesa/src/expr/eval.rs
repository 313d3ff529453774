//! Direct f64 evaluation of a formula at a point, for tests and cross-checks of derivatives.

use std::collections::HashMap;

use super::ast::{Expr, ExprKind};
use super::error::EvalError;

/// Variable values for [`eval`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Env {
    values: HashMap<String, f64>,
}

impl Env {
    /// An environment with no variables.
    pub fn new() -> Env {
        Env::default()
    }

    /// Sets (or replaces) a variable's value; returns `self` for chaining.
    pub fn with(mut self, name: impl Into<String>, value: f64) -> Env {
        self.set(name, value);
        self
    }

    /// Sets (or replaces) a variable's value.
    pub fn set(&mut self, name: impl Into<String>, value: f64) {
        self.values.insert(name.into(), value);
    }

    /// A variable's value, if set.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.get(name).copied()
    }
}

impl FromIterator<(String, f64)> for Env {
    /// Builds an environment from `parse_point` output.
    fn from_iter<I: IntoIterator<Item = (String, f64)>>(iter: I) -> Env {
        Env {
            values: iter.into_iter().collect(),
        }
    }
}

/// Evaluates `expr` with IEEE semantics: `log(-1)` is NaN, `1/0` is infinite. Deciding whether a
/// non-finite result is an error is left to the caller, who knows what it was computing.
pub fn eval(expr: &Expr, env: &Env) -> Result<f64, EvalError> {
    Ok(match &expr.kind {
        ExprKind::Num(v) => *v,
        ExprKind::Const(c) => c.value(),
        ExprKind::Var(name) => env.get(name).ok_or_else(|| EvalError::UnknownVariable {
            name: name.clone(),
            column: expr.span.column(),
        })?,
        ExprKind::Neg(a) => -eval(a, env)?,
        ExprKind::Add(a, b) => eval(a, env)? + eval(b, env)?,
        ExprKind::Sub(a, b) => eval(a, env)? - eval(b, env)?,
        ExprKind::Mul(a, b) => eval(a, env)? * eval(b, env)?,
        ExprKind::Div(a, b) => eval(a, env)? / eval(b, env)?,
        ExprKind::Pow(a, b) => eval(a, env)?.powf(eval(b, env)?),
        ExprKind::Call(f, a) => f.apply(eval(a, env)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse;

    fn at(src: &str, env: &Env) -> f64 {
        eval(&parse(src).unwrap(), env).unwrap()
    }

    #[test]
    fn precedence_shows_in_values() {
        let env = Env::new().with("x", 3.0).with("y", 2.0).with("z", 4.0);
        assert_eq!(at("x + y*z", &env), 11.0);
        assert_eq!(at("x - y - z", &env), -3.0);
        assert_eq!(at("x - (y - z)", &env), 5.0);
        assert_eq!(at("z / y / y", &env), 1.0);
        assert_eq!(at("y^x^y", &env), 512.0);
        assert_eq!(at("(y^x)^y", &env), 64.0);
        assert_eq!(at("-x^2", &env), -9.0);
        assert_eq!(at("(-x)^2", &env), 9.0);
        assert_eq!(at("2^-1", &env), 0.5);
        assert_eq!(at("y^-x^2", &env), 2f64.powf(-9.0));
        assert_eq!(at("-y*x", &env), -6.0);
        assert_eq!(at("x*-y", &env), -6.0);
        assert_eq!(at("x - -y", &env), 5.0);
        assert_eq!(at("1e-3*2E+4 + .5", &env), 20.5);
    }

    #[test]
    fn every_function_and_constant() {
        let env = Env::new().with("x", 0.3);
        let x = 0.3_f64;
        let cases: &[(&str, f64)] = &[
            ("exp(x)", x.exp()),
            ("log(x)", x.ln()),
            ("ln(x)", x.ln()),
            ("sqrt(x)", x.sqrt()),
            ("sin(x)", x.sin()),
            ("cos(x)", x.cos()),
            ("tan(x)", x.tan()),
            ("tanh(x)", x.tanh()),
            ("sigmoid(x)", 1.0 / (1.0 + (-x).exp())),
            ("relu(x)", x),
            ("relu(-x)", 0.0),
            ("abs(-x)", x),
            ("step(x)", 1.0),
            ("sign(-x)", -1.0),
            ("pi", std::f64::consts::PI),
            ("e", std::f64::consts::E),
            ("log(e)", 1.0),
            ("cos(pi)", -1.0),
        ];
        for &(src, want) in cases {
            let got = at(src, &env);
            assert!((got - want).abs() < 1e-15, "{src}: {got} vs {want}");
        }
    }

    #[test]
    fn unknown_variable_names_it_and_its_column() {
        let e = parse("x + 2*yy").unwrap();
        let err = eval(&e, &Env::new().with("x", 1.0)).unwrap_err();
        assert_eq!(
            err,
            EvalError::UnknownVariable {
                name: "yy".into(),
                column: 7
            }
        );
    }

    #[test]
    fn non_finite_results_are_values_not_errors() {
        let env = Env::new().with("x", 0.0);
        assert!(at("log(x - 1)", &env).is_nan());
        assert_eq!(at("1/x", &env), f64::INFINITY);
    }

    #[test]
    fn env_from_pairs() {
        let env: Env = vec![("a".to_string(), 1.5), ("b".to_string(), -2.0)]
            .into_iter()
            .collect();
        assert_eq!(env.get("a"), Some(1.5));
        assert_eq!(at("a*b", &env), -3.0);
        assert_eq!(env.get("c"), None);
    }
}
