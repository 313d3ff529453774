//! Algebraic clean-up so that derivatives read as a person would write them.
//!
//! Sums are flattened into signed terms (like terms merged, numbers folded to one constant at the
//! end, `a + -b` written `a - b`); products into a numeric coefficient in front, then factors
//! with merged powers (`x*x` is `x^2`), negative powers moving below a fraction bar (`a*b^-1` is
//! `a/b`). The rewrites keep the value wherever the input is defined; where it is not (`x/x` at
//! 0, `0*(1/0)`) the result may be defined. Number folding only keeps results that print
//! briefly (`2^-2` becomes `0.25`, `exp(1)` stays) and never creates infinities.

use super::ast::{Expr, ExprKind, Span};
use super::func::{Const, Func};

/// Simplification passes before giving up on reaching a fixed point.
const MAX_PASSES: usize = 8;

/// Returns a simpler expression with the same values (see the module notes for the rules).
pub fn simplify(expr: &Expr) -> Expr {
    let mut current = pass(expr);
    for _ in 1..MAX_PASSES {
        let next = pass(&current);
        if next == current {
            return next;
        }
        current = next;
    }
    current
}

/// One bottom-up rebuild through the smart constructors.
fn pass(e: &Expr) -> Expr {
    let s = e.span;
    match &e.kind {
        ExprKind::Num(v) => Expr::num(v + 0.0, s),
        ExprKind::Var(_) | ExprKind::Const(_) => e.clone(),
        ExprKind::Neg(a) => neg(pass(a), s),
        ExprKind::Add(a, b) => add(pass(a), pass(b), s),
        ExprKind::Sub(a, b) => sub(pass(a), pass(b), s),
        ExprKind::Mul(a, b) => mul(pass(a), pass(b), s),
        ExprKind::Div(a, b) => div(pass(a), pass(b), s),
        ExprKind::Pow(a, b) => pow(pass(a), pass(b), s),
        ExprKind::Call(f, a) => call(*f, pass(a), s),
    }
}

/// `a + b`, simplified.
pub(crate) fn add(a: Expr, b: Expr, s: Span) -> Expr {
    sum_of(Expr::add(a, b, s))
}

/// `a - b`, simplified.
pub(crate) fn sub(a: Expr, b: Expr, s: Span) -> Expr {
    sum_of(Expr::sub(a, b, s))
}

/// `-a`, simplified: sums distribute the sign, products move it to the coefficient.
pub(crate) fn neg(a: Expr, s: Span) -> Expr {
    if is_sum(&a) {
        sum_of(Expr::neg(a, s))
    } else {
        product_of(Expr::neg(a, s))
    }
}

/// `a * b`, simplified.
pub(crate) fn mul(a: Expr, b: Expr, s: Span) -> Expr {
    product_of(Expr::mul(a, b, s))
}

/// `a / b`, simplified.
pub(crate) fn div(a: Expr, b: Expr, s: Span) -> Expr {
    product_of(Expr::div(a, b, s))
}

/// `b ^ g`, simplified: `x^0`, `x^1`, `1^g`, number folding, `(a^h)^k = a^(h*k)` for integer k,
/// `sqrt(u)^2 = u`, negative exponents as fractions.
pub(crate) fn pow(b: Expr, g: Expr, s: Span) -> Expr {
    if let Some(k) = g.as_num() {
        if k == 0.0 {
            return Expr::num(1.0, s);
        }
        if k == 1.0 {
            return b;
        }
        if let Some(x) = b.as_num() {
            let r = x.powf(k);
            if is_nice(r) {
                return Expr::num(r + 0.0, s);
            }
        }
        if k < 0.0 {
            let positive = pow(b, Expr::num(-k, g.span), s);
            return product_of(Expr::div(Expr::num(1.0, s), positive, s));
        }
        match &b.kind {
            ExprKind::Pow(a, h) if k.fract() == 0.0 => {
                return pow((**a).clone(), mul((**h).clone(), g, s), s);
            }
            ExprKind::Call(Func::Sqrt, u) if k == 2.0 => return (**u).clone(),
            _ => {}
        }
    }
    if b.as_num() == Some(1.0) {
        return Expr::num(1.0, s);
    }
    if let ExprKind::Neg(h) = &g.kind {
        let positive = pow(b, (**h).clone(), s);
        return product_of(Expr::div(Expr::num(1.0, s), positive, s));
    }
    Expr::pow(b, g, s)
}

