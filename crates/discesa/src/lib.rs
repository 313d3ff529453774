//! discesa: reverse-mode automatic differentiation and gradient-descent training on the CPU.
//!
//! - [`tensor`]: n-dimensional `f32`/`f64` arrays with broadcasting and fast matrix products.
//! - [`autodiff`]: the tape, backward, `grad`, Hessian-vector products and gradient checks.
//! - [`expr`]: the formula language, symbolic derivatives and readable printing.
//! - [`formula`]: formulas lowered onto the tape: gradients, Hessians, descent paths, figures.
//! - [`nn`]: modules, layers, losses and metrics over one flat parameter buffer.
//! - [`optim`]: optimizers over flat parameter buffers, clipping and learning-rate schedules.
//! - [`data`]: in-memory data sets, batching, splits and CSV / IDX / npy readers.
//! - [`landscape`]: loss surfaces along normalised directions, PCA trajectories, Hessian spectra.
//! - [`train`]: the training loop, progress, metrics files, figures and resumable checkpoints.
//! - [`dist`]: data-parallel training over ranks (threads or MPI): all-reduce, parameter
//!   server, local SGD, asynchronous SGD.
//! - [`checkpoint`]: atomic writes and safetensors files.
//! - [`plot`]: figures of descent paths, surfaces, training curves and gradient norms.
//! - [`bench`](mod@bench): the benchmark workloads of `discesa bench` and `cargo bench`.
#![warn(missing_docs)]

pub mod autodiff;
pub mod bench;
pub mod checkpoint;
pub mod data;
pub mod dist;
pub mod error;
pub mod expr;
pub mod formula;
pub mod fsio;
pub mod landscape;
pub mod nn;
pub mod optim;
pub mod plot;
mod simd;
pub mod snippet;
pub mod tensor;
pub mod train;

pub use autodiff::{Tape, Var};
pub use error::{Error, Result};
pub use tensor::Tensor;
