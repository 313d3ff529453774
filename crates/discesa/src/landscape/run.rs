//! One `discesa landscape` run: read the checkpoint and the rows, build the directions,
//! evaluate the grid (resuming saved points), the Hessian quantities, the files and the figures.

use super::directions::{self, Ignore, Norm};
use super::error::{invalid, LandscapeError, Result};
use super::grid::Grid;
use super::hessian::{self, HessianOptions};
use super::model::LossModel;
use super::output;
use super::pca::{self, Pca};
use super::share::{PointShare, SingleProcess};
use super::source::{self, Source};
use super::surface::{evaluate_grid, fingerprint, HessianAt, SurfaceRun};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

pub use super::source::Split;

/// How the directions are chosen.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectionKind {
    /// Seeded N(0, 1), normalised.
    Random,
    /// `θ₂ − θ₁` towards another checkpoint (1-D).
    Interpolate(PathBuf),
    /// The first two principal components of the epoch snapshots.
    Pca,
    /// The top two Hessian eigenvectors.
    Hessian,
}

impl DirectionKind {
    /// Parses `random`, `interpolate:DIR`, `pca` or `hessian`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "random" => Ok(DirectionKind::Random),
            "pca" => Ok(DirectionKind::Pca),
            "hessian" => Ok(DirectionKind::Hessian),
            _ => match s.strip_prefix("interpolate:") {
                Some(p) if !p.is_empty() => Ok(DirectionKind::Interpolate(PathBuf::from(p))),
                _ => invalid(format!(
                    "--directions: unknown kind `{s}`; valid: random, interpolate:OTHER_CHECKPOINT, pca, hessian"
                )),
            },
        }
    }
}

/// Every setting of a run.
#[derive(Debug, Clone, Serialize)]
pub struct LandscapeConfig {
    /// Checkpoint directory (θ).
    pub checkpoint: PathBuf,
    /// Data the checkpoint was trained on.
    pub data: PathBuf,
    /// Direction kind.
    pub directions: DirectionKind,
    /// Normalisation of random directions.
    pub norm: Norm,
    /// Tensors left out of the directions.
    pub ignore: Ignore,
    /// The grid.
    pub grid: Grid,
    /// Rows evaluated (the first N of the split; 0 for all).
    pub samples: usize,
    /// Train or test rows.
    pub split: Split,
    /// Seed of random directions and Hessian start vectors.
    pub seed: u64,
    /// λ_max / λ_min at every grid point.
    pub hessian: bool,
    /// Trace and eigenvalue density at the centre.
    pub spectrum: bool,
    /// Iteration limits.
    pub hessian_options: HessianOptions,
    /// Output directory.
    pub output: PathBuf,
    /// Threads sharing the grid points.
    pub threads: usize,
    /// Logarithmic contour levels.
    pub log_scale: bool,
    /// Figure format: `png` or `svg`.
    pub format: String,
    /// Contour levels.
    pub levels: usize,
}

/// What a run did, for the command line.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Grid points.
    pub points: usize,
    /// Points computed in this run (the rest were resumed).
    pub computed: usize,
    /// Rows evaluated.
    pub samples: usize,
    /// Loss at the point nearest (0, 0).
    pub centre_loss: f64,
    /// Accuracy at that point.
    pub centre_accuracy: f64,
    /// Seconds for the directions.
    pub directions_seconds: f64,
    /// Seconds for the surface.
    pub surface_seconds: f64,
    /// Seconds for the centre's Hessian quantities.
    pub hessian_seconds: f64,
    /// Seconds for files and figures.
    pub output_seconds: f64,
    /// Points per second of this run's computed points.
    pub points_per_second: f64,
    /// Centre λ_max / λ_min and products used, when computed.
    pub centre_hessian: Option<hessian::Extremes>,
    /// Files written.
    pub files: Vec<String>,
}

fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// The x and y directions and, for `pca`, the snapshot epochs and the analysis.
type Directions = (Vec<f64>, Vec<f64>, Option<(Vec<usize>, Pca)>);

