//! Precedence-climbing parser from tokens to [`Expr`], with messages that say what to write instead.
//!
//! Grammar, loosest first:
//! ```text
//! sum     := product (('+' | '-') product)*
//! product := unary (('*' | '/') unary)*
//! unary   := '-' unary | power
//! power   := primary ('^' unary)?          right-associative; -x^2 is -(x^2), 2^-1 is allowed
//! primary := number | constant | variable | function '(' sum ')' | '(' sum ')'
//! ```

use super::ast::{Expr, ExprKind, Span};
use super::error::ParseError;
use super::func::{Const, Func, FUNCTION_NAMES};
use super::lexer::{lex, TokKind, Token};

/// Deepest tree and deepest nesting the parser accepts; keeps every recursive pass over the tree
/// (evaluation, differentiation, printing, dropping) far from the stack limit.
pub const MAX_DEPTH: usize = 256;

/// Parses a formula such as `sqrt(x^2 + exp(x^2)) + cos(x^2 + exp(x^2))`.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        nesting: 0,
    };
    if p.peek().kind == TokKind::Eof {
        return Err(ParseError::at(Span::new(0, 1), "empty formula"));
    }
    let (expr, _) = p.sum()?;
    p.expect_end()?;
    Ok(expr)
}

impl std::str::FromStr for Expr {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Expr, ParseError> {
        parse(s)
    }
}

