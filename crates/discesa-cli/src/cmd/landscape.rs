//! `discesa landscape`: loss surfaces of a trained checkpoint along normalised directions, PCA
//! trajectories and Hessian convexity maps (files described in docs/landscape.md).

use super::train_dist::{failed_start, mpi_launch, run_ranks, Launch};
use crate::fail::{CmdResult, Fail};
use clap::Args;
use discesa::dist::Communicator;
use discesa::landscape::{
    run, run_shared, DirectionKind, Grid, HessianOptions, Ignore, LandscapeConfig, LandscapeError,
    Norm, RankShare, Report, Split,
};
use std::path::PathBuf;

const EXAMPLES: &str = "Examples:
  discesa landscape --checkpoint runs/digits --data ../shared/data/digits.csv --grid -1:1:21,-1:1:21 --output runs/digits-landscape
  discesa landscape --checkpoint runs/a --data d.csv --directions interpolate:runs/b --grid -0.5:1.5:401 --output runs/a-to-b
  discesa landscape --checkpoint runs/digits --data d.csv --directions pca --grid -10:10:31,-10:10:31 --output runs/pca
  discesa landscape --checkpoint runs/digits --data d.csv --grid 0:0:1,0:0:1 --hessian --spectrum --output runs/spectrum";

/// Options of `discesa landscape`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct LandscapeArgs {
    /// Checkpoint directory written by `discesa train --checkpoint` (θ, the centre).
    #[arg(long)]
    checkpoint: PathBuf,
    /// The data the checkpoint was trained on (preprocessed as in training).
    #[arg(long)]
    data: PathBuf,
    /// random, interpolate:OTHER_CHECKPOINT, pca (epoch snapshots of --keep-epochs) or hessian.
    #[arg(long, default_value = "random")]
    directions: String,
    /// Normalisation of random directions: filter, layer, weight or none.
    #[arg(long)]
    norm: Option<String>,
    /// biasbn (directions are zero on tensors with at most one dimension) or none.
    #[arg(long)]
    ignore: Option<String>,
    /// xmin:xmax:nx for a 1-D curve, xmin:xmax:nx,ymin:ymax:ny for a surface.
    #[arg(long, default_value = "-1:1:21,-1:1:21", allow_hyphen_values = true)]
    grid: String,
    /// Rows evaluated: the first N of the split (0 for all).
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// train or test rows.
    #[arg(long, default_value = "train")]
    split: String,
    /// Seed of the random directions and of the Hessian start vectors.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// λ_max and λ_min of the Hessian at every grid point, and the convexity map.
    #[arg(long)]
    hessian: bool,
    /// Trace (Hutchinson) and eigenvalue density (SLQ) of the Hessian at the centre.
    #[arg(long)]
    spectrum: bool,
    /// Largest number of Lanczos steps (Hessian-vector products) for λ_max / λ_min.
    #[arg(long, default_value_t = 100)]
    hessian_iters: usize,
    /// Lanczos tolerance: residual of each extreme pair below tol · max|λ|.
    #[arg(long, default_value_t = 1e-3)]
    hessian_tol: f64,
    /// Largest number of Hutchinson samples for the trace.
    #[arg(long, default_value_t = 100)]
    trace_iters: usize,
    /// Relative change of the trace estimate that stops it.
    #[arg(long, default_value_t = 1e-3)]
    trace_tol: f64,
    /// Lanczos steps per SLQ run of the density.
    #[arg(long, default_value_t = 100)]
    slq_iters: usize,
    /// Number of SLQ runs averaged.
    #[arg(long, default_value_t = 1)]
    slq_runs: usize,
    /// Logarithmic loss scale in the contours, heatmap and 1-D curve; the 3-D surface shows log10 of the loss.
    #[arg(long)]
    log_scale: bool,
    /// Contour levels.
    #[arg(long, default_value_t = 20)]
    levels: usize,
    /// Figure format: png or svg.
    #[arg(long, default_value = "png")]
    format: String,
    /// Threads sharing the grid points (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Output directory (created; an interrupted run there resumes).
    #[arg(long)]
    output: PathBuf,
    /// Print one JSON object with the result at the end.
    #[arg(long)]
    json: bool,
}

fn fail(e: LandscapeError) -> Fail {
    if e.is_input_error() {
        Fail::input(e)
    } else {
        Fail::runtime(e)
    }
}

