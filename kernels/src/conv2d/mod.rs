//! 2-D convolution, its input gradient and its weight gradient, over NCHW images with the
//! per-axis geometry of [`ConvGeom`] (no bias: the tape adds it with the activation).
//!
//! `conv_transpose2d` is the same three maps with the roles swapped (its forward is
//! [`conv2d_input_grad`], its input gradient [`conv2d`], its weight gradient
//! [`conv2d_weight_grad`] with image and output gradient exchanged), so these three serve
//! both layers.
//!
//! Two algorithms, one per file, neither of which builds the whole `[C*KH*KW, N*OH*OW]`
//! column matrix, and [`Algorithm::for_shape`] to pick one per shape:
//! - `blocked`: im2col + matmul a block of whole images at a time (one block's columns
//!   fit L2), blocks as worker-pool tasks; good when both channel counts are large.
//! - `direct`: output blocks accumulated in registers from zero-padded input planes;
//!   good when one side has a single channel (the GEMM is then thin), for stride 1.
//!
//! `AUTOENC_CONV=blocked|direct` forces one (for benchmarks; a shape `direct` cannot
//! take still goes to `blocked`).

mod blocked;
mod direct;

pub use blocked::{ImageBlocks, COL_BLOCK_FLOATS};

use crate::{ConvGeom, SimdLevel};

/// The algorithm the fast versions run for a shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Blocked(ImageBlocks),
    Direct,
}

/// `direct` takes shapes with at most this many channels on one side, where the GEMM is
/// thinnest. Measured on the conv AE's layers at batch 128 (Xeon, AVX-512, 2 threads and
/// 1, docs/PERFORMANCE.md "Conv layers"): 16 -> 1 runs 3.6-4.6x (forward) and 2.5-3.0x
/// (backward) faster direct, 1 -> 16 4-16% faster; with 8 or 16 channels on both sides
/// the blocked GEMM wins the backward by 2x.
pub const DIRECT_MAX_CHANNELS: usize = 1;

/// `AUTOENC_CONV`, read once.
fn forced() -> Option<&'static str> {
    static FORCED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    FORCED.get_or_init(|| std::env::var("AUTOENC_CONV").ok()).as_deref()
}

/// The values `AUTOENC_CONV` may take.
pub const FORCED_CHOICES: [&str; 2] = ["blocked", "direct"];

/// `Err` naming the problem when `AUTOENC_CONV` is set to anything but
/// [`FORCED_CHOICES`] (the CLI checks it at start; the kernels ignore a bad value).
pub fn check_forced() -> Result<(), String> {
    check_forced_value(forced())
}

/// [`check_forced`] on a given value.
pub fn check_forced_value(value: Option<&str>) -> Result<(), String> {
    match value {
        Some(v) if !FORCED_CHOICES.contains(&v) => {
            Err(format!("AUTOENC_CONV must be one of {}, not {v:?}", FORCED_CHOICES.join(", ")))
        }
        _ => Ok(()),
    }
}

impl Algorithm {
    /// The algorithm for a shape: [`Algorithm::choose`] with `AUTOENC_CONV`.
    pub fn for_shape(g: &ConvGeom, out_channels: usize) -> Algorithm {
        Algorithm::choose(g, out_channels, forced())
    }

    /// `direct` for a single channel on either side where it can run, else `blocked`;
    /// `forced` (`"blocked"` / `"direct"`) overrides that where the shape allows.
    pub fn choose(g: &ConvGeom, out_channels: usize, forced: Option<&str>) -> Algorithm {
        let direct_ok = Algorithm::direct_takes(g);
        let direct = match forced {
            Some("direct") => direct_ok,
            Some("blocked") => false,
            _ => direct_ok && g.channels.min(out_channels) <= DIRECT_MAX_CHANNELS,
        };
        if direct {
            Algorithm::Direct
        } else {
            Algorithm::Blocked(ImageBlocks::new(g))
        }
    }

    /// Whether `Direct` can run this shape (stride 1 on both axes: every tap is a
    /// contiguous shifted row).
    pub fn direct_takes(g: &ConvGeom) -> bool {
        g.stride_h == 1 && g.stride_w == 1
    }

    /// [`conv2d`] by this algorithm at `level` (a SIMD level; `Scalar` runs the plain
    /// row operations). Panics for `Direct` on a shape it does not take.
    pub fn conv2d(self, level: SimdLevel, x: &[f32], w: &[f32], y: &mut [f32], g: ConvGeom, oc_n: usize) {
        check_lens(x, w, y, &g, oc_n);
        match self {
            Algorithm::Blocked(b) => blocked::conv2d(level, b, x, w, y, g, oc_n),
            Algorithm::Direct => direct_conv2d(level, x, w, y, g, oc_n),
        }
    }

