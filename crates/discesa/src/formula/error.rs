//! Errors of formula analysis: each names the formula's text, the variable or the point involved.

use crate::expr::{ParseError, PointError};
use crate::snippet::{around, short};

/// Why a formula could not be analysed at a point.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormulaError {
    /// The formula does not parse; `shown` marks the offending text with `>>` and `<<`.
    #[error("{message}: {shown}")]
    Parse {
        /// What is wrong and at which column.
        message: String,
        /// The formula with the offending text marked, on one line.
        shown: String,
        /// The underlying parse error (for multi-line caret rendering).
        source_error: ParseError,
    },
    /// A point (`--at`, `--from`) that does not read as `name=value` pairs.
    #[error("malformed point '{}': {error}", short(text))]
    Point {
        /// The point as written.
        text: String,
        /// What is wrong with it.
        error: PointError,
    },
    /// The formula uses a variable the point does not give.
    #[error(
        "variable '{}' (column {column} of '{}') has no value: add {}=... to the point",
        short(name),
        short(formula),
        short(name)
    )]
    MissingVariable {
        /// The variable.
        name: String,
        /// 1-based column of its first use.
        column: usize,
        /// The formula's text.
        formula: String,
    },
    /// The point gives a variable the formula does not use (usually a typo).
    #[error(
        "unknown variable '{}' in the point: '{}' has {}",
        short(name),
        short(formula),
        short(known)
    )]
    UnknownVariable {
        /// The name given in the point.
        name: String,
        /// The formula's text.
        formula: String,
        /// The variables it does use, in words.
        known: String,
    },
    /// The formula, or one of its parts, is not a finite number at the point.
    #[error("{what} at {point}{hint}")]
    NotFinite {
        /// Which quantity (the value, a part of the formula, a gradient component).
        what: String,
        /// The point, as `x=1, y=2`.
        point: String,
        /// A likely cause, e.g. " (log of a number <= 0)", or empty.
        hint: String,
    },
    /// An option with a value it cannot take (learning rate, tolerance, optimizer name...).
    #[error("{0}")]
    BadOption(String),
    /// The engine refused an operation (should not happen for well-formed formulas).
    #[error("engine error while evaluating '{}': {detail}", short(formula))]
    Engine {
        /// The formula's text.
        formula: String,
        /// The engine's message.
        detail: String,
    },
    /// A figure could not be drawn or written.
    #[error("{0}")]
    Plot(String),
}

impl FormulaError {
    /// A parse error folded onto one line, marking the bad text inside the formula.
    pub fn from_parse(source: &str, err: ParseError) -> FormulaError {
        let text: String = source
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let start = err.column.saturating_sub(1);
        let (before, marked, after) = around(&text, start, start + err.len.max(1));
        let shown = if marked.is_empty() {
            format!("{before} >>here<<")
        } else {
            format!("{before}>>{marked}<<{after}")
        };
        FormulaError::Parse {
            message: err.message.clone(),
            shown,
            source_error: err,
        }
    }

    /// True for errors caused by what the user typed (exit code 2 at the command line).
    pub fn is_input_error(&self) -> bool {
        !matches!(self, FormulaError::Engine { .. } | FormulaError::Plot(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse;

    #[test]
    fn parse_errors_mark_the_text_on_one_line() {
        let src = "1 + sine(x)";
        let e = FormulaError::from_parse(src, parse(src).unwrap_err());
        let msg = e.to_string();
        assert!(msg.contains(">>sine<<(x)"), "{msg}");
        assert!(msg.contains("column 5"), "{msg}");
        assert!(!msg.contains('\n'));
        let src = "x +";
        let msg = FormulaError::from_parse(src, parse(src).unwrap_err()).to_string();
        assert!(msg.contains("x >>+<<"), "{msg}");
    }

    #[test]
    fn a_long_formula_is_cut_around_the_column_it_names() {
        let src = format!("x{})", " ".repeat(9_999));
        let e = FormulaError::from_parse(&src, parse(&src).unwrap_err());
        let msg = e.to_string();
        assert!(msg.contains(" >>)<<"), "{msg}");
        assert!(msg.contains("column 10001"), "{msg}");
        assert!(
            msg.chars().count() < 250,
            "{} characters: {msg}",
            msg.chars().count()
        );
        // A huge number is quoted in short too.
        let src = "1".repeat(10_000);
        let msg = FormulaError::from_parse(&src, parse(&src).unwrap_err()).to_string();
        assert!(msg.chars().count() < 400, "{msg}");
    }
}
