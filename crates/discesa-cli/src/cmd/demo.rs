//! `discesa demo`: the lecture in one command, on built-in data (no download): a derivative by
//! backpropagation, bowl versus saddle from the Hessian, a descent path, and a network trained on
//! two interleaved spirals.

use crate::fail::{CmdResult, Fail};
use clap::Args;
use discesa::autodiff::{hessian, Tape};
use discesa::data::{split_indices, Dataset, Targets, Task};
use discesa::formula::{descend, DescentOptions, Formula};
use discesa::nn::{Activation, MlpConfig};
use discesa::optim::{OptimizerKind, Schedule};
use discesa::train::{
    Console, EpochRecord, Observer, Result as TrainResult, Silent, TrainConfig, Trainer,
};
use discesa::Tensor;
use std::f64::consts::PI;
use std::io::IsTerminal;

/// Options of `discesa demo`.
#[derive(Args)]
#[command(after_help = "Examples:\n  discesa demo\n  discesa demo --epochs 60 --quiet")]
pub struct DemoArgs {
    /// Training epochs for the spiral network.
    #[arg(long, default_value_t = 200)]
    epochs: usize,
    /// No per-epoch progress lines.
    #[arg(long)]
    quiet: bool,
}

pub fn run(a: DemoArgs) -> CmdResult {
    if a.epochs == 0 {
        return Err(Fail::input("--epochs must be at least 1"));
    }
    chain_rule()?;
    bowl_and_saddle()?;
    descent()?;
    spirals(a.epochs, a.quiet)
}

/// The lecture's f(x) = √(x² + e^{x²}) + cos(x² + e^{x²}): value and derivative by backpropagation.
fn chain_rule() -> CmdResult {
    println!(
        "1. Derivatives by backpropagation: f(x) = sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2))"
    );
    for x0 in [0.5f64, 1.0, 2.0] {
        let tape = Tape::new();
        let x = tape.scalar_var(x0);
        let u = x * x + (x * x).exp();
        let f = u.sqrt() + u.cos();
        let g = tape.backward(f).map_err(Fail::runtime)?;
        println!(
            "   x = {x0}: f = {:.12}, f'(x) = {:.12}  ({} recorded nodes, one backward sweep)",
            f.item().map_err(Fail::runtime)?,
            g.wrt(x).item().map_err(Fail::runtime)?,
            tape.len()
        );
    }
    Ok(())
}

/// Bowl versus saddle: the Hessian's eigenvalues, from differentiating the gradient.
fn bowl_and_saddle() -> CmdResult {
    println!(
        "2. Quadratic forms: the Hessian (by differentiating the gradient) tells bowl from saddle"
    );
    let at = Tensor::from_vec(vec![0.0f64, 0.0], [2]).map_err(Fail::runtime)?;
    for (name, sign) in [("x^2 + y^2", 1.0), ("x^2 - y^2", -1.0)] {
        let h = hessian(
            |v| {
                let x = v.narrow(0, 0, 1)?;
                let y = v.narrow(0, 1, 1)?;
                Ok((x * x + y * y * sign).sum_all())
            },
            &at,
        )
        .map_err(Fail::runtime)?;
        let d = h.to_vec();
        let kind = if d[0] > 0.0 && d[3] > 0.0 {
            "bowl (minimum)"
        } else {
            "saddle"
        };
        println!("   {name}: Hessian diag = ({}, {}) → {kind}", d[0], d[3]);
    }
    Ok(())
}

/// Gradient descent on the bowl from (−3, −1).
fn descent() -> CmdResult {
    println!("3. Gradient descent on x^2 + y^2 from (-3, -1), learning rate 0.1");
    let f = Formula::parse("x^2 + y^2").map_err(Fail::runtime)?;
    let opts = DescentOptions {
        lr: 0.1,
        steps: 200,
        ..DescentOptions::default()
    };
    let run = descend(&f, &[-3.0, -1.0], &opts).map_err(Fail::runtime)?;
    let first = run
        .records
        .first()
        .ok_or_else(|| Fail::runtime("empty descent path"))?;
    let last = run
        .records
        .last()
        .ok_or_else(|| Fail::runtime("empty descent path"))?;
    println!(
        "   |grad f| = {:.4} at the start; after {} steps f = {:.3e} ({:?})",
        first.grad_norm, last.step, last.value, run.stop
    );
    Ok(())
}

