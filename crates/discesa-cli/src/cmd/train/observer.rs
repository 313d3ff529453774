//! What `discesa train` does after each epoch: progress on the console, the metrics file,
//! the checkpoint and the epoch snapshots.

use discesa::train::{
    save_checkpoint, save_epoch_snapshot, write_metrics, Console, EpochRecord, Observer,
    Preprocessing, Result as TrainResult, Trainer,
};
use std::path::PathBuf;

pub(super) struct CliObserver {
    pub(super) console: Console,
    pub(super) metrics: Option<PathBuf>,
    pub(super) checkpoint: Option<PathBuf>,
    pub(super) preprocessing: Preprocessing,
    pub(super) class_names: Option<Vec<String>>,
    pub(super) grad_norm_columns: bool,
    pub(super) keep_epochs: bool,
}

impl Observer for CliObserver {
    fn on_epoch_start(&mut self, epoch: usize, epochs: usize, batches: usize, rows: usize) {
        self.console.on_epoch_start(epoch, epochs, batches, rows);
    }

    fn on_batch(&mut self, batch: usize, loss: f64, sps: f64) {
        self.console.on_batch(batch, loss, sps);
    }

    fn on_epoch_end(&mut self, trainer: &Trainer, record: &EpochRecord) -> TrainResult<()> {
        self.console.on_epoch_end(trainer, record)?;
        if let Some(path) = &self.metrics {
            let layers = if self.grad_norm_columns {
                trainer.layer_names()
            } else {
                Vec::new()
            };
            write_metrics(path, &trainer.progress().history, &layers)?;
        }
        if let Some(dir) = &self.checkpoint {
            save_checkpoint(
                dir,
                trainer,
                &self.preprocessing,
                self.class_names.as_deref(),
            )?;
            if self.keep_epochs {
                save_epoch_snapshot(dir, trainer, record.epoch)?;
            }
        }
        Ok(())
    }
}
