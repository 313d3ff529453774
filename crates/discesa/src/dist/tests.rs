//! The strategies on the threads backend against the single-process run.

use super::*;
use crate::data::{Dataset, Task};
use crate::nn::{Activation, MlpConfig};
use crate::optim::OptimizerKind;
use crate::train::test_util::blobs;
use crate::train::{Silent, TrainConfig, TrainError, Trainer};
use std::sync::Mutex;

fn model(dropout: Vec<f64>) -> MlpConfig {
    MlpConfig {
        inputs: 4,
        hidden: vec![16, 8],
        outputs: 3,
        activation: Activation::Tanh,
        dropout,
    }
}

fn config(optimizer: OptimizerKind, lr: f64) -> TrainConfig {
    TrainConfig {
        epochs: 3,
        batch_size: 16,
        seed: 5,
        optimizer,
        lr,
        ..TrainConfig::default()
    }
}

fn single(data: &Dataset, m: MlpConfig, c: TrainConfig) -> Vec<f32> {
    let mut t = Trainer::new(m, Task::Classification, c).unwrap();
    let rows: Vec<usize> = (0..data.len()).collect();
    t.fit(data, &rows, &rows[..20], &mut Silent).unwrap();
    t.params().flat().to_vec()
}

/// Trains on `n` worker threads; returns rank 0's parameters and its trainer's history length.
fn distributed(
    n: usize,
    data: &Dataset,
    m: MlpConfig,
    c: TrainConfig,
    o: &StrategyOptions,
) -> Result<(Vec<f32>, Option<StalenessHistogram>), String> {
    let out = Mutex::new(None);
    run_threads(n, |comm| -> Result<(), TrainError> {
        let rank = comm.rank();
        let mut t = Trainer::new(m.clone(), Task::Classification, c.clone())?;
        let rows: Vec<usize> = (0..data.len()).collect();
        let mut steps = o.runner(comm, Timeline::off());
        t.fit_with(data, &rows, &rows[..20], &mut Silent, steps.as_mut())?;
        if rank == 0 {
            *out.lock().unwrap() = Some((t.params().flat().to_vec(), steps.staleness().cloned()));
        }
        Ok(())
    })
    .map_err(|f| f.to_string())?;
    Ok(out.into_inner().unwrap().unwrap())
}

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs() / (1.0 + x.abs()))
        .fold(0.0f32, f32::max);
    assert!(worst < tol, "parameters differ by {worst}");
}

#[test]
fn every_primitive_on_the_threads_backend() {
    for n in [1, 2, 3, 4] {
        run_threads(n, |mut comm| selftest::check_primitives(comm.as_mut())).unwrap();
    }
    selftest::check_primitives(&mut SoloComm).unwrap();
}

#[test]
fn an_abort_releases_the_other_ranks_and_names_the_rank() {
    let f = run_threads(3, |mut comm| -> Result<(), String> {
        if comm.rank() == 2 {
            panic!("boom on purpose");
        }
        let mut x = [1.0f32];
        comm.all_reduce_sum_f32(&mut x).map_err(|e| e.to_string())?;
        Ok(())
    })
    .unwrap_err();
    assert_eq!(f.rank, 2);
    assert!(f.error.is_none());
    assert_eq!(f.to_string(), "rank 2 panicked: boom on purpose");
    let f = run_threads(2, |mut comm| -> Result<(), String> {
        if comm.rank() == 1 {
            return Err("cannot read the data".into());
        }
        comm.barrier().map_err(|e| e.to_string())
    })
    .unwrap_err();
    assert_eq!(f.to_string(), "rank 1: cannot read the data");
}

