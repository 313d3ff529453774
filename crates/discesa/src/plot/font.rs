//! Embedded font registration, so rendering never depends on system fonts.

use std::sync::OnceLock;

use plotters::style::FontStyle;

use super::PlotError;

/// DejaVu Sans, shipped inside the crate (licence in `assets/DejaVuSans-LICENSE.txt`).
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Font family name used by every figure; registered under plotters' default name.
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers the embedded font once per process; later calls return the first outcome.
pub(crate) fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            for style in [FontStyle::Normal, FontStyle::Bold] {
                plotters::style::register_font(FAMILY, style, DEJAVU_SANS)
                    .map_err(|_| "DejaVuSans.ttf is not a valid font".to_string())?;
            }
            Ok(())
        })
        .clone()
        .map_err(PlotError::Font)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_font_registers_and_lays_out_text() {
        ensure_font().unwrap();
        let font = plotters::style::FontDesc::from((FAMILY, 20.0));
        let (w, h) = font.box_size("gradient").unwrap();
        assert!(w > 40 && h > 5, "text box {w}x{h} too small");
    }
}
