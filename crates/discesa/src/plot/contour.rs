//! Grid sampling, contour levels and marching squares (pure math used by 2-D/3-D figures).

use std::collections::HashMap;

use super::geom::linspace;

/// Values of a function sampled on a regular grid; `z[j * nx + i] = f(xs[i], ys[j])`.
pub(crate) struct Grid {
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    pub z: Vec<f64>,
}

impl Grid {
    /// Samples `f` on `nx × ny` points spanning the ranges; non-finite results become NaN.
    pub fn sample(
        f: &dyn Fn(f64, f64) -> f64,
        x: (f64, f64),
        y: (f64, f64),
        nx: usize,
        ny: usize,
    ) -> Self {
        let xs = linspace(x.0, x.1, nx);
        let ys = linspace(y.0, y.1, ny);
        let mut z = Vec::with_capacity(xs.len() * ys.len());
        for &yv in &ys {
            for &xv in &xs {
                let v = f(xv, yv);
                z.push(if v.is_finite() { v } else { f64::NAN });
            }
        }
        Self { xs, ys, z }
    }

    /// Number of columns.
    pub fn nx(&self) -> usize {
        self.xs.len()
    }

    /// Value at column `i`, row `j`.
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.z[j * self.xs.len() + i]
    }

    /// Bilinear interpolation at a data point (NaN outside the grid or next to a hole).
    pub fn interpolate(&self, x: f64, y: f64) -> f64 {
        let (nx, ny) = (self.xs.len(), self.ys.len());
        let fx = (x - self.xs[0]) / (self.xs[nx - 1] - self.xs[0]) * (nx - 1) as f64;
        let fy = (y - self.ys[0]) / (self.ys[ny - 1] - self.ys[0]) * (ny - 1) as f64;
        if !(fx >= 0.0 && fy >= 0.0 && fx <= (nx - 1) as f64 && fy <= (ny - 1) as f64) {
            return f64::NAN;
        }
        let i = (fx.floor() as usize).min(nx - 2);
        let j = (fy.floor() as usize).min(ny - 2);
        let (tx, ty) = (fx - i as f64, fy - j as f64);
        let a = self.at(i, j) * (1.0 - tx) + self.at(i + 1, j) * tx;
        let b = self.at(i, j + 1) * (1.0 - tx) + self.at(i + 1, j + 1) * tx;
        a * (1.0 - ty) + b * ty
    }
}

/// How contour levels are spaced between the smallest and largest sampled value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LevelSpacing {
    /// Evenly spaced values.
    Linear,
    /// Geometric spacing of `f - min f`: resolves narrow valleys such as Rosenbrock's.
    Log,
    /// Log when most of the surface sits near the minimum (skewed values), else linear.
    #[default]
    Auto,
}

/// Band boundaries `b_0 < b_1 < … < b_n` covering the sampled values.
#[derive(Debug, Clone)]
pub(crate) struct Levels {
    pub bounds: Vec<f64>,
    pub log: bool,
}

/// Smallest gap kept above the minimum on log spacing, relative to the value range.
const LOG_FLOOR: f64 = 1e-5;

impl Levels {
    /// `bands` bands over the finite values; `None` when there is no finite value.
    pub fn new(values: &[f64], bands: usize, spacing: LevelSpacing) -> Option<Self> {
        let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if finite.is_empty() {
            return None;
        }
        finite.sort_by(|a, b| a.total_cmp(b));
        let (lo, hi) = (finite[0], finite[finite.len() - 1]);
        let bands = bands.max(2);
        let range = hi - lo;
        if range <= 0.0 || !range.is_finite() {
            let half = 0.5 * lo.abs().max(1.0);
            return Some(Self {
                bounds: linspace(lo - half, hi + half, bands + 1),
                log: false,
            });
        }
        let log = match spacing {
            LevelSpacing::Linear => false,
            LevelSpacing::Log => true,
            LevelSpacing::Auto => (finite[finite.len() / 2] - lo) < 0.1 * range,
        };
        let bounds = if log {
            let floor = range * LOG_FLOOR;
            let mut b = vec![lo];
            let ratio = (range / floor).powf(1.0 / (bands - 1) as f64);
            b.extend((0..bands).map(|k| lo + floor * ratio.powi(k as i32)));
            *b.last_mut().unwrap() = hi;
            b
        } else {
            linspace(lo, hi, bands + 1)
        };
        Some(Self { bounds, log })
    }

