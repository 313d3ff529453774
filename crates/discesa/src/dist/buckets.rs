//! Gradient buckets as PyTorch DDP forms them: parameter tensors taken in reverse layer order
//! (the order backward produces them), the first bucket closed at ~1 MiB so communication
//! starts early, the others at the `--bucket-mb` cap.

use crate::nn::ParamEntry;
use std::ops::Range;

/// Size at which the first bucket is closed (DDP's `first_bucket_bytes_cap`).
pub const FIRST_BUCKET_BYTES: usize = 1 << 20;

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
    /// Buckets for `entries` (contiguous, in layout order), `cap_bytes` per bucket after the
    /// first. A bucket is closed once it holds at least its cap.
    pub fn new(entries: &[ParamEntry], cap_bytes: usize) -> BucketPlan {
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
                FIRST_BUCKET_BYTES
            } else {
                cap_bytes.max(1)
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
        let plan = BucketPlan::new(&entries, 25 << 20);
        // The first bucket closes once it reaches 1 MiB: it takes everything here (1.08 MB).
        assert_eq!(plan.ranges, vec![0..off]);
        let small = BucketPlan::new(&entries, 300_000);
        assert_eq!(small.ranges.len(), 1);
        let tiny: Vec<ParamEntry> = (0..6).map(|i| entry("t", i * 300_000, 300_000)).collect();
        let p = BucketPlan::new(&tiny, 2_000_000);
        // 1.2 MB closes the first bucket at one tensor; then two tensors (2.4 MB) per bucket.
        assert_eq!(p.ranges[0], 1_500_000..1_800_000);
        assert_eq!(p.ranges[1], 900_000..1_500_000);
        assert_eq!(p.members, vec![1, 2, 2, 1]);
        assert_eq!(p.bucket_of, vec![3, 2, 2, 1, 1, 0]);
    }
}
