//! Gradient buckets as PyTorch DDP forms them: parameter tensors taken in reverse layer order
//! (the order backward produces them). By default the first bucket is closed at ~1 MiB so
//! communication starts early and the others at 25 MiB; `--bucket-mb` sets one cap for all.

use crate::nn::ParamEntry;
use std::ops::Range;

/// Size at which the first bucket is closed by default (DDP's `first_bucket_bytes_cap`).
pub const FIRST_BUCKET_BYTES: usize = 1 << 20;

/// Size at which the other buckets are closed by default (DDP's `bucket_cap_mb`, 25 MiB).
pub const BUCKET_BYTES: usize = 25 << 20;

/// The sizes at which buckets are closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketCaps {
    /// The first bucket's (the last layers').
    pub first: usize,
    /// Every other bucket's.
    pub rest: usize,
}

impl Default for BucketCaps {
    /// DDP's defaults: [`FIRST_BUCKET_BYTES`], then [`BUCKET_BYTES`].
    fn default() -> Self {
        BucketCaps {
            first: FIRST_BUCKET_BYTES,
            rest: BUCKET_BYTES,
        }
    }
}

impl BucketCaps {
    /// The same cap for every bucket (DDP when `bucket_cap_mb` is given).
    pub fn all(bytes: usize) -> BucketCaps {
        BucketCaps {
            first: bytes,
            rest: bytes,
        }
    }
}

/// Buckets over a flat parameter layout.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketPlan {
    /// Each bucket's flat range, in the order they fill during backward (last layers first).
    pub ranges: Vec<Range<usize>>,
    /// For each parameter tensor, the bucket it belongs to.
    pub bucket_of: Vec<usize>,
    /// How many parameter tensors each bucket holds.
    pub members: Vec<usize>,
}

impl BucketPlan {
    /// Buckets for `entries` (contiguous, in layout order). A bucket is closed once it holds
    /// at least its cap.
    pub fn new(entries: &[ParamEntry], caps: BucketCaps) -> BucketPlan {
        let mut ranges = Vec::new();
        let mut members = Vec::new();
        let mut bucket_of = vec![0; entries.len()];
        let mut hi: Option<usize> = None;
        let mut bytes = 0usize;
        let mut count = 0usize;
        for (k, e) in entries.iter().enumerate().rev() {
            let end = *hi.get_or_insert(e.offset + e.numel());
            bucket_of[k] = ranges.len();
            bytes += e.numel() * 4;
            count += 1;
            let cap = if ranges.is_empty() {
                caps.first
            } else {
                caps.rest
            };
            if bytes >= cap || k == 0 {
                ranges.push(e.offset..end);
                members.push(count);
                hi = None;
                bytes = 0;
                count = 0;
            }
        }
        BucketPlan {
            ranges,
            bucket_of,
            members,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, offset: usize, n: usize) -> ParamEntry {
        ParamEntry {
            name: name.into(),
            offset,
            shape: vec![n],
        }
    }

    #[test]
    fn reverse_order_first_bucket_small_then_capped() {
        // 784-256-256-10: layers.0.weight is 200,704 floats (803 KB).
        let sizes = [200_704, 256, 65_536, 256, 2_560, 10];
        let mut off = 0;
        let entries: Vec<ParamEntry> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let e = entry(&format!("p{i}"), off, n);
                off += n;
                e
            })
            .collect();
        let plan = BucketPlan::new(&entries, BucketCaps::default());
        // The first bucket closes once it reaches 1 MiB: it takes everything here (1.08 MB).
        assert_eq!(plan.ranges, vec![0..off]);
        // One cap of 0.25 MiB for all: the last two layers (273 KB), then the first layer.
        let small = BucketPlan::new(&entries, BucketCaps::all(1 << 18));
        assert_eq!(small.ranges, vec![200_960..off, 0..200_960]);
        assert_eq!(small.members, vec![4, 2]);
        let tiny: Vec<ParamEntry> = (0..6).map(|i| entry("t", i * 300_000, 300_000)).collect();
        let p = BucketPlan::new(
            &tiny,
            BucketCaps {
                first: FIRST_BUCKET_BYTES,
                rest: 2_000_000,
            },
        );
        // 1.2 MB closes the first bucket at one tensor; then two tensors (2.4 MB) per bucket.
        assert_eq!(p.ranges[0], 1_500_000..1_800_000);
        assert_eq!(p.ranges[1], 900_000..1_500_000);
        assert_eq!(p.members, vec![1, 2, 2, 1]);
        assert_eq!(p.bucket_of, vec![3, 2, 2, 1, 1, 0]);
    }
}
