//! The loss Hessian through Hessian-vector products only (as PyHessian): extreme eigenvalues
//! and eigenvectors by Lanczos, the trace by Hutchinson's estimator, and the eigenvalue density
//! by stochastic Lanczos quadrature (SLQ).
//!
//! Products are restricted to a mask (the weights with at least two dimensions, as the
//! reference): the operator is `P H P` on the masked coordinates, so its spectrum is that of the
//! Hessian block of those weights.

use super::error::{invalid, Result};
use crate::formula::symmetric_eigen;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

/// A Hessian-vector product `v ↦ H v`.
pub type Hvp<'a> = dyn FnMut(&[f64]) -> Result<Vec<f64>> + 'a;

/// Code that runs with a Hessian-vector product (see `LossModel::with_hvp`).
pub type WithHvp<'a> = dyn FnMut(&mut Hvp<'_>) -> Result<()> + 'a;

/// Iteration limits, PyHessian's defaults (`maxIter = 100`, `tol = 1e-3`, one SLQ run of 100
/// steps).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HessianOptions {
    /// Largest number of Lanczos steps for the extreme eigenvalues.
    pub max_iter: usize,
    /// Stop once each extreme Ritz pair's residual ‖H y − θ y‖ is below `tol · max|θ|`.
    pub tol: f64,
    /// Largest number of Hutchinson samples for the trace.
    pub trace_iter: usize,
    /// Stop the trace once its running mean changes by less than `trace_tol` (relative).
    pub trace_tol: f64,
    /// Lanczos steps per SLQ run.
    pub slq_iter: usize,
    /// Number of SLQ runs (random start vectors) averaged.
    pub slq_runs: usize,
    /// Seed of the random start vectors.
    pub seed: u64,
}

impl Default for HessianOptions {
    fn default() -> Self {
        HessianOptions {
            max_iter: 100,
            tol: 1e-3,
            trace_iter: 100,
            trace_tol: 1e-3,
            slq_iter: 100,
            slq_runs: 1,
            seed: 0,
        }
    }
}

/// The extreme eigenvalues found by Lanczos.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extremes {
    /// Largest eigenvalue.
    pub lambda_max: f64,
    /// Smallest eigenvalue.
    pub lambda_min: f64,
    /// Hessian-vector products used.
    pub hvps: usize,
    /// True if the residuals met the tolerance (else `max_iter` was reached).
    pub converged: bool,
    /// Unit eigenvectors of the largest eigenvalues, largest first (as many as asked).
    #[serde(skip)]
    pub top_vectors: Vec<Vec<f64>>,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    y.iter_mut().zip(x).for_each(|(u, &v)| *u += a * v);
}

fn masked(mut v: Vec<f64>, mask: &[bool]) -> Vec<f64> {
    v.iter_mut()
        .zip(mask)
        .filter(|(_, &m)| !m)
        .for_each(|(x, _)| *x = 0.0);
    v
}

fn unit(mut v: Vec<f64>) -> Vec<f64> {
    let n = dot(&v, &v).sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
    v
}

/// The Lanczos basis, the tridiagonal coefficients and the products spent.
struct Krylov {
    basis: Vec<Vec<f64>>,
    alpha: Vec<f64>,
    beta: Vec<f64>,
}

impl Krylov {
    fn tridiagonal(&self) -> Vec<Vec<f64>> {
        let m = self.alpha.len();
        let mut t = vec![vec![0.0; m]; m];
        for i in 0..m {
            t[i][i] = self.alpha[i];
            if i + 1 < m {
                t[i][i + 1] = self.beta[i];
                t[i + 1][i] = self.beta[i];
            }
        }
        t
    }
}

/// Runs Lanczos with full re-orthogonalisation from `start`, calling `stop` after every step
/// with the Krylov state and the last β; stops when it returns true or after `max_iter` steps.
fn lanczos(
    hvp: &mut Hvp<'_>,
    mask: &[bool],
    start: Vec<f64>,
    max_iter: usize,
    mut stop: impl FnMut(&Krylov, f64) -> Result<bool>,
) -> Result<Krylov> {
    let active = mask.iter().filter(|&&m| m).count();
    if active == 0 {
        return invalid("the Hessian has no coordinates: no weight has two or more dimensions");
    }
    let mut k = Krylov {
        basis: vec![unit(masked(start, mask))],
        alpha: Vec::new(),
        beta: Vec::new(),
    };
    let steps = max_iter.min(active).max(1);
    for j in 0..steps {
        let q = &k.basis[j];
        let mut w = masked(hvp(q)?, mask);
        let a = dot(&w, q);
        axpy(&mut w, -a, q);
        if j > 0 {
            axpy(&mut w, -k.beta[j - 1], &k.basis[j - 1]);
        }
        for _ in 0..2 {
            for b in &k.basis {
                let c = dot(&w, b);
                axpy(&mut w, -c, b);
            }
        }
        let b = dot(&w, &w).sqrt();
        k.alpha.push(a);
        if stop(&k, b)? || j + 1 == steps {
            k.beta.push(b);
            break;
        }
        let scale = k
            .alpha
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()))
            .max(1e-300);
        if b <= 1e-12 * scale {
            // An invariant subspace: the Ritz values are exact.
            k.beta.push(b);
            break;
        }
        k.beta.push(b);
        k.basis.push(w.into_iter().map(|x| x / b).collect());
    }
    Ok(k)
}

