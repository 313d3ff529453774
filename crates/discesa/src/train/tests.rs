use super::test_util::{blobs, line};
use super::*;
use crate::data::{Dataset, Targets, Task};
use crate::nn::{Activation, MlpConfig};
use crate::optim::OptimizerKind;
use std::ops::Range;

/// One test's set-up: the data, its training rows and its validation rows.
struct Fixture {
    data: Dataset,
    rows: Vec<usize>,
    val: Vec<usize>,
}

impl Fixture {
    fn new(data: Dataset, rows: Range<usize>, val: Range<usize>) -> Self {
        Fixture {
            data,
            rows: rows.collect(),
            val: val.collect(),
        }
    }

    /// A trainer for `model` on this data's task.
    fn trainer(&self, model: MlpConfig, config: TrainConfig) -> Trainer {
        Trainer::new(model, self.data.task(), config).unwrap()
    }
}

/// An MLP without dropout.
fn mlp(inputs: usize, hidden: Vec<usize>, outputs: usize, activation: Activation) -> MlpConfig {
    MlpConfig {
        inputs,
        hidden,
        outputs,
        activation,
        dropout: vec![],
    }
}

/// A ReLU classifier of the blobs (4 features, 3 classes).
fn classifier(hidden: Vec<usize>, dropout: Vec<f64>) -> MlpConfig {
    MlpConfig {
        dropout,
        ..mlp(4, hidden, 3, Activation::Relu)
    }
}

#[test]
fn learns_blobs_and_reports_history() {
    let f = Fixture::new(blobs(150), 0..120, 120..150);
    let config = TrainConfig {
        epochs: 15,
        batch_size: 16,
        lr: 0.01,
        ..TrainConfig::default()
    };
    let mut t = f.trainer(classifier(vec![16], vec![0.1]), config);
    let before = t.evaluate(&f.data, &f.val).unwrap();
    t.fit(&f.data, &f.rows, &f.val, &mut Silent).unwrap();
    let after = t.evaluate(&f.data, &f.val).unwrap();
    assert!(after.loss < before.loss, "{before:?} -> {after:?}");
    assert!(after.accuracy.unwrap() >= 0.9, "{after:?}");
    let h = &t.progress().history;
    assert_eq!(h.len(), 15);
    assert_eq!(t.progress().step, 15 * 8);
    assert!(h[14].train_loss < h[0].train_loss);
    assert_eq!(h[0].grad_norms.len(), 2);
    assert!(h.iter().all(|r| r.val_loss.is_some()));
}

#[test]
fn regression_reports_mae_and_rmse() {
    let f = Fixture::new(line(200), 0..200, 0..0);
    let config = TrainConfig {
        epochs: 40,
        batch_size: 20,
        lr: 0.02,
        ..TrainConfig::default()
    };
    let mut t = f.trainer(mlp(2, vec![16], 1, Activation::Tanh), config);
    t.fit(&f.data, &f.rows, &[], &mut Silent).unwrap();
    let m = t.evaluate(&f.data, &f.rows).unwrap();
    assert!(m.accuracy.is_none());
    assert!(
        m.mae.unwrap() < 0.15 && m.rmse.unwrap() >= m.mae.unwrap(),
        "{m:?}"
    );
    assert!(
        (m.loss - 0.5 * m.rmse.unwrap().powi(2)).abs() < 1e-4,
        "half-MSE is ½ RMSE²"
    );
}

#[test]
fn nan_guard_names_step_batch_and_layer() {
    let f = Fixture::new(line(64), 0..64, 0..0);
    let config = TrainConfig {
        epochs: 50,
        batch_size: 8,
        lr: 1e12,
        optimizer: OptimizerKind::Sgd,
        ..TrainConfig::default()
    };
    let mut t = f.trainer(mlp(2, vec![8, 8], 1, Activation::Relu), config);
    let err = t.fit(&f.data, &f.rows, &[], &mut Silent).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, TrainError::NonFinite { .. }), "{msg}");
    assert!(
        msg.contains("at step") && msg.contains("batch") && msg.contains("layer layers."),
        "{msg}"
    );
    assert!(!err.is_input_error());
}

