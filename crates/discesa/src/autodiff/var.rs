//! [`Var`]: a value on a tape. Every method computes the value at once and records how it was
//! made; fallible methods return `Result`, operators panic with the same message so formulas
//! stay readable.

use super::op::{Inputs, Op};
use super::Tape;
use crate::error::{shape_err, Error, Result};
use crate::tensor::{BinaryOp, Element, Shape, Tensor, UnaryOp};
use std::sync::Arc;

/// A value recorded on a [`Tape`]. Cheap to copy; valid as long as its tape is borrowed.
#[derive(Clone, Copy)]
pub struct Var<'t, T: Element> {
    pub(crate) tape: &'t Tape<T>,
    pub(crate) id: u32,
}

impl<T: Element> std::fmt::Debug for Var<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Var#{} {:?}", self.id, self.value())
    }
}

impl<'t, T: Element> Var<'t, T> {
    /// The forward value.
    pub fn value(&self) -> Tensor<T> {
        self.tape.value_of(self.id)
    }

    /// The shape of the value.
    pub fn shape(&self) -> Shape {
        self.tape.shape_of(self.id)
    }

    /// The value of a one-element variable.
    pub fn item(&self) -> Result<T> {
        self.value().item()
    }

    /// Position on the tape.
    pub fn id(&self) -> usize {
        self.id as usize
    }

