//! Seeded shuffling and mini-batches. A run is reproducible from (seed, epoch) alone:
//! each epoch's order does not depend on how many random numbers earlier epochs drew.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{Error, Result};

/// SplitMix64 finaliser: spreads nearby (seed, epoch) pairs over unrelated RNG seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// An RNG for one purpose of one epoch, independent of every other (seed, epoch, stream).
/// Use distinct `stream` values for shuffling, noise, dropout...
pub fn epoch_rng(seed: u64, epoch: u64, stream: u64) -> StdRng {
    StdRng::seed_from_u64(stream_seed(seed, epoch, stream))
}

/// The seed of one (seed, epoch, stream), for counter-based generators keyed by a u64
/// (the device's normal generator).
pub fn stream_seed(seed: u64, epoch: u64, stream: u64) -> u64 {
    mix(mix(mix(seed) ^ epoch) ^ stream)
}

/// A permutation of `0..n`, fixed by `(seed, epoch)` (Fisher-Yates).
pub fn shuffled_indices(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    let mut rng = epoch_rng(seed, epoch, 0);
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        idx.swap(i, j);
    }
    idx
}

/// Number of batches of `batch_size` in `n` examples.
pub fn num_batches(n: usize, batch_size: usize, drop_last: bool) -> usize {
    if batch_size == 0 {
        0
    } else if drop_last {
        n / batch_size
    } else {
        n.div_ceil(batch_size)
    }
}

/// Iterator over consecutive chunks of an index order: full batches, then the last
/// partial batch unless `drop_last`.
#[derive(Clone, Debug)]
pub struct Batches<'a> {
    order: &'a [usize],
    batch_size: usize,
    remaining: usize,
}

impl<'a> Batches<'a> {
    /// Errors (`Error::Config`) when `batch_size` is 0.
    pub fn new(order: &'a [usize], batch_size: usize, drop_last: bool) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::Config("batch size must be at least 1".into()));
        }
        Ok(Batches { order, batch_size, remaining: num_batches(order.len(), batch_size, drop_last) })
    }
}

impl<'a> Iterator for Batches<'a> {
    type Item = &'a [usize];
    fn next(&mut self) -> Option<&'a [usize]> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let take = self.batch_size.min(self.order.len());
        let (batch, rest) = self.order.split_at(take);
        self.order = rest;
        Some(batch)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Batches<'_> {}

/// Copies rows `indices` of a row-major `[_, dim]` matrix into a new `[indices.len(), dim]`
/// matrix. Panics if an index is out of range (indices come from the program, not the user).
pub fn gather_rows(src: &[f32], dim: usize, indices: &[usize]) -> Vec<f32> {
    let mut out = Vec::with_capacity(indices.len() * dim);
    gather_rows_into(&mut out, src, dim, indices);
    out
}

/// [`gather_rows`] into a reused buffer (cleared first), to avoid an allocation per batch.
pub fn gather_rows_into(out: &mut Vec<f32>, src: &[f32], dim: usize, indices: &[usize]) {
    out.clear();
    for &i in indices {
        out.extend_from_slice(&src[i * dim..(i + 1) * dim]);
    }
}

/// The labels at `indices`.
pub fn gather_labels(labels: &[u8], indices: &[usize]) -> Vec<u8> {
    indices.iter().map(|&i| labels[i]).collect()
}

/// Row-major `[labels.len(), classes]` one-hot matrix. Errors when a label is >= `classes`.
pub fn one_hot(labels: &[u8], classes: usize) -> Result<Vec<f32>> {
    let mut out = vec![0.0; labels.len() * classes];
    for (row, &y) in labels.iter().enumerate() {
        if y as usize >= classes {
            return Err(Error::Shape(format!("label {y} at row {row} does not fit {classes} classes")));
        }
        out[row * classes + y as usize] = 1.0;
    }
    Ok(out)
}
