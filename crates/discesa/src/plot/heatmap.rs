//! `heatmap`: gridded values as coloured cells with a colour bar; NaN cells stay blank.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{build_chart, draw_mesh, Fonts};
use super::font::FAMILY;
use super::output::{begin_figure, msg, render, Figure, FigureSize};
use super::style::{format_number, viridis};
use super::PlotError;

/// Options of [`heatmap`].
#[derive(Debug, Clone)]
pub struct HeatmapOptions {
    /// Canvas size.
    pub size: FigureSize,
    /// Figure title (empty for none).
    pub title: String,
    /// X axis title.
    pub x_label: String,
    /// Y axis title.
    pub y_label: String,
    /// Colour bar title.
    pub value_label: String,
    /// Colours spread over log10 of the values (non-positive values stay blank).
    pub log: bool,
    /// Fixed colour range; `None` spans the finite values.
    pub range: Option<(f64, f64)>,
}

impl Default for HeatmapOptions {
    fn default() -> Self {
        HeatmapOptions {
            size: FigureSize::default(),
            title: String::new(),
            x_label: "x".into(),
            y_label: "y".into(),
            value_label: "value".into(),
            log: false,
            range: None,
        }
    }
}

struct HeatmapFigure<'a> {
    xs: &'a [f64],
    ys: &'a [f64],
    z: &'a [f64],
    lo: f64,
    hi: f64,
    opts: &'a HeatmapOptions,
}

/// Cell edges: halfway between neighbouring coordinates, extended by half a step at the ends.
fn edges(v: &[f64]) -> Vec<f64> {
    if v.len() == 1 {
        return vec![v[0] - 0.5, v[0] + 0.5];
    }
    let mut e = vec![v[0] - (v[1] - v[0]) / 2.0];
    e.extend(v.windows(2).map(|w| (w[0] + w[1]) / 2.0));
    e.push(v[v.len() - 1] + (v[v.len() - 1] - v[v.len() - 2]) / 2.0);
    e
}

impl HeatmapFigure<'_> {
    fn t(&self, v: f64) -> Option<f64> {
        let v = if self.opts.log {
            if v > 0.0 {
                v.log10()
            } else {
                return None;
            }
        } else {
            v
        };
        v.is_finite()
            .then(|| ((v - self.lo) / (self.hi - self.lo).max(1e-300)).clamp(0.0, 1.0))
    }
}

impl Figure for HeatmapFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let fonts = Fonts::for_canvas(self.opts.size);
        let area = super::draw::titled(root, &self.opts.title, self.opts.size)?;
        let bar_w = (fonts.axis * 7.0) as u32;
        let (w, _) = area.dim_in_pixel();
        let (main, bar) = area.split_horizontally(w.saturating_sub(bar_w));
        let (ex, ey) = (edges(self.xs), edges(self.ys));
        let x = (ex[0], ex[ex.len() - 1]);
        let y = (ey[0], ey[ey.len() - 1]);
        let mut chart = build_chart(&main, "", x, y, fonts, 0)?;
        draw_mesh(
            &mut chart,
            &self.opts.x_label,
            &self.opts.y_label,
            false,
            fonts,
            false,
        )?;
        let nx = self.xs.len();
        let cells = self.z.iter().enumerate().filter_map(|(k, &v)| {
            let (i, j) = (k % nx, k / nx);
            self.t(v).map(|t| {
                Rectangle::new(
                    [(ex[i], ey[j]), (ex[i + 1], ey[j + 1])],
                    viridis(t).filled(),
                )
            })
        });
        chart.draw_series(cells).map_err(msg)?;
        // Colour bar: a column of bands with the value axis on its right.
        let mut cb = ChartBuilder::on(&bar);
        cb.margin(12)
            .margin_left(4)
            .x_label_area_size((fonts.axis * 2.8) as u32)
            .right_y_label_area_size((fonts.axis * 4.0) as u32);
        let mut c = cb
            .build_cartesian_2d(0.0..1.0, self.lo..self.hi)
            .map_err(msg)?;
        let log = self.opts.log;
        let fmt = move |v: &f64| format_number(if log { 10f64.powf(*v) } else { *v });
        c.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc(self.opts.value_label.as_str())
            .axis_desc_style((FAMILY, fonts.axis))
            .label_style((FAMILY, fonts.tick))
            .y_label_formatter(&fmt)
            .y_labels(8)
            .draw()
            .map_err(msg)?;
        let n = 128;
        let step = (self.hi - self.lo) / n as f64;
        c.draw_series((0..n).map(|k| {
            let v = self.lo + step * k as f64;
            Rectangle::new(
                [(0.0, v), (1.0, v + step)],
                viridis((k as f64 + 0.5) / n as f64).filled(),
            )
        }))
        .map_err(msg)?;
        Ok(())
    }
}

/// Draws `z` (row-major, `ys.len()` rows of `xs.len()` values) as cells centred on the grid
/// nodes, with a colour bar. NaN (and, on a log scale, non-positive) cells are left blank.
pub fn heatmap(
    path: impl AsRef<Path>,
    xs: &[f64],
    ys: &[f64],
    z: &[f64],
    opts: &HeatmapOptions,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let bad = begin_figure(path, opts.size)?;
    if xs.is_empty() || ys.is_empty() || z.len() != xs.len() * ys.len() {
        return Err(bad(format!(
            "{} values do not fill a grid of {} × {}",
            z.len(),
            ys.len(),
            xs.len()
        )));
    }
    let vals: Vec<f64> = z
        .iter()
        .filter_map(|&v| match opts.log {
            true if v > 0.0 => Some(v.log10()),
            true => None,
            false => Some(v),
        })
        .filter(|v| v.is_finite())
        .collect();
    let (lo, hi) = match opts.range {
        Some((a, b)) if opts.log => (a.max(1e-300).log10(), b.max(1e-300).log10()),
        Some(r) => r,
        None => {
            if vals.is_empty() {
                return Err(bad("no finite value to draw".into()));
            }
            let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lo, hi)
        }
    };
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    render(
        path,
        opts.size,
        &HeatmapFigure {
            xs,
            ys,
            z,
            lo,
            hi,
            opts,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::testutil::TempDir;

    #[test]
    fn draws_with_nan_cells_and_rejects_bad_shapes() {
        let dir = TempDir::new("heatmap");
        let xs = [0.0, 1.0, 2.0];
        let ys = [0.0, 1.0];
        let z = [1.0, f64::NAN, 3.0, 4.0, 5.0, 6.0];
        let p = dir.path().join("h.png");
        heatmap(&p, &xs, &ys, &z, &HeatmapOptions::default()).unwrap();
        assert!(p.is_file());
        let svg = dir.path().join("h.svg");
        heatmap(
            &svg,
            &xs,
            &ys,
            &z,
            &HeatmapOptions {
                log: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(heatmap(
            dir.path().join("b.png"),
            &xs,
            &ys,
            &z[..5],
            &HeatmapOptions::default()
        )
        .is_err());
    }
}
