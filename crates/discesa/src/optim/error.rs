//! Error type of the optimizer module.

use thiserror::Error;

/// Everything that can go wrong when configuring or running an optimizer, a clipping
/// routine or a learning-rate schedule. Messages name the offending value or name.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum OptimError {
    /// Parameter and gradient buffers must be the same length.
    #[error("parameter buffer has {params} elements but gradient buffer has {grads}")]
    LengthMismatch {
        /// Length of the parameter buffer.
        params: usize,
        /// Length of the gradient buffer.
        grads: usize,
    },
    /// A hyper-parameter is outside its valid range.
    #[error("{name} must be {requirement}, got {value}")]
    InvalidHyperParameter {
        /// Human-readable name of the hyper-parameter (for example "learning rate").
        name: &'static str,
        /// The value that was given.
        value: f64,
        /// What the value must satisfy.
        requirement: &'static str,
    },
    /// The factory was asked for an optimizer it does not know.
    #[error("unknown optimizer `{name}`; valid names: {valid}")]
    UnknownOptimizer {
        /// The name that was given.
        name: String,
        /// Comma-separated list of valid names.
        valid: String,
    },
    /// An option was given to an optimizer that has no use for it.
    #[error("option `{option}` does not apply to optimizer {optimizer}; it accepts: {accepted}")]
    OptionNotApplicable {
        /// The option name.
        option: &'static str,
        /// The optimizer name.
        optimizer: &'static str,
        /// Comma-separated list of accepted options.
        accepted: String,
    },
    /// A saved state belongs to a different optimizer.
    #[error("optimizer state is for {found} but this optimizer is {expected}")]
    StateKindMismatch {
        /// This optimizer's name.
        expected: &'static str,
        /// The name recorded in the state.
        found: String,
    },
    /// A saved state is internally inconsistent.
    #[error("invalid optimizer state for {optimizer}: {reason}")]
    InvalidState {
        /// The optimizer name.
        optimizer: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The optimizer's state vectors do not match the parameter buffer.
    #[error("optimizer {optimizer} holds state for {state} elements but the parameter buffer has {params}")]
    StateLength {
        /// The optimizer name.
        optimizer: &'static str,
        /// Length of the state vectors.
        state: usize,
        /// Length of the parameter buffer.
        params: usize,
    },
    /// A named parameter segment does not fit in the flat buffer.
    #[error("parameter segment `{name}` (offset {offset}, length {len}) does not fit in a buffer of {total} elements")]
    SegmentOutOfBounds {
        /// Segment name.
        name: String,
        /// Segment offset.
        offset: usize,
        /// Segment length.
        len: usize,
        /// Length of the whole buffer.
        total: usize,
    },
    /// Two named parameter segments cover the same elements.
    #[error("parameter segments `{first}` and `{second}` overlap")]
    SegmentOverlap {
        /// The earlier segment.
        first: String,
        /// The segment that overlaps it.
        second: String,
    },
    /// A weight-decay mask was built for a buffer of another length.
    #[error("weight-decay mask covers {mask} elements but the parameter buffer has {params}")]
    MaskLength {
        /// Length the mask was built for.
        mask: usize,
        /// Length of the parameter buffer.
        params: usize,
    },
    /// The global gradient norm is NaN or infinite, so clipping cannot rescale it.
    #[error("gradient norm is not finite ({norm}); gradients were left unchanged")]
    NonFiniteGradNorm {
        /// The computed norm.
        norm: f64,
    },
    /// A learning-rate schedule string could not be parsed.
    #[error("invalid schedule `{input}`: {reason}")]
    ScheduleParse {
        /// The full string given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
}