    /// [`conv2d_input_grad`] by this algorithm.
    pub fn input_grad(self, level: SimdLevel, dy: &[f32], w: &[f32], dx: &mut [f32], g: ConvGeom, oc_n: usize) {
        check_lens(dx, w, dy, &g, oc_n);
        match self {
            Algorithm::Blocked(b) => blocked::conv2d_input_grad(level, b, dy, w, dx, g, oc_n),
            Algorithm::Direct => direct_input_grad(level, dy, w, dx, g, oc_n),
        }
    }

    /// [`conv2d_weight_grad`] by this algorithm.
    pub fn weight_grad(self, level: SimdLevel, x: &[f32], dy: &[f32], dw: &mut [f32], g: ConvGeom, oc_n: usize) {
        check_lens(x, dw, dy, &g, oc_n);
        match self {
            Algorithm::Blocked(b) => blocked::conv2d_weight_grad(level, b, x, dy, dw, g, oc_n),
            Algorithm::Direct => direct_weight_grad(level, x, dy, dw, g, oc_n),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Algorithm::Blocked(b) => b.fmt(f),
            Algorithm::Direct => write!(f, "direct, images over the pool"),
        }
    }
}

/// Whether a loop over `tasks` independent pieces should be pool tasks (enough of them to
/// keep every thread busy) rather than run in turn.
fn spread(tasks: usize) -> bool {
    tasks >= 2 * crate::workers::slots()
}

/// A shared `&mut [f32]` whose disjoint ranges tasks write (each owns its images).
struct Disjoint(*mut f32, usize);
unsafe impl Sync for Disjoint {}
impl Disjoint {
    /// # Safety
    /// No two live slices may overlap.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, start: usize, len: usize) -> &mut [f32] {
        assert!(start + len <= self.1);
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}

/// Partial sums of the weight gradient: image block (or image) `b` adds into partial
/// `b % WEIGHT_PARTIALS`. A constant, not the thread count, so that the result is the
/// same on every machine; 16 keeps up to 8 threads busy.
const WEIGHT_PARTIALS: usize = 16;

/// Runs `task(t)` for the `parts` partial sums of a weight gradient `dw` (`wlen` floats),
/// `task` writing partial `t` (the slice it is given, zeroed), then adds the partials
/// into `dw` in order.
fn sum_partials(dw: &mut [f32], parts: usize, task: &(dyn Fn(usize, &mut [f32]) + Sync)) {
    let wlen = dw.len();
    let mut partials = vec![0.0f32; wlen * parts.saturating_sub(1)];
    dw.fill(0.0);
    let (head, rest) = (Disjoint(dw.as_mut_ptr(), wlen), Disjoint(partials.as_mut_ptr(), partials.len()));
    let run = |t: usize| {
        // SAFETY: task t alone writes partial t.
        let part = unsafe {
            if t == 0 {
                head.slice(0, wlen)
            } else {
                rest.slice((t - 1) * wlen, wlen)
            }
        };
        task(t, part)
    };
    if spread(parts) {
        crate::workers::run(parts, &|_, t| run(t));
    } else {
        (0..parts).for_each(run);
    }
    for part in partials.chunks_exact(wlen) {
        for (d, &p) in dw.iter_mut().zip(part) {
            *d += p;
        }
    }
}

/// `y [N, OC, OH, OW]` (overwritten) `= sum_{c,ki,kj} w[oc, c, ki, kj] x[n, c, ih, iw]`
/// with `ih = oh*stride_h + ki*dil_h - pad_h` (likewise `iw`); taps in the padding add 0.
pub fn conv2d(x: &[f32], w: &[f32], y: &mut [f32], g: ConvGeom, out_channels: usize) {
    conv2d_with(crate::simd::level(), x, w, y, g, out_channels)
}

/// The input gradient: `dx [N, C, H, W]` (overwritten) is the adjoint of [`conv2d`] in
/// `x` applied to `dy [N, OC, OH, OW]`.
pub fn conv2d_input_grad(dy: &[f32], w: &[f32], dx: &mut [f32], g: ConvGeom, out_channels: usize) {
    conv2d_input_grad_with(crate::simd::level(), dy, w, dx, g, out_channels)
}

/// The weight gradient: `dw [OC, C, KH, KW]` (overwritten)
/// `= sum_{n,oh,ow} dy[n, oc, oh, ow] x[n, c, ih, iw]`.
pub fn conv2d_weight_grad(x: &[f32], dy: &[f32], dw: &mut [f32], g: ConvGeom, out_channels: usize) {
    conv2d_weight_grad_with(crate::simd::level(), x, dy, dw, g, out_channels)
}

// ---- the specification ------------------------------------------------------------------

