//! IDX files (the MNIST format), plain or gzipped, and MNIST-layout directories.
//!
//! An IDX file is a big-endian header (magic number, then one `u32` per dimension) followed by the
//! raw values. Only the two layouts MNIST uses are accepted: `u8` labels (magic `0x00000801`,
//! one dimension) and `u8` images (magic `0x00000803`, three dimensions).

use super::dataset::{Dataset, Targets};
use super::error::{io_err, DataError, Result};
use flate2::read::MultiGzDecoder;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Magic number of an IDX file of `u8` labels.
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;
/// Magic number of an IDX file of `u8` images.
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;

/// Images read from an IDX file, pixels as the bytes `0..=255` of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Pixel rows per image.
    pub rows: usize,
    /// Pixel columns per image.
    pub cols: usize,
    /// Row-major pixels, `count × rows × cols`.
    pub pixels: Vec<u8>,
}

/// Reads a whole file, gunzipping it when it starts with the gzip magic bytes `1f 8b`. The
/// compressed bytes are streamed from the file, never held whole beside the result.
pub(crate) fn read_maybe_gzipped(path: &Path) -> Result<Vec<u8>> {
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let size = file.metadata().map_err(io_err(path))?.len();
    let mut magic = [0u8; 2];
    let got = read_up_to(&mut file, &mut magic).map_err(io_err(path))?;
    if got < 2 || magic != [0x1f, 0x8b] {
        let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        out.extend_from_slice(&magic[..got]);
        file.read_to_end(&mut out).map_err(io_err(path))?;
        return Ok(out);
    }
    // The gzip trailer stores the uncompressed size modulo 2^32: a good capacity hint.
    let mut trailer = [0u8; 4];
    let hint = if size >= 6 {
        file.seek(SeekFrom::End(-4)).map_err(io_err(path))?;
        file.read_exact(&mut trailer).map_err(io_err(path))?;
        u32::from_le_bytes(trailer) as usize
    } else {
        0
    };
    file.seek(SeekFrom::Start(0)).map_err(io_err(path))?;
    let mut out = Vec::with_capacity(hint.min(1 << 30));
    MultiGzDecoder::new(std::io::BufReader::new(file))
        .read_to_end(&mut out)
        .map_err(|e| DataError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(e.kind(), format!("invalid gzip data: {e}")),
        })?;
    Ok(out)
}

/// Fills as much of `buf` as the reader has; returns the count read.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Checks the magic number and total size; returns the dimensions.
fn parse_header(
    path: &Path,
    bytes: &[u8],
    magic: u32,
    ndims: usize,
    what: &'static str,
) -> Result<Vec<usize>> {
    let header_len = 4 + 4 * ndims;
    let too_short = || DataError::SizeMismatch {
        path: path.to_path_buf(),
        expected: header_len as u64,
        actual: bytes.len() as u64,
    };
    let word = |i: usize| -> Option<u32> {
        let b = bytes.get(4 * i..4 * i + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let found = word(0).ok_or_else(too_short)?;
    if found != magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            found,
            expected: magic,
            what,
        });
    }
    let dims: Vec<usize> = (1..=ndims)
        .map(|i| word(i).map(|d| d as usize))
        .collect::<Option<_>>()
        .ok_or_else(too_short)?;
    let expected = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .and_then(|body| body.checked_add(header_len as u64))
        .ok_or_else(|| DataError::Format {
            path: path.to_path_buf(),
            message: format!("IDX dimensions {dims:?} overflow a 64-bit size"),
        })?;
    if expected != bytes.len() as u64 {
        return Err(DataError::SizeMismatch {
            path: path.to_path_buf(),
            expected,
            actual: bytes.len() as u64,
        });
    }
    Ok(dims)
}

/// Reads an IDX image file (`0x00000803`), gzipped or not. The pixels stay bytes, in the
/// buffer the file was read into.
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<IdxImages> {
    let path = path.as_ref();
    let mut bytes = read_maybe_gzipped(path)?;
    let dims = parse_header(path, &bytes, IDX_IMAGES_MAGIC, 3, "IDX u8 images")?;
    bytes.drain(..16);
    Ok(IdxImages {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels: bytes,
    })
}

/// Reads an IDX label file (`0x00000801`), gzipped or not.
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let mut bytes = read_maybe_gzipped(path)?;
    parse_header(path, &bytes, IDX_LABELS_MAGIC, 1, "IDX u8 labels")?;
    bytes.drain(..8);
    Ok(bytes)
}

