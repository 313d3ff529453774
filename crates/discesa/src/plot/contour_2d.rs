//! `contour_2d`: filled contours of f(x, y) with descent paths and start gradients on top.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::contour::{isolines, Grid, LevelSpacing, Levels};
use super::draw::{
    add_legend, build_chart, draw_arrow_px, draw_legend, draw_mesh, pixel_rect, quiet_corner,
    to_px, Chart2d, Fonts, LegendKey,
};
use super::font::FAMILY;
use super::geom::{axis_range, Rect};
use super::output::{begin_figure, msg, render, Figure, FigureSize, Format};
use super::style::{format_number, overlay_color, viridis};
use super::PlotError;

/// The iterates of one descent run on a 2-D function.
#[derive(Debug, Clone, Copy)]
pub struct Path2d<'a> {
    /// Legend entry (e.g. "gd", "momentum", "adam").
    pub name: &'a str,
    /// Iterates `(x, y)`; non-finite points break the drawn line.
    pub points: &'a [[f64; 2]],
    /// Gradient at the first point; `None` estimates it by central differences of `f`.
    pub start_gradient: Option<[f64; 2]>,
}

/// An axis range `(min, max)`.
type AxisRange = (f64, f64);

/// The x and y ranges of a figure over the plane: the ones given, else the span of the paths'
/// finite points padded by `margin` of it.
pub(crate) fn plane_ranges(
    paths: &[Path2d<'_>],
    x_range: Option<AxisRange>,
    y_range: Option<AxisRange>,
    margin: f64,
    bad: &dyn Fn(String) -> PlotError,
) -> Result<(AxisRange, AxisRange), PlotError> {
    let finite = |q: &&[f64; 2]| q[0].is_finite() && q[1].is_finite();
    let pts = || paths.iter().flat_map(|p| p.points.iter()).filter(finite);
    let range = |axis: usize, given, name| {
        axis_range(
            given,
            pts().map(|q| q[axis]),
            margin,
            name,
            "path point",
            bad,
        )
    };
    Ok((range(0, x_range, "x_range")?, range(1, y_range, "y_range")?))
}

/// Options of [`contour_2d`].
#[derive(Debug, Clone)]
pub struct Contour2dOptions {
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
    /// Y range; `None` covers every path with a margin.
    pub y_range: Option<(f64, f64)>,
    /// Margin added on each side of an automatic range, as a fraction of its span.
    pub margin: f64,
    /// Samples per axis of the function grid.
    pub grid: usize,
    /// Number of filled bands (contour lines sit between them).
    pub levels: usize,
    /// Spacing of the levels.
    pub spacing: LevelSpacing,
    /// Draw iso-lines on top of the filled bands.
    pub lines: bool,
    /// Draw the negative gradient at each path's start, labelled with its norm.
    pub start_gradient: bool,
    /// Draw a colour bar with the level values.
    pub colorbar: bool,
}

impl Default for Contour2dOptions {
    fn default() -> Self {
        Self {
            size: FigureSize::default(),
            title: String::new(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_range: None,
            y_range: None,
            margin: 0.15,
            grid: 200,
            levels: 20,
            spacing: LevelSpacing::Auto,
            lines: true,
            start_gradient: true,
            colorbar: true,
        }
    }
}

struct ContourFigure<'a> {
    f: &'a dyn Fn(f64, f64) -> f64,
    paths: &'a [Path2d<'a>],
    opts: &'a Contour2dOptions,
    x: (f64, f64),
    y: (f64, f64),
    grid: Grid,
    levels: Levels,
    /// SVG output fills at grid resolution (small files); PNG at pixel resolution (smooth).
    vector: bool,
}

/// Finite points of a path as tuples (non-finite ones become NaN gaps).
fn points(p: &Path2d<'_>) -> Vec<(f64, f64)> {
    p.points
        .iter()
        .map(|q| {
            if q[0].is_finite() && q[1].is_finite() {
                (q[0], q[1])
            } else {
                (f64::NAN, f64::NAN)
            }
        })
        .collect()
}

