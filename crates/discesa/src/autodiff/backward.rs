//! The reverse sweep: from the outputs back to the inputs, one node at a time in reverse
//! creation order, each node's rule turning its output gradient into input gradients.

use super::op::InputIds;
use super::rules::{vjp, Adj, RuleCtx};
use super::{Tape, Var};
use crate::error::{shape_err, Error, Result};
use crate::tensor::{Element, Tensor};

/// Gradients of one backward pass, for every node that gradients reached.
#[derive(Debug)]
pub struct Gradients<T: Element> {
    store: Store<T, Tensor<T>>,
    order: Vec<usize>,
}

impl<T: Element> Gradients<T> {
    /// The gradient with respect to `v`, or `None` if `v` does not influence the output.
    pub fn get(&self, v: Var<'_, T>) -> Option<Tensor<T>> {
        self.by_id(v.id as usize)
    }

    /// The gradient with respect to `v`; zeros if `v` does not influence the output.
    pub fn wrt(&self, v: Var<'_, T>) -> Tensor<T> {
        self.get(v).unwrap_or_else(|| Tensor::zeros(v.shape()))
    }

    /// The gradient of the node with tape position `id`, if reached.
    pub fn by_id(&self, id: usize) -> Option<Tensor<T>> {
        self.store.get(id)
    }

    /// The node ids in the order the sweep processed them (outputs first): the order in which
    /// backpropagation computes adjoints.
    pub fn order(&self) -> &[usize] {
        &self.order
    }
}

const NO_SLOT: u32 = u32::MAX;

/// Adjoints during a sweep. Scalar adjoints live in a flat array (scalar-heavy graphs never
/// build tensor objects); all others in slots allocated on first use.
#[derive(Debug)]
struct Store<T, A> {
    scalar: Vec<T>,
    has_scalar: Vec<bool>,
    slot: Vec<u32>,
    tensors: Vec<A>,
}

impl<T: Element, A: Acc<T>> Store<T, A> {
    fn new(n: usize) -> Self {
        Store {
            scalar: vec![T::zero(); n],
            has_scalar: vec![false; n],
            slot: vec![NO_SLOT; n],
            tensors: Vec::new(),
        }
    }

    #[inline]
    fn add_scalar(&mut self, id: usize, x: T) {
        if self.has_scalar[id] {
            self.scalar[id] += x;
        } else {
            self.scalar[id] = x;
            self.has_scalar[id] = true;
        }
    }

    #[inline]
    fn add(&mut self, id: usize, g: A) {
        if let Some(x) = g.plain_scalar() {
            return self.add_scalar(id, x);
        }
        match self.slot[id] {
            NO_SLOT => {
                self.slot[id] = self.tensors.len() as u32;
                self.tensors.push(g);
            }
            s => self.tensors[s as usize].accumulate(g),
        }
    }

    /// The scalar adjoint, if the node has one.
    #[inline]
    fn scalar_of(&self, id: usize) -> Option<T> {
        self.has_scalar[id].then(|| self.scalar[id])
    }

    fn get(&self, id: usize) -> Option<A> {
        if *self.has_scalar.get(id)? {
            return Some(A::from_scalar(self.scalar[id]));
        }
        match self.slot[id] {
            NO_SLOT => None,
            s => Some(self.tensors[s as usize].clone()),
        }
    }
}

trait Acc<T: Element>: Adj<T> {
    fn accumulate(&mut self, o: Self);
    /// The value if this is a plain scalar tensor (enables the scalar fast path).
    fn plain_scalar(&self) -> Option<T>;
    fn from_scalar(x: T) -> Self;
}

impl<T: Element> Acc<T> for Tensor<T> {
    #[inline]
    fn accumulate(&mut self, o: Self) {
        if let (Some(a), Some(b)) = (self.as_scalar(), o.as_scalar()) {
            *self = Tensor::scalar(a + b);
            return;
        }
        Tensor::accumulate(self, &o).expect("gradient shapes match their values");
    }
    #[inline]
    fn plain_scalar(&self) -> Option<T> {
        self.as_scalar()
    }
    #[inline]
    fn from_scalar(x: T) -> Self {
        Tensor::scalar(x)
    }
}

impl<T: Element> Acc<T> for Var<'_, T> {
    fn accumulate(&mut self, o: Self) {
        *self = self.try_add(o).expect("gradient shapes match their values");
    }
    fn plain_scalar(&self) -> Option<T> {
        None
    }
    fn from_scalar(_: T) -> Self {
        unreachable!("the scalar fast path is only taken for plain tensors")
    }
}

