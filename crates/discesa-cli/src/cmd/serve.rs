//! `discesa serve`: the formula explorer, network playground and training dashboard in the
//! browser, from a local web server (see the `discesa-serve` crate).

use crate::fail::{CmdResult, Fail};
use clap::Args;
use discesa_serve::{bind, ServeError, ServeOptions};
use std::path::{Path, PathBuf};

/// Options of `discesa serve`.
#[derive(Args)]
#[command(after_help = "Examples:
  discesa serve --open                      # http://127.0.0.1:8421
  discesa serve --port 9000 --run runs/mnist/metrics.csv
  discesa serve --run runs/landscape        # x.npy, y.npy, loss.npy, landscape.json
  discesa train ... --metrics runs/m.csv --serve   # the same dashboard while training")]
pub struct ServeArgs {
    /// Interface to listen on (127.0.0.1 keeps the page private to this machine).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 8421)]
    pub port: u16,
    /// Open the page in the default browser.
    #[arg(long)]
    pub open: bool,
    /// A training run to show: a metrics file (.csv/.jsonl), a directory with metrics.csv, or a
    /// `discesa landscape` output directory.
    #[arg(long, value_name = "FILE_OR_DIR")]
    pub run: Option<PathBuf>,
}

fn serve_fail(e: ServeError) -> Fail {
    match e {
        ServeError::Io(_) => Fail::runtime(e),
        _ => Fail::input(e),
    }
}

fn open_browser(url: &str) {
    let opened = std::process::Command::new("xdg-open")
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok();
    if !opened {
        eprintln!("could not start a browser (xdg-open): open {url} yourself");
    }
}

/// Runs `discesa serve` until interrupted.
pub fn run(a: ServeArgs) -> CmdResult {
    let server = bind(&ServeOptions {
        host: a.host.clone(),
        port: a.port,
        run: a.run.clone(),
        ..ServeOptions::default()
    })
    .map_err(serve_fail)?;
    let url = format!("http://{}/", server.local_addr());
    println!("discesa serve: {url}  (Ctrl-C to stop)");
    if a.open {
        open_browser(&url);
    }
    server.run().map_err(serve_fail)
}

/// Starts the dashboard of a training run on a background thread (`discesa train --serve`);
/// returns its address.
pub fn start_dashboard(metrics: Option<&Path>, port: u16) -> Result<String, Fail> {
    let metrics = metrics.ok_or_else(|| {
        Fail::input("--serve needs --metrics FILE (the dashboard follows that file)")
    })?;
    let server = bind(&ServeOptions {
        port,
        run: Some(metrics.to_path_buf()),
        ..ServeOptions::default()
    })
    .map_err(serve_fail)?;
    let addr = server.spawn();
    let url = format!("http://{addr}/#dashboard");
    eprintln!("dashboard: {url}");
    Ok(url)
}

/// Keeps a finished run's dashboard up until the process is interrupted.
pub fn keep_serving(url: &str) -> ! {
    eprintln!("training finished; the dashboard stays at {url} (Ctrl-C to stop)");
    loop {
        std::thread::park();
    }
}
