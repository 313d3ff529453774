//! A parsed formula with its variables in order of first appearance, bound to points and
//! evaluated on the engine's tape: value, gradient, Hessian, and checks against them.

use super::lower::lower;
use super::FormulaError;
use crate::autodiff::Tape;
use crate::expr::{eval, format_number, gradient, parse, parse_point, Env, Expr, ExprKind, Func};

/// A formula ready for analysis: its text, its tree and its variables.
#[derive(Debug, Clone)]
pub struct Formula {
    text: String,
    expr: Expr,
    vars: Vec<String>,
}

impl Formula {
    /// Parses `text`; a parse error is folded onto one line with the bad text marked.
    pub fn parse(text: &str) -> Result<Formula, FormulaError> {
        let expr = parse(text).map_err(|e| FormulaError::from_parse(text, e))?;
        let vars = expr.variables();
        Ok(Formula {
            text: text.trim().to_string(),
            expr,
            vars,
        })
    }

    /// The formula as written (trimmed).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parsed tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The variables in order of first appearance: the order of every vector in this module.
    pub fn variables(&self) -> &[String] {
        &self.vars
    }

    /// Reads a point such as `x=1,y=2` and orders its values like [`variables`](Self::variables).
    pub fn bind(&self, point: &str) -> Result<Vec<f64>, FormulaError> {
        let pairs = parse_point(point).map_err(|error| FormulaError::Point {
            text: point.to_string(),
            error,
        })?;
        self.bind_pairs(&pairs)
    }

    /// Orders `pairs` like the variables; every variable needs a value and every name must be
    /// a variable of the formula.
    pub fn bind_pairs(&self, pairs: &[(String, f64)]) -> Result<Vec<f64>, FormulaError> {
        if let Some((name, _)) = pairs.iter().find(|(n, _)| !self.vars.contains(n)) {
            let known = match self.vars.len() {
                0 => "no variables".to_string(),
                _ => format!("variables {}", self.vars.join(", ")),
            };
            return Err(FormulaError::UnknownVariable {
                name: name.clone(),
                formula: self.text.clone(),
                known,
            });
        }
        self.vars
            .iter()
            .map(|v| match pairs.iter().find(|(n, _)| n == v) {
                Some((_, x)) => Ok(*x),
                None => Err(FormulaError::MissingVariable {
                    name: v.clone(),
                    column: first_column(&self.expr, v),
                    formula: self.text.clone(),
                }),
            })
            .collect()
    }