fn ritz(k: &Krylov) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
    let e = symmetric_eigen(&k.tridiagonal())
        .map_err(|e| super::error::LandscapeError::Invalid(format!("Lanczos: {e}")))?;
    Ok((e.values, e.vectors))
}

fn random_start(len: usize, rng: &mut StdRng) -> Vec<f64> {
    (0..len).map(|_| StandardNormal.sample(rng)).collect()
}

/// λ_max and λ_min (and the eigenvectors of the `vectors` largest eigenvalues) of the masked
/// Hessian by Lanczos.
pub fn extremes(
    hvp: &mut Hvp<'_>,
    mask: &[bool],
    opts: &HessianOptions,
    vectors: usize,
) -> Result<Extremes> {
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let start = random_start(mask.len(), &mut rng);
    let mut converged = false;
    let k = lanczos(hvp, mask, start, opts.max_iter, |k, beta| {
        let m = k.alpha.len();
        if m < 2 + vectors {
            return Ok(false);
        }
        let (vals, vecs) = ritz(k)?;
        let scale = vals.iter().fold(0.0f64, |a, v| a.max(v.abs())).max(1e-300);
        let mut idx = vec![0, m - 1];
        idx.extend((1..vectors.min(m)).map(|i| m - 1 - i));
        converged = idx
            .iter()
            .all(|&i| (beta * vecs[i][m - 1]).abs() <= opts.tol * scale);
        Ok(converged || beta <= 1e-12 * scale)
    })?;
    let (vals, vecs) = ritz(&k)?;
    let m = vals.len();
    let top_vectors = (0..vectors.min(m))
        .map(|i| {
            let s = &vecs[m - 1 - i];
            let mut y = vec![0.0; mask.len()];
            for (c, b) in s.iter().zip(&k.basis) {
                axpy(&mut y, *c, b);
            }
            unit(y)
        })
        .collect();
    let beta = k.beta.last().copied().unwrap_or(0.0);
    let scale = vals.iter().fold(0.0f64, |a, v| a.max(v.abs())).max(1e-300);
    Ok(Extremes {
        lambda_max: vals[m - 1],
        lambda_min: vals[0],
        hvps: k.alpha.len(),
        converged: converged || beta <= 1e-12 * scale || m == mask.iter().filter(|&&x| x).count(),
        top_vectors,
    })
}

/// Hutchinson's estimate of the trace: the mean of `vᵀ H v` over Rademacher `v`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    /// The estimate.
    pub trace: f64,
    /// Samples (Hessian-vector products) used.
    pub hvps: usize,
}

/// The trace of the masked Hessian (PyHessian's stopping rule).
pub fn trace(hvp: &mut Hvp<'_>, mask: &[bool], opts: &HessianOptions) -> Result<Trace> {
    let mut rng = StdRng::seed_from_u64(opts.seed ^ 0x5452_4143);
    let (mut sum, mut est) = (0.0, 0.0);
    for i in 1..=opts.trace_iter.max(1) {
        let v: Vec<f64> = mask
            .iter()
            .map(|&m| {
                if !m {
                    0.0
                } else if rng.random::<bool>() {
                    1.0
                } else {
                    -1.0
                }
            })
            .collect();
        sum += dot(&hvp(&v)?, &v);
        let next = sum / i as f64;
        if i > 1 && (next - est).abs() / (est.abs() + 1e-6) < opts.trace_tol {
            return Ok(Trace {
                trace: next,
                hvps: i,
            });
        }
        est = next;
    }
    Ok(Trace {
        trace: est,
        hvps: opts.trace_iter.max(1),
    })
}

/// The eigenvalue density by stochastic Lanczos quadrature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Density {
    /// Ritz values of each run (quadrature nodes).
    pub nodes: Vec<Vec<f64>>,
    /// Quadrature weights of each run (squared first components; each run sums to 1).
    pub weights: Vec<Vec<f64>>,
    /// Eigenvalue axis of the smoothed density.
    pub grid: Vec<f64>,
    /// Smoothed density on `grid` (Gaussian kernels, integrates to 1).
    pub density: Vec<f64>,
    /// Hessian-vector products used.
    pub hvps: usize,
}

