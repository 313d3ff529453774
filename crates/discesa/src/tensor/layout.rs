//! Shape-changing kernels: reshape, permute, narrow/pad, concat, broadcast, index-select and
//! gather with their scatter-add adjoints.

use super::{for_each_run2, Element, Shape, Tensor, MAX_DIMS};
use crate::error::{shape_err, Error, Result};

impl<T: Element> Tensor<T> {
    /// The same elements with a new shape of equal size (no copy).
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Tensor<T>> {
        let shape = shape.into();
        if shape.numel() != self.numel() {
            return Err(shape_err(
                "reshape",
                format!(
                    "cannot reshape {} ({} elements) into {shape} ({} elements)",
                    self.shape,
                    self.numel(),
                    shape.numel()
                ),
            ));
        }
        let mut t = self.clone();
        t.shape = shape;
        Ok(t)
    }

    /// Reorders the axes: output axis `i` is input axis `perm[i]`.
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor<T>> {
        let nd = self.ndim();
        let mut seen = [false; MAX_DIMS];
        if perm.len() != nd
            || perm
                .iter()
                .any(|&p| p >= nd || std::mem::replace(&mut seen[p], true))
        {
            return Err(shape_err(
                "permute",
                format!(
                    "{perm:?} is not a permutation of the {nd} axes of {}",
                    self.shape
                ),
            ));
        }
        let dims: Vec<usize> = perm.iter().map(|&p| self.dims()[p]).collect();
        let shape = Shape::new(&dims)?;
        let in_strides = self.shape.strides();
        let mut s = [0; MAX_DIMS];
        for (i, &p) in perm.iter().enumerate() {
            s[i] = in_strides[p];
        }
        let src = self.as_slice();
        let zero = [0; MAX_DIMS];
        let inner = shape.dims().last().copied().unwrap_or(1);
        Ok(Tensor::from_fn_shape(shape, |o| {
            for_each_run2(&shape, &s, &zero, |oo, oa, _, ia, _| {
                for (j, v) in o[oo..oo + inner].iter_mut().enumerate() {
                    *v = src[oa + j * ia];
                }
            })
        }))
    }

    /// Swaps two axes (negative axes count from the end).
    pub fn transpose(&self, a: isize, b: isize) -> Result<Tensor<T>> {
        let a = self.shape.axis("transpose", a)?;
        let b = self.shape.axis("transpose", b)?;
        let mut perm: Vec<usize> = (0..self.ndim()).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }

    /// The slice `start .. start + len` along `axis`.
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Result<Tensor<T>> {
        let ax = self.shape.axis("narrow", axis)?;
        let size = self.dims()[ax];
        if start + len > size {
            return Err(shape_err(
                "narrow",
                format!(
                    "range {start}..{} exceeds axis {ax} of size {size} in shape {}",
                    start + len,
                    self.shape
                ),
            ));
        }
        let outer: usize = self.dims()[..ax].iter().product();
        let inner: usize = self.dims()[ax + 1..].iter().product();
        let shape = self.shape.with_dim(ax, len);
        if outer == 1 {
            if let super::Storage::Heap { buf, offset } = &self.storage {
                return Ok(Tensor::from_arc(buf.clone(), offset + start * inner, shape));
            }
        }
        let src = self.as_slice();
        Ok(Tensor::from_fn_shape(shape, |o| {
            for r in 0..outer {
                let from = r * size * inner + start * inner;
                o[r * len * inner..(r + 1) * len * inner]
                    .copy_from_slice(&src[from..from + len * inner]);
            }
        }))
    }

    /// Embeds `self` in zeros along `axis`: the result has `total` entries there, with `self` at
    /// `start`. The adjoint of [`narrow`](Self::narrow).
    pub fn pad_axis(&self, axis: usize, start: usize, total: usize) -> Result<Tensor<T>> {
        let len = self.dims()[axis];
        if start + len > total {
            return Err(shape_err(
                "pad",
                format!("{len} entries at {start} do not fit in {total}"),
            ));
        }
        let outer: usize = self.dims()[..axis].iter().product();
        let inner: usize = self.dims()[axis + 1..].iter().product();
        let src = self.as_slice();
        Ok(Tensor::from_fn_shape(
            self.shape.with_dim(axis, total),
            |o| {
                for r in 0..outer {
                    let to = r * total * inner + start * inner;
                    o[to..to + len * inner]
                        .copy_from_slice(&src[r * len * inner..(r + 1) * len * inner]);
                }
            },
        ))
    }

