//! The Gaussian family of the variational autoencoder: standard normal draws, the
//! reparameterization `z = mu + exp(logvar / 2) eps` and the closed-form KL divergence
//! `KL(N(mu, sigma^2) || N(0, I))`, each with its backward.
//!
//! Normal draws are counter-based: draw `n` of stream `seed` is a pure function of
//! `(seed, n)`, so a fill of `[offset, offset + len)` is the same on every backend, for every
//! `len` and however the work is split (docs/KERNELS.md, "gaussian"):
//! - Philox4x32-10 with key `(seed_lo, seed_hi)` and counter `(b_lo, b_hi, 0, 0)` for block
//!   `b = n / 4` gives four u32 words; draw `n` is lane `n % 4` of its block;
//! - lanes `(0, 1)` and `(2, 3)` are Box-Muller pairs: with `u = ((w >> 9) + 1/2) 2^-23`
//!   (exact in f32, in `(0, 1)`, never 0) from the pair's first word `u1` and second `u2`,
//!   the even lane is `sqrt(-2 ln u1) cos(2 pi u2)`, the odd lane `... sin(2 pi u2)`;
//! - `ln`, `sin` and `cos` are this file's own f32 polynomials (Cephes `logf`, `sinf`,
//!   `cosf`), written out identically in `shaders/gaussian.wgsl`, whose builtins have
//!   implementation-defined accuracy. Only `sqrt` is a builtin on both sides.
//!
//! The generator runs this scalar code at every SIMD level: a VAE draws one value per latent
//! unit per example, a few thousand per step. The reparameterization and KL kernels have
//! x86 versions (`gaussian/x86.rs`) built on the vector exp of `simd_util`; the scalar
//! functions use libm's `exp`. Sums are in f64, rounded once (as in `loss.rs`).

use crate::simd::{level, SimdLevel};
use crate::simd_util::dispatch;

// ---- entry points (best SIMD level) --------------------------------------------------

/// `out[i]` = standard normal draw number `offset + i` of stream `seed`.
pub fn normal_fill(seed: u64, offset: u64, out: &mut [f32]) {
    for (i, o) in out.iter_mut().enumerate() {
        *o = normal_draw(seed, offset.wrapping_add(i as u64));
    }
}

/// `out[i]` = the Philox word behind draw `offset + i` (lane `n % 4` of block `n / 4`): the
/// counter stage alone, which the GPU must reproduce bit for bit.
pub fn normal_fill_bits(seed: u64, offset: u64, out: &mut [u32]) {
    for (i, o) in out.iter_mut().enumerate() {
        let n = offset.wrapping_add(i as u64);
        *o = philox_block(seed, n >> 2)[(n & 3) as usize];
    }
}

/// `z = mu + exp(0.5 logvar) * eps`, elementwise.
pub fn reparameterize_forward(mu: &[f32], logvar: &[f32], eps: &[f32], z: &mut [f32]) {
    reparameterize_forward_with(level(), mu, logvar, eps, z)
}

/// `dmu = dz`, `dlogvar = dz * 0.5 * exp(0.5 logvar) * eps` (both overwritten).
pub fn reparameterize_backward(logvar: &[f32], eps: &[f32], dz: &[f32], dmu: &mut [f32], dlogvar: &mut [f32]) {
    reparameterize_backward_with(level(), logvar, eps, dz, dmu, dlogvar)
}

/// `(1/rows) sum -0.5 (1 + lv - mu^2 - exp(lv))` over `[rows, cols]`: the batch mean of
/// `KL(N(mu, exp(lv)) || N(0, I))`; 0 when `rows == 0`.
pub fn gaussian_kl_forward(mu: &[f32], logvar: &[f32], rows: usize, cols: usize) -> f32 {
    gaussian_kl_forward_with(level(), mu, logvar, rows, cols)
}

/// `dmu = dout mu / rows`, `dlogvar = dout 0.5 (exp(lv) - 1) / rows` (both overwritten).
#[allow(clippy::too_many_arguments)]
pub fn gaussian_kl_backward(
    mu: &[f32],
    logvar: &[f32],
    dout: f32,
    dmu: &mut [f32],
    dlogvar: &mut [f32],
    rows: usize,
    cols: usize,
) {
    gaussian_kl_backward_with(level(), mu, logvar, dout, dmu, dlogvar, rows, cols)
}

