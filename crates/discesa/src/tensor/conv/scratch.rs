//! Per-thread scratch buffers reused across calls, so the im2col matrix of every image does not
//! cost an allocation on each training step.

use crate::tensor::Element;
use std::cell::RefCell;

/// Which buffer: kernels that need two at once use different slots.
#[derive(Clone, Copy)]
pub(crate) enum Slot {
    /// The im2col / col2im matrix.
    Cols = 0,
    /// A zero-padded input group (stride-1 convolutions).
    Padded = 1,
    /// Output rows on the padded grid (stride-1 convolutions).
    Grid = 2,
}

thread_local! {
    static SLOTS: [RefCell<Vec<f64>>; 3] =
        const { [RefCell::new(Vec::new()), RefCell::new(Vec::new()), RefCell::new(Vec::new())] };
}

/// Bytes the slices handed out are aligned to: a cache line, so that the direct kernels' vector
/// loads and stores at multiples of 16 floats do not straddle two lines (unaligned buffers made
/// a convolution a third slower, depending on where the allocator put them).
const ALIGN: usize = 64;

/// Runs `f` on this thread's buffer `slot`, grown to at least `len` elements and starting on a
/// cache line. Its contents are unspecified (left over from the last use): callers overwrite
/// what they read.
pub(crate) fn with_scratch<T: Element, R>(
    slot: Slot,
    len: usize,
    f: impl FnOnce(&mut [T]) -> R,
) -> R {
    assert!(std::mem::align_of::<T>() <= std::mem::align_of::<f64>());
    SLOTS.with(|s| {
        let mut v = s[slot as usize].borrow_mut();
        let word = std::mem::size_of::<f64>();
        let words = (len * std::mem::size_of::<T>()).div_ceil(word) + ALIGN / word;
        if v.len() < words {
            v.resize(words, 0.0);
        }
        let skip = v.as_ptr().align_offset(ALIGN);
        debug_assert!(skip < ALIGN / word);
        // SAFETY: from `skip` on, the buffer is initialised and holds at least `len` elements of
        // `T` (the extra `ALIGN` bytes cover the skipped words); it is aligned for `T` (checked
        // above), and `T` is `f32` or `f64`, for which every bit pattern is a value. The
        // `RefCell` borrow keeps the slice unique for the duration of `f`.
        let slice =
            unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().add(skip) as *mut T, len) };
        f(slice)
    })
}
