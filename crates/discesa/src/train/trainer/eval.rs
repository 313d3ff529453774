//! Evaluation mode: loss and metrics of some rows, and predictions, without recording
//! gradients.

use super::{EvalMetrics, Result, TrainError, Trainer};
use crate::data::{Dataset, Task};
use crate::nn::{ForwardCtx, ModelSpec};
use crate::tensor::Tensor;

/// Rows per evaluation pass of a convolutional network, at most.
const CONV_EVAL_ROWS: usize = 128;

impl Trainer {
    /// Rows per evaluation pass. The tape keeps every activation of a pass until it is
    /// cleared, and a convolutional network's activations are hundreds of times its input
    /// (training plain-56 at width 8 peaked at 5.8 GB when it evaluated 2,048 rows at a time,
    /// 0.8 GB at 128), so those evaluate 128 rows at a time.
    fn eval_rows(&self) -> usize {
        match self.spec {
            ModelSpec::Mlp(_) => self.config.eval_batch_size,
            _ => self.config.eval_batch_size.min(CONV_EVAL_ROWS),
        }
    }

    /// Loss and metrics on `rows` of `data` at the current parameters, in evaluation mode
    /// (dropout off, batch norm on its running statistics), without recording gradients.
    pub fn evaluate(&mut self, data: &Dataset, rows: &[usize]) -> Result<EvalMetrics> {
        self.check_data(data)?;
        let (mut loss_sum, mut metric_sum, mut sq_sum) = (0.0, 0.0, 0.0);
        for chunk in rows.chunks(self.eval_rows()) {
            let x = self.load_batch(data, chunk, None)?;
            let n = chunk.len();
            // Moved out for the closure; evaluation mode reads the buffers without changing them.
            let mut buffers = std::mem::take(&mut self.buffers);
            let r = self.tape.no_grad(|| -> Result<(f64, f64, f64)> {
                let params = self.params.constants(&self.tape);
                let out = self.model.forward(
                    self.tape.constant(x),
                    &params,
                    buffers.tensors_mut(),
                    &ForwardCtx::eval(),
                )?;
                let loss = f64::from(self.loss(out, n)?.item()?);
                let value = out.value();
                let sq = match self.task {
                    Task::Regression => {
                        value
                            .as_slice()
                            .iter()
                            .zip(&self.ybuf[..n])
                            .map(|(p, y)| f64::from(p - y).powi(2))
                            .sum::<f64>()
                            * self.target_std().powi(2)
                    }
                    Task::Classification => 0.0,
                };
                Ok((loss, self.metric_sum(value.as_slice(), n), sq))
            });
            self.buffers = buffers;
            self.tape.clear();
            let (loss, msum, sq) = r?;
            loss_sum += loss * n as f64;
            metric_sum += msum;
            sq_sum += sq;
        }
        let n = rows.len().max(1) as f64;
        let classification = self.task == Task::Classification;
        Ok(EvalMetrics {
            n: rows.len(),
            loss: loss_sum / n,
            accuracy: classification.then_some(metric_sum / n),
            mae: (!classification).then_some(metric_sum / n),
            rmse: (!classification).then_some((sq_sum / n).sqrt()),
        })
    }

    /// Model outputs (logits, or values for regression), `rows.len() × outputs`, for `rows` of
    /// `data`, converted batch by batch.
    pub fn predict_rows(&mut self, data: &Dataset, rows: &[usize]) -> Result<Vec<f32>> {
        let f = self.spec.n_inputs();
        self.check_inputs(data)?;
        if let Some(&r) = rows.iter().find(|&&r| r >= data.len()) {
            return Err(TrainError::Invalid(format!(
                "row {r} is out of range for {} rows",
                data.len()
            )));
        }
        let mut out = Vec::with_capacity(rows.len() * self.spec.n_outputs());
        let mut x = Vec::new();
        for chunk in rows.chunks(self.eval_rows()) {
            x.resize(chunk.len() * f, 0.0);
            data.write_features(chunk, &mut x);
            out.extend(self.predict(&x)?);
        }
        Ok(out)
    }

    /// Model outputs (logits, or values for regression) for row-major `features`, `n × outputs`.
    pub fn predict(&mut self, features: &[f32]) -> Result<Vec<f32>> {
        let f = self.spec.n_inputs();
        if !features.len().is_multiple_of(f) {
            return Err(TrainError::Invalid(format!(
                "{} feature values are not a whole number of rows of {f}",
                features.len()
            )));
        }
        let mut out = Vec::with_capacity(features.len() / f * self.spec.n_outputs());
        for chunk in features.chunks(self.eval_rows() * f) {
            let dims = self.spec.batch_dims(chunk.len() / f);
            let x = Tensor::from_vec(chunk.to_vec(), dims.as_slice())?;
            let y = self.tape.no_grad(|| -> Result<Tensor<f32>> {
                let params = self.params.constants(&self.tape);
                Ok(self
                    .model
                    .forward(
                        self.tape.constant(x),
                        &params,
                        self.buffers.tensors_mut(),
                        &ForwardCtx::eval(),
                    )?
                    .value())
            })?;
            self.tape.clear();
            match self.target_scale {
                Some(s) => out.extend(y.as_slice().iter().map(|&v| s.from_model(v))),
                None => out.extend_from_slice(y.as_slice()),
            }
        }
        Ok(out)
    }
}
