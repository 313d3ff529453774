//! Reads a training CSV file: infers column kinds and the target encoding, then encodes it.
//!
//! Rules, in order:
//! - the target is the column named by the caller, else the last column;
//! - a column is numeric when more than half of its non-missing cells are finite numbers; any
//!   other non-missing cell in it is then an error (a typo, not a category);
//! - other columns are one-hot encoded with sorted categories (`col=value` features);
//! - rows with a missing cell (`NA`, `N/A`, `NaN`, `null`, empty; any case) are dropped and
//!   reported;
//! - the target is classification when it is text, when the caller says so, or when a class count
//!   is declared; otherwise a numeric target is regression.

use super::csv_table::{closest_name, is_missing, parse_number, RawTable};
use super::dataset::{Dataset, Task};
use super::error::{DataError, Result};
use super::schema::{
    integer_label, ColumnKind, ColumnSpec, CsvReport, CsvSchema, TargetKind, TargetSpec,
};
use std::collections::BTreeSet;
use std::path::Path;

/// How to read a training CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Target column name; `None` means the last column.
    pub target: Option<String>,
    /// Task; `None` infers it (text target or declared class count: classification, numeric
    /// target: regression).
    pub task: Option<Task>,
    /// Declared class count for integer labels `0..n`; labels outside are errors.
    pub n_classes: Option<usize>,
    /// Field delimiter byte.
    pub delimiter: u8,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            target: None,
            task: None,
            n_classes: None,
            delimiter: b',',
        }
    }
}

impl CsvOptions {
    /// These options with the task forced to classification (integer targets become classes).
    pub fn with_classification(mut self) -> Self {
        self.task = Some(Task::Classification);
        self
    }
}

/// A training CSV file, encoded, with what was learned about it.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvData {
    /// Encoded rows.
    pub dataset: Dataset,
    /// Rows read and dropped.
    pub report: CsvReport,
    /// Encoding to reuse for evaluation and prediction files.
    pub schema: CsvSchema,
}

/// Reads and encodes a training CSV file (see the module docs for the rules).
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<CsvData> {
    let table = RawTable::read(path.as_ref(), options.delimiter)?;
    let schema = infer_schema(&table, options)?;
    let encoded = schema.encode_table(&table, true)?;
    let report = encoded.report.clone();
    Ok(CsvData {
        dataset: encoded.into_dataset()?,
        report,
        schema,
    })
}

/// Decides column kinds, categories and the target encoding from a whole table.
fn infer_schema(table: &RawTable, options: &CsvOptions) -> Result<CsvSchema> {
    if options.n_classes.is_some() && options.task == Some(Task::Regression) {
        return Err(DataError::InvalidArgument(
            "a class count was declared for a regression task".into(),
        ));
    }
    if options.n_classes == Some(0) {
        return Err(DataError::InvalidArgument(
            "the declared class count must be at least 1".into(),
        ));
    }
    if table.headers.len() < 2 {
        return Err(DataError::Format {
            path: table.path.clone(),
            message: "only one column: a feature column besides the target is required".into(),
        });
    }
    let target = match &options.target {
        Some(name) => table.column(name).ok_or_else(|| DataError::MissingTarget {
            path: table.path.clone(),
            name: name.clone(),
            available: table.headers.clone(),
            suggestion: closest_name(name, &table.headers).map(str::to_string),
        })?,
        None => table.headers.len() - 1,
    };
    // Categories and classes come from the rows that will be kept.
    let kept: Vec<_> = table
        .rows
        .iter()
        .zip(&table.lines)
        .filter(|(r, _)| !r.iter().any(is_missing))
        .collect();
    let mut columns = Vec::with_capacity(table.headers.len() - 1);
    for (position, name) in table.headers.iter().enumerate() {
        if position == target {
            continue;
        }
        let kind = if is_numeric_column(table, position) {
            ColumnKind::Numeric
        } else {
            let categories: BTreeSet<&str> = kept.iter().map(|(r, _)| &r[position]).collect();
            ColumnKind::Categorical {
                categories: categories.into_iter().map(str::to_string).collect(),
            }
        };
        columns.push(ColumnSpec {
            name: name.clone(),
            kind,
        });
    }
    let name = &table.headers[target];
    let numeric = is_numeric_column(table, target);
    let classification = match options.task {
        Some(task) => task == Task::Classification,
        None => {
            !numeric
                || options.n_classes.is_some()
                || few_integer_values(kept.iter().map(|(r, _)| &r[target]))
        }
    };
    let kind = match (classification, numeric) {
        (false, false) => {
            return Err(DataError::TargetNotNumeric {
                path: table.path.clone(),
                column: name.clone(),
                reason: "but regression needs numbers".into(),
            })
        }
        (false, true) => TargetKind::Values,
        (true, false) if options.n_classes.is_some() => {
            return Err(DataError::TargetNotNumeric {
                path: table.path.clone(),
                column: name.clone(),
                reason: "but a declared class count needs integer labels 0..n".into(),
            })
        }
        (true, false) => {
            let names: BTreeSet<&str> = kept.iter().map(|(r, _)| &r[target]).collect();
            TargetKind::TextClasses {
                class_names: names.into_iter().map(str::to_string).collect(),
            }
        }
        (true, true) => match options.n_classes {
            Some(n) => TargetKind::IntegerClasses {
                values: (0..n as i64).collect(),
                declared: true,
            },
            None => {
                let mut values = BTreeSet::new();
                for &(row, &line) in &kept {
                    let cell = &row[target];
                    if parse_number(cell).is_none() {
                        return Err(DataError::NonNumericCell {
                            path: table.path.clone(),
                            line,
                            column: name.clone(),
                            column_number: target + 1,
                            value: cell.to_string(),
                        });
                    }
                    values.insert(integer_label(&table.path, line, name, cell)?);
                }
                TargetKind::IntegerClasses {
                    values: values.into_iter().collect(),
                    declared: false,
                }
            }
        },
    };
    Ok(CsvSchema {
        columns,
        target: TargetSpec {
            name: name.clone(),
            kind,
        },
        delimiter: options.delimiter,
    })
}

