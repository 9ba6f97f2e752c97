//! Colours, text sizes and number formats shared by every chart.

use super::font::FAMILY;
use plotters::style::{IntoFont, RGBColor, TextStyle};

/// Engine colours (Tableau 10): the thread's four engines always get the
/// same one; others take the rest in order.
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0xba, 0xb0, 0xac),
];

/// Dark grey for text.
pub const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
/// Mid grey for subtitles, notes and reference lines.
pub const MUTED: RGBColor = RGBColor(0x60, 0x60, 0x60);
/// Light grey for grid lines.
pub const GRID: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
/// Near black for interval whiskers: darker than every engine colour and
/// its light published fill, so a whisker shows over any bar.
pub const WHISKER: RGBColor = RGBColor(0x11, 0x11, 0x11);

/// The colour of the `index`-th engine of the thread's order.
pub fn engine_color(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// `color` mixed with white: the fill of published bars.
pub fn light(color: RGBColor) -> RGBColor {
    let mix = |c: u8| (u16::from(c) + 2 * 255).div_ceil(3) as u8;
    RGBColor(mix(color.0), mix(color.1), mix(color.2))
}

/// Text of `size` pixels in `color`.
pub fn text(size: f64, color: RGBColor) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&color)
}

/// A number with as many digits as it deserves: 540, 97.5, 3.25.
pub fn number(v: f64) -> String {
    let s = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A ratio: 2.9×.
pub fn times(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.0}×")
    } else {
        format!("{v:.1}×")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(540.0), "540");
        assert_eq!(number(90.0), "90");
        assert_eq!(number(22.5), "22.5");
        assert_eq!(number(3.254), "3.25");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(times(2.94), "2.9×");
        assert_eq!(times(12.4), "12×");
    }

    #[test]
    fn published_fill_is_lighter() {
        let c = light(engine_color(0));
        assert!(c.0 > engine_color(0).0 && c.2 > engine_color(0).2);
    }
}
