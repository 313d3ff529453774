//! Colours, colour maps and number formatting shared by the figures.

use plotters::style::RGBColor;

/// Qualitative palette for separate series (distinguishable, readable on white).
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// Palette for paths drawn over a colour map: saturated colours that stand out on viridis.
const OVERLAY_PALETTE: [RGBColor; 6] = [
    RGBColor(230, 20, 30),
    RGBColor(255, 140, 0),
    RGBColor(0, 220, 255),
    RGBColor(240, 60, 200),
    RGBColor(255, 255, 255),
    RGBColor(0, 0, 0),
];

/// The `i`-th series colour, cycling through the palette.
pub(crate) fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The `i`-th colour for a path drawn over a filled colour map.
pub(crate) fn overlay_color(i: usize) -> RGBColor {
    OVERLAY_PALETTE[i % OVERLAY_PALETTE.len()]
}

/// Viridis anchor colours, evenly spaced from 0 to 1.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

/// Viridis colour for `t` in [0, 1]; values outside are clamped and NaN maps to 0.
pub(crate) fn viridis(t: f64) -> RGBColor {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let pos = t * (VIRIDIS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(VIRIDIS.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Lighter or darker version of `c`: `amount` in [-1, 1], negative darkens toward black.
pub(crate) fn shade(c: RGBColor, amount: f64) -> RGBColor {
    let amount = amount.clamp(-1.0, 1.0);
    let f = |v: u8| {
        let v = v as f64;
        let out = if amount >= 0.0 {
            v + (255.0 - v) * amount
        } else {
            v * (1.0 + amount)
        };
        out.round() as u8
    };
    RGBColor(f(c.0), f(c.1), f(c.2))
}

/// Short tick label: plain decimals for moderate magnitudes, `1.5e-7` style otherwise.
pub(crate) fn format_number(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a == 0.0 {
        return "0".to_string();
    }
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.1e}");
        // "1.0e-7" -> "1e-7"
        return s.replace(".0e", "e");
    }
    let decimals = if a >= 100.0 {
        0
    } else if a >= 1.0 {
        2
    } else {
        (-a.log10()).ceil() as usize + 2
    };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_hits_its_end_points_and_survives_nan() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(7.0), viridis(1.0));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        let mid = viridis(0.5);
        assert_eq!(mid, RGBColor(33, 144, 141));
    }

    #[test]
    fn shade_moves_toward_white_or_black() {
        let c = RGBColor(100, 50, 200);
        assert_eq!(shade(c, 1.0), RGBColor(255, 255, 255));
        assert_eq!(shade(c, -1.0), RGBColor(0, 0, 0));
        assert_eq!(shade(c, 0.0), c);
    }

    #[test]
    fn numbers_are_short_and_readable() {
        assert_eq!(format_number(0.0), "0");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_number(1200.0), "1200");
        assert_eq!(format_number(0.05), "0.05");
        assert_eq!(format_number(1e-7), "1e-7");
        assert_eq!(format_number(-3.25e6), "-3.2e6");
        assert_eq!(format_number(f64::INFINITY), "inf");
    }

    #[test]
    fn palettes_cycle() {
        assert_eq!(series_color(0), series_color(PALETTE.len()));
        assert_ne!(series_color(0), series_color(1));
        assert_eq!(overlay_color(1), overlay_color(1 + OVERLAY_PALETTE.len()));
    }
}
