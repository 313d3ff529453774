//! The benchmark workloads behind `discesa bench` and `cargo bench`: the same workloads as the
//! peer scripts (PyTorch, JAX), timed the same way, printed as
//! `RESULT discesa <workload> <size> <threads> <value> <unit> [key=value ...]`.

use crate::autodiff::Tape;
use crate::nn::{
    cross_entropy, init_params, Activation, ForwardCtx, Mlp, MlpConfig, Module, ParamStore,
};
use crate::optim::{build_named, OptimOptions, Optimizer};
use crate::tensor::{gemm_into, set_num_threads, Conv2dOptions};
use crate::{Tensor, Var};
use std::time::Instant;

mod conv_train;
mod landscape;
mod mlp_train;

/// Which workloads to run and how.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Kernel threads; `None` keeps the current setting.
    pub threads: Option<usize>,
    /// Comma-separated workload prefixes; `None` runs all.
    pub only: Option<String>,
    /// Three timed repetitions instead of seven.
    pub quick: bool,
    /// Batch sizes of the training workloads.
    pub batches: Vec<usize>,
    /// JSON lines instead of `RESULT` lines.
    pub json: bool,
    /// Samples of the landscape workloads (the peer's `--samples`, 1,000).
    pub landscape_samples: usize,
    /// Points per axis of the landscape grid (the peer's `--grid`, 5).
    pub landscape_grid: usize,
    /// In-process data-parallel workers of the MLP training workloads; `None` lets the library
    /// choose from the threads and the batch size, as `discesa train --threads` does.
    pub workers: Option<usize>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            threads: None,
            only: None,
            quick: false,
            batches: vec![16, 64, 256, 1024],
            json: false,
            landscape_samples: landscape::SAMPLES,
            landscape_grid: landscape::GRID,
            workers: None,
        }
    }
}

struct Out {
    json: bool,
    threads: usize,
}

impl Out {
    fn emit(&self, workload: &str, size: usize, value: f64, unit: &str, extra: &[(&str, String)]) {
        if self.json {
            let mut m = serde_json::Map::new();
            m.insert("who".into(), "discesa".into());
            m.insert("workload".into(), workload.into());
            m.insert("size".into(), size.into());
            m.insert("threads".into(), self.threads.into());
            m.insert("value".into(), value.into());
            m.insert("unit".into(), unit.into());
            for (k, v) in extra {
                m.insert((*k).into(), v.clone().into());
            }
            println!("{}", serde_json::Value::Object(m));
        } else {
            let v = if value < 10.0 {
                format!("{value:.3}")
            } else if value < 1000.0 {
                format!("{value:.1}")
            } else {
                format!("{value:.0}")
            };
            let tail: Vec<String> = extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "RESULT discesa {workload} {size} {} {v} {unit} {}",
                self.threads,
                tail.join(" ").trim()
            );
        }
    }
}

/// Median, min and max calls per second, timed like the peers: one untimed call, a warm-up of at
/// least 5 calls and 0.3 s, then `reps` repetitions of about 0.25 s each.
fn time_steps(reps: usize, mut step: impl FnMut()) -> (f64, f64, f64) {
    step();
    let t0 = Instant::now();
    let mut n = 0;
    while n < 5 || t0.elapsed().as_secs_f64() < 0.3 {
        step();
        n += 1;
    }
    let per = t0.elapsed().as_secs_f64() / n as f64;
    let k = ((0.25 / per).ceil() as usize).max(3);
    let mut rates: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..k {
                step();
            }
            k as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    (rates[rates.len() / 2], rates[0], rates[rates.len() - 1])
}

/// The peer scripts' fixed labels of a batch of `b`: `(7 i + 3) mod 10`.
fn fixed_labels(b: usize) -> Vec<usize> {
    (0..b).map(|i| (i * 7 + 3) % 10).collect()
}

/// The line of a training workload: samples/s at batch `b` from the step rates `m`, with the
/// spread, the last loss and `extra` keys.
fn emit_training(
    out: &Out,
    name: &str,
    b: usize,
    m: (f64, f64, f64),
    loss: f32,
    extra: (&str, String),
) {
    out.emit(
        name,
        b,
        m.0 * b as f64,
        "samples/s",
        &[spread(m), ("loss", format!("{loss:.4}")), extra],
    );
}

fn spread(m: (f64, f64, f64)) -> (&'static str, String) {
    ("spread", format!("{:.3}", (m.2 - m.1) / m.0))
}

