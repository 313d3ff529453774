//! Seeded shuffling, mini-batch index iteration and random train/validation/test splits.
//!
//! Everything here is a pure function of its seed, so a run can be repeated exactly.

use super::dataset::Dataset;
use super::error::{DataError, Result};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// `0..n` in an order fixed by `seed`.
pub fn shuffled_indices(n: usize, seed: u64) -> Vec<usize> {
    let mut indices: Vec<usize> = (0..n).collect();
    indices.shuffle(&mut StdRng::seed_from_u64(seed));
    indices
}

/// Consecutive mini-batches of an index list; the last, shorter batch is kept unless `drop_last`.
#[derive(Debug, Clone)]
pub struct MiniBatches<'a> {
    indices: &'a [usize],
    batch_size: usize,
    drop_last: bool,
    position: usize,
}

impl<'a> MiniBatches<'a> {
    /// Iterates `indices` in chunks of `batch_size` (which must be positive).
    pub fn new(indices: &'a [usize], batch_size: usize, drop_last: bool) -> Result<Self> {
        if batch_size == 0 {
            return Err(DataError::InvalidArgument(
                "batch_size must be at least 1".into(),
            ));
        }
        Ok(MiniBatches {
            indices,
            batch_size,
            drop_last,
            position: 0,
        })
    }

    /// Number of batches a full pass yields.
    pub fn num_batches(&self) -> usize {
        batch_count(self.indices.len(), self.batch_size, self.drop_last)
    }
}

fn batch_count(n: usize, batch_size: usize, drop_last: bool) -> usize {
    if drop_last {
        n / batch_size
    } else {
        n.div_ceil(batch_size)
    }
}

impl<'a> Iterator for MiniBatches<'a> {
    type Item = &'a [usize];

    fn next(&mut self) -> Option<&'a [usize]> {
        let rest = self.indices.len() - self.position;
        if rest == 0 || (self.drop_last && rest < self.batch_size) {
            return None;
        }
        let take = rest.min(self.batch_size);
        let batch = &self.indices[self.position..self.position + take];
        self.position += take;
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = batch_count(
            self.indices.len() - self.position,
            self.batch_size,
            self.drop_last,
        );
        (left, Some(left))
    }
}

impl ExactSizeIterator for MiniBatches<'_> {}

/// Epoch-by-epoch mini-batch sampler over a fixed row set, like a PyTorch `DataLoader` with
/// `shuffle=True`: each call to [`EpochSampler::epoch`] reshuffles with a generator seeded once,
/// so epoch `k` of two samplers built with the same seed is identical.
#[derive(Debug, Clone)]
pub struct EpochSampler {
    indices: Vec<usize>,
    rng: StdRng,
    batch_size: usize,
    drop_last: bool,
    shuffle: bool,
}

impl EpochSampler {
    /// Samples from `indices` (for example a training split).
    pub fn new(
        indices: Vec<usize>,
        batch_size: usize,
        drop_last: bool,
        shuffle: bool,
        seed: u64,
    ) -> Result<Self> {
        if batch_size == 0 {
            return Err(DataError::InvalidArgument(
                "batch_size must be at least 1".into(),
            ));
        }
        Ok(EpochSampler {
            indices,
            rng: StdRng::seed_from_u64(seed),
            batch_size,
            drop_last,
            shuffle,
        })
    }

    /// Batches per epoch.
    pub fn num_batches(&self) -> usize {
        batch_count(self.indices.len(), self.batch_size, self.drop_last)
    }

    /// Starts the next epoch: reshuffles (when enabled) and iterates its batches.
    pub fn epoch(&mut self) -> MiniBatches<'_> {
        if self.shuffle {
            self.indices.shuffle(&mut self.rng);
        }
        MiniBatches {
            indices: &self.indices,
            batch_size: self.batch_size,
            drop_last: self.drop_last,
            position: 0,
        }
    }
}

/// Randomly partitions `0..n` into parts of the given fractions.
///
/// Fractions must be non-negative and sum to 1 (within 1e-6). Each part gets `floor(frac × n)`
/// rows; the leftover rows go one each to the first parts, as PyTorch's `random_split` does.
/// Every index appears in exactly one part; each part is in shuffled order.
pub fn split_indices(n: usize, fractions: &[f64], seed: u64) -> Result<Vec<Vec<usize>>> {
    if fractions.is_empty() {
        return Err(DataError::InvalidArgument(
            "split needs at least one fraction".into(),
        ));
    }
    if let Some(f) = fractions.iter().find(|f| !f.is_finite() || **f < 0.0) {
        return Err(DataError::InvalidArgument(format!(
            "split fraction {f} is not a non-negative number"
        )));
    }
    let sum: f64 = fractions.iter().sum();
    if (sum - 1.0).abs() > 1e-6 {
        return Err(DataError::InvalidArgument(format!(
            "split fractions {fractions:?} sum to {sum}, not 1"
        )));
    }
    let mut sizes: Vec<usize> = fractions
        .iter()
        .map(|f| (f * n as f64).floor() as usize)
        .collect();
    let assigned: usize = sizes.iter().sum();
    let mut leftover = n.saturating_sub(assigned);
    let mut part = 0;
    while leftover > 0 {
        // Only parts with a non-zero fraction receive leftovers, so a 0.0 part stays empty.
        if fractions[part] > 0.0 {
            sizes[part] += 1;
            leftover -= 1;
        }
        part = (part + 1) % sizes.len();
    }
    let order = shuffled_indices(n, seed);
    let mut parts = Vec::with_capacity(sizes.len());
    let mut start = 0;
    for size in sizes {
        parts.push(order[start..start + size].to_vec());
        start += size;
    }
    Ok(parts)
}

