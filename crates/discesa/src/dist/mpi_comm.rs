//! The MPI backend (cargo feature `mpi`) over the `mpi` crate: one rank per process, launched
//! by `mpirun`/`srun`. Only the main thread calls MPI (the kernels' worker threads never do).

use super::comm::{CommError, CommResult, Communicator, PendingReduce};
use mpi::collective::SystemOperation;
use mpi::environment::Universe;
use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{
    Communicator as MpiCommunicator, CommunicatorCollectives, Destination, Root, Source,
};
use mpi::Threading;
use std::os::raw::{c_int, c_void};
use std::sync::{Arc, Mutex};

/// This process's rank in `MPI_COMM_WORLD`.
///
/// MPI is not finalised when this is dropped: a rank that fails must leave without the
/// collective `MPI_Finalize` (the launcher then ends the job); a rank that succeeds calls
/// [`finalize`].
pub struct MpiComm {
    world: SimpleCommunicator,
    spare: SpareBuffers,
}

// SAFETY: the communicator is created, used and dropped by the thread that initialised MPI
// (MPI_THREAD_FUNNELED); `Send` only lets it be stored beside the trainer.
unsafe impl Send for MpiComm {}

impl MpiComm {
    /// Initialises MPI; `None` if it was initialised before in this process.
    pub fn init() -> Option<MpiComm> {
        ring_for_few_ranks();
        let (universe, _) = mpi::initialize_with_threading(Threading::Funneled)?;
        let world = universe.world();
        // Dropping the universe would finalise MPI; `finalize` does it on success only.
        std::mem::forget::<Universe>(universe);
        Some(MpiComm {
            world,
            spare: SpareBuffers::default(),
        })
    }

    fn process(&self, op: &str, r: usize) -> CommResult<mpi::topology::Process<'_>> {
        if r < self.size() {
            Ok(self.world.process_at_rank(r as i32))
        } else {
            Err(CommError::Invalid(format!(
                "{op}: rank {r} does not exist in a group of {}",
                self.size()
            )))
        }
    }
}

/// Open MPI's non-blocking all-reduce (libnbc, which the gradient buckets use) takes a binomial
/// tree below 4 ranks: all the data is reduced to one rank, then broadcast. Its ring (each rank
/// sends 2(p−1)/p of the data) all-reduced 1 MiB on 2 ranks in about 220 µs instead of 320
/// (docs/distributed.md). From 4 ranks its default, Rabenseifner's, is as bandwidth-lean with
/// fewer messages, so it stays. Set before `MPI_Init` reads it, unless the user chose.
fn ring_for_few_ranks() {
    const CHOICE: &str = "OMPI_MCA_coll_libnbc_iallreduce_algorithm";
    let few = super::launch::mpi_world_size().is_some_and(|n| n < 4);
    if few && std::env::var_os(CHOICE).is_none() {
        std::env::set_var(CHOICE, "1");
    }
}

/// Finalises MPI after a successful run (every rank calls it).
pub fn finalize() {
    // SAFETY: MPI was initialised by `MpiComm::init` and nothing uses it afterwards.
    unsafe {
        ffi::MPI_Finalize();
    }
}

/// Ends every rank of the job with exit code `code` (used by the panic hook).
pub fn abort_world(code: i32) {
    // SAFETY: MPI_Abort may be called from any thread once MPI is initialised; it does not
    // return when it succeeds.
    unsafe {
        ffi::MPI_Abort(ffi::RSMPI_COMM_WORLD, code as c_int);
    }
}

/// The send buffers of finished non-blocking all-reduces, kept to receive later ones: a
/// gradient bucket is all-reduced every step with the same length, and a fresh receive buffer
/// would be allocated and zeroed each time (about 2 % of a rank's time for the MNIST MLP on 2
/// ranks).
#[derive(Default, Clone)]
struct SpareBuffers(Arc<Mutex<Vec<Vec<f32>>>>);

impl SpareBuffers {
    /// A buffer of `n` values whose contents are to be overwritten.
    fn take(&self, n: usize) -> Vec<f32> {
        let mut spare = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut v = match spare.iter().position(|v| v.len() == n) {
            Some(i) => spare.swap_remove(i),
            None => spare.pop().unwrap_or_default(),
        };
        v.resize(n, 0.0);
        v
    }

    /// Keeps `v` for a later [`take`](Self::take).
    fn give(&self, v: Vec<f32>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(v);
    }
}

struct MpiPending {
    req: ffi::MPI_Request,
    send: Vec<f32>,
    recv: Vec<f32>,
    spare: SpareBuffers,
    done: bool,
}

// SAFETY: the request handle and its buffers are only touched by the thread that started it.
unsafe impl Send for MpiPending {}

