//! Recycling of large tensor buffers. A training step frees its activations and gradients, and
//! the next step allocates buffers of the same sizes again; a kernel that overwrites every
//! element can take a freed buffer as it is instead of a freshly zeroed one (zeroing was a
//! tenth of a convolutional network's step). Recycled buffers hold old values, never
//! uninitialised memory.

use super::Element;
use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// Buffers shorter than this are left to the allocator.
pub(super) const MIN_LEN: usize = 1 << 14;
/// Bytes all kept buffers of one element type may take.
const MAX_BYTES: usize = 256 << 20;
/// Buffers kept per length.
const PER_LEN: usize = 4;

/// Freed buffers by length.
pub(super) struct Pool<T> {
    inner: Mutex<Inner<T>>,
}

struct Inner<T> {
    by_len: HashMap<usize, Vec<Arc<[T]>>>,
    bytes: usize,
}

impl<T: Element> Pool<T> {
    fn new() -> Self {
        Pool {
            inner: Mutex::new(Inner {
                by_len: HashMap::new(),
                bytes: 0,
            }),
        }
    }

    /// Keeps `buf` for reuse if it is unshared, large and there is room; drops it otherwise.
    pub(super) fn put(&self, mut buf: Arc<[T]>) {
        let len = buf.len();
        if len < MIN_LEN || Arc::get_mut(&mut buf).is_none() {
            return;
        }
        let size = len * std::mem::size_of::<T>();
        let Ok(mut p) = self.inner.lock() else { return };
        if p.bytes + size > MAX_BYTES {
            return;
        }
        let list = p.by_len.entry(len).or_default();
        if list.len() < PER_LEN {
            list.push(buf);
            p.bytes += size;
        }
    }

    /// A kept buffer of exactly `len` elements (unshared, old contents), if there is one.
    pub(super) fn take(&self, len: usize) -> Option<Arc<[T]>> {
        if len < MIN_LEN {
            return None;
        }
        let mut p = self.inner.lock().ok()?;
        let buf = p.by_len.get_mut(&len)?.pop()?;
        p.bytes -= len * std::mem::size_of::<T>();
        Some(buf)
    }
}

static F32: LazyLock<Pool<f32>> = LazyLock::new(Pool::new);
static F64: LazyLock<Pool<f64>> = LazyLock::new(Pool::new);

/// The pool of element type `T`.
pub(super) fn pool<T: Element>() -> &'static Pool<T> {
    let f32_pool: &'static dyn Any = &*F32;
    let f64_pool: &'static dyn Any = &*F64;
    f32_pool
        .downcast_ref::<Pool<T>>()
        .or_else(|| f64_pool.downcast_ref::<Pool<T>>())
        .expect("Element is implemented for f32 and f64 only")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unshared_large_buffers_come_back_and_by_exact_length() {
        let p = Pool::<f64>::new();
        let big: Arc<[f64]> = vec![1.5; MIN_LEN].into();
        let shared = big.clone();
        p.put(big);
        assert!(p.take(MIN_LEN).is_none(), "a shared buffer is not kept");
        p.put(shared);
        assert!(p.take(MIN_LEN + 1).is_none(), "lengths must match exactly");
        let back = p.take(MIN_LEN).expect("kept");
        assert_eq!(back[0], 1.5, "old values, not uninitialised memory");
        assert!(p.take(MIN_LEN).is_none(), "taken once");
        p.put(vec![0.0; 8].into());
        assert!(
            p.take(8).is_none(),
            "small buffers are left to the allocator"
        );
    }
}
