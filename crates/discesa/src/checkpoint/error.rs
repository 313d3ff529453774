//! Error type of the checkpoint module.

use std::path::PathBuf;
use thiserror::Error;

/// Failures while writing or reading checkpoint files; each names the file and, where one
/// is involved, the tensor.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// An I/O operation on `path` failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done ("writing", "reading", …).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A value could not be serialised to JSON.
    #[error("serialising JSON for {}: {source}", path.display())]
    Json {
        /// The file that was to be written.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// The file is not a valid safetensors file (corrupted or truncated).
    #[error("{} is not a valid safetensors file: {reason}", path.display())]
    Format {
        /// The file concerned.
        path: PathBuf,
        /// What the safetensors parser reported.
        reason: String,
    },
    /// A tensor's data length does not match its shape.
    #[error("tensor {name}: shape {shape:?} needs {expected} elements but {found} were given, writing {}", path.display())]
    DataLength {
        /// Tensor name.
        name: String,
        /// Declared shape.
        shape: Vec<usize>,
        /// Product of the shape.
        expected: usize,
        /// Number of values given.
        found: usize,
        /// The file being written.
        path: PathBuf,
    },
    /// Two tensors share a name.
    #[error("tensor {name} appears twice, writing {}", path.display())]
    DuplicateName {
        /// Tensor name.
        name: String,
        /// The file being written.
        path: PathBuf,
    },
    /// A tensor is stored with a dtype this crate does not read.
    #[error("tensor {name}: dtype {dtype} is not supported (only F32 and F64) in {}", path.display())]
    UnsupportedDType {
        /// Tensor name.
        name: String,
        /// The dtype found.
        dtype: String,
        /// The file read.
        path: PathBuf,
    },
    /// A requested tensor is not in the file.
    #[error("tensor {name} not found in {} (it holds {available})", path.display())]
    MissingTensor {
        /// Tensor name.
        name: String,
        /// Comma-separated names present in the file.
        available: String,
        /// The file read.
        path: PathBuf,
    },
    /// A tensor has another shape than expected.
    #[error("tensor {name}: expected shape {expected:?}, found {found:?} in {}", path.display())]
    ShapeMismatch {
        /// Tensor name.
        name: String,
        /// Shape the caller expected.
        expected: Vec<usize>,
        /// Shape stored in the file.
        found: Vec<usize>,
        /// The file read.
        path: PathBuf,
    },
    /// A tensor has another dtype than expected.
    #[error("tensor {name}: expected dtype {expected}, found {found} in {}", path.display())]
    DTypeMismatch {
        /// Tensor name.
        name: String,
        /// Dtype the caller expected.
        expected: super::DType,
        /// Dtype stored in the file.
        found: super::DType,
        /// The file read.
        path: PathBuf,
    },
}

impl From<crate::fsio::FileError> for CheckpointError {
    fn from(e: crate::fsio::FileError) -> Self {
        CheckpointError::Io {
            action: e.action,
            path: e.path,
            source: e.source,
        }
    }
}