    /// Number of bands.
    pub fn bands(&self) -> usize {
        self.bounds.len() - 1
    }

    /// Band containing `v` (clamped to the ends); `None` for NaN.
    pub fn band(&self, v: f64) -> Option<usize> {
        if v.is_nan() {
            return None;
        }
        let k = self.bounds.partition_point(|b| *b <= v);
        Some(k.saturating_sub(1).min(self.bands() - 1))
    }

    /// Position of band `k` on the colour scale, in [0, 1].
    pub fn color_pos(&self, k: usize) -> f64 {
        (k as f64 + 0.5) / self.bands() as f64
    }

    /// Continuous colour-scale position of a value (for surfaces), in [0, 1].
    pub fn value_pos(&self, v: f64) -> f64 {
        let Some(k) = self.band(v) else {
            return f64::NAN;
        };
        let (a, b) = (self.bounds[k], self.bounds[k + 1]);
        let t = if b > a {
            ((v - a) / (b - a)).clamp(0.0, 1.0)
        } else {
            0.5
        };
        (k as f64 + t) / self.bands() as f64
    }
}

/// A grid edge: horizontal from `(i, j)` to `(i + 1, j)` or vertical from `(i, j)` to `(i, j + 1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Edge {
    i: usize,
    j: usize,
    vertical: bool,
}

/// Iso-lines of the grid at `level`, as polylines in data coordinates (cells with NaN skipped).
pub(crate) fn isolines(grid: &Grid, level: f64) -> Vec<Vec<(f64, f64)>> {
    let (nx, ny) = (grid.xs.len(), grid.ys.len());
    let point = |e: Edge| {
        let (i2, j2) = if e.vertical {
            (e.i, e.j + 1)
        } else {
            (e.i + 1, e.j)
        };
        let (a, b) = (grid.at(e.i, e.j), grid.at(i2, j2));
        let t = if b != a {
            ((level - a) / (b - a)).clamp(0.0, 1.0)
        } else {
            0.5
        };
        let x = grid.xs[e.i] + t * (grid.xs[i2] - grid.xs[e.i]);
        let y = grid.ys[e.j] + t * (grid.ys[j2] - grid.ys[e.j]);
        (x, y)
    };
    let mut segments: Vec<(Edge, Edge)> = Vec::new();
    for j in 0..ny.saturating_sub(1) {
        for i in 0..nx.saturating_sub(1) {
            let v = [
                grid.at(i, j),
                grid.at(i + 1, j),
                grid.at(i + 1, j + 1),
                grid.at(i, j + 1),
            ];
            if v.iter().any(|x| x.is_nan()) {
                continue;
            }
            let idx = v
                .iter()
                .enumerate()
                .fold(0usize, |acc, (k, x)| acc | (usize::from(*x > level) << k));
            let bottom = Edge {
                i,
                j,
                vertical: false,
            };
            let right = Edge {
                i: i + 1,
                j,
                vertical: true,
            };
            let top = Edge {
                i,
                j: j + 1,
                vertical: false,
            };
            let left = Edge {
                i,
                j,
                vertical: true,
            };
            let centre_above = (v.iter().sum::<f64>() / 4.0) > level;
            let pairs: &[(Edge, Edge)] = match idx {
                0 | 15 => &[],
                1 | 14 => &[(left, bottom)],
                2 | 13 => &[(bottom, right)],
                3 | 12 => &[(left, right)],
                4 | 11 => &[(right, top)],
                6 | 9 => &[(bottom, top)],
                7 | 8 => &[(left, top)],
                5 if centre_above => &[(left, top), (bottom, right)],
                5 => &[(left, bottom), (right, top)],
                10 if centre_above => &[(left, bottom), (right, top)],
                _ => &[(left, top), (bottom, right)],
            };
            segments.extend_from_slice(pairs);
        }
    }
    chain(&segments)
        .into_iter()
        .map(|c| c.into_iter().map(point).collect())
        .collect()
}

