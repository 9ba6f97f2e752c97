//! The grouped bar chart every figure is made of: groups along x
//! (scenarios or runs), one bar per series in each group, a value label on
//! every bar, published bars lighter and hatched. plotters has no grouped
//! bars, so the bars are rectangles on a float axis and the group labels
//! are drawn here.

use super::style::{self, GRID, INK, MUTED};
use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One bar: its value (none: nothing drawn, or `missing` written at the
/// baseline), and whether it is a published figure.
#[derive(Debug, Clone)]
pub struct Bar {
    /// The bar's height.
    pub value: Option<f64>,
    /// Drawn lighter and hatched: a figure from the 2014 thread.
    pub published: bool,
    /// Written at the baseline where there is no value ("TBD").
    pub missing: Option<&'static str>,
}

/// A series: one bar in each group, in one colour.
#[derive(Debug, Clone)]
pub struct Series {
    /// The bars' colour.
    pub color: RGBColor,
    /// One bar per group, in group order.
    pub bars: Vec<Bar>,
    /// Drawn touching the series before it (published beside measured).
    pub joined: bool,
}

/// One grouped bar chart.
#[derive(Debug, Clone)]
pub struct Panel {
    /// A caption above the chart, when a figure has several.
    pub caption: Option<String>,
    /// The label lines under each group.
    pub groups: Vec<Vec<String>>,
    /// The bars, series by series.
    pub series: Vec<Series>,
    /// What the groups are (empty: no axis title).
    pub x_desc: String,
    /// What the bars measure, with the unit.
    pub y_desc: String,
    /// How a value is written on its bar.
    pub format: fn(f64) -> String,
    /// A dashed horizontal reference line (speedup 1×: as fast as old).
    pub reference: Option<f64>,
}

/// The share of a group's width the bars take; the rest separates groups.
const GROUP_FILL: f64 = 0.84;
/// The widest a bar gets, as a share of its group's width.
const MAX_BAR: f64 = 0.16;
/// The gap between bars that are not joined, in bar widths.
const BAR_GAP: f64 = 0.25;
/// Text sizes, in pixels.
const CAPTION_SIZE: f64 = 17.0;
const AXIS_SIZE: f64 = 15.0;
const TICK_SIZE: f64 = 14.0;
const GROUP_SIZE: f64 = 14.0;
const VALUE_SIZE: f64 = 12.0;
/// Line height of group labels.
const GROUP_LINE: u32 = 17;
const Y_LABEL_AREA: u32 = 76;
const MARGIN_LEFT: u32 = 8;
const MARGIN_RIGHT: u32 = 18;

/// A drawing error as an `anyhow` error.
pub fn drawing<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("drawing a chart failed: {e}")
}

/// The pixel width of `text` at `size`.
fn text_width(text: &str, size: f64) -> anyhow::Result<u32> {
    let (w, _) = style::text(size, INK)
        .font
        .box_size(text)
        .map_err(drawing)?;
    Ok(w)
}

impl Panel {
    /// The largest value of the panel and its reference line.
    fn top(&self) -> f64 {
        let values = self
            .series
            .iter()
            .flat_map(|s| s.bars.iter().filter_map(|b| b.value));
        values.chain(self.reference).fold(0.0, f64::max)
    }

    /// Each series' offset inside a group and the bar width, as shares of
    /// the group's width.
    fn layout(&self) -> (Vec<f64>, f64) {
        let mut units = Vec::with_capacity(self.series.len());
        let mut at = 0.0;
        for (i, series) in self.series.iter().enumerate() {
            if i > 0 && !series.joined {
                at += BAR_GAP;
            }
            units.push(at);
            at += 1.0;
        }
        let at = f64::max(at, 1.0);
        let unit = f64::min(GROUP_FILL / at, MAX_BAR);
        let start = (1.0 - unit * at) / 2.0;
        (units.iter().map(|u| start + u * unit).collect(), unit)
    }
}

