//! NumPy `.npy` arrays: reader (format 1.0, 2.0, 3.0; little-endian `f4 f8 u1 i4 i8 b1`; C order)
//! and atomic writer (`f4`, `f8`).

use super::error::{io_err, DataError, Result};
use std::path::Path;

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Element type of a `.npy` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyDtype {
    /// `<f4`
    F32,
    /// `<f8`
    F64,
    /// `|u1`
    U8,
    /// `<i4`
    I32,
    /// `<i8`
    I64,
    /// `|b1`
    Bool,
}

impl NpyDtype {
    fn from_descr(descr: &str) -> Option<NpyDtype> {
        Some(match descr {
            "<f4" => NpyDtype::F32,
            "<f8" => NpyDtype::F64,
            "|u1" | "<u1" | ">u1" => NpyDtype::U8,
            "<i4" => NpyDtype::I32,
            "<i8" => NpyDtype::I64,
            "|b1" | "<b1" | ">b1" => NpyDtype::Bool,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            NpyDtype::U8 | NpyDtype::Bool => 1,
            NpyDtype::F32 | NpyDtype::I32 => 4,
            NpyDtype::F64 | NpyDtype::I64 => 8,
        }
    }

    /// True for integer and boolean types (values usable as class labels).
    pub fn is_integer(self) -> bool {
        !matches!(self, NpyDtype::F32 | NpyDtype::F64)
    }
}

/// Values of a `.npy` array: `u1` stays bytes; `f4` and `b1` become `f32`; `f8`, `i4` and `i8`
/// become `f64` (exact for every `i4`, and for `i8` up to 2^53 in magnitude).
#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    /// Single precision values.
    F32(Vec<f32>),
    /// Double precision values.
    F64(Vec<f64>),
    /// Bytes (`u1`), kept as they are: image pixels stay one byte each in memory.
    U8(Vec<u8>),
}

/// A `.npy` array in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Dimensions; empty for a scalar.
    pub shape: Vec<usize>,
    /// Element type stored in the file.
    pub dtype: NpyDtype,
    /// Values.
    pub data: NpyData,
}

impl NpyArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            NpyData::F32(v) => v.len(),
            NpyData::F64(v) => v.len(),
            NpyData::U8(v) => v.len(),
        }
    }

    /// True when the array holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values as `f32` (narrowing `f64` values).
    pub fn into_f32(self) -> Vec<f32> {
        match self.data {
            NpyData::F32(v) => v,
            NpyData::F64(v) => v.into_iter().map(|x| x as f32).collect(),
            NpyData::U8(v) => v.into_iter().map(f32::from).collect(),
        }
    }

    /// Values as `f64`.
    pub fn into_f64(self) -> Vec<f64> {
        match self.data {
            NpyData::F32(v) => v.into_iter().map(f64::from).collect(),
            NpyData::F64(v) => v,
            NpyData::U8(v) => v.into_iter().map(f64::from).collect(),
        }
    }
}

fn format_err(path: &Path, message: impl Into<String>) -> DataError {
    DataError::Format {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads a `.npy` file.
pub fn read_npy(path: impl AsRef<Path>) -> Result<NpyArray> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(format_err(
            path,
            "not a .npy file (it does not start with \\x93NUMPY)",
        ));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, header_start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => {
            let b = bytes
                .get(8..12)
                .ok_or_else(|| format_err(path, "the .npy header length is cut off"))?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        _ => {
            return Err(format_err(
                path,
                format!(
                "unsupported .npy format version {major}.{minor} (1.0, 2.0 and 3.0 are supported)"
            ),
            ))
        }
    };
    let data_start = header_start + header_len;
    let header_bytes = bytes
        .get(header_start..data_start)
        .ok_or(DataError::SizeMismatch {
            path: path.to_path_buf(),
            expected: data_start as u64,
            actual: bytes.len() as u64,
        })?;
    let header: String = if major == 3 {
        String::from_utf8(header_bytes.to_vec())
            .map_err(|_| format_err(path, "the .npy header is not valid UTF-8"))?
    } else {
        header_bytes.iter().map(|&b| char::from(b)).collect()
    };
    let header = parse_header(&header).map_err(|m| format_err(path, m))?;
    let dtype = NpyDtype::from_descr(&header.descr).ok_or_else(|| {
        format_err(
            path,
            format!(
                "unsupported dtype '{}' (supported: little-endian f4, f8, u1, i4, i8, b1)",
                header.descr
            ),
        )
    })?;
    if header.fortran_order && header.shape.iter().filter(|&&d| d > 1).count() > 1 {
        return Err(format_err(
            path,
            format!(
                "array of shape {:?} is stored in Fortran (column-major) order; \
                 save it in C order (numpy.ascontiguousarray) instead",
                header.shape
            ),
        ));
    }
    let body = &bytes[data_start..];
    let expected = header
        .shape
        .iter()
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format_err(path, format!("shape {:?} is too large", header.shape)))?;
    if body.len() != expected {
        return Err(DataError::SizeMismatch {
            path: path.to_path_buf(),
            expected: (data_start + expected) as u64,
            actual: bytes.len() as u64,
        });
    }
    let data = if dtype == NpyDtype::U8 {
        // The bytes are the values: reuse the read buffer instead of copying it.
        let mut bytes = bytes;
        bytes.drain(..data_start);
        NpyData::U8(bytes)
    } else {
        decode(path, dtype, body)?
    };
    Ok(NpyArray {
        shape: header.shape,
        dtype,
        data,
    })
}

