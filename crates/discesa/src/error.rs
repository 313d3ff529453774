//! The crate's error type for tensor and autodiff operations.
//!
//! Every message names the operation and the shapes or axes involved, so a failure deep inside a
//! model still says where it happened.

use crate::tensor::Shape;

/// What went wrong in a tensor or autodiff operation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Shapes that the operation cannot combine.
    #[error("{op}: {detail}")]
    Shape {
        /// The operation, e.g. `matmul`.
        op: &'static str,
        /// The shapes and why they do not fit.
        detail: String,
    },
    /// An axis outside the tensor's dimensions.
    #[error("{op}: axis {axis} is out of range for a tensor of shape {shape}")]
    Axis {
        /// The operation.
        op: &'static str,
        /// The axis asked for (possibly negative).
        axis: isize,
        /// The tensor's shape.
        shape: Shape,
    },
    /// An index outside the range of an axis.
    #[error("{op}: index {index} is out of range for axis {axis} of size {size}")]
    Index {
        /// The operation.
        op: &'static str,
        /// The offending index.
        index: usize,
        /// The axis indexed.
        axis: usize,
        /// The size of that axis.
        size: usize,
    },
    /// A misuse of the autodiff API (non-scalar backward without a seed, foreign variables, ...).
    #[error("{op}: {detail}")]
    Autodiff {
        /// The API entry point.
        op: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// An argument with an invalid value.
    #[error("{op}: {detail}")]
    Invalid {
        /// The operation.
        op: &'static str,
        /// What was wrong.
        detail: String,
    },
}

/// Result of tensor and autodiff operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn shape_err(op: &'static str, detail: impl Into<String>) -> Error {
    Error::Shape {
        op,
        detail: detail.into(),
    }
}

pub(crate) fn invalid(op: &'static str, detail: impl Into<String>) -> Error {
    Error::Invalid {
        op,
        detail: detail.into(),
    }
}
