//! `discesa demo`: the lecture in one command, on built-in data (no download).

use crate::fail::{CmdResult, Fail};
use clap::Args;
use discesa::autodiff::{hessian, Tape};
use discesa::Tensor;

/// Options of `discesa demo`.
#[derive(Args)]
pub struct DemoArgs {}

pub fn run(_a: DemoArgs) -> CmdResult {
    chain_rule()?;
    saddle()?;
    Ok(())
}

/// The lecture's f(x) = √(x² + e^{x²}) + cos(x² + e^{x²}): value and derivative by backpropagation.
fn chain_rule() -> CmdResult {
    println!("f(x) = sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2))");
    for x0 in [0.5f64, 1.0, 2.0] {
        let tape = Tape::new();
        let x = tape.scalar_var(x0);
        let u = x * x + (x * x).exp();
        let f = u.sqrt() + u.cos();
        let g = tape.backward(f).map_err(Fail::runtime)?;
        println!(
            "  x = {x0}: f = {:.12}, f'(x) = {:.12} (by one backward sweep over {} recorded nodes)",
            f.item().map_err(Fail::runtime)?,
            g.wrt(x).item().map_err(Fail::runtime)?,
            tape.len()
        );
    }
    Ok(())
}

/// Bowl versus saddle: the Hessian's eigenvalues, from differentiating the gradient.
fn saddle() -> CmdResult {
    let at = Tensor::from_vec(vec![0.0f64, 0.0], [2]).map_err(Fail::runtime)?;
    for (name, sign) in [("x^2 + y^2 (bowl)", 1.0), ("x^2 - y^2 (saddle)", -1.0)] {
        let h = hessian(
            |v| {
                let x = v.narrow(0, 0, 1)?;
                let y = v.narrow(0, 1, 1)?;
                Ok((x * x + y * y * sign).sum_all())
            },
            &at,
        )
        .map_err(Fail::runtime)?;
        println!("Hessian of {name} at (0, 0): {:?}", h.to_vec());
    }
    Ok(())
}
