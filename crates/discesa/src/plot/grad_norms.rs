//! `grad_norms`: per-layer gradient norm over training, on a log axis.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{titled, Fonts};
use super::lines::{draw_panel, Line, PanelSpec};
use super::output::{begin_figure, render, Figure, FigureSize};
use super::series::Series;
use super::style::viridis;
use super::PlotError;

/// Options of [`grad_norms`].
#[derive(Debug, Clone)]
pub struct GradNormsOptions {
    /// Canvas size.
    pub size: FigureSize,
    /// Figure title (empty for none).
    pub title: String,
    /// X axis title ("epoch" or "step").
    pub x_label: String,
    /// Y axis title.
    pub y_label: String,
    /// Index of the first value.
    pub first_index: f64,
}

impl Default for GradNormsOptions {
    fn default() -> Self {
        Self {
            size: FigureSize::default(),
            title: "Gradient norm per layer".into(),
            x_label: "epoch".into(),
            y_label: "gradient norm (log scale)".into(),
            first_index: 1.0,
        }
    }
}

struct GradNormsFigure<'a> {
    layers: &'a [Series<'a>],
    opts: &'a GradNormsOptions,
}

impl Figure for GradNormsFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let area = titled(root, &self.opts.title, self.opts.size)?;
        let n = self.layers.len();
        let longest = self
            .layers
            .iter()
            .map(|l| l.values.len())
            .max()
            .unwrap_or(0);
        let lines = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| Line {
                name: l.name,
                ys: l.values,
                x_start: self.opts.first_index,
                // Input layers dark, output layers light: depth reads as a colour gradient.
                color: viridis(0.85 * i as f64 / (n.max(2) - 1) as f64),
                width: 2,
                dashed: false,
                markers: longest <= 40,
            })
            .collect();
        let spec = PanelSpec {
            title: "",
            x_label: &self.opts.x_label,
            y_label: &self.opts.y_label,
            log_y: true,
            lines,
            fonts: Fonts::for_canvas(self.opts.size),
        };
        draw_panel(&area, &spec)
    }
}

/// Plots one gradient-norm line per layer (first = input side) on a log y axis.
///
/// Zero, negative and non-finite norms are skipped (the line breaks there), so a layer whose
/// gradient vanishes to exactly zero shows as a gap rather than an error.
pub fn grad_norms(
    path: impl AsRef<Path>,
    layers: &[Series<'_>],
    opts: &GradNormsOptions,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let bad = begin_figure(path, opts.size)?;
    if layers.is_empty() {
        return Err(bad("no layers given".into()));
    }
    if let Some(l) = layers.iter().find(|l| l.values.is_empty()) {
        return Err(bad(format!("layer {:?} has no values", l.name)));
    }
    render(path, opts.size, &GradNormsFigure { layers, opts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::testutil::{assert_png_figure, assert_svg_contains, keep, TempDir};

    /// Norms of a deep sigmoid net: each layer toward the input is ~4x smaller.
    fn vanishing(layers: usize, epochs: usize) -> Vec<Vec<f64>> {
        (0..layers)
            .map(|l| {
                let scale = 0.25f64.powi((layers - 1 - l) as i32);
                (0..epochs)
                    .map(|e| {
                        scale
                            * (1.0 + 0.3 * (e as f64 * 0.7 + l as f64).sin())
                            * 0.9f64.powi(e as i32)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn vanishing_gradients_png() {
        let dir = TempDir::new("gn-png");
        let data = vanishing(8, 25);
        let names: Vec<String> = (0..8).map(|i| format!("layer {}", i + 1)).collect();
        let layers: Vec<Series> = names
            .iter()
            .zip(&data)
            .map(|(n, v)| Series { name: n, values: v })
            .collect();
        let path = dir.path().join("grad_norms.png");
        grad_norms(&path, &layers, &GradNormsOptions::default()).unwrap();
        keep(&path);
        assert_png_figure(&path, 900, 700, 20);
    }

    #[test]
    fn svg_has_layer_legend_and_survives_zero_norms() {
        let dir = TempDir::new("gn-svg");
        let a = [1e-6, 0.0, 1e-7, f64::NAN];
        let b = [1e-1, 2e-1, 1e-1, 5e-2];
        let layers = [
            Series {
                name: "dense1",
                values: &a,
            },
            Series {
                name: "dense2",
                values: &b,
            },
        ];
        let path = dir.path().join("gn.svg");
        grad_norms(&path, &layers, &GradNormsOptions::default()).unwrap();
        assert_svg_contains(&path, &["dense1", "dense2", "epoch"]);
    }

    #[test]
    fn empty_input_is_rejected() {
        let dir = TempDir::new("gn-bad");
        let err = grad_norms(dir.path().join("g.png"), &[], &Default::default()).unwrap_err();
        assert!(err.to_string().contains("no layers"), "{err}");
        let err = grad_norms(dir.path().join("g.txt"), &[], &Default::default()).unwrap_err();
        assert!(matches!(err, PlotError::UnsupportedFormat { .. }), "{err}");
        assert!(dir.entries().is_empty());
    }
}
