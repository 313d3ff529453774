//! `/api/play/*`: small MLPs trained on the engine step by step, one session per page, with the
//! losses, accuracies, per-layer gradient norms and decision boundary after every request.

use crate::data2d::{generate, DataSpec, Points, EXTENT};
use crate::error::ApiError;
use crate::jobs::{parse_body, Deadline};
use crate::limits::{BOUNDARY_SIDE, LAYERS, PLAY_STEPS, SESSIONS, WIDTH};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use discesa::autodiff::Tape;
use discesa::data::shuffled_indices;
use discesa::nn::{
    cross_entropy, init_params, metrics::accuracy, Activation, ForwardCtx, Mlp, MlpConfig, Module,
    ParamStore,
};
use discesa::optim::{build_named, OptimOptions, Optimizer};
use discesa::Tensor;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A playground network and its data, as the page's controls set them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayConfig {
    /// `spirals`, `circles`, `xor` or `blobs`.
    pub dataset: String,
    /// Number of points.
    pub points: usize,
    /// Noise standard deviation.
    pub noise: f64,
    /// Fraction of the points used for training (the rest is the test set).
    pub train_ratio: f64,
    /// Seed of the data, the split, the initial weights and the batch order.
    pub seed: u64,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// `relu`, `tanh`, `sigmoid`, `identity`, ...
    pub activation: String,
    /// `sgd`, `momentum`, `nesterov`, `rmsprop`, `adam`.
    pub optimizer: String,
    /// Learning rate.
    pub lr: f64,
    /// Mini-batch size.
    pub batch_size: usize,
    /// L2 penalty (the optimizer's weight decay, on every parameter).
    pub l2: f64,
}

/// A network in training.
pub struct PlaySession {
    model: Mlp<f32>,
    params: ParamStore<f32>,
    optimizer: Box<dyn Optimizer<f32>>,
    train: Points,
    test: Points,
    batch_size: usize,
    seed: u64,
    order: Vec<usize>,
    cursor: usize,
    epoch: usize,
    step: u64,
    grads: Vec<f32>,
    layers: Vec<(String, Vec<Range<usize>>)>,
    grad_norms: Vec<f64>,
    batch_loss: f64,
}

/// What the page shows after a request.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Optimisation steps taken so far.
    pub step: u64,
    /// Passes over the training set completed.
    pub epoch: usize,
    /// Mean cross-entropy on the training set.
    pub train_loss: f64,
    /// Mean cross-entropy on the test set.
    pub test_loss: f64,
    /// Training accuracy.
    pub train_accuracy: f64,
    /// Test accuracy.
    pub test_accuracy: f64,
    /// Loss of the last mini-batch.
    pub batch_loss: f64,
    /// L2 norm of each layer's gradient (weights and bias) at the last step, input layer first.
    pub grad_norms: Vec<f64>,
    /// Layer names, as in checkpoints (`layers.0`, ...).
    pub layers: Vec<String>,
    /// Probability of class 1 on a `side × side` grid over the data square, rows from the top
    /// (y = +EXTENT) down, columns from x = −EXTENT; empty if not asked for.
    pub boundary: Vec<f32>,
    /// Side of the boundary grid.
    pub boundary_side: usize,
}

fn engine(e: discesa::Error) -> ApiError {
    ApiError::internal(format!("engine error: {e}"))
}

fn positive(v: f64, what: &str) -> Result<f64, ApiError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(ApiError::bad(format!(
            "{what} = {v} must be a positive number"
        )))
    }
}

