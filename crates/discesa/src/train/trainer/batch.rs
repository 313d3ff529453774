//! Batches: the data checked against the model, rows gathered into the reusable buffers
//! (augmented in training), and the loss and metric of a batch.

use super::super::augment::augment_key;
use super::{Result, TrainError, Trainer};
use crate::autodiff::Var;
use crate::data::{Dataset, Targets, Task};
use crate::nn::{cross_entropy, half_mse, metrics};
use crate::tensor::Tensor;
use std::sync::Arc;

/// `buf` as a unique slice of `len` values: the tape shares it while a step runs, and it is
/// unique again after `tape.clear()`, so it is only reallocated when it is too short.
fn take_unique(buf: &mut Arc<[f32]>, len: usize) -> &mut [f32] {
    if buf.len() < len || Arc::get_mut(buf).is_none() {
        *buf = Arc::from(vec![0.0f32; len.max(buf.len())]);
    }
    &mut Arc::get_mut(buf).expect("buffer is unique")[..len]
}

impl Trainer {
    /// Checks that `data` fits the model: feature count, task and number of classes.
    pub fn check_data(&self, data: &Dataset) -> Result<()> {
        self.check_inputs(data)?;
        if data.task() != self.task {
            return Err(TrainError::Invalid(format!(
                "the data is a {} task but the model was built for {}",
                data.task(),
                self.task
            )));
        }
        if let Some(c) = data.n_classes() {
            if c > self.spec.n_outputs() {
                return Err(TrainError::Invalid(format!(
                    "the data has {c} classes but the model has {} outputs",
                    self.spec.n_outputs()
                )));
            }
        }
        Ok(())
    }

    /// Checks that the inputs of `data` fit the model: image shape (both named) and feature count.
    pub(super) fn check_inputs(&self, data: &Dataset) -> Result<()> {
        if let (Some(want), Some(have)) = (self.spec.input_shape(), data.image_shape()) {
            if want != have {
                return Err(TrainError::Invalid(format!(
                    "the data has images of shape {} but the model takes {}",
                    chw(have),
                    chw(want)
                )));
            }
        }
        if data.n_features() != self.spec.n_inputs() {
            return Err(TrainError::Invalid(format!(
                "the data has {} features but the model expects {}",
                data.n_features(),
                self.spec.n_inputs()
            )));
        }
        Ok(())
    }

    /// Gathers `rows` into the reusable input/target buffers, augmenting images when `epoch`
    /// is given (training) and augmentation is on; returns the input tensor.
    pub(super) fn load_batch(
        &mut self,
        data: &Dataset,
        rows: &[usize],
        epoch: Option<usize>,
    ) -> Result<Tensor<f32>> {
        let f = data.n_features();
        let x = take_unique(&mut self.xbuf, rows.len() * f);
        data.write_features(rows, x);
        let aug = self.config.augment;
        if let (Some(epoch), Some(shape), false) = (epoch, self.spec.input_shape(), aug.is_off()) {
            for (img, &r) in x.chunks_exact_mut(f).zip(rows) {
                let key = augment_key(self.config.seed, epoch, r);
                aug.apply(img, shape, key, &mut self.aug_tmp);
            }
        }
        match data.targets() {
            Targets::Classes { labels, .. } => {
                self.labels.clear();
                self.labels.extend(rows.iter().map(|&r| labels[r]));
            }
            Targets::Values(v) => {
                let scale = self.target_scale;
                let y = take_unique(&mut self.ybuf, rows.len());
                for (d, &r) in y.iter_mut().zip(rows) {
                    *d = scale.map_or(v[r], |s| s.to_model(v[r]));
                }
            }
        }
        Ok(Tensor::from_shared(
            self.xbuf.clone(),
            0,
            self.spec.batch_dims(rows.len()).as_slice(),
        )?)
    }

    pub(super) fn loss<'t>(&self, out: Var<'t, f32>, n: usize) -> Result<Var<'t, f32>> {
        Ok(match self.task {
            Task::Classification => cross_entropy(out, &self.labels)?,
            Task::Regression => half_mse(out, &Tensor::from_shared(self.ybuf.clone(), 0, [n, 1])?)?,
        })
    }

    /// Batch metric sum: correct predictions, or summed absolute error in the target's units.
    pub(super) fn metric_sum(&self, out: &[f32], n: usize) -> f64 {
        match self.task {
            Task::Classification => {
                metrics::correct_count(out, self.spec.n_outputs(), &self.labels) as f64
            }
            Task::Regression => {
                out.iter()
                    .zip(&self.ybuf[..n])
                    .map(|(p, y)| f64::from((p - y).abs()))
                    .sum::<f64>()
                    * self.target_std()
            }
        }
    }
}

/// `[C, H, W]` written as `C×H×W (channels × height × width)`.
fn chw(s: [usize; 3]) -> String {
    format!("{}x{}x{} (channels x height x width)", s[0], s[1], s[2])
}
