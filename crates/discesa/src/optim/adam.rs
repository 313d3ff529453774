//! Adam and AdamW: per-element step sizes from bias-corrected moment estimates.
//!
//! Follows PyTorch's `torch.optim.Adam` / `AdamW` (without AMSGrad), at step `t = 1, 2, …`,
//! with `m` and `v` the first and second moment estimates:
//!
//! ```text
//! Adam:   d = g + λ·p                 AdamW:  p = p·(1 − lr·λ);  d = g
//! m = β₁·m + (1 − β₁)·d
//! v = β₂·v + (1 − β₂)·d²
//! p = p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
//! ```

use super::float::cast;
use super::mask::for_each_run;
use super::optimizer::{check_buffers, shared_optimizer_methods};
use super::parallel::zip4;
use super::validate;
use super::{DecayMask, OptimError, OptimFloat, Optimizer, OptimizerKind};
use crate::simd::simd_dispatch;
use serde::{Deserialize, Serialize};

/// Hyper-parameters of [`Adam`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay rate `β₁` of the first moment, in [0, 1).
    pub beta1: f64,
    /// Decay rate `β₂` of the second moment, in [0, 1).
    pub beta2: f64,
    /// Term `ε` added to the denominator for numerical stability.
    pub eps: f64,
    /// Weight decay `λ`: L2 penalty for Adam, decoupled shrinkage for AdamW.
    pub weight_decay: f64,
    /// Decoupled weight decay (AdamW) instead of an L2 term in the gradient.
    pub decoupled: bool,
}

impl AdamConfig {
    /// Adam with PyTorch's defaults: `β = (0.9, 0.999)`, `ε = 1e-8`, no weight decay.
    pub fn adam(lr: f64) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
        }
    }

    /// AdamW with PyTorch's defaults: as Adam, with decoupled weight decay 0.01.
    pub fn adamw(lr: f64) -> Self {
        Self {
            weight_decay: 0.01,
            decoupled: true,
            ..Self::adam(lr)
        }
    }

    /// Sets the weight decay.
    pub fn with_weight_decay(self, weight_decay: f64) -> Self {
        Self {
            weight_decay,
            ..self
        }
    }

    /// Which kind these settings describe.
    pub fn kind(&self) -> OptimizerKind {
        if self.decoupled {
            OptimizerKind::AdamW
        } else {
            OptimizerKind::Adam
        }
    }

    /// Checks every hyper-parameter range.
    pub fn validate(&self) -> Result<(), OptimError> {
        validate::learning_rate(self.lr)?;
        validate::unit_half_open("beta1", self.beta1)?;
        validate::unit_half_open("beta2", self.beta2)?;
        validate::positive("eps", self.eps)?;
        validate::non_negative("weight decay", self.weight_decay)?;
        Ok(())
    }

    /// The state vectors a snapshot taken after the first step holds with these settings.
    pub(crate) fn state_names(&self) -> &'static [&'static str] {
        &["exp_avg", "exp_avg_sq"]
    }
}

/// Adam or AdamW, depending on [`AdamConfig::decoupled`].
#[derive(Debug, Clone)]
pub struct Adam<T> {
    cfg: AdamConfig,
    step: u64,
    exp_avg: Vec<T>,
    exp_avg_sq: Vec<T>,
    mask: Option<DecayMask>,
}

impl<T: OptimFloat> Adam<T> {
    /// Creates the optimizer after validating `cfg`.
    pub fn new(cfg: AdamConfig) -> Result<Self, OptimError> {
        cfg.validate()?;
        Ok(Self {
            cfg,
            step: 0,
            exp_avg: Vec::new(),
            exp_avg_sq: Vec::new(),
            mask: None,
        })
    }

    /// Current hyper-parameters.
    pub fn config(&self) -> &AdamConfig {
        &self.cfg
    }
}

#[derive(Clone, Copy)]
struct Coefs<T> {
    /// Multiplier applied to `p` before the update (AdamW shrinkage, else 1).
    shrink: T,
    /// L2 coefficient added to the gradient (Adam, else 0).
    l2: T,
    beta1: T,
    one_minus_beta1: T,
    beta2: T,
    one_minus_beta2: T,
    step_size: T,
    bc2_sqrt: T,
    eps: T,
}