/// Central-difference gradient of `f` at `(x, y)`, for paths that do not supply one.
fn numeric_gradient(f: &dyn Fn(f64, f64) -> f64, x: f64, y: f64) -> [f64; 2] {
    let hx = 1e-6 * x.abs().max(1.0);
    let hy = 1e-6 * y.abs().max(1.0);
    [
        (f(x + hx, y) - f(x - hx, y)) / (2.0 * hx),
        (f(x, y + hy) - f(x, y - hy)) / (2.0 * hy),
    ]
}

impl ContourFigure<'_> {
    /// Filled bands: runs of equal band along each raster row, drawn as rectangles.
    fn fill<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        px: &Rect,
    ) -> Result<(), String> {
        let (w, h) = ((px.x1 - px.x0) as usize + 1, (px.y1 - px.y0) as usize + 1);
        let (cols, rows) = if self.vector {
            (self.grid.nx().min(w), self.grid.ys.len().min(h))
        } else {
            (w, h)
        };
        let (x, y) = (self.x, self.y);
        let cell_w = w as f64 / cols as f64;
        let cell_h = h as f64 / rows as f64;
        for r in 0..rows {
            let yv = y.1 - (r as f64 + 0.5) / rows as f64 * (y.1 - y.0);
            let top = px.y0 + r as f64 * cell_h;
            let bottom = px.y0 + (r + 1) as f64 * cell_h;
            let band = |c: usize| {
                let xv = x.0 + (c as f64 + 0.5) / cols as f64 * (x.1 - x.0);
                self.levels.band(self.grid.interpolate(xv, yv))
            };
            let mut c = 0;
            while c < cols {
                let b = band(c);
                let mut e = c + 1;
                while e < cols && band(e) == b {
                    e += 1;
                }
                if let Some(k) = b {
                    let left = px.x0 + c as f64 * cell_w;
                    let right = px.x0 + e as f64 * cell_w;
                    let color = viridis(self.levels.color_pos(k));
                    let rect = Rectangle::new(
                        [
                            (left.round() as i32, top.round() as i32),
                            (right.round() as i32, bottom.round() as i32),
                        ],
                        color.filled(),
                    );
                    root.draw(&rect).map_err(msg)?;
                }
                c = e;
            }
        }
        Ok(())
    }

    /// Iso-lines at the inner band boundaries.
    fn contour_lines<'a, DB: DrawingBackend + 'a>(
        &self,
        chart: &mut Chart2d<'a, DB>,
    ) -> Result<(), String> {
        let style = BLACK.mix(0.3).stroke_width(1);
        let inner = &self.levels.bounds[1..self.levels.bounds.len() - 1];
        for &level in inner {
            for line in isolines(&self.grid, level) {
                chart
                    .draw_series(std::iter::once(PathElement::new(line, style)))
                    .map_err(msg)?;
            }
        }
        Ok(())
    }

    /// Vertical colour bar right of the plot, with a few level values.
    fn colorbar<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        px: &Rect,
        fonts: Fonts,
    ) -> Result<(), String> {
        let n = self.levels.bands();
        let (x0, x1) = (px.x1 as i32 + 18, px.x1 as i32 + 36);
        let height = px.y1 - px.y0;
        let ypos = |k: usize| (px.y1 - k as f64 / n as f64 * height).round() as i32;
        for k in 0..n {
            let color = viridis(self.levels.color_pos(k));
            root.draw(&Rectangle::new(
                [(x0, ypos(k + 1)), (x1, ypos(k))],
                color.filled(),
            ))
            .map_err(msg)?;
        }
        root.draw(&Rectangle::new(
            [(x0, px.y0 as i32), (x1, px.y1 as i32)],
            RGBColor(90, 90, 90).stroke_width(1),
        ))
        .map_err(msg)?;
        let style = TextStyle::from((FAMILY, fonts.tick)).pos(Pos::new(HPos::Left, VPos::Center));
        let ticks = n.min(8);
        for t in 0..=ticks {
            let k = (t * n + ticks / 2) / ticks;
            let text = format_number(self.levels.bounds[k]);
            root.draw(&Text::new(text, (x1 + 5, ypos(k)), style.clone()))
                .map_err(msg)?;
        }
        let title = if self.levels.log {
            "f (log levels)"
        } else {
            "f"
        };
        let t = TextStyle::from((FAMILY, fonts.tick)).pos(Pos::new(HPos::Left, VPos::Bottom));
        let above = (fonts.tick * 0.8) as i32 + 4;
        root.draw(&Text::new(title, (x0, px.y0 as i32 - above), t))
            .map_err(msg)?;
        Ok(())
    }

    /// Arrow along −∇f at the start point, a fixed fraction of the plot size long.
    fn gradient_arrow<'a, DB: DrawingBackend + 'a>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &Chart2d<'a, DB>,
        path: &Path2d<'_>,
        color: RGBColor,
        fonts: Fonts,
    ) -> Result<(), String> {
        let Some(start) = path.points.first() else {
            return Ok(());
        };
        let g = path
            .start_gradient
            .unwrap_or_else(|| numeric_gradient(self.f, start[0], start[1]));
        let norm = (g[0] * g[0] + g[1] * g[1]).sqrt();
        let px = pixel_rect(chart);
        let from = to_px(chart, (start[0], start[1]));
        if !norm.is_finite() || norm == 0.0 || !px.contains(from) {
            return Ok(());
        }
        // Screen direction of −∇f: scale each component by pixels per data unit.
        let sx = (px.x1 - px.x0) / (self.x.1 - self.x.0);
        let sy = (px.y1 - px.y0) / (self.y.1 - self.y.0);
        let (dx, dy) = (-g[0] * sx, g[1] * sy);
        let d = (dx * dx + dy * dy).sqrt();
        if d == 0.0 || !d.is_finite() {
            return Ok(());
        }
        let len = 0.13 * (px.x1 - px.x0).min(px.y1 - px.y0);
        let to = (from.0 + dx / d * len, from.1 + dy / d * len);
        draw_arrow_px(root, from, to, &px, BLACK, 6, 18.0)?;
        draw_arrow_px(root, from, to, &px, color, 3, 15.0)?;
        let label = format!("−∇f  |∇f| = {}", format_number(norm));
        let font = FontDesc::from((FAMILY, fonts.note));
        let (tw, th) = font.box_size(&label).map_err(msg)?;
        let (tw, th) = (tw as f64, th as f64);
        // Beyond the tip, kept inside the plot.
        let mut lx = if dx >= 0.0 {
            to.0 + 6.0
        } else {
            to.0 - 6.0 - tw
        };
        let mut ly = if dy >= 0.0 {
            to.1 + 4.0
        } else {
            to.1 - 4.0 - th
        };
        lx = lx.clamp(px.x0 + 2.0, (px.x1 - tw - 2.0).max(px.x0 + 2.0));
        ly = ly.clamp(px.y0 + 2.0, (px.y1 - th - 2.0).max(px.y0 + 2.0));
        let (lx, ly) = (lx.round() as i32, ly.round() as i32);
        root.draw(&Rectangle::new(
            [(lx - 3, ly - 2), (lx + tw as i32 + 3, ly + th as i32 + 3)],
            WHITE.mix(0.8).filled(),
        ))
        .map_err(msg)?;
        root.draw(&Text::new(label, (lx, ly), font.color(&BLACK)))
            .map_err(msg)?;
        Ok(())
    }
}

