//! Drawing helpers shared by the figures: chart setup, clipped lines, arrows, legends.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::font::FAMILY;
use super::geom::{arrow_shape, clip_polyline, clip_segment, Rect};
use super::output::msg;

/// The only chart type used in 2-D figures: linear f64 axes (log axes are drawn in log10 space).
pub(crate) type Chart2d<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Font sizes scaled to the canvas so small figures stay legible and large ones balanced.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fonts {
    pub caption: f64,
    pub axis: f64,
    pub tick: f64,
    pub legend: f64,
    pub note: f64,
}

impl Fonts {
    /// Sizes for a whole canvas (panels of one figure share them).
    pub fn for_canvas(size: super::output::FigureSize) -> Self {
        let s = (size.width.min(size.height) as f64 / 700.0).clamp(0.75, 1.6);
        Self {
            caption: 24.0 * s,
            axis: 18.0 * s,
            tick: 15.0 * s,
            legend: 16.0 * s,
            note: 15.0 * s,
        }
    }
}

/// Draws the figure title at the top of `root` and returns the area below it.
pub(crate) fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    size: super::output::FigureSize,
) -> Result<DrawingArea<DB, Shift>, String> {
    if title.is_empty() {
        return Ok(root.clone());
    }
    let fonts = Fonts::for_canvas(size);
    root.titled(title, (FAMILY, fonts.caption)).map_err(msg)
}

/// Builds a captioned chart with linear axes over the given ranges.
pub(crate) fn build_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: (f64, f64),
    y: (f64, f64),
    fonts: Fonts,
    right_margin: u32,
) -> Result<Chart2d<'a, DB>, String> {
    let mut builder = ChartBuilder::on(area);
    if !title.is_empty() {
        builder.caption(title, (FAMILY, fonts.caption));
    }
    builder
        .margin(12)
        .margin_right(20 + right_margin)
        .x_label_area_size((fonts.axis * 2.8) as u32)
        .y_label_area_size((fonts.axis * 4.2) as u32)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(msg)
}

/// Grid, ticks and axis titles; `log_y` prints tick values as powers of ten.
pub(crate) fn draw_mesh<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart2d<'a, DB>,
    x_label: &str,
    y_label: &str,
    log_y: bool,
    fonts: Fonts,
    grid: bool,
) -> Result<(), String> {
    let x_fmt = |v: &f64| super::style::format_number(*v);
    let y_fmt = move |v: &f64| {
        if log_y {
            super::style::format_number(10f64.powf(*v))
        } else {
            super::style::format_number(*v)
        }
    };
    let mut mesh = chart.configure_mesh();
    if !grid {
        mesh.disable_mesh();
    }
    mesh.x_desc(x_label)
        .y_desc(y_label)
        .axis_desc_style((FAMILY, fonts.axis))
        .label_style((FAMILY, fonts.tick))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .light_line_style(RGBColor(242, 242, 242))
        .bold_line_style(RGBColor(215, 215, 215))
        .max_light_lines(4)
        .x_labels(8)
        .y_labels(8)
        .draw()
        .map_err(msg)
}

/// The chart's visible data rectangle.
pub(crate) fn data_rect<'a, DB: DrawingBackend + 'a>(chart: &Chart2d<'a, DB>) -> Rect {
    let (xr, yr) = (chart.x_range(), chart.y_range());
    Rect {
        x0: xr.start,
        x1: xr.end,
        y0: yr.start,
        y1: yr.end,
    }
}

/// Pixel rectangle of the plotting area, in backend (canvas) coordinates.
pub(crate) fn pixel_rect<'a, DB: DrawingBackend + 'a>(chart: &Chart2d<'a, DB>) -> Rect {
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    Rect {
        x0: xr.start as f64,
        x1: (xr.end - 1) as f64,
        y0: yr.start as f64,
        y1: (yr.end - 1) as f64,
    }
}

