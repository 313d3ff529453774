//! Evaluating grid points: pending points shared out ([`PointShare`]), computed over threads in
//! chunks, each finished chunk saved so an interrupted run resumes where it stopped.

use super::error::{LandscapeError, Result};
use super::grid::Grid;
use super::plane::Plane;
use super::share::{PointResult, PointShare};
use crate::checkpoint::write_json_atomic;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// File in the output directory holding the points computed so far.
pub const PROGRESS_FILE: &str = "progress.json";

/// λ_max and λ_min of the Hessian at `(a, b)`.
pub type HessianAt<'a> = dyn Fn(f64, f64) -> Result<(f64, f64)> + Sync + 'a;

/// `[index, loss, accuracy, λ_max, λ_min]` of one saved point (`None` for NaN).
pub type SavedPoint = (usize, Option<f64>, Option<f64>, Option<f64>, Option<f64>);

/// Points computed so far, tied to the settings that produced them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Progress {
    /// Digest of everything the values depend on (settings, weights, directions, samples).
    pub fingerprint: String,
    /// `[index, loss, accuracy, λ_max, λ_min]` per computed point (`null` for NaN).
    pub points: Vec<SavedPoint>,
}

fn opt(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

impl Progress {
    /// Reads `dir/progress.json` if it belongs to `fingerprint`; `None` when absent or from
    /// other settings.
    pub fn load(dir: &Path, fingerprint: &str) -> Option<Progress> {
        let text = std::fs::read_to_string(dir.join(PROGRESS_FILE)).ok()?;
        let p: Progress = serde_json::from_str(&text).ok()?;
        (p.fingerprint == fingerprint).then_some(p)
    }

    /// The computed points.
    pub fn results(&self) -> Vec<PointResult> {
        let f = |v: Option<f64>| v.unwrap_or(f64::NAN);
        self.points
            .iter()
            .map(|&(index, l, a, hx, hn)| PointResult {
                index,
                loss: f(l),
                accuracy: f(a),
                lambda_max: f(hx),
                lambda_min: f(hn),
            })
            .collect()
    }

    fn push(&mut self, r: &PointResult) {
        self.points.push((
            r.index,
            opt(r.loss),
            opt(r.accuracy),
            opt(r.lambda_max),
            opt(r.lambda_min),
        ));
    }
}

/// Sets the kernels to one thread while points run in parallel, and back afterwards.
struct KernelThreads(usize);

impl KernelThreads {
    fn single() -> Self {
        let was = crate::tensor::num_threads();
        crate::tensor::set_num_threads(1);
        KernelThreads(was)
    }
}

impl Drop for KernelThreads {
    fn drop(&mut self) {
        crate::tensor::set_num_threads(self.0);
    }
}

/// What to compute and where to keep progress.
pub struct SurfaceRun<'a> {
    /// The grid.
    pub grid: &'a Grid,
    /// The plane evaluator.
    pub plane: &'a dyn Plane,
    /// Hessian extremes per point, when asked for.
    pub hessian: Option<&'a HessianAt<'a>>,
    /// Threads sharing the points of this process.
    pub threads: usize,
    /// Directory of `progress.json` (none: nothing saved).
    pub progress_dir: Option<PathBuf>,
    /// Digest of the settings (see [`Progress::fingerprint`]).
    pub fingerprint: String,
}

