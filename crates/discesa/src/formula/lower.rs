//! Lowering: a parsed formula becomes operations on the engine's tape, so its gradient and
//! Hessian come from the same reverse-mode machinery that trains networks.

use std::collections::HashMap;

use super::FormulaError;
use crate::autodiff::{Tape, Var};
use crate::expr::{eval, Env, Expr, ExprKind};
use crate::Tensor;

/// A formula recorded on a tape: its inputs (one leaf per variable), its output, and a
/// readable label for every node it created (for traces and graphs).
pub struct Lowered<'t> {
    /// One differentiable leaf per variable, in the order of the names given to [`lower`].
    pub inputs: Vec<Var<'t, f64>>,
    /// The formula's value.
    pub output: Var<'t, f64>,
    /// Node id → the sub-formula (or variable name, or number) it computes.
    pub labels: HashMap<usize, String>,
}

/// Records `expr` on `tape` with the variables `names` set to `values`.
///
/// Numbers and `pi`/`e` become constants; each variable is one leaf shared by all its uses;
/// powers with a constant exponent use the engine's `powf`; `step` and `sign`, which are flat
/// wherever they are differentiable, become constant masks. A variable missing from `names`
/// is an error naming it and its column.
pub fn lower<'t>(
    tape: &'t Tape<f64>,
    expr: &Expr,
    names: &[String],
    values: &[f64],
) -> Result<Lowered<'t>, FormulaError> {
    if names.len() != values.len() {
        return Err(FormulaError::BadOption(format!(
            "{} variable names but {} values",
            names.len(),
            values.len()
        )));
    }
    let mut labels = HashMap::new();
    let inputs: Vec<Var<'t, f64>> = names
        .iter()
        .zip(values)
        .map(|(name, &v)| {
            let leaf = tape.scalar_var(v);
            labels.insert(leaf.id(), name.clone());
            leaf
        })
        .collect();
    let mut cx = Lowering {
        tape,
        names,
        inputs: &inputs,
        labels,
        formula: expr.to_string(),
    };
    let output = cx.node(expr)?;
    let labels = cx.labels;
    Ok(Lowered {
        inputs,
        output,
        labels,
    })
}

struct Lowering<'a, 't> {
    tape: &'t Tape<f64>,
    names: &'a [String],
    inputs: &'a [Var<'t, f64>],
    labels: HashMap<usize, String>,
    formula: String,
}

