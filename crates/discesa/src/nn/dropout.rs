//! Inverted dropout: in training, zero each activation with probability `p` and scale the
//! survivors by `1/(1−p)`, so evaluation (the identity) needs no rescaling.

use super::module::{mix, ForwardCtx, Module};
use crate::autodiff::Var;
use crate::error::{invalid, Result};
use crate::tensor::{Element, Tensor};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Dropout with rate `p`. The mask is a constant tensor; each sample's row of it is drawn from
/// a seed that is a pure function of (run seed, step, layer, the sample's position in the
/// global batch), see [`ForwardCtx::next_seed`] and [`ForwardCtx::row_offset`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dropout {
    p: f64,
}

impl Dropout {
    /// Dropout with rate `p` in `[0, 1)`.
    pub fn new(p: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(invalid("Dropout", format!("rate {p} must be in [0, 1)")));
        }
        Ok(Dropout { p })
    }

    /// The drop probability.
    pub fn rate(&self) -> f64 {
        self.p
    }

    /// The mask for a batch of shape `dims` (samples first) whose first sample sits at
    /// position `first_row` of the global batch: `0` or `1/(1−p)`. Row `i` comes from its own
    /// generator seeded by `(seed, first_row + i)`, so it does not depend on how the global
    /// batch is split.
    pub fn mask<T: Element>(
        &self,
        dims: &[usize],
        seed: u64,
        first_row: usize,
    ) -> Result<Tensor<T>> {
        let n: usize = dims.iter().product();
        let rows = dims.first().copied().unwrap_or(1).max(1);
        let per_row = n / rows;
        let keep = T::from_f64(1.0 / (1.0 - self.p));
        let threshold = (self.p * 4_294_967_296.0) as u64;
        let mut m = Vec::with_capacity(n);
        for i in 0..rows {
            let mut rng = SmallRng::seed_from_u64(mix(seed ^ mix((first_row + i) as u64)));
            for _ in 0..per_row {
                let r = u64::from(rng.random::<u32>());
                m.push(if r < threshold { T::zero() } else { keep });
            }
        }
        Tensor::from_vec(m, dims)
    }
}

impl<T: Element> Module<T> for Dropout {
    fn describe(&self) -> String {
        format!("Dropout({})", self.p)
    }

    fn forward<'t>(
        &self,
        x: Var<'t, T>,
        _params: &[Var<'t, T>],
        _buffers: &mut [Tensor<T>],
        ctx: &ForwardCtx,
    ) -> Result<Var<'t, T>> {
        if !ctx.train || self.p == 0.0 {
            return Ok(x);
        }
        let mask = self.mask::<T>(x.shape().dims(), ctx.next_seed(), ctx.row_offset)?;
        x.mul_const(&mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::{gradcheck, CheckOptions, Tape};

    #[test]
    fn train_mode_drops_and_rescales_eval_is_identity() {
        let d = Dropout::new(0.25).unwrap();
        let tape = Tape::<f64>::new();
        let x = tape.constant(Tensor::ones([100, 100]));
        let y = Module::<f64>::forward(&d, x, &[], &mut [], &ForwardCtx::train(1, 0))
            .unwrap()
            .value();
        let zeros = y.as_slice().iter().filter(|&&v| v == 0.0).count();
        assert!((2200..2800).contains(&zeros), "{zeros}");
        assert!(y
            .as_slice()
            .iter()
            .all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-12));
        let mean = y.as_slice().iter().sum::<f64>() / 10_000.0;
        assert!((mean - 1.0).abs() < 0.05, "{mean}");
        let e = Module::<f64>::forward(&d, x, &[], &mut [], &ForwardCtx::eval()).unwrap();
        assert_eq!(e.value().as_slice(), x.value().as_slice());
        assert!(Dropout::new(1.0).is_err() && Dropout::new(-0.1).is_err());
    }

    #[test]
    fn masks_repeat_for_the_same_step_and_change_with_it() {
        let d = Dropout::new(0.5).unwrap();
        let a = d
            .mask::<f32>(&[8, 8], ForwardCtx::train(3, 7).next_seed(), 0)
            .unwrap();
        let b = d
            .mask::<f32>(&[8, 8], ForwardCtx::train(3, 7).next_seed(), 0)
            .unwrap();
        let c = d
            .mask::<f32>(&[8, 8], ForwardCtx::train(3, 8).next_seed(), 0)
            .unwrap();
        assert_eq!(a.as_slice(), b.as_slice());
        assert_ne!(a.as_slice(), c.as_slice());
    }

    #[test]
    fn a_split_batch_draws_the_masks_of_the_whole_batch() {
        let d = Dropout::new(0.5).unwrap();
        let seed = ForwardCtx::train(3, 7).next_seed();
        let whole = d.mask::<f32>(&[7, 5], seed, 0).unwrap();
        let head = d.mask::<f32>(&[3, 5], seed, 0).unwrap();
        let tail = d.mask::<f32>(&[4, 5], seed, 3).unwrap();
        assert_eq!(&whole.as_slice()[..15], head.as_slice());
        assert_eq!(&whole.as_slice()[15..], tail.as_slice());
        assert_ne!(head.as_slice(), &tail.as_slice()[..15]);
    }

    #[test]
    fn gradcheck_with_fixed_mask() {
        let d = Dropout::new(0.3).unwrap();
        let x = Tensor::rand_normal([4, 6], 0.0, 1.0, 9);
        let r = gradcheck(
            |v| Module::<f64>::forward(&d, v[0], &[], &mut [], &ForwardCtx::train(5, 2)),
            &[x],
            CheckOptions::default(),
        )
        .unwrap();
        assert!(r.passed, "{r}");
    }
}
