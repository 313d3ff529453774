//! One backward rule per primitive op, written once over [`Adj`]: run on plain tensors it is the
//! fast first-order pass; run on tape variables it records the gradient computation itself, which
//! is what makes Hessian-vector products and other higher-order derivatives work.

use super::op::Op;
use super::Var;
use crate::tensor::conv_kernels as ck;
use crate::tensor::{
    BatchNormSaved, BinaryOp, ChannelView, ConvGeom, Element, PoolGeom, Shape, Tensor, UnaryOp,
};
use std::sync::Arc;

/// The operations a backward rule may use. Implemented by [`Tensor`] (values only) and by
/// [`Var`] (recorded, differentiable again).
pub(crate) trait Adj<T: Element>: Clone {
    fn lift(&self, t: Tensor<T>) -> Self;
    fn add(&self, o: &Self) -> Self;
    fn mul(&self, o: &Self) -> Self;
    fn div(&self, o: &Self) -> Self;
    fn pow(&self, o: &Self) -> Self;
    fn neg(&self) -> Self;
    fn unary(&self, u: UnaryOp) -> Self;
    fn add_scalar(&self, c: T) -> Self;
    fn mul_scalar(&self, c: T) -> Self;
    fn powf(&self, p: T) -> Self;
    fn mul_const(&self, c: &Tensor<T>) -> Self;
    /// `self * f(x)` for a piecewise-constant derivative `f` (a constant in the graph).
    fn mul_fn<F: Fn(T) -> T + Copy + Sync>(&self, x: &Tensor<T>, f: F) -> Self;
    fn sum_to(&self, s: &Shape) -> Self;
    fn broadcast_to(&self, s: &Shape) -> Self;
    fn reshape(&self, s: &Shape) -> Self;
    fn permute(&self, p: &[usize]) -> Self;
    fn narrow(&self, axis: usize, start: usize, len: usize) -> Self;
    fn pad(&self, axis: usize, start: usize, total: usize) -> Self;
    fn index_select(&self, axis: usize, idx: &Arc<[usize]>) -> Self;
    fn index_add(&self, axis: usize, idx: &Arc<[usize]>, size: usize) -> Self;
    fn gather(&self, axis: usize, idx: &Arc<[usize]>, shape: &Shape) -> Self;
    fn scatter_add(&self, axis: usize, idx: &Arc<[usize]>, shape: &Shape) -> Self;
    fn matmul_t(&self, o: &Self, ta: bool, tb: bool) -> Self;
    /// `conv(self, w)`.
    fn conv2d(&self, w: &Self, g: &ConvGeom) -> Self;
    /// The input gradient from the output gradient `self`.
    fn conv2d_input_grad(&self, w: &Self, g: &ConvGeom) -> Self;
    /// The weight gradient from the input `self` and the output gradient `gy`.
    fn conv2d_weight_grad(&self, gy: &Self, g: &ConvGeom) -> Self;
    fn avg_pool2d(&self, g: &PoolGeom) -> Self;
    fn avg_pool2d_adjoint(&self, g: &PoolGeom) -> Self;
    /// `[∂x, ∂weight, ∂bias]` of a training-mode batch norm of `x` from its output gradient
    /// `self`: one fused kernel on values, the composed formula when recorded.
    fn batch_norm_grads(&self, x: &Self, weight: &Self, saved: &BatchNormSaved<T>) -> [Self; 3];
    /// `[∂x, ∂scale, ∂shift]` of `x·scale[c] + shift[c]` from its output gradient `self`.
    fn channel_affine_grads(&self, x: &Self, scale: &Self) -> [Self; 3];
}

const CONSISTENT: &str = "backward shapes are consistent by construction";

