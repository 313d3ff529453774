//! Formulas analysed by the engine: a parsed [`crate::expr::Expr`] is lowered onto a
//! [`crate::Tape`] so that its gradient (one backward sweep), Hessian (the gradient
//! differentiated again) and descent paths come from the same reverse-mode machinery that
//! trains networks, not from a separate evaluator.
//!
//! ```
//! use discesa::formula::{analyse_point, Formula, PointKind};
//! let f = Formula::parse("x^2 - y^2").unwrap();
//! let at = f.bind("x=0,y=0").unwrap();
//! let report = analyse_point(&f, &at, 1e-8).unwrap();
//! assert_eq!(report.kind, PointKind::Saddle);
//! assert_eq!(report.eigenvalues, vec![-2.0, 2.0]);
//! ```

mod critical;
mod descent;
mod eigen;
mod error;
mod figures;
mod lower;
mod source;
mod trace;

pub use critical::{analyse_point, classify, PointKind, PointReport, DEFAULT_ZERO_TOL};
pub use descent::{
    descend, optimizer_label, parse_optimizer, validate, DescentOptions, DescentPath, StepRecord,
    StopReason,
};
pub use eigen::{symmetric_eigen, SymmetricEigen};
pub use error::FormulaError;
pub use figures::{path_name, plot_descent, plot_surface};
pub use lower::{lower, Lowered};
pub use source::Formula;
pub use trace::{trace, GradTrace, TraceNode};
