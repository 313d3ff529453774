//! `surface_3d`: a 3-D view of f(x, y) with descent paths drawn on the surface.

use std::path::Path;

use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

use super::contour::{Grid, LevelSpacing, Levels};
use super::contour_2d::{plane_ranges, Path2d};
use super::draw::Fonts;
use super::font::FAMILY;
use super::geom::{finite_bounds, pad_range};
use super::output::{begin_figure, msg, render, Figure, FigureSize};
use super::style::{format_number, overlay_color, shade, viridis};
use super::PlotError;

/// Options of [`surface_3d`].
#[derive(Debug, Clone)]
pub struct Surface3dOptions {
    /// Canvas size.
    pub size: FigureSize,
    /// Figure title (empty for none).
    pub title: String,
    /// Title of the function's first input axis.
    pub x_label: String,
    /// Title of the function's second input axis.
    pub y_label: String,
    /// Title of the vertical (value) axis.
    pub z_label: String,
    /// X range; `None` covers every path with a margin.
    pub x_range: Option<(f64, f64)>,
    /// Y range; `None` covers every path with a margin.
    pub y_range: Option<(f64, f64)>,
    /// Margin added on each side of an automatic range, as a fraction of its span.
    pub margin: f64,
    /// Cells per axis of the surface mesh.
    pub grid: usize,
    /// How surface colours are spread over the values.
    pub color_spacing: LevelSpacing,
    /// Camera rotation around the vertical axis, in radians.
    pub yaw: f64,
    /// Camera elevation, in radians.
    pub pitch: f64,
    /// Zoom factor of the projection.
    pub scale: f64,
}

impl Default for Surface3dOptions {
    fn default() -> Self {
        Self {
            size: FigureSize::default(),
            title: String::new(),
            x_label: "x".into(),
            y_label: "y".into(),
            z_label: "f(x, y)".into(),
            x_range: None,
            y_range: None,
            margin: 0.15,
            grid: 48,
            color_spacing: LevelSpacing::Auto,
            yaw: 0.7,
            pitch: 0.4,
            scale: 0.85,
        }
    }
}

struct SurfaceFigure<'a> {
    f: &'a dyn Fn(f64, f64) -> f64,
    paths: &'a [Path2d<'a>],
    opts: &'a Surface3dOptions,
    x: (f64, f64),
    y: (f64, f64),
    z: (f64, f64),
    grid: Grid,
    levels: Levels,
}