    /// The tape this variable lives on.
    pub fn tape(&self) -> &'t Tape<T> {
        self.tape
    }

    /// Whether gradients flow through this variable.
    pub fn requires_grad(&self) -> bool {
        self.tape.nodes()[self.id as usize].requires_grad
    }

    /// The same value as a constant: gradients stop here.
    pub fn detach(&self) -> Var<'t, T> {
        self.tape.constant(self.value())
    }

    fn same_tape(&self, op: &'static str, other: &Var<'t, T>) -> Result<()> {
        if std::ptr::eq(self.tape, other.tape) {
            Ok(())
        } else {
            Err(Error::Autodiff {
                op,
                detail: "the two variables live on different tapes".into(),
            })
        }
    }

    /// A pointwise function chosen at run time (`x.unary(UnaryOp::Exp)` is `x.exp()`).
    #[inline]
    pub fn unary(self, u: UnaryOp) -> Var<'t, T> {
        if let Some(v) = self.tape.push_scalar_unary(self.id, u) {
            return v;
        }
        let v = self.tape.nodes()[self.id as usize].value.unary(u);
        self.tape.push(v, Op::Unary(u), Inputs::One(self.id))
    }

    /// Broadcasting binary operation.
    pub fn try_binary(self, other: Var<'t, T>, b: BinaryOp) -> Result<Var<'t, T>> {
        self.same_tape(b.name(), &other)?;
        if let Some(v) = self.tape.push_scalar_binary(self.id, other.id, b) {
            return Ok(v);
        }
        let v = {
            let nodes = self.tape.nodes();
            nodes[self.id as usize]
                .value
                .binary(&nodes[other.id as usize].value, b)?
        };
        Ok(match b {
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Eq => {
                self.tape.constant(v)
            }
            _ => self
                .tape
                .push(v, Op::Binary(b), Inputs::Two(self.id, other.id)),
        })
    }

    /// `self + other` (broadcasting).
    pub fn try_add(self, other: Var<'t, T>) -> Result<Var<'t, T>> {
        self.try_binary(other, BinaryOp::Add)
    }
    /// `self - other` (broadcasting).
    pub fn try_sub(self, other: Var<'t, T>) -> Result<Var<'t, T>> {
        self.try_binary(other, BinaryOp::Sub)
    }
    /// `self * other` elementwise (broadcasting).
    pub fn try_mul(self, other: Var<'t, T>) -> Result<Var<'t, T>> {
        self.try_binary(other, BinaryOp::Mul)
    }
    /// `self / other` (broadcasting).
    pub fn try_div(self, other: Var<'t, T>) -> Result<Var<'t, T>> {
        self.try_binary(other, BinaryOp::Div)
    }
    /// `self ^ other` elementwise (broadcasting; tensor exponent).
    pub fn pow(self, other: Var<'t, T>) -> Result<Var<'t, T>> {
        self.try_binary(other, BinaryOp::Pow)
    }
    /// Elementwise maximum (broadcasting); ties split the gradient evenly.
    pub fn maximum(self, other: Var<'t, T>) -> Result<Var<'t, T>> {
        self.try_binary(other, BinaryOp::Maximum)
    }
    /// Elementwise minimum (broadcasting); ties split the gradient evenly.
    pub fn minimum(self, other: Var<'t, T>) -> Result<Var<'t, T>> {
        self.try_binary(other, BinaryOp::Minimum)
    }
    /// `1` where `self < other` (a constant: comparisons have no gradient).
    pub fn lt(self, other: Var<'t, T>) -> Result<Var<'t, T>> {
        self.try_binary(other, BinaryOp::Lt)
    }
    /// `1` where `self <= other`.
    pub fn le(self, other: Var<'t, T>) -> Result<Var<'t, T>> {
        self.try_binary(other, BinaryOp::Le)
    }
    /// `1` where `self > other`.
    pub fn gt(self, other: Var<'t, T>) -> Result<Var<'t, T>> {
        self.try_binary(other, BinaryOp::Gt)
    }
    /// `1` where `self >= other`.
    pub fn ge(self, other: Var<'t, T>) -> Result<Var<'t, T>> {
        self.try_binary(other, BinaryOp::Ge)
    }
    /// `1` where `self == other`.
    pub fn eq_elem(self, other: Var<'t, T>) -> Result<Var<'t, T>> {
        self.try_binary(other, BinaryOp::Eq)
    }

    /// `e^x`
    pub fn exp(self) -> Var<'t, T> {
        self.unary(UnaryOp::Exp)
    }
    /// Natural logarithm.
    pub fn ln(self) -> Var<'t, T> {
        self.unary(UnaryOp::Log)
    }
    /// Square root.
    pub fn sqrt(self) -> Var<'t, T> {
        self.unary(UnaryOp::Sqrt)
    }
    /// Sine.
    pub fn sin(self) -> Var<'t, T> {
        self.unary(UnaryOp::Sin)
    }
    /// Cosine.
    pub fn cos(self) -> Var<'t, T> {
        self.unary(UnaryOp::Cos)
    }
    /// Tangent.
    pub fn tan(self) -> Var<'t, T> {
        self.unary(UnaryOp::Tan)
    }
    /// Hyperbolic tangent.
    pub fn tanh(self) -> Var<'t, T> {
        self.unary(UnaryOp::Tanh)
    }
    /// Logistic sigmoid.
    pub fn sigmoid(self) -> Var<'t, T> {
        self.unary(UnaryOp::Sigmoid)
    }
    /// `max(x, 0)`
    pub fn relu(self) -> Var<'t, T> {
        self.unary(UnaryOp::Relu)
    }
    /// `|x|`
    pub fn abs(self) -> Var<'t, T> {
        self.unary(UnaryOp::Abs)
    }

    /// `x + c`
    pub fn add_scalar(self, c: T) -> Var<'t, T> {
        let v = self.tape.nodes()[self.id as usize].value.add_scalar(c);
        self.tape.push(v, Op::AddScalar(c), Inputs::One(self.id))
    }
    /// `x * c`
    pub fn mul_scalar(self, c: T) -> Var<'t, T> {
        let v = self.tape.nodes()[self.id as usize].value.mul_scalar(c);
        self.tape.push(v, Op::MulScalar(c), Inputs::One(self.id))
    }
    /// `x ^ p` for a constant exponent.
    pub fn powf(self, p: T) -> Var<'t, T> {
        let v = self.tape.nodes()[self.id as usize].value.powf_scalar(p);
        self.tape.push(v, Op::PowScalar(p), Inputs::One(self.id))
    }
    /// `x ^ n` for an integer exponent.
    pub fn powi(self, n: i32) -> Var<'t, T> {
        self.powf(T::from_f64(n as f64))
    }
    /// `x * c` for a constant tensor `c` (broadcasting).
    pub fn mul_const(self, c: &Tensor<T>) -> Result<Var<'t, T>> {
        let v = self.tape.nodes()[self.id as usize].value.mul(c)?;
        Ok(self
            .tape
            .push(v, Op::MulConst(Arc::new(c.clone())), Inputs::One(self.id)))
    }
    /// `a` where `cond` is non-zero, else `b` (broadcasting); no gradient flows into `cond`.
    pub fn where_cond(cond: &Tensor<T>, a: Var<'t, T>, b: Var<'t, T>) -> Result<Var<'t, T>> {
        a.same_tape("where", &b)?;
        let (av, bv) = (a.value(), b.value());
        let v = Tensor::where_cond(cond, &av, &bv)?;
        let c = cond.broadcast_to(v.shape())?;
        Ok(a.tape
            .push(v, Op::Where(Arc::new(c)), Inputs::Two(a.id, b.id)))
    }

    fn reduce(
        self,
        op: &'static str,
        axes: &[isize],
        keepdim: bool,
        kind: u8,
    ) -> Result<Var<'t, T>> {
        let x = self.value();
        let mask = crate::tensor::reduce_mask(op, x.shape(), axes)?;
        let (v, o) = match kind {
            0 => (x.sum_mask(mask, keepdim), Op::Sum { mask, keepdim }),
            1 => (x.max_mask(mask, keepdim), Op::Max { mask, keepdim }),
            _ => (x.min_mask(mask, keepdim), Op::Min { mask, keepdim }),
        };
        Ok(self.tape.push(v, o, Inputs::One(self.id)))
    }

    /// Sum over `axes` (negative counts from the end).
    pub fn sum(self, axes: &[isize], keepdim: bool) -> Result<Var<'t, T>> {
        self.reduce("sum", axes, keepdim, 0)
    }
    /// Sum of every element (a scalar).
    pub fn sum_all(self) -> Var<'t, T> {
        let v = self.value();
        let mask = ((1u16 << v.ndim()) - 1) as u8;
        let s = v.sum_all();
        self.tape.push(
            s,
            Op::Sum {
                mask,
                keepdim: false,
            },
            Inputs::One(self.id),
        )
    }
    /// Mean over `axes`.
    pub fn mean(self, axes: &[isize], keepdim: bool) -> Result<Var<'t, T>> {
        let shape = self.shape();
        let mask = crate::tensor::reduce_mask("mean", &shape, axes)?;
        let n: usize = (0..shape.ndim())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| shape.dim(i))
            .product();
        Ok(self
            .sum(axes, keepdim)?
            .mul_scalar(T::one() / T::from_f64(n as f64)))
    }
    /// Mean of every element.
    pub fn mean_all(self) -> Var<'t, T> {
        let n = self.shape().numel();
        self.sum_all().mul_scalar(T::one() / T::from_f64(n as f64))
    }
    /// Maximum over `axes`; the gradient goes to the maximal entries (split evenly on ties).
    pub fn max(self, axes: &[isize], keepdim: bool) -> Result<Var<'t, T>> {
        self.reduce("max", axes, keepdim, 1)
    }
    /// Minimum over `axes`.
    pub fn min(self, axes: &[isize], keepdim: bool) -> Result<Var<'t, T>> {
        self.reduce("min", axes, keepdim, 2)
    }

    /// Same elements, new shape.
    pub fn reshape(self, shape: impl Into<Shape>) -> Result<Var<'t, T>> {
        let v = self.value().reshape(shape)?;
        if v.shape() == &self.shape() {
            return Ok(self);
        }
        Ok(self.tape.push(v, Op::Reshape, Inputs::One(self.id)))
    }
    /// Reorders axes.
    pub fn permute(self, perm: &[usize]) -> Result<Var<'t, T>> {
        let v = self.value().permute(perm)?;
        Ok(self
            .tape
            .push(v, Op::Permute(perm.into()), Inputs::One(self.id)))
    }
    /// Swaps two axes.
    pub fn transpose(self, a: isize, b: isize) -> Result<Var<'t, T>> {
        let s = self.shape();
        let (a, b) = (s.axis("transpose", a)?, s.axis("transpose", b)?);
        let mut perm: Vec<usize> = (0..s.ndim()).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }
    /// The slice `start .. start + len` of `axis`.
    pub fn narrow(self, axis: isize, start: usize, len: usize) -> Result<Var<'t, T>> {
        let x = self.value();
        let ax = x.shape().axis("narrow", axis)?;
        let v = x.narrow(axis, start, len)?;
        Ok(self
            .tape
            .push(v, Op::Narrow { axis: ax, start }, Inputs::One(self.id)))
    }
    pub(crate) fn pad_axis(self, axis: usize, start: usize, total: usize) -> Result<Var<'t, T>> {
        let v = self.value().pad_axis(axis, start, total)?;
        Ok(self
            .tape
            .push(v, Op::Pad { axis, start, total }, Inputs::One(self.id)))
    }
    /// Joins variables along an existing axis.
    pub fn concat(parts: &[Var<'t, T>], axis: isize) -> Result<Var<'t, T>> {
        let first = parts
            .first()
            .ok_or_else(|| shape_err("concat", "no variables given"))?;
        for p in parts {
            first.same_tape("concat", p)?;
        }
        let vals: Vec<Tensor<T>> = parts.iter().map(|p| p.value()).collect();
        let v = Tensor::concat(&vals, axis)?;
        let ax = vals[0].shape().axis("concat", axis)?;
        let ids: Arc<[u32]> = parts.iter().map(|p| p.id).collect();
        Ok(first
            .tape
            .push(v, Op::Concat { axis: ax }, Inputs::Many(ids)))
    }
    /// Stacks equally shaped variables along a new axis.
    pub fn stack(parts: &[Var<'t, T>], axis: usize) -> Result<Var<'t, T>> {
        let first = parts
            .first()
            .ok_or_else(|| shape_err("stack", "no variables given"))?;
        let s = first.shape();
        if axis > s.ndim() {
            return Err(Error::Axis {
                op: "stack",
                axis: axis as isize,
                shape: s,
            });
        }
        let mut dims = s.dims().to_vec();
        dims.insert(axis, 1);
        let shape = Shape::new(&dims)?;
        let mut ex = Vec::with_capacity(parts.len());
        for p in parts {
            if p.shape() != s {
                return Err(shape_err(
                    "stack",
                    format!("shapes {s} and {} differ", p.shape()),
                ));
            }
            ex.push(p.reshape(shape)?);
        }
        Var::concat(&ex, axis as isize)
    }
    /// Repeats the value to `shape` by broadcasting rules.
    pub fn broadcast_to(self, shape: impl Into<Shape>) -> Result<Var<'t, T>> {
        let shape = shape.into();
        if shape == self.shape() {
            return Ok(self);
        }
        let v = self.value().broadcast_to(&shape)?;
        Ok(self.tape.push(v, Op::BroadcastTo, Inputs::One(self.id)))
    }
    /// Sums broadcast axes away down to `shape`.
    pub fn sum_to(self, shape: impl Into<Shape>) -> Result<Var<'t, T>> {
        let shape = shape.into();
        if shape == self.shape() {
            return Ok(self);
        }
        let v = self.value().sum_to(&shape)?;
        Ok(self.tape.push(v, Op::SumTo, Inputs::One(self.id)))
    }
    /// Entries `idx` along `axis`.
    pub fn index_select(self, axis: isize, idx: &[usize]) -> Result<Var<'t, T>> {
        let x = self.value();
        let ax = x.shape().axis("index_select", axis)?;
        let v = x.index_select(axis, idx)?;
        Ok(self.tape.push(
            v,
            Op::IndexSelect {
                axis: ax,
                idx: idx.into(),
            },
            Inputs::One(self.id),
        ))
    }
    pub(crate) fn index_add(
        self,
        axis: usize,
        idx: Arc<[usize]>,
        size: usize,
    ) -> Result<Var<'t, T>> {
        let v = self.value().index_add(axis, &idx, size)?;
        Ok(self
            .tape
            .push(v, Op::IndexAdd { axis, idx, size }, Inputs::One(self.id)))
    }
    /// One entry per position along `axis`, chosen by `idx` (shaped like the output).
    pub fn gather(
        self,
        axis: isize,
        idx: &[usize],
        idx_shape: impl Into<Shape>,
    ) -> Result<Var<'t, T>> {
        let x = self.value();
        let ax = x.shape().axis("gather", axis)?;
        let v = x.gather(axis, idx, &idx_shape.into())?;
        Ok(self.tape.push(
            v,
            Op::Gather {
                axis: ax,
                idx: idx.into(),
            },
            Inputs::One(self.id),
        ))
    }
    pub(crate) fn scatter_add(
        self,
        axis: usize,
        idx: Arc<[usize]>,
        shape: &Shape,
    ) -> Result<Var<'t, T>> {
        let v = self.value().scatter_add(axis, &idx, shape)?;
        Ok(self
            .tape
            .push(v, Op::ScatterAdd { axis, idx }, Inputs::One(self.id)))
    }

    /// Matrix product (2-D, or batched over leading axes; a 2-D right operand is shared by every
    /// batch).
    pub fn matmul(self, other: Var<'t, T>) -> Result<Var<'t, T>> {
        self.matmul_t(other, false, false)
    }

    /// `op(self) · op(other)` where `op` transposes the last two axes if its flag is set. The
    /// transposes cost nothing: they are folded into the kernel's strides.
    pub fn matmul_t(self, other: Var<'t, T>, ta: bool, tb: bool) -> Result<Var<'t, T>> {
        self.same_tape("matmul", &other)?;
        let (sa, sb) = (self.shape(), other.shape());
        if sa.ndim() > 2 && sb.ndim() == 2 {
            if ta {
                return Err(shape_err(
                    "matmul",
                    format!("a transposed batched operand {sa} with a shared 2-D operand {sb} is not supported"),
                ));
            }
            // Fold the batch into rows: [.., m, k] -> [b*m, k].
            let k = sa.dim(sa.ndim() - 1);
            let rows = sa.numel() / k.max(1);
            let flat = self.reshape([rows, k])?;
            let out = flat.matmul_t(other, false, tb)?;
            let n = out.shape().dim(1);
            let mut dims = sa.dims().to_vec();
            *dims.last_mut().expect("ndim > 2") = n;
            return out.reshape(Shape::new(&dims)?);
        }
        let v = {
            let nodes = self.tape.nodes();
            nodes[self.id as usize]
                .value
                .matmul_t(&nodes[other.id as usize].value, ta, tb)?
        };
        Ok(self
            .tape
            .push(v, Op::MatMul { ta, tb }, Inputs::Two(self.id, other.id)))
    }

    /// `log Σ exp(x)` over `axis`, stable: the maximum is subtracted first (and treated as a
    /// constant, which leaves the derivative, softmax, unchanged).
    pub fn logsumexp(self, axis: isize, keepdim: bool) -> Result<Var<'t, T>> {
        let m = self.value().max(&[axis], true)?;
        let m = m.map(|v| if v.is_finite() { v } else { T::zero() });
        let mv = self.tape.constant(m);
        let s = self
            .try_sub(mv)?
            .exp()
            .sum(&[axis], true)?
            .ln()
            .try_add(mv)?;
        if keepdim {
            Ok(s)
        } else {
            let shape = self.shape();
            let ax = shape.axis("logsumexp", axis)?;
            let mut dims = shape.dims().to_vec();
            dims.remove(ax);
            s.reshape(Shape::new(&dims)?)
        }
    }

    /// Log-probabilities from logits along `axis`: `x - logsumexp(x)`.
    pub fn log_softmax(self, axis: isize) -> Result<Var<'t, T>> {
        let l = self.logsumexp(axis, true)?;
        self.try_sub(l)
    }

    /// Probabilities from logits along `axis`.
    pub fn softmax(self, axis: isize) -> Result<Var<'t, T>> {
        Ok(self.log_softmax(axis)?.exp())
    }
}

