//! Reverse-mode automatic differentiation on a tape, with higher-order derivatives.
//!
//! Operations on [`Var`]s compute their values at once and record themselves on a [`Tape`].
//! [`Tape::backward`] then sweeps the tape once in reverse and returns every gradient: the cost is
//! a small constant times the forward pass, however many inputs there are. Backward rules are
//! written with the engine's own operations, so [`Tape::grad_graph`] can record them and
//! gradients can be differentiated again ([`hvp`], [`hessian`], [`jvp`]).

mod backward;
mod check;
mod conv;
mod higher;
mod norm;
mod op;
mod rules;
mod scalar;
mod tape;
mod var;

pub use backward::Gradients;
pub use check::{gradcheck, gradgradcheck, CheckFn, CheckOptions, CheckReport};
pub use higher::{gradient, hessian, hvp, jacobian, jvp};
pub use norm::BatchStats;
pub use tape::{NodeInfo, Tape};
pub use var::Var;

#[cfg(test)]
mod conv_tests;
#[cfg(test)]
mod tests;
