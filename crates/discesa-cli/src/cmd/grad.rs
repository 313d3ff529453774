//! `discesa grad FORMULA --at x=1,y=2`: value, gradient by reverse-mode AD, explicit
//! derivative formulas, a finite-difference check, and optionally the backprop trace and graph.

use super::formula_util::{fail, formula_at, show, to_json_line, write_text, Named, Num};
use crate::fail::CmdResult;
use clap::Args;
use discesa::formula::{trace, GradTrace};
use serde::Serialize;
use std::path::PathBuf;

/// Options of `discesa grad`.
#[derive(Args)]
#[command(after_help = "Examples:
  discesa grad 'sqrt(x^2+exp(x^2))+cos(x^2+exp(x^2))' --at x=1
  discesa grad 'x^2*y + sin(x*y)' --at x=1,y=pi/2 --trace
  discesa grad 'sigmoid(w*x + b)' --at w=0.5,x=2,b=-1 --dot graph.dot   # then: dot -Tpng graph.dot
  discesa grad 'x^2+y^2' --at x=-3,y=-1 --json")]
pub struct GradArgs {
    /// The formula, e.g. 'x^2 + 3*x*y' (functions: exp log ln sqrt sin cos tan tanh sigmoid relu abs step sign; constants pi, e).
    #[arg(allow_hyphen_values = true)]
    pub formula: String,
    /// The point: a value for every variable, e.g. x=1,y=2 (values may be constant formulas such as pi/2).
    #[arg(long, value_name = "POINT", allow_hyphen_values = true)]
    pub at: Option<String>,
    /// Print the forward values node by node, then the adjoints in the order backpropagation computes them.
    #[arg(long)]
    pub trace: bool,
    /// Write the computation graph in Graphviz format, each node with its value and gradient.
    #[arg(long, value_name = "FILE")]
    pub dot: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `discesa grad`.
pub fn run(a: GradArgs) -> CmdResult {
    let (f, x) = formula_at(&a.formula, a.at.as_deref(), "--at")?;
    let (value, grad) = f.checked_gradient(&x).map_err(fail)?;
    let names = f.variables().to_vec();
    let symbolic = f.symbolic_gradient();
    let fd = f.finite_difference(&x);
    let max_err = grad
        .iter()
        .zip(&fd)
        .map(|(g, d)| (g - d).abs())
        .fold(0.0f64, f64::max);
    let tr = if a.trace || a.dot.is_some() {
        Some(trace(&f, &x).map_err(fail)?)
    } else {
        None
    };
    if let (Some(path), Some(t)) = (&a.dot, &tr) {
        write_text(path, &t.to_dot())?;
    }
    if a.json {
        let symbolic: Vec<String> = symbolic.iter().map(|(_, e)| e.to_string()).collect();
        let report = GradReport {
            formula: f.text(),
            variables: &names,
            point: Named::numbers(&names, &x),
            value: Num(value),
            gradient: Named::numbers(&names, &grad),
            symbolic: Named::new(&names, symbolic),
            finite_difference: Named::numbers(&names, &fd),
            max_abs_error: Num(max_err),
            trace: tr.as_ref().filter(|_| a.trace).map(trace_report),
        };
        println!("{}", to_json_line(&report)?);
        return Ok(());
    }
    println!("f = {}", f.text());
    println!("at {}", f.format_point(&x));
    println!("value = {}", show(value));
    if names.is_empty() {
        println!("(no variables: nothing to differentiate)");
        return Ok(());
    }
    println!("gradient (reverse-mode AD, one backward sweep):");
    for (n, g) in names.iter().zip(&grad) {
        println!("  df/d{n} = {}", show(*g));
    }
    println!(
        "|gradient| = {}",
        show(grad.iter().map(|g| g * g).sum::<f64>().sqrt())
    );
    println!("explicit derivatives (symbolic):");
    for (n, e) in &symbolic {
        println!("  df/d{n} = {e}");
    }
    println!("check by central finite differences:");
    for ((n, d), g) in names.iter().zip(&fd).zip(&grad) {
        println!(
            "  df/d{n} ≈ {}   |AD - FD| = {:.2e}",
            show(*d),
            (g - d).abs()
        );
    }
    println!("largest |AD - FD| = {max_err:.2e}");
    if let (true, Some(t)) = (a.trace, &tr) {
        println!();
        println!(
            "forward pass ({} nodes, in the order they are computed):",
            t.nodes.len()
        );
        for l in t.forward_lines() {
            println!("  {l}");
        }
        println!("backward pass (adjoints df/dnode, in the order backpropagation computes them):");
        for l in t.backward_lines() {
            println!("  {l}");
        }
    }
    if let Some(path) = &a.dot {
        println!("graph written to {}", path.display());
    }
    Ok(())
}

/// The `--json` output of `discesa grad`; fields in output order.
#[derive(Serialize)]
struct GradReport<'a> {
    formula: &'a str,
    variables: &'a [String],
    point: Named<'a, Num>,
    value: Num,
    gradient: Named<'a, Num>,
    /// The explicit derivative formulas.
    symbolic: Named<'a, String>,
    finite_difference: Named<'a, Num>,
    max_abs_error: Num,
    /// With `--trace` only: its fields follow `max_abs_error` at the top level.
    #[serde(flatten)]
    trace: Option<TraceReport<'a>>,
}

/// The backprop trace in `discesa grad --trace --json`.
#[derive(Serialize)]
struct TraceReport<'a> {
    trace: Vec<NodeReport<'a>>,
    backward_order: &'a [usize],
}

/// One tape node; `adjoint` is `null` where the backward sweep did not reach the node.
#[derive(Serialize)]
struct NodeReport<'a> {
    id: usize,
    op: &'a str,
    label: &'a str,
    inputs: &'a [usize],
    value: Num,
    adjoint: Option<Num>,
}

fn trace_report(t: &GradTrace) -> TraceReport<'_> {
    TraceReport {
        trace: t
            .nodes
            .iter()
            .map(|n| NodeReport {
                id: n.id,
                op: &n.op,
                label: &n.label,
                inputs: &n.inputs,
                value: Num(n.value),
                adjoint: n.adjoint.map(Num),
            })
            .collect(),
        backward_order: &t.backward_order,
    }
}
