//! Directions from a training trajectory (loss-landscape's `projection.py`): the rows
//! `θₑ − θ_final` of the epoch snapshots, mean-centred, give two principal components; the
//! trajectory is then projected onto their plane.

use super::error::{invalid, Result};
use crate::formula::symmetric_eigen;

/// Two principal directions and the trajectory on their plane.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// Unit principal directions (first, second), in the flat layout.
    pub components: [Vec<f64>; 2],
    /// Fraction of the variance each explains.
    pub explained_variance_ratio: [f64; 2],
    /// Coordinates `(⟨θₑ − θ_final, c₁⟩, ⟨θₑ − θ_final, c₂⟩)` of each snapshot.
    pub trajectory: Vec<[f64; 2]>,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// PCA of `diffs` (one row `θₑ − θ_final` per snapshot, already masked) through the
/// eigen-decomposition of the small Gram matrix of the centred rows.
pub fn pca(diffs: &[Vec<f64>]) -> Result<Pca> {
    let e = diffs.len();
    if e < 3 {
        return invalid(format!(
            "pca needs at least three epoch snapshots (epoch-0001.safetensors, ...), found {e}; train with --keep-epochs"
        ));
    }
    let p = diffs[0].len();
    let mut mean = vec![0.0; p];
    for d in diffs {
        mean.iter_mut().zip(d).for_each(|(m, v)| *m += v / e as f64);
    }
    let centred: Vec<Vec<f64>> = diffs
        .iter()
        .map(|d| d.iter().zip(&mean).map(|(v, m)| v - m).collect())
        .collect();
    let gram: Vec<Vec<f64>> = centred
        .iter()
        .map(|a| centred.iter().map(|b| dot(a, b)).collect())
        .collect();
    let eig = symmetric_eigen(&gram)
        .map_err(|err| super::error::LandscapeError::Invalid(format!("pca: {err}")))?;
    let total: f64 = eig.values.iter().map(|v| v.max(0.0)).sum();
    if total <= 0.0 {
        return invalid("pca: the snapshots are all equal, there is no trajectory to analyse");
    }
    let comp = |k: usize| -> (Vec<f64>, f64) {
        let lam = eig.values[e - 1 - k].max(0.0);
        let u = &eig.vectors[e - 1 - k];
        let mut c = vec![0.0; p];
        for (row, &w) in centred.iter().zip(u) {
            c.iter_mut().zip(row).for_each(|(ci, r)| *ci += w * r);
        }
        let n = dot(&c, &c).sqrt();
        if n > 0.0 {
            c.iter_mut().for_each(|x| *x /= n);
        }
        (c, lam / total)
    };
    let (c1, r1) = comp(0);
    let (c2, r2) = comp(1);
    let trajectory = diffs.iter().map(|d| [dot(d, &c1), dot(d, &c2)]).collect();
    Ok(Pca {
        components: [c1, c2],
        explained_variance_ratio: [r1, r2],
        trajectory,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mean of each column of `rows`.
    /// The snapshots `at(0), at(1), …, at(n − 1)` of a trajectory.
    fn path(n: usize, at: impl Fn(f64) -> Vec<f64>) -> Vec<Vec<f64>> {
        (0..n).map(|t| at(t as f64)).collect()
    }

    fn column_means(rows: &[Vec<f64>]) -> Vec<f64> {
        let n = rows.len() as f64;
        (0..rows[0].len())
            .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n)
            .collect()
    }

    /// The top eigenvector of the p×p covariance by power iteration, computed independently.
    fn top_covariance_vector(rows: &[Vec<f64>]) -> (Vec<f64>, f64, f64) {
        let p = rows[0].len();
        let mean = column_means(rows);
        let cov: Vec<Vec<f64>> = (0..p)
            .map(|i| {
                (0..p)
                    .map(|j| {
                        rows.iter()
                            .map(|r| (r[i] - mean[i]) * (r[j] - mean[j]))
                            .sum()
                    })
                    .collect()
            })
            .collect();
        let full = symmetric_eigen(&cov).unwrap();
        let trace: f64 = (0..p).map(|i| cov[i][i]).sum();
        (full.vectors[p - 1].clone(), full.values[p - 1], trace)
    }

    #[test]
    fn pca_equals_the_covariance_eigen_decomposition() {
        // A curved trajectory in 6 dimensions.
        let rows = path(7, |t| {
            vec![
                3.0 * t,
                0.5 * t * t,
                (t * 0.9).sin(),
                0.1 * t,
                -t,
                0.02 * t * t * t,
            ]
        });
        let r = pca(&rows).unwrap();
        let (v, lam, trace) = top_covariance_vector(&rows);
        let cos = dot(&r.components[0], &v).abs();
        assert!((cos - 1.0).abs() < 1e-9, "{cos}");
        assert!((r.explained_variance_ratio[0] - lam / trace).abs() < 1e-9);
        assert!(dot(&r.components[0], &r.components[1]).abs() < 1e-9);
        assert!(r.explained_variance_ratio[0] >= r.explained_variance_ratio[1]);
        assert_eq!(r.trajectory.len(), 7);
        assert!((r.trajectory[3][0] - dot(&rows[3], &r.components[0])).abs() < 1e-12);
    }

    /// The right singular vectors and singular values of `m` (rows × columns) by one-sided
    /// Jacobi rotations (Hestenes): no eigen-solver, no Gram matrix.
    fn jacobi_svd(m: &[Vec<f64>]) -> (Vec<Vec<f64>>, Vec<f64>) {
        let p = m[0].len();
        let mut a: Vec<Vec<f64>> = (0..p).map(|j| m.iter().map(|r| r[j]).collect()).collect();
        let mut v: Vec<Vec<f64>> = (0..p)
            .map(|j| (0..p).map(|i| f64::from(u8::from(i == j))).collect())
            .collect();
        for _sweep in 0..60 {
            let mut off = 0.0f64;
            for i in 0..p {
                for j in i + 1..p {
                    let (aii, ajj, aij) = (dot(&a[i], &a[i]), dot(&a[j], &a[j]), dot(&a[i], &a[j]));
                    if aij.abs() <= 1e-15 * (aii * ajj).sqrt() {
                        continue;
                    }
                    off = off.max(aij.abs() / (aii * ajj).sqrt());
                    let zeta = (ajj - aii) / (2.0 * aij);
                    let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                    let c = 1.0 / (1.0 + t * t).sqrt();
                    let s = c * t;
                    for cols in [&mut a, &mut v] {
                        for k in 0..cols[i].len() {
                            let (x, y) = (cols[i][k], cols[j][k]);
                            cols[i][k] = c * x - s * y;
                            cols[j][k] = s * x + c * y;
                        }
                    }
                }
            }
            if off < 1e-14 {
                break;
            }
        }
        let sigma = a.iter().map(|col| dot(col, col).sqrt()).collect();
        (v, sigma)
    }

    #[test]
    fn pca_equals_a_direct_svd_of_the_centred_rows() {
        // Snapshots of a curved path in 5 dimensions, not centred.
        let rows = path(6, |t| {
            vec![
                1.0 + t,
                0.3 * t * t,
                (1.3 * t).cos(),
                2.0 - 0.5 * t,
                0.05 * t * t * t,
            ]
        });
        let mean = column_means(&rows);
        let centred: Vec<Vec<f64>> = rows
            .iter()
            .map(|r| r.iter().zip(&mean).map(|(x, m)| x - m).collect())
            .collect();
        let (v, sigma) = jacobi_svd(&centred);
        let mut order: Vec<usize> = (0..sigma.len()).collect();
        order.sort_by(|&a, &b| sigma[b].total_cmp(&sigma[a]));
        let total: f64 = sigma.iter().map(|s| s * s).sum();
        let r = pca(&rows).unwrap();
        for k in 0..2 {
            let want = &v[order[k]];
            let cos = dot(&r.components[k], want).abs();
            assert!((cos - 1.0).abs() < 1e-9, "component {k}: |cos| = {cos}");
            let ratio = sigma[order[k]].powi(2) / total;
            assert!(
                (r.explained_variance_ratio[k] - ratio).abs() < 1e-12,
                "ratio {k}: {} against {ratio}",
                r.explained_variance_ratio[k]
            );
        }
    }

    #[test]
    fn too_few_snapshots_is_an_error() {
        let e = pca(&[vec![1.0], vec![2.0]]).unwrap_err().to_string();
        assert!(e.contains("at least three"), "{e}");
    }
}