simd_dispatch! {
    /// Compiled for each SIMD instruction set and chosen at run time: the square root and the
    /// division of every element are the update's cost, four times wider with AVX-512 than
    /// with the baseline's SSE2, and exactly rounded on every width.
    fn kernel<T: OptimFloat>(p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], c: Coefs<T>) {
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let q = *p * c.shrink;
            let d = g + c.l2 * q;
            *m = c.beta1 * *m + c.one_minus_beta1 * d;
            *v = c.beta2 * *v + c.one_minus_beta2 * d * d;
            let denom = v.sqrt() / c.bc2_sqrt + c.eps;
            *p = q - c.step_size * (*m / denom);
        }
    }
}

impl<T: OptimFloat> Optimizer<T> for Adam<T> {
    fn kind(&self) -> OptimizerKind {
        self.cfg.kind()
    }

    fn step(&mut self, params: &mut [T], grads: &[T]) -> Result<(), OptimError> {
        let n = params.len();
        let state_len = (self.step > 0).then_some(self.exp_avg.len());
        check_buffers(self.name(), n, grads.len(), self.mask.as_ref(), state_len)?;
        if self.step == 0 {
            self.exp_avg = vec![T::zero(); n];
            self.exp_avg_sq = vec![T::zero(); n];
        }
        let cfg = self.cfg;
        let t = (self.step + 1) as f64;
        let bc1 = 1.0 - cfg.beta1.powf(t);
        let bc2 = 1.0 - cfg.beta2.powf(t);
        let base = Coefs {
            shrink: T::one(),
            l2: T::zero(),
            beta1: cast(cfg.beta1),
            one_minus_beta1: cast(1.0 - cfg.beta1),
            beta2: cast(cfg.beta2),
            one_minus_beta2: cast(1.0 - cfg.beta2),
            step_size: cast(cfg.lr / bc1),
            bc2_sqrt: cast(bc2.sqrt()),
            eps: cast(cfg.eps),
        };
        let (m, v) = (&mut self.exp_avg, &mut self.exp_avg_sq);
        for_each_run(n, self.mask.as_ref(), |r, decay| {
            let wd = if decay { cfg.weight_decay } else { 0.0 };
            let c = if cfg.decoupled {
                Coefs {
                    shrink: cast(1.0 - cfg.lr * wd),
                    ..base
                }
            } else {
                Coefs {
                    l2: cast(wd),
                    ..base
                }
            };
            zip4(
                &mut params[r.clone()],
                &grads[r.clone()],
                &mut m[r.clone()],
                &mut v[r],
                |p, g, m, v| kernel(p, g, m, v, c),
            );
        });
        self.step += 1;
        Ok(())
    }

    shared_optimizer_methods!("exp_avg" => exp_avg, "exp_avg_sq" => exp_avg_sq);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testutil::{assert_bit_identical_resume, minimise};
    use crate::optim::{HyperParams, ParamSegment, Schedule};

    /// Textbook Adam (Kingma & Ba, algorithm 1) with bias-corrected moments.
    fn textbook(cfg: &AdamConfig, p0: f64, grads: &[f64]) -> f64 {
        let (mut p, mut m, mut v) = (p0, 0.0, 0.0);
        for (i, &g) in grads.iter().enumerate() {
            let t = (i + 1) as i32;
            if cfg.decoupled {
                p *= 1.0 - cfg.lr * cfg.weight_decay;
            }
            let d = if cfg.decoupled {
                g
            } else {
                g + cfg.weight_decay * p
            };
            m = cfg.beta1 * m + (1.0 - cfg.beta1) * d;
            v = cfg.beta2 * v + (1.0 - cfg.beta2) * d * d;
            let m_hat = m / (1.0 - cfg.beta1.powi(t));
            let v_hat = v / (1.0 - cfg.beta2.powi(t));
            p -= cfg.lr * m_hat / (v_hat.sqrt() + cfg.eps);
        }
        p
    }

    fn run(cfg: AdamConfig, p0: f64, grads: &[f64]) -> f64 {
        let mut opt = Adam::<f64>::new(cfg).unwrap();
        let mut p = [p0];
        for &g in grads {
            opt.step(&mut p, &[g]).unwrap();
        }
        p[0]
    }

    #[test]
    fn first_steps_equal_hand_computation() {
        let cfg = AdamConfig::adam(0.001);
        // Step 1: m̂ = g and v̂ = g², so the move is lr·g/(|g| + ε) ≈ lr·sign(g).
        let p1 = run(cfg, 1.0, &[0.5]);
        assert!(
            (p1 - (1.0 - 0.001 * 0.5 / (0.5 + 1e-8))).abs() < 1e-15,
            "{p1}"
        );
        let grads = [0.5, -0.25, 0.125, 2.0];
        for k in 1..=grads.len() {
            let ours = run(cfg, 1.0, &grads[..k]);
            let hand = textbook(&cfg, 1.0, &grads[..k]);
            assert!((ours - hand).abs() < 1e-15, "step {k}: {ours} vs {hand}");
        }
    }

