//! Recycling of large tensor buffers. A training step frees its activations and gradients, and
//! the next step allocates buffers of the same sizes again; a kernel that overwrites every
//! element can take a freed buffer as it is instead of a freshly zeroed one (zeroing was a
//! tenth of a convolutional network's step). Recycled buffers hold old values, never
//! uninitialised memory.

use super::Element;
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};

/// Buffers shorter than this are left to the allocator.
pub(super) const MIN_LEN: usize = 1 << 14;
/// Bytes all kept buffers of one element type may take.
const MAX_BYTES: usize = 1 << 30;

/// Freed buffers by length.
///
/// A training step of a convolutional network holds dozens of activations of one length, so
/// every freed buffer the pool handed out is kept (up to `MAX_BYTES`), not a few per length.
/// Buffers made elsewhere (from a `Vec`) go back to the allocator: kept, they would pile up at
/// lengths that are put more often than taken. When the sizes change
/// (another batch size, evaluation after training), a miss frees the buffers put longest ago
/// for at least the bytes it is about to allocate: the pool never makes the process larger than
/// the largest step it has served.
pub(super) struct Pool<T> {
    inner: Mutex<Inner<T>>,
}

/// A kept buffer with the sequence number of its `put`.
type Kept<T> = (u64, Arc<[T]>);

struct Inner<T> {
    /// Per length, kept buffers oldest first.
    by_len: HashMap<usize, Vec<Kept<T>>>,
    /// Addresses of the buffers the pool handed out (kept or in use): only these come back.
    born: HashSet<usize>,
    bytes: usize,
    puts: u64,
}

impl<T> Inner<T> {
    /// Drops the longest-kept buffers until `want` bytes are freed or none is left.
    fn evict(&mut self, want: usize) {
        let size = std::mem::size_of::<T>();
        let mut freed = 0;
        while freed < want {
            let oldest = self
                .by_len
                .iter()
                .filter_map(|(&len, list)| list.first().map(|(seq, _)| (*seq, len)))
                .min();
            let Some((_, len)) = oldest else { return };
            let list = self.by_len.get_mut(&len).expect("found above");
            let (_, buf) = list.remove(0);
            self.born.remove(&(buf.as_ptr() as usize));
            if list.is_empty() {
                self.by_len.remove(&len);
            }
            self.bytes -= len * size;
            freed += len * size;
        }
    }
}

impl<T: Element> Pool<T> {
    fn new() -> Self {
        Pool {
            inner: Mutex::new(Inner {
                by_len: HashMap::new(),
                born: HashSet::new(),
                bytes: 0,
                puts: 0,
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
        let at = buf.as_ptr() as usize;
        if !p.born.contains(&at) {
            return;
        }
        if p.bytes + size > MAX_BYTES {
            p.born.remove(&at);
            return;
        }
        p.puts += 1;
        let seq = p.puts;
        p.by_len.entry(len).or_default().push((seq, buf));
        p.bytes += size;
    }

    /// A kept buffer of exactly `len` elements (unshared, old contents), if there is one; on a
    /// miss, frees kept buffers of other lengths for the allocation the caller makes instead.
    pub(super) fn take(&self, len: usize) -> Option<Arc<[T]>> {
        if len < MIN_LEN {
            return None;
        }
        let mut p = self.inner.lock().ok()?;
        let size = len * std::mem::size_of::<T>();
        match p.by_len.get_mut(&len).and_then(Vec::pop) {
            Some((_, buf)) => {
                p.bytes -= size;
                Some(buf)
            }
            None => {
                p.evict(size);
                None
            }
        }
    }

    /// Registers a buffer allocated after a miss of `take`: it comes back to the pool when freed.
    pub(super) fn adopt(&self, buf: &Arc<[T]>) {
        if buf.len() >= MIN_LEN {
            if let Ok(mut p) = self.inner.lock() {
                p.born.insert(buf.as_ptr() as usize);
            }
        }
    }

    /// Bytes kept now.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.inner.lock().map(|p| p.bytes).unwrap_or(0)
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
    fn only_unshared_large_buffers_come_back() {
        let p = Pool::<f64>::new();
        let stranger: Arc<[f64]> = vec![1.5; MIN_LEN].into();
        p.put(stranger);
        assert!(
            p.take(MIN_LEN).is_none(),
            "a buffer the pool did not hand out is not kept"
        );
        let big: Arc<[f64]> = vec![1.5; MIN_LEN].into();
        p.adopt(&big);
        let shared = big.clone();
        p.put(big);
        assert!(p.take(MIN_LEN).is_none(), "a shared buffer is not kept");
        p.put(shared);
        let back = p.take(MIN_LEN).expect("kept");
        assert_eq!(back[0], 1.5, "old values, not uninitialised memory");
        assert!(p.take(MIN_LEN).is_none(), "taken once");
        let small: Arc<[f64]> = vec![0.0; 8].into();
        p.adopt(&small);
        p.put(small);
        assert!(
            p.take(8).is_none(),
            "small buffers are left to the allocator"
        );
    }

    #[test]
    fn many_buffers_of_one_length_are_kept_and_a_miss_frees_the_oldest() {
        let p = Pool::<f32>::new();
        for len in [MIN_LEN, 2 * MIN_LEN] {
            assert!(p.take(len).is_none(), "nothing kept yet");
        }
        let adopted = |v: Vec<f32>| {
            let b: Arc<[f32]> = v.into();
            p.adopt(&b);
            b
        };
        for _ in 0..40 {
            p.put(adopted(vec![0.0; MIN_LEN]));
        }
        assert_eq!(
            p.bytes(),
            40 * MIN_LEN * 4,
            "a step's many activations of one length"
        );
        for _ in 0..40 {
            assert!(p.take(MIN_LEN).is_some());
        }
        p.put(adopted(vec![1.0; MIN_LEN]));
        p.put(adopted(vec![2.0; 2 * MIN_LEN]));
        p.put(adopted(vec![3.0; MIN_LEN]));
        assert!(p.take(3 * MIN_LEN).is_none(), "lengths must match exactly");
        // The miss needed 3·MIN_LEN floats: the oldest (small) and then the large one went.
        assert_eq!(p.bytes(), MIN_LEN * 4);
        assert_eq!(p.take(MIN_LEN).expect("the newest stays")[0], 3.0);
    }
}
