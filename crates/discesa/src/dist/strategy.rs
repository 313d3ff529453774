//! Choosing a strategy: `--strategy allreduce|ps|local-sgd|async` and its options.

use super::allreduce::AllReduce;
use super::async_sgd::{AsyncSgd, StalenessHistogram};
use super::buckets::BucketCaps;
use super::comm::Communicator;
use super::common::Ranked;
use super::local_sgd::LocalSgd;
use super::ps::ParameterServer;
use super::timeline::Timeline;
use crate::train::StepRunner;
use std::fmt;
use std::str::FromStr;

/// How ranks share the work of training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Gradients averaged by all-reduce in buckets; every rank updates (DDP).
    AllReduce,
    /// Gradients reduced to rank 0, which updates and broadcasts the weights.
    Ps,
    /// K local steps per rank, then the parameters are averaged.
    LocalSgd,
    /// Rank 0 applies workers' gradients on arrival, with bounded staleness.
    Async,
}

impl Strategy {
    /// Every strategy, as named on the command line.
    pub const NAMES: &'static str = "allreduce, ps, local-sgd, async";
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Strategy::AllReduce => "allreduce",
            Strategy::Ps => "ps",
            Strategy::LocalSgd => "local-sgd",
            Strategy::Async => "async",
        })
    }
}

impl FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "allreduce" | "all-reduce" => Ok(Strategy::AllReduce),
            "ps" | "parameter-server" => Ok(Strategy::Ps),
            "local-sgd" | "localsgd" => Ok(Strategy::LocalSgd),
            "async" => Ok(Strategy::Async),
            _ => Err(format!(
                "unknown strategy `{s}`; valid names: {}",
                Strategy::NAMES
            )),
        }
    }
}

/// A strategy with its settings.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyOptions {
    /// Which strategy.
    pub strategy: Strategy,
    /// Cap of every gradient bucket, in MiB (`allreduce`); `None` takes DDP's default caps
    /// ([`BucketCaps::default`]).
    pub bucket_mb: Option<f64>,
    /// Rank 0 only serves and computes no gradients (`ps`).
    pub dedicated_server: bool,
    /// Local steps between parameter averages (`local-sgd`).
    pub sync_every: u64,
    /// Steps of plain all-reduce before local steps begin (`local-sgd`).
    pub warmup_steps: u64,
    /// Largest accepted staleness of a gradient, in versions (`async`).
    pub max_staleness: u64,
}

impl Default for StrategyOptions {
    fn default() -> Self {
        StrategyOptions {
            strategy: Strategy::AllReduce,
            bucket_mb: None,
            dedicated_server: false,
            sync_every: 4,
            warmup_steps: 0,
            max_staleness: 4,
        }
    }
}

/// A strategy ready to run on one rank.
pub trait DistSteps: StepRunner {
    /// This rank's communicator.
    fn comm(&mut self) -> &mut dyn Communicator;
    /// The timeline recorded on this rank.
    fn timeline(&self) -> &Timeline;
    /// The staleness of applied updates (`async` on rank 0).
    fn staleness(&self) -> Option<&StalenessHistogram> {
        None
    }
}

impl StrategyOptions {
    /// Checks the settings against the group size, naming the bad one.
    pub fn validate(&self, size: usize) -> Result<(), String> {
        if self.sync_every == 0 {
            return Err("--sync-every must be at least 1".into());
        }
        if let Some(mb) = self.bucket_mb.filter(|mb| !(mb.is_finite() && *mb > 0.0)) {
            return Err(format!("--bucket-mb must be positive, got {mb}"));
        }
        if self.strategy == Strategy::Async && size < 2 {
            return Err("--strategy async needs at least 2 ranks (a server and a worker)".into());
        }
        if self.dedicated_server && size < 2 {
            return Err("--dedicated-server needs at least 2 ranks".into());
        }
        Ok(())
    }

    /// The runner of this strategy on `comm`'s rank.
    pub fn runner(&self, comm: Box<dyn Communicator>, timeline: Timeline) -> Box<dyn DistSteps> {
        let caps = self.bucket_mb.map_or_else(BucketCaps::default, |mb| {
            BucketCaps::all((mb * 1_048_576.0) as usize)
        });
        match self.strategy {
            Strategy::AllReduce => Box::new(Ranked::new(comm, timeline, AllReduce::new(caps))),
            Strategy::Ps => Box::new(Ranked::new(
                comm,
                timeline,
                ParameterServer::new(self.dedicated_server),
            )),
            Strategy::LocalSgd => Box::new(Ranked::new(
                comm,
                timeline,
                LocalSgd::new(self.sync_every, self.warmup_steps, caps),
            )),
            Strategy::Async => Box::new(Ranked::new(
                comm,
                timeline,
                AsyncSgd::new(self.max_staleness),
            )),
        }
    }
}