impl Figure for SurfaceFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let fonts = Fonts::for_canvas(self.opts.size);
        let (x, y, z) = (self.x, self.y, self.z);
        let mut builder = ChartBuilder::on(root);
        if !self.opts.title.is_empty() {
            builder.caption(&self.opts.title, (FAMILY, fonts.caption));
        }
        // Plot axes: x = first input, y = value (vertical), z = second input.
        let mut chart = builder
            .margin(20)
            .build_cartesian_3d(x.0..x.1, z.0..z.1, y.0..y.1)
            .map_err(msg)?;
        let (yaw, pitch, scale) = (self.opts.yaw, self.opts.pitch, self.opts.scale);
        chart.with_projection(|mut pb| {
            pb.yaw = yaw;
            pb.pitch = pitch;
            pb.scale = scale;
            pb.into_matrix()
        });
        let fmt = |v: &f64| format_number(*v);
        chart
            .configure_axes()
            .label_style((FAMILY, fonts.tick))
            .x_formatter(&fmt)
            .y_formatter(&fmt)
            .z_formatter(&fmt)
            .x_labels(6)
            .y_labels(6)
            .z_labels(6)
            .light_grid_style(RGBColor(235, 235, 235))
            .bold_grid_style(RGBColor(200, 200, 200))
            .axis_panel_style(RGBColor(248, 248, 248))
            .draw()
            .map_err(msg)?;

        // Painter's algorithm: cells sorted far to near by the projected depth of their centre.
        let g = &self.grid;
        let (nx, ny) = (g.nx(), g.ys.len());
        let mut cells = Vec::with_capacity((nx - 1) * (ny - 1));
        for j in 0..ny - 1 {
            for i in 0..nx - 1 {
                let v = [
                    g.at(i, j),
                    g.at(i + 1, j),
                    g.at(i + 1, j + 1),
                    g.at(i, j + 1),
                ];
                if v.iter().any(|a| a.is_nan()) {
                    continue;
                }
                let mean = v.iter().sum::<f64>() / 4.0;
                let cx = 0.5 * (g.xs[i] + g.xs[i + 1]);
                let cy = 0.5 * (g.ys[j] + g.ys[j + 1]);
                let depth = chart
                    .as_coord_spec()
                    .projected_depth(&cx, &mean.clamp(z.0, z.1), &cy);
                cells.push((depth, i, j, v, mean));
            }
        }
        cells.sort_by_key(|c| std::cmp::Reverse(c.0));
        let zc = |v: f64| v.clamp(z.0, z.1);
        let area = chart.plotting_area();
        for &(_, i, j, v, mean) in &cells {
            let corners = vec![
                (g.xs[i], zc(v[0]), g.ys[j]),
                (g.xs[i + 1], zc(v[1]), g.ys[j]),
                (g.xs[i + 1], zc(v[2]), g.ys[j + 1]),
                (g.xs[i], zc(v[3]), g.ys[j + 1]),
            ];
            let color = viridis(self.levels.value_pos(mean));
            let edge = shade(color, -0.25);
            area.draw(&Polygon::new(corners.clone(), color.filled()))
                .map_err(msg)?;
            area.draw(&PathElement::new(closed(&corners), edge.stroke_width(1)))
                .map_err(msg)?;
        }

        for (k, p) in self.paths.iter().enumerate() {
            let color = overlay_color(k);
            let halo = if color == BLACK { WHITE } else { BLACK };
            let pts: Vec<(f64, f64, f64)> = p
                .points
                .iter()
                .map(|q| (q[0], (self.f)(q[0], q[1]), q[1]))
                .filter(|q| q.0 >= x.0 && q.0 <= x.1 && q.2 >= y.0 && q.2 <= y.1 && q.1.is_finite())
                .map(|q| (q.0, zc(q.1), q.2))
                .collect();
            if pts.is_empty() {
                continue;
            }
            // Separate segments (no joins, hence no miter spikes at sharp turns), skipping
            // those shorter than a pixel.
            let coord = chart.as_coord_spec().clone();
            let segments: Vec<[(f64, f64, f64); 2]> = pts
                .windows(2)
                .filter(|w| {
                    let (a, b) = (coord.translate(&w[0]), coord.translate(&w[1]));
                    a != b
                })
                .map(|w| [w[0], w[1]])
                .collect();
            for style in [halo.stroke_width(5), color.stroke_width(3)] {
                chart
                    .draw_series(segments.iter().map(|s| PathElement::new(s.to_vec(), style)))
                    .map_err(msg)?;
            }
            let stride = pts.len().div_ceil(40).max(1);
            chart
                .draw_series(
                    pts.iter()
                        .step_by(stride)
                        .map(|q| Circle::new(*q, 3, color.filled())),
                )
                .map_err(msg)?;
            chart
                .draw_series([
                    Circle::new(pts[0], 7, color.filled()),
                    Circle::new(pts[0], 7, halo.stroke_width(2)),
                ])
                .map_err(msg)?;
            if !p.name.is_empty() {
                chart
                    .draw_series(std::iter::empty::<Circle<(f64, f64, f64), i32>>())
                    .map_err(msg)?
                    .label(p.name)
                    .legend(move |(lx, ly)| {
                        EmptyElement::at((lx, ly))
                            + PathElement::new(vec![(0, 0), (22, 0)], color.stroke_width(3))
                            + Circle::new((11, 0), 4, color.filled())
                            + Circle::new((11, 0), 4, halo.stroke_width(1))
                    });
            }
        }
        // Axis titles beside the far ends of the axes.
        let label = TextStyle::from((FAMILY, fonts.axis)).color(&BLACK);
        let titles = [
            (&self.opts.x_label, (x.1 + 0.12 * (x.1 - x.0), z.0, y.0)),
            (&self.opts.y_label, (x.0, z.0, y.1 + 0.12 * (y.1 - y.0))),
            (&self.opts.z_label, (x.0, z.1 + 0.06 * (z.1 - z.0), y.1)),
        ];
        for (text, pos) in titles {
            if !text.is_empty() {
                chart
                    .draw_series(std::iter::once(Text::new(
                        text.to_string(),
                        pos,
                        label.clone(),
                    )))
                    .map_err(msg)?;
            }
        }
        if self.paths.iter().any(|p| !p.name.is_empty()) {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .margin(10)
                .label_font((FAMILY, fonts.legend))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(160, 160, 160))
                .draw()
                .map_err(msg)?;
        }
        Ok(())
    }
}

