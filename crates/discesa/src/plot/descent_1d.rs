//! `descent_1d`: a function curve with gradient-descent steps drawn as arrows on it.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{
    add_legend, build_chart, data_rect, draw_arrow_px, draw_legend, draw_mesh, draw_polyline,
    pixel_rect, quiet_corner, to_px, Fonts, LegendKey,
};
use super::font::FAMILY;
use super::geom::{axis_range, finite_bounds, linspace, pad_range};
use super::output::{begin_figure, msg, render, Figure, FigureSize};
use super::style::{series_color, shade};
use super::PlotError;

/// The iterates `x_0, x_1, …` of one descent run on a 1-D function.
#[derive(Debug, Clone, Copy)]
pub struct Path1d<'a> {
    /// Legend entry (e.g. "lr = 0.1").
    pub name: &'a str,
    /// Iterates; non-finite ones (a diverged run) end the drawn path there.
    pub xs: &'a [f64],
}

/// Options of [`descent_1d`].
#[derive(Debug, Clone)]
pub struct Descent1dOptions {
    /// Canvas size.
    pub size: FigureSize,
    /// Figure title (empty for none).
    pub title: String,
    /// X axis title.
    pub x_label: String,
    /// Y axis title.
    pub y_label: String,
    /// X range; `None` covers every path with a margin.
    pub x_range: Option<(f64, f64)>,
    /// Margin added on each side of the automatic range, as a fraction of its span.
    pub margin: f64,
    /// Number of points at which the curve is sampled.
    pub samples: usize,
    /// How many of the first iterates get a step number written next to them.
    pub numbered_steps: usize,
}

impl Default for Descent1dOptions {
    fn default() -> Self {
        Self {
            size: FigureSize::default(),
            title: "Gradient descent".into(),
            x_label: "x".into(),
            y_label: "f(x)".into(),
            x_range: None,
            margin: 0.15,
            samples: 240,
            numbered_steps: 15,
        }
    }
}

struct Descent1dFigure<'a> {
    f: &'a dyn Fn(f64) -> f64,
    paths: &'a [Path1d<'a>],
    opts: &'a Descent1dOptions,
    x_range: (f64, f64),
}

/// Finite prefix of a path as points on the curve.
fn path_points(f: &dyn Fn(f64) -> f64, xs: &[f64]) -> Vec<(f64, f64)> {
    xs.iter()
        .map(|&x| (x, f(x)))
        .take_while(|p| p.0.is_finite() && p.1.is_finite())
        .collect()
}

impl Figure for Descent1dFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let fonts = Fonts::for_canvas(self.opts.size);
        let (x0, x1) = self.x_range;
        let curve: Vec<(f64, f64)> = linspace(x0, x1, self.opts.samples.max(2))
            .into_iter()
            .map(|x| (x, (self.f)(x)))
            .collect();
        let steps: Vec<Vec<(f64, f64)>> = self
            .paths
            .iter()
            .map(|p| path_points(self.f, p.xs))
            .collect();
        let in_view = |p: &&(f64, f64)| p.0 >= x0 && p.0 <= x1;
        let ys = curve
            .iter()
            .chain(steps.iter().flatten().filter(in_view))
            .map(|p| p.1);
        let y_range = pad_range(finite_bounds(ys).unwrap_or((0.0, 1.0)), 0.08);
        let mut chart = build_chart(root, &self.opts.title, self.x_range, y_range, fonts, 0)?;
        draw_mesh(
            &mut chart,
            &self.opts.x_label,
            &self.opts.y_label,
            false,
            fonts,
            true,
        )?;
        let curve_color = RGBColor(60, 60, 60);
        draw_polyline(&mut chart, &curve, curve_color.stroke_width(2), false)?;
        add_legend(
            &mut chart,
            &self.opts.y_label,
            LegendKey {
                color: curve_color,
                width: 2,
                dashed: false,
                marker: false,
            },
        )?;
        let clip = pixel_rect(&chart);
        let rect = data_rect(&chart);
        let label_style = TextStyle::from((FAMILY, fonts.note)).color(&BLACK);
        // Step numbers are skipped where they would collide with one already written.
        let mut placed: Vec<(i32, i32)> = Vec::new();
        let min_gap = (fonts.note * 1.2) as i32;
        for (i, (path, pts)) in self.paths.iter().zip(&steps).enumerate() {
            let base = series_color(i);
            let n = pts.len();
            // Colour runs from light (first step) to dark (last), so the order stays readable
            // when steps overshoot back and forth across the minimum.
            let tone = |k: usize| {
                let t = if n > 1 {
                    k as f64 / (n - 1) as f64
                } else {
                    1.0
                };
                shade(base, 0.5 - 0.8 * t)
            };
            for k in 0..n.saturating_sub(1) {
                let (a, b) = (to_px(&chart, pts[k]), to_px(&chart, pts[k + 1]));
                draw_arrow_px(root, a, b, &clip, tone(k), 2, 12.0)?;
            }
            for (k, p) in pts.iter().enumerate() {
                if !rect.contains(*p) {
                    continue;
                }
                let c = to_px(&chart, *p);
                let c = (c.0.round() as i32, c.1.round() as i32);
                let r = if k == 0 { 6 } else { 4 };
                root.draw(&Circle::new(c, r, tone(k).filled()))
                    .map_err(msg)?;
                root.draw(&Circle::new(c, r, BLACK.stroke_width(1)))
                    .map_err(msg)?;
                let offset = if i % 2 == 0 { -(r + 14) } else { r + 4 };
                let at = (c.0 + 4, c.1 + offset);
                let free = placed
                    .iter()
                    .all(|q| (q.0 - at.0).abs() >= min_gap || (q.1 - at.1).abs() >= min_gap);
                if k < self.opts.numbered_steps && free {
                    placed.push(at);
                    root.draw(&Text::new(k.to_string(), at, label_style.clone()))
                        .map_err(msg)?;
                }
            }
            add_legend(
                &mut chart,
                path.name,
                LegendKey {
                    color: base,
                    width: 2,
                    dashed: false,
                    marker: true,
                },
            )?;
        }
        let everything: Vec<(f64, f64)> = curve
            .iter()
            .chain(steps.iter().flatten())
            .copied()
            .collect();
        draw_legend(&mut chart, quiet_corner(&everything, &rect), fonts)
    }
}