/// Canvas pixel position of a data point (linear extrapolation outside the range).
pub(crate) fn to_px<'a, DB: DrawingBackend + 'a>(
    chart: &Chart2d<'a, DB>,
    p: (f64, f64),
) -> (f64, f64) {
    let d = data_rect(chart);
    let px = pixel_rect(chart);
    (
        px.x0 + (p.0 - d.x0) / (d.x1 - d.x0) * (px.x1 - px.x0),
        px.y1 - (p.1 - d.y0) / (d.y1 - d.y0) * (px.y1 - px.y0),
    )
}

/// Draws a polyline clipped to the plot; non-finite points break the line.
pub(crate) fn draw_polyline<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart2d<'a, DB>,
    points: &[(f64, f64)],
    style: ShapeStyle,
    dashed: bool,
) -> Result<(), String> {
    let rect = data_rect(chart);
    for piece in clip_polyline(points, &rect) {
        if dashed {
            let size = (style.stroke_width as i32 * 4).max(6);
            chart
                .draw_series(DashedLineSeries::new(piece, size, size * 2 / 3, style))
                .map_err(msg)?;
        } else {
            chart
                .draw_series(std::iter::once(PathElement::new(piece, style)))
                .map_err(msg)?;
        }
    }
    Ok(())
}

/// Draws a thick path one segment at a time, skipping sub-pixel segments.
///
/// Thick polylines through sharp turns (an overshooting path) get long miter spikes from the
/// rasteriser; separate segments have no joins, so they stay clean.
pub(crate) fn draw_path_segments<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart2d<'a, DB>,
    points: &[(f64, f64)],
    style: ShapeStyle,
) -> Result<(), String> {
    let rect = data_rect(chart);
    let mut segments = Vec::new();
    for piece in clip_polyline(points, &rect) {
        for w in piece.windows(2) {
            let (a, b) = (to_px(chart, w[0]), to_px(chart, w[1]));
            if (a.0 - b.0).hypot(a.1 - b.1) >= 1.0 {
                segments.push(PathElement::new(vec![w[0], w[1]], style));
            }
        }
    }
    chart.draw_series(segments).map_err(msg)?;
    Ok(())
}

/// Draws filled circles at the visible finite points, at most `max` of them (evenly thinned).
pub(crate) fn draw_markers<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart2d<'a, DB>,
    points: &[(f64, f64)],
    radius: i32,
    style: ShapeStyle,
    max: usize,
) -> Result<(), String> {
    let rect = data_rect(chart);
    let stride = points.len().div_ceil(max.max(1)).max(1);
    let visible = points
        .iter()
        .step_by(stride)
        .filter(|p| p.0.is_finite() && p.1.is_finite() && rect.contains(**p))
        .map(|p| Circle::new(*p, radius, style));
    chart.draw_series(visible).map_err(msg)?;
    Ok(())
}

/// Draws an arrow between two canvas pixels, clipped to `clip`; the head only if `to` is inside.
pub(crate) fn draw_arrow_px<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    from: (f64, f64),
    to: (f64, f64),
    clip: &Rect,
    color: RGBColor,
    width: u32,
    head_len: f64,
) -> Result<(), String> {
    let Some(shape) = arrow_shape(from, to, head_len) else {
        return Ok(());
    };
    let base = (shape.shaft[1].0 as f64, shape.shaft[1].1 as f64);
    let start = (shape.shaft[0].0 as f64, shape.shaft[0].1 as f64);
    if let Some((a, b)) = clip_segment(start, base, clip) {
        let pts = vec![
            (a.0.round() as i32, a.1.round() as i32),
            (b.0.round() as i32, b.1.round() as i32),
        ];
        root.draw(&PathElement::new(pts, color.stroke_width(width)))
            .map_err(msg)?;
    }
    if clip.contains(to) {
        root.draw(&Polygon::new(shape.head.to_vec(), color.filled()))
            .map_err(msg)?;
    }
    Ok(())
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LegendKey {
    pub color: RGBColor,
    pub width: u32,
    pub dashed: bool,
    pub marker: bool,
}

/// Registers a legend entry without drawing data (the data is drawn with clipping elsewhere).
pub(crate) fn add_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart2d<'a, DB>,
    name: &str,
    key: LegendKey,
) -> Result<(), String> {
    if name.is_empty() {
        return Ok(());
    }
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
        .map_err(msg)?
        .label(name)
        .legend(move |(x, y)| {
            let style = key.color.stroke_width(key.width);
            let gap = if key.dashed { 5 } else { 0 };
            let r = if key.marker { 4 } else { 0 };
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (8, 0)], style)
                + PathElement::new(vec![(8 + gap, 0), (22, 0)], style)
                + Circle::new((11, 0), r, key.color.filled())
        });
    Ok(())
}

