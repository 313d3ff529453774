//! The HTTP API through a real socket: a server on port 0, plain HTTP/1.1 requests.

use discesa_serve::{bind, ServeOptions};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn server_with(run: Option<std::path::PathBuf>) -> SocketAddr {
    bind(&ServeOptions {
        port: 0,
        run,
        ..ServeOptions::default()
    })
    .unwrap()
    .spawn()
}

fn server() -> SocketAddr {
    server_with(None)
}

/// Sends one request and returns (status, headers, body).
fn raw(addr: SocketAddr, request: &[u8]) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, _, body) = raw(addr, req.as_bytes());
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

fn post(addr: SocketAddr, path: &str, body: Value) -> (u16, Value) {
    request(addr, "POST", path, &body.to_string())
}

#[test]
fn the_page_is_served_whole_and_nothing_else_from_disk() {
    let a = server();
    let (status, head, body) = raw(a, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 200);
    assert!(head.to_ascii_lowercase().contains("text/html"));
    assert!(body.contains("/app.js") && body.contains("Formula explorer"));
    for path in ["/app.js", "/style.css"] {
        let (s, _, b) = raw(
            a,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        assert_eq!(s, 200);
        assert!(b.len() > 100);
    }
    for path in [
        "/../Cargo.toml",
        "/etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/assets/app.js",
        "/api/run/metrics",
    ] {
        let (s, _, b) = raw(
            a,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        assert!(s == 404 || s == 400, "{path}: {s}");
        assert!(!b.contains("root:") && !b.contains("[workspace]"), "{path}");
    }
    assert!(discesa_serve::page_bytes() < 300 * 1024);
}

#[test]
fn formulas_parse_errors_and_verdicts() {
    let a = server();
    let (s, v) = post(
        a,
        "/api/formula/analyse",
        json!({"formula": "x^2 - y^2", "point": [0.0, 0.0]}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["at"]["verdict"], "saddle");
    assert_eq!(v["at"]["eigenvalues"], json!([-2.0, 2.0]));
    assert_eq!(v["symbolic"][0]["derivative"], "2*x");
    let (s, v) = post(a, "/api/formula/analyse", json!({"formula": "x^2 + * y"}));
    assert_eq!(s, 400);
    assert_eq!(v["column"], 5, "{v}");
    assert!(v["error"].as_str().unwrap().contains("column 5"), "{v}");
    let (s, v) = post(
        a,
        "/api/formula/analyse",
        json!({"formula": "log(x)", "point": [-1.0]}),
    );
    assert_eq!(s, 400);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("log of a negative number"),
        "{v}"
    );
    let (s, v) = post(
        a,
        "/api/formula/analyse",
        json!({"formula": "x+".repeat(300) + "x"}),
    );
    assert_eq!(s, 400);
    assert!(v["error"].as_str().unwrap().contains("at most"), "{v}");
}

#[test]
fn grids_curves_and_descents_are_bounded() {
    let a = server();
    let (s, v) = post(
        a,
        "/api/formula/grid",
        json!({"formula": "x^2+y^2", "x": [-1, 1], "y": [-1, 1], "nx": 3, "ny": 2}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["values"], json!([2.0, 1.0, 2.0, 2.0, 1.0, 2.0]));
    let (s, v) = post(
        a,
        "/api/formula/grid",
        json!({"formula": "x^2+y^2", "x": [-1, 1], "y": [-1, 1], "nx": 100000, "ny": 2}),
    );
    assert_eq!(s, 400);
    assert!(v["error"].as_str().unwrap().contains("nx"), "{v}");
    let (s, v) = post(
        a,
        "/api/formula/curve",
        json!({"formula": "x^3", "x": [0, 2], "n": 3}),
    );
    assert_eq!(s, 200);
    assert_eq!(v["slopes"], json!([0.0, 3.0, 12.0]));
    let (s, v) = post(
        a,
        "/api/formula/descend",
        json!({"formula": "x^2", "start": [3.0], "optimizers": ["gd"], "lr": 1.5, "steps": 500}),
    );
    assert_eq!(s, 200);
    assert_eq!(v["runs"][0]["stop"]["reason"], "diverged");
    for (body, needle) in [
        (
            json!({"formula": "x^2", "start": [3.0], "optimizers": ["lbfgs"], "lr": 0.1, "steps": 5}),
            "lbfgs",
        ),
        (
            json!({"formula": "x^2", "start": [3.0], "optimizers": ["gd"], "lr": 0.1, "steps": 1_000_000}),
            "at most",
        ),
        (
            json!({"formula": "x^2", "start": [3.0, 1.0], "optimizers": ["gd"], "lr": 0.1, "steps": 5}),
            "coordinates",
        ),
        (
            json!({"formula": "x^2", "start": [3.0], "optimizers": ["gd"], "lr": -1.0, "steps": 5}),
            "learning rate",
        ),
        (
            json!({"formula": "x^2", "start": [3.0], "optimizers": [], "lr": 0.1, "steps": 5}),
            "optimizers",
        ),
    ] {
        let (s, v) = post(a, "/api/formula/descend", body);
        assert_eq!(s, 400, "{v}");
        assert!(
            v["error"].as_str().unwrap().contains(needle),
            "{needle}: {v}"
        );
    }
}

#[test]
fn malformed_and_oversized_bodies_get_clear_answers() {
    let a = server();
    let (s, v) = request(a, "POST", "/api/formula/analyse", "{not json");
    assert_eq!(s, 400);
    assert!(
        v["error"].as_str().unwrap().contains("malformed JSON"),
        "{v}"
    );
    let (s, v) = request(a, "POST", "/api/formula/analyse", r#"{"formula": 3}"#);
    assert_eq!(s, 400, "{v}");
    let (s, v) = request(
        a,
        "POST",
        "/api/formula/analyse",
        r#"{"formula": "x", "extra": 1}"#,
    );
    assert_eq!(s, 400);
    assert!(v["error"].as_str().unwrap().contains("extra"), "{v}");
    let big = format!(r#"{{"formula": "{}"}}"#, "x".repeat(200_000));
    let (s, v) = request(a, "POST", "/api/formula/analyse", &big);
    assert_eq!(s, 413, "{v}");
    assert!(v["error"].as_str().unwrap().contains("bytes"), "{v}");
    // The server is still there.
    let (s, _) = request(a, "GET", "/api/health", "");
    assert_eq!(s, 200);
}

#[test]
fn playground_sessions_train_trace_and_refuse_oversized_networks() {
    let a = server();
    let cfg = json!({"dataset": "xor", "points": 200, "noise": 0.05, "train_ratio": 0.5, "seed": 1,
        "hidden": [8, 8], "activation": "tanh", "optimizer": "adam", "lr": 0.03, "batch_size": 16, "l2": 0.0});
    let (s, v) = post(a, "/api/play/new", cfg.clone());
    assert_eq!(s, 200, "{v}");
    let id = v["id"].as_u64().unwrap();
    assert_eq!(v["train"].as_array().unwrap().len(), 100);
    let (s, r) = post(
        a,
        "/api/play/step",
        json!({"id": id, "steps": 200, "boundary": 20}),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["step"], 200);
    assert_eq!(r["boundary"].as_array().unwrap().len(), 400);
    assert!(r["test_accuracy"].as_f64().unwrap() > 0.85, "{r}");
    let (s, t) = post(a, "/api/play/trace", json!({"id": id, "index": 0}));
    assert_eq!(s, 200, "{t}");
    assert_eq!(t["layers"].as_array().unwrap().len(), 3);
    let (s, _) = post(a, "/api/play/step", json!({"id": id, "steps": 100_000}));
    assert_eq!(s, 400);
    let (s, _) = post(a, "/api/play/step", json!({"id": 999_999, "steps": 1}));
    assert_eq!(s, 404);
    let mut wide = cfg.clone();
    wide["hidden"] = json!([100_000]);
    let (s, v) = post(a, "/api/play/new", wide);
    assert_eq!(s, 400);
    assert!(v["error"].as_str().unwrap().contains("width"), "{v}");
    let mut deep = cfg;
    deep["hidden"] = json!(vec![4; 50]);
    assert_eq!(post(a, "/api/play/new", deep).0, 400);
}

#[test]
fn a_taken_port_is_named() {
    let a = server();
    let e = bind(&ServeOptions {
        port: a.port(),
        ..ServeOptions::default()
    })
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains(&a.port().to_string()) && e.contains("in use"),
        "{e}"
    );
}

#[test]
fn the_dashboard_follows_a_growing_metrics_file_by_server_sent_events() {
    use discesa::train::{write_metrics, EpochRecord};
    let dir = std::env::temp_dir().join(format!("discesa-serve-sse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("metrics.csv");
    let rec = |epoch: usize| EpochRecord {
        epoch,
        step: epoch as u64,
        lr: 0.1,
        train_loss: 1.0 / epoch as f64,
        train_metric: 0.5,
        val_loss: None,
        val_metric: None,
        seconds: 0.1,
        samples_per_second: 10.0,
        grad_norms: vec![],
    };
    write_metrics(&file, &[rec(1)], &[]).unwrap();
    let a = server_with(Some(dir.clone()));
    let (s, v) = request(a, "GET", "/api/run", "");
    assert_eq!(s, 200);
    assert!(v["metrics"].as_str().unwrap().ends_with("metrics.csv"));
    let mut stream = TcpStream::connect(a).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /api/run/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    let started = Instant::now();
    let mut wrote_second = false;
    while started.elapsed() < Duration::from_secs(15) {
        let n = stream.read(&mut buf).unwrap_or(0);
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        if !wrote_second && seen.contains("event: metrics") {
            std::thread::sleep(Duration::from_millis(50));
            write_metrics(&file, &[rec(1), rec(2)], &[]).unwrap();
            wrote_second = true;
        }
        if seen.matches("event: metrics").count() >= 2 {
            break;
        }
    }
    assert!(seen.contains("text/event-stream"), "{seen}");
    assert!(seen.matches("event: metrics").count() >= 2, "{seen}");
    assert!(
        seen.contains("\"epoch\":2.0") || seen.contains("\"epoch\":2"),
        "{seen}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_request_that_computes_too_long_is_cancelled() {
    let a = bind(&ServeOptions {
        port: 0,
        job_ms: 30,
        ..ServeOptions::default()
    })
    .unwrap()
    .spawn();
    let f = "sin(x*y)*cos(x+y)+exp(-x^2)*sqrt(1+y^2)";
    let (s, v) = post(
        a,
        "/api/formula/descend",
        json!({"formula": f, "start": [0.3, 0.2],
        "optimizers": ["gd", "momentum", "nesterov", "rmsprop", "adam", "adamw"], "lr": 1e-6, "steps": 10000, "tol": 0.0}),
    );
    assert_eq!(s, 503, "{v}");
    assert!(v["error"].as_str().unwrap().contains("cancelled"), "{v}");
    let (s, _) = request(a, "GET", "/api/health", "");
    assert_eq!(s, 200);
}

/// Median wall time of `n` requests, in milliseconds.
fn median_ms(n: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..n)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[n / 2]
}

#[test]
fn response_times_of_the_explorer_and_playground() {
    let a = server();
    let descent = json!({"formula": "(1-x)^2 + 100*(y-x^2)^2", "start": [-1.5, 2.0],
        "optimizers": ["gd", "momentum", "nesterov", "rmsprop", "adam"], "lr": 0.0005, "steps": 500, "tol": 0.0});
    let d = median_ms(7, || {
        let (s, v) = post(a, "/api/formula/descend", descent.clone());
        assert_eq!(s, 200);
        assert_eq!(v["runs"][4]["points"].as_array().unwrap().len(), 501);
    });
    let grid = json!({"formula": "(1-x)^2 + 100*(y-x^2)^2", "x": [-2, 2], "y": [-1, 3], "nx": 200, "ny": 200});
    let g = median_ms(7, || {
        let (s, v) = post(a, "/api/formula/grid", grid.clone());
        assert_eq!(s, 200);
        assert_eq!(v["values"].as_array().unwrap().len(), 40_000);
    });
    let cfg = json!({"dataset": "spirals", "points": 600, "noise": 0.05, "train_ratio": 0.5, "seed": 1,
        "hidden": [8, 8], "activation": "tanh", "optimizer": "adam", "lr": 0.01, "batch_size": 16, "l2": 0.0});
    let id = post(a, "/api/play/new", cfg).1["id"].as_u64().unwrap();
    let p = median_ms(7, || {
        let (s, _) = post(
            a,
            "/api/play/step",
            json!({"id": id, "steps": 5, "boundary": 50}),
        );
        assert_eq!(s, 200);
    });
    println!(
        "descent 5 optimizers x 500 steps: {d:.1} ms; grid 200x200: {g:.1} ms; playground 2-8-8-2 request of 5 steps + 50x50 boundary: {p:.1} ms ({:.0} steps/s without drawing)",
        5000.0 / p
    );
    // Loose bounds (the machine is shared); the targets are 20 ms and 50 ms in a release build.
    assert!(d < 500.0 && g < 500.0 && p < 500.0, "{d} {g} {p}");
}
