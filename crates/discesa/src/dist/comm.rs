//! The `Communicator`: the few collective and point-to-point operations that every strategy
//! needs, small enough to implement twice (worker threads in one process, and MPI).

use std::fmt;

/// What can go wrong between ranks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommError {
    /// Another rank failed and the job is ending; names that rank and its cause.
    #[error("rank {rank} failed: {cause}")]
    Aborted {
        /// The rank that failed first.
        rank: usize,
        /// Its message.
        cause: String,
    },
    /// A call that does not fit the group (a rank out of range, buffers of different lengths).
    #[error("{0}")]
    Invalid(String),
}

/// Result of communicator operations.
pub type CommResult<T> = Result<T, CommError>;

/// A non-blocking all-reduce in flight; `wait` returns the summed buffer.
pub trait PendingReduce: Send {
    /// Drives the operation without blocking; true once it has completed.
    fn test(&mut self) -> CommResult<bool>;
    /// Blocks until every rank has contributed; returns the element-wise sum.
    fn wait(self: Box<Self>) -> CommResult<Vec<f32>>;
}

/// A group of `size` ranks that call collectives in the same order.
///
/// Sums are the same on every rank (the threads backend adds in rank order; MPI's reduction
/// algorithms may differ in the last bit on some rank counts, which is why the strategies
/// check that every rank holds the same parameters at the end of each epoch).
pub trait Communicator: Send {
    /// This rank, `0..size`.
    fn rank(&self) -> usize;
    /// Number of ranks.
    fn size(&self) -> usize;
    /// A short name of the backend (`threads`, `mpi`), for messages and the timeline.
    fn backend(&self) -> &'static str;
    /// Copies `root`'s buffer into every rank's (same length everywhere).
    fn broadcast_f32(&mut self, root: usize, buf: &mut [f32]) -> CommResult<()>;
    /// Broadcasts a byte string of any length from `root` (configuration, checksums).
    fn broadcast_bytes(&mut self, root: usize, buf: &mut Vec<u8>) -> CommResult<()>;
    /// Element-wise sum over ranks, the result on every rank.
    fn all_reduce_sum_f32(&mut self, buf: &mut [f32]) -> CommResult<()>;
    /// Element-wise sum over ranks of `f64` values (loss sums, counts).
    fn all_reduce_sum_f64(&mut self, buf: &mut [f64]) -> CommResult<()>;
    /// Starts an all-reduce sum of `buf` and returns at once; the data moves into the request.
    fn start_all_reduce_sum(&mut self, buf: Vec<f32>) -> CommResult<Box<dyn PendingReduce>>;
    /// All-reduce sum of a buffer that moves in and comes back summed, for a sum nothing is left
    /// to overlap with (a gradient that is one bucket). By default a non-blocking all-reduce
    /// waited for at once.
    fn all_reduce_sum_owned(&mut self, buf: Vec<f32>) -> CommResult<Vec<f32>> {
        self.start_all_reduce_sum(buf)?.wait()
    }
    /// Element-wise sum over ranks into `root`'s buffer (the others' buffers are unchanged).
    fn reduce_sum_f32(&mut self, root: usize, buf: &mut [f32]) -> CommResult<()>;
    /// Sends `data` to rank `dest` with a message `tag`.
    fn send_f32(&mut self, dest: usize, tag: u16, data: &[f32]) -> CommResult<()>;
    /// Receives a message with `tag` from `source`, or from any rank with `None`; returns the
    /// sender and the data.
    fn recv_f32(&mut self, source: Option<usize>, tag: u16) -> CommResult<(usize, Vec<f32>)>;
    /// Waits until every rank has arrived.
    fn barrier(&mut self) -> CommResult<()>;
    /// Ends the whole job because this rank failed with `cause`: the other ranks' pending and
    /// future calls fail with [`CommError::Aborted`] (threads), or the job is killed (MPI).
    fn abort(&self, cause: &str);
}

impl fmt::Debug for dyn Communicator + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rank {}/{}", self.backend(), self.rank(), self.size())
    }
}

/// The single-rank communicator: every collective is the identity.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoloComm;

struct Done(Vec<f32>);

impl PendingReduce for Done {
    fn test(&mut self) -> CommResult<bool> {
        Ok(true)
    }
    fn wait(self: Box<Self>) -> CommResult<Vec<f32>> {
        Ok(self.0)
    }
}

fn only_rank_zero(op: &str, r: usize) -> CommResult<()> {
    if r == 0 {
        Ok(())
    } else {
        Err(CommError::Invalid(format!(
            "{op}: rank {r} does not exist in a group of 1"
        )))
    }
}

impl Communicator for SoloComm {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn backend(&self) -> &'static str {
        "solo"
    }
    fn broadcast_f32(&mut self, root: usize, _: &mut [f32]) -> CommResult<()> {
        only_rank_zero("broadcast", root)
    }
    fn broadcast_bytes(&mut self, root: usize, _: &mut Vec<u8>) -> CommResult<()> {
        only_rank_zero("broadcast", root)
    }
    fn all_reduce_sum_f32(&mut self, _: &mut [f32]) -> CommResult<()> {
        Ok(())
    }
    fn all_reduce_sum_f64(&mut self, _: &mut [f64]) -> CommResult<()> {
        Ok(())
    }
    fn start_all_reduce_sum(&mut self, buf: Vec<f32>) -> CommResult<Box<dyn PendingReduce>> {
        Ok(Box::new(Done(buf)))
    }
    fn reduce_sum_f32(&mut self, root: usize, _: &mut [f32]) -> CommResult<()> {
        only_rank_zero("reduce", root)
    }
    fn send_f32(&mut self, dest: usize, _: u16, _: &[f32]) -> CommResult<()> {
        Err(CommError::Invalid(format!(
            "send: rank {dest} does not exist in a group of 1"
        )))
    }
    fn recv_f32(&mut self, _: Option<usize>, _: u16) -> CommResult<(usize, Vec<f32>)> {
        Err(CommError::Invalid(
            "receive: a group of 1 has nobody to receive from".into(),
        ))
    }
    fn barrier(&mut self) -> CommResult<()> {
        Ok(())
    }
    fn abort(&self, _: &str) {}
}
