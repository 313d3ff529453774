//! The error type shared by every reader and helper of the `data` module.

use crate::snippet::short;
use std::path::PathBuf;

/// Result alias used throughout the `data` module.
pub type Result<T> = std::result::Result<T, DataError>;

/// Everything that can go wrong while reading, encoding or slicing data.
///
/// Messages name the file, line (1-based, as an editor shows it), column and value involved, so a
/// user can fix the input without a debugger.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The operating system refused to read or write a file.
    #[error("{}: {source}", .path.display())]
    Io {
        /// File involved.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// Writing a file failed.
    #[error("{0}")]
    File(#[from] crate::fsio::FileError),
    /// The CSV parser itself failed (for example invalid UTF-8).
    #[error("{}{}: {message}", .path.display(), line_suffix(*.line))]
    Csv {
        /// File involved.
        path: PathBuf,
        /// Line of the failing record, when known.
        line: Option<u64>,
        /// Parser message.
        message: String,
    },
    /// The file holds no bytes, or nothing but blank lines.
    #[error("{}: the file is empty (a header line is required)", .path.display())]
    EmptyFile {
        /// File involved.
        path: PathBuf,
    },
    /// The file holds a header but no data rows.
    #[error("{}: the file has a header but no data rows", .path.display())]
    HeaderOnly {
        /// File involved.
        path: PathBuf,
    },
    /// Two header cells carry the same name, so columns cannot be told apart.
    #[error("{}: column name '{name}' appears twice in the header (columns {first} and {second})", .path.display())]
    DuplicateColumn {
        /// File involved.
        path: PathBuf,
        /// Repeated name.
        name: String,
        /// 1-based position of the first occurrence.
        first: usize,
        /// 1-based position of the second occurrence.
        second: usize,
    },
    /// The requested target column is not in the header.
    #[error(
        "{}: no column named '{}'{}; available columns: {}",
        .path.display(),
        short(name),
        suggestion_suffix(.suggestion.as_deref()),
        short(&.available.join(", "))
    )]
    MissingTarget {
        /// File involved.
        path: PathBuf,
        /// Name the caller asked for.
        name: String,
        /// Every column in the header.
        available: Vec<String>,
        /// Closest header name, if one is close enough to be a likely typo.
        suggestion: Option<String>,
    },
    /// A row has a different number of fields than the header.
    #[error("{}: line {line} has {found} fields, the header has {expected}", .path.display())]
    RaggedRow {
        /// File involved.
        path: PathBuf,
        /// Line of the row.
        line: u64,
        /// Field count of the header.
        expected: usize,
        /// Field count of the row.
        found: usize,
    },
    /// A column that is mostly numbers holds a cell that is not a finite number.
    #[error(
        "{}: line {line}, column '{column}' (#{column_number}): '{}' is not a finite number, \
         but most cells of this column are numbers",
        .path.display(),
        short(value)
    )]
    NonNumericCell {
        /// File involved.
        path: PathBuf,
        /// Line of the cell.
        line: u64,
        /// Column name.
        column: String,
        /// 1-based column position.
        column_number: usize,
        /// Offending cell text.
        value: String,
    },
    /// A class label given as a number is not an integer.
    #[error("{}: line {line}, target column '{column}': class label '{}' is not an integer", .path.display(), short(value))]
    NonIntegerLabel {
        /// File involved.
        path: PathBuf,
        /// Line of the cell.
        line: u64,
        /// Target column name.
        column: String,
        /// Offending cell text.
        value: String,
    },
    /// An integer class label lies outside `0..n_classes` for a declared class count.
    #[error("{}: line {line}: label {label} is outside 0..{n_classes} (declared class count {n_classes})", .path.display())]
    LabelOutOfRange {
        /// File involved.
        path: PathBuf,
        /// Line (CSV) or 1-based record index (binary files) of the label.
        line: u64,
        /// Offending label.
        label: i64,
        /// Declared class count.
        n_classes: usize,
    },
    /// The target column holds text but the task needs numbers.
    #[error("{}: target column '{column}' holds text, {reason}", .path.display())]
    TargetNotNumeric {
        /// File involved.
        path: PathBuf,
        /// Target column name.
        column: String,
        /// Why numbers were needed.
        reason: String,
    },
    /// Every row had a missing value, so nothing is left to train on.
    #[error(
        "{}: all {rows_read} rows were dropped because of missing values \
         (NA, N/A, NaN, null or empty cells)",
        .path.display()
    )]
    AllRowsDropped {
        /// File involved.
        path: PathBuf,
        /// Rows read before dropping.
        rows_read: usize,
    },
    /// A file to encode with a saved schema has a column the schema does not know.
    #[error(
        "{}: column '{}' was not present when the schema was built; known columns: {}",
        .path.display(),
        short(column),
        short(&.known.join(", "))
    )]
    UnseenColumn {
        /// File involved.
        path: PathBuf,
        /// Unknown column name.
        column: String,
        /// Columns of the schema.
        known: Vec<String>,
    },
    /// A file to encode with a saved schema lacks a column the schema needs.
    #[error("{}: column '{column}' is required by the schema but missing from the header", .path.display())]
    MissingColumn {
        /// File involved.
        path: PathBuf,
        /// Missing column name.
        column: String,
    },
    /// A text cell holds a category (or class) that was not seen when the schema was built.
    #[error(
        "{}: line {line}, column '{column}': category '{}' was not seen in the training data; \
         known categories: {}",
        .path.display(),
        short(value),
        short(&.known.join(", "))
    )]
    UnseenCategory {
        /// File involved.
        path: PathBuf,
        /// Line of the cell.
        line: u64,
        /// Column name.
        column: String,
        /// Unknown value.
        value: String,
        /// Values the schema knows.
        known: Vec<String>,
    },
    /// A binary file starts with the wrong magic number.
    #[error("{}: magic number 0x{found:08x} found, 0x{expected:08x} expected ({what})", .path.display())]
    BadMagic {
        /// File involved.
        path: PathBuf,
        /// Magic number read.
        found: u32,
        /// Magic number required.
        expected: u32,
        /// What kind of file was expected.
        what: &'static str,
    },
    /// A binary file is shorter or longer than its header declares.
    #[error("{}: {actual} bytes found, {expected} bytes expected from the header ({})", .path.display(), size_hint(*.expected, *.actual))]
    SizeMismatch {
        /// File involved (after decompression, when gzipped).
        path: PathBuf,
        /// Bytes the header requires.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// Two files that must describe the same samples disagree on the sample count.
    #[error("{what}: {left} samples in {}, {right} in {}", .left_path.display(), .right_path.display())]
    CountMismatch {
        /// Which pair of files.
        what: &'static str,
        /// First file.
        left_path: PathBuf,
        /// Samples in the first file.
        left: usize,
        /// Second file.
        right_path: PathBuf,
        /// Samples in the second file.
        right: usize,
    },
    /// A digit label is larger than 9.
    #[error("{}: label {label} at index {index} is larger than 9", .path.display())]
    DigitLabelTooLarge {
        /// File involved.
        path: PathBuf,
        /// 0-based index of the label.
        index: usize,
        /// Offending label.
        label: u8,
    },
    /// A required file of a directory data set is absent.
    #[error("{}: missing file '{name}' (looked for: {})", .dir.display(), .tried.join(", "))]
    MissingFile {
        /// Directory searched.
        dir: PathBuf,
        /// Logical file name.
        name: String,
        /// Exact names tried.
        tried: Vec<String>,
    },
    /// A file is malformed or uses a layout this reader does not support.
    #[error("{}: {message}", .path.display())]
    Format {
        /// File involved.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The path does not name a supported file kind.
    #[error("{}: {message}", .path.display())]
    UnsupportedFormat {
        /// File involved.
        path: PathBuf,
        /// What was expected instead.
        message: String,
    },
    /// A row index is outside the data set.
    #[error("row index {index} is out of range for a data set of {len} rows")]
    IndexOutOfRange {
        /// Offending index.
        index: usize,
        /// Rows in the data set.
        len: usize,
    },
    /// Feature widths or names differ between two things that must agree.
    #[error("feature mismatch: {0}")]
    FeatureMismatch(String),
    /// A caller-supplied argument is invalid (message says which and why).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

fn line_suffix(line: Option<u64>) -> String {
    line.map(|l| format!(", line {l}")).unwrap_or_default()
}

fn suggestion_suffix(suggestion: Option<&str>) -> String {
    suggestion
        .map(|s| format!(" (did you mean '{s}'?)"))
        .unwrap_or_default()
}

fn size_hint(expected: u64, actual: u64) -> &'static str {
    if actual < expected {
        "the file is truncated"
    } else {
        "the file has trailing bytes"
    }
}

/// Wraps an I/O error with the path it concerns.
pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}