/// `f(a)`, simplified: numbers fold when the result is brief, `log(e) = 1`, `log(exp(u)) = u`.
pub(crate) fn call(f: Func, a: Expr, s: Span) -> Expr {
    if let Some(x) = a.as_num() {
        let v = f.apply(x);
        if is_nice(v) {
            return Expr::num(v + 0.0, s);
        }
    }
    match (f, &a.kind) {
        (Func::Log, ExprKind::Const(Const::E)) => Expr::num(1.0, s),
        (Func::Log, ExprKind::Call(Func::Exp, u)) => (**u).clone(),
        _ => Expr::call(f, a, s),
    }
}

fn is_sum(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Add(..) | ExprKind::Sub(..))
}

/// Whether a folded number prints briefly: an integer, or at most 6 significant digits.
fn is_nice(v: f64) -> bool {
    if !v.is_finite() {
        return false;
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return true;
    }
    let sci = format!("{:e}", v.abs());
    let mantissa = sci.split('e').next().unwrap_or_default();
    mantissa.chars().filter(char::is_ascii_digit).count() <= 6
}

// ---------------------------------------------------------------------------------------------
// Sums

/// Rebuilds a sum from its flattened terms; falls back to `e` if folding would overflow.
fn sum_of(e: Expr) -> Expr {
    let mut constant = 0.0;
    let mut terms: Vec<(f64, Expr)> = Vec::new();
    collect_sum(&e, 1.0, &mut constant, &mut terms);
    if !constant.is_finite() || terms.iter().any(|(c, _)| !c.is_finite()) {
        return e;
    }
    build_sum(constant, terms, e.span)
}

fn collect_sum(e: &Expr, sign: f64, constant: &mut f64, terms: &mut Vec<(f64, Expr)>) {
    match &e.kind {
        ExprKind::Add(a, b) => {
            collect_sum(a, sign, constant, terms);
            collect_sum(b, sign, constant, terms);
        }
        ExprKind::Sub(a, b) => {
            collect_sum(a, sign, constant, terms);
            collect_sum(b, -sign, constant, terms);
        }
        ExprKind::Neg(a) => collect_sum(a, -sign, constant, terms),
        ExprKind::Num(v) => *constant += sign * v,
        _ => match split_coefficient(e) {
            (c, None) => *constant += sign * c,
            (c, Some(rest)) if c.abs() == 1.0 && is_sum(&rest) => {
                collect_sum(&rest, sign * c, constant, terms)
            }
            (c, Some(rest)) => match terms.iter_mut().find(|t| t.1 == rest) {
                Some(t) => t.0 += sign * c,
                None => terms.push((sign * c, rest)),
            },
        },
    }
}

/// Splits `c*rest` into its numeric coefficient and the rest (`None` if it is only a number).
fn split_coefficient(e: &Expr) -> (f64, Option<Expr>) {
    if !matches!(
        e.kind,
        ExprKind::Mul(..) | ExprKind::Div(..) | ExprKind::Neg(_)
    ) {
        return (1.0, Some(e.clone()));
    }
    let mut p = Product::collect(e);
    if !p.num.is_finite() || !p.den.is_finite() || p.den == 0.0 {
        return (1.0, Some(e.clone()));
    }
    if p.num == 0.0 {
        return (0.0, None);
    }
    if p.den < 0.0 {
        p.num = -p.num;
        p.den = -p.den;
    }
    // With a numeric denominator only the sign comes out (`-x/3` is the term `x/3` subtracted).
    let c = if p.den == 1.0 { p.num } else { p.num.signum() };
    if p.factors.is_empty() && p.den == 1.0 {
        return (c, None);
    }
    p.num /= c;
    match p.build(e.span) {
        Some(rest) => (c, Some(rest)),
        None => (1.0, Some(e.clone())),
    }
}

