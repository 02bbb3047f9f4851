//! `curves.png`: one panel per group of metrics (losses; the extra metrics a model has),
//! each a line per series over the epochs, with axes and a legend.

use super::{draw_error, encode_rgb, register_font, FONT, PALETTE};
use crate::error::Result;
use plotters::prelude::*;

/// One line: its legend name and its (x, y) points.
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(name: &str) -> Series {
        Series { name: name.into(), points: Vec::new() }
    }
}

/// One panel: a title, the axis labels and its lines.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
}

const PANEL_W: u32 = 640;
const PANEL_H: u32 = 400;

/// The panels side by side, as PNG bytes. Series without points are left out; a panel
/// whose series are all empty is not drawn.
pub fn curves_png(panels: &[Panel]) -> Result<Vec<u8>> {
    register_font()?;
    let panels: Vec<&Panel> = panels.iter().filter(|p| p.series.iter().any(|s| !s.points.is_empty())).collect();
    let cols = panels.len().max(1) as u32;
    let (w, h) = (PANEL_W * cols, PANEL_H);
    let mut pixels = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_error("curves.png", e))?;
        let areas = root.split_evenly((1, cols as usize));
        for (panel, area) in panels.iter().zip(&areas) {
            draw_panel(panel, area).map_err(|e| draw_error("curves.png", e))?;
        }
        root.present().map_err(|e| draw_error("curves.png", e))?;
    }
    encode_rgb(&pixels, w, h)
}

/// The x and y ranges covering every point, padded so lines do not sit on the frame.
fn ranges(panel: &Panel) -> ((f64, f64), (f64, f64)) {
    let pts = || panel.series.iter().flat_map(|s| s.points.iter()).filter(|p| p.0.is_finite() && p.1.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts() {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        return ((0.0, 1.0), (0.0, 1.0));
    }
    if x1 - x0 < 1.0 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.08).max(y1.abs().max(1e-6) * 1e-3);
    ((x0, x1), (y0 - pad, y1 + pad))
}

fn draw_panel<DB: DrawingBackend>(
    panel: &Panel,
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let ((x0, x1), (y0, y1)) = ranges(panel);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        // Epochs are whole numbers: label only those.
        .x_labels(((x1 - x0) as usize + 1).min(10))
        .x_label_formatter(&|x| if (x - x.round()).abs() < 1e-6 { format!("{x:.0}") } else { String::new() })
        .y_label_formatter(&|y| format!("{y:.3}"))
        .light_line_style(WHITE)
        .draw()?;
    for (i, s) in panel.series.iter().filter(|s| !s.points.is_empty()).enumerate() {
        let (r, g, b) = PALETTE[i % PALETTE.len()];
        let colour = RGBColor(r, g, b);
        let points: Vec<(f64, f64)> = s.points.iter().copied().filter(|p| p.1.is_finite()).collect();
        chart
            .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))?
            .label(s.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(())
}
