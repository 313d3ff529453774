//! Directions in parameter space and their normalisation (Li et al. 2018, as
//! `net_plotter.normalize_direction` of loss-landscape).
//!
//! A direction is a flat `f64` vector in the model's parameter layout. Random directions draw
//! one N(0, 1) tensor per parameter tensor from one generator seeded with the run's seed, x
//! first, then y. Normalisation scales each piece of the direction to the size of the weights
//! it moves, so that surfaces of different networks (or layers) are comparable:
//!
//! - `filter`: every slice along dimension 0 (a conv output channel, a Linear row) becomes
//!   `dᵢ · ‖wᵢ‖ / (‖dᵢ‖ + 1e-10)`;
//! - `layer`: the whole tensor becomes `d · ‖w‖ / (‖d‖ + 1e-10)`;
//! - `weight`: `d ⊙ w`, element by element;
//! - `none`: unchanged.
//!
//! Tensors with at most one dimension (biases, batch-norm scales and shifts): with
//! `--ignore biasbn` the direction is zero there. Without it they are normalised like a single
//! filter (`d · ‖w‖ / (‖d‖ + 1e-10)` for `filter` and `layer`), where the reference instead
//! copies the weights into the direction, a move along θ itself rather than a random one.

use super::error::{invalid, Result};
use crate::nn::ParamEntry;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// How a direction is scaled to the weights (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Norm {
    /// Per slice along dimension 0.
    Filter,
    /// Per tensor.
    Layer,
    /// Element by element.
    Weight,
    /// No scaling.
    None,
}

impl Norm {
    /// Parses `filter`, `layer`, `weight` or `none`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "filter" => Ok(Norm::Filter),
            "layer" => Ok(Norm::Layer),
            "weight" => Ok(Norm::Weight),
            "none" => Ok(Norm::None),
            _ => invalid(format!(
                "--norm: unknown normalisation `{s}`; valid: filter, layer, weight, none"
            )),
        }
    }
}

/// Which tensors a direction leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ignore {
    /// Zero for every tensor with at most one dimension (biases, batch-norm parameters).
    Biasbn,
    /// Every tensor moves.
    None,
}

impl Ignore {
    /// Parses `biasbn` or `none`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "biasbn" => Ok(Ignore::Biasbn),
            "none" => Ok(Ignore::None),
            _ => invalid(format!(
                "--ignore: unknown value `{s}`; valid: biasbn, none"
            )),
        }
    }

    /// True if the direction is zero on `entry`.
    pub fn skips(self, entry: &ParamEntry) -> bool {
        self == Ignore::Biasbn && entry.shape.len() <= 1
    }
}

/// A 0/1 mask over the flat layout: 1 where `ignore` lets the direction move.
pub fn mask(entries: &[ParamEntry], ignore: Ignore) -> Vec<bool> {
    let n = entries
        .iter()
        .map(|e| e.offset + e.numel())
        .max()
        .unwrap_or(0);
    let mut m = vec![true; n];
    for e in entries.iter().filter(|e| ignore.skips(e)) {
        m[e.offset..e.offset + e.numel()].fill(false);
    }
    m
}

/// `count` random directions (x first), one N(0, 1) draw per element in layout order, from one
/// generator seeded with `seed`.
pub fn random(entries: &[ParamEntry], len: usize, count: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let mut d = vec![0.0; len];
            for e in entries {
                for v in &mut d[e.offset..e.offset + e.numel()] {
                    *v = StandardNormal.sample(&mut rng);
                }
            }
            d
        })
        .collect()
}

