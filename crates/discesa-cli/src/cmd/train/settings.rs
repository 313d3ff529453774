//! The settings of `discesa train`: flags merged over the TOML file, checked, and the
//! defaults chosen from the data size when the user chose none.

use super::super::model_choice::{MlpSettings, ModelChoice};
use super::super::train_config::{FileConfig, OneOrMany};
use super::TrainArgs;
use crate::fail::Fail;
use discesa::data::Task;
use discesa::nn::Activation;
use discesa::optim::{OptimOptions, OptimizerKind, Schedule};
use discesa::snippet::short;
use discesa::train::{Augment, PrepareOptions, TrainConfig};
use std::path::PathBuf;

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
pub(super) struct Settings {
    pub(super) data: PathBuf,
    pub(super) prep: PrepareOptions,
    pub(super) model: Option<ModelChoice>,
    pub(super) width: usize,
    pub(super) mlp: MlpSettings,
    pub(super) train: TrainConfig,
    pub(super) threads: Option<usize>,
    /// Neither --epochs nor a config file chose the number of epochs.
    pub(super) auto_epochs: bool,
    /// Neither --batch-size nor a config file chose the batch size.
    pub(super) auto_batch_size: bool,
    pub(super) standardize_target: bool,
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

/// Sets the batch size and the number of epochs the user left open from the number of
/// training rows of a new run; returns the note that says what was chosen.
pub(super) fn choose_from_data(s: &mut Settings, train_rows: usize) -> Option<String> {
    if s.auto_batch_size {
        s.train.batch_size = auto_batch_size(train_rows);
    }
    if !s.auto_epochs {
        return None;
    }
    s.train.epochs = auto_epochs(train_rows, s.train.batch_size);
    let patience = *s.train.patience.get_or_insert(AUTO_PATIENCE);
    Some(format!(
        "up to {} epochs (from {train_rows} training rows in batches of {}), stopping after \
         {patience} epochs without a better validation loss and keeping the best epoch's \
         weights; --epochs and --patience choose",
        s.train.epochs, s.train.batch_size,
    ))
}

/// The flags merged over the TOML file, checked: every bad value is a one-line input error.
pub(super) fn settings(a: &TrainArgs, f: &FileConfig) -> Result<Settings, Fail> {
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
