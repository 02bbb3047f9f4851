//! Input corruption for denoising autoencoders. The clean image stays the target; the
//! model sees the corrupted copy.

use std::fmt;
use std::str::FromStr;

use rand::Rng;

use crate::error::{Error, Result};

/// How to corrupt an input in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Noise {
    /// Leave the input alone.
    None,
    /// Set each value to 0 with probability `v` (Vincent et al. 2010 masking noise).
    Masking(f32),
    /// Add N(0, sigma^2) to each value, then clip to [0, 1] (the Keras denoising example
    /// uses sigma = "noise_factor" = 0.5).
    Gaussian(f32),
    /// With probability `p` set a value to 0 or 1, each half of the time.
    SaltPepper(f32),
}

impl Noise {
    /// Parses `none`, `masking:V`, `gaussian:SIGMA`, `salt-pepper:P` (also `salt-and-pepper:P`).
    /// V and P must lie in [0, 1]; SIGMA must be finite and >= 0.
    pub fn parse(s: &str) -> Result<Noise> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("none") {
            return Ok(Noise::None);
        }
        let bad = |why: &str| {
            Error::Config(format!(
                "bad noise '{s}': {why}; expected none, masking:V, gaussian:SIGMA or salt-pepper:P \
                 (e.g. masking:0.25, gaussian:0.5, salt-pepper:0.1)"
            ))
        };
        let (kind, value) = s.split_once(':').ok_or_else(|| bad("missing ':VALUE'"))?;
        let v: f32 = value.trim().parse().map_err(|_| bad("the value is not a number"))?;
        let probability =
            |v: f32| if (0.0..=1.0).contains(&v) { Ok(v) } else { Err(bad("a probability must be in [0, 1]")) };
        match kind.trim().to_ascii_lowercase().as_str() {
            "masking" | "mask" => Ok(Noise::Masking(probability(v)?)),
            "salt-pepper" | "salt-and-pepper" | "saltpepper" => Ok(Noise::SaltPepper(probability(v)?)),
            "gaussian" | "gauss" => {
                if v.is_finite() && v >= 0.0 {
                    Ok(Noise::Gaussian(v))
                } else {
                    Err(bad("sigma must be finite and >= 0"))
                }
            }
            _ => Err(bad("unknown kind")),
        }
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Noise::None)
    }

    /// Corrupts `x` in place, drawing from `rng` (seed it for reproducible runs).
    pub fn apply<R: Rng + ?Sized>(&self, x: &mut [f32], rng: &mut R) {
        match *self {
            Noise::None => {}
            Noise::Masking(v) => {
                for xi in x.iter_mut() {
                    if rng.random::<f32>() < v {
                        *xi = 0.0;
                    }
                }
            }
            Noise::SaltPepper(p) => {
                for xi in x.iter_mut() {
                    if rng.random::<f32>() < p {
                        *xi = if rng.random::<bool>() { 1.0 } else { 0.0 };
                    }
                }
            }
            Noise::Gaussian(sigma) => {
                // Box-Muller gives two independent normals per pair of uniforms; use both.
                for pair in x.chunks_mut(2) {
                    let (z0, z1) = box_muller(rng);
                    pair[0] = (pair[0] + sigma * z0).clamp(0.0, 1.0);
                    if let Some(second) = pair.get_mut(1) {
                        *second = (*second + sigma * z1).clamp(0.0, 1.0);
                    }
                }
            }
        }
    }

    /// Returns a corrupted copy of `x`.
    pub fn applied<R: Rng + ?Sized>(&self, x: &[f32], rng: &mut R) -> Vec<f32> {
        let mut out = x.to_vec();
        self.apply(&mut out, rng);
        out
    }
}

/// Two independent standard normals from two uniforms.
pub fn box_muller<R: Rng + ?Sized>(rng: &mut R) -> (f32, f32) {
    // 1 - u lies in (0, 1], so the log is finite.
    let u1 = 1.0 - rng.random::<f32>();
    let u2 = rng.random::<f32>();
    let r = (-2.0 * u1.ln()).sqrt();
    let theta = 2.0 * std::f32::consts::PI * u2;
    (r * theta.cos(), r * theta.sin())
}

impl FromStr for Noise {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Noise::parse(s)
    }
}

/// Prints the form [`Noise::parse`] reads back.
impl fmt::Display for Noise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Noise::None => write!(f, "none"),
            Noise::Masking(v) => write!(f, "masking:{v}"),
            Noise::Gaussian(s) => write!(f, "gaussian:{s}"),
            Noise::SaltPepper(p) => write!(f, "salt-pepper:{p}"),
        }
    }
}
