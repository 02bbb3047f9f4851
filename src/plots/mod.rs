//! Pictures of a run drawn with `plotters` into memory: the loss curves (`curves.png`,
//! [`curves`]) and the test codes in 2-D (`latent.png`, [`latent`]). Both return PNG
//! bytes, so the run directory's writer decides where they go.
//!
//! Text uses the bundled DejaVu Sans (assets/fonts/), registered with plotters' ab_glyph
//! support: nothing depends on the system's fonts.

pub mod curves;
pub mod latent;
pub mod run_curves;

pub use curves::{curves_png, Panel, Series};
pub use latent::{latent_png, project_2d};
pub use run_curves::reconstruction_panels;

use crate::error::{Error, Result};
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use std::sync::Once;

/// The family name the pictures ask plotters for.
const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the bundled font once per process.
fn register_font() -> Result<()> {
    static ONCE: Once = Once::new();
    let mut ok = true;
    ONCE.call_once(|| {
        ok = plotters::style::register_font(FONT, plotters::style::FontStyle::Normal, FONT_BYTES).is_ok();
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Config("the bundled font assets/fonts/DejaVuSans.ttf is not a valid font".into()))
    }
}

/// Ten colours that stay apart from each other (one per digit class); Tableau's palette.
pub const PALETTE: [(u8, u8, u8); 10] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
];

/// An error while drawing, as the engine's error.
fn draw_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Config(format!("drawing {what}: {e}"))
}

/// Encodes an RGB buffer (`width * height * 3` bytes) as PNG.
fn encode_rgb(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(pixels, width, height, ExtendedColorType::Rgb8)
        .map_err(|e| Error::Shape(format!("PNG encoding of a {width}x{height} picture: {e}")))?;
    Ok(out)
}
