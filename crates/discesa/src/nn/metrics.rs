//! Evaluation metrics on plain output buffers: accuracy for classifiers, MAE and RMSE for
//! regressors.

/// Number of rows of `logits` (`labels.len() × classes`, row-major) whose largest entry is at
/// the true label (ties go to the first maximum, like `argmax`).
pub fn correct_count<T: PartialOrd + Copy>(
    logits: &[T],
    classes: usize,
    labels: &[usize],
) -> usize {
    if classes == 0 {
        return 0;
    }
    logits
        .chunks_exact(classes)
        .zip(labels)
        .filter(|(row, &l)| argmax(row) == l)
        .count()
}

/// Index of the largest value (first one on ties; NaN never wins).
pub fn argmax<T: PartialOrd + Copy>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// Fraction of rows classified correctly (0 for no rows).
pub fn accuracy<T: PartialOrd + Copy>(logits: &[T], classes: usize, labels: &[usize]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    correct_count(logits, classes, labels) as f64 / labels.len() as f64
}

/// Mean absolute error.
pub fn mae(pred: &[f64], target: &[f64]) -> f64 {
    if pred.is_empty() {
        return 0.0;
    }
    pred.iter()
        .zip(target)
        .map(|(p, t)| (p - t).abs())
        .sum::<f64>()
        / pred.len() as f64
}

/// Root mean squared error.
pub fn rmse(pred: &[f64], target: &[f64]) -> f64 {
    if pred.is_empty() {
        return 0.0;
    }
    (pred
        .iter()
        .zip(target)
        .map(|(p, t)| (p - t).powi(2))
        .sum::<f64>()
        / pred.len() as f64)
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_uses_argmax_per_row() {
        let logits = [0.1f32, 0.9, 0.8, 0.2, 0.3, 0.3];
        assert_eq!(correct_count(&logits, 2, &[1, 0, 1]), 2);
        assert!((accuracy(&logits, 2, &[1, 0, 1]) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(accuracy::<f32>(&[], 2, &[]), 0.0);
    }

    #[test]
    fn mae_and_rmse() {
        let p = [1.0, 2.0, 3.0, 4.0];
        let t = [1.0, 0.0, 3.0, 8.0];
        assert!((mae(&p, &t) - 1.5).abs() < 1e-12);
        assert!((rmse(&p, &t) - 5.0f64.sqrt()).abs() < 1e-12);
    }
}
