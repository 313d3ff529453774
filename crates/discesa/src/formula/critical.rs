//! What a point is: the Hessian's eigenvalue signs (bowl, upside-down bowl, saddle, flat
//! direction) and whether the gradient vanishes there.

use super::eigen::symmetric_eigen;
use super::{Formula, FormulaError};

/// The second-derivative test's verdict from the Hessian's eigenvalues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointKind {
    /// Positive definite: a bowl (a local minimum if the gradient vanishes).
    Minimum,
    /// Negative definite: an upside-down bowl (a local maximum if the gradient vanishes).
    Maximum,
    /// Indefinite: curving up along some directions and down along others.
    Saddle,
    /// Semidefinite with a zero eigenvalue: the second-order test cannot decide.
    Degenerate,
}

impl PointKind {
    /// Lowercase name used in output and JSON.
    pub fn name(self) -> &'static str {
        match self {
            PointKind::Minimum => "minimum",
            PointKind::Maximum => "maximum",
            PointKind::Saddle => "saddle",
            PointKind::Degenerate => "degenerate",
        }
    }

    /// The Hessian property behind the verdict, in words.
    pub fn curvature(self) -> &'static str {
        match self {
            PointKind::Minimum => "positive definite: a bowl",
            PointKind::Maximum => "negative definite: an upside-down bowl",
            PointKind::Saddle => "indefinite: a saddle",
            PointKind::Degenerate => {
                "singular: a zero eigenvalue, the second-order test cannot decide"
            }
        }
    }
}

/// Eigenvalues within `rel_tol` times the largest magnitude count as zero.
pub const DEFAULT_ZERO_TOL: f64 = 1e-9;

/// Classifies by eigenvalue signs: both signs → saddle (even with a zero eigenvalue); else any
/// eigenvalue zero within `rel_tol · max|λ|` (or all zero) → degenerate; else definite.
pub fn classify(eigenvalues: &[f64], rel_tol: f64) -> PointKind {
    let scale = eigenvalues.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let zero = rel_tol * scale;
    let pos = eigenvalues.iter().filter(|&&v| v > zero).count();
    let neg = eigenvalues.iter().filter(|&&v| v < -zero).count();
    if pos > 0 && neg > 0 {
        PointKind::Saddle
    } else if scale == 0.0 || pos + neg < eigenvalues.len() {
        PointKind::Degenerate
    } else if pos > 0 {
        PointKind::Minimum
    } else {
        PointKind::Maximum
    }
}

/// Everything `discesa hessian` reports about a point.
#[derive(Debug, Clone, PartialEq)]
pub struct PointReport {
    /// The formula's value.
    pub value: f64,
    /// The gradient (by reverse-mode AD).
    pub gradient: Vec<f64>,
    /// Its Euclidean norm.
    pub gradient_norm: f64,
    /// The Hessian (by differentiating the gradient), rows in variable order.
    pub hessian: Vec<Vec<f64>>,
    /// Its eigenvalues, ascending.
    pub eigenvalues: Vec<f64>,
    /// Unit eigenvectors, `eigenvectors[k]` for `eigenvalues[k]`.
    pub eigenvectors: Vec<Vec<f64>>,
    /// The curvature verdict.
    pub kind: PointKind,
    /// Whether the gradient norm is below the tolerance.
    pub critical_point: bool,
}

