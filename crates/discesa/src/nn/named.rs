//! `Named`: child modules under attribute names (`conv1`, `bn1`, `layer1`, `fc`), so that
//! parameter and buffer names equal those of a PyTorch module with the same attributes. As a
//! module it applies the children in order; composite layers (a residual block) call
//! [`Named::forward_child`] to wire them differently.

use super::buffers::{expect_buffers, BufferSpec};
use super::module::{expect_params, stateless_module, ForwardCtx, Module};
use super::params::ParamSpec;
use crate::autodiff::Var;
use crate::error::Result;
use crate::tensor::{Element, Tensor};

/// Named child modules in registration order.
pub struct Named<T: Element> {
    names: Vec<String>,
    children: Vec<Box<dyn Module<T>>>,
    /// Start of each child's parameter slice, then the total.
    param_at: Vec<usize>,
    /// Start of each child's buffer slice, then the total.
    buf_at: Vec<usize>,
}

impl<T: Element> Default for Named<T> {
    fn default() -> Self {
        Named {
            names: Vec::new(),
            children: Vec::new(),
            param_at: vec![0],
            buf_at: vec![0],
        }
    }
}

impl<T: Element> Named<T> {
    /// No children yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a child under `name` (its parameters become `name.…`).
    pub fn with(mut self, name: impl Into<String>, m: impl Module<T> + 'static) -> Self {
        self.push(name, Box::new(m));
        self
    }

    /// Adds a boxed child under `name`.
    pub fn push(&mut self, name: impl Into<String>, m: Box<dyn Module<T>>) {
        let (p, b) = (m.num_param_tensors(), m.num_buffers());
        self.param_at
            .push(self.param_at.last().copied().unwrap_or(0) + p);
        self.buf_at
            .push(self.buf_at.last().copied().unwrap_or(0) + b);
        self.names.push(name.into());
        self.children.push(m);
    }

    /// Number of children.
    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// True without children.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// The children in order.
    pub fn children(&self) -> &[Box<dyn Module<T>>] {
        &self.children
    }

    /// Runs child `i` on `x` with its slices of `params` and `buffers` (the whole container's).
    pub fn forward_child<'t>(
        &self,
        i: usize,
        x: Var<'t, T>,
        params: &[Var<'t, T>],
        buffers: &mut [Tensor<T>],
        ctx: &ForwardCtx,
    ) -> Result<Var<'t, T>> {
        let (p0, p1) = (self.param_at[i], self.param_at[i + 1]);
        let (b0, b1) = (self.buf_at[i], self.buf_at[i + 1]);
        self.children[i].forward(x, &params[p0..p1], &mut buffers[b0..b1], ctx)
    }

    /// Checks the slice lengths a forward pass received.
    pub fn expect(&self, module: &str, params: &[Var<'_, T>], buffers: &[Tensor<T>]) -> Result<()> {
        expect_params(module, params, self.num_param_tensors())?;
        expect_buffers(module, buffers, self.num_buffers())
    }

    /// Checks the slice lengths (naming `module`), then runs the children one after another.
    pub fn forward_chain<'t>(
        &self,
        module: &str,
        mut x: Var<'t, T>,
        params: &[Var<'t, T>],
        buffers: &mut [Tensor<T>],
        ctx: &ForwardCtx,
    ) -> Result<Var<'t, T>> {
        self.expect(module, params, buffers)?;
        for i in 0..self.children.len() {
            x = self.forward_child(i, x, params, buffers, ctx)?;
        }
        Ok(x)
    }

    fn prefixed<S>(
        &self,
        list: impl Fn(&dyn Module<T>) -> Vec<S>,
        rename: impl Fn(&mut S, &str),
    ) -> Vec<S> {
        let mut out = Vec::new();
        for (name, m) in self.names.iter().zip(&self.children) {
            for mut s in list(m.as_ref()) {
                rename(&mut s, name);
                out.push(s);
            }
        }
        out
    }
}

impl<T: Element> Module<T> for Named<T> {
    fn describe(&self) -> String {
        let inner: Vec<String> = self
            .names
            .iter()
            .zip(&self.children)
            .map(|(n, m)| format!("{n}: {}", m.describe()))
            .collect();
        format!("{{{}}}", inner.join(", "))
    }

    fn param_specs(&self) -> Vec<ParamSpec> {
        self.prefixed(
            |m| m.param_specs(),
            |s, p| s.name = format!("{p}.{}", s.name),
        )
    }

    fn num_param_tensors(&self) -> usize {
        self.param_at.last().copied().unwrap_or(0)
    }

    fn buffer_specs(&self) -> Vec<BufferSpec> {
        self.prefixed(
            |m| m.buffer_specs(),
            |s, p| s.name = format!("{p}.{}", s.name),
        )
    }

    fn num_buffers(&self) -> usize {
        self.buf_at.last().copied().unwrap_or(0)
    }

    fn state_names(&self) -> Vec<String> {
        self.prefixed(|m| m.state_names(), |s, p| *s = format!("{p}.{s}"))
    }

    fn forward<'t>(
        &self,
        x: Var<'t, T>,
        params: &[Var<'t, T>],
        buffers: &mut [Tensor<T>],
        ctx: &ForwardCtx,
    ) -> Result<Var<'t, T>> {
        self.forward_chain("Named", x, params, buffers, ctx)
    }
}

/// Global average pooling `[N, C, H, W] → [N, C]` as a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobalAvgPool;

stateless_module!(GlobalAvgPool, |_, x| describe: "GlobalAvgPool".into(), forward: x.global_avg_pool2d());

/// `[N, …] → [N, product]` as a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flatten;

stateless_module!(Flatten, |_, x| describe: "Flatten".into(), forward: x.flatten());

/// Max pooling as a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPool2d(pub crate::tensor::Pool2dOptions);

stateless_module!(
    MaxPool2d,
    |MaxPool2d(o), x| describe: format!("MaxPool2d({}×{})", o.kernel[0], o.kernel[1]),
    forward: x.max_pool2d(o),
);
