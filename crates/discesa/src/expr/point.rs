//! Reads a point such as `x=1,y=-2.5e-3,z=pi/2` (the CLI's `--at` and `--from` values).

use super::ast::Expr;
use super::eval::{eval, Env};
use super::func::{Const, Func};
use super::parser::parse;

/// A point that cannot be read; pairs are numbered from 1 and columns are 1-based characters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PointError {
    /// Nothing but whitespace.
    #[error("empty point: expected name=value pairs such as x=1,y=2")]
    Empty,
    /// A pair that is not `name=value`.
    #[error(
        "pair {pair} '{}' at column {column} is malformed: {reason}",
        crate::snippet::short(text)
    )]
    MalformedPair {
        /// Which pair, from 1.
        pair: usize,
        /// Column where the pair starts.
        column: usize,
        /// The pair as written.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A name that no formula could use as a variable.
    #[error(
        "pair {pair} at column {column}: '{}' is not a variable name ({reason})",
        crate::snippet::short(name)
    )]
    BadName {
        /// Which pair, from 1.
        pair: usize,
        /// Column of the name.
        column: usize,
        /// The name as written.
        name: String,
        /// Why it is not a variable name.
        reason: String,
    },
    /// A value that is not a finite number or constant expression.
    #[error(
        "pair {pair} at column {column}: value '{}' for '{}' is not a finite number",
        crate::snippet::short(value),
        crate::snippet::short(name)
    )]
    NotANumber {
        /// Which pair, from 1.
        pair: usize,
        /// Column of the value.
        column: usize,
        /// The variable the value was for.
        name: String,
        /// The value as written.
        value: String,
    },
    /// The same name given twice.
    #[error(
        "pair {pair} at column {column}: '{}' was already given in pair {first}",
        crate::snippet::short(name)
    )]
    Duplicate {
        /// Which pair repeats the name, from 1.
        pair: usize,
        /// Column of the repeated name.
        column: usize,
        /// The repeated name.
        name: String,
        /// The pair that gave it first.
        first: usize,
    },
}

/// Parses `name=value,name=value`, keeping the order written. Values are numbers (`-3`,
/// `2.5e-3`) or constant formulas (`pi`, `-e`, `pi/2`); they must be finite.
pub fn parse_point(text: &str) -> Result<Vec<(String, f64)>, PointError> {
    if text.trim().is_empty() {
        return Err(PointError::Empty);
    }
    let mut out: Vec<(String, f64)> = Vec::new();
    let mut column = 1; // column of the current piece's first character
    for (i, piece) in text.split(',').enumerate() {
        let pair = i + 1;
        let piece_column = column;
        column += piece.chars().count() + 1;
        let lead = piece.chars().take_while(|c| c.is_whitespace()).count();
        let start = piece_column + lead;
        let trimmed = piece.trim();
        let malformed = |reason: &str| PointError::MalformedPair {
            pair,
            column: start,
            text: trimmed.to_string(),
            reason: reason.to_string(),
        };
        if trimmed.is_empty() {
            return Err(malformed("empty pair (stray comma?)"));
        }
        let Some((raw_name, raw_value)) = trimmed.split_once('=') else {
            return Err(malformed("expected name=value"));
        };
        if raw_value.contains('=') {
            return Err(malformed("more than one '='"));
        }
        let name = raw_name.trim();
        if name.is_empty() {
            return Err(malformed("missing name before '='"));
        }
        let value_text = raw_value.trim();
        if value_text.is_empty() {
            return Err(malformed("missing value after '='"));
        }
        check_name(name, pair, start)?;
        let value_column = start
            + raw_name.chars().count()
            + 1
            + raw_value.chars().take_while(|c| c.is_whitespace()).count();
        let value = parse_value(value_text).ok_or_else(|| PointError::NotANumber {
            pair,
            column: value_column,
            name: name.to_string(),
            value: value_text.to_string(),
        })?;
        if let Some(first) = out.iter().position(|(n, _)| n == name) {
            return Err(PointError::Duplicate {
                pair,
                column: start,
                name: name.to_string(),
                first: first + 1,
            });
        }
        out.push((name.to_string(), value));
    }
    Ok(out)
}

