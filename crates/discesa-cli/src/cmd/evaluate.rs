//! `discesa evaluate`: score a checkpoint on labelled data encoded as during training.

use super::train::fail;
use crate::fail::CmdResult;
use clap::Args;
use discesa::train::load_checkpoint;
use std::path::PathBuf;

const EXAMPLES: &str = "Examples:
  discesa evaluate --checkpoint runs/iris --data ../shared/data/iris.csv
  discesa evaluate --checkpoint runs/mnist --data ../shared/data/mnist --json   # MNIST: its test split";

/// Options of `discesa evaluate`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct EvaluateArgs {
    /// Checkpoint directory written by `discesa train --checkpoint`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Labelled data (same columns as the training file; an MNIST directory uses its test split).
    #[arg(long)]
    data: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(a: EvaluateArgs) -> CmdResult {
    let ck = load_checkpoint(&a.checkpoint).map_err(fail)?;
    let data = ck
        .state
        .preprocessing
        .load_labelled(&a.data)
        .map_err(fail)?;
    let mut trainer = ck.trainer().map_err(fail)?;
    let rows: Vec<usize> = (0..data.len()).collect();
    let m = trainer.evaluate(&data, &rows).map_err(fail)?;
    if a.json {
        let mut o = serde_json::Map::new();
        o.insert("rows".into(), m.n.into());
        o.insert("loss".into(), m.loss.into());
        if let Some(acc) = m.accuracy {
            o.insert("accuracy".into(), acc.into());
        }
        if let (Some(mae), Some(rmse)) = (m.mae, m.rmse) {
            o.insert("mae".into(), mae.into());
            o.insert("rmse".into(), rmse.into());
        }
        println!("{}", serde_json::Value::Object(o));
    } else if let Some(acc) = m.accuracy {
        println!("{} rows: loss {:.4}  accuracy {:.4}", m.n, m.loss, acc);
    } else {
        println!(
            "{} rows: loss {:.4}  MAE {:.4}  RMSE {:.4}",
            m.n,
            m.loss,
            m.mae.unwrap_or(f64::NAN),
            m.rmse.unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
