//! Descent on a formula with the crate's optimizers: the path (point, value, gradient norm,
//! step length at every step) and why it stopped.

use super::{Formula, FormulaError};
use crate::expr::format_number;
use crate::optim::{build, OptimOptions, OptimizerKind};

/// Which optimizer and how to run it.
#[derive(Debug, Clone, PartialEq)]
pub struct DescentOptions {
    /// The update rule (`gd` is plain [`OptimizerKind::Sgd`]).
    pub optimizer: OptimizerKind,
    /// Learning rate η, positive and finite.
    pub lr: f64,
    /// Maximum number of updates.
    pub steps: usize,
    /// Converged once the gradient norm is below this.
    pub tol: f64,
    /// Diverged once |value| or any |coordinate| exceeds this.
    pub bound: f64,
    /// Diverged once the value has grown on this many consecutive steps and is far above
    /// the starting value (see [`descend`]).
    pub growth_patience: usize,
    /// Hyper-parameters beyond the learning rate (momentum factor, Adam's betas...); unset
    /// ones take the optimizer's default.
    pub optim: OptimOptions,
}

impl Default for DescentOptions {
    fn default() -> Self {
        DescentOptions {
            optimizer: OptimizerKind::Sgd,
            lr: 0.1,
            steps: 200,
            tol: 1e-10,
            bound: 1e12,
            growth_patience: 25,
            optim: OptimOptions::default(),
        }
    }
}

/// Reads an optimizer name: `gd` (or `sgd`), `momentum`, `nesterov`, `adam`, `rmsprop`, `adamw`.
pub fn parse_optimizer(name: &str) -> Result<OptimizerKind, FormulaError> {
    let trimmed = name.trim();
    if trimmed.eq_ignore_ascii_case("gd") {
        return Ok(OptimizerKind::Sgd);
    }
    trimmed.parse::<OptimizerKind>().map_err(|_| {
        FormulaError::BadOption(format!(
            "unknown optimizer '{trimmed}': expected gd, momentum, nesterov, adam (or rmsprop, adamw)"
        ))
    })
}

/// The name shown for an optimizer (`gd` for plain gradient descent).
pub fn optimizer_label(kind: OptimizerKind) -> &'static str {
    match kind {
        OptimizerKind::Sgd => "gd",
        other => other.name(),
    }
}

/// One iterate of the path.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    /// Step number, 0 for the start.
    pub step: usize,
    /// The point.
    pub point: Vec<f64>,
    /// The formula's value there.
    pub value: f64,
    /// The gradient there (by reverse-mode AD).
    pub gradient: Vec<f64>,
    /// Its norm.
    pub grad_norm: f64,
    /// Length of the step taken from this point (`None` for the last point).
    pub step_length: Option<f64>,
}

/// Why a descent run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StopReason {
    /// The gradient norm fell below the tolerance at `step`.
    Converged {
        /// Step at which it happened.
        step: usize,
    },
    /// All allowed steps were taken.
    StepLimit {
        /// The number of steps taken.
        steps: usize,
    },
    /// The run blew up at `step`.
    Diverged {
        /// Step at which it was detected.
        step: usize,
        /// What was seen.
        why: String,
    },
}

impl StopReason {
    /// `converged`, `step_limit` or `diverged`.
    pub fn name(&self) -> &'static str {
        match self {
            StopReason::Converged { .. } => "converged",
            StopReason::StepLimit { .. } => "step_limit",
            StopReason::Diverged { .. } => "diverged",
        }
    }

    /// The step where the run ended.
    pub fn step(&self) -> usize {
        match self {
            StopReason::Converged { step } | StopReason::Diverged { step, .. } => *step,
            StopReason::StepLimit { steps } => *steps,
        }
    }
}

/// A finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct DescentPath {
    /// The optimizer used.
    pub optimizer: OptimizerKind,
    /// The learning rate used.
    pub lr: f64,
    /// Every iterate, starting point first.
    pub records: Vec<StepRecord>,
    /// Why it stopped.
    pub stop: StopReason,
}

impl DescentPath {
    /// The iterates' points.
    pub fn points(&self) -> Vec<Vec<f64>> {
        self.records.iter().map(|r| r.point.clone()).collect()
    }
}

