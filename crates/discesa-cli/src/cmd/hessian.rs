//! `discesa hessian FORMULA --at ...`: the Hessian by differentiating the gradient, its
//! eigenvalues, and what the point is (bowl, upside-down bowl, saddle, degenerate).

use super::formula_util::{fail, formula_at, number, show, to_json_line, Named, Num};
use crate::fail::CmdResult;
use clap::Args;
use discesa::expr::format_number;
use discesa::formula::analyse_point;
use serde::Serialize;

/// Options of `discesa hessian`.
#[derive(Args)]
#[command(after_help = "Examples:
  discesa hessian 'x^2+y^2' --at x=0,y=0            # minimum (a bowl)
  discesa hessian 'x^2-y^2' --at x=0,y=0            # saddle
  discesa hessian '-(x^2+y^2)' --at x=0,y=0         # maximum (an upside-down bowl)
  discesa hessian '2*x^2+2*x*y+3*y^2' --at x=1,y=1 --json")]
pub struct HessianArgs {
    /// The formula, e.g. 'x^2 - y^2'.
    #[arg(allow_hyphen_values = true)]
    pub formula: String,
    /// The point: a value for every variable, e.g. x=0,y=0.
    #[arg(long, value_name = "POINT", allow_hyphen_values = true)]
    pub at: Option<String>,
    /// The point is critical if the gradient norm is below this.
    #[arg(
        long,
        default_value = "1e-8",
        value_name = "TOL",
        allow_hyphen_values = true
    )]
    pub tol: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `discesa hessian`.
pub fn run(a: HessianArgs) -> CmdResult {
    let tol = number("--tol", &a.tol)?;
    if tol < 0.0 {
        return Err(crate::fail::Fail::input(format!(
            "--tol {tol} must be >= 0"
        )));
    }
    let (f, x) = formula_at(&a.formula, a.at.as_deref(), "--at")?;
    let r = analyse_point(&f, &x, tol).map_err(fail)?;
    let names = f.variables().to_vec();
    if a.json {
        let report = HessianReport {
            formula: f.text(),
            variables: &names,
            point: Named::numbers(&names, &x),
            value: Num(r.value),
            gradient: Named::numbers(&names, &r.gradient),
            gradient_norm: Num(r.gradient_norm),
            hessian: r
                .hessian
                .iter()
                .map(|row| row.iter().map(|&v| Num(v)).collect())
                .collect(),
            eigenvalues: &r.eigenvalues,
            kind: r.kind.name(),
            critical_point: r.critical_point,
        };
        println!("{}", to_json_line(&report)?);
        return Ok(());
    }
    println!("f = {}", f.text());
    println!("at {}", f.format_point(&x));
    println!("value = {}", show(r.value));
    let g: Vec<String> = r.gradient.iter().map(|v| show(*v)).collect();
    println!(
        "gradient = ({}), |gradient| = {}",
        g.join(", "),
        show(r.gradient_norm)
    );
    println!(
        "Hessian (reverse-mode AD applied to the gradient), rows and columns {}:",
        names.join(", ")
    );
    let cells: Vec<Vec<String>> = r
        .hessian
        .iter()
        .map(|row| row.iter().map(|v| show(*v)).collect())
        .collect();
    let width = cells.iter().flatten().map(String::len).max().unwrap_or(1);
    for row in &cells {
        let padded: Vec<String> = row.iter().map(|c| format!("{c:>width$}")).collect();
        println!("  [ {} ]", padded.join("  "));
    }
    let e: Vec<String> = r.eigenvalues.iter().map(|v| show(*v)).collect();
    println!("eigenvalues: {}", e.join(", "));
    println!("kind: {} ({})", r.kind.name(), r.kind.curvature());
    if r.critical_point {
        println!(
            "critical point: yes (|gradient| = {} < {})",
            show(r.gradient_norm),
            format_number(tol)
        );
    } else {
        println!(
            "critical point: no (|gradient| = {} >= {}): the Hessian says {}, but the point is on a slope",
            show(r.gradient_norm),
            format_number(tol),
            r.kind.curvature()
        );
    }
    Ok(())
}

/// The `--json` output of `discesa hessian`; fields in output order.
#[derive(Serialize)]
struct HessianReport<'a> {
    formula: &'a str,
    variables: &'a [String],
    point: Named<'a, Num>,
    value: Num,
    gradient: Named<'a, Num>,
    gradient_norm: Num,
    /// Rows in the variables' order.
    hessian: Vec<Vec<Num>>,
    /// Plain numbers (`null` when not finite): a computed -0 stays -0 here.
    eigenvalues: &'a [f64],
    kind: &'a str,
    critical_point: bool,
}
