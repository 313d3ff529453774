//! The primitive operations the tape records. Every variant has exactly one backward rule in
//! [`super::rules`]; the match there is exhaustive, so an op without a derivative does not compile.

use crate::tensor::{BatchNormSaved, BinaryOp, ConvGeom, Element, PoolGeom, Tensor, UnaryOp};
use std::sync::Arc;

/// A recorded operation (inputs are stored on the node).
#[derive(Clone, Debug)]
pub(crate) enum Op<T: Element> {
    /// A differentiable input.
    Leaf,
    /// A value that gradients do not flow into (data, detached values, no-grad results).
    Const,
    /// Pointwise function of one input.
    Unary(UnaryOp),
    /// Broadcasting arithmetic of two inputs (`Add Sub Mul Div Pow Maximum Minimum`).
    Binary(BinaryOp),
    /// `x + c`
    AddScalar(T),
    /// `x * c`
    MulScalar(T),
    /// `x ^ p` for a constant `p`
    PowScalar(T),
    /// `x * c` for a constant tensor `c` (masks, signs), broadcasting.
    MulConst(Arc<Tensor<T>>),
    /// `where(cond, a, b)` with a constant condition already broadcast to the output shape.
    Where(Arc<Tensor<T>>),
    /// Sum over the axes in the mask.
    Sum { mask: u8, keepdim: bool },
    /// Maximum over the axes in the mask.
    Max { mask: u8, keepdim: bool },
    /// Minimum over the axes in the mask.
    Min { mask: u8, keepdim: bool },
    /// New shape, same elements.
    Reshape,
    /// Axis permutation.
    Permute(Arc<[usize]>),
    /// Slice of one axis.
    Narrow { axis: usize, start: usize },
    /// Embedding in zeros along one axis (adjoint of `Narrow`).
    Pad {
        axis: usize,
        start: usize,
        total: usize,
    },
    /// Concatenation along an axis; inputs in order.
    Concat { axis: usize },
    /// Broadcast to the output shape.
    BroadcastTo,
    /// Sum of broadcast axes down to the output shape.
    SumTo,
    /// Entries `idx` along `axis`.
    IndexSelect { axis: usize, idx: Arc<[usize]> },
    /// Scatter-add of entries into `size` slots along `axis` (adjoint of `IndexSelect`).
    IndexAdd {
        axis: usize,
        idx: Arc<[usize]>,
        size: usize,
    },
    /// One entry per position along `axis`; the index has the output's shape.
    Gather { axis: usize, idx: Arc<[usize]> },
    /// Scatter-add into the output shape (adjoint of `Gather`).
    ScatterAdd { axis: usize, idx: Arc<[usize]> },
    /// `op(a) · op(b)` with optional transposes of the last two axes.
    MatMul { ta: bool, tb: bool },
    /// 2-D convolution `conv(x, w)`; inputs `(x, w)`.
    Conv2d(ConvGeom),
    /// Its adjoint in `x` (transposed convolution); inputs `(gy, w)`, output shaped like `x`.
    Conv2dInputGrad(ConvGeom),
    /// Its adjoint in `w`; inputs `(x, gy)`, output shaped like `w`.
    Conv2dWeightGrad(ConvGeom),
    /// Average pooling (padding counted as zeros).
    AvgPool2d(PoolGeom),
    /// Its adjoint: spreads a gradient back over the windows.
    AvgPool2dAdjoint(PoolGeom),
    /// `x·scale[c] + shift[c]` per channel of `[N, C]` or `[N, C, H, W]`; inputs
    /// `(x, scale, shift)`, the last two `[C]` (evaluation-mode batch norm).
    ChannelAffine,
    /// Training-mode batch norm with the batch statistics; inputs `(x, weight, bias)`.
    BatchNormTrain(Arc<BatchNormSaved<T>>),
}

