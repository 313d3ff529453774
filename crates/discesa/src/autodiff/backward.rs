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
    grads: Vec<Option<Tensor<T>>>,
    order: Vec<usize>,
}

impl<T: Element> Gradients<T> {
    /// The gradient with respect to `v`, or `None` if `v` does not influence the output.
    pub fn get(&self, v: Var<'_, T>) -> Option<&Tensor<T>> {
        self.grads.get(v.id as usize).and_then(|g| g.as_ref())
    }

    /// The gradient with respect to `v`; zeros if `v` does not influence the output.
    pub fn wrt(&self, v: Var<'_, T>) -> Tensor<T> {
        self.get(v)
            .cloned()
            .unwrap_or_else(|| Tensor::zeros(v.shape()))
    }

    /// The gradient of the node with tape position `id`, if reached.
    pub fn by_id(&self, id: usize) -> Option<&Tensor<T>> {
        self.grads.get(id).and_then(|g| g.as_ref())
    }

    /// The node ids in the order the sweep processed them (outputs first): the order in which
    /// backpropagation computes adjoints.
    pub fn order(&self) -> &[usize] {
        &self.order
    }
}

trait Acc<T: Element>: Adj<T> {
    fn accumulate(&mut self, o: Self);
}

impl<T: Element> Acc<T> for Tensor<T> {
    #[inline]
    fn accumulate(&mut self, o: Self) {
        Tensor::accumulate(self, &o).expect("gradient shapes match their values");
    }
}

impl<T: Element> Acc<T> for Var<'_, T> {
    fn accumulate(&mut self, o: Self) {
        *self = self.try_add(o).expect("gradient shapes match their values");
    }
}

/// Runs the sweep over nodes `< end` from seeded roots. `handle(id)` gives the differentiable
/// handle of a node's value (the tensor itself, or the node's variable).
fn sweep<T: Element, A: Acc<T>>(
    tape: &Tape<T>,
    end: usize,
    roots: Vec<(u32, A)>,
    handle: impl Fn(u32) -> A,
    track_order: bool,
) -> (Vec<Option<A>>, Vec<usize>) {
    let mut grads: Vec<Option<A>> = (0..end).map(|_| None).collect();
    let mut top = 0usize;
    for (id, g) in roots {
        top = top.max(id as usize + 1);
        match &mut grads[id as usize] {
            Some(acc) => acc.accumulate(g),
            slot => *slot = Some(g),
        }
    }
    let mut order = Vec::new();
    let mut ids: Vec<u32> = Vec::new();
    let mut xs: Vec<A> = Vec::new();
    let mut xv: Vec<Tensor<T>> = Vec::new();
    let mut need: Vec<bool> = Vec::new();
    for id in (0..top).rev() {
        let Some(g) = grads[id].clone() else { continue };
        let (op, outv) = {
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
            (node.op.clone(), node.value.clone())
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
            if !need[k] {
                return;
            }
            let target = ids[k] as usize;
            match &mut grads[target] {
                Some(acc) => acc.accumulate(gi),
                slot => *slot = Some(gi),
            }
        });
    }
    (grads, order)
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

    fn backward_from(&self, roots: Vec<(u32, Tensor<T>)>) -> Gradients<T> {
        let end = self.len();
        let (grads, order) = sweep(self, end, roots, |i| self.value_of(i), true);
        Gradients { grads, order }
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
        let (grads, _) = sweep(self, end, roots, |i| self.value_of(i), false);
        Ok(inputs
            .iter()
            .map(|v| {
                grads[v.id as usize]
                    .clone()
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
        let (grads, _) = sweep(self, end, roots, |i| Var { tape: self, id: i }, false);
        self.set_recording(was);
        Ok(inputs
            .iter()
            .map(|v| {
                grads[v.id as usize].unwrap_or_else(|| self.constant(Tensor::zeros(v.shape())))
            })
            .collect())
    }
}