/// Every point of the grid, row-major, reusing points already saved; returns the results
/// and how many points were computed now.
pub fn evaluate_grid(
    run: &SurfaceRun<'_>,
    share: &dyn PointShare,
    report: &mut dyn FnMut(usize, usize),
) -> Result<(Vec<PointResult>, usize)> {
    let grid = run.grid;
    let xs = grid.x.coords();
    let ys = grid.y.map(|a| a.coords()).unwrap_or_else(|| vec![0.0]);
    let mut progress = run
        .progress_dir
        .as_deref()
        .and_then(|d| Progress::load(d, &run.fingerprint))
        .unwrap_or_else(|| Progress {
            fingerprint: run.fingerprint.clone(),
            points: Vec::new(),
        });
    let mut done = vec![false; grid.len()];
    for p in &progress.points {
        if p.0 < done.len() {
            done[p.0] = true;
        }
    }
    let pending: Vec<usize> = (0..grid.len()).filter(|&k| !done[k]).collect();
    let pending = share.pending_of_rank_zero(pending)?;
    let mine = share.mine(&pending);
    let threads = run.threads.max(1);
    let chunk = (threads * 4).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| LandscapeError::Invalid(format!("cannot start {threads} threads: {e}")))?;
    let mut local = Vec::with_capacity(mine.len());
    let mut last_save = Instant::now();
    let total = grid.len();
    let mut finished = total - pending.len();
    for part in mine.chunks(chunk) {
        let results: Vec<Result<PointResult>> = {
            let _single = (threads > 1 && part.len() > 1).then(KernelThreads::single);
            pool.install(|| {
                part.par_iter()
                    .map(|&k| {
                        let (a, b) = grid.point(k, &xs, &ys);
                        let v = run.plane.eval(a, b)?;
                        let (lmax, lmin) = match run.hessian {
                            Some(h) => h(a, b)?,
                            None => (f64::NAN, f64::NAN),
                        };
                        let finite = |x: f64| if x.is_finite() { x } else { f64::NAN };
                        Ok(PointResult {
                            index: k,
                            loss: finite(v.loss),
                            accuracy: if v.loss.is_finite() {
                                v.accuracy
                            } else {
                                f64::NAN
                            },
                            lambda_max: finite(lmax),
                            lambda_min: finite(lmin),
                        })
                    })
                    .collect()
            })
        };
        for r in results {
            let r = r?;
            progress.push(&r);
            local.push(r);
        }
        finished += part.len() * share.size();
        report(finished.min(total), total);
        if let Some(dir) = &run.progress_dir {
            if last_save.elapsed().as_secs_f64() > 1.0 || local.len() == mine.len() {
                write_json_atomic(dir.join(PROGRESS_FILE), &progress)?;
                last_save = Instant::now();
            }
        }
    }
    // Computed now by all participants together.
    let computed = pending.len();
    // Points resumed from the saved progress are known to the rank that read it (rank 0).
    let resumed = progress
        .results()
        .into_iter()
        .filter(|r| !mine.contains(&r.index));
    local.extend(resumed);
    let mut all = share.gather(local)?;
    all.sort_by_key(|r| r.index);
    all.dedup_by_key(|r| r.index);
    if all.len() != total {
        return Err(LandscapeError::Invalid(format!(
            "{} of {total} grid points were computed",
            all.len()
        )));
    }
    if let (Some(dir), true) = (&run.progress_dir, share.size() > 1) {
        // The saved progress so far held this rank's points only; now it holds every one.
        let mut full = Progress {
            fingerprint: run.fingerprint.clone(),
            points: Vec::with_capacity(all.len()),
        };
        all.iter().for_each(|r| full.push(r));
        write_json_atomic(dir.join(PROGRESS_FILE), &full)?;
    }
    Ok((all, computed))
}

/// A 64-bit FNV-1a digest, hex, of byte slices (settings and tensors), for resume checks.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::super::model::PointValue;
    use super::super::share::SingleProcess;
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Bowl(AtomicUsize);
    impl Plane for Bowl {
        fn eval(&self, a: f64, b: f64) -> Result<PointValue> {
            self.0.fetch_add(1, Ordering::Relaxed);
            let loss = if a > 0.9 {
                f64::INFINITY
            } else {
                a * a + 10.0 * b
            };
            Ok(PointValue {
                loss,
                accuracy: 0.5,
            })
        }
    }

    #[test]
    fn non_square_grid_is_row_major_and_resumes() {
        let dir = tempfile::TempDir::new().unwrap();
        let grid = Grid::parse("-1:1:3,0:1:2").unwrap();
        let plane = Bowl(AtomicUsize::new(0));
        let run = SurfaceRun {
            grid: &grid,
            plane: &plane,
            hessian: None,
            threads: 2,
            progress_dir: Some(dir.path().to_path_buf()),
            fingerprint: "abc".into(),
        };
        let (r, n) = evaluate_grid(&run, &SingleProcess, &mut |_, _| {}).unwrap();
        assert_eq!(n, 6);
        // Row j = y[j], column i = x[i]: index 4 is x = 0, y = 1.
        assert_eq!(r[4].loss, 10.0);
        assert_eq!(r[1].loss, 0.0);
        assert!(
            r[2].loss.is_nan() && r[2].accuracy.is_nan(),
            "overflow is NaN"
        );
        // Drop two points from the saved progress: only those are computed again.
        let mut p = Progress::load(dir.path(), "abc").unwrap();
        p.points.retain(|q| q.0 != 1 && q.0 != 4);
        write_json_atomic(dir.path().join(PROGRESS_FILE), &p).unwrap();
        let (r2, n2) = evaluate_grid(&run, &SingleProcess, &mut |_, _| {}).unwrap();
        assert_eq!(n2, 2);
        assert_eq!(plane.0.load(Ordering::Relaxed), 8);
        assert_eq!(r2[4].loss, 10.0);
        assert!(r2[5].loss.is_nan());
        // Other settings start afresh.
        assert!(Progress::load(dir.path(), "other").is_none());
    }
}
