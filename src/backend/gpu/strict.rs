//! The one way a test opens the GPU: [`gpu_or_skip`]. Without an adapter it returns `None`
//! with a note on stderr, so a machine without a GPU still runs the CPU suite, unless env
//! `AUTOENC_REQUIRE_GPU=1` (CI), where a missing adapter panics: a GPU test never passes
//! silently on a machine that should have run it. `tests/gpu_required.rs` reruns every
//! GPU test with no driver visible and checks that each one fails.

use super::GpuBackend;

/// The env variable that turns a missing adapter into a failure.
pub const REQUIRE_GPU_VAR: &str = "AUTOENC_REQUIRE_GPU";

/// The start of the panic message when the adapter is required but missing.
pub const MISSING_ADAPTER: &str = "AUTOENC_REQUIRE_GPU=1 but no GPU adapter";

/// Whether `AUTOENC_REQUIRE_GPU=1`.
pub fn gpu_required() -> bool {
    std::env::var(REQUIRE_GPU_VAR).is_ok_and(|v| v == "1")
}

/// The GPU backend (shader bounds checks as `AUTOENC_CHECKED_SHADERS` says), or `None`
/// with a note naming `what` is skipped; panics instead when [`gpu_required`].
pub fn gpu_or_skip(what: &str) -> Option<GpuBackend> {
    skip_unless_required(GpuBackend::new(None), what)
}

/// Like [`gpu_or_skip`] with the runtime-bounds-check choice made explicitly.
pub fn gpu_or_skip_checked(checked_shaders: bool, what: &str) -> Option<GpuBackend> {
    skip_unless_required(GpuBackend::with_checks(None, checked_shaders), what)
}

fn skip_unless_required(opened: crate::Result<GpuBackend>, what: &str) -> Option<GpuBackend> {
    match opened {
        Ok(g) => Some(g),
        Err(e) if gpu_required() => panic!("{MISSING_ADAPTER} ({what}): {e}"),
        Err(e) => {
            eprintln!("note: skipping {what} (no GPU adapter; set {REQUIRE_GPU_VAR}=1 to fail instead): {e}");
            None
        }
    }
}
