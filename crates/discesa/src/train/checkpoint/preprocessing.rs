//! How raw input becomes model features, saved with a checkpoint and applied again to the
//! files given to evaluation and prediction.

use super::super::{Result, TargetScale, Trainer};
use crate::data::{load, CsvSchema, Dataset, LoadOptions, Standardizer};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How raw input becomes model features; applied again at evaluation and prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    /// `csv`, `mnist` or `npy`.
    pub format: String,
    /// Feature standardisation fitted on the training split.
    pub standardizer: Option<Standardizer>,
    /// CSV encoding (columns, categories, classes).
    pub csv_schema: Option<CsvSchema>,
    /// Scaling of byte inputs (IDX, `u1` .npy) to `[0, 1]`: 1/255, applied per batch.
    pub image_scale: Option<f64>,
    /// Target column asked for.
    pub target: Option<String>,
    /// Test fraction of the split.
    pub test_fraction: f64,
    /// Validation fraction of the split.
    pub val_fraction: f64,
    /// Split seed.
    pub split_seed: u64,
    /// Training subset: the first N rows of the split (absent: all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_rows: Option<usize>,
    /// Standardisation of a regression target (training split's mean and standard
    /// deviation); the model's outputs are `(y - mean) / std`. Absent: raw targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_scale: Option<TargetScale>,
}

impl Preprocessing {
    /// Reads a labelled file (or MNIST directory: its test split) encoded like the training data.
    pub fn load_labelled(&self, path: &Path) -> Result<Dataset> {
        let mut data = match &self.csv_schema {
            Some(schema) => schema.encode(path)?.into_dataset()?,
            None => self.load_other(path)?,
        };
        if let Some(s) = &self.standardizer {
            s.apply(&mut data)?;
        }
        Ok(data)
    }

    /// Reads inputs for prediction (a CSV target column may be absent), encoded like the
    /// training data.
    pub fn load_inputs(&self, path: &Path) -> Result<Inputs> {
        match &self.csv_schema {
            Some(schema) => {
                let e = schema.encode(path)?;
                let mut features = e.features;
                if let Some(s) = &self.standardizer {
                    s.apply_rows(&mut features)?;
                }
                Ok(Inputs {
                    source: Source::Rows(features),
                    lines: e.lines,
                })
            }
            None => {
                let mut data = self.load_other(path)?;
                if let Some(s) = &self.standardizer {
                    s.apply(&mut data)?;
                }
                let lines = (0..data.len() as u64).collect();
                Ok(Inputs {
                    source: Source::Data(data),
                    lines,
                })
            }
        }
    }

    /// A non-CSV input: an MNIST directory gives its test split.
    fn load_other(&self, path: &Path) -> Result<Dataset> {
        let l = load(path, &LoadOptions::default())?;
        Ok(l.test.unwrap_or(l.train))
    }
}

/// Inputs read for prediction, encoded like the training data.
pub struct Inputs {
    source: Source,
    /// Source line (CSV) or row index of each sample.
    pub lines: Vec<u64>,
}

enum Source {
    /// Encoded CSV rows, row-major.
    Rows(Vec<f32>),
    /// A data set, converted batch by batch.
    Data(Dataset),
}

impl Inputs {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The model's outputs for every sample, `len() × outputs`.
    pub fn predict(&self, trainer: &mut Trainer) -> Result<Vec<f32>> {
        match &self.source {
            Source::Rows(features) => trainer.predict(features),
            Source::Data(data) => {
                let rows: Vec<usize> = (0..data.len()).collect();
                trainer.predict_rows(data, &rows)
            }
        }
    }
}
