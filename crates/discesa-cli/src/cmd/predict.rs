//! `discesa predict`: apply a checkpoint to new rows and write predictions as CSV, atomically.

use super::train::fail;
use crate::fail::{CmdResult, Fail};
use clap::Args;
use discesa::data::Task;
use discesa::nn::metrics::argmax;
use discesa::train::load_checkpoint;
use std::fmt::Write as _;
use std::path::PathBuf;

const EXAMPLES: &str = "Examples:
  discesa predict --checkpoint runs/iris --data new_flowers.csv --output predictions.csv
  discesa predict --checkpoint runs/mnist --data ../shared/data/mnist --output mnist.csv
  (a CSV's target column may be absent; the output has the source line (CSV) or the index of
   the sample in file order (IDX directory: its test images; .npy), the prediction and, for
   classifiers, one probability column per class: index,prediction,p_0,...,p_9)";

/// Options of `discesa predict`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct PredictArgs {
    /// Checkpoint directory written by `discesa train --checkpoint`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Input rows (same feature columns as the training file; an IDX directory uses its test
    /// images).
    #[arg(long)]
    data: PathBuf,
    /// Output CSV file (written atomically).
    #[arg(long)]
    output: PathBuf,
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn run(a: PredictArgs) -> CmdResult {
    let ck = load_checkpoint(&a.checkpoint).map_err(fail)?;
    let inputs = ck.state.preprocessing.load_inputs(&a.data).map_err(fail)?;
    let mut trainer = ck.trainer().map_err(fail)?;
    let out = inputs.predict(&mut trainer).map_err(fail)?;
    let lines = &inputs.lines;
    let k = ck.state.model.n_outputs();
    let mut csv = String::new();
    let line_col = if ck.state.preprocessing.csv_schema.is_some() {
        "line"
    } else {
        "index"
    };
    match (ck.state.task, &ck.state.class_names) {
        (Task::Classification, Some(names)) => {
            csv.push_str(&format!("{line_col},prediction"));
            for n in names {
                csv.push_str(&format!(",{}", quote(&format!("p_{n}"))));
            }
            csv.push('\n');
            for (row, line) in out.chunks_exact(k).zip(lines) {
                let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
                let e: Vec<f64> = row.iter().map(|&z| f64::from(z - m).exp()).collect();
                let sum: f64 = e.iter().sum();
                let best = argmax(row);
                let _ = write!(
                    csv,
                    "{line},{}",
                    quote(names.get(best).map_or("?", String::as_str))
                );
                for p in e.iter().take(names.len()) {
                    let _ = write!(csv, ",{:.6}", p / sum);
                }
                csv.push('\n');
            }
        }
        _ => {
            csv.push_str(&format!("{line_col},prediction\n"));
            for (v, line) in out.iter().zip(lines) {
                let _ = writeln!(csv, "{line},{v}");
            }
        }
    }
    discesa::checkpoint::write_atomic(&a.output, csv.as_bytes()).map_err(Fail::input)?;
    eprintln!(
        "{} predictions written to {}",
        lines.len(),
        a.output.display()
    );
    Ok(())
}