/// Draws `panel` over the whole of `area`.
pub fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
) -> anyhow::Result<()> {
    let (width, height) = area.dim_in_pixel();
    let groups = panel.groups.len().max(1);
    let label_lines = panel.groups.iter().map(Vec::len).max().unwrap_or(1) as u32;
    let x_desc_px = if panel.x_desc.is_empty() { 0 } else { 26 };
    let x_label_area = 10 + label_lines * GROUP_LINE + x_desc_px;
    let margin_top = if panel.caption.is_some() { 34 } else { 12 };
    let plot_w = f64::from(width.saturating_sub(Y_LABEL_AREA + MARGIN_LEFT + MARGIN_RIGHT));
    let plot_h = f64::from(height.saturating_sub(x_label_area + margin_top)).max(1.0);
    let group_px = plot_w / groups as f64;
    let (offsets, bar_w) = panel.layout();

    // Value labels go above their bars, turned upright where bars are
    // narrower than the text; the y range leaves them room.
    let mut widest = 0;
    for bar in panel.series.iter().flat_map(|s| &s.bars) {
        if let Some(v) = bar.value {
            widest = widest.max(text_width(&(panel.format)(v), VALUE_SIZE)?);
        }
    }
    let upright = f64::from(widest) + 2.0 > bar_w * group_px;
    let label_px = if upright {
        f64::from(widest) + 8.0
    } else {
        VALUE_SIZE + 8.0
    };
    let top = panel.top().max(f64::MIN_POSITIVE);
    let y_max = top * plot_h / (plot_h - label_px).max(plot_h * 0.5);

    if let Some(caption) = &panel.caption {
        area.draw_text(
            caption,
            &style::text(CAPTION_SIZE, INK).pos(Pos::new(HPos::Center, VPos::Top)),
            (
                ((MARGIN_LEFT + Y_LABEL_AREA) as i32 + width as i32 - MARGIN_RIGHT as i32) / 2,
                8,
            ),
        )
        .map_err(drawing)?;
    }

    let mut chart = ChartBuilder::on(area)
        .margin_top(margin_top)
        .margin_right(MARGIN_RIGHT)
        .margin_left(MARGIN_LEFT)
        .x_label_area_size(x_label_area)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(0f64..groups as f64, 0f64..y_max)
        .map_err(drawing)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(0)
        .disable_x_mesh()
        .y_label_formatter(&|v| style::number(*v))
        .y_labels(8)
        .y_desc(panel.y_desc.as_str())
        .axis_desc_style(style::text(AXIS_SIZE, INK))
        .label_style(style::text(TICK_SIZE, INK))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED);
    if !panel.x_desc.is_empty() {
        mesh.x_desc(panel.x_desc.as_str());
    }
    mesh.draw().map_err(drawing)?;

    // Absolute pixels over the whole panel (elements are clamped to the
    // area they are drawn on, and group labels lie below the plot).
    let screen = area.use_screen_coord();
    for g in 1..groups {
        let top = chart.backend_coord(&(g as f64, y_max));
        let bottom = chart.backend_coord(&(g as f64, 0.0));
        screen
            .draw(&PathElement::new(vec![top, bottom], GRID.stroke_width(1)))
            .map_err(drawing)?;
    }
    if let Some(reference) = panel.reference {
        let left = chart.backend_coord(&(0.0, reference));
        let right = chart.backend_coord(&(groups as f64, reference));
        dashed(&screen, left, right, MUTED)?;
    }

    for (series, offset) in panel.series.iter().zip(&offsets) {
        for (g, bar) in series.bars.iter().enumerate() {
            let x0 = g as f64 + offset;
            let x1 = x0 + bar_w;
            let center = chart.backend_coord(&((x0 + x1) / 2.0, 0.0));
            let Some(v) = bar.value else {
                if let Some(missing) = bar.missing {
                    value_label(&screen, missing, (center.0, center.1 - 4), true, MUTED)?;
                }
                continue;
            };
            let top_left = chart.backend_coord(&(x0, v));
            let bottom_right = chart.backend_coord(&(x1, 0.0));
            draw_bar(&screen, top_left, bottom_right, series.color, bar.published)?;
            let text = (panel.format)(v);
            value_label(&screen, &text, (center.0, top_left.1 - 4), upright, INK)?;
        }
    }

    for (g, lines) in panel.groups.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(g as f64 + 0.5, 0.0));
        for (i, line) in lines.iter().enumerate() {
            let color = if i == 0 { INK } else { MUTED };
            let line = fit(line, GROUP_SIZE, group_px - 6.0)?;
            screen
                .draw(&Text::new(
                    line,
                    (x, y + 8 + (i as u32 * GROUP_LINE) as i32),
                    style::text(GROUP_SIZE, color).pos(Pos::new(HPos::Center, VPos::Top)),
                ))
                .map_err(drawing)?;
        }
    }
    Ok(())
}

/// `text`, cut short with an ellipsis if wider than `max_px` at `size`.
pub fn fit(text: &str, size: f64, max_px: f64) -> anyhow::Result<String> {
    if f64::from(text_width(text, size)?) <= max_px {
        return Ok(text.to_string());
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let cut = format!("{}…", chars.iter().collect::<String>().trim_end());
        if f64::from(text_width(&cut, size)?) <= max_px {
            return Ok(cut);
        }
    }
    Ok(String::new())
}

