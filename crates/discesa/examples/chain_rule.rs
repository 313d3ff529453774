//! Gradients of formulas by the chain rule: the explicit derivative written by hand versus one
//! backward sweep of reverse-mode automatic differentiation, for the lecture's
//! f(x) = √(x² + e^{x²}) + cos(x² + e^{x²}).
//!
//! Run: `cargo run --release --example chain_rule`

use discesa::Tape;

/// The derivative written out by hand: u = x² + e^{x²}, u' = 2x + 2x e^{x²},
/// f' = u' (1 / (2√u) − sin u).
fn explicit_derivative(x: f64) -> f64 {
    let u = x * x + (x * x).exp();
    let du = 2.0 * x + 2.0 * x * (x * x).exp();
    du * (0.5 / u.sqrt() - u.sin())
}

fn main() -> discesa::Result<()> {
    println!(
        "{:>6} {:>22} {:>22} {:>10}",
        "x", "f'(x) by hand", "f'(x) by autodiff", "|diff|"
    );
    for x0 in [0.5, 1.0, 1.5, 2.0] {
        let tape = Tape::new();
        let x = tape.scalar_var(x0);
        let u = x * x + (x * x).exp();
        let f = u.sqrt() + u.cos();
        let g = tape.backward(f)?.wrt(x).item()?;
        let e = explicit_derivative(x0);
        println!("{x0:>6} {e:>22.12} {g:>22.12} {:>10.1e}", (g - e).abs());
    }
    println!("\nThe hand-written form grows with the formula; the tape needs no formula at all:");
    println!("it recorded the operations and swept them once backwards.");
    Ok(())
}
