//! Checkpoint files: atomic writes and safetensors tensor files.
//!
//! Every file the crate writes goes through [`crate::fsio`] (re-exported here as
//! [`write_atomic`]), so a crash or a full disk never leaves a half-written file in place of a
//! good one. Tensors are stored in the
//! safetensors format with PyTorch-style names, so Python tools can read them directly.

mod encode;
mod error;
mod tensors;

pub use crate::fsio::{write_atomic, write_atomic_with, write_json_atomic};
pub use error::CheckpointError;
pub use tensors::{
    encode_safetensors, load_safetensors, load_safetensors_file, parse_safetensors,
    save_safetensors, save_safetensors_with_metadata, DType, NamedTensor, TensorData, TensorFile,
    TensorValues,
};
