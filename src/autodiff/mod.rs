//! A minimal tape-based reverse-mode autodiff.
//!
//! [`tape::Tape`] records every op of a forward pass as a node holding its value and a
//! backward closure written right beside the forward math in [`ops`]. `Tape::backward`
//! walks the nodes in reverse creation order (the tape is append-only, so that order is
//! already topological) and accumulates gradients. [`crate::tools::gradcheck`] compares every
//! op's tape gradient with central finite differences.

pub mod ops;
pub mod tape;
pub mod trace;

pub use tape::{Tape, Var};