/// Value, gradient, Hessian, eigenvalues and classification of `formula` at `x`; the point is
/// critical if the gradient norm is below `grad_tol`.
pub fn analyse_point(
    formula: &Formula,
    x: &[f64],
    grad_tol: f64,
) -> Result<PointReport, FormulaError> {
    if formula.variables().is_empty() {
        return Err(FormulaError::BadOption(format!(
            "'{}' has no variables: there is no Hessian to classify",
            formula.text()
        )));
    }
    let (value, gradient) = formula.checked_gradient(x)?;
    let hessian = formula.hessian(x)?;
    if hessian.iter().flatten().any(|v| !v.is_finite()) {
        return Err(FormulaError::NotFinite {
            what: format!("the Hessian of '{}' is not finite", formula.text()),
            point: formula.format_point(x),
            hint: " (a second derivative does not exist there)".into(),
        });
    }
    let eig = symmetric_eigen(&hessian)?;
    let gradient_norm = gradient.iter().map(|g| g * g).sum::<f64>().sqrt();
    Ok(PointReport {
        value,
        gradient_norm,
        critical_point: gradient_norm < grad_tol,
        kind: classify(&eig.values, DEFAULT_ZERO_TOL),
        gradient,
        hessian,
        eigenvalues: eig.values,
        eigenvectors: eig.vectors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formula::eigen::tests::{compose, random_orthonormal};
    use rand::{Rng, SeedableRng};

    fn at_origin(src: &str) -> PointReport {
        let f = Formula::parse(src).unwrap();
        analyse_point(&f, &vec![0.0; f.variables().len()], 1e-8).unwrap()
    }

    #[test]
    fn the_four_quadratic_forms() {
        let bowl = at_origin("x^2+y^2");
        assert_eq!(bowl.kind, PointKind::Minimum);
        assert_eq!(bowl.eigenvalues, vec![2.0, 2.0]);
        assert!(bowl.critical_point);
        let saddle = at_origin("x^2-y^2");
        assert_eq!(saddle.kind, PointKind::Saddle);
        assert_eq!(saddle.eigenvalues, vec![-2.0, 2.0]);
        let cap = at_origin("-(x^2+y^2)");
        assert_eq!(cap.kind, PointKind::Maximum);
        assert_eq!(cap.eigenvalues, vec![-2.0, -2.0]);
        let tilted = at_origin("2*x^2+2*x*y+3*y^2");
        assert_eq!(tilted.kind, PointKind::Minimum);
        assert_eq!(tilted.hessian, vec![vec![4.0, 2.0], vec![2.0, 6.0]]);
        // Eigenvalues of [[4,2],[2,6]] are 5 ± √5.
        let r5 = 5f64.sqrt();
        assert!((tilted.eigenvalues[0] - (5.0 - r5)).abs() < 1e-12);
        assert!((tilted.eigenvalues[1] - (5.0 + r5)).abs() < 1e-12);
    }

    #[test]
    fn degenerate_and_non_critical_points() {
        let flat = at_origin("x^2 + y^4");
        assert_eq!(flat.kind, PointKind::Degenerate);
        assert!(flat.critical_point);
        // Zero eigenvalue but both signs elsewhere: still a saddle.
        assert_eq!(at_origin("x^2 - y^2 + z^3").kind, PointKind::Saddle);
        let f = Formula::parse("x^2+y^2").unwrap();
        let r = analyse_point(&f, &[-3.0, -1.0], 1e-8).unwrap();
        assert!(!r.critical_point);
        assert!((r.gradient_norm - 40f64.sqrt()).abs() < 1e-12);
        assert_eq!(r.kind, PointKind::Minimum);
    }

    #[test]
    fn random_symmetric_matrices_with_known_signs() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for trial in 0..200 {
            let n = rng.random_range(1..=6);
            let q = random_orthonormal(n, &mut rng);
            let mag = || 0.1 + 4.0 * rand::random::<f64>();
            let (lambda, want): (Vec<f64>, PointKind) = match trial % 4 {
                0 => ((0..n).map(|_| mag()).collect(), PointKind::Minimum),
                1 => ((0..n).map(|_| -mag()).collect(), PointKind::Maximum),
                2 if n >= 2 => {
                    let mut l: Vec<f64> = (0..n).map(|_| mag()).collect();
                    l[rng.random_range(0..n)] *= -1.0;
                    if l.iter().all(|v| *v < 0.0) || l.iter().all(|v| *v > 0.0) {
                        l[0] = -l[0];
                    }
                    let both = l.iter().any(|v| *v > 0.0) && l.iter().any(|v| *v < 0.0);
                    (
                        l,
                        if both {
                            PointKind::Saddle
                        } else {
                            PointKind::Minimum
                        },
                    )
                }
                _ => {
                    let mut l: Vec<f64> = (0..n).map(|_| mag()).collect();
                    l[rng.random_range(0..n)] = 0.0;
                    (l, PointKind::Degenerate)
                }
            };
            let e = symmetric_eigen(&compose(&q, &lambda)).unwrap();
            assert_eq!(
                classify(&e.values, 1e-9),
                want,
                "{lambda:?} -> {:?}",
                e.values
            );
        }
    }
}
