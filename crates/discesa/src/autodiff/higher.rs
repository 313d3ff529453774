//! Derivatives of functions rather than of recorded graphs: gradient, Hessian-vector product,
//! full Hessian and Jacobian for small inputs, and the forward-mode directional derivative.
//! All of them differentiate the engine's own recorded gradients (create-graph).

use super::{Tape, Var};
use crate::error::{Error, Result};
use crate::tensor::{Element, Shape, Tensor};

fn scalar_out<T: Element>(op: &'static str, y: &Var<'_, T>) -> Result<()> {
    if y.shape().numel() == 1 {
        Ok(())
    } else {
        Err(Error::Autodiff {
            op,
            detail: format!(
                "the function returns shape {}; a scalar is needed",
                y.shape()
            ),
        })
    }
}

/// Value and gradient of a scalar function at `x`.
///
/// ```
/// use discesa::autodiff::gradient;
/// use discesa::tensor::Tensor;
/// let x = Tensor::from_vec(vec![1.0, 2.0], [2]).unwrap();
/// let (f, g) = gradient(|v| Ok((v * v).sum_all()), &x).unwrap();
/// assert_eq!(f, 5.0);
/// assert_eq!(g.to_vec(), vec![2.0, 4.0]);
/// ```
pub fn gradient<T: Element, F>(f: F, x: &Tensor<T>) -> Result<(T, Tensor<T>)>
where
    F: for<'t> Fn(Var<'t, T>) -> Result<Var<'t, T>>,
{
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = f(xv)?;
    scalar_out("gradient", &y)?;
    let g = tape.grad(&[y], &[xv], None)?.remove(0);
    Ok((y.item()?, g))
}

/// Hessian-vector product `∇²f(x) · v` without forming the Hessian: the gradient is recorded,
/// then `⟨∇f, v⟩` is differentiated once more. Returns `(f(x), ∇f(x), ∇²f(x)·v)`.
///
/// ```
/// use discesa::autodiff::hvp;
/// use discesa::tensor::Tensor;
/// // f = x0² x1: H = [[2 x1, 2 x0], [2 x0, 0]]
/// let x = Tensor::from_vec(vec![3.0, 2.0], [2]).unwrap();
/// let v = Tensor::from_vec(vec![1.0, 0.0], [2]).unwrap();
/// let (_, _, hv) = hvp(|x| {
///     let a = x.narrow(0, 0, 1)?;
///     let b = x.narrow(0, 1, 1)?;
///     Ok((a * a * b).sum_all())
/// }, &x, &v).unwrap();
/// assert_eq!(hv.to_vec(), vec![4.0, 6.0]);
/// ```
pub fn hvp<T: Element, F>(f: F, x: &Tensor<T>, v: &Tensor<T>) -> Result<(T, Tensor<T>, Tensor<T>)>
where
    F: for<'t> Fn(Var<'t, T>) -> Result<Var<'t, T>>,
{
    if v.shape() != x.shape() {
        return Err(crate::error::shape_err(
            "hvp",
            format!(
                "direction of shape {} does not match the point's shape {}",
                v.shape(),
                x.shape()
            ),
        ));
    }
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = f(xv)?;
    scalar_out("hvp", &y)?;
    let g = tape.grad_graph(&[y], &[xv], None)?[0];
    let s = g.mul_const(v)?.sum_all();
    let hv = tape.grad(&[s], &[xv], None)?.remove(0);
    Ok((y.item()?, g.value(), hv))
}

/// The full Hessian of a scalar function (shape `[n, n]` for `n = x.numel()`), one
/// Hessian-vector product per row. Meant for small inputs.
pub fn hessian<T: Element, F>(f: F, x: &Tensor<T>) -> Result<Tensor<T>>
where
    F: for<'t> Fn(Var<'t, T>) -> Result<Var<'t, T>>,
{
    let n = x.numel();
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = f(xv)?;
    scalar_out("hessian", &y)?;
    let g = tape.grad_graph(&[y], &[xv], None)?[0].reshape([n])?;
    let mut rows = Vec::with_capacity(n * n);
    for i in 0..n {
        let gi = g.narrow(0, i, 1)?.sum_all();
        let r = tape.grad(&[gi], &[xv], None)?.remove(0);
        rows.extend_from_slice(r.as_slice());
    }
    Tensor::from_vec(rows, Shape::new(&[n, n])?)
}

/// The Jacobian of any function (shape `[m, n]` for `m` outputs and `n` inputs), one
/// vector-Jacobian product per output. Meant for small outputs.
pub fn jacobian<T: Element, F>(f: F, x: &Tensor<T>) -> Result<Tensor<T>>
where
    F: for<'t> Fn(Var<'t, T>) -> Result<Var<'t, T>>,
{
    let n = x.numel();
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = f(xv)?;
    let ys = y.shape();
    let m = ys.numel();
    let mut out = Vec::with_capacity(m * n);
    for j in 0..m {
        let mut e = vec![T::zero(); m];
        e[j] = T::one();
        let seed = Tensor::from_vec(e, ys)?;
        let r = tape.grad(&[y], &[xv], Some(&[seed]))?.remove(0);
        out.extend_from_slice(r.as_slice());
    }
    Tensor::from_vec(out, Shape::new(&[m, n])?)
}

/// Forward-mode directional derivative `J(x) · v`, obtained from reverse mode by differentiating a
/// vector-Jacobian product with respect to its (linear) seed. Returns `(f(x), J·v)`.
pub fn jvp<T: Element, F>(f: F, x: &Tensor<T>, v: &Tensor<T>) -> Result<(Tensor<T>, Tensor<T>)>
where
    F: for<'t> Fn(Var<'t, T>) -> Result<Var<'t, T>>,
{
    if v.shape() != x.shape() {
        return Err(crate::error::shape_err(
            "jvp",
            format!(
                "direction of shape {} does not match the point's shape {}",
                v.shape(),
                x.shape()
            ),
        ));
    }
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let y = f(xv)?;
    let u = tape.var(Tensor::zeros(y.shape()));
    let g = tape.grad_graph(&[y], &[xv], Some(&[u]))?[0];
    let s = g.mul_const(v)?.sum_all();
    let jv = tape.grad(&[s], &[u], None)?.remove(0);
    Ok((y.value(), jv))
}
