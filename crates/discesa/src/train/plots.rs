//! Figures of a run: training curves and per-layer gradient norms (PNG or SVG by extension).

use super::history::EpochRecord;
use super::Result;
use crate::plot::{
    grad_norms, training_curves, GradNormsOptions, Series, TrainingCurvesOptions, TrainingHistory,
};
use std::path::Path;

/// Train/validation loss and metric per epoch.
pub fn plot_training_curves(path: &Path, history: &[EpochRecord], metric_name: &str) -> Result<()> {
    let train_loss: Vec<f64> = history.iter().map(|r| r.train_loss).collect();
    let train_metric: Vec<f64> = history.iter().map(|r| r.train_metric).collect();
    let val_loss: Vec<f64> = history
        .iter()
        .map(|r| r.val_loss.unwrap_or(f64::NAN))
        .collect();
    let val_metric: Vec<f64> = history
        .iter()
        .map(|r| r.val_metric.unwrap_or(f64::NAN))
        .collect();
    let has_val = history.iter().any(|r| r.val_loss.is_some());
    let h = TrainingHistory {
        train_loss: &train_loss,
        val_loss: has_val.then_some(val_loss.as_slice()),
        train_metric: Some(&train_metric),
        val_metric: has_val.then_some(val_metric.as_slice()),
        metric_name,
    };
    training_curves(path, &h, &TrainingCurvesOptions::default())?;
    Ok(())
}

/// Each layer's mean gradient norm per epoch on a log axis: vanishing gradients show as the
/// first layers' lines lying orders of magnitude below the last ones.
pub fn plot_grad_norms(path: &Path, layers: &[String], history: &[EpochRecord]) -> Result<()> {
    let values: Vec<Vec<f64>> = (0..layers.len())
        .map(|i| {
            history
                .iter()
                .map(|r| r.grad_norms.get(i).copied().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    let series: Vec<Series<'_>> = layers
        .iter()
        .zip(&values)
        .map(|(name, v)| Series { name, values: v })
        .collect();
    grad_norms(path, &series, &GradNormsOptions::default())?;
    Ok(())
}
