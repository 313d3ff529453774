//! The run shown by the dashboard: a metrics file written by `discesa train --metrics`
//! (CSV or JSON lines), and/or a `discesa landscape` output directory (`x.npy`, `y.npy`,
//! `loss.npy`, `landscape.json`). Only these paths, fixed at start-up, are ever read.

use discesa::data::read_npy;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// Metrics file names looked for inside a run directory, in this order.
pub const METRICS_NAMES: [&str; 3] = ["metrics.csv", "metrics.jsonl", "metrics.json"];

/// What `--run` names.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSource {
    /// The metrics file (it may not exist yet while a run is starting).
    pub metrics: Option<PathBuf>,
    /// A landscape output directory.
    pub landscape: Option<PathBuf>,
}

fn is_metrics_file(p: &Path) -> bool {
    matches!(
        p.extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref(),
        Some("csv" | "jsonl" | "json" | "ndjson")
    )
}

impl RunSource {
    /// A metrics file (existing, or to be written: its directory must exist), a run directory
    /// with a metrics file, or a landscape directory (with `loss.npy`).
    pub fn open(path: &Path) -> Result<RunSource, String> {
        if path.is_dir() {
            let landscape = path.join("loss.npy").is_file().then(|| path.to_path_buf());
            let metrics = METRICS_NAMES
                .iter()
                .map(|n| path.join(n))
                .find(|p| p.is_file());
            if landscape.is_none() && metrics.is_none() {
                return Err(format!(
                    "{} holds neither a metrics file ({}) nor landscape output (loss.npy)",
                    path.display(),
                    METRICS_NAMES.join(", ")
                ));
            }
            return Ok(RunSource { metrics, landscape });
        }
        if !is_metrics_file(path) {
            return Err(format!(
                "{} is not a metrics file (.csv or .jsonl) nor a directory",
                path.display()
            ));
        }
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !path.is_file() && !parent.is_dir() {
            return Err(format!("{} does not exist", path.display()));
        }
        Ok(RunSource {
            metrics: Some(path.to_path_buf()),
            landscape: None,
        })
    }
}

fn cell(text: &str) -> Value {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => json!(v),
        _ => Value::Null,
    }
}

/// Reads a metrics file into `{layers, records}`, each record with the keys of
/// `discesa::train::EpochRecord` (`epoch`, `train_loss`, `val_metric`, `grad_norms`, ...).
/// A file that does not exist yet is an empty run; a malformed last line (a file being
/// written by a tool that does not write atomically) is left out.
pub fn read_metrics(path: &Path) -> Result<Value, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let csv = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.eq_ignore_ascii_case("csv"))
        .unwrap_or(false);
    let mut records = Vec::new();
    let layers: Vec<String>;
    if csv {
        let mut lines = text.lines();
        let header: Vec<&str> = lines
            .next()
            .map(|h| h.split(',').collect())
            .unwrap_or_default();
        layers = header
            .iter()
            .filter_map(|h| h.strip_prefix("grad_norm:").map(str::to_string))
            .collect();
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let cells: Vec<&str> = line.split(',').collect();
            if cells.len() != header.len() {
                continue;
            }
            let mut rec = Map::new();
            let mut norms = Vec::new();
            for (h, c) in header.iter().zip(&cells) {
                if h.starts_with("grad_norm:") {
                    norms.push(cell(c));
                } else {
                    rec.insert(h.to_string(), cell(c));
                }
            }
            rec.insert("grad_norms".into(), Value::Array(norms));
            records.push(Value::Object(rec));
        }
    } else {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(line) {
                records.push(v);
            }
        }
        let widest = records
            .iter()
            .map(|r| r["grad_norms"].as_array().map(|a| a.len()).unwrap_or(0))
            .max()
            .unwrap_or(0);
        layers = (0..widest).map(|i| format!("layer {}", i + 1)).collect();
    }
    Ok(json!({ "file": path.display().to_string(), "layers": layers, "records": records }))
}

