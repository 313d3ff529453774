//! The formula language of `discesa grad/hessian/descend FORMULA --at x=1,y=2`.
//!
//! A formula is parsed into an [`Expr`] tree whose nodes remember where they were written, so
//! every later error can point at the text. The module also evaluates formulas in f64
//! ([`eval`]), differentiates them symbolically ([`diff`]) with a [`simplify`]r that keeps the
//! printed result readable, and reads points such as `x=1,y=-2` ([`parse_point`]).
//!
//! Language: numbers (`1`, `2.5`, `.5`, `1e-3`), variables (`[A-Za-z_][A-Za-z0-9_]*` other than
//! the names below), `+ - * / ^` with the usual precedence, `^` right-associative and tighter
//! than unary minus (`-x^2` is `-(x^2)`; `2^-1` is allowed), parentheses, the functions
//! `exp log ln sqrt sin cos tan tanh sigmoid relu abs step sign` (`log` and `ln` are both the
//! natural logarithm; `step` and `sign` are the derivatives of `relu` and `abs`) and the
//! constants `pi` and `e`. Multiplication is always written: `2x` is an error.
//!
//! ```
//! use discesa::expr::{diff, eval, parse, Env};
//! let f = parse("(x + 2*y^3)^2").unwrap();
//! let dfdx = diff(&f, "x");
//! assert_eq!(dfdx.to_string(), "2*(x + 2*y^3)");
//! let at = Env::new().with("x", 1.0).with("y", 2.0);
//! assert_eq!(eval(&dfdx, &at).unwrap(), 34.0);
//! ```

mod ast;
mod diff;
mod error;
mod eval;
mod func;
mod lexer;
mod parser;
mod point;
mod print;
mod simplify;

#[cfg(test)]
mod proptests;

pub use ast::{Expr, ExprKind, Span};
pub use diff::{derivative, diff, gradient};
pub use error::{EvalError, ParseError};
pub use eval::{eval, Env};
pub use func::{Const, Func, FUNCTION_NAMES};
pub use parser::{parse, MAX_DEPTH};
pub use point::{parse_point, PointError};
pub use print::format_number;
pub use simplify::simplify;