/// The input coordinate tap `k` of output `o` reads on one axis, or `None` in the padding.
#[inline]
fn tap(o: usize, k: usize, stride: usize, pad: usize, dil: usize, size: usize) -> Option<usize> {
    (o * stride + k * dil).checked_sub(pad).filter(|&i| i < size)
}

/// Calls `f(oh, ow, ih, iw, ki, kj)` for every output position and every kernel tap that
/// lands inside the image, in the order the specifications sum: output row-major, then
/// taps `(ki, kj)` row-major.
fn for_each_tap(g: &ConvGeom, mut f: impl FnMut(usize, usize, usize, usize, usize, usize)) {
    for oh in 0..g.out_h() {
        for ow in 0..g.out_w() {
            for ki in 0..g.kernel_h {
                let Some(ih) = tap(oh, ki, g.stride_h, g.pad_h, g.dil_h, g.height) else { continue };
                for kj in 0..g.kernel_w {
                    let Some(iw) = tap(ow, kj, g.stride_w, g.pad_w, g.dil_w, g.width) else { continue };
                    f(oh, ow, ih, iw, ki, kj);
                }
            }
        }
    }
}

/// [`conv2d`] straight from the definition: each output sums its taps over channels
/// `c`, then `(ki, kj)`, in f32.
pub fn conv2d_scalar(x: &[f32], w: &[f32], y: &mut [f32], g: ConvGeom, oc_n: usize) {
    check_lens(x, w, y, &g, oc_n);
    let (plane_in, plane_out, taps) = (g.height * g.width, g.out_h() * g.out_w(), g.kernel_h * g.kernel_w);
    y.fill(0.0);
    for n in 0..g.batch {
        for oc in 0..oc_n {
            let out = &mut y[(n * oc_n + oc) * plane_out..][..plane_out];
            for c in 0..g.channels {
                let (img, k) = (&x[(n * g.channels + c) * plane_in..], &w[(oc * g.channels + c) * taps..]);
                for_each_tap(&g, |oh, ow, ih, iw, ki, kj| {
                    out[oh * g.out_w() + ow] += k[ki * g.kernel_w + kj] * img[ih * g.width + iw];
                });
            }
        }
    }
}

/// [`conv2d_input_grad`] from the definition: every `dy` element scatters `w * dy` onto
/// the inputs its taps read (the transpose of [`conv2d_scalar`]'s loops).
pub fn conv2d_input_grad_scalar(dy: &[f32], w: &[f32], dx: &mut [f32], g: ConvGeom, oc_n: usize) {
    check_lens(dx, w, dy, &g, oc_n);
    let (plane_in, plane_out, taps) = (g.height * g.width, g.out_h() * g.out_w(), g.kernel_h * g.kernel_w);
    dx.fill(0.0);
    for n in 0..g.batch {
        for oc in 0..oc_n {
            let grad = &dy[(n * oc_n + oc) * plane_out..][..plane_out];
            for c in 0..g.channels {
                let (img, k) = (&mut dx[(n * g.channels + c) * plane_in..], &w[(oc * g.channels + c) * taps..]);
                for_each_tap(&g, |oh, ow, ih, iw, ki, kj| {
                    img[ih * g.width + iw] += k[ki * g.kernel_w + kj] * grad[oh * g.out_w() + ow];
                });
            }
        }
    }
}

/// [`conv2d_weight_grad`] from the definition.
pub fn conv2d_weight_grad_scalar(x: &[f32], dy: &[f32], dw: &mut [f32], g: ConvGeom, oc_n: usize) {
    check_lens(x, dw, dy, &g, oc_n);
    let (plane_in, plane_out, taps) = (g.height * g.width, g.out_h() * g.out_w(), g.kernel_h * g.kernel_w);
    dw.fill(0.0);
    for n in 0..g.batch {
        for oc in 0..oc_n {
            let grad = &dy[(n * oc_n + oc) * plane_out..][..plane_out];
            for c in 0..g.channels {
                let (img, k) = (&x[(n * g.channels + c) * plane_in..], &mut dw[(oc * g.channels + c) * taps..]);
                for_each_tap(&g, |oh, ow, ih, iw, ki, kj| {
                    k[ki * g.kernel_w + kj] += grad[oh * g.out_w() + ow] * img[ih * g.width + iw];
                });
            }
        }
    }
}

/// Panics unless the geometry is well formed and image, weight and output hold exactly
/// what it says (`[N,C,H,W]`, `[OC,C,KH,KW]`, `[N,OC,OH,OW]`).
fn check_lens(image: &[f32], w: &[f32], out: &[f32], g: &ConvGeom, oc_n: usize) {
    if let Err(why) = g.check() {
        panic!("conv2d: {why}");
    }
    assert_eq!(image.len(), g.image_len(), "conv2d: image length for {g:?}");
    assert_eq!(w.len(), oc_n * g.col_rows(), "conv2d: weight length for {oc_n} output channels");
    assert_eq!(out.len(), g.batch * oc_n * g.out_h() * g.out_w(), "conv2d: output length for {g:?}");
}

