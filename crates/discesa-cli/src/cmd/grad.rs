//! `discesa grad FORMULA --at x=1,y=2`: value, gradient by reverse-mode AD, explicit
//! derivative formulas, a finite-difference check, and optionally the backprop trace and graph.

use super::formula_util::{fail, formula_at, show, write_text, Obj};
use crate::fail::CmdResult;
use clap::Args;
use discesa::formula::trace;
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
        let sym: Vec<String> = symbolic.iter().map(|(_, e)| e.to_string()).collect();
        let sym_obj = names
            .iter()
            .zip(&sym)
            .fold(Obj::new(), |o, (n, s)| o.field(n, s.as_str()));
        let mut out = Obj::new()
            .field("formula", f.text())
            .field("variables", serde_json::Value::from(names.clone()))
            .field("point", Obj::numbers(&names, &x))
            .field("value", value)
            .field("gradient", Obj::numbers(&names, &grad))
            .field("symbolic", sym_obj)
            .field("finite_difference", Obj::numbers(&names, &fd))
            .field("max_abs_error", max_err);
        if let (true, Some(t)) = (a.trace, &tr) {
            let nodes: Vec<Obj> = t
                .nodes
                .iter()
                .map(|n| {
                    Obj::new()
                        .field("id", n.id)
                        .field("op", n.op.as_str())
                        .field("label", n.label.as_str())
                        .field("inputs", serde_json::Value::from(n.inputs.clone()))
                        .field("value", n.value)
                        .field("adjoint", n.adjoint.unwrap_or(f64::NAN))
                })
                .collect();
            out = out.field("trace", nodes).field(
                "backward_order",
                serde_json::Value::from(t.backward_order.clone()),
            );
        }
        println!("{}", out.render());
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