/// Named groups of workloads for `--only` (besides prefixes of workload names).
const GROUPS: &[(&str, &[&str])] = &[
    ("conv", &["conv3x3_fwd", "resnet20_train", "plain20_train"]),
    ("landscape", &["landscape_resnet20", "landscape_mlp_wide"]),
];

/// Whether the `--only` entry `pick` (a group name or a workload-name prefix) selects `name`.
fn selects(pick: &str, name: &str) -> bool {
    name.starts_with(pick)
        || GROUPS
            .iter()
            .any(|(g, members)| *g == pick && members.contains(&name))
}

/// Runs the selected workloads, printing one line per figure. Errors describe bad options.
pub fn run(a: &BenchOptions) -> Result<(), String> {
    let threads = match a.threads {
        Some(0) => return Err("--threads must be at least 1".into()),
        Some(t) => t,
        None => crate::tensor::num_threads(),
    };
    set_num_threads(threads);
    // The global pool may already exist (a second run in one process); gemm then uses it as is.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    let reps = if a.quick { 3 } else { 7 };
    let want = |name: &str| match &a.only {
        None => true,
        Some(list) => list.split(',').any(|p| selects(p.trim(), name)),
    };
    if a.batches.is_empty() || a.batches.contains(&0) {
        return Err("--batches needs positive batch sizes, e.g. 16,64,256".into());
    }
    if a.workers == Some(0) {
        return Err("--workers must be at least 1".into());
    }
    if a.landscape_samples == 0 || a.landscape_grid == 0 {
        return Err("--samples and --grid must be at least 1".into());
    }
    let out = Out {
        json: a.json,
        threads,
    };
    if want("gemm_f32") {
        for n in [128usize, 512, 1024, 2048] {
            let x = Tensor::<f32>::rand_normal([n, n], 0.0, 1.0, 1);
            let y = Tensor::<f32>::rand_normal([n, n], 0.0, 1.0, 2);
            let mut c = vec![0f32; n * n];
            let m = time_steps(reps, || {
                gemm_into(
                    n,
                    n,
                    n,
                    &mut c,
                    x.as_slice(),
                    false,
                    y.as_slice(),
                    false,
                    false,
                )
            });
            out.emit(
                "gemm_f32",
                n,
                m.0 * 2.0 * (n as f64).powi(3) / 1e9,
                "GFLOP/s",
                &[spread(m)],
            );
        }
    }
    if want("conv3x3_fwd") {
        conv3x3_fwd(&out, reps);
    }
    if want("mlp_wide_fwdbwd_over_fwd") {
        fwd_bwd_ratio(&out, reps);
    }
    if want("scalar_chain") {
        scalar_chain(&out, reps);
    }
    if want("fd_vs_backprop") {
        fd_vs_backprop(&out);
    }
    for (name, shortcut) in [("resnet20_train", true), ("plain20_train", false)] {
        if want(name) {
            conv_train::conv_train(&out, reps, name, shortcut);
        }
    }
    for name in ["landscape_resnet20", "landscape_mlp_wide"] {
        if want(name) {
            landscape::landscape(&out, name, a.landscape_samples, a.landscape_grid);
        }
    }
    for (name, dims) in [
        ("mlp_wide_train", vec![784, 256, 256, 10]),
        ("mlp_deep_train", {
            let mut d = vec![64; 21];
            d.push(10);
            d
        }),
    ] {
        if want(name) {
            for &b in &a.batches {
                let workers = a
                    .workers
                    .unwrap_or_else(|| crate::dist::in_process_workers(threads, b));
                mlp_train::mlp_train(&out, reps, name, &dims, b, workers)?;
            }
            out.emit(&format!("{name}_peak_rss"), 0, peak_rss_mib(), "MiB", &[]);
        }
    }
    Ok(())
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(f64::NAN)
}

/// The benchmark network: the library's own MLP (ReLU, PyTorch layout) with its parameters in
/// one flat buffer, trained with the library's SGD, exactly as a user would.
struct Net {
    model: Mlp<f32>,
    params: ParamStore<f32>,
    grads: Vec<f32>,
    tape: Tape<f32>,
    sgd: Box<dyn Optimizer<f32>>,
}

impl Net {
    fn new(dims: &[usize], seed: u64) -> Self {
        let model = Mlp::new(MlpConfig {
            inputs: dims[0],
            hidden: dims[1..dims.len() - 1].to_vec(),
            outputs: dims[dims.len() - 1],
            activation: Activation::Relu,
            dropout: vec![],
        })
        .expect("valid sizes");
        let params = init_params(&model, seed).expect("valid model");
        Net {
            model,
            params,
            grads: Vec::new(),
            tape: Tape::with_capacity(256),
            sgd: build_named("sgd", 0.01, &OptimOptions::default()).expect("plain SGD"),
        }
    }