    /// `x=1, y=2` for messages.
    pub fn format_point(&self, x: &[f64]) -> String {
        if self.vars.is_empty() {
            return "(no variables)".into();
        }
        self.vars
            .iter()
            .zip(x)
            .map(|(n, v)| format!("{n}={}", format_number(*v)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn env(&self, x: &[f64]) -> Env {
        self.vars.iter().cloned().zip(x.iter().copied()).collect()
    }

    /// The value by direct f64 evaluation (NaN or infinite where the formula is undefined);
    /// used to sample functions for plots and for finite differences.
    pub fn eval(&self, x: &[f64]) -> f64 {
        eval(&self.expr, &self.env(x)).unwrap_or(f64::NAN)
    }

    /// Value and gradient from one forward pass on a tape and one backward sweep. Values may be
    /// non-finite (descent uses that to detect divergence); see [`checked_gradient`](Self::checked_gradient).
    pub fn value_and_gradient(&self, x: &[f64]) -> Result<(f64, Vec<f64>), FormulaError> {
        let tape = Tape::new();
        let low = lower(&tape, &self.expr, &self.vars, x)?;
        let value = low.output.item().map_err(|e| self.engine(e))?;
        let grads = tape.backward(low.output).map_err(|e| self.engine(e))?;
        let g = low
            .inputs
            .iter()
            .map(|v| grads.wrt(*v).item().map_err(|e| self.engine(e)))
            .collect::<Result<Vec<f64>, _>>()?;
        Ok((value, g))
    }

    /// Value and gradient, failing with a message naming the point (and the part of the
    /// formula that breaks) if either is not finite.
    pub fn checked_gradient(&self, x: &[f64]) -> Result<(f64, Vec<f64>), FormulaError> {
        self.check_finite(x)?;
        let (value, g) = self.value_and_gradient(x)?;
        if let Some(i) = g.iter().position(|v| !v.is_finite()) {
            return Err(FormulaError::NotFinite {
                what: format!(
                    "the derivative of '{}' with respect to {} is {}",
                    self.text,
                    self.vars[i],
                    format_number(g[i])
                ),
                point: self.format_point(x),
                hint: " (the formula is not differentiable there)".into(),
            });
        }
        Ok((value, g))
    }

    /// The value at `x`, or an error naming the innermost part of the formula that is not
    /// finite there and a likely reason (log of a number <= 0, division by zero, ...).
    pub fn check_finite(&self, x: &[f64]) -> Result<f64, FormulaError> {
        let env = self.env(x);
        let value = eval(&self.expr, &env).map_err(|e| match e {
            crate::expr::EvalError::UnknownVariable { name, column } => {
                FormulaError::MissingVariable {
                    name,
                    column,
                    formula: self.text.clone(),
                }
            }
        })?;
        if value.is_finite() {
            return Ok(value);
        }
        let (part, part_value, hint) = culprit(&self.expr, &env).unwrap_or((&self.expr, value, ""));
        let whole = self.expr.to_string();
        let what = if part.to_string() == whole {
            format!("'{}' is {}", self.text, format_number(part_value))
        } else {
            format!(
                "'{}' is {}: its part '{}' (column {}) is {}",
                self.text,
                format_number(value),
                part,
                part.span.column(),
                format_number(part_value)
            )
        };
        Err(FormulaError::NotFinite {
            what,
            point: self.format_point(x),
            hint: if hint.is_empty() {
                String::new()
            } else {
                format!(" ({hint})")
            },
        })
    }

    /// The Hessian by reverse-mode AD applied twice: the gradient is recorded as a graph
    /// (`grad_graph`) and each component is differentiated again. Rows follow the variables.
    pub fn hessian(&self, x: &[f64]) -> Result<Vec<Vec<f64>>, FormulaError> {
        let tape = Tape::new();
        let low = lower(&tape, &self.expr, &self.vars, x)?;
        let g = tape
            .grad_graph(&[low.output], &low.inputs, None)
            .map_err(|e| self.engine(e))?;
        g.iter()
            .map(|gi| {
                let row = tape
                    .grad(&[*gi], &low.inputs, None)
                    .map_err(|e| self.engine(e))?;
                row.iter()
                    .map(|t| t.item().map_err(|e| self.engine(e)))
                    .collect()
            })
            .collect()
    }

    /// Explicit derivative formulas, simplified, one per variable.
    pub fn symbolic_gradient(&self) -> Vec<(String, Expr)> {
        gradient(&self.expr)
    }

    /// Central finite differences `(f(x + h e_i) - f(x - h e_i)) / 2h` with `h` scaled to
    /// each coordinate: an independent check of the AD gradient.
    pub fn finite_difference(&self, x: &[f64]) -> Vec<f64> {
        (0..x.len())
            .map(|i| {
                let h = 6e-6 * x[i].abs().max(1.0);
                let mut up = x.to_vec();
                let mut down = x.to_vec();
                up[i] += h;
                down[i] -= h;
                (self.eval(&up) - self.eval(&down)) / (up[i] - down[i])
            })
            .collect()
    }

    fn engine(&self, e: crate::Error) -> FormulaError {
        FormulaError::Engine {
            formula: self.text.clone(),
            detail: e.to_string(),
        }
    }
}

fn first_column(expr: &Expr, var: &str) -> usize {
    let mut col = None;
    expr.visit(&mut |e| {
        if col.is_none() && matches!(&e.kind, ExprKind::Var(n) if n == var) {
            col = Some(e.span.column());
        }
    });
    col.unwrap_or(1)
}

/// The innermost sub-formula whose value is not finite while its operands are, with its value
/// and a likely reason.
fn culprit<'e>(e: &'e Expr, env: &Env) -> Option<(&'e Expr, f64, &'static str)> {
    let children: Vec<&Expr> = match &e.kind {
        ExprKind::Num(_) | ExprKind::Var(_) | ExprKind::Const(_) => vec![],
        ExprKind::Neg(a) | ExprKind::Call(_, a) => vec![a],
        ExprKind::Add(a, b)
        | ExprKind::Sub(a, b)
        | ExprKind::Mul(a, b)
        | ExprKind::Div(a, b)
        | ExprKind::Pow(a, b) => vec![a, b],
    };
    for c in &children {
        if let Some(found) = culprit(c, env) {
            return Some(found);
        }
    }
    let v = eval(e, env).ok()?;
    if v.is_finite() {
        return None;
    }
    let arg = |k: usize| eval(children[k], env).unwrap_or(f64::NAN);
    let hint = match &e.kind {
        ExprKind::Call(Func::Log, _) if arg(0) < 0.0 => "log of a negative number",
        ExprKind::Call(Func::Log, _) => "log of zero",
        ExprKind::Call(Func::Sqrt, _) => "square root of a negative number",
        ExprKind::Call(Func::Exp, _) => "exp overflows",
        ExprKind::Call(Func::Tan, _) => "tan at an odd multiple of pi/2",
        ExprKind::Div(..) if arg(1) == 0.0 => "division by zero",
        ExprKind::Pow(..) if arg(0) < 0.0 => "negative base with a non-integer exponent",
        ExprKind::Pow(..) if arg(0) == 0.0 => "zero to a negative power",
        _ => "overflow",
    };
    Some((e, v, hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lecture_formula_gradient_matches_the_known_value() {
        let f = Formula::parse("sqrt(x^2+exp(x^2))+cos(x^2+exp(x^2))").unwrap();
        let x = f.bind("x=1").unwrap();
        let (_, g) = f.checked_gradient(&x).unwrap();
        assert!((g[0] - 5.983082595909).abs() < 1e-11, "{}", g[0]);
        let fd = f.finite_difference(&x);
        assert!((fd[0] - g[0]).abs() < 1e-7, "{fd:?}");
    }

    #[test]
    fn binding_orders_values_and_names_problems() {
        let f = Formula::parse("y*x + y").unwrap();
        assert_eq!(f.variables(), ["y", "x"]);
        assert_eq!(f.bind("x=1,y=2").unwrap(), vec![2.0, 1.0]);
        let e = f.bind("y=2").unwrap_err();
        assert!(
            matches!(&e, FormulaError::MissingVariable { name, column: 3, .. } if name == "x"),
            "{e:?}"
        );
        let e = f.bind("x=1,y=2,z=3").unwrap_err().to_string();
        assert!(e.contains("'z'") && e.contains("y, x"), "{e}");
        assert!(matches!(
            f.bind("x=1,y").unwrap_err(),
            FormulaError::Point { .. }
        ));
    }

    #[test]
    fn non_finite_values_name_the_part_and_the_point() {
        let f = Formula::parse("x + log(x - 2)").unwrap();
        let e = f.checked_gradient(&[1.0]).unwrap_err().to_string();
        assert!(e.contains("log(x - 2)") && e.contains("x=1"), "{e}");
        assert!(e.contains("log of a negative number"), "{e}");
        let f = Formula::parse("1/(x*y)").unwrap();
        let e = f.check_finite(&[0.0, 2.0]).unwrap_err().to_string();
        assert!(
            e.contains("division by zero") && e.contains("x=0, y=2"),
            "{e}"
        );
        let f = Formula::parse("sqrt(x)").unwrap();
        let e = f.checked_gradient(&[0.0]).unwrap_err().to_string();
        assert!(e.contains("derivative") && e.contains("x=0"), "{e}");
    }

    #[test]
    fn hessian_of_a_cubic_matches_hand_derivatives() {
        let f = Formula::parse("x^3*y + 2*x*y^2 + 5*x").unwrap();
        let h = f.hessian(&[2.0, -1.0]).unwrap();
        // f_xx = 6xy, f_xy = 3x^2 + 4y, f_yy = 4x
        assert_eq!(h, vec![vec![-12.0, 8.0], vec![8.0, 8.0]]);
        // A linear formula has a zero Hessian (the gradient is constant).
        let f = Formula::parse("3*x - y").unwrap();
        assert_eq!(f.hessian(&[1.0, 1.0]).unwrap(), vec![vec![0.0; 2]; 2]);
    }

    /// Inputs from fuzzing the formula pipeline (long towers of powers of many variables):
    /// the fuzzer's memory grew past its limit around them. Each runs the fuzz target's steps;
    /// the printed formula parses again and the symbolic derivatives stay small.
    #[test]
    fn fuzzed_power_towers_round_trip_and_keep_small_derivatives() {
        let inputs = [
            "egmr^e^rmrmue^rr^e^rmurr^e^r^ee^r^eumr^e^rmue^r^rmu^eumr^e^rmue^r^rmu",
            "K^rr^rmr^vum^r^rmuelne^Fr^r^rmr^vr^r^rmr^vum^rum^r^ree^r^rmr^vum^r^rmuelne^Fr^r^rmr^vr^r^rmr^vum^rum^r^rFrB1ne^FrB1B1r^FrB1ne^FrB1B",
            "Egmuee^r^rmr^vu^rmr^vum^r^rmuelne^Fr^r^rmr^vr^r^rmr^vuum^r^m^rum^r^rFrB2nm^r^rmuelne^Fr^r^rmr^vr^r^rmr^vuum^r^m^rum^r^rFrB2ne^FrJ1B1r^rmu",
        ];
        for text in inputs {
            let f = Formula::parse(text).unwrap();
            let printed = f.expr().to_string();
            assert!(Formula::parse(&printed).is_ok(), "{printed}");
            let _ = crate::expr::simplify(f.expr());
            let size: usize = f
                .symbolic_gradient()
                .iter()
                .map(|(_, d)| d.to_string().len())
                .sum();
            assert!(
                size < 1 << 20,
                "{size} bytes of symbolic gradient for {text}"
            );
            let n = f.variables().len();
            for x in [vec![0.7; n], (0..n).map(|i| -1.3 + i as f64).collect()] {
                let _ = f.eval(&x);
                let _ = f.check_finite(&x);
                let _ = f.value_and_gradient(&x);
            }
        }
    }
}