/// Picks the legend corner that covers the fewest data points.
pub(crate) fn quiet_corner(points: &[(f64, f64)], rect: &Rect) -> SeriesLabelPosition {
    let (w, h) = (rect.x1 - rect.x0, rect.y1 - rect.y0);
    let (fw, fh) = (0.4 * w, 0.35 * h);
    let corners = [
        (SeriesLabelPosition::UpperRight, rect.x1 - fw, rect.y1 - fh),
        (SeriesLabelPosition::UpperLeft, rect.x0, rect.y1 - fh),
        (SeriesLabelPosition::LowerRight, rect.x1 - fw, rect.y0),
        (SeriesLabelPosition::LowerLeft, rect.x0, rect.y0),
    ];
    let count = |x0: f64, y0: f64| {
        points
            .iter()
            .filter(|p| p.0 >= x0 && p.0 <= x0 + fw && p.1 >= y0 && p.1 <= y0 + fh)
            .count()
    };
    let mut best = (usize::MAX, SeriesLabelPosition::UpperRight);
    for (pos, x0, y0) in corners {
        let c = count(x0, y0);
        if c < best.0 {
            best = (c, pos);
        }
    }
    best.1
}

/// Draws a legend box with its top-left corner at canvas pixel `at` (for legends beside a plot).
pub(crate) fn draw_side_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    at: (i32, i32),
    entries: &[(&str, LegendKey)],
    fonts: Fonts,
) -> Result<(), String> {
    let row = (fonts.legend * 1.45).round() as i32;
    let width = legend_width(entries.iter().map(|e| e.0), fonts) as i32 - 12;
    let height = row * entries.len() as i32 + 10;
    let (x, y) = at;
    root.draw(&Rectangle::new(
        [(x, y), (x + width, y + height)],
        WHITE.filled(),
    ))
    .map_err(msg)?;
    root.draw(&Rectangle::new(
        [(x, y), (x + width, y + height)],
        RGBColor(160, 160, 160).stroke_width(1),
    ))
    .map_err(msg)?;
    let text_style =
        TextStyle::from((FAMILY, fonts.legend)).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (name, key)) in entries.iter().enumerate() {
        let cy = y + 5 + row * i as i32 + row / 2;
        let style = key.color.stroke_width(key.width);
        let gap = if key.dashed { 5 } else { 0 };
        root.draw(&PathElement::new(vec![(x + 8, cy), (x + 16, cy)], style))
            .map_err(msg)?;
        root.draw(&PathElement::new(
            vec![(x + 16 + gap, cy), (x + 30, cy)],
            style,
        ))
        .map_err(msg)?;
        if key.marker {
            root.draw(&Circle::new((x + 19, cy), 4, key.color.filled()))
                .map_err(msg)?;
        }
        root.draw(&Text::new(
            name.to_string(),
            (x + 38, cy),
            text_style.clone(),
        ))
        .map_err(msg)?;
    }
    Ok(())
}

/// Width in pixels a legend needs beside the plot for these names.
pub(crate) fn legend_width<'n>(names: impl IntoIterator<Item = &'n str>, fonts: Fonts) -> u32 {
    let font = FontDesc::from((FAMILY, fonts.legend));
    let text = names
        .into_iter()
        .filter_map(|n| font.box_size(n).ok())
        .map(|(w, _)| w)
        .max()
        .unwrap_or(0);
    text + 60
}

/// Draws the registered legend entries in the given corner on a translucent box.
pub(crate) fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart2d<'a, DB>,
    position: SeriesLabelPosition,
    fonts: Fonts,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .margin(12)
        .legend_area_size(30)
        .label_font((FAMILY, fonts.legend))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .draw()
        .map_err(msg)
}
