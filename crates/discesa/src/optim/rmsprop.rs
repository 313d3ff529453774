//! RMSprop: divides each gradient by a running root-mean-square of past gradients.
//!
//! Follows PyTorch's `torch.optim.RMSprop` (non-centred), with `α` the smoothing constant,
//! `μ` the momentum, `λ` the weight decay, `v` the square average and `b` the momentum buffer:
//!
//! ```text
//! d = g + λ·p
//! v = α·v + (1 − α)·d²
//! a = √v + ε
//! without momentum:  p = p − lr·d/a
//! with momentum:     b = μ·b + d/a;   p = p − lr·b
//! ```
//!
//! Both state vectors start at zero (no bias correction, as in PyTorch).

use super::float::cast;
use super::mask::for_each_run;
use super::optimizer::{check_buffers, shared_optimizer_methods};
use super::parallel::{zip3, zip4};
use super::validate;
use super::{DecayMask, OptimError, OptimFloat, Optimizer, OptimizerKind};
use crate::simd::simd_dispatch;
use serde::{Deserialize, Serialize};

/// Hyper-parameters of [`RmsProp`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RmsPropConfig {
    /// Learning rate.
    pub lr: f64,
    /// Smoothing constant `α` of the square average, in [0, 1).
    pub alpha: f64,
    /// Term `ε` added to the root mean square for numerical stability.
    pub eps: f64,
    /// Momentum factor `μ` (0 disables momentum).
    pub momentum: f64,
    /// L2 penalty `λ` added to the gradient.
    pub weight_decay: f64,
}

impl RmsPropConfig {
    /// PyTorch's defaults: `α = 0.99`, `ε = 1e-8`, no momentum, no weight decay.
    pub fn new(lr: f64) -> Self {
        Self {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            momentum: 0.0,
            weight_decay: 0.0,
        }
    }

    /// Checks every hyper-parameter range.
    pub fn validate(&self) -> Result<(), OptimError> {
        validate::learning_rate(self.lr)?;
        validate::unit_half_open("alpha", self.alpha)?;
        validate::positive("eps", self.eps)?;
        validate::unit_half_open("momentum", self.momentum)?;
        validate::non_negative("weight decay", self.weight_decay)?;
        Ok(())
    }

    /// Which kind these settings describe.
    pub fn kind(&self) -> OptimizerKind {
        OptimizerKind::RmsProp
    }

    /// The state vectors a snapshot taken after the first step holds with these settings.
    pub(crate) fn state_names(&self) -> &'static [&'static str] {
        if self.momentum > 0.0 {
            &["square_avg", "momentum_buffer"]
        } else {
            &["square_avg"]
        }
    }
}

/// RMSprop with optional momentum and L2 weight decay.
#[derive(Debug, Clone)]
pub struct RmsProp<T> {
    cfg: RmsPropConfig,
    step: u64,
    square_avg: Vec<T>,
    momentum_buffer: Vec<T>,
    mask: Option<DecayMask>,
}

impl<T: OptimFloat> RmsProp<T> {
    /// Creates the optimizer after validating `cfg`.
    pub fn new(cfg: RmsPropConfig) -> Result<Self, OptimError> {
        cfg.validate()?;
        Ok(Self {
            cfg,
            step: 0,
            square_avg: Vec::new(),
            momentum_buffer: Vec::new(),
            mask: None,
        })
    }

    /// Current hyper-parameters.
    pub fn config(&self) -> &RmsPropConfig {
        &self.cfg
    }
}

#[derive(Clone, Copy)]
struct Coefs<T> {
    lr: T,
    wd: T,
    alpha: T,
    one_minus_alpha: T,
    eps: T,
    mu: T,
}

