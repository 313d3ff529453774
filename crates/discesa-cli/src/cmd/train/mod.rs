//! `discesa train`: train an MLP, a small CNN or a ResNet / plain network on a CSV file, an IDX
//! directory (MNIST, Fashion-MNIST) or npy data, with progress, metrics, figures, checkpoints
//! and resume.

mod dist_report;
mod observer;
mod resume;
mod settings;
mod summary;

use super::model_choice::{model_spec, DataShape, ModelChoice};
use super::train_config::FileConfig;
use super::train_dist::{failed_start, plan, run_ranks, DistArgs, Launch};
use crate::fail::{CmdResult, Fail};
use clap::Args;
use discesa::dist::{Communicator, SoloComm, Strategy, StrategyOptions, Timeline};
use discesa::train::{
    init_from_state_dict, prepare, resume_checkpoint, Console, Observer, Silent, TrainError,
    Trainer,
};
use dist_report::report_dist;
use observer::CliObserver;
use settings::{choose_from_data, settings};
use std::path::{Path, PathBuf};
use std::time::Instant;
use summary::{finish, metric_name};

const EXAMPLES: &str = "Examples:
  discesa train --data ../shared/data/iris.csv --target species --hidden 16 --epochs 50 --lr 0.01
  discesa train --data ../shared/data/mnist --hidden 256,128 --dropout 0.4,0.3 --optimizer adam \\
      --lr 1e-3 --batch-size 128 --epochs 10 --checkpoint runs/mnist --metrics runs/mnist.csv --plot runs/mnist.png
  discesa train --data /usr/share/datasets/fashion-mnist --model resnet20 --width 16 --optimizer momentum \
      --lr 0.05 --weight-decay 5e-4 --batch-size 128 --epochs 10 --augment crop:2 --checkpoint runs/r20
  discesa train --checkpoint runs/mnist --resume --epochs 15      # continue a stopped run
  discesa train --config mnist.toml --lr 3e-4                      # flags override the file
  discesa train --data ../shared/data/mnist --hidden 256,256 --batch-size 512 --workers 2   # 2 ranks as threads
  mpirun -n 4 discesa train --data ../shared/data/mnist --hidden 256,256 --strategy ps      # built with --features mpi";

