//! The encoding of a CSV file into numbers: column kinds, one-hot categories, target classes.
//!
//! A [`CsvSchema`] is built once from the training file and saved with the model, so files seen at
//! evaluation or prediction time are encoded exactly the same way (same feature order, same
//! one-hot columns, same class indices), and anything the model never saw is reported instead of
//! silently mis-encoded.

use super::csv_table::{closest_name, is_missing, parse_number, RawTable};
use super::dataset::{Dataset, Targets, Task};
use super::error::{DataError, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How many dropped line numbers a [`CsvReport`] keeps as examples.
pub const DROPPED_LINES_SAMPLE: usize = 10;

/// How one input column becomes features.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnKind {
    /// One feature holding the number.
    Numeric,
    /// One-hot features `name=category`, one per category, categories sorted.
    Categorical {
        /// Sorted category values seen in training.
        categories: Vec<String>,
    },
}

/// One input (non-target) column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSpec {
    /// Header name.
    pub name: String,
    /// Encoding.
    pub kind: ColumnKind,
}

/// How the target column becomes labels or values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetKind {
    /// Text labels; class index = position in the sorted `class_names`.
    TextClasses {
        /// Sorted class names.
        class_names: Vec<String>,
    },
    /// Integer labels. With `declared`, `values` is `0..n` and a label is its own index;
    /// otherwise `values` are the sorted distinct labels of the training file.
    IntegerClasses {
        /// Sorted label values; the class index is the position here.
        values: Vec<i64>,
        /// True when the class count was given by the caller rather than read from data.
        declared: bool,
    },
    /// Regression values.
    Values,
}

/// The target column and its encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSpec {
    /// Header name.
    pub name: String,
    /// Encoding.
    pub kind: TargetKind,
}

/// Everything needed to encode another CSV file the same way as the training file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvSchema {
    /// Input columns in training-file order (the target excluded).
    pub columns: Vec<ColumnSpec>,
    /// The target column.
    pub target: TargetSpec,
    /// Field delimiter byte.
    pub delimiter: u8,
}

/// Rows read, dropped and encoded from one CSV file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsvReport {
    /// File read.
    pub path: PathBuf,
    /// Data rows in the file (header excluded).
    pub rows_read: usize,
    /// Rows encoded.
    pub rows_kept: usize,
    /// Rows skipped because a used cell was missing.
    pub rows_dropped: usize,
    /// Source lines of the first few dropped rows.
    pub dropped_lines_sample: Vec<u64>,
    /// Feature columns after one-hot encoding.
    pub n_features: usize,
    /// Input columns encoded as numbers.
    pub numeric_columns: Vec<String>,
    /// Input columns one-hot encoded, with their category counts.
    pub categorical_columns: Vec<(String, usize)>,
    /// Target column, if it was present.
    pub target: Option<String>,
    /// Task of the target, if it was present.
    pub task: Option<Task>,
}

impl std::fmt::Display for CsvReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} rows read, {} kept, {} dropped for missing values",
            self.path.display(),
            self.rows_read,
            self.rows_kept,
            self.rows_dropped
        )?;
        if !self.dropped_lines_sample.is_empty() {
            let lines: Vec<String> = self
                .dropped_lines_sample
                .iter()
                .map(u64::to_string)
                .collect();
            let more = if self.rows_dropped > lines.len() {
                ", ..."
            } else {
                ""
            };
            write!(f, " (lines {}{more})", lines.join(", "))?;
        }
        write!(
            f,
            "; {} features from {} numeric and {} one-hot columns",
            self.n_features,
            self.numeric_columns.len(),
            self.categorical_columns.len()
        )?;
        if let (Some(t), Some(task)) = (&self.target, self.task) {
            write!(f, "; target '{t}' ({task})")?;
        }
        Ok(())
    }
}

/// A CSV file encoded with a schema. `targets` is `None` when the file has no target column
/// (prediction input).
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedCsv {
    /// Row-major features, `rows_kept × feature_names.len()`.
    pub features: Vec<f32>,
    /// Feature names in schema order.
    pub feature_names: Vec<String>,
    /// Targets, when the target column was present.
    pub targets: Option<Targets>,
    /// Source line of every kept row, to map predictions back to the input file.
    pub lines: Vec<u64>,
    /// What was read and dropped.
    pub report: CsvReport,
}

impl EncodedCsv {
    /// Turns the encoded file into a [`Dataset`]; fails if there was no target column.
    pub fn into_dataset(self) -> Result<Dataset> {
        let targets = self.targets.ok_or_else(|| DataError::MissingColumn {
            path: self.report.path.clone(),
            column: self.report.target.clone().unwrap_or_default(),
        })?;
        Dataset::new(self.features, self.feature_names, targets)
    }
}

