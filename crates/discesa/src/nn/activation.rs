//! Element-wise non-linearities, composed from the engine's differentiable primitives.

use super::module::stateless_module;
use crate::autodiff::Var;
use crate::error::{invalid, Result};
use crate::tensor::Element;
use serde::{Deserialize, Serialize};

/// A non-linearity `g` applied element by element.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `max(x, slope·x)` for a slope below 1.
    LeakyRelu(f64),
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic function `1 / (1 + e^{−x})`.
    Sigmoid,
    /// Gaussian error linear unit, tanh approximation:
    /// `½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
    Gelu,
    /// No non-linearity.
    Identity,
}

const GELU_C: f64 = 0.044_715;

impl Activation {
    /// Parses `relu`, `leaky_relu` (slope 0.01), `leaky_relu:0.2`, `tanh`, `sigmoid`, `gelu`,
    /// `identity`.
    pub fn parse(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let (name, arg) = match lower.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (lower.as_str(), None),
        };
        let bad = || {
            invalid(
                "activation",
                format!(
                    "unknown activation `{s}`; valid: relu, leaky_relu[:slope], tanh, sigmoid, gelu, identity"
                ),
            )
        };
        match (name, arg) {
            ("relu", None) => Ok(Activation::Relu),
            ("leaky_relu" | "leakyrelu", None) => Ok(Activation::LeakyRelu(0.01)),
            ("leaky_relu" | "leakyrelu", Some(a)) => match a.parse::<f64>() {
                Ok(v) if v.is_finite() && (0.0..1.0).contains(&v) => Ok(Activation::LeakyRelu(v)),
                _ => Err(invalid(
                    "activation",
                    format!("leaky_relu slope `{a}` must be a number in [0, 1)"),
                )),
            },
            ("tanh", None) => Ok(Activation::Tanh),
            ("sigmoid", None) => Ok(Activation::Sigmoid),
            ("gelu", None) => Ok(Activation::Gelu),
            ("identity" | "linear" | "none", None) => Ok(Activation::Identity),
            _ => Err(bad()),
        }
    }

    /// The name used in module descriptions and configs.
    pub fn name(&self) -> String {
        match self {
            Activation::Relu => "relu".into(),
            Activation::LeakyRelu(s) => format!("leaky_relu:{s}"),
            Activation::Tanh => "tanh".into(),
            Activation::Sigmoid => "sigmoid".into(),
            Activation::Gelu => "gelu".into(),
            Activation::Identity => "identity".into(),
        }
    }

    /// True for the ReLU family, whose layers are best initialised with He rather than Xavier.
    pub fn prefers_he_init(&self) -> bool {
        matches!(
            self,
            Activation::Relu | Activation::LeakyRelu(_) | Activation::Gelu
        )
    }

    /// Applies `g` to a recorded variable.
    pub fn apply<'t, T: Element>(&self, x: Var<'t, T>) -> Result<Var<'t, T>> {
        Ok(match *self {
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(slope) => x.maximum(x.mul_scalar(T::from_f64(slope)))?,
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Gelu => {
                let k = T::from_f64((2.0 / std::f64::consts::PI).sqrt());
                let inner = (x + x.powi(3).mul_scalar(T::from_f64(GELU_C))).mul_scalar(k);
                (x * inner.tanh().add_scalar(T::one())).mul_scalar(T::from_f64(0.5))
            }
            Activation::Identity => x,
        })
    }

    /// `g(z)` on a number (for hand-written gradients).
    pub fn value(&self, z: f64) -> f64 {
        match *self {
            Activation::Relu => z.max(0.0),
            Activation::LeakyRelu(s) => z.max(s * z),
            Activation::Tanh => z.tanh(),
            Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
            Activation::Gelu => {
                let k = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * z * (1.0 + (k * (z + GELU_C * z * z * z)).tanh())
            }
            Activation::Identity => z,
        }
    }

    /// `g′(z)` on a number, with the engine's convention at kinks (ReLU′(0) = 0).
    pub fn derivative(&self, z: f64) -> f64 {
        match *self {
            Activation::Relu => f64::from(u8::from(z > 0.0)),
            Activation::LeakyRelu(s) => {
                if z > 0.0 {
                    1.0
                } else {
                    s
                }
            }
            Activation::Tanh => 1.0 - z.tanh().powi(2),
            Activation::Sigmoid => {
                let s = 1.0 / (1.0 + (-z).exp());
                s * (1.0 - s)
            }
            Activation::Gelu => {
                let k = (2.0 / std::f64::consts::PI).sqrt();
                let t = (k * (z + GELU_C * z * z * z)).tanh();
                0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * k * (1.0 + 3.0 * GELU_C * z * z)
            }
            Activation::Identity => 1.0,
        }
    }
}

stateless_module!(Activation, |g, x| describe: g.name(), forward: g.apply(x));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::{gradcheck, CheckOptions, Tape};
    use crate::tensor::Tensor;

    const ALL: [Activation; 6] = [
        Activation::Relu,
        Activation::LeakyRelu(0.1),
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Gelu,
        Activation::Identity,
    ];

    fn away_from_zero() -> Tensor<f64> {
        // Kinks at 0 make finite differences meaningless there; keep |x| ≥ 0.1.
        Tensor::rand_uniform([3, 5], 0.1, 2.0, 4)
            .mul(&Tensor::from_vec([1.0, -1.0, 1.0, -1.0, 1.0].repeat(3), [3, 5]).unwrap())
            .unwrap()
    }

    #[test]
    fn gradcheck_every_activation() {
        for act in ALL {
            let r = gradcheck(
                |v| act.apply(v[0]),
                &[away_from_zero()],
                CheckOptions::default(),
            )
            .unwrap();
            assert!(r.passed, "{act:?}: {r}");
        }
    }

    #[test]
    fn scalar_forms_match_recorded_forms() {
        for act in ALL {
            let x = away_from_zero();
            let tape = Tape::new();
            let v = tape.var(x.clone());
            let y = act.apply(v).unwrap();
            let g = tape.backward(y.sum_all()).unwrap().wrt(v);
            for ((&xi, &yi), &gi) in x
                .as_slice()
                .iter()
                .zip(y.value().as_slice())
                .zip(g.as_slice())
            {
                assert!((act.value(xi) - yi).abs() < 1e-12, "{act:?} value at {xi}");
                assert!(
                    (act.derivative(xi) - gi).abs() < 1e-12,
                    "{act:?} derivative at {xi}"
                );
            }
        }
    }

    #[test]
    fn parse_names_and_reject_unknown() {
        for act in ALL {
            assert_eq!(Activation::parse(&act.name()).unwrap(), act);
        }
        assert_eq!(
            Activation::parse("leaky_relu").unwrap(),
            Activation::LeakyRelu(0.01)
        );
        assert!(Activation::parse("swish")
            .unwrap_err()
            .to_string()
            .contains("relu"));
        assert!(Activation::parse("leaky_relu:2").is_err());
    }
}