/// Joins segments sharing an edge into polylines.
fn chain(segments: &[(Edge, Edge)]) -> Vec<Vec<Edge>> {
    let mut by_edge: HashMap<Edge, Vec<usize>> = HashMap::new();
    for (s, (a, b)) in segments.iter().enumerate() {
        by_edge.entry(*a).or_default().push(s);
        by_edge.entry(*b).or_default().push(s);
    }
    let mut used = vec![false; segments.len()];
    let mut lines = Vec::new();
    let next = |edge: Edge, used: &[bool]| {
        by_edge
            .get(&edge)
            .and_then(|v| v.iter().copied().find(|&s| !used[s]))
    };
    for start in 0..segments.len() {
        if used[start] {
            continue;
        }
        used[start] = true;
        let (a, b) = segments[start];
        let mut line = std::collections::VecDeque::from([a, b]);
        // Extend forward from b, then backward from a.
        for forward in [true, false] {
            loop {
                let end = if forward {
                    *line.back().unwrap()
                } else {
                    *line.front().unwrap()
                };
                let Some(s) = next(end, &used) else { break };
                used[s] = true;
                let (p, q) = segments[s];
                let other = if p == end { q } else { p };
                if forward {
                    line.push_back(other);
                } else {
                    line.push_front(other);
                }
            }
        }
        lines.push(line.into_iter().collect());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_samples_and_interpolates_a_plane_exactly() {
        let g = Grid::sample(&|x, y| 2.0 * x + y, (0.0, 1.0), (0.0, 2.0), 5, 3);
        assert_eq!(g.nx(), 5);
        assert_eq!(g.at(4, 2), 4.0);
        assert!((g.interpolate(0.3, 1.7) - 2.3).abs() < 1e-12);
        assert!(g.interpolate(1.5, 0.0).is_nan());
    }

    #[test]
    fn linear_and_log_levels_cover_the_values() {
        let vals: Vec<f64> = (0..=100).map(|i| i as f64).collect();
        let lin = Levels::new(&vals, 10, LevelSpacing::Linear).unwrap();
        assert_eq!(lin.bounds.len(), 11);
        assert_eq!(lin.band(0.0), Some(0));
        assert_eq!(lin.band(100.0), Some(9));
        assert_eq!(lin.band(55.0), Some(5));
        assert_eq!(lin.band(f64::NAN), None);
        let log = Levels::new(&vals, 10, LevelSpacing::Log).unwrap();
        assert!(log.log);
        assert_eq!(*log.bounds.last().unwrap(), 100.0);
        assert!(log.bounds.windows(2).all(|w| w[0] < w[1]));
        // Geometric spacing puts most boundaries near the minimum.
        assert!(log.bounds[5] < 1.0, "{:?}", log.bounds);
    }

    #[test]
    fn auto_spacing_picks_log_for_skewed_values() {
        let skewed: Vec<f64> = (0..100).map(|i| (i as f64 / 10.0).powi(6)).collect();
        assert!(Levels::new(&skewed, 20, LevelSpacing::Auto).unwrap().log);
        let even: Vec<f64> = (0..100).map(|i| i as f64).collect();
        assert!(!Levels::new(&even, 20, LevelSpacing::Auto).unwrap().log);
        assert!(Levels::new(&[f64::NAN], 20, LevelSpacing::Auto).is_none());
        let flat = Levels::new(&[3.0, 3.0], 4, LevelSpacing::Auto).unwrap();
        assert_eq!(flat.band(3.0), Some(2));
    }

    #[test]
    fn isoline_of_a_cone_is_one_closed_circle() {
        let g = Grid::sample(
            &|x, y| (x * x + y * y).sqrt(),
            (-2.0, 2.0),
            (-2.0, 2.0),
            41,
            41,
        );
        let lines = isolines(&g, 1.0);
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert!(line.len() > 30);
        assert_eq!(line.first(), line.last(), "circle should close");
        for p in line {
            let r = (p.0 * p.0 + p.1 * p.1).sqrt();
            assert!((r - 1.0).abs() < 0.02, "point {p:?} off the circle");
        }
    }

    #[test]
    fn isolines_skip_holes() {
        let g = Grid::sample(
            &|x, _| if x > 0.0 { f64::NAN } else { x },
            (-1.0, 1.0),
            (0.0, 1.0),
            11,
            3,
        );
        let lines = isolines(&g, -0.5);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].iter().all(|p| (p.0 + 0.5).abs() < 1e-9));
    }
}
