//! Stochastic gradient descent: plain, heavy-ball momentum and Nesterov momentum.
//!
//! Follows PyTorch's `torch.optim.SGD`, with `g` the gradient, `μ` the momentum,
//! `τ` the dampening, `λ` the weight decay and `b` the momentum buffer:
//!
//! ```text
//! d = g + λ·p                        (L2 weight decay)
//! b = d                              (first step)
//! b = μ·b + (1 − τ)·d                (later steps)
//! d = b          heavy-ball,   d = d + μ·b   Nesterov
//! p = p − lr·d
//! ```

use super::float::cast;
use super::mask::for_each_run;
use super::optimizer::{check_buffers, shared_optimizer_methods};
use super::parallel::{zip2, zip3};
use super::validate;
use super::{DecayMask, OptimError, OptimFloat, Optimizer, OptimizerKind};
use crate::simd::simd_dispatch;
use serde::{Deserialize, Serialize};

/// Hyper-parameters of [`Sgd`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor `μ` (0 disables momentum).
    pub momentum: f64,
    /// Dampening `τ` of the gradient added to the momentum buffer.
    pub dampening: f64,
    /// Use Nesterov momentum (requires momentum > 0 and dampening 0).
    pub nesterov: bool,
    /// L2 penalty `λ` added to the gradient.
    pub weight_decay: f64,
}

impl SgdConfig {
    /// Plain SGD.
    pub fn plain(lr: f64) -> Self {
        Self {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }

    /// Heavy-ball momentum.
    pub fn momentum(lr: f64, momentum: f64) -> Self {
        Self {
            momentum,
            ..Self::plain(lr)
        }
    }

    /// Nesterov momentum.
    pub fn nesterov(lr: f64, momentum: f64) -> Self {
        Self {
            momentum,
            nesterov: true,
            ..Self::plain(lr)
        }
    }

    /// Sets the L2 weight decay.
    pub fn with_weight_decay(self, weight_decay: f64) -> Self {
        Self {
            weight_decay,
            ..self
        }
    }

    /// Which kind these settings describe.
    pub fn kind(&self) -> OptimizerKind {
        if self.nesterov {
            OptimizerKind::Nesterov
        } else if self.momentum > 0.0 {
            OptimizerKind::Momentum
        } else {
            OptimizerKind::Sgd
        }
    }

    /// Checks every hyper-parameter range.
    pub fn validate(&self) -> Result<(), OptimError> {
        validate::learning_rate(self.lr)?;
        validate::non_negative("weight decay", self.weight_decay)?;
        validate::unit_half_open("momentum", self.momentum)?;
        validate::unit_closed("dampening", self.dampening)?;
        if self.nesterov {
            validate::unit_open("momentum", self.momentum)?;
            if self.dampening != 0.0 {
                return Err(OptimError::InvalidHyperParameter {
                    name: "dampening",
                    value: self.dampening,
                    requirement: "0 for Nesterov momentum",
                });
            }
        }
        Ok(())
    }

    /// The state vectors a snapshot taken after the first step holds with these settings.
    pub(crate) fn state_names(&self) -> &'static [&'static str] {
        if self.momentum > 0.0 {
            &["momentum_buffer"]
        } else {
            &[]
        }
    }
}

/// SGD with optional momentum, Nesterov momentum and L2 weight decay.
#[derive(Debug, Clone)]
pub struct Sgd<T> {
    cfg: SgdConfig,
    step: u64,
    momentum_buffer: Vec<T>,
    mask: Option<DecayMask>,
}

impl<T: OptimFloat> Sgd<T> {
    /// Creates the optimizer after validating `cfg`.
    pub fn new(cfg: SgdConfig) -> Result<Self, OptimError> {
        cfg.validate()?;
        Ok(Self {
            cfg,
            step: 0,
            momentum_buffer: Vec::new(),
            mask: None,
        })
    }

    /// Current hyper-parameters.
    pub fn config(&self) -> &SgdConfig {
        &self.cfg
    }
}

simd_dispatch! {
    /// Compiled per SIMD instruction set (chosen at run time): wider loads and stores.
    fn plain_kernel<T: OptimFloat>(p: &mut [T], g: &[T], lr: T, wd: T) {
        for (p, &g) in p.iter_mut().zip(g) {
            let d = g + wd * *p;
            *p = *p - lr * d;
        }
    }
}

struct MomentumCoefs<T> {
    lr: T,
    wd: T,
    mu: T,
    one_minus_damp: T,
}