fn build_sum(constant: f64, terms: Vec<(f64, Expr)>, s: Span) -> Expr {
    let mut parts: Vec<(f64, Option<Expr>)> = terms
        .into_iter()
        .filter(|(c, _)| *c != 0.0)
        .map(|(c, r)| (c, Some(r)))
        .collect();
    if constant != 0.0 {
        parts.push((constant, None));
    }
    // Lead with a positive term when there is one: `1 - x^2` rather than `-x^2 + 1`.
    if parts.first().is_some_and(|p| p.0 < 0.0) {
        if let Some(i) = parts.iter().position(|p| p.0 > 0.0) {
            let positive = parts.remove(i);
            parts.insert(0, positive);
        }
    }
    let mut acc: Option<Expr> = None;
    for (c, rest) in parts {
        acc = Some(match acc {
            None => scaled(c, rest, s),
            Some(a) if c < 0.0 => Expr::sub(a, scaled(-c, rest, s), s),
            Some(a) => Expr::add(a, scaled(c, rest, s), s),
        });
    }
    acc.unwrap_or_else(|| Expr::num(0.0, s))
}

/// `c * rest`, or the number `c` alone.
fn scaled(c: f64, rest: Option<Expr>, s: Span) -> Expr {
    match rest {
        None => Expr::num(c, s),
        Some(r) if c == 1.0 => r,
        Some(r) => product_of(Expr::mul(Expr::num(c, s), r, s)),
    }
}

// ---------------------------------------------------------------------------------------------
// Products

/// Rebuilds a product from its coefficient and factors; falls back to `e` on overflow.
fn product_of(e: Expr) -> Expr {
    Product::collect(&e).build(e.span).unwrap_or(e)
}

/// A flattened product: `num/den * Π base^exponent`.
struct Product {
    num: f64,
    den: f64,
    factors: Vec<(Expr, Expr)>,
}

impl Product {
    fn collect(e: &Expr) -> Product {
        let mut p = Product {
            num: 1.0,
            den: 1.0,
            factors: Vec::new(),
        };
        p.absorb(e, false);
        p
    }

    fn absorb(&mut self, e: &Expr, inverse: bool) {
        match &e.kind {
            ExprKind::Mul(a, b) => {
                self.absorb(a, inverse);
                self.absorb(b, inverse);
            }
            ExprKind::Div(a, b) => {
                self.absorb(a, inverse);
                self.absorb(b, !inverse);
            }
            ExprKind::Neg(a) => {
                self.num = -self.num;
                self.absorb(a, inverse);
            }
            ExprKind::Num(v) if !inverse => self.num *= v,
            // Division by the literal 0 stays visible as a factor instead of folding to inf.
            ExprKind::Num(v) if *v != 0.0 => self.den *= v,
            ExprKind::Pow(b, g) => {
                let g = if inverse {
                    neg((**g).clone(), g.span)
                } else {
                    (**g).clone()
                };
                self.push(b, g);
            }
            _ => self.push(e, Expr::num(if inverse { -1.0 } else { 1.0 }, e.span)),
        }
    }

    fn push(&mut self, base: &Expr, exponent: Expr) {
        match self.factors.iter_mut().find(|f| f.0 == *base) {
            Some(f) => {
                let span = f.1.span;
                f.1 = add(f.1.clone(), exponent, span);
            }
            None => self.factors.push((base.clone(), exponent)),
        }
    }

