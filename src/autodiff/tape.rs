//! The tape: nodes, variables and the reverse walk.

use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::tensor::{Shape, Tensor};
use std::cell::RefCell;

/// A handle to a value recorded on a [`Tape`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var(pub(crate) usize);

/// Gradients of a node's inputs given the gradient of its output. `needs[i]` says whether
/// input `i` wants a gradient, so that work for constants (the data) is skipped. Returns
/// one entry per input (`None` where not needed).
pub type BackwardFn<B> = Box<dyn Fn(&B, &Tensor<B>, &[bool]) -> Result<Vec<Option<Tensor<B>>>>>;

struct Node<B: Backend> {
    value: Tensor<B>,
    inputs: Vec<Var>,
    backward: Option<BackwardFn<B>>,
    requires_grad: bool,
    grad: Option<Tensor<B>>,
    op: &'static str,
}

/// Records a forward pass on backend `B`. Build one per training step.
pub struct Tape<B: Backend> {
    backend: B,
    nodes: RefCell<Vec<Node<B>>>,
}

impl<B: Backend> Tape<B> {
    pub fn new(backend: &B) -> Self {
        Tape { backend: backend.clone(), nodes: RefCell::new(Vec::new()) }
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// A leaf that receives a gradient (a parameter).
    pub fn param(&self, value: &Tensor<B>) -> Var {
        self.push_leaf(value.clone(), true)
    }

    /// A leaf without gradient (data, targets).
    pub fn constant(&self, value: &Tensor<B>) -> Var {
        self.push_leaf(value.clone(), false)
    }

    fn push_leaf(&self, value: Tensor<B>, requires_grad: bool) -> Var {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node { value, inputs: Vec::new(), backward: None, requires_grad, grad: None, op: "leaf" });
        Var(nodes.len() - 1)
    }

    /// Records the result of an op. Called by the functions in [`super::ops`].
    pub fn push(&self, op: &'static str, value: Tensor<B>, inputs: &[Var], backward: BackwardFn<B>) -> Var {
        let mut nodes = self.nodes.borrow_mut();
        let requires_grad = inputs.iter().any(|v| nodes[v.0].requires_grad);
        let backward = requires_grad.then_some(backward);
        nodes.push(Node { value, inputs: inputs.to_vec(), backward, requires_grad, grad: None, op });
        Var(nodes.len() - 1)
    }

    pub fn value(&self, v: Var) -> Tensor<B> {
        self.nodes.borrow()[v.0].value.clone()
    }

    pub fn shape(&self, v: Var) -> Shape {
        self.nodes.borrow()[v.0].value.shape.clone()
    }

    pub fn requires_grad(&self, v: Var) -> bool {
        self.nodes.borrow()[v.0].requires_grad
    }

    /// The gradient accumulated at `v` by [`Tape::backward`], if any reached it.
    pub fn grad(&self, v: Var) -> Option<Tensor<B>> {
        self.nodes.borrow()[v.0].grad.clone()
    }

    /// Number of recorded nodes (ops + leaves).
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The op names recorded, in order (for teaching output and tests).
    pub fn op_names(&self) -> Vec<&'static str> {
        self.nodes.borrow().iter().map(|n| n.op).collect()
    }

    /// Reverse-mode sweep from the scalar `root` (seeded with d root / d root = 1).
    pub fn backward(&self, root: Var) -> Result<()> {
        let seed = {
            let nodes = self.nodes.borrow();
            let shape = &nodes[root.0].value.shape;
            if shape.numel() != 1 {
                return Err(Error::Shape(format!("backward needs a scalar root, got shape {shape}")));
            }
            Tensor::from_slice(&self.backend, shape.clone(), &[1.0], "grad seed")?
        };
        self.nodes.borrow_mut()[root.0].grad = Some(seed);
        for i in (0..=root.0).rev() {
            // Take what the node needs, then release the borrow: accumulation below mutates.
            let (grad, inputs, needs) = {
                let nodes = self.nodes.borrow();
                let node = &nodes[i];
                let (Some(grad), Some(_)) = (&node.grad, &node.backward) else { continue };
                let needs: Vec<bool> = node.inputs.iter().map(|v| nodes[v.0].requires_grad).collect();
                (grad.clone(), node.inputs.clone(), needs)
            };
            let input_grads = {
                let nodes = self.nodes.borrow();
                let backward = nodes[i].backward.as_ref().expect("checked above");
                backward(&self.backend, &grad, &needs)?
            };
            for ((input, g), need) in inputs.iter().zip(input_grads).zip(needs) {
                if let (Some(g), true) = (g, need) {
                    self.accumulate(*input, g)?;
                }
            }
        }
        Ok(())
    }

    fn accumulate(&self, v: Var, g: Tensor<B>) -> Result<()> {
        let mut nodes = self.nodes.borrow_mut();
        let node = &mut nodes[v.0];
        crate::ensure_shape!(
            g.numel() == node.value.numel(),
            "gradient of a {} node has {} values, its value has shape {}",
            node.op,
            g.numel(),
            node.value.shape
        );
        node.grad = Some(match node.grad.take() {
            None => g.reshape(node.value.shape.clone())?,
            // A fresh buffer: the existing one may be shared with another node's gradient.
            Some(old) => {
                let sum = Tensor::zeros(&self.backend, node.value.shape.clone(), "grad sum")?;
                self.backend.add(&old.buf, &g.buf, &sum.buf, sum.numel())?;
                sum
            }
        });
        Ok(())
    }
}

impl Var {
    /// The node's position on its tape (creation order).
    pub fn index(self) -> usize {
        self.0
    }
}

/// Read-only views of the recorded nodes (for teaching output: `autoenc trace`).
impl<B: Backend> Tape<B> {
    /// Every recorded node, in creation order (for teaching output: `autoenc trace`).
    pub fn vars(&self) -> impl Iterator<Item = Var> {
        (0..self.len()).map(Var)
    }

    /// The op that made `v` ("leaf" for parameters and constants).
    pub fn op(&self, v: Var) -> &'static str {
        self.nodes.borrow()[v.0].op
    }

    /// The nodes `v` was computed from.
    pub fn inputs(&self, v: Var) -> Vec<Var> {
        self.nodes.borrow()[v.0].inputs.clone()
    }
}