/// Row indices of a train / validation / test split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitIndices {
    /// Rows to fit on.
    pub train: Vec<usize>,
    /// Rows to tune on (early stopping, learning rate).
    pub validation: Vec<usize>,
    /// Rows held out for the final score.
    pub test: Vec<usize>,
}

/// Splits `0..n` into train, validation and test; train gets `1 - validation - test`.
pub fn train_val_test_indices(
    n: usize,
    validation: f64,
    test: f64,
    seed: u64,
) -> Result<SplitIndices> {
    let train = 1.0 - validation - test;
    if !(0.0..=1.0).contains(&validation) || !(0.0..=1.0).contains(&test) || train < -1e-9 {
        return Err(DataError::InvalidArgument(format!(
            "validation {validation} and test {test} fractions must be in [0, 1] and sum to at most 1"
        )));
    }
    let parts = split_indices(n, &[train.max(0.0), validation, test], seed)?;
    let [train, validation, test]: [Vec<usize>; 3] = parts
        .try_into()
        .map_err(|_| DataError::InvalidArgument("split did not return three parts".into()))?;
    Ok(SplitIndices {
        train,
        validation,
        test,
    })
}

impl Dataset {
    /// Randomly splits into data sets of the given fractions (see [`split_indices`]).
    pub fn split(&self, fractions: &[f64], seed: u64) -> Result<Vec<Dataset>> {
        split_indices(self.len(), fractions, seed)?
            .iter()
            .map(|part| self.subset(part))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Targets;

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let a = shuffled_indices(100, 7);
        let b = shuffled_indices(100, 7);
        let c = shuffled_indices(100, 8);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_ne!(a, sorted, "a 100-element shuffle left the order unchanged");
    }

    #[test]
    fn mini_batches_respect_drop_last() {
        let idx: Vec<usize> = (0..10).collect();
        let keep: Vec<&[usize]> = MiniBatches::new(&idx, 4, false).unwrap().collect();
        assert_eq!(keep, vec![&idx[0..4], &idx[4..8], &idx[8..10]]);
        let drop = MiniBatches::new(&idx, 4, true).unwrap();
        assert_eq!(drop.len(), 2);
        assert_eq!(drop.num_batches(), 2);
        assert_eq!(drop.map(<[usize]>::len).collect::<Vec<_>>(), vec![4, 4]);
        assert!(MiniBatches::new(&idx, 0, false).is_err());
        assert_eq!(MiniBatches::new(&[], 3, false).unwrap().count(), 0);
    }

    #[test]
    fn epoch_sampler_is_deterministic_and_reshuffles() {
        let run = |seed| {
            let mut s = EpochSampler::new((0..20).collect(), 6, false, true, seed).unwrap();
            let e1: Vec<Vec<usize>> = s.epoch().map(<[usize]>::to_vec).collect();
            let e2: Vec<Vec<usize>> = s.epoch().map(<[usize]>::to_vec).collect();
            (e1, e2)
        };
        let (a1, a2) = run(3);
        let (b1, b2) = run(3);
        assert_eq!((&a1, &a2), (&b1, &b2));
        assert_ne!(a1, a2, "second epoch was not reshuffled");
        assert_eq!(a1.len(), 4);
        let mut all: Vec<usize> = a2.concat();
        all.sort_unstable();
        assert_eq!(all, (0..20).collect::<Vec<_>>());
        let mut fixed = EpochSampler::new((0..5).collect(), 2, true, false, 0).unwrap();
        assert_eq!(
            fixed.epoch().collect::<Vec<_>>(),
            vec![&[0, 1][..], &[2, 3]]
        );
    }

    #[test]
    fn split_partitions_deterministically() {
        let parts = split_indices(103, &[0.7, 0.15, 0.15], 42).unwrap();
        assert_eq!(
            parts.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![73, 15, 15]
        );
        let mut all = parts.concat();
        all.sort_unstable();
        assert_eq!(all, (0..103).collect::<Vec<_>>());
        assert_eq!(parts, split_indices(103, &[0.7, 0.15, 0.15], 42).unwrap());
        assert_ne!(parts, split_indices(103, &[0.7, 0.15, 0.15], 43).unwrap());
        let empty_part = split_indices(5, &[1.0, 0.0], 1).unwrap();
        assert_eq!((empty_part[0].len(), empty_part[1].len()), (5, 0));
    }

    #[test]
    fn split_rejects_bad_fractions() {
        assert!(split_indices(10, &[0.5, 0.4], 0).is_err());
        assert!(split_indices(10, &[1.2, -0.2], 0).is_err());
        assert!(split_indices(10, &[f64::NAN, 1.0], 0).is_err());
        assert!(split_indices(10, &[], 0).is_err());
        assert!(train_val_test_indices(10, 0.6, 0.6, 0).is_err());
    }

    #[test]
    fn train_val_test_and_dataset_split() {
        let s = train_val_test_indices(50, 0.2, 0.1, 9).unwrap();
        assert_eq!(
            (s.train.len(), s.validation.len(), s.test.len()),
            (35, 10, 5)
        );
        assert_eq!(s, train_val_test_indices(50, 0.2, 0.1, 9).unwrap());
        let values: Vec<f32> = (0..50).map(|i| i as f32).collect();
        let d = Dataset::new(
            values.clone(),
            vec!["x".into()],
            Targets::Values(values.clone()),
        )
        .unwrap();
        let parts = d.split(&[0.8, 0.2], 5).unwrap();
        assert_eq!((parts[0].len(), parts[1].len()), (40, 10));
        // Features and targets stay paired through the split.
        for p in &parts {
            let Targets::Values(t) = p.targets() else {
                panic!()
            };
            assert_eq!(p.features(), &t[..]);
        }
    }
}