impl PlaySession {
    /// Draws the data, splits it and initialises the network and optimizer.
    pub fn new(c: &PlayConfig) -> Result<PlaySession, ApiError> {
        if c.hidden.len() > LAYERS {
            return Err(ApiError::bad(format!(
                "{} hidden layers asked; at most {LAYERS} are allowed",
                c.hidden.len()
            )));
        }
        if let Some(w) = c.hidden.iter().find(|&&w| w == 0 || w > WIDTH) {
            return Err(ApiError::bad(format!(
                "a hidden layer of width {w}: widths must be 1..={WIDTH}"
            )));
        }
        if !(c.train_ratio.is_finite() && (0.05..=0.95).contains(&c.train_ratio)) {
            return Err(ApiError::bad(format!(
                "train_ratio = {} must be between 0.05 and 0.95",
                c.train_ratio
            )));
        }
        positive(c.lr, "lr")?;
        if !(c.l2.is_finite() && c.l2 >= 0.0) {
            return Err(ApiError::bad(format!("l2 = {} must be >= 0", c.l2)));
        }
        let activation =
            Activation::parse(&c.activation).map_err(|e| ApiError::bad(e.to_string()))?;
        let points = generate(&DataSpec {
            dataset: c.dataset.clone(),
            points: c.points,
            noise: c.noise,
            seed: c.seed,
        })?;
        let order = shuffled_indices(points.len(), c.seed ^ 0x5eed);
        let n_train =
            ((points.len() as f64 * c.train_ratio).round() as usize).clamp(2, points.len() - 2);
        let train = points.select(&order[..n_train]);
        let test = points.select(&order[n_train..]);
        if c.batch_size == 0 || c.batch_size > train.len() {
            return Err(ApiError::bad(format!(
                "batch_size = {} must be 1..={} (the training points)",
                c.batch_size,
                train.len()
            )));
        }
        let model = Mlp::<f32>::new(MlpConfig {
            inputs: 2,
            hidden: c.hidden.clone(),
            outputs: 2,
            activation,
            dropout: vec![],
        })
        .map_err(|e| ApiError::bad(e.to_string()))?;
        let params = init_params(&model, c.seed).map_err(engine)?;
        let options = OptimOptions {
            weight_decay: (c.l2 > 0.0).then_some(c.l2),
            ..OptimOptions::default()
        };
        let optimizer = build_named::<f32>(&c.optimizer, c.lr, &options)
            .map_err(|e| ApiError::bad(e.to_string()))?;
        let layers = params.layers();
        Ok(PlaySession {
            grad_norms: vec![0.0; layers.len()],
            layers,
            model,
            params,
            optimizer,
            order: shuffled_indices(train.len(), c.seed),
            train,
            test,
            batch_size: c.batch_size,
            seed: c.seed,
            cursor: 0,
            epoch: 0,
            step: 0,
            grads: Vec::new(),
            batch_loss: f64::NAN,
        })
    }

    /// The training and test points.
    pub fn data(&self) -> (&Points, &Points) {
        (&self.train, &self.test)
    }

    /// The model and its parameters.
    pub fn network(&self) -> (&Mlp<f32>, &ParamStore<f32>) {
        (&self.model, &self.params)
    }

    fn next_batch(&mut self) -> Vec<usize> {
        if self.cursor >= self.order.len() {
            self.epoch += 1;
            self.cursor = 0;
            self.order = shuffled_indices(
                self.train.len(),
                self.seed.wrapping_add(self.epoch as u64 + 1),
            );
        }
        let end = (self.cursor + self.batch_size).min(self.order.len());
        let batch = self.order[self.cursor..end].to_vec();
        self.cursor = end;
        batch
    }

    /// Takes `steps` optimisation steps on mini-batches, stopping at the deadline.
    pub fn train(&mut self, steps: usize, deadline: Deadline) -> Result<(), ApiError> {
        for _ in 0..steps {
            deadline.check()?;
            let idx = self.next_batch();
            let batch = self.train.select(&idx);
            {
                let tape = Tape::<f32>::new();
                let leaves = self.params.leaves(&tape);
                let x = Tensor::from_vec(batch.xy, [batch.labels.len(), 2]).map_err(engine)?;
                let logits = self
                    .model
                    .forward(tape.constant(x), &leaves, &mut [], &ForwardCtx::eval())
                    .map_err(engine)?;
                let loss = cross_entropy(logits, &batch.labels).map_err(engine)?;
                self.batch_loss = loss.item().map_err(engine)? as f64;
                let g = tape.backward(loss).map_err(engine)?;
                self.params.gather_grads(&g, &leaves, &mut self.grads);
            }
            for (norm, (_, ranges)) in self.grad_norms.iter_mut().zip(&self.layers) {
                *norm = ranges
                    .iter()
                    .flat_map(|r| self.grads[r.clone()].iter())
                    .map(|g| (*g as f64) * (*g as f64))
                    .sum::<f64>()
                    .sqrt();
            }
            self.optimizer
                .step(self.params.flat_mut(), &self.grads)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            self.step += 1;
        }
        Ok(())
    }