// ---- chosen level (panics if this CPU lacks it) -------------------------------------

pub fn reparameterize_forward_with(level: SimdLevel, mu: &[f32], logvar: &[f32], eps: &[f32], z: &mut [f32]) {
    let n = z.len();
    assert!(mu.len() == n && logvar.len() == n && eps.len() == n, "reparameterize_forward: lengths differ");
    dispatch!(level, reparameterize_forward_scalar, reparameterize_forward(mu, logvar, eps, z))
}

pub fn reparameterize_backward_with(
    level: SimdLevel,
    logvar: &[f32],
    eps: &[f32],
    dz: &[f32],
    dmu: &mut [f32],
    dlogvar: &mut [f32],
) {
    let n = dz.len();
    assert!(
        logvar.len() == n && eps.len() == n && dmu.len() == n && dlogvar.len() == n,
        "reparameterize_backward: lengths differ"
    );
    dispatch!(level, reparameterize_backward_scalar, reparameterize_backward(logvar, eps, dz, dmu, dlogvar))
}

pub fn gaussian_kl_forward_with(level: SimdLevel, mu: &[f32], logvar: &[f32], rows: usize, cols: usize) -> f32 {
    assert!(
        mu.len() == rows * cols && logvar.len() == rows * cols,
        "gaussian_kl_forward: lengths are not {rows}x{cols}"
    );
    dispatch!(level, gaussian_kl_forward_scalar, gaussian_kl_forward(mu, logvar, rows, cols))
}

#[allow(clippy::too_many_arguments)]
pub fn gaussian_kl_backward_with(
    level: SimdLevel,
    mu: &[f32],
    logvar: &[f32],
    dout: f32,
    dmu: &mut [f32],
    dlogvar: &mut [f32],
    rows: usize,
    cols: usize,
) {
    let n = rows * cols;
    assert!(
        mu.len() == n && logvar.len() == n && dmu.len() == n && dlogvar.len() == n,
        "gaussian_kl_backward: lengths are not {rows}x{cols}"
    );
    dispatch!(level, gaussian_kl_backward_scalar, gaussian_kl_backward(mu, logvar, dout, dmu, dlogvar, rows, cols))
}

// ---- scalar specification -------------------------------------------------------------

pub fn reparameterize_forward_scalar(mu: &[f32], logvar: &[f32], eps: &[f32], z: &mut [f32]) {
    for (((zi, &m), &lv), &e) in z.iter_mut().zip(mu).zip(logvar).zip(eps) {
        *zi = reparam_one(m, lv, e);
    }
}

pub fn reparameterize_backward_scalar(logvar: &[f32], eps: &[f32], dz: &[f32], dmu: &mut [f32], dlogvar: &mut [f32]) {
    dmu.copy_from_slice(dz);
    for (((d, &lv), &e), &g) in dlogvar.iter_mut().zip(logvar).zip(eps).zip(dz) {
        *d = reparam_grad_one(lv, e, g);
    }
}

pub fn gaussian_kl_forward_scalar(mu: &[f32], logvar: &[f32], rows: usize, _cols: usize) -> f32 {
    let sum: f64 = mu.iter().zip(logvar).map(|(&m, &lv)| kl_term(m, lv) as f64).sum();
    kl_mean(sum, rows)
}

#[allow(clippy::too_many_arguments)]
pub fn gaussian_kl_backward_scalar(
    mu: &[f32],
    logvar: &[f32],
    dout: f32,
    dmu: &mut [f32],
    dlogvar: &mut [f32],
    rows: usize,
    _cols: usize,
) {
    let s = kl_scale(dout, rows);
    for (d, &m) in dmu.iter_mut().zip(mu) {
        *d = m * s;
    }
    for (d, &lv) in dlogvar.iter_mut().zip(logvar) {
        *d = kl_logvar_grad(lv, s);
    }
}

/// `mu + exp(0.5 lv) eps`.
fn reparam_one(mu: f32, lv: f32, eps: f32) -> f32 {
    mu + (0.5 * lv).exp() * eps
}

/// `((dz 0.5) exp(0.5 lv)) eps`, the order the vector versions use.
fn reparam_grad_one(lv: f32, eps: f32, dz: f32) -> f32 {
    dz * 0.5 * (0.5 * lv).exp() * eps
}