/// An expression and the depth of its tree.
type Node = (Expr, usize);

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    nesting: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.toks[self.pos]
    }

    fn bump(&mut self) -> Token {
        let tok = self.toks[self.pos].clone();
        if tok.kind != TokKind::Eof {
            self.pos += 1;
        }
        tok
    }

    fn sum(&mut self) -> Result<Node, ParseError> {
        let mut lhs = self.product()?;
        while matches!(self.peek().kind, TokKind::Plus | TokKind::Minus) {
            let op = self.bump();
            let rhs = self.product()?;
            lhs = self.join(&op.kind, lhs, rhs)?;
        }
        Ok(lhs)
    }

    fn product(&mut self) -> Result<Node, ParseError> {
        let mut lhs = self.unary()?;
        while matches!(self.peek().kind, TokKind::Star | TokKind::Slash) {
            let op = self.bump();
            let rhs = self.unary()?;
            lhs = self.join(&op.kind, lhs, rhs)?;
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Node, ParseError> {
        if self.peek().kind != TokKind::Minus {
            return self.power();
        }
        let op = self.bump();
        self.enter(op.span)?;
        let (inner, depth) = self.unary()?;
        self.nesting -= 1;
        let span = op.span.to(inner.span);
        // A minus written directly before a literal is part of the number: `-2` is Num(-2).
        if let ExprKind::Num(v) = inner.kind {
            return Ok((Expr::num(-v, span), depth));
        }
        self.node(Expr::neg(inner, span), depth + 1)
    }

    fn power(&mut self) -> Result<Node, ParseError> {
        let base = self.primary()?;
        if self.peek().kind != TokKind::Caret {
            return Ok(base);
        }
        let op = self.bump();
        self.enter(op.span)?;
        let exponent = self.unary()?;
        self.nesting -= 1;
        self.join(&TokKind::Caret, base, exponent)
    }

    fn primary(&mut self) -> Result<Node, ParseError> {
        let tok = self.peek().clone();
        match &tok.kind {
            TokKind::Num(v) => {
                self.bump();
                Ok((Expr::num(*v, tok.span), 1))
            }
            TokKind::LParen => {
                self.bump();
                if self.peek().kind == TokKind::RParen {
                    let span = tok.span.to(self.peek().span);
                    return Err(ParseError::at(
                        span,
                        format!("empty parentheses at column {}", tok.span.column()),
                    ));
                }
                self.enter(tok.span)?;
                let inner = self.sum()?;
                self.close(&tok)?;
                self.nesting -= 1;
                Ok(inner)
            }
            TokKind::Ident(name) => {
                self.bump();
                self.identifier(name, &tok)
            }
            _ => Err(self.operand_error()),
        }
    }

    /// A function call, a constant or a variable, depending on the name.
    fn identifier(&mut self, name: &str, tok: &Token) -> Result<Node, ParseError> {
        let col = tok.span.column();
        let followed_by_paren = self.peek().kind == TokKind::LParen;
        if let Some(func) = Func::from_name(name) {
            if !followed_by_paren {
                return Err(ParseError::at(
                    tok.span,
                    format!("function '{name}' at column {col} needs parentheses: {name}(x)"),
                ));
            }
            let open = self.bump();
            if self.peek().kind == TokKind::RParen {
                let span = tok.span.to(self.peek().span);
                return Err(ParseError::at(
                    span,
                    format!("function '{name}' at column {col} needs an argument: {name}(x)"),
                ));
            }
            self.enter(open.span)?;
            let (arg, depth) = self.sum()?;
            let close = self.close(&open)?;
            self.nesting -= 1;
            return self.node(Expr::call(func, arg, tok.span.to(close.span)), depth + 1);
        }
        if let Some(c) = Const::from_name(name) {
            if followed_by_paren {
                return Err(ParseError::at(
                    tok.span,
                    format!(
                        "'{name}' at column {col} is a constant, not a function: write '{name}*(...)'"
                    ),
                ));
            }
            return Ok((Expr::new(ExprKind::Const(c), tok.span), 1));
        }
        if followed_by_paren {
            let hint = match suggest_function(name) {
                Some(s) => format!("did you mean '{s}'?"),
                None => format!(
                    "known functions: {}; for a product write '{name}*(...)'",
                    FUNCTION_NAMES.join(", ")
                ),
            };
            return Err(ParseError::at(
                tok.span,
                format!("unknown function '{name}' at column {col} ({hint})"),
            ));
        }
        Ok((Expr::var(name, tok.span), 1))
    }

    /// Consumes the `)` matching `open`.
    fn close(&mut self, open: &Token) -> Result<Token, ParseError> {
        let tok = self.peek().clone();
        match tok.kind {
            TokKind::RParen => Ok(self.bump()),
            TokKind::Eof => Err(ParseError::at(
                open.span,
                format!(
                    "unbalanced parenthesis opened at column {}",
                    open.span.column()
                ),
            )),
            ref k if k.starts_operand() => Err(self.implicit_multiplication()),
            _ => Err(ParseError::at(
                tok.span,
                format!(
                    "unexpected '{}' at column {} (expected ')' to close the '(' at column {})",
                    tok.text,
                    tok.span.column(),
                    open.span.column()
                ),
            )),
        }
    }

    fn expect_end(&self) -> Result<(), ParseError> {
        let tok = self.peek();
        match &tok.kind {
            TokKind::Eof => Ok(()),
            TokKind::RParen => Err(ParseError::at(
                tok.span,
                format!(
                    "unexpected ')' at column {} (no matching '(')",
                    tok.span.column()
                ),
            )),
            k if k.starts_operand() => Err(self.implicit_multiplication()),
            _ => Err(ParseError::at(
                tok.span,
                format!("unexpected '{}' at column {}", tok.text, tok.span.column()),
            )),
        }
    }

    /// An operand directly after another operand, as in `2x` or `(a)(b)`.
    fn implicit_multiplication(&self) -> ParseError {
        let tok = self.peek();
        let left = match self.pos.checked_sub(1).map(|p| &self.toks[p]) {
            Some(prev) if prev.kind == TokKind::RParen => "(...)".to_string(),
            Some(prev) => prev.text.clone(),
            None => String::new(),
        };
        let right = match &tok.kind {
            TokKind::LParen => "(...)".to_string(),
            TokKind::Ident(name) if self.toks[self.pos + 1].kind == TokKind::LParen => {
                format!("{name}(...)")
            }
            _ => tok.text.clone(),
        };
        ParseError::at(
            tok.span,
            format!(
                "implicit multiplication is not allowed at column {}: write '{left}*{right}'",
                tok.span.column()
            ),
        )
    }

    /// Explains why the current token cannot start an operand.
    fn operand_error(&self) -> ParseError {
        let tok = self.peek();
        let prev = self.pos.checked_sub(1).map(|p| &self.toks[p]);
        match prev {
            None => ParseError::at(
                tok.span,
                format!(
                    "unexpected '{}' at column {} (a formula starts with a number, variable, function or '(')",
                    tok.text,
                    tok.span.column()
                ),
            ),
            Some(p) if p.kind.is_operator() => {
                let hint = if p.kind == TokKind::Star && tok.kind == TokKind::Star {
                    " (write powers with '^', as in x^2)"
                } else {
                    ""
                };
                ParseError::at(
                    p.span,
                    format!(
                        "missing operand after '{}' at column {}{hint}",
                        p.text,
                        p.span.column()
                    ),
                )
            }
            Some(p) if p.kind == TokKind::LParen && tok.kind == TokKind::Eof => ParseError::at(
                p.span,
                format!(
                    "unbalanced parenthesis opened at column {}",
                    p.span.column()
                ),
            ),
            Some(_) => ParseError::at(
                tok.span,
                format!("unexpected '{}' at column {}", tok.text, tok.span.column()),
            ),
        }
    }

    fn enter(&mut self, span: Span) -> Result<(), ParseError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(ParseError::at(
                span,
                format!(
                    "formula nests too deeply at column {} (more than {MAX_DEPTH} levels)",
                    span.column()
                ),
            ));
        }
        Ok(())
    }

    fn node(&self, expr: Expr, depth: usize) -> Result<Node, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError::at(
                expr.span,
                format!(
                    "formula at column {} is too deeply nested (more than {MAX_DEPTH} levels of operations)",
                    expr.span.column()
                ),
            ));
        }
        Ok((expr, depth))
    }

    fn join(&self, op: &TokKind, lhs: Node, rhs: Node) -> Result<Node, ParseError> {
        let span = lhs.0.span.to(rhs.0.span);
        let depth = 1 + lhs.1.max(rhs.1);
        let (a, b) = (lhs.0, rhs.0);
        let expr = match op {
            TokKind::Plus => Expr::add(a, b, span),
            TokKind::Minus => Expr::sub(a, b, span),
            TokKind::Star => Expr::mul(a, b, span),
            TokKind::Slash => Expr::div(a, b, span),
            _ => Expr::pow(a, b, span),
        };
        self.node(expr, depth)
    }
}