impl CsvSchema {
    /// Names of the encoded features, in order.
    pub fn feature_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for col in &self.columns {
            match &col.kind {
                ColumnKind::Numeric => names.push(col.name.clone()),
                ColumnKind::Categorical { categories } => {
                    names.extend(categories.iter().map(|c| format!("{}={c}", col.name)));
                }
            }
        }
        names
    }

    /// Width of an encoded row.
    pub fn n_features(&self) -> usize {
        self.columns
            .iter()
            .map(|c| match &c.kind {
                ColumnKind::Numeric => 1,
                ColumnKind::Categorical { categories } => categories.len(),
            })
            .sum()
    }

    /// Classification or regression.
    pub fn task(&self) -> Task {
        match self.target.kind {
            TargetKind::Values => Task::Regression,
            _ => Task::Classification,
        }
    }

    /// Class names in label order, or `None` for regression.
    pub fn class_names(&self) -> Option<Vec<String>> {
        match &self.target.kind {
            TargetKind::TextClasses { class_names } => Some(class_names.clone()),
            TargetKind::IntegerClasses { values, .. } => {
                Some(values.iter().map(i64::to_string).collect())
            }
            TargetKind::Values => None,
        }
    }

    /// Reads and encodes another CSV file with this schema. The target column may be absent
    /// (prediction input); columns or categories not seen in training are errors.
    pub fn encode(&self, path: impl AsRef<Path>) -> Result<EncodedCsv> {
        let table = RawTable::read(path.as_ref(), self.delimiter)?;
        self.encode_table(&table, false)
    }

    /// Encodes an already-read table; `require_target` makes a missing target column an error.
    pub(crate) fn encode_table(
        &self,
        table: &RawTable,
        require_target: bool,
    ) -> Result<EncodedCsv> {
        let plan = self.plan(table, require_target)?;
        let n_features = self.n_features();
        let mut features = Vec::with_capacity(table.rows.len() * n_features);
        let mut labels = Vec::new();
        let mut values = Vec::new();
        let mut lines = Vec::with_capacity(table.rows.len());
        let mut dropped = 0;
        let mut dropped_lines_sample = Vec::new();
        for (row, &line) in table.rows.iter().zip(&table.lines) {
            // Typos in numeric columns are errors even on rows dropped for a missing value.
            for col in &plan.columns {
                if col.categories.is_none() {
                    self.check_numeric(table, line, col.position, &row[col.position])?;
                }
            }
            if let Some(t) = plan.target {
                if !matches!(self.target.kind, TargetKind::TextClasses { .. }) {
                    self.check_numeric(table, line, t, &row[t])?;
                }
            }
            let any_missing = plan.columns.iter().any(|c| is_missing(&row[c.position]))
                || plan.target.is_some_and(|t| is_missing(&row[t]));
            if any_missing {
                dropped += 1;
                if dropped_lines_sample.len() < DROPPED_LINES_SAMPLE {
                    dropped_lines_sample.push(line);
                }
                continue;
            }
            let base = features.len();
            features.resize(base + n_features, 0.0);
            let out = &mut features[base..];
            for col in &plan.columns {
                let cell = &row[col.position];
                match col.categories {
                    None => out[col.offset] = parse_number(cell).unwrap_or_default() as f32,
                    Some(categories) => {
                        let k = categories
                            .binary_search_by(|c| c.as_str().cmp(cell))
                            .map_err(|_| DataError::UnseenCategory {
                                path: table.path.clone(),
                                line,
                                column: table.headers[col.position].clone(),
                                value: cell.to_string(),
                                known: categories.to_vec(),
                            })?;
                        out[col.offset + k] = 1.0;
                    }
                }
            }
            if let Some(t) = plan.target {
                match &self.target.kind {
                    TargetKind::Values => {
                        values.push(parse_number(&row[t]).unwrap_or_default() as f32)
                    }
                    kind => labels.push(self.encode_label(table, line, kind, &row[t])?),
                }
            }
            lines.push(line);
        }
        if lines.is_empty() {
            return Err(DataError::AllRowsDropped {
                path: table.path.clone(),
                rows_read: table.rows.len(),
            });
        }
        let targets = plan.target.map(|_| match self.class_names() {
            Some(class_names) => Targets::Classes {
                labels: std::mem::take(&mut labels),
                class_names,
            },
            None => Targets::Values(std::mem::take(&mut values)),
        });
        let report = CsvReport {
            path: table.path.clone(),
            rows_read: table.rows.len(),
            rows_kept: lines.len(),
            rows_dropped: dropped,
            dropped_lines_sample,
            n_features,
            numeric_columns: self
                .columns
                .iter()
                .filter(|c| c.kind == ColumnKind::Numeric)
                .map(|c| c.name.clone())
                .collect(),
            categorical_columns: self
                .columns
                .iter()
                .filter_map(|c| match &c.kind {
                    ColumnKind::Categorical { categories } => {
                        Some((c.name.clone(), categories.len()))
                    }
                    ColumnKind::Numeric => None,
                })
                .collect(),
            target: plan.target.map(|_| self.target.name.clone()),
            task: plan.target.map(|_| self.task()),
        };
        Ok(EncodedCsv {
            features,
            feature_names: self.feature_names(),
            targets,
            lines,
            report,
        })
    }

    /// Matches the file's header against the schema.
    fn plan<'s>(&'s self, table: &RawTable, require_target: bool) -> Result<Plan<'s>> {
        let known: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
        for header in &table.headers {
            if header != &self.target.name && !known.contains(header) {
                return Err(DataError::UnseenColumn {
                    path: table.path.clone(),
                    column: header.clone(),
                    known,
                });
            }
        }
        let mut columns = Vec::with_capacity(self.columns.len());
        let mut offset = 0;
        for spec in &self.columns {
            let position = table
                .column(&spec.name)
                .ok_or_else(|| DataError::MissingColumn {
                    path: table.path.clone(),
                    column: spec.name.clone(),
                })?;
            let categories = match &spec.kind {
                ColumnKind::Numeric => None,
                ColumnKind::Categorical { categories } => Some(categories.as_slice()),
            };
            columns.push(PlannedColumn {
                position,
                offset,
                categories,
            });
            offset += categories.map_or(1, <[String]>::len);
        }
        let target = table.column(&self.target.name);
        if require_target && target.is_none() {
            return Err(DataError::MissingTarget {
                path: table.path.clone(),
                name: self.target.name.clone(),
                suggestion: closest_name(&self.target.name, &table.headers).map(str::to_string),
                available: table.headers.clone(),
            });
        }
        Ok(Plan { columns, target })
    }

    fn check_numeric(
        &self,
        table: &RawTable,
        line: u64,
        position: usize,
        cell: &str,
    ) -> Result<()> {
        if is_missing(cell) || parse_number(cell).is_some() {
            return Ok(());
        }
        Err(DataError::NonNumericCell {
            path: table.path.clone(),
            line,
            column: table.headers[position].clone(),
            column_number: position + 1,
            value: cell.to_string(),
        })
    }

    fn encode_label(
        &self,
        table: &RawTable,
        line: u64,
        kind: &TargetKind,
        cell: &str,
    ) -> Result<usize> {
        let unseen = |known: Vec<String>| DataError::UnseenCategory {
            path: table.path.clone(),
            line,
            column: self.target.name.clone(),
            value: cell.to_string(),
            known,
        };
        match kind {
            TargetKind::TextClasses { class_names } => class_names
                .binary_search_by(|c| c.as_str().cmp(cell))
                .map_err(|_| unseen(class_names.clone())),
            TargetKind::IntegerClasses { values, declared } => {
                let label = integer_label(&table.path, line, &self.target.name, cell)?;
                if *declared {
                    if (0..values.len() as i64).contains(&label) {
                        Ok(label as usize)
                    } else {
                        Err(DataError::LabelOutOfRange {
                            path: table.path.clone(),
                            line,
                            label,
                            n_classes: values.len(),
                        })
                    }
                } else {
                    values
                        .binary_search(&label)
                        .map_err(|_| unseen(values.iter().map(i64::to_string).collect()))
                }
            }
            TargetKind::Values => Err(DataError::InvalidArgument(
                "regression targets have no class labels".into(),
            )),
        }
    }
}