fn config(a: &LandscapeArgs) -> Result<LandscapeConfig, Fail> {
    let grid = Grid::parse(&a.grid).map_err(fail)?;
    let directions = DirectionKind::parse(&a.directions).map_err(fail)?;
    let fixed = !matches!(directions, DirectionKind::Random);
    if fixed {
        if let Some(n) = a.norm.as_deref().filter(|n| *n != "none") {
            return Err(Fail::input(format!(
                "--norm {n} applies to random directions only; {} directions are used as they are",
                a.directions.split(':').next().unwrap_or("these")
            )));
        }
    }
    let norm = Norm::parse(
        a.norm
            .as_deref()
            .unwrap_or(if fixed { "none" } else { "filter" }),
    )
    .map_err(fail)?;
    let interpolate = matches!(directions, DirectionKind::Interpolate(_));
    let ignore_default = if interpolate { "none" } else { "biasbn" };
    let ignore = Ignore::parse(a.ignore.as_deref().unwrap_or(ignore_default)).map_err(fail)?;
    if interpolate && ignore == Ignore::Biasbn {
        return Err(Fail::input(
            "--ignore biasbn does not apply to interpolate: d = θ₂ − θ₁ moves every tensor",
        ));
    }
    let split = match a.split.as_str() {
        "train" => Split::Train,
        "test" => Split::Test,
        s => return Err(Fail::input(format!("--split `{s}` must be train or test"))),
    };
    let positive = |name: &str, v: usize| {
        if v == 0 {
            Err(Fail::input(format!("--{name} must be at least 1")))
        } else {
            Ok(v)
        }
    };
    for (name, v) in [
        ("hessian-iters", a.hessian_iters),
        ("trace-iters", a.trace_iters),
        ("slq-iters", a.slq_iters),
        ("slq-runs", a.slq_runs),
        ("levels", a.levels),
    ] {
        positive(name, v)?;
    }
    for (name, v) in [("hessian-tol", a.hessian_tol), ("trace-tol", a.trace_tol)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(Fail::input(format!(
                "--{name} must be a positive number, got {v}"
            )));
        }
    }
    let threads = match a.threads {
        Some(0) => return Err(Fail::input("--threads must be at least 1")),
        Some(t) => t,
        None if discesa::dist::mpi_rank().is_some() => super::train_dist::threads_per_rank(),
        None => discesa::tensor::num_threads(),
    };
    Ok(LandscapeConfig {
        checkpoint: a.checkpoint.clone(),
        data: a.data.clone(),
        directions,
        norm,
        ignore,
        grid,
        samples: a.samples,
        split,
        seed: a.seed,
        hessian: a.hessian,
        spectrum: a.spectrum,
        hessian_options: HessianOptions {
            max_iter: a.hessian_iters,
            tol: a.hessian_tol,
            trace_iter: a.trace_iters,
            trace_tol: a.trace_tol,
            slq_iter: a.slq_iters,
            slq_runs: a.slq_runs,
            seed: a.seed,
        },
        output: a.output.clone(),
        threads,
        log_scale: a.log_scale,
        format: a.format.clone(),
        levels: a.levels,
    })
}

/// Runs the landscape; under `mpirun` the grid points are shared over the ranks and rank 0
/// reports and writes the files.
pub fn run_cmd(a: LandscapeArgs) -> CmdResult {
    run_here(a).map_err(failed_start)
}

fn run_here(a: LandscapeArgs) -> CmdResult {
    let launch = match mpi_launch()? {
        Some(n) => Launch::Mpi(n),
        None => Launch::Solo,
    };
    let cfg = config(&a)?;
    run_ranks(launch, &|comm: Option<Box<dyn Communicator>>| {
        let rank = comm.as_ref().map_or(0, |c| c.rank());
        let quiet = a.json || rank != 0;
        let mut last = std::time::Instant::now();
        let mut progress = |done: usize, total: usize| {
            if !quiet && (last.elapsed().as_secs_f64() > 2.0 || done == total) {
                eprintln!("{done}/{total} points");
                last = std::time::Instant::now();
            }
        };
        let report = match comm {
            None => run(&cfg, &mut progress),
            Some(mut comm) => run_shared(&cfg, &RankShare::new(comm.as_mut()), &mut progress),
        }
        .map_err(fail)?;
        if rank == 0 {
            print_report(&a, &cfg, &report)?;
        }
        Ok(())
    })
}

fn print_report(a: &LandscapeArgs, cfg: &LandscapeConfig, report: &Report) -> CmdResult {
    if a.json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(|e| Fail::runtime(e.to_string()))?
        );
        return Ok(());
    }
    let resumed = report.points - report.computed;
    println!(
        "{} points ({} computed, {} resumed) on {} rows: {:.2}s ({:.1} points/s)",
        report.points,
        report.computed,
        resumed,
        report.samples,
        report.surface_seconds,
        report.points_per_second
    );
    print!("centre: loss {:.6}", report.centre_loss);
    if report.centre_accuracy.is_finite() {
        print!("  accuracy {:.4}", report.centre_accuracy);
    }
    println!();
    if let Some(h) = &report.centre_hessian {
        println!(
            "Hessian at θ: λ_max {:.6e}  λ_min {:.6e}  ({} Hessian-vector products{})",
            h.lambda_max,
            h.lambda_min,
            h.hvps,
            if h.converged { "" } else { ", not converged" }
        );
    }
    println!(
        "wrote {} files to {}",
        report.files.len(),
        cfg.output.display()
    );
    Ok(())
}