// ---- the fast versions: the selector ----------------------------------------------------

/// [`conv2d`] at `level` (the matmul's and the row operations' SIMD level) by the
/// algorithm [`Algorithm::for_shape`] picks; `Scalar` is the specification.
pub fn conv2d_with(level: SimdLevel, x: &[f32], w: &[f32], y: &mut [f32], g: ConvGeom, oc_n: usize) {
    check_lens(x, w, y, &g, oc_n);
    match level {
        SimdLevel::Scalar => conv2d_scalar(x, w, y, g, oc_n),
        _ => Algorithm::for_shape(&g, oc_n).conv2d(level, x, w, y, g, oc_n),
    }
}

/// [`conv2d_input_grad`] at `level`.
pub fn conv2d_input_grad_with(level: SimdLevel, dy: &[f32], w: &[f32], dx: &mut [f32], g: ConvGeom, oc_n: usize) {
    check_lens(dx, w, dy, &g, oc_n);
    match level {
        SimdLevel::Scalar => conv2d_input_grad_scalar(dy, w, dx, g, oc_n),
        _ => Algorithm::for_shape(&g, oc_n).input_grad(level, dy, w, dx, g, oc_n),
    }
}

/// [`conv2d_weight_grad`] at `level`.
pub fn conv2d_weight_grad_with(level: SimdLevel, x: &[f32], dy: &[f32], dw: &mut [f32], g: ConvGeom, oc_n: usize) {
    check_lens(x, dw, dy, &g, oc_n);
    match level {
        SimdLevel::Scalar => conv2d_weight_grad_scalar(x, dy, dw, g, oc_n),
        _ => Algorithm::for_shape(&g, oc_n).weight_grad(level, x, dy, dw, g, oc_n),
    }
}

// ---- the direct algorithm over the batch (its per-image kernels are in direct.rs) -------

fn for_each_image(batch: usize, f: &(dyn Fn(usize) + Sync)) {
    if spread(batch) {
        crate::workers::run(batch, &|_, n| f(n));
    } else {
        (0..batch).for_each(f);
    }
}

/// The direct algorithm's row operations and taps for `level`, and the floats of one
/// image and of one output image; panics on a shape it does not take.
fn direct_setup(level: SimdLevel, g: &ConvGeom, oc_n: usize) -> (direct::Rows, direct::Taps, usize, usize) {
    assert!(
        Algorithm::direct_takes(g),
        "conv2d: the direct algorithm needs stride 1, not {}x{}",
        g.stride_h,
        g.stride_w
    );
    let (img, out) = (g.channels * g.height * g.width, oc_n * g.out_h() * g.out_w());
    (direct::Rows::for_level(level), direct::Taps::new(g), img, out)
}

fn direct_conv2d(level: SimdLevel, x: &[f32], w: &[f32], y: &mut [f32], g: ConvGeom, oc_n: usize) {
    let (rows, taps, img, out) = direct_setup(level, &g, oc_n);
    let y = Disjoint(y.as_mut_ptr(), y.len());
    for_each_image(g.batch, &|n| {
        // SAFETY: image n alone writes its outputs.
        let yn = unsafe { y.slice(n * out, out) };
        rows.forward_image(&x[n * img..][..img], w, yn, &g, oc_n, &taps);
    });
}

fn direct_input_grad(level: SimdLevel, dy: &[f32], w: &[f32], dx: &mut [f32], g: ConvGeom, oc_n: usize) {
    let (rows, taps, img, out) = direct_setup(level, &g, oc_n);
    let dx = Disjoint(dx.as_mut_ptr(), dx.len());
    for_each_image(g.batch, &|n| {
        // SAFETY: image n alone writes its gradient.
        let dxn = unsafe { dx.slice(n * img, img) };
        rows.input_grad_image(&dy[n * out..][..out], w, dxn, &g, oc_n, &taps);
    });
}

fn direct_weight_grad(level: SimdLevel, x: &[f32], dy: &[f32], dw: &mut [f32], g: ConvGeom, oc_n: usize) {
    let (rows, taps, img, out) = direct_setup(level, &g, oc_n);
    let parts = g.batch.clamp(1, WEIGHT_PARTIALS);
    sum_partials(dw, parts, &|t, part| {
        let mut acc = vec![0.0f32; g.out_w()];
        for n in (t..g.batch).step_by(parts) {
            rows.weight_grad_image(&x[n * img..][..img], &dy[n * out..][..out], part, &g, oc_n, &taps, &mut acc);
        }
    });
}
