//! Derivatives guide descent (1-D): step against f'(x); the step is proportional to the slope, so
//! it shrinks near the minimum; too large a learning rate overshoots and diverges.
//! f(x) = x², f'(x) = 2x, so x ← x − η·2x = (1 − 2η)x: converges for η < 1, diverges for η > 1.
//!
//! Run: `cargo run --release --example descent_1d`

use discesa::Tape;

fn descend(x0: f64, lr: f64, steps: usize) -> discesa::Result<Vec<(f64, f64)>> {
    let mut x = x0;
    let mut path = Vec::new();
    for _ in 0..steps {
        let tape = Tape::new();
        let xv = tape.scalar_var(x);
        let f = xv * xv;
        let slope = tape.backward(f)?.wrt(xv).item()?;
        path.push((x, slope));
        x -= lr * slope;
    }
    Ok(path)
}

fn main() -> discesa::Result<()> {
    for lr in [0.1, 0.45, 0.9, 1.1] {
        println!("η = {lr}:");
        for (k, (x, slope)) in descend(3.0, lr, 6)?.iter().enumerate() {
            println!(
                "  step {k}: x = {x:>10.4}, f'(x) = {slope:>10.4}, step = {:>10.4}",
                -lr * slope
            );
        }
    }
    println!("\nη = 0.9 overshoots (x changes sign every step) but converges; η = 1.1 diverges.");
    Ok(())
}
