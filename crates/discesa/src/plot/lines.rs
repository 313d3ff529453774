//! Line-chart panels shared by `series`, `training_curves` and `grad_norms`.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{
    add_legend, build_chart, draw_legend, draw_markers, draw_mesh, draw_polyline, draw_side_legend,
    legend_width, quiet_corner, Fonts, LegendKey,
};
use super::font::FAMILY;
use super::geom::{finite_bounds, pad_range, Rect};
use super::output::msg;

/// Above this many entries the legend is drawn beside the plot instead of inside it.
const OUTSIDE_LEGEND_ENTRIES: usize = 4;

/// One line of a panel: `ys[i]` is drawn at `x_start + i`.
pub(crate) struct Line<'a> {
    pub name: &'a str,
    pub ys: &'a [f64],
    pub x_start: f64,
    pub color: RGBColor,
    pub width: u32,
    pub dashed: bool,
    pub markers: bool,
}

/// A single chart with its lines and axis settings.
pub(crate) struct PanelSpec<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub y_label: &'a str,
    pub log_y: bool,
    pub lines: Vec<Line<'a>>,
    pub fonts: Fonts,
}

/// Axis-space points of a line: log10 for log axes, dropping non-finite and (on log axes)
/// non-positive values by turning them into gaps.
fn axis_points(line: &Line<'_>, log_y: bool) -> Vec<(f64, f64)> {
    line.ys
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            let x = line.x_start + i as f64;
            let y = if log_y {
                if y > 0.0 {
                    y.log10()
                } else {
                    f64::NAN
                }
            } else {
                y
            };
            (x, if y.is_finite() { y } else { f64::NAN })
        })
        .collect()
}

/// Legend key matching how a line is drawn.
fn key_of(line: &Line<'_>) -> LegendKey {
    LegendKey {
        color: line.color,
        width: line.width,
        dashed: line.dashed,
        marker: line.markers,
    }
}

/// Draws one panel on `area`; a log axis without any positive value falls back to linear.
pub(crate) fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    spec: &PanelSpec<'_>,
) -> Result<(), String> {
    let fonts = spec.fonts;
    let mut log_y = spec.log_y;
    let mut pts: Vec<Vec<(f64, f64)>> = spec.lines.iter().map(|l| axis_points(l, log_y)).collect();
    let mut note = None;
    if log_y && finite_bounds(pts.iter().flatten().map(|p| p.1)).is_none() {
        log_y = false;
        note = Some("no positive values: linear axis");
        pts = spec.lines.iter().map(|l| axis_points(l, false)).collect();
    }
    let all: Vec<(f64, f64)> = pts
        .iter()
        .flatten()
        .copied()
        .filter(|p| p.1.is_finite())
        .collect();
    let x = finite_bounds(all.iter().map(|p| p.0)).unwrap_or((0.0, 1.0));
    let x = if x.1 > x.0 { x } else { pad_range(x, 0.0) };
    let y = pad_range(
        finite_bounds(all.iter().map(|p| p.1)).unwrap_or((0.0, 1.0)),
        0.06,
    );
    let names: Vec<&str> = spec
        .lines
        .iter()
        .map(|l| l.name)
        .filter(|n| !n.is_empty())
        .collect();
    // Long legends go beside the plot so they never hide data.
    let outside = names.len() > OUTSIDE_LEGEND_ENTRIES;
    let right = if outside {
        legend_width(names.iter().copied(), fonts)
    } else {
        0
    };
    let mut chart = build_chart(area, spec.title, x, y, fonts, right)?;
    draw_mesh(&mut chart, spec.x_label, spec.y_label, log_y, fonts, true)?;
    for (line, p) in spec.lines.iter().zip(&pts) {
        let style = line.color.stroke_width(line.width);
        draw_polyline(&mut chart, p, style, line.dashed)?;
        if line.markers {
            draw_markers(
                &mut chart,
                p,
                line.width as i32 + 2,
                line.color.filled(),
                80,
            )?;
        }
        if !outside {
            add_legend(&mut chart, line.name, key_of(line))?;
        }
    }
    if let Some(text) = note {
        let px = super::draw::pixel_rect(&chart);
        let style = TextStyle::from((FAMILY, fonts.note)).color(&RGBColor(120, 120, 120));
        area.draw(&Text::new(
            text,
            (px.x0 as i32 + 8, px.y0 as i32 + 6),
            style,
        ))
        .map_err(msg)?;
    }
    if outside {
        let px = super::draw::pixel_rect(&chart);
        let entries: Vec<(&str, LegendKey)> = spec
            .lines
            .iter()
            .filter(|l| !l.name.is_empty())
            .map(|l| (l.name, key_of(l)))
            .collect();
        let (ox, oy) = area.get_base_pixel();
        let at = (px.x1 as i32 + 14 - ox, px.y0 as i32 - oy);
        draw_side_legend(area, at, &entries, fonts)?;
    } else if !names.is_empty() {
        let rect = Rect {
            x0: x.0,
            x1: x.1,
            y0: y.0,
            y1: y.1,
        };
        let corner = quiet_corner(&all, &rect);
        draw_legend(&mut chart, corner, fonts)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axis_turns_non_positive_and_nan_into_gaps() {
        let ys = [100.0, 0.0, -1.0, f64::NAN, 0.01];
        let line = Line {
            name: "a",
            ys: &ys,
            x_start: 1.0,
            color: BLACK,
            width: 2,
            dashed: false,
            markers: false,
        };
        let p = axis_points(&line, true);
        assert_eq!(p[0], (1.0, 2.0));
        assert!(p[1].1.is_nan() && p[2].1.is_nan() && p[3].1.is_nan());
        assert!((p[4].1 + 2.0).abs() < 1e-12);
        assert_eq!(p[4].0, 5.0);
        let lin = axis_points(&line, false);
        assert_eq!(lin[2], (3.0, -1.0));
    }
}
