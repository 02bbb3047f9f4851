//! `latent.png`: the test codes in 2-D, coloured by class, with a legend. A 2-D code is
//! drawn as it is; a wider one through its top two principal components (the engine's
//! own PCA, [`crate::models::pca::Pca`]).

use super::{draw_error, encode_rgb, register_font, FONT, PALETTE};
use crate::error::{Error, Result};
use crate::models::pca::Pca;
use plotters::prelude::*;

/// Points in the plane and the names of the two axes.
pub type Projection = (Vec<(f64, f64)>, [String; 2]);

/// The 2-D view of `n` codes of `k` values each (`codes` row-major), and the axis names.
pub fn project_2d(codes: &[f32], n: usize, k: usize) -> Result<Projection> {
    if n == 0 || k == 0 || codes.len() != n * k {
        return Err(Error::Shape(format!("latent map: {} values are not {n} codes of {k}", codes.len())));
    }
    if k == 1 {
        // One dimension: the code against the image index keeps the picture honest.
        let pts = codes.iter().enumerate().map(|(i, &z)| (z as f64, i as f64)).collect();
        return Ok((pts, ["z[0]".into(), "test image".into()]));
    }
    if k == 2 {
        let pts = codes.chunks_exact(2).map(|z| (z[0] as f64, z[1] as f64)).collect();
        return Ok((pts, ["z[0]".into(), "z[1]".into()]));
    }
    let pca = Pca::fit(codes, n, k, 2)?;
    let pts = codes
        .chunks_exact(k)
        .map(|z| {
            let c = |r: usize| {
                z.iter()
                    .zip(&pca.mean)
                    .zip(&pca.components[r * k..(r + 1) * k])
                    .map(|((&v, m), u)| (v as f64 - m) * u)
                    .sum()
            };
            (c(0), c(1))
        })
        .collect();
    Ok((pts, ["principal component 1".into(), "principal component 2".into()]))
}

const W: u32 = 720;
const H: u32 = 600;

/// The scatter of `n` codes (`k` values each) coloured by `labels`, as PNG bytes.
pub fn latent_png(codes: &[f32], labels: &[u8], n: usize, k: usize, title: &str) -> Result<Vec<u8>> {
    if labels.len() != n {
        return Err(Error::Shape(format!("latent map: {} labels for {n} codes", labels.len())));
    }
    register_font()?;
    let (pts, axes) = project_2d(codes, n, k)?;
    let finite = || pts.iter().filter(|p| p.0.is_finite() && p.1.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in finite() {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        return Err(Error::NonFinite("latent map: every code is NaN or infinite".into()));
    }
    let pad = |a: f64, b: f64| ((b - a) * 0.05).max(1e-6);
    let (px, py) = (pad(x0, x1), pad(y0, y1));
    let mut pixels = vec![255u8; (W * H * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (W, H)).into_drawing_area();
        let draw = || -> std::result::Result<(), DrawingAreaErrorKind<_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, (FONT, 20))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(x0 - px..x1 + px, y0 - py..y1 + py)?;
            chart
                .configure_mesh()
                .x_desc(axes[0].as_str())
                .y_desc(axes[1].as_str())
                .label_style((FONT, 13))
                .axis_desc_style((FONT, 15))
                .x_label_formatter(&|v| format!("{v:.2}"))
                .y_label_formatter(&|v| format!("{v:.2}"))
                .light_line_style(WHITE)
                .draw()?;
            let mut classes: Vec<u8> = labels.to_vec();
            classes.sort_unstable();
            classes.dedup();
            for &c in &classes {
                let (r, g, b) = PALETTE[c as usize % PALETTE.len()];
                let colour = RGBColor(r, g, b);
                let members = pts.iter().zip(labels).filter(|(p, &l)| l == c && p.0.is_finite() && p.1.is_finite());
                chart
                    .draw_series(members.map(|(&p, _)| Circle::new(p, 3, colour.filled())))?
                    .label(format!("{c}"))
                    .legend(move |(x, y)| Circle::new((x + 6, y), 4, colour.filled()));
            }
            chart
                .configure_series_labels()
                .label_font((FONT, 14))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperRight)
                .draw()?;
            root.present()
        };
        draw().map_err(|e| draw_error("latent.png", e))?;
    }
    encode_rgb(&pixels, W, H)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_2d_code_is_drawn_as_it_is() {
        let (pts, axes) = project_2d(&[1.0, 2.0, -3.0, 4.0], 2, 2).unwrap();
        assert_eq!(pts, [(1.0, 2.0), (-3.0, 4.0)]);
        assert_eq!(axes[0], "z[0]");
    }

    #[test]
    fn a_wider_code_is_drawn_along_its_top_principal_components() {
        // Most variance along z[2], less along z[0] (uncorrelated with it), none along z[1].
        let rows: Vec<[f32; 3]> =
            (0..8).map(|i| [((i % 2) as f32 - 0.5), 7.0, ((i / 2) as f32 - 1.5) * 10.0]).collect();
        let codes: Vec<f32> = rows.iter().flatten().copied().collect();
        let (pts, _) = project_2d(&codes, 8, 3).unwrap();
        for (p, r) in pts.iter().zip(&rows) {
            assert!((p.0.abs() - (r[2] as f64).abs()).abs() < 1e-6, "{p:?} vs {r:?}");
            assert!((p.1.abs() - (r[0] as f64).abs()).abs() < 1e-6, "{p:?} vs {r:?}");
        }
    }

    #[test]
    fn mismatched_lengths_are_refused() {
        assert!(project_2d(&[1.0, 2.0, 3.0], 2, 2).is_err());
        assert!(latent_png(&[1.0, 2.0], &[1, 2], 1, 2, "t").is_err());
    }
}
