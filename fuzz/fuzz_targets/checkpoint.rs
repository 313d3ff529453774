//! Checkpoint loading: `state.json`, `model.safetensors` and `model.safetensors.new` come from
//! the input (each prefixed by its length as a little-endian u32; missing parts are absent
//! files), then the directory is loaded as `discesa evaluate` does and a trainer is built.
#![no_main]
use discesa::train::load_checkpoint;
use discesa_fuzz::scratch;
use libfuzzer_sys::fuzz_target;

fn take<'a>(data: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_le_bytes(data.get(..4)?.try_into().ok()?) as usize;
    let rest = &data[4..];
    let part = &rest[..len.min(rest.len())];
    *data = &rest[part.len()..];
    Some(part)
}

fuzz_target!(|input: &[u8]| {
    let dir = scratch("checkpoint");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut data = input;
    for name in ["state.json", "model.safetensors", "model.safetensors.new"] {
        if let Some(part) = take(&mut data) {
            std::fs::write(dir.join(name), part).unwrap();
        }
    }
    let _ = discesa::checkpoint::parse_safetensors(input, &dir);
    if let Ok(ck) = load_checkpoint(&dir) {
        let _ = ck.trainer();
    }
});
