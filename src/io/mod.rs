//! Files a run writes: checkpoints in safetensors ([`checkpoint`]), PNG image grids
//! ([`images`]), and the atomic write they (and config.json, metrics.csv) go through.

pub mod checkpoint;
pub mod codes;
pub mod images;

pub use checkpoint::{write_atomic, Checkpoint, TensorData};
pub use images::{write_grid, write_tiled};
