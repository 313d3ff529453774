//! The expression tree: every node carries the span of formula text it came from.

use super::func::{Const, Func};

/// A range of characters in the formula, 0-based, end exclusive (characters, not bytes).
///
/// Nodes built by differentiation or simplification carry the span of the source node they were
/// derived from, so an error found in a derivative can still point at the formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Index of the first character.
    pub start: usize,
    /// Index one past the last character.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (character indices).
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The 1-based column of the first character, as shown to users.
    pub fn column(self) -> usize {
        self.start + 1
    }

    /// The number of characters covered, at least 1 so a caret is always drawn.
    pub fn width(self) -> usize {
        self.end.saturating_sub(self.start).max(1)
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A formula node: what it is, and where in the source it came from.
///
/// Equality compares the tree only and ignores spans, so a parsed formula equals the same
/// formula built by hand or parsed from differently spaced text.
#[derive(Debug, Clone)]
pub struct Expr {
    /// The operation or leaf.
    pub kind: ExprKind,
    /// Where in the formula it was written.
    pub span: Span,
}

/// The operations and leaves of the formula language.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A finite number literal.
    Num(f64),
    /// A variable, by name.
    Var(String),
    /// `pi` or `e`.
    Const(Const),
    /// Unary minus.
    Neg(Box<Expr>),
    /// `a + b`.
    Add(Box<Expr>, Box<Expr>),
    /// `a - b`.
    Sub(Box<Expr>, Box<Expr>),
    /// `a * b`.
    Mul(Box<Expr>, Box<Expr>),
    /// `a / b`.
    Div(Box<Expr>, Box<Expr>),
    /// `a ^ b`.
    Pow(Box<Expr>, Box<Expr>),
    /// `f(a)`.
    Call(Func, Box<Expr>),
}

impl PartialEq for Expr {
    fn eq(&self, other: &Expr) -> bool {
        self.kind == other.kind
    }
}

impl Expr {
    /// A node from its kind and span.
    pub fn new(kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }

    /// A number literal.
    pub fn num(value: f64, span: Span) -> Expr {
        Expr::new(ExprKind::Num(value), span)
    }

    /// A variable reference.
    pub fn var(name: impl Into<String>, span: Span) -> Expr {
        Expr::new(ExprKind::Var(name.into()), span)
    }

    /// `-a`, without simplification.
    pub fn neg(a: Expr, span: Span) -> Expr {
        Expr::new(ExprKind::Neg(Box::new(a)), span)
    }

    /// `a + b`, without simplification.
    pub fn add(a: Expr, b: Expr, span: Span) -> Expr {
        Expr::new(ExprKind::Add(Box::new(a), Box::new(b)), span)
    }

    /// `a - b`, without simplification.
    pub fn sub(a: Expr, b: Expr, span: Span) -> Expr {
        Expr::new(ExprKind::Sub(Box::new(a), Box::new(b)), span)
    }

    /// `a * b`, without simplification.
    pub fn mul(a: Expr, b: Expr, span: Span) -> Expr {
        Expr::new(ExprKind::Mul(Box::new(a), Box::new(b)), span)
    }

    /// `a / b`, without simplification.
    pub fn div(a: Expr, b: Expr, span: Span) -> Expr {
        Expr::new(ExprKind::Div(Box::new(a), Box::new(b)), span)
    }

    /// `a ^ b`, without simplification.
    pub fn pow(a: Expr, b: Expr, span: Span) -> Expr {
        Expr::new(ExprKind::Pow(Box::new(a), Box::new(b)), span)
    }

    /// `f(a)`, without simplification.
    pub fn call(f: Func, a: Expr, span: Span) -> Expr {
        Expr::new(ExprKind::Call(f, Box::new(a)), span)
    }

    /// The numeric value if this node is a number literal.
    pub fn as_num(&self) -> Option<f64> {
        match self.kind {
            ExprKind::Num(v) => Some(v),
            _ => None,
        }
    }

    /// The variable names in order of first appearance, each once; this is the order the CLI
    /// uses for gradient components.
    pub fn variables(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        self.visit(&mut |e| {
            if let ExprKind::Var(name) = &e.kind {
                if !out.iter().any(|n| n == name) {
                    out.push(name.clone());
                }
            }
        });
        out
    }

    /// Whether the variable occurs anywhere in the expression (if not, its derivative is 0).
    pub fn contains_var(&self, var: &str) -> bool {
        let mut found = false;
        self.visit(&mut |e| {
            if matches!(&e.kind, ExprKind::Var(n) if n == var) {
                found = true;
            }
        });
        found
    }

    /// Calls `f` on every node, parents before children, left operand before right: the same
    /// order as the source text.
    pub fn visit(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Num(_) | ExprKind::Var(_) | ExprKind::Const(_) => {}
            ExprKind::Neg(a) | ExprKind::Call(_, a) => a.visit(f),
            ExprKind::Add(a, b)
            | ExprKind::Sub(a, b)
            | ExprKind::Mul(a, b)
            | ExprKind::Div(a, b)
            | ExprKind::Pow(a, b) => {
                a.visit(f);
                b.visit(f);
            }
        }
    }

    /// The number of nodes, a measure of how readable a result is.
    pub fn size(&self) -> usize {
        let mut n = 0;
        self.visit(&mut |_| n += 1);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s() -> Span {
        Span::default()
    }

    #[test]
    fn equality_ignores_spans() {
        let a = Expr::add(
            Expr::var("x", Span::new(0, 1)),
            Expr::num(1.0, Span::new(4, 5)),
            s(),
        );
        let b = Expr::add(Expr::var("x", s()), Expr::num(1.0, s()), Span::new(3, 9));
        assert_eq!(a, b);
        assert_ne!(a, Expr::add(Expr::var("y", s()), Expr::num(1.0, s()), s()));
    }

    #[test]
    fn variables_in_first_appearance_order_without_duplicates() {
        let e = Expr::mul(
            Expr::add(Expr::var("y", s()), Expr::var("x", s()), s()),
            Expr::call(Func::Sin, Expr::var("y", s()), s()),
            s(),
        );
        assert_eq!(e.variables(), vec!["y".to_string(), "x".to_string()]);
        assert!(e.contains_var("x"));
        assert!(!e.contains_var("z"));
        assert_eq!(e.size(), 6);
    }

    #[test]
    fn span_width_and_column() {
        let sp = Span::new(2, 5);
        assert_eq!(sp.column(), 3);
        assert_eq!(sp.width(), 3);
        assert_eq!(Span::new(4, 4).width(), 1);
        assert_eq!(sp.to(Span::new(0, 1)), Span::new(0, 5));
    }
}
