//! `discesa`: gradients, Hessians, descent paths and neural-network training from the command line.
//!
//! The program is this library's [`main`], called by two executables: `discesa`, and with the
//! `mpi` feature `discesa-mpi`, the same program linked with the MPI library, which `discesa`
//! hands over to under an MPI launcher (see [`mpi_link`]).

/// mimalloc keeps freed pages for reuse: large tensors of a training step are recycled instead
/// of being returned to the kernel and faulted in again at the next step (see [`keep_freed_pages`]).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (mimalloc.h); libmimalloc-sys names
/// only the options that kept their place since mimalloc 1.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Turns off mimalloc's purging of freed memory. By default pages unused for 10 ms go back to
/// the kernel; a training step frees its activations and allocates them again a few
/// milliseconds later, so every step paid for zeroing fresh pages (a seventh of a ResNet step).
/// The resident size stays at its peak instead, which training reaches anyway.
fn keep_freed_pages() {
    // SAFETY: setting an option is allowed at any time; an out-of-range option is ignored.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

/// A closed pipe on stdout (`discesa bench | head -1`) ends the process quietly, as it ends
/// `cat` or `grep`, instead of a panic in `println!`. Not for `serve`, whose sockets must not
/// take the process down, nor under an MPI launcher, whose transports handle the signal.
fn quiet_on_closed_pipe(command: &Command) {
    if matches!(command, Command::Serve(_)) || discesa::dist::mpi_rank().is_some() {
        return;
    }
    #[cfg(unix)]
    // SAFETY: restoring a signal's default disposition before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

mod cmd;
mod fail;
pub mod mpi_link;

use clap::{Parser, Subcommand};

/// Reverse-mode automatic differentiation and gradient descent you can see.
#[derive(Parser)]
#[command(name = "discesa", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the built-in demo: a formula's gradient, a descent path, and a small network trained.
    Demo(cmd::demo::DemoArgs),
    /// Measure kernels, autodiff overhead and training throughput (one RESULT line per figure).
    Bench(cmd::bench::BenchArgs),
    /// A formula's value and gradient by reverse-mode AD, with explicit derivatives and a finite-difference check.
    Grad(cmd::grad::GradArgs),
    /// A formula's Hessian by differentiating the gradient, its eigenvalues, and what the point is.
    Hessian(cmd::hessian::HessianArgs),
    /// Gradient descent (or momentum, nesterov, adam) on a formula: the path, why it stopped, pictures.
    Descend(cmd::descend::DescendArgs),
    /// Regenerate the lecture's pictures of gradient descent into a directory.
    Gallery(cmd::gallery::GalleryArgs),
    /// Train an MLP on CSV, MNIST or npy data (progress, metrics, plots, checkpoints, resume).
    Train(Box<cmd::train::TrainArgs>),
    /// Score a checkpoint on labelled data.
    Evaluate(cmd::evaluate::EvaluateArgs),
    /// Write a checkpoint's predictions for new rows to a CSV file.
    Predict(cmd::predict::PredictArgs),
    /// The formula explorer, network playground and training dashboard in the browser.
    Serve(cmd::serve::ServeArgs),
    /// Loss landscapes of a checkpoint: normalised directions, PCA trajectories, Hessian maps.
    Landscape(Box<cmd::landscape::LandscapeArgs>),
}

/// Runs the command line of this process (a failure exits with its code); `mpi` is what an
/// executable linked with MPI supplies (`None` in `discesa`).
pub fn main(mpi: Option<mpi_link::MpiEntry>) {
    keep_freed_pages();
    if let Some(entry) = mpi {
        mpi_link::register(entry);
    }
    if mpi_link::entry().is_none() && cfg!(feature = "mpi") && discesa::dist::mpi_rank().is_some() {
        if let Err(e) = mpi_link::hand_over() {
            exit_with(e);
        }
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version to stdout with code 0 and usage errors with code 2; under
            // an MPI launcher every rank finds the same mistake, and rank 0 says it.
            let code = if e.use_stderr() { 2 } else { 0 };
            if code == 0 || discesa::dist::mpi_rank().unwrap_or(0) == 0 {
                let _ = e.print();
                std::process::exit(code);
            }
            exit_after_rank_0_spoke(code);
        }
    };
    quiet_on_closed_pipe(&cli.command);
    let result = match cli.command {
        Command::Demo(a) => cmd::demo::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Grad(a) => cmd::grad::run(a),
        Command::Hessian(a) => cmd::hessian::run(a),
        Command::Descend(a) => cmd::descend::run(a),
        Command::Gallery(a) => cmd::gallery::run(a),
        Command::Train(a) => cmd::train::run(*a),
        Command::Evaluate(a) => cmd::evaluate::run(a),
        Command::Predict(a) => cmd::predict::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Landscape(a) => cmd::landscape::run_cmd(*a),
    };
    if let Err(e) = result {
        exit_with(e);
    }
}

/// Prints a failure as one line and exits with its code.
fn exit_with(e: fail::Fail) -> ! {
    match discesa::dist::mpi_rank() {
        // The ranks' start-up vote printed what had to be said.
        _ if e.said => {}
        // Every rank found it from the same command line: rank 0 says it.
        Some(r) if r > 0 && e.on_every_rank => exit_after_rank_0_spoke(e.code),
        // Under an MPI launcher the same error usually happens on every rank: rank 0 says it at
        // once; another rank says it (named) only if the job is still alive a moment later,
        // i.e. when the failure was its own.
        Some(r) if r > 0 => {
            std::thread::sleep(RANK_0_FIRST);
            e.print(r);
        }
        _ => e.print(0),
    }
    std::process::exit(e.code);
}

/// How long a rank other than 0 waits before leaving silently or saying its own failure.
const RANK_0_FIRST: std::time::Duration = std::time::Duration::from_secs(2);

/// Exits a rank other than 0 silently, after rank 0 has had time to say the shared mistake:
/// Open MPI ends the whole job when the first rank fails, so leaving at once could kill rank 0
/// before its line is out.
fn exit_after_rank_0_spoke(code: i32) -> ! {
    std::thread::sleep(RANK_0_FIRST);
    std::process::exit(code);
}
