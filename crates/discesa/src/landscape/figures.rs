//! The pictures of a landscape: the 1-D curve (loss and accuracy on twin axes), 2-D filled
//! contours, a heatmap, a 3-D surface, the PCA trajectory, the convexity map and the spectral
//! density. NaN points (an overflowed loss) are left blank.

use super::error::Result;
use super::output::Outputs;
use super::run::DirectionKind;
use crate::data::Task;
use crate::plot::{
    contour_2d, heatmap, surface_3d, twin_axes, Contour2dOptions, FigureSize, HeatmapOptions,
    LevelSpacing, Path2d, Surface3dOptions, TwinAxesOptions, XyLine,
};

/// Bilinear interpolation of row-major `z` over increasing `xs` × `ys`; NaN if a corner is NaN.
pub fn bilinear(xs: &[f64], ys: &[f64], z: &[f64], x: f64, y: f64) -> f64 {
    let locate = |v: &[f64], t: f64| -> (usize, f64) {
        if v.len() == 1 {
            return (0, 0.0);
        }
        let i = v.partition_point(|&c| c <= t).clamp(1, v.len() - 1) - 1;
        (i, ((t - v[i]) / (v[i + 1] - v[i])).clamp(0.0, 1.0))
    };
    let nx = xs.len();
    let (i, fx) = locate(xs, x);
    let (j, fy) = locate(ys, y);
    let at = |a: usize, b: usize| z[b.min(ys.len() - 1) * nx + a.min(nx - 1)];
    let (z00, z10, z01, z11) = (at(i, j), at(i + 1, j), at(i, j + 1), at(i + 1, j + 1));
    (1.0 - fy) * ((1.0 - fx) * z00 + fx * z10) + fy * ((1.0 - fx) * z01 + fx * z11)
}

fn axis_labels(out: &Outputs<'_>) -> (String, String) {
    match (&out.cfg.directions, out.pca) {
        (DirectionKind::Pca, Some((_, p))) => (
            format!("PC1 ({:.1} %)", 100.0 * p.explained_variance_ratio[0]),
            format!("PC2 ({:.1} %)", 100.0 * p.explained_variance_ratio[1]),
        ),
        (DirectionKind::Hessian, _) => ("top eigenvector".into(), "second eigenvector".into()),
        (DirectionKind::Interpolate(_), _) => ("α (θ = (1 − α)·θ₁ + α·θ₂)".into(), String::new()),
        _ => ("x direction".into(), "y direction".into()),
    }
}