/// Reads an image file and its label file as one digit data set (classes `"0"`..`"9"`) of
/// `[1, rows, cols]` images kept as bytes.
pub fn load_idx_pair(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Dataset> {
    let (images_path, labels_path) = (images.as_ref(), labels.as_ref());
    let images = read_idx_images(images_path)?;
    let labels = read_idx_labels(labels_path)?;
    if labels.len() != images.count {
        return Err(DataError::CountMismatch {
            what: "IDX images and labels",
            left_path: images_path.to_path_buf(),
            left: images.count,
            right_path: labels_path.to_path_buf(),
            right: labels.len(),
        });
    }
    if let Some((index, &label)) = labels.iter().enumerate().find(|(_, &l)| l > 9) {
        return Err(DataError::DigitLabelTooLarge {
            path: labels_path.to_path_buf(),
            index,
            label,
        });
    }
    Dataset::from_bytes(
        images.pixels,
        [1, images.rows, images.cols],
        Targets::Classes {
            labels: labels.into_iter().map(usize::from).collect(),
            class_names: (0..10).map(|d| d.to_string()).collect(),
        },
    )
}

/// Standard MNIST file names, without the optional `.gz`.
pub const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Finds `name` or `name.gz` in `dir`.
fn find_mnist_file(dir: &Path, name: &str) -> Result<PathBuf> {
    let tried = [name.to_string(), format!("{name}.gz")];
    tried
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| DataError::MissingFile {
            dir: dir.to_path_buf(),
            name: name.to_string(),
            tried: tried.to_vec(),
        })
}

/// True when `dir` holds the four MNIST files (plain or gzipped).
pub fn is_mnist_dir(dir: impl AsRef<Path>) -> bool {
    MNIST_FILES
        .iter()
        .all(|n| find_mnist_file(dir.as_ref(), n).is_ok())
}