/// `-0.5 (((1 + lv) - mu^2) - exp(lv))`.
fn kl_term(mu: f32, lv: f32) -> f32 {
    -0.5 * (1.0 + lv - mu * mu - lv.exp())
}

/// `0.5 (exp(lv) - 1) s`.
fn kl_logvar_grad(lv: f32, s: f32) -> f32 {
    0.5 * (lv.exp() - 1.0) * s
}

/// `sum / rows`, 0 for an empty batch.
fn kl_mean(sum: f64, rows: usize) -> f32 {
    if rows == 0 {
        0.0
    } else {
        (sum / rows as f64) as f32
    }
}

/// `dout / rows`, rounded once.
fn kl_scale(dout: f32, rows: usize) -> f32 {
    (dout as f64 / rows.max(1) as f64) as f32
}

// ---- the generator: Philox4x32-10, then Box-Muller ----------------------------------

const PHILOX_M0: u32 = 0xD251_1F53;
const PHILOX_M1: u32 = 0xCD9E_8D57;
const PHILOX_W0: u32 = 0x9E37_79B9;
const PHILOX_W1: u32 = 0xBB67_AE85;

/// `(hi, lo)` of the 64-bit product, from 16-bit halves exactly as the shader does it
/// (WGSL has no 64-bit integers); the unit tests check it against `u64` arithmetic.
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let (al, ah) = (a & 0xffff, a >> 16);
    let (bl, bh) = (b & 0xffff, b >> 16);
    let (ll, lh, hl, hh) = (al * bl, al * bh, ah * bl, ah * bh);
    let mid = (ll >> 16) + (lh & 0xffff) + (hl & 0xffff);
    (hh + (lh >> 16) + (hl >> 16) + (mid >> 16), a.wrapping_mul(b))
}

/// Philox4x32 with 10 rounds (Salmon et al., SC'11; Random123's `philox4x32_R(10, ..)`).
fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (ctr, key);
    for round in 0..10 {
        if round > 0 {
            k = [k[0].wrapping_add(PHILOX_W0), k[1].wrapping_add(PHILOX_W1)];
        }
        let (hi0, lo0) = mulhilo(PHILOX_M0, c[0]);
        let (hi1, lo1) = mulhilo(PHILOX_M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// The four words of block `block` of stream `seed`.
fn philox_block(seed: u64, block: u64) -> [u32; 4] {
    philox4x32_10([block as u32, (block >> 32) as u32, 0, 0], [seed as u32, (seed >> 32) as u32])
}

/// `((w >> 9) + 0.5) 2^-23`: 23 bits, exact in f32, in `[2^-24, 1 - 2^-24]`.
fn uniform_open(w: u32) -> f32 {
    ((w >> 9) as f32 + 0.5) * (1.0 / 8_388_608.0)
}

/// Draw `n` of stream `seed` (see the module docs).
fn normal_draw(seed: u64, n: u64) -> f32 {
    let w = philox_block(seed, n >> 2);
    let pair = ((n >> 1) & 1) as usize;
    box_muller(w[2 * pair], w[2 * pair + 1], n & 1 == 1)
}

/// `sqrt(-2 ln u1) cos(2 pi u2)` (or `sin` for the odd lane of the pair).
fn box_muller(w1: u32, w2: u32, odd: bool) -> f32 {
    let radius = (-2.0 * ln_poly(uniform_open(w1))).sqrt();
    let (s, c) = sincos_2pi(uniform_open(w2));
    radius * if odd { s } else { c }
}

/// Cephes `logf` coefficients (as `simd_util`'s vector ln).
const LN_P: [f32; 9] = [
    7.037_683_6e-2,
    -1.151_461e-1,
    1.167_699_9e-1,
    -1.242_014_1e-1,
    1.424_932_3e-1,
    -1.666_805_8e-1,
    2.000_071_5e-1,
    -2.499_999_4e-1,
    3.333_333e-1,
];
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `ln x` for positive normal `x`: `x = m 2^e` with `m` in `[sqrt(1/2), sqrt(2))` taken from
/// the bits, a degree-9 polynomial in `f = m - 1`. About 1 ulp relative (1e-7 absolute
/// near `x = 1`).
fn ln_poly(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) as i32 - 127) as f32;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    if m > std::f32::consts::SQRT_2 {
        m *= 0.5;
        e += 1.0;
    }
    let f = m - 1.0;
    let z = f * f;
    let mut y = LN_P[0];
    for c in &LN_P[1..] {
        y = y * f + c;
    }
    let y = y * f * z + e * LN2_LO - 0.5 * z;
    (f + y) + e * LN2_HI
}

