//! Training data: in-memory data sets, seeded sampling and splits, and readers for CSV, IDX
//! (MNIST) and NumPy `.npy` files.
//!
//! Every reader returns a [`Dataset`]: a feature matrix (`f32` values, or image bytes kept as
//! `u8` and converted per batch) plus class labels or regression values. [`load`] picks the reader from the path. Errors are [`DataError`]s whose
//! messages name the file, line and column at fault.
//!
//! ```
//! use discesa::data::{Dataset, EpochSampler, Batch, Targets, train_val_test_indices};
//!
//! let features: Vec<f32> = (0..20).map(|i| i as f32).collect();
//! let targets = Targets::Classes {
//!     labels: (0..10).map(|i| i % 2).collect(),
//!     class_names: vec!["even".into(), "odd".into()],
//! };
//! let data = Dataset::new(features, vec!["a".into(), "b".into()], targets)?;
//! let split = train_val_test_indices(data.len(), 0.2, 0.2, 42)?;
//! let mut sampler = EpochSampler::new(split.train, 4, false, true, 42)?;
//! let mut batch = Batch::new();
//! for indices in sampler.epoch() {
//!     data.batch_into(indices, &mut batch)?;
//!     assert_eq!(batch.features.len(), batch.n_rows * 2);
//! }
//! # Ok::<(), discesa::data::DataError>(())
//! ```

mod csv_reader;
mod csv_table;
mod dataset;
mod error;
mod features;
mod idx;
mod loader;
mod npy;
mod npy_dataset;
mod sampling;
mod schema;
mod standardize;
#[cfg(test)]
mod test_util;

pub use csv_reader::{read_csv, CsvData, CsvOptions};
pub use dataset::{Batch, BatchTargets, Dataset, Targets, Task};
pub use error::{DataError, Result};
pub use idx::{
    is_mnist_dir, load_idx_pair, load_mnist_dir, read_idx_images, read_idx_labels, IdxImages,
    IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, MNIST_FILES,
};
pub use loader::{load, DataFormat, LoadOptions, LoadedData};
pub use npy::{read_npy, write_npy_f32, write_npy_f64, NpyArray, NpyData, NpyDtype};
pub use sampling::{
    shuffled_indices, split_indices, train_val_test_indices, EpochSampler, MiniBatches,
    SplitIndices,
};
pub use schema::{
    ColumnKind, ColumnSpec, CsvReport, CsvSchema, EncodedCsv, TargetKind, TargetSpec,
    DROPPED_LINES_SAMPLE,
};
pub use standardize::Standardizer;
