//! The three convolution kernels: forward, input gradient (transposed convolution) and weight
//! gradient. Images are spread over the kernel threads. Stride-1 convolutions work on padded rows
//! (see `shifted`): in `f32` on a CPU with AVX-512 or AVX2 + FMA by the direct kernels (`direct`,
//! `wgrad`), otherwise by one product with the weight per image over columns copied from the
//! padded rows. The f32 forward of a strided convolution splits the input into phase planes,
//! one stride-1 problem per phase for the same direct kernel (`Phases`); otherwise strided ones
//! take their columns from im2col, 1x1 ones straight from the input.
//! Layers with enough channels run the forward and the input gradient on the kernel with the
//! channels in the lanes (`channels`) over the same padded rows or phase planes, and the
//! stride-1 weight gradient on its counterpart (`wgrad_lanes`).

mod forward;
mod input_grad;
mod weight_grad;

pub(crate) use forward::{conv2d_forward, conv2d_forward_then, Epilogue};
pub(crate) use input_grad::conv2d_input_grad;
pub(crate) use weight_grad::conv2d_weight_grad;

use crate::tensor::num_threads;

/// Multiply-adds below which a whole batch runs on the calling thread.
const PARALLEL_WORK: usize = 1 << 18;

/// The number of threads worth using for `n` images of `work` multiply-adds in all.
fn threads_for(n: usize, work: usize) -> usize {
    if work < PARALLEL_WORK {
        1
    } else {
        num_threads().min(n).max(1)
    }
}

/// Whether the kernels with channels in the lanes run for `channels` output channels (of the
/// forward and the weight gradient, or input channels of the input gradient) rather than the
/// padded-row kernels. They compute only real outputs and read no shifted runs across cache
/// lines: from 16 channels on they were the faster ones here with both instruction sets
/// (ResNet-20 on 28×28 with AVX-512: 16 channels 85 → 91 GFLOP/s forward, 74 → 83 weight
/// gradient); with fewer, their broadcasts outnumber their products. `DISCESA_CONV_LANES=<channels>`
/// moves the threshold (for comparisons).
fn channel_lanes_pay(channels: usize) -> bool {
    static MIN: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    let min = MIN.get_or_init(|| {
        std::env::var("DISCESA_CONV_LANES")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    channels >= min.unwrap_or(16)
}
