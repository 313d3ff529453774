//! discesa: reverse-mode automatic differentiation and gradient-descent training on the CPU.
#![warn(missing_docs)]
pub mod plot;