/// At most this many distinct values make an integer target a class label.
const MAX_INFERRED_CLASSES: usize = 20;

/// A numeric target whose cells are all integers with few distinct values (at most
/// [`MAX_INFERRED_CLASSES`], and each seen at least twice on average) names classes, as the
/// `digit` column of the digits data does; anything else is a regression value.
fn few_integer_values<'a>(cells: impl Iterator<Item = &'a str>) -> bool {
    let mut distinct = BTreeSet::new();
    let mut n = 0usize;
    for cell in cells {
        match parse_number(cell) {
            Some(v) if v.fract() == 0.0 && v.abs() < 1e9 => {
                distinct.insert(v as i64);
                n += 1;
            }
            _ => return false,
        }
        if distinct.len() > MAX_INFERRED_CLASSES {
            return false;
        }
    }
    n > 0 && distinct.len() * 2 <= n
}

/// More than half of the non-missing cells are numbers (an all-missing column counts as numeric).
fn is_numeric_column(table: &RawTable, position: usize) -> bool {
    let (mut present, mut numbers) = (0usize, 0usize);
    for row in &table.rows {
        let cell = &row[position];
        if !is_missing(cell) {
            present += 1;
            numbers += usize::from(parse_number(cell).is_some());
        }
    }
    present == 0 || 2 * numbers > present
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_util::{shared_data, TempDir};
    use crate::data::Targets;

    fn opts(target: Option<&str>, task: Option<Task>, n_classes: Option<usize>) -> CsvOptions {
        CsvOptions {
            target: target.map(String::from),
            task,
            n_classes,
            ..CsvOptions::default()
        }
    }

    const MIXED: &str = "\
height,colour,size,label
1.5,red,10,b
2.5,blue,NA,a
3.0,green,30,a
n/a,red,40,b
4.0,blue,50,c
";

    #[test]
    fn mixed_columns_are_encoded_and_missing_rows_dropped() {
        let dir = TempDir::new("csv_mixed");
        let p = dir.write("m.csv", MIXED);
        let data = read_csv(&p, &CsvOptions::default()).unwrap();
        let d = &data.dataset;
        assert_eq!(
            d.feature_names(),
            &[
                "height",
                "colour=blue",
                "colour=green",
                "colour=red",
                "size"
            ]
        );
        assert_eq!(d.len(), 3);
        assert_eq!(d.row(0).unwrap(), &[1.5, 0.0, 0.0, 1.0, 10.0]);
        assert_eq!(d.row(2).unwrap(), &[4.0, 1.0, 0.0, 0.0, 50.0]);
        assert_eq!(
            d.targets(),
            &Targets::Classes {
                labels: vec![1, 0, 2],
                class_names: vec!["a".into(), "b".into(), "c".into()],
            }
        );
        let r = &data.report;
        assert_eq!((r.rows_read, r.rows_kept, r.rows_dropped), (5, 3, 2));
        assert_eq!(r.dropped_lines_sample, vec![3, 5]);
        assert_eq!(r.task, Some(Task::Classification));
        assert_eq!(r.categorical_columns, vec![("colour".to_string(), 3)]);
        let text = r.to_string();
        assert!(text.contains("5 rows read, 3 kept, 2 dropped"), "{text}");
        assert!(text.contains("lines 3, 5"), "{text}");
    }

    #[test]
    fn numeric_target_is_regression_unless_told_otherwise() {
        let dir = TempDir::new("csv_reg");
        let p = dir.write("r.csv", "y,x\n0.5,1\n1,2\n2,3\n");
        let reg = read_csv(&p, &opts(Some("y"), None, None)).unwrap();
        assert_eq!(reg.dataset.targets(), &Targets::Values(vec![0.5, 1.0, 2.0]));
        assert_eq!(reg.dataset.feature_names(), &["x"]);
        let err = read_csv(&p, &opts(Some("y"), Some(Task::Classification), None)).unwrap_err();
        assert!(
            matches!(err, DataError::NonIntegerLabel { line: 2, .. }),
            "{err}"
        );
        let cls = read_csv(&p, &opts(Some("x"), Some(Task::Classification), None)).unwrap();
        assert_eq!(cls.dataset.class_names().unwrap(), &["1", "2", "3"]);
        let Targets::Classes { labels, .. } = cls.dataset.targets() else {
            panic!()
        };
        assert_eq!(labels, &[0, 1, 2]);
        let text = dir.write("t.csv", "x,y\n1,a\n2,b\n");
        assert!(matches!(
            read_csv(&text, &opts(None, Some(Task::Regression), None)),
            Err(DataError::TargetNotNumeric { .. })
        ));
        assert!(matches!(
            read_csv(&text, &opts(None, None, Some(2))),
            Err(DataError::TargetNotNumeric { .. })
        ));
    }

    #[test]
    fn few_distinct_integers_are_classes_many_are_values() {
        let dir = TempDir::new("csv_few");
        let mut text = String::from("x,y\n");
        for i in 0..40 {
            text.push_str(&format!("{i},{}\n", i % 4));
        }
        let p = dir.write("few.csv", &text);
        let cls = read_csv(&p, &opts(None, None, None)).unwrap();
        assert_eq!(cls.dataset.class_names().unwrap(), &["0", "1", "2", "3"]);
        assert!(matches!(
            cls.schema.target.kind,
            TargetKind::IntegerClasses {
                declared: false,
                ..
            }
        ));
        // Told otherwise, or with a fraction, or with many distinct values: regression.
        let reg = read_csv(&p, &opts(None, Some(Task::Regression), None)).unwrap();
        assert_eq!(reg.dataset.task(), Task::Regression);
        let frac = dir.write("frac.csv", text.replace(",3\n", ",3.5\n"));
        assert_eq!(
            read_csv(&frac, &opts(None, None, None))
                .unwrap()
                .dataset
                .task(),
            Task::Regression
        );
        let mut many = String::from("x,y\n");
        for i in 0..40 {
            many.push_str(&format!("{i},{}\n", i * 3));
        }
        let many = dir.write("many.csv", &many);
        assert_eq!(
            read_csv(&many, &opts(None, None, None))
                .unwrap()
                .dataset
                .task(),
            Task::Regression
        );
    }

    #[test]
    fn declared_class_count_checks_label_range() {
        let dir = TempDir::new("csv_declared");
        let p = dir.write("d.csv", "x,y\n1,0\n2,2\n3,1\n");
        let ok = read_csv(&p, &opts(None, None, Some(4))).unwrap();
        assert_eq!(ok.dataset.n_classes(), Some(4));
        assert_eq!(ok.dataset.class_names().unwrap(), &["0", "1", "2", "3"]);
        let err = read_csv(&p, &opts(None, None, Some(2))).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::LabelOutOfRange {
                    line: 3,
                    label: 2,
                    n_classes: 2,
                    ..
                }
            ),
            "{err}"
        );
        let neg = dir.write("n.csv", "x,y\n1,0\n2,-1\n");
        assert!(matches!(
            read_csv(&neg, &opts(None, None, Some(2))),
            Err(DataError::LabelOutOfRange { label: -1, .. })
        ));
        assert!(read_csv(&p, &opts(None, Some(Task::Regression), Some(3))).is_err());
    }

    #[test]
    fn target_typo_lists_columns_and_suggests() {
        let dir = TempDir::new("csv_target");
        let p = dir.write("t.csv", "sepal,petal,species\n1,2,a\n");
        let err = read_csv(&p, &opts(Some("specie"), None, None)).unwrap_err();
        let DataError::MissingTarget {
            suggestion,
            available,
            ..
        } = &err
        else {
            panic!("{err}")
        };
        assert_eq!(suggestion.as_deref(), Some("species"));
        assert_eq!(available.len(), 3);
        let msg = err.to_string();
        assert!(msg.contains("did you mean 'species'"), "{msg}");
        assert!(msg.contains("sepal, petal, species"), "{msg}");
    }

    #[test]
    fn typo_in_numeric_column_is_an_error_with_place() {
        let dir = TempDir::new("csv_typo");
        let p = dir.write("t.csv", "a,b,c\n1,2,x\n3,4o,y\n5,6,x\n");
        let err = read_csv(&p, &CsvOptions::default()).unwrap_err();
        assert!(
            matches!(
                &err,
                DataError::NonNumericCell { line: 3, column_number: 2, column, value, .. }
                    if column == "b" && value == "4o"
            ),
            "{err}"
        );
        assert!(err.to_string().contains("t.csv: line 3, column 'b' (#2)"));
        // A typo in a numeric target is reported too.
        let t = dir.write("u.csv", "a,y\n1,2\n3,x\n5,6\n");
        assert!(matches!(
            read_csv(&t, &CsvOptions::default()),
            Err(DataError::NonNumericCell { line: 3, .. })
        ));
    }

    #[test]
    fn mostly_text_column_is_categorical() {
        let dir = TempDir::new("csv_cat");
        let p = dir.write("c.csv", "code,y\nA1,1\n7,2\nB2,3\n");
        let d = read_csv(&p, &CsvOptions::default()).unwrap().dataset;
        assert_eq!(d.feature_names(), &["code=7", "code=A1", "code=B2"]);
    }

    #[test]
    fn all_rows_dropped_and_empty_inputs_are_errors() {
        let dir = TempDir::new("csv_empty");
        let p = dir.write("a.csv", "a,b\nNA,1\n2,null\n");
        let err = read_csv(&p, &CsvOptions::default()).unwrap_err();
        assert!(matches!(
            err,
            DataError::AllRowsDropped { rows_read: 2, .. }
        ));
        let e = dir.write("e.csv", "");
        assert!(matches!(
            read_csv(&e, &CsvOptions::default()),
            Err(DataError::EmptyFile { .. })
        ));
        let one = dir.write("one.csv", "y\n1\n2\n");
        assert!(read_csv(&one, &CsvOptions::default())
            .unwrap_err()
            .to_string()
            .contains("only one column"));
        let h = dir.write("h.csv", "a,b\n");
        assert!(matches!(
            read_csv(&h, &CsvOptions::default()),
            Err(DataError::HeaderOnly { .. })
        ));
        let r = dir.write("r.csv", "a,b\n1,2\n3,4,5\n");
        assert!(matches!(
            read_csv(&r, &CsvOptions::default()),
            Err(DataError::RaggedRow {
                line: 3,
                expected: 2,
                found: 3,
                ..
            })
        ));
    }

    #[test]
    fn iris_has_150_rows_and_3_classes() {
        let Some(dir) = shared_data() else { return };
        let data = read_csv(dir.join("iris.csv"), &opts(Some("species"), None, None)).unwrap();
        let d = &data.dataset;
        assert_eq!((d.len(), d.n_features(), d.n_classes()), (150, 4, Some(3)));
        assert_eq!(data.report.rows_dropped, 0);
        let Targets::Classes { labels, .. } = d.targets() else {
            panic!()
        };
        for class in 0..3 {
            assert_eq!(labels.iter().filter(|&&l| l == class).count(), 50);
        }
        assert!(d.features().iter().all(|v| (0.0..10.0).contains(v)));
    }

    #[test]
    fn digits_has_1797_rows_64_features_10_classes() {
        let Some(dir) = shared_data() else { return };
        let d = read_csv(
            dir.join("digits.csv"),
            &opts(Some("digit"), Some(Task::Classification), None),
        )
        .unwrap()
        .dataset;
        assert_eq!(
            (d.len(), d.n_features(), d.n_classes()),
            (1797, 64, Some(10))
        );
        assert!(d.features().iter().all(|v| (0.0..=16.0).contains(v)));
        let declared = read_csv(dir.join("digits.csv"), &opts(Some("digit"), None, Some(10)))
            .unwrap()
            .dataset;
        assert_eq!(declared.targets(), d.targets());
    }
}