simd_dispatch! {
    /// Compiled per SIMD instruction set, as [`plain_kernel`].
    fn momentum_kernel<T: OptimFloat, const FIRST: bool, const NESTEROV: bool>(
        p: &mut [T],
        g: &[T],
        b: &mut [T],
        c: &MomentumCoefs<T>,
    ) {
        for ((p, &g), b) in p.iter_mut().zip(g).zip(b.iter_mut()) {
            let d = g + c.wd * *p;
            *b = if FIRST {
                d
            } else {
                c.mu * *b + c.one_minus_damp * d
            };
            let d = if NESTEROV { d + c.mu * *b } else { *b };
            *p = *p - c.lr * d;
        }
    }
}

impl<T: OptimFloat> Optimizer<T> for Sgd<T> {
    fn kind(&self) -> OptimizerKind {
        self.cfg.kind()
    }

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<(), OptimError> {
        let n = params.len();
        let has_momentum = self.cfg.momentum > 0.0;
        let state_len = (has_momentum && self.step > 0).then_some(self.momentum_buffer.len());
        check_buffers(self.name(), n, grads.len(), self.mask.as_ref(), state_len)?;
        let lr = cast::<T>(self.cfg.lr);
        let wd_on = cast::<T>(self.cfg.weight_decay);
        if !has_momentum {
            for_each_run(n, self.mask.as_ref(), |r, decay| {
                let wd = if decay { wd_on } else { T::zero() };
                zip2(&mut params[r.clone()], &grads[r], |p, g| {
                    plain_kernel(p, g, lr, wd)
                });
            });
        } else {
            let first = self.step == 0;
            if first {
                self.momentum_buffer = vec![T::zero(); n];
            }
            let buf = &mut self.momentum_buffer;
            let nesterov = self.cfg.nesterov;
            let (mu, one_minus_damp) = (
                cast::<T>(self.cfg.momentum),
                cast::<T>(1.0 - self.cfg.dampening),
            );
            for_each_run(n, self.mask.as_ref(), |r, decay| {
                let c = MomentumCoefs {
                    lr,
                    wd: if decay { wd_on } else { T::zero() },
                    mu,
                    one_minus_damp,
                };
                let kernel = match (first, nesterov) {
                    (true, true) => momentum_kernel::<T, true, true>,
                    (true, false) => momentum_kernel::<T, true, false>,
                    (false, true) => momentum_kernel::<T, false, true>,
                    (false, false) => momentum_kernel::<T, false, false>,
                };
                zip3(
                    &mut params[r.clone()],
                    &grads[r.clone()],
                    &mut buf[r],
                    |p, g, b| kernel(p, g, b, &c),
                );
            });
        }
        self.step += 1;
        Ok(())
    }

