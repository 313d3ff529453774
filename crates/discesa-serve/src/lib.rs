//! The local web server of `discesa serve`: one self-contained page (HTML, CSS and JavaScript
//! embedded in the binary) and a small JSON API over the library, for three views:
//!
//! - the **formula explorer**: parse with error columns, value, gradient, symbolic derivative,
//!   Hessian with eigenvalues and verdict, contour grids, descent paths of several optimizers;
//! - the **network playground**: small MLPs trained step by step on 2-D data sets, with the
//!   decision boundary, loss curves, per-layer gradient norms and one sample's backprop trace;
//! - the **training dashboard**: a run's metrics file followed live through server-sent events,
//!   and the surface of a `discesa landscape` output directory.
//!
//! Every request is bounded ([`limits`]), runs as a job with a deadline on a blocking thread,
//! and a panic inside it becomes a 500 answer rather than a dead server. The only files read
//! are the page's own embedded assets and the run files named at start-up.
//!
//! ```no_run
//! let server = discesa_serve::bind(&discesa_serve::ServeOptions::default()).unwrap();
//! println!("http://{}", server.local_addr());
//! server.run().unwrap();
//! ```
#![warn(missing_docs)]

mod assets;
mod dashboard;
mod data2d;
mod error;
mod formula_api;
mod jobs;
pub mod limits;
mod playground;
mod run_files;
mod trace;

pub use assets::page_bytes;
pub use data2d::{generate, DataSpec, Points};
pub use error::ApiError;
pub use playground::{PlayConfig, PlaySession, StepReport};
pub use run_files::{read_metrics, RunSource};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

/// Where to listen and what run (if any) the dashboard shows.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Interface to bind; 127.0.0.1 keeps the server private to this machine.
    pub host: String,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// A metrics file, a run directory holding one, or a `discesa landscape` output directory.
    pub run: Option<PathBuf>,
    /// How long one request may compute before it is cancelled, in milliseconds.
    pub job_ms: u64,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            host: "127.0.0.1".into(),
            port: 8421,
            run: None,
            job_ms: limits::JOB_MS,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The port is used by another program.
    #[error("port {port} on {host} is already in use (choose another with --port)")]
    PortTaken {
        /// The host asked for.
        host: String,
        /// The port asked for.
        port: u16,
    },
    /// Any other failure to listen (bad host name, no permission...).
    #[error("cannot listen on {addr}: {detail}")]
    Listen {
        /// `host:port` as asked.
        addr: String,
        /// The system's message.
        detail: String,
    },
    /// The run named with `--run` cannot be read.
    #[error("{0}")]
    Run(String),
    /// The async runtime could not start or the server stopped with an I/O error.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Shared by every request.
pub(crate) struct AppState {
    pub jobs: jobs::JobPool,
    pub sessions: playground::Sessions,
    pub run: Option<RunSource>,
}

/// A bound listener, ready to serve.
pub struct Server {
    listener: TcpListener,
    state: Arc<AppState>,
}

/// Binds the listening socket (so a taken port is reported before anything else happens) and
/// checks the run files named in `opts`.
pub fn bind(opts: &ServeOptions) -> Result<Server, ServeError> {
    let run = match &opts.run {
        Some(p) => Some(RunSource::open(p).map_err(ServeError::Run)?),
        None => None,
    };
    let addr = format!("{}:{}", opts.host, opts.port);
    let listener = TcpListener::bind(&addr).map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => ServeError::PortTaken {
            host: opts.host.clone(),
            port: opts.port,
        },
        _ => ServeError::Listen {
            addr: addr.clone(),
            detail: e.to_string(),
        },
    })?;
    listener.set_nonblocking(true)?;
    Ok(Server {
        listener,
        state: Arc::new(AppState {
            jobs: jobs::JobPool::new(limits::CONCURRENT_JOBS, opts.job_ms),
            sessions: playground::Sessions::default(),
            run,
        }),
    })
}

impl Server {
    /// The address actually bound (the port chosen when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until the process ends.
    pub fn run(self) -> Result<(), ServeError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(limits::CONCURRENT_JOBS + 4)
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(self.listener)?;
            axum::serve(listener, router(self.state)).await
        })?;
        Ok(())
    }

    /// Serves on a background thread (for `discesa train --serve` and tests); returns the
    /// address.
    pub fn spawn(self) -> SocketAddr {
        let addr = self.local_addr();
        std::thread::Builder::new()
            .name("discesa-serve".into())
            .spawn(move || {
                if let Err(e) = self.run() {
                    eprintln!("error: {e}");
                }
            })
            .expect("spawning the server thread");
        addr
    }
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/app.js", get(assets::script))
        .route("/style.css", get(assets::style))
        .route("/api/health", get(assets::health))
        .route("/api/formula/analyse", post(formula_api::analyse))
        .route("/api/formula/grid", post(formula_api::grid))
        .route("/api/formula/curve", post(formula_api::curve))
        .route("/api/formula/descend", post(formula_api::descend))
        .route("/api/play/new", post(playground::create))
        .route("/api/play/step", post(playground::step))
        .route("/api/play/trace", post(playground::trace_sample))
        .route("/api/run", get(dashboard::info))
        .route("/api/run/metrics", get(dashboard::metrics))
        .route("/api/run/events", get(dashboard::events))
        .route("/api/run/landscape", get(dashboard::landscape))
        .fallback(assets::not_found)
        .layer(DefaultBodyLimit::max(limits::BODY_BYTES))
        .with_state(state)
}
