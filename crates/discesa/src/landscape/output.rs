//! The files of a landscape output directory (a contract other tools read; see
//! `docs/landscape.md`): directions and samples as safetensors, coordinates and values as f64
//! `.npy` arrays of shape `(ny, nx)` (row j = y[j], column i = x[i]) or `(nx,)`, JSON summaries
//! and a ParaView `.vtp` surface. Every file is written atomically.

use super::error::{LandscapeError, Result};
use super::hessian::{Density, Extremes, Trace};
use super::model::SampleTargets;
use super::pca::Pca;
use super::run::{LandscapeConfig, Report};
use super::share::PointResult;
use super::source::Rows;
use crate::checkpoint::{save_safetensors, write_atomic, write_json_atomic, TensorData};
use crate::data::{write_npy_f64, Task};
use crate::nn::ParamEntry;
use serde_json::json;
use std::fmt::Write as _;
use std::path::Path;

/// Normalised directions, `x.<name>` and `y.<name>`.
pub const DIRECTIONS_FILE: &str = "directions.safetensors";
/// The evaluated rows, `inputs`, `targets` (and `rows`, their indices in the split's data).
pub const SAMPLES_FILE: &str = "samples.safetensors";
/// Every setting and the timings.
pub const LANDSCAPE_FILE: &str = "landscape.json";
/// The ParaView surface.
pub const VTP_FILE: &str = "surface.vtp";

fn npy(dir: &Path, name: &str, shape: &[usize], data: &[f64]) -> Result<String> {
    write_npy_f64(dir.join(name), shape, data)?;
    Ok(name.to_string())
}

/// Writes `directions.safetensors` and `samples.safetensors`.
pub fn write_inputs(
    dir: &Path,
    entries: &[ParamEntry],
    dx: &[f64],
    dy: &[f64],
    two: bool,
    rows: &Rows,
) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut tensors: Vec<(String, Vec<usize>, TensorData<'_>)> = Vec::new();
    for (prefix, d) in [("x", dx), ("y", dy)] {
        if prefix == "y" && !two {
            continue;
        }
        for e in entries {
            names.push(format!("{prefix}.{}", e.name));
            tensors.push((
                format!("{prefix}.{}", e.name),
                e.shape.clone(),
                TensorData::F64(&d[e.offset..e.offset + e.numel()]),
            ));
        }
    }
    save_safetensors(dir.join(DIRECTIONS_FILE), &tensors)?;
    let s = &rows.samples;
    let inputs: Vec<f64> = s.inputs.iter().map(|&v| f64::from(v)).collect();
    let targets: Vec<f64> = match &s.targets {
        SampleTargets::Classes(l) => l.iter().map(|&v| v as f64).collect(),
        SampleTargets::Values(v) => v.iter().map(|&v| f64::from(v)).collect(),
    };
    let idx: Vec<f64> = rows.indices.iter().map(|&v| v as f64).collect();
    let n = [s.len()];
    save_safetensors(
        dir.join(SAMPLES_FILE),
        &[
            ("inputs", s.shape.as_slice(), TensorData::F64(&inputs)),
            ("targets", &n[..], TensorData::F64(&targets)),
            ("rows", &n[..], TensorData::F64(&idx)),
        ],
    )?;
    Ok(vec![DIRECTIONS_FILE.into(), SAMPLES_FILE.into()])
}

/// Everything computed, ready to be written and drawn.
pub struct Outputs<'a> {
    /// The settings.
    pub cfg: &'a LandscapeConfig,
    /// x coordinates.
    pub xs: &'a [f64],
    /// y coordinates (empty for 1-D).
    pub ys: &'a [f64],
    /// Every point, row-major.
    pub results: &'a [PointResult],
    /// The PCA analysis (`--directions pca`): epochs and result.
    pub pca: Option<&'a (Vec<usize>, Pca)>,
    /// Trace and density at the centre (`--spectrum`).
    pub spectrum: Option<&'a (Trace, Density)>,
    /// Classification or regression.
    pub task: Task,
    /// λ_max / λ_min at θ (`--hessian`).
    pub centre: Option<&'a Extremes>,
}