/// The polygon outline, closed back to its first corner.
fn closed(points: &[(f64, f64, f64)]) -> Vec<(f64, f64, f64)> {
    let mut v = points.to_vec();
    v.push(points[0]);
    v
}

/// 3-D surface of `f` coloured by value, with each path drawn on it.
///
/// Mesh cells touching a non-finite value are left out; path points outside the ranges or
/// with a non-finite value are skipped. Values are clipped to the vertical range, which
/// covers the sampled surface with a small margin.
pub fn surface_3d(
    path: impl AsRef<Path>,
    f: &dyn Fn(f64, f64) -> f64,
    paths: &[Path2d<'_>],
    opts: &Surface3dOptions,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let bad = begin_figure(path, opts.size)?;
    let (x, y) = plane_ranges(paths, opts.x_range, opts.y_range, opts.margin, &bad)?;
    let n = opts.grid.clamp(2, 300) + 1;
    let grid = Grid::sample(f, x, y, n, n);
    let levels = Levels::new(&grid.z, 64, opts.color_spacing)
        .ok_or_else(|| bad("the function is not finite anywhere on the grid".into()))?;
    let z = pad_range(
        finite_bounds(grid.z.iter().copied()).unwrap_or((0.0, 1.0)),
        0.03,
    );
    let figure = SurfaceFigure {
        f,
        paths,
        opts,
        x,
        y,
        z,
        grid,
        levels,
    };
    render(path, opts.size, &figure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::testutil::{assert_png_figure, assert_svg_contains, keep, TempDir};

    fn bowl(x: f64, y: f64) -> f64 {
        x * x + 2.0 * y * y
    }

    fn gd(lr: f64) -> Vec<[f64; 2]> {
        let mut p = [-1.8, 1.2];
        let mut out = vec![p];
        for _ in 0..25 {
            p = [p[0] - lr * 2.0 * p[0], p[1] - lr * 4.0 * p[1]];
            out.push(p);
        }
        out
    }

    #[test]
    fn bowl_surface_png() {
        let dir = TempDir::new("s3-png");
        let a = gd(0.1);
        let b = gd(0.45);
        let paths = [
            Path2d {
                name: "gd lr=0.1",
                points: &a,
                start_gradient: None,
            },
            Path2d {
                name: "gd lr=0.45",
                points: &b,
                start_gradient: None,
            },
        ];
        let opts = Surface3dOptions {
            title: "f(x, y) = x² + 2y²".into(),
            x_range: Some((-2.0, 2.0)),
            y_range: Some((-2.0, 2.0)),
            ..Default::default()
        };
        let path = dir.path().join("surface.png");
        surface_3d(&path, &bowl, &paths, &opts).unwrap();
        keep(&path);
        assert_png_figure(&path, 900, 700, 60);
    }

    #[test]
    fn svg_with_holes_keeps_legend() {
        let dir = TempDir::new("s3-svg");
        let a = gd(0.1);
        let paths = [Path2d {
            name: "descent",
            points: &a,
            start_gradient: None,
        }];
        let f = |x: f64, y: f64| if x > 1.0 { f64::NAN } else { bowl(x, y) };
        let path = dir.path().join("surface.svg");
        let opts = Surface3dOptions {
            grid: 12,
            ..Default::default()
        };
        surface_3d(&path, &f, &paths, &opts).unwrap();
        assert_svg_contains(&path, &["descent", "f(x, y)"]);
    }

    #[test]
    fn bad_range_is_rejected() {
        let dir = TempDir::new("s3-bad");
        let opts = Surface3dOptions {
            x_range: Some((2.0, -2.0)),
            ..Default::default()
        };
        let err = surface_3d(dir.path().join("s.png"), &bowl, &[], &opts).unwrap_err();
        assert!(err.to_string().contains("x_range"), "{err}");
        assert!(dir.entries().is_empty());
    }
}