impl Figure for ContourFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let fonts = Fonts::for_canvas(self.opts.size);
        let right = if self.opts.colorbar {
            (fonts.tick * 5.5) as u32 + 40
        } else {
            0
        };
        let mut chart = build_chart(root, &self.opts.title, self.x, self.y, fonts, right)?;
        let px = pixel_rect(&chart);
        self.fill(root, &px)?;
        if self.opts.lines {
            self.contour_lines(&mut chart)?;
        }
        draw_mesh(
            &mut chart,
            &self.opts.x_label,
            &self.opts.y_label,
            false,
            fonts,
            false,
        )?;
        let rect = super::draw::data_rect(&chart);
        let mut all_points = Vec::new();
        for (i, p) in self.paths.iter().enumerate() {
            let color = overlay_color(i);
            let pts = points(p);
            let halo = if color == BLACK { WHITE } else { BLACK };
            let segments = super::draw::draw_path_segments;
            segments(&mut chart, &pts, halo.mix(0.8).stroke_width(5))?;
            segments(&mut chart, &pts, color.stroke_width(3))?;
            let markers = super::draw::draw_markers;
            markers(&mut chart, &pts, 4, halo.filled(), 40)?;
            markers(&mut chart, &pts, 3, color.filled(), 40)?;
            if let Some(first) = pts.first().filter(|q| rect.contains(**q)) {
                chart
                    .draw_series([
                        Circle::new(*first, 8, color.filled()),
                        Circle::new(*first, 8, halo.stroke_width(2)),
                    ])
                    .map_err(msg)?;
            }
            if let Some(last) = pts
                .iter()
                .rev()
                .find(|q| q.0.is_finite() && rect.contains(**q))
            {
                chart
                    .draw_series([
                        Cross::new(*last, 8, halo.stroke_width(6)),
                        Cross::new(*last, 8, color.stroke_width(3)),
                    ])
                    .map_err(msg)?;
            }
            add_legend(
                &mut chart,
                p.name,
                LegendKey {
                    color,
                    width: 3,
                    dashed: false,
                    marker: true,
                },
            )?;
            all_points.extend(pts);
        }
        if self.opts.start_gradient {
            // Paths sharing a start point share one arrow.
            let mut starts: Vec<[f64; 2]> = Vec::new();
            for (i, p) in self.paths.iter().enumerate() {
                let Some(s) = p.points.first() else { continue };
                if starts.contains(s) {
                    continue;
                }
                starts.push(*s);
                self.gradient_arrow(root, &chart, p, overlay_color(i), fonts)?;
            }
        }
        if self.opts.colorbar {
            self.colorbar(root, &px, fonts)?;
        }
        if self.paths.iter().any(|p| !p.name.is_empty()) {
            draw_legend(&mut chart, quiet_corner(&all_points, &rect), fonts)?;
        }
        Ok(())
    }
}

