//! `discesa bench`: prints the benchmark figures (see `discesa::bench`).

use crate::fail::{CmdResult, Fail};
use clap::Args;
use discesa::bench::BenchOptions;

/// Options of `discesa bench`.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  discesa bench --threads 1\n  discesa bench --only gemm_f32,scalar_chain --quick --json\n  bash ../shared/bench/run.sh --quick --ours 'target/release/discesa bench --quick --threads $BENCH_THREADS'"
)]
pub struct BenchArgs {
    /// Threads; default: all cores (or DISCESA_NUM_THREADS). The MLP training workloads run
    /// them as data-parallel workers where `train --threads` would.
    #[arg(long)]
    threads: Option<usize>,
    /// Comma-separated workload prefixes or groups to run (gemm_f32, conv3x3_fwd,
    /// mlp_wide_fwdbwd, scalar_chain, fd_vs_backprop, resnet20_train, plain20_train,
    /// mlp_wide_train, mlp_deep_train, landscape_resnet20, landscape_mlp_wide; the group `conv`
    /// selects conv3x3_fwd, resnet20_train and plain20_train, `landscape` the two surfaces).
    #[arg(long)]
    only: Option<String>,
    /// Three timed repetitions instead of seven.
    #[arg(long)]
    quick: bool,
    /// Batch sizes for the training workloads.
    #[arg(long, default_value = "16,64,256,1024", value_delimiter = ',')]
    batches: Vec<usize>,
    /// Print one JSON object per figure instead of RESULT lines.
    #[arg(long)]
    json: bool,
    /// Samples of the landscape workloads.
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// Points per axis of the landscape grid over [-1, 1]^2.
    #[arg(long, default_value_t = 5)]
    grid: usize,
    /// In-process data-parallel workers for mlp_wide_train and mlp_deep_train (1: kernel
    /// threads only); default: chosen from --threads and the batch size, as `train` does.
    #[arg(long)]
    workers: Option<usize>,
}

pub fn run(a: BenchArgs) -> CmdResult {
    discesa::bench::run(&BenchOptions {
        threads: a.threads,
        only: a.only,
        quick: a.quick,
        batches: a.batches,
        json: a.json,
        landscape_samples: a.samples,
        landscape_grid: a.grid,
        workers: a.workers,
    })
    .map_err(Fail::input)
}
