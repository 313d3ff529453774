//! The backward rules again for nodes whose values are all plain scalars, in plain arithmetic:
//! formulas typed at the command line and scalar chains run through here without touching the
//! tensor machinery. Used only on the first-order path; [`super::rules`] stays the reference.

use super::op::{InputIds, Node, Op};
use crate::tensor::{BinaryOp, Element, UnaryOp};

/// Contributions `(input id, gradient)` of a scalar node, or `None` if the node is not a plain
/// scalar op (then the general rule runs).
#[inline]
pub(crate) fn vjp<T: Element>(
    node: &Node<T>,
    nodes: &[Node<T>],
    g: T,
) -> Option<[Option<(u32, T)>; 2]> {
    let y = node.value.as_scalar()?;
    let (ids, n) = match node.inputs.ids() {
        InputIds::Inline(ids, n) => (ids, n),
        InputIds::Slice(_) => return None,
    };
    let val = |k: usize| nodes[ids[k] as usize].value.as_scalar();
    let need = |k: usize| nodes[ids[k] as usize].requires_grad;
    let one = T::one();
    let out = |k: usize, v: T| if need(k) { Some((ids[k], v)) } else { None };
    match (&node.op, n) {
        (Op::Unary(u), 1) => {
            let x = val(0)?;
            let d = match u {
                UnaryOp::Neg => -one,
                UnaryOp::Exp => y,
                UnaryOp::Log => one / x,
                UnaryOp::Sqrt => T::from_f64(0.5) / y,
                UnaryOp::Sin => x.cos(),
                UnaryOp::Cos => -x.sin(),
                UnaryOp::Tan => one + y * y,
                UnaryOp::Tanh => one - y * y,
                UnaryOp::Sigmoid => y * (one - y),
                UnaryOp::Relu => {
                    if x > T::zero() {
                        one
                    } else {
                        T::zero()
                    }
                }
                UnaryOp::Abs => {
                    if x > T::zero() {
                        one
                    } else if x < T::zero() {
                        -one
                    } else {
                        T::zero()
                    }
                }
            };
            Some([out(0, g * d), None])
        }
        (Op::Binary(b), 2) => {
            let (a, c) = (val(0)?, val(1)?);
            let (da, dc) = match b {
                BinaryOp::Add => (g, g),
                BinaryOp::Sub => (g, -g),
                BinaryOp::Mul => (g * c, g * a),
                BinaryOp::Div => (g / c, -(g * y) / c),
                BinaryOp::Pow => (
                    g * c * a.powf(c - one),
                    if a > T::zero() {
                        g * y * a.ln()
                    } else {
                        T::zero()
                    },
                ),
                BinaryOp::Maximum | BinaryOp::Minimum => {
                    let pick_a = if *b == BinaryOp::Maximum {
                        a > c
                    } else {
                        a < c
                    };
                    if a == c {
                        let h = g * T::from_f64(0.5);
                        (h, h)
                    } else if pick_a {
                        (g, T::zero())
                    } else {
                        (T::zero(), g)
                    }
                }
                _ => return None,
            };
            Some([out(0, da), out(1, dc)])
        }
        (Op::AddScalar(_), 1) => Some([out(0, g), None]),
        (Op::MulScalar(k), 1) => Some([out(0, g * *k), None]),
        (Op::PowScalar(p), 1) => {
            let x = val(0)?;
            let d = if *p == T::one() {
                one
            } else {
                *p * x.powf(*p - one)
            };
            Some([out(0, g * d), None])
        }
        _ => None,
    }
}
