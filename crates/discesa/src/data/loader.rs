//! One entry point for every supported input: picks the reader from the path.

use super::csv_reader::{read_csv, CsvOptions};
use super::dataset::{Dataset, Task};
use super::error::{DataError, Result};
use super::idx::{is_mnist_dir, load_mnist_dir, MNIST_FILES};
use super::npy::read_npy;
use super::npy_dataset::from_npy_arrays;
use super::schema::{CsvReport, CsvSchema};
use std::path::{Path, PathBuf};

/// Caller choices for [`load`]; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// CSV target column (default: the last column).
    pub target: Option<String>,
    /// Task (default: inferred from the target's type).
    pub task: Option<Task>,
    /// Declared class count for integer labels.
    pub n_classes: Option<usize>,
    /// Labels `.npy` file when `path` is a features `.npy` file.
    pub labels: Option<PathBuf>,
    /// CSV delimiter (default: `,` for `.csv`, tab for `.tsv`).
    pub delimiter: Option<u8>,
}

/// Which reader produced a [`LoadedData`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// A CSV or TSV file with a header.
    Csv,
    /// A directory of the four MNIST IDX files.
    Mnist,
    /// A features `.npy` file plus a labels `.npy` file.
    Npy,
}

/// The result of [`load`].
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedData {
    /// Data to train on (split it further for validation).
    pub train: Dataset,
    /// The format's own held-out test set, when it has one (MNIST).
    pub test: Option<Dataset>,
    /// Reader used.
    pub format: DataFormat,
    /// Rows read and dropped (CSV only).
    pub csv_report: Option<CsvReport>,
    /// Encoding to reuse on evaluation or prediction files (CSV only).
    pub csv_schema: Option<CsvSchema>,
}

const SUPPORTED: &str = "supported inputs: a .csv or .tsv file with a header, a .npy features \
     file with a labels .npy file, a directory holding the four MNIST files, or a directory \
     holding x.npy and y.npy";

/// Loads `path`: a `.csv`/`.tsv` file, a `.npy` features file (labels from
/// [`LoadOptions::labels`]), an MNIST directory (train plus its test split), or a directory
/// holding `x.npy` and `y.npy`.
pub fn load(path: impl AsRef<Path>, options: &LoadOptions) -> Result<LoadedData> {
    let path = path.as_ref();
    let metadata = std::fs::metadata(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if metadata.is_dir() {
        if is_mnist_dir(path) {
            return load_mnist(path, options);
        }
        let x = ["x.npy", "X.npy"]
            .map(|n| path.join(n))
            .into_iter()
            .find(|p| p.is_file());
        let y = ["y.npy", "Y.npy"]
            .map(|n| path.join(n))
            .into_iter()
            .find(|p| p.is_file());
        if let (Some(x), Some(y)) = (x, y) {
            return load_npy(&x, &y, options);
        }
        return Err(DataError::UnsupportedFormat {
            path: path.to_path_buf(),
            message: format!(
                "directory holds neither the MNIST files ({}, each optionally .gz) nor x.npy and y.npy; {SUPPORTED}",
                MNIST_FILES.join(", ")
            ),
        });
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" | "tsv" => {
            let csv = read_csv(
                path,
                &CsvOptions {
                    target: options.target.clone(),
                    task: options.task,
                    n_classes: options.n_classes,
                    delimiter: options
                        .delimiter
                        .unwrap_or(if ext == "tsv" { b'\t' } else { b',' }),
                },
            )?;
            Ok(LoadedData {
                train: csv.dataset,
                test: None,
                format: DataFormat::Csv,
                csv_report: Some(csv.report),
                csv_schema: Some(csv.schema),
            })
        }
        "npy" => {
            let labels = options
                .labels
                .as_deref()
                .ok_or_else(|| DataError::UnsupportedFormat {
                    path: path.to_path_buf(),
                    message: "a .npy features file needs a labels .npy file (LoadOptions::labels)"
                        .into(),
                })?;
            load_npy(path, labels, options)
        }
        _ => Err(DataError::UnsupportedFormat {
            path: path.to_path_buf(),
            message: format!("unknown file type; {SUPPORTED}"),
        }),
    }
}

fn load_mnist(path: &Path, options: &LoadOptions) -> Result<LoadedData> {
    if options.task == Some(Task::Regression) {
        return Err(DataError::InvalidArgument(format!(
            "{} is an MNIST digit directory, which is a classification task",
            path.display()
        )));
    }
    if options.n_classes.is_some_and(|n| n != 10) {
        return Err(DataError::InvalidArgument(format!(
            "{} holds 10 digit classes, not {}",
            path.display(),
            options.n_classes.unwrap_or_default()
        )));
    }
    let (train, test) = load_mnist_dir(path)?;
    Ok(LoadedData {
        train,
        test: Some(test),
        format: DataFormat::Mnist,
        csv_report: None,
        csv_schema: None,
    })
}

