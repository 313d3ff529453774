//! Elementwise kernels: unary maps, broadcasting binary ops, comparisons and `where`.

use super::{for_each_run2, Element, Shape, Tensor};
use crate::error::{shape_err, Result};

/// A pointwise function of one tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `e^x`
    Exp,
    /// natural logarithm
    Log,
    /// square root
    Sqrt,
    /// sine
    Sin,
    /// cosine
    Cos,
    /// tangent
    Tan,
    /// hyperbolic tangent
    Tanh,
    /// logistic `1 / (1 + e^-x)`
    Sigmoid,
    /// `max(x, 0)`
    Relu,
    /// `|x|`
    Abs,
}

impl UnaryOp {
    /// The function applied to one value.
    #[inline(always)]
    pub fn apply<T: Element>(self, x: T) -> T {
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Sin => x.sin(),
            UnaryOp::Cos => x.cos(),
            UnaryOp::Tan => x.tan(),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Sigmoid => {
                if x >= T::zero() {
                    T::one() / (T::one() + (-x).exp())
                } else {
                    let e = x.exp();
                    e / (T::one() + e)
                }
            }
            UnaryOp::Relu => {
                if x > T::zero() {
                    x
                } else {
                    T::zero()
                }
            }
            UnaryOp::Abs => x.abs(),
        }
    }

    /// The lowercase name used in traces and graphs.
    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Tan => "tan",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Relu => "relu",
            UnaryOp::Abs => "abs",
        }
    }
}

/// A pointwise function of two broadcast tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a * b`
    Mul,
    /// `a / b`
    Div,
    /// `a ^ b`
    Pow,
    /// `max(a, b)`
    Maximum,
    /// `min(a, b)`
    Minimum,
    /// `1` where `a < b`, else `0`
    Lt,
    /// `1` where `a <= b`, else `0`
    Le,
    /// `1` where `a > b`, else `0`
    Gt,
    /// `1` where `a >= b`, else `0`
    Ge,
    /// `1` where `a == b`, else `0`
    Eq,
}

impl BinaryOp {
    /// The function applied to one pair.
    #[inline(always)]
    pub fn apply<T: Element>(self, a: T, b: T) -> T {
        let ind = |c: bool| if c { T::one() } else { T::zero() };
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Pow => a.powf(b),
            BinaryOp::Maximum => {
                if a >= b || b.is_nan() {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Minimum => {
                if a <= b || b.is_nan() {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Lt => ind(a < b),
            BinaryOp::Le => ind(a <= b),
            BinaryOp::Gt => ind(a > b),
            BinaryOp::Ge => ind(a >= b),
            BinaryOp::Eq => ind(a == b),
        }
    }

    /// The lowercase name used in messages, traces and graphs.
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
            BinaryOp::Lt => "lt",
            BinaryOp::Le => "le",
            BinaryOp::Gt => "gt",
            BinaryOp::Ge => "ge",
            BinaryOp::Eq => "eq",
        }
    }
}

/// Elements above which a pointwise kernel is split over the kernel threads.
const PAR_ELEMENTS: usize = 1 << 15;

/// Runs `f(offset, chunk)` over `out`, in one piece or, for large outputs, in one contiguous
/// chunk per kernel thread.
fn par_chunks<T: Element>(out: &mut [T], f: impl Fn(usize, &mut [T]) + Sync) {
    let threads = super::num_threads();
    if threads < 2 || out.len() < PAR_ELEMENTS {
        return f(0, out);
    }
    let chunk = out.len().div_ceil(threads);
    rayon::scope(|s| {
        for (i, c) in out.chunks_mut(chunk).enumerate() {
            let f = &f;
            s.spawn(move |_| f(i * chunk, c));
        }
    });
}

#[inline(always)]
fn zip_run<T: Element>(op: BinaryOp, out: &mut [T], a: &[T], ia: usize, b: &[T], ib: usize) {
    // Monomorphised inner loops so that the common cases vectorise.
    macro_rules! run {
        ($f:expr) => {{
            let f = $f;
            match (ia, ib) {
                (1, 1) => {
                    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
                        *o = f(x, y);
                    }
                }
                (1, 0) => {
                    let y = b[0];
                    for (o, &x) in out.iter_mut().zip(a) {
                        *o = f(x, y);
                    }
                }
                (0, 1) => {
                    let x = a[0];
                    for (o, &y) in out.iter_mut().zip(b) {
                        *o = f(x, y);
                    }
                }
                _ => {
                    for (i, o) in out.iter_mut().enumerate() {
                        *o = f(a[i * ia], b[i * ib]);
                    }
                }
            }
        }};
    }
    match op {
        BinaryOp::Add => run!(|x: T, y: T| x + y),
        BinaryOp::Sub => run!(|x: T, y: T| x - y),
        BinaryOp::Mul => run!(|x: T, y: T| x * y),
        BinaryOp::Div => run!(|x: T, y: T| x / y),
        other => run!(|x: T, y: T| other.apply(x, y)),
    }
}