impl<T: Element> Adj<T> for Tensor<T> {
    fn lift(&self, t: Tensor<T>) -> Self {
        t
    }
    fn add(&self, o: &Self) -> Self {
        Tensor::add(self, o).expect(CONSISTENT)
    }
    fn mul(&self, o: &Self) -> Self {
        Tensor::mul(self, o).expect(CONSISTENT)
    }
    fn div(&self, o: &Self) -> Self {
        Tensor::div(self, o).expect(CONSISTENT)
    }
    fn pow(&self, o: &Self) -> Self {
        Tensor::pow(self, o).expect(CONSISTENT)
    }
    fn neg(&self) -> Self {
        self.unary(UnaryOp::Neg)
    }
    fn unary(&self, u: UnaryOp) -> Self {
        Tensor::unary(self, u)
    }
    fn add_scalar(&self, c: T) -> Self {
        Tensor::add_scalar(self, c)
    }
    fn mul_scalar(&self, c: T) -> Self {
        Tensor::mul_scalar(self, c)
    }
    fn powf(&self, p: T) -> Self {
        self.powf_scalar(p)
    }
    fn mul_const(&self, c: &Tensor<T>) -> Self {
        Tensor::mul(self, c).expect(CONSISTENT)
    }
    fn mul_fn<F: Fn(T) -> T + Copy + Sync>(&self, x: &Tensor<T>, f: F) -> Self {
        self.zip_map(x, move |g, x| g * f(x))
    }
    fn sum_to(&self, s: &Shape) -> Self {
        Tensor::sum_to(self, s).expect(CONSISTENT)
    }
    fn broadcast_to(&self, s: &Shape) -> Self {
        Tensor::broadcast_to(self, s).expect(CONSISTENT)
    }
    fn reshape(&self, s: &Shape) -> Self {
        Tensor::reshape(self, *s).expect(CONSISTENT)
    }
    fn permute(&self, p: &[usize]) -> Self {
        Tensor::permute(self, p).expect(CONSISTENT)
    }
    fn narrow(&self, axis: usize, start: usize, len: usize) -> Self {
        Tensor::narrow(self, axis as isize, start, len).expect(CONSISTENT)
    }
    fn pad(&self, axis: usize, start: usize, total: usize) -> Self {
        self.pad_axis(axis, start, total).expect(CONSISTENT)
    }
    fn index_select(&self, axis: usize, idx: &Arc<[usize]>) -> Self {
        Tensor::index_select(self, axis as isize, idx).expect(CONSISTENT)
    }
    fn index_add(&self, axis: usize, idx: &Arc<[usize]>, size: usize) -> Self {
        Tensor::index_add(self, axis, idx, size).expect(CONSISTENT)
    }
    fn gather(&self, axis: usize, idx: &Arc<[usize]>, shape: &Shape) -> Self {
        Tensor::gather(self, axis as isize, idx, shape).expect(CONSISTENT)
    }
    fn scatter_add(&self, axis: usize, idx: &Arc<[usize]>, shape: &Shape) -> Self {
        Tensor::scatter_add(self, axis, idx, shape).expect(CONSISTENT)
    }
    fn matmul_t(&self, o: &Self, ta: bool, tb: bool) -> Self {
        Tensor::matmul_t(self, o, ta, tb).expect(CONSISTENT)
    }
    fn conv2d(&self, w: &Self, g: &ConvGeom) -> Self {
        ck::conv2d_forward(self, w, g)
    }
    fn conv2d_input_grad(&self, w: &Self, g: &ConvGeom) -> Self {
        ck::conv2d_input_grad(self, w, g)
    }
    fn conv2d_weight_grad(&self, gy: &Self, g: &ConvGeom) -> Self {
        ck::conv2d_weight_grad(self, gy, g)
    }
    fn avg_pool2d(&self, g: &PoolGeom) -> Self {
        ck::avg_pool2d_forward(self, g)
    }
    fn avg_pool2d_adjoint(&self, g: &PoolGeom) -> Self {
        ck::avg_pool2d_adjoint(self, g)
    }
    fn batch_norm_grads(&self, x: &Self, weight: &Self, saved: &BatchNormSaved<T>) -> [Self; 3] {
        let v = ChannelView::of(x.dims()).expect(CONSISTENT);
        let (gx, gw, gb) =
            crate::tensor::batch_norm_backward(x, self, weight.as_slice(), saved, &v);
        let c = [v.c];
        [
            gx,
            Tensor::from_vec(gw, c).expect(CONSISTENT),
            Tensor::from_vec(gb, c).expect(CONSISTENT),
        ]
    }
    fn channel_affine_grads(&self, x: &Self, scale: &Self) -> [Self; 3] {
        let v = ChannelView::of(x.dims()).expect(CONSISTENT);
        let (gx, gs, gb) = crate::tensor::channel_affine_backward(x, self, scale.as_slice(), &v);
        let c = [v.c];
        [
            gx,
            Tensor::from_vec(gs, c).expect(CONSISTENT),
            Tensor::from_vec(gb, c).expect(CONSISTENT),
        ]
    }
}

