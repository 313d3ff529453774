//! Reading what a landscape starts from: the checkpoint's model and weights, other
//! checkpoints or epoch snapshots of the same model, and the evaluation rows after the run's
//! own preprocessing.

use super::error::{invalid, LandscapeError, Result};
use super::model::{ModuleModel, SampleTargets, Samples};
use crate::checkpoint::load_safetensors_file;
use crate::data::{Dataset, Targets};
use crate::nn::ParamEntry;
use crate::train::{load_checkpoint, prepare, Checkpoint, PrepareOptions};
use std::path::{Path, PathBuf};

/// A trained model and its weights.
pub struct Source {
    /// The model as a function of θ.
    pub model: ModuleModel,
    /// The weights θ.
    pub theta: Vec<f32>,
    /// The checkpoint read.
    pub checkpoint: Checkpoint,
}

/// Reads the checkpoint directory `dir`.
pub fn load(dir: &Path) -> Result<Source> {
    let checkpoint = load_checkpoint(dir)?;
    let model = ModuleModel::from_spec(
        &checkpoint.state.model,
        &checkpoint.buffers,
        checkpoint.state.task,
    )?;
    Ok(Source {
        model,
        theta: checkpoint.weights.clone(),
        checkpoint,
    })
}

/// The weights of another checkpoint of the same architecture.
pub fn load_other(dir: &Path, like: &Source) -> Result<Vec<f32>> {
    let other = load_checkpoint(dir)?;
    if other.state.model != like.checkpoint.state.model {
        return invalid(format!(
            "interpolate: {} holds a model of another shape ({} vs {})",
            dir.display(),
            describe(&other.state.model),
            describe(&like.checkpoint.state.model)
        ));
    }
    Ok(other.weights)
}

fn describe(m: &crate::nn::ModelSpec) -> String {
    m.build::<f32>()
        .map(|b| b.describe())
        .unwrap_or_else(|_| m.name())
}

/// The epoch snapshots `epoch-NNNN.safetensors` in `dir`, in epoch order.
pub fn snapshot_files(dir: &Path) -> Result<Vec<(usize, PathBuf)>> {
    let read = std::fs::read_dir(dir).map_err(|source| LandscapeError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(num) = name
            .strip_prefix("epoch-")
            .and_then(|r| r.strip_suffix(".safetensors"))
        {
            if let Ok(e) = num.parse::<usize>() {
                out.push((e, entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads one snapshot's weights in the model's flat layout, checking names and shapes.
pub fn load_snapshot(path: &Path, entries: &[ParamEntry]) -> Result<Vec<f32>> {
    let file = load_safetensors_file(path)?;
    let mut w = Vec::new();
    for e in entries {
        w.extend_from_slice(file.expect_f32(&e.name, &e.shape)?);
    }
    Ok(w)
}

/// Which rows to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// The training rows.
    Train,
    /// The test rows.
    Test,
}

/// The evaluation rows and where they came from (indices into the loaded data set).
pub struct Rows {
    /// The samples.
    pub samples: Samples,
    /// Their indices in the loaded data (training split: rows of the whole file; test split:
    /// rows of the test set).
    pub indices: Vec<usize>,
}

/// The features of `rows` only (images stay bytes until written out).
fn gather(data: &Dataset, rows: &[usize]) -> Vec<f32> {
    let mut out = vec![0.0; rows.len() * data.n_features()];
    data.write_features(rows, &mut out);
    out
}

/// The first `n` rows of the split, preprocessed as the run was (same split seed, same
/// standardisation); `n = 0` takes them all.
pub fn rows(src: &Source, data_path: &Path, split: Split, n: usize) -> Result<Rows> {
    let p = &src.checkpoint.state.preprocessing;
    let prepared = prepare(
        data_path,
        &PrepareOptions {
            target: p.target.clone(),
            task: Some(src.checkpoint.state.task),
            test_fraction: p.test_fraction,
            val_fraction: p.val_fraction,
            seed: p.split_seed,
            standardize: p.standardizer.is_some(),
            train_rows: p.train_rows,
        },
    )?;
    let (data, all_rows): (&Dataset, Vec<usize>) = match split {
        Split::Train => (&prepared.data, prepared.train_rows.clone()),
        Split::Test => (&prepared.test, (0..prepared.test.len()).collect()),
    };
    let spec = &src.checkpoint.state.model;
    if data.n_features() != spec.n_inputs() {
        return invalid(format!(
            "{}: the data has {} features but the checkpoint's model expects {}",
            data_path.display(),
            data.n_features(),
            spec.n_inputs()
        ));
    }
    let take = if n == 0 {
        all_rows.len()
    } else {
        n.min(all_rows.len())
    };
    let indices = all_rows[..take].to_vec();
    let targets = match data.targets() {
        Targets::Classes { labels, .. } => {
            SampleTargets::Classes(indices.iter().map(|&r| labels[r]).collect())
        }
        Targets::Values(v) => SampleTargets::Values(indices.iter().map(|&r| v[r]).collect()),
    };
    Ok(Rows {
        samples: Samples {
            inputs: gather(data, &indices),
            shape: spec.batch_dims(take),
            targets,
        },
        indices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathered_rows_equal_those_rows_of_the_whole_feature_matrix() {
        let (n, width) = (7, 2 * 3 * 2);
        let pixels: Vec<u8> = (0..n * width).map(|i| (i * 37 % 256) as u8).collect();
        let targets = Targets::Classes {
            labels: (0..n).map(|i| i % 2).collect(),
            class_names: vec!["a".into(), "b".into()],
        };
        let mut data = Dataset::from_bytes(pixels, [2, 3, 2], targets).unwrap();
        data.set_standardization(&vec![0.25; width], &vec![0.5; width])
            .unwrap();
        let all = data.features();
        let rows = [5, 0, 3, 3];
        let want: Vec<f32> = rows
            .iter()
            .flat_map(|&r| all[r * width..(r + 1) * width].to_vec())
            .collect();
        assert_eq!(gather(&data, &rows), want);
    }
}