/// The known function closest to a misspelt name, if it is close enough to be a likely typo.
fn suggest_function(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let limit = if lower.chars().count() <= 3 { 1 } else { 2 };
    FUNCTION_NAMES
        .iter()
        .map(|&f| (edit_distance(&lower, f), f))
        .filter(|&(d, f)| d <= limit && d < f.len())
        .min_by_key(|&(d, _)| d)
        .map(|(_, f)| f)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> ParseError {
        match parse(src) {
            Ok(e) => panic!("{src:?} parsed as {e:?}"),
            Err(e) => e,
        }
    }

    fn num(v: f64) -> Expr {
        Expr::num(v, Span::default())
    }
    fn var(n: &str) -> Expr {
        Expr::var(n, Span::default())
    }
    fn s() -> Span {
        Span::default()
    }

    #[test]
    fn precedence_and_associativity_build_the_expected_trees() {
        let (x, y, z) = (var("x"), var("y"), var("z"));
        assert_eq!(
            parse("x + y*z").unwrap(),
            Expr::add(x.clone(), Expr::mul(y.clone(), z.clone(), s()), s())
        );
        assert_eq!(
            parse("x - y - z").unwrap(),
            Expr::sub(Expr::sub(x.clone(), y.clone(), s()), z.clone(), s())
        );
        assert_eq!(
            parse("x / y / z").unwrap(),
            Expr::div(Expr::div(x.clone(), y.clone(), s()), z.clone(), s())
        );
        assert_eq!(
            parse("x^y^z").unwrap(),
            Expr::pow(x.clone(), Expr::pow(y.clone(), z.clone(), s()), s())
        );
        assert_eq!(
            parse("-x^2").unwrap(),
            Expr::neg(Expr::pow(x.clone(), num(2.0), s()), s())
        );
        assert_eq!(parse("2^-1").unwrap(), Expr::pow(num(2.0), num(-1.0), s()));
        assert_eq!(
            parse("x^-y^2").unwrap(),
            Expr::pow(
                x.clone(),
                Expr::neg(Expr::pow(y.clone(), num(2.0), s()), s()),
                s()
            )
        );
        assert_eq!(
            parse("-x*y").unwrap(),
            Expr::mul(Expr::neg(x.clone(), s()), y.clone(), s())
        );
        assert_eq!(
            parse("x*-y").unwrap(),
            Expr::mul(x.clone(), Expr::neg(y.clone(), s()), s())
        );
        assert_eq!(
            parse("(x + y)*z").unwrap(),
            Expr::mul(Expr::add(x.clone(), y.clone(), s()), z.clone(), s())
        );
        assert_eq!(
            parse("--x").unwrap(),
            Expr::neg(Expr::neg(x.clone(), s()), s())
        );
        assert_eq!(parse("-2").unwrap(), num(-2.0));
    }

    #[test]
    fn functions_constants_and_variables_are_told_apart() {
        assert_eq!(
            parse("ln(x)").unwrap(),
            Expr::call(Func::Log, var("x"), s())
        );
        assert_eq!(parse("pi").unwrap().kind, ExprKind::Const(Const::Pi));
        assert_eq!(parse("e").unwrap().kind, ExprKind::Const(Const::E));
        assert_eq!(parse("exp_1").unwrap(), var("exp_1"));
        assert_eq!(parse("_w2").unwrap(), var("_w2"));
        assert_eq!(
            parse("step(x) + sign(x)").unwrap(),
            Expr::add(
                Expr::call(Func::Step, var("x"), s()),
                Expr::call(Func::Sign, var("x"), s()),
                s()
            )
        );
    }

    #[test]
    fn spans_cover_the_source_text() {
        let e = parse("  sin(x) + y2").unwrap();
        assert_eq!(e.span, Span::new(2, 13));
        let ExprKind::Add(a, b) = &e.kind else {
            panic!("{e:?}")
        };
        assert_eq!(a.span, Span::new(2, 8));
        assert_eq!(b.span, Span::new(11, 13));
        assert_eq!(parse("-3").unwrap().span, Span::new(0, 2));
    }

    #[test]
    fn whitespace_is_optional() {
        assert_eq!(parse("x+2*y").unwrap(), parse(" x +  2 * y ").unwrap());
        assert_eq!(parse("\tsin ( x )").unwrap(), parse("sin(x)").unwrap());
    }

    #[test]
    fn errors_name_the_problem_and_column() {
        let cases: &[(&str, &str, usize)] = &[
            ("(x+1))", "unexpected ')' at column 6", 6),
            ("x + 1)", "unexpected ')' at column 6", 6),
            (
                "sine(x)",
                "unknown function 'sine' at column 1 (did you mean 'sin'?)",
                1,
            ),
            (
                "1 + Exp(x)",
                "unknown function 'Exp' at column 5 (did you mean 'exp'?)",
                5,
            ),
            ("x*(y+(1)", "unbalanced parenthesis opened at column 3", 3),
            ("sin(x", "unbalanced parenthesis opened at column 4", 4),
            ("(", "unbalanced parenthesis opened at column 1", 1),
            ("x + ", "missing operand after '+' at column 3", 3),
            ("1 - 2 + * 3", "missing operand after '+' at column 7", 7),
            ("(x^)", "missing operand after '^' at column 3", 3),
            ("x**2", "missing operand after '*' at column 2", 2),
            ("", "empty formula", 1),
            ("   ", "empty formula", 1),
            (
                "exp x",
                "function 'exp' at column 1 needs parentheses: exp(x)",
                1,
            ),
            (
                "1 + exp",
                "function 'exp' at column 5 needs parentheses: exp(x)",
                5,
            ),
            ("sin()", "function 'sin' at column 1 needs an argument", 1),
            ("()", "empty parentheses at column 1", 1),
            (
                "2x",
                "implicit multiplication is not allowed at column 2: write '2*x'",
                2,
            ),
            ("3 y", "write '3*y'", 3),
            ("(x)(y)", "write '(...)*(...)'", 4),
            ("2sin(x)", "write '2*sin(...)'", 2),
            ("(x 2)", "write 'x*2'", 4),
            ("pi(2)", "'pi' at column 1 is a constant, not a function", 1),
            ("*x", "unexpected '*' at column 1", 1),
            (
                "x + foo(y)",
                "unknown function 'foo' at column 5 (known functions:",
                5,
            ),
        ];
        for &(src, want, col) in cases {
            let e = err(src);
            assert!(
                e.message.contains(want),
                "{src:?}: got {:?}, want {want:?}",
                e.message
            );
            assert_eq!(e.column, col, "{src:?}: {}", e.message);
        }
    }

    #[test]
    fn error_lengths_cover_the_offending_token() {
        assert_eq!(err("sine(x)").len, 4);
        assert_eq!(err("x + 2y1").len, 2);
        let rendered = err("1 + sine(x)").render("1 + sine(x)");
        assert!(rendered.ends_with("\n      ^~~~"), "{rendered}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}x{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(err(&deep).message.contains("nests too deeply"));
        let chain = vec!["x"; 5_000].join("+");
        assert!(err(&chain).message.contains("too deeply nested"));
        let minus = format!("{}x", "-".repeat(5_000));
        assert!(err(&minus).message.contains("nests too deeply"));
        let tower = vec!["x"; 5_000].join("^");
        assert!(err(&tower).message.contains("nests too deeply"));
        let ok = format!("{}x{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(parse(&ok).unwrap(), var("x"));
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        assert_eq!(suggest_function("sqr"), Some("sqrt"));
        assert_eq!(suggest_function("sigmod"), Some("sigmoid"));
        assert_eq!(suggest_function("TANH"), Some("tanh"));
        assert_eq!(suggest_function("foo"), None);
        assert_eq!(suggest_function("q"), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
