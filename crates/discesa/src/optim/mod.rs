//! Optimizers over flat parameter buffers, gradient clipping and learning-rate schedules.
//!
//! The engine stores all parameters of a model in one contiguous buffer and all gradients
//! in another of the same layout, so every optimizer updates `&mut [T]` from `&[T]` in a
//! single tight pass (split across rayon workers for buffers over about a million
//! elements). Named [`ParamSegment`]s describe where each parameter lives, which is enough
//! to exempt biases from weight decay with a [`DecayMask`].
//!
//! Update rules follow PyTorch's `torch.optim` formulations (documented on each type), and
//! [`OptimizerState`] snapshots resume a run bit for bit.

mod adam;
mod clip;
mod error;
mod factory;
mod float;
mod mask;
mod optimizer;
mod parallel;
mod rmsprop;
pub mod schedule;
mod sgd;
mod state;
mod validate;

#[cfg(test)]
mod testutil;

pub use adam::{Adam, AdamConfig};
pub use clip::{clip_grad_norm, clip_grad_value, grad_norm, sum_squares};
pub use error::OptimError;
pub use factory::{build, build_named, from_state, OptimOptions};
pub use float::OptimFloat;
pub use mask::{DecayMask, ParamSegment};
pub use optimizer::{Optimizer, OptimizerKind};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use schedule::{LrSchedule, Schedule};
pub use sgd::{Sgd, SgdConfig};
pub use state::{HyperParams, OptimizerState, StateBuffer};
