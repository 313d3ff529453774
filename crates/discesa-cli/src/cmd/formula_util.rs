//! Shared pieces of the formula subcommands (`grad`, `hessian`, `descend`, `gallery`):
//! error mapping, option parsing, ordered JSON objects and atomic text output.

use crate::fail::Fail;
use discesa::formula::{Formula, FormulaError};
use discesa::plot::FigureSize;
use discesa::snippet::short;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
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

/// A JSON number, or `null` for NaN and infinities (which JSON cannot represent).
pub fn num(v: f64) -> Value {
    // -0 prints as 0: a sign on zero only confuses readers of the output.
    let v = if v == 0.0 { 0.0 } else { v };
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// A JSON object that keeps its keys in insertion order (variables in order of appearance),
/// serialised by serde_json (`serde_json::Map` would sort the keys).
#[derive(Default)]
pub struct Obj(Vec<(String, Json)>);

impl Obj {
    /// An empty object.
    pub fn new() -> Obj {
        Obj::default()
    }

    /// Adds a field.
    pub fn field(mut self, key: &str, value: impl Into<Json>) -> Obj {
        self.0.push((key.to_string(), value.into()));
        self
    }

    /// `{name: number}` in the given order.
    pub fn numbers(names: &[String], values: &[f64]) -> Obj {
        names
            .iter()
            .zip(values)
            .fold(Obj::new(), |o, (n, v)| o.field(n, num(*v)))
    }

    /// The object as compact JSON text.
    pub fn render(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Serialize for Obj {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// A field's value: any JSON value, or ordered objects.
#[derive(serde::Serialize)]
#[serde(untagged)]
pub enum Json {
    /// A value (numbers already `null` when not finite).
    Value(Value),
    /// An ordered object.
    Obj(Obj),
    /// A list of ordered objects.
    List(Vec<Obj>),
}

impl From<Value> for Json {
    fn from(v: Value) -> Json {
        Json::Value(v)
    }
}

impl From<Obj> for Json {
    fn from(o: Obj) -> Json {
        Json::Obj(o)
    }
}

impl From<Vec<Obj>> for Json {
    fn from(items: Vec<Obj>) -> Json {
        Json::List(items)
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Value(Value::String(s.to_string()))
    }
}

impl From<f64> for Json {
    fn from(v: f64) -> Json {
        Json::Value(num(v))
    }
}

impl From<bool> for Json {
    fn from(v: bool) -> Json {
        Json::Value(Value::Bool(v))
    }
}

impl From<usize> for Json {
    fn from(v: usize) -> Json {
        Json::Value(Value::from(v))
    }
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

    #[test]
    fn objects_keep_key_order_and_nulls_for_non_finite() {
        let names = vec!["y".to_string(), "x".to_string()];
        let o = Obj::numbers(&names, &[1.5, f64::NAN]).render();
        assert_eq!(o, r#"{"y":1.5,"x":null}"#);
        let nested = Obj::new()
            .field("a", "q\"")
            .field("b", Obj::numbers(&names, &[2.0, -0.0]))
            .field("c", vec![Obj::new().field("k", true)])
            .render();
        assert_eq!(
            nested,
            r#"{"a":"q\"","b":{"y":2.0,"x":0.0},"c":[{"k":true}]}"#
        );
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
