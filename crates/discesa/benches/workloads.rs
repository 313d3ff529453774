//! `cargo bench`: the `discesa bench` workloads (quick mode). Set `DISCESA_BENCH_ONLY` to a
//! comma-separated list of workload prefixes to run a subset.

fn main() {
    let opts = discesa::bench::BenchOptions {
        only: std::env::var("DISCESA_BENCH_ONLY").ok(),
        quick: true,
        ..Default::default()
    };
    if let Err(e) = discesa::bench::run(&opts) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}
