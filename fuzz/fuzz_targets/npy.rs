//! The NumPy `.npy` reader.
#![no_main]
use discesa::data::read_npy;
use discesa_fuzz::scratch_file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("input.npy", data);
    if let Ok(a) = read_npy(&path) {
        let _ = a.data.len();
    }
});