fn decode(path: &Path, dtype: NpyDtype, body: &[u8]) -> Result<NpyData> {
    fn words<const N: usize>(body: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
        body.chunks_exact(N).map(|c| {
            let mut w = [0u8; N];
            w.copy_from_slice(c);
            w
        })
    }
    Ok(match dtype {
        NpyDtype::F32 => NpyData::F32(words::<4>(body).map(f32::from_le_bytes).collect()),
        NpyDtype::F64 => NpyData::F64(words::<8>(body).map(f64::from_le_bytes).collect()),
        NpyDtype::U8 => NpyData::U8(body.to_vec()),
        NpyDtype::Bool => NpyData::F32(body.iter().map(|&b| f32::from(u8::from(b != 0))).collect()),
        NpyDtype::I32 => NpyData::F64(
            words::<4>(body)
                .map(|w| f64::from(i32::from_le_bytes(w)))
                .collect(),
        ),
        NpyDtype::I64 => {
            let limit = 1i64 << 53;
            let mut out = Vec::with_capacity(body.len() / 8);
            for (i, w) in words::<8>(body).enumerate() {
                let v = i64::from_le_bytes(w);
                if !(-limit..=limit).contains(&v) {
                    return Err(format_err(
                        path,
                        format!("int64 value {v} at flat index {i} cannot be represented exactly as a float"),
                    ));
                }
                out.push(v as f64);
            }
            NpyData::F64(out)
        }
    })
}

struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// A Python literal, as far as `.npy` headers use them.
#[derive(Debug)]
enum PyValue {
    Str(String),
    Bool(bool),
    Int(u64),
    Seq(Vec<PyValue>),
    Dict(Vec<(PyValue, PyValue)>),
    None,
}

fn parse_header(text: &str) -> std::result::Result<Header, String> {
    let mut parser = PyParser {
        chars: text.chars().collect(),
        pos: 0,
    };
    let PyValue::Dict(entries) = parser.value()? else {
        return Err("the .npy header is not a dictionary".into());
    };
    let get = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| matches!(k, PyValue::Str(s) if s == key))
            .map(|(_, v)| v)
            .ok_or_else(|| format!("the .npy header has no '{key}' entry"))
    };
    let descr = match get("descr")? {
        PyValue::Str(s) => s.clone(),
        PyValue::Seq(_) => {
            return Err(
                "structured (record) dtypes are not supported; save a plain numeric array".into(),
            )
        }
        other => return Err(format!("unexpected 'descr' value {other:?}")),
    };
    let fortran_order = match get("fortran_order")? {
        PyValue::Bool(b) => *b,
        other => return Err(format!("unexpected 'fortran_order' value {other:?}")),
    };
    let shape = match get("shape")? {
        PyValue::Seq(items) => items
            .iter()
            .map(|d| match d {
                PyValue::Int(n) => {
                    usize::try_from(*n).map_err(|_| format!("dimension {n} is too large"))
                }
                other => Err(format!("unexpected dimension {other:?} in 'shape'")),
            })
            .collect::<std::result::Result<Vec<_>, _>>()?,
        other => return Err(format!("unexpected 'shape' value {other:?}")),
    };
    Ok(Header {
        descr,
        fortran_order,
        shape,
    })
}

struct PyParser {
    chars: Vec<char>,
    pos: usize,
}