/// Panics with the error's message: operators keep formulas readable, the `try_` methods return
/// the same error as a `Result`.
fn or_panic<V>(r: Result<V>) -> V {
    r.unwrap_or_else(|e| panic!("{e}"))
}

macro_rules! var_binop {
    ($trait:ident, $method:ident, $try:ident, $scalar:expr) => {
        impl<'t, T: Element> std::ops::$trait<Var<'t, T>> for Var<'t, T> {
            type Output = Var<'t, T>;
            fn $method(self, rhs: Var<'t, T>) -> Var<'t, T> {
                or_panic(self.$try(rhs))
            }
        }
        impl<'t, T: Element> std::ops::$trait<T> for Var<'t, T> {
            type Output = Var<'t, T>;
            fn $method(self, rhs: T) -> Var<'t, T> {
                let f: fn(Var<'t, T>, T) -> Var<'t, T> = $scalar;
                f(self, rhs)
            }
        }
    };
}

var_binop!(Add, add, try_add, |a, c| a.add_scalar(c));
var_binop!(Sub, sub, try_sub, |a, c| a.add_scalar(-c));
var_binop!(Mul, mul, try_mul, |a, c| a.mul_scalar(c));
var_binop!(Div, div, try_div, |a, c| a.mul_scalar(T::one() / c));

impl<'t, T: Element> std::ops::Neg for Var<'t, T> {
    type Output = Var<'t, T>;
    fn neg(self) -> Var<'t, T> {
        self.unary(UnaryOp::Neg)
    }
}

macro_rules! scalar_lhs {
    ($($t:ty),*) => {$(
        impl<'t> std::ops::Add<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            fn add(self, v: Var<'t, $t>) -> Var<'t, $t> { v.add_scalar(self) }
        }
        impl<'t> std::ops::Sub<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            fn sub(self, v: Var<'t, $t>) -> Var<'t, $t> { (-v).add_scalar(self) }
        }
        impl<'t> std::ops::Mul<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            fn mul(self, v: Var<'t, $t>) -> Var<'t, $t> { v.mul_scalar(self) }
        }
        impl<'t> std::ops::Div<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            fn div(self, v: Var<'t, $t>) -> Var<'t, $t> { v.powf(-1.0).mul_scalar(self) }
        }
    )*};
}
scalar_lhs!(f32, f64);
