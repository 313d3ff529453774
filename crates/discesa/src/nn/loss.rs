//! Loss functions on recorded outputs: the lecture's half squared error, mean squared error,
//! and numerically stable cross-entropies computed from logits.

use crate::autodiff::Var;
use crate::error::{invalid, shape_err, Result};
use crate::tensor::{Element, Tensor};

fn same_shape<T: Element>(op: &'static str, pred: &Var<'_, T>, target: &Tensor<T>) -> Result<()> {
    if &pred.shape() != target.shape() {
        return Err(shape_err(
            op,
            format!(
                "predictions have shape {} but targets have shape {}",
                pred.shape(),
                target.shape()
            ),
        ));
    }
    Ok(())
}

fn rows<T: Element>(pred: &Var<'_, T>) -> usize {
    let s = pred.shape();
    if s.ndim() == 0 {
        1
    } else {
        s.dim(0).max(1)
    }
}

/// The lecture's loss `(1/n) Σᵢ ½ ‖yᵢ − f(xᵢ)‖²`: half the squared error, summed over outputs and
/// averaged over the `n` samples (rows), so its gradient is `−(y − f)/n` with no factor 2.
pub fn half_mse<'t, T: Element>(pred: Var<'t, T>, target: &Tensor<T>) -> Result<Var<'t, T>> {
    same_shape("half_mse", &pred, target)?;
    let n = rows(&pred);
    let diff = pred.try_sub(pred.tape().constant(target.clone()))?;
    Ok((diff * diff)
        .sum_all()
        .mul_scalar(T::from_f64(0.5 / n as f64)))
}

/// Mean squared error over every element (PyTorch's `MSELoss`).
pub fn mse<'t, T: Element>(pred: Var<'t, T>, target: &Tensor<T>) -> Result<Var<'t, T>> {
    same_shape("mse", &pred, target)?;
    let diff = pred.try_sub(pred.tape().constant(target.clone()))?;
    Ok((diff * diff).mean_all())
}

/// Mean cross-entropy of class `labels` under `logits` `[n, classes]`, via `log_softmax`
/// (stable for any logit size) and `gather` of the true class.
pub fn cross_entropy<'t, T: Element>(logits: Var<'t, T>, labels: &[usize]) -> Result<Var<'t, T>> {
    let s = logits.shape();
    if s.ndim() != 2 || s.dim(0) != labels.len() {
        return Err(shape_err(
            "cross_entropy",
            format!(
                "logits must have shape [{}, classes] for {} labels, got {s}",
                labels.len(),
                labels.len()
            ),
        ));
    }
    let classes = s.dim(1);
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= classes) {
        return Err(invalid(
            "cross_entropy",
            format!("label {l} of sample {i} is out of range for {classes} classes"),
        ));
    }
    let picked = logits
        .log_softmax(1)?
        .gather(1, labels, [labels.len(), 1])?;
    Ok(-picked.mean_all())
}

/// Mean binary cross-entropy of targets in `[0, 1]` given logits `z`, in the stable form
/// `max(z, 0) − z·y + ln(1 + e^{−|z|})` (no overflow for large `|z|`).
pub fn binary_cross_entropy_with_logits<'t, T: Element>(
    logits: Var<'t, T>,
    targets: &Tensor<T>,
) -> Result<Var<'t, T>> {
    same_shape("binary_cross_entropy", &logits, targets)?;
    let soft = (-logits.abs()).exp().add_scalar(T::one()).ln();
    let l = logits
        .relu()
        .try_sub(logits.mul_const(targets)?)?
        .try_add(soft)?;
    Ok(l.mean_all())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::{gradcheck, CheckOptions, Tape};

    fn pair() -> (Tensor<f64>, Tensor<f64>) {
        (
            Tensor::rand_normal([4, 3], 0.0, 1.0, 1),
            Tensor::rand_normal([4, 3], 0.0, 1.0, 2),
        )
    }

    #[test]
    fn values_match_definitions() {
        let (p, y) = pair();
        let tape = Tape::new();
        let v = tape.var(p.clone());
        let sq: f64 = p
            .as_slice()
            .iter()
            .zip(y.as_slice())
            .map(|(a, b)| (a - b).powi(2))
            .sum();
        assert!((half_mse(v, &y).unwrap().item().unwrap() - 0.5 * sq / 4.0).abs() < 1e-12);
        assert!((mse(v, &y).unwrap().item().unwrap() - sq / 12.0).abs() < 1e-12);
        let labels = [0, 2, 1, 2];
        let ce = cross_entropy(v, &labels).unwrap().item().unwrap();
        let mut want = 0.0;
        for (i, &l) in labels.iter().enumerate() {
            let row = &p.as_slice()[i * 3..i * 3 + 3];
            let lse = row.iter().map(|x| x.exp()).sum::<f64>().ln();
            want += lse - row[l];
        }
        assert!((ce - want / 4.0).abs() < 1e-12);
        let t = Tensor::rand_uniform([4, 3], 0.0, 1.0, 3);
        let bce = binary_cross_entropy_with_logits(v, &t)
            .unwrap()
            .item()
            .unwrap();
        let want: f64 = p
            .as_slice()
            .iter()
            .zip(t.as_slice())
            .map(|(&z, &y)| {
                let s = 1.0 / (1.0 + (-z).exp());
                -(y * s.ln() + (1.0 - y) * (1.0 - s).ln())
            })
            .sum::<f64>()
            / 12.0;
        assert!((bce - want).abs() < 1e-12);
    }

    #[test]
    fn stable_for_huge_logits() {
        let tape = Tape::<f64>::new();
        let z = tape.var(Tensor::from_vec(vec![1000.0, -1000.0], [1, 2]).unwrap());
        let ce = cross_entropy(z, &[1]).unwrap().item().unwrap();
        assert!((ce - 2000.0).abs() < 1e-9, "{ce}");
        let bce =
            binary_cross_entropy_with_logits(z, &Tensor::from_vec(vec![1.0, 0.0], [1, 2]).unwrap())
                .unwrap()
                .item()
                .unwrap();
        assert!(bce.is_finite() && bce < 1e-12, "{bce}");
    }

    #[test]
    fn gradcheck_every_loss() {
        let (p, y) = pair();
        let o = CheckOptions::default();
        let t = Tensor::rand_uniform([4, 3], 0.0, 1.0, 3);
        for r in [
            gradcheck(|v| half_mse(v[0], &y), std::slice::from_ref(&p), o).unwrap(),
            gradcheck(|v| mse(v[0], &y), std::slice::from_ref(&p), o).unwrap(),
            gradcheck(
                |v| cross_entropy(v[0], &[2, 0, 1, 1]),
                std::slice::from_ref(&p),
                o,
            )
            .unwrap(),
            gradcheck(
                |v| binary_cross_entropy_with_logits(v[0], &t),
                std::slice::from_ref(&p),
                o,
            )
            .unwrap(),
        ] {
            assert!(r.passed, "{r}");
        }
    }

    #[test]
    fn bad_shapes_and_labels_are_errors() {
        let (p, _) = pair();
        let tape = Tape::new();
        let v = tape.var(p);
        assert!(half_mse(v, &Tensor::zeros([4, 2])).is_err());
        let e = cross_entropy(v, &[0, 1, 3, 0]).unwrap_err().to_string();
        assert!(e.contains("label 3") && e.contains("3 classes"), "{e}");
        assert!(cross_entropy(v, &[0, 1]).is_err());
    }
}