impl PyParser {
    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.chars.get(self.pos).copied()
    }

    fn value(&mut self) -> std::result::Result<PyValue, String> {
        let c = self.peek().ok_or("the .npy header ends too early")?;
        match c {
            '{' => {
                self.pos += 1;
                let mut entries = Vec::new();
                while self.peek() != Some('}') {
                    let key = self.value()?;
                    if self.peek() != Some(':') {
                        return Err(format!("expected ':' at header offset {}", self.pos));
                    }
                    self.pos += 1;
                    let value = self.value()?;
                    entries.push((key, value));
                    self.separator('}')?;
                }
                self.pos += 1;
                Ok(PyValue::Dict(entries))
            }
            '(' | '[' => {
                let close = if c == '(' { ')' } else { ']' };
                self.pos += 1;
                let mut items = Vec::new();
                while self.peek() != Some(close) {
                    items.push(self.value()?);
                    self.separator(close)?;
                }
                self.pos += 1;
                Ok(PyValue::Seq(items))
            }
            '\'' | '"' => {
                self.pos += 1;
                let start = self.pos;
                while self.chars.get(self.pos).is_some_and(|&ch| ch != c) {
                    self.pos += 1;
                }
                if self.pos >= self.chars.len() {
                    return Err("unterminated string in the .npy header".into());
                }
                let s = self.chars[start..self.pos].iter().collect();
                self.pos += 1;
                Ok(PyValue::Str(s))
            }
            c if c.is_ascii_digit() => {
                let start = self.pos;
                while self.chars.get(self.pos).is_some_and(char::is_ascii_digit) {
                    self.pos += 1;
                }
                let digits: String = self.chars[start..self.pos].iter().collect();
                // Python 2 era files write long integers as `3L`.
                if self.chars.get(self.pos) == Some(&'L') {
                    self.pos += 1;
                }
                digits
                    .parse()
                    .map(PyValue::Int)
                    .map_err(|_| format!("number {digits} in the .npy header is too large"))
            }
            _ => {
                for (word, value) in [
                    ("True", PyValue::Bool(true)),
                    ("False", PyValue::Bool(false)),
                    ("None", PyValue::None),
                ] {
                    let end = self.pos + word.len();
                    if end <= self.chars.len()
                        && self.chars[self.pos..end].iter().copied().eq(word.chars())
                    {
                        self.pos = end;
                        return Ok(value);
                    }
                }
                Err(format!(
                    "unexpected character '{c}' at offset {} of the .npy header",
                    self.pos
                ))
            }
        }
    }

    /// After an item: a comma, or the closing bracket (left for the caller).
    fn separator(&mut self, close: char) -> std::result::Result<(), String> {
        match self.peek() {
            Some(',') => {
                self.pos += 1;
                Ok(())
            }
            Some(c) if c == close => Ok(()),
            _ => Err(format!(
                "expected ',' or '{close}' at offset {} of the .npy header",
                self.pos
            )),
        }
    }
}

/// Encodes a `.npy` file (format 1.0, or 2.0 when the header is too long for 1.0).
fn encode(descr: &str, shape: &[usize], body: Vec<u8>) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    let v1 = header.len() + 11 <= usize::from(u16::MAX);
    let prefix = if v1 { 10 } else { 12 };
    // Pad with spaces so the data starts on a 64-byte boundary; the header ends in a newline.
    let total = (prefix + header.len() + 1).div_ceil(64) * 64;
    header.extend(std::iter::repeat_n(' ', total - prefix - header.len() - 1));
    header.push('\n');
    let mut out = Vec::with_capacity(total + body.len());
    out.extend_from_slice(MAGIC);
    if v1 {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&body);
    out
}

fn check_shape(path: &Path, shape: &[usize], len: usize) -> Result<()> {
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if count != Some(len) {
        return Err(format_err(
            path,
            format!("shape {shape:?} does not hold {len} values"),
        ));
    }
    Ok(())
}

/// Writes `f32` values as a C-order `<f4` array, atomically.
pub fn write_npy_f32(path: impl AsRef<Path>, shape: &[usize], data: &[f32]) -> Result<()> {
    let path = path.as_ref();
    check_shape(path, shape, data.len())?;
    let body = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    Ok(crate::fsio::write_atomic(
        path,
        &encode("<f4", shape, body),
    )?)
}