impl<T: Element> Tensor<T> {
    /// Applies a pointwise function.
    pub fn unary(&self, op: UnaryOp) -> Tensor<T> {
        if let Some(x) = self.as_scalar() {
            return Tensor::scalar(op.apply(x));
        }
        let src = self.as_slice();
        Tensor::from_fn_overwrite(self.shape, |o| {
            par_chunks(o, |off, o| {
                let src = &src[off..off + o.len()];
                match op {
                    UnaryOp::Neg => o.iter_mut().zip(src).for_each(|(o, &x)| *o = -x),
                    UnaryOp::Relu => o
                        .iter_mut()
                        .zip(src)
                        .for_each(|(o, &x)| *o = if x > T::zero() { x } else { T::zero() }),
                    UnaryOp::Abs => o.iter_mut().zip(src).for_each(|(o, &x)| *o = x.abs()),
                    _ => o.iter_mut().zip(src).for_each(|(o, &x)| *o = op.apply(x)),
                }
            })
        })
    }

    /// Applies an arbitrary pointwise closure (not differentiable on its own).
    pub fn map(&self, f: impl Fn(T) -> T) -> Tensor<T> {
        let src = self.as_slice();
        Tensor::from_fn_overwrite(self.shape, |o| {
            o.iter_mut().zip(src).for_each(|(o, &x)| *o = f(x))
        })
    }

    /// Applies a pointwise closure to two tensors of the same shape.
    pub(crate) fn zip_map(&self, other: &Tensor<T>, f: impl Fn(T, T) -> T + Sync) -> Tensor<T> {
        debug_assert_eq!(self.shape, other.shape);
        let (a, b) = (self.as_slice(), other.as_slice());
        Tensor::from_fn_overwrite(self.shape, |o| {
            par_chunks(o, |off, o| {
                let (a, b) = (&a[off..off + o.len()], &b[off..off + o.len()]);
                for ((o, &x), &y) in o.iter_mut().zip(a).zip(b) {
                    *o = f(x, y);
                }
            })
        })
    }

    /// A broadcasting binary operation; mismatched shapes are an error naming both.
    pub fn binary(&self, other: &Tensor<T>, op: BinaryOp) -> Result<Tensor<T>> {
        if let (Some(a), Some(b)) = (self.as_scalar(), other.as_scalar()) {
            return Ok(Tensor::scalar(op.apply(a, b)));
        }
        let shape = Shape::broadcast(op.name(), &self.shape, &other.shape)?;
        let (a, b) = (self.as_slice(), other.as_slice());
        if self.shape == other.shape {
            return Ok(Tensor::from_fn_overwrite(shape, |o| {
                par_chunks(o, |off, o| {
                    let n = o.len();
                    zip_run(op, o, &a[off..off + n], 1, &b[off..off + n], 1)
                })
            }));
        }
        if b.len() == 1 {
            return Ok(Tensor::from_fn_overwrite(shape, |o| {
                par_chunks(o, |off, o| {
                    let n = o.len();
                    zip_run(op, o, &a[off..off + n], 1, b, 0)
                })
            }));
        }
        if a.len() == 1 {
            return Ok(Tensor::from_fn_overwrite(shape, |o| {
                par_chunks(o, |off, o| {
                    let n = o.len();
                    zip_run(op, o, a, 0, &b[off..off + n], 1)
                })
            }));
        }
        let sa = self.shape.broadcast_strides(&shape);
        let sb = other.shape.broadcast_strides(&shape);
        let inner = shape.dims().last().copied().unwrap_or(1);
        Ok(Tensor::from_fn_overwrite(shape, |o| {
            for_each_run2(&shape, &sa, &sb, |oo, oa, ob, ia, ib| {
                let a_run = if ia == 0 {
                    &a[oa..oa + 1]
                } else {
                    &a[oa..oa + (inner - 1) * ia + 1]
                };
                let b_run = if ib == 0 {
                    &b[ob..ob + 1]
                } else {
                    &b[ob..ob + (inner - 1) * ib + 1]
                };
                zip_run(op, &mut o[oo..oo + inner], a_run, ia, b_run, ib);
            })
        }))
    }

