//! `resnet20_train` and `plain20_train`: one training step of the CIFAR-style ResNet-20 (and
//! its plain twin) on a fixed N(0, 1) batch of 1×28×28 images with fixed labels, batch norm in
//! training mode, cross-entropy, backward and plain SGD (lr 0.01), reading the loss: the
//! workload of the peer script `conv_train.py`.

use super::{emit_training, fixed_labels, time_steps, Out};
use crate::autodiff::Tape;
use crate::nn::{
    cross_entropy, init_buffers, init_params, BufferStore, ForwardCtx, ModelSpec, Module,
    ParamStore, ResNetConfig,
};
use crate::optim::{build_named, OptimOptions, Optimizer};
use crate::Tensor;

/// Batch sizes of the peer script.
pub(super) const BATCHES: [usize; 2] = [32, 128];

/// A ResNet / plain network with everything a training step reuses.
pub(super) struct ConvNet {
    model: Box<dyn Module<f32>>,
    params: ParamStore<f32>,
    buffers: BufferStore<f32>,
    grads: Vec<f32>,
    tape: Tape<f32>,
    sgd: Box<dyn Optimizer<f32>>,
    step: u64,
}

impl ConvNet {
    /// ResNet-20 (`shortcut`) or plain-20, width 16, on 1×28×28 inputs and 10 classes.
    pub(super) fn new(shortcut: bool) -> Self {
        let spec = ModelSpec::ResNet(ResNetConfig {
            depth: 20,
            width: 16,
            shortcut,
            input: [1, 28, 28],
            classes: 10,
        });
        let model = spec.build::<f32>().expect("valid sizes");
        let params = init_params(model.as_ref(), 0).expect("valid model");
        let buffers = init_buffers(model.as_ref()).expect("valid model");
        ConvNet {
            model,
            params,
            buffers,
            grads: Vec::new(),
            tape: Tape::with_capacity(512),
            sgd: build_named("sgd", 0.01, &OptimOptions::default()).expect("plain SGD"),
            step: 0,
        }
    }

    /// Number of trained parameters.
    pub(super) fn n_params(&self) -> usize {
        self.params.len()
    }

    /// One training step; returns the loss.
    pub(super) fn sgd_step(&mut self, x: &Tensor<f32>, labels: &[usize]) -> f32 {
        let ctx = ForwardCtx::train(0, self.step);
        let loss = {
            let leaves = self.params.leaves(&self.tape);
            let logits = self
                .model
                .forward(
                    self.tape.constant(x.clone()),
                    &leaves,
                    self.buffers.tensors_mut(),
                    &ctx,
                )
                .expect("shapes");
            let loss = cross_entropy(logits, labels).expect("labels in range");
            let g = self.tape.backward(loss).expect("scalar loss");
            self.params.gather_grads(&g, &leaves, &mut self.grads);
            loss.item().expect("scalar")
        };
        self.tape.clear();
        self.sgd
            .step(self.params.flat_mut(), &self.grads)
            .expect("same layout");
        self.step += 1;
        loss
    }
}

/// Times `name` (`resnet20_train` or `plain20_train`) at the peer's batch sizes.
pub(super) fn conv_train(out: &Out, reps: usize, name: &str, shortcut: bool) {
    for b in BATCHES {
        let mut net = ConvNet::new(shortcut);
        let x = Tensor::<f32>::rand_normal([b, 1, 28, 28], 0.0, 1.0, 3);
        let labels = fixed_labels(b);
        let mut loss = 0.0;
        let m = time_steps(reps, || loss = net.sgd_step(&x, &labels));
        emit_training(
            out,
            name,
            b,
            m,
            loss,
            ("params", net.n_params().to_string()),
        );
    }
    out.emit(
        &format!("{name}_peak_rss"),
        0,
        super::peak_rss_mib(),
        "MiB",
        &[],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_steps_lower_the_loss_on_a_fixed_batch() {
        let mut net = ConvNet::new(true);
        assert_eq!(net.n_params(), 272_186);
        let x = Tensor::<f32>::rand_normal([8, 1, 28, 28], 0.0, 1.0, 3);
        let labels = fixed_labels(8);
        let first = net.sgd_step(&x, &labels);
        let mut last = first;
        for _ in 0..4 {
            last = net.sgd_step(&x, &labels);
        }
        assert!(last < first, "{first} -> {last}");
    }
}