impl<'t> Lowering<'_, 't> {
    fn engine(&self, e: crate::Error) -> FormulaError {
        FormulaError::Engine {
            formula: self.formula.clone(),
            detail: e.to_string(),
        }
    }

    fn constant(&mut self, v: f64, label: String) -> Var<'t, f64> {
        let c = self.tape.scalar(v);
        self.labels.insert(c.id(), label);
        c
    }

    fn node(&mut self, e: &Expr) -> Result<Var<'t, f64>, FormulaError> {
        let out = match &e.kind {
            ExprKind::Num(v) => return Ok(self.constant(*v, e.to_string())),
            ExprKind::Const(c) => return Ok(self.constant(c.value(), c.name().to_string())),
            ExprKind::Var(name) => {
                return match self.names.iter().position(|n| n == name) {
                    Some(i) => Ok(self.inputs[i]),
                    None => Err(FormulaError::MissingVariable {
                        name: name.clone(),
                        column: e.span.column(),
                        formula: self.formula.clone(),
                    }),
                }
            }
            ExprKind::Neg(a) => -self.node(a)?,
            ExprKind::Add(a, b) => {
                let (a, b) = (self.node(a)?, self.node(b)?);
                a.try_add(b).map_err(|x| self.engine(x))?
            }
            ExprKind::Sub(a, b) => {
                let (a, b) = (self.node(a)?, self.node(b)?);
                a.try_sub(b).map_err(|x| self.engine(x))?
            }
            ExprKind::Mul(a, b) => {
                let (a, b) = (self.node(a)?, self.node(b)?);
                a.try_mul(b).map_err(|x| self.engine(x))?
            }
            ExprKind::Div(a, b) => {
                let (a, b) = (self.node(a)?, self.node(b)?);
                a.try_div(b).map_err(|x| self.engine(x))?
            }
            ExprKind::Pow(a, b) => {
                let base = self.node(a)?;
                if b.variables().is_empty() {
                    // A constant exponent: evaluate it once, no gradient flows into it.
                    let p = eval(b, &Env::new()).unwrap_or(f64::NAN);
                    base.powf(p)
                } else {
                    let exponent = self.node(b)?;
                    base.pow(exponent).map_err(|x| self.engine(x))?
                }
            }
            ExprKind::Call(f, a) => {
                let x = self.node(a)?;
                match f.unary_op() {
                    Some(u) => x.unary(u),
                    None => {
                        // Piecewise constant (step, sign): a constant mask, derivative zero.
                        let v = x.item().map_err(|err| self.engine(err))?;
                        self.tape.constant(Tensor::scalar(f.apply(v)))
                    }
                }
            }
        };
        self.labels.insert(out.id(), e.to_string());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{diff, parse};
    use rand::{Rng, SeedableRng};

    /// Formulas covering every operation and function of the language.
    const FORMULAS: &[&str] = &[
        "sqrt(x^2+exp(x^2))+cos(x^2+exp(x^2))",
        "x^2 + 3*x*y - y^3/4",
        "sin(x)*cos(y) + tan(x/3) - tanh(x*y)",
        "sigmoid(2*x - y) + log(1 + x^2 + y^2)",
        "exp(-x^2 - y^2) * (x - y)",
        "relu(x - 0.2) + abs(y) * 2 + step(x)*y + sign(y)*x",
        "x^y + 2^x - pi*e/x",
        "(x + 2*y^3)^2 - -x^-1",
        "ln(x^2 + 1)^3 / (1 + y^2)",
    ];

    #[test]
    fn values_and_gradients_match_eval_and_symbolic_derivatives() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for src in FORMULAS {
            let expr = parse(src).unwrap();
            let names = expr.variables();
            for _ in 0..25 {
                // Positive x keeps x^y and 1/x real; y of either sign away from 0.
                let x = rng.random_range(0.3..2.0);
                let y = rng.random_range(0.3..1.7) * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
                let values: Vec<f64> = names.iter().map(|n| if n == "x" { x } else { y }).collect();
                let env: Env = names.iter().cloned().zip(values.iter().copied()).collect();
                let tape = Tape::new();
                let low = lower(&tape, &expr, &names, &values).unwrap();
                let value = low.output.item().unwrap();
                let want = eval(&expr, &env).unwrap();
                assert!(
                    (value - want).abs() <= 1e-12 * (1.0 + want.abs()),
                    "{src} at {values:?}: {value} vs {want}"
                );
                let grads = tape.backward(low.output).unwrap();
                for (name, leaf) in names.iter().zip(&low.inputs) {
                    let g = grads.wrt(*leaf).item().unwrap();
                    let s = eval(&diff(&expr, name), &env).unwrap();
                    assert!(
                        (g - s).abs() <= 1e-10 * (1.0 + s.abs()),
                        "d/d{name} {src} at {values:?}: AD {g} vs symbolic {s}"
                    );
                }
            }
        }
    }

    #[test]
    fn each_variable_is_one_leaf_and_labels_name_them() {
        let expr = parse("x*x + x*y").unwrap();
        let names = expr.variables();
        let tape = Tape::new();
        let low = lower(&tape, &expr, &names, &[3.0, 5.0]).unwrap();
        assert_eq!(low.inputs.len(), 2);
        assert_eq!(low.labels[&low.inputs[0].id()], "x");
        assert_eq!(low.labels[&low.inputs[1].id()], "y");
        assert_eq!(low.labels[&low.output.id()], "x*x + x*y");
        let g = tape.backward(low.output).unwrap();
        assert_eq!(g.wrt(low.inputs[0]).item().unwrap(), 2.0 * 3.0 + 5.0);
        assert_eq!(g.wrt(low.inputs[1]).item().unwrap(), 3.0);
    }

    #[test]
    fn missing_variable_is_named_with_its_column() {
        let expr = parse("x + 2*zz").unwrap();
        let tape = Tape::new();
        let err = lower(&tape, &expr, &["x".to_string()], &[1.0])
            .err()
            .unwrap();
        match err {
            FormulaError::MissingVariable { name, column, .. } => {
                assert_eq!((name.as_str(), column), ("zz", 7))
            }
            other => panic!("{other:?}"),
        }
    }
}