impl<T: Element> Op<T> {
    /// A short name for traces and graphs.
    pub(crate) fn name(&self) -> String {
        match self {
            Op::Leaf => "input".into(),
            Op::Const => "const".into(),
            Op::Unary(u) => u.name().into(),
            Op::Binary(b) => b.name().into(),
            Op::AddScalar(c) => format!("add {c}"),
            Op::MulScalar(c) => format!("mul {c}"),
            Op::PowScalar(p) => format!("pow {p}"),
            Op::MulConst(_) => "mul const".into(),
            Op::Where(_) => "where".into(),
            Op::Sum { mask, keepdim } => format!(
                "sum axes {mask:#b}{}",
                if *keepdim { " keepdim" } else { "" }
            ),
            Op::Max { mask, keepdim } => format!(
                "max axes {mask:#b}{}",
                if *keepdim { " keepdim" } else { "" }
            ),
            Op::Min { mask, keepdim } => format!(
                "min axes {mask:#b}{}",
                if *keepdim { " keepdim" } else { "" }
            ),
            Op::Reshape => "reshape".into(),
            Op::Permute(p) => format!("permute {p:?}"),
            Op::Narrow { axis, start } => format!("narrow axis {axis} from {start}"),
            Op::Pad { axis, start, total } => format!("pad axis {axis} at {start} to {total}"),
            Op::Concat { axis } => format!("concat axis {axis}"),
            Op::BroadcastTo => "broadcast".into(),
            Op::SumTo => "sum_to".into(),
            Op::IndexSelect { axis, .. } => format!("index_select axis {axis}"),
            Op::IndexAdd { axis, size, .. } => format!("index_add axis {axis} into {size}"),
            Op::Gather { axis, .. } => format!("gather axis {axis}"),
            Op::ScatterAdd { axis, .. } => format!("scatter_add axis {axis}"),
            Op::MatMul { ta, tb } => format!(
                "matmul{}{}",
                if *ta { " Aᵀ" } else { "" },
                if *tb { " Bᵀ" } else { "" }
            ),
            Op::Conv2d(g) => format!("conv2d {}x{} {:?}", g.kh, g.kw, g.opt),
            Op::Conv2dInputGrad(g) => format!("conv2d input grad {}x{} {:?}", g.kh, g.kw, g.opt),
            Op::Conv2dWeightGrad(g) => format!("conv2d weight grad {}x{} {:?}", g.kh, g.kw, g.opt),
            Op::AvgPool2d(g) => format!("avg_pool2d {:?}", g.opt),
            Op::AvgPool2dAdjoint(g) => format!("avg_pool2d adjoint {:?}", g.opt),
            Op::ChannelAffine => "channel_affine".into(),
            Op::BatchNormTrain(_) => "batch_norm_train".into(),
        }
    }
}

/// The tape positions of a node's inputs.
#[derive(Clone, Debug)]
pub(crate) enum Inputs {
    None,
    One(u32),
    Two(u32, u32),
    Many(Arc<[u32]>),
}

impl Inputs {
    /// The input ids as a small inline array plus a length (no allocation).
    pub(crate) fn ids(&self) -> InputIds<'_> {
        match self {
            Inputs::None => InputIds::Inline([0, 0], 0),
            Inputs::One(a) => InputIds::Inline([*a, 0], 1),
            Inputs::Two(a, b) => InputIds::Inline([*a, *b], 2),
            Inputs::Many(v) => InputIds::Slice(v),
        }
    }
}

/// Borrowed view of input ids.
pub(crate) enum InputIds<'a> {
    Inline([u32; 2], usize),
    Slice(&'a [u32]),
}

impl InputIds<'_> {
    pub(crate) fn to_vec(&self) -> Vec<u32> {
        match self {
            InputIds::Inline(a, n) => a[..*n].to_vec(),
            InputIds::Slice(s) => s.to_vec(),
        }
    }
}

/// One recorded value.
#[derive(Clone)]
pub(crate) struct Node<T: Element> {
    pub(crate) value: Tensor<T>,
    pub(crate) op: Op<T>,
    pub(crate) inputs: Inputs,
    pub(crate) requires_grad: bool,
}
