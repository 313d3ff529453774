//! The lecture's network f(x) = β₀ + Σₖ βₖ g(wₖ₀ + Σⱼ wₖⱼ xⱼ) with the half squared error:
//! its gradient by backpropagation next to the one derived by hand, for sigmoid and ReLU g.
//!
//! Run with `cargo run --example lecture_network`.

use discesa::nn::lecture::{autodiff_gradients, hand_gradients, LectureNet};
use discesa::nn::{init_params, Activation};
use discesa::tensor::Tensor;

fn main() -> Result<(), discesa::Error> {
    let (n, p, k) = (8, 3, 4);
    let x = Tensor::<f64>::rand_normal([n, p], 0.0, 1.0, 1).to_vec();
    let y = Tensor::<f64>::rand_normal([n], 0.0, 1.0, 2).to_vec();
    for g in [Activation::Sigmoid, Activation::Relu] {
        let net = LectureNet::new(p, k, g);
        let params = init_params(&net, 3)?;
        let hand = hand_gradients(&net, params.flat(), &x, &y)?;
        let (loss, auto) = autodiff_gradients(&net, &params, &x, &y)?;
        println!("g = {}: R = {loss:.10}", g.name());
        println!(
            "  {:<16} {:>20} {:>20}",
            "parameter", "backpropagation", "by hand"
        );
        for e in params.entries() {
            for i in 0..e.numel() {
                let at = e.offset + i;
                println!(
                    "  {:<16} {:>20.12e} {:>20.12e}",
                    format!("{}[{i}]", e.name),
                    auto[at],
                    hand[at]
                );
            }
        }
        let max = hand
            .iter()
            .zip(&auto)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        println!("  max |difference| = {max:.3e}\n");
    }
    Ok(())
}
