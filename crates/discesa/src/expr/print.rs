//! Prints formulas with the fewest parentheses that still parse back to the same tree.

use std::fmt;

use super::ast::{Expr, ExprKind};

/// Binding strength of a node when printed: operands weaker than their slot needs get parentheses.
fn precedence(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Add(..) | ExprKind::Sub(..) => 1,
        ExprKind::Mul(..) | ExprKind::Div(..) => 2,
        ExprKind::Neg(_) => 3,
        // A negative literal prints with a leading minus, so it binds like unary minus.
        ExprKind::Num(v) if *v < 0.0 => 3,
        ExprKind::Pow(..) => 4,
        ExprKind::Num(_) | ExprKind::Var(_) | ExprKind::Const(_) | ExprKind::Call(..) => 5,
    }
}

/// A number in its shortest exact form: `2` not `2.0`, `0.5`, `1e-10`; plain decimals unless
/// scientific notation is clearly shorter. Non-finite values print as `inf`/`NaN`, which do not
/// parse back (the parser and simplifier never produce them).
pub fn format_number(v: f64) -> String {
    if v == 0.0 {
        return "0".to_string();
    }
    let plain = format!("{v}");
    let sci = format!("{v:e}");
    if sci.len() + 3 < plain.len() {
        sci
    } else {
        plain
    }
}

fn write_at(e: &Expr, min: u8, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if precedence(e) < min {
        write!(f, "(")?;
        write_expr(e, f)?;
        write!(f, ")")
    } else {
        write_expr(e, f)
    }
}

fn write_expr(e: &Expr, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    // Left operands accept their own level (left-associative); right operands need a tighter one,
    // so `a-(b-c)` keeps its parentheses. For `^` it is the other way round.
    let binary = |a: &Expr, op: &str, b: &Expr, left: u8, right: u8, f: &mut fmt::Formatter<'_>| {
        write_at(a, left, f)?;
        write!(f, "{op}")?;
        write_at(b, right, f)
    };
    match &e.kind {
        ExprKind::Num(v) => write!(f, "{}", format_number(*v)),
        ExprKind::Var(name) => write!(f, "{name}"),
        ExprKind::Const(c) => write!(f, "{}", c.name()),
        ExprKind::Neg(a) => {
            write!(f, "-")?;
            write_at(a, 3, f)
        }
        ExprKind::Add(a, b) => binary(a, " + ", b, 1, 2, f),
        ExprKind::Sub(a, b) => binary(a, " - ", b, 1, 2, f),
        ExprKind::Mul(a, b) => binary(a, "*", b, 2, 3, f),
        ExprKind::Div(a, b) => binary(a, "/", b, 2, 3, f),
        ExprKind::Pow(a, b) => binary(a, "^", b, 5, 3, f),
        ExprKind::Call(func, a) => {
            write!(f, "{}(", func.name())?;
            write_expr(a, f)?;
            write!(f, ")")
        }
    }
}

impl fmt::Display for Expr {
    /// Prints in the formula language; the text parses back to an equal tree.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_expr(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse;

    fn show(src: &str) -> String {
        parse(src).unwrap().to_string()
    }

    #[test]
    fn minimal_parentheses_respect_precedence_and_associativity() {
        let cases = [
            ("a-(b-c)", "a - (b - c)"),
            ("(a-b)-c", "a - b - c"),
            ("a+(b+c)", "a + (b + c)"),
            ("(a^b)^c", "(a^b)^c"),
            ("a^(b^c)", "a^b^c"),
            ("a/(b*c)", "a/(b*c)"),
            ("(a/b)*c", "a/b*c"),
            ("a*(b/c)", "a*(b/c)"),
            ("(a*b)+(c*d)", "a*b + c*d"),
            ("(a+b)*(c-d)", "(a + b)*(c - d)"),
            ("-(x^2)", "-x^2"),
            ("(-x)^2", "(-x)^2"),
            ("-(x*y)", "-(x*y)"),
            ("(-x)*y", "-x*y"),
            ("x^(-y)", "x^-y"),
            ("x^-(y^2)", "x^-y^2"),
            ("x^(-(y*z))", "x^-(y*z)"),
            ("(-2)^x", "(-2)^x"),
            ("2^-1", "2^-1"),
            ("a - (-b)", "a - -b"),
            ("sin((x+1))*cos(x)", "sin(x + 1)*cos(x)"),
            ("(((x)))", "x"),
            ("ln(x)", "log(x)"),
            ("pi*e", "pi*e"),
        ];
        for (src, want) in cases {
            assert_eq!(show(src), want, "{src}");
            assert_eq!(parse(want).unwrap(), parse(src).unwrap(), "{src}");
        }
    }

    #[test]
    fn numbers_print_compactly() {
        assert_eq!(format_number(2.0), "2");
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(-2.5), "-2.5");
        assert_eq!(format_number(1e-10), "1e-10");
        assert_eq!(format_number(1e20), "1e20");
        assert_eq!(format_number(1000.0), "1000");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(0.001), "0.001");
        for v in [0.1, 1.0 / 3.0, 6.02e23, 1.5e-300, 123456.789] {
            let s = format_number(v);
            assert_eq!(s.parse::<f64>().unwrap(), v, "{s}");
        }
    }
}
