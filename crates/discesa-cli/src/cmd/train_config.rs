//! `discesa train` settings from a TOML file, merged under the command-line flags.

use crate::fail::Fail;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One number or a list (`dropout = 0.4` or `dropout = [0.4, 0.3]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single rate.
    One(f64),
    /// One rate per hidden layer.
    Many(Vec<f64>),
}

/// Keys of a training TOML file; the same names as the flags (with `-` or `_`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub data: Option<PathBuf>,
    pub target: Option<String>,
    pub task: Option<String>,
    pub model: Option<String>,
    pub width: Option<usize>,
    pub augment: Option<String>,
    pub hidden: Option<Vec<usize>>,
    pub activation: Option<String>,
    pub dropout: Option<OneOrMany>,
    pub optimizer: Option<String>,
    pub lr: Option<f64>,
    #[serde(alias = "batch_size")]
    pub batch_size: Option<usize>,
    pub epochs: Option<usize>,
    pub seed: Option<u64>,
    #[serde(alias = "test_fraction")]
    pub test_fraction: Option<f64>,
    #[serde(alias = "val_fraction")]
    pub val_fraction: Option<f64>,
    #[serde(alias = "train_rows")]
    pub train_rows: Option<usize>,
    pub checkpoint: Option<PathBuf>,
    pub metrics: Option<PathBuf>,
    pub plot: Option<PathBuf>,
    pub threads: Option<usize>,
    pub schedule: Option<String>,
    #[serde(alias = "weight_decay")]
    pub weight_decay: Option<f64>,
    #[serde(alias = "clip_grad_norm")]
    pub clip_grad_norm: Option<f64>,
    pub patience: Option<usize>,
    #[serde(alias = "no_standardize")]
    pub no_standardize: Option<bool>,
    #[serde(alias = "no_standardize_target")]
    pub no_standardize_target: Option<bool>,
}

impl FileConfig {
    /// Reads and parses `path`; errors name the file and the TOML problem.
    pub fn read(path: &Path) -> Result<Self, Fail> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Fail::input(format!("{}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| {
            Fail::input(format!(
                "{}: {}",
                path.display(),
                e.to_string().replace('\n', " ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_spellings_and_rejects_unknown_keys() {
        let c: FileConfig = toml::from_str(
            "hidden = [256, 128]\ndropout = [0.4, 0.3]\nbatch-size = 32\nlr = 0.01\n",
        )
        .unwrap();
        assert_eq!(c.hidden, Some(vec![256, 128]));
        assert_eq!(c.batch_size, Some(32));
        assert!(matches!(c.dropout, Some(OneOrMany::Many(ref v)) if v.len() == 2));
        let c: FileConfig = toml::from_str("batch_size = 8\ndropout = 0.2").unwrap();
        assert_eq!(c.batch_size, Some(8));
        assert!(toml::from_str::<FileConfig>("bogus = 1").is_err());
    }
}
