//! Checkpoint files: atomic writes and safetensors tensor files.
//!
//! Every file the crate writes goes through [`write_atomic`], so a crash or a full disk
//! never leaves a half-written checkpoint in place of a good one. Tensors are stored in the
//! safetensors format with PyTorch-style names, so Python tools can read them directly.

mod atomic;
mod error;
mod tensors;

pub use atomic::{write_atomic, write_atomic_with, write_json_atomic};
pub use error::CheckpointError;
pub use tensors::{
    load_safetensors, load_safetensors_file, save_safetensors, save_safetensors_with_metadata,
    DType, NamedTensor, TensorData, TensorFile, TensorValues,
};

#[cfg(test)]
pub(crate) use atomic::tests::TempDir;
