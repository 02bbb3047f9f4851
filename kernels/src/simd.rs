//! Run-time selection of the SIMD level used by the kernels.
//!
//! The level is detected once. `AUTOENC_FORCE_SCALAR=1` in the environment (or the
//! `force-scalar` cargo feature) pins the scalar reference path, so a user can compare
//! results and speed against it.

use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// Plain Rust, the specification.
    Scalar,
    /// aarch64 NEON.
    Neon,
    /// x86_64 AVX2 + FMA (256-bit).
    Avx2Fma,
    /// x86_64 AVX-512F (512-bit).
    Avx512,
}

impl SimdLevel {
    pub fn name(self) -> &'static str {
        match self {
            Self::Scalar => "scalar",
            Self::Neon => "neon",
            Self::Avx2Fma => "avx2+fma",
            Self::Avx512 => "avx512f",
        }
    }
}

/// Every level the kernels know, in order.
pub const ALL_LEVELS: [SimdLevel; 4] = [SimdLevel::Scalar, SimdLevel::Neon, SimdLevel::Avx2Fma, SimdLevel::Avx512];

impl SimdLevel {
    /// The level named `s` (`scalar`, `neon`, `avx2` / `avx2+fma`, `avx512` / `avx512f`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "scalar" => Some(Self::Scalar),
            "neon" => Some(Self::Neon),
            "avx2" | "avx2+fma" | "avx2fma" => Some(Self::Avx2Fma),
            "avx512" | "avx512f" => Some(Self::Avx512),
            _ => None,
        }
    }

    /// What this level runs that differs from the scalar specification, where that is
    /// not every kernel: on aarch64 only matmul has NEON code (the portable packed
    /// kernel); the elementwise, loss, contractive, gaussian, optimizer and covariance
    /// kernels run their scalar code at this level, so testing it compares scalar with
    /// scalar there.
    pub fn note(self) -> &'static str {
        match self {
            Self::Neon => " (own code in matmul only; the other families run scalar code at this level)",
            _ => "",
        }
    }
}

/// Why this machine cannot run `level`, or `None` where it can.
pub fn unavailable_reason(level: SimdLevel) -> Option<String> {
    if available_levels().contains(&level) {
        return None;
    }
    let arch = std::env::consts::ARCH;
    Some(match level {
        SimdLevel::Neon if arch != "aarch64" => {
            format!("an aarch64 level, this is {arch} (matmul's portable NEON-level path is plain Rust and is tested here anyway)")
        }
        SimdLevel::Avx2Fma | SimdLevel::Avx512 if arch != "x86_64" => format!("an x86_64 level, this is {arch}"),
        SimdLevel::Avx2Fma => "this CPU lacks avx2 or fma".into(),
        SimdLevel::Avx512 => "this CPU lacks avx512f".into(),
        _ => "this CPU lacks it".into(),
    })
}

/// One line per level: whether the kernels' tests on this machine run it (every
/// available level is compared with the scalar specification) or why not. Printed at
/// the end of the kernel tests and by `autoenc info`.
pub fn coverage_lines() -> Vec<String> {
    ALL_LEVELS
        .iter()
        .map(|&l| match unavailable_reason(l) {
            None => format!("simd {:<9} exercised{}", l.name(), l.note()),
            Some(why) => format!("simd {:<9} NOT exercised: {why}", l.name()),
        })
        .collect()
}

/// The levels env `AUTOENC_REQUIRE_SIMD` (comma-separated, e.g. `avx2,avx512`) demands;
/// an unknown name is an error naming it.
pub fn required_levels() -> Result<Vec<SimdLevel>, String> {
    parse_required(std::env::var("AUTOENC_REQUIRE_SIMD").ok().as_deref())
}

/// [`required_levels`] of the variable's value (`None`: unset).
fn parse_required(value: Option<&str>) -> Result<Vec<SimdLevel>, String> {
    let Some(v) = value else { return Ok(Vec::new()) };
    v.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            SimdLevel::parse(s).ok_or_else(|| {
                format!("AUTOENC_REQUIRE_SIMD: unknown level '{}' (scalar, neon, avx2, avx512)", s.trim())
            })
        })
        .collect()
}

