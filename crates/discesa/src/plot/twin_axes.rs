//! `twin_axes`: lines of y against x on a left axis, optionally others on a right axis
//! (a 1-D loss curve with its accuracy, a spectral density).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::Fonts;
use super::font::FAMILY;
use super::output::{begin_figure, msg, render, Figure, FigureSize};
use super::style::{format_number, series_color};
use super::PlotError;

/// One line: `(x, y)` pairs; non-finite values (and non-positive ones on a log axis) break it.
#[derive(Debug, Clone, Copy)]
pub struct XyLine<'a> {
    /// Legend entry.
    pub name: &'a str,
    /// X values.
    pub xs: &'a [f64],
    /// Y values, as many as `xs`.
    pub ys: &'a [f64],
}

/// Options of [`twin_axes`].
#[derive(Debug, Clone)]
pub struct TwinAxesOptions {
    /// Canvas size.
    pub size: FigureSize,
    /// Figure title.
    pub title: String,
    /// X axis title.
    pub x_label: String,
    /// Left axis title.
    pub y_label: String,
    /// Right axis title.
    pub y2_label: String,
    /// Logarithmic left axis.
    pub log_y: bool,
    /// Vertical marker lines (e.g. at the two checkpoints of an interpolation).
    pub markers: Vec<f64>,
}

impl Default for TwinAxesOptions {
    fn default() -> Self {
        TwinAxesOptions {
            size: FigureSize::default(),
            title: String::new(),
            x_label: "x".into(),
            y_label: "y".into(),
            y2_label: String::new(),
            log_y: false,
            markers: Vec::new(),
        }
    }
}

struct TwinFigure<'a> {
    left: &'a [XyLine<'a>],
    right: &'a [XyLine<'a>],
    opts: &'a TwinAxesOptions,
}

fn runs(line: &XyLine<'_>, f: impl Fn(f64) -> Option<f64>) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![Vec::new()];
    for (&x, &y) in line.xs.iter().zip(line.ys) {
        match f(y).filter(|v| v.is_finite() && x.is_finite()) {
            Some(v) => out.last_mut().expect("one run").push((x, v)),
            None => out.push(Vec::new()),
        }
    }
    out.retain(|r| !r.is_empty());
    out
}

fn bounds(lines: &[XyLine<'_>], f: &impl Fn(f64) -> Option<f64>) -> Option<(f64, f64)> {
    let vals: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.ys.iter().filter_map(|&y| f(y)).filter(|v| v.is_finite()))
        .collect();
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return None;
    }
    let pad = ((hi - lo) * 0.05).max(1e-9 * hi.abs().max(1.0));
    Some((lo - pad, hi + pad))
}

