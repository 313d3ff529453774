//! From a data path to training, validation and test rows: load, split by seed, standardise
//! with training statistics only, and record the preprocessing for evaluation and prediction.

use super::checkpoint::Preprocessing;
use super::{Result, TargetScale, TrainError};
use crate::data::{
    load, train_val_test_indices, DataFormat, Dataset, LoadOptions, Standardizer, TargetKind,
    Targets, Task,
};
use std::path::Path;

/// Choices for [`prepare`].
#[derive(Debug, Clone, PartialEq)]
pub struct PrepareOptions {
    /// CSV target column (default: the last one).
    pub target: Option<String>,
    /// Task (default: inferred from the target).
    pub task: Option<Task>,
    /// Fraction held out for the final test (ignored when the format has its own test set).
    pub test_fraction: f64,
    /// Fraction of the remaining rows used for validation.
    pub val_fraction: f64,
    /// Split seed.
    pub seed: u64,
    /// Standardise features with training-split statistics (not images, which are scaled to
    /// `[0, 1]` only).
    pub standardize: bool,
    /// Train on only the first N training rows of the seeded split: a subset for quick
    /// experiments, the same rows every time (validation and test sets are unchanged).
    pub train_rows: Option<usize>,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            target: None,
            task: None,
            test_fraction: 0.2,
            val_fraction: 0.1,
            seed: 1,
            standardize: true,
            train_rows: None,
        }
    }
}

/// Data ready for a [`Trainer`](super::Trainer).
pub struct Prepared {
    /// Training and validation rows (standardised).
    pub data: Dataset,
    /// Rows of `data` to train on.
    pub train_rows: Vec<usize>,
    /// Rows of `data` to validate on.
    pub val_rows: Vec<usize>,
    /// The test set (standardised the same way).
    pub test: Dataset,
    /// How the data was encoded, to save with the model.
    pub preprocessing: Preprocessing,
    /// Dropped-row summary for CSV input, for the user.
    pub note: Option<String>,
    /// How the task was chosen when it was inferred from a numeric target (for the user).
    pub task_note: Option<String>,
}

/// Loads and splits `path`.
pub fn prepare(path: &Path, o: &PrepareOptions) -> Result<Prepared> {
    for (name, v) in [("test", o.test_fraction), ("validation", o.val_fraction)] {
        if !(0.0..1.0).contains(&v) {
            return Err(TrainError::Invalid(format!(
                "{name} fraction {v} must be in [0, 1)"
            )));
        }
    }
    let loaded = load(
        path,
        &LoadOptions {
            target: o.target.clone(),
            task: o.task,
            ..LoadOptions::default()
        },
    )?;
    let format = loaded.format;
    let note = loaded.csv_report.as_ref().and_then(|r| {
        (r.rows_dropped > 0).then(|| format!("{} rows with missing values dropped", r.rows_dropped))
    });
    let (mut data, mut train_rows, val_rows, mut test) = match loaded.test {
        Some(test) => {
            let s = train_val_test_indices(loaded.train.len(), o.val_fraction, 0.0, o.seed)?;
            (loaded.train, s.train, s.validation, test)
        }
        None => {
            let all = loaded.train;
            let s = train_val_test_indices(all.len(), o.val_fraction, o.test_fraction, o.seed)?;
            let test = all.subset(&s.test)?;
            (all, s.train, s.validation, test)
        }
    };
    if let Some(n) = o.train_rows {
        if n == 0 {
            return Err(TrainError::Invalid(
                "the training subset must have at least 1 row".into(),
            ));
        }
        train_rows.truncate(n);
    }
    if train_rows.is_empty() || test.is_empty() {
        return Err(TrainError::Invalid(format!(
            "{}: {} rows are too few to split into training ({}) and test ({}) sets",
            path.display(),
            data.len(),
            train_rows.len(),
            test.len()
        )));
    }
    // Images are only scaled to [0, 1]; other inputs are standardised per feature.
    let standardizer = if o.standardize && data.image_shape().is_none() {
        let s = Standardizer::fit(&data, &train_rows)?;
        s.apply(&mut data)?;
        s.apply(&mut test)?;
        Some(s)
    } else {
        None
    };
    // Regression targets are standardised with the training rows' statistics (the caller may
    // drop the scale to train on raw targets).
    let target_scale = match data.targets() {
        Targets::Values(v) => TargetScale::fit(v, &train_rows),
        Targets::Classes { .. } => None,
    };
    let task_note = match (&o.task, loaded.csv_schema.as_ref().map(|s| &s.target)) {
        (None, Some(t)) => match &t.kind {
            TargetKind::IntegerClasses {
                values,
                declared: false,
            } => Some(format!(
                "target '{}' has {} distinct integer values: taken as classification \
                 (--task regression to change)",
                t.name,
                values.len()
            )),
            _ => None,
        },
        _ => None,
    };
    let preprocessing = Preprocessing {
        format: match format {
            DataFormat::Csv => "csv",
            DataFormat::Mnist => "mnist",
            DataFormat::Npy => "npy",
        }
        .into(),
        standardizer,
        csv_schema: loaded.csv_schema,
        image_scale: data.is_bytes().then_some(1.0 / 255.0),
        target: o.target.clone(),
        test_fraction: o.test_fraction,
        val_fraction: o.val_fraction,
        split_seed: o.seed,
        train_rows: o.train_rows,
        target_scale,
    };
    Ok(Prepared {
        data,
        train_rows,
        val_rows,
        test,
        preprocessing,
        note,
        task_note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    fn csv(dir: &Path) -> std::path::PathBuf {
        let mut text = String::from("a,b,y\n");
        for i in 0..50 {
            let _ = writeln!(text, "{i},{},{}", i * 2, i % 2);
        }
        let path = dir.join("d.csv");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn train_subset_is_the_head_of_the_same_split() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = csv(dir.path());
        let full = prepare(&path, &PrepareOptions::default()).unwrap();
        let o = PrepareOptions {
            train_rows: Some(7),
            ..PrepareOptions::default()
        };
        let sub = prepare(&path, &o).unwrap();
        assert_eq!(sub.train_rows, full.train_rows[..7].to_vec());
        assert_eq!(sub.val_rows, full.val_rows);
        assert_eq!(sub.test.len(), full.test.len());
        assert_eq!(sub.preprocessing.train_rows, Some(7));
        // A subset larger than the split keeps every row.
        let o = PrepareOptions {
            train_rows: Some(10_000),
            ..PrepareOptions::default()
        };
        assert_eq!(prepare(&path, &o).unwrap().train_rows, full.train_rows);
        let o = PrepareOptions {
            train_rows: Some(0),
            ..PrepareOptions::default()
        };
        let e = prepare(&path, &o).err().unwrap().to_string();
        assert!(e.contains("at least 1 row"), "{e}");
    }
}