impl<'t, T: Element> Adj<T> for Var<'t, T> {
    fn lift(&self, t: Tensor<T>) -> Self {
        self.tape.constant(t)
    }
    fn add(&self, o: &Self) -> Self {
        self.try_add(*o).expect(CONSISTENT)
    }
    fn mul(&self, o: &Self) -> Self {
        self.try_mul(*o).expect(CONSISTENT)
    }
    fn div(&self, o: &Self) -> Self {
        self.try_div(*o).expect(CONSISTENT)
    }
    fn pow(&self, o: &Self) -> Self {
        Var::pow(*self, *o).expect(CONSISTENT)
    }
    fn neg(&self) -> Self {
        -*self
    }
    fn unary(&self, u: UnaryOp) -> Self {
        Var::unary(*self, u)
    }
    fn add_scalar(&self, c: T) -> Self {
        Var::add_scalar(*self, c)
    }
    fn mul_scalar(&self, c: T) -> Self {
        Var::mul_scalar(*self, c)
    }
    fn powf(&self, p: T) -> Self {
        Var::powf(*self, p)
    }
    fn mul_const(&self, c: &Tensor<T>) -> Self {
        Var::mul_const(*self, c).expect(CONSISTENT)
    }
    fn mul_fn<F: Fn(T) -> T + Copy + Sync>(&self, x: &Tensor<T>, f: F) -> Self {
        Var::mul_const(*self, &x.map(f)).expect(CONSISTENT)
    }
    fn sum_to(&self, s: &Shape) -> Self {
        Var::sum_to(*self, *s).expect(CONSISTENT)
    }
    fn broadcast_to(&self, s: &Shape) -> Self {
        Var::broadcast_to(*self, *s).expect(CONSISTENT)
    }
    fn reshape(&self, s: &Shape) -> Self {
        Var::reshape(*self, *s).expect(CONSISTENT)
    }
    fn permute(&self, p: &[usize]) -> Self {
        Var::permute(*self, p).expect(CONSISTENT)
    }
    fn narrow(&self, axis: usize, start: usize, len: usize) -> Self {
        Var::narrow(*self, axis as isize, start, len).expect(CONSISTENT)
    }
    fn pad(&self, axis: usize, start: usize, total: usize) -> Self {
        self.pad_axis(axis, start, total).expect(CONSISTENT)
    }
    fn index_select(&self, axis: usize, idx: &Arc<[usize]>) -> Self {
        Var::index_select(*self, axis as isize, idx).expect(CONSISTENT)
    }
    fn index_add(&self, axis: usize, idx: &Arc<[usize]>, size: usize) -> Self {
        Var::index_add(*self, axis, idx.clone(), size).expect(CONSISTENT)
    }
    fn gather(&self, axis: usize, idx: &Arc<[usize]>, shape: &Shape) -> Self {
        Var::gather(*self, axis as isize, idx, *shape).expect(CONSISTENT)
    }
    fn scatter_add(&self, axis: usize, idx: &Arc<[usize]>, shape: &Shape) -> Self {
        Var::scatter_add(*self, axis, idx.clone(), shape).expect(CONSISTENT)
    }
    fn matmul_t(&self, o: &Self, ta: bool, tb: bool) -> Self {
        Var::matmul_t(*self, *o, ta, tb).expect(CONSISTENT)
    }
    fn conv2d(&self, w: &Self, g: &ConvGeom) -> Self {
        self.record_conv(*w, Op::Conv2d(*g))
    }
    fn conv2d_input_grad(&self, w: &Self, g: &ConvGeom) -> Self {
        self.record_conv(*w, Op::Conv2dInputGrad(*g))
    }
    fn conv2d_weight_grad(&self, gy: &Self, g: &ConvGeom) -> Self {
        self.record_conv(*gy, Op::Conv2dWeightGrad(*g))
    }
    fn avg_pool2d(&self, g: &PoolGeom) -> Self {
        self.record_pool(Op::AvgPool2d(*g))
    }
    fn avg_pool2d_adjoint(&self, g: &PoolGeom) -> Self {
        self.record_pool(Op::AvgPool2dAdjoint(*g))
    }
    fn batch_norm_grads(&self, x: &Self, weight: &Self, saved: &BatchNormSaved<T>) -> [Self; 3] {
        super::norm::composed_grads(*self, *x, *weight, saved.eps).expect(CONSISTENT)
    }
    fn channel_affine_grads(&self, x: &Self, scale: &Self) -> [Self; 3] {
        super::norm::composed_affine_grads(*self, *x, *scale).expect(CONSISTENT)
    }
}

