//! The in-process backend: ranks are worker threads sharing one board of collective slots and
//! one mailbox per rank. Sums are formed in rank order by the last rank to arrive, so every
//! rank gets the same bits whatever the timing, and the work of a non-blocking all-reduce is
//! done while the other ranks are still computing.
//!
//! A rank waiting for a collective spins for a while before it sleeps, when every rank has a
//! core of its own: waking a sleeping thread takes tens of microseconds on a virtual machine,
//! and a data-parallel step waits twice (for the others' gradients, then for the sum).

use super::comm::{CommError, CommResult, Communicator, PendingReduce};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a waiting rank spins before it sleeps on the condition variable.
const SPIN: Duration = Duration::from_millis(1);
/// How long of that it spins without yielding its core.
const BUSY: Duration = Duration::from_micros(20);

enum Payload {
    None,
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bytes(Vec<u8>),
    /// A rank's buffer lent for a blocking all-reduce (see [`SharedBuf`]).
    Lent(SharedBuf),
    /// Every rank's lent buffer, in rank order.
    AllLent(Vec<SharedBuf>),
}

/// The address and length of a buffer whose owner is blocked in
/// [`LocalComm::all_reduce_sum_f32`] until every rank has written its part of the sum into it.
#[derive(Clone, Copy)]
struct SharedBuf {
    addr: usize,
    len: usize,
}

#[derive(Clone, Copy)]
enum Combine {
    Sum,
    From(usize),
    Nothing,
    /// Collects the lent buffers (all of one length).
    Lend,
}

struct Slot {
    parts: Vec<Payload>,
    arrived: usize,
    result: Option<Arc<Payload>>,
    taken: usize,
}

struct Msg {
    src: usize,
    tag: u16,
    data: Vec<f32>,
}

#[derive(Default)]
struct Board {
    aborted: Option<(usize, String)>,
    slots: HashMap<u64, Slot>,
    mail: Vec<VecDeque<Msg>>,
}

struct Shared {
    size: usize,
    board: Mutex<Board>,
    wake: Condvar,
    /// How many collectives have completed: they complete in sequence order, since every rank
    /// joins them in that order. Spinning ranks read it without the lock.
    completed: AtomicU64,
    /// Set with the board's `aborted`, for spinning ranks.
    aborted: AtomicBool,
    /// Whether waiting ranks spin first: only when no rank has to share a core.
    spin: bool,
}

/// One rank of an in-process group (see [`LocalComm::group`]).
pub struct LocalComm {
    rank: usize,
    shared: Arc<Shared>,
    seq: u64,
}

/// Sums the parts in rank order into rank 0's buffer, which is taken over rather than copied.
fn sum_parts(parts: &mut [Payload]) -> Payload {
    match std::mem::replace(&mut parts[0], Payload::None) {
        Payload::F32(mut acc) => {
            for p in &parts[1..] {
                if let Payload::F32(v) = p {
                    acc.iter_mut().zip(v).for_each(|(a, b)| *a += b);
                }
            }
            Payload::F32(acc)
        }
        Payload::F64(mut acc) => {
            for p in &parts[1..] {
                if let Payload::F64(v) = p {
                    acc.iter_mut().zip(v).for_each(|(a, b)| *a += b);
                }
            }
            Payload::F64(acc)
        }
        _ => Payload::None,
    }
}

/// Writes, for every element in `part`, the rank-order sum of the buffers `ptrs` into each.
///
/// # Safety
/// Every pointer must be valid for reads and writes of `part.end` elements, and no other
/// thread may access elements `part` of these buffers during the call.
unsafe fn sum_into_all(ptrs: &[*mut f32], part: std::ops::Range<usize>) {
    const CHUNK: usize = 4096;
    let mut acc = vec![0.0f32; CHUNK.min(part.len())];
    let mut start = part.start;
    while start < part.end {
        let n = CHUNK.min(part.end - start);
        let acc = &mut acc[..n];
        acc.copy_from_slice(std::slice::from_raw_parts(ptrs[0].add(start), n));
        for p in &ptrs[1..] {
            let other = std::slice::from_raw_parts(p.add(start), n);
            acc.iter_mut().zip(other).for_each(|(a, b)| *a += b);
        }
        for p in ptrs {
            std::slice::from_raw_parts_mut(p.add(start), n).copy_from_slice(acc);
        }
        start += n;
    }
}

fn length_of(p: &Payload) -> Option<usize> {
    match p {
        Payload::F32(v) => Some(v.len()),
        Payload::F64(v) => Some(v.len()),
        Payload::Lent(b) => Some(b.len),
        _ => None,
    }
}

