//! Training curves of several runs in one figure: the mean training loss (log scale) and the
//! training error of every epoch, read from the `--metrics` CSV files `discesa train` writes.
//! Used for the depth experiment (plain vs residual networks of 20 and 56 layers).
//!
//! Run: `cargo run --release --example compare_runs -- OUT.png NAME=METRICS.csv ...`
//! (`OUT` may be `.png` or `.svg`; the legend shows each NAME.)

use discesa::plot::{series, FigureSize, Series, SeriesOptions, SeriesPanel};
use std::path::Path;

/// One run's per-epoch training loss and training error (1 − accuracy), in epoch order.
struct Curves {
    name: String,
    loss: Vec<f64>,
    error: Vec<f64>,
}

/// Reads the `train_loss` and `train_metric` columns of a metrics CSV.
fn read_curves(name: &str, path: &Path) -> Result<Curves, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let column = |want: &str| {
        header
            .iter()
            .position(|h| *h == want)
            .ok_or_else(|| format!("{}: no {want} column", path.display()))
    };
    let (loss_at, metric_at) = (column("train_loss")?, column("train_metric")?);
    let mut curves = Curves {
        name: name.to_string(),
        loss: Vec::new(),
        error: Vec::new(),
    };
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let value = |at: usize| -> Result<f64, String> {
            cells
                .get(at)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| format!("{}: line {}: not a number", path.display(), i + 2))
        };
        curves.loss.push(value(loss_at)?);
        curves.error.push(100.0 * (1.0 - value(metric_at)?));
    }
    if curves.loss.is_empty() {
        return Err(format!("{}: no epochs", path.display()));
    }
    Ok(curves)
}

fn run(args: &[String]) -> Result<(), String> {
    let (out, runs) = match args {
        [out, runs @ ..] if !runs.is_empty() => (out, runs),
        _ => return Err("usage: compare_runs OUT.png NAME=METRICS.csv ...".into()),
    };
    let curves = runs
        .iter()
        .map(|r| {
            let (name, path) = r
                .split_once('=')
                .ok_or_else(|| format!("{r}: expected NAME=METRICS.csv"))?;
            read_curves(name, Path::new(path))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let loss: Vec<Series> = curves
        .iter()
        .map(|c| Series {
            name: &c.name,
            values: &c.loss,
        })
        .collect();
    let error: Vec<Series> = curves
        .iter()
        .map(|c| Series {
            name: &c.name,
            values: &c.error,
        })
        .collect();
    let panels = [
        SeriesPanel {
            series: &loss,
            y_label: "training loss",
            log_y: true,
        },
        SeriesPanel {
            series: &error,
            y_label: "training error (%)",
            log_y: false,
        },
    ];
    let opts = SeriesOptions {
        size: FigureSize {
            width: 900,
            height: 800,
        },
        title: "Training curves".into(),
        x_label: "epoch".into(),
        first_index: 1.0,
        markers: true,
    };
    series(out, &panels, &opts).map_err(|e| e.to_string())?;
    println!("wrote {out}");
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}
