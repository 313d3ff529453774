//! `discesa bench`: the same workloads as the peer scripts (PyTorch, JAX), timed the same way,
//! printed as `RESULT discesa <workload> <size> <threads> <value> <unit> [key=value ...]`.

use crate::fail::{CmdResult, Fail};
use clap::Args;
use discesa::autodiff::Tape;
use discesa::tensor::{gemm_into, set_num_threads};
use discesa::{Tensor, Var};
use std::sync::Arc;
use std::time::Instant;

/// Options of `discesa bench`.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  discesa bench --threads 1\n  discesa bench --only gemm_f32,scalar_chain --quick --json"
)]
pub struct BenchArgs {
    /// Threads for the kernels (1 or 2 on this machine's peers); default: all cores.
    #[arg(long)]
    threads: Option<usize>,
    /// Comma-separated workload prefixes to run (gemm_f32, mlp_wide_fwdbwd, scalar_chain,
    /// fd_vs_backprop, mlp_wide_train, mlp_deep_train).
    #[arg(long)]
    only: Option<String>,
    /// Three timed repetitions instead of seven.
    #[arg(long)]
    quick: bool,
    /// Batch sizes for the training workloads.
    #[arg(long, default_value = "16,64,256,1024", value_delimiter = ',')]
    batches: Vec<usize>,
    /// Print one JSON object per figure instead of RESULT lines.
    #[arg(long)]
    json: bool,
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

fn spread(m: (f64, f64, f64)) -> (&'static str, String) {
    ("spread", format!("{:.3}", (m.2 - m.1) / m.0))
}

pub fn run(a: BenchArgs) -> CmdResult {
    let threads = match a.threads {
        Some(0) => return Err(Fail::input("--threads must be at least 1")),
        Some(t) => t,
        None => discesa::tensor::num_threads(),
    };
    set_num_threads(threads);
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
    {
        return Err(Fail::runtime(format!(
            "cannot set up {threads} worker threads: {e}"
        )));
    }
    let reps = if a.quick { 3 } else { 7 };
    let want = |name: &str| match &a.only {
        None => true,
        Some(list) => list.split(',').any(|p| name.starts_with(p.trim())),
    };
    if a.batches.is_empty() || a.batches.contains(&0) {
        return Err(Fail::input(
            "--batches needs positive batch sizes, e.g. 16,64,256",
        ));
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
    if want("mlp_wide_fwdbwd_over_fwd") {
        fwd_bwd_ratio(&out, reps);
    }
    if want("scalar_chain") {
        scalar_chain(&out, reps);
    }
    if want("fd_vs_backprop") {
        fd_vs_backprop(&out);
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
                let mut net = Mlp::new(&dims, 0);
                let x = Tensor::<f32>::rand_normal([b, dims[0]], 0.0, 1.0, 3);
                let labels: Vec<usize> = (0..b).map(|i| (i * 7 + 3) % 10).collect();
                let mut loss = 0.0;
                let m = time_steps(reps, || loss = net.sgd_step(&x, &labels, 0.01));
                out.emit(
                    name,
                    b,
                    m.0 * b as f64,
                    "samples/s",
                    &[spread(m), ("loss", format!("{loss:.4}"))],
                );
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

/// A ReLU MLP with its parameters in one flat buffer (PyTorch layout: weight `[out, in]`).
struct Mlp {
    dims: Vec<usize>,
    flat: Arc<[f32]>,
    grad: Vec<f32>,
    tape: Tape<f32>,
}

impl Mlp {
    fn new(dims: &[usize], seed: u64) -> Self {
        let mut v = Vec::new();
        for (i, w) in dims.windows(2).enumerate() {
            let bound = 1.0 / (w[0] as f32).sqrt();
            v.extend(
                Tensor::<f32>::rand_uniform([w[1], w[0]], -bound, bound, seed + i as u64).to_vec(),
            );
            v.extend(
                Tensor::<f32>::rand_uniform([w[1]], -bound, bound, seed + 100 + i as u64).to_vec(),
            );
        }
        let n = v.len();
        Mlp {
            dims: dims.to_vec(),
            flat: Arc::from(v),
            grad: vec![0.0; n],
            tape: Tape::with_capacity(256),
        }
    }

    fn n_params(&self) -> usize {
        self.flat.len()
    }

    /// Views of every weight and bias inside the flat buffer, in order.
    fn views(&self) -> Vec<Tensor<f32>> {
        let mut off = 0;
        let mut out = Vec::new();
        for w in self.dims.windows(2) {
            out.push(Tensor::from_shared(self.flat.clone(), off, [w[1], w[0]]).expect("fits"));
            off += w[0] * w[1];
            out.push(Tensor::from_shared(self.flat.clone(), off, [w[1]]).expect("fits"));
            off += w[1];
        }
        out
    }

    fn logits<'t>(tape: &'t Tape<f32>, params: &[Var<'t, f32>], x: &Tensor<f32>) -> Var<'t, f32> {
        let mut h = tape.constant(x.clone());
        let layers = params.len() / 2;
        for l in 0..layers {
            h = h.matmul_t(params[2 * l], false, true).expect("shapes") + params[2 * l + 1];
            if l + 1 < layers {
                h = h.relu();
            }
        }
        h
    }

    fn loss<'t>(
        tape: &'t Tape<f32>,
        params: &[Var<'t, f32>],
        x: &Tensor<f32>,
        labels: &[usize],
    ) -> Var<'t, f32> {
        let logits = Self::logits(tape, params, x);
        let b = labels.len();
        -logits
            .log_softmax(1)
            .expect("2-D")
            .gather(1, labels, [b, 1])
            .expect("labels in range")
            .mean_all()
    }

    /// One training step: forward, loss, backward, SGD update; returns the loss.
    fn sgd_step(&mut self, x: &Tensor<f32>, labels: &[usize], lr: f32) -> f32 {
        self.tape.clear();
        let loss = {
            let views = self.views();
            let params: Vec<_> = views.into_iter().map(|t| self.tape.var(t)).collect();
            let loss = Self::loss(&self.tape, &params, x, labels);
            let g = self.tape.backward(loss).expect("scalar loss");
            let mut off = 0;
            for p in &params {
                let gs = g.wrt(*p);
                let s = gs.as_slice();
                self.grad[off..off + s.len()].copy_from_slice(s);
                off += s.len();
            }
            loss.item().expect("scalar")
        };
        self.tape.clear();
        let flat = Arc::get_mut(&mut self.flat).expect("no views outlive the step");
        for (p, g) in flat.iter_mut().zip(&self.grad) {
            *p -= lr * g;
        }
        loss
    }
}

/// Forward+backward time over forward time for the 784-256-256-10 MLP at batch 256.
fn fwd_bwd_ratio(out: &Out, reps: usize) {
    let b = 256;
    let mut net = Mlp::new(&[784, 256, 256, 10], 0);
    let x = Tensor::<f32>::rand_normal([b, 784], 0.0, 1.0, 3);
    let labels: Vec<usize> = (0..b).map(|i| (i * 7 + 3) % 10).collect();
    let fwd = time_steps(reps, || {
        net.tape.clear();
        let params: Vec<_> = net.views().into_iter().map(|t| net.tape.var(t)).collect();
        std::hint::black_box(
            Mlp::loss(&net.tape, &params, &x, &labels)
                .item()
                .expect("scalar"),
        );
    });
    let fwd_nograd = time_steps(reps, || {
        net.tape.clear();
        net.tape.no_grad(|| {
            let params: Vec<_> = net
                .views()
                .into_iter()
                .map(|t| net.tape.constant(t))
                .collect();
            std::hint::black_box(
                Mlp::loss(&net.tape, &params, &x, &labels)
                    .item()
                    .expect("scalar"),
            );
        })
    });
    let fwd_bwd = time_steps(reps, || {
        net.tape.clear();
        let params: Vec<_> = net.views().into_iter().map(|t| net.tape.var(t)).collect();
        let loss = Mlp::loss(&net.tape, &params, &x, &labels);
        let g = net.tape.backward(loss).expect("scalar");
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
    let dims = [128, 256, 256, 10];
    let b = 16;
    let net = Mlp::new(&dims, 5);
    let x = Tensor::<f32>::rand_normal([b, 128], 0.0, 1.0, 6);
    let labels: Vec<usize> = (0..b).map(|i| i % 10).collect();
    let n = net.n_params();
    let mut tape = Tape::<f32>::new();
    let t0 = Instant::now();
    let reps = 20;
    for _ in 0..reps {
        tape.clear();
        let params: Vec<_> = net.views().into_iter().map(|t| tape.var(t)).collect();
        let loss = Mlp::loss(&tape, &params, &x, &labels);
        std::hint::black_box(
            tape.backward(loss)
                .expect("scalar")
                .wrt(params[0])
                .as_slice()[0],
        );
    }
    let t_bp = t0.elapsed().as_secs_f64() / reps as f64;
    // Central differences: perturb each parameter in a private copy and run two forwards.
    let mut flat: Vec<f32> = net.flat.to_vec();
    let eps = 1e-2f32;
    let eval = |flat: &[f32], tape: &mut Tape<f32>| -> f32 {
        tape.clear();
        let buf: Arc<[f32]> = Arc::from(flat);
        let mut off = 0;
        let mut ps = Vec::new();
        for w in dims.windows(2) {
            ps.push(
                tape.constant(Tensor::from_shared(buf.clone(), off, [w[1], w[0]]).expect("fits")),
            );
            off += w[0] * w[1];
            ps.push(tape.constant(Tensor::from_shared(buf.clone(), off, [w[1]]).expect("fits")));
            off += w[1];
        }
        let l = tape.no_grad(|| Mlp::loss(tape, &ps, &x, &labels).item().expect("scalar"));
        l
    };
    let t0 = Instant::now();
    let mut fd = vec![0f32; n];
    for i in 0..n {
        let v = flat[i];
        flat[i] = v + eps;
        let lp = eval(&flat, &mut tape);
        flat[i] = v - eps;
        let lm = eval(&flat, &mut tape);
        flat[i] = v;
        fd[i] = (lp - lm) / (2.0 * eps);
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
