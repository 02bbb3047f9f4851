//! The `autoenc bench` table: each row's rate against the measured rooflines.

use super::{io, Measure, Work};
use crate::error::Result;
use std::io::Write;

pub(super) fn write_table(out: &mut dyn Write, rows: &[Measure]) -> Result<()> {
    let best_flops = rows.iter().filter(|r| r.kernel.starts_with("matmul")).map(Measure::rate).fold(0.0, f64::max);
    let best_bw = rows.iter().filter(|r| r.kernel == "copy").map(Measure::rate).fold(0.0, f64::max);
    writeln!(out, "{:<22} {:>12} {:>12} {:>12} {:>9}", "kernel", "size", "time", "rate", "roofline").map_err(io)?;
    for r in rows {
        let (unit, roof) = match r.work {
            Work::Flops(_) => ("GFLOP/s", best_flops),
            Work::Bytes(_) => ("GB/s", best_bw),
        };
        let frac = if roof > 0.0 { format!("{:.0}%", 100.0 * r.rate() / roof) } else { "-".into() };
        let time = if r.secs >= 1e-3 { format!("{:.3} ms", r.secs * 1e3) } else { format!("{:.1} us", r.secs * 1e6) };
        writeln!(out, "{:<22} {:>12} {:>12} {:>8.2} {:<7} {:>5}", r.kernel, r.size, time, r.rate(), unit, frac)
            .map_err(io)?;
    }
    writeln!(
        out,
        "rooflines (measured): compute {best_flops:.2} GFLOP/s (best matmul), bandwidth {best_bw:.2} GB/s (copy)"
    )
    .map_err(io)
}
