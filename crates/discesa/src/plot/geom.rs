//! Range computation, clipping and arrow geometry (pure functions, no drawing).

use super::PlotError;

/// Axis-aligned rectangle `[x0, x1] × [y0, y1]` with `x0 < x1`, `y0 < y1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
}

impl Rect {
    /// Whether `p` lies inside or on the border.
    pub fn contains(&self, p: (f64, f64)) -> bool {
        p.0 >= self.x0 && p.0 <= self.x1 && p.1 >= self.y0 && p.1 <= self.y1
    }
}

/// The range `given` for the axis `name`, checked; without one, the span of the finite
/// `coords` padded by `margin` of it on each side (`points` names what they are, for the
/// error when there is none).
pub(crate) fn axis_range(
    given: Option<(f64, f64)>,
    coords: impl IntoIterator<Item = f64>,
    margin: f64,
    name: &str,
    points: &str,
    bad: impl Fn(String) -> PlotError,
) -> Result<(f64, f64), PlotError> {
    match given {
        Some(r) if valid_range(r) => Ok(r),
        Some(r) => Err(bad(format!("{name} {r:?} must be finite and increasing"))),
        None => finite_bounds(coords)
            .map(|b| pad_range(b, margin.max(0.0)))
            .ok_or_else(|| bad(format!("no {name} given and no finite {points} to cover"))),
    }
}

/// Smallest and largest finite value, or `None` when there is none.
pub(crate) fn finite_bounds<I: IntoIterator<Item = f64>>(values: I) -> Option<(f64, f64)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Widens `(lo, hi)` by `frac` of its span on each side; a zero span gets a unit-scale width.
pub(crate) fn pad_range((lo, hi): (f64, f64), frac: f64) -> (f64, f64) {
    let span = hi - lo;
    if span > 0.0 && span.is_finite() {
        let pad = span * frac;
        (lo - pad, hi + pad)
    } else {
        let half = 0.5 * lo.abs().max(1.0);
        (lo - half, hi + half)
    }
}

/// Checks a user-supplied range: finite and increasing.
pub(crate) fn valid_range((lo, hi): (f64, f64)) -> bool {
    lo.is_finite() && hi.is_finite() && lo < hi
}

/// Liang–Barsky clipping of segment `a → b` to `r`; `None` when it lies outside.
pub(crate) fn clip_segment(
    a: (f64, f64),
    b: (f64, f64),
    r: &Rect,
) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    if !(dx.is_finite() && dy.is_finite()) {
        // Coordinates near f64::MAX (a diverged run) overflow; such a segment is not drawable.
        return None;
    }
    let mut t0 = 0.0_f64;
    let mut t1 = 1.0_f64;
    let checks = [
        (-dx, a.0 - r.x0),
        (dx, r.x1 - a.0),
        (-dy, a.1 - r.y0),
        (dy, r.y1 - a.1),
    ];
    for (p, q) in checks {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
            if t0 > t1 {
                return None;
            }
        }
    }
    Some((
        (a.0 + t0 * dx, a.1 + t0 * dy),
        (a.0 + t1 * dx, a.1 + t1 * dy),
    ))
}

/// Splits a polyline at non-finite points and clips it to `r`, returning the visible pieces.
pub(crate) fn clip_polyline(points: &[(f64, f64)], r: &Rect) -> Vec<Vec<(f64, f64)>> {
    let finite = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let mut flush = |current: &mut Vec<(f64, f64)>| {
        if current.len() >= 2 {
            pieces.push(std::mem::take(current));
        } else {
            current.clear();
        }
    };
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        if !finite(&a) || !finite(&b) {
            flush(&mut current);
            continue;
        }
        match clip_segment(a, b, r) {
            None => flush(&mut current),
            Some((ca, cb)) => {
                if current.last() != Some(&ca) {
                    flush(&mut current);
                    current.push(ca);
                }
                current.push(cb);
                if cb != b {
                    flush(&mut current);
                }
            }
        }
    }
    flush(&mut current);
    pieces
}

/// Pixel-space arrow: the shaft end points and the three corners of the filled head.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArrowShape {
    pub shaft: [(i32, i32); 2],
    pub head: [(i32, i32); 3],
}

