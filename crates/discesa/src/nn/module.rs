//! The `Module` trait: a layer declares named parameters (trained, in the model's flat
//! parameter buffer) and buffers (not trained, such as batch-norm running statistics), and
//! computes its output from leaves of the former and the current values of the latter.

use super::buffers::{BufferSpec, BufferStore};
use super::params::{ParamSpec, ParamStore};
use crate::autodiff::Var;
use crate::error::{invalid, Result};
use crate::tensor::{Element, Tensor};
use std::cell::Cell;

/// A building block of a network.
///
/// Modules hold configuration only; parameter values live in one [`ParamStore`] per model and
/// buffer values in one [`BufferStore`]. A module receives the leaves of its own parameters, in
/// the order of [`param_specs`](Self::param_specs), and its own buffers, in the order of
/// [`buffer_specs`](Self::buffer_specs), so containers just hand each child its slices. The
/// [`ForwardCtx`] says whether the pass is in training mode (dropout active, batch statistics
/// used and the running statistics updated) or in evaluation mode.
pub trait Module<T: Element>: Send + Sync {
    /// A short description (`Linear(784 → 256)`), used in messages and summaries.
    fn describe(&self) -> String;

    /// The parameters this module owns, with names relative to it (`weight`, `bias`); none by
    /// default.
    fn param_specs(&self) -> Vec<ParamSpec> {
        Vec::new()
    }

    /// Number of parameter tensors (the length of the slice `forward` expects).
    fn num_param_tensors(&self) -> usize {
        self.param_specs().len()
    }

    /// The buffers this module owns (names relative to it); none by default.
    fn buffer_specs(&self) -> Vec<BufferSpec> {
        Vec::new()
    }

    /// Number of buffers (the length of the buffer slice `forward` expects).
    fn num_buffers(&self) -> usize {
        self.buffer_specs().len()
    }

    /// Every parameter and buffer name in PyTorch's `state_dict()` order: for a leaf module its
    /// parameters then its buffers; containers concatenate their children's lists.
    fn state_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.param_specs().into_iter().map(|s| s.name).collect();
        names.extend(self.buffer_specs().into_iter().map(|s| s.name));
        names
    }

    /// Computes the output for a batch `x` given this module's parameter leaves and buffers
    /// (updated in place by a training-mode pass when the context allows it).
    fn forward<'t>(
        &self,
        x: Var<'t, T>,
        params: &[Var<'t, T>],
        buffers: &mut [Tensor<T>],
        ctx: &ForwardCtx,
    ) -> Result<Var<'t, T>>;
}

/// The layout methods of [`Module`] (parameter and buffer specs, their counts and
/// `state_names`) for a layer that wraps one inner module in the field named: the layer owns
/// exactly what the inner module owns, under the same names.
macro_rules! layout_of {
    ($inner:ident) => {
        fn param_specs(&self) -> Vec<$crate::nn::ParamSpec> {
            self.$inner.param_specs()
        }

        fn num_param_tensors(&self) -> usize {
            self.$inner.num_param_tensors()
        }

        fn buffer_specs(&self) -> Vec<$crate::nn::BufferSpec> {
            self.$inner.buffer_specs()
        }

        fn num_buffers(&self) -> usize {
            self.$inner.num_buffers()
        }

        fn state_names(&self) -> Vec<String> {
            self.$inner.state_names()
        }
    };
}
pub(crate) use layout_of;

/// The [`Module`] implementation of a layer without parameters or buffers, a function of its
/// input alone: `describe` and `forward` are expressions of the layer (bound to the pattern
/// given first) and of the input `x` (bound to the identifier given second).
macro_rules! stateless_module {
    ($layer:ty, |$this:pat_param, $x:ident| describe: $describe:expr, forward: $forward:expr $(,)?) => {
        impl<T: $crate::tensor::Element> $crate::nn::Module<T> for $layer {
            fn describe(&self) -> String {
                let $this = self;
                $describe
            }

            fn forward<'t>(
                &self,
                $x: $crate::autodiff::Var<'t, T>,
                _params: &[$crate::autodiff::Var<'t, T>],
                _buffers: &mut [$crate::tensor::Tensor<T>],
                _ctx: &$crate::nn::ForwardCtx,
            ) -> $crate::error::Result<$crate::autodiff::Var<'t, T>> {
                let $this = self;
                $forward
            }
        }
    };
}
pub(crate) use stateless_module;