    #[test]
    fn adam_l2_and_adamw_match_hand_computation() {
        let grads = [0.3, -0.1, 0.05];
        for cfg in [
            AdamConfig::adam(0.01).with_weight_decay(0.1),
            AdamConfig::adamw(0.01).with_weight_decay(0.1),
        ] {
            let ours = run(cfg, 2.0, &grads);
            let hand = textbook(&cfg, 2.0, &grads);
            assert!(
                (ours - hand).abs() < 1e-14,
                "{:?}: {ours} vs {hand}",
                cfg.kind()
            );
        }
        let l2 = run(AdamConfig::adam(0.01).with_weight_decay(0.1), 2.0, &grads);
        let decoupled = run(AdamConfig::adamw(0.01).with_weight_decay(0.1), 2.0, &grads);
        assert!((l2 - decoupled).abs() > 1e-4, "the two decays must differ");
    }

    #[test]
    fn weight_decay_behaviour_on_zero_gradient() {
        // AdamW shrinks by exactly (1 − lr·λ) and the moments stay zero.
        let mut adamw = Adam::<f64>::new(AdamConfig::adamw(0.1).with_weight_decay(0.5)).unwrap();
        let segs = [
            ParamSegment::new("w", 0, 2),
            ParamSegment::new("b.bias", 2, 1),
        ];
        adamw.set_decay_mask(Some(DecayMask::exclude_biases_and_norms(&segs, 3).unwrap()));
        let mut p = vec![2.0, -4.0, 3.0];
        adamw.step(&mut p, &[0.0; 3]).unwrap();
        assert_eq!(p, vec![2.0 * 0.95, -4.0 * 0.95, 3.0]);
        // Adam's L2 term goes through the normalisation: the move is ≈ lr·sign(p).
        let mut adam = Adam::<f64>::new(AdamConfig::adam(0.1).with_weight_decay(0.5)).unwrap();
        let mut q = vec![2.0, -4.0];
        adam.step(&mut q, &[0.0; 2]).unwrap();
        assert!(
            (q[0] - 1.9).abs() < 1e-7 && (q[1] + 3.9).abs() < 1e-7,
            "{q:?}"
        );
    }

    #[test]
    fn both_reach_the_minimum_with_an_annealed_rate() {
        let schedule = Schedule::parse("warmup:10+cosine:1990").unwrap();
        for cfg in [
            AdamConfig::adam(0.05),
            AdamConfig::adamw(0.05).with_weight_decay(0.0),
        ] {
            let mut opt = Adam::<f64>::new(cfg).unwrap();
            let (worst, rel) = minimise(&mut opt, 2000, Some(&schedule));
            assert!(
                worst < 1e-3 && rel < 1e-6,
                "{:?}: |x| {worst}, f/f0 {rel}",
                cfg.kind()
            );
            let mut opt32 = Adam::<f32>::new(cfg).unwrap();
            let (worst, _) = minimise(&mut opt32, 2000, Some(&schedule));
            assert!(worst < 1e-3, "{:?} f32: |x| {worst}", cfg.kind());
        }
    }

    #[test]
    fn resuming_is_bit_identical() {
        for cfg in [
            AdamConfig::adam(0.01).with_weight_decay(1e-2),
            AdamConfig::adamw(0.01),
        ] {
            assert_bit_identical_resume::<f32>(|| Box::new(Adam::new(cfg).unwrap()), 9, 25);
            assert_bit_identical_resume::<f64>(|| Box::new(Adam::new(cfg).unwrap()), 9, 25);
        }
    }

    #[test]
    fn state_from_other_family_is_rejected() {
        let mut adam = Adam::<f32>::new(AdamConfig::adam(0.01)).unwrap();
        let mut state = adam.state();
        state.hyper = HyperParams::RmsProp(crate::optim::RmsPropConfig::new(0.01));
        let err = adam.load_state(&state).unwrap_err();
        assert!(
            err.to_string().contains("another optimizer family"),
            "{err}"
        );
        let mut adamw_state = Adam::<f32>::new(AdamConfig::adamw(0.01)).unwrap().state();
        adamw_state.kind = OptimizerKind::Adam;
        assert!(adam.load_state(&adamw_state).is_err());
    }
}