simd_dispatch! {
    /// Compiled per SIMD instruction set, as Adam's kernel.
    fn plain_kernel<T: OptimFloat>(p: &mut [T], g: &[T], v: &mut [T], c: Coefs<T>) {
        for ((p, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
            let d = g + c.wd * *p;
            *v = c.alpha * *v + c.one_minus_alpha * d * d;
            let a = v.sqrt() + c.eps;
            *p = *p - c.lr * (d / a);
        }
    }
}

simd_dispatch! {
    /// Compiled per SIMD instruction set, as Adam's kernel.
    fn momentum_kernel<T: OptimFloat>(p: &mut [T], g: &[T], v: &mut [T], b: &mut [T], c: Coefs<T>) {
        for (((p, &g), v), b) in p.iter_mut().zip(g).zip(v.iter_mut()).zip(b.iter_mut()) {
            let d = g + c.wd * *p;
            *v = c.alpha * *v + c.one_minus_alpha * d * d;
            let a = v.sqrt() + c.eps;
            *b = c.mu * *b + d / a;
            *p = *p - c.lr * *b;
        }
    }
}

impl<T: OptimFloat> Optimizer<T> for RmsProp<T> {
    fn kind(&self) -> OptimizerKind {
        OptimizerKind::RmsProp
    }

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<(), OptimError> {
        let n = params.len();
        let state_len = (self.step > 0).then_some(self.square_avg.len());
        check_buffers(self.name(), n, grads.len(), self.mask.as_ref(), state_len)?;
        let has_momentum = self.cfg.momentum > 0.0;
        if self.step == 0 {
            self.square_avg = vec![T::zero(); n];
            if has_momentum {
                self.momentum_buffer = vec![T::zero(); n];
            }
        }
        let base = Coefs {
            lr: cast::<T>(self.cfg.lr),
            wd: cast::<T>(self.cfg.weight_decay),
            alpha: cast::<T>(self.cfg.alpha),
            one_minus_alpha: cast::<T>(1.0 - self.cfg.alpha),
            eps: cast::<T>(self.cfg.eps),
            mu: cast::<T>(self.cfg.momentum),
        };
        let (v, b) = (&mut self.square_avg, &mut self.momentum_buffer);
        for_each_run(n, self.mask.as_ref(), |r, decay| {
            let c = Coefs {
                wd: if decay { base.wd } else { T::zero() },
                ..base
            };
            let (p, g) = (&mut params[r.clone()], &grads[r.clone()]);
            if has_momentum {
                zip4(p, g, &mut v[r.clone()], &mut b[r], |p, g, v, b| {
                    momentum_kernel(p, g, v, b, c)
                });
            } else {
                zip3(p, g, &mut v[r], |p, g, v| plain_kernel(p, g, v, c));
            }
        });
        self.step += 1;
        Ok(())
    }

    shared_optimizer_methods!("square_avg" => square_avg, "momentum_buffer" => momentum_buffer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testutil::{assert_bit_identical_resume, minimise};
    use crate::optim::Schedule;

    #[test]
    fn two_steps_match_pytorch_by_hand() {
        let (lr, alpha, eps, wd): (f64, f64, f64, f64) = (0.01, 0.9, 1e-8, 0.1);
        let cfg = RmsPropConfig {
            alpha,
            weight_decay: wd,
            ..RmsPropConfig::new(lr)
        };
        let mut opt = RmsProp::<f64>::new(cfg).unwrap();
        let mut p = vec![1.0];
        opt.step(&mut p, &[0.5]).unwrap();
        let d1 = 0.5 + wd * 1.0;
        let v1 = (1.0 - alpha) * d1 * d1;
        let p1 = 1.0 - lr * (d1 / (v1.sqrt() + eps));
        assert_eq!(p, vec![p1]);
        opt.step(&mut p, &[-0.2]).unwrap();
        let d2 = -0.2 + wd * p1;
        let v2 = alpha * v1 + (1.0 - alpha) * d2 * d2;
        assert_eq!(p, vec![p1 - lr * (d2 / (v2.sqrt() + eps))]);
    }

    #[test]
    fn momentum_variant_matches_pytorch_by_hand() {
        let (lr, alpha, eps, mu): (f64, f64, f64, f64) = (0.01, 0.99, 1e-8, 0.5);
        let cfg = RmsPropConfig {
            momentum: mu,
            ..RmsPropConfig::new(lr)
        };
        let mut opt = RmsProp::<f64>::new(cfg).unwrap();
        let mut p = vec![0.0];
        opt.step(&mut p, &[2.0]).unwrap();
        let v1 = (1.0 - alpha) * 4.0;
        let b1 = 2.0 / (v1.sqrt() + eps);
        assert_eq!(p, vec![-lr * b1]);
        opt.step(&mut p, &[1.0]).unwrap();
        let v2 = alpha * v1 + (1.0 - alpha) * 1.0;
        let b2 = mu * b1 + 1.0 / (v2.sqrt() + eps);
        assert_eq!(p, vec![-lr * b1 - lr * b2]);
        let s = opt.state();
        assert_eq!(s.buffer("square_avg").unwrap().data, vec![v2]);
        assert_eq!(s.buffer("momentum_buffer").unwrap().data, vec![b2]);
    }

    #[test]
    fn reaches_the_minimum_with_a_decaying_rate() {
        let schedule = Schedule::parse("exp:0.995").unwrap();
        for momentum in [0.0, 0.5] {
            let cfg = RmsPropConfig {
                momentum,
                ..RmsPropConfig::new(0.01)
            };
            let mut opt = RmsProp::<f64>::new(cfg).unwrap();
            let (worst, rel) = minimise(&mut opt, 3000, Some(&schedule));
            assert!(
                worst < 1e-4 && rel < 1e-7,
                "momentum {momentum}: |x| {worst}, f/f0 {rel}"
            );
        }
    }

    #[test]
    fn resuming_is_bit_identical() {
        for momentum in [0.0, 0.9] {
            let cfg = RmsPropConfig {
                momentum,
                weight_decay: 1e-3,
                ..RmsPropConfig::new(0.01)
            };
            assert_bit_identical_resume::<f32>(|| Box::new(RmsProp::new(cfg).unwrap()), 6, 15);
            assert_bit_identical_resume::<f64>(|| Box::new(RmsProp::new(cfg).unwrap()), 6, 15);
        }
    }
}
