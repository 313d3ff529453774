//! Errors of landscape runs: bad settings or inputs (the user's to fix) apart from failures while
//! running.

use crate::checkpoint::CheckpointError;
use crate::data::DataError;
use crate::plot::PlotError;
use crate::train::TrainError;
use std::path::PathBuf;

/// What can stop a landscape run.
#[derive(Debug, thiserror::Error)]
pub enum LandscapeError {
    /// A setting, a checkpoint or the data does not fit what is asked.
    #[error("{0}")]
    Invalid(String),
    /// A tensor or model operation failed.
    #[error("{0}")]
    Model(#[from] crate::Error),
    /// Loading a checkpoint or preparing data failed.
    #[error("{0}")]
    Train(#[from] TrainError),
    /// Reading data failed.
    #[error("{0}")]
    Data(#[from] DataError),
    /// Reading or writing a tensor file failed.
    #[error("{0}")]
    Checkpoint(#[from] CheckpointError),
    /// Drawing a figure failed.
    #[error("{0}")]
    Plot(#[from] PlotError),
    /// A file could not be written.
    #[error("{0}")]
    File(#[from] crate::fsio::FileError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl LandscapeError {
    /// True when the error comes from the user's input (flags, checkpoints, data) rather than
    /// from the run itself.
    pub fn is_input_error(&self) -> bool {
        match self {
            LandscapeError::Invalid(_) | LandscapeError::Data(_) | LandscapeError::Model(_) => true,
            LandscapeError::Train(e) => e.is_input_error(),
            LandscapeError::Checkpoint(e) => !matches!(e, CheckpointError::Io { .. }),
            LandscapeError::Plot(_) | LandscapeError::File(_) | LandscapeError::Io { .. } => false,
        }
    }
}

/// Shorthand for an input error.
pub(crate) fn invalid<T>(msg: impl Into<String>) -> Result<T> {
    Err(LandscapeError::Invalid(msg.into()))
}

/// Result of the landscape module.
pub type Result<T, E = LandscapeError> = std::result::Result<T, E>;