#[inline(always)]
fn step<T: Element>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else {
        T::zero()
    }
}

#[inline(always)]
fn sign<T: Element>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

/// Share of the gradient that goes to `a` in `max(a, b)` / `min(a, b)`: 1, 0, or ½ on ties.
fn select_share<T: Element>(a: &Tensor<T>, b: &Tensor<T>, pick_a: fn(T, T) -> bool) -> Tensor<T> {
    let half = T::from_f64(0.5);
    let (ab, bb);
    let shape = Shape::broadcast("max", a.shape(), b.shape()).expect(CONSISTENT);
    ab = a.broadcast_to(&shape).expect(CONSISTENT);
    bb = b.broadcast_to(&shape).expect(CONSISTENT);
    ab.zip_map(&bb, |x, y| {
        if x == y {
            half
        } else if pick_a(x, y) {
            T::one()
        } else {
            T::zero()
        }
    })
}

/// The values a rule reads: input and output values (for shapes and constant masks) and the
/// matching differentiable handles.
pub(crate) struct RuleCtx<'a, T: Element, A> {
    pub(crate) xs: &'a [A],
    pub(crate) xv: &'a [Tensor<T>],
    pub(crate) out: &'a A,
    pub(crate) outv: &'a Tensor<T>,
    pub(crate) need: &'a [bool],
}

