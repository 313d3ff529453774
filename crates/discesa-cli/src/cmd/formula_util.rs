//! Shared pieces of the formula subcommands (`grad`, `hessian`, `descend`, `gallery`):
//! error mapping, option parsing, JSON numbers and name-keyed objects, and atomic text output.

use crate::fail::Fail;
use discesa::formula::{Formula, FormulaError};
use discesa::plot::FigureSize;
use discesa::snippet::short;
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::path::Path;

/// Bad input exits 2, engine or drawing failures exit 1.
pub fn fail(e: FormulaError) -> Fail {
    if e.is_input_error() {
        Fail::input(e)
    } else {
        Fail::runtime(e)
    }
}

/// Parses the formula and binds `--at`/`--from`; a formula with variables needs a point.
pub fn formula_at(
    text: &str,
    point: Option<&str>,
    flag: &str,
) -> Result<(Formula, Vec<f64>), Fail> {
    let f = Formula::parse(text).map_err(fail)?;
    let x = match point {
        Some(p) => f.bind(p).map_err(|e| match e {
            FormulaError::Point { text, error } => {
                Fail::input(format!("malformed {flag} '{}': {error}", short(&text)))
            }
            other => fail(other),
        })?,
        None if f.variables().is_empty() => Vec::new(),
        None => {
            let example: Vec<String> = f.variables().iter().map(|v| format!("{v}=1")).collect();
            return Err(Fail::input(format!(
                "'{}' has variables {}: give their values with {flag} {}",
                short(f.text()),
                short(&f.variables().join(", ")),
                short(&example.join(","))
            )));
        }
    };
    Ok((f, x))
}

/// A finite number for an option such as `--lr`, with the option named in the error.
pub fn number(flag: &str, text: &str) -> Result<f64, Fail> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(Fail::input(format!(
            "{flag} '{}' is not a finite number",
            short(text)
        ))),
    }
}

/// A canvas size written `WIDTHxHEIGHT`.
pub fn size(text: &str) -> Result<FigureSize, Fail> {
    let bad = || Fail::input(format!("--size '{}' must look like 800x600", short(text)));
    let (w, h) = text.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    let width = w.trim().parse().map_err(|_| bad())?;
    let height = h.trim().parse().map_err(|_| bad())?;
    Ok(FigureSize { width, height })
}

/// A plot path must end in `.png` or `.svg`; checked before any work is done.
pub fn check_plot_path(flag: &str, path: &Path) -> Result<(), Fail> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") | Some("svg") => Ok(()),
        _ => Err(Fail::input(format!(
            "{flag} {}: the file name must end in .png or .svg",
            path.display()
        ))),
    }
}

/// A number in JSON output: `null` for NaN and infinities (which JSON cannot represent),
/// and -0 as 0 (a sign on zero only confuses readers of the output).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Num(pub f64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            s.serialize_f64(if self.0 == 0.0 { 0.0 } else { self.0 })
        } else {
            s.serialize_none()
        }
    }
}

/// Values keyed by variable name, serialised as a JSON object in the variables' order
/// (a map type such as `serde_json::Map` would sort the keys).
pub struct Named<'a, T> {
    names: &'a [String],
    values: Vec<T>,
}

impl<'a, T> Named<'a, T> {
    /// Pairs `names` with `values` in order; extra entries of either are dropped.
    pub fn new(names: &'a [String], values: impl IntoIterator<Item = T>) -> Self {
        let values: Vec<T> = values.into_iter().take(names.len()).collect();
        Named {
            names: &names[..values.len()],
            values,
        }
    }
}

impl<'a> Named<'a, Num> {
    /// `{name: number}`, each number as [`Num`].
    pub fn numbers(names: &'a [String], values: &[f64]) -> Self {
        Named::new(names, values.iter().map(|&v| Num(v)))
    }
}

impl<T: Serialize> Serialize for Named<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.values.len()))?;
        for (name, value) in self.names.iter().zip(&self.values) {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// A report as one line of compact JSON.
pub fn to_json_line(report: &impl Serialize) -> Result<String, Fail> {
    serde_json::to_string(report).map_err(|e| Fail::runtime(format!("writing JSON: {e}")))
}

/// Writes `text` to `path` atomically (temp file in the same directory, then rename).
pub fn write_text(path: &Path, text: &str) -> Result<(), Fail> {
    discesa::checkpoint::write_atomic(path, text.as_bytes()).map_err(Fail::runtime)
}

/// Short number formatting for tables: up to 13 significant digits, no trailing zeros.
pub fn show(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return discesa::expr::format_number(v);
    }
    let a = v.abs();
    if !(1e-5..1e9).contains(&a) {
        return format!("{v:.6e}");
    }
    let digits = (12 - a.log10().floor() as i32).clamp(0, 16) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Report<'a> {
        a: &'a str,
        b: Named<'a, Num>,
        c: Vec<Named<'a, bool>>,
        d: Option<Num>,
        e: Vec<f64>,
    }

    #[test]
    fn named_values_keep_the_variables_order_and_numbers_are_null_when_not_finite() {
        let names = vec!["y".to_string(), "x".to_string()];
        let o = serde_json::to_string(&Named::numbers(&names, &[1.5, f64::NAN])).unwrap();
        assert_eq!(o, r#"{"y":1.5,"x":null}"#);
        let report = Report {
            a: "q\"",
            b: Named::numbers(&names, &[2.0, -0.0]),
            c: vec![Named::new(&names[..1], [true])],
            d: None,
            e: vec![f64::INFINITY, f64::NEG_INFINITY, -0.0],
        };
        assert_eq!(
            to_json_line(&report).unwrap(),
            r#"{"a":"q\"","b":{"y":2.0,"x":0.0},"c":[{"y":true}],"d":null,"e":[null,null,-0.0]}"#
        );
    }

    #[test]
    fn numbers_print_minus_zero_as_zero_and_non_finite_as_null() {
        let line = |v: f64| serde_json::to_string(&Num(v)).unwrap();
        assert_eq!(line(-0.0), "0.0");
        assert_eq!(line(-2.5), "-2.5");
        assert_eq!(line(1e300), "1e+300");
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(line(v), "null");
        }
    }

    #[test]
    fn named_pairs_only_as_many_entries_as_both_sides_have() {
        let names = vec!["a".to_string(), "b".to_string()];
        let short = serde_json::to_string(&Named::numbers(&names, &[1.0])).unwrap();
        assert_eq!(short, r#"{"a":1.0}"#);
        let long = serde_json::to_string(&Named::new(&names[..1], ["p", "q"])).unwrap();
        assert_eq!(long, r#"{"a":"p"}"#);
    }

    #[test]
    fn numbers_and_sizes() {
        assert_eq!(show(5.983082595909001), "5.983082595909");
        assert_eq!(show(-3.0), "-3");
        assert!(number("--lr", "abc").is_err());
        assert!(number("--lr", "inf").is_err());
        assert_eq!(size("640x480").unwrap().width, 640);
        assert!(size("640").is_err());
    }
}
