//! Image augmentation for training batches: a random crop with zero padding (the image shifted
//! by up to `pad` pixels each way, uncovered pixels zero) and a random horizontal flip. The
//! random choices are a pure function of (seed, epoch, sample index), so a resumed run sees the
//! same augmented images as an uninterrupted one.

use super::{Result, TrainError};
use crate::nn::mix;
use serde::{Deserialize, Serialize};

/// Which augmentations to apply (`--augment crop:4,flip`); off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Augment {
    /// Zero padding of the random crop, in pixels (0: no crop).
    pub crop: usize,
    /// Random horizontal flip with probability ½.
    pub flip: bool,
}

impl Augment {
    /// Parses `crop:4,flip`, `flip`, `crop:2` or `none`.
    pub fn parse(s: &str) -> Result<Self> {
        let mut a = Augment::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once(':') {
                None if part == "flip" => a.flip = true,
                None if part == "none" => {}
                Some(("crop", n)) => {
                    a.crop = n.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                        TrainError::Invalid(format!(
                            "augmentation `{part}`: the crop padding must be a positive integer"
                        ))
                    })?
                }
                _ => {
                    return Err(TrainError::Invalid(format!(
                        "unknown augmentation `{part}` (expected crop:PIXELS and/or flip)"
                    )))
                }
            }
        }
        Ok(a)
    }

    /// True when nothing is applied.
    pub fn is_off(&self) -> bool {
        self.crop == 0 && !self.flip
    }

    /// Augments one image `[C, H, W]` in place; `tmp` is scratch of the same size.
    pub fn apply(&self, img: &mut [f32], shape: [usize; 3], key: u64, tmp: &mut Vec<f32>) {
        let [c, h, w] = shape;
        let r = mix(key);
        let flip = self.flip && r & 1 == 1;
        let span = 2 * self.crop as u64 + 1;
        let (dy, dx) = if self.crop > 0 {
            let dy = ((r >> 8) % span) as isize - self.crop as isize;
            let dx = ((r >> 32) % span) as isize - self.crop as isize;
            (dy, dx)
        } else {
            (0, 0)
        };
        if !flip && dy == 0 && dx == 0 {
            return;
        }
        tmp.clear();
        tmp.extend_from_slice(img);
        for ch in 0..c {
            let plane = &tmp[ch * h * w..(ch + 1) * h * w];
            let out = &mut img[ch * h * w..(ch + 1) * h * w];
            for y in 0..h {
                let sy = y as isize + dy;
                let row = &mut out[y * w..(y + 1) * w];
                if sy < 0 || sy >= h as isize {
                    row.fill(0.0);
                    continue;
                }
                let src = &plane[sy as usize * w..(sy as usize + 1) * w];
                for (x, o) in row.iter_mut().enumerate() {
                    let xx = if flip { w - 1 - x } else { x };
                    let sx = xx as isize + dx;
                    *o = if sx < 0 || sx >= w as isize {
                        0.0
                    } else {
                        src[sx as usize]
                    };
                }
            }
        }
    }
}

/// The key of one sample's random choices in one epoch.
pub(crate) fn augment_key(seed: u64, epoch: usize, sample: usize) -> u64 {
    mix(mix(seed ^ 0xA5A5_0000) ^ mix(epoch as u64) ^ (sample as u64).wrapping_mul(0x9E37))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            Augment::parse("crop:4,flip").unwrap(),
            Augment {
                crop: 4,
                flip: true
            }
        );
        assert!(Augment::parse("none").unwrap().is_off());
        for bad in ["crop:0", "crop:x", "rotate", "flip:2"] {
            assert!(Augment::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn crops_shift_with_zeros_flips_mirror_and_keys_repeat() {
        let img: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let flip = Augment {
            crop: 0,
            flip: true,
        };
        let mut tmp = Vec::new();
        let mut flipped = 0;
        for k in 0..64u64 {
            let mut x = img.clone();
            flip.apply(&mut x, [1, 3, 3], k, &mut tmp);
            if x != img {
                assert_eq!(x, vec![3., 2., 1., 6., 5., 4., 9., 8., 7.]);
                flipped += 1;
            }
        }
        assert!((16..48).contains(&flipped), "{flipped} of 64 flipped");
        let crop = Augment {
            crop: 1,
            flip: false,
        };
        let mut seen = std::collections::HashSet::new();
        for k in 0..200u64 {
            let mut x = img.clone();
            crop.apply(&mut x, [1, 3, 3], k, &mut tmp);
            // A shift keeps the kept values in order and fills the rest with zeros.
            let kept: Vec<f32> = x.iter().copied().filter(|&v| v != 0.0).collect();
            assert!(kept.windows(2).all(|w| w[0] < w[1]), "{x:?}");
            seen.insert(x.iter().map(|v| *v as i32).collect::<Vec<_>>());
        }
        assert_eq!(seen.len(), 9, "all nine shifts occur");
        assert_eq!(augment_key(1, 2, 3), augment_key(1, 2, 3));
        assert_ne!(augment_key(1, 2, 3), augment_key(1, 3, 3));
        assert_ne!(augment_key(1, 2, 3), augment_key(1, 2, 4));
    }
}
