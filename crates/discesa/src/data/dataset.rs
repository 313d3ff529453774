//! In-memory data set: a row-major feature matrix plus class labels or regression values.

use super::error::{DataError, Result};
use super::features::{Affine, FeatureView, Store};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;

/// What kind of prediction a data set asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Task {
    /// Pick one of a fixed set of classes.
    Classification,
    /// Predict one real number.
    Regression,
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        })
    }
}

/// Targets of every sample, in row order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Targets {
    /// Class indices into `class_names`.
    Classes {
        /// One label per sample, each `< class_names.len()`.
        labels: Vec<usize>,
        /// Human-readable name of each class, indexed by label.
        class_names: Vec<String>,
    },
    /// One regression value per sample.
    Values(Vec<f32>),
}

impl Targets {
    /// Number of samples described.
    pub fn len(&self) -> usize {
        match self {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Values(v) => v.len(),
        }
    }

    /// True when no samples are described.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The task these targets imply.
    pub fn task(&self) -> Task {
        match self {
            Targets::Classes { .. } => Task::Classification,
            Targets::Values(_) => Task::Regression,
        }
    }

    fn gather(&self, indices: &[usize]) -> Targets {
        match self {
            Targets::Classes {
                labels,
                class_names,
            } => Targets::Classes {
                labels: indices.iter().map(|&i| labels[i]).collect(),
                class_names: class_names.clone(),
            },
            Targets::Values(v) => Targets::Values(indices.iter().map(|&i| v[i]).collect()),
        }
    }
}

/// Targets of one mini-batch, ready for a loss function.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchTargets {
    /// Class indices.
    Classes(Vec<usize>),
    /// Regression values.
    Values(Vec<f32>),
}

impl BatchTargets {
    /// Writes one-hot rows (`len × n_classes`) into `out`, reusing its allocation; cross-entropy
    /// and mean-squared-error losses on class data often want this layout.
    pub fn one_hot_into(&self, n_classes: usize, out: &mut Vec<f32>) -> Result<()> {
        let BatchTargets::Classes(labels) = self else {
            return Err(DataError::InvalidArgument(
                "one-hot encoding needs class targets, these are regression values".into(),
            ));
        };
        out.clear();
        out.resize(labels.len() * n_classes, 0.0);
        for (row, &label) in labels.iter().enumerate() {
            if label >= n_classes {
                return Err(DataError::InvalidArgument(format!(
                    "label {label} does not fit a one-hot width of {n_classes}"
                )));
            }
            out[row * n_classes + label] = 1.0;
        }
        Ok(())
    }
}

/// A mini-batch: gathered feature rows plus their targets. Keep one around and refill it with
/// [`Dataset::batch_into`] to avoid an allocation per step.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Row-major features, `n_rows × n_features`.
    pub features: Vec<f32>,
    /// Targets of the same rows.
    pub targets: BatchTargets,
    /// Rows in this batch.
    pub n_rows: usize,
    /// Columns of `features`.
    pub n_features: usize,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            features: Vec::new(),
            targets: BatchTargets::Values(Vec::new()),
            n_rows: 0,
            n_features: 0,
        }
    }
}

impl Batch {
    /// An empty batch whose buffers grow on first use.
    pub fn new() -> Self {
        Self::default()
    }
}

/// A whole data set held in memory.
///
/// Features are kept as they were read: `f32` values, or image bytes (`u8`, scaled to `[0, 1]`
/// when written out). A fitted standardisation is applied per batch too, so the only copy of the
/// inputs is the one read from disk; [`subset`](Self::subset) shares it. Read features through
/// [`write_features`](Self::write_features) (or [`batch_into`](Self::batch_into)).
///
/// Invariants (checked by the constructors): every row has [`n_features`](Self::n_features)
/// values, labels are below the class count, an image shape multiplies to the feature count.
#[derive(Debug, Clone)]
pub struct Dataset {
    view: FeatureView,
    feature_names: Vec<String>,
    targets: Targets,
    image_shape: Option<[usize; 3]>,
}

