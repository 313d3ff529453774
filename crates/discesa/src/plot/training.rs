//! `training_curves`: per-epoch loss (left panel) and metric (right panel).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{titled, Fonts};
use super::lines::{draw_panel, Line, PanelSpec};
use super::output::{begin_figure, render, Figure, FigureSize};
use super::style::series_color;
use super::PlotError;

/// Per-epoch history of a training run; validation and metric are optional.
///
/// Entries that are NaN (e.g. epochs where validation was not run) are skipped.
#[derive(Debug, Clone, Copy)]
pub struct TrainingHistory<'a> {
    /// Training loss per epoch.
    pub train_loss: &'a [f64],
    /// Validation loss per epoch, if measured.
    pub val_loss: Option<&'a [f64]>,
    /// Training metric per epoch (e.g. accuracy), if measured.
    pub train_metric: Option<&'a [f64]>,
    /// Validation metric per epoch, if measured.
    pub val_metric: Option<&'a [f64]>,
    /// Name of the metric, used as the right panel's axis title.
    pub metric_name: &'a str,
}

/// Options of [`training_curves`].
#[derive(Debug, Clone)]
pub struct TrainingCurvesOptions {
    /// Canvas size.
    pub size: FigureSize,
    /// Figure title (empty for none).
    pub title: String,
    /// Logarithmic loss axis (non-positive losses are skipped).
    pub log_loss: bool,
    /// Number of the first epoch.
    pub first_epoch: f64,
}

impl Default for TrainingCurvesOptions {
    fn default() -> Self {
        Self {
            size: FigureSize::default(),
            title: "Training".into(),
            log_loss: false,
            first_epoch: 1.0,
        }
    }
}

struct TrainingFigure<'a> {
    h: &'a TrainingHistory<'a>,
    opts: &'a TrainingCurvesOptions,
}

impl TrainingFigure<'_> {
    /// Train (solid) and validation (dashed, markers) lines for one panel.
    fn pair<'b>(&self, train: Option<&'b [f64]>, val: Option<&'b [f64]>) -> Vec<Line<'b>> {
        let few = self.h.train_loss.len() <= 60;
        let mut lines = Vec::new();
        if let Some(ys) = train {
            lines.push(Line {
                name: "train",
                ys,
                x_start: self.opts.first_epoch,
                color: series_color(0),
                width: 2,
                dashed: false,
                markers: few,
            });
        }
        if let Some(ys) = val {
            lines.push(Line {
                name: "validation",
                ys,
                x_start: self.opts.first_epoch,
                color: series_color(3),
                width: 2,
                dashed: true,
                markers: few,
            });
        }
        lines
    }
}

impl Figure for TrainingFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let area = titled(root, &self.opts.title, self.opts.size)?;
        let fonts = Fonts::for_canvas(self.opts.size);
        let has_metric = self.h.train_metric.is_some() || self.h.val_metric.is_some();
        let areas = if has_metric {
            area.split_evenly((1, 2))
        } else {
            vec![area]
        };
        let loss = PanelSpec {
            title: "loss",
            x_label: "epoch",
            y_label: "loss",
            log_y: self.opts.log_loss,
            lines: self.pair(Some(self.h.train_loss), self.h.val_loss),
            fonts,
        };
        draw_panel(&areas[0], &loss)?;
        if has_metric {
            let metric = PanelSpec {
                title: self.h.metric_name,
                x_label: "epoch",
                y_label: self.h.metric_name,
                log_y: false,
                lines: self.pair(self.h.train_metric, self.h.val_metric),
                fonts,
            };
            draw_panel(&areas[1], &metric)?;
        }
        Ok(())
    }
}

/// Plots train/validation loss per epoch and, if given, the metric in a second panel.
pub fn training_curves(
    path: impl AsRef<Path>,
    history: &TrainingHistory<'_>,
    opts: &TrainingCurvesOptions,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let bad = begin_figure(path, opts.size)?;
    let n = history.train_loss.len();
    if n == 0 {
        return Err(bad("train_loss is empty".into()));
    }
    let others = [
        ("val_loss", history.val_loss),
        ("train_metric", history.train_metric),
        ("val_metric", history.val_metric),
    ];
    for (name, v) in others {
        if let Some(v) = v {
            if v.len() != n {
                return Err(bad(format!(
                    "{name} has {} epochs but train_loss has {n}",
                    v.len()
                )));
            }
        }
    }
    render(path, opts.size, &TrainingFigure { h: history, opts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::testutil::{assert_png_figure, assert_svg_contains, keep, TempDir};

    fn history() -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let e = 30;
        let tl: Vec<f64> = (0..e)
            .map(|i| 2.0 * (-0.15 * i as f64).exp() + 0.05)
            .collect();
        let mut vl: Vec<f64> = (0..e)
            .map(|i| 2.1 * (-0.12 * i as f64).exp() + 0.12)
            .collect();
        vl[3] = f64::NAN;
        let ta: Vec<f64> = tl.iter().map(|l| 1.0 - 0.45 * l).collect();
        let va: Vec<f64> = vl.iter().map(|l| 1.0 - 0.45 * l).collect();
        (tl, vl, ta, va)
    }

    #[test]
    fn loss_and_accuracy_png() {
        let dir = TempDir::new("train-png");
        let (tl, vl, ta, va) = history();
        let h = TrainingHistory {
            train_loss: &tl,
            val_loss: Some(&vl),
            train_metric: Some(&ta),
            val_metric: Some(&va),
            metric_name: "accuracy",
        };
        let path = dir.path().join("training.png");
        training_curves(&path, &h, &TrainingCurvesOptions::default()).unwrap();
        keep(&path);
        assert_png_figure(&path, 900, 700, 20);
    }

    #[test]
    fn missing_validation_and_metric_is_allowed() {
        let dir = TempDir::new("train-svg");
        let (tl, ..) = history();
        let h = TrainingHistory {
            train_loss: &tl,
            val_loss: None,
            train_metric: None,
            val_metric: None,
            metric_name: "accuracy",
        };
        let path = dir.path().join("training.svg");
        let opts = TrainingCurvesOptions {
            log_loss: true,
            ..Default::default()
        };
        training_curves(&path, &h, &opts).unwrap();
        assert_svg_contains(&path, &["train", "epoch", "loss"]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("validation"));
        assert!(!text.contains("accuracy"));
    }

    #[test]
    fn mismatched_lengths_are_rejected() {
        let dir = TempDir::new("train-bad");
        let h = TrainingHistory {
            train_loss: &[1.0, 0.5],
            val_loss: Some(&[1.0]),
            train_metric: None,
            val_metric: None,
            metric_name: "acc",
        };
        let err = training_curves(dir.path().join("t.png"), &h, &Default::default()).unwrap_err();
        assert!(err.to_string().contains("val_loss has 1 epochs"), "{err}");
        assert!(dir.entries().is_empty());
    }
}