/// Two interleaved spirals: a problem no linear model solves; a small MLP learns it.
fn spiral_data(n_per_class: usize, seed: u64) -> discesa::data::Result<Dataset> {
    // Radius up to 2 so that the coordinates have about unit spread, as after standardisation.
    let noise = Tensor::<f64>::rand_normal([2 * n_per_class, 2], 0.0, 0.16, seed).to_vec();
    let mut features = Vec::with_capacity(4 * n_per_class);
    let mut labels = Vec::with_capacity(2 * n_per_class);
    for class in 0..2 {
        for i in 0..n_per_class {
            let t = 0.25 + 3.0 * PI * i as f64 / n_per_class as f64;
            let r = 2.0 * t / (3.0 * PI);
            let s = if class == 0 { 1.0 } else { -1.0 };
            let k = 2 * (class * n_per_class + i);
            features.push((s * r * t.cos() + noise[k]) as f32);
            features.push((s * r * t.sin() + noise[k + 1]) as f32);
            labels.push(class);
        }
    }
    Dataset::new(
        features,
        vec!["x".into(), "y".into()],
        Targets::Classes {
            labels,
            class_names: vec!["spiral A".into(), "spiral B".into()],
        },
    )
}

/// Progress for a log file or a pipe: five lines (the first epoch, every quarter of the run)
/// instead of one per epoch.
struct Summary;

impl Observer for Summary {
    fn on_epoch_end(&mut self, trainer: &Trainer, r: &EpochRecord) -> TrainResult<()> {
        let epochs = trainer.config().epochs;
        if r.epoch == 1 || r.epoch.is_multiple_of(epochs.div_ceil(4)) || r.epoch == epochs {
            eprintln!(
                "   epoch {}/{epochs}: loss {:.4}, training accuracy {:.1}%",
                r.epoch,
                r.train_loss,
                100.0 * r.train_metric
            );
        }
        Ok(())
    }
}

fn spirals(epochs: usize, quiet: bool) -> CmdResult {
    println!("4. Training a 2-64-64-2 ReLU network on two interleaved spirals (built-in data)");
    let data = spiral_data(500, 7).map_err(Fail::runtime)?;
    let parts = split_indices(data.len(), &[0.8, 0.2], 1).map_err(Fail::runtime)?;
    let (train, test) = (&parts[0], &parts[1]);
    let config = TrainConfig {
        epochs,
        batch_size: 32,
        seed: 1,
        optimizer: OptimizerKind::Adam,
        lr: 0.01,
        schedule: Schedule::Constant(Default::default()),
        ..TrainConfig::default()
    };
    let model = MlpConfig {
        inputs: 2,
        hidden: vec![64, 64],
        outputs: 2,
        activation: Activation::Relu,
        dropout: vec![],
    };
    let mut trainer = Trainer::new(model, Task::Classification, config).map_err(Fail::runtime)?;
    let before = trainer.evaluate(&data, test).map_err(Fail::runtime)?;
    let started = std::time::Instant::now();
    if quiet {
        trainer
            .fit(&data, train, &[], &mut Silent)
            .map_err(Fail::runtime)?;
    } else if std::io::stderr().is_terminal() {
        trainer
            .fit(&data, train, &[], &mut Console::new("accuracy"))
            .map_err(Fail::runtime)?;
    } else {
        trainer
            .fit(&data, train, &[], &mut Summary)
            .map_err(Fail::runtime)?;
    }
    let after = trainer.evaluate(&data, test).map_err(Fail::runtime)?;
    println!(
        "   test accuracy {:.1}% before training, {:.1}% after {epochs} epochs ({:.2} s); test loss {:.3} → {:.3}",
        100.0 * before.accuracy.unwrap_or(f64::NAN),
        100.0 * after.accuracy.unwrap_or(f64::NAN),
        started.elapsed().as_secs_f64(),
        before.loss,
        after.loss
    );
    println!("Next: discesa grad --help, discesa descend --help, discesa train --help, discesa gallery DIR");
    Ok(())
}
