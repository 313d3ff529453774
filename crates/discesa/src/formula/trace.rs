//! The bookkeeping of backpropagation made visible: every node's forward value, then every
//! adjoint in the order the backward sweep computes it, and the same graph for Graphviz.

use super::lower::lower;
use super::{Formula, FormulaError};
use crate::autodiff::Tape;
use crate::expr::format_number;

/// One node of the recorded graph.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceNode {
    /// Tape position (forward order).
    pub id: usize,
    /// The engine's operation name (`input`, `const`, `mul`, `exp`, `pow 2`, ...).
    pub op: String,
    /// The variable name for inputs, else the sub-formula the node computes.
    pub label: String,
    /// Input node ids.
    pub inputs: Vec<usize>,
    /// Forward value.
    pub value: f64,
    /// ∂f/∂node, if the backward sweep reached it (constants are not reached).
    pub adjoint: Option<f64>,
}

/// The forward and backward passes of one gradient evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct GradTrace {
    /// Nodes in forward (creation) order.
    pub nodes: Vec<TraceNode>,
    /// Node ids in the order the backward sweep computed their adjoints (output first).
    pub backward_order: Vec<usize>,
    /// Id of the output node.
    pub output: usize,
}

/// Records `formula` at `x` on a tape, runs one backward sweep and keeps every value and
/// adjoint. The value must be finite at `x`.
pub fn trace(formula: &Formula, x: &[f64]) -> Result<GradTrace, FormulaError> {
    formula.check_finite(x)?;
    let tape = Tape::new();
    let low = lower(&tape, formula.expr(), formula.variables(), x)?;
    let engine = |e: crate::Error| FormulaError::Engine {
        formula: formula.text().to_string(),
        detail: e.to_string(),
    };
    let grads = tape.backward(low.output).map_err(engine)?;
    let nodes = tape
        .describe()
        .into_iter()
        .map(|n| {
            let value = n.value.item().map_err(engine)?;
            let label = low
                .labels
                .get(&n.id)
                .cloned()
                .unwrap_or_else(|| n.op.clone());
            Ok(TraceNode {
                id: n.id,
                adjoint: grads.by_id(n.id).and_then(|g| g.item().ok()),
                op: n.op,
                label,
                inputs: n.inputs,
                value,
            })
        })
        .collect::<Result<Vec<_>, FormulaError>>()?;
    Ok(GradTrace {
        nodes,
        backward_order: grads.order().to_vec(),
        output: low.output.id(),
    })
}

impl GradTrace {
    /// `#3  mul      x*x           = 1` lines, forward order.
    pub fn forward_lines(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| {
                let args = if n.inputs.is_empty() {
                    String::new()
                } else {
                    let ids: Vec<String> = n.inputs.iter().map(|i| format!("#{i}")).collect();
                    format!("({})", ids.join(", "))
                };
                format!(
                    "#{:<3} {:<8} {:<12} {:<28} = {}",
                    n.id,
                    n.op,
                    args,
                    n.label,
                    format_number(n.value)
                )
            })
            .collect()
    }

    /// `∂f/∂[#3 x*x] = 0.5` lines in the order backpropagation computes them.
    pub fn backward_lines(&self) -> Vec<String> {
        self.backward_order
            .iter()
            .filter_map(|&id| {
                let n = self.nodes.get(id)?;
                let adj = n.adjoint?;
                Some(format!(
                    "#{:<3} {:<8} {:<28} df/dnode = {}",
                    n.id,
                    n.op,
                    n.label,
                    format_number(adj)
                ))
            })
            .collect()
    }

    /// The graph in Graphviz `dot` format: one box per node with its operation, sub-formula,
    /// value and gradient; inputs in green, the output in orange.
    pub fn to_dot(&self) -> String {
        let mut s = String::from(
            "digraph formula {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
        );
        for n in &self.nodes {
            let grad = n
                .adjoint
                .map(format_number)
                .unwrap_or_else(|| "-".to_string());
            let title = if n.op == "input" {
                n.label.clone()
            } else {
                format!("{}: {}", n.op, n.label)
            };
            let color = if n.op == "input" {
                ", style=filled, fillcolor=\"#d5f5d5\""
            } else if n.id == self.output {
                ", style=filled, fillcolor=\"#ffe0b0\""
            } else {
                ""
            };
            s.push_str(&format!(
                "  n{} [label=\"#{} {}\\nvalue = {}\\ngrad = {}\"{}];\n",
                n.id,
                n.id,
                escape(&title),
                format_number(n.value),
                grad,
                color
            ));
        }
        for n in &self.nodes {
            for i in &n.inputs {
                s.push_str(&format!("  n{i} -> n{};\n", n.id));
            }
        }
        s.push_str("}\n");
        s
    }
}

fn escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_has_values_adjoints_and_backward_order() {
        let f = Formula::parse("x*y + sin(x)").unwrap();
        let t = trace(&f, &[2.0, 3.0]).unwrap();
        let x = &t.nodes[0];
        assert_eq!((x.label.as_str(), x.op.as_str()), ("x", "input"));
        assert!((x.adjoint.unwrap() - (3.0 + 2f64.cos())).abs() < 1e-15);
        assert_eq!(t.nodes[1].adjoint, Some(2.0));
        let out = &t.nodes[t.output];
        assert_eq!(out.label, "x*y + sin(x)");
        assert_eq!(out.adjoint, Some(1.0));
        // Backprop starts at the output and reaches each node after every node that uses it.
        assert_eq!(t.backward_order[0], t.output);
        let pos = |id: usize| t.backward_order.iter().position(|&i| i == id).unwrap();
        for n in &t.nodes {
            if n.adjoint.is_some() {
                for &i in &n.inputs {
                    if t.nodes[i].adjoint.is_some() {
                        assert!(pos(i) > pos(n.id), "#{i} before its user #{}", n.id);
                    }
                }
            }
        }
        assert_eq!(t.forward_lines().len(), t.nodes.len());
        assert!(t.backward_lines()[0].contains("df/dnode = 1"));
    }

    #[test]
    fn dot_lists_every_node_and_edge() {
        let f = Formula::parse("exp(\"x\" + 0)".replace('"', "").as_str()).unwrap();
        let t = trace(&f, &[0.0]).unwrap();
        let dot = t.to_dot();
        assert!(dot.starts_with("digraph formula {") && dot.trim_end().ends_with('}'));
        let edges: usize = t.nodes.iter().map(|n| n.inputs.len()).sum();
        assert_eq!(dot.matches(" -> ").count(), edges);
        for n in &t.nodes {
            assert!(dot.contains(&format!("n{} [label=", n.id)));
        }
        assert!(dot.contains("grad = 1"));
    }
}