fn load_npy(x_path: &Path, y_path: &Path, options: &LoadOptions) -> Result<LoadedData> {
    let x = read_npy(x_path)?;
    let y = read_npy(y_path)?;
    // Integer labels mean classes unless the caller says otherwise.
    let task = options
        .task
        .unwrap_or(if y.dtype.is_integer() || options.n_classes.is_some() {
            Task::Classification
        } else {
            Task::Regression
        });
    let train = from_npy_arrays(x_path, x, y_path, y, task, options.n_classes)?;
    Ok(LoadedData {
        train,
        test: None,
        format: DataFormat::Npy,
        csv_report: None,
        csv_schema: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::tests::write_tiny_pair;
    use crate::data::test_util::{shared_data, TempDir};
    use crate::data::{write_npy_f32, write_npy_f64, Targets};

    #[test]
    fn picks_reader_by_extension_and_directory() {
        let dir = TempDir::new("load");
        let csv = dir.write("a.CSV", "x,y\n1,p\n2,q\n");
        let got = load(&csv, &LoadOptions::default()).unwrap();
        assert_eq!(got.format, DataFormat::Csv);
        assert_eq!(got.train.n_classes(), Some(2));
        assert_eq!(got.csv_report.unwrap().rows_kept, 2);
        assert!(got.csv_schema.is_some() && got.test.is_none());

        let tsv = dir.write("a.tsv", "x\ty\n1\t0.5\n2\t1.5\n");
        let got = load(&tsv, &LoadOptions::default()).unwrap();
        assert_eq!(got.train.targets(), &Targets::Values(vec![0.5, 1.5]));

        let npy_dir = dir.path().join("arrays");
        std::fs::create_dir(&npy_dir).unwrap();
        write_npy_f32(npy_dir.join("x.npy"), &[2, 3], &[0.0; 6]).unwrap();
        write_npy_f64(npy_dir.join("y.npy"), &[2], &[0.25, 0.5]).unwrap();
        let got = load(&npy_dir, &LoadOptions::default()).unwrap();
        assert_eq!(
            (got.format, got.train.task()),
            (DataFormat::Npy, Task::Regression)
        );
        let opts = LoadOptions {
            labels: Some(npy_dir.join("y.npy")),
            ..LoadOptions::default()
        };
        let got = load(npy_dir.join("x.npy"), &opts).unwrap();
        assert_eq!(got.train.n_features(), 3);
        assert!(load(npy_dir.join("x.npy"), &LoadOptions::default())
            .unwrap_err()
            .to_string()
            .contains("labels"));

        let mnist = dir.path().join("mnist");
        std::fs::create_dir(&mnist).unwrap();
        write_tiny_pair(&mnist, "train", true);
        write_tiny_pair(&mnist, "t10k", true);
        let got = load(&mnist, &LoadOptions::default()).unwrap();
        assert_eq!(got.format, DataFormat::Mnist);
        assert_eq!(got.test.map(|t| t.len()), Some(3));
        let reg = LoadOptions {
            task: Some(Task::Regression),
            ..LoadOptions::default()
        };
        assert!(load(&mnist, &reg).is_err());

        let other = dir.write("a.parquet", "x");
        assert!(matches!(
            load(&other, &LoadOptions::default()),
            Err(DataError::UnsupportedFormat { .. })
        ));
        let empty_dir = dir.path().join("empty");
        std::fs::create_dir(&empty_dir).unwrap();
        assert!(load(&empty_dir, &LoadOptions::default())
            .unwrap_err()
            .to_string()
            .contains("train-images-idx3-ubyte"));
        assert!(matches!(
            load(dir.path().join("missing.csv"), &LoadOptions::default()),
            Err(DataError::Io { .. })
        ));
    }

    #[test]
    fn real_files_through_the_front_door() {
        let Some(dir) = shared_data() else { return };
        let iris = load(dir.join("iris.csv"), &LoadOptions::default()).unwrap();
        assert_eq!((iris.train.len(), iris.train.n_classes()), (150, Some(3)));
        let mnist = load(dir.join("mnist"), &LoadOptions::default()).unwrap();
        assert_eq!(mnist.train.len(), 60_000);
        assert_eq!(mnist.test.map(|t| t.len()), Some(10_000));
    }
}