fn check_targets(targets: &Targets) -> Result<()> {
    if let Targets::Classes {
        labels,
        class_names,
    } = targets
    {
        if let Some((row, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| l >= class_names.len())
        {
            return Err(DataError::InvalidArgument(format!(
                "label {label} of row {row} is not below the class count {}",
                class_names.len()
            )));
        }
    }
    Ok(())
}

impl Dataset {
    /// Builds a data set after checking that shapes and labels agree.
    pub fn new(features: Vec<f32>, feature_names: Vec<String>, targets: Targets) -> Result<Self> {
        Self::from_parts(Store::F32(features), feature_names, targets)
    }

    /// Builds a data set of images kept as bytes: `pixels` holds `N × C × H × W` values, each
    /// byte `b` becoming the feature `b / 255`.
    pub fn from_bytes(pixels: Vec<u8>, image_shape: [usize; 3], targets: Targets) -> Result<Self> {
        let width: usize = image_shape.iter().product();
        let names = (0..width).map(|i| format!("pixel{i}")).collect();
        Self::from_parts(Store::U8(pixels), names, targets)?.with_image_shape(image_shape)
    }

    pub(crate) fn from_parts(
        store: Store,
        feature_names: Vec<String>,
        targets: Targets,
    ) -> Result<Self> {
        let n = targets.len();
        let expected = n.checked_mul(feature_names.len()).ok_or_else(|| {
            DataError::InvalidArgument("rows × features overflows usize".to_string())
        })?;
        if store.len() != expected {
            return Err(DataError::FeatureMismatch(format!(
                "{} feature values given for {n} rows × {} features (expected {expected})",
                store.len(),
                feature_names.len()
            )));
        }
        check_targets(&targets)?;
        Ok(Dataset {
            view: FeatureView {
                store: Arc::new(store),
                rows: None,
                width: feature_names.len(),
                affine: None,
            },
            feature_names,
            targets,
            image_shape: None,
        })
    }

    /// Declares the features to be images of shape `[C, H, W]` (channels first).
    pub fn with_image_shape(mut self, shape: [usize; 3]) -> Result<Self> {
        if shape.iter().product::<usize>() != self.n_features() {
            return Err(DataError::FeatureMismatch(format!(
                "image shape {shape:?} holds {} values per sample, the data has {} features",
                shape.iter().product::<usize>(),
                self.n_features()
            )));
        }
        self.image_shape = Some(shape);
        Ok(self)
    }

    /// `Some([C, H, W])` for image data (IDX directories, `.npy` arrays of rank 4).
    pub fn image_shape(&self) -> Option<[usize; 3]> {
        self.image_shape
    }

    /// True when the features are stored as bytes (and scaled to `[0, 1]` when written out).
    pub fn is_bytes(&self) -> bool {
        matches!(*self.view.store, Store::U8(_))
    }

    /// Number of samples (rows).
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// True when the data set has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of feature columns (`C × H × W` for images).
    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    /// Width of the model output: the class count for classification, 1 for regression.
    pub fn n_outputs(&self) -> usize {
        match &self.targets {
            Targets::Classes { class_names, .. } => class_names.len(),
            Targets::Values(_) => 1,
        }
    }

    /// Class count, or `None` for regression.
    pub fn n_classes(&self) -> Option<usize> {
        match &self.targets {
            Targets::Classes { class_names, .. } => Some(class_names.len()),
            Targets::Values(_) => None,
        }
    }

    /// Class names, or `None` for regression.
    pub fn class_names(&self) -> Option<&[String]> {
        match &self.targets {
            Targets::Classes { class_names, .. } => Some(class_names),
            Targets::Values(_) => None,
        }
    }

    /// Classification or regression.
    pub fn task(&self) -> Task {
        self.targets.task()
    }

    /// Writes the preprocessed `f32` features of `rows` (row-major, `rows.len() × n_features`)
    /// into `out`: bytes scaled to `[0, 1]`, then the standardisation, if one is set.
    ///
    /// # Panics
    /// When a row is out of range or `out` has the wrong length (callers size their buffers from
    /// [`n_features`](Self::n_features); [`batch_into`](Self::batch_into) checks and returns errors).
    pub fn write_features(&self, rows: &[usize], out: &mut [f32]) {
        self.view.write(rows, out);
    }

    /// The whole feature matrix, row-major. Borrowed when the stored values are the features
    /// themselves; otherwise a converted copy of everything, so prefer
    /// [`write_features`](Self::write_features) on large data.
    pub fn features(&self) -> Cow<'_, [f32]> {
        match self.view.as_plain_slice() {
            Some(s) => Cow::Borrowed(s),
            None => {
                let rows: Vec<usize> = (0..self.len()).collect();
                let mut out = vec![0.0; rows.len() * self.n_features()];
                self.write_features(&rows, &mut out);
                Cow::Owned(out)
            }
        }
    }

    /// Sets the per-feature standardisation `(x - mean) / std` applied when features are
    /// written out, replacing any earlier one. Both slices have one value per feature.
    pub fn set_standardization(&mut self, mean: &[f32], std: &[f32]) -> Result<()> {
        if mean.len() != self.n_features() || std.len() != self.n_features() {
            return Err(DataError::FeatureMismatch(format!(
                "standardisation has {} means and {} deviations for {} features",
                mean.len(),
                std.len(),
                self.n_features()
            )));
        }
        self.view.affine = Some(Arc::new(Affine {
            mean: mean.to_vec(),
            std: std.to_vec(),
        }));
        Ok(())
    }

    /// Names of the feature columns.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// Targets of every row.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// Features of one row.
    pub fn row(&self, index: usize) -> Result<Vec<f32>> {
        self.check_index(index)?;
        let mut out = vec![0.0; self.n_features()];
        self.write_features(&[index], &mut out);
        Ok(out)
    }

    /// Splits the data set into its parts (the features as written out).
    pub fn into_parts(self) -> (Vec<f32>, Vec<String>, Targets) {
        let features = self.features().into_owned();
        (features, self.feature_names, self.targets)
    }

    fn check_index(&self, index: usize) -> Result<()> {
        if index >= self.len() {
            return Err(DataError::IndexOutOfRange {
                index,
                len: self.len(),
            });
        }
        Ok(())
    }

    /// Checks that every index names a row.
    pub(crate) fn check_rows(&self, indices: &[usize]) -> Result<()> {
        self.check_indices(indices)
    }

    fn check_indices(&self, indices: &[usize]) -> Result<()> {
        indices.iter().try_for_each(|&i| self.check_index(i))
    }

    /// A data set of the given rows, in the given order (repeats allowed). It shares the
    /// stored features with `self` (no copy); only the targets are gathered.
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        self.check_indices(indices)?;
        Ok(Dataset {
            view: self.view.select(indices),
            feature_names: self.feature_names.clone(),
            targets: self.targets.gather(indices),
            image_shape: self.image_shape,
        })
    }

    /// Gathers the given rows into a fresh [`Batch`].
    pub fn batch(&self, indices: &[usize]) -> Result<Batch> {
        let mut batch = Batch::new();
        self.batch_into(indices, &mut batch)?;
        Ok(batch)
    }

    /// Gathers the given rows into `out`, reusing its buffers: once they have grown to the largest
    /// batch size, no further allocation happens.
    pub fn batch_into(&self, indices: &[usize], out: &mut Batch) -> Result<()> {
        self.check_indices(indices)?;
        let f = self.n_features();
        out.features.resize(indices.len() * f, 0.0);
        self.write_features(indices, &mut out.features);
        match (&self.targets, &mut out.targets) {
            (Targets::Classes { labels, .. }, BatchTargets::Classes(dst)) => {
                dst.clear();
                dst.extend(indices.iter().map(|&i| labels[i]));
            }
            (Targets::Values(values), BatchTargets::Values(dst)) => {
                dst.clear();
                dst.extend(indices.iter().map(|&i| values[i]));
            }
            (Targets::Classes { labels, .. }, dst) => {
                *dst = BatchTargets::Classes(indices.iter().map(|&i| labels[i]).collect());
            }
            (Targets::Values(values), dst) => {
                *dst = BatchTargets::Values(indices.iter().map(|&i| values[i]).collect());
            }
        }
        out.n_rows = indices.len();
        out.n_features = f;
        Ok(())
    }
}

