//! The in-process backend: ranks are worker threads sharing one board of collective slots and
//! one mailbox per rank. Sums are formed in rank order by the last rank to arrive, so every
//! rank gets the same bits whatever the timing, and the work of a non-blocking all-reduce is
//! done while the other ranks are still computing.

use super::comm::{CommError, CommResult, Communicator, PendingReduce};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

enum Payload {
    None,
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bytes(Vec<u8>),
}

#[derive(Clone, Copy)]
enum Combine {
    Sum,
    From(usize),
    Nothing,
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

fn length_of(p: &Payload) -> Option<usize> {
    match p {
        Payload::F32(v) => Some(v.len()),
        Payload::F64(v) => Some(v.len()),
        _ => None,
    }
}

impl LocalComm {
    /// A group of `n` ranks, one communicator per rank (move each into its own thread).
    pub fn group(n: usize) -> Vec<LocalComm> {
        let n = n.max(1);
        let shared = Arc::new(Shared {
            size: n,
            board: Mutex::new(Board {
                mail: (0..n).map(|_| VecDeque::new()).collect(),
                ..Board::default()
            }),
            wake: Condvar::new(),
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
                Combine::Sum if lens.iter().any(|l| *l != lens[0]) => {
                    let cause = format!("all-reduce with buffers of different lengths {lens:?}");
                    board.aborted = Some((self.rank, cause));
                    self.shared.wake.notify_all();
                    return Self::check(&board).map(|_| seq);
                }
                Combine::Sum => sum_parts(&mut slot.parts),
                Combine::From(root) => std::mem::replace(&mut slot.parts[root], Payload::None),
                Combine::Nothing => Payload::None,
            };
            slot.parts.clear();
            slot.result = Some(Arc::new(result));
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

    fn all_reduce_sum_f32(&mut self, buf: &mut [f32]) -> CommResult<()> {
        let r = self.collective(Payload::F32(buf.to_vec()), Combine::Sum)?;
        if let Payload::F32(v) = &*r {
            buf.copy_from_slice(v);
        }
        Ok(())
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
        self.shared.wake.notify_all();
    }
}
