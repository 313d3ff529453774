//! The IDX reader (MNIST format), raw and gzipped: the input is read as an image file and as
//! a label file, as given (raw, or gzip if it starts with the gzip magic) and gzip-compressed.
#![no_main]
use discesa::data::{read_idx_images, read_idx_labels};
use discesa_fuzz::scratch_file;
use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let raw = scratch_file("input-idx-ubyte", data);
    let _ = read_idx_images(&raw);
    let _ = read_idx_labels(&raw);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    let packed = scratch_file("input-idx-ubyte.gz", &gz.finish().unwrap());
    let _ = read_idx_images(&packed);
    let _ = read_idx_labels(&packed);
});
