//! Shared fixtures for optimizer tests: a badly conditioned quadratic and a
//! save/restore continuation check.

use super::{from_state, LrSchedule, OptimFloat, Optimizer, OptimizerState, Schedule};

/// Curvatures of `f(x) = ½ Σ aᵢ xᵢ²`, spanning a condition number of 100.
pub(crate) fn curvatures<T: OptimFloat>(n: usize) -> Vec<T> {
    (0..n)
        .map(|i| T::from(1.0 + 99.0 * i as f64 / (n - 1) as f64).unwrap())
        .collect()
}

/// Gradient of the quadratic at `x`.
pub(crate) fn quad_grad<T: OptimFloat>(a: &[T], x: &[T], g: &mut [T]) {
    for ((g, &a), &x) in g.iter_mut().zip(a).zip(x) {
        *g = a * x;
    }
}

/// Value of the quadratic at `x`.
pub(crate) fn quad_value<T: OptimFloat>(a: &[T], x: &[T]) -> f64 {
    a.iter()
        .zip(x)
        .map(|(&a, &x)| 0.5 * a.to_f64().unwrap() * x.to_f64().unwrap().powi(2))
        .sum()
}

/// Runs `steps` steps on the quadratic from a fixed start, optionally following a
/// learning-rate schedule, and returns the largest remaining |xᵢ| and the final value
/// relative to the starting value.
pub(crate) fn minimise<T: OptimFloat>(
    opt: &mut dyn Optimizer<T>,
    steps: usize,
    schedule: Option<&Schedule>,
) -> (f64, f64) {
    let a = curvatures::<T>(8);
    let mut x: Vec<T> = (0..8)
        .map(|i| T::from(1.0 - 0.25 * i as f64).unwrap())
        .collect();
    let start = quad_value(&a, &x);
    let base = opt.learning_rate();
    let mut g = vec![T::zero(); 8];
    for t in 0..steps {
        if let Some(s) = schedule {
            opt.set_learning_rate(s.lr_at(base, t as u64)).unwrap();
        }
        quad_grad(&a, &x, &mut g);
        opt.step(&mut x, &g).unwrap();
    }
    let worst = x
        .iter()
        .map(|v| v.to_f64().unwrap().abs())
        .fold(0.0, f64::max);
    (worst, quad_value(&a, &x) / start)
}

/// Asserts that saving after `k` steps, restoring into a fresh optimizer (through JSON) and
/// continuing gives exactly the trajectory of an uninterrupted run.
pub(crate) fn assert_bit_identical_resume<T: OptimFloat>(
    make: impl Fn() -> Box<dyn Optimizer<T>>,
    k: usize,
    total: usize,
) {
    let a = curvatures::<T>(16);
    let x0: Vec<T> = (0..16)
        .map(|i| T::from(0.5 - 0.07 * i as f64).unwrap())
        .collect();
    let mut g = vec![T::zero(); 16];

    let mut straight = make();
    let mut x1 = x0.clone();
    for _ in 0..total {
        quad_grad(&a, &x1, &mut g);
        straight.step(&mut x1, &g).unwrap();
    }

    let mut first = make();
    let mut x2 = x0.clone();
    for _ in 0..k {
        quad_grad(&a, &x2, &mut g);
        first.step(&mut x2, &g).unwrap();
    }
    let json = serde_json::to_string(&first.state()).unwrap();
    drop(first);
    let state: OptimizerState = serde_json::from_str(&json).unwrap();
    let mut resumed = from_state::<T>(&state).unwrap();
    assert_eq!(resumed.step_count(), k as u64);
    for _ in k..total {
        quad_grad(&a, &x2, &mut g);
        resumed.step(&mut x2, &g).unwrap();
    }
    for (i, (p, q)) in x1.iter().zip(&x2).enumerate() {
        assert_eq!(
            p.to_f64().unwrap().to_bits(),
            q.to_f64().unwrap().to_bits(),
            "element {i} differs after resume: {p:?} vs {q:?}"
        );
    }
    assert_ne!(x1, x0, "the run must have moved");
}
