//! Data-parallel training over ranks: the [`Communicator`] (worker threads in one process, or
//! MPI processes with the `mpi` feature) and the strategies written once above it.
//!
//! Every rank runs the same epoch loop ([`Trainer::fit_with`](crate::train::Trainer::fit_with))
//! over the same global batches: the order is a function of (seed, epoch) only, rank `r` of `N`
//! takes its contiguous slice of each global batch ([`shard`]), gradients are weighted by the
//! slice's share of the batch, and dropout masks follow the sample's position in the global
//! batch. Hence `allreduce` and `ps` on N ranks train the model that one process trains.
//!
//! - [`AllReduce`]: DDP-style buckets in reverse layer order, each all-reduced (non-blocking)
//!   as soon as backward has produced it.
//! - [`ParameterServer`]: gradients reduced to rank 0, which updates and broadcasts.
//! - [`LocalSgd`]: K local steps, then a sample-weighted average of the parameters.
//! - [`AsyncSgd`]: rank 0 applies each worker's gradient on arrival, bounded staleness.

mod allreduce;
mod async_sgd;
mod buckets;
mod comm;
mod common;
pub mod fault;
mod launch;
mod local;
mod local_sgd;
#[cfg(feature = "mpi")]
mod mpi_comm;
mod ps;
pub mod selftest;
mod strategy;
mod timeline;

pub use allreduce::AllReduce;
pub use async_sgd::{AsyncSgd, StalenessHistogram};
pub use buckets::{BucketCaps, BucketPlan, BUCKET_BYTES, FIRST_BUCKET_BYTES};
pub use comm::{CommError, CommResult, Communicator, PendingReduce, SoloComm};
pub use common::{shard, Rank, RankSteps, Ranked, Step};
pub use launch::{
    in_process_workers, local_ranks, mpi_rank, mpi_world_size, run_threads, RankFailure,
    WORKER_MIN_ROWS,
};
pub use local::LocalComm;
pub use local_sgd::LocalSgd;
#[cfg(feature = "mpi")]
pub use mpi_comm::{abort_world, finalize as finalize_mpi, MpiComm};
pub use ps::ParameterServer;
pub use strategy::{DistSteps, Strategy, StrategyOptions};
pub use timeline::{write_trace, TimeShares, Timeline};

#[cfg(test)]
mod tests;
