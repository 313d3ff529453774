//! Errors of the training loop, each saying what failed and where.

use crate::checkpoint::CheckpointError;
use crate::data::DataError;
use crate::optim::OptimError;
use crate::plot::PlotError;
use std::path::PathBuf;

/// What can stop training, evaluation or a checkpoint round trip.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A tensor or model operation failed (shapes, labels, configuration).
    #[error("{0}")]
    Model(#[from] crate::Error),
    /// Reading or preparing data failed.
    #[error("{0}")]
    Data(#[from] DataError),
    /// The optimizer or a schedule rejected its settings.
    #[error("{0}")]
    Optim(#[from] OptimError),
    /// Writing or reading a checkpoint failed (including shape mismatches).
    #[error("{0}")]
    Checkpoint(#[from] CheckpointError),
    /// Writing a file failed.
    #[error("{0}")]
    File(#[from] crate::fsio::FileError),
    /// Drawing a figure failed.
    #[error("{0}")]
    Plot(#[from] PlotError),
    /// The loss or a gradient stopped being a finite number.
    #[error(
        "training stopped: {what} at step {step} (epoch {epoch}, batch {batch}); \
         non-finite gradient in layer {layer}{others} — lower the learning rate or clip gradients (--clip-grad-norm)"
    )]
    NonFinite {
        /// `loss became NaN`, `gradient became infinite`, ...
        what: String,
        /// Global step (1-based).
        step: u64,
        /// Epoch (1-based).
        epoch: usize,
        /// Batch within the epoch (1-based).
        batch: usize,
        /// The layer nearest the output whose gradient is not finite.
        layer: String,
        /// Other affected layers, formatted.
        others: String,
    },
    /// Another rank failed, or ranks disagree (distributed training).
    #[error("{0}")]
    Dist(#[from] crate::dist::CommError),
    /// A checkpoint or configuration does not fit what is asked of it.
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl TrainError {
    /// True when the error comes from the user's input (data, flags, checkpoint contents)
    /// rather than from the run itself; failing to write an output file (metrics, figure,
    /// checkpoint) is the run's failure, as in every subcommand.
    pub fn is_input_error(&self) -> bool {
        !matches!(
            self,
            TrainError::NonFinite { .. }
                | TrainError::Io { .. }
                | TrainError::File(_)
                | TrainError::Plot(_)
                | TrainError::Dist(_)
        )
    }
}

/// Result of the training module.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
