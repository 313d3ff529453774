//! Pictures of descent runs on a formula: the curve with arrows (one variable), filled
//! contours with paths (two), value and gradient norm per step (more), and a 3-D surface.

use std::path::Path;

use super::descent::{optimizer_label, DescentPath};
use super::{Formula, FormulaError};
use crate::expr::format_number;
use crate::plot::{
    contour_2d, descent_1d, series, surface_3d, Contour2dOptions, Descent1dOptions, FigureSize,
    Path1d, Path2d, Series, SeriesOptions, SeriesPanel, Surface3dOptions,
};

/// A legend entry such as `gd, η=0.1`.
pub fn path_name(p: &DescentPath) -> String {
    format!(
        "{}, η={}",
        optimizer_label(p.optimizer),
        format_number(p.lr)
    )
}

fn plot_err(e: crate::plot::PlotError) -> FormulaError {
    FormulaError::Plot(e.to_string())
}

/// The view of each axis: every iterate that stays near the start (a diverging run would
/// otherwise shrink the picture to a dot), padded by 15%.
fn view(paths: &[DescentPath], axis: usize) -> Option<(f64, f64)> {
    let start_scale = paths
        .iter()
        .filter_map(|p| p.records.first())
        .flat_map(|r| r.point.iter())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let limit = 10.0 * (start_scale + 1.0);
    let coords = paths
        .iter()
        .flat_map(|p| p.records.iter())
        .map(|r| r.point[axis])
        .filter(|v| v.is_finite() && v.abs() <= limit);
    let (lo, hi) = coords.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        return None;
    }
    let span = (hi - lo).max(0.5 * (lo.abs().max(hi.abs())).max(1.0));
    let mid = 0.5 * (lo + hi);
    Some((mid - 0.65 * span, mid + 0.65 * span))
}

/// Draws `paths` of `formula` into `file` (`.png` or `.svg`, chosen by extension): the curve
/// with each step as an arrow for one variable, filled contours with the paths and the
/// gradient arrow at the start for two, and value and gradient norm against the step for more.
pub fn plot_descent(
    file: &Path,
    formula: &Formula,
    paths: &[DescentPath],
    size: FigureSize,
) -> Result<(), FormulaError> {
    let names: Vec<String> = paths.iter().map(path_name).collect();
    let vars = formula.variables();
    let title = format!("f = {}", formula.text());
    match vars.len() {
        1 => {
            let xs: Vec<Vec<f64>> = paths
                .iter()
                .map(|p| p.records.iter().map(|r| r.point[0]).collect())
                .collect();
            let drawn: Vec<Path1d<'_>> = names
                .iter()
                .zip(&xs)
                .map(|(name, xs)| Path1d { name, xs })
                .collect();
            let f = |x: f64| formula.eval(&[x]);
            let opts = Descent1dOptions {
                size,
                title,
                x_label: vars[0].clone(),
                y_label: "f".into(),
                x_range: view(paths, 0),
                ..Descent1dOptions::default()
            };
            descent_1d(file, &f, &drawn, &opts).map_err(plot_err)
        }
        2 => {
            let pts: Vec<Vec<[f64; 2]>> = paths
                .iter()
                .map(|p| p.records.iter().map(|r| [r.point[0], r.point[1]]).collect())
                .collect();
            let drawn: Vec<Path2d<'_>> = names
                .iter()
                .zip(&pts)
                .zip(paths)
                .map(|((name, points), p)| Path2d {
                    name,
                    points,
                    start_gradient: p.records.first().map(|r| [r.gradient[0], r.gradient[1]]),
                })
                .collect();
            let f = |x: f64, y: f64| formula.eval(&[x, y]);
            let opts = Contour2dOptions {
                size,
                title,
                x_label: vars[0].clone(),
                y_label: vars[1].clone(),
                x_range: view(paths, 0),
                y_range: view(paths, 1),
                ..Contour2dOptions::default()
            };
            contour_2d(file, &f, &drawn, &opts).map_err(plot_err)
        }
        _ => {
            let values: Vec<Vec<f64>> = paths
                .iter()
                .map(|p| p.records.iter().map(|r| r.value).collect())
                .collect();
            let norms: Vec<Vec<f64>> = paths
                .iter()
                .map(|p| p.records.iter().map(|r| r.grad_norm).collect())
                .collect();
            let value_series: Vec<Series<'_>> = names
                .iter()
                .zip(&values)
                .map(|(name, values)| Series { name, values })
                .collect();
            let norm_series: Vec<Series<'_>> = names
                .iter()
                .zip(&norms)
                .map(|(name, values)| Series { name, values })
                .collect();
            let positive = values.iter().flatten().all(|v| !v.is_finite() || *v > 0.0);
            let panels = [
                SeriesPanel {
                    series: &value_series,
                    y_label: "f",
                    log_y: positive,
                },
                SeriesPanel {
                    series: &norm_series,
                    y_label: "|gradient|",
                    log_y: true,
                },
            ];
            let opts = SeriesOptions {
                size,
                title,
                x_label: "step".into(),
                first_index: 0.0,
                markers: false,
            };
            series(file, &panels, &opts).map_err(plot_err)
        }
    }
}