/// Runs the sweep over nodes `< end` from seeded roots. `handle(id)` gives the differentiable
/// handle of a node's value (the tensor itself, or the node's variable). `tick(id, store)` is
/// called before node `id` is visited: every adjoint of a node whose consumers all lie above
/// `id` is final by then.
fn sweep<T: Element, A: Acc<T>>(
    tape: &Tape<T>,
    end: usize,
    roots: Vec<(u32, A)>,
    handle: impl Fn(u32) -> A,
    track_order: bool,
    mut tick: impl FnMut(usize, &Store<T, A>),
) -> (Store<T, A>, Vec<usize>) {
    let mut store: Store<T, A> = Store::new(end);
    let mut top = 0usize;
    for (id, g) in roots {
        top = top.max(id as usize + 1);
        store.add(id as usize, g);
    }
    let mut order = Vec::new();
    let mut ids: Vec<u32> = Vec::new();
    let mut xs: Vec<A> = Vec::new();
    let mut xv: Vec<Tensor<T>> = Vec::new();
    let mut need: Vec<bool> = Vec::new();
    for id in (0..top).rev() {
        tick(id, &store);
        let gs = store.scalar_of(id);
        if gs.is_none() && store.slot[id] == NO_SLOT {
            continue;
        }
        let (op, outv, g) = {
            let nodes = tape.nodes();
            let node = &nodes[id];
            if !node.requires_grad {
                continue;
            }
            if track_order {
                order.push(id);
            }
            if matches!(node.op, super::op::Op::Leaf) {
                continue;
            }
            if let Some(gs) = gs {
                if let Some(contrib) = super::scalar::vjp(node, &nodes, gs) {
                    drop(nodes);
                    for (target, v) in contrib.into_iter().flatten() {
                        store.add_scalar(target as usize, v);
                    }
                    continue;
                }
            }
            let g = store.get(id).expect("checked above");
            ids.clear();
            match node.inputs.ids() {
                InputIds::Inline(a, n) => ids.extend_from_slice(&a[..n]),
                InputIds::Slice(s) => ids.extend_from_slice(s),
            }
            xv.clear();
            need.clear();
            for &i in &ids {
                xv.push(nodes[i as usize].value.clone());
                need.push(nodes[i as usize].requires_grad);
            }
            (node.op.clone(), node.value.clone(), g)
        };
        xs.clear();
        xs.extend(ids.iter().map(|&i| handle(i)));
        let out = handle(id as u32);
        let ctx = RuleCtx {
            xs: &xs,
            xv: &xv,
            out: &out,
            outv: &outv,
            need: &need,
        };
        vjp(&op, &ctx, &g, &mut |k, gi: A| {
            if need[k] {
                store.add(ids[k] as usize, gi);
            }
        });
    }
    (store, order)
}

impl<T: Element> Tape<T> {
    fn check_var(&self, op: &'static str, v: &Var<'_, T>) -> Result<()> {
        if std::ptr::eq(self, v.tape) {
            Ok(())
        } else {
            Err(Error::Autodiff {
                op,
                detail: format!("variable #{} belongs to another tape", v.id),
            })
        }
    }

    fn seed_for(
        &self,
        op: &'static str,
        out: &Var<'_, T>,
        seed: Option<&Tensor<T>>,
    ) -> Result<Tensor<T>> {
        self.check_var(op, out)?;
        let shape = out.shape();
        match seed {
            None if shape.numel() == 1 => Ok(Tensor::ones(shape)),
            None => Err(Error::Autodiff {
                op,
                detail: format!(
                    "the output has shape {shape}; backward needs a scalar output or a seed of that shape \
                     (use backward_seeded or grad with seeds)"
                ),
            }),
            Some(s) if s.shape() != &shape => Err(shape_err(
                op,
                format!("seed of shape {} does not match the output's shape {shape}", s.shape()),
            )),
            Some(s) => Ok(s.clone()),
        }
    }

    /// Gradients of a scalar `loss` with respect to every node it depends on, in one reverse
    /// sweep. A non-scalar output is an error (give a seed with
    /// [`backward_seeded`](Self::backward_seeded)).
    pub fn backward(&self, loss: Var<'_, T>) -> Result<Gradients<T>> {
        let seed = self.seed_for("backward", &loss, None)?;
        Ok(self.backward_from(vec![(loss.id, seed)]))
    }

    /// The vector-Jacobian product `seedᵀ · ∂out/∂(every node)`.
    pub fn backward_seeded(&self, out: Var<'_, T>, seed: &Tensor<T>) -> Result<Gradients<T>> {
        let seed = self.seed_for("backward", &out, Some(seed))?;
        Ok(self.backward_from(vec![(out.id, seed)]))
    }

