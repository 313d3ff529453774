//! Neural networks: modules with named parameters in one flat buffer, layers, losses and
//! metrics.
//!
//! A model is configuration ([`Module`]s, described by a serialisable [`ModelSpec`]) plus one
//! [`ParamStore`] holding every trained parameter contiguously and one [`BufferStore`] holding
//! the state that is saved but not trained (batch-norm running statistics). A training step records the parameters as leaves, runs the forward pass,
//! backpropagates the loss, gathers the gradients into one flat vector of the same layout and
//! hands both vectors to an optimizer:
//!
//! ```
//! use discesa::autodiff::Tape;
//! use discesa::nn::{cross_entropy, init_params, Activation, ForwardCtx, Mlp, MlpConfig, Module};
//! use discesa::optim::{build_named, OptimOptions};
//! use discesa::tensor::Tensor;
//!
//! let model = Mlp::<f32>::new(MlpConfig {
//!     inputs: 4, hidden: vec![8], outputs: 3, activation: Activation::Relu, dropout: vec![],
//! })?;
//! let mut params = init_params(&model, 1)?;
//! let mut opt = build_named::<f32>("sgd", 0.1, &OptimOptions::default()).unwrap();
//! let x = Tensor::rand_normal([5, 4], 0.0, 1.0, 2);
//! let mut tape = Tape::new();
//! let mut grads = Vec::new();
//! for step in 0..3 {
//!     {
//!         let leaves = params.leaves(&tape);
//!         let logits = model.forward(tape.constant(x.clone()), &leaves, &mut [], &ForwardCtx::train(1, step))?;
//!         let loss = cross_entropy(logits, &[0, 1, 2, 0, 1])?;
//!         let g = tape.backward(loss)?;
//!         params.gather_grads(&g, &leaves, &mut grads);
//!     }
//!     tape.clear();
//!     opt.step(params.flat_mut(), &grads).unwrap();
//! }
//! # Ok::<(), discesa::Error>(())
//! ```

mod activation;
mod batchnorm;
mod buffers;
mod conv;
mod dropout;
mod init;
pub mod lecture;
mod linear;
mod loss;
pub mod metrics;
mod mlp;
mod module;
mod named;
mod params;
mod resnet;
mod sequential;
mod spec;

pub use activation::Activation;
pub use batchnorm::{update_running_stats, BatchNorm, BN_EPS, BN_MOMENTUM};
pub use buffers::{BufferEntry, BufferKind, BufferSpec, BufferStore};
pub use conv::Conv2d;
pub use dropout::Dropout;
pub use init::Init;
pub use linear::Linear;
pub use loss::{binary_cross_entropy_with_logits, cross_entropy, half_mse, mse};
pub use mlp::{Mlp, MlpConfig};
pub use module::{init_buffers, init_params, mix, visit_params, ForwardCtx, Module};
pub use named::{Flatten, GlobalAvgPool, MaxPool2d, Named};
pub use params::{ParamEntry, ParamSpec, ParamStore};
pub use resnet::{cnn, CnnConfig, ResNet, ResNetConfig};
pub use sequential::{Residual, Sequential};
pub use spec::ModelSpec;
