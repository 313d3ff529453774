//! `discesa train`: train an MLP, a small CNN or a ResNet / plain network on a CSV file, an IDX
//! directory (MNIST, Fashion-MNIST) or npy data, with progress, metrics, figures, checkpoints
//! and resume.

use super::model_choice::{model_spec, DataShape, MlpSettings, ModelChoice};
use super::train_config::{FileConfig, OneOrMany};
use super::train_dist::{plan, run_ranks, DistArgs, Launch};
use crate::fail::{CmdResult, Fail};
use clap::Args;
use discesa::data::Task;
use discesa::dist::{write_trace, Communicator, DistSteps, StrategyOptions, Timeline};
use discesa::nn::Activation;
use discesa::optim::{OptimOptions, OptimizerKind, Schedule};
use discesa::snippet::short;
use discesa::train::{
    init_from_state_dict, load_checkpoint, plot_grad_norms, plot_training_curves, prepare,
    save_checkpoint, save_epoch_snapshot, write_metrics, Augment, Console, EpochRecord, Observer,
    PrepareOptions, Prepared, Preprocessing, Result as TrainResult, Silent, TrainConfig,
    TrainError, Trainer,
};
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    /// Worker threads for matrix products.
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

fn parse_list<T: std::str::FromStr>(what: &str, s: &str) -> Result<Vec<T>, Fail> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<T>().map_err(|_| {
                Fail::input(format!(
                    "--{what}: `{}` is not a valid number in `{}`",
                    short(p),
                    short(s)
                ))
            })
        })
        .collect()
}

fn check_positive(name: &str, v: f64) -> Result<f64, Fail> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(Fail::input(format!(
            "--{name} must be a positive finite number, got {v}"
        )))
    }
}

/// The merged settings.
struct Settings {
    data: PathBuf,
    prep: PrepareOptions,
    model: Option<ModelChoice>,
    width: usize,
    mlp: MlpSettings,
    train: TrainConfig,
    threads: Option<usize>,
    /// Neither --epochs nor a config file chose the number of epochs.
    auto_epochs: bool,
    /// Neither --batch-size nor a config file chose the batch size.
    auto_batch_size: bool,
    standardize_target: bool,
}

/// Batch size for data of at least 10 such batches.
const DEFAULT_BATCH_SIZE: usize = 64;
/// Smallest batch size chosen for small data.
const MIN_AUTO_BATCH_SIZE: usize = 8;

/// Batch size for `rows` training rows when the user chose none: [`DEFAULT_BATCH_SIZE`], or
/// about ten steps per epoch for small data, which otherwise gets too few steps to converge.
fn auto_batch_size(rows: usize) -> usize {
    rows.div_ceil(10)
        .clamp(MIN_AUTO_BATCH_SIZE, DEFAULT_BATCH_SIZE)
}

/// Most epochs chosen from the data size (scikit-learn's MLP default `max_iter`).
const MAX_AUTO_EPOCHS: usize = 200;
/// Fewest epochs chosen from the data size.
const MIN_AUTO_EPOCHS: usize = 20;
/// Optimisation steps the chosen number of epochs aims at.
const AUTO_STEPS: usize = 10_000;
/// Early-stopping patience when the number of epochs is chosen (scikit-learn's
/// `n_iter_no_change`).
const AUTO_PATIENCE: usize = 10;

/// Epochs for `rows` training rows in batches of `batch_size` when the user chose none: about
/// [`AUTO_STEPS`] steps, within [`MIN_AUTO_EPOCHS`]..=[`MAX_AUTO_EPOCHS`], so that small data
/// sets get enough steps and large ones are not passed over 200 times.
fn auto_epochs(rows: usize, batch_size: usize) -> usize {
    let batches = rows.div_ceil(batch_size).max(1);
    AUTO_STEPS
        .div_ceil(batches)
        .clamp(MIN_AUTO_EPOCHS, MAX_AUTO_EPOCHS)
}

