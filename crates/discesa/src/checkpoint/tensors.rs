//! Named `f32`/`f64` tensors in safetensors files, with PyTorch-style names
//! (`layers.0.weight`) and optional string metadata.

use super::encode::{encode, Entry};
use super::{write_atomic, CheckpointError};
use safetensors::{Dtype, SafeTensors};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// Element type of a stored tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// 64-bit signed integer (PyTorch's counters such as `num_batches_tracked`).
    I64,
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DType::F32 => "F32",
            DType::F64 => "F64",
            DType::I64 => "I64",
        })
    }
}

/// Borrowed values of a tensor to be written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TensorData<'a> {
    /// 32-bit values.
    F32(&'a [f32]),
    /// 64-bit values.
    F64(&'a [f64]),
    /// 64-bit integers.
    I64(&'a [i64]),
}

impl TensorData<'_> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            TensorData::F32(d) => d.len(),
            TensorData::F64(d) => d.len(),
            TensorData::I64(d) => d.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'a> From<&'a [f32]> for TensorData<'a> {
    fn from(d: &'a [f32]) -> Self {
        TensorData::F32(d)
    }
}

impl<'a> From<&'a [f64]> for TensorData<'a> {
    fn from(d: &'a [f64]) -> Self {
        TensorData::F64(d)
    }
}

/// Owned values of a tensor read from a file.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorValues {
    /// 32-bit values.
    F32(Vec<f32>),
    /// 64-bit values.
    F64(Vec<f64>),
    /// 64-bit integers.
    I64(Vec<i64>),
}

/// A tensor read from a safetensors file.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// PyTorch-style name.
    pub name: String,
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values in row-major order.
    pub data: TensorValues,
}

impl NamedTensor {
    /// Element type.
    pub fn dtype(&self) -> DType {
        match self.data {
            TensorValues::F32(_) => DType::F32,
            TensorValues::F64(_) => DType::F64,
            TensorValues::I64(_) => DType::I64,
        }
    }

    /// The values if stored as `f32`.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            TensorValues::F32(d) => Some(d),
            _ => None,
        }
    }

    /// The values if stored as `f64`.
    pub fn as_f64(&self) -> Option<&[f64]> {
        match &self.data {
            TensorValues::F64(d) => Some(d),
            _ => None,
        }
    }

    /// The values if stored as `i64`.
    pub fn as_i64(&self) -> Option<&[i64]> {
        match &self.data {
            TensorValues::I64(d) => Some(d),
            _ => None,
        }
    }

    /// The values widened to `f64` (exact for floats and for integers below 2^53).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match &self.data {
            TensorValues::F32(d) => d.iter().map(|&x| f64::from(x)).collect(),
            TensorValues::F64(d) => d.clone(),
            TensorValues::I64(d) => d.iter().map(|&x| x as f64).collect(),
        }
    }
}

/// Everything read from one safetensors file, with lookups whose errors name the file.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorFile {
    /// The file read.
    pub path: PathBuf,
    /// String metadata (`__metadata__`), empty if absent.
    pub metadata: BTreeMap<String, String>,
    /// Tensors in file order.
    pub tensors: Vec<NamedTensor>,
}

impl TensorFile {
    /// The tensor called `name`, or an error listing the names present.
    pub fn get(&self, name: &str) -> Result<&NamedTensor, CheckpointError> {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| CheckpointError::MissingTensor {
                name: name.to_string(),
                available: self.names().join(", "),
                path: self.path.clone(),
            })
    }

    /// The tensor called `name`, checked to have `shape` and `dtype`.
    pub fn expect(
        &self,
        name: &str,
        shape: &[usize],
        dtype: DType,
    ) -> Result<&NamedTensor, CheckpointError> {
        let t = self.get(name)?;
        if t.shape != shape {
            return Err(CheckpointError::ShapeMismatch {
                name: name.to_string(),
                expected: shape.to_vec(),
                found: t.shape.clone(),
                path: self.path.clone(),
            });
        }
        if t.dtype() != dtype {
            return Err(CheckpointError::DTypeMismatch {
                name: name.to_string(),
                expected: dtype,
                found: t.dtype(),
                path: self.path.clone(),
            });
        }
        Ok(t)
    }

    /// The `f32` values of `name`, checked to have `shape`.
    pub fn expect_f32(&self, name: &str, shape: &[usize]) -> Result<&[f32], CheckpointError> {
        let t = self.expect(name, shape, DType::F32)?;
        Ok(t.as_f32().unwrap_or_default())
    }

    /// The `f64` values of `name`, checked to have `shape`.
    pub fn expect_f64(&self, name: &str, shape: &[usize]) -> Result<&[f64], CheckpointError> {
        let t = self.expect(name, shape, DType::F64)?;
        Ok(t.as_f64().unwrap_or_default())
    }

    /// The `i64` values of `name`, checked to have `shape`.
    pub fn expect_i64(&self, name: &str, shape: &[usize]) -> Result<&[i64], CheckpointError> {
        let t = self.expect(name, shape, DType::I64)?;
        Ok(t.as_i64().unwrap_or_default())
    }

    /// Tensor names in file order.
    pub fn names(&self) -> Vec<&str> {
        self.tensors.iter().map(|t| t.name.as_str()).collect()
    }
}