/// Filled contours of `f` with descent paths, their start gradients and a colour bar.
///
/// Grid cells where `f` is not finite are left unfilled; non-finite path points break the
/// line. Without explicit ranges the view covers every path point with a margin.
pub fn contour_2d(
    path: impl AsRef<Path>,
    f: &dyn Fn(f64, f64) -> f64,
    paths: &[Path2d<'_>],
    opts: &Contour2dOptions,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let bad = begin_figure(path, opts.size)?;
    let format = Format::from_path(path)?;
    let (x, y) = plane_ranges(paths, opts.x_range, opts.y_range, opts.margin, &bad)?;
    let n = opts.grid.clamp(2, 2000);
    let grid = Grid::sample(f, x, y, n, n);
    let levels = Levels::new(&grid.z, opts.levels.clamp(2, 200), opts.spacing)
        .ok_or_else(|| bad("the function is not finite anywhere on the grid".into()))?;
    let figure = ContourFigure {
        f,
        paths,
        opts,
        x,
        y,
        grid,
        levels,
        vector: format == Format::Svg,
    };
    render(path, opts.size, &figure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::testutil::{assert_png_figure, assert_svg_contains, keep, TempDir};

    fn rosenbrock(x: f64, y: f64) -> f64 {
        (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
    }

    fn rosen_grad(p: [f64; 2]) -> [f64; 2] {
        let [x, y] = p;
        [
            -2.0 * (1.0 - x) - 400.0 * x * (y - x * x),
            200.0 * (y - x * x),
        ]
    }

    fn run(lr: f64, beta: f64, steps: usize) -> Vec<[f64; 2]> {
        let mut p = [-1.5, 2.0];
        let mut v = [0.0, 0.0];
        let mut out = vec![p];
        for _ in 0..steps {
            let g = rosen_grad(p);
            for k in 0..2 {
                v[k] = beta * v[k] + g[k];
                p[k] -= lr * v[k];
            }
            out.push(p);
        }
        out
    }

    #[test]
    fn rosenbrock_png_with_two_paths() {
        let dir = TempDir::new("c2-png");
        let gd = run(4e-4, 0.0, 400);
        let mom = run(2e-4, 0.9, 400);
        let diverged = run(3e-3, 0.0, 400);
        let paths = [
            Path2d {
                name: "gd",
                points: &gd,
                start_gradient: Some(rosen_grad(gd[0])),
            },
            Path2d {
                name: "momentum",
                points: &mom,
                start_gradient: None,
            },
            Path2d {
                name: "gd, lr too large",
                points: &diverged,
                start_gradient: None,
            },
        ];
        let opts = Contour2dOptions {
            title: "Rosenbrock".into(),
            x_range: Some((-2.0, 2.0)),
            y_range: Some((-1.0, 3.0)),
            ..Default::default()
        };
        let path = dir.path().join("contour.png");
        let t = std::time::Instant::now();
        contour_2d(&path, &rosenbrock, &paths, &opts).unwrap();
        eprintln!("contour_2d 900x700, grid 200: {:?}", t.elapsed());
        keep(&path);
        assert_png_figure(&path, 900, 700, 60);
    }

    #[test]
    fn svg_auto_range_has_legend_and_gradient_label() {
        let dir = TempDir::new("c2-svg");
        let pts = [
            [2.0, 1.0],
            [1.0, 0.6],
            [0.4, 0.2],
            [f64::NAN, 0.0],
            [0.1, 0.05],
        ];
        let paths = [Path2d {
            name: "adam",
            points: &pts,
            start_gradient: None,
        }];
        let path = dir.path().join("bowl.svg");
        let f = |x: f64, y: f64| {
            if x < -0.2 {
                f64::NAN
            } else {
                x * x + 3.0 * y * y
            }
        };
        contour_2d(&path, &f, &paths, &Contour2dOptions::default()).unwrap();
        keep(&path);
        assert_svg_contains(&path, &["adam", "|∇f| = 7.2"]);
    }

    #[test]
    fn numeric_gradient_matches_analytic() {
        let g = numeric_gradient(&rosenbrock, -1.5, 2.0);
        let exact = rosen_grad([-1.5, 2.0]);
        assert!(
            (g[0] - exact[0]).abs() < 1e-4 * exact[0].abs(),
            "{g:?} vs {exact:?}"
        );
        assert!((g[1] - exact[1]).abs() < 1e-4 * exact[1].abs().max(1.0));
    }

    #[test]
    fn bad_inputs_leave_no_file() {
        let dir = TempDir::new("c2-bad");
        let f = |x: f64, y: f64| x + y;
        let err = contour_2d(dir.path().join("c.png"), &f, &[], &Default::default()).unwrap_err();
        assert!(err.to_string().contains("x_range"), "{err}");
        let opts = Contour2dOptions {
            x_range: Some((0.0, 1.0)),
            y_range: Some((0.0, 1.0)),
            ..Default::default()
        };
        let nan = |_: f64, _: f64| f64::NAN;
        let err = contour_2d(dir.path().join("c.png"), &nan, &[], &opts).unwrap_err();
        assert!(err.to_string().contains("not finite anywhere"), "{err}");
        let err = contour_2d(dir.path().join("c.pdf"), &f, &[], &opts).unwrap_err();
        assert!(err.to_string().contains("c.pdf"), "{err}");
        assert!(dir.entries().is_empty());
    }
}
