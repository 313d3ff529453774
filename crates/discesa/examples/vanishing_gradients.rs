//! Vanishing gradients made visible: a 10-layer sigmoid MLP trained briefly on synthetic data,
//! with each layer's mean gradient norm per epoch. The first layers' norms sit orders of
//! magnitude below the last layer's. A ReLU network of the same shape is shown for contrast.
//!
//! Run with `cargo run --release --example vanishing_gradients [FIGURE.png]`.

use discesa::data::{Dataset, Targets, Task};
use discesa::nn::{Activation, MlpConfig};
use discesa::train::{plot_grad_norms, Silent, TrainConfig, Trainer};
use discesa::Tensor;

fn main() -> Result<(), discesa::train::TrainError> {
    let (n, f) = (512, 16);
    let x = Tensor::<f32>::rand_normal([n, f], 0.0, 1.0, 1).to_vec();
    let labels: Vec<usize> = x
        .chunks(f)
        .map(|r| usize::from(r[0] + r[1] > 0.0))
        .collect();
    let data = Dataset::new(
        x,
        (0..f).map(|i| format!("x{i}")).collect(),
        Targets::Classes {
            labels,
            class_names: vec!["neg".into(), "pos".into()],
        },
    )?;
    let rows: Vec<usize> = (0..n).collect();
    let figure = std::env::args().nth(1);
    for act in [Activation::Sigmoid, Activation::Relu] {
        let model = MlpConfig {
            inputs: f,
            hidden: vec![32; 10],
            outputs: 2,
            activation: act,
            dropout: vec![],
        };
        let config = TrainConfig {
            epochs: 5,
            batch_size: 32,
            lr: 0.05,
            optimizer: "sgd".parse()?,
            ..TrainConfig::default()
        };
        let mut t = Trainer::new(model, Task::Classification, config)?;
        t.fit(&data, &rows, &[], &mut Silent)?;
        let layers = t.layer_names();
        let history = &t.progress().history;
        println!(
            "{}-layer {} MLP: mean gradient norm per layer and epoch",
            layers.len(),
            act.name()
        );
        print!("{:>10}", "layer");
        for r in history {
            print!(" {:>11}", format!("epoch {}", r.epoch));
        }
        println!();
        for (i, l) in layers.iter().enumerate() {
            print!("{l:>10}");
            for r in history {
                print!(" {:>11.3e}", r.grad_norms[i]);
            }
            println!();
        }
        let last = history.last().expect("trained at least one epoch");
        let ratio = last.grad_norms[layers.len() - 1] / last.grad_norms[0];
        println!("last-layer / first-layer gradient norm: {ratio:.1e}\n");
        if let (Some(path), Activation::Sigmoid) = (&figure, act) {
            plot_grad_norms(std::path::Path::new(path), &layers, history)?;
            println!("figure written to {path}\n");
        }
    }
    Ok(())
}
