//! The CIFAR-style residual network of He et al. 2016 (depth 6n+2) and its "plain" twin without
//! shortcuts (Li et al. 2018's "noshort"), laid out exactly as the PyTorch module
//!
//! ```text
//! conv1 (3×3, in → w) · bn1 · relu
//! layer1: n blocks of w channels, layer2: n of 2w, layer3: n of 4w (stride 2 at the first
//!         block of layers 2 and 3); a block is conv1 · bn1 · relu · conv2 · bn2 (+ shortcut) · relu
//!         with shortcut = identity, or `down` = 1×1 conv (stride 2) · bn where the shape changes
//! global average pool · fc (4w → classes)
//! ```
//!
//! so that parameter and buffer names (`layer2.0.down.1.running_var`) match its `state_dict()`.

use super::batchnorm::BatchNorm;
use super::conv::Conv2d;
use super::module::{layout_of, ForwardCtx, Module};
use super::named::{GlobalAvgPool, Named};
use super::{Activation, Linear, Sequential};
use crate::autodiff::Var;
use crate::error::{invalid, shape_err, Result};
use crate::tensor::{Element, Tensor};
use serde::{Deserialize, Serialize};

/// Sizes of a ResNet / plain network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResNetConfig {
    /// Weighted layers, 6n + 2 (8, 14, 20, 26, 32, 44, 56, 110, ...).
    pub depth: usize,
    /// Channels of the first stage (the later stages have 2× and 4×).
    pub width: usize,
    /// With identity / projection shortcuts (ResNet) or without (plain).
    pub shortcut: bool,
    /// Input `[C, H, W]`.
    pub input: [usize; 3],
    /// Output classes.
    pub classes: usize,
}

impl ResNetConfig {
    /// Blocks per stage, `n = (depth − 2) / 6`.
    pub fn blocks_per_stage(&self) -> usize {
        (self.depth.saturating_sub(2)) / 6
    }

    /// Checks depth, width and sizes, naming what is wrong.
    pub fn validate(&self) -> Result<()> {
        let bad = |d: String| Err(invalid("ResNetConfig", d));
        if self.depth < 8 || !(self.depth - 2).is_multiple_of(6) {
            return bad(format!(
                "depth {} is not of the form 6n+2; valid depths are 8, 14, 20, 26, 32, 38, 44, 50, \
                 56, ..., 110, ...",
                self.depth
            ));
        }
        if self.width == 0 {
            return bad("width must be at least 1".into());
        }
        if self.input.contains(&0) || self.classes == 0 {
            return bad(format!(
                "input {:?} and classes {} must be positive",
                self.input, self.classes
            ));
        }
        Ok(())
    }

    /// `resnet20` or `plain20`.
    pub fn name(&self) -> String {
        let kind = if self.shortcut { "resnet" } else { "plain" };
        format!("{kind}{}", self.depth)
    }
}

/// One basic block: two 3×3 convolutions with batch norm, plus the shortcut when enabled.
struct Block<T: Element> {
    parts: Named<T>,
    shortcut: bool,
    down: bool,
}

impl<T: Element> Block<T> {
    fn new(cin: usize, cout: usize, stride: usize, shortcut: bool) -> Self {
        let down = shortcut && (stride != 1 || cin != cout);
        let mut parts = Named::new()
            .with("conv1", Conv2d::square(cin, cout, 3, stride, 1))
            .with("bn1", BatchNorm::d2(cout))
            .with("conv2", Conv2d::square(cout, cout, 3, 1, 1))
            .with("bn2", BatchNorm::d2(cout));
        if down {
            let seq = Sequential::new("")
                .push(Conv2d::square(cin, cout, 1, stride, 0))
                .push(BatchNorm::d2(cout));
            parts.push("down", Box::new(seq));
        }
        Block {
            parts,
            shortcut,
            down,
        }
    }
}

impl<T: Element> Module<T> for Block<T> {
    fn describe(&self) -> String {
        format!("Block{}", if self.shortcut { "" } else { "(plain)" })
    }

    layout_of!(parts);

    fn forward<'t>(
        &self,
        x: Var<'t, T>,
        params: &[Var<'t, T>],
        buffers: &mut [Tensor<T>],
        ctx: &ForwardCtx,
    ) -> Result<Var<'t, T>> {
        self.parts.expect("Block", params, buffers)?;
        let p = &self.parts;
        let mut out = p.forward_child(0, x, params, buffers, ctx)?;
        out = p.forward_child(1, out, params, buffers, ctx)?.relu();
        out = p.forward_child(2, out, params, buffers, ctx)?;
        out = p.forward_child(3, out, params, buffers, ctx)?;
        if self.shortcut {
            let skip = if self.down {
                p.forward_child(4, x, params, buffers, ctx)?
            } else {
                x
            };
            out = out.try_add(skip)?;
        }
        Ok(out.relu())
    }
}

