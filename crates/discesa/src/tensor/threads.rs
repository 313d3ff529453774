//! How many threads the heavy kernels may use: set by API, or by `DISCESA_NUM_THREADS` at start-up,
//! else the number of cores.

use std::sync::atomic::{AtomicUsize, Ordering};

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// The thread count used by matrix products and large elementwise kernels.
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = std::env::var("DISCESA_NUM_THREADS")
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|&n| n > 0)
                .unwrap_or_else(|| {
                    std::thread::available_parallelism()
                        .map(|n| n.get())
                        .unwrap_or(1)
                });
            THREADS.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// Sets the thread count for kernels (at least 1). Overrides `DISCESA_NUM_THREADS`.
pub fn set_num_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// Runs `f(image, out_image)` for every image, over contiguous runs of images per thread.
pub(crate) fn for_images<T: Send>(
    n: usize,
    out: &mut [T],
    per: usize,
    threads: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    if threads <= 1 || n <= 1 {
        for (i, o) in out.chunks_mut(per.max(1)).enumerate().take(n) {
            f(i, o);
        }
        return;
    }
    let imgs = n.div_ceil(threads);
    rayon::scope(|s| {
        for (t, chunk) in out.chunks_mut(imgs * per).enumerate() {
            let f = &f;
            s.spawn(move |_| {
                for (j, o) in chunk.chunks_mut(per).enumerate() {
                    f(t * imgs + j, o);
                }
            });
        }
    });
}
