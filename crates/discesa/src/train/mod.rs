//! Training: the [`Trainer`] loop over mini-batches, progress reporting, metrics files,
//! figures, data preparation and checkpoints that resume bit for bit.
//!
//! ```
//! use discesa::data::{Dataset, Targets, Task};
//! use discesa::nn::{Activation, MlpConfig};
//! use discesa::train::{Silent, TrainConfig, Trainer};
//!
//! // Two separable blobs.
//! let features: Vec<f32> = (0..40).flat_map(|i| {
//!     let c = (i % 2) as f32 * 4.0 - 2.0;
//!     [c + (i as f32 * 0.37).sin(), c + (i as f32 * 0.71).cos()]
//! }).collect();
//! let labels = (0..40).map(|i| i % 2).collect();
//! let data = Dataset::new(features, vec!["a".into(), "b".into()],
//!     Targets::Classes { labels, class_names: vec!["x".into(), "y".into()] })?;
//! let model = MlpConfig { inputs: 2, hidden: vec![8], outputs: 2, activation: Activation::Relu, dropout: vec![] };
//! let config = TrainConfig { epochs: 30, batch_size: 8, lr: 0.05, ..TrainConfig::default() };
//! let mut trainer = Trainer::new(model, Task::Classification, config)?;
//! let rows: Vec<usize> = (0..40).collect();
//! trainer.fit(&data, &rows, &[], &mut Silent)?;
//! assert!(trainer.evaluate(&data, &rows)?.accuracy.unwrap() > 0.95);
//! # Ok::<(), discesa::train::TrainError>(())
//! ```

mod augment;
pub mod checkpoint;
mod config;
mod error;
mod history;
mod plots;
mod prepare;
mod progress;
mod runner;
mod snapshots;
mod target_scale;
mod trainer;

#[cfg(test)]
pub(crate) mod test_util;
#[cfg(test)]
mod tests;

pub use augment::Augment;
pub use checkpoint::{
    init_from_state_dict, load_checkpoint, read_state_dict, resume_checkpoint, save_checkpoint,
    sha256_hex, Checkpoint, CheckpointState, Preprocessing, PENDING_WEIGHTS_FILE, STATE_FILE,
    WEIGHTS_FILE,
};
pub use config::TrainConfig;
pub use error::{Result, TrainError};
pub use history::{write_metrics, EpochRecord};
pub use plots::{plot_grad_norms, plot_training_curves};
pub use prepare::{prepare, PrepareOptions, Prepared};
pub use progress::{Console, Observer, Silent};
pub use runner::{LocalSteps, StepOutcome, StepRunner};
pub use snapshots::{save_epoch_snapshot, snapshot_name};
pub use target_scale::TargetScale;
pub use trainer::{BatchLoss, BatchShare, EvalMetrics, GradReady, TrainProgress, Trainer};