/// Opens a directory holding the four standard MNIST (or Fashion-MNIST) files as
/// `(train, test)` data sets. The two halves are decoded in parallel.
pub fn load_mnist_dir(dir: impl AsRef<Path>) -> Result<(Dataset, Dataset)> {
    let dir = dir.as_ref();
    let paths = MNIST_FILES
        .iter()
        .map(|n| find_mnist_file(dir, n))
        .collect::<Result<Vec<_>>>()?;
    let (train, test) = std::thread::scope(|s| {
        let test = s.spawn(|| load_idx_pair(&paths[2], &paths[3]));
        let train = load_idx_pair(&paths[0], &paths[1]);
        let test = test.join().unwrap_or_else(|_| {
            Err(DataError::InvalidArgument(
                "the test-set reader thread panicked".into(),
            ))
        });
        (train, test)
    });
    Ok((train?, test?))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::test_util::{shared_data, TempDir};
    use flate2::write::GzEncoder;
    use std::io::Write;

    pub(crate) fn idx_bytes(magic: u32, dims: &[u32], body: &[u8]) -> Vec<u8> {
        let mut v = magic.to_be_bytes().to_vec();
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(body);
        v
    }

    pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    /// Three 2×2 images whose pixels are 0, 51, ..., and labels 7, 0, 9.
    pub(crate) fn write_tiny_pair(dir: &Path, prefix: &str, gz: bool) -> (PathBuf, PathBuf) {
        let pixels: Vec<u8> = (0..12).map(|i| (i * 51 % 256) as u8).collect();
        let images = idx_bytes(IDX_IMAGES_MAGIC, &[3, 2, 2], &pixels);
        let labels = idx_bytes(IDX_LABELS_MAGIC, &[3], &[7, 0, 9]);
        let (images, labels, ext) = if gz {
            (gzip(&images), gzip(&labels), ".gz")
        } else {
            (images, labels, "")
        };
        let paths = (
            dir.join(format!("{prefix}-images-idx3-ubyte{ext}")),
            dir.join(format!("{prefix}-labels-idx1-ubyte{ext}")),
        );
        std::fs::write(&paths.0, images).unwrap();
        std::fs::write(&paths.1, labels).unwrap();
        paths
    }

    #[test]
    fn plain_and_gzipped_files_read_the_same() {
        let dir = TempDir::new("idx_pair");
        let (pi, pl) = write_tiny_pair(dir.path(), "plain", false);
        let (gi, gl) = write_tiny_pair(dir.path(), "gz", true);
        let plain = load_idx_pair(&pi, &pl).unwrap();
        let gz = load_idx_pair(&gi, &gl).unwrap();
        assert_eq!(plain, gz);
        assert_eq!((plain.len(), plain.n_features()), (3, 4));
        assert_eq!(plain.image_shape(), Some([1, 2, 2]));
        assert!(plain.is_bytes());
        assert_eq!(
            plain.row(1).unwrap(),
            &[204.0 / 255.0, 1.0, 50.0 / 255.0, 101.0 / 255.0]
        );
        let Targets::Classes { labels, .. } = plain.targets() else {
            panic!()
        };
        assert_eq!(labels, &[7, 0, 9]);
        assert_eq!(plain.n_classes(), Some(10));
        assert_eq!(read_idx_images(&gi).unwrap().rows, 2);
    }

    #[test]
    fn wrong_magic_names_found_and_expected() {
        let dir = TempDir::new("idx_magic");
        let (images, labels) = write_tiny_pair(dir.path(), "m", false);
        // Swapped files: labels read as images.
        let err = read_idx_images(&labels).unwrap_err();
        assert!(matches!(
            err,
            DataError::BadMagic {
                found: 0x801,
                expected: 0x803,
                ..
            }
        ));
        assert!(err
            .to_string()
            .contains("0x00000801 found, 0x00000803 expected"));
        assert!(matches!(
            read_idx_labels(&images),
            Err(DataError::BadMagic { found: 0x803, .. })
        ));
    }

    #[test]
    fn truncated_and_padded_files_report_sizes() {
        let dir = TempDir::new("idx_size");
        let full = idx_bytes(IDX_IMAGES_MAGIC, &[2, 3, 3], &[0; 18]);
        let cut = dir.write("cut", &full[..30]);
        let err = read_idx_images(&cut).unwrap_err();
        assert!(matches!(
            err,
            DataError::SizeMismatch {
                expected: 34,
                actual: 30,
                ..
            }
        ));
        assert!(err.to_string().contains("truncated"), "{err}");
        let cut_gz = dir.write("cut.gz", gzip(&full[..30]));
        assert!(matches!(
            read_idx_images(&cut_gz),
            Err(DataError::SizeMismatch { actual: 30, .. })
        ));
        let header = dir.write("header", &full[..10]);
        assert!(matches!(
            read_idx_images(&header),
            Err(DataError::SizeMismatch {
                expected: 16,
                actual: 10,
                ..
            })
        ));
        let mut long = full.clone();
        long.push(0);
        let long = dir.write("long", long);
        assert!(read_idx_images(&long)
            .unwrap_err()
            .to_string()
            .contains("trailing"));
        let tiny = dir.write("tiny", [0u8, 0]);
        assert!(read_idx_labels(&tiny).is_err());
        let corrupt = dir.write("bad.gz", [0x1f, 0x8b, 1, 2, 3, 4]);
        assert!(matches!(
            read_idx_labels(&corrupt),
            Err(DataError::Io { .. })
        ));
    }

    #[test]
    fn label_problems_are_errors() {
        let dir = TempDir::new("idx_labels");
        let (images, _) = write_tiny_pair(dir.path(), "x", false);
        let two = dir.write("two", idx_bytes(IDX_LABELS_MAGIC, &[2], &[1, 2]));
        assert!(matches!(
            load_idx_pair(&images, &two),
            Err(DataError::CountMismatch {
                left: 3,
                right: 2,
                ..
            })
        ));
        let big = dir.write("big", idx_bytes(IDX_LABELS_MAGIC, &[3], &[1, 10, 2]));
        assert!(matches!(
            load_idx_pair(&images, &big),
            Err(DataError::DigitLabelTooLarge {
                index: 1,
                label: 10,
                ..
            })
        ));
    }

    #[test]
    fn mnist_layout_dir_loads_and_missing_file_is_named() {
        let dir = TempDir::new("idx_dir");
        write_tiny_pair(dir.path(), "train", true);
        write_tiny_pair(dir.path(), "t10k", false);
        assert!(is_mnist_dir(dir.path()));
        let (train, test) = load_mnist_dir(dir.path()).unwrap();
        assert_eq!((train.len(), test.len()), (3, 3));
        std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
        assert!(!is_mnist_dir(dir.path()));
        let err = load_mnist_dir(dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .contains("t10k-labels-idx1-ubyte, t10k-labels-idx1-ubyte.gz"),
            "{err}"
        );
    }

    #[test]
    fn real_mnist_has_60000_and_10000_images() {
        let Some(dir) = shared_data() else { return };
        let start = std::time::Instant::now();
        let (train, test) = load_mnist_dir(dir.join("mnist")).unwrap();
        println!("MNIST loaded in {:?}", start.elapsed());
        assert_eq!((train.len(), test.len()), (60_000, 10_000));
        assert_eq!((train.n_features(), test.n_features()), (784, 784));
        assert_eq!(train.image_shape(), Some([1, 28, 28]));
        for d in [&train, &test] {
            let mut px = vec![0.0; 100 * 784];
            d.write_features(&(0..100).collect::<Vec<_>>(), &mut px);
            assert!(px.iter().all(|v| (0.0..=1.0).contains(v)));
            assert!(px.contains(&1.0) && px.contains(&0.0));
            let Targets::Classes { labels, .. } = d.targets() else {
                panic!()
            };
            let mut counts = [0usize; 10];
            labels.iter().for_each(|&l| counts[l] += 1);
            assert!(counts.iter().all(|&c| c > d.len() / 20), "{counts:?}");
        }
    }
}
