//! Options and the derived sizes of a convolution or pooling window, checked once when an op is
//! built so the kernels can index without further checks.

use crate::error::{invalid, shape_err, Result};
use crate::tensor::Shape;

/// Options of a 2-D convolution; `Default` is stride 1, no padding, dilation 1, one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dOptions {
    /// Step of the window along (height, width).
    pub stride: [usize; 2],
    /// Zeros added on both sides of (height, width).
    pub padding: [usize; 2],
    /// Spacing between kernel taps along (height, width).
    pub dilation: [usize; 2],
    /// Number of groups: input and output channels are split into this many independent parts.
    pub groups: usize,
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions {
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
        }
    }
}

/// Options of 2-D max / average pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dOptions {
    /// Window size (height, width).
    pub kernel: [usize; 2],
    /// Step of the window (height, width).
    pub stride: [usize; 2],
    /// Padding on both sides (height, width); at most half the window, as in PyTorch.
    pub padding: [usize; 2],
}

impl Pool2dOptions {
    /// A square `k×k` window with stride `k` and no padding (PyTorch's default stride).
    pub fn new(k: usize) -> Self {
        Pool2dOptions {
            kernel: [k, k],
            stride: [k, k],
            padding: [0, 0],
        }
    }
}

/// Every size of one convolution: input `[n, c, h, w]`, weight `[o, c/groups, kh, kw]`,
/// output `[n, o, oh, ow]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvGeom {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub o: usize,
    pub kh: usize,
    pub kw: usize,
    pub oh: usize,
    pub ow: usize,
    pub opt: Conv2dOptions,
}

/// Output length of a window sliding over `len` (floor mode), or `None` if it does not fit.
fn out_len(len: usize, k: usize, s: usize, p: usize, d: usize) -> Option<usize> {
    let span = d * (k - 1) + 1;
    (len + 2 * p).checked_sub(span).map(|r| r / s + 1)
}

fn four(op: &'static str, what: &str, s: &Shape) -> Result<[usize; 4]> {
    match s.dims() {
        &[a, b, c, d] => Ok([a, b, c, d]),
        _ => Err(shape_err(
            op,
            format!("{what} must be 4-D [N, C, H, W], got shape {s}"),
        )),
    }
}

impl ConvGeom {
    /// Checks an input and weight shape against the options.
    pub fn new(op: &'static str, x: &Shape, wt: &Shape, opt: &Conv2dOptions) -> Result<Self> {
        let [n, c, h, w] = four(op, "the input", x)?;
        let [o, cg, kh, kw] = match wt.dims() {
            &[a, b, c, d] => [a, b, c, d],
            _ => {
                return Err(shape_err(
                    op,
                    format!("the weight must be 4-D [O, C/groups, kh, kw], got shape {wt}"),
                ))
            }
        };
        let g = opt.groups;
        if g == 0 || opt.stride.contains(&0) || opt.dilation.contains(&0) {
            return Err(invalid(
                op,
                format!("groups, stride and dilation must be positive, got {opt:?}"),
            ));
        }
        if kh == 0 || kw == 0 || o == 0 || c == 0 {
            return Err(shape_err(
                op,
                format!("empty kernel or channels: input {x}, weight {wt}"),
            ));
        }
        if c % g != 0 || o % g != 0 || cg * g != c {
            return Err(shape_err(
                op,
                format!(
                    "input {x} with weight {wt} and {g} groups: need C = {g}·weight[1] and O divisible by {g}"
                ),
            ));
        }
        let (Some(oh), Some(ow)) = (
            out_len(h, kh, opt.stride[0], opt.padding[0], opt.dilation[0]),
            out_len(w, kw, opt.stride[1], opt.padding[1], opt.dilation[1]),
        ) else {
            return Err(shape_err(
                op,
                format!(
                    "kernel {kh}x{kw} (dilation {:?}) is larger than the padded input {x}",
                    opt.dilation
                ),
            ));
        };
        Ok(ConvGeom {
            n,
            c,
            h,
            w,
            o,
            kh,
            kw,
            oh,
            ow,
            opt: *opt,
        })
    }

    /// Checks that an output gradient has the output's shape.
    pub fn check_output(&self, op: &'static str, s: &Shape) -> Result<()> {
        if s.dims() != self.y_shape().dims() {
            return Err(shape_err(
                op,
                format!("output gradient of shape {s}, expected {}", self.y_shape()),
            ));
        }
        Ok(())
    }

    pub fn x_shape(&self) -> Shape {
        Shape::from(&[self.n, self.c, self.h, self.w][..])
    }
    pub fn w_shape(&self) -> Shape {
        Shape::from(&[self.o, self.cg(), self.kh, self.kw][..])
    }
    pub fn y_shape(&self) -> Shape {
        Shape::from(&[self.n, self.o, self.oh, self.ow][..])
    }
    /// Input channels per group.
    pub fn cg(&self) -> usize {
        self.c / self.opt.groups
    }
    /// Output channels per group.
    pub fn og(&self) -> usize {
        self.o / self.opt.groups
    }
    /// Rows of the im2col matrix of one group: `cg · kh · kw`.
    pub fn k(&self) -> usize {
        self.cg() * self.kh * self.kw
    }
    /// Output positions per image.
    pub fn p(&self) -> usize {
        self.oh * self.ow
    }
    /// A 1x1 kernel with stride 1 and no padding: the input plane already is the im2col matrix.
    pub fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.opt.stride == [1, 1] && self.opt.padding == [0, 0]
    }
}

/// Every size of one pooling window over `[n, c, h, w]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolGeom {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub oh: usize,
    pub ow: usize,
    pub opt: Pool2dOptions,
}

impl PoolGeom {
    /// Checks an input shape against the options. Padding is at most half the window (PyTorch's
    /// rule), so every max-pooling window touches the input and never yields −∞.
    pub fn new(op: &'static str, x: &Shape, opt: &Pool2dOptions) -> Result<Self> {
        let [n, c, h, w] = four(op, "the input", x)?;
        let [kh, kw] = opt.kernel;
        if kh == 0 || kw == 0 || opt.stride.contains(&0) {
            return Err(invalid(
                op,
                format!("kernel and stride must be positive, got {opt:?}"),
            ));
        }
        if 2 * opt.padding[0] > kh || 2 * opt.padding[1] > kw {
            return Err(invalid(
                op,
                format!(
                    "padding {:?} must be at most half the kernel {:?}",
                    opt.padding, opt.kernel
                ),
            ));
        }
        let (Some(oh), Some(ow)) = (
            out_len(h, kh, opt.stride[0], opt.padding[0], 1),
            out_len(w, kw, opt.stride[1], opt.padding[1], 1),
        ) else {
            return Err(shape_err(
                op,
                format!("window {kh}x{kw} is larger than the padded input {x}"),
            ));
        };
        Ok(PoolGeom {
            n,
            c,
            h,
            w,
            oh,
            ow,
            opt: *opt,
        })
    }

    /// Checks that an output gradient has the output's shape.
    pub fn check_output(&self, op: &'static str, s: &Shape) -> Result<()> {
        if s.dims() != self.y_shape().dims() {
            return Err(shape_err(
                op,
                format!("output gradient of shape {s}, expected {}", self.y_shape()),
            ));
        }
        Ok(())
    }

    pub fn x_shape(&self) -> Shape {
        Shape::from(&[self.n, self.c, self.h, self.w][..])
    }
    pub fn y_shape(&self) -> Shape {
        Shape::from(&[self.n, self.c, self.oh, self.ow][..])
    }
}