fn lent(parts: &[Payload]) -> Payload {
    Payload::AllLent(
        parts
            .iter()
            .filter_map(|p| match p {
                Payload::Lent(b) => Some(*b),
                _ => None,
            })
            .collect(),
    )
}

impl LocalComm {
    /// A group of `n` ranks, one communicator per rank (move each into its own thread).
    pub fn group(n: usize) -> Vec<LocalComm> {
        let n = n.max(1);
        let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
        let shared = Arc::new(Shared {
            size: n,
            board: Mutex::new(Board {
                mail: (0..n).map(|_| VecDeque::new()).collect(),
                ..Board::default()
            }),
            wake: Condvar::new(),
            completed: AtomicU64::new(0),
            aborted: AtomicBool::new(false),
            spin: n > 1 && n <= cores,
        });
        (0..n)
            .map(|rank| LocalComm {
                rank,
                shared: shared.clone(),
                seq: 0,
            })
            .collect()
    }

    /// Another handle on the same rank (to abort it or ask who failed from outside the thread
    /// that owns it); it must not call collectives.
    pub fn handle(&self) -> LocalComm {
        LocalComm {
            rank: self.rank,
            shared: self.shared.clone(),
            seq: u64::MAX,
        }
    }

    /// The rank that aborted the group first, if any.
    pub fn failed_rank(&self) -> Option<usize> {
        self.lock().aborted.as_ref().map(|(r, _)| *r)
    }

