//! Gradient checks against central finite differences in `f64`: the proof that every backward
//! rule (and every rule's own derivative) is right.

use super::{Tape, Var};
use crate::error::{Error, Result};
use crate::tensor::{Shape, Tensor};

/// Tolerances for [`gradcheck`] and [`gradgradcheck`].
#[derive(Clone, Copy, Debug)]
pub struct CheckOptions {
    /// Finite-difference step.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance (relative to the numeric value).
    pub rtol: f64,
    /// Seed of the random cotangent that projects non-scalar outputs to a scalar.
    pub seed: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            eps: 1e-6,
            atol: 1e-6,
            rtol: 1e-5,
            seed: 7,
        }
    }
}

/// The outcome of a gradient check.
#[derive(Clone, Debug)]
pub struct CheckReport {
    /// Analytic gradient per input.
    pub analytic: Vec<Tensor<f64>>,
    /// Finite-difference gradient per input.
    pub numeric: Vec<Tensor<f64>>,
    /// Largest absolute difference.
    pub max_abs_error: f64,
    /// (input, element) where the largest tolerance violation (or difference) occurs.
    pub worst: (usize, usize),
    /// True if every element is within `atol + rtol·|numeric|`.
    pub passed: bool,
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (i, k) = self.worst;
        write!(
            f,
            "{}: max |analytic − numeric| = {:.3e}; worst at input {i} element {k}: analytic {:.10e}, numeric {:.10e}",
            if self.passed { "passed" } else { "FAILED" },
            self.max_abs_error,
            self.analytic.get(i).map(|t| t.as_slice()[k]).unwrap_or(f64::NAN),
            self.numeric.get(i).map(|t| t.as_slice()[k]).unwrap_or(f64::NAN),
        )
    }
}

/// A function of several tensors checked by [`gradcheck`].
pub trait CheckFn: for<'t> Fn(&[Var<'t, f64>]) -> Result<Var<'t, f64>> {}
impl<F> CheckFn for F where F: for<'t> Fn(&[Var<'t, f64>]) -> Result<Var<'t, f64>> {}

fn projection(shape: Shape, seed: u64) -> Tensor<f64> {
    Tensor::rand_uniform(shape, 0.5, 1.5, seed)
}

/// `L = Σ r ⊙ f(inputs)` and its analytic gradients.
fn scalarised(
    f: &impl CheckFn,
    inputs: &[Tensor<f64>],
    seed: u64,
    with_grad: bool,
) -> Result<(f64, Vec<Tensor<f64>>)> {
    let tape = Tape::new();
    let vars: Vec<_> = inputs.iter().map(|t| tape.var(t.clone())).collect();
    let y = f(&vars)?;
    let r = projection(y.shape(), seed);
    let l = y.mul_const(&r)?.sum_all();
    let grads = if with_grad {
        tape.grad(&[l], &vars, None)?
    } else {
        Vec::new()
    };
    Ok((l.item()?, grads))
}

fn compare(analytic: Vec<Tensor<f64>>, numeric: Vec<Tensor<f64>>, o: &CheckOptions) -> CheckReport {
    let mut max_abs: f64 = 0.0;
    let mut worst = (0, 0);
    let mut worst_excess = f64::NEG_INFINITY;
    let mut passed = true;
    for (i, (a, n)) in analytic.iter().zip(&numeric).enumerate() {
        for (k, (&x, &y)) in a.as_slice().iter().zip(n.as_slice()).enumerate() {
            let d = (x - y).abs();
            let tol = o.atol + o.rtol * y.abs();
            if d.is_nan() || d > tol {
                passed = false;
            }
            max_abs = max_abs.max(d);
            let excess = if d.is_nan() { f64::INFINITY } else { d - tol };
            if excess > worst_excess {
                worst_excess = excess;
                worst = (i, k);
            }
        }
    }
    CheckReport {
        analytic,
        numeric,
        max_abs_error: max_abs,
        worst,
        passed,
    }
}

