//! Splits a formula into tokens with character spans; rejects characters and numbers it cannot read.

use super::ast::Span;
use super::error::ParseError;

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokKind {
    Num(f64),
    Ident(String),
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    LParen,
    RParen,
    Eof,
}

/// A token, its place in the formula, and its text as written (for messages).
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub kind: TokKind,
    pub span: Span,
    pub text: String,
}

impl TokKind {
    /// Binary or unary operators: an operand must follow them.
    pub fn is_operator(&self) -> bool {
        matches!(
            self,
            TokKind::Plus | TokKind::Minus | TokKind::Star | TokKind::Slash | TokKind::Caret
        )
    }

    /// Tokens that can begin an operand (used to detect implicit multiplication).
    pub fn starts_operand(&self) -> bool {
        matches!(self, TokKind::Num(_) | TokKind::Ident(_) | TokKind::LParen)
    }
}

/// Tokenizes `src`; the last token is always `Eof`, placed one column past the end.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let single = |kind: TokKind| Token {
            kind,
            span: Span::new(start, start + 1),
            text: c.to_string(),
        };
        let digit_at = |j: usize| chars.get(j).is_some_and(|d| d.is_ascii_digit());
        if c.is_ascii_digit() || (c == '.' && digit_at(i + 1)) {
            let (tok, next) = lex_number(&chars, i)?;
            toks.push(tok);
            i = next;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            toks.push(Token {
                kind: TokKind::Ident(text.clone()),
                span: Span::new(start, i),
                text,
            });
            continue;
        }
        let kind = match c {
            '+' => TokKind::Plus,
            '-' => TokKind::Minus,
            '*' => TokKind::Star,
            '/' => TokKind::Slash,
            '^' => TokKind::Caret,
            '(' => TokKind::LParen,
            ')' => TokKind::RParen,
            ',' => {
                return Err(ParseError::at(
                    Span::new(start, start + 1),
                    format!(
                        "unexpected ',' at column {} (functions take exactly one argument)",
                        start + 1
                    ),
                ))
            }
            '.' => {
                return Err(ParseError::at(
                    Span::new(start, start + 1),
                    format!(
                        "unexpected '.' at column {} (a number needs a digit, as in 0.5 or .5)",
                        start + 1
                    ),
                ))
            }
            _ => {
                let hint = match c {
                    '[' | '{' => " (use '(' for grouping)",
                    ']' | '}' => " (use ')' for grouping)",
                    '=' => " (give values with --at, e.g. --at x=1)",
                    _ => "",
                };
                return Err(ParseError::at(
                    Span::new(start, start + 1),
                    format!(
                        "unexpected character '{}' at column {}{}",
                        c.escape_debug(),
                        start + 1,
                        hint
                    ),
                ));
            }
        };
        toks.push(single(kind));
        i += 1;
    }
    toks.push(Token {
        kind: TokKind::Eof,
        span: Span::new(chars.len(), chars.len() + 1),
        text: "end of formula".to_string(),
    });
    Ok(toks)
}

/// Reads `digits [. digits] [(e|E) [+|-] digits]` starting at `start`; returns the token and the
/// index after it. An `e` not followed by an exponent is left for the identifier rule, so `2e`
/// reads as `2` then `e` (and is reported as implicit multiplication).
fn lex_number(chars: &[char], start: usize) -> Result<(Token, usize), ParseError> {
    let digits = |mut j: usize| {
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
        j
    };
    let mut i = digits(start);
    if chars.get(i) == Some(&'.') {
        i = digits(i + 1);
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        let signed = matches!(chars.get(j), Some('+' | '-'));
        if signed {
            j += 1;
        }
        if chars.get(j).is_some_and(|d| d.is_ascii_digit()) {
            i = digits(j);
        } else if signed {
            let text: String = chars[start..j].iter().collect();
            return Err(ParseError::at(
                Span::new(start, j),
                format!(
                    "malformed number '{text}' at column {}: the exponent needs digits, as in 1e-3",
                    start + 1
                ),
            ));
        }
    }
    if chars.get(i) == Some(&'.') {
        let mut j = i;
        while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
            j += 1;
        }
        let text: String = chars[start..j].iter().collect();
        return Err(ParseError::at(
            Span::new(start, j),
            format!(
                "malformed number '{text}' at column {}: more than one decimal point",
                start + 1
            ),
        ));
    }
    let text: String = chars[start..i].iter().collect();
    let span = Span::new(start, i);
    let value: f64 = text.parse().map_err(|_| {
        ParseError::at(
            span,
            format!("malformed number '{text}' at column {}", start + 1),
        )
    })?;
    if !value.is_finite() {
        return Err(ParseError::at(
            span,
            format!(
                "number '{}' at column {} is too large for a 64-bit float",
                crate::snippet::short(&text),
                start + 1
            ),
        ));
    }
    Ok((
        Token {
            kind: TokKind::Num(value),
            span,
            text,
        },
        i,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokKind> {
        lex(src).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn numbers_in_every_accepted_form() {
        for (src, v) in [
            ("1", 1.0),
            ("2.5", 2.5),
            (".5", 0.5),
            ("1e-3", 1e-3),
            ("2E+4", 2e4),
            ("3.", 3.0),
            ("1.5e2", 150.0),
        ] {
            assert_eq!(kinds(src), vec![TokKind::Num(v), TokKind::Eof], "{src}");
        }
    }

    #[test]
    fn e_without_exponent_digits_is_an_identifier() {
        assert_eq!(
            kinds("2e"),
            vec![TokKind::Num(2.0), TokKind::Ident("e".into()), TokKind::Eof]
        );
    }

    #[test]
    fn spans_are_in_characters() {
        let toks = lex(" x_1 *\t(π").unwrap_err();
        assert_eq!(toks.column, 9);
        let toks = lex(" x_1 *\t(").unwrap();
        assert_eq!(toks[0].span, Span::new(1, 4));
        assert_eq!(toks[1].span, Span::new(5, 6));
        assert_eq!(toks[2].span, Span::new(7, 8));
        assert_eq!(toks[3].kind, TokKind::Eof);
        assert_eq!(toks[3].span.column(), 9);
    }

    #[test]
    fn bad_numbers_and_characters_are_reported_with_columns() {
        let e = lex("x + 1.2.3").unwrap_err();
        assert_eq!((e.column, e.len), (5, 5));
        assert!(e.message.contains("'1.2.3'"), "{}", e.message);
        let e = lex("1e+").unwrap_err();
        assert_eq!(e.column, 1);
        assert!(e.message.contains("exponent"), "{}", e.message);
        let e = lex("1e999").unwrap_err();
        assert!(e.message.contains("too large"), "{}", e.message);
        let e = lex("a $ b").unwrap_err();
        assert_eq!(e.message, "unexpected character '$' at column 3");
        let e = lex("f(x, y)").unwrap_err();
        assert_eq!(e.column, 4);
        assert!(e.message.contains("one argument"));
        let e = lex("x + .").unwrap_err();
        assert_eq!(e.column, 5);
    }
}