/// Checks options that do not depend on the formula.
pub fn validate(opts: &DescentOptions) -> Result<(), FormulaError> {
    if !(opts.lr.is_finite() && opts.lr > 0.0) {
        return Err(FormulaError::BadOption(format!(
            "learning rate must be a positive finite number, got {}",
            opts.lr
        )));
    }
    if !(opts.tol.is_finite() && opts.tol >= 0.0) {
        return Err(FormulaError::BadOption(format!(
            "tolerance must be a finite number >= 0, got {}",
            opts.tol
        )));
    }
    if !(opts.bound.is_finite() && opts.bound > 0.0) {
        return Err(FormulaError::BadOption(format!(
            "divergence bound must be positive and finite, got {}",
            opts.bound
        )));
    }
    Ok(())
}

/// Runs `opts.optimizer` on `formula` from `start`, evaluating value and gradient on a fresh
/// tape at every iterate.
///
/// Stops as converged when the gradient norm is below `tol`; as diverged when the value or
/// gradient is not finite, when |value| or a coordinate exceeds `bound`, or when the value has
/// grown on `growth_patience` consecutive steps and its rise above the starting value is
/// more than 100 times the starting value's scale; otherwise after `steps` updates. The start
/// itself must have a finite value (else an error naming the point).
pub fn descend(
    formula: &Formula,
    start: &[f64],
    opts: &DescentOptions,
) -> Result<DescentPath, FormulaError> {
    validate(opts)?;
    if formula.variables().is_empty() {
        return Err(FormulaError::BadOption(format!(
            "'{}' has no variables to descend along",
            formula.text()
        )));
    }
    formula.checked_gradient(start)?;
    let mut optimizer = build::<f64>(opts.optimizer, opts.lr, &opts.optim)
        .map_err(|e| FormulaError::BadOption(e.to_string()))?;
    let mut x = start.to_vec();
    let mut records: Vec<StepRecord> = Vec::new();
    let mut streak = 0usize;
    let mut f0 = f64::NAN;
    let stop = loop {
        let step = records.len();
        let (value, gradient) = formula.value_and_gradient(&x)?;
        let grad_norm = gradient.iter().map(|g| g * g).sum::<f64>().sqrt();
        if step == 0 {
            f0 = value;
        } else if let Some(prev) = records.last() {
            streak = if value > prev.value { streak + 1 } else { 0 };
        }
        records.push(StepRecord {
            step,
            point: x.clone(),
            value,
            gradient: gradient.clone(),
            grad_norm,
            step_length: None,
        });
        let max_coord = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if !value.is_finite() || !grad_norm.is_finite() || x.iter().any(|v| !v.is_finite()) {
            break StopReason::Diverged {
                step,
                why: format!(
                    "value {} and gradient norm {} at step {step} are not both finite",
                    value, grad_norm
                ),
            };
        }
        if value.abs() > opts.bound || max_coord > opts.bound {
            break StopReason::Diverged {
                step,
                why: format!(
                    "|value| = {:.3e} or |coordinate| = {:.3e} exceeds the bound {:.0e}",
                    value.abs(),
                    max_coord,
                    opts.bound
                ),
            };
        }
        if opts.growth_patience > 0
            && streak >= opts.growth_patience
            && value - f0 > 100.0 * f0.abs().max(1.0)
        {
            break StopReason::Diverged {
                step,
                why: format!(
                    "the value grew on each of the last {streak} steps, from {} to {}",
                    format_number(f0),
                    format_number(value)
                ),
            };
        }
        if grad_norm < opts.tol {
            break StopReason::Converged { step };
        }
        if step >= opts.steps {
            break StopReason::StepLimit { steps: step };
        }
        let before = x.clone();
        optimizer
            .step(&mut x, &gradient)
            .map_err(|e| FormulaError::BadOption(e.to_string()))?;
        let len = x
            .iter()
            .zip(&before)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        if let Some(last) = records.last_mut() {
            last.step_length = Some(len);
        }
    };
    Ok(DescentPath {
        optimizer: opts.optimizer,
        lr: opts.lr,
        records,
        stop,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(src: &str, start: &[f64], kind: OptimizerKind, lr: f64, steps: usize) -> DescentPath {
        let f = Formula::parse(src).unwrap();
        let opts = DescentOptions {
            optimizer: kind,
            lr,
            steps,
            tol: 1e-8,
            ..DescentOptions::default()
        };
        descend(&f, start, &opts).unwrap()
    }

    #[test]
    fn every_optimizer_converges_on_bowls() {
        for (kind, lr) in [
            (OptimizerKind::Sgd, 0.1),
            (OptimizerKind::Momentum, 0.05),
            (OptimizerKind::Nesterov, 0.05),
            (OptimizerKind::Adam, 0.1),
        ] {
            for src in ["x^2+y^2", "2*x^2+2*x*y+3*y^2"] {
                let p = run(src, &[-3.0, -1.0], kind, lr, 5000);
                assert_eq!(p.stop.name(), "converged", "{kind} on {src}: {:?}", p.stop);
                let last = p.records.last().unwrap();
                assert!(
                    last.point.iter().all(|v| v.abs() < 1e-6),
                    "{:?}",
                    last.point
                );
                assert!(last.grad_norm < 1e-8);
            }
        }
    }

    #[test]
    fn gradient_descent_on_x_squared_converges_below_one_diverges_above() {
        for lr in [0.1, 0.5, 0.9] {
            let p = run("x^2", &[3.0], OptimizerKind::Sgd, lr, 500);
            assert_eq!(p.stop.name(), "converged", "lr {lr}");
        }
        for lr in [1.05, 1.5, 3.0] {
            let p = run("x^2", &[3.0], OptimizerKind::Sgd, lr, 2000);
            match &p.stop {
                StopReason::Diverged { step, .. } => {
                    assert!(*step < 2000 && *step == p.records.len() - 1, "lr {lr}")
                }
                other => panic!("lr {lr}: {other:?}"),
            }
        }
        // η = 1 bounces between ±3 forever: neither converged nor diverged.
        let p = run("x^2", &[3.0], OptimizerKind::Sgd, 1.0, 50);
        assert_eq!(p.stop, StopReason::StepLimit { steps: 50 });
        assert!(p.records.iter().all(|r| r.point[0].abs() == 3.0));
    }

    #[test]
    fn path_records_are_consistent() {
        let p = run("x^2+y^2", &[-3.0, -1.0], OptimizerKind::Sgd, 0.1, 10);
        assert_eq!(p.records.len(), 11);
        assert!((p.records[0].grad_norm - 40f64.sqrt()).abs() < 1e-12);
        for w in p.records.windows(2) {
            let d: f64 = w[0]
                .point
                .iter()
                .zip(&w[1].point)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
            assert!((w[0].step_length.unwrap() - d).abs() < 1e-12);
            // x_{k+1} = 0.8 x_k for this bowl and rate.
            assert!((w[1].point[0] - 0.8 * w[0].point[0]).abs() < 1e-12);
            assert!(w[1].value < w[0].value);
        }
        assert_eq!(p.records.last().unwrap().step_length, None);
    }

    #[test]
    fn bad_options_and_starts_are_errors() {
        let f = Formula::parse("log(x)").unwrap();
        let bad_lr = DescentOptions {
            lr: -1.0,
            ..DescentOptions::default()
        };
        assert!(descend(&f, &[1.0], &bad_lr)
            .unwrap_err()
            .to_string()
            .contains("learning rate"));
        let e = descend(&f, &[-1.0], &DescentOptions::default()).unwrap_err();
        assert!(e.to_string().contains("x=-1"), "{e}");
        assert!(parse_optimizer("GD").is_ok());
        assert_eq!(parse_optimizer("adam").unwrap(), OptimizerKind::Adam);
        assert!(parse_optimizer("lbfgs")
            .unwrap_err()
            .to_string()
            .contains("lbfgs"));
        // Leaving the domain mid-run is a divergence, not an error.
        let p = descend(
            &Formula::parse("log(x)").unwrap(),
            &[1.0],
            &DescentOptions {
                lr: 5.0,
                ..DescentOptions::default()
            },
        )
        .unwrap();
        assert_eq!(p.stop.name(), "diverged");
    }
}
