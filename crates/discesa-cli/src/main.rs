//! `discesa`: gradients, Hessians, descent paths and neural-network training from the command line.

mod cmd;
mod fail;

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
    /// Train an MLP on CSV, MNIST or npy data (progress, metrics, plots, checkpoints, resume).
    Train(Box<cmd::train::TrainArgs>),
    /// Score a checkpoint on labelled data.
    Evaluate(cmd::evaluate::EvaluateArgs),
    /// Write a checkpoint's predictions for new rows to a CSV file.
    Predict(cmd::predict::PredictArgs),
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version to stdout with code 0 and usage errors with code 2.
            let _ = e.print();
            std::process::exit(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Demo(a) => cmd::demo::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Train(a) => cmd::train::run(*a),
        Command::Evaluate(a) => cmd::evaluate::run(a),
        Command::Predict(a) => cmd::predict::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {}", e.message);
        std::process::exit(e.code);
    }
}