/// Draws `f` over a range with each path's steps as arrows `(x_k, f(x_k)) → (x_{k+1}, f(x_{k+1}))`.
///
/// Arrows are shaded from light (first step) to dark (last) and the first
/// `numbered_steps` iterates are numbered, so an overshoot across the minimum is visible.
/// Non-finite curve samples leave gaps; a path stops at its first non-finite iterate.
pub fn descent_1d(
    path: impl AsRef<Path>,
    f: &dyn Fn(f64) -> f64,
    paths: &[Path1d<'_>],
    opts: &Descent1dOptions,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let bad = begin_figure(path, opts.size)?;
    let xs = paths.iter().flat_map(|p| path_points(f, p.xs)).map(|p| p.0);
    let x_range = axis_range(opts.x_range, xs, opts.margin, "x_range", "iterate", bad)?;
    render(
        path,
        opts.size,
        &Descent1dFigure {
            f,
            paths,
            opts,
            x_range,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::testutil::{assert_png_figure, assert_svg_contains, keep, TempDir};

    /// Gradient descent on `f(x) = x²` (gradient `2x`) with learning rate `lr`.
    fn gd(x0: f64, lr: f64, steps: usize) -> Vec<f64> {
        let mut xs = vec![x0];
        for _ in 0..steps {
            let x = *xs.last().unwrap();
            xs.push(x - lr * 2.0 * x);
        }
        xs
    }

    #[test]
    fn overshooting_and_smooth_paths_png() {
        let dir = TempDir::new("d1-png");
        let slow = gd(-2.5, 0.15, 8);
        let over = gd(2.0, 0.9, 8);
        let paths = [
            Path1d {
                name: "lr = 0.15",
                xs: &slow,
            },
            Path1d {
                name: "lr = 0.9 (overshoot)",
                xs: &over,
            },
        ];
        let path = dir.path().join("descent_1d.png");
        descent_1d(&path, &|x| x * x, &paths, &Descent1dOptions::default()).unwrap();
        keep(&path);
        assert_png_figure(&path, 900, 700, 30);
    }

    #[test]
    fn svg_lists_paths_and_survives_divergence() {
        let dir = TempDir::new("d1-svg");
        let diverged = [1.0, -3.0, 9.0, f64::INFINITY, f64::NAN];
        let paths = [Path1d {
            name: "diverged",
            xs: &diverged,
        }];
        let path = dir.path().join("d1.svg");
        let opts = Descent1dOptions {
            size: FigureSize {
                width: 500,
                height: 400,
            },
            ..Default::default()
        };
        descent_1d(
            &path,
            &|x| if x.abs() < 0.01 { f64::NAN } else { x * x },
            &paths,
            &opts,
        )
        .unwrap();
        assert_svg_contains(&path, &["diverged", "f(x)"]);
    }

    #[test]
    fn bad_inputs_leave_no_file() {
        let dir = TempDir::new("d1-bad");
        let p = [Path1d {
            name: "a",
            xs: &[1.0, 0.5],
        }];
        let err =
            descent_1d(dir.path().join("x.bmp"), &|x| x, &p, &Default::default()).unwrap_err();
        assert!(err.to_string().contains("x.bmp"), "{err}");
        let err =
            descent_1d(dir.path().join("x.png"), &|x| x, &[], &Default::default()).unwrap_err();
        assert!(err.to_string().contains("no x_range"), "{err}");
        let opts = Descent1dOptions {
            x_range: Some((1.0, 1.0)),
            ..Default::default()
        };
        let err = descent_1d(dir.path().join("x.png"), &|x| x, &p, &opts).unwrap_err();
        assert!(err.to_string().contains("x_range"), "{err}");
        assert!(dir.entries().is_empty());
    }
}
