//! Data: IDX files ([`idx`]), datasets ([`datasets`]), input corruption ([`noise`]) and
//! seeded shuffling / batching ([`batches`]).

pub mod batches;
pub mod datasets;
pub mod idx;
pub mod noise;

pub use batches::{
    epoch_rng, gather_labels, gather_rows, gather_rows_into, num_batches, one_hot, shuffled_indices, Batches,
};
pub use datasets::{load, Dataset};
pub use noise::Noise;
