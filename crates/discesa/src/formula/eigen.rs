//! Eigenvalues of small symmetric matrices by cyclic Jacobi rotations: simple, accurate to
//! rounding for the 1–10 variables a formula has, and it returns orthonormal eigenvectors.

use super::FormulaError;

/// Eigen-decomposition `A = V Λ Vᵀ` of a symmetric matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct SymmetricEigen {
    /// Eigenvalues in ascending order.
    pub values: Vec<f64>,
    /// Eigenvectors as rows: `vectors[k]` belongs to `values[k]` and has unit length.
    pub vectors: Vec<Vec<f64>>,
}

/// Eigenvalues and eigenvectors of the symmetric matrix `a` (rows).
///
/// Fails if `a` is not square or not finite; an asymmetric input is symmetrised as
/// `(A + Aᵀ)/2` only if the asymmetry is within rounding (relative 1e-8), else it is an error.
pub fn symmetric_eigen(a: &[Vec<f64>]) -> Result<SymmetricEigen, FormulaError> {
    let n = a.len();
    if let Some((i, row)) = a.iter().enumerate().find(|(_, r)| r.len() != n) {
        return Err(FormulaError::BadOption(format!(
            "matrix is not square: row {i} has {} entries, expected {n}",
            row.len()
        )));
    }
    let scale = a.iter().flatten().fold(
        0.0f64,
        |m, v| if v.is_nan() { f64::NAN } else { m.max(v.abs()) },
    );
    if !scale.is_finite() {
        return Err(FormulaError::BadOption(
            "matrix has entries that are not finite".into(),
        ));
    }
    let mut m: Vec<Vec<f64>> = a.to_vec();
    for (i, j) in (0..n).flat_map(|i| (0..i).map(move |j| (i, j))) {
        if (m[i][j] - m[j][i]).abs() > 1e-8 * scale.max(f64::MIN_POSITIVE) {
            return Err(FormulaError::BadOption(format!(
                "matrix is not symmetric: entry ({i}, {j}) is {} but ({j}, {i}) is {}",
                m[i][j], m[j][i]
            )));
        }
        let s = 0.5 * (m[i][j] + m[j][i]);
        m[i][j] = s;
        m[j][i] = s;
    }
    // v holds eigenvectors as columns while rotating.
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i][j] * m[i][j])
            .sum();
        if off.sqrt() <= f64::EPSILON * scale * n as f64 || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if m[p][q] == 0.0 {
                    continue;
                }
                // Rotation angle that zeroes m[p][q] (Golub & Van Loan, sym.schur2).
                let theta = (m[q][q] - m[p][p]) / (2.0 * m[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in m.iter_mut() {
                    let (mkp, mkq) = (row[p], row[q]);
                    row[p] = c * mkp - s * mkq;
                    row[q] = s * mkp + c * mkq;
                }
                let (row_p, row_q) = (m[p].clone(), m[q].clone());
                for (k, (mpk, mqk)) in row_p.into_iter().zip(row_q).enumerate() {
                    m[p][k] = c * mpk - s * mqk;
                    m[q][k] = s * mpk + c * mqk;
                }
                for row in v.iter_mut() {
                    let (vp, vq) = (row[p], row[q]);
                    row[p] = c * vp - s * vq;
                    row[q] = s * vp + c * vq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m[i][i].total_cmp(&m[j][j]));
    Ok(SymmetricEigen {
        values: order.iter().map(|&k| m[k][k]).collect(),
        vectors: order
            .iter()
            .map(|&k| (0..n).map(|i| v[i][k]).collect())
            .collect(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A random orthonormal basis (Gram–Schmidt on random vectors), as rows.
    pub(crate) fn random_orthonormal(n: usize, rng: &mut impl Rng) -> Vec<Vec<f64>> {
        let mut q: Vec<Vec<f64>> = Vec::new();
        while q.len() < n {
            let mut v: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
            for u in &q {
                let d: f64 = v.iter().zip(u).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(u).for_each(|(a, b)| *a -= d * b);
            }
            let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm > 1e-3 {
                q.push(v.iter().map(|a| a / norm).collect());
            }
        }
        q
    }

    /// `Qᵀ diag(λ) Q` for rows `q`.
    pub(crate) fn compose(q: &[Vec<f64>], lambda: &[f64]) -> Vec<Vec<f64>> {
        let n = lambda.len();
        (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| (0..n).map(|k| q[k][i] * lambda[k] * q[k][j]).sum())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn reconstructs_random_symmetric_matrices() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for n in 1..=7 {
            for _ in 0..20 {
                let a: Vec<Vec<f64>> = {
                    let r: Vec<Vec<f64>> = (0..n)
                        .map(|_| (0..n).map(|_| rng.random_range(-3.0..3.0)).collect())
                        .collect();
                    (0..n)
                        .map(|i| (0..n).map(|j| r[i][j] + r[j][i]).collect())
                        .collect()
                };
                let e = symmetric_eigen(&a).unwrap();
                assert!(e.values.windows(2).all(|w| w[0] <= w[1]));
                let back = compose(&e.vectors, &e.values);
                for i in 0..n {
                    for j in 0..n {
                        assert!((back[i][j] - a[i][j]).abs() < 1e-10, "n={n} ({i},{j})");
                        let dot: f64 = (0..n).map(|k| e.vectors[i][k] * e.vectors[j][k]).sum();
                        let want = if i == j { 1.0 } else { 0.0 };
                        assert!((dot - want).abs() < 1e-10, "orthonormality n={n}");
                    }
                }
            }
        }
    }

    #[test]
    fn recovers_known_eigenvalues() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for n in 2..=6 {
            let q = random_orthonormal(n, &mut rng);
            let mut lambda: Vec<f64> = (0..n).map(|_| rng.random_range(-5.0..5.0)).collect();
            let a = compose(&q, &lambda);
            lambda.sort_by(f64::total_cmp);
            let e = symmetric_eigen(&a).unwrap();
            for (got, want) in e.values.iter().zip(&lambda) {
                assert!((got - want).abs() < 1e-10, "{got} vs {want}");
            }
        }
    }

    #[test]
    fn rejects_bad_matrices() {
        assert!(symmetric_eigen(&[vec![1.0, 2.0]]).is_err());
        assert!(symmetric_eigen(&[vec![1.0, 2.0], vec![0.0, 1.0]]).is_err());
        assert!(symmetric_eigen(&[vec![f64::NAN]]).is_err());
        assert_eq!(symmetric_eigen(&[]).unwrap().values, Vec::<f64>::new());
        assert_eq!(
            symmetric_eigen(&[vec![2.0, 0.0], vec![0.0, -1.0]])
                .unwrap()
                .values,
            vec![-1.0, 2.0]
        );
    }
}