/// Writes `tensors` as `(name, shape, data)` to a safetensors file, atomically.
pub fn save_safetensors<N: AsRef<str>, S: AsRef<[usize]>>(
    path: impl AsRef<Path>,
    tensors: &[(N, S, TensorData<'_>)],
) -> Result<(), CheckpointError> {
    save_safetensors_with_metadata(path, tensors, &BTreeMap::new())
}

/// Like [`save_safetensors`], also storing string `metadata` under `__metadata__`
/// (omitted when empty).
pub fn save_safetensors_with_metadata<N: AsRef<str>, S: AsRef<[usize]>>(
    path: impl AsRef<Path>,
    tensors: &[(N, S, TensorData<'_>)],
    metadata: &BTreeMap<String, String>,
) -> Result<(), CheckpointError> {
    let path = path.as_ref();
    let bytes = encode_safetensors(path, tensors, metadata)?;
    Ok(write_atomic(path, &bytes)?)
}

/// The bytes of a safetensors file holding `tensors` and `metadata`, the same bytes for the
/// same input on every run (sorted header, see the `encode` module). `path` only names the
/// file in errors: a length that does not match a shape, or a repeated name.
pub fn encode_safetensors<N: AsRef<str>, S: AsRef<[usize]>>(
    path: &Path,
    tensors: &[(N, S, TensorData<'_>)],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, CheckpointError> {
    let mut seen = HashSet::new();
    let mut entries = Vec::with_capacity(tensors.len());
    for (name, shape, data) in tensors {
        let (name, shape) = (name.as_ref(), shape.as_ref());
        let expected = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if expected != Some(data.len()) {
            return Err(CheckpointError::DataLength {
                name: name.to_string(),
                shape: shape.to_vec(),
                expected: expected.unwrap_or(usize::MAX),
                found: data.len(),
                path: path.to_path_buf(),
            });
        }
        if !seen.insert(name) {
            return Err(CheckpointError::DuplicateName {
                name: name.to_string(),
                path: path.to_path_buf(),
            });
        }
        entries.push(Entry {
            name,
            shape,
            data: *data,
        });
    }
    Ok(encode(&entries, metadata))
}

/// Reads every tensor of a safetensors file, in file order.
pub fn load_safetensors(path: impl AsRef<Path>) -> Result<Vec<NamedTensor>, CheckpointError> {
    Ok(load_safetensors_file(path)?.tensors)
}

/// Reads every tensor of a safetensors file together with its metadata.
pub fn load_safetensors_file(path: impl AsRef<Path>) -> Result<TensorFile, CheckpointError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
        action: "reading",
        path: path.to_path_buf(),
        source,
    })?;
    parse_safetensors(&bytes, path)
}

/// Reads every tensor of safetensors `bytes` together with the metadata; `path` names the
/// file in errors.
pub fn parse_safetensors(bytes: &[u8], path: &Path) -> Result<TensorFile, CheckpointError> {
    let format = |e: safetensors::SafeTensorError| CheckpointError::Format {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(format)?;
    let st = SafeTensors::deserialize(bytes).map_err(format)?;
    let mut tensors = Vec::with_capacity(st.len());
    for name in header.offset_keys() {
        let view = st.tensor(&name).map_err(format)?;
        let raw = view.data();
        let data = match view.dtype() {
            Dtype::F32 => TensorValues::F32(
                raw.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            Dtype::F64 => TensorValues::F64(
                raw.chunks_exact(8)
                    .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect(),
            ),
            Dtype::I64 => TensorValues::I64(
                raw.chunks_exact(8)
                    .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect(),
            ),
            other => {
                return Err(CheckpointError::UnsupportedDType {
                    name,
                    dtype: format!("{other:?}"),
                    path: path.to_path_buf(),
                })
            }
        };
        tensors.push(NamedTensor {
            shape: view.shape().to_vec(),
            name,
            data,
        });
    }
    let metadata = header
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Ok(TensorFile {
        path: path.to_path_buf(),
        metadata,
        tensors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    fn entries(dir: &TempDir) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn sample(dir: &TempDir) -> PathBuf {
        let w: Vec<f32> = (0..6).map(|i| i as f32 * 0.5 - 1.0).collect();
        let b = vec![0.25f64, -1e-300];
        let path = dir.path().join("model.safetensors");
        let tensors: Vec<(&str, Vec<usize>, TensorData)> = vec![
            ("layers.0.weight", vec![2, 3], TensorData::F32(&w)),
            ("layers.0.bias", vec![2], TensorData::F64(&b)),
            ("layers.10.weight", vec![], TensorData::F32(&[7.5])),
        ];
        save_safetensors(&path, &tensors).unwrap();
        path
    }

    #[test]
    fn round_trip_preserves_names_shapes_dtypes_and_bits() {
        let dir = TempDir::new().unwrap();
        let path = sample(&dir);
        let file = load_safetensors_file(&path).unwrap();
        assert!(file.metadata.is_empty());
        let mut names = file.names();
        names.sort();
        assert_eq!(
            names,
            vec!["layers.0.bias", "layers.0.weight", "layers.10.weight"]
        );
        let w = file.expect_f32("layers.0.weight", &[2, 3]).unwrap();
        assert_eq!(w, &[-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]);
        let b = file.expect_f64("layers.0.bias", &[2]).unwrap();
        assert_eq!(b[1].to_bits(), (-1e-300f64).to_bits());
        assert_eq!(file.expect_f32("layers.10.weight", &[]).unwrap(), &[7.5]);
        assert_eq!(load_safetensors(&path).unwrap().len(), 3);
        assert_eq!(entries(&dir), vec!["model.safetensors".to_string()]);
    }

    #[test]
    fn metadata_round_trips() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("m.safetensors");
        let meta = BTreeMap::from([
            ("format".to_string(), "pt".to_string()),
            ("epoch".to_string(), "12".to_string()),
        ]);
        let x = [1.0f64, 2.0];
        save_safetensors_with_metadata(&path, &[("x", [2], TensorData::F64(&x))], &meta).unwrap();
        let file = load_safetensors_file(&path).unwrap();
        assert_eq!(file.metadata, meta);
        assert_eq!(file.get("x").unwrap().to_f64_vec(), vec![1.0, 2.0]);
    }

    #[test]
    fn lookups_name_tensor_shape_and_file() {
        let dir = TempDir::new().unwrap();
        let path = sample(&dir);
        let file = load_safetensors_file(&path).unwrap();
        let err = file
            .expect("layers.0.weight", &[3, 2], DType::F32)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "tensor layers.0.weight: expected shape [3, 2], found [2, 3] in {}",
                path.display()
            )
        );
        let err = file
            .expect("layers.0.bias", &[2], DType::F32)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected dtype F32, found F64"), "{err}");
        let err = file.get("layers.1.weight").unwrap_err().to_string();
        assert!(
            err.contains("tensor layers.1.weight not found") && err.contains("layers.0.bias"),
            "{err}"
        );
        assert!(err.contains("model.safetensors"), "{err}");
    }

    #[test]
    fn bad_input_to_save_is_rejected_before_writing() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("x.safetensors");
        let err = save_safetensors(&path, &[("w", [2, 2], TensorData::F32(&[1.0, 2.0, 3.0]))])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tensor w: shape [2, 2] needs 4 elements but 3 were given"),
            "{err}"
        );
        let err = save_safetensors(
            &path,
            &[
                ("w", [1], TensorData::F32(&[1.0])),
                ("w", [1], TensorData::F32(&[2.0])),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("tensor w appears twice"), "{err}");
        assert!(entries(&dir).is_empty());
    }

    #[test]
    fn truncated_and_corrupted_files_give_clear_errors() {
        let dir = TempDir::new().unwrap();
        let path = sample(&dir);
        let bytes = std::fs::read(&path).unwrap();
        let cut = dir.path().join("cut.safetensors");
        std::fs::write(&cut, &bytes[..bytes.len() - 5]).unwrap();
        let err = load_safetensors(&cut).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "{} is not a valid safetensors file",
                cut.display()
            )),
            "{err}"
        );
        let tiny = dir.path().join("tiny.safetensors");
        std::fs::write(&tiny, b"abc").unwrap();
        let err = load_safetensors(&tiny).unwrap_err().to_string();
        assert!(
            err.contains("tiny.safetensors is not a valid safetensors file"),
            "{err}"
        );
        let mut garbled = bytes.clone();
        garbled[8] = b'#'; // the opening brace of the JSON header
        let bad = dir.path().join("bad.safetensors");
        std::fs::write(&bad, &garbled).unwrap();
        let err = load_safetensors(&bad).unwrap_err().to_string();
        assert!(
            err.contains("bad.safetensors is not a valid safetensors file"),
            "{err}"
        );
        let err = load_safetensors(dir.path().join("absent.safetensors"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("reading ") && err.contains("absent.safetensors"),
            "{err}"
        );
    }

    #[test]
    fn unsupported_dtype_is_named() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("i.safetensors");
        let view =
            safetensors::tensor::TensorView::new(Dtype::I32, vec![1], &[1, 0, 0, 0]).unwrap();
        let bytes = safetensors::serialize([("steps", view)], None).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let err = load_safetensors(&path).unwrap_err().to_string();
        assert!(
            err.contains("tensor steps: dtype I32 is not supported"),
            "{err}"
        );
    }
}
