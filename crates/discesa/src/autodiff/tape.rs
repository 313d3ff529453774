//! The tape: an arena of recorded values in creation order. Creation order is a topological
//! order, so the backward pass is one reverse sweep over a `Vec`; clearing it between training
//! steps frees the whole graph at once while keeping its capacity.

use super::op::{Inputs, Node, Op};
use super::Var;
use crate::tensor::{Element, Shape, Tensor};
use std::cell::{Cell, Ref, RefCell};

/// A recording of operations on [`Var`]s, from which gradients are computed.
///
/// ```
/// use discesa::autodiff::Tape;
/// let tape = Tape::<f64>::new();
/// let x = tape.scalar_var(3.0);
/// let y = x * x + 2.0 * x;           // y = x² + 2x
/// let g = tape.backward(y).unwrap();
/// assert_eq!(g.wrt(x).item().unwrap(), 8.0); // dy/dx = 2x + 2
/// ```
pub struct Tape<T: Element> {
    pub(crate) nodes: RefCell<Vec<Node<T>>>,
    recording: Cell<bool>,
}

impl<T: Element> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> Tape<T> {
    /// An empty tape.
    pub fn new() -> Self {
        Tape {
            nodes: RefCell::new(Vec::new()),
            recording: Cell::new(true),
        }
    }

    /// An empty tape with room for `n` nodes.
    pub fn with_capacity(n: usize) -> Self {
        Tape {
            nodes: RefCell::new(Vec::with_capacity(n)),
            recording: Cell::new(true),
        }
    }

    /// A differentiable input (a leaf whose gradient [`backward`](Self::backward) will report).
    pub fn var(&self, value: Tensor<T>) -> Var<'_, T> {
        self.push_node(value, Op::Leaf, Inputs::None, true)
    }

    /// A differentiable scalar input.
    pub fn scalar_var(&self, x: T) -> Var<'_, T> {
        self.var(Tensor::scalar(x))
    }

    /// A constant: data that gradients do not flow into.
    pub fn constant(&self, value: Tensor<T>) -> Var<'_, T> {
        self.push_node(value, Op::Const, Inputs::None, false)
    }

    /// A constant scalar.
    pub fn scalar(&self, x: T) -> Var<'_, T> {
        self.constant(Tensor::scalar(x))
    }

    /// Number of recorded nodes.
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// True if nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every node, keeping the allocation. Needs `&mut self`, so no [`Var`] of this tape
    /// can still be alive: stale variables are impossible by construction.
    pub fn clear(&mut self) {
        self.nodes.get_mut().clear();
        self.recording.set(true);
    }

    /// Runs `f` with recording switched off: every result is a constant, nothing is kept for
    /// backward (evaluation, parameter updates).
    pub fn no_grad<R>(&self, f: impl FnOnce() -> R) -> R {
        let was = self.recording.replace(false);
        let r = f();
        self.recording.set(was);
        r
    }

    /// True while operations are recorded for differentiation.
    pub fn is_recording(&self) -> bool {
        self.recording.get()
    }

    pub(crate) fn set_recording(&self, on: bool) -> bool {
        self.recording.replace(on)
    }

    /// Records a node; it needs gradients only if recording is on and an input needs them.
    #[inline]
    pub(crate) fn push(&self, value: Tensor<T>, op: Op<T>, inputs: Inputs) -> Var<'_, T> {
        let rg = self.recording.get() && {
            let nodes = self.nodes.borrow();
            match inputs.ids() {
                super::op::InputIds::Inline(ids, n) => {
                    ids[..n].iter().any(|&i| nodes[i as usize].requires_grad)
                }
                super::op::InputIds::Slice(ids) => {
                    ids.iter().any(|&i| nodes[i as usize].requires_grad)
                }
            }
        };
        if rg {
            self.push_node(value, op, inputs, true)
        } else {
            self.push_node(value, Op::Const, Inputs::None, false)
        }
    }

    #[inline]
    fn push_node(
        &self,
        value: Tensor<T>,
        op: Op<T>,
        inputs: Inputs,
        requires_grad: bool,
    ) -> Var<'_, T> {
        let mut nodes = self.nodes.borrow_mut();
        let id = nodes.len() as u32;
        nodes.push(Node {
            value,
            op,
            inputs,
            requires_grad,
        });
        Var { tape: self, id }
    }

    pub(crate) fn value_of(&self, id: u32) -> Tensor<T> {
        self.nodes.borrow()[id as usize].value.clone()
    }

    pub(crate) fn shape_of(&self, id: u32) -> Shape {
        *self.nodes.borrow()[id as usize].value.shape()
    }

    pub(crate) fn nodes(&self) -> Ref<'_, Vec<Node<T>>> {
        self.nodes.borrow()
    }

    /// A description of every recorded node, in creation (forward) order: for traces and graphs.
    pub fn describe(&self) -> Vec<NodeInfo<T>> {
        self.nodes
            .borrow()
            .iter()
            .enumerate()
            .map(|(i, n)| NodeInfo {
                id: i,
                op: n.op.name(),
                inputs: n
                    .inputs
                    .ids()
                    .to_vec()
                    .into_iter()
                    .map(|x| x as usize)
                    .collect(),
                value: n.value.clone(),
                requires_grad: n.requires_grad,
            })
            .collect()
    }
}

/// What a recorded node is: for printing traces and drawing graphs.
#[derive(Clone, Debug)]
pub struct NodeInfo<T: Element> {
    /// Position on the tape (creation order).
    pub id: usize,
    /// The operation's name (`input`, `const`, `mul`, `exp`, ...).
    pub op: String,
    /// Ids of the inputs.
    pub inputs: Vec<usize>,
    /// The forward value.
    pub value: Tensor<T>,
    /// Whether gradients flow through it.
    pub requires_grad: bool,
}
