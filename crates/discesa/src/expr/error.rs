//! Errors of the formula language: where a formula is wrong, and which variable is missing.

use super::ast::Span;

/// A formula that does not parse: what is wrong, and where (1-based column, in characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// Human-readable description, including the column.
    pub message: String,
    /// 1-based column of the offending text, in characters.
    pub column: usize,
    /// Number of characters to underline, at least 1.
    pub len: usize,
}

impl ParseError {
    /// An error underlining `span`.
    pub(crate) fn at(span: Span, message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            column: span.column(),
            len: span.width(),
        }
    }

    /// The message, the formula, and a caret line under the offending text, e.g.
    ///
    /// ```text
    /// error: unexpected ')' at column 4 (no matching '(')
    ///   x+1)
    ///      ^
    /// ```
    ///
    /// Tabs and other control characters in the formula are shown as spaces so that the caret
    /// stays under the right character.
    pub fn render(&self, source: &str) -> String {
        let shown: String = source
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let pad = " ".repeat(self.column.saturating_sub(1));
        let marks = format!("^{}", "~".repeat(self.len.saturating_sub(1)));
        format!("error: {}\n  {}\n  {}{}", self.message, shown, pad, marks)
    }
}

/// A formula that cannot be evaluated at a point.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The formula uses a variable the point does not give.
    #[error("unknown variable '{name}' at column {column}: give it a value, e.g. --at {name}=1")]
    UnknownVariable {
        /// The variable's name.
        name: String,
        /// 1-based column where it is used.
        column: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_puts_caret_and_tildes_under_the_column() {
        let err = ParseError::at(Span::new(4, 8), "unknown function 'sine' at column 5");
        let text = err.render("1 + sine(x)");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "error: unknown function 'sine' at column 5");
        assert_eq!(lines[1], "  1 + sine(x)");
        assert_eq!(lines[2], "      ^~~~");
        let caret = lines[2].find('^').unwrap();
        assert_eq!(&lines[1][caret..caret + 4], "sine");
    }

    #[test]
    fn render_counts_characters_not_bytes_and_hides_tabs() {
        let err = ParseError::at(Span::new(3, 4), "unexpected character '$' at column 4");
        let text = err.render("é\tx$");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "  é x$");
        assert_eq!(lines[2], "     ^");
    }

    #[test]
    fn eval_error_names_variable_and_column() {
        let e = EvalError::UnknownVariable {
            name: "y".into(),
            column: 7,
        };
        let msg = e.to_string();
        assert!(msg.contains("'y'") && msg.contains("column 7"), "{msg}");
    }
}