/// Directions (x, and y for 2-D grids) and, for `pca`, the analysis.
fn build_directions(
    cfg: &LandscapeConfig,
    src: &Source,
    theta: &[f64],
    samples: &super::Samples,
) -> Result<Directions> {
    let entries = src.model.entries();
    let n = theta.len();
    let two = cfg.grid.is_2d();
    match &cfg.directions {
        DirectionKind::Random => {
            let mut d = directions::random(entries, n, if two { 2 } else { 1 }, cfg.seed);
            for v in &mut d {
                directions::normalize(v, theta, entries, cfg.norm, cfg.ignore);
            }
            let dy = if two { d.pop().unwrap() } else { vec![0.0; n] };
            Ok((d.pop().unwrap(), dy, None))
        }
        DirectionKind::Interpolate(other) => {
            if two {
                return invalid(
                    "--directions interpolate is 1-D: give one --grid range, e.g. -0.5:1.5:401",
                );
            }
            let w2 = source::load_other(other, src)?;
            let d = w2
                .iter()
                .zip(theta)
                .map(|(&b, &a)| f64::from(b) - a)
                .collect();
            Ok((d, vec![0.0; n], None))
        }
        DirectionKind::Pca => {
            let snaps = source::snapshot_files(&cfg.checkpoint)?;
            if snaps.len() < 3 {
                return invalid(format!(
                    "--directions pca needs at least three epoch snapshots in {}, found {}; train with --keep-epochs",
                    cfg.checkpoint.display(),
                    snaps.len()
                ));
            }
            let mut diffs = Vec::with_capacity(snaps.len());
            for (_, path) in &snaps {
                let w = source::load_snapshot(path, entries)?;
                let mut d: Vec<f64> = w
                    .iter()
                    .zip(theta)
                    .map(|(&a, &b)| f64::from(a) - b)
                    .collect();
                directions::apply_ignore(&mut d, entries, cfg.ignore);
                diffs.push(d);
            }
            let p = pca::pca(&diffs)?;
            let epochs = snaps.iter().map(|(e, _)| *e).collect();
            let dy = if two {
                p.components[1].clone()
            } else {
                vec![0.0; n]
            };
            Ok((p.components[0].clone(), dy, Some((epochs, p))))
        }
        DirectionKind::Hessian => {
            let mask = directions::mask(entries, Ignore::Biasbn);
            let opts = HessianOptions {
                seed: cfg.seed,
                ..cfg.hessian_options
            };
            let mut ext = None;
            src.model.with_hvp(theta, samples, &mut |hvp| {
                ext = Some(hessian::extremes(hvp, &mask, &opts, 2)?);
                Ok(())
            })?;
            let mut e = ext.expect("extremes computed");
            let dy = if two {
                e.top_vectors.pop().unwrap()
            } else {
                vec![0.0; n]
            };
            let dx = e.top_vectors.swap_remove(0);
            Ok((dx, dy, None))
        }
    }
}

/// Runs the whole landscape described by `cfg`; validation happens before any file is written.
pub fn run(cfg: &LandscapeConfig, progress: &mut dyn FnMut(usize, usize)) -> Result<Report> {
    run_shared(cfg, &SingleProcess, progress)
}