/// `(sin 2 pi t, cos 2 pi t)` for `t` in `[0, 1)`: `4t = q + r` (exact: `q = floor(4t + 1/2)`,
/// `r` in `[-1/2, 1/2]`), Cephes `sinf` / `cosf` polynomials on `x = r pi / 2` in
/// `[-pi/4, pi/4]`, then the quadrant `q`. About 1e-7 absolute.
fn sincos_2pi(t: f32) -> (f32, f32) {
    let q = (4.0 * t + 0.5).floor();
    let x = (4.0 * t - q) * std::f32::consts::FRAC_PI_2;
    let z = x * x;
    let s = x + x * z * ((-1.951_529_6e-4 * z + 8.332_161e-3) * z - 1.666_665_5e-1);
    let c = z * z * ((2.443_315_7e-5 * z - 1.388_731_6e-3) * z + 4.166_664_6e-2) - 0.5 * z + 1.0;
    match (q as u32) & 3 {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

// ---- x86 versions: `gaussian/x86.rs` -------------------------------------------------

#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(target_arch = "x86_64")]
use x86::{avx2, avx512};

#[cfg(test)]
mod tests {
    use super::*;

    /// Random123 `tests/kat_vectors`, the three `philox4x32 10` lines (ctr, key, result).
    #[test]
    fn philox_matches_random123_known_answers() {
        let kat: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
            ([0; 4], [0; 2], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]),
            ([u32::MAX; 4], [u32::MAX; 2], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]),
            (
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0],
                [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
            ),
        ];
        for (ctr, key, want) in kat {
            assert_eq!(philox4x32_10(ctr, key), want, "ctr {ctr:x?} key {key:x?}");
        }
    }

    #[test]
    fn mulhilo_from_halves_is_the_64_bit_product() {
        let mut x = 0x1234_5678_9abc_def0u64;
        let edge = [0u32, 1, 0xffff, 0x1_0000, 0xffff_ffff, PHILOX_M0, PHILOX_M1];
        let mut pairs: Vec<(u32, u32)> = edge.iter().flat_map(|&a| edge.iter().map(move |&b| (a, b))).collect();
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            pairs.push((x as u32, (x >> 32) as u32));
        }
        for (a, b) in pairs {
            let p = a as u64 * b as u64;
            assert_eq!(mulhilo(a, b), ((p >> 32) as u32, p as u32), "{a:#x} * {b:#x}");
        }
    }

    #[test]
    fn uniforms_stay_inside_the_open_interval() {
        assert_eq!(uniform_open(0), 0.5 / 8_388_608.0);
        assert_eq!(uniform_open(u32::MAX), 1.0 - 0.5 / 8_388_608.0);
        assert!(ln_poly(uniform_open(u32::MAX)) < 0.0);
    }

    /// The polynomials against f64 math on a dense grid of the inputs they see.
    #[test]
    fn polynomials_are_accurate() {
        let mut worst_ln = 0.0f64;
        let mut worst_trig = 0.0f64;
        for k in (0..(1u32 << 23)).step_by(97).chain([0, 1, (1 << 23) - 1]) {
            let u = (k as f32 + 0.5) * (1.0 / 8_388_608.0);
            let want = (u as f64).ln();
            worst_ln = worst_ln.max((ln_poly(u) as f64 - want).abs() / want.abs().max(1e-30));
            let (s, c) = sincos_2pi(u);
            let th = std::f64::consts::TAU * u as f64;
            worst_trig = worst_trig.max((s as f64 - th.sin()).abs()).max((c as f64 - th.cos()).abs());
        }
        assert!(worst_ln < 2e-7, "ln relative error {worst_ln:e}");
        assert!(worst_trig < 2e-7, "sin/cos absolute error {worst_trig:e}");
    }
}