/// Parses an integer class label written as a number (`3`, `3.0`).
pub(crate) fn integer_label(path: &Path, line: u64, column: &str, cell: &str) -> Result<i64> {
    let v = parse_number(cell).ok_or_else(|| DataError::NonIntegerLabel {
        path: path.to_path_buf(),
        line,
        column: column.to_string(),
        value: cell.to_string(),
    })?;
    if v.fract() != 0.0 || v.abs() > 2f64.powi(53) {
        return Err(DataError::NonIntegerLabel {
            path: path.to_path_buf(),
            line,
            column: column.to_string(),
            value: cell.to_string(),
        });
    }
    Ok(v as i64)
}

struct PlannedColumn<'s> {
    position: usize,
    offset: usize,
    categories: Option<&'s [String]>,
}

struct Plan<'s> {
    columns: Vec<PlannedColumn<'s>>,
    target: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_util::{shared_data, TempDir};
    use crate::data::{read_csv, CsvOptions};

    const TRAIN: &str = "\
num,colour,kind
1.0,red,cat
2.0,blue,dog
3.0,red,dog
";

    fn trained(dir: &TempDir) -> CsvSchema {
        let p = dir.write("train.csv", TRAIN);
        read_csv(&p, &CsvOptions::default()).unwrap().schema
    }

    #[test]
    fn prediction_file_without_target_encodes_like_training() {
        let dir = TempDir::new("schema_pred");
        let schema = trained(&dir);
        assert_eq!(
            schema.feature_names(),
            vec!["num", "colour=blue", "colour=red"]
        );
        // Columns in a different order, no target, one row with a missing value.
        let p = dir.write("pred.csv", "colour,num\nblue,5\nred,NA\nred,-1\n");
        let enc = schema.encode(&p).unwrap();
        assert_eq!(enc.features, vec![5.0, 1.0, 0.0, -1.0, 0.0, 1.0]);
        assert_eq!(enc.targets, None);
        assert_eq!(enc.lines, vec![2, 4]);
        assert_eq!(enc.report.rows_dropped, 1);
        assert_eq!(enc.report.target, None);
        assert!(enc.into_dataset().is_err());
    }

    #[test]
    fn evaluation_file_with_target_keeps_class_indices() {
        let dir = TempDir::new("schema_eval");
        let schema = trained(&dir);
        let p = dir.write("eval.csv", "num,colour,kind\n9,red,dog\n8,blue,cat\n");
        let d = schema.encode(&p).unwrap().into_dataset().unwrap();
        assert_eq!(
            d.targets(),
            &Targets::Classes {
                labels: vec![1, 0],
                class_names: vec!["cat".into(), "dog".into()],
            }
        );
    }

    #[test]
    fn unseen_or_missing_columns_and_categories_are_errors() {
        let dir = TempDir::new("schema_err");
        let schema = trained(&dir);
        let extra = dir.write("extra.csv", "num,colour,id\n1,red,7\n");
        let err = schema.encode(&extra).unwrap_err();
        assert!(matches!(&err, DataError::UnseenColumn { column, .. } if column == "id"));
        assert!(
            err.to_string().contains("known columns: num, colour"),
            "{err}"
        );
        let missing = dir.write("missing.csv", "num\n1\n");
        assert!(matches!(
            schema.encode(&missing),
            Err(DataError::MissingColumn { column, .. }) if column == "colour"
        ));
        let green = dir.write("green.csv", "num,colour\n1,red\n2,green\n");
        let err = schema.encode(&green).unwrap_err();
        assert!(
            matches!(&err, DataError::UnseenCategory { line: 3, value, .. } if value == "green"),
            "{err}"
        );
        assert!(err.to_string().contains("known categories: blue, red"));
        let bird = dir.write("bird.csv", "num,colour,kind\n1,red,bird\n");
        assert!(matches!(
            schema.encode(&bird),
            Err(DataError::UnseenCategory { value, .. }) if value == "bird"
        ));
        let typo = dir.write("typo.csv", "num,colour\n1x,red\n");
        assert!(matches!(
            schema.encode(&typo),
            Err(DataError::NonNumericCell {
                line: 2,
                column_number: 1,
                ..
            })
        ));
    }

    #[test]
    fn integer_classes_encode_by_value() {
        let dir = TempDir::new("schema_int");
        let train = dir.write("t.csv", "x,y\n1,3\n2,7\n3,3\n");
        let schema = read_csv(&train, &CsvOptions::default().with_classification())
            .unwrap()
            .schema;
        assert_eq!(schema.class_names(), Some(vec!["3".into(), "7".into()]));
        let eval = dir.write("e.csv", "x,y\n5,7.0\n6,3\n");
        let Some(Targets::Classes { labels, .. }) = schema.encode(&eval).unwrap().targets else {
            panic!()
        };
        assert_eq!(labels, vec![1, 0]);
        let unseen = dir.write("u.csv", "x,y\n5,4\n");
        assert!(matches!(
            schema.encode(&unseen),
            Err(DataError::UnseenCategory { .. })
        ));
        let declared = read_csv(
            &train,
            &CsvOptions {
                n_classes: Some(8),
                ..CsvOptions::default()
            },
        )
        .unwrap()
        .schema;
        let out = dir.write("o.csv", "x,y\n5,8\n");
        assert!(matches!(
            declared.encode(&out),
            Err(DataError::LabelOutOfRange {
                label: 8,
                n_classes: 8,
                ..
            })
        ));
    }

    #[test]
    fn schema_round_trips_through_json() {
        let dir = TempDir::new("schema_json");
        let schema = trained(&dir);
        let json = serde_json::to_string(&schema).unwrap();
        let back: CsvSchema = serde_json::from_str(&json).unwrap();
        assert_eq!(back, schema);
        assert_eq!(back.task(), Task::Classification);
        assert_eq!(back.n_features(), 3);
    }

    #[test]
    fn iris_encodes_itself_identically() {
        let Some(dir) = shared_data() else { return };
        let path = dir.join("iris.csv");
        let data = read_csv(&path, &CsvOptions::default()).unwrap();
        let again = data.schema.encode(&path).unwrap().into_dataset().unwrap();
        assert_eq!(again, data.dataset);
    }
}