fn settings(a: &TrainArgs, f: &FileConfig) -> Result<Settings, Fail> {
    let data = a.data.clone().or_else(|| f.data.clone()).ok_or_else(|| {
        Fail::input("--data is required (a CSV file, an MNIST directory or an npy directory)")
    })?;
    let task = match a.task.clone().or_else(|| f.task.clone()) {
        None => None,
        Some(t) => Some(match t.to_ascii_lowercase().as_str() {
            "classification" => Task::Classification,
            "regression" => Task::Regression,
            _ => {
                return Err(Fail::input(format!(
                    "--task `{t}` must be classification or regression"
                )))
            }
        }),
    };
    let hidden = match &a.hidden {
        Some(s) => parse_list::<usize>("hidden", s)?,
        None => f.hidden.clone().unwrap_or_else(|| vec![64]),
    };
    if hidden.contains(&0) {
        return Err(Fail::input("--hidden: layer widths must be positive"));
    }
    let activation = Activation::parse(
        &a.activation
            .clone()
            .or_else(|| f.activation.clone())
            .unwrap_or_else(|| "relu".into()),
    )
    .map_err(|e| Fail::input(format!("--activation: {e}")))?;
    let dropout = match (&a.dropout, &f.dropout) {
        (Some(s), _) => parse_list::<f64>("dropout", s)?,
        (None, Some(OneOrMany::One(p))) => vec![*p],
        (None, Some(OneOrMany::Many(v))) => v.clone(),
        (None, None) => vec![],
    };
    if let Some(p) = dropout.iter().find(|p| !(0.0..1.0).contains(*p)) {
        return Err(Fail::input(format!(
            "--dropout: rate {p} must be in [0, 1)"
        )));
    }
    if dropout.len() > 1 && dropout.len() != hidden.len() {
        return Err(Fail::input(format!(
            "--dropout: {} rates given for {} hidden layers (give one rate, or one per layer)",
            dropout.len(),
            hidden.len()
        )));
    }
    let optimizer: OptimizerKind = a
        .optimizer
        .clone()
        .or_else(|| f.optimizer.clone())
        .unwrap_or_else(|| "adam".into())
        .parse()
        .map_err(|e| Fail::input(format!("--optimizer: {e}")))?;
    let lr = check_positive("lr", a.lr.or(f.lr).unwrap_or(1e-3))?;
    let chosen_batch_size = a.batch_size.or(f.batch_size);
    let batch_size = chosen_batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
    let chosen_epochs = a.epochs.or(f.epochs);
    let epochs = chosen_epochs.unwrap_or(MAX_AUTO_EPOCHS);
    if batch_size == 0 || epochs == 0 {
        return Err(Fail::input("--batch-size and --epochs must be at least 1"));
    }
    let schedule = match a.schedule.clone().or_else(|| f.schedule.clone()) {
        Some(s) => Schedule::parse(&s).map_err(|e| Fail::input(format!("--schedule: {e}")))?,
        None => Schedule::default(),
    };
    let weight_decay = match a.weight_decay.or(f.weight_decay) {
        Some(w) if !(w.is_finite() && w >= 0.0) => {
            return Err(Fail::input(format!(
                "--weight-decay must be a non-negative number, got {w}"
            )))
        }
        w => w,
    };
    let clip = a
        .clip_grad_norm
        .or(f.clip_grad_norm)
        .map(|c| check_positive("clip-grad-norm", c))
        .transpose()?;
    let patience = a.patience.or(f.patience);
    if patience == Some(0) {
        return Err(Fail::input("--patience must be at least 1"));
    }
    let train_rows = a.train_rows.or(f.train_rows);
    if train_rows == Some(0) {
        return Err(Fail::input("--train-rows must be at least 1"));
    }
    let threads = a.threads.or(f.threads);
    if threads == Some(0) {
        return Err(Fail::input("--threads must be at least 1"));
    }
    let seed = a.seed.or(f.seed).unwrap_or(1);
    let model = a
        .model
        .clone()
        .or_else(|| f.model.clone())
        .map(|m| ModelChoice::parse(&m))
        .transpose()?;
    let augment = match a.augment.clone().or_else(|| f.augment.clone()) {
        Some(s) => Augment::parse(&s).map_err(|e| Fail::input(format!("--augment: {e}")))?,
        None => Augment::default(),
    };
    Ok(Settings {
        data,
        prep: PrepareOptions {
            target: a.target.clone().or_else(|| f.target.clone()),
            task,
            test_fraction: a.test_fraction.or(f.test_fraction).unwrap_or(0.2),
            val_fraction: a.val_fraction.or(f.val_fraction).unwrap_or(0.1),
            seed,
            standardize: !(a.no_standardize || f.no_standardize.unwrap_or(false)),
            train_rows,
        },
        model,
        width: a.width.or(f.width).unwrap_or(16),
        mlp: MlpSettings {
            hidden,
            activation,
            dropout,
        },
        train: TrainConfig {
            epochs,
            batch_size,
            seed,
            optimizer,
            lr,
            optim_options: OptimOptions {
                weight_decay,
                ..OptimOptions::default()
            },
            schedule,
            clip_grad_norm: clip,
            patience,
            augment,
            ..TrainConfig::default()
        },
        threads,
        auto_epochs: chosen_epochs.is_none(),
        auto_batch_size: chosen_batch_size.is_none(),
        standardize_target: !(a.no_standardize_target || f.no_standardize_target.unwrap_or(false)),
    })
}