    /// The product as `coefficient * factors / (coefficient * factors)`, or `None` if the
    /// coefficient overflowed.
    fn build(self, s: Span) -> Option<Expr> {
        let (mut num, mut den) = (self.num, self.den);
        if !num.is_finite() || !den.is_finite() {
            return None;
        }
        if num == 0.0 {
            return Some(Expr::num(0.0, s));
        }
        if den < 0.0 {
            num = -num;
            den = -den;
        }
        if den != 1.0 {
            // Whole quotients fold (`6*x/3` is `2*x`), integer ratios stay fractions in lowest
            // terms (`2*x/4` is `x/2`), other ratios fold when the quotient is brief.
            let q = num / den;
            let integers = num.fract() == 0.0 && den.fract() == 0.0 && num.abs().max(den) < 9e15;
            if q.fract() == 0.0 && q.is_finite() {
                num = q;
                den = 1.0;
            } else if integers {
                let g = gcd(num.abs() as u64, den as u64) as f64;
                num /= g;
                den /= g;
            } else if is_nice(q) {
                num = q;
                den = 1.0;
            }
        }
        let mut upper = Vec::new();
        let mut lower = Vec::new();
        for (base, exponent) in self.factors {
            match &exponent.kind {
                ExprKind::Num(k) if *k == 0.0 => {}
                ExprKind::Num(k) if *k < 0.0 => {
                    lower.push(power(base, Expr::num(-k, exponent.span), s))
                }
                ExprKind::Neg(g) => lower.push(power(base, (**g).clone(), s)),
                _ => upper.push(power(base, exponent, s)),
            }
        }
        let numerator = if upper.is_empty() {
            Expr::num(num, s)
        } else if num == 1.0 {
            chain(upper, s)
        } else if num == -1.0 {
            if upper.len() == 1 && lower.is_empty() && den == 1.0 && is_sum(&upper[0]) {
                let only = upper.remove(0);
                return Some(sum_of(Expr::neg(only, s)));
            }
            let first = upper.remove(0);
            upper.insert(0, Expr::neg(first, s));
            chain(upper, s)
        } else {
            upper.insert(0, Expr::num(num, s));
            chain(upper, s)
        };
        if lower.is_empty() && den == 1.0 {
            return Some(numerator);
        }
        if den != 1.0 {
            lower.insert(0, Expr::num(den, s));
        }
        Some(Expr::div(numerator, chain(lower, s), s))
    }
}

/// `base^exponent`, or `base` when the exponent is 1.
fn power(base: Expr, exponent: Expr, s: Span) -> Expr {
    if exponent.as_num() == Some(1.0) {
        base
    } else {
        pow(base, exponent, s)
    }
}

