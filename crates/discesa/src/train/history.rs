//! Per-epoch records and the metrics file (CSV or JSON lines, picked by extension, rewritten
//! atomically after every epoch so it is always complete).

use super::Result;
use crate::checkpoint::write_atomic;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

/// What one epoch measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number (1-based).
    pub epoch: usize,
    /// Global steps completed at the end of the epoch.
    pub step: u64,
    /// Learning rate used during the epoch.
    pub lr: f64,
    /// Mean training loss over the epoch's batches (dropout active).
    pub train_loss: f64,
    /// Training accuracy (classification) or MAE (regression) over the epoch's batches.
    pub train_metric: f64,
    /// Validation loss, if a validation split exists.
    pub val_loss: Option<f64>,
    /// Validation accuracy or MAE.
    pub val_metric: Option<f64>,
    /// Wall-clock seconds spent in the epoch's optimisation steps.
    pub seconds: f64,
    /// Training throughput.
    pub samples_per_second: f64,
    /// Mean L2 norm of each layer's gradient over the epoch, in layer order.
    #[serde(default)]
    pub grad_norms: Vec<f64>,
}

fn opt(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

/// Writes `records` to `path`: JSON lines for `.jsonl`/`.json`/`.ndjson`, CSV otherwise.
/// `layers` names the gradient-norm columns of the CSV form (empty: no such columns).
pub fn write_metrics(path: &Path, records: &[EpochRecord], layers: &[String]) -> Result<()> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let mut out = String::new();
    if matches!(ext.as_str(), "jsonl" | "json" | "ndjson") {
        for r in records {
            out.push_str(&serde_json::to_string(r).expect("records serialise"));
            out.push('\n');
        }
    } else {
        out.push_str(
            "epoch,step,lr,train_loss,train_metric,val_loss,val_metric,seconds,samples_per_second",
        );
        let with_norms = !layers.is_empty() && records.iter().any(|r| !r.grad_norms.is_empty());
        if with_norms {
            for l in layers {
                let _ = write!(out, ",grad_norm:{l}");
            }
        }
        out.push('\n');
        for r in records {
            let _ = write!(
                out,
                "{},{},{},{},{},{},{},{:.4},{:.1}",
                r.epoch,
                r.step,
                r.lr,
                r.train_loss,
                r.train_metric,
                opt(r.val_loss),
                opt(r.val_metric),
                r.seconds,
                r.samples_per_second
            );
            if with_norms {
                for i in 0..layers.len() {
                    let _ = write!(out, ",{}", opt(r.grad_norms.get(i).copied()));
                }
            }
            out.push('\n');
        }
    }
    write_atomic(path, out.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(epoch: usize) -> EpochRecord {
        EpochRecord {
            epoch,
            step: epoch as u64 * 10,
            lr: 0.1,
            train_loss: 1.0 / epoch as f64,
            train_metric: 0.5,
            val_loss: Some(0.7),
            val_metric: None,
            seconds: 1.0,
            samples_per_second: 100.0,
            grad_norms: vec![0.1, 0.2],
        }
    }

    #[test]
    fn csv_and_json_lines_by_extension() {
        let dir = std::env::temp_dir().join(format!("discesa-hist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let layers = vec!["layers.0".to_string(), "layers.2".to_string()];
        let csv = dir.join("m.csv");
        write_metrics(&csv, &[rec(1), rec(2)], &layers).unwrap();
        let text = std::fs::read_to_string(&csv).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].ends_with("grad_norm:layers.0,grad_norm:layers.2"));
        assert!(
            lines[2].starts_with("2,20,0.1,0.5,0.5,0.7,,"),
            "{}",
            lines[2]
        );
        let jl = dir.join("m.jsonl");
        write_metrics(&jl, &[rec(1)], &layers).unwrap();
        let back: EpochRecord =
            serde_json::from_str(std::fs::read_to_string(&jl).unwrap().trim()).unwrap();
        assert_eq!(back, rec(1));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