impl Outputs<'_> {
    /// Per-point values of one field, row-major.
    pub fn field(&self, f: impl Fn(&PointResult) -> f64) -> Vec<f64> {
        self.results.iter().map(f).collect()
    }

    /// Writes the `.npy` arrays and the JSON files of the analyses.
    pub fn write_arrays(&self) -> Result<Vec<String>> {
        let dir = &self.cfg.output;
        let shape = self.cfg.grid.shape();
        let mut files = vec![npy(dir, "x.npy", &[self.xs.len()], self.xs)?];
        if !self.ys.is_empty() {
            files.push(npy(dir, "y.npy", &[self.ys.len()], self.ys)?);
        }
        files.push(npy(dir, "loss.npy", &shape, &self.field(|r| r.loss))?);
        if self.task == Task::Classification {
            files.push(npy(
                dir,
                "accuracy.npy",
                &shape,
                &self.field(|r| r.accuracy),
            )?);
        }
        if self.cfg.hessian || self.spectrum.is_some() {
            let mut h = serde_json::Map::new();
            if self.cfg.hessian {
                files.push(npy(
                    dir,
                    "lambda_max.npy",
                    &shape,
                    &self.field(|r| r.lambda_max),
                )?);
                files.push(npy(
                    dir,
                    "lambda_min.npy",
                    &shape,
                    &self.field(|r| r.lambda_min),
                )?);
            }
            h.insert("options".into(), json!(self.cfg.hessian_options));
            h.insert(
                "restricted_to".into(),
                json!("weights with at least two dimensions"),
            );
            if let Some((t, d)) = self.spectrum {
                h.insert("trace".into(), json!(t.trace));
                h.insert("trace_hvps".into(), json!(t.hvps));
                h.insert("density_hvps".into(), json!(d.hvps));
                write_json_atomic(
                    dir.join("spectrum.json"),
                    &json!({"trace": t.trace, "trace_hvps": t.hvps, "nodes": d.nodes,
                            "weights": d.weights, "grid": d.grid, "density": d.density}),
                )?;
                files.push("spectrum.json".into());
            }
            if let Some(c) = self.centre {
                h.insert("lambda_max".into(), json!(c.lambda_max));
                h.insert("lambda_min".into(), json!(c.lambda_min));
                h.insert("hvps".into(), json!(c.hvps));
                h.insert("converged".into(), json!(c.converged));
            }
            write_json_atomic(dir.join("hessian.json"), &serde_json::Value::Object(h))?;
            files.push("hessian.json".into());
        }
        if let Some((epochs, p)) = self.pca {
            write_json_atomic(
                dir.join("pca.json"),
                &json!({"epochs": epochs, "explained_variance_ratio": p.explained_variance_ratio,
                        "trajectory": p.trajectory}),
            )?;
            files.push("pca.json".into());
        }
        if self.cfg.grid.is_2d() {
            write_vtp(&dir.join(VTP_FILE), self.xs, self.ys, self.results)?;
            files.push(VTP_FILE.into());
        }
        Ok(files)
    }
}

/// Writes `landscape.json`: every setting, the timings and the centre's values.
pub fn write_summary(cfg: &LandscapeConfig, report: &Report) -> Result<()> {
    write_json_atomic(
        cfg.output.join(LANDSCAPE_FILE),
        &json!({"settings": cfg, "result": report}),
    )?;
    Ok(())
}

/// The surface as ParaView PolyData: one point per grid node at height `loss`, quads between
/// neighbours; cells touching a NaN point are left out.
pub fn write_vtp(path: &Path, xs: &[f64], ys: &[f64], results: &[PointResult]) -> Result<()> {
    let (nx, ny) = (xs.len(), ys.len());
    let finite_min = results
        .iter()
        .map(|r| r.loss)
        .filter(|v| v.is_finite())
        .fold(f64::INFINITY, f64::min);
    let floor = if finite_min.is_finite() {
        finite_min
    } else {
        0.0
    };
    let mut pts = String::new();
    let mut loss = String::new();
    let mut acc = String::new();
    for (k, r) in results.iter().enumerate() {
        let z = if r.loss.is_finite() { r.loss } else { floor };
        let _ = writeln!(pts, "{} {} {}", xs[k % nx], ys[k / nx], z);
        let _ = writeln!(loss, "{}", r.loss);
        let _ = writeln!(acc, "{}", r.accuracy);
    }
    let (mut conn, mut offs, mut cells) = (String::new(), String::new(), 0usize);
    for j in 0..ny.saturating_sub(1) {
        for i in 0..nx.saturating_sub(1) {
            let q = [
                j * nx + i,
                j * nx + i + 1,
                (j + 1) * nx + i + 1,
                (j + 1) * nx + i,
            ];
            if q.iter().all(|&k| results[k].loss.is_finite()) {
                let _ = writeln!(conn, "{} {} {} {}", q[0], q[1], q[2], q[3]);
                cells += 1;
                let _ = writeln!(offs, "{}", 4 * cells);
            }
        }
    }
    let text = format!(
        "<?xml version=\"1.0\"?>\n<VTKFile type=\"PolyData\" version=\"1.0\" byte_order=\"LittleEndian\" header_type=\"UInt64\">\n<PolyData>\n<Piece NumberOfPoints=\"{}\" NumberOfVerts=\"0\" NumberOfLines=\"0\" NumberOfStrips=\"0\" NumberOfPolys=\"{cells}\">\n<Points>\n<DataArray type=\"Float64\" NumberOfComponents=\"3\" format=\"ascii\">\n{pts}</DataArray>\n</Points>\n<PointData Scalars=\"loss\">\n<DataArray type=\"Float64\" Name=\"loss\" format=\"ascii\">\n{loss}</DataArray>\n<DataArray type=\"Float64\" Name=\"accuracy\" format=\"ascii\">\n{acc}</DataArray>\n</PointData>\n<Polys>\n<DataArray type=\"Int64\" Name=\"connectivity\" format=\"ascii\">\n{conn}</DataArray>\n<DataArray type=\"Int64\" Name=\"offsets\" format=\"ascii\">\n{offs}</DataArray>\n</Polys>\n</Piece>\n</PolyData>\n</VTKFile>\n",
        results.len()
    );
    write_atomic(path, text.as_bytes()).map_err(LandscapeError::from)
}