/// Left-associated product of non-empty `factors`.
fn chain(factors: Vec<Expr>, s: Span) -> Expr {
    let mut it = factors.into_iter();
    let first = it.next().unwrap_or_else(|| Expr::num(1.0, s));
    it.fold(first, |acc, f| Expr::mul(acc, f, s))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{eval, parse, Env};

    fn simp(src: &str) -> String {
        simplify(&parse(src).unwrap()).to_string()
    }

    #[test]
    fn identities_disappear() {
        let cases = [
            ("x*1", "x"),
            ("1*x", "x"),
            ("x + 0", "x"),
            ("0 + x", "x"),
            ("x - 0", "x"),
            ("0 - x", "-x"),
            ("0*sin(x)", "0"),
            ("sin(x)*0", "0"),
            ("x^1", "x"),
            ("x^0", "1"),
            ("1^x", "1"),
            ("--x", "x"),
            ("-(-(x*y))", "x*y"),
            ("x/1", "x"),
            ("0/x", "0"),
            ("x - x", "0"),
            ("x/x", "1"),
        ];
        for (src, want) in cases {
            assert_eq!(simp(src), want, "{src}");
        }
    }

    #[test]
    fn numbers_fold_and_coefficients_move_to_the_front() {
        let cases = [
            ("2*3", "6"),
            ("2*x*3", "6*x"),
            ("x*2", "2*x"),
            ("2 + x + 3", "x + 5"),
            ("2^3", "8"),
            ("2^-1", "0.5"),
            ("1/4", "1/4"),
            ("6*x/3", "2*x"),
            ("0.5*x/2", "0.25*x"),
            ("1/3", "1/3"),
            ("4/6", "2/3"),
            ("x/2", "x/2"),
            ("2*x/4", "x/2"),
            ("-2*-x", "2*x"),
            ("x*-3", "-3*x"),
            ("exp(0)", "1"),
            ("log(1)", "0"),
            ("sigmoid(0)", "0.5"),
            ("log(e)", "1"),
            ("log(exp(x + 1))", "x + 1"),
            ("exp(1)", "exp(1)"),
            ("2^0.5", "2^0.5"),
        ];
        for (src, want) in cases {
            assert_eq!(simp(src), want, "{src}");
        }
    }

    #[test]
    fn powers_fractions_and_signs_read_naturally() {
        let cases = [
            ("x*x", "x^2"),
            ("x*x*x", "x^3"),
            ("x^2*x^3", "x^5"),
            ("x^a*x^b", "x^(a + b)"),
            ("a*b^-1", "a/b"),
            ("a*b^-2", "a/b^2"),
            ("x^-1", "1/x"),
            ("x^-y", "1/x^y"),
            ("a + -b", "a - b"),
            ("a - -b", "a + b"),
            ("a + -2*b", "a - 2*b"),
            ("-a + b", "b - a"),
            ("-a - b + 2", "2 - a - b"),
            ("-a - b", "-a - b"),
            ("x + x", "2*x"),
            ("3*x - x", "2*x"),
            ("x*y - y*x", "x*y - y*x"),
            ("-(a + b)", "-a - b"),
            ("-1*(a - b)", "b - a"),
            ("2*(a + b)", "2*(a + b)"),
            ("(x^2)^3", "x^6"),
            ("(x^2)^0.5", "(x^2)^0.5"),
            ("sqrt(x)^2", "x"),
            ("x/(y/z)", "x*z/y"),
            ("(x/y)/z", "x/(y*z)"),
            ("-x/y", "-x/y"),
            ("x/-y", "-x/y"),
            ("a*(1/b)", "a/b"),
            ("1/(2*x)", "1/(2*x)"),
            ("x/0", "x/0"),
        ];
        for (src, want) in cases {
            assert_eq!(simp(src), want, "{src}");
        }
    }

    #[test]
    fn simplified_values_match_where_defined() {
        let env = Env::new()
            .with("x", 0.7)
            .with("y", -1.3)
            .with("a", 2.1)
            .with("b", 0.4);
        for src in [
            "x*x*y/x",
            "(x + y)*2 - 2*y",
            "-(x - y)*3/6",
            "x^2*x^-3*y",
            "sqrt(a)^2 + (b^2)^3",
            "2*x/4 + 0*y - -x",
            "exp(log(a)) * a^-b * a^b",
        ] {
            let e = parse(src).unwrap();
            let want = eval(&e, &env).unwrap();
            let got = eval(&simplify(&e), &env).unwrap();
            assert!(
                (got - want).abs() <= 1e-12 * (1.0 + want.abs()),
                "{src}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn huge_numbers_never_fold_to_infinity() {
        let e = simplify(&parse("1e308*10*x").unwrap());
        let v = eval(&e, &Env::new().with("x", 0.0)).unwrap();
        assert!(!e.to_string().contains("inf"), "{e}");
        assert!(v.is_nan() || v == 0.0);
        assert!(!simplify(&parse("1e308 + 1e308").unwrap())
            .to_string()
            .contains("inf"));
        assert!(!simplify(&parse("10^400").unwrap())
            .to_string()
            .contains("inf"));
    }

    #[test]
    fn nice_numbers() {
        assert!(is_nice(0.25));
        assert!(is_nice(-1234.0));
        assert!(is_nice(1e-10));
        assert!(!is_nice(1.0 / 3.0));
        assert!(!is_nice(f64::INFINITY));
        assert_eq!(gcd(12, 18), 6);
    }
}
