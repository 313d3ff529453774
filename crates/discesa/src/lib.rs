//! discesa: reverse-mode automatic differentiation and gradient-descent training on the CPU.
//!
//! - [`tensor`]: n-dimensional `f32`/`f64` arrays with broadcasting and fast matrix products.
//! - [`autodiff`]: the tape, backward, `grad`, Hessian-vector products and gradient checks.
//! - [`data`]: in-memory data sets, batching, splits and CSV / IDX / npy readers.
//! - [`expr`]: the formula language, symbolic derivatives and readable printing.
//! - [`nn`]: modules, layers, losses and metrics over one flat parameter buffer.
//! - [`optim`]: optimizers over flat parameter buffers, clipping and learning-rate schedules.
//! - [`train`]: the training loop, progress, metrics files, figures and resumable checkpoints.
//! - [`checkpoint`]: atomic writes and safetensors files.
//! - [`plot`]: figures of descents, surfaces and training runs.
#![warn(missing_docs)]

pub mod autodiff;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod expr;
pub mod nn;
pub mod optim;
pub mod plot;
pub mod tensor;
pub mod train;

pub use autodiff::{Tape, Var};
pub use error::{Error, Result};
pub use tensor::Tensor;