/// SLQ over `opts.slq_runs` Rademacher starts of `opts.slq_iter` steps each; the density is
/// smoothed as PyHessian's `density_generate` (10,000 bins, σ² = 1e-5 · max(1, spread)).
pub fn density(hvp: &mut Hvp<'_>, mask: &[bool], opts: &HessianOptions) -> Result<Density> {
    let mut rng = StdRng::seed_from_u64(opts.seed ^ 0x534c_5121);
    let (mut nodes, mut weights, mut hvps) = (Vec::new(), Vec::new(), 0);
    for _ in 0..opts.slq_runs.max(1) {
        let start: Vec<f64> = (0..mask.len())
            .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
            .collect();
        let k = lanczos(hvp, mask, start, opts.slq_iter, |_, _| Ok(false))?;
        hvps += k.alpha.len();
        let (vals, vecs) = ritz(&k)?;
        weights.push(vecs.iter().map(|s| s[0] * s[0]).collect());
        nodes.push(vals);
    }
    let mean = |f: fn(&[f64]) -> f64| nodes.iter().map(|n| f(n)).sum::<f64>() / nodes.len() as f64;
    let hi = mean(|n| n.iter().copied().fold(f64::MIN, f64::max)) + 0.01;
    let lo = mean(|n| n.iter().copied().fold(f64::MAX, f64::min)) - 0.01;
    let bins = 10_000;
    let grid: Vec<f64> = (0..bins)
        .map(|i| lo + (hi - lo) * i as f64 / (bins - 1) as f64)
        .collect();
    let sigma2 = 1e-5 * (hi - lo).max(1.0);
    let mut dens = vec![0.0; bins];
    for (n, w) in nodes.iter().zip(&weights) {
        for (x, d) in grid.iter().zip(dens.iter_mut()) {
            *d += n
                .iter()
                .zip(w)
                .map(|(t, w)| w * (-(x - t).powi(2) / (2.0 * sigma2)).exp())
                .sum::<f64>()
                / (2.0 * std::f64::consts::PI * sigma2).sqrt();
        }
    }
    let area: f64 = dens.iter().sum::<f64>() * (grid[1] - grid[0]);
    if area > 0.0 {
        dens.iter_mut().for_each(|d| *d /= area);
    }
    Ok(Density {
        nodes,
        weights,
        grid,
        density: dens,
        hvps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A symmetric matrix with known spectrum: Q diag(λ) Qᵀ from Householder reflections.
    fn matrix(lambda: &[f64]) -> Vec<Vec<f64>> {
        let n = lambda.len();
        let u = unit((0..n).map(|i| (i as f64 * 0.7).sin() + 0.3).collect());
        let q: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| f64::from(u8::from(i == j)) - 2.0 * u[i] * u[j])
                    .collect()
            })
            .collect();
        (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| (0..n).map(|k| q[i][k] * lambda[k] * q[j][k]).sum())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn lanczos_finds_extremes_trace_and_density() {
        let lambda: Vec<f64> = (0..40).map(|i| -2.0 + 0.25 * i as f64).collect();
        let a = matrix(&lambda);
        let mut op = |v: &[f64]| Ok(a.iter().map(|r| dot(r, v)).collect::<Vec<f64>>());
        let mask = vec![true; 40];
        let e = extremes(&mut op, &mask, &HessianOptions::default(), 2).unwrap();
        assert!((e.lambda_max - 7.75).abs() < 1e-6, "{e:?}");
        assert!((e.lambda_min + 2.0).abs() < 1e-6, "{e:?}");
        assert!(e.converged && e.hvps <= 40);
        // The top eigenvector satisfies A y = λ y.
        let y = &e.top_vectors[0];
        let ay = op(y).unwrap();
        let r: f64 = ay
            .iter()
            .zip(y)
            .map(|(p, q)| (p - 7.75 * q).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(r < 1e-3, "{r}");
        let t = trace(
            &mut op,
            &mask,
            &HessianOptions {
                trace_iter: 2000,
                trace_tol: 1e-9,
                ..Default::default()
            },
        )
        .unwrap();
        let exact: f64 = lambda.iter().sum();
        assert!(
            (t.trace - exact).abs() < 0.1 * exact.abs(),
            "{t:?} vs {exact}"
        );
        let d = density(&mut op, &mask, &HessianOptions::default()).unwrap();
        let w: f64 = d.weights[0].iter().sum();
        assert!((w - 1.0).abs() < 1e-9);
        assert!(d.grid[0] < -2.0 && *d.grid.last().unwrap() > 7.75);
    }

    #[test]
    fn mask_restricts_to_a_block() {
        // Block diag(3, [[1, 0], [0, -4]]): masking coordinate 0 leaves eigenvalues 1 and -4.
        let a = [[3.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -4.0]];
        let mut op = |v: &[f64]| Ok(a.iter().map(|r| dot(r, v)).collect::<Vec<f64>>());
        let e = extremes(&mut op, &[false, true, true], &HessianOptions::default(), 0).unwrap();
        assert!((e.lambda_max - 1.0).abs() < 1e-12 && (e.lambda_min + 4.0).abs() < 1e-12);
    }
}
