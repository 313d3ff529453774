//! `mlp_wide_train` and `mlp_deep_train`: SGD steps of an MLP on one fixed batch, as the peer
//! script times them. With more than one worker the batch is shared out over in-process
//! data-parallel ranks (the threads communicator `discesa train --threads` uses): each computes
//! the gradient of its slice, the weighted gradients are all-reduced and every rank takes the
//! same step, so the workload is the same computation as on one rank.

use super::{emit_training, fixed_labels, time_steps, Net, Out};
use crate::dist::{run_threads, shard, CommError, CommResult, Communicator};
use crate::tensor::{num_threads, set_num_threads};
use crate::Tensor;

/// The fixed batch of the workload: N(0, 1) inputs and the peers' fixed labels.
fn batch(inputs: usize, b: usize) -> (Tensor<f32>, Vec<usize>) {
    let x = Tensor::<f32>::rand_normal([b, inputs], 0.0, 1.0, 3);
    (x, fixed_labels(b))
}

/// Times SGD steps of the MLP `dims` at batch `b` on `workers` ranks and prints samples/s.
pub(super) fn mlp_train(
    out: &Out,
    reps: usize,
    name: &str,
    dims: &[usize],
    b: usize,
    workers: usize,
) -> Result<(), String> {
    if workers <= 1 {
        let mut net = Net::new(dims, 0);
        let (x, labels) = batch(dims[0], b);
        let mut loss = 0.0;
        let m = time_steps(reps, || loss = net.sgd_step(&x, &labels));
        emit_training(out, name, b, m, loss, ("workers", "1".into()));
        return Ok(());
    }
    if workers > b {
        return Err(format!(
            "--workers {workers} is more than the batch size {b}"
        ));
    }
    let kernel_threads = num_threads();
    // Each worker runs its own kernels: the cores go to the workers.
    set_num_threads((out.threads / workers).max(1));
    let r = run_threads(workers, |mut comm| {
        let mut replica = Replica::new(dims, b, comm.rank(), workers);
        if comm.rank() != 0 {
            return replica.follow(comm.as_mut());
        }
        let (mut loss, mut failed) = (0.0, None);
        let m = time_steps(reps, || {
            if failed.is_none() {
                match go(comm.as_mut(), true).and_then(|_| replica.step(comm.as_mut())) {
                    Ok(l) => loss = l,
                    Err(e) => failed = Some(e),
                }
            }
        });
        go(comm.as_mut(), false)?;
        if let Some(e) = failed {
            return Err(e);
        }
        emit_training(out, name, b, m, loss, ("workers", workers.to_string()));
        Ok(())
    });
    set_num_threads(kernel_threads);
    r.map_err(|f| f.to_string())
}

/// Rank 0 tells the others whether another step follows (its timing loop decides when to
/// stop): `more` on rank 0, ignored elsewhere; returns rank 0's word on every rank.
fn go(comm: &mut dyn Communicator, more: bool) -> CommResult<bool> {
    let mut flag = [if more { 1.0 } else { 0.0 }];
    comm.broadcast_f32(0, &mut flag)?;
    Ok(flag[0] != 0.0)
}

/// One rank's copy of the net and its contiguous slice of the batch.
struct Replica {
    net: Net,
    x: Tensor<f32>,
    labels: Vec<usize>,
    /// The slice's share of the batch: its gradient's weight in the batch mean.
    weight: f32,
}

impl Replica {
    fn new(dims: &[usize], b: usize, rank: usize, workers: usize) -> Self {
        let (x, labels) = batch(dims[0], b);
        let rows = shard(b, workers, rank);
        let d = dims[0];
        let mine = x.as_slice()[rows.start * d..rows.end * d].to_vec();
        Replica {
            net: Net::new(dims, 0),
            x: Tensor::from_vec(mine, [rows.len(), d]).expect("a slice of whole rows"),
            labels: labels[rows.clone()].to_vec(),
            weight: rows.len() as f32 / b as f32,
        }
    }

    /// One data-parallel SGD step; returns the batch's mean loss.
    fn step(&mut self, comm: &mut dyn Communicator) -> CommResult<f32> {
        let loss = self.net.gradient(&self.x, &self.labels);
        let g = &mut self.net.grads;
        g.iter_mut().for_each(|v| *v *= self.weight);
        // The loss rides along in the same all-reduce.
        g.push(loss * self.weight);
        comm.all_reduce_sum_f32(g)?;
        let loss = g.pop().unwrap_or(f32::NAN);
        self.net.update();
        Ok(loss)
    }

    /// A rank other than 0: steps for as long as rank 0 says so.
    fn follow(&mut self, comm: &mut dyn Communicator) -> Result<(), CommError> {
        while go(comm, false)? {
            self.step(comm)?;
        }
        Ok(())
    }
}

/// Rank 0's parameters after `steps` data-parallel steps on `workers` ranks.
#[cfg(test)]
fn parallel_params(dims: &[usize], b: usize, workers: usize, steps: usize) -> Vec<f32> {
    let result = std::sync::Mutex::new(Vec::new());
    run_threads(workers, |mut comm| -> CommResult<()> {
        let mut replica = Replica::new(dims, b, comm.rank(), workers);
        for _ in 0..steps {
            replica.step(comm.as_mut())?;
        }
        if comm.rank() == 0 {
            *result.lock().expect("not poisoned") = replica.net.params.flat().to_vec();
        }
        Ok(())
    })
    .expect("no rank fails");
    result.into_inner().expect("not poisoned")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_take_the_steps_of_one_process() {
        let dims = [12, 16, 10];
        let (b, steps) = (13, 3);
        let mut solo = Net::new(&dims, 0);
        let (x, labels) = batch(dims[0], b);
        for _ in 0..steps {
            solo.sgd_step(&x, &labels);
        }
        for workers in [2, 3] {
            let p = parallel_params(&dims, b, workers, steps);
            assert_eq!(p.len(), solo.params.len());
            let moved = solo
                .params
                .flat()
                .iter()
                .zip(Net::new(&dims, 0).params.flat())
                .any(|(a, b)| (a - b).abs() > 1e-4);
            assert!(moved, "the steps changed nothing");
            for (a, b) in p.iter().zip(solo.params.flat()) {
                assert!((a - b).abs() < 1e-5, "{workers} workers: {a} vs {b}");
            }
        }
    }

    #[test]
    fn follow_stops_when_rank_zero_says_so() {
        let dims = [4, 3, 10];
        run_threads(2, |mut comm| -> CommResult<()> {
            let mut r = Replica::new(&dims, 4, comm.rank(), 2);
            if comm.rank() == 1 {
                return r.follow(comm.as_mut());
            }
            for _ in 0..2 {
                assert!(go(comm.as_mut(), true)?);
                r.step(comm.as_mut())?;
            }
            assert!(!go(comm.as_mut(), false)?);
            Ok(())
        })
        .expect("both ranks end");
    }
}
