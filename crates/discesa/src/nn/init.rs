//! Seeded weight initialisers: He (Kaiming) for ReLU-family networks, Xavier (Glorot) for
//! tanh and sigmoid, so signals neither vanish nor explode at the start of training.

use crate::tensor::Element;
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

/// How a parameter is filled before training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// All zeros (biases).
    Zeros,
    /// All ones (normalisation scales).
    Ones,
    /// Uniform on `[-bound, bound]`.
    Uniform {
        /// Half-width of the interval.
        bound: f64,
    },
    /// Normal with mean 0.
    Normal {
        /// Standard deviation.
        std: f64,
    },
    /// He/Kaiming normal: std `sqrt(2 / fan_in)` (keeps ReLU activations' variance).
    HeNormal {
        /// Inputs per unit.
        fan_in: usize,
    },
    /// Xavier/Glorot uniform: bound `sqrt(6 / (fan_in + fan_out))` (tanh, sigmoid).
    XavierUniform {
        /// Inputs per unit.
        fan_in: usize,
        /// Outputs per input.
        fan_out: usize,
    },
}

impl Init {
    /// Fills `out` with draws from this initialiser.
    pub fn fill<T: Element>(&self, out: &mut [T], rng: &mut impl Rng) {
        match *self {
            Init::Zeros => out.fill(T::zero()),
            Init::Ones => out.fill(T::one()),
            Init::Uniform { bound } => uniform(out, bound, rng),
            Init::Normal { std } => normal(out, std, rng),
            Init::HeNormal { fan_in } => normal(out, (2.0 / fan_in.max(1) as f64).sqrt(), rng),
            Init::XavierUniform { fan_in, fan_out } => {
                uniform(out, (6.0 / (fan_in + fan_out).max(1) as f64).sqrt(), rng)
            }
        }
    }
}

fn uniform<T: Element>(out: &mut [T], bound: f64, rng: &mut impl Rng) {
    if bound <= 0.0 || !bound.is_finite() {
        out.fill(T::zero());
        return;
    }
    let d = Uniform::new_inclusive(-bound, bound).expect("finite positive bound");
    for x in out {
        *x = T::from_f64(d.sample(rng));
    }
}

fn normal<T: Element>(out: &mut [T], std: f64, rng: &mut impl Rng) {
    let d = Normal::new(0.0, std.max(0.0)).expect("finite non-negative std");
    for x in out {
        *x = T::from_f64(d.sample(rng));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn stats(v: &[f64]) -> (f64, f64) {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64;
        (m, var.sqrt())
    }

    #[test]
    fn he_and_xavier_have_their_spread() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut v = vec![0.0f64; 20_000];
        Init::HeNormal { fan_in: 50 }.fill(&mut v, &mut rng);
        let (m, s) = stats(&v);
        assert!(m.abs() < 0.01 && (s - 0.2).abs() < 0.005, "{m} {s}");
        Init::XavierUniform {
            fan_in: 4,
            fan_out: 2,
        }
        .fill(&mut v, &mut rng);
        assert!(v.iter().all(|x| x.abs() <= 1.0));
        let (_, s) = stats(&v);
        assert!((s - 1.0 / 3f64.sqrt()).abs() < 0.01, "{s}");
        Init::Zeros.fill(&mut v, &mut rng);
        assert!(v.iter().all(|&x| x == 0.0));
    }
}
