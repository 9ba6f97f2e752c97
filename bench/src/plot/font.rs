//! The one font every chart uses, kept in the repository so text renders
//! on machines without system fonts (DejaVu Sans; licence beside it in
//! `bench/assets/fonts/`).

use anyhow::anyhow;
use plotters::style::{FontStyle, register_font};
use std::sync::OnceLock;

/// The family name every text style of the charts uses.
pub const FAMILY: &str = "sans-serif";

/// DejaVu Sans, regular.
const DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the embedded font under [`FAMILY`] (once per process); every
/// chart calls this before drawing.
pub fn register() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the embedded chart font cannot be loaded"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::style::IntoFont;

    #[test]
    fn the_embedded_font_measures_text() {
        register().unwrap();
        let (w, h) = (FAMILY, 20).into_font().box_size("ns per call").unwrap();
        assert!(w > 50 && h > 10, "{w}x{h}");
    }
}