/// A bar between two pixel corners: solid, or light and hatched when
/// published.
pub fn draw_bar<DB: DrawingBackend>(
    screen: &DrawingArea<DB, Shift>,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    color: RGBColor,
    published: bool,
) -> anyhow::Result<()> {
    if !published {
        return screen
            .draw(&Rectangle::new([(x0, y0), (x1, y1)], color.filled()))
            .map_err(drawing);
    }
    screen
        .draw(&Rectangle::new(
            [(x0, y0), (x1, y1)],
            style::light(color).filled(),
        ))
        .map_err(drawing)?;
    // Diagonal lines x + y = c, clipped to the bar.
    let mut c = x0 + y0 + 4;
    while c < x1 + y1 {
        let xa = x0.max(c - y1);
        let xb = x1.min(c - y0);
        if xa < xb {
            screen
                .draw(&PathElement::new(
                    vec![(xa, c - xa), (xb, c - xb)],
                    color.stroke_width(1),
                ))
                .map_err(drawing)?;
        }
        c += 7;
    }
    screen
        .draw(&Rectangle::new([(x0, y0), (x1, y1)], color.stroke_width(1)))
        .map_err(drawing)
}

/// A value written above a bar, level or upright (`screen` takes
/// absolute pixel coordinates, as every element drawn here).
fn value_label<DB: DrawingBackend>(
    screen: &DrawingArea<DB, Shift>,
    text: &str,
    at: (i32, i32),
    upright: bool,
    color: RGBColor,
) -> anyhow::Result<()> {
    // On a white ground, so grid and reference lines never cross it.
    let w = text_width(text, VALUE_SIZE)? as i32;
    let h = VALUE_SIZE as i32;
    let (x, y) = at;
    let ground = if upright {
        [(x - h / 2 - 2, y - w - 2), (x + h / 2 + 3, y + 1)]
    } else {
        [(x - w / 2 - 2, y - h), (x + w / 2 + 2, y + 1)]
    };
    screen
        .draw(&Rectangle::new(ground, WHITE.filled()))
        .map_err(drawing)?;
    let style = style::text(VALUE_SIZE, color);
    let style = if upright {
        style
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Left, VPos::Center))
    } else {
        style.pos(Pos::new(HPos::Center, VPos::Bottom))
    };
    screen.draw(&Text::new(text, at, style)).map_err(drawing)
}

/// A dashed horizontal line.
fn dashed<DB: DrawingBackend>(
    screen: &DrawingArea<DB, Shift>,
    (x0, y): (i32, i32),
    (x1, _): (i32, i32),
    color: RGBColor,
) -> anyhow::Result<()> {
    let mut x = x0;
    while x < x1 {
        let end = (x + 8).min(x1);
        screen
            .draw(&PathElement::new(
                vec![(x, y), (end, y)],
                color.stroke_width(2),
            ))
            .map_err(drawing)?;
        x += 14;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::font;

    fn panel(joined: &[bool]) -> Panel {
        Panel {
            caption: None,
            groups: vec![vec!["g".into()]],
            series: joined
                .iter()
                .map(|&joined| Series {
                    color: style::engine_color(0),
                    bars: vec![Bar {
                        value: Some(1.0),
                        published: false,
                        missing: None,
                    }],
                    joined,
                })
                .collect(),
            x_desc: String::new(),
            y_desc: String::new(),
            format: style::number,
            reference: Some(1.5),
        }
    }

    #[test]
    fn joined_bars_touch_and_the_block_is_centred() {
        let (offsets, w) = panel(&[false, true, false]).layout();
        assert!((offsets[1] - offsets[0] - w).abs() < 1e-9, "joined: no gap");
        assert!(offsets[2] - offsets[1] > w * 1.1, "a gap between pairs");
        let right = offsets[2] + w;
        assert!((offsets[0] - (1.0 - right)).abs() < 1e-9, "centred");
        let (_, one) = panel(&[false]).layout();
        assert_eq!(one, MAX_BAR, "a lone bar is not a wall");
        assert_eq!(panel(&[false]).top(), 1.5, "room for the reference line");
    }

    #[test]
    fn long_labels_are_cut_to_fit() {
        font::register().unwrap();
        assert_eq!(fit("x86_64", 14.0, 200.0).unwrap(), "x86_64");
        let cut = fit("a-very-long-host-name.example.org", 14.0, 80.0).unwrap();
        assert!(cut.ends_with('…') && cut.len() < 30, "{cut}");
        assert!(f64::from(text_width(&cut, 14.0).unwrap()) <= 80.0);
    }
}
