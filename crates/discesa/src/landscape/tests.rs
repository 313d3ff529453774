//! Checks of the landscape against independent computations: the exact Hessian, the generic
//! evaluator, the orientation of a non-square grid.

use super::directions::{mask, Ignore};
use super::grid::Grid;
use super::hessian::{extremes, HessianOptions};
use super::model::{LossModel, ModuleModel, SampleTargets, Samples};
use super::plane::{GenericPlane, Plane};
use super::share::SingleProcess;
use super::surface::{evaluate_grid, SurfaceRun};
use crate::autodiff::{hessian, Var};
use crate::data::Task;
use crate::formula::symmetric_eigen;
use crate::nn::{cross_entropy, init_params, Activation, ForwardCtx, Mlp, MlpConfig, Module};
use crate::tensor::Tensor;

fn tiny() -> (MlpConfig, Samples) {
    let cfg = MlpConfig {
        inputs: 3,
        hidden: vec![4],
        outputs: 3,
        activation: Activation::Tanh,
        dropout: vec![],
    };
    let x = Tensor::<f32>::rand_normal([12, 3], 0.0, 1.0, 5);
    let samples = Samples {
        inputs: x.to_vec(),
        shape: vec![12, 3],
        targets: SampleTargets::Classes((0..12).map(|i| (i * 7) % 3).collect()),
    };
    (cfg, samples)
}

#[test]
fn lanczos_extremes_equal_the_exact_hessian_eigenvalues() {
    let (cfg, s) = tiny();
    let model = ModuleModel::mlp(cfg.clone(), Task::Classification).unwrap();
    let mlp = Mlp::<f64>::new(cfg).unwrap();
    let theta: Vec<f64> = init_params(&mlp, 3).unwrap().flat().to_vec();
    let entries = model.entries().to_vec();
    let m = mask(&entries, Ignore::Biasbn);
    let mut found = None;
    model
        .with_hvp(&theta, &s, &mut |hvp| {
            found = Some(extremes(hvp, &m, &HessianOptions::default(), 0)?);
            Ok(())
        })
        .unwrap();
    let found = found.unwrap();
    // The exact Hessian of the same loss as a function of the flat θ.
    let x = s.input_tensor::<f64>(0, s.len()).unwrap();
    let SampleTargets::Classes(labels) = &s.targets else {
        unreachable!()
    };
    let h = hessian(
        |t: Var<'_, f64>| {
            let parts: Vec<Var<'_, f64>> = entries
                .iter()
                .map(|e| {
                    t.narrow(0, e.offset, e.numel())?
                        .reshape(e.shape.as_slice())
                })
                .collect::<crate::Result<_>>()?;
            let out = mlp.forward(
                t.tape().constant(x.clone()),
                &parts,
                &mut [],
                &ForwardCtx::eval(),
            )?;
            cross_entropy(out, labels)
        },
        &Tensor::from_vec(theta.clone(), [theta.len()]).unwrap(),
    )
    .unwrap();
    let n = theta.len();
    let keep: Vec<usize> = (0..n).filter(|&i| m[i]).collect();
    let sub: Vec<Vec<f64>> = keep
        .iter()
        .map(|&i| keep.iter().map(|&j| h.as_slice()[i * n + j]).collect())
        .collect();
    let exact = symmetric_eigen(&sub).unwrap().values;
    let (lo, hi) = (exact[0], exact[exact.len() - 1]);
    assert!(
        ((found.lambda_max - hi) / hi).abs() < 1e-6,
        "{found:?} vs {hi}"
    );
    assert!(
        ((found.lambda_min - lo) / lo).abs() < 1e-4,
        "{found:?} vs {lo}"
    );
    assert!(found.converged);
    eprintln!(
        "tiny MLP ({} weights): λ_max {:.6e} (exact {hi:.6e}), λ_min {:.6e} (exact {lo:.6e}), {} HVPs",
        keep.len(),
        found.lambda_max,
        found.lambda_min,
        found.hvps
    );
}

#[test]
fn mlp_plane_equals_the_generic_evaluator_on_a_non_square_grid() {
    let (cfg, s) = tiny();
    let model = ModuleModel::mlp(cfg.clone(), Task::Classification).unwrap();
    let mlp = Mlp::<f32>::new(cfg).unwrap();
    let theta = init_params(&mlp, 4).unwrap().flat().to_vec();
    let n = theta.len();
    let dx: Vec<f32> = Tensor::<f32>::rand_normal([n], 0.0, 0.3, 8).to_vec();
    let dy: Vec<f32> = Tensor::<f32>::rand_normal([n], 0.0, 0.3, 9).to_vec();
    let fast = model.plane(&theta, &dx, &dy, &s).unwrap();
    let slow = GenericPlane::new(&model, &theta, &dx, &dy, &s);
    let grid = Grid::parse("-1:1:3,0:2:2").unwrap();
    let run = SurfaceRun {
        grid: &grid,
        plane: fast.as_ref(),
        hessian: None,
        threads: 2,
        progress_dir: None,
        fingerprint: String::new(),
    };
    let (r, _) = evaluate_grid(&run, &SingleProcess, &mut |_, _| {}).unwrap();
    let (xs, ys) = (grid.x.coords(), grid.y.unwrap().coords());
    for j in 0..2 {
        for i in 0..3 {
            let want = slow.eval(xs[i], ys[j]).unwrap();
            let got = r[j * 3 + i];
            assert!(
                (got.loss - want.loss).abs() < 1e-5 * want.loss.max(1.0),
                "{got:?} {want:?}"
            );
            assert_eq!(got.accuracy, want.accuracy);
        }
    }
    // Rows differ in y, columns in x: the values are not symmetric under transposition.
    assert_ne!(r[1].loss, r[3].loss);
}