    fn loss<'t>(
        &self,
        tape: &'t Tape<f32>,
        params: &[Var<'t, f32>],
        x: &Tensor<f32>,
        labels: &[usize],
    ) -> Var<'t, f32> {
        let logits = self
            .model
            .forward(
                tape.constant(x.clone()),
                params,
                &mut [],
                &ForwardCtx::eval(),
            )
            .expect("shapes");
        cross_entropy(logits, labels).expect("labels in range")
    }

    /// One training step: forward, loss, backward, SGD update; returns the loss.
    fn sgd_step(&mut self, x: &Tensor<f32>, labels: &[usize]) -> f32 {
        let loss = self.gradient(x, labels);
        self.update();
        loss
    }

    /// Forward, loss and backward: the flat gradient of the batch's mean loss into `grads`.
    fn gradient(&mut self, x: &Tensor<f32>, labels: &[usize]) -> f32 {
        let loss = {
            let leaves = self.params.leaves(&self.tape);
            let loss = self.loss(&self.tape, &leaves, x, labels);
            let g = self.tape.backward(loss).expect("scalar loss");
            self.params.gather_grads(&g, &leaves, &mut self.grads);
            loss.item().expect("scalar")
        };
        self.tape.clear();
        loss
    }

    /// The SGD update with the gradient in `grads`.
    fn update(&mut self) {
        self.sgd
            .step(self.params.flat_mut(), &self.grads)
            .expect("same layout");
    }
}

/// One 3x3 convolution, 64 -> 64 channels, 14x14, padding 1, batch 64, no bias, forward only
/// (plus the sum the peer script takes); GFLOP/s counted as `2·N·Cout·H·W·Cin·9`.
fn conv3x3_fwd(out: &Out, reps: usize) {
    let (n, c, hw) = (64usize, 64usize, 14usize);
    let x = Tensor::<f32>::rand_normal([n, c, hw, hw], 0.0, 1.0, 1);
    let w = Tensor::<f32>::rand_normal([c, c, 3, 3], 0.0, 0.05, 2);
    let o = Conv2dOptions {
        padding: [1, 1],
        ..Default::default()
    };
    let m = time_steps(reps, || {
        let y = x.conv2d(&w, None, &o).expect("valid shapes");
        std::hint::black_box(y.sum_all().item().expect("scalar"));
    });
    let flops = (2 * n * c * hw * hw * c * 9) as f64;
    out.emit("conv3x3_fwd", n, m.0 * flops / 1e9, "GFLOP/s", &[spread(m)]);
}

/// Forward+backward time over forward time for the 784-256-256-10 MLP at batch 256.
fn fwd_bwd_ratio(out: &Out, reps: usize) {
    let b = 256;
    let mut net = Net::new(&[784, 256, 256, 10], 0);
    let x = Tensor::<f32>::rand_normal([b, 784], 0.0, 1.0, 3);
    let labels = fixed_labels(b);
    let mut tape = std::mem::take(&mut net.tape);
    let fwd = time_steps(reps, || {
        tape.clear();
        let params = net.params.leaves(&tape);
        std::hint::black_box(
            net.loss(&tape, &params, &x, &labels)
                .item()
                .expect("scalar"),
        );
    });
    let fwd_nograd = time_steps(reps, || {
        tape.clear();
        tape.no_grad(|| {
            let params = net.params.constants(&tape);
            std::hint::black_box(
                net.loss(&tape, &params, &x, &labels)
                    .item()
                    .expect("scalar"),
            );
        })
    });
    let fwd_bwd = time_steps(reps, || {
        tape.clear();
        let params = net.params.leaves(&tape);
        let loss = net.loss(&tape, &params, &x, &labels);
        let g = tape.backward(loss).expect("scalar");
        std::hint::black_box(g.wrt(params[0]).as_slice()[0]);
    });
    for (name, m) in [
        ("fwd_nograd", fwd_nograd),
        ("fwd", fwd),
        ("fwd_bwd", fwd_bwd),
    ] {
        out.emit(
            &format!("mlp_wide_{name}_time"),
            b,
            1e6 / m.0,
            "us/call",
            &[spread(m)],
        );
    }
    out.emit(
        "mlp_wide_fwdbwd_over_fwd",
        b,
        fwd.0 / fwd_bwd.0,
        "ratio",
        &[],
    );
    out.emit(
        "mlp_wide_fwdbwd_over_fwd_nograd",
        b,
        fwd_nograd.0 / fwd_bwd.0,
        "ratio",
        &[],
    );
}

