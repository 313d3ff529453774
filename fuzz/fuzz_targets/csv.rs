//! The CSV reader: the whole input is one CSV file, read with the target inferred, then as a
//! regression on its last column.
#![no_main]
use discesa::data::{read_csv, CsvOptions};
use discesa_fuzz::scratch_file;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("input.csv", data);
    let _ = read_csv(&path, &CsvOptions::default());
    let _ = read_csv(&path, &CsvOptions::default().with_classification());
    let _ = discesa::data::load(&path, &discesa::data::LoadOptions::default());
});