#[test]
fn early_stopping_ends_run_on_stalled_validation() {
    // Validation rows carry shifted labels, so fitting the training rows makes validation
    // worse epoch after epoch.
    let (features, names, targets) = blobs(90).into_parts();
    let Targets::Classes {
        mut labels,
        class_names,
    } = targets
    else {
        unreachable!()
    };
    for l in &mut labels[60..] {
        *l = (*l + 1) % 3;
    }
    let data = Dataset::new(
        features,
        names,
        Targets::Classes {
            labels,
            class_names,
        },
    )
    .unwrap();
    let f = Fixture::new(data, 0..60, 60..90);
    let config = TrainConfig {
        epochs: 200,
        batch_size: 10,
        lr: 0.5,
        optimizer: OptimizerKind::Sgd,
        patience: Some(2),
        ..TrainConfig::default()
    };
    let mut t = f.trainer(classifier(vec![32], vec![]), config);
    t.fit(&f.data, &f.rows, &f.val, &mut Silent).unwrap();
    let p = t.progress();
    assert!(p.stopped_early, "ran {} epochs", p.epochs_done);
    assert!(p.epochs_done < 200);
    assert_eq!(p.bad_epochs, 2);
}

#[test]
fn mismatched_data_is_rejected() {
    let f = Fixture::new(line(10), 0..10, 0..0);
    let mut t = Trainer::new(
        classifier(vec![4], vec![]),
        Task::Classification,
        TrainConfig::default(),
    )
    .unwrap();
    let e = t
        .fit(&f.data, &f.rows, &[], &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(e.contains("2 features") && e.contains("expects 4"), "{e}");
}

#[test]
fn predict_matches_evaluate() {
    let f = Fixture::new(blobs(30), 0..30, 0..0);
    let mut t = f.trainer(classifier(vec![8], vec![0.5]), TrainConfig::default());
    let out = t.predict(&f.data.features()).unwrap();
    assert_eq!(out.len(), 90);
    let Targets::Classes { labels, .. } = f.data.targets() else {
        unreachable!()
    };
    let acc = crate::nn::metrics::accuracy(&out, 3, labels);
    assert_eq!(acc, t.evaluate(&f.data, &f.rows).unwrap().accuracy.unwrap());
    assert!(t.predict(&[1.0; 5]).is_err());
}

#[test]
fn deep_sigmoid_network_shows_vanishing_gradients() {
    let f = Fixture::new(blobs(64), 0..64, 0..0);
    let config = TrainConfig {
        epochs: 1,
        batch_size: 16,
        optimizer: OptimizerKind::Sgd,
        lr: 0.01,
        ..TrainConfig::default()
    };
    let mut t = f.trainer(mlp(4, vec![16; 10], 3, Activation::Sigmoid), config);
    t.fit(&f.data, &f.rows, &[], &mut Silent).unwrap();
    let norms = &t.progress().history[0].grad_norms;
    assert_eq!(norms.len(), 11);
    assert!(norms[10] / norms[0] > 1e3, "{norms:?}");
}

#[test]
fn split_step_gives_the_gradient_and_the_sgd_update() {
    let Fixture { data, rows, .. } = Fixture::new(blobs(60), 0..60, 0..0);
    let config = TrainConfig {
        optimizer: OptimizerKind::Sgd,
        lr: 0.1,
        ..TrainConfig::default()
    };
    let mut t = Trainer::new(classifier(vec![8], vec![]), Task::Classification, config).unwrap();
    let theta = t.params().flat().to_vec();
    let mut g = Vec::new();
    let b = t.loss_and_grad(&data, &rows, &mut g).unwrap();
    assert_eq!(g.len(), theta.len());
    assert_eq!(t.params().flat(), &theta[..], "no parameter change");
    assert_eq!(t.progress().step, 0);
    let eval = t.evaluate(&data, &rows).unwrap();
    assert!(
        (eval.loss - b.loss).abs() < 1e-6,
        "{} vs {}",
        eval.loss,
        b.loss
    );
    // The gradient predicts the loss change along itself (central difference).
    let norm2: f64 = g.iter().map(|&v| f64::from(v).powi(2)).sum();
    let h = 1e-2 / norm2.sqrt();
    let mut at = |s: f64| {
        let p: Vec<f32> = theta
            .iter()
            .zip(&g)
            .map(|(&p, &d)| p + (s * h) as f32 * d)
            .collect();
        t.params_mut().set_flat(&p).unwrap();
        t.evaluate(&data, &rows).unwrap().loss
    };
    let slope = (at(1.0) - at(-1.0)) / (2.0 * h);
    assert!((slope - norm2).abs() < 0.02 * norm2, "{slope} vs {norm2}");
    // Halves averaged give the whole batch's gradient (what data-parallel training relies on).
    t.params_mut().set_flat(&theta).unwrap();
    let (mut g1, mut g2) = (Vec::new(), Vec::new());
    t.loss_and_grad(&data, &rows[..30], &mut g1).unwrap();
    t.loss_and_grad(&data, &rows[30..], &mut g2).unwrap();
    for ((a, b), w) in g1.iter().zip(&g2).zip(&g) {
        assert!((0.5 * (a + b) - w).abs() < 1e-5);
    }
    t.apply_gradient(&mut g).unwrap();
    assert_eq!(t.progress().step, 1);
    for ((p, q), d) in t.params().flat().iter().zip(&theta).zip(&g) {
        assert_eq!(*p, q - 0.1f32 * d);
    }
    assert!(t.apply_gradient(&mut g[..3].to_vec()).is_err());
}

#[test]
fn standardised_target_trains_in_model_units_and_reports_the_targets_units() {
    // y in the hundreds: 200 (2 x0 − x1 + 0.5) + 500.
    let base = line(200);
    let (features, names, targets) = base.into_parts();
    let Targets::Values(y) = targets else {
        panic!()
    };
    let big: Vec<f32> = y.iter().map(|v| v * 200.0 + 500.0).collect();
    let data = Dataset::new(features, names, Targets::Values(big.clone())).unwrap();
    let Fixture {
        data,
        rows,
        val: test,
    } = Fixture::new(data, 0..160, 160..200);
    let model = mlp(2, vec![16], 1, Activation::Tanh);
    let config = TrainConfig {
        epochs: 60,
        batch_size: 16,
        lr: 0.01,
        ..TrainConfig::default()
    };
    let run = |scale: Option<TargetScale>| {
        let mut t = Trainer::new(model.clone(), Task::Regression, config.clone()).unwrap();
        t.set_target_scale(scale);
        t.fit(&data, &rows, &[], &mut Silent).unwrap();
        let m = t.evaluate(&data, &test).unwrap();
        let x: Vec<f32> = test.iter().flat_map(|&r| data.row(r).unwrap()).collect();
        let pred = t.predict(&x).unwrap();
        let mae = pred
            .iter()
            .zip(&test)
            .map(|(p, &r)| f64::from((p - big[r]).abs()))
            .sum::<f64>()
            / test.len() as f64;
        (m, mae)
    };
    let scale = TargetScale::fit(&big, &rows).unwrap();
    let (scaled, scaled_pred_mae) = run(Some(scale));
    let (raw, _) = run(None);
    // The reported MAE is in the target's units: it matches the predictions' own MAE.
    let mae = scaled.mae.unwrap();
    assert!(
        (mae - scaled_pred_mae).abs() < 1e-3 * mae.max(1.0),
        "{mae} vs {scaled_pred_mae}"
    );
    assert!(mae < 30.0, "standardised target: test MAE {mae}");
    assert!(
        raw.mae.unwrap() > 3.0 * mae,
        "raw target {raw:?} vs standardised {scaled:?}"
    );
    // A classification trainer ignores a scale.
    let mut c = Trainer::new(classifier(vec![4], vec![]), Task::Classification, config).unwrap();
    c.set_target_scale(Some(scale));
    assert_eq!(c.target_scale(), None);
}

#[test]
fn early_stopping_ends_with_the_best_epochs_weights() {
    let f = Fixture::new(blobs(150), 0..120, 120..150);
    // A learning rate high enough that the validation loss goes up and down.
    let config = TrainConfig {
        epochs: 60,
        batch_size: 8,
        lr: 0.05,
        patience: Some(4),
        ..TrainConfig::default()
    };
    let mut t = f.trainer(classifier(vec![32], vec![0.3]), config);
    t.fit(&f.data, &f.rows, &f.val, &mut Silent).unwrap();
    let p = t.progress().clone();
    let losses: Vec<f64> = p.history.iter().map(|r| r.val_loss.unwrap()).collect();
    let (best_i, best) = losses
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .unwrap();
    assert!(p.stopped_early, "{losses:?}");
    assert_eq!(p.best_epoch, Some(best_i + 1));
    assert!(
        *losses.last().unwrap() > *best,
        "the last epoch was the best: nothing to restore"
    );
    let now = t.evaluate(&f.data, &f.val).unwrap().loss;
    assert_eq!(now, *best, "the weights are not the best epoch's");
}