/// Options of `discesa train`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct TrainArgs {
    /// Data: a CSV/TSV file with a header, an MNIST directory (four IDX files) or a directory with x.npy and y.npy.
    #[arg(long)]
    data: Option<PathBuf>,
    /// CSV target column (default: the last column).
    #[arg(long)]
    target: Option<String>,
    /// classification or regression (default: inferred from the target column).
    #[arg(long)]
    task: Option<String>,
    /// Network: mlp (default), cnn, resnet<D> or plain<D> with depth D = 6n+2 (8, 20, 56, 110...).
    #[arg(long)]
    model: Option<String>,
    /// Channels of the first convolutional stage (cnn, resnet, plain); default 16.
    #[arg(long)]
    width: Option<usize>,
    /// Initial weights and buffers from a PyTorch state dict saved as safetensors.
    #[arg(long, value_name = "FILE")]
    init: Option<PathBuf>,
    /// Training-image augmentation: crop:PIXELS (random crop with zero padding) and/or flip.
    #[arg(long)]
    augment: Option<String>,
    /// MLP hidden layer widths, comma-separated (e.g. 256,128); empty for a linear model.
    #[arg(long)]
    hidden: Option<String>,
    /// relu, leaky_relu[:slope], tanh, sigmoid, gelu.
    #[arg(long)]
    activation: Option<String>,
    /// Dropout rate after every hidden layer, or one per layer (0.4,0.3).
    #[arg(long)]
    dropout: Option<String>,
    /// sgd, momentum, nesterov, rmsprop, adam, adamw.
    #[arg(long)]
    optimizer: Option<String>,
    /// Learning rate (positive).
    #[arg(long)]
    lr: Option<f64>,
    /// Rows per step. Default: 64, or about a tenth of the training rows (at least 8) for
    /// fewer than 640.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Epochs (total, also when resuming). Default: from the data size (at most 200), with
    /// early stopping after 10 epochs without a better validation loss.
    #[arg(long)]
    epochs: Option<usize>,
    /// Seed of initialisation, split, shuffling and dropout.
    #[arg(long)]
    seed: Option<u64>,
    /// Fraction of rows held out for the test score (CSV; MNIST has its own test set).
    #[arg(long)]
    test_fraction: Option<f64>,
    /// Fraction of rows used for validation each epoch.
    #[arg(long)]
    val_fraction: Option<f64>,
    /// Train on only the first N rows of the seeded training split (a quick-experiment subset).
    #[arg(long, value_name = "N")]
    train_rows: Option<usize>,
    /// Checkpoint directory, written after every epoch (model.safetensors + state.json).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Continue the run saved in --checkpoint.
    #[arg(long)]
    resume: bool,
    /// Also keep the weights of every epoch as epoch-0001.safetensors, ... in --checkpoint.
    #[arg(long)]
    keep_epochs: bool,
    /// Per-epoch metrics file: .csv, or .jsonl for JSON lines.
    #[arg(long)]
    metrics: Option<PathBuf>,
    /// Training-curve figure (.png or .svg).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Log each layer's gradient norm per epoch; with a file (.png/.svg), also plot them.
    #[arg(long, num_args = 0..=1, value_name = "FILE")]
    grad_norms: Option<Option<PathBuf>>,
    /// Cores to use: as many data-parallel workers when each gets at least 12 rows of the
    /// batch and the model has no batch norm, else kernel threads that split each operation
    /// (--workers forces workers).
    #[arg(long)]
    threads: Option<usize>,
    /// Learning-rate schedule over epochs: constant, step:10:0.5, exp:0.95, cosine:20, warmup:2+cosine:20.
    #[arg(long)]
    schedule: Option<String>,
    /// Weight decay (biases are not decayed).
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Clip the gradient to this L2 norm.
    #[arg(long)]
    clip_grad_norm: Option<f64>,
    /// Stop after this many epochs without a better validation loss.
    #[arg(long)]
    patience: Option<usize>,
    /// Do not standardise CSV features.
    #[arg(long)]
    no_standardize: bool,
    /// Train regression on the raw target instead of the target standardised with the
    /// training split's mean and standard deviation.
    #[arg(long)]
    no_standardize_target: bool,
    /// Print one JSON object with the results at the end.
    #[arg(long)]
    json: bool,
    /// Show a live dashboard of the run (follows --metrics) on 127.0.0.1:PORT (default 8421);
    /// it stays up after training until Ctrl-C.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "8421", value_name = "PORT")]
    serve: Option<u16>,
    /// TOML file with the same keys as these flags (flags win).
    #[arg(long, value_name = "FILE.toml")]
    config: Option<PathBuf>,
    #[command(flatten)]
    dist: DistArgs,
}

/// Maps a library error to a one-line failure: input problems exit 2, the rest 1.
pub fn fail(e: TrainError) -> Fail {
    if e.is_input_error() {
        Fail::input(e)
    } else {
        Fail::runtime(e)
    }
}

fn check_output_path(flag: &str, path: &Path, exts: &[&str]) -> Result<(), Fail> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if !exts.contains(&ext.as_str()) {
        return Err(Fail::input(format!(
            "--{flag} {}: the extension must be one of .{}",
            path.display(),
            exts.join(", .")
        )));
    }
    Ok(())
}

