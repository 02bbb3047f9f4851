//! The tape's own bookkeeping, one test per behaviour: how many nodes it holds, and which
//! of them want a gradient (parameters and what is computed from them, never the data).
//! The gradient values themselves are gradcheck's (tests/gradcheck.rs).

use autoenc::autodiff::{ops, Tape};
use autoenc::{CpuBackend, Tensor};

fn tensor(b: &CpuBackend, values: &[f32]) -> Tensor<CpuBackend> {
    Tensor::from_slice(b, [values.len()], values, "test values").unwrap()
}

#[test]
fn a_tape_counts_every_leaf_and_op_it_records() {
    let b = CpuBackend::new();
    let tape = Tape::new(&b);
    assert!(tape.is_empty(), "a new tape holds nodes");
    assert_eq!(tape.len(), 0);
    let w = tape.param(&tensor(&b, &[1.0, 2.0]));
    assert!(!tape.is_empty(), "a tape holding a parameter says it is empty");
    assert_eq!(tape.len(), 1);
    let x = tape.constant(&tensor(&b, &[3.0, 4.0]));
    let y = ops::mul(&tape, w, x).unwrap();
    let loss = ops::sum_all(&tape, y).unwrap();
    // Two leaves and two ops, each a node in creation order.
    assert_eq!(tape.len(), 4);
    assert_eq!(tape.vars().map(|v| v.index()).collect::<Vec<_>>(), [0, 1, 2, 3]);
    assert_eq!(tape.op_names().len(), tape.len());
    assert_eq!(loss.index(), tape.len() - 1);
}

#[test]
fn only_parameters_and_values_computed_from_them_require_a_gradient() {
    let b = CpuBackend::new();
    let tape = Tape::new(&b);
    let w = tape.param(&tensor(&b, &[1.0, 2.0]));
    let (x, c) = (tape.constant(&tensor(&b, &[3.0, 4.0])), tape.constant(&tensor(&b, &[5.0, 6.0])));
    assert!(tape.requires_grad(w), "a parameter");
    assert!(!tape.requires_grad(x), "a constant");
    let data_only = ops::mul(&tape, x, c).unwrap();
    assert!(!tape.requires_grad(data_only), "an op on constants alone");
    let mixed = ops::mul(&tape, w, x).unwrap();
    assert!(tape.requires_grad(mixed), "an op with a parameter among its inputs");
    let loss = ops::sum_all(&tape, ops::add(&tape, mixed, data_only).unwrap()).unwrap();
    assert!(tape.requires_grad(loss));
    tape.backward(loss).unwrap();
    // d loss / d w = x; the data get no gradient at all (their work is skipped).
    assert_eq!(tape.grad(w).expect("the parameter's gradient").to_vec(&b).unwrap(), [3.0, 4.0]);
    for (v, what) in [(x, "constant x"), (c, "constant c"), (data_only, "x * c")] {
        assert!(tape.grad(v).is_none(), "{what} received a gradient");
    }
}

#[test]
fn each_node_records_the_op_that_made_it_and_its_inputs() {
    let b = CpuBackend::new();
    let tape = Tape::new(&b);
    let w = tape.param(&tensor(&b, &[1.0, 2.0]));
    let x = tape.constant(&tensor(&b, &[3.0, 4.0]));
    let y = ops::mul(&tape, w, x).unwrap();
    let loss = ops::sum_all(&tape, y).unwrap();
    assert_eq!((w.index(), x.index(), y.index(), loss.index()), (0, 1, 2, 3));
    assert_eq!([tape.op(w), tape.op(x), tape.op(y), tape.op(loss)], ["leaf", "leaf", "mul", "sum_all"]);
    assert_eq!(tape.op_names(), ["leaf", "leaf", "mul", "sum_all"]);
    assert!(tape.inputs(w).is_empty() && tape.inputs(x).is_empty(), "leaves have inputs");
    assert_eq!(tape.inputs(y), [w, x]);
    assert_eq!(tape.inputs(loss), [y]);
    assert_eq!(tape.value(y).to_vec(&b).unwrap(), [3.0, 8.0]);
}