    /// Backward of a scalar `loss` that hands over the gradient of each of `watch` (leaves) as
    /// soon as the sweep has passed all of its consumers: `on_ready(k, gradient of watch[k])`
    /// (`None` when the loss does not depend on it). Every watched variable is reported once;
    /// gradient all-reduce starts on the last layers while backward still runs on the first.
    pub fn backward_with_ready(
        &self,
        loss: Var<'_, T>,
        watch: &[Var<'_, T>],
        on_ready: &mut dyn FnMut(usize, Option<Tensor<T>>),
    ) -> Result<()> {
        let seed = self.seed_for("backward", &loss, None)?;
        for w in watch {
            self.check_var("backward", w)?;
        }
        let end = self.len();
        // Lowest consumer of each watched node: its adjoint is final once the sweep is below.
        let mut slot_of = vec![usize::MAX; end];
        for (k, w) in watch.iter().enumerate() {
            slot_of[w.id as usize] = k;
        }
        let mut ready_at = vec![0usize; watch.len()];
        {
            let nodes = self.nodes();
            for (id, node) in nodes.iter().enumerate() {
                let mut visit = |i: u32| {
                    let k = slot_of[i as usize];
                    if k != usize::MAX && ready_at[k] == 0 {
                        ready_at[k] = id;
                    }
                };
                match node.inputs.ids() {
                    InputIds::Inline(a, n) => a[..n].iter().for_each(|&i| visit(i)),
                    InputIds::Slice(s) => s.iter().for_each(|&i| visit(i)),
                }
            }
        }
        let mut queue: Vec<usize> = (0..watch.len()).collect();
        queue.sort_by_key(|&k| std::cmp::Reverse(ready_at[k]));
        let mut next = 0;
        let roots = vec![(loss.id, seed)];
        let (store, _) = sweep(
            self,
            end,
            roots,
            |i| self.value_of(i),
            false,
            |id, store| {
                while next < queue.len() && ready_at[queue[next]] > id {
                    let k = queue[next];
                    on_ready(k, store.get(watch[k].id as usize));
                    next += 1;
                }
            },
        );
        for &k in &queue[next..] {
            on_ready(k, store.get(watch[k].id as usize));
        }
        Ok(())
    }

    fn backward_from(&self, roots: Vec<(u32, Tensor<T>)>) -> Gradients<T> {
        let end = self.len();
        let (store, order) = sweep(self, end, roots, |i| self.value_of(i), true, |_, _| {});
        Gradients { store, order }
    }

    /// Vector-Jacobian products: `Σ_k seed_kᵀ ∂outputs_k/∂inputs_j` for each input `j`. Seeds default
    /// to ones for scalar outputs. Inputs that do not influence the outputs get zeros.
    pub fn grad(
        &self,
        outputs: &[Var<'_, T>],
        inputs: &[Var<'_, T>],
        seeds: Option<&[Tensor<T>]>,
    ) -> Result<Vec<Tensor<T>>> {
        let roots = self.roots("grad", outputs, inputs, seeds)?;
        let end = self.len();
        let (store, _) = sweep(self, end, roots, |i| self.value_of(i), false, |_, _| {});
        Ok(inputs
            .iter()
            .map(|v| {
                store
                    .get(v.id as usize)
                    .unwrap_or_else(|| Tensor::zeros(v.shape()))
            })
            .collect())
    }

    fn roots(
        &self,
        op: &'static str,
        outputs: &[Var<'_, T>],
        inputs: &[Var<'_, T>],
        seeds: Option<&[Tensor<T>]>,
    ) -> Result<Vec<(u32, Tensor<T>)>> {
        if let Some(s) = seeds {
            if s.len() != outputs.len() {
                return Err(Error::Autodiff {
                    op,
                    detail: format!("{} seeds given for {} outputs", s.len(), outputs.len()),
                });
            }
        }
        for v in inputs {
            self.check_var(op, v)?;
        }
        outputs
            .iter()
            .enumerate()
            .map(|(k, o)| Ok((o.id, self.seed_for(op, o, seeds.map(|s| &s[k]))?)))
            .collect()
    }

    /// Like [`grad`](Self::grad), but the gradient computation is itself recorded on this tape
    /// (create-graph), so the results can be differentiated again: Hessian-vector products,
    /// gradient penalties, higher derivatives. Seeds may be variables (needed for `jvp`).
    pub fn grad_graph<'t>(
        &'t self,
        outputs: &[Var<'t, T>],
        inputs: &[Var<'t, T>],
        seeds: Option<&[Var<'t, T>]>,
    ) -> Result<Vec<Var<'t, T>>> {
        let mut roots = Vec::with_capacity(outputs.len());
        for (k, o) in outputs.iter().enumerate() {
            self.check_var("grad_graph", o)?;
            let seed = match seeds {
                Some(s) => {
                    let s = *s.get(k).ok_or_else(|| Error::Autodiff {
                        op: "grad_graph",
                        detail: format!("{} seeds given for {} outputs", s.len(), outputs.len()),
                    })?;
                    if s.shape() != o.shape() {
                        return Err(shape_err(
                            "grad_graph",
                            format!(
                                "seed of shape {} does not match the output's shape {}",
                                s.shape(),
                                o.shape()
                            ),
                        ));
                    }
                    s
                }
                None => self.constant(self.seed_for("grad_graph", o, None)?),
            };
            roots.push((o.id, seed));
        }
        for v in inputs {
            self.check_var("grad_graph", v)?;
        }
        let end = self.len();
        let was = self.set_recording(true);
        let (store, _) = sweep(
            self,
            end,
            roots,
            |i| Var { tape: self, id: i },
            false,
            |_, _| {},
        );
        self.set_recording(was);
        Ok(inputs
            .iter()
            .map(|v| {
                store
                    .get(v.id as usize)
                    .unwrap_or_else(|| self.constant(Tensor::zeros(v.shape())))
            })
            .collect())
    }
}
