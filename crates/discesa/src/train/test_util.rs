//! Small synthetic data sets for the training tests.

use crate::data::{Dataset, Targets};

/// Three noisy Gaussian-ish blobs in 4 dimensions, `n` rows.
pub(crate) fn blobs(n: usize) -> Dataset {
    let mut features = Vec::with_capacity(n * 4);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 3;
        for j in 0..4 {
            let noise = ((i * 7 + j * 13) as f32 * 0.618).sin() * 0.8;
            features.push(if j == c { 2.0 } else { 0.0 } + noise);
        }
        labels.push(c);
    }
    Dataset::new(
        features,
        (0..4).map(|j| format!("x{j}")).collect(),
        Targets::Classes {
            labels,
            class_names: vec!["a".into(), "b".into(), "c".into()],
        },
    )
    .unwrap()
}

/// `y = 2 x0 − x1 + 0.5`, `n` rows of 2 features.
pub(crate) fn line(n: usize) -> Dataset {
    let mut features = Vec::with_capacity(n * 2);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let a = ((i as f32) * 0.37).sin();
        let b = ((i as f32) * 0.91).cos();
        features.extend([a, b]);
        y.push(2.0 * a - b + 0.5);
    }
    Dataset::new(features, vec!["a".into(), "b".into()], Targets::Values(y)).unwrap()
}
