//! A conformance check of a [`Communicator`] backend: every primitive with known answers. The
//! threads backend runs it in the unit tests; `examples/allreduce_bench.rs` runs it under
//! `mpirun` for the MPI backend.

use super::comm::Communicator;

fn expect(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what())
    }
}

/// Exercises broadcast, all-reduce (blocking and not), reduce, send/receive (with any-source)
/// and barrier; every rank must call it. Returns what failed on this rank.
pub fn check_primitives(comm: &mut dyn Communicator) -> Result<(), String> {
    let (rank, size) = (comm.rank(), comm.size());
    let e = |x: super::CommError| x.to_string();
    let n = size as f32;

    let mut b = if rank == size - 1 {
        vec![1.5, -2.0, 7.0]
    } else {
        vec![0.0; 3]
    };
    comm.broadcast_f32(size - 1, &mut b).map_err(e)?;
    expect(b == [1.5, -2.0, 7.0], || {
        format!("rank {rank}: broadcast gave {b:?}")
    })?;

    let mut bytes = if rank == 0 {
        b"rank zero's bytes".to_vec()
    } else {
        Vec::new()
    };
    comm.broadcast_bytes(0, &mut bytes).map_err(e)?;
    expect(bytes == b"rank zero's bytes", || {
        format!("rank {rank}: byte broadcast gave {bytes:?}")
    })?;

    let mut s: Vec<f32> = (0..1000).map(|i| (rank * 1000 + i) as f32).collect();
    comm.all_reduce_sum_f32(&mut s).map_err(e)?;
    let want = |i: usize| n * i as f32 + 1000.0 * (n * (n - 1.0) / 2.0);
    expect((0..1000).all(|i| s[i] == want(i)), || {
        format!("rank {rank}: all-reduce gave {:?}...", &s[..3])
    })?;

    let mut d = [rank as f64, 1.0];
    comm.all_reduce_sum_f64(&mut d).map_err(e)?;
    expect(d == [(size * (size - 1) / 2) as f64, size as f64], || {
        format!("rank {rank}: f64 all-reduce gave {d:?}")
    })?;

    // Two non-blocking all-reduces in flight at once, completed in reverse order.
    let a = comm.start_all_reduce_sum(vec![1.0; 300_000]).map_err(e)?;
    let mut c = comm.start_all_reduce_sum(vec![rank as f32; 5]).map_err(e)?;
    let _ = c.test().map_err(e)?;
    let cv = c.wait().map_err(e)?;
    let av = a.wait().map_err(e)?;
    expect(av.len() == 300_000 && av.iter().all(|&x| x == n), || {
        format!("rank {rank}: non-blocking all-reduce gave {:?}", &av[..2])
    })?;
    expect(cv == vec![(size * (size - 1) / 2) as f32; 5], || {
        format!("rank {rank}: second non-blocking all-reduce gave {cv:?}")
    })?;

    let mut r = vec![rank as f32 + 1.0; 4];
    comm.reduce_sum_f32(0, &mut r).map_err(e)?;
    if rank == 0 {
        let want = (size * (size + 1) / 2) as f32;
        expect(r == vec![want; 4], || format!("rank 0: reduce gave {r:?}"))?;
    } else {
        expect(r == vec![rank as f32 + 1.0; 4], || {
            format!("rank {rank}: reduce changed a non-root buffer: {r:?}")
        })?;
    }

    // Every other rank sends to rank 0, which receives from any source; then rank 0 answers
    // each one by name.
    if rank == 0 {
        let mut seen = vec![false; size];
        for _ in 1..size {
            let (src, data) = comm.recv_f32(None, 7).map_err(e)?;
            expect(data == vec![src as f32; src], || {
                format!("rank 0: message from {src} was {data:?}")
            })?;
            seen[src] = true;
        }
        expect(seen[1..].iter().all(|&s| s), || {
            format!("rank 0: senders seen {seen:?}")
        })?;
        for dest in 1..size {
            comm.send_f32(dest, 8, &[dest as f32 * 10.0]).map_err(e)?;
        }
    } else {
        comm.send_f32(0, 7, &vec![rank as f32; rank]).map_err(e)?;
        let (src, data) = comm.recv_f32(Some(0), 8).map_err(e)?;
        expect(src == 0 && data == [rank as f32 * 10.0], || {
            format!("rank {rank}: reply {src} {data:?}")
        })?;
    }
    comm.barrier().map_err(e)?;
    Ok(())
}
