//! One flat buffer holding every parameter of a model, with named, shaped entries.
//!
//! Optimizers, checkpoints and gradient logging all work on the whole model as one vector;
//! layers see zero-copy [`Tensor`] views into it.

use super::init::Init;
use crate::autodiff::{Gradients, Tape, Var};
use crate::error::{invalid, Result};
use crate::optim::ParamSegment;
use crate::tensor::{Element, Tensor};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::sync::Arc;

/// Where one named parameter lives inside the flat buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamEntry {
    /// PyTorch-style name, e.g. `layers.0.weight`.
    pub name: String,
    /// Offset of the first element in the flat buffer.
    pub offset: usize,
    /// Dimensions (a linear weight is `[out, in]`).
    pub shape: Vec<usize>,
}

impl ParamEntry {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The layer this parameter belongs to: the name without its last component
    /// (`layers.0.weight` → `layers.0`).
    pub fn layer(&self) -> &str {
        self.name.rsplit_once('.').map_or(&self.name, |(l, _)| l)
    }
}

/// A parameter a module declares: its name, shape and initialiser.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// Name relative to the module (`weight`), prefixed by containers (`layers.0.weight`).
    pub name: String,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// How to fill it initially.
    pub init: Init,
}

/// Every parameter of a model in one flat buffer (`Arc`-shared so views cost nothing).
#[derive(Debug, Clone)]
pub struct ParamStore<T: Element> {
    data: Arc<[T]>,
    entries: Vec<ParamEntry>,
}

