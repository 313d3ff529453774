//! The one place that says which instruction sets the plain loop kernels (optimizer updates,
//! byte conversion, sums of squares) are compiled for.

/// Compiles the function it wraps three times, for AVX-512, for AVX2 with FMA and for the
/// baseline, and calls the widest version this CPU has (detected once). The release build
/// targets the x86-64 baseline, where the compiler vectorises these loops with SSE2 only.
/// Rust never fuses a multiply and an add on its own, so every version rounds the same way.
macro_rules! simd_dispatch {
    ($item:item) => {
        #[multiversion::multiversion(targets(
            "x86_64+avx512f+avx512vl+avx512bw+avx2+fma",
            "x86_64+avx2+fma"
        ))]
        $item
    };
}

pub(crate) use simd_dispatch;