#[test]
fn allreduce_and_ps_equal_the_single_process_run_with_adam_and_dropout() {
    let data = blobs(90);
    let (m, c) = (model(vec![0.3]), config(OptimizerKind::Adam, 0.01));
    let want = single(&data, m.clone(), c.clone());
    for n in [2, 3] {
        let o = StrategyOptions::default();
        close(
            &distributed(n, &data, m.clone(), c.clone(), &o).unwrap().0,
            &want,
            2e-5,
        );
        let o = StrategyOptions {
            strategy: Strategy::Ps,
            ..StrategyOptions::default()
        };
        close(
            &distributed(n, &data, m.clone(), c.clone(), &o).unwrap().0,
            &want,
            2e-5,
        );
    }
    let o = StrategyOptions {
        strategy: Strategy::Ps,
        dedicated_server: true,
        ..StrategyOptions::default()
    };
    close(
        &distributed(3, &data, m.clone(), c.clone(), &o).unwrap().0,
        &want,
        2e-5,
    );
    // Small buckets: several all-reduces per step, started during backward.
    let o = StrategyOptions {
        bucket_mb: Some(1e-4),
        ..StrategyOptions::default()
    };
    close(&distributed(3, &data, m, c, &o).unwrap().0, &want, 2e-5);
}

#[test]
fn local_sgd_every_step_with_plain_sgd_equals_allreduce() {
    let data = blobs(90);
    let (m, c) = (model(vec![]), config(OptimizerKind::Sgd, 0.1));
    let all = distributed(3, &data, m.clone(), c.clone(), &StrategyOptions::default())
        .unwrap()
        .0;
    let o = StrategyOptions {
        strategy: Strategy::LocalSgd,
        sync_every: 1,
        ..StrategyOptions::default()
    };
    close(
        &distributed(3, &data, m.clone(), c.clone(), &o).unwrap().0,
        &all,
        2e-5,
    );
    // Averaging only every 4 steps is a different run, which still learns.
    let o = StrategyOptions {
        strategy: Strategy::LocalSgd,
        sync_every: 4,
        warmup_steps: 3,
        ..StrategyOptions::default()
    };
    let p = distributed(2, &data, m, c, &o).unwrap().0;
    assert!(p.iter().zip(&all).any(|(a, b)| (a - b).abs() > 1e-4));
}

#[test]
fn async_keeps_staleness_within_the_bound_and_learns() {
    let data = blobs(90);
    let (m, mut c) = (model(vec![]), config(OptimizerKind::Sgd, 0.1));
    c.epochs = 6;
    for bound in [0, 1] {
        let o = StrategyOptions {
            strategy: Strategy::Async,
            max_staleness: bound,
            ..StrategyOptions::default()
        };
        let (p, h) = distributed(3, &data, m.clone(), c.clone(), &o).unwrap();
        let h = h.unwrap();
        assert!(h.max() as u64 <= bound, "{h:?}");
        // Every batch of every epoch was applied exactly once.
        assert_eq!(h.counts.iter().sum::<u64>(), 6 * 90u64.div_ceil(16));
        let mut t = Trainer::new(m.clone(), Task::Classification, c.clone()).unwrap();
        t.params_mut().set_flat(&p).unwrap();
        let rows: Vec<usize> = (0..90).collect();
        assert!(t.evaluate(&data, &rows).unwrap().accuracy.unwrap() > 0.8);
    }
}

#[test]
fn ranks_with_different_data_or_too_small_a_batch_are_refused() {
    let data = blobs(90);
    let other = blobs(93);
    let (m, c) = (model(vec![]), config(OptimizerKind::Sgd, 0.1));
    let err = run_threads(3, |comm| -> Result<(), TrainError> {
        let mine = if comm.rank() == 2 { &other } else { &data };
        let mut t = Trainer::new(m.clone(), Task::Classification, c.clone())?;
        let rows: Vec<usize> = (0..80).collect();
        let mut steps = StrategyOptions::default().runner(comm, Timeline::off());
        t.fit_with(mine, &rows, &[], &mut Silent, steps.as_mut())
    })
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("rank 2 sees different data than rank 0"),
        "{msg}"
    );
    assert!(err.error.unwrap().is_input_error());
    let mut small = c.clone();
    small.batch_size = 2;
    let msg = distributed(3, &data, m, small, &StrategyOptions::default()).unwrap_err();
    assert!(msg.contains("smaller than the number of ranks"), "{msg}");
}