/// Arrow from `from` to `to` in pixels, head `head_len` long; `None` for a sub-pixel arrow.
pub(crate) fn arrow_shape(from: (f64, f64), to: (f64, f64), head_len: f64) -> Option<ArrowShape> {
    let (dx, dy) = (to.0 - from.0, to.1 - from.1);
    let len = (dx * dx + dy * dy).sqrt();
    if !len.is_finite() || len < 1.0 {
        return None;
    }
    let (ux, uy) = (dx / len, dy / len);
    let head_len = head_len.min(0.6 * len);
    let half_w = 0.45 * head_len;
    let base = (to.0 - ux * head_len, to.1 - uy * head_len);
    let px = |p: (f64, f64)| (p.0.round() as i32, p.1.round() as i32);
    Some(ArrowShape {
        shaft: [px(from), px(base)],
        head: [
            px(to),
            px((base.0 - uy * half_w, base.1 + ux * half_w)),
            px((base.0 + uy * half_w, base.1 - ux * half_w)),
        ],
    })
}

/// Evenly spaced values `lo, …, hi` (`n >= 2`).
pub(crate) fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let n = n.max(2);
    (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: Rect = Rect {
        x0: 0.0,
        x1: 10.0,
        y0: 0.0,
        y1: 10.0,
    };

    #[test]
    fn bounds_skip_non_finite() {
        let b = finite_bounds([3.0, f64::NAN, -1.0, f64::INFINITY, 7.0]);
        assert_eq!(b, Some((-1.0, 7.0)));
        assert_eq!(finite_bounds([f64::NAN]), None);
    }

    #[test]
    fn padding_widens_and_handles_zero_span() {
        assert_eq!(pad_range((0.0, 10.0), 0.1), (-1.0, 11.0));
        let (lo, hi) = pad_range((5.0, 5.0), 0.1);
        assert!(lo < 5.0 && hi > 5.0);
        assert!(!valid_range((1.0, 1.0)));
        assert!(!valid_range((0.0, f64::NAN)));
        assert!(valid_range((-1.0, 1.0)));
    }

    #[test]
    fn segment_clipping_cuts_at_the_border() {
        let (a, b) = clip_segment((-5.0, 5.0), (5.0, 5.0), &R).unwrap();
        assert_eq!(a, (0.0, 5.0));
        assert_eq!(b, (5.0, 5.0));
        assert!(clip_segment((-5.0, -5.0), (-1.0, 20.0), &R).is_none());
        assert!(clip_segment((-1.7e308, 1.0), (1.7e308, 1.0), &R).is_none());
        let inside = clip_segment((1.0, 1.0), (2.0, 3.0), &R).unwrap();
        assert_eq!(inside, ((1.0, 1.0), (2.0, 3.0)));
    }

    #[test]
    fn polyline_splits_at_gaps_and_exits() {
        let pts = [
            (1.0, 1.0),
            (2.0, 2.0),
            (f64::NAN, 0.0),
            (3.0, 3.0),
            (4.0, 4.0),
            (20.0, 4.0),
            (4.0, 5.0),
        ];
        let pieces = clip_polyline(&pts, &R);
        assert_eq!(pieces.len(), 3, "{pieces:?}");
        assert_eq!(pieces[0], vec![(1.0, 1.0), (2.0, 2.0)]);
        assert_eq!(pieces[1], vec![(3.0, 3.0), (4.0, 4.0), (10.0, 4.0)]);
        assert_eq!(pieces[2].last(), Some(&(4.0, 5.0)));
    }

    #[test]
    fn arrow_head_points_at_target() {
        let a = arrow_shape((0.0, 0.0), (100.0, 0.0), 10.0).unwrap();
        assert_eq!(a.head[0], (100, 0));
        assert_eq!(a.shaft, [(0, 0), (90, 0)]);
        assert_eq!(a.head[1].0, 90);
        assert_eq!(a.head[1].1, -a.head[2].1);
        assert!(arrow_shape((0.0, 0.0), (0.2, 0.0), 10.0).is_none());
        assert!(arrow_shape((0.0, 0.0), (f64::NAN, 0.0), 10.0).is_none());
    }

    #[test]
    fn linspace_includes_both_ends() {
        let v = linspace(-1.0, 1.0, 5);
        assert_eq!(v, vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
    }
}
