//! All-reduce latency and bandwidth on the MPI ranks it runs on, for the α-β model of
//! docs/distributed.md. First checks every communicator primitive, then times blocking
//! and non-blocking all-reduces of f32 buffers from 4 bytes to 64 MiB and fits `t(n) = a + b·n`
//! to the blocking ones.
//!
//! ```text
//! cargo build --release -p discesa --features mpi --example allreduce_bench
//! mpirun -n 2 target/release/examples/allreduce_bench
//! ```

use discesa::dist::{finalize_mpi, selftest, Communicator, MpiComm};
use std::time::Instant;

/// The slowest rank's `secs`: a collective's time is its slowest rank's.
fn slowest_rank(comm: &mut MpiComm, secs: f64) -> f64 {
    let (rank, size) = (comm.rank(), comm.size());
    let mut all = vec![0.0f64; size];
    all[rank] = secs;
    comm.all_reduce_sum_f64(&mut all).expect("all-reduce");
    all.iter().copied().fold(0.0, f64::max)
}

fn main() {
    let Some(mut comm) = MpiComm::init() else {
        eprintln!("error: MPI could not be initialised");
        std::process::exit(1);
    };
    let (rank, size) = (comm.rank(), comm.size());
    if let Err(e) = selftest::check_primitives(&mut comm) {
        eprintln!("error: rank {rank}: {e}");
        discesa::dist::abort_world(1);
    }
    if rank == 0 {
        println!("communicator primitives: ok on {size} ranks");
    }
    let mut points = Vec::new();
    let mut n = 1usize;
    while n * 4 <= 64 << 20 {
        let mut buf = vec![1.0f32; n];
        let reps = (((1 << 24) / (n * 4)) as u32).clamp(5, 2000);
        for _ in 0..3 {
            comm.all_reduce_sum_f32(&mut buf).expect("all-reduce");
        }
        comm.barrier().expect("barrier");
        let t = Instant::now();
        for _ in 0..reps {
            comm.all_reduce_sum_f32(&mut buf).expect("all-reduce");
        }
        let slowest = slowest_rank(&mut comm, t.elapsed().as_secs_f64() / f64::from(reps));
        // The non-blocking all-reduce of the gradient buckets, started and waited for at once
        // (Open MPI runs it by another component, with other algorithms); each start is given a
        // buffer of its own, as a bucket is.
        comm.barrier().expect("barrier");
        let t = Instant::now();
        for _ in 0..reps {
            let pending = comm.start_all_reduce_sum(buf.clone()).expect("all-reduce");
            buf = pending.wait().expect("all-reduce");
        }
        let nonblocking = slowest_rank(&mut comm, t.elapsed().as_secs_f64() / f64::from(reps));
        if rank == 0 {
            let bytes = n * 4;
            println!(
                "RESULT allreduce ranks={size} bytes={bytes} seconds={slowest:.3e} GB/s={:.2} nonblocking_seconds={nonblocking:.3e}",
                bytes as f64 / slowest / 1e9
            );
        }
        points.push(((n * 4) as f64, slowest));
        n *= 4;
    }
    if rank == 0 {
        // Least squares of t = a + b·n; a from the small messages is the latency, b the
        // inverse bandwidth of the large ones.
        let k = points.len() as f64;
        let (sx, sy) = points
            .iter()
            .fold((0.0, 0.0), |(a, b), p| (a + p.0, b + p.1));
        let (mx, my) = (sx / k, sy / k);
        let (sxy, sxx) = points.iter().fold((0.0, 0.0), |(a, b), p| {
            (a + (p.0 - mx) * (p.1 - my), b + (p.0 - mx) * (p.0 - mx))
        });
        let b = sxy / sxx;
        let a = points[0].1;
        println!(
            "FIT allreduce ranks={size} a={a:.3e} s (smallest message) b={b:.3e} s/byte ({:.2} GB/s)",
            1.0 / b / 1e9
        );
    }
    comm.barrier().expect("barrier");
    finalize_mpi();
}
