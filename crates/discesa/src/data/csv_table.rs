//! Reads a CSV file into raw text cells with line numbers, and classifies cells (missing,
//! numeric). Typing and encoding happen later, in [`super::schema`].

use super::error::{io_err, DataError, Result};
use csv::{ReaderBuilder, StringRecord, Trim};
use std::path::{Path, PathBuf};

/// A parsed CSV file: header plus rows of trimmed text, each with its 1-based source line.
#[derive(Debug)]
pub(crate) struct RawTable {
    pub path: PathBuf,
    pub headers: Vec<String>,
    pub rows: Vec<StringRecord>,
    /// 1-based source line where each row starts.
    pub lines: Vec<u64>,
}

impl RawTable {
    /// Reads `path`, checking for an empty file, a header without rows, duplicate column names
    /// and rows whose field count differs from the header.
    pub fn read(path: &Path, delimiter: u8) -> Result<RawTable> {
        let bytes = std::fs::read(path).map_err(io_err(path))?;
        let mut reader = ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .trim(Trim::All)
            .has_headers(true)
            .from_reader(bytes.as_slice());
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| csv_err(path, e))?
            .iter()
            .map(str::to_string)
            .collect();
        if headers.iter().all(String::is_empty) {
            return Err(DataError::EmptyFile {
                path: path.to_path_buf(),
            });
        }
        for (second, name) in headers.iter().enumerate() {
            if let Some(first) = headers[..second].iter().position(|h| h == name) {
                return Err(DataError::DuplicateColumn {
                    path: path.to_path_buf(),
                    name: name.clone(),
                    first: first + 1,
                    second: second + 1,
                });
            }
        }
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| csv_err(path, e))?;
            let line = line_of(&record, &bytes);
            if record.len() != headers.len() {
                return Err(DataError::RaggedRow {
                    path: path.to_path_buf(),
                    line,
                    expected: headers.len(),
                    found: record.len(),
                });
            }
            rows.push(record);
            lines.push(line);
        }
        if rows.is_empty() {
            return Err(DataError::HeaderOnly {
                path: path.to_path_buf(),
            });
        }
        Ok(RawTable {
            path: path.to_path_buf(),
            headers,
            rows,
            lines,
        })
    }

    /// 0-based position of a header name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }
}

/// 1-based source line where a record's first field is. The parser's own position points just
/// past the previous record, so blank lines skipped in between are added here.
fn line_of(record: &StringRecord, bytes: &[u8]) -> u64 {
    let Some(pos) = record.position() else {
        return 0;
    };
    let start = usize::try_from(pos.byte()).unwrap_or(usize::MAX);
    let skipped = bytes
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&b| b == b'\n' || b == b'\r')
        .filter(|&&b| b == b'\n')
        .count();
    pos.line() + skipped as u64
}

fn csv_err(path: &Path, e: csv::Error) -> DataError {
    DataError::Csv {
        path: path.to_path_buf(),
        line: e.position().map(csv::Position::line),
        message: e.to_string(),
    }
}

/// True for cells that mean "no value": empty, `NA`, `N/A`, `NaN`, `null` (any case).
pub(crate) fn is_missing(cell: &str) -> bool {
    let cell = cell.trim();
    cell.is_empty()
        || ["na", "n/a", "nan", "null"]
            .iter()
            .any(|m| cell.eq_ignore_ascii_case(m))
}

/// The cell as a number, if it is one that is finite even after narrowing to `f32`.
pub(crate) fn parse_number(cell: &str) -> Option<f64> {
    let v: f64 = cell.trim().parse().ok()?;
    (v.is_finite() && (v as f32).is_finite()).then_some(v)
}

/// The header name closest to `wanted`, if close enough to be a likely typo.
pub(crate) fn closest_name<'a>(wanted: &str, names: &'a [String]) -> Option<&'a str> {
    let wanted_lower = wanted.to_lowercase();
    let (best, distance) = names
        .iter()
        .map(|n| (n, edit_distance(&wanted_lower, &n.to_lowercase())))
        .min_by_key(|(_, d)| *d)?;
    let limit = (wanted.chars().count() / 3).max(2);
    (distance <= limit).then_some(best.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitution.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::test_util::TempDir;

    #[test]
    fn missing_markers_are_case_insensitive() {
        for m in [
            "", "  ", "NA", "na", "N/A", "n/a", "NaN", "NAN", "null", "NULL",
        ] {
            assert!(is_missing(m), "{m:?} should be missing");
        }
        for v in ["0", "nan1", "none", "-"] {
            assert!(!is_missing(v), "{v:?} should not be missing");
        }
    }

    #[test]
    fn numbers_must_be_finite_in_f32() {
        assert_eq!(parse_number(" 1.5 "), Some(1.5));
        assert_eq!(parse_number("-2e3"), Some(-2000.0));
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("1e39"), None);
        assert_eq!(parse_number("1,5"), None);
    }

    #[test]
    fn closest_name_finds_typos_only() {
        let names: Vec<String> = ["sepal_length", "species", "petal_width"]
            .map(String::from)
            .to_vec();
        assert_eq!(closest_name("specis", &names), Some("species"));
        assert_eq!(closest_name("Species", &names), Some("species"));
        assert_eq!(closest_name("banana", &names), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn table_errors_name_the_place() {
        let dir = TempDir::new("csv_table");
        let empty = dir.write("empty.csv", "");
        assert!(matches!(
            RawTable::read(&empty, b','),
            Err(DataError::EmptyFile { .. })
        ));
        let header = dir.write("header.csv", "a,b\n");
        assert!(matches!(
            RawTable::read(&header, b','),
            Err(DataError::HeaderOnly { .. })
        ));
        let ragged = dir.write("ragged.csv", "a,b,c\n1,2,3\n4,5\n");
        let err = RawTable::read(&ragged, b',').unwrap_err();
        assert!(matches!(
            err,
            DataError::RaggedRow {
                line: 3,
                expected: 3,
                found: 2,
                ..
            }
        ));
        assert!(err.to_string().contains("ragged.csv: line 3 has 2 fields"));
        let dup = dir.write("dup.csv", "a,b,a\n1,2,3\n");
        assert!(matches!(
            RawTable::read(&dup, b','),
            Err(DataError::DuplicateColumn {
                first: 1,
                second: 3,
                ..
            })
        ));
        let missing = dir.path().join("nope.csv");
        assert!(matches!(
            RawTable::read(&missing, b','),
            Err(DataError::Io { .. })
        ));
    }

    #[test]
    fn rows_keep_their_source_lines() {
        let dir = TempDir::new("csv_lines");
        let p = dir.write("t.csv", "x;y\r\n1;2\r\n\r\n\n3; 4 \n\n5;6");
        let t = RawTable::read(&p, b';').unwrap();
        assert_eq!(t.headers, vec!["x", "y"]);
        assert_eq!(t.lines, vec![2, 5, 7]);
        assert_eq!(&t.rows[1][1], "4");
        assert_eq!(t.column("y"), Some(1));
    }
}
