//! The `autoenc bench` table: each row's rate against the rooflines.

use super::{io, Measure, Work};
use crate::error::Result;
use std::io::Write;

/// What the rows are measured against: the compute peak (GFLOP/s) and the bandwidth
/// (GB/s), and where each comes from.
pub(super) struct Rooflines {
    pub compute: f64,
    pub bandwidth: f64,
    pub source: String,
}

impl Rooflines {
    /// For a device without probes of its own (the GPU): the best matmul and the best copy
    /// of this run, so 100% means "as fast as our fastest kernel", not the hardware's peak.
    pub fn best_of(rows: &[Measure]) -> Self {
        let compute = rows.iter().filter(|r| r.kernel.starts_with("matmul")).map(Measure::rate).fold(0.0, f64::max);
        let bandwidth = rows.iter().filter(|r| r.kernel == "copy").map(Measure::rate).fold(0.0, f64::max);
        Rooflines {
            compute,
            bandwidth,
            source: format!(
                "compute {compute:.2} GFLOP/s (best matmul of this run), bandwidth {bandwidth:.2} GB/s (best copy)"
            ),
        }
    }
}

/// The bandwidth a memory-bound row is held to: the copy of the same size in this run
/// (a size that fits a cache is held to that cache's copy rate, not to DRAM's), else the
/// large-copy roofline.
fn copy_rate_at(rows: &[Measure], size: &str, fallback: f64) -> f64 {
    rows.iter().filter(|r| r.kernel == "copy" && r.size == size).map(Measure::rate).reduce(f64::max).unwrap_or(fallback)
}

pub(super) fn write_table(out: &mut dyn Write, rows: &[Measure], roof: &Rooflines) -> Result<()> {
    writeln!(out, "{:<22} {:>12} {:>12} {:>12} {:>9}", "kernel", "size", "time", "rate", "roofline").map_err(io)?;
    for r in rows {
        let (unit, peak) = match r.work {
            Work::Flops(_) => ("GFLOP/s", roof.compute),
            Work::Bytes(_) => ("GB/s", copy_rate_at(rows, &r.size, roof.bandwidth)),
        };
        let frac = if peak > 0.0 { format!("{:.0}%", 100.0 * r.rate() / peak) } else { "-".into() };
        let time = if r.secs >= 1e-3 { format!("{:.3} ms", r.secs * 1e3) } else { format!("{:.1} us", r.secs * 1e6) };
        writeln!(out, "{:<22} {:>12} {:>12} {:>8.2} {:<7} {:>5}", r.kernel, r.size, time, r.rate(), unit, frac)
            .map_err(io)?;
    }
    writeln!(out, "rooflines: {}", roof.source).map_err(io)?;
    if rows.iter().any(|r| matches!(r.work, Work::Bytes(_))) {
        writeln!(
            out,
            "memory-bound rows are held to the copy of their own size in this run (cache-resident sizes to the cache's copy rate)"
        )
        .map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kernel: &str, size: &str, secs: f64, work: Work) -> Measure {
        Measure { kernel: kernel.into(), size: size.into(), secs, work }
    }

    /// The last column of `kernel`'s row at `size`.
    fn fraction(table: &str, kernel: &str, size: &str) -> String {
        let line = table.lines().find(|l| l.starts_with(kernel) && l.contains(size)).expect(kernel);
        line.split_whitespace().last().unwrap().to_string()
    }

    #[test]
    fn rows_are_held_to_the_peak_and_to_the_copy_of_their_size() {
        let rows = [
            row("matmul", "8^3", 1.0, Work::Flops(50e9)),
            row("copy", "64", 1.0, Work::Bytes(80e9)),
            row("sigmoid fwd", "64", 1.0, Work::Bytes(20e9)),
            row("copy", "4096", 1.0, Work::Bytes(10e9)),
            row("sigmoid fwd", "4096", 1.0, Work::Bytes(5e9)),
            row("adam", "99", 1.0, Work::Bytes(1e9)),
        ];
        let roof = Rooflines { compute: 200.0, bandwidth: 4.0, source: "probe".into() };
        let mut out = Vec::new();
        write_table(&mut out, &rows, &roof).unwrap();
        let table = String::from_utf8(out).unwrap();
        assert_eq!(fraction(&table, "matmul", "8^3"), "25%", "{table}");
        assert_eq!(fraction(&table, "sigmoid fwd", " 64 "), "25%", "{table}");
        assert_eq!(fraction(&table, "sigmoid fwd", "4096"), "50%", "{table}");
        // No copy of its size: the large-copy roofline.
        assert_eq!(fraction(&table, "adam", "99"), "25%", "{table}");
        assert!(table.contains("rooflines: probe"), "{table}");
        // Without probes, the run's best matmul and copy.
        let best = Rooflines::best_of(&rows);
        assert_eq!((best.compute, best.bandwidth), (50.0, 80.0));
    }
}