impl<T: Element> ParamStore<T> {
    /// Lays out `specs` one after another and fills each with its initialiser, drawing from
    /// one generator seeded with `seed` (so the same seed gives the same model).
    pub fn init(specs: &[ParamSpec], seed: u64) -> Result<Self> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut entries = Vec::with_capacity(specs.len());
        let mut data: Vec<T> = Vec::new();
        for spec in specs {
            if entries.iter().any(|e: &ParamEntry| e.name == spec.name) {
                return Err(invalid(
                    "ParamStore::init",
                    format!("parameter `{}` is declared twice", spec.name),
                ));
            }
            let n: usize = spec.shape.iter().product();
            let offset = data.len();
            data.resize(offset + n, T::zero());
            spec.init.fill(&mut data[offset..], &mut rng);
            entries.push(ParamEntry {
                name: spec.name.clone(),
                offset,
                shape: spec.shape.clone(),
            });
        }
        Ok(ParamStore {
            data: Arc::from(data),
            entries,
        })
    }

    /// The named entries, in layout order.
    pub fn entries(&self) -> &[ParamEntry] {
        &self.entries
    }

    /// Total number of scalar parameters.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True for a model without parameters.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// All parameters as one vector (gather).
    pub fn flat(&self) -> &[T] {
        &self.data
    }

    /// Mutable flat vector for in-place updates. Free once the tape is cleared and no view is
    /// alive; if a view is still held elsewhere the buffer is copied first (copy-on-write), so
    /// existing views keep their old values.
    pub fn flat_mut(&mut self) -> &mut [T] {
        if Arc::get_mut(&mut self.data).is_none() {
            self.data = Arc::from(&self.data[..]);
        }
        Arc::get_mut(&mut self.data).expect("buffer is unique after copy")
    }

    /// Replaces every parameter from one flat vector (scatter).
    pub fn set_flat(&mut self, values: &[T]) -> Result<()> {
        if values.len() != self.data.len() {
            return Err(invalid(
                "ParamStore::set_flat",
                format!(
                    "{} values given for a model with {} parameters",
                    values.len(),
                    self.data.len()
                ),
            ));
        }
        self.flat_mut().copy_from_slice(values);
        Ok(())
    }

    /// The values of one parameter by name.
    pub fn get(&self, name: &str) -> Option<&[T]> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| &self.data[e.offset..e.offset + e.numel()])
    }

    /// Zero-copy tensor views of every parameter, in layout order.
    pub fn views(&self) -> Vec<Tensor<T>> {
        self.entries
            .iter()
            .map(|e| {
                Tensor::from_shared(self.data.clone(), e.offset, e.shape.as_slice())
                    .expect("entries lie inside the buffer")
            })
            .collect()
    }

    /// Records every parameter on `tape` as a differentiable leaf, in layout order.
    pub fn leaves<'t>(&self, tape: &'t Tape<T>) -> Vec<Var<'t, T>> {
        self.views().into_iter().map(|v| tape.var(v)).collect()
    }

    /// Records every parameter on `tape` as a constant (evaluation: nothing kept for backward).
    pub fn constants<'t>(&self, tape: &'t Tape<T>) -> Vec<Var<'t, T>> {
        self.views().into_iter().map(|v| tape.constant(v)).collect()
    }

    /// Copies the gradient of each leaf into `out` with the same layout as the parameters
    /// (zeros where the loss does not depend on a parameter). `out` is resized once and reused.
    pub fn gather_grads(&self, grads: &Gradients<T>, leaves: &[Var<'_, T>], out: &mut Vec<T>) {
        out.resize(self.data.len(), T::zero());
        for (e, leaf) in self.entries.iter().zip(leaves) {
            let dst = &mut out[e.offset..e.offset + e.numel()];
            match grads.get(*leaf) {
                Some(g) => dst.copy_from_slice(g.as_slice()),
                None => dst.fill(T::zero()),
            }
        }
    }

    /// Optimizer segments (for weight-decay masks that skip biases).
    pub fn segments(&self) -> Vec<ParamSegment> {
        self.entries
            .iter()
            .map(|e| ParamSegment::new(e.name.clone(), e.offset, e.numel()))
            .collect()
    }

    /// Layers (see [`ParamEntry::layer`]) with the flat ranges of their parameters, in order.
    pub fn layers(&self) -> Vec<(String, Vec<std::ops::Range<usize>>)> {
        let mut out: Vec<(String, Vec<std::ops::Range<usize>>)> = Vec::new();
        for e in &self.entries {
            let range = e.offset..e.offset + e.numel();
            match out.iter_mut().find(|(l, _)| l == e.layer()) {
                Some((_, ranges)) => ranges.push(range),
                None => out.push((e.layer().to_string(), vec![range])),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "layers.0.weight".into(),
                shape: vec![3, 2],
                init: Init::Uniform { bound: 1.0 },
            },
            ParamSpec {
                name: "layers.0.bias".into(),
                shape: vec![3],
                init: Init::Zeros,
            },
        ]
    }

    #[test]
    fn layout_views_and_scatter() {
        let mut p = ParamStore::<f64>::init(&specs(), 1).unwrap();
        assert_eq!(p.len(), 9);
        assert_eq!(p.entries()[1].offset, 6);
        assert_eq!(p.get("layers.0.bias").unwrap(), &[0.0; 3]);
        let views = p.views();
        assert_eq!(views[0].dims(), &[3, 2]);
        assert_eq!(views[0].as_slice(), &p.flat()[..6]);
        drop(views);
        let v: Vec<f64> = (0..9).map(f64::from).collect();
        p.set_flat(&v).unwrap();
        assert_eq!(p.get("layers.0.bias").unwrap(), &[6.0, 7.0, 8.0]);
        assert!(p.set_flat(&v[..4]).is_err());
        assert_eq!(p.layers(), vec![("layers.0".to_string(), vec![0..6, 6..9])]);
    }

    #[test]
    fn flat_mut_is_in_place_without_views_and_copy_on_write_with_one() {
        let mut p = ParamStore::<f32>::init(&specs(), 2).unwrap();
        let before = p.flat().as_ptr();
        p.flat_mut()[0] = 5.0;
        assert_eq!(p.flat().as_ptr(), before, "no copy when unique");
        let view = p.views().remove(0);
        p.flat_mut()[0] = 7.0;
        assert_eq!(view.as_slice()[0], 5.0, "a live view keeps its values");
        assert_eq!(p.flat()[0], 7.0);
    }

    #[test]
    fn same_seed_same_values_and_duplicates_rejected() {
        let a = ParamStore::<f32>::init(&specs(), 3).unwrap();
        let b = ParamStore::<f32>::init(&specs(), 3).unwrap();
        let c = ParamStore::<f32>::init(&specs(), 4).unwrap();
        assert_eq!(a.flat(), b.flat());
        assert_ne!(a.flat(), c.flat());
        let mut twice = specs();
        twice.push(twice[0].clone());
        assert!(ParamStore::<f32>::init(&twice, 1).is_err());
    }

    #[test]
    fn gradients_land_at_their_offsets() {
        let p = ParamStore::<f64>::init(&specs(), 5).unwrap();
        let tape = Tape::new();
        let leaves = p.leaves(&tape);
        let loss = leaves[1].mul_scalar(2.0).sum_all();
        let g = tape.backward(loss).unwrap();
        let mut out = vec![9.0; 2];
        p.gather_grads(&g, &leaves, &mut out);
        assert_eq!(out, vec![0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 2.0, 2.0]);
    }
}