/// 33,334 iterations of `x = x*a + sin(x)` on scalars (100,002 recorded ops), then backward.
fn scalar_chain(out: &Out, reps: usize) {
    let iters = 33_334;
    let n_ops = 3 * iters;
    let mut tape = Tape::<f64>::with_capacity(n_ops + 4);
    let (mut fwd, mut bwd, mut tot) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..=reps.max(5) {
        tape.clear();
        let t0 = Instant::now();
        let x0 = tape.scalar_var(0.5);
        let a = tape.scalar_var(0.9);
        let mut x = x0;
        for _ in 0..iters {
            x = x * a + x.sin();
        }
        let t1 = Instant::now();
        let g = tape.backward(x).expect("scalar");
        let s = g.wrt(x0).item().expect("scalar") + g.wrt(a).item().expect("scalar");
        let t2 = Instant::now();
        assert!(!s.is_nan());
        if r > 0 {
            fwd.push((t1 - t0).as_secs_f64());
            bwd.push((t2 - t1).as_secs_f64());
            tot.push((t2 - t0).as_secs_f64());
        }
    }
    for (name, mut ts) in [("fwd", fwd), ("bwd", bwd), ("fwd_bwd", tot)] {
        ts.sort_by(f64::total_cmp);
        let med = ts[ts.len() / 2];
        out.emit(
            &format!("scalar_chain_{name}"),
            n_ops,
            n_ops as f64 / med,
            "ops/s",
            &[("spread", format!("{:.3}", (ts[ts.len() - 1] - ts[0]) / med))],
        );
    }
}

/// One gradient of a ~10⁵-parameter network (128-256-256-10, batch 16) by backpropagation and by
/// central differences (two forward passes per parameter).
fn fd_vs_backprop(out: &Out) {
    let b = 16;
    let mut net = Net::new(&[128, 256, 256, 10], 5);
    let x = Tensor::<f32>::rand_normal([b, 128], 0.0, 1.0, 6);
    let labels: Vec<usize> = (0..b).map(|i| i % 10).collect();
    let n = net.params.len();
    let mut tape = Tape::<f32>::new();
    let reps = 20;
    let t0 = Instant::now();
    for _ in 0..reps {
        tape.clear();
        let params = net.params.leaves(&tape);
        let loss = net.loss(&tape, &params, &x, &labels);
        std::hint::black_box(
            tape.backward(loss)
                .expect("scalar")
                .wrt(params[0])
                .as_slice()[0],
        );
    }
    let t_bp = t0.elapsed().as_secs_f64() / reps as f64;
    // Central differences: perturb one parameter at a time in place, two forwards each.
    let eps = 1e-2f32;
    let mut fd = vec![0f32; n];
    let t0 = Instant::now();
    for (i, d) in fd.iter_mut().enumerate() {
        let eval = |delta: f32, net: &mut Net, tape: &mut Tape<f32>| -> f32 {
            tape.clear();
            let v = net.params.flat()[i];
            net.params.flat_mut()[i] = v + delta;
            let l = tape.no_grad(|| {
                let ps = net.params.constants(tape);
                net.loss(tape, &ps, &x, &labels).item().expect("scalar")
            });
            tape.clear();
            net.params.flat_mut()[i] = v;
            l
        };
        let lp = eval(eps, &mut net, &mut tape);
        let lm = eval(-eps, &mut net, &mut tape);
        *d = (lp - lm) / (2.0 * eps);
    }
    let t_fd = t0.elapsed().as_secs_f64();
    std::hint::black_box(&fd);
    out.emit("fd_vs_backprop_backprop_time", n, t_bp * 1e3, "ms", &[]);
    out.emit("fd_vs_backprop_fd_time", n, t_fd * 1e3, "ms", &[]);
    out.emit(
        "fd_vs_backprop",
        n,
        t_fd / t_bp,
        "ratio",
        &[("params", n.to_string())],
    );
}

#[cfg(test)]
mod tests {
    use super::selects;

    #[test]
    fn only_takes_prefixes_and_group_names() {
        assert!(selects("conv", "conv3x3_fwd"));
        assert!(selects("conv", "resnet20_train") && selects("conv", "plain20_train"));
        assert!(selects("landscape", "landscape_resnet20"));
        assert!(selects("landscape", "landscape_mlp_wide"));
        assert!(!selects("landscape", "resnet20_train"));
        assert!(selects("gemm", "gemm_f32"));
        assert!(!selects("conv", "gemm_f32"));
        assert!(!selects("mlp_deep", "mlp_wide_train"));
    }
}
