//! The optimizer interface shared by every update rule, and the names of the rules.

use super::{DecayMask, OptimError, OptimFloat, OptimizerState};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Update rule applied to one flat parameter buffer from its flat gradient buffer.
///
/// The engine keeps every parameter of a model in a single contiguous buffer, so an
/// optimizer sees exactly two slices per step and its state vectors mirror that layout.
pub trait Optimizer<T: OptimFloat>: Send {
    /// Short lowercase name (`sgd`, `momentum`, `nesterov`, `rmsprop`, `adam`, `adamw`).
    fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// Which update rule this is.
    fn kind(&self) -> OptimizerKind;

    /// Applies one update in place. Fails without touching `params` if the buffers differ
    /// in length, or if they no longer match the optimizer's state or weight-decay mask.
    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<(), OptimError>;

    /// The learning rate used by the next step.
    fn learning_rate(&self) -> f64;

    /// Changes the learning rate (for schedules); it must be positive and finite.
    fn set_learning_rate(&mut self, lr: f64) -> Result<(), OptimError>;

    /// Number of steps taken so far (restored by [`Optimizer::load_state`]).
    fn step_count(&self) -> u64;

    /// Restricts weight decay to part of the buffer (`None` decays everything).
    /// The mask is configuration, not state: it is not saved by [`Optimizer::state`].
    fn set_decay_mask(&mut self, mask: Option<DecayMask>);

    /// Snapshot of hyper-parameters, step count and state vectors, for checkpoints.
    fn state(&self) -> OptimizerState;

    /// Restores a snapshot taken by [`Optimizer::state`] on the same kind of optimizer;
    /// continuing afterwards reproduces the uninterrupted run bit for bit.
    fn load_state(&mut self, state: &OptimizerState) -> Result<(), OptimError>;
}

/// The update rules the crate provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Plain stochastic gradient descent.
    Sgd,
    /// SGD with heavy-ball momentum.
    Momentum,
    /// SGD with Nesterov momentum.
    Nesterov,
    /// RMSprop.
    RmsProp,
    /// Adam with L2 weight decay added to the gradient.
    Adam,
    /// Adam with decoupled weight decay.
    AdamW,
}

impl OptimizerKind {
    /// Every kind, in the order shown to users.
    pub const ALL: [OptimizerKind; 6] = [
        OptimizerKind::Sgd,
        OptimizerKind::Momentum,
        OptimizerKind::Nesterov,
        OptimizerKind::RmsProp,
        OptimizerKind::Adam,
        OptimizerKind::AdamW,
    ];

    /// The name used on the command line and in saved states.
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Momentum => "momentum",
            OptimizerKind::Nesterov => "nesterov",
            OptimizerKind::RmsProp => "rmsprop",
            OptimizerKind::Adam => "adam",
            OptimizerKind::AdamW => "adamw",
        }
    }

    /// Comma-separated list of valid names, for error messages and help texts.
    pub fn valid_names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }
}

impl fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OptimizerKind {
    type Err = OptimError;

    /// Case-insensitive; fails with the list of valid names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.name() == lower)
            .ok_or_else(|| OptimError::UnknownOptimizer {
                name: s.to_string(),
                valid: Self::valid_names(),
            })
    }
}

/// The [`Optimizer`] methods that read the same for every rule, for a type whose settings
/// (a [`Family`](super::state::Family)) are in `self.cfg`, its step count in `self.step`, its
/// weight-decay mask in `self.mask`, and whose state vectors are the fields named, each saved
/// under the PyTorch name given.
macro_rules! shared_optimizer_methods {
    ($($name:literal => $field:ident),+ $(,)?) => {
        fn learning_rate(&self) -> f64 {
            self.cfg.lr
        }

        fn set_learning_rate(&mut self, lr: f64) -> Result<(), $crate::optim::OptimError> {
            self.cfg.lr = $crate::optim::validate::learning_rate(lr)?;
            Ok(())
        }

        fn step_count(&self) -> u64 {
            self.step
        }

        fn set_decay_mask(&mut self, mask: Option<$crate::optim::DecayMask>) {
            self.mask = mask;
        }

        fn state(&self) -> $crate::optim::OptimizerState {
            $crate::optim::state::snapshot(self.cfg, self.step, &[$(($name, &self.$field[..])),+])
        }

        fn load_state(
            &mut self,
            state: &$crate::optim::OptimizerState,
        ) -> Result<(), $crate::optim::OptimError> {
            let mut restored = $crate::optim::state::restore::<_, T>(state, self.kind())?;
            $(self.$field = restored.take($name);)+
            self.cfg = restored.cfg;
            self.step = state.step;
            Ok(())
        }
    };
}
pub(crate) use shared_optimizer_methods;

/// Validates buffer lengths before any element is touched.
pub(crate) fn check_buffers(
    optimizer: &'static str,
    params: usize,
    grads: usize,
    mask: Option<&DecayMask>,
    state_len: Option<usize>,
) -> Result<(), OptimError> {
    if params != grads {
        return Err(OptimError::LengthMismatch { params, grads });
    }
    if let Some(mask) = mask {
        mask.check_len(params)?;
    }
    match state_len {
        Some(state) if state != params => Err(OptimError::StateLength {
            optimizer,
            state,
            params,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_lists_valid_names() {
        for k in OptimizerKind::ALL {
            assert_eq!(k.name().parse::<OptimizerKind>(), Ok(k));
        }
        assert_eq!("AdamW".parse::<OptimizerKind>(), Ok(OptimizerKind::AdamW));
        let err = "adagrad".parse::<OptimizerKind>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown optimizer `adagrad`; valid names: sgd, momentum, nesterov, rmsprop, adam, adamw"
        );
    }

    #[test]
    fn buffer_checks_name_both_lengths() {
        let err = check_buffers("sgd", 3, 4, None, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains('3') && err.contains('4'), "{err}");
        let err = check_buffers("adam", 3, 3, None, Some(5))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("adam") && err.contains('5') && err.contains('3'),
            "{err}"
        );
        assert!(check_buffers("sgd", 3, 3, Some(&DecayMask::all(2)), None).is_err());
        assert!(check_buffers("sgd", 3, 3, Some(&DecayMask::all(3)), Some(3)).is_ok());
    }
}
