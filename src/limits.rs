//! The memory budget: every allocation whose size comes from user input (layer widths,
//! interpolation steps, IDX header sizes, decompressed gzip) is checked against it first,
//! so a hostile size gets a clear error instead of an allocation abort.
//!
//! The budget is `--max-memory` when given, else the machine's MemAvailable
//! (/proc/meminfo), else 8 GiB where that cannot be read.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU64, Ordering};

/// 0 = not set: use the machine's available memory.
static MAX_MEMORY: AtomicU64 = AtomicU64::new(0);

const FALLBACK_BUDGET: u64 = 8 << 30;

/// Sets the budget (bytes) for this process (`--max-memory`).
pub fn set_max_memory(bytes: u64) {
    MAX_MEMORY.store(bytes, Ordering::Relaxed);
}

/// The budget in bytes.
pub fn budget() -> u64 {
    match MAX_MEMORY.load(Ordering::Relaxed) {
        0 => available_memory().unwrap_or(FALLBACK_BUDGET),
        set => set,
    }
}

/// MemAvailable from /proc/meminfo, in bytes.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

/// Errors unless `bytes` (what `what` would allocate) fits the budget. `None` means the
/// size overflowed while being computed.
pub fn check(what: &str, bytes: Option<u128>) -> Result<()> {
    let budget = budget();
    match bytes {
        Some(b) if b <= budget as u128 => Ok(()),
        Some(b) => Err(Error::Config(format!(
            "{what} needs about {} but the memory budget is {} (available memory, or --max-memory)",
            human(b),
            human(budget as u128)
        ))),
        None => Err(Error::Config(format!("{what}: the size overflows"))),
    }
}

/// `count` f32 values.
pub fn f32s(count: u128) -> Option<u128> {
    count.checked_mul(4)
}

/// Bytes to train a dense stack of `widths` (input first) with batches of `batch`:
/// weights, gradients and two optimizer moments per parameter, plus activations and their
/// gradients for one batch.
pub fn dense_training_bytes(widths: &[usize], batch: usize) -> Option<u128> {
    let mut params: u128 = 0;
    let mut activations: u128 = 0;
    for pair in widths.windows(2) {
        let (i, o) = (pair[0] as u128, pair[1] as u128);
        params = params.checked_add(i.checked_mul(o)?.checked_add(o)?)?;
    }
    for &w in widths {
        activations = activations.checked_add((w as u128).checked_mul(batch as u128)?)?;
    }
    // The decoder mirrors the encoder: twice the parameters and activations.
    let values = params.checked_mul(2 * 4)?.checked_add(activations.checked_mul(2 * 4)?)?;
    f32s(values)
}

/// Parses a size: bytes, or with a K, M, G or T suffix (powers of 1024), e.g. 512M, 2G.
pub fn parse_size(s: &str) -> std::result::Result<u64, String> {
    let t = s.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("'{s}': unknown unit '{c}' (use K, M, G or T)")),
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    let n: u64 = digits.parse().map_err(|_| format!("'{s}' is not a size (e.g. 512M, 2G, 1000000)"))?;
    let bytes = n.checked_shl(shift).filter(|b| b >> shift == n).ok_or_else(|| format!("'{s}' is too large"))?;
    if bytes == 0 {
        return Err(format!("'{s}': the budget must be at least 1 byte"));
    }
    Ok(bytes)
}

fn human(bytes: u128) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("0").is_err());
        assert!(parse_size("5X").is_err());
        assert!(parse_size("99999999999T").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn a_billion_wide_layer_is_over_any_budget() {
        set_max_memory(1 << 30);
        assert!(check("model", dense_training_bytes(&[784, 1_000_000_000], 64)).is_err());
        assert!(check("model", dense_training_bytes(&[784, 256, 32], 64)).is_ok());
        assert!(check("model", dense_training_bytes(&[usize::MAX, usize::MAX, usize::MAX], usize::MAX)).is_err());
        set_max_memory(0);
    }
}