/// `Err` naming each level `AUTOENC_REQUIRE_SIMD` demands that this machine cannot run
/// (tests that would have compared it with scalar would silently skip it).
pub fn check_required_levels() -> Result<(), String> {
    check_levels(&required_levels()?)
}

/// `Err` naming each of `required` that this machine cannot run.
fn check_levels(required: &[SimdLevel]) -> Result<(), String> {
    let missing: Vec<String> = required
        .iter()
        .copied()
        .filter_map(|l| unavailable_reason(l).map(|why| format!("{} ({why})", l.name())))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("AUTOENC_REQUIRE_SIMD demands levels this machine cannot run: {}", missing.join(", ")))
    }
}

/// Every level this CPU can run, scalar first (for tests that compare each to scalar).
pub fn available_levels() -> Vec<SimdLevel> {
    let mut levels = vec![SimdLevel::Scalar];
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            levels.push(SimdLevel::Avx2Fma);
        }
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            levels.push(SimdLevel::Avx512);
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("neon") {
            levels.push(SimdLevel::Neon);
        }
    }
    levels
}

/// The level env `AUTOENC_SIMD` (e.g. `avx2`) asks the kernels to run, so that one machine
/// can measure each of its levels (an AVX-512 machine's AVX2 figures); `None` when unset.
/// An unknown name, or a level this CPU cannot run, is an error naming it (the CLI checks
/// this before any work; [`detect`] then ignores a bad value and takes the best level).
pub fn requested_level() -> Result<Option<SimdLevel>, String> {
    parse_requested(std::env::var("AUTOENC_SIMD").ok().as_deref())
}

/// [`requested_level`] of the variable's value (`None`: unset).
fn parse_requested(value: Option<&str>) -> Result<Option<SimdLevel>, String> {
    let Some(v) = value else { return Ok(None) };
    if v.trim().is_empty() {
        return Ok(None);
    }
    let level = SimdLevel::parse(v)
        .ok_or_else(|| format!("AUTOENC_SIMD: unknown level '{}' (scalar, neon, avx2, avx512)", v.trim()))?;
    match unavailable_reason(level) {
        None => Ok(Some(level)),
        Some(why) => Err(format!("AUTOENC_SIMD={}: {why}", v.trim())),
    }
}

/// The best level available, unless scalar is forced (`AUTOENC_FORCE_SCALAR=1`, the
/// `force-scalar` feature) or another level is asked for (`AUTOENC_SIMD`).
pub fn detect() -> SimdLevel {
    let forced = std::env::var("AUTOENC_FORCE_SCALAR").ok();
    detect_from(cfg!(feature = "force-scalar") || forces_scalar(forced.as_deref()), requested_level())
}

/// `AUTOENC_FORCE_SCALAR`'s value forces scalar unless unset, empty or "0".
fn forces_scalar(value: Option<&str>) -> bool {
    value.is_some_and(|v| v != "0" && !v.is_empty())
}

/// [`detect`] from its inputs: scalar if forced, else the requested level if valid, else the best.
fn detect_from(force_scalar: bool, requested: Result<Option<SimdLevel>, String>) -> SimdLevel {
    if force_scalar {
        return SimdLevel::Scalar;
    }
    if let Ok(Some(level)) = requested {
        return level;
    }
    *available_levels().iter().max().unwrap_or(&SimdLevel::Scalar)
}

/// The level the plain entry points use (detected once per process).
pub fn level() -> SimdLevel {
    static LEVEL: OnceLock<SimdLevel> = OnceLock::new();
    *LEVEL.get_or_init(detect)
}