fn npy(dir: &Path, name: &str) -> Result<(Vec<usize>, Vec<f64>), String> {
    let p = dir.join(name);
    let a = read_npy(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    let shape = a.shape.clone();
    Ok((shape, a.into_f64()))
}

/// Reads a landscape directory: coordinates, the loss surface (row j = y[j]) and settings.
pub fn read_landscape(dir: &Path) -> Result<Value, String> {
    let (_, x) = npy(dir, "x.npy")?;
    let (shape, loss) = npy(dir, "loss.npy")?;
    let y = if shape.len() == 2 {
        let (_, y) = npy(dir, "y.npy")?;
        if shape != [y.len(), x.len()] {
            return Err(format!(
                "loss.npy has shape {shape:?} but x.npy and y.npy have {} and {} values",
                x.len(),
                y.len()
            ));
        }
        Some(y)
    } else {
        if shape != [x.len()] {
            return Err(format!(
                "loss.npy has shape {shape:?} but x.npy has {} values",
                x.len()
            ));
        }
        None
    };
    let settings = match std::fs::read_to_string(dir.join("landscape.json")) {
        Ok(t) => serde_json::from_str::<Value>(&t).unwrap_or(Value::Null),
        Err(_) => Value::Null,
    };
    let finite = |v: &[f64]| {
        Value::Array(
            v.iter()
                .map(|&a| if a.is_finite() { json!(a) } else { Value::Null })
                .collect(),
        )
    };
    Ok(json!({
        "dir": dir.display().to_string(), "shape": shape, "x": finite(&x),
        "y": y.as_deref().map(finite), "loss": finite(&loss), "settings": settings,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use discesa::train::{write_metrics, EpochRecord};

    fn rec(epoch: usize) -> EpochRecord {
        EpochRecord {
            epoch,
            step: epoch as u64 * 10,
            lr: 0.1,
            train_loss: 1.0 / epoch as f64,
            train_metric: 0.5,
            val_loss: None,
            val_metric: Some(0.9),
            seconds: 1.0,
            samples_per_second: 100.0,
            grad_norms: vec![0.1, 0.2],
        }
    }

    #[test]
    fn csv_and_json_lines_read_alike() {
        let dir = std::env::temp_dir().join(format!("discesa-serve-runs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let layers = vec!["layers.0".to_string(), "layers.2".to_string()];
        let mut seen = Vec::new();
        for name in ["m.csv", "m.jsonl"] {
            let p = dir.join(name);
            write_metrics(&p, &[rec(1), rec(2)], &layers).unwrap();
            let v = read_metrics(&p).unwrap();
            let r = &v["records"];
            assert_eq!(r.as_array().unwrap().len(), 2);
            assert_eq!(r[1]["train_loss"], 0.5);
            assert_eq!(r[1]["val_loss"], Value::Null);
            assert_eq!(r[0]["grad_norms"], json!([0.1, 0.2]));
            seen.push(v["layers"].as_array().unwrap().len());
        }
        assert_eq!(seen, [2, 2]);
        assert_eq!(
            read_metrics(&dir.join("later.csv")).unwrap()["records"],
            json!([])
        );
        assert!(RunSource::open(&dir.join("m.txt")).is_err());
        assert!(RunSource::open(&dir.join("no/such/m.csv")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn landscape_directories_are_read_and_checked() {
        use discesa::data::write_npy_f64;
        let dir = std::env::temp_dir().join(format!("discesa-serve-ls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_npy_f64(dir.join("x.npy"), &[3], &[-1.0, 0.0, 1.0]).unwrap();
        write_npy_f64(dir.join("y.npy"), &[2], &[0.0, 1.0]).unwrap();
        write_npy_f64(
            dir.join("loss.npy"),
            &[2, 3],
            &[1.0, 0.5, 1.0, 2.0, f64::NAN, 2.0],
        )
        .unwrap();
        let src = RunSource::open(&dir).unwrap();
        assert_eq!(src.landscape.as_deref(), Some(dir.as_path()));
        let v = read_landscape(&dir).unwrap();
        assert_eq!(v["loss"], json!([1.0, 0.5, 1.0, 2.0, null, 2.0]));
        write_npy_f64(dir.join("loss.npy"), &[3, 2], &[0.0; 6]).unwrap();
        assert!(read_landscape(&dir).unwrap_err().contains("shape"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
