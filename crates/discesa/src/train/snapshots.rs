//! Epoch snapshots (`discesa train --keep-epochs`): the weights after every epoch as
//! `epoch-0001.safetensors`, `epoch-0002.safetensors`, … beside `model.safetensors`, each its
//! own atomic file, for trajectory analyses such as the landscape's PCA directions.

use super::{Result, Trainer};
use crate::checkpoint::{save_safetensors_with_metadata, TensorData};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The snapshot file name of `epoch` (1-based): `epoch-0001.safetensors`.
pub fn snapshot_name(epoch: usize) -> String {
    format!("epoch-{epoch:04}.safetensors")
}

/// Writes the trainer's current weights to `dir/epoch-NNNN.safetensors` atomically, with the
/// same tensor names as `model.safetensors`.
pub fn save_epoch_snapshot(dir: &Path, trainer: &Trainer, epoch: usize) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|source| super::TrainError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let p = trainer.params();
    let tensors: Vec<(&str, &[usize], TensorData<'_>)> = p
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
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    meta.insert("model".to_string(), trainer.model().describe());
    meta.insert("epoch".to_string(), epoch.to_string());
    let path = dir.join(snapshot_name(epoch));
    save_safetensors_with_metadata(&path, &tensors, &meta)?;
    Ok(path)
}
