//! The safetensors byte layout, written deterministically: the same tensors and metadata give
//! the same bytes on every run, so a file's checksum identifies its content.
//!
//! Layout (the safetensors format): an 8-byte little-endian header length, a JSON header
//! padded with spaces to a multiple of 8 bytes, then the raw little-endian tensor data. The
//! header lists `__metadata__` first (when present, keys sorted) and then the tensors sorted
//! by name; the data section holds the widest dtypes first and, within a dtype, tensors by
//! name, which keeps every tensor aligned to its element size (the crate's own convention).

use super::tensors::TensorData;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A tensor to be encoded, checked beforehand (unique name, length matching the shape).
pub(super) struct Entry<'a> {
    pub name: &'a str,
    pub shape: &'a [usize],
    pub data: TensorData<'a>,
}

impl TensorData<'_> {
    /// The safetensors dtype name.
    fn dtype_name(&self) -> &'static str {
        match self {
            TensorData::F32(_) => "F32",
            TensorData::F64(_) => "F64",
            TensorData::I64(_) => "I64",
        }
    }

    /// Bytes per element.
    fn element_size(&self) -> usize {
        match self {
            TensorData::F32(_) => 4,
            TensorData::F64(_) | TensorData::I64(_) => 8,
        }
    }

    /// Appends the values as little-endian bytes.
    fn extend_le_bytes(&self, out: &mut Vec<u8>) {
        match self {
            TensorData::F32(d) => d
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::F64(d) => d
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::I64(d) => d
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
    }
}

/// A JSON string literal (serde_json's escaping, independent of its map-ordering features).
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Encodes `entries` and `metadata` as one safetensors file.
pub(super) fn encode(entries: &[Entry<'_>], metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut data_order: Vec<&Entry<'_>> = entries.iter().collect();
    data_order
        .sort_by(|a, b| (b.data.element_size(), a.name).cmp(&(a.data.element_size(), b.name)));
    let mut offsets = BTreeMap::new();
    let mut end = 0usize;
    for e in &data_order {
        let start = end;
        end += e.data.len() * e.data.element_size();
        offsets.insert(e.name, (start, end));
    }
    let mut header = String::from("{");
    let mut first = true;
    let mut sep = |h: &mut String| {
        if !std::mem::take(&mut first) {
            h.push(',');
        }
    };
    if !metadata.is_empty() {
        sep(&mut header);
        header.push_str("\"__metadata__\":{");
        let pairs: Vec<String> = metadata
            .iter()
            .map(|(k, v)| format!("{}:{}", json_string(k), json_string(v)))
            .collect();
        header.push_str(&pairs.join(","));
        header.push('}');
    }
    let by_name: BTreeMap<&str, &Entry<'_>> = entries.iter().map(|e| (e.name, e)).collect();
    for (name, e) in by_name {
        sep(&mut header);
        let shape: Vec<String> = e.shape.iter().map(usize::to_string).collect();
        let (start, stop) = offsets[name];
        let _ = write!(
            header,
            "{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{start},{stop}]}}",
            json_string(name),
            e.data.dtype_name(),
            shape.join(",")
        );
    }
    header.push('}');
    while (8 + header.len()) % 8 != 0 {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + end);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for e in data_order {
        e.data.extend_le_bytes(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{encode_safetensors, parse_safetensors};
    use super::*;
    use std::path::Path;

    fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn same_input_gives_the_same_bytes_whatever_the_order_given() {
        let (w, b, d) = ([1.0f32, 2.0, 3.0, 4.0], [0.5f32, -0.5], [1e-300f64]);
        let m = meta(&[("model", "mlp"), ("format", "pt"), ("epoch", "3")]);
        let p = Path::new("m.safetensors");
        let forward = [
            ("layers.0.weight", vec![2, 2], TensorData::F32(&w)),
            ("layers.0.bias", vec![2], TensorData::F32(&b)),
            ("z.double", vec![1], TensorData::F64(&d)),
        ];
        let mut backward = forward.clone();
        backward.reverse();
        let one = encode_safetensors(p, &forward, &m).unwrap();
        let two = encode_safetensors(p, &backward, &m).unwrap();
        assert_eq!(one, two);
        let header_len = u64::from_le_bytes(one[..8].try_into().unwrap()) as usize;
        assert_eq!((8 + header_len) % 8, 0);
        let header = std::str::from_utf8(&one[8..8 + header_len]).unwrap();
        let keys = [
            "__metadata__",
            "\"epoch\"",
            "\"format\"",
            "\"model\"",
            "layers.0.bias",
        ];
        let pos: Vec<usize> = keys.iter().map(|k| header.find(k).unwrap()).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{header}");
        assert!(header.find("layers.0.weight") < header.find("z.double"));
        // The f64 tensor comes first in the data section, so it is 8-byte aligned.
        assert!(
            header
                .contains("\"z.double\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}"),
            "{header}"
        );
        let file = parse_safetensors(&one, p).unwrap();
        assert_eq!(file.metadata, m);
        assert_eq!(file.expect_f32("layers.0.weight", &[2, 2]).unwrap(), &w);
        assert_eq!(file.expect_f32("layers.0.bias", &[2]).unwrap(), &b);
        assert_eq!(file.expect_f64("z.double", &[1]).unwrap(), &d);
    }

    #[test]
    fn single_dtype_files_match_the_safetensors_crate_byte_for_byte() {
        let (w, b) = ([1.5f32, -2.0, 3.25, 4.0, 0.0, 7.0], [0.5f32, -0.5]);
        let ours = encode_safetensors(
            Path::new("x"),
            &[
                ("w", vec![3, 2], TensorData::F32(&w)),
                ("b", vec![2], TensorData::F32(&b)),
            ],
            &BTreeMap::new(),
        )
        .unwrap();
        let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let (wb, bb) = (bytes(&w), bytes(&b));
        let views = [
            (
                "w",
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![3, 2], &wb)
                    .unwrap(),
            ),
            (
                "b",
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2], &bb)
                    .unwrap(),
            ),
        ];
        let theirs = safetensors::serialize(views, None).unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn names_and_metadata_needing_escapes_round_trip() {
        let x = [1.0f32];
        let m = meta(&[("note", "a \"quoted\"\nline\\")]);
        let bytes = encode_safetensors(
            Path::new("x"),
            &[
                ("we\"ird\u{e9}", vec![1], TensorData::F32(&x)),
                ("empty", vec![0], TensorData::F32(&[])),
            ],
            &m,
        )
        .unwrap();
        let file = parse_safetensors(&bytes, Path::new("x")).unwrap();
        assert_eq!(file.metadata, m);
        assert_eq!(file.expect_f32("we\"ird\u{e9}", &[1]).unwrap(), &x);
        assert_eq!(file.expect_f32("empty", &[0]).unwrap(), &[] as &[f32]);
    }
}
