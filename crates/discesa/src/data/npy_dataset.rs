//! A [`Dataset`] from a features `.npy` file and a labels `.npy` file, as saved from NumPy.

use super::dataset::{Dataset, Targets, Task};
use super::error::{DataError, Result};
use super::features::Store;
use super::npy::{read_npy, NpyArray, NpyData};
use std::path::Path;

impl Dataset {
    /// Reads features `x` (shape `(n, ...)`, trailing dimensions flattened into features; rank 4
    /// `(n, c, h, w)` is kept as images, `u1` values stay bytes scaled to `[0, 1]`) and targets
    /// `y` (shape `(n,)` or `(n, 1)`). For classification, `y` must hold non-negative
    /// integers; the class count is `max(y) + 1`.
    pub fn from_npy(
        x_path: impl AsRef<Path>,
        y_path: impl AsRef<Path>,
        task: Task,
    ) -> Result<Dataset> {
        let (x_path, y_path) = (x_path.as_ref(), y_path.as_ref());
        from_npy_arrays(
            x_path,
            read_npy(x_path)?,
            y_path,
            read_npy(y_path)?,
            task,
            None,
        )
    }
}

/// Builds the data set from arrays already read; `n_classes` optionally declares the class count.
pub(crate) fn from_npy_arrays(
    x_path: &Path,
    x: NpyArray,
    y_path: &Path,
    y: NpyArray,
    task: Task,
    n_classes: Option<usize>,
) -> Result<Dataset> {
    let bad = |path: &Path, message: String| DataError::Format {
        path: path.to_path_buf(),
        message,
    };
    let Some(&n) = x.shape.first() else {
        return Err(bad(
            x_path,
            "features must have at least one dimension (samples)".into(),
        ));
    };
    let width: usize = x.shape[1..].iter().product();
    let y_ok = match y.shape.as_slice() {
        [m] | [m, 1] => *m == n,
        _ => false,
    };
    if !y_ok {
        if let [m] | [m, 1] = y.shape.as_slice() {
            return Err(DataError::CountMismatch {
                what: "features and targets",
                left_path: x_path.to_path_buf(),
                left: n,
                right_path: y_path.to_path_buf(),
                right: *m,
            });
        }
        return Err(bad(
            y_path,
            format!(
                "targets must have shape (n,) or (n, 1), found {:?}",
                y.shape
            ),
        ));
    }
    let image_shape = match x.shape.as_slice() {
        [_, c, h, w] => Some([*c, *h, *w]),
        _ => None,
    };
    let features = match x.data {
        NpyData::U8(bytes) => Store::U8(bytes),
        data => {
            let values = NpyArray { data, ..x }.into_f32();
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(bad(
                    x_path,
                    format!(
                        "value at row {}, column {} is not finite",
                        i / width.max(1),
                        i % width.max(1)
                    ),
                ));
            }
            Store::F32(values)
        }
    };
    let targets = match task {
        Task::Regression => {
            if n_classes.is_some() {
                return Err(DataError::InvalidArgument(
                    "a class count was declared for a regression task".into(),
                ));
            }
            let values = y.into_f32();
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(bad(y_path, format!("target {i} is not finite")));
            }
            Targets::Values(values)
        }
        Task::Classification => {
            let mut labels = Vec::with_capacity(n);
            for (i, v) in y.into_f64().into_iter().enumerate() {
                if v < 0.0 || v.fract() != 0.0 || !v.is_finite() {
                    return Err(bad(
                        y_path,
                        format!("class label {v} at index {i} is not a non-negative integer"),
                    ));
                }
                if let Some(k) = n_classes {
                    if v >= k as f64 {
                        return Err(DataError::LabelOutOfRange {
                            path: y_path.to_path_buf(),
                            line: i as u64 + 1,
                            label: v as i64,
                            n_classes: k,
                        });
                    }
                }
                labels.push(v as usize);
            }
            let count = n_classes.unwrap_or_else(|| labels.iter().max().map_or(0, |m| m + 1));
            Targets::Classes {
                labels,
                class_names: (0..count).map(|c| c.to_string()).collect(),
            }
        }
    };
    let data = Dataset::from_parts(
        features,
        (0..width).map(|j| format!("x{j}")).collect(),
        targets,
    )?;
    match image_shape {
        Some(shape) => data.with_image_shape(shape),
        None => Ok(data),
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::npy::tests::raw_npy;
    use crate::data::test_util::TempDir;
    use crate::data::{write_npy_f32, write_npy_f64};

    #[test]
    fn images_flatten_and_integer_labels_become_classes() {
        let dir = TempDir::new("npy_ds");
        let x = dir.path().join("x.npy");
        let pixels: Vec<f32> = (0..12).map(|i| i as f32).collect();
        write_npy_f32(&x, &[3, 2, 2], &pixels).unwrap();
        let body: Vec<u8> = [2i64, 0, 4].iter().flat_map(|v| v.to_le_bytes()).collect();
        let y = dir.write(
            "y.npy",
            raw_npy(
                1,
                "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                &body,
            ),
        );
        let d = Dataset::from_npy(&x, &y, Task::Classification).unwrap();
        assert_eq!((d.len(), d.n_features(), d.n_classes()), (3, 4, Some(5)));
        assert_eq!(d.row(2).unwrap(), &[8.0, 9.0, 10.0, 11.0]);
        let r = Dataset::from_npy(&x, &y, Task::Regression).unwrap();
        assert_eq!(r.targets(), &Targets::Values(vec![2.0, 0.0, 4.0]));
        let err = from_npy_arrays(
            &x,
            read_npy(&x).unwrap(),
            &y,
            read_npy(&y).unwrap(),
            Task::Classification,
            Some(3),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            DataError::LabelOutOfRange {
                label: 4,
                line: 3,
                ..
            }
        ));
    }

    #[test]
    fn rank_four_bytes_stay_bytes_as_images() {
        let dir = TempDir::new("npy_img");
        let pixels: Vec<u8> = (0..24).map(|i| (i * 10) as u8).collect();
        let header = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 2, 2), }";
        let x = dir.write("x.npy", raw_npy(1, header, &pixels));
        let y = dir.path().join("y.npy");
        write_npy_f64(&y, &[2], &[1.0, 0.0]).unwrap();
        let d = Dataset::from_npy(&x, &y, Task::Classification).unwrap();
        assert_eq!(d.image_shape(), Some([3, 2, 2]));
        assert!(d.is_bytes());
        assert_eq!(d.n_features(), 12);
        let want: Vec<f32> = (12..24).map(|i| (i * 10) as f32 / 255.0).collect();
        assert_eq!(d.row(1).unwrap(), want);
        // Float arrays of rank 4 are images too; rank 2 is a plain feature matrix.
        let xf = dir.path().join("xf.npy");
        write_npy_f32(&xf, &[2, 1, 2, 3], &[0.5; 12]).unwrap();
        let f = Dataset::from_npy(&xf, &y, Task::Classification).unwrap();
        assert_eq!((f.image_shape(), f.is_bytes()), (Some([1, 2, 3]), false));
        let x2 = dir.write(
            "x2.npy",
            raw_npy(
                1,
                "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 12), }",
                &pixels,
            ),
        );
        let flat = Dataset::from_npy(&x2, &y, Task::Classification).unwrap();
        assert_eq!((flat.image_shape(), flat.is_bytes()), (None, true));
        assert_eq!(flat.features(), d.features());
    }

    #[test]
    fn mismatches_and_bad_labels_are_errors() {
        let dir = TempDir::new("npy_ds_bad");
        let x = dir.path().join("x.npy");
        write_npy_f32(&x, &[3, 1], &[1.0, 2.0, 3.0]).unwrap();
        let short = dir.path().join("short.npy");
        write_npy_f64(&short, &[2], &[0.0, 1.0]).unwrap();
        assert!(matches!(
            Dataset::from_npy(&x, &short, Task::Regression),
            Err(DataError::CountMismatch {
                left: 3,
                right: 2,
                ..
            })
        ));
        let wide = dir.path().join("wide.npy");
        write_npy_f64(&wide, &[3, 2], &[0.0; 6]).unwrap();
        assert!(Dataset::from_npy(&x, &wide, Task::Regression)
            .unwrap_err()
            .to_string()
            .contains("(n,) or (n, 1)"));
        let frac = dir.path().join("frac.npy");
        write_npy_f64(&frac, &[3, 1], &[0.0, 1.5, 1.0]).unwrap();
        assert!(Dataset::from_npy(&x, &frac, Task::Classification)
            .unwrap_err()
            .to_string()
            .contains("1.5 at index 1"));
        assert!(Dataset::from_npy(&x, &frac, Task::Regression).is_ok());
        let nan_x = dir.path().join("nan.npy");
        write_npy_f32(&nan_x, &[3, 1], &[1.0, f32::NAN, 3.0]).unwrap();
        assert!(Dataset::from_npy(&nan_x, &frac, Task::Regression)
            .unwrap_err()
            .to_string()
            .contains("row 1, column 0"));
    }
}