/// Writes metrics and checkpoints after each epoch, and reports progress.
struct CliObserver {
    console: Console,
    metrics: Option<PathBuf>,
    checkpoint: Option<PathBuf>,
    preprocessing: Preprocessing,
    class_names: Option<Vec<String>>,
    grad_norm_columns: bool,
    keep_epochs: bool,
}

impl Observer for CliObserver {
    fn on_epoch_start(&mut self, epoch: usize, epochs: usize, batches: usize, rows: usize) {
        self.console.on_epoch_start(epoch, epochs, batches, rows);
    }

    fn on_batch(&mut self, batch: usize, loss: f64, sps: f64) {
        self.console.on_batch(batch, loss, sps);
    }

    fn on_epoch_end(&mut self, trainer: &Trainer, record: &EpochRecord) -> TrainResult<()> {
        self.console.on_epoch_end(trainer, record)?;
        if let Some(path) = &self.metrics {
            let layers = if self.grad_norm_columns {
                trainer.layer_names()
            } else {
                Vec::new()
            };
            write_metrics(path, &trainer.progress().history, &layers)?;
        }
        if let Some(dir) = &self.checkpoint {
            save_checkpoint(
                dir,
                trainer,
                &self.preprocessing,
                self.class_names.as_deref(),
            )?;
            if self.keep_epochs {
                save_epoch_snapshot(dir, trainer, record.epoch)?;
            }
        }
        Ok(())
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

pub fn run(a: TrainArgs) -> CmdResult {
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
    let dashboard = match a.serve {
        Some(port) => Some(super::serve::start_dashboard(metrics.as_deref(), port)?),
        None => None,
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
        (Some(dir), true) => Some(load_checkpoint(dir).map_err(fail)?),
        _ => None,
    };
    // On resume the data options come from the checkpoint so the split is the same.
    let s = match &resume_from {
        Some(ck) => {
            let mut s = settings(&a, &file).map_err(|e| {
                if a.data.is_none() && file.data.is_none() {
                    Fail::input(
                        "--data is required with --resume (the same data the run was trained on)",
                    )
                } else {
                    e
                }
            })?;
            let p = &ck.state.preprocessing;
            s.prep.target = p.target.clone();
            s.prep.test_fraction = p.test_fraction;
            s.prep.val_fraction = p.val_fraction;
            s.prep.seed = p.split_seed;
            s.prep.standardize = p.standardizer.is_some();
            s.prep.train_rows = p.train_rows;
            s.standardize_target = p.target_scale.is_some();
            s
        }
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
    if s.auto_batch_size && resume_from.is_none() {
        s.train.batch_size = auto_batch_size(prepared.train_rows.len());
    }
    if s.auto_epochs && resume_from.is_none() {
        s.train.epochs = auto_epochs(prepared.train_rows.len(), s.train.batch_size);
        let patience = *s.train.patience.get_or_insert(AUTO_PATIENCE);
        notes.push(format!(
            "up to {} epochs (from {} training rows in batches of {}), stopping after {} \
             epochs without a better validation loss and keeping the best epoch's weights; \
             --epochs and --patience choose",
            s.train.epochs,
            prepared.train_rows.len(),
            s.train.batch_size,
            patience
        ));
    }
    let task = prepared.data.task();
    let class_names = prepared.data.class_names().map(<[String]>::to_vec);
    let shape = DataShape {
        features: prepared.data.n_features(),
        outputs: prepared.data.n_outputs(),
        image: prepared.data.image_shape(),
    };
    if let Some(ck) = &resume_from {
        if let Some(m) = &s.model {
            let saved = ck.state.model.name();
            let asked = m.name();
            if saved != asked {
                return Err(Fail::input(format!(
                    "the checkpoint holds a {saved} model; it cannot be resumed as {asked}"
                )));
            }
        }
        if let (Some(want), Some(have)) = (ck.state.model.input_shape(), shape.image) {
            if want != have {
                return Err(Fail::input(format!(
                    "the checkpoint's model takes images of shape {want:?} but {} has \
                     images of shape {have:?}",
                    s.data.display()
                )));
            }
        }
        if ck.state.model.n_inputs() != prepared.data.n_features() {
            return Err(Fail::input(format!(
                "the checkpoint's model expects {} features but {} has {}",
                ck.state.model.n_inputs(),
                s.data.display(),
                prepared.data.n_features()
            )));
        }
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
    let (launch, strategy) = plan(&a.dist, s.threads, s.train.batch_size)?;
    if let (Launch::Threads(n), Some(t)) = (launch, s.threads) {
        // Each worker thread runs its own kernels: the cores go to the workers.
        discesa::tensor::set_num_threads((t / n).max(1));
    } else if let Launch::Threads(_) = launch {
        discesa::tensor::set_num_threads(1);
    } else if let (Launch::Mpi(_), None) = (launch, s.threads) {
        discesa::tensor::set_num_threads(super::train_dist::threads_per_rank());
    }
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
    let body = |comm: Option<Box<dyn Communicator>>| -> CmdResult {
        let mut trainer = make_trainer()?;
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
                extra = report_dist(steps.as_mut(), &strategy, ranks, a.dist.profile.as_deref())?;
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

fn metric_name(task: Task) -> &'static str {
    if task == Task::Classification {
        "acc"
    } else {
        "mae"
    }
}

/// After a distributed run: the timeline file and time shares (`--profile`), the staleness
/// histogram (`async`); returns the extra `--json` keys (rank 0).
fn report_dist(
    steps: &mut dyn DistSteps,
    strategy: &StrategyOptions,
    ranks: usize,
    profile: Option<&Path>,
) -> Result<serde_json::Map<String, serde_json::Value>, Fail> {
    let mut extra = serde_json::Map::new();
    extra.insert("ranks".into(), ranks.into());
    extra.insert("strategy".into(), strategy.strategy.to_string().into());
    if let Some(path) = profile {
        let shares = steps.timeline().shares();
        let mut mean = [
            shares.compute,
            shares.communication,
            shares.waiting,
            shares.update,
        ];
        steps
            .comm()
            .all_reduce_sum_f64(&mut mean)
            .map_err(Fail::runtime)?;
        mean.iter_mut().for_each(|v| *v /= ranks as f64);
        let timeline = steps.timeline().clone();
        let events = timeline.gather(steps.comm()).map_err(fail)?;
        if steps.comm().rank() == 0 {
            write_trace(path, events).map_err(fail)?;
            eprintln!(
                "time shares (mean over {ranks} ranks): compute {:.1}%, communication {:.1}%, waiting {:.1}%, update {:.1}%; timeline in {}",
                mean[0] * 100.0,
                mean[1] * 100.0,
                mean[2] * 100.0,
                mean[3] * 100.0,
                path.display()
            );
            let names = ["compute", "communication", "waiting", "update"];
            let shares: serde_json::Map<String, serde_json::Value> = names
                .iter()
                .zip(mean)
                .map(|(n, v)| (n.to_string(), v.into()))
                .collect();
            extra.insert("time_shares".into(), shares.into());
        }
    }
    if let Some(h) = steps.staleness() {
        eprintln!(
            "staleness of applied updates (versions:count): {}",
            h.describe()
        );
        extra.insert(
            "staleness_histogram".into(),
            serde_json::to_value(h).unwrap_or_default(),
        );
    }
    Ok(extra)
}

/// Rank 0 after training: test scores, figures and the summary (plain or `--json`).
#[allow(clippy::too_many_arguments)]
fn finish(
    a: &TrainArgs,
    trainer: &mut Trainer,
    prepared: &Prepared,
    task: Task,
    plot: Option<&Path>,
    start: Instant,
    epochs_before: usize,
    extra: serde_json::Map<String, serde_json::Value>,
) -> CmdResult {
    let seconds = start.elapsed().as_secs_f64();
    let history = trainer.progress().history.clone();
    let new_records = &history[epochs_before.min(history.len())..];
    let train_seconds: f64 = new_records.iter().map(|r| r.seconds).sum();
    let samples = (prepared.train_rows.len() * new_records.len()) as f64;
    if trainer.progress().stopped_early {
        eprintln!(
            "early stopping after epoch {}",
            trainer.progress().epochs_done
        );
    }
    let test = trainer
        .evaluate(
            &prepared.test,
            &(0..prepared.test.len()).collect::<Vec<_>>(),
        )
        .map_err(fail)?;
    if let Some(p) = plot {
        plot_training_curves(
            p,
            &history,
            if task == Task::Classification {
                "accuracy"
            } else {
                "MAE"
            },
        )
        .map_err(fail)?;
    }
    if let Some(g) = &a.grad_norms {
        print_grad_norms(&trainer.layer_names(), &history);
        if let Some(p) = g {
            plot_grad_norms(p, &trainer.layer_names(), &history).map_err(fail)?;
        }
    }
    let sps = if train_seconds > 0.0 {
        samples / train_seconds
    } else {
        0.0
    };
    if a.json {
        let mut o = serde_json::Map::new();
        o.insert("test_loss".into(), test.loss.into());
        if let Some(acc) = test.accuracy {
            o.insert("test_accuracy".into(), acc.into());
        }
        if let (Some(mae), Some(rmse)) = (test.mae, test.rmse) {
            o.insert("test_mae".into(), mae.into());
            o.insert("test_rmse".into(), rmse.into());
        }
        o.insert("epochs".into(), trainer.progress().epochs_done.into());
        o.insert("seconds".into(), seconds.into());
        o.insert("train_seconds".into(), train_seconds.into());
        o.insert("samples_per_second".into(), sps.into());
        o.extend(extra);
        println!("{}", serde_json::Value::Object(o));
    } else {
        match (test.accuracy, test.mae, test.rmse) {
            (Some(acc), _, _) => println!(
                "test: loss {:.4}  accuracy {:.4} ({} rows)",
                test.loss, acc, test.n
            ),
            (_, Some(mae), Some(rmse)) => {
                println!(
                    "test: loss {:.4}  MAE {:.4}  RMSE {:.4} ({} rows)",
                    test.loss, mae, rmse, test.n
                )
            }
            _ => println!("test: loss {:.4}", test.loss),
        }
        println!(
            "{} epochs in {:.2}s of training ({:.0} samples/s), {:.2}s in total",
            trainer.progress().epochs_done,
            train_seconds,
            sps,
            seconds
        );
    }
    Ok(())
}

/// The per-layer gradient-norm table on stderr, one row per epoch.
fn print_grad_norms(layers: &[String], history: &[EpochRecord]) {
    let mut header = format!("{:>6}", "epoch");
    for l in layers {
        header.push_str(&format!(" {l:>12}"));
    }
    eprintln!("mean gradient norm per layer:\n{header}");
    for r in history {
        let mut line = format!("{:>6}", r.epoch);
        for v in &r.grad_norms {
            line.push_str(&format!(" {v:>12.3e}"));
        }
        eprintln!("{line}");
    }
}