/// [`run`] with the grid points shared by `share` (rank 0 writes the files).
pub fn run_shared(
    cfg: &LandscapeConfig,
    share: &dyn PointShare,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Report> {
    if !matches!(cfg.format.as_str(), "png" | "svg") {
        return invalid(format!("--format `{}` must be png or svg", cfg.format));
    }
    if cfg.output.is_file() {
        return invalid(format!(
            "--output {} is a file, not a directory",
            cfg.output.display()
        ));
    }
    let src = source::load(&cfg.checkpoint)?;
    let rows = source::rows(&src, &cfg.data, cfg.split, cfg.samples)?;
    src.model.check_samples(&rows.samples)?;
    let theta = to_f64(&src.theta);
    let t0 = Instant::now();
    let (dx, dy, pca) = build_directions(cfg, &src, &theta, &rows.samples)?;
    let directions_seconds = t0.elapsed().as_secs_f64();

    let settings = serde_json::to_vec(&serde_json::json!({
        "directions": cfg.directions, "norm": cfg.norm, "ignore": cfg.ignore, "grid": cfg.grid,
        "samples": rows.samples.len(), "split": cfg.split, "seed": cfg.seed,
        "hessian": cfg.hessian, "hessian_options": cfg.hessian_options,
    }))
    .map_err(|e| LandscapeError::Invalid(e.to_string()))?;
    let bytes = |v: &[f64]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let fp = fingerprint(&[
        &settings,
        &bytes(&theta),
        &bytes(&dx),
        &bytes(&dy),
        &bytes(&to_f64(&rows.samples.inputs)),
    ]);
    std::fs::create_dir_all(&cfg.output).map_err(|source| LandscapeError::Io {
        path: cfg.output.clone(),
        source,
    })?;
    let mut files = Vec::new();
    if share.rank() == 0 {
        files.extend(output::write_inputs(
            &cfg.output,
            src.model.entries(),
            &dx,
            &dy,
            cfg.grid.is_2d(),
            &rows,
        )?);
    }

    let theta32 = src.theta.clone();
    let (dx32, dy32) = (to_f32(&dx), to_f32(&dy));
    let plane = src.model.plane(&theta32, &dx32, &dy32, &rows.samples)?;
    let mask = directions::mask(src.model.entries(), Ignore::Biasbn);
    let hopts = HessianOptions {
        seed: cfg.seed,
        ..cfg.hessian_options
    };
    let point_hessian = |a: f64, b: f64| -> Result<(f64, f64)> {
        let p: Vec<f64> = theta
            .iter()
            .zip(&dx)
            .zip(&dy)
            .map(|((&w, &u), &v)| w + a * u + b * v)
            .collect();
        let mut out = (f64::NAN, f64::NAN);
        src.model.with_hvp(&p, &rows.samples, &mut |hvp| {
            let e = hessian::extremes(hvp, &mask, &hopts, 0)?;
            out = (e.lambda_max, e.lambda_min);
            Ok(())
        })?;
        Ok(out)
    };
    let hessian_fn: Option<&HessianAt<'_>> = if cfg.hessian {
        Some(&point_hessian)
    } else {
        None
    };
    let t1 = Instant::now();
    let (results, computed) = evaluate_grid(
        &SurfaceRun {
            grid: &cfg.grid,
            plane: plane.as_ref(),
            hessian: hessian_fn,
            threads: cfg.threads,
            progress_dir: (share.rank() == 0).then(|| cfg.output.clone()),
            fingerprint: fp,
        },
        share,
        progress,
    )?;
    let surface_seconds = t1.elapsed().as_secs_f64();

    let t2 = Instant::now();
    let mut centre_hessian = None;
    let mut spectrum = None;
    if cfg.hessian || cfg.spectrum {
        src.model.with_hvp(&theta, &rows.samples, &mut |hvp| {
            if cfg.hessian {
                centre_hessian = Some(hessian::extremes(hvp, &mask, &hopts, 0)?);
            }
            if cfg.spectrum {
                let t = hessian::trace(hvp, &mask, &hopts)?;
                let d = hessian::density(hvp, &mask, &hopts)?;
                spectrum = Some((t, d));
            }
            Ok(())
        })?;
    }
    let hessian_seconds = t2.elapsed().as_secs_f64();
    let xs = cfg.grid.x.coords();
    let ys = cfg.grid.y.map(|a| a.coords()).unwrap_or_default();
    let centre = &results[cfg
        .grid
        .centre(&xs, if ys.is_empty() { &[0.0] } else { &ys })];
    let mut report = Report {
        points: results.len(),
        computed,
        samples: rows.samples.len(),
        centre_loss: centre.loss,
        centre_accuracy: centre.accuracy,
        directions_seconds,
        surface_seconds,
        hessian_seconds,
        output_seconds: 0.0,
        points_per_second: if surface_seconds > 0.0 {
            computed as f64 / surface_seconds
        } else {
            0.0
        },
        centre_hessian,
        files,
    };
    if share.rank() != 0 {
        return Ok(report);
    }
    let t3 = Instant::now();
    let centre_ext = report.centre_hessian.clone();
    let out = output::Outputs {
        centre: centre_ext.as_ref(),
        cfg,
        xs: &xs,
        ys: &ys,
        results: &results,
        pca: pca.as_ref(),
        spectrum: spectrum.as_ref(),
        task: rows.samples.task(),
    };
    report.files.extend(out.write_arrays()?);
    report.files.extend(super::figures::draw_all(&out)?);
    report.output_seconds = t3.elapsed().as_secs_f64();
    report.files.push(output::LANDSCAPE_FILE.into());
    output::write_summary(cfg, &report)?;
    Ok(report)
}
