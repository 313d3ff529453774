//! `series`: values against step index, in one or more vertically stacked panels.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{titled, Fonts};
use super::lines::{draw_panel, Line, PanelSpec};
use super::output::{begin_figure, render, Figure, FigureSize};
use super::style::series_color;
use super::PlotError;

/// A named sequence of values, one per step (or epoch).
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// Legend entry.
    pub name: &'a str,
    /// Values; non-finite entries (and non-positive ones on a log axis) leave gaps.
    pub values: &'a [f64],
}

/// One chart of a [`series`] figure.
#[derive(Debug, Clone, Copy)]
pub struct SeriesPanel<'a> {
    /// Lines drawn in this panel.
    pub series: &'a [Series<'a>],
    /// Y axis title.
    pub y_label: &'a str,
    /// Logarithmic y axis; falls back to linear if no value is positive.
    pub log_y: bool,
}

/// Options of [`series`].
#[derive(Debug, Clone)]
pub struct SeriesOptions {
    /// Canvas size.
    pub size: FigureSize,
    /// Figure title (empty for none).
    pub title: String,
    /// X axis title, shared by all panels.
    pub x_label: String,
    /// Index of the first value (0 for steps, 1 for epochs).
    pub first_index: f64,
    /// Draw a marker at every point (thinned to at most 80 per line).
    pub markers: bool,
}

impl Default for SeriesOptions {
    fn default() -> Self {
        Self {
            size: FigureSize::default(),
            title: String::new(),
            x_label: "step".into(),
            first_index: 0.0,
            markers: false,
        }
    }
}

/// Largest number of stacked panels: more would leave each too short to read.
const MAX_PANELS: usize = 4;

struct SeriesFigure<'a> {
    panels: &'a [SeriesPanel<'a>],
    opts: &'a SeriesOptions,
}

impl Figure for SeriesFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let area = titled(root, &self.opts.title, self.opts.size)?;
        let areas = area.split_evenly((self.panels.len(), 1));
        for (panel, sub) in self.panels.iter().zip(&areas) {
            let lines = panel
                .series
                .iter()
                .enumerate()
                .map(|(i, s)| Line {
                    name: s.name,
                    ys: s.values,
                    x_start: self.opts.first_index,
                    color: series_color(i),
                    width: 2,
                    dashed: false,
                    markers: self.opts.markers,
                })
                .collect();
            let spec = PanelSpec {
                title: "",
                x_label: &self.opts.x_label,
                y_label: panel.y_label,
                log_y: panel.log_y,
                lines,
                fonts: Fonts::for_canvas(self.opts.size),
            };
            draw_panel(sub, &spec)?;
        }
        Ok(())
    }
}

/// Plots each panel's series against the step index, panels stacked top to bottom.
///
/// Non-finite values are skipped (the line breaks there); on a log axis non-positive values
/// are skipped too, and a panel with no positive value is drawn on a linear axis instead.
pub fn series(
    path: impl AsRef<Path>,
    panels: &[SeriesPanel<'_>],
    opts: &SeriesOptions,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let bad = begin_figure(path, opts.size)?;
    if panels.is_empty() || panels.len() > MAX_PANELS {
        return Err(bad(format!(
            "{} panels given, expected 1 to {MAX_PANELS}",
            panels.len()
        )));
    }
    for (i, p) in panels.iter().enumerate() {
        if p.series.is_empty() {
            return Err(bad(format!("panel {i} ({:?}) has no series", p.y_label)));
        }
        if let Some(s) = p.series.iter().find(|s| s.values.is_empty()) {
            return Err(bad(format!("series {:?} in panel {i} is empty", s.name)));
        }
    }
    render(path, opts.size, &SeriesFigure { panels, opts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::testutil::{assert_png_figure, assert_svg_contains, keep, TempDir};

    fn descent_like() -> (Vec<f64>, Vec<f64>) {
        let value: Vec<f64> = (0..200).map(|k| 5.0 * (0.97f64).powi(k) + 0.1).collect();
        let mut grad: Vec<f64> = (0..200).map(|k| 3.0 * (0.95f64).powi(k)).collect();
        grad[50] = f64::NAN;
        grad[51] = 0.0;
        grad[52] = f64::INFINITY;
        (value, grad)
    }

    #[test]
    fn two_panels_png_with_log_axis_and_bad_values() {
        let dir = TempDir::new("series-png");
        let (value, grad) = descent_like();
        let top = [Series {
            name: "f(x)",
            values: &value,
        }];
        let bottom = [Series {
            name: "|grad f|",
            values: &grad,
        }];
        let panels = [
            SeriesPanel {
                series: &top,
                y_label: "value",
                log_y: false,
            },
            SeriesPanel {
                series: &bottom,
                y_label: "gradient norm",
                log_y: true,
            },
        ];
        let opts = SeriesOptions {
            title: "Descent progress".into(),
            size: FigureSize {
                width: 640,
                height: 720,
            },
            ..Default::default()
        };
        let path = dir.path().join("series.png");
        series(&path, &panels, &opts).unwrap();
        keep(&path);
        assert_png_figure(&path, 640, 720, 20);
    }

    #[test]
    fn svg_contains_legend_names() {
        let dir = TempDir::new("series-svg");
        let (value, grad) = descent_like();
        let s = [
            Series {
                name: "value",
                values: &value,
            },
            Series {
                name: "gradnorm",
                values: &grad,
            },
        ];
        let panels = [SeriesPanel {
            series: &s,
            y_label: "y",
            log_y: true,
        }];
        let path = dir.path().join("series.svg");
        series(&path, &panels, &SeriesOptions::default()).unwrap();
        assert_svg_contains(&path, &["value", "gradnorm", "step"]);
    }

    #[test]
    fn all_non_positive_on_log_axis_still_renders() {
        let dir = TempDir::new("series-nonpos");
        let v = [0.0, -1.0, -2.0, f64::NAN];
        let s = [Series {
            name: "neg",
            values: &v,
        }];
        let panels = [SeriesPanel {
            series: &s,
            y_label: "y",
            log_y: true,
        }];
        let path = dir.path().join("neg.svg");
        series(&path, &panels, &SeriesOptions::default()).unwrap();
        assert_svg_contains(&path, &["neg", "linear axis"]);
    }

    #[test]
    fn bad_inputs_are_rejected_without_output() {
        let dir = TempDir::new("series-bad");
        let v = [1.0, 2.0];
        let s = [Series {
            name: "a",
            values: &v,
        }];
        let panels = [SeriesPanel {
            series: &s,
            y_label: "y",
            log_y: false,
        }];
        let err = series(dir.path().join("a.gif"), &panels, &SeriesOptions::default()).unwrap_err();
        assert!(err.to_string().contains("a.gif"), "{err}");
        let err = series(dir.path().join("a.png"), &[], &SeriesOptions::default()).unwrap_err();
        assert!(err.to_string().contains("0 panels"), "{err}");
        let empty = [Series {
            name: "hollow",
            values: &[],
        }];
        let panels = [SeriesPanel {
            series: &empty,
            y_label: "y",
            log_y: false,
        }];
        let err = series(dir.path().join("b.png"), &panels, &SeriesOptions::default()).unwrap_err();
        assert!(err.to_string().contains("hollow"), "{err}");
        assert!(dir.entries().is_empty());
    }
}