/// Draws every figure that applies; returns the file names.
pub fn draw_all(out: &Outputs<'_>) -> Result<Vec<String>> {
    let cfg = out.cfg;
    let ext = &cfg.format;
    let dir = &cfg.output;
    let mut files = Vec::new();
    let loss = out.field(|r| r.loss);
    let (xl, yl) = axis_labels(out);
    let size = FigureSize::default();
    // One point, or a surface one point wide, has no picture (its values are in the .npy files).
    let pictured = out.xs.len() >= 2 && (!cfg.grid.is_2d() || out.ys.len() >= 2);
    if pictured && !cfg.grid.is_2d() {
        let acc = out.field(|r| r.accuracy);
        let name = format!("surface_1d.{ext}");
        let right: Vec<XyLine<'_>> = if out.task == Task::Classification {
            vec![XyLine {
                name: "accuracy",
                xs: out.xs,
                ys: &acc,
            }]
        } else {
            Vec::new()
        };
        twin_axes(
            dir.join(&name),
            &[XyLine {
                name: "loss",
                xs: out.xs,
                ys: &loss,
            }],
            &right,
            &TwinAxesOptions {
                size,
                title: "Loss along the direction".into(),
                x_label: xl.clone(),
                y_label: "loss".into(),
                y2_label: "accuracy".into(),
                log_y: cfg.log_scale,
                markers: match cfg.directions {
                    DirectionKind::Interpolate(_) => vec![0.0, 1.0],
                    _ => vec![0.0],
                },
            },
        )?;
        files.push(name);
    } else if pictured {
        let (xs, ys) = (out.xs, out.ys);
        let f = |x: f64, y: f64| bilinear(xs, ys, &loss, x, y);
        let x_range = Some((xs[0], xs[xs.len() - 1]));
        let y_range = Some((ys[0], ys[ys.len() - 1]));
        let traj: Vec<[f64; 2]> = out
            .pca
            .map(|(_, p)| p.trajectory.clone())
            .unwrap_or_default();
        let paths: Vec<Path2d<'_>> = if traj.is_empty() {
            Vec::new()
        } else {
            vec![Path2d {
                name: "training trajectory",
                points: &traj,
                start_gradient: None,
            }]
        };
        let spacing = if cfg.log_scale {
            LevelSpacing::Log
        } else {
            LevelSpacing::Linear
        };
        let name = format!("contour.{ext}");
        contour_2d(
            dir.join(&name),
            &f,
            &paths,
            &Contour2dOptions {
                size,
                title: if traj.is_empty() {
                    "Loss contours".into()
                } else {
                    "Training trajectory on the PCA plane".into()
                },
                x_label: xl.clone(),
                y_label: yl.clone(),
                x_range,
                y_range,
                levels: cfg.levels,
                spacing,
                start_gradient: false,
                ..Contour2dOptions::default()
            },
        )?;
        files.push(name);
        let name = format!("heatmap.{ext}");
        heatmap(
            dir.join(&name),
            xs,
            ys,
            &loss,
            &HeatmapOptions {
                size,
                title: "Loss".into(),
                x_label: xl.clone(),
                y_label: yl.clone(),
                value_label: "loss".into(),
                log: cfg.log_scale,
                range: None,
            },
        )?;
        files.push(name);
        let name = format!("surface_3d.{ext}");
        // On a log scale the surface's height is log10 of the loss, so that a few huge corner
        // values do not flatten the basin into the floor.
        let log_f = |x: f64, y: f64| f(x, y).log10();
        let (height, z_label, color_spacing): (&dyn Fn(f64, f64) -> f64, _, _) = if cfg.log_scale {
            (&log_f, "log10 loss", LevelSpacing::Linear)
        } else {
            (&f, "loss", spacing)
        };
        surface_3d(
            dir.join(&name),
            height,
            &[],
            &Surface3dOptions {
                size,
                title: "Loss surface".into(),
                x_label: xl.clone(),
                y_label: yl.clone(),
                z_label: z_label.into(),
                x_range,
                y_range,
                grid: (xs.len().max(ys.len()) * 2).clamp(24, 120),
                color_spacing,
                ..Surface3dOptions::default()
            },
        )?;
        files.push(name);
        if cfg.hessian {
            let ratio = out.field(|r| (r.lambda_min / r.lambda_max).abs());
            let name = format!("convexity.{ext}");
            heatmap(
                dir.join(&name),
                xs,
                ys,
                &ratio,
                &HeatmapOptions {
                    size,
                    title: "Convexity map |λ_min / λ_max|".into(),
                    x_label: xl.clone(),
                    y_label: yl.clone(),
                    value_label: "|λ_min / λ_max|".into(),
                    log: false,
                    range: None,
                },
            )?;
            files.push(name);
        }
    }
    if let Some((_, d)) = out.spectrum {
        let name = format!("density.{ext}");
        let dens: Vec<f64> = d.density.iter().map(|&v| v.max(1e-12)).collect();
        twin_axes(
            dir.join(&name),
            &[XyLine {
                name: "eigenvalue density (SLQ)",
                xs: &d.grid,
                ys: &dens,
            }],
            &[],
            &TwinAxesOptions {
                size,
                title: "Hessian eigenvalue density at θ".into(),
                x_label: "eigenvalue".into(),
                y_label: "density".into(),
                log_y: true,
                ..TwinAxesOptions::default()
            },
        )?;
        files.push(name);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_hits_nodes_and_midpoints() {
        let xs = [0.0, 1.0, 2.0];
        let ys = [0.0, 2.0];
        let z = [0.0, 1.0, 2.0, 10.0, 11.0, 12.0];
        assert_eq!(bilinear(&xs, &ys, &z, 1.0, 2.0), 11.0);
        assert_eq!(bilinear(&xs, &ys, &z, 0.5, 1.0), 5.5);
        assert_eq!(bilinear(&xs, &ys, &z, 2.0, 0.0), 2.0);
        let mut zn = z;
        zn[1] = f64::NAN;
        assert!(bilinear(&xs, &ys, &zn, 0.5, 0.5).is_nan());
    }
}