    fn lock(&self) -> MutexGuard<'_, Board> {
        // A rank that panicked while holding the lock cannot leave the board half-changed in a
        // way that matters: every change is one push or insert.
        self.shared
            .board
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn check(board: &Board) -> CommResult<()> {
        match &board.aborted {
            Some((rank, cause)) => Err(CommError::Aborted {
                rank: *rank,
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    fn check_rank(&self, op: &str, r: usize) -> CommResult<()> {
        if r < self.shared.size {
            Ok(())
        } else {
            Err(CommError::Invalid(format!(
                "{op}: rank {r} does not exist in a group of {}",
                self.shared.size
            )))
        }
    }

    /// Puts this rank's part of the next collective on the board; the last rank to arrive
    /// combines the parts. Returns the collective's sequence number.
    fn deposit(&mut self, part: Payload, how: Combine) -> CommResult<u64> {
        let seq = self.seq;
        self.seq += 1;
        let size = self.shared.size;
        let mut board = self.lock();
        Self::check(&board)?;
        let slot = board.slots.entry(seq).or_insert_with(|| Slot {
            parts: (0..size).map(|_| Payload::None).collect(),
            arrived: 0,
            result: None,
            taken: 0,
        });
        slot.parts[self.rank] = part;
        slot.arrived += 1;
        if slot.arrived == size {
            let lens: Vec<Option<usize>> = slot.parts.iter().map(length_of).collect();
            let result = match how {
                Combine::Sum | Combine::Lend if lens.iter().any(|l| *l != lens[0]) => {
                    let cause = format!("all-reduce with buffers of different lengths {lens:?}");
                    board.aborted = Some((self.rank, cause));
                    self.shared.aborted.store(true, Ordering::Release);
                    self.shared.wake.notify_all();
                    return Self::check(&board).map(|_| seq);
                }
                Combine::Sum => sum_parts(&mut slot.parts),
                Combine::Lend => lent(&slot.parts),
                Combine::From(root) => std::mem::replace(&mut slot.parts[root], Payload::None),
                Combine::Nothing => Payload::None,
            };
            slot.parts.clear();
            slot.result = Some(Arc::new(result));
            self.shared.completed.fetch_max(seq + 1, Ordering::Release);
            self.shared.wake.notify_all();
        }
        Ok(seq)
    }

    /// The combined result of collective `seq`, if ready (takes this rank's share).
    fn take(&self, board: &mut Board, seq: u64) -> Option<Arc<Payload>> {
        let size = self.shared.size;
        let slot = board.slots.get_mut(&seq)?;
        let r = slot.result.clone()?;
        slot.taken += 1;
        if slot.taken == size {
            board.slots.remove(&seq);
        }
        Some(r)
    }

    fn wait_for(&self, seq: u64) -> CommResult<Arc<Payload>> {
        self.spin_until_done(seq);
        let mut board = self.lock();
        loop {
            Self::check(&board)?;
            if board.slots.get(&seq).is_some_and(|s| s.result.is_some()) {
                return Ok(self.take(&mut board, seq).expect("result is ready"));
            }
            board = self
                .shared
                .wake
                .wait(board)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Spins (without the lock) until collective `seq` has completed or the group aborted, for
    /// at most [`SPIN`], when ranks have cores of their own. After the first [`BUSY`] it yields
    /// its core at every turn, in case other threads (another process, other tests) need it.
    fn spin_until_done(&self, seq: u64) {
        if !self.shared.spin {
            return;
        }
        let start = Instant::now();
        while self.shared.completed.load(Ordering::Acquire) <= seq
            && !self.shared.aborted.load(Ordering::Acquire)
        {
            let waited = start.elapsed();
            if waited < BUSY {
                std::hint::spin_loop();
            } else if waited < SPIN {
                std::thread::yield_now();
            } else {
                return;
            }
        }
    }

    fn collective(&mut self, part: Payload, how: Combine) -> CommResult<Arc<Payload>> {
        let seq = self.deposit(part, how)?;
        self.wait_for(seq)
    }
}

struct LocalPending {
    comm_rank: usize,
    shared: Arc<Shared>,
    seq: u64,
}

impl LocalPending {
    fn comm(&self) -> LocalComm {
        LocalComm {
            rank: self.comm_rank,
            shared: self.shared.clone(),
            seq: self.seq,
        }
    }
}

fn into_f32(p: Arc<Payload>) -> Vec<f32> {
    match Arc::try_unwrap(p) {
        Ok(Payload::F32(v)) => v,
        Ok(_) => Vec::new(),
        Err(shared) => match &*shared {
            Payload::F32(v) => v.clone(),
            _ => Vec::new(),
        },
    }
}

impl PendingReduce for LocalPending {
    fn test(&mut self) -> CommResult<bool> {
        if self.shared.completed.load(Ordering::Acquire) > self.seq {
            return Ok(true);
        }
        let c = self.comm();
        let board = c.lock();
        LocalComm::check(&board)?;
        Ok(board
            .slots
            .get(&self.seq)
            .is_some_and(|s| s.result.is_some()))
    }

    fn wait(self: Box<Self>) -> CommResult<Vec<f32>> {
        Ok(into_f32(self.comm().wait_for(self.seq)?))
    }
}

impl Communicator for LocalComm {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.shared.size
    }

    fn backend(&self) -> &'static str {
        "threads"
    }

    fn broadcast_f32(&mut self, root: usize, buf: &mut [f32]) -> CommResult<()> {
        self.check_rank("broadcast", root)?;
        let part = if self.rank == root {
            Payload::F32(buf.to_vec())
        } else {
            Payload::None
        };
        let r = self.collective(part, Combine::From(root))?;
        if self.rank != root {
            match &*r {
                Payload::F32(v) if v.len() == buf.len() => buf.copy_from_slice(v),
                _ => {
                    return Err(CommError::Invalid(format!(
                        "broadcast: rank {} expected {} values from rank {root}",
                        self.rank,
                        buf.len()
                    )))
                }
            }
        }
        Ok(())
    }

    fn broadcast_bytes(&mut self, root: usize, buf: &mut Vec<u8>) -> CommResult<()> {
        self.check_rank("broadcast", root)?;
        let part = if self.rank == root {
            Payload::Bytes(buf.clone())
        } else {
            Payload::None
        };
        let r = self.collective(part, Combine::From(root))?;
        if let Payload::Bytes(v) = &*r {
            if self.rank != root {
                buf.clone_from(v);
            }
        }
        Ok(())
    }

    /// Every rank sums its share of the elements over all ranks' buffers (in rank order, as
    /// [`sum_parts`]) and writes the sum into every buffer: the work is split over the ranks
    /// and nothing is copied in or out.
    fn all_reduce_sum_f32(&mut self, buf: &mut [f32]) -> CommResult<()> {
        if self.shared.size == 1 {
            return Ok(());
        }
        // Only this pointer touches `buf` until the closing barrier (no other borrow of it).
        let mine = buf.as_mut_ptr();
        let lend = SharedBuf {
            addr: mine as usize,
            len: buf.len(),
        };
        let r = self.collective(Payload::Lent(lend), Combine::Lend)?;
        let Payload::AllLent(bufs) = &*r else {
            return Err(CommError::Invalid("all-reduce: no buffers lent".into()));
        };
        let part = super::common::shard(lend.len, self.shared.size, self.rank);
        let ptrs: Vec<*mut f32> = bufs
            .iter()
            .enumerate()
            .map(|(q, b)| {
                if q == self.rank {
                    mine
                } else {
                    b.addr as *mut f32
                }
            })
            .collect();
        // SAFETY: every buffer is `lend.len` long (checked when they were collected) and stays
        // lent until the barrier below, its owner blocked in this call; this rank alone reads
        // and writes the elements `part` of each, so no two ranks touch the same element, and
        // the barrier orders these writes before every owner reads its buffer again.
        unsafe { sum_into_all(&ptrs, part) };
        self.barrier()
    }

    fn all_reduce_sum_f64(&mut self, buf: &mut [f64]) -> CommResult<()> {
        let r = self.collective(Payload::F64(buf.to_vec()), Combine::Sum)?;
        if let Payload::F64(v) = &*r {
            buf.copy_from_slice(v);
        }
        Ok(())
    }

    fn start_all_reduce_sum(&mut self, buf: Vec<f32>) -> CommResult<Box<dyn PendingReduce>> {
        let seq = self.deposit(Payload::F32(buf), Combine::Sum)?;
        Ok(Box::new(LocalPending {
            comm_rank: self.rank,
            shared: self.shared.clone(),
            seq,
        }))
    }

    /// The blocking all-reduce, whose sum is split over the ranks (the non-blocking one is
    /// formed by the last rank to arrive).
    fn all_reduce_sum_owned(&mut self, mut buf: Vec<f32>) -> CommResult<Vec<f32>> {
        self.all_reduce_sum_f32(&mut buf)?;
        Ok(buf)
    }

    fn reduce_sum_f32(&mut self, root: usize, buf: &mut [f32]) -> CommResult<()> {
        self.check_rank("reduce", root)?;
        let r = self.collective(Payload::F32(buf.to_vec()), Combine::Sum)?;
        if self.rank == root {
            if let Payload::F32(v) = &*r {
                buf.copy_from_slice(v);
            }
        }
        Ok(())
    }

    fn send_f32(&mut self, dest: usize, tag: u16, data: &[f32]) -> CommResult<()> {
        self.check_rank("send", dest)?;
        let mut board = self.lock();
        Self::check(&board)?;
        board.mail[dest].push_back(Msg {
            src: self.rank,
            tag,
            data: data.to_vec(),
        });
        self.shared.wake.notify_all();
        Ok(())
    }

    fn recv_f32(&mut self, source: Option<usize>, tag: u16) -> CommResult<(usize, Vec<f32>)> {
        if let Some(s) = source {
            self.check_rank("receive", s)?;
        }
        let mut board = self.lock();
        loop {
            Self::check(&board)?;
            let inbox = &mut board.mail[self.rank];
            let hit = inbox
                .iter()
                .position(|m| m.tag == tag && source.is_none_or(|s| s == m.src));
            if let Some(i) = hit {
                let m = inbox.remove(i).expect("index from position");
                return Ok((m.src, m.data));
            }
            board = self
                .shared
                .wake
                .wait(board)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    fn barrier(&mut self) -> CommResult<()> {
        self.collective(Payload::None, Combine::Nothing).map(|_| ())
    }

    fn abort(&self, cause: &str) {
        let mut board = self.lock();
        if board.aborted.is_none() {
            board.aborted = Some((self.rank, cause.to_string()));
        }
        self.shared.aborted.store(true, Ordering::Release);
        self.shared.wake.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rank `r`'s buffer of the tests: values whose sums round differently in another order.
    fn values(r: usize, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7 + r * 13) % 101) as f32 * 0.1 + 1e-3 / (1 + r) as f32)
            .collect()
    }

    /// `f` on every rank of a group of `size`, each in its own thread; the results in rank order.
    fn on_ranks<T: Send>(size: usize, f: impl Fn(LocalComm) -> T + Sync) -> Vec<T> {
        std::thread::scope(|s| {
            let handles: Vec<_> = LocalComm::group(size)
                .into_iter()
                .map(|c| s.spawn(|| f(c)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .collect()
        })
    }

    #[test]
    fn the_shared_blocking_sum_is_the_rank_order_sum_on_every_rank() {
        for (size, n) in [(2, 10_001), (3, 9_000), (4, 3)] {
            let want: Vec<f32> = (0..n)
                .map(|i| (1..size).fold(values(0, n)[i], |acc, r| acc + values(r, n)[i]))
                .collect();
            let got = on_ranks(size, |mut c| {
                let mut v = values(c.rank(), n);
                c.all_reduce_sum_f32(&mut v).map(|()| v)
            });
            for v in got {
                let v = v.expect("the sum succeeds");
                assert!(
                    v.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{size} ranks, {n} values"
                );
            }
        }
    }

    #[test]
    fn buffers_of_different_lengths_fail_on_every_rank() {
        let errs = on_ranks(2, |mut c| {
            let mut v = vec![1.0f32; 5 + c.rank()];
            c.all_reduce_sum_f32(&mut v)
        });
        for e in errs {
            let e = e.expect_err("lengths differ").to_string();
            assert!(e.contains("different lengths [Some(5), Some(6)]"), "{e}");
        }
    }
}