impl Figure for TwinFigure<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let fonts = Fonts::for_canvas(self.opts.size);
        let area = super::draw::titled(root, &self.opts.title, self.opts.size)?;
        let log = self.opts.log_y;
        let fl = move |v: f64| {
            if log {
                (v > 0.0).then(|| v.log10())
            } else {
                Some(v)
            }
        };
        let fr = |v: f64| Some(v);
        let xs: Vec<f64> = self
            .left
            .iter()
            .chain(self.right)
            .flat_map(|l| l.xs.iter().copied())
            .filter(|v| v.is_finite())
            .collect();
        let x0 = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let x1 = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let x = if x1 > x0 {
            (x0, x1)
        } else {
            (x0 - 0.5, x0 + 0.5)
        };
        let y = bounds(self.left, &fl).unwrap_or((0.0, 1.0));
        let y2 = bounds(self.right, &fr).unwrap_or((0.0, 1.0));
        let mut builder = ChartBuilder::on(&area);
        builder
            .margin(12)
            .x_label_area_size((fonts.axis * 2.8) as u32)
            .y_label_area_size((fonts.axis * 4.2) as u32);
        if !self.right.is_empty() {
            builder.right_y_label_area_size((fonts.axis * 4.2) as u32);
        }
        let mut chart = builder
            .build_cartesian_2d(x.0..x.1, y.0..y.1)
            .map_err(msg)?
            .set_secondary_coord(x.0..x.1, y2.0..y2.1);
        let yfmt = move |v: &f64| format_number(if log { 10f64.powf(*v) } else { *v });
        chart
            .configure_mesh()
            .x_desc(self.opts.x_label.as_str())
            .y_desc(self.opts.y_label.as_str())
            .axis_desc_style((FAMILY, fonts.axis))
            .label_style((FAMILY, fonts.tick))
            .x_label_formatter(&|v| format_number(*v))
            .y_label_formatter(&yfmt)
            .light_line_style(RGBColor(242, 242, 242))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(msg)?;
        if !self.right.is_empty() {
            chart
                .configure_secondary_axes()
                .y_desc(self.opts.y2_label.as_str())
                .axis_desc_style((FAMILY, fonts.axis))
                .label_style((FAMILY, fonts.tick))
                .y_label_formatter(&|v| format_number(*v))
                .draw()
                .map_err(msg)?;
        }
        for &m in &self.opts.markers {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(m, y.0), (m, y.1)],
                    RGBColor(150, 150, 150).stroke_width(1),
                )))
                .map_err(msg)?;
        }
        for (i, l) in self.left.iter().enumerate() {
            let color = series_color(i);
            for (k, r) in runs(l, fl).into_iter().enumerate() {
                let s = chart
                    .draw_series(LineSeries::new(r, color.stroke_width(2)))
                    .map_err(msg)?;
                if k == 0 {
                    s.label(l.name).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                }
            }
        }
        for (i, l) in self.right.iter().enumerate() {
            let color = series_color(self.left.len() + i);
            for (k, r) in runs(l, fr).into_iter().enumerate() {
                let s = chart
                    .draw_secondary_series(LineSeries::new(r, color.stroke_width(2)))
                    .map_err(msg)?;
                if k == 0 {
                    s.label(l.name).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
                }
            }
        }
        chart
            .configure_series_labels()
            .label_font((FAMILY, fonts.legend))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .position(SeriesLabelPosition::UpperMiddle)
            .draw()
            .map_err(msg)?;
        Ok(())
    }
}

/// Draws `left` lines on the left axis and `right` lines on a right axis of their own.
pub fn twin_axes(
    path: impl AsRef<Path>,
    left: &[XyLine<'_>],
    right: &[XyLine<'_>],
    opts: &TwinAxesOptions,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let bad = begin_figure(path, opts.size)?;
    if left.is_empty() {
        return Err(bad("no line for the left axis".into()));
    }
    if let Some(l) = left.iter().chain(right).find(|l| l.xs.len() != l.ys.len()) {
        return Err(bad(format!(
            "line {:?} has {} x and {} y values",
            l.name,
            l.xs.len(),
            l.ys.len()
        )));
    }
    render(path, opts.size, &TwinFigure { left, right, opts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::testutil::TempDir;

    #[test]
    fn draws_two_axes_with_gaps() {
        let dir = TempDir::new("twin");
        let xs = [0.0, 1.0, 2.0, 3.0];
        let loss = [1.0, f64::NAN, 0.5, 0.7];
        let acc = [0.2, 0.4, 0.9, 0.8];
        let p = dir.path().join("t.png");
        twin_axes(
            &p,
            &[XyLine {
                name: "loss",
                xs: &xs,
                ys: &loss,
            }],
            &[XyLine {
                name: "accuracy",
                xs: &xs,
                ys: &acc,
            }],
            &TwinAxesOptions {
                log_y: true,
                markers: vec![0.0, 1.0],
                ..Default::default()
            },
        )
        .unwrap();
        assert!(p.is_file());
        assert!(twin_axes(&p, &[], &[], &TwinAxesOptions::default()).is_err());
    }
}