fn central_differences(
    inputs: &[Tensor<f64>],
    eps: f64,
    mut eval: impl FnMut(&[Tensor<f64>]) -> Result<f64>,
) -> Result<Vec<Tensor<f64>>> {
    let mut work: Vec<Tensor<f64>> = inputs.to_vec();
    let mut out = Vec::with_capacity(inputs.len());
    for i in 0..inputs.len() {
        let n = inputs[i].numel();
        let mut g = vec![0.0; n];
        for (k, gk) in g.iter_mut().enumerate() {
            let x0 = inputs[i].as_slice()[k];
            work[i].make_mut()[k] = x0 + eps;
            let plus = eval(&work)?;
            work[i].make_mut()[k] = x0 - eps;
            let minus = eval(&work)?;
            work[i].make_mut()[k] = x0;
            *gk = (plus - minus) / (2.0 * eps);
        }
        out.push(Tensor::from_vec(g, *inputs[i].shape())?);
    }
    Ok(out)
}

fn require_inputs(op: &'static str, inputs: &[Tensor<f64>]) -> Result<()> {
    if inputs.is_empty() {
        return Err(Error::Invalid {
            op,
            detail: "no inputs given".into(),
        });
    }
    Ok(())
}

/// Compares the reverse-mode gradient of `f` with central finite differences. Non-scalar outputs
/// are projected on a fixed random cotangent, which checks the vector-Jacobian product.
///
/// ```
/// use discesa::autodiff::{gradcheck, CheckOptions};
/// use discesa::tensor::Tensor;
/// let x = Tensor::rand_normal([3, 4], 0.0, 1.0, 1);
/// let r = gradcheck(|v| Ok(v[0].sin() * v[0]), &[x], CheckOptions::default()).unwrap();
/// assert!(r.passed, "{r}");
/// ```
pub fn gradcheck(
    f: impl CheckFn,
    inputs: &[Tensor<f64>],
    opts: CheckOptions,
) -> Result<CheckReport> {
    require_inputs("gradcheck", inputs)?;
    let (_, analytic) = scalarised(&f, inputs, opts.seed, true)?;
    let numeric = central_differences(inputs, opts.eps, |xs| {
        Ok(scalarised(&f, xs, opts.seed, false)?.0)
    })?;
    Ok(compare(analytic, numeric, &opts))
}

/// Checks second derivatives: the gradient of `G = Σ r₂ ⊙ ∇L` (with `L` as in [`gradcheck`]),
/// obtained by differentiating the recorded gradient, against finite differences of the
/// first-order gradient.
pub fn gradgradcheck(
    f: impl CheckFn,
    inputs: &[Tensor<f64>],
    opts: CheckOptions,
) -> Result<CheckReport> {
    require_inputs("gradgradcheck", inputs)?;
    let r2: Vec<Tensor<f64>> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| projection(*t.shape(), opts.seed.wrapping_add(1 + i as u64)))
        .collect();
    // Analytic: differentiate the recorded gradient.
    let tape = Tape::new();
    let vars: Vec<_> = inputs.iter().map(|t| tape.var(t.clone())).collect();
    let y = f(&vars)?;
    let r = projection(y.shape(), opts.seed);
    let l = y.mul_const(&r)?.sum_all();
    let gs = tape.grad_graph(&[l], &vars, None)?;
    let mut gsum = tape.scalar(0.0);
    for (g, r2) in gs.iter().zip(&r2) {
        gsum = gsum + g.mul_const(r2)?.sum_all();
    }
    let analytic = tape.grad(&[gsum], &vars, None)?;
    // Numeric: central differences of the first-order gradient.
    let numeric = central_differences(inputs, opts.eps, |xs| {
        let (_, g) = scalarised(&f, xs, opts.seed, true)?;
        Ok(g.iter()
            .zip(&r2)
            .map(|(g, r)| {
                g.as_slice()
                    .iter()
                    .zip(r.as_slice())
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
            })
            .sum())
    })?;
    Ok(compare(analytic, numeric, &opts))
}
