//! The SIMD levels the kernel tests exercised on this machine, one line per level, and a
//! failure when `AUTOENC_REQUIRE_SIMD` (e.g. `avx2,avx512`) names one it lacks. No test
//! harness (`harness = false`): the lines are printed whatever the capture settings, and
//! the name sorts last so cargo runs it after the other kernel tests.
//!
//! Every `*_with(level, ..)` entry point is compared with its scalar specification at
//! every level of `simd::available_levels()` by the other files here; a level missing
//! from that list is not tested at all, which is what these lines make visible.

use std::process::ExitCode;

fn main() -> ExitCode {
    println!("SIMD levels of the kernel tests on this machine:");
    for line in autoenc_kernels::simd::coverage_lines() {
        println!("  {line}");
    }
    match autoenc_kernels::simd::check_required_levels() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
