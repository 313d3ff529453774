//! One training point through the playground network, as `discesa grad --trace` shows a
//! formula: every layer's pre-activation z and output a on the forward pass, then the adjoints
//! ∂L/∂a and ∂L/∂z that backpropagation computes for them, output layer first.

use crate::error::ApiError;
use crate::playground::PlaySession;
use discesa::autodiff::Tape;
use discesa::nn::cross_entropy;
use discesa::Tensor;
use serde_json::{json, Value};

fn engine(e: discesa::Error) -> ApiError {
    ApiError::internal(format!("engine error: {e}"))
}

/// The trace of training point `index` under the session's current weights.
pub fn trace(s: &PlaySession, index: usize) -> Result<Value, ApiError> {
    let (train, _) = s.data();
    if index >= train.len() {
        return Err(ApiError::bad(format!(
            "index {index} is outside the {} training points",
            train.len()
        )));
    }
    let (model, params) = s.network();
    let activation = model.config().activation;
    let (x0, y0, label) = (
        train.xy[2 * index],
        train.xy[2 * index + 1],
        train.labels[index],
    );
    let tape = Tape::<f32>::new();
    let leaves = params.leaves(&tape);
    let input = tape.constant(Tensor::from_vec(vec![x0, y0], [1, 2]).map_err(engine)?);
    let mut h = input;
    let mut layers = Vec::new();
    let n = leaves.len() / 2;
    for k in 0..n {
        let z = h
            .matmul_t(leaves[2 * k], false, true)
            .and_then(|z| z.try_add(leaves[2 * k + 1]))
            .map_err(engine)?;
        let a = if k + 1 < n {
            activation.apply(z).map_err(engine)?
        } else {
            z
        };
        layers.push((z, a));
        h = a;
    }
    let loss = cross_entropy(h, &[label]).map_err(engine)?;
    let grads = tape.backward(loss).map_err(engine)?;
    let adj = |id: usize| -> Vec<f32> { grads.by_id(id).map(|t| t.to_vec()).unwrap_or_default() };
    let names = params.layers();
    let out: Vec<Value> = layers
        .iter()
        .enumerate()
        .map(|(k, (z, a))| {
            json!({
                "layer": names.get(k).map(|(n, _)| n.clone()).unwrap_or_default(),
                "activation": if k + 1 < n { activation.name() } else { "none (logits)".into() },
                "z": z.value().to_vec(), "a": a.value().to_vec(),
                "dz": adj(z.id()), "da": adj(a.id()),
            })
        })
        .collect();
    let backward: Vec<usize> = grads.order().to_vec();
    Ok(json!({
        "index": index, "input": [x0, y0], "label": label,
        "loss": loss.item().map_err(engine)?,
        "logits": h.value().to_vec(),
        "layers": out,
        "backward_nodes": backward.len(),
        "recorded_nodes": tape.len(),
    }))
}

#[cfg(test)]
mod tests {
    use crate::jobs::Deadline;
    use crate::playground::{PlayConfig, PlaySession};

    #[test]
    fn trace_matches_the_network_and_finite_differences_of_the_loss() {
        let cfg = PlayConfig {
            dataset: "blobs".into(),
            points: 100,
            noise: 0.1,
            train_ratio: 0.5,
            seed: 2,
            hidden: vec![4, 3],
            activation: "tanh".into(),
            optimizer: "sgd".into(),
            lr: 0.1,
            batch_size: 10,
            l2: 0.0,
        };
        let mut s = PlaySession::new(&cfg).unwrap();
        s.train(5, Deadline::after_ms(5000)).unwrap();
        let t = super::trace(&s, 3).unwrap();
        let (train, _) = s.data();
        let logits = s.logits(train.xy[6..8].to_vec()).unwrap();
        let traced: Vec<f32> = serde_json::from_value(t["logits"].clone()).unwrap();
        assert_eq!(traced, logits);
        let layers = t["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 3);
        // dL/dlogits = softmax - onehot: its entries sum to zero.
        let dz: Vec<f64> = serde_json::from_value(layers[2]["dz"].clone()).unwrap();
        assert!((dz[0] + dz[1]).abs() < 1e-6, "{dz:?}");
        // Through tanh: dz = da * (1 - a^2).
        let (a, da, dz): (Vec<f64>, Vec<f64>, Vec<f64>) = (
            serde_json::from_value(layers[1]["a"].clone()).unwrap(),
            serde_json::from_value(layers[1]["da"].clone()).unwrap(),
            serde_json::from_value(layers[1]["dz"].clone()).unwrap(),
        );
        for i in 0..3 {
            assert!((dz[i] - da[i] * (1.0 - a[i] * a[i])).abs() < 1e-5);
        }
        assert!(super::trace(&s, 10_000).is_err());
    }
}