fn norm2(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn scale_to(d: &mut [f64], w: &[f64]) {
    let s = norm2(w) / (norm2(d) + 1e-10);
    d.iter_mut().for_each(|x| *x *= s);
}

/// Normalises direction `d` to the weights `w` (same flat layout) tensor by tensor.
pub fn normalize(d: &mut [f64], w: &[f64], entries: &[ParamEntry], norm: Norm, ignore: Ignore) {
    for e in entries {
        let r = e.offset..e.offset + e.numel();
        let (dt, wt) = (&mut d[r.clone()], &w[r]);
        if ignore.skips(e) {
            dt.fill(0.0);
            continue;
        }
        match norm {
            Norm::None => {}
            Norm::Weight => dt.iter_mut().zip(wt).for_each(|(x, &y)| *x *= y),
            Norm::Layer => scale_to(dt, wt),
            Norm::Filter if e.shape.len() <= 1 => scale_to(dt, wt),
            Norm::Filter => {
                let per = e.numel() / e.shape[0].max(1);
                if per == 0 {
                    continue;
                }
                for (df, wf) in dt.chunks_mut(per).zip(wt.chunks(per)) {
                    scale_to(df, wf);
                }
            }
        }
    }
}

/// Zeroes `d` wherever `ignore` leaves tensors out.
pub fn apply_ignore(d: &mut [f64], entries: &[ParamEntry], ignore: Ignore) {
    for e in entries.iter().filter(|e| ignore.skips(e)) {
        d[e.offset..e.offset + e.numel()].fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<ParamEntry> {
        vec![
            ParamEntry {
                name: "w".into(),
                offset: 0,
                shape: vec![2, 2],
            },
            ParamEntry {
                name: "b".into(),
                offset: 4,
                shape: vec![2],
            },
        ]
    }

    #[test]
    fn filter_normalisation_matches_a_hand_computation() {
        let w = [3.0, 4.0, 0.0, 2.0, 1.0, 1.0];
        let mut d = vec![1.0, 0.0, 6.0, 8.0, 5.0, 5.0];
        normalize(&mut d, &w, &entries(), Norm::Filter, Ignore::Biasbn);
        // Row 0: ‖w₀‖ = 5, ‖d₀‖ = 1, so d₀ → (5, 0). Row 1: ‖w₁‖ = 2, ‖d₁‖ = 10: (1.2, 1.6).
        let want = [5.0, 0.0, 1.2, 1.6, 0.0, 0.0];
        for (a, b) in d.iter().zip(want) {
            assert!((a - b).abs() < 1e-9, "{d:?}");
        }
        // Without biasbn the bias is scaled as one filter: ‖w_b‖ = √2, ‖d_b‖ = √50.
        let mut d = vec![1.0, 0.0, 6.0, 8.0, 5.0, 5.0];
        normalize(&mut d, &w, &entries(), Norm::Filter, Ignore::None);
        assert!(
            (d[4] - 1.0).abs() < 1e-9 && (d[5] - 1.0).abs() < 1e-9,
            "{d:?}"
        );
    }

    #[test]
    fn layer_weight_and_none() {
        let w = [3.0, 4.0, 0.0, 0.0, 1.0, 1.0];
        let mut d = vec![0.0, 0.0, 0.0, 10.0, 1.0, 2.0];
        normalize(&mut d, &w, &entries(), Norm::Layer, Ignore::Biasbn);
        assert!((d[3] - 5.0).abs() < 1e-9);
        let mut d = vec![2.0, 2.0, 2.0, 2.0, 2.0, 2.0];
        normalize(&mut d, &w, &entries(), Norm::Weight, Ignore::None);
        assert_eq!(d, vec![6.0, 8.0, 0.0, 0.0, 2.0, 2.0]);
        let mut d = vec![2.0; 6];
        normalize(&mut d, &w, &entries(), Norm::None, Ignore::None);
        assert_eq!(d, vec![2.0; 6]);
        assert!(Norm::parse("filters").is_err());
        assert!(Ignore::parse("bias").is_err());
    }

    #[test]
    fn random_directions_are_seeded_and_differ() {
        let a = random(&entries(), 6, 2, 7);
        let b = random(&entries(), 6, 2, 7);
        assert_eq!(a, b);
        assert_ne!(a[0], a[1]);
        assert_ne!(random(&entries(), 6, 1, 8)[0], a[0]);
        assert_eq!(
            mask(&entries(), Ignore::Biasbn),
            vec![true, true, true, true, false, false]
        );
    }
}
