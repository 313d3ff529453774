//! Checkpoint directories: `model.safetensors` (parameters and buffers under PyTorch
//! `state_dict()` names, counters as `I64`, readable by Python's `safetensors` and loadable with
//! `load_state_dict(strict=True)`) and `state.json` (optimizer state, progress, seeds, model and training
//! configuration, data preprocessing, class names, task), replaced
//! together as one unit (the protocol is in [`unit`] and `docs/checkpoints.md`).
//!
//! Resuming needs no random-generator stream: shuffling depends only on (seed, epoch) and
//! dropout masks only on (seed, step), so a run stopped after epoch k and resumed ends with
//! the same weights, bit for bit, as one that never stopped.

use super::{Result, TrainConfig, TrainError, TrainProgress, Trainer};
use crate::checkpoint::{encode_safetensors, load_safetensors_file, TensorData};
use crate::data::Task;
use crate::nn::{BufferKind, BufferStore, ModelSpec};
use crate::optim::OptimizerState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

mod state_dict;
pub use state_dict::read_state_dict;

/// Version of the `state.json` layout.
pub const FORMAT_VERSION: u32 = 1;
/// Weights file inside a checkpoint directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// State file inside a checkpoint directory.
pub const STATE_FILE: &str = "state.json";

/// How randomness is derived, recorded so a reader knows no generator state is needed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RngInfo {
    /// Run seed.
    pub seed: u64,
    /// Shuffling scheme.
    pub shuffle: String,
    /// Dropout scheme.
    pub dropout: String,
}

/// Everything in `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Layout version.
    pub format_version: u32,
    /// Model architecture (a bare MLP configuration from older files also reads).
    pub model: ModelSpec,
    /// Classification or regression.
    pub task: Task,
    /// Class names in label order (classification).
    pub class_names: Option<Vec<String>>,
    /// Input encoding.
    pub preprocessing: Preprocessing,
    /// Training configuration.
    pub train: TrainConfig,
    /// Epoch and step counters, early-stopping state, history.
    pub progress: TrainProgress,
    /// Optimizer hyper-parameters, step count and moment buffers.
    pub optimizer: OptimizerState,
    /// Seeds.
    pub rng: RngInfo,
    /// SHA-256 (lowercase hex) of the `model.safetensors` this state belongs to; it makes
    /// `state.json` the commit record of the pair. Absent in states written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_sha256: Option<String>,
}

/// A checkpoint read back: its state, the flat weights in model layout and the buffers.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// `state.json`.
    pub state: CheckpointState,
    /// Weights in the model's flat layout.
    pub weights: Vec<f32>,
    /// Buffers (batch-norm running statistics), in the model's buffer order.
    pub buffers: BufferStore<f32>,
}

impl Checkpoint {
    /// A trainer continuing this run.
    pub fn trainer(&self) -> Result<Trainer> {
        let mut t = Trainer::restore(
            self.state.model.clone(),
            self.state.task,
            self.state.train.clone(),
            &self.weights,
            Some(&self.state.optimizer),
            self.state.progress.clone(),
        )?;
        t.buffers_mut().copy_from(&self.buffers)?;
        t.set_target_scale(self.state.preprocessing.target_scale);
        Ok(t)
    }
}

/// Replaces the checkpoint in `dir` (created if missing) by this trainer's weights and state,
/// as one unit: killed at any moment, `dir` still holds a checkpoint that [`load_checkpoint`]
/// reads, the old one or the new one. The weights file is byte-identical for identical weights.
pub fn save_checkpoint(
    dir: &Path,
    trainer: &Trainer,
    preprocessing: &Preprocessing,
    class_names: Option<&[String]>,
) -> Result<()> {
    let p = trainer.params();
    let b = trainer.buffers();
    let counts: Vec<Vec<i64>> = b
        .tensors()
        .iter()
        .map(|t| t.as_slice().iter().map(|&v| v as i64).collect())
        .collect();
    let mut tensors: Vec<(&str, &[usize], TensorData<'_>)> = p
        .entries()
        .iter()
        .map(|e| {
            (
                e.name.as_str(),
                e.shape.as_slice(),
                TensorData::F32(&p.flat()[e.offset..e.offset + e.numel()]),
            )
        })
        .collect();
    for ((e, t), c) in b.entries().iter().zip(b.tensors()).zip(&counts) {
        let data = match e.kind {
            BufferKind::Float => TensorData::F32(t.as_slice()),
            BufferKind::Count => TensorData::I64(c),
        };
        tensors.push((e.name.as_str(), e.shape.as_slice(), data));
    }
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    meta.insert("model".to_string(), trainer.model().describe());
    let weights = encode_safetensors(&dir.join(WEIGHTS_FILE), &tensors, &meta)?;
    let state = CheckpointState {
        format_version: FORMAT_VERSION,
        model: trainer.spec().clone(),
        task: trainer.task(),
        class_names: class_names.map(<[String]>::to_vec),
        preprocessing: preprocessing.clone(),
        train: trainer.config().clone(),
        progress: trainer.progress().clone(),
        optimizer: trainer.optimizer().state(),
        rng: RngInfo {
            seed: trainer.config().seed,
            shuffle: "epoch order = shuffle(train rows, splitmix(seed ^ splitmix(epoch)))".into(),
            dropout: "mask seed = splitmix(splitmix(splitmix(seed) ^ step) ^ dropout layer)".into(),
        },
        weights_sha256: None,
    };
    unit::write_unit(dir, &weights, state)
}

fn read_state(path: &Path) -> Result<CheckpointState> {
    let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let state: CheckpointState = serde_json::from_str(&text).map_err(|e| {
        TrainError::Invalid(format!(
            "{}: not a valid checkpoint state: {e}",
            path.display()
        ))
    })?;
    if state.format_version != FORMAT_VERSION {
        return Err(TrainError::Invalid(format!(
            "{}: checkpoint format {} is not supported (expected {FORMAT_VERSION})",
            path.display(),
            state.format_version
        )));
    }
    Ok(state)
}

/// Reads a checkpoint directory, checking every tensor's name and shape against the model the
/// state describes.
pub fn load_checkpoint(dir: &Path) -> Result<Checkpoint> {
    let (state, file) = unit::read_unit(dir)?;
    let model = state.model.build::<f32>()?;
    let (weights, buffers) = read_state_dict(&file, model.as_ref(), false)?;
    Ok(Checkpoint {
        state,
        weights,
        buffers,
    })
}

/// Loads a checkpoint to continue training into it. As the directory's writer, it first
/// finishes a save that a kill interrupted, so that a resumed run with nothing left to train
/// still leaves just `model.safetensors` and `state.json`, holding the committed weights.
pub fn resume_checkpoint(dir: &Path) -> Result<Checkpoint> {
    if dir.join(STATE_FILE).is_file() {
        unit::finish_interrupted_save(dir)?;
    }
    load_checkpoint(dir)
}

/// Loads a PyTorch-style state dict (safetensors) into a fresh trainer's parameters and buffers,
/// failing with the name of any missing, extra or misshapen tensor.
pub fn init_from_state_dict(trainer: &mut Trainer, path: &Path) -> Result<()> {
    let file = load_safetensors_file(path)?;
    let (weights, buffers) = read_state_dict(&file, trainer.model(), true)?;
    trainer.params_mut().set_flat(&weights)?;
    trainer.buffers_mut().copy_from(&buffers)?;
    Ok(())
}

mod preprocessing;
#[cfg(test)]
mod tests;
mod unit;

pub use preprocessing::{Inputs, Preprocessing};
pub use unit::{sha256_hex, PENDING_WEIGHTS_FILE};