/// Calls `f` with every parameter's full name and spec, in layout order (visit by name).
pub fn visit_params<T: Element>(module: &dyn Module<T>, mut f: impl FnMut(&ParamSpec)) {
    for spec in module.param_specs() {
        f(&spec);
    }
}

/// A fresh flat parameter buffer for `module`, initialised from `seed`.
pub fn init_params<T: Element>(module: &dyn Module<T>, seed: u64) -> Result<ParamStore<T>> {
    ParamStore::init(&module.param_specs(), seed)
}

/// Fresh buffers for `module` at their initial values.
pub fn init_buffers<T: Element>(module: &dyn Module<T>) -> Result<BufferStore<T>> {
    BufferStore::init(&module.buffer_specs())
}

/// Checks that a module got as many parameter leaves as it declared.
pub(crate) fn expect_params<T: Element>(
    module: &str,
    params: &[Var<'_, T>],
    n: usize,
) -> Result<()> {
    if params.len() != n {
        return Err(invalid(
            "forward",
            format!(
                "{module} expects {n} parameter tensors, got {}",
                params.len()
            ),
        ));
    }
    Ok(())
}

/// Per-call settings of a forward pass: training or evaluation mode, whether a training pass
/// updates the buffers, and the randomness of dropout as a pure function of `(seed, step,
/// dropout layer, sample's position in the global batch)`, so a resumed run draws the same
/// masks as an uninterrupted one, and a batch split over N ranks draws, sample for sample, the
/// masks of the whole batch in one process.
#[derive(Debug)]
pub struct ForwardCtx {
    /// Training mode (dropout active, batch norm on batch statistics) or evaluation mode.
    pub train: bool,
    /// In training mode, whether batch norm updates its running statistics (true by default;
    /// false to evaluate the training-mode loss at other weights without side effects, as loss
    /// landscapes and gradient checks do).
    pub update_buffers: bool,
    /// Run seed.
    pub seed: u64,
    /// Global optimisation step.
    pub step: u64,
    /// Position of this pass's first sample in the global batch (a rank's slice starts there).
    pub row_offset: usize,
    stream: Cell<u64>,
}

impl ForwardCtx {
    /// Training mode for optimisation step `step` of a run seeded with `seed`.
    pub fn train(seed: u64, step: u64) -> Self {
        ForwardCtx {
            train: true,
            update_buffers: true,
            seed,
            step,
            row_offset: 0,
            stream: Cell::new(0),
        }
    }

    /// The same pass for a slice of the global batch starting at sample `offset`.
    pub fn at_row(mut self, offset: usize) -> Self {
        self.row_offset = offset;
        self
    }

    /// Evaluation mode: dropout is the identity.
    pub fn eval() -> Self {
        ForwardCtx {
            train: false,
            update_buffers: false,
            seed: 0,
            step: 0,
            row_offset: 0,
            stream: Cell::new(0),
        }
    }

    /// The same context without buffer updates (a side-effect-free training-mode pass).
    pub fn frozen(mut self) -> Self {
        self.update_buffers = false;
        self
    }

    /// A fresh seed for the next random layer of this pass.
    pub fn next_seed(&self) -> u64 {
        let k = self.stream.get();
        self.stream.set(k + 1);
        mix(mix(mix(self.seed) ^ self.step) ^ k)
    }
}

/// SplitMix64 finaliser: decorrelates nearby integers into independent-looking seeds.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_by_step_and_layer_and_repeat() {
        let a = ForwardCtx::train(1, 5);
        let (a0, a1) = (a.next_seed(), a.next_seed());
        assert_ne!(a0, a1);
        let b = ForwardCtx::train(1, 5);
        assert_eq!(b.next_seed(), a0);
        assert_ne!(ForwardCtx::train(1, 6).next_seed(), a0);
        assert_ne!(ForwardCtx::train(2, 5).next_seed(), a0);
    }
}