    shared_optimizer_methods!("momentum_buffer" => momentum_buffer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testutil::{assert_bit_identical_resume, minimise};
    use crate::optim::ParamSegment;

    #[test]
    fn plain_step_with_weight_decay_matches_formula() {
        let mut opt = Sgd::<f64>::new(SgdConfig::plain(0.1).with_weight_decay(0.01)).unwrap();
        let mut p = vec![1.0, -2.0];
        let g = [0.5, 0.25];
        opt.step(&mut p, &g).unwrap();
        assert_eq!(
            p,
            vec![
                1.0 - 0.1 * (0.5 + 0.01 * 1.0),
                -2.0 - 0.1 * (0.25 + 0.01 * -2.0)
            ]
        );
        assert!(opt.state().buffers.is_empty());
    }

    #[test]
    fn momentum_with_dampening_matches_pytorch_by_hand() {
        let (lr, mu, damp) = (0.1, 0.9, 0.25);
        let cfg = SgdConfig {
            dampening: damp,
            ..SgdConfig::momentum(lr, mu)
        };
        let mut opt = Sgd::<f64>::new(cfg).unwrap();
        let mut p = vec![1.0];
        opt.step(&mut p, &[2.0]).unwrap();
        // First step: buffer = gradient, no dampening.
        let b1 = 2.0;
        let p1 = 1.0 - lr * b1;
        assert_eq!(p, vec![p1]);
        let g2 = -1.5;
        opt.step(&mut p, &[g2]).unwrap();
        let b2 = mu * b1 + (1.0 - damp) * g2;
        assert_eq!(p, vec![p1 - lr * b2]);
        assert_eq!(
            opt.state().buffer("momentum_buffer").unwrap().data,
            vec![b2]
        );
    }

    #[test]
    fn nesterov_matches_pytorch_by_hand() {
        let (lr, mu, wd) = (0.05, 0.8, 0.1);
        let mut opt = Sgd::<f64>::new(SgdConfig::nesterov(lr, mu).with_weight_decay(wd)).unwrap();
        let mut p = vec![0.5];
        opt.step(&mut p, &[1.0]).unwrap();
        let d1 = 1.0 + wd * 0.5;
        let b1 = d1;
        let p1 = 0.5 - lr * (d1 + mu * b1);
        assert_eq!(p, vec![p1]);
        opt.step(&mut p, &[0.3]).unwrap();
        let d2 = 0.3 + wd * p1;
        let b2 = mu * b1 + d2;
        assert_eq!(p, vec![p1 - lr * (d2 + mu * b2)]);
    }

    #[test]
    fn all_variants_reach_the_minimum_of_an_ill_conditioned_quadratic() {
        let cases = [
            SgdConfig::plain(0.019),
            SgdConfig::momentum(0.01, 0.9),
            SgdConfig::nesterov(0.01, 0.9),
        ];
        for cfg in cases {
            let mut opt = Sgd::<f64>::new(cfg).unwrap();
            let (worst, rel) = minimise(&mut opt, 1500, None);
            assert!(
                worst < 1e-6 && rel < 1e-10,
                "{:?}: |x| {worst}, f/f0 {rel}",
                cfg.kind()
            );
            let mut opt32 = Sgd::<f32>::new(cfg).unwrap();
            let (worst, _) = minimise(&mut opt32, 1500, None);
            assert!(worst < 1e-5, "{:?} f32: |x| {worst}", cfg.kind());
        }
    }

    #[test]
    fn weight_decay_skips_masked_biases() {
        let mut opt = Sgd::<f32>::new(SgdConfig::plain(0.5).with_weight_decay(0.1)).unwrap();
        let segs = [
            ParamSegment::new("fc.weight", 0, 3),
            ParamSegment::new("fc.bias", 3, 1),
        ];
        opt.set_decay_mask(Some(DecayMask::exclude_biases_and_norms(&segs, 4).unwrap()));
        let mut p = vec![1.0f32; 4];
        opt.step(&mut p, &[0.0; 4]).unwrap();
        assert_eq!(p, vec![0.95, 0.95, 0.95, 1.0]);
        let err = opt.step(&mut [1.0; 5], &[0.0; 5]).unwrap_err();
        assert!(matches!(err, OptimError::MaskLength { mask: 4, params: 5 }));
    }

    #[test]
    fn resuming_is_bit_identical() {
        for cfg in [
            SgdConfig::plain(0.01).with_weight_decay(0.01),
            SgdConfig {
                dampening: 0.1,
                ..SgdConfig::momentum(0.01, 0.9)
            },
            SgdConfig::nesterov(0.01, 0.9).with_weight_decay(1e-3),
        ] {
            assert_bit_identical_resume::<f32>(|| Box::new(Sgd::new(cfg).unwrap()), 7, 20);
            assert_bit_identical_resume::<f64>(|| Box::new(Sgd::new(cfg).unwrap()), 7, 20);
            assert_bit_identical_resume::<f32>(|| Box::new(Sgd::new(cfg).unwrap()), 0, 5);
        }
    }

    #[test]
    fn bad_lengths_are_errors_and_change_nothing() {
        let mut opt = Sgd::<f32>::new(SgdConfig::momentum(0.1, 0.9)).unwrap();
        let mut p = vec![1.0f32; 3];
        let err = opt.step(&mut p, &[1.0; 2]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "parameter buffer has 3 elements but gradient buffer has 2"
        );
        assert_eq!(p, vec![1.0; 3]);
        opt.step(&mut p, &[1.0; 3]).unwrap();
        let err = opt.step(&mut [1.0; 4], &[1.0; 4]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "optimizer momentum holds state for 3 elements but the parameter buffer has 4"
        );
    }

    #[test]
    fn loading_another_kind_is_rejected() {
        let mut nesterov = Sgd::<f32>::new(SgdConfig::nesterov(0.1, 0.9)).unwrap();
        let plain = Sgd::<f32>::new(SgdConfig::plain(0.1)).unwrap();
        let err = nesterov.load_state(&plain.state()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "optimizer state is for sgd but this optimizer is nesterov"
        );
    }

    #[test]
    fn large_buffers_take_the_parallel_path_with_identical_results() {
        let n = crate::optim::parallel::PAR_THRESHOLD + 3;
        let g: Vec<f32> = (0..n).map(|i| (i % 13) as f32 - 6.0).collect();
        let mut big = Sgd::<f32>::new(SgdConfig::nesterov(0.01, 0.9)).unwrap();
        let mut p = vec![0.5f32; n];
        big.step(&mut p, &g).unwrap();
        big.step(&mut p, &g).unwrap();
        let mut small = Sgd::<f32>::new(SgdConfig::nesterov(0.01, 0.9)).unwrap();
        let mut q = vec![0.5f32; 13];
        small.step(&mut q, &g[..13]).unwrap();
        small.step(&mut q, &g[..13]).unwrap();
        for i in [0, 5, n - 1] {
            assert_eq!(p[i].to_bits(), q[i % 13].to_bits());
        }
    }
}