    /// `self + other` with broadcasting.
    pub fn add(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
        self.binary(other, BinaryOp::Add)
    }
    /// `self - other` with broadcasting.
    pub fn sub(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
        self.binary(other, BinaryOp::Sub)
    }
    /// `self * other` (elementwise) with broadcasting.
    pub fn mul(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
        self.binary(other, BinaryOp::Mul)
    }
    /// `self / other` with broadcasting.
    pub fn div(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
        self.binary(other, BinaryOp::Div)
    }

    /// Adds a constant to every element.
    pub fn add_scalar(&self, c: T) -> Tensor<T> {
        let src = self.as_slice();
        Tensor::from_fn_overwrite(self.shape, |o| {
            o.iter_mut().zip(src).for_each(|(o, &x)| *o = x + c)
        })
    }

    /// Multiplies every element by a constant.
    pub fn mul_scalar(&self, c: T) -> Tensor<T> {
        let src = self.as_slice();
        Tensor::from_fn_overwrite(self.shape, |o| {
            o.iter_mut().zip(src).for_each(|(o, &x)| *o = x * c)
        })
    }

    /// Raises every element to a constant power (integer powers use repeated multiplication).
    pub fn powf_scalar(&self, p: T) -> Tensor<T> {
        let src = self.as_slice();
        let pf = p.to_f64();
        if pf == 2.0 {
            return Tensor::from_fn_overwrite(self.shape, |o| {
                o.iter_mut().zip(src).for_each(|(o, &x)| *o = x * x)
            });
        }
        if pf.fract() == 0.0 && pf.abs() < 64.0 {
            let n = pf as i32;
            return Tensor::from_fn_overwrite(self.shape, |o| {
                o.iter_mut().zip(src).for_each(|(o, &x)| *o = x.powi(n))
            });
        }
        Tensor::from_fn_overwrite(self.shape, |o| {
            o.iter_mut().zip(src).for_each(|(o, &x)| *o = x.powf(p))
        })
    }

    /// Chooses `a` where `cond` is non-zero and `b` elsewhere, all three broadcast together.
    pub fn where_cond(cond: &Tensor<T>, a: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
        let ab = Shape::broadcast("where", &a.shape, &b.shape)?;
        let shape = Shape::broadcast("where", &cond.shape, &ab)?;
        let c = cond.broadcast_to(&shape)?;
        let a = a.broadcast_to(&shape)?;
        let b = b.broadcast_to(&shape)?;
        let (c, x, y) = (c.as_slice(), a.as_slice(), b.as_slice());
        Ok(Tensor::from_fn_overwrite(shape, |o| {
            for i in 0..o.len() {
                o[i] = if c[i] != T::zero() { x[i] } else { y[i] };
            }
        }))
    }

    /// Adds `other` (same shape) into `self`, in place when the buffer is not shared.
    pub(crate) fn accumulate(&mut self, other: &Tensor<T>) -> Result<()> {
        if self.shape != other.shape {
            return Err(shape_err(
                "accumulate",
                format!(
                    "gradient of shape {} cannot be added to {}",
                    other.shape, self.shape
                ),
            ));
        }
        if let Some(dst) = self.try_unique_mut() {
            for (d, &s) in dst.iter_mut().zip(other.as_slice()) {
                *d += s;
            }
            return Ok(());
        }
        *self = self.add(other)?;
        Ok(())
    }
}

macro_rules! cmp_methods {
    ($($name:ident => $op:ident, $doc:literal;)*) => {
        impl<T: Element> Tensor<T> {
            $(
                #[doc = $doc]
                pub fn $name(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
                    self.binary(other, BinaryOp::$op)
                }
            )*
        }
    };
}

cmp_methods! {
    lt => Lt, "`1` where `self < other`, else `0` (broadcasting).";
    le => Le, "`1` where `self <= other`, else `0` (broadcasting).";
    gt => Gt, "`1` where `self > other`, else `0` (broadcasting).";
    ge => Ge, "`1` where `self >= other`, else `0` (broadcasting).";
    eq_elem => Eq, "`1` where `self == other`, else `0` (broadcasting).";
    maximum => Maximum, "Elementwise maximum (broadcasting).";
    minimum => Minimum, "Elementwise minimum (broadcasting).";
    pow => Pow, "Elementwise power `self ^ other` (broadcasting).";
}