    /// Joins tensors along an existing axis; all other axes must agree.
    pub fn concat(parts: &[Tensor<T>], axis: isize) -> Result<Tensor<T>> {
        let first = parts
            .first()
            .ok_or_else(|| shape_err("concat", "no tensors given"))?;
        let ax = first.shape.axis("concat", axis)?;
        let mut total = 0;
        for p in parts {
            if p.ndim() != first.ndim()
                || p.dims()
                    .iter()
                    .zip(first.dims())
                    .enumerate()
                    .any(|(i, (a, b))| i != ax && a != b)
            {
                return Err(shape_err(
                    "concat",
                    format!(
                        "shapes {} and {} differ outside axis {ax}",
                        first.shape, p.shape
                    ),
                ));
            }
            total += p.dims()[ax];
        }
        let outer: usize = first.dims()[..ax].iter().product();
        let inner: usize = first.dims()[ax + 1..].iter().product();
        Ok(Tensor::from_fn_shape(
            first.shape.with_dim(ax, total),
            |o| {
                let mut at = 0;
                for p in parts {
                    let w = p.dims()[ax] * inner;
                    let src = p.as_slice();
                    for r in 0..outer {
                        o[r * total * inner + at..r * total * inner + at + w]
                            .copy_from_slice(&src[r * w..(r + 1) * w]);
                    }
                    at += w;
                }
            },
        ))
    }

    /// Stacks equally shaped tensors along a new axis.
    pub fn stack(parts: &[Tensor<T>], axis: usize) -> Result<Tensor<T>> {
        let first = parts
            .first()
            .ok_or_else(|| shape_err("stack", "no tensors given"))?;
        if axis > first.ndim() {
            return Err(Error::Axis {
                op: "stack",
                axis: axis as isize,
                shape: first.shape,
            });
        }
        let mut dims = first.dims().to_vec();
        dims.insert(axis, 1);
        let expanded: Result<Vec<_>> = parts
            .iter()
            .map(|p| {
                if p.shape != first.shape {
                    return Err(shape_err(
                        "stack",
                        format!("shapes {} and {} differ", first.shape, p.shape),
                    ));
                }
                p.reshape(Shape::new(&dims)?)
            })
            .collect();
        Tensor::concat(&expanded?, axis as isize)
    }

    /// Repeats `self` to `shape` by NumPy broadcasting rules.
    pub fn broadcast_to(&self, shape: &Shape) -> Result<Tensor<T>> {
        if &self.shape == shape {
            return Ok(self.clone());
        }
        let b = Shape::broadcast("broadcast_to", &self.shape, shape)?;
        if &b != shape {
            return Err(shape_err(
                "broadcast_to",
                format!("cannot broadcast {} to {shape}", self.shape),
            ));
        }
        let src = self.as_slice();
        if src.len() == 1 {
            return Ok(Tensor::full(*shape, src[0]));
        }
        let s = self.shape.broadcast_strides(shape);
        let zero = [0; MAX_DIMS];
        let inner = shape.dims().last().copied().unwrap_or(1);
        Ok(Tensor::from_fn_shape(*shape, |o| {
            for_each_run2(shape, &s, &zero, |oo, oa, _, ia, _| {
                let run = &mut o[oo..oo + inner];
                if ia == 1 {
                    run.copy_from_slice(&src[oa..oa + inner]);
                } else if ia == 0 {
                    run.fill(src[oa]);
                } else {
                    for (j, v) in run.iter_mut().enumerate() {
                        *v = src[oa + j * ia];
                    }
                }
            })
        }))
    }

    fn check_indices(op: &'static str, idx: &[usize], axis: usize, size: usize) -> Result<()> {
        match idx.iter().find(|&&i| i >= size) {
            Some(&index) => Err(Error::Index {
                op,
                index,
                axis,
                size,
            }),
            None => Ok(()),
        }
    }

