//! The per-rank timeline of `--profile`: spans of compute (forward + backward), waiting for
//! all-reduce, updates and communication, written as a Chrome trace (one track per rank) and
//! summed into shares of the step time.

use super::comm::Communicator;
use crate::train::Result;
use serde_json::{json, Value};
use std::time::Instant;

#[derive(Debug, Clone, PartialEq)]
struct Event {
    name: String,
    start_us: f64,
    dur_us: f64,
}

/// Spans recorded on one rank (a no-op when off).
#[derive(Debug, Clone)]
pub struct Timeline {
    origin: Instant,
    events: Option<Vec<Event>>,
}

/// Shares of the recorded time.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TimeShares {
    /// Forward and backward, including communication that overlapped them.
    pub compute: f64,
    /// Blocking communication (broadcasts, reductions, parameter averaging).
    pub communication: f64,
    /// Waiting for non-blocking all-reduces or for the server after compute ended.
    pub waiting: f64,
    /// Optimizer updates.
    pub update: f64,
}

impl Timeline {
    /// A timeline that records nothing.
    pub fn off() -> Self {
        Timeline {
            origin: Instant::now(),
            events: None,
        }
    }

    /// A recording timeline; times count from `origin` (the same on every thread of a process).
    pub fn on(origin: Instant) -> Self {
        Timeline {
            origin,
            events: Some(Vec::new()),
        }
    }

    /// Whether spans are recorded.
    pub fn is_on(&self) -> bool {
        self.events.is_some()
    }

    /// A start time for [`span`](Self::span) (nothing when off).
    pub fn now(&self) -> Option<Instant> {
        self.events.as_ref().map(|_| Instant::now())
    }

    /// Records a span `name` from `start` until now.
    pub fn span(&mut self, name: &str, start: Option<Instant>) {
        if let (Some(ev), Some(s)) = (self.events.as_mut(), start) {
            let end = Instant::now();
            ev.push(Event {
                name: name.to_string(),
                start_us: s.duration_since(self.origin).as_secs_f64() * 1e6,
                dur_us: end.duration_since(s).as_secs_f64() * 1e6,
            });
        }
    }

    /// Shares of compute, communication, waiting and update in the recorded spans.
    pub fn shares(&self) -> TimeShares {
        let mut s = TimeShares::default();
        for e in self.events.iter().flatten() {
            let slot = match e.name.as_str() {
                "compute" => &mut s.compute,
                "update" => &mut s.update,
                n if n.starts_with("wait") => &mut s.waiting,
                n if n.starts_with("all-reduce bucket") => continue,
                _ => &mut s.communication,
            };
            *slot += e.dur_us;
        }
        let total = s.compute + s.communication + s.waiting + s.update;
        if total > 0.0 {
            s.compute /= total;
            s.communication /= total;
            s.waiting /= total;
            s.update /= total;
        }
        s
    }

    fn encode(&self) -> Vec<u8> {
        let ev: Vec<Value> = self
            .events
            .iter()
            .flatten()
            .map(|e| json!([e.name, e.start_us, e.dur_us]))
            .collect();
        serde_json::to_vec(&ev).expect("events serialise")
    }

    /// Gathers every rank's events on rank 0 as Chrome trace events (`tid` = rank); other ranks
    /// get an empty list. A collective: every rank calls it.
    pub fn gather(&self, comm: &mut dyn Communicator) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for r in 0..comm.size() {
            let mut bytes = if r == comm.rank() {
                self.encode()
            } else {
                Vec::new()
            };
            comm.broadcast_bytes(r, &mut bytes)?;
            if comm.rank() != 0 {
                continue;
            }
            let ev: Vec<(String, f64, f64)> = serde_json::from_slice(&bytes).unwrap_or_default();
            out.push(json!({"name": "thread_name", "ph": "M", "pid": 0, "tid": r,
                "args": {"name": format!("rank {r}")}}));
            for (name, ts, dur) in ev {
                let cat = if name == "compute" || name == "update" {
                    "compute"
                } else {
                    "communication"
                };
                out.push(json!({"name": name, "cat": cat, "ph": "X", "pid": 0, "tid": r, "ts": ts, "dur": dur}));
            }
        }
        Ok(out)
    }
}

/// Writes gathered events as a Chrome trace file (`chrome://tracing`, Perfetto).
pub fn write_trace(path: &std::path::Path, events: Vec<Value>) -> Result<()> {
    let doc = json!({"traceEvents": events, "displayTimeUnit": "ms"});
    crate::checkpoint::write_atomic(path, serde_json::to_string(&doc).expect("trace").as_bytes())?;
    Ok(())
}
