//! Named segments of the flat parameter buffer and the weight-decay mask built from them.

use super::OptimError;
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// One named parameter inside the flat buffer, such as `layers.0.bias` at `offset..offset+len`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamSegment {
    /// PyTorch-style parameter name.
    pub name: String,
    /// Index of the first element in the flat buffer.
    pub offset: usize,
    /// Number of elements.
    pub len: usize,
}

impl ParamSegment {
    /// Creates a segment.
    pub fn new(name: impl Into<String>, offset: usize, len: usize) -> Self {
        Self {
            name: name.into(),
            offset,
            len,
        }
    }
}

/// Which parts of the flat buffer receive weight decay.
///
/// Stored as sorted runs so the update loops stay tight: each run is processed with a
/// fixed decay coefficient, and every element is still visited exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecayMask {
    len: usize,
    /// Sorted, non-overlapping, non-empty ranges that get no weight decay.
    excluded: Vec<Range<usize>>,
}

impl DecayMask {
    /// A mask that decays every element of a buffer of `len` elements.
    pub fn all(len: usize) -> Self {
        Self {
            len,
            excluded: Vec::new(),
        }
    }

    /// Builds a mask from named segments: segments for which `decay(name)` is false get no
    /// weight decay; elements outside every segment are decayed.
    ///
    /// Fails if a segment lies outside the buffer or two segments overlap.
    pub fn from_segments(
        segments: &[ParamSegment],
        len: usize,
        decay: impl Fn(&str) -> bool,
    ) -> Result<Self, OptimError> {
        let mut sorted: Vec<&ParamSegment> = segments.iter().collect();
        sorted.sort_by_key(|s| s.offset);
        let mut previous: Option<&ParamSegment> = None;
        let mut excluded: Vec<Range<usize>> = Vec::new();
        for seg in sorted {
            let end = seg.offset.checked_add(seg.len).filter(|&e| e <= len);
            let Some(end) = end else {
                return Err(OptimError::SegmentOutOfBounds {
                    name: seg.name.clone(),
                    offset: seg.offset,
                    len: seg.len,
                    total: len,
                });
            };
            if let Some(prev) = previous {
                if seg.len > 0 && prev.offset + prev.len > seg.offset {
                    return Err(OptimError::SegmentOverlap {
                        first: prev.name.clone(),
                        second: seg.name.clone(),
                    });
                }
            }
            if seg.len > 0 {
                previous = Some(seg);
            }
            if seg.len == 0 || decay(&seg.name) {
                continue;
            }
            match excluded.last_mut() {
                Some(last) if last.end == seg.offset => last.end = end,
                _ => excluded.push(seg.offset..end),
            }
        }
        Ok(Self { len, excluded })
    }

    /// The usual choice: no weight decay on biases (names ending in `bias`) nor on
    /// normalisation parameters (names containing `norm`).
    pub fn exclude_biases_and_norms(
        segments: &[ParamSegment],
        len: usize,
    ) -> Result<Self, OptimError> {
        Self::from_segments(segments, len, |name| {
            let lower = name.to_ascii_lowercase();
            !(lower.ends_with("bias") || lower.contains("norm"))
        })
    }

    /// Length of the buffer this mask was built for.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the mask covers an empty buffer.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether element `index` receives weight decay.
    pub fn decays(&self, index: usize) -> bool {
        !self.excluded.iter().any(|r| r.contains(&index))
    }

    /// Checks the mask against a parameter buffer length.
    pub(crate) fn check_len(&self, params: usize) -> Result<(), OptimError> {
        if self.len == params {
            Ok(())
        } else {
            Err(OptimError::MaskLength {
                mask: self.len,
                params,
            })
        }
    }
}

/// Calls `f(range, decay)` for consecutive runs covering `0..len` in order.
pub(crate) fn for_each_run(
    len: usize,
    mask: Option<&DecayMask>,
    mut f: impl FnMut(Range<usize>, bool),
) {
    let mut start = 0;
    if let Some(mask) = mask {
        for r in &mask.excluded {
            if r.start > start {
                f(start..r.start, true);
            }
            f(r.clone(), false);
            start = r.end;
        }
    }
    if start < len || len == 0 {
        f(start..len, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(len: usize, mask: Option<&DecayMask>) -> Vec<(Range<usize>, bool)> {
        let mut out = Vec::new();
        for_each_run(len, mask, |r, d| out.push((r, d)));
        out
    }

    #[test]
    fn biases_are_excluded_and_runs_cover_the_buffer() {
        let segs = vec![
            ParamSegment::new("layers.0.weight", 0, 6),
            ParamSegment::new("layers.0.bias", 6, 2),
            ParamSegment::new("layers.1.weight", 8, 4),
            ParamSegment::new("layers.1.bias", 12, 1),
        ];
        let mask = DecayMask::exclude_biases_and_norms(&segs, 13).unwrap();
        assert!(mask.decays(0) && mask.decays(5) && mask.decays(8));
        assert!(!mask.decays(6) && !mask.decays(7) && !mask.decays(12));
        let r = runs(13, Some(&mask));
        assert_eq!(
            r,
            vec![(0..6, true), (6..8, false), (8..12, true), (12..13, false)]
        );
    }

    #[test]
    fn adjacent_excluded_segments_merge() {
        let segs = vec![
            ParamSegment::new("a.bias", 0, 2),
            ParamSegment::new("b.bias", 2, 3),
        ];
        let mask = DecayMask::exclude_biases_and_norms(&segs, 10).unwrap();
        assert_eq!(runs(10, Some(&mask)), vec![(0..5, false), (5..10, true)]);
    }

    #[test]
    fn out_of_bounds_and_overlap_are_rejected() {
        let err = DecayMask::all_checked(&[ParamSegment::new("w", 5, 6)], 10);
        assert!(err.contains("`w` (offset 5, length 6)"), "{err}");
        let err = DecayMask::all_checked(
            &[ParamSegment::new("w", 0, 6), ParamSegment::new("b", 5, 2)],
            10,
        );
        assert!(err.contains("`w` and `b` overlap"), "{err}");
    }

    impl DecayMask {
        fn all_checked(segs: &[ParamSegment], len: usize) -> String {
            DecayMask::from_segments(segs, len, |_| true)
                .unwrap_err()
                .to_string()
        }
    }

    #[test]
    fn without_mask_there_is_one_run() {
        assert_eq!(runs(7, None), vec![(0..7, true)]);
    }
}
