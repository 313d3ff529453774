//! The `discesa train --config` TOML file: parsed by the command-line tool's own reader, then
//! every value goes through the library checks the command applies (activation, optimizer,
//! schedule, model shape and dropout, training settings).
#![no_main]
use discesa::nn::{Activation, Mlp, MlpConfig};
use discesa::optim::{OptimizerKind, Schedule};
use discesa::train::{TrainConfig, Trainer};
use discesa::data::Task;
use libfuzzer_sys::fuzz_target;

/// The reader's error type, as far as the reader needs it.
#[allow(dead_code)]
mod fail {
    pub struct Fail(pub String);
    impl Fail {
        pub fn input(message: impl Into<String>) -> Fail {
            Fail(message.into())
        }
    }
}

#[allow(dead_code)]
#[path = "../../crates/discesa-cli/src/cmd/train_config.rs"]
mod train_config;
use train_config::{FileConfig, OneOrMany};

fuzz_target!(|data: &[u8]| {
    let path = discesa_fuzz::scratch_file("run.toml", data);
    let Ok(f) = FileConfig::read(&path) else {
        return;
    };
    let activation = f.activation.as_deref().map(Activation::parse);
    let optimizer = f.optimizer.as_deref().map(str::parse::<OptimizerKind>);
    let schedule = f.schedule.as_deref().map(Schedule::parse);
    let dropout = match &f.dropout {
        Some(OneOrMany::One(p)) => vec![*p],
        Some(OneOrMany::Many(v)) => v.clone(),
        None => vec![],
    };
    let model = MlpConfig {
        inputs: 4,
        hidden: f.hidden.clone().unwrap_or_else(|| vec![8]),
        outputs: 3,
        activation: match activation {
            Some(Ok(a)) => a,
            _ => Activation::Relu,
        },
        dropout,
    };
    if Mlp::<f32>::new(model.clone()).is_err() {
        return;
    }
    // Widths the fuzzer picks can ask for more memory than any machine has; build the
    // trainer (which allocates the parameters) only for models of a sane size.
    let mut sizes = vec![4usize];
    sizes.extend(&model.hidden);
    sizes.push(3);
    let params = sizes
        .windows(2)
        .try_fold(0usize, |acc, w| acc.checked_add(w[0].checked_mul(w[1])?.checked_add(w[1])?));
    if params.is_none_or(|p| p > 1 << 20) {
        return;
    }
    let config = TrainConfig {
        epochs: f.epochs.unwrap_or(1),
        batch_size: f.batch_size.unwrap_or(4),
        seed: f.seed.unwrap_or(1),
        optimizer: match optimizer {
            Some(Ok(o)) => o,
            _ => TrainConfig::default().optimizer,
        },
        lr: f.lr.unwrap_or(1e-3),
        schedule: match schedule {
            Some(Ok(s)) => s,
            _ => Schedule::default(),
        },
        clip_grad_norm: f.clip_grad_norm,
        patience: f.patience,
        ..TrainConfig::default()
    };
    let _ = Trainer::new(model, Task::Classification, config);
});