/// A ResNet or plain network built from a [`ResNetConfig`].
pub struct ResNet<T: Element> {
    config: ResNetConfig,
    net: Named<T>,
}

impl<T: Element> ResNet<T> {
    /// Builds the network (checking the configuration).
    pub fn new(config: ResNetConfig) -> Result<Self> {
        config.validate()?;
        let (w, n) = (config.width, config.blocks_per_stage());
        let mut net = Named::new()
            .with("conv1", Conv2d::square(config.input[0], w, 3, 1, 1))
            .with("bn1", BatchNorm::d2(w))
            .with("relu", Activation::Relu);
        let mut cin = w;
        for (stage, cout) in [w, 2 * w, 4 * w].into_iter().enumerate() {
            let mut blocks = Sequential::new("");
            for i in 0..n {
                let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                blocks = blocks.push(Block::<T>::new(cin, cout, stride, config.shortcut));
                cin = cout;
            }
            net.push(format!("layer{}", stage + 1), Box::new(blocks));
        }
        let net = net
            .with("pool", GlobalAvgPool)
            .with("fc", Linear::uniform(cin, config.classes));
        Ok(ResNet { config, net })
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &ResNetConfig {
        &self.config
    }
}

impl<T: Element> Module<T> for ResNet<T> {
    fn describe(&self) -> String {
        format!("{} (width {})", self.config.name(), self.config.width)
    }

    layout_of!(net);

    fn forward<'t>(
        &self,
        x: Var<'t, T>,
        params: &[Var<'t, T>],
        buffers: &mut [Tensor<T>],
        ctx: &ForwardCtx,
    ) -> Result<Var<'t, T>> {
        let s = x.shape();
        if s.ndim() != 4 || s.dim(1) != self.config.input[0] {
            return Err(shape_err(
                "ResNet",
                format!(
                    "{} expects input of shape [batch, {}, height, width], got {s}",
                    self.config.name(),
                    self.config.input[0]
                ),
            ));
        }
        self.net.forward(x, params, buffers, ctx)
    }
}

/// Sizes of the small LeNet-style network: two 5×5 convolutions (width, 2·width channels) each
/// with batch norm, ReLU and 2×2 max pooling, then `fc1` (hidden units) and `fc2`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CnnConfig {
    /// Channels of the first convolution.
    pub width: usize,
    /// Hidden units of the first fully connected layer.
    pub hidden: usize,
    /// Input `[C, H, W]` (H and W at least 4).
    pub input: [usize; 3],
    /// Output classes.
    pub classes: usize,
}

impl CnnConfig {
    /// Checks sizes, naming what is wrong.
    pub fn validate(&self) -> Result<()> {
        if self.width == 0 || self.hidden == 0 || self.classes == 0 || self.input[0] == 0 {
            return Err(invalid(
                "CnnConfig",
                "width, hidden units, classes and channels must be positive",
            ));
        }
        if self.input[1] < 4 || self.input[2] < 4 {
            return Err(invalid(
                "CnnConfig",
                format!(
                    "images of {}×{} are too small for two 2×2 poolings (at least 4×4)",
                    self.input[1], self.input[2]
                ),
            ));
        }
        Ok(())
    }
}

/// Builds the LeNet-style network as a [`Named`] module (`conv1`, `bn1`, `conv2`, `bn2`,
/// `fc1`, `fc2`, as a PyTorch module with those attributes).
pub fn cnn<T: Element>(c: &CnnConfig) -> Result<Named<T>> {
    c.validate()?;
    let pool = super::named::MaxPool2d(crate::tensor::Pool2dOptions {
        kernel: [2, 2],
        stride: [2, 2],
        padding: [0, 0],
    });
    let (w, flat) = (c.width, 2 * c.width * (c.input[1] / 4) * (c.input[2] / 4));
    Ok(Named::new()
        .with("conv1", Conv2d::square(c.input[0], w, 5, 1, 2))
        .with("bn1", BatchNorm::d2(w))
        .with("relu1", Activation::Relu)
        .with("pool1", pool)
        .with("conv2", Conv2d::square(w, 2 * w, 5, 1, 2))
        .with("bn2", BatchNorm::d2(2 * w))
        .with("relu2", Activation::Relu)
        .with("pool2", pool)
        .with("flatten", super::named::Flatten)
        .with("fc1", Linear::uniform(flat, c.hidden))
        .with("relu3", Activation::Relu)
        .with("fc2", Linear::uniform(c.hidden, c.classes)))
}

#[cfg(test)]
mod tests;