    /// Logits of the rows of `xy` (`[n, 2]`), without recording anything for backward.
    pub fn logits(&self, xy: Vec<f32>) -> Result<Vec<f32>, ApiError> {
        let n = xy.len() / 2;
        let tape = Tape::<f32>::new();
        let consts = self.params.constants(&tape);
        let x = Tensor::from_vec(xy, [n, 2]).map_err(engine)?;
        let out = self
            .model
            .forward(tape.constant(x), &consts, &mut [], &ForwardCtx::eval())
            .map_err(engine)?;
        Ok(out.value().to_vec())
    }

    fn score(&self, p: &Points) -> Result<(f64, f64), ApiError> {
        let logits = self.logits(p.xy.clone())?;
        let mut loss = 0.0;
        for (row, &label) in logits.chunks(2).zip(&p.labels) {
            let (a, b) = (row[0] as f64, row[1] as f64);
            let m = a.max(b);
            let lse = m + ((a - m).exp() + (b - m).exp()).ln();
            loss += lse - if label == 0 { a } else { b };
        }
        Ok((
            loss / p.len().max(1) as f64,
            accuracy(&logits, 2, &p.labels),
        ))
    }

    /// Losses, accuracies, gradient norms and (if `side > 0`) the decision boundary.
    pub fn report(&self, side: usize) -> Result<StepReport, ApiError> {
        if side > BOUNDARY_SIDE {
            return Err(ApiError::bad(format!(
                "boundary = {side} is over the allowed {BOUNDARY_SIDE}"
            )));
        }
        let (train_loss, train_accuracy) = self.score(&self.train)?;
        let (test_loss, test_accuracy) = self.score(&self.test)?;
        let boundary = if side >= 2 {
            let mut xy = Vec::with_capacity(2 * side * side);
            for j in 0..side {
                let y = EXTENT - 2.0 * EXTENT * (j as f64 + 0.5) / side as f64;
                for i in 0..side {
                    let x = -EXTENT + 2.0 * EXTENT * (i as f64 + 0.5) / side as f64;
                    xy.extend([x as f32, y as f32]);
                }
            }
            self.logits(xy)?
                .chunks(2)
                .map(|r| 1.0 / (1.0 + (r[0] - r[1]).exp()))
                .map(|p| (p * 1000.0).round() / 1000.0)
                .collect()
        } else {
            Vec::new()
        };
        Ok(StepReport {
            step: self.step,
            epoch: self.epoch,
            train_loss,
            test_loss,
            train_accuracy,
            test_accuracy,
            batch_loss: self.batch_loss,
            grad_norms: self.grad_norms.clone(),
            layers: self.layers.iter().map(|(n, _)| n.clone()).collect(),
            boundary_side: if boundary.is_empty() { 0 } else { side },
            boundary,
        })
    }
}

/// A session and when it was last used.
type Entry = (Instant, Arc<Mutex<PlaySession>>);

/// The sessions of all pages, the least recently used dropped beyond [`SESSIONS`].
#[derive(Default)]
pub struct Sessions {
    inner: Mutex<(u64, HashMap<u64, Entry>)>,
}

impl Sessions {
    fn insert(&self, s: PlaySession) -> u64 {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.0 += 1;
        let id = g.0;
        if g.1.len() >= SESSIONS {
            if let Some(old) = g.1.iter().min_by_key(|(_, (t, _))| *t).map(|(k, _)| *k) {
                g.1.remove(&old);
            }
        }
        g.1.insert(id, (Instant::now(), Arc::new(Mutex::new(s))));
        id
    }

    fn get(&self, id: u64) -> Result<Arc<Mutex<PlaySession>>, ApiError> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match g.1.get_mut(&id) {
            Some((t, s)) => {
                *t = Instant::now();
                Ok(s.clone())
            }
            None => Err(ApiError::not_found(format!(
                "no playground session {id} (it may have been replaced by newer ones): press reset"
            ))),
        }
    }
}

fn points_json(p: &Points) -> Value {
    Value::Array(
        p.xy.chunks(2)
            .zip(&p.labels)
            .map(|(xy, &c)| json!([xy[0], xy[1], c]))
            .collect(),
    )
}

type Body = Result<Bytes, BytesRejection>;

fn default_boundary() -> usize {
    50
}