/// Threads the multi-threaded kernels may use: `AUTOENC_THREADS`, else all cores.
pub fn threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var("AUTOENC_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_names_parse_back() {
        for l in ALL_LEVELS {
            assert_eq!(SimdLevel::parse(l.name()), Some(l));
        }
        assert_eq!(SimdLevel::parse(" AVX2 "), Some(SimdLevel::Avx2Fma));
        assert_eq!(SimdLevel::parse("avx512"), Some(SimdLevel::Avx512));
        assert_eq!(SimdLevel::parse("sse9"), None);
    }

    #[test]
    fn one_coverage_line_per_level_with_a_reason_when_missing() {
        let lines = coverage_lines();
        assert_eq!(lines.len(), ALL_LEVELS.len());
        for (l, line) in ALL_LEVELS.iter().zip(&lines) {
            assert!(line.contains(l.name()), "{line}");
            let available = available_levels().contains(l);
            assert_eq!(line.contains("NOT exercised"), !available, "{line}");
            assert_eq!(unavailable_reason(*l).is_none(), available);
        }
        assert!(unavailable_reason(SimdLevel::Scalar).is_none(), "scalar runs everywhere");
    }

    #[test]
    fn the_environment_values_are_read_as_documented() {
        let best = *available_levels().last().unwrap();
        assert_eq!(parse_required(None), Ok(vec![]));
        assert_eq!(parse_required(Some("avx2, avx512,")), Ok(vec![SimdLevel::Avx2Fma, SimdLevel::Avx512]));
        assert!(parse_required(Some("avx2,sse9")).unwrap_err().contains("unknown level 'sse9'"));
        assert_eq!(check_levels(&[SimdLevel::Scalar]), Ok(()));
        assert_eq!(check_levels(&available_levels()), Ok(()));
        let foreign = if cfg!(target_arch = "x86_64") { SimdLevel::Neon } else { SimdLevel::Avx2Fma };
        let err = check_levels(&[SimdLevel::Scalar, foreign]).unwrap_err();
        assert!(err.contains(foreign.name()) && !err.contains("scalar ("), "{err}");
        assert_eq!(parse_requested(None), Ok(None));
        assert_eq!(parse_requested(Some(" ")), Ok(None));
        assert_eq!(parse_requested(Some("scalar")), Ok(Some(SimdLevel::Scalar)));
        assert_eq!(parse_requested(Some(best.name())), Ok(Some(best)));
        assert!(parse_requested(Some("sse9")).unwrap_err().contains("unknown level 'sse9'"));
        assert!(parse_requested(Some(foreign.name()))
            .unwrap_err()
            .contains(&format!("AUTOENC_SIMD={}", foreign.name())));
        for (v, forced) in
            [(None, false), (Some(""), false), (Some("0"), false), (Some("1"), true), (Some("yes"), true)]
        {
            assert_eq!(forces_scalar(v), forced, "{v:?}");
        }
        assert_eq!(detect_from(true, Ok(Some(best))), SimdLevel::Scalar);
        assert_eq!(detect_from(false, Ok(Some(SimdLevel::Scalar))), SimdLevel::Scalar);
        assert_eq!(detect_from(false, Ok(None)), best);
        assert_eq!(detect_from(false, Err("bad".into())), best);
    }

    /// Only NEON carries a note (its own code is matmul's alone); the coverage line says so.
    #[test]
    fn only_neon_has_a_note_and_its_line_shows_it() {
        assert!(SimdLevel::Neon.note().contains("matmul only"), "{}", SimdLevel::Neon.note());
        for l in [SimdLevel::Scalar, SimdLevel::Avx2Fma, SimdLevel::Avx512] {
            assert_eq!(l.note(), "", "{}", l.name());
        }
        let neon = &coverage_lines()[1];
        assert_eq!(neon.contains("matmul only"), available_levels().contains(&SimdLevel::Neon), "{neon}");
    }

    /// The reason a level is missing names the architecture when it is another one's.
    #[test]
    fn a_missing_level_of_another_architecture_names_it() {
        let arch = std::env::consts::ARCH;
        let (foreign, why) =
            if arch == "x86_64" { (SimdLevel::Neon, "aarch64") } else { (SimdLevel::Avx2Fma, "x86_64") };
        let reason = unavailable_reason(foreign).expect("a foreign level is unavailable");
        assert!(reason.contains(why) && reason.contains(arch), "{reason}");
    }
}
