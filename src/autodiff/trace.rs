//! A teaching view of one tape: every node in the order it was recorded (op, inputs,
//! shape, a few values), then the reverse walk with each gradient's shape and norm, as
//! text or as Graphviz. `autoenc trace` prints it for one small batch of a model.

use super::{Tape, Var};
use crate::backend::Backend;
use crate::error::Result;
use std::collections::HashMap;
use std::fmt::Write;

/// How many leading values of each node the text shows.
pub const SHOWN_VALUES: usize = 4;

/// One node as the trace shows it.
#[derive(Clone, Debug)]
pub struct TraceNode {
    pub index: usize,
    pub op: &'static str,
    /// A name for leaves the caller knows (parameters, the input batch).
    pub label: Option<String>,
    pub inputs: Vec<usize>,
    pub shape: Vec<usize>,
    pub requires_grad: bool,
    pub first_values: Vec<f32>,
    /// The gradient's shape and Euclidean norm, when the reverse walk reached the node.
    pub grad: Option<(Vec<usize>, f64)>,
}

/// Reads every node of `tape` (after `backward`, so gradients are there). `labels` names
/// some nodes by index.
pub fn trace_nodes<B: Backend>(tape: &Tape<B>, labels: &HashMap<usize, String>) -> Result<Vec<TraceNode>> {
    let backend = tape.backend();
    tape.vars()
        .map(|v: Var| {
            let value = tape.value(v).to_vec(backend)?;
            let grad = match tape.grad(v) {
                Some(g) => {
                    let values = g.to_vec(backend)?;
                    let norm = values.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
                    Some((g.shape.dims().to_vec(), norm))
                }
                None => None,
            };
            Ok(TraceNode {
                index: v.index(),
                op: tape.op(v),
                label: labels.get(&v.index()).cloned(),
                inputs: tape.inputs(v).iter().map(|i| i.index()).collect(),
                shape: tape.shape(v).dims().to_vec(),
                requires_grad: tape.requires_grad(v),
                first_values: value.iter().take(SHOWN_VALUES).copied().collect(),
                grad,
            })
        })
        .collect()
}

fn name(n: &TraceNode) -> String {
    match (&n.label, n.op, n.requires_grad) {
        (Some(l), _, _) => l.clone(),
        (None, "leaf", true) => "parameter".into(),
        (None, "leaf", false) => "constant".into(),
        (None, op, _) => op.into(),
    }
}

fn shape(s: &[usize]) -> String {
    format!("[{}]", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "))
}

/// The trace as text: the forward nodes in order, then the reverse walk from `root`.
pub fn trace_text(nodes: &[TraceNode], root: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "forward: {} nodes, in the order the tape recorded them", nodes.len());
    for n in nodes {
        let kind = if n.op == "leaf" {
            if n.requires_grad {
                "leaf (parameter)".to_string()
            } else {
                "leaf (constant)".to_string()
            }
        } else {
            let ins: Vec<String> = n.inputs.iter().map(|i| format!("#{i}")).collect();
            format!("{}({})", n.op, ins.join(", "))
        };
        let label = n.label.as_ref().map(|l| format!(" {l}")).unwrap_or_default();
        let values: Vec<String> = n.first_values.iter().map(|v| format!("{v:.4}")).collect();
        let more = if n.shape.iter().product::<usize>() > n.first_values.len() { " ..." } else { "" };
        let _ = writeln!(s, "  #{:<3} {kind}{label}  {}  = {}{more}", n.index, shape(&n.shape), values.join(" "));
    }
    let _ = writeln!(
        s,
        "\nbackward: the reverse walk from #{root} (seeded with d loss / d loss = 1); each node hands its gradient to its inputs"
    );
    for n in nodes.iter().rev().filter(|n| n.index <= root) {
        match &n.grad {
            Some((g, norm)) => {
                let _ = writeln!(s, "  #{:<3} {:<24} grad {}  norm {norm:.6}", n.index, name(n), shape(g));
            }
            None if n.requires_grad => {
                let _ = writeln!(
                    s,
                    "  #{:<3} {:<24} no gradient reached it (not on the path to the loss)",
                    n.index,
                    name(n)
                );
            }
            None => {
                let _ = writeln!(s, "  #{:<3} {:<24} constant: no gradient needed", n.index, name(n));
            }
        }
    }
    s
}

/// The trace as a Graphviz digraph: parameters as boxes, constants grey, ops as ellipses
/// labelled with their output shape and gradient norm.
pub fn trace_dot(nodes: &[TraceNode]) -> String {
    let mut s = String::from("digraph tape {\n  rankdir=TB;\n  node [fontname=\"DejaVu Sans\"];\n");
    for n in nodes {
        let grad = n.grad.as_ref().map(|(_, norm)| format!("\\n|grad| {norm:.4}")).unwrap_or_default();
        let label = format!("#{} {}\\n{}{grad}", n.index, name(n).replace('"', "'"), shape(&n.shape));
        let style = match (n.op, n.requires_grad) {
            ("leaf", true) => "shape=box, style=filled, fillcolor=\"#cfe2f3\"",
            ("leaf", false) => "shape=box, style=filled, fillcolor=\"#eeeeee\"",
            _ => "shape=ellipse",
        };
        let _ = writeln!(s, "  n{} [label=\"{label}\", {style}];", n.index);
        for i in &n.inputs {
            let _ = writeln!(s, "  n{i} -> n{};", n.index);
        }
    }
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autodiff::ops;
    use crate::backend::cpu::CpuBackend;
    use crate::tensor::{Shape, Tensor};

    #[test]
    fn a_tiny_graph_traces_in_order_with_its_gradients() {
        let b = CpuBackend::new();
        let tape = Tape::new(&b);
        let w = Tensor::from_slice(&b, Shape::new(&[2]), &[3.0, 4.0], "w").unwrap();
        let wv = tape.param(&w);
        let loss = ops::sum_all(&tape, wv).unwrap();
        tape.backward(loss).unwrap();
        let labels = HashMap::from([(wv.index(), "w".to_string())]);
        let nodes = trace_nodes(&tape, &labels).unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[1].inputs, [0]);
        // d sum / d w = [1, 1]: norm sqrt(2).
        let (g, norm) = nodes[0].grad.clone().unwrap();
        assert_eq!(g, [2]);
        assert!((norm - 2f64.sqrt()).abs() < 1e-6, "{norm}");
        let text = trace_text(&nodes, loss.index());
        assert!(text.contains("#0   leaf (parameter) w  [2]  = 3.0000 4.0000"), "{text}");
        assert!(trace_dot(&nodes).contains("n0 -> n1;"));
    }
}
