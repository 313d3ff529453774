//! The lecture's single-hidden-layer network `f(x) = β₀ + Σₖ βₖ g(wₖ₀ + Σⱼ wₖⱼ xⱼ)` with the
//! half squared error, and its gradient derived by hand, to compare with backpropagation.

use super::module::{ForwardCtx, Module};
use super::params::{ParamSpec, ParamStore};
use super::{half_mse, Activation, Linear, Sequential};
use crate::autodiff::{Tape, Var};
use crate::error::{invalid, Result};
use crate::tensor::Tensor;

/// The network: `p` inputs, `K` hidden units with activation `g`, one output.
///
/// Parameters (flat layout): `hidden.weight` = `wₖⱼ` `[K, p]`, `hidden.bias` = `wₖ₀` `[K]`,
/// `output.weight` = `βₖ` `[1, K]`, `output.bias` = `β₀` `[1]`.
pub struct LectureNet {
    /// Inputs `p`.
    pub inputs: usize,
    /// Hidden units `K`.
    pub hidden: usize,
    /// Activation `g`.
    pub g: Activation,
    hidden_layer: Sequential<f64>,
    output_layer: Sequential<f64>,
}

impl LectureNet {
    /// The network with `inputs` inputs, `hidden` hidden units and activation `g`.
    pub fn new(inputs: usize, hidden: usize, g: Activation) -> Self {
        LectureNet {
            inputs,
            hidden,
            g,
            hidden_layer: Sequential::new("").push(Linear::xavier(inputs, hidden)),
            output_layer: Sequential::new("").push(Linear::xavier(hidden, 1)),
        }
    }
}

impl Module<f64> for LectureNet {
    fn describe(&self) -> String {
        format!(
            "LectureNet({} → {} {} → 1)",
            self.inputs,
            self.hidden,
            self.g.name()
        )
    }

    fn param_specs(&self) -> Vec<ParamSpec> {
        let rename = |prefix: &'static str, specs: Vec<ParamSpec>| -> Vec<ParamSpec> {
            specs
                .into_iter()
                .map(|mut s| {
                    s.name = format!("{prefix}.{}", s.name.trim_start_matches("0."));
                    s
                })
                .collect()
        };
        let mut out = rename("hidden", self.hidden_layer.param_specs());
        out.extend(rename("output", self.output_layer.param_specs()));
        out
    }

    fn num_param_tensors(&self) -> usize {
        4
    }

    fn forward<'t>(
        &self,
        x: Var<'t, f64>,
        params: &[Var<'t, f64>],
        _buffers: &mut [Tensor<f64>],
        ctx: &ForwardCtx,
    ) -> Result<Var<'t, f64>> {
        super::module::expect_params("LectureNet", params, 4)?;
        let z = self.hidden_layer.forward(x, &params[..2], &mut [], ctx)?;
        let a = self.g.apply(z)?;
        self.output_layer.forward(a, &params[2..], &mut [], ctx)
    }
}

fn check_data(net: &LectureNet, params: &[f64], x: &[f64], y: &[f64]) -> Result<()> {
    let (p, k) = (net.inputs, net.hidden);
    let want = k * p + k + k + 1;
    if params.len() != want || x.len() != y.len() * p || y.is_empty() {
        return Err(invalid(
            "lecture",
            format!(
                "need {want} parameters, n×{p} inputs and n targets (n ≥ 1); got {}, {}, {}",
                params.len(),
                x.len(),
                y.len()
            ),
        ));
    }
    Ok(())
}

