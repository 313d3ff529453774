//! Quadratic forms xᵀAx: bowl (positive definite), saddle (indefinite), upside-down bowl
//! (negative definite). The Hessian, obtained by differentiating the recorded gradient, is
//! A + Aᵀ; the signs of its eigenvalues tell the three apart.
//!
//! Run: `cargo run --release --example quadratic_forms`

use discesa::autodiff::hessian;
use discesa::Tensor;

fn eigenvalues_2x2(h: &[f64]) -> (f64, f64) {
    let (a, b, d) = (h[0], 0.5 * (h[1] + h[2]), h[3]);
    let mean = 0.5 * (a + d);
    let r = (0.25 * (a - d) * (a - d) + b * b).sqrt();
    (mean - r, mean + r)
}

fn main() -> discesa::Result<()> {
    let forms = [
        ("bowl x² + y²", [1.0, 0.0, 0.0, 1.0]),
        ("saddle x² − y²", [1.0, 0.0, 0.0, -1.0]),
        ("upside-down bowl −(x² + y²)", [-1.0, 0.0, 0.0, -1.0]),
        ("2x² + 2xy + 3y²", [2.0, 2.0, 0.0, 3.0]),
    ];
    let x = Tensor::from_vec(vec![0.3, -0.7], [2, 1])?;
    for (name, a) in forms {
        let at = Tensor::from_vec(a.to_vec(), [2, 2])?;
        let h = hessian(
            |x| {
                let a = x.tape().constant(at.clone());
                Ok(x.matmul_t(a.matmul(x)?, true, false)?.sum_all())
            },
            &x,
        )?;
        let (l1, l2) = eigenvalues_2x2(h.as_slice());
        let kind = match (l1 > 0.0, l2 > 0.0, l1 < 0.0, l2 < 0.0) {
            (true, true, _, _) => "minimum (positive definite)",
            (_, _, true, true) => "maximum (negative definite)",
            _ if l1 * l2 < 0.0 => "saddle (indefinite)",
            _ => "degenerate",
        };
        println!(
            "{name:<30} H = {:?}  eigenvalues = ({l1:.3}, {l2:.3})  → {kind}",
            h.to_vec()
        );
    }
    Ok(())
}