fn check_name(name: &str, pair: usize, column: usize) -> Result<(), PointError> {
    let bad = |reason: &str| PointError::BadName {
        pair,
        column,
        name: name.to_string(),
        reason: reason.to_string(),
    };
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(bad(
            "names are letters, digits and '_', not starting with a digit",
        ));
    }
    if Const::from_name(name).is_some() {
        return Err(bad("it is a constant"));
    }
    if Func::from_name(name).is_some() {
        return Err(bad("it is a function"));
    }
    Ok(())
}

/// A finite number, or the value of a formula without variables.
fn parse_value(text: &str) -> Option<f64> {
    // Rust's float syntax also accepts "inf" and "NaN"; the finiteness check rejects them.
    let value = match text.parse::<f64>() {
        Ok(v) => v,
        Err(_) => {
            let expr: Expr = parse(text).ok()?;
            if !expr.variables().is_empty() {
                return None;
            }
            eval(&expr, &Env::new()).ok()?
        }
    };
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, f64)]) -> Vec<(String, f64)> {
        v.iter().map(|(n, x)| (n.to_string(), *x)).collect()
    }

    #[test]
    fn accepts_numbers_in_every_form_and_constants() {
        assert_eq!(
            parse_point("x=1,y=2").unwrap(),
            pairs(&[("x", 1.0), ("y", 2.0)])
        );
        assert_eq!(
            parse_point(" x = -3 , y=-1 ").unwrap(),
            pairs(&[("x", -3.0), ("y", -1.0)])
        );
        assert_eq!(
            parse_point("a=1e-3,b=2E+4,c=.5,d=+7").unwrap(),
            pairs(&[("a", 1e-3), ("b", 2e4), ("c", 0.5), ("d", 7.0)])
        );
        let pi = std::f64::consts::PI;
        assert_eq!(
            parse_point("t=pi,u=-pi,v=e,w=pi/2").unwrap(),
            pairs(&[
                ("t", pi),
                ("u", -pi),
                ("v", std::f64::consts::E),
                ("w", pi / 2.0)
            ])
        );
        assert_eq!(parse_point("w_1=0").unwrap(), pairs(&[("w_1", 0.0)]));
    }

    #[test]
    fn malformed_pairs_say_which_and_where() {
        match parse_point("x=1,y2,z=3").unwrap_err() {
            PointError::MalformedPair { pair, column, .. } => assert_eq!((pair, column), (2, 5)),
            other => panic!("{other:?}"),
        }
        match parse_point("x=1,").unwrap_err() {
            PointError::MalformedPair { pair, column, .. } => assert_eq!((pair, column), (2, 5)),
            other => panic!("{other:?}"),
        }
        for bad in ["x=", "=1", "x==1", "x=1=2"] {
            assert!(
                matches!(
                    parse_point(bad),
                    Err(PointError::MalformedPair { pair: 1, .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(parse_point("  ").unwrap_err(), PointError::Empty);
        let msg = parse_point("x=1, y").unwrap_err().to_string();
        assert!(msg.contains("pair 2") && msg.contains("column 6"), "{msg}");
    }

    #[test]
    fn non_numbers_are_reported_with_the_value_column() {
        match parse_point("x=1, y = abc").unwrap_err() {
            PointError::NotANumber {
                pair,
                column,
                name,
                value,
            } => {
                assert_eq!((pair, column), (2, 10));
                assert_eq!((name.as_str(), value.as_str()), ("y", "abc"));
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            "x=inf",
            "x=NaN",
            "x=1e999",
            "x=1/0",
            "x=log(-1)",
            "x=2*y",
            "x=1.2.3",
        ] {
            assert!(
                matches!(parse_point(bad), Err(PointError::NotANumber { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_and_duplicate_names() {
        for bad in ["1x=2", "pi=3", "sin=1", "x y=1", "é=1"] {
            assert!(
                matches!(parse_point(bad), Err(PointError::BadName { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            parse_point("x=1,y=2,x=3").unwrap_err(),
            PointError::Duplicate {
                pair: 3,
                column: 9,
                name: "x".into(),
                first: 1
            }
        );
    }
}