    /// Selects entries `idx` along `axis` (rows of an embedding, samples of a batch).
    pub fn index_select(&self, axis: isize, idx: &[usize]) -> Result<Tensor<T>> {
        let ax = self.shape.axis("index_select", axis)?;
        let size = self.dims()[ax];
        Self::check_indices("index_select", idx, ax, size)?;
        let outer: usize = self.dims()[..ax].iter().product();
        let inner: usize = self.dims()[ax + 1..].iter().product();
        let src = self.as_slice();
        let n = idx.len();
        Ok(Tensor::from_fn_shape(self.shape.with_dim(ax, n), |o| {
            for r in 0..outer {
                for (j, &i) in idx.iter().enumerate() {
                    let from = (r * size + i) * inner;
                    o[(r * n + j) * inner..(r * n + j + 1) * inner]
                        .copy_from_slice(&src[from..from + inner]);
                }
            }
        }))
    }

    /// Adds the entries of `self` into zeros of size `size` along `axis`, at positions `idx`
    /// (repeats accumulate). The adjoint of [`index_select`](Self::index_select).
    pub fn index_add(&self, axis: usize, idx: &[usize], size: usize) -> Result<Tensor<T>> {
        Self::check_indices("index_add", idx, axis, size)?;
        let outer: usize = self.dims()[..axis].iter().product();
        let inner: usize = self.dims()[axis + 1..].iter().product();
        let src = self.as_slice();
        let n = idx.len();
        Ok(Tensor::from_fn_shape(
            self.shape.with_dim(axis, size),
            |o| {
                for r in 0..outer {
                    for (j, &i) in idx.iter().enumerate() {
                        let to = (r * size + i) * inner;
                        let from = (r * n + j) * inner;
                        for k in 0..inner {
                            o[to + k] += src[from + k];
                        }
                    }
                }
            },
        ))
    }

    /// `out[.., i, ..] = self[.., idx[.., i, ..], ..]` along `axis`: picks one entry per position,
    /// e.g. the log-probability of each sample's class. `idx` has the output's shape.
    pub fn gather(&self, axis: isize, idx: &[usize], idx_shape: &Shape) -> Result<Tensor<T>> {
        let ax = self.shape.axis("gather", axis)?;
        if idx_shape.numel() != idx.len()
            || idx_shape.ndim() != self.ndim()
            || (0..self.ndim()).any(|d| d != ax && idx_shape.dim(d) != self.dims()[d])
        {
            return Err(shape_err(
                "gather",
                format!(
                    "index of shape {idx_shape} does not fit input {} along axis {ax}",
                    self.shape
                ),
            ));
        }
        let size = self.dims()[ax];
        Self::check_indices("gather", idx, ax, size)?;
        let outer: usize = self.dims()[..ax].iter().product();
        let inner: usize = self.dims()[ax + 1..].iter().product();
        let k = idx_shape.dim(ax);
        let src = self.as_slice();
        Ok(Tensor::from_fn_shape(*idx_shape, |o| {
            for r in 0..outer {
                for j in 0..k {
                    for c in 0..inner {
                        let p = (r * k + j) * inner + c;
                        o[p] = src[(r * size + idx[p]) * inner + c];
                    }
                }
            }
        }))
    }

    /// Adds `self` (shaped like the index) into zeros of `shape` at the gathered positions. The
    /// adjoint of [`gather`](Self::gather).
    pub fn scatter_add(&self, axis: usize, idx: &[usize], shape: &Shape) -> Result<Tensor<T>> {
        let size = shape.dim(axis);
        Self::check_indices("scatter_add", idx, axis, size)?;
        let outer: usize = shape.dims()[..axis].iter().product();
        let inner: usize = shape.dims()[axis + 1..].iter().product();
        let k = self.dims()[axis];
        let src = self.as_slice();
        Ok(Tensor::from_fn_shape(*shape, |o| {
            for r in 0..outer {
                for j in 0..k {
                    for c in 0..inner {
                        let p = (r * k + j) * inner + c;
                        o[(r * size + idx[p]) * inner + c] += src[p];
                    }
                }
            }
        }))
    }
}