/// Two data sets are equal when they hold the same features (as written out), names, targets
/// and image shape, however they are stored.
impl PartialEq for Dataset {
    fn eq(&self, other: &Self) -> bool {
        self.feature_names == other.feature_names
            && self.targets == other.targets
            && self.image_shape == other.image_shape
            && self.features() == other.features()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Dataset {
        // Row i has features [i, 10 i] and label i % 3.
        let n = 7;
        let features = (0..n).flat_map(|i| [i as f32, 10.0 * i as f32]).collect();
        Dataset::new(
            features,
            vec!["a".into(), "b".into()],
            Targets::Classes {
                labels: (0..n).map(|i| i % 3).collect(),
                class_names: vec!["x".into(), "y".into(), "z".into()],
            },
        )
        .unwrap()
    }

    #[test]
    fn shape_accessors_agree() {
        let d = toy();
        assert_eq!(d.len(), 7);
        assert_eq!(d.n_features(), 2);
        assert_eq!(d.n_outputs(), 3);
        assert_eq!(d.n_classes(), Some(3));
        assert_eq!(d.task(), Task::Classification);
        assert_eq!(d.row(4).unwrap(), &[4.0, 40.0]);
        assert!(matches!(
            d.row(7),
            Err(DataError::IndexOutOfRange { index: 7, len: 7 })
        ));
    }

    #[test]
    fn new_rejects_inconsistent_parts() {
        let bad_len = Dataset::new(
            vec![1.0; 5],
            vec!["a".into()],
            Targets::Values(vec![0.0; 4]),
        );
        assert!(matches!(bad_len, Err(DataError::FeatureMismatch(_))));
        let bad_label = Dataset::new(
            vec![0.0; 2],
            vec!["a".into()],
            Targets::Classes {
                labels: vec![0, 2],
                class_names: vec!["p".into(), "q".into()],
            },
        );
        assert!(matches!(bad_label, Err(DataError::InvalidArgument(_))));
    }

    #[test]
    fn subset_keeps_rows_and_targets_aligned() {
        let d = toy();
        let s = d.subset(&[5, 1, 5]).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(&*s.features(), &[5.0, 50.0, 1.0, 10.0, 5.0, 50.0]);
        match s.targets() {
            Targets::Classes { labels, .. } => assert_eq!(labels, &[2, 1, 2]),
            Targets::Values(_) => panic!("expected classes"),
        }
        assert!(d.subset(&[0, 9]).is_err());
    }

    #[test]
    fn subsets_share_storage_and_standardisation_applies_per_batch() {
        let bytes: Vec<u8> = (0..12).map(|i| i * 20).collect();
        let targets = Targets::Values((0..3).map(|i| i as f32).collect());
        let mut d = Dataset::from_bytes(bytes, [1, 2, 2], targets).unwrap();
        assert_eq!(d.image_shape(), Some([1, 2, 2]));
        assert!(
            Dataset::from_bytes(vec![0; 12], [1, 2, 3], Targets::Values(vec![0.0; 3])).is_err()
        );
        assert!(d.clone().with_image_shape([2, 2, 2]).is_err());
        d.set_standardization(&[0.0, 0.0, 1.0, 0.0], &[1.0, 2.0, 1.0, 1.0])
            .unwrap();
        assert!(d.set_standardization(&[0.0], &[1.0]).is_err());
        let s = d.subset(&[2, 0]).unwrap();
        assert!(
            Arc::ptr_eq(&s.view.store, &d.view.store),
            "subset copied the data"
        );
        let mut out = vec![0.0; 8];
        s.write_features(&[1, 0], &mut out);
        let px = |b: u8| f32::from(b) / 255.0;
        assert_eq!(
            out,
            vec![
                px(0),
                px(20) / 2.0,
                px(40) - 1.0,
                px(60),
                px(160),
                px(180) / 2.0,
                px(200) - 1.0,
                px(220)
            ]
        );
        assert_eq!(s.targets(), &Targets::Values(vec![2.0, 0.0]));
        assert_eq!(s.subset(&[1]).unwrap(), d.subset(&[0]).unwrap());
    }

    #[test]
    fn batch_into_reuses_buffers() {
        let d = toy();
        let mut b = Batch::new();
        d.batch_into(&[0, 1, 2, 3], &mut b).unwrap();
        let ptr = b.features.as_ptr();
        let cap = b.features.capacity();
        d.batch_into(&[6, 2], &mut b).unwrap();
        assert_eq!(b.features.as_ptr(), ptr, "feature buffer was reallocated");
        assert_eq!(b.features.capacity(), cap);
        assert_eq!(b.features, vec![6.0, 60.0, 2.0, 20.0]);
        assert_eq!(b.targets, BatchTargets::Classes(vec![0, 2]));
        assert_eq!((b.n_rows, b.n_features), (2, 2));
        assert!(d.batch_into(&[7], &mut b).is_err());
    }

    #[test]
    fn regression_batch_and_one_hot() {
        let d = Dataset::new(
            vec![1.0, 2.0, 3.0],
            vec!["x".into()],
            Targets::Values(vec![0.5, 1.5, 2.5]),
        )
        .unwrap();
        assert_eq!(d.n_outputs(), 1);
        let b = d.batch(&[2, 0]).unwrap();
        assert_eq!(b.targets, BatchTargets::Values(vec![2.5, 0.5]));
        let mut oh = Vec::new();
        assert!(b.targets.one_hot_into(3, &mut oh).is_err());
        let c = toy().batch(&[1, 2]).unwrap();
        c.targets.one_hot_into(3, &mut oh).unwrap();
        assert_eq!(oh, vec![0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
        assert!(c.targets.one_hot_into(2, &mut oh).is_err());
    }
}
