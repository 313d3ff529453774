//! Dense n-dimensional tensors of `f32` or `f64`, contiguous and row-major, with cheap clones.
//!
//! Storage is shared (`Arc`) so that handing a tensor to the autodiff tape or viewing a parameter
//! inside a flat buffer costs no copy; a scalar is stored inline so scalar-heavy formulas never
//! allocate.

mod conv;
mod creation;
mod element;
mod elementwise;
mod layout;
mod matmul;
mod norm;
mod recycle;
mod reduce;
mod shape;
mod threads;

pub use conv::{Conv2dOptions, Pool2dOptions};
pub(crate) use conv::{ConvGeom, Epilogue, PoolGeom};
/// The raw kernels behind the convolution ops (for the autodiff rules).
pub(crate) mod conv_kernels {
    pub(crate) use super::conv::{
        avg_pool2d_adjoint, avg_pool2d_forward, conv2d_forward, conv2d_input_grad,
        conv2d_weight_grad, max_pool2d_forward,
    };
}
pub use element::Element;
pub use elementwise::{BinaryOp, UnaryOp};
pub use matmul::gemm_into;
pub(crate) use norm::{
    batch_norm_backward, channel_affine, channel_affine_backward, channel_stats, BatchNormSaved,
    ChannelView,
};
pub use shape::{Shape, MAX_DIMS};
pub(crate) use threads::for_images;
pub use threads::{num_threads, set_num_threads};

pub(crate) use reduce::axes_mask as reduce_mask;
pub(crate) fn reduced_shape_keep(s: &Shape, mask: u8) -> Shape {
    reduce::reduced_shape(s, mask, true)
}
pub(crate) use shape::for_each_run2;

use crate::error::{shape_err, Result};
use std::sync::Arc;

#[derive(Clone)]
enum Storage<T> {
    /// A single value kept inline (no allocation).
    Scalar(T),
    /// A shared buffer; the tensor is `buf[offset .. offset + numel]`.
    Heap { buf: Arc<[T]>, offset: usize },
}

/// A contiguous row-major n-dimensional array of `f32` or `f64`.
///
/// ```
/// use discesa::tensor::Tensor;
/// let a = Tensor::<f64>::from_vec(vec![1.0, 2.0, 3.0, 4.0], [2, 2]).unwrap();
/// let b = a.matmul(&a).unwrap();
/// assert_eq!(b.to_vec(), vec![7.0, 10.0, 15.0, 22.0]);
/// ```
#[derive(Clone)]
pub struct Tensor<T: Element> {
    storage: Storage<T>,
    shape: Shape,
}

impl<T: Element> Tensor<T> {
    /// Builds a tensor that owns `data`, checking that its length matches `shape`.
    pub fn from_vec(data: Vec<T>, shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        if data.len() != shape.numel() {
            return Err(shape_err(
                "from_vec",
                format!(
                    "{} values given for shape {shape}, which holds {}",
                    data.len(),
                    shape.numel()
                ),
            ));
        }
        Ok(Self::from_arc(Arc::from(data), 0, shape))
    }

    /// A view of `buf[offset ..]` with the given shape, sharing the buffer (no copy). Used to view
    /// parameters inside one flat buffer.
    pub fn from_shared(buf: Arc<[T]>, offset: usize, shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        if offset + shape.numel() > buf.len() {
            return Err(shape_err(
                "from_shared",
                format!(
                    "a view of shape {shape} at offset {offset} does not fit in a buffer of {} elements",
                    buf.len()
                ),
            ));
        }
        Ok(Self::from_arc(buf, offset, shape))
    }

    pub(crate) fn from_arc(buf: Arc<[T]>, offset: usize, shape: Shape) -> Self {
        if shape.numel() == 1 && shape.ndim() == 0 {
            return Self::scalar(buf[offset]);
        }
        Tensor {
            storage: Storage::Heap { buf, offset },
            shape,
        }
    }

    /// A 0-dimensional tensor holding `x`.
    #[inline]
    pub fn scalar(x: T) -> Self {
        Tensor {
            storage: Storage::Scalar(x),
            shape: Shape::scalar(),
        }
    }

    /// A tensor of `shape` whose elements are produced by `f` in row-major order; allocates once.
    #[inline]
    pub(crate) fn from_fn_shape(shape: Shape, f: impl FnMut(&mut [T])) -> Self {
        let n = shape.numel();
        if n == 1 {
            let mut v = [T::zero()];
            let mut f = f;
            f(&mut v);
            return Tensor {
                storage: Storage::Scalar(v[0]),
                shape,
            };
        }
        let mut buf: Arc<[T]> = zeroed(n);
        let mut f = f;
        f(Arc::get_mut(&mut buf).expect("fresh buffer is unique"));
        Tensor {
            storage: Storage::Heap { buf, offset: 0 },
            shape,
        }
    }

    /// Like [`from_fn_shape`](Self::from_fn_shape) for an `f` that writes every element without
    /// reading any: large buffers may be recycled ones holding old values.
    pub(crate) fn from_fn_overwrite(shape: Shape, mut f: impl FnMut(&mut [T])) -> Self {
        let n = shape.numel();
        let Some(mut buf) = recycle::pool::<T>().take(n) else {
            return Self::from_fn_shape(shape, f);
        };
        f(Arc::get_mut(&mut buf).expect("recycled buffers are unshared"));
        Tensor {
            storage: Storage::Heap { buf, offset: 0 },
            shape,
        }
    }