/// Emits `∂L/∂input_i` for every input that needs it, given `g = ∂L/∂output`.
pub(crate) fn vjp<T: Element, A: Adj<T>>(
    op: &Op<T>,
    c: &RuleCtx<'_, T, A>,
    g: &A,
    emit: &mut impl FnMut(usize, A),
) {
    let need = |i: usize| c.need.get(i).copied().unwrap_or(false);
    let sx = |i: usize| *c.xv[i].shape();
    match op {
        Op::Leaf | Op::Const => {}
        Op::Unary(u) => {
            let x = &c.xs[0];
            let y = c.out;
            let r = match u {
                UnaryOp::Neg => g.neg(),
                UnaryOp::Exp => g.mul(y),
                UnaryOp::Log => g.div(x),
                UnaryOp::Sqrt => g.div(y).mul_scalar(T::from_f64(0.5)),
                UnaryOp::Sin => g.mul(&x.unary(UnaryOp::Cos)),
                UnaryOp::Cos => g.mul(&x.unary(UnaryOp::Sin)).neg(),
                UnaryOp::Tan => g.mul(&y.mul(y).add_scalar(T::one())),
                UnaryOp::Tanh => g.mul(&y.mul(y).neg().add_scalar(T::one())),
                UnaryOp::Sigmoid => g.mul(&y.mul(&y.neg().add_scalar(T::one()))),
                UnaryOp::Relu => g.mul_fn(&c.xv[0], step::<T>),
                UnaryOp::Abs => g.mul_fn(&c.xv[0], sign::<T>),
            };
            emit(0, r);
        }
        Op::Binary(b) => {
            let (a, bb) = (&c.xs[0], &c.xs[1]);
            let (sa, sb) = (sx(0), sx(1));
            match b {
                BinaryOp::Add => {
                    if need(0) {
                        emit(0, g.sum_to(&sa));
                    }
                    if need(1) {
                        emit(1, g.sum_to(&sb));
                    }
                }
                BinaryOp::Sub => {
                    if need(0) {
                        emit(0, g.sum_to(&sa));
                    }
                    if need(1) {
                        emit(1, g.neg().sum_to(&sb));
                    }
                }
                BinaryOp::Mul => {
                    if need(0) {
                        emit(0, g.mul(bb).sum_to(&sa));
                    }
                    if need(1) {
                        emit(1, g.mul(a).sum_to(&sb));
                    }
                }
                BinaryOp::Div => {
                    if need(0) {
                        emit(0, g.div(bb).sum_to(&sa));
                    }
                    if need(1) {
                        emit(1, g.mul(c.out).div(bb).neg().sum_to(&sb));
                    }
                }
                BinaryOp::Pow => {
                    if need(0) {
                        emit(
                            0,
                            g.mul(bb).mul(&a.pow(&bb.add_scalar(-T::one()))).sum_to(&sa),
                        );
                    }
                    if need(1) {
                        // d/db a^b = a^b ln a, taken as 0 where a <= 0 (where a^b is real only
                        // for integer b and the derivative along b does not exist).
                        let pos = c.xv[0].map(|v| if v > T::zero() { T::one() } else { T::zero() });
                        let one_minus = pos.map(|p| T::one() - p);
                        let safe = a.mul_const(&pos).add(&a.lift(one_minus));
                        emit(1, g.mul(c.out).mul(&safe.unary(UnaryOp::Log)).sum_to(&sb));
                    }
                }
                BinaryOp::Maximum | BinaryOp::Minimum => {
                    let pick: fn(T, T) -> bool = if *b == BinaryOp::Maximum {
                        |x, y| x > y
                    } else {
                        |x, y| x < y
                    };
                    let share = select_share(&c.xv[0], &c.xv[1], pick);
                    if need(0) {
                        emit(0, g.mul_const(&share).sum_to(&sa));
                    }
                    if need(1) {
                        emit(1, g.mul_const(&share.map(|s| T::one() - s)).sum_to(&sb));
                    }
                }
                BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Eq => {}
            }
        }
        Op::AddScalar(_) => emit(0, g.clone()),
        Op::MulScalar(k) => emit(0, g.mul_scalar(*k)),
        Op::PowScalar(p) => {
            let p = *p;
            let r = if p == T::one() {
                g.clone()
            } else if p == T::from_f64(2.0) {
                g.mul(&c.xs[0]).mul_scalar(p)
            } else {
                g.mul(&c.xs[0].powf(p - T::one())).mul_scalar(p)
            };
            emit(0, r);
        }
        Op::MulConst(k) => emit(0, g.mul_const(k).sum_to(&sx(0))),
        Op::Where(cond) => {
            if need(0) {
                emit(0, g.mul_const(cond).sum_to(&sx(0)));
            }
            if need(1) {
                emit(
                    1,
                    g.mul_const(&cond.map(|v| if v != T::zero() { T::zero() } else { T::one() }))
                        .sum_to(&sx(1)),
                );
            }
        }
        Op::Sum { mask, .. } => {
            let s = sx(0);
            let gk = g.reshape(&crate::tensor::reduced_shape_keep(&s, *mask));
            emit(0, gk.broadcast_to(&s));
        }
        Op::Max { mask, .. } | Op::Min { mask, .. } => {
            let s = sx(0);
            let ks = crate::tensor::reduced_shape_keep(&s, *mask);
            let outk = c.outv.reshape(ks).expect(CONSISTENT);
            let hit = c.xv[0].eq_elem(&outk).expect(CONSISTENT);
            let count = hit.sum_mask(*mask, true);
            let share = hit.div(&count).expect(CONSISTENT);
            emit(0, g.reshape(&ks).broadcast_to(&s).mul_const(&share));
        }
        Op::Reshape => emit(0, g.reshape(&sx(0))),
        Op::Permute(p) => {
            let mut inv = vec![0; p.len()];
            for (i, &pi) in p.iter().enumerate() {
                inv[pi] = i;
            }
            emit(0, g.permute(&inv));
        }
        Op::Narrow { axis, start } => emit(0, g.pad(*axis, *start, sx(0).dim(*axis))),
        Op::Pad { axis, start, .. } => emit(0, g.narrow(*axis, *start, sx(0).dim(*axis))),
        Op::Concat { axis } => {
            let mut at = 0;
            for i in 0..c.xv.len() {
                let len = sx(i).dim(*axis);
                if need(i) {
                    emit(i, g.narrow(*axis, at, len));
                }
                at += len;
            }
        }
        Op::BroadcastTo => emit(0, g.sum_to(&sx(0))),
        Op::SumTo => emit(0, g.broadcast_to(&sx(0))),
        Op::IndexSelect { axis, idx } => emit(0, g.index_add(*axis, idx, sx(0).dim(*axis))),
        Op::IndexAdd { axis, idx, .. } => emit(0, g.index_select(*axis, idx)),
        Op::Gather { axis, idx } => emit(0, g.scatter_add(*axis, idx, &sx(0))),
        Op::ScatterAdd { axis, idx } => emit(0, g.gather(*axis, idx, &sx(0))),
        Op::MatMul { ta, tb } => {
            let (a, b) = (&c.xs[0], &c.xs[1]);
            // C = op(A)·op(B); the four transpose cases close under differentiation.
            if need(0) {
                emit(
                    0,
                    match (ta, tb) {
                        (false, false) => g.matmul_t(b, false, true),
                        (true, false) => b.matmul_t(g, false, true),
                        (false, true) => g.matmul_t(b, false, false),
                        (true, true) => b.matmul_t(g, true, true),
                    },
                );
            }
            if need(1) {
                emit(
                    1,
                    match (ta, tb) {
                        (false, false) => a.matmul_t(g, true, false),
                        (true, false) => a.matmul_t(g, false, false),
                        (false, true) => g.matmul_t(a, true, false),
                        (true, true) => g.matmul_t(a, true, true),
                    },
                );
            }
        }
        // conv(x, w) is bilinear; its two adjoints and the convolution itself close under
        // differentiation: each rule below is one of the three ops.
        Op::Conv2d(geo) => {
            if need(0) {
                emit(0, g.conv2d_input_grad(&c.xs[1], geo));
            }
            if need(1) {
                emit(1, c.xs[0].conv2d_weight_grad(g, geo));
            }
        }
        Op::Conv2dInputGrad(geo) => {
            // out = input_grad(gy, w): ⟨g, out⟩ = ⟨conv(g, w), gy⟩ = ⟨w, weight_grad(g, gy)⟩.
            if need(0) {
                emit(0, g.conv2d(&c.xs[1], geo));
            }
            if need(1) {
                emit(1, g.conv2d_weight_grad(&c.xs[0], geo));
            }
        }
        Op::Conv2dWeightGrad(geo) => {
            // out = weight_grad(x, gy): ⟨g, out⟩ = ⟨conv(x, g), gy⟩ = ⟨x, input_grad(gy, g)⟩.
            if need(0) {
                emit(0, c.xs[1].conv2d_input_grad(g, geo));
            }
            if need(1) {
                emit(1, c.xs[0].conv2d(g, geo));
            }
        }
        Op::AvgPool2d(geo) => emit(0, g.avg_pool2d_adjoint(geo)),
        Op::AvgPool2dAdjoint(geo) => emit(0, g.avg_pool2d(geo)),
        // Both take (x, a per-channel factor, a per-channel shift) and give all three gradients
        // from one fused kernel.
        Op::ChannelAffine | Op::BatchNormTrain(_) => {
            let grads = match op {
                Op::BatchNormTrain(saved) => g.batch_norm_grads(&c.xs[0], &c.xs[1], saved),
                _ => g.channel_affine_grads(&c.xs[0], &c.xs[1]),
            };
            for (i, gi) in grads.into_iter().enumerate() {
                if need(i) {
                    emit(i, gi);
                }
            }
        }
    }
}
