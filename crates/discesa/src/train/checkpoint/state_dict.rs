//! Reading a model's parameters and buffers from a safetensors state dict by name: our own
//! `model.safetensors`, or one saved from PyTorch with `safetensors.torch.save_file(
//! model.state_dict(), …)` to initialise a run (`--init`).

use super::super::{Result, TrainError};
use crate::checkpoint::TensorFile;
use crate::nn::{init_buffers, BufferKind, BufferStore, Module};

/// The flat weights (parameter layout of `model`) and the buffers read from `file`. Every
/// tensor must be present with its shape (counters as `I64`, or as floats from older files);
/// with `strict`, a tensor the model does not have is an error too, as in PyTorch's
/// `load_state_dict(strict=True)`.
pub fn read_state_dict(
    file: &TensorFile,
    model: &dyn Module<f32>,
    strict: bool,
) -> Result<(Vec<f32>, BufferStore<f32>)> {
    if strict {
        let known = model.state_names();
        let extra: Vec<&str> = file
            .names()
            .into_iter()
            .filter(|n| !known.iter().any(|k| k == n))
            .collect();
        if !extra.is_empty() {
            return Err(TrainError::Invalid(format!(
                "{}: unexpected tensor{} {} (not in {})",
                file.path.display(),
                if extra.len() > 1 { "s" } else { "" },
                extra.join(", "),
                model.describe()
            )));
        }
    }
    let mut weights = Vec::new();
    for spec in model.param_specs() {
        weights.extend_from_slice(file.expect_f32(&spec.name, &spec.shape)?);
    }
    let mut buffers = init_buffers(model)?;
    for e in buffers.entries().to_vec() {
        let values: Vec<f32> = match e.kind {
            BufferKind::Float => file.expect_f32(&e.name, &e.shape)?.to_vec(),
            BufferKind::Count => match file.get(&e.name)?.as_i64() {
                Some(_) => file
                    .expect_i64(&e.name, &e.shape)?
                    .iter()
                    .map(|&v| v as f32)
                    .collect(),
                None => file.expect_f32(&e.name, &e.shape)?.to_vec(),
            },
        };
        buffers.set(&e.name, &values)?;
    }
    Ok((weights, buffers))
}
