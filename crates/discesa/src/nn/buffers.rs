//! Non-trained model state (batch-norm running statistics), kept beside the flat
//! [`ParamStore`](super::ParamStore) and never inside it: optimizers, landscapes and all-reduce
//! see only the parameters; checkpoints save both.

use crate::error::{invalid, Result};
use crate::tensor::{Element, Tensor};
use serde::{Deserialize, Serialize};

/// What a buffer holds, which decides its file type (PyTorch stores counters as `int64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BufferKind {
    /// Floating-point values (`running_mean`, `running_var`).
    Float,
    /// An integer counter (`num_batches_tracked`), saved as an `I64` tensor.
    Count,
}

/// A buffer a module declares: name, shape, kind and initial value.
#[derive(Debug, Clone, PartialEq)]
pub struct BufferSpec {
    /// Name relative to the module (`running_mean`), prefixed by containers.
    pub name: String,
    /// Dimensions (`[]` for a scalar counter).
    pub shape: Vec<usize>,
    /// Float values or an integer counter.
    pub kind: BufferKind,
    /// Every element's initial value (0 for means and counters, 1 for variances).
    pub init: f64,
}

/// Where one named buffer sits in a [`BufferStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferEntry {
    /// PyTorch `state_dict()` name, e.g. `bn1.running_var`.
    pub name: String,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Float values or a counter.
    pub kind: BufferKind,
}

/// Every buffer of a model, as named tensors in declaration order.
#[derive(Debug, Clone)]
pub struct BufferStore<T: Element> {
    entries: Vec<BufferEntry>,
    tensors: Vec<Tensor<T>>,
}

impl<T: Element> Default for BufferStore<T> {
    fn default() -> Self {
        BufferStore {
            entries: Vec::new(),
            tensors: Vec::new(),
        }
    }
}

impl<T: Element> BufferStore<T> {
    /// Buffers at their initial values.
    pub fn init(specs: &[BufferSpec]) -> Result<Self> {
        let mut store = BufferStore::default();
        for s in specs {
            if store.entries.iter().any(|e| e.name == s.name) {
                return Err(invalid(
                    "BufferStore::init",
                    format!("buffer `{}` is declared twice", s.name),
                ));
            }
            store.entries.push(BufferEntry {
                name: s.name.clone(),
                shape: s.shape.clone(),
                kind: s.kind,
            });
            store
                .tensors
                .push(Tensor::full(s.shape.as_slice(), T::from_f64(s.init)));
        }
        Ok(store)
    }

    /// The named entries, in declaration order.
    pub fn entries(&self) -> &[BufferEntry] {
        &self.entries
    }

    /// Number of buffers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True for a model without buffers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The values, in entry order.
    pub fn tensors(&self) -> &[Tensor<T>] {
        &self.tensors
    }

    /// Mutable values, in entry order: what a training-mode forward pass updates.
    pub fn tensors_mut(&mut self) -> &mut [Tensor<T>] {
        &mut self.tensors
    }

    /// One buffer's values by name.
    pub fn get(&self, name: &str) -> Option<&[T]> {
        self.entries
            .iter()
            .position(|e| e.name == name)
            .map(|i| self.tensors[i].as_slice())
    }

    /// Replaces one buffer's values, checking the element count.
    pub fn set(&mut self, name: &str, values: &[T]) -> Result<()> {
        let i = self
            .entries
            .iter()
            .position(|e| e.name == name)
            .ok_or_else(|| invalid("BufferStore::set", format!("no buffer named `{name}`")))?;
        let t = &mut self.tensors[i];
        if values.len() != t.numel() {
            return Err(invalid(
                "BufferStore::set",
                format!(
                    "buffer `{name}` has {} elements, {} given",
                    t.numel(),
                    values.len()
                ),
            ));
        }
        t.make_mut().copy_from_slice(values);
        Ok(())
    }

    /// Copies every value from a store of the same layout (used to restore and to synchronise
    /// replicas).
    pub fn copy_from(&mut self, other: &BufferStore<T>) -> Result<()> {
        if other.entries != self.entries {
            return Err(invalid(
                "BufferStore::copy_from",
                "the two stores have different buffers",
            ));
        }
        for (d, s) in self.tensors.iter_mut().zip(&other.tensors) {
            d.make_mut().copy_from_slice(s.as_slice());
        }
        Ok(())
    }
}

/// Checks that a module got as many buffers as it declared.
pub(crate) fn expect_buffers<T: Element>(
    module: &str,
    buffers: &[Tensor<T>],
    n: usize,
) -> Result<()> {
    if buffers.len() != n {
        return Err(invalid(
            "forward",
            format!("{module} expects {n} buffers, got {}", buffers.len()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<BufferSpec> {
        vec![
            BufferSpec {
                name: "bn.running_var".into(),
                shape: vec![3],
                kind: BufferKind::Float,
                init: 1.0,
            },
            BufferSpec {
                name: "bn.num_batches_tracked".into(),
                shape: vec![],
                kind: BufferKind::Count,
                init: 0.0,
            },
        ]
    }

    #[test]
    fn init_get_set_and_copy() {
        let mut b = BufferStore::<f32>::init(&specs()).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b.get("bn.running_var").unwrap(), &[1.0; 3]);
        assert_eq!(b.get("bn.num_batches_tracked").unwrap(), &[0.0]);
        assert!(b.tensors()[1].dims().is_empty());
        b.set("bn.running_var", &[2.0, 3.0, 4.0]).unwrap();
        assert!(b.set("bn.running_var", &[2.0]).is_err());
        assert!(b.set("nope", &[2.0]).is_err());
        let mut c = BufferStore::<f32>::init(&specs()).unwrap();
        c.copy_from(&b).unwrap();
        assert_eq!(c.get("bn.running_var").unwrap(), &[2.0, 3.0, 4.0]);
        assert!(c.copy_from(&BufferStore::default()).is_err());
        let mut twice = specs();
        twice.push(twice[0].clone());
        assert!(BufferStore::<f32>::init(&twice).is_err());
    }
}