    /// The value of a 0-dimensional tensor, `None` otherwise (the scalar fast paths).
    #[inline(always)]
    pub fn as_scalar(&self) -> Option<T> {
        match self.storage {
            Storage::Scalar(x) if self.shape.ndim() == 0 => Some(x),
            _ => None,
        }
    }

    /// The shape.
    #[inline]
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The dimensions as a slice.
    #[inline]
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    /// Number of dimensions.
    #[inline]
    pub fn ndim(&self) -> usize {
        self.shape.ndim()
    }

    /// Number of elements.
    #[inline]
    pub fn numel(&self) -> usize {
        self.shape.numel()
    }

    /// The elements in row-major order.
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        match &self.storage {
            Storage::Scalar(x) => std::slice::from_ref(x),
            Storage::Heap { buf, offset } => &buf[*offset..*offset + self.shape.numel()],
        }
    }

    /// Mutable access to the elements, copying the buffer first if it is shared.
    pub fn make_mut(&mut self) -> &mut [T] {
        let n = self.shape.numel();
        match &mut self.storage {
            Storage::Scalar(x) => std::slice::from_mut(x),
            Storage::Heap { buf, offset } => {
                if Arc::get_mut(buf).is_none() || *offset != 0 || buf.len() != n {
                    let fresh: Arc<[T]> = Arc::from(&buf[*offset..*offset + n]);
                    *buf = fresh;
                    *offset = 0;
                }
                Arc::get_mut(buf).expect("unique after copy")
            }
        }
    }

    /// Mutable access only if the buffer is not shared with another tensor.
    pub(crate) fn try_unique_mut(&mut self) -> Option<&mut [T]> {
        let n = self.shape.numel();
        match &mut self.storage {
            Storage::Scalar(x) => Some(std::slice::from_mut(x)),
            Storage::Heap { buf, offset } => {
                let o = *offset;
                Arc::get_mut(buf).map(|b| &mut b[o..o + n])
            }
        }
    }

    /// The elements copied into a new `Vec`.
    pub fn to_vec(&self) -> Vec<T> {
        self.as_slice().to_vec()
    }

    /// The single value of a one-element tensor.
    pub fn item(&self) -> Result<T> {
        if self.numel() != 1 {
            return Err(shape_err(
                "item",
                format!(
                    "tensor of shape {} has {} elements, not one",
                    self.shape,
                    self.numel()
                ),
            ));
        }
        Ok(self.as_slice()[0])
    }

    /// Converts every element to another element type.
    pub fn cast<U: Element>(&self) -> Tensor<U> {
        let src = self.as_slice();
        Tensor::from_fn_shape(self.shape, |o| {
            for (o, &x) in o.iter_mut().zip(src) {
                *o = U::from_f64(x.to_f64());
            }
        })
    }

    /// True if the two tensors have the same shape and every pair of elements differs by at most
    /// `atol + rtol * |b|`.
    pub fn allclose(&self, other: &Tensor<T>, rtol: f64, atol: f64) -> bool {
        self.shape == other.shape
            && self
                .as_slice()
                .iter()
                .zip(other.as_slice())
                .all(|(&a, &b)| {
                    let (a, b) = (a.to_f64(), b.to_f64());
                    (a - b).abs() <= atol + rtol * b.abs() || (a.is_nan() && b.is_nan())
                })
    }
}

/// Elements above which a recycled buffer is zeroed by all kernel threads: an activation of a
/// convolutional network is megabytes, and one thread zeroing it kept the others waiting.
const PAR_ZERO: usize = 1 << 16;

/// A zero-filled shared buffer: a recycled one cleared (its pages are already mapped), or a
/// fresh one from the allocator, which the pool takes back when it is freed.
pub(crate) fn zeroed<T: Element>(n: usize) -> Arc<[T]> {
    let pool = recycle::pool::<T>();
    let Some(mut buf) = pool.take(n) else {
        let b: Arc<[std::mem::MaybeUninit<T>]> = Arc::new_zeroed_slice(n);
        // SAFETY: all-zero bits are a valid f32/f64 (0.0); `Element` is only implemented for those.
        let b = unsafe { b.assume_init() };
        pool.adopt(&b);
        return b;
    };
    let all = Arc::get_mut(&mut buf).expect("recycled buffers are unshared");
    let threads = num_threads();
    if n < PAR_ZERO || threads < 2 {
        all.fill(T::zero());
    } else {
        rayon::scope(|s| {
            for part in all.chunks_mut(n.div_ceil(threads)) {
                s.spawn(move |_| part.fill(T::zero()));
            }
        });
    }
    buf
}

/// The last tensor holding a large buffer gives it to the pool (see `recycle`).
impl<T: Element> Drop for Tensor<T> {
    fn drop(&mut self) {
        if let Storage::Heap { buf, .. } = &self.storage {
            if buf.len() >= recycle::MIN_LEN && Arc::strong_count(buf) == 1 {
                let taken = std::mem::replace(&mut self.storage, Storage::Scalar(T::zero()));
                if let Storage::Heap { buf, .. } = taken {
                    recycle::pool::<T>().put(buf);
                }
            }
        }
    }
}

impl<T: Element> std::fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.as_slice();
        write!(f, "Tensor<{}>{} ", T::NAME, self.shape)?;
        if s.len() <= 16 {
            write!(f, "{s:?}")
        } else {
            write!(f, "[{:?}, {:?}, ... {:?}]", s[0], s[1], s[s.len() - 1])
        }
    }
}

#[cfg(test)]
mod tests;
