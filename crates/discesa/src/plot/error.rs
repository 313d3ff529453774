//! Error type of the plotting module.

use std::path::PathBuf;

/// Why a figure could not be produced; every variant names the output file.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The file extension does not select a supported format.
    #[error("unsupported plot format for {path}: expected a .png or .svg extension")]
    UnsupportedFormat {
        /// Requested output path.
        path: PathBuf,
    },
    /// The requested canvas size is outside the supported range.
    #[error("invalid figure size {width}x{height} for {path}: each side must be between {min} and {max} pixels")]
    InvalidSize {
        /// Requested output path.
        path: PathBuf,
        /// Requested width in pixels.
        width: u32,
        /// Requested height in pixels.
        height: u32,
        /// Smallest accepted side.
        min: u32,
        /// Largest accepted side.
        max: u32,
    },
    /// The input data cannot be drawn (empty, mismatched or non-finite where it matters).
    #[error("invalid plot data for {path}: {what}")]
    InvalidData {
        /// Requested output path.
        path: PathBuf,
        /// What is wrong with the data, naming the series or option.
        what: String,
    },
    /// The embedded font could not be registered with the renderer.
    #[error("cannot register the embedded font: {0}")]
    Font(String),
    /// Drawing or encoding failed.
    #[error("rendering {path} failed: {message}")]
    Render {
        /// Requested output path.
        path: PathBuf,
        /// The renderer's message.
        message: String,
    },
    /// Replacing the output file failed.
    #[error("{0}")]
    File(#[from] crate::fsio::FileError),
    /// Creating, renaming or removing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// File the operation was applied to.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
}