/// Gradient of `R = (1/n) Σᵢ ½ (yᵢ − f(xᵢ))²` written by hand, in the flat parameter layout:
/// with `zᵢₖ = wₖ₀ + Σⱼ wₖⱼ xᵢⱼ`,
/// `∂Rᵢ/∂βₖ = −(yᵢ − f(xᵢ)) g(zᵢₖ)`, `∂Rᵢ/∂β₀ = −(yᵢ − f(xᵢ))`,
/// `∂Rᵢ/∂wₖⱼ = −(yᵢ − f(xᵢ)) βₖ g′(zᵢₖ) xᵢⱼ`, `∂Rᵢ/∂wₖ₀ = −(yᵢ − f(xᵢ)) βₖ g′(zᵢₖ)`.
/// `x` is row-major `n × p`.
pub fn hand_gradients(net: &LectureNet, params: &[f64], x: &[f64], y: &[f64]) -> Result<Vec<f64>> {
    check_data(net, params, x, y)?;
    let (p, k) = (net.inputs, net.hidden);
    let (w, rest) = params.split_at(k * p);
    let (w0, rest) = rest.split_at(k);
    let (beta, beta0) = rest.split_at(k);
    let mut grad = vec![0.0; params.len()];
    let (gw, grest) = grad.split_at_mut(k * p);
    let (gw0, grest) = grest.split_at_mut(k);
    let (gbeta, gbeta0) = grest.split_at_mut(k);
    let mut z = vec![0.0; k];
    for (xi, &yi) in x.chunks_exact(p).zip(y) {
        for (kk, zk) in z.iter_mut().enumerate() {
            *zk = w0[kk] + (0..p).map(|j| w[kk * p + j] * xi[j]).sum::<f64>();
        }
        let f = beta0[0] + (0..k).map(|kk| beta[kk] * net.g.value(z[kk])).sum::<f64>();
        let r = -(yi - f);
        gbeta0[0] += r;
        for kk in 0..k {
            gbeta[kk] += r * net.g.value(z[kk]);
            let back = r * beta[kk] * net.g.derivative(z[kk]);
            gw0[kk] += back;
            for j in 0..p {
                gw[kk * p + j] += back * xi[j];
            }
        }
    }
    let n = y.len() as f64;
    grad.iter_mut().for_each(|g| *g /= n);
    Ok(grad)
}

/// The same gradient by backpropagation on the tape (half-MSE loss), and the loss value.
pub fn autodiff_gradients(
    net: &LectureNet,
    params: &ParamStore<f64>,
    x: &[f64],
    y: &[f64],
) -> Result<(f64, Vec<f64>)> {
    check_data(net, params.flat(), x, y)?;
    let tape = Tape::new();
    let leaves = params.leaves(&tape);
    let xs = tape.constant(Tensor::from_vec(x.to_vec(), [y.len(), net.inputs])?);
    let target = Tensor::from_vec(y.to_vec(), [y.len(), 1])?;
    let out = net.forward(xs, &leaves, &mut [], &ForwardCtx::eval())?;
    let loss = half_mse(out, &target)?;
    let g = tape.backward(loss)?;
    let mut flat = Vec::new();
    params.gather_grads(&g, &leaves, &mut flat);
    Ok((loss.item()?, flat))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::init_params;

    fn data(n: usize, p: usize) -> (Vec<f64>, Vec<f64>) {
        let x = Tensor::<f64>::rand_normal([n, p], 0.0, 1.0, 11).to_vec();
        let y = Tensor::<f64>::rand_normal([n], 0.0, 1.0, 12).to_vec();
        (x, y)
    }

    #[test]
    fn hand_gradients_equal_backprop_for_sigmoid_and_relu() {
        let (x, y) = data(25, 3);
        for g in [Activation::Sigmoid, Activation::Relu] {
            let net = LectureNet::new(3, 6, g);
            let params = init_params(&net, 5).unwrap();
            let names: Vec<&str> = params.entries().iter().map(|e| e.name.as_str()).collect();
            assert_eq!(
                names,
                [
                    "hidden.weight",
                    "hidden.bias",
                    "output.weight",
                    "output.bias"
                ]
            );
            let hand = hand_gradients(&net, params.flat(), &x, &y).unwrap();
            let (_, auto) = autodiff_gradients(&net, &params, &x, &y).unwrap();
            let max = hand
                .iter()
                .zip(&auto)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(max <= 1e-12, "{g:?}: max difference {max:e}");
            assert!(
                hand.iter().any(|&v| v.abs() > 1e-3),
                "gradient is not trivially zero"
            );
        }
    }

    #[test]
    fn wrong_sizes_are_errors() {
        let net = LectureNet::new(2, 3, Activation::Tanh);
        assert!(hand_gradients(&net, &[0.0; 4], &[0.0; 2], &[0.0]).is_err());
    }
}
