//! The end of `discesa train` on rank 0: test scores, figures and the summary, plain or
//! `--json`.

use super::{fail, TrainArgs};
use crate::fail::CmdResult;
use discesa::data::Task;
use discesa::train::{plot_grad_norms, plot_training_curves, EpochRecord, Prepared, Trainer};
use std::path::Path;
use std::time::Instant;

/// The metric's short name in the progress line.
pub(super) fn metric_name(task: Task) -> &'static str {
    if task == Task::Classification {
        "acc"
    } else {
        "mae"
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn finish(
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