impl PendingReduce for MpiPending {
    fn test(&mut self) -> CommResult<bool> {
        if !self.done {
            let mut flag: c_int = 0;
            // SAFETY: `req` is an active request whose buffers live in `self`.
            unsafe { ffi::MPI_Test(&mut self.req, &mut flag, ffi::RSMPI_STATUS_IGNORE) };
            self.done = flag != 0;
        }
        Ok(self.done)
    }

    fn wait(mut self: Box<Self>) -> CommResult<Vec<f32>> {
        if !self.done {
            // SAFETY: as in `test`; after the wait the buffers are free.
            unsafe { ffi::MPI_Wait(&mut self.req, ffi::RSMPI_STATUS_IGNORE) };
            self.done = true;
        }
        // The sent data is no longer needed: its buffer receives a later all-reduce.
        self.spare.give(std::mem::take(&mut self.send));
        Ok(std::mem::take(&mut self.recv))
    }
}

impl Drop for MpiPending {
    fn drop(&mut self) {
        if !self.done {
            // SAFETY: a request must complete before its buffers are freed.
            unsafe { ffi::MPI_Wait(&mut self.req, ffi::RSMPI_STATUS_IGNORE) };
        }
    }
}

impl Communicator for MpiComm {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn backend(&self) -> &'static str {
        "mpi"
    }

    fn broadcast_f32(&mut self, root: usize, buf: &mut [f32]) -> CommResult<()> {
        self.process("broadcast", root)?.broadcast_into(buf);
        Ok(())
    }

    fn broadcast_bytes(&mut self, root: usize, buf: &mut Vec<u8>) -> CommResult<()> {
        let p = self.process("broadcast", root)?;
        let mut len = buf.len() as u64;
        p.broadcast_into(&mut len);
        buf.resize(len as usize, 0);
        p.broadcast_into(&mut buf[..]);
        Ok(())
    }

    fn all_reduce_sum_f32(&mut self, buf: &mut [f32]) -> CommResult<()> {
        let send = buf.to_vec();
        self.world
            .all_reduce_into(&send[..], buf, SystemOperation::sum());
        Ok(())
    }

    fn all_reduce_sum_f64(&mut self, buf: &mut [f64]) -> CommResult<()> {
        let send = buf.to_vec();
        self.world
            .all_reduce_into(&send[..], buf, SystemOperation::sum());
        Ok(())
    }

    fn start_all_reduce_sum(&mut self, buf: Vec<f32>) -> CommResult<Box<dyn PendingReduce>> {
        let n = c_int::try_from(buf.len())
            .map_err(|_| CommError::Invalid(format!("all-reduce of {} values", buf.len())))?;
        let mut p = Box::new(MpiPending {
            // SAFETY: a null request is a valid placeholder until MPI_Iallreduce fills it.
            req: unsafe { ffi::RSMPI_REQUEST_NULL },
            recv: self.spare.take(buf.len()),
            send: buf,
            spare: self.spare.clone(),
            done: false,
        });
        // SAFETY: both buffers are heap allocations owned by the boxed request, which waits for
        // completion before they are freed (see `Drop`).
        unsafe {
            ffi::MPI_Iallreduce(
                p.send.as_ptr() as *const c_void,
                p.recv.as_mut_ptr() as *mut c_void,
                n,
                ffi::RSMPI_FLOAT,
                ffi::RSMPI_SUM,
                self.world.as_raw(),
                &mut p.req,
            );
        }
        Ok(p)
    }

    fn reduce_sum_f32(&mut self, root: usize, buf: &mut [f32]) -> CommResult<()> {
        let p = self.process("reduce", root)?;
        let send = buf.to_vec();
        if self.rank() == root {
            p.reduce_into_root(&send[..], buf, SystemOperation::sum());
        } else {
            p.reduce_into(&send[..], SystemOperation::sum());
        }
        Ok(())
    }

    fn send_f32(&mut self, dest: usize, tag: u16, data: &[f32]) -> CommResult<()> {
        self.process("send", dest)?
            .send_with_tag(data, i32::from(tag));
        Ok(())
    }

    fn recv_f32(&mut self, source: Option<usize>, tag: u16) -> CommResult<(usize, Vec<f32>)> {
        let (data, status) = match source {
            Some(s) => self
                .process("receive", s)?
                .receive_vec_with_tag::<f32>(i32::from(tag)),
            None => self
                .world
                .any_process()
                .receive_vec_with_tag::<f32>(i32::from(tag)),
        };
        Ok((status.source_rank() as usize, data))
    }

    fn barrier(&mut self) -> CommResult<()> {
        self.world.barrier();
        Ok(())
    }

    fn abort(&self, _cause: &str) {
        abort_world(1);
    }
}
