//! The evaluation grid: `xmin:xmax:nx[,ymin:ymax:ny]`, its coordinates and the row-major
//! numbering of its points (point `k` sits at column `k % nx`, row `k / nx`).

use super::error::{invalid, Result};
use serde::{Deserialize, Serialize};

/// Largest number of values per axis (a 1001×1001 grid is already a million evaluations).
pub const MAX_COUNT: usize = 1001;

/// One axis: `count` evenly spaced values from `min` to `max` inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// First value.
    pub min: f64,
    /// Last value.
    pub max: f64,
    /// Number of values (1 gives `min` alone).
    pub count: usize,
}

impl Axis {
    /// The coordinates, `min + (max − min)·i/(count − 1)`.
    pub fn coords(&self) -> Vec<f64> {
        if self.count == 1 {
            return vec![self.min];
        }
        let step = (self.max - self.min) / (self.count - 1) as f64;
        (0..self.count)
            .map(|i| {
                if i + 1 == self.count {
                    self.max
                } else {
                    self.min + step * i as f64
                }
            })
            .collect()
    }

    fn parse(text: &str) -> Result<Self> {
        let expected = || {
            format!("--grid: `{text}` does not parse; the expected form is min:max:count (e.g. -1:1:21)")
        };
        let parts: Vec<&str> = text.split(':').map(str::trim).collect();
        if parts.len() != 3 {
            return invalid(expected());
        }
        let num = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
        let (Some(min), Some(max)) = (num(parts[0]), num(parts[1])) else {
            return invalid(expected());
        };
        let Ok(count) = parts[2].parse::<usize>() else {
            return invalid(expected());
        };
        if count == 0 || count > MAX_COUNT {
            return invalid(format!(
                "--grid: count {count} in `{text}` must be between 1 and {MAX_COUNT}"
            ));
        }
        if count > 1 && min >= max {
            return invalid(format!(
                "--grid: `{text}` needs min < max for {count} values"
            ));
        }
        if count == 1 && min != max {
            return invalid(format!("--grid: `{text}` has one value; write it as v:v:1"));
        }
        Ok(Axis { min, max, count })
    }
}

/// A 1-D (`y` absent) or 2-D grid of direction coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Coefficients of the x direction.
    pub x: Axis,
    /// Coefficients of the y direction (2-D grids).
    pub y: Option<Axis>,
}

impl Grid {
    /// Parses `xmin:xmax:nx` or `xmin:xmax:nx,ymin:ymax:ny`.
    pub fn parse(text: &str) -> Result<Self> {
        let parts: Vec<&str> = text.split(',').collect();
        match parts.as_slice() {
            [x] => Ok(Grid {
                x: Axis::parse(x)?,
                y: None,
            }),
            [x, y] => Ok(Grid {
                x: Axis::parse(x)?,
                y: Some(Axis::parse(y)?),
            }),
            _ => invalid(format!(
                "--grid: `{text}` does not parse; the expected form is min:max:count[,min:max:count]"
            )),
        }
    }

    /// Values along x.
    pub fn nx(&self) -> usize {
        self.x.count
    }

    /// Values along y (1 for a 1-D grid).
    pub fn ny(&self) -> usize {
        self.y.map_or(1, |a| a.count)
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.nx() * self.ny()
    }

    /// Never true: every axis has at least one value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True for a 2-D grid.
    pub fn is_2d(&self) -> bool {
        self.y.is_some()
    }

    /// The coefficients `(a, b)` of point `k` (`b = 0` on a 1-D grid).
    pub fn point(&self, k: usize, xs: &[f64], ys: &[f64]) -> (f64, f64) {
        let (i, j) = (k % self.nx(), k / self.nx());
        (xs[i], if self.is_2d() { ys[j] } else { 0.0 })
    }

    /// The array shape of per-point results: `[ny, nx]`, or `[nx]` for 1-D.
    pub fn shape(&self) -> Vec<usize> {
        match self.y {
            Some(y) => vec![y.count, self.x.count],
            None => vec![self.x.count],
        }
    }

    /// The index of the point nearest to `(0, 0)` (the trained model on a grid that covers it).
    pub fn centre(&self, xs: &[f64], ys: &[f64]) -> usize {
        let nearest = |v: &[f64]| {
            (0..v.len())
                .min_by(|&a, &b| v[a].abs().total_cmp(&v[b].abs()))
                .unwrap_or(0)
        };
        let j = if self.is_2d() { nearest(ys) } else { 0 };
        j * self.nx() + nearest(xs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_one_and_two_axes() {
        let g = Grid::parse("-1:1:5").unwrap();
        assert_eq!(g.x.coords(), vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        assert_eq!(g.shape(), vec![5]);
        let g = Grid::parse("-1:1:3,0:2:5").unwrap();
        assert_eq!(g.shape(), vec![5, 3]);
        assert_eq!(g.len(), 15);
        let (xs, ys) = (g.x.coords(), g.y.unwrap().coords());
        // Point 4 is column 1, row 1: x = 0, y = 0.5.
        assert_eq!(g.point(4, &xs, &ys), (0.0, 0.5));
        assert_eq!(g.centre(&xs, &ys), 1);
        let one = Grid::parse("0:0:1,0:0:1").unwrap();
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn bad_grids_say_the_expected_form() {
        for bad in ["1:2", "a:b:3", "0:1:x", "0:1:2,3", "0:1:2,0:1:2,0:1:2", ""] {
            let e = Grid::parse(bad).unwrap_err().to_string();
            assert!(e.contains("min:max:count"), "{bad}: {e}");
        }
        assert!(Grid::parse("0:1:0")
            .unwrap_err()
            .to_string()
            .contains("between 1 and 1001"));
        assert!(Grid::parse("0:1:1002").is_err());
        assert!(Grid::parse("1:0:5").is_err());
        assert!(Grid::parse("0:1:1").is_err());
    }
}