/// `POST /api/play/new {PlayConfig}`: a new session with its data and first report.
pub async fn create(State(s): State<Arc<AppState>>, body: Body) -> Result<Json<Value>, ApiError> {
    let cfg: PlayConfig = parse_body(body)?;
    let state = s.clone();
    s.jobs
        .run(move |_| {
            let session = PlaySession::new(&cfg)?;
            let report = session.report(default_boundary())?;
            let (train, test) = session.data();
            let out = json!({
                "train": points_json(train), "test": points_json(test),
                "extent": EXTENT, "report": report,
            });
            let id = state.sessions.insert(session);
            let mut out = out;
            out["id"] = json!(id);
            Ok(out)
        })
        .await
        .map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepRequest {
    id: u64,
    steps: usize,
    #[serde(default = "default_boundary")]
    boundary: usize,
}

fn locked(
    session: &Mutex<PlaySession>,
) -> Result<std::sync::MutexGuard<'_, PlaySession>, ApiError> {
    session
        .lock()
        .map_err(|_| ApiError::internal("this session failed earlier: press reset"))
}

/// `POST /api/play/step {id, steps, boundary?}`: trains, then reports.
pub async fn step(State(s): State<Arc<AppState>>, body: Body) -> Result<Json<Value>, ApiError> {
    let req: StepRequest = parse_body(body)?;
    if req.steps > PLAY_STEPS {
        return Err(ApiError::bad(format!(
            "{} steps asked; at most {PLAY_STEPS} per request",
            req.steps
        )));
    }
    let session = s.sessions.get(req.id)?;
    s.jobs
        .run(move |deadline| {
            let mut g = locked(&session)?;
            g.train(req.steps, deadline)?;
            Ok(serde_json::to_value(g.report(req.boundary)?).expect("reports serialise"))
        })
        .await
        .map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TraceRequest {
    id: u64,
    index: usize,
}

/// `POST /api/play/trace {id, index}`: the forward values and adjoints of one training point.
pub async fn trace_sample(
    State(s): State<Arc<AppState>>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let req: TraceRequest = parse_body(body)?;
    let session = s.sessions.get(req.id)?;
    s.jobs
        .run(move |_| {
            let g = locked(&session)?;
            crate::trace::trace(&g, req.index)
        })
        .await
        .map(Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn config(dataset: &str) -> PlayConfig {
        PlayConfig {
            dataset: dataset.into(),
            points: 400,
            noise: 0.05,
            train_ratio: 0.5,
            seed: 1,
            hidden: vec![8, 8],
            activation: "tanh".into(),
            optimizer: "adam".into(),
            lr: 0.03,
            batch_size: 16,
            l2: 0.0,
        }
    }

    #[test]
    fn a_small_network_learns_xor_and_its_loss_falls() {
        let mut s = PlaySession::new(&config("xor")).unwrap();
        let before = s.report(0).unwrap();
        s.train(300, Deadline::after_ms(20_000)).unwrap();
        let after = s.report(10).unwrap();
        assert!(
            after.train_loss < 0.5 * before.train_loss,
            "{before:?} {after:?}"
        );
        assert!(after.test_accuracy > 0.9, "{after:?}");
        assert_eq!(after.boundary.len(), 100);
        assert_eq!(after.grad_norms.len(), 3);
        assert!(after.grad_norms.iter().all(|g| g.is_finite() && *g > 0.0));
    }

    #[test]
    fn deep_sigmoid_networks_show_vanishing_gradients() {
        let mut c = config("circles");
        c.hidden = vec![8; 10];
        c.activation = "sigmoid".into();
        c.optimizer = "sgd".into();
        let mut s = PlaySession::new(&c).unwrap();
        s.train(1, Deadline::after_ms(5000)).unwrap();
        let g = s.report(0).unwrap().grad_norms;
        assert_eq!(g.len(), 11);
        assert!(g[0] * 100.0 < g[10], "{g:?}");
    }

    #[test]
    fn bad_configs_say_what_is_wrong() {
        let mut c = config("xor");
        c.hidden = vec![8; LAYERS + 1];
        assert!(PlaySession::new(&c)
            .err()
            .unwrap()
            .message
            .contains("hidden layers"));
        let mut c = config("xor");
        c.hidden = vec![WIDTH + 1];
        assert!(PlaySession::new(&c).is_err());
        let mut c = config("xor");
        c.optimizer = "lbfgs".into();
        assert!(PlaySession::new(&c)
            .err()
            .unwrap()
            .message
            .contains("lbfgs"));
        let mut c = config("xor");
        c.batch_size = 0;
        assert!(PlaySession::new(&c).is_err());
        let mut c = config("xor");
        c.activation = "softsign".into();
        assert!(PlaySession::new(&c).is_err());
    }
}
