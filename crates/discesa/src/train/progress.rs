//! Watching a run: the [`Observer`] callbacks, and a console reporter that draws a progress
//! bar on a terminal and prints one plain line per epoch otherwise (logs, CI, pipes).

use super::history::EpochRecord;
use super::{Result, Trainer};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Callbacks from [`Trainer::fit`]; every method has a do-nothing default.
pub trait Observer {
    /// An epoch begins.
    fn on_epoch_start(&mut self, _epoch: usize, _epochs: usize, _batches: usize, _rows: usize) {}
    /// A batch was processed (1-based index), with its loss and the epoch's throughput so far.
    fn on_batch(&mut self, _batch: usize, _loss: f64, _samples_per_second: f64) {}
    /// An epoch ended; write checkpoints or metrics here. An error stops training.
    fn on_epoch_end(&mut self, _trainer: &Trainer, _record: &EpochRecord) -> Result<()> {
        Ok(())
    }
}

/// Observes nothing.
pub struct Silent;

impl Observer for Silent {}

/// Progress on stderr: an `indicatif` bar (epoch, loss, metric, samples/s, ETA) on a
/// terminal, plain per-epoch lines otherwise.
pub struct Console {
    bar: Option<ProgressBar>,
    interactive: bool,
    metric_name: &'static str,
    epochs: usize,
}

impl Console {
    /// A reporter; `metric_name` labels the metric column (`acc`, `mae`).
    pub fn new(metric_name: &'static str) -> Self {
        Console {
            bar: None,
            interactive: std::io::stderr().is_terminal(),
            metric_name,
            epochs: 0,
        }
    }

    /// Forces plain lines even on a terminal.
    pub fn plain(mut self) -> Self {
        self.interactive = false;
        self
    }
}

impl Observer for Console {
    fn on_epoch_start(&mut self, epoch: usize, epochs: usize, batches: usize, _rows: usize) {
        self.epochs = epochs;
        if !self.interactive {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(batches as u64), ProgressDrawTarget::stderr());
        let style =
            ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("{epoch}/{epochs}"));
        self.bar = Some(bar);
    }

    fn on_batch(&mut self, batch: usize, loss: f64, samples_per_second: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position(batch as u64);
            if batch % 16 == 1 {
                bar.set_message(format!("loss {loss:.4}  {samples_per_second:.0} samples/s"));
            }
        }
    }

    fn on_epoch_end(&mut self, _trainer: &Trainer, r: &EpochRecord) -> Result<()> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let val = match (r.val_loss, r.val_metric) {
            (Some(l), Some(m)) => format!("  val_loss {l:.4}  val_{} {m:.4}", self.metric_name),
            _ => String::new(),
        };
        eprintln!(
            "epoch {}/{}  loss {:.4}  {} {:.4}{val}  {:.0} samples/s  {:.2}s",
            r.epoch,
            self.epochs,
            r.train_loss,
            self.metric_name,
            r.train_metric,
            r.samples_per_second,
            r.seconds
        );
        Ok(())
    }
}
