//! The NumPy `.npy` reader: any input is an error or an array whose data fills its shape.
#![no_main]
use discesa::data::{read_npy, NpyData};
use discesa_fuzz::scratch_file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("input.npy", data);
    if let Ok(a) = read_npy(&path) {
        let n = match &a.data {
            NpyData::F32(v) => v.len(),
            NpyData::F64(v) => v.len(),
            NpyData::U8(v) => v.len(),
        };
        assert_eq!(n, a.shape.iter().product::<usize>(), "data does not fill the shape");
    }
});