/// Gives the cores to the ranks: each worker thread or MPI rank runs its own kernels.
fn share_threads(launch: Launch, threads: Option<usize>) {
    match (launch, threads) {
        (Launch::Threads(n), Some(t)) => discesa::tensor::set_num_threads((t / n).max(1)),
        (Launch::Threads(_), None) => discesa::tensor::set_num_threads(1),
        (Launch::Mpi(_), None) => {
            discesa::tensor::set_num_threads(super::train_dist::threads_per_rank())
        }
        _ => {}
    }
}

/// Runs `discesa train`. Under an MPI launch, a rank that fails before training still joins the
/// ranks' start-up vote, so that the job says the mistake once (see [`failed_start`]).
pub fn run(a: TrainArgs) -> CmdResult {
    run_here(a).map_err(failed_start)
}

fn run_here(a: TrainArgs) -> CmdResult {
    let file = match &a.config {
        Some(p) => FileConfig::read(p)?,
        None => FileConfig::default(),
    };
    let metrics = a.metrics.clone().or_else(|| file.metrics.clone());
    let plot = a.plot.clone().or_else(|| file.plot.clone());
    let checkpoint = a.checkpoint.clone().or_else(|| file.checkpoint.clone());
    if let Some(p) = &metrics {
        check_output_path("metrics", p, &["csv", "jsonl", "json", "ndjson"])?;
    }
    if let Some(p) = &plot {
        check_output_path("plot", p, &["png", "svg"])?;
    }
    if let Some(Some(p)) = &a.grad_norms {
        check_output_path("grad-norms", p, &["png", "svg"])?;
    }
    // One dashboard for the job: rank 0 follows the metrics it writes.
    let dashboard = match a.serve {
        Some(port) if discesa::dist::mpi_rank().unwrap_or(0) == 0 => {
            Some(super::serve::start_dashboard(metrics.as_deref(), port)?)
        }
        _ => None,
    };
    if a.keep_epochs && checkpoint.is_none() {
        return Err(Fail::input("--keep-epochs needs --checkpoint DIR"));
    }
    if a.resume && checkpoint.is_none() {
        return Err(Fail::input("--resume needs --checkpoint DIR"));
    }
    if a.resume && a.init.is_some() {
        return Err(Fail::input(
            "--init starts a new run; it cannot be combined with --resume",
        ));
    }
    let resume_from = match (&checkpoint, a.resume) {
        (Some(dir), true) => Some(resume_checkpoint(dir).map_err(fail)?),
        _ => None,
    };
    let s = match &resume_from {
        Some(ck) => resume::resumed_settings(&a, &file, ck)?,
        None => settings(&a, &file)?,
    };
    if let Some(n) = s.threads {
        discesa::tensor::set_num_threads(n);
    }
    let mut prepared = prepare(&s.data, &s.prep).map_err(fail)?;
    if !s.standardize_target {
        prepared.preprocessing.target_scale = None;
    }
    if let Some(note) = &prepared.note {
        eprintln!("note: {note}");
    }
    // Said once the settings have proved valid, just before training.
    let mut notes: Vec<String> = prepared.task_note.iter().cloned().collect();
    let mut s = s;
    if resume_from.is_none() {
        notes.extend(choose_from_data(&mut s, prepared.train_rows.len()));
    }
    let task = prepared.data.task();
    let class_names = prepared.data.class_names().map(<[String]>::to_vec);
    let shape = DataShape {
        features: prepared.data.n_features(),
        outputs: prepared.data.n_outputs(),
        image: prepared.data.image_shape(),
    };
    if let Some(ck) = &resume_from {
        resume::check_compatible(ck, &s, &shape)?;
    }
    let make_trainer = || -> Result<Trainer, Fail> {
        match &resume_from {
            Some(ck) => {
                let mut t = ck.trainer().map_err(fail)?;
                if a.epochs.is_some() || file.epochs.is_some() {
                    t.set_epochs(s.train.epochs);
                }
                Ok(t)
            }
            None => {
                let choice = s.model.unwrap_or(ModelChoice::Mlp);
                let model = model_spec(choice, s.width, &s.mlp, &shape)?;
                let mut t = Trainer::new(model, task, s.train.clone()).map_err(fail)?;
                t.set_target_scale(prepared.preprocessing.target_scale);
                if let Some(path) = &a.init {
                    init_from_state_dict(&mut t, path)
                        .map_err(|e| Fail::input(format!("--init: {e}")))?;
                }
                Ok(t)
            }
        }
    };
    // The first trainer is built here, so that its mistakes (`--init`) are set-up failures.
    let first = make_trainer()?;
    let batch_norm = !first.buffers().is_empty();
    let (launch, strategy) = plan(&a.dist, s.threads, s.train.batch_size, batch_norm)?;
    let first_trainer = std::sync::Mutex::new(Some(first));
    share_threads(launch, s.threads);
    let ranks = launch.ranks();
    let observer_slot = std::sync::Mutex::new(Some(CliObserver {
        console: if a.json {
            Console::new(metric_name(task)).plain()
        } else {
            Console::new(metric_name(task))
        },
        metrics,
        checkpoint,
        preprocessing: prepared.preprocessing.clone(),
        class_names: class_names.clone(),
        grad_norm_columns: a.grad_norms.is_some(),
        keep_epochs: a.keep_epochs,
    }));
    // One process with `--profile` takes the one-rank all-reduce step, which is the plain step
    // (no buckets, nothing to wait for) with the timeline kept.
    let solo_profile = StrategyOptions {
        strategy: Strategy::AllReduce,
        ..strategy.clone()
    };
    let body = |comm: Option<Box<dyn Communicator>>| -> CmdResult {
        let (comm, strategy) = match comm {
            None if a.dist.profile.is_some() => (
                Some(Box::new(SoloComm) as Box<dyn Communicator>),
                &solo_profile,
            ),
            c => (c, &strategy),
        };
        let built = first_trainer.lock().ok().and_then(|mut t| t.take());
        let mut trainer = match built {
            Some(t) => t,
            None => make_trainer()?,
        };
        let rank = comm.as_ref().map_or(0, |c| c.rank());
        if rank == 0 {
            for note in &notes {
                eprintln!("note: {note}");
            }
        }
        if rank == 0 && resume_from.is_some() {
            eprintln!(
                "resuming after epoch {} (step {})",
                trainer.progress().epochs_done,
                trainer.progress().step
            );
        }
        let mut silent = Silent;
        let mut mine = if rank == 0 {
            observer_slot.lock().ok().and_then(|mut o| o.take())
        } else {
            None
        };
        let observer: &mut dyn Observer = match mine.as_mut() {
            Some(o) => o,
            None => &mut silent,
        };
        let start = Instant::now();
        let epochs_before = trainer.progress().epochs_done;
        let mut extra = serde_json::Map::new();
        match comm {
            None => trainer
                .fit(
                    &prepared.data,
                    &prepared.train_rows,
                    &prepared.val_rows,
                    observer,
                )
                .map_err(fail)?,
            Some(comm) => {
                let timeline = if a.dist.profile.is_some() {
                    Timeline::on(start)
                } else {
                    Timeline::off()
                };
                let mut steps = strategy.runner(comm, timeline);
                trainer
                    .fit_with(
                        &prepared.data,
                        &prepared.train_rows,
                        &prepared.val_rows,
                        observer,
                        steps.as_mut(),
                    )
                    .map_err(fail)?;
                extra = report_dist(steps.as_mut(), strategy, ranks, a.dist.profile.as_deref())?;
            }
        }
        if rank != 0 {
            return Ok(());
        }
        finish(
            &a,
            &mut trainer,
            &prepared,
            task,
            plot.as_deref(),
            start,
            epochs_before,
            extra,
        )
    };
    run_ranks(launch, &body)?;
    if let Some(url) = dashboard {
        super::serve::keep_serving(&url);
    }
    Ok(())
}