/// A 3-D view of a two-variable formula with the paths drawn on the surface.
pub fn plot_surface(
    file: &Path,
    formula: &Formula,
    paths: &[DescentPath],
    size: FigureSize,
) -> Result<(), FormulaError> {
    let vars = formula.variables();
    if vars.len() != 2 {
        return Err(FormulaError::BadOption(format!(
            "a surface needs a formula of two variables; '{}' has {}",
            formula.text(),
            vars.len()
        )));
    }
    let names: Vec<String> = paths.iter().map(path_name).collect();
    let pts: Vec<Vec<[f64; 2]>> = paths
        .iter()
        .map(|p| p.records.iter().map(|r| [r.point[0], r.point[1]]).collect())
        .collect();
    let drawn: Vec<Path2d<'_>> = names
        .iter()
        .zip(&pts)
        .map(|(name, points)| Path2d {
            name,
            points,
            start_gradient: None,
        })
        .collect();
    let f = |x: f64, y: f64| formula.eval(&[x, y]);
    let opts = Surface3dOptions {
        size,
        title: format!("f = {}", formula.text()),
        x_label: vars[0].clone(),
        y_label: vars[1].clone(),
        z_label: "f".into(),
        x_range: view(paths, 0),
        y_range: view(paths, 1),
        ..Surface3dOptions::default()
    };
    surface_3d(file, &f, &drawn, &opts).map_err(plot_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formula::{descend, DescentOptions};
    use crate::optim::OptimizerKind;

    struct Scratch(std::path::PathBuf);
    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let d =
                std::env::temp_dir().join(format!("discesa-formula-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            Scratch(d)
        }
    }
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Decodes a PNG; returns its size and how many distinct colours it has.
    fn decode(path: &Path) -> (u32, u32, usize) {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let ch = info.color_type.samples();
        let colors: std::collections::HashSet<&[u8]> =
            buf[..info.buffer_size()].chunks_exact(ch).collect();
        (info.width, info.height, colors.len())
    }

    fn runs(
        src: &str,
        start: &[f64],
        kinds: &[(OptimizerKind, f64)],
    ) -> (Formula, Vec<DescentPath>) {
        let f = Formula::parse(src).unwrap();
        let paths = kinds
            .iter()
            .map(|&(optimizer, lr)| {
                let opts = DescentOptions {
                    optimizer,
                    lr,
                    steps: 40,
                    ..DescentOptions::default()
                };
                descend(&f, start, &opts).unwrap()
            })
            .collect();
        (f, paths)
    }

    #[test]
    fn figures_for_one_two_and_three_variables_and_a_surface() {
        let dir = Scratch::new("figs");
        let size = FigureSize {
            width: 640,
            height: 480,
        };
        let cases: [(&str, &[f64]); 3] = [
            ("x^2", &[3.0]),
            ("x^2 - y^2", &[-3.0, -0.1]),
            ("x^2 + 2*y^2 + 3*z^2", &[1.0, 1.0, 1.0]),
        ];
        for (i, (src, start)) in cases.iter().enumerate() {
            let (f, paths) = runs(
                src,
                start,
                &[(OptimizerKind::Sgd, 0.1), (OptimizerKind::Adam, 0.3)],
            );
            let file = dir.0.join(format!("fig{i}.png"));
            plot_descent(&file, &f, &paths, size).unwrap();
            let (w, h, colors) = decode(&file);
            assert_eq!((w, h), (640, 480), "{src}");
            assert!(colors > 20, "{src}: only {colors} colours");
        }
        let (f, paths) = runs("x^2+y^2", &[-3.0, -1.0], &[(OptimizerKind::Sgd, 0.1)]);
        let file = dir.0.join("surface.png");
        plot_surface(&file, &f, &paths, size).unwrap();
        assert_eq!(decode(&file).0, 640);
        let svg = dir.0.join("contour.svg");
        plot_descent(&svg, &f, &paths, size).unwrap();
        assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    }

    #[test]
    fn diverging_runs_still_draw_and_bad_targets_leave_nothing() {
        let dir = Scratch::new("bad");
        let (f, paths) = runs("x^2", &[3.0], &[(OptimizerKind::Sgd, 1.5)]);
        assert_eq!(paths[0].stop.name(), "diverged");
        let file = dir.0.join("over.png");
        plot_descent(&file, &f, &paths, FigureSize::default()).unwrap();
        assert!(decode(&file).2 > 10);
        let err = plot_descent(&dir.0.join("x.gif"), &f, &paths, FigureSize::default());
        assert!(matches!(err, Err(FormulaError::Plot(_))));
        assert!(plot_surface(&dir.0.join("s.png"), &f, &paths, FigureSize::default()).is_err());
        let left: Vec<_> = std::fs::read_dir(&dir.0).unwrap().collect();
        assert_eq!(left.len(), 1, "only over.png remains");
    }
}
