//! A reproduction's table: markdown for people (results.md), CSV for scripts (results.csv).

use autoenc::{Error, Result};
use std::path::Path;

pub const RESULTS_FILE: &str = "results.md";
pub const CSV_FILE: &str = "results.csv";

#[derive(Debug, Default)]
pub struct Report {
    pub title: String,
    /// The setting in one line (data, model, schedule).
    pub setting: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Whether every row meets the recipe's goal, and the goal in words (empty: no goal,
    /// the table is a reference).
    pub goal: String,
    pub goal_met: bool,
    pub notes: Vec<String>,
    pub machine: String,
    /// Filled in by the command: wall time, the source of the reference, the command line.
    pub seconds: f64,
    pub source: String,
    pub command: String,
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut s = format!("# {}\n\n{}\n\n", self.title, self.setting);
        s.push_str(&format!("| {} |\n|{}\n", self.columns.join(" | "), "---|".repeat(self.columns.len())));
        for r in &self.rows {
            s.push_str(&format!("| {} |\n", r.join(" | ")));
        }
        if !self.goal.is_empty() {
            let verdict = if self.goal_met { "met" } else { "**not met**" };
            s.push_str(&format!("\nGoal: {}: {verdict}.\n", self.goal));
        }
        for n in &self.notes {
            s.push_str(&format!("\n{n}\n"));
        }
        s.push_str(&format!(
            "\nReference: {}\n\nCommand: `{}` (autoenc {}), {}, {:.1} s wall, {} UTC.\n",
            self.source,
            self.command,
            env!("CARGO_PKG_VERSION"),
            self.machine,
            self.seconds,
            utc_date()
        ));
        s
    }

    fn csv(&self) -> String {
        let mut s = self.columns.join(",") + "\n";
        for r in &self.rows {
            s.push_str(&(r.iter().map(|c| c.replace(['*', ','], "")).collect::<Vec<_>>().join(",") + "\n"));
        }
        s
    }

    /// Writes results.md and results.csv into `dir` (created), each through a temporary
    /// file renamed into place, so a reader never sees half a table.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for (name, text) in [(RESULTS_FILE, self.markdown()), (CSV_FILE, self.csv())] {
            let path = dir.join(name);
            let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
            std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
            std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
        }
        Ok(())
    }
}

/// Now as YYYY-MM-DD HH:MM (UTC), from the system clock.
fn utc_date() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", rem / 3600, rem % 3600 / 60)
}

/// Days since 1970-01-01 to (year, month, day), Hinnant's algorithm (a date crate for one
/// line would be a dependency too many).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_become_civil_dates() {
        // Python's datetime.date gives these day numbers.
        for (days, want) in [
            (0, (1970, 1, 1)),
            (11_016, (2000, 2, 29)),
            (19_723, (2024, 1, 1)),
            (20_790, (2026, 12, 3)),
            (47_541, (2100, 3, 1)),
        ] {
            assert_eq!(super::civil_from_days(days), want, "day {days}");
        }
    }
}
