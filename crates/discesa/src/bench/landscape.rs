//! `landscape_resnet20` and `landscape_mlp_wide`: a 5×5 loss surface over `[-1, 1]²` along two
//! filter-normalised random directions (`biasbn` ignored), evaluation-mode forward over 1,000
//! fixed N(0, 1) samples with fixed labels, mean cross-entropy and accuracy at every point; the
//! figure is grid points per second. The workload of the peer script `landscape_eval.py`, run
//! through the library's landscape module exactly as `discesa landscape` runs it.

use super::Out;
use crate::data::Task;
use crate::landscape::directions::{normalize, random};
use crate::landscape::surface::{evaluate_grid, SurfaceRun};
use crate::landscape::{
    Grid, Ignore, LossModel, ModuleModel, Norm, PointResult, SampleTargets, Samples, SingleProcess,
};
use crate::nn::{init_buffers, init_params, Activation, MlpConfig, ModelSpec, ResNetConfig};
use crate::Tensor;
use std::time::Instant;

/// Samples of the peer script.
pub(super) const SAMPLES: usize = 1000;

/// Points per axis of the peer script's grid over `[-1, 1]²`.
pub(super) const GRID: usize = 5;

/// The two models of the peer script: ResNet-20 on 1×28×28 inputs and the 784-256-256-10 MLP.
pub(super) fn spec(name: &str) -> ModelSpec {
    match name {
        "landscape_resnet20" => ModelSpec::ResNet(ResNetConfig {
            depth: 20,
            width: 16,
            shortcut: true,
            input: [1, 28, 28],
            classes: 10,
        }),
        _ => ModelSpec::Mlp(MlpConfig {
            inputs: 784,
            hidden: vec![256, 256],
            outputs: 10,
            activation: Activation::Relu,
            dropout: Vec::new(),
        }),
    }
}

/// A freshly initialised model (batch-norm statistics at their initial values, as the peer's
/// untrained network), its θ, two normalised directions and the samples.
pub(super) struct Surface {
    model: ModuleModel,
    theta: Vec<f32>,
    dx: Vec<f32>,
    dy: Vec<f32>,
    samples: Samples,
}

impl Surface {
    /// The workload of `spec` on `n` samples.
    pub(super) fn new(spec: &ModelSpec, n: usize) -> Self {
        let module = spec.build::<f32>().expect("valid sizes");
        let params = init_params(module.as_ref(), 0).expect("valid model");
        let buffers = init_buffers(module.as_ref()).expect("valid model");
        let model = ModuleModel::from_spec(spec, &buffers, Task::Classification).expect("model");
        let theta = params.flat().to_vec();
        let w: Vec<f64> = theta.iter().map(|&v| f64::from(v)).collect();
        let mut dirs = random(model.entries(), theta.len(), 2, 123);
        for d in &mut dirs {
            normalize(d, &w, model.entries(), Norm::Filter, Ignore::Biasbn);
        }
        let to32 = |d: &[f64]| d.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        let mut shape = spec.batch_dims(n);
        shape[0] = n;
        let inputs = Tensor::<f32>::rand_normal(shape.as_slice(), 0.0, 1.0, 5)
            .as_slice()
            .to_vec();
        let samples = Samples {
            inputs,
            shape,
            targets: SampleTargets::Classes((0..n).map(|i| (i * 7 + 3) % 10).collect()),
        };
        model.check_samples(&samples).expect("samples fit");
        Surface {
            dx: to32(&dirs[0]),
            dy: to32(&dirs[1]),
            model,
            theta,
            samples,
        }
    }

    /// Every point of `grid` (row-major), its points shared over `threads`, the plane's
    /// precomputation included.
    pub(super) fn evaluate(&self, grid: &Grid, threads: usize) -> Vec<PointResult> {
        let plane = self
            .model
            .plane(&self.theta, &self.dx, &self.dy, &self.samples)
            .expect("plane");
        let run = SurfaceRun {
            grid,
            plane: plane.as_ref(),
            hessian: None,
            threads,
            progress_dir: None,
            fingerprint: String::new(),
        };
        evaluate_grid(&run, &SingleProcess, &mut |_, _| {})
            .expect("grid")
            .0
    }
}

/// Times one `side`×`side` surface of `name` on `n` samples, as the peer does (one timed pass
/// over the grid).
pub(super) fn landscape(out: &Out, name: &str, n: usize, side: usize) {
    let surface = Surface::new(&spec(name), n);
    let grid = Grid::parse(&format!("-1:1:{side},-1:1:{side}")).expect("valid grid");
    let t = Instant::now();
    let points = surface.evaluate(&grid, out.threads);
    let secs = t.elapsed().as_secs_f64();
    let mut extra = vec![("grid", format!("{side}x{side}"))];
    if side % 2 == 1 {
        extra.push(("loss_centre", format!("{:.4}", points[grid.len() / 2].loss)));
    }
    out.emit(name, n, grid.len() as f64 / secs, "points/s", &extra);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surface_centre_is_the_model_at_theta_and_edges_differ() {
        for name in ["landscape_mlp_wide", "landscape_resnet20"] {
            let s = Surface::new(&spec(name), 40);
            let grid = Grid::parse("-1:1:3,-1:1:3").unwrap();
            let points = s.evaluate(&grid, 2);
            assert_eq!(points.len(), 9);
            let at_theta = s.model.evaluate(&s.theta, &s.samples).unwrap();
            let c = &points[4];
            assert!(
                (c.loss - at_theta.loss).abs() < 1e-4 * at_theta.loss.abs().max(1.0),
                "{name}: {} vs {}",
                c.loss,
                at_theta.loss
            );
            assert!(points.iter().all(|p| p.loss.is_finite()), "{name}");
            assert!(
                (points[0].loss - c.loss).abs() > 1e-3,
                "{name}: flat surface"
            );
            // Directions are zero on 1-D tensors (biasbn) and filter-normalised elsewhere.
            for e in s.model.entries() {
                let r = e.offset..e.offset + e.numel();
                if e.shape.len() <= 1 {
                    assert!(s.dx[r].iter().all(|&v| v == 0.0), "{}", e.name);
                } else {
                    let per = e.numel() / e.shape[0];
                    let (w, d) = (&s.theta[r.clone()][..per], &s.dx[r][..per]);
                    let n = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>();
                    assert!((n(w).sqrt() - n(d).sqrt()).abs() < 1e-4, "{}", e.name);
                }
            }
        }
    }
}
