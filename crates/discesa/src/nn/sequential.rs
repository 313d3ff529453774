//! Containers: `Sequential` chains modules (parameters named `layers.{i}.…` as in PyTorch's
//! `self.layers = nn.Sequential(...)`), `Residual` adds a skip connection around a body.

use super::module::{layout_of, ForwardCtx, Module};
use super::named::Named;
use crate::autodiff::Var;
use crate::error::{shape_err, Result};
use crate::tensor::{Element, Tensor};

/// Modules applied one after another: a [`Named`] whose children are named by position.
pub struct Sequential<T: Element> {
    prefix: String,
    layers: Named<T>,
}

impl<T: Element> Sequential<T> {
    /// An empty chain whose parameters are named `{prefix}.{i}.…` (`layers` by convention; an
    /// empty prefix gives `{i}.…`).
    pub fn new(prefix: impl Into<String>) -> Self {
        Sequential {
            prefix: prefix.into(),
            layers: Named::new(),
        }
    }

    /// Appends a module.
    pub fn push(mut self, m: impl Module<T> + 'static) -> Self {
        self.push_boxed(Box::new(m));
        self
    }

    /// Appends a boxed module.
    pub fn push_boxed(&mut self, m: Box<dyn Module<T>>) {
        let i = self.layers.len();
        let name = if self.prefix.is_empty() {
            i.to_string()
        } else {
            format!("{}.{i}", self.prefix)
        };
        self.layers.push(name, m);
    }

    /// The modules in order.
    pub fn layers(&self) -> &[Box<dyn Module<T>>] {
        self.layers.children()
    }
}

impl<T: Element> Module<T> for Sequential<T> {
    fn describe(&self) -> String {
        let inner: Vec<String> = self.layers().iter().map(|l| l.describe()).collect();
        format!("Sequential[{}]", inner.join(", "))
    }

    layout_of!(layers);

    fn forward<'t>(
        &self,
        x: Var<'t, T>,
        params: &[Var<'t, T>],
        buffers: &mut [Tensor<T>],
        ctx: &ForwardCtx,
    ) -> Result<Var<'t, T>> {
        self.layers
            .forward_chain("Sequential", x, params, buffers, ctx)
    }
}

/// `x + body(x)`: a skip connection, which lets gradients bypass the body and keeps deep
/// networks trainable. The body must keep the input's shape.
pub struct Residual<T: Element> {
    body: Sequential<T>,
}

impl<T: Element> Residual<T> {
    /// A residual block around `body` (its parameters are named `body.{i}.…`).
    pub fn new(body: Vec<Box<dyn Module<T>>>) -> Self {
        let mut seq = Sequential::new("body");
        for m in body {
            seq.push_boxed(m);
        }
        Residual { body: seq }
    }
}

impl<T: Element> Module<T> for Residual<T> {
    fn describe(&self) -> String {
        format!("Residual({})", self.body.describe())
    }

    layout_of!(body);

    fn forward<'t>(
        &self,
        x: Var<'t, T>,
        params: &[Var<'t, T>],
        buffers: &mut [Tensor<T>],
        ctx: &ForwardCtx,
    ) -> Result<Var<'t, T>> {
        let y = self.body.forward(x, params, buffers, ctx)?;
        if y.shape() != x.shape() {
            return Err(shape_err(
                "Residual",
                format!(
                    "the body maps shape {} to {}; a skip connection needs them equal",
                    x.shape(),
                    y.shape()
                ),
            ));
        }
        x.try_add(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::{gradcheck, CheckOptions, Tape};
    use crate::nn::{init_params, Activation, Linear};
    use crate::tensor::Tensor;

    fn block() -> Residual<f64> {
        Residual::new(vec![
            Box::new(Linear::xavier(3, 3)),
            Box::new(Activation::Tanh),
            Box::new(Linear::xavier(3, 3)),
        ])
    }

    #[test]
    fn names_follow_pytorch_and_forward_chains() {
        let net = Sequential::<f64>::new("layers")
            .push(Linear::new(2, 3))
            .push(Activation::Relu)
            .push(Linear::new(3, 1));
        let names: Vec<String> = net.param_specs().into_iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "layers.0.weight",
                "layers.0.bias",
                "layers.2.weight",
                "layers.2.bias"
            ]
        );
        let p = init_params(&net, 1).unwrap();
        let tape = Tape::new();
        let x = tape.constant(Tensor::ones([5, 2]));
        let y = net
            .forward(x, &p.leaves(&tape), &mut [], &ForwardCtx::eval())
            .unwrap();
        assert_eq!(y.shape().dims(), &[5, 1]);
        assert!(net.forward(x, &[], &mut [], &ForwardCtx::eval()).is_err());
    }

    #[test]
    fn residual_adds_input_and_passes_gradcheck() {
        let b = block();
        let p = init_params(&b, 2).unwrap();
        let names: Vec<String> = b.param_specs().into_iter().map(|s| s.name).collect();
        assert_eq!(names[0], "body.0.weight");
        // With a zero body the block is the identity.
        let tape = Tape::new();
        let zeros: Vec<_> = p
            .views()
            .iter()
            .map(|v| tape.constant(Tensor::zeros(*v.shape())))
            .collect();
        let x = tape.constant(Tensor::rand_normal([2, 3], 0.0, 1.0, 3));
        let y = b.forward(x, &zeros, &mut [], &ForwardCtx::eval()).unwrap();
        assert_eq!(y.value().as_slice(), x.value().as_slice());
        let mut inputs = vec![Tensor::rand_normal([4, 3], 0.0, 1.0, 4)];
        inputs.extend(p.views());
        let r = gradcheck(
            |v| b.forward(v[0], &v[1..], &mut [], &ForwardCtx::eval()),
            &inputs,
            CheckOptions::default(),
        )
        .unwrap();
        assert!(r.passed, "{r}");
        let wide = Residual::<f64>::new(vec![Box::new(Linear::new(3, 2))]);
        let p = init_params(&wide, 1).unwrap();
        let tape = Tape::new();
        let x = tape.constant(Tensor::zeros([2, 3]));
        let err = wide.forward(x, &p.constants(&tape), &mut [], &ForwardCtx::eval());
        assert!(err.is_err());
    }
}