/// Writes `f64` values as a C-order `<f8` array, atomically.
pub fn write_npy_f64(path: impl AsRef<Path>, shape: &[usize], data: &[f64]) -> Result<()> {
    let path = path.as_ref();
    check_shape(path, shape, data.len())?;
    let body = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    Ok(crate::fsio::write_atomic(
        path,
        &encode("<f8", shape, body),
    )?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::test_util::TempDir;

    /// Builds a `.npy` file by hand, as NumPy would (any version, any header text).
    pub(crate) fn raw_npy(major: u8, header: &str, body: &[u8]) -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        v.extend_from_slice(&[major, 0]);
        if major == 1 {
            v.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            v.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        v.extend_from_slice(header.as_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn f32_and_f64_round_trip() {
        let dir = TempDir::new("npy_rt");
        let p = dir.path().join("a.npy");
        let data: Vec<f32> = (0..6).map(|i| i as f32 * 0.25 - 1.0).collect();
        write_npy_f32(&p, &[2, 3], &data).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0, "data is not 64-byte aligned");
        let a = read_npy(&p).unwrap();
        assert_eq!((a.shape.clone(), a.dtype), (vec![2, 3], NpyDtype::F32));
        assert_eq!(a.data, NpyData::F32(data));
        let q = dir.path().join("b.npy");
        let wide = [1e-300, -2.5, 3.0];
        write_npy_f64(&q, &[3], &wide).unwrap();
        let b = read_npy(&q).unwrap();
        assert_eq!(b.shape, vec![3]);
        assert_eq!(b.into_f64(), wide);
        let s = dir.path().join("s.npy");
        write_npy_f64(&s, &[], &[7.0]).unwrap();
        assert_eq!(read_npy(&s).unwrap().shape, Vec::<usize>::new());
        assert!(write_npy_f32(&p, &[4], &[1.0]).is_err());
    }

    #[test]
    fn integer_and_bool_dtypes_and_versions() {
        let dir = TempDir::new("npy_dtypes");
        let cases: [(&str, Vec<u8>, Vec<f64>); 4] = [
            ("|u1", vec![0, 7, 255], vec![0.0, 7.0, 255.0]),
            ("|b1", vec![0, 1, 1], vec![0.0, 1.0, 1.0]),
            (
                "<i4",
                [-3i32, 0, 9].iter().flat_map(|v| v.to_le_bytes()).collect(),
                vec![-3.0, 0.0, 9.0],
            ),
            (
                "<i8",
                [5i64, -1, 1 << 40]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                vec![5.0, -1.0, (1u64 << 40) as f64],
            ),
        ];
        for (major, (descr, body, want)) in [1u8, 2, 3, 1].into_iter().zip(cases) {
            let header =
                format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (3L,), }}\n");
            let p = dir.write(
                &format!("{}.npy", &descr[1..]),
                raw_npy(major, &header, &body),
            );
            let a = read_npy(&p).unwrap();
            assert!(a.dtype.is_integer());
            if descr == "|u1" {
                assert_eq!(a.data, NpyData::U8(vec![0, 7, 255]));
            }
            assert_eq!(a.into_f64(), want, "dtype {descr}, version {major}");
        }
    }

    #[test]
    fn unsupported_layouts_are_clear_errors() {
        let dir = TempDir::new("npy_bad");
        let body = [0u8; 16];
        let check = |name: &str, header: &str, needle: &str| {
            let p = dir.write(name, raw_npy(1, header, &body));
            let msg = read_npy(&p).unwrap_err().to_string();
            assert!(msg.contains(needle), "{name}: {msg}");
            assert!(msg.contains(name), "{name}: {msg}");
        };
        check(
            "fortran.npy",
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
            "Fortran",
        );
        check(
            "big.npy",
            "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }",
            "unsupported dtype '>f4'",
        );
        check(
            "complex.npy",
            "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }",
            "unsupported dtype '<c8'",
        );
        check(
            "record.npy",
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }",
            "structured",
        );
        check(
            "short.npy",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
            "truncated",
        );
        check(
            "noshape.npy",
            "{'descr': '<f4', 'fortran_order': False}",
            "'shape'",
        );
        // Fortran order is harmless for a vector.
        let v = dir.write(
            "vec.npy",
            raw_npy(
                1,
                "{'descr': '<f4', 'fortran_order': True, 'shape': (4,), }",
                &body,
            ),
        );
        assert_eq!(read_npy(&v).unwrap().len(), 4);
        let junk = dir.write("junk.npy", b"hello world, not numpy");
        assert!(read_npy(&junk)
            .unwrap_err()
            .to_string()
            .contains("not a .npy"));
        let mut v9 = raw_npy(1, "{}", &[]);
        v9[6] = 9;
        let v9 = dir.write("v9.npy", v9);
        assert!(read_npy(&v9)
            .unwrap_err()
            .to_string()
            .contains("version 9.0"));
    }
}
