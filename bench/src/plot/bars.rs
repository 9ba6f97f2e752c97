//! The grouped bar chart every figure is made of: groups along x
//! (scenarios or runs), one bar per series in each group, a value label on
//! every bar, a whisker where the bar has an interval, published bars
//! lighter and hatched. plotters has no grouped bars, so the bars are
//! rectangles on a float axis and the group labels are drawn here.

use super::style::{self, GRID, INK, MUTED, WHISKER};
use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One bar: its value (none: nothing drawn, or `missing` written at the
/// baseline), its interval, and whether it is a published figure.
#[derive(Debug, Clone)]
pub struct Bar {
    /// The bar's height.
    pub value: Option<f64>,
    /// The value's interval (low, high), drawn as a whisker on the bar.
    pub interval: Option<(f64, f64)>,
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
    /// How values map to heights.
    pub scale: Scale,
}

/// How a panel's y axis maps values to heights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// From zero, heights proportional to values.
    Linear,
    /// Heights proportional to the logarithm of values, from a power of
    /// ten below the smallest: equal ratios are equal distances.
    Log,
}

/// How the values are written over a panel's bars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Labels {
    /// Level, at this text size: the bars are wider than the text.
    Level(f64),
    /// Turned upright, at this text size: no wider than the room between
    /// a bar's neighbours, so labels of bars side by side never overlap.
    Upright(f64),
    /// Not written: bars too narrow for legible text (the axis and the
    /// whiskers still give the values).
    Skipped,
}

/// The smallest value label written, in pixels.
pub const MIN_VALUE_SIZE: f64 = 9.0;

/// How to write value labels whose widest is `widest` pixels at full
/// size, over bars `bar_px` wide with `column_px` between the middles of
/// a bar's neighbours' nearest edges (the bar and the narrower gap
/// beside it): level where the text fits on the bar, else upright and as
/// large as the column allows (a digit's ink is narrower than the text
/// size), else none.
pub fn label_mode(widest: f64, bar_px: f64, column_px: f64) -> Labels {
    if widest + 2.0 <= bar_px {
        return Labels::Level(VALUE_SIZE);
    }
    let size = VALUE_SIZE.min(column_px + 2.0).floor();
    if size >= MIN_VALUE_SIZE {
        Labels::Upright(size)
    } else {
        Labels::Skipped
    }
}

/// The y axis of a drawn panel: where values go, in the units plotters
/// is given (values, or their base-10 logarithms).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Axis {
    scale: Scale,
    /// The value at the bottom of the axis: 0, or a power of ten.
    floor: f64,
}

impl Axis {
    /// The axis for bars whose smallest drawn value (bar or whisker end)
    /// is `smallest`: a log axis starts at the power of ten at or below
    /// half of it, so the shortest bar still shows.
    fn new(scale: Scale, smallest: Option<f64>) -> Self {
        let floor = match scale {
            Scale::Linear => 0.0,
            Scale::Log => {
                let smallest = smallest.filter(|v| v.is_finite() && *v > 0.0);
                smallest.map_or(1.0, |v| 10f64.powf((v / 2.0).log10().floor()))
            }
        };
        Axis { scale, floor }
    }

    /// Where `v` goes on the axis; values below the floor sit on it.
    fn at(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Linear => v,
            Scale::Log => v.max(self.floor).log10(),
        }
    }

    /// The tick values of a log axis up to `max`: 1, 2 and 5 times each
    /// power of ten while the axis spans at most three decades, powers of
    /// ten alone beyond.
    fn log_ticks(&self, max: f64) -> Vec<f64> {
        let decades = (max / self.floor).log10();
        let steps: &[f64] = if decades <= 3.0 {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        let mut ticks = Vec::new();
        let mut power = self.floor;
        while power <= max && ticks.len() < 64 {
            for step in steps {
                let v = power * step;
                if v <= max * (1.0 + 1e-9) {
                    ticks.push(v);
                }
            }
            power *= 10.0;
        }
        ticks
    }
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
/// The size of value labels where bars leave room.
pub const VALUE_SIZE: f64 = 12.0;
/// Line height of group labels.
const GROUP_LINE: u32 = 17;
const Y_LABEL_AREA: u32 = 76;
const MARGIN_LEFT: u32 = 8;
const MARGIN_RIGHT: u32 = 18;
/// Whisker line width, and its caps' half-width as a share of the bar's
/// width, within bounds in pixels (wide enough to see on a thin bar, short
/// enough not to read as a bar edge on a wide one).
const WHISKER_STROKE: u32 = 2;
const CAP_SHARE: f64 = 0.3;
const CAP_PX: (f64, f64) = (3.0, 8.0);

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

impl Bar {
    /// The whisker to draw, low end first: only on a drawn bar, and only
    /// for a finite interval (a bad one is no reason to lose the chart).
    fn whisker(&self) -> Option<(f64, f64)> {
        self.value?;
        let (a, b) = self.interval?;
        (a.is_finite() && b.is_finite()).then_some((a.min(b), a.max(b)))
    }
}

impl Panel {
    /// The largest value of the panel, its whisker tops and its reference
    /// line.
    fn top(&self) -> f64 {
        let bars = self.series.iter().flat_map(|s| &s.bars);
        let values = bars.flat_map(|b| b.value.into_iter().chain(b.whisker().map(|w| w.1)));
        values.chain(self.reference).fold(0.0, f64::max)
    }

    /// The smallest value of the panel that a bar or whisker reaches.
    fn bottom(&self) -> Option<f64> {
        let bars = self.series.iter().flat_map(|s| &s.bars);
        let values = bars.flat_map(|b| b.value.into_iter().chain(b.whisker().map(|w| w.0)));
        values
            .chain(self.reference)
            .filter(|v| v.is_finite() && *v > 0.0)
            .reduce(f64::min)
    }

    /// How value labels are written when the panel's groups are
    /// `group_px` wide.
    fn labels(&self, group_px: f64) -> anyhow::Result<Labels> {
        let mut widest = 0;
        for bar in self.series.iter().flat_map(|s| &s.bars) {
            if let Some(v) = bar.value {
                widest = widest.max(text_width(&(self.format)(v), VALUE_SIZE)?);
            }
        }
        let (_, bar_w, gap) = self.layout();
        Ok(label_mode(
            f64::from(widest),
            bar_w * group_px,
            (bar_w + gap) * group_px,
        ))
    }

    /// Whether any bar of the panel gets a whisker.
    pub fn has_whiskers(&self) -> bool {
        self.series
            .iter()
            .flat_map(|s| &s.bars)
            .any(|b| b.whisker().is_some())
    }

    /// Each series' offset inside a group, the bar width, and the
    /// narrowest gap between two bars, as shares of the group's width.
    fn layout(&self) -> (Vec<f64>, f64, f64) {
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
        let joined = self.series.iter().skip(1).any(|s| s.joined);
        let gap = if joined || self.series.len() < 2 {
            // A lone bar has its group's margin beside it.
            if self.series.len() < 2 { start } else { 0.0 }
        } else {
            BAR_GAP * unit
        };
        (units.iter().map(|u| start + u * unit).collect(), unit, gap)
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
    let (offsets, bar_w, _) = panel.layout();

    // Value labels go above their bars, turned upright where bars are
    // narrower than the text; the y range leaves them room.
    let labels = panel.labels(group_px)?;
    let label_px = match labels {
        Labels::Level(size) => size + 8.0,
        Labels::Upright(size) => {
            let mut widest = 0;
            for bar in panel.series.iter().flat_map(|s| &s.bars) {
                if let Some(v) = bar.value {
                    widest = widest.max(text_width(&(panel.format)(v), size)?);
                }
            }
            f64::from(widest) + 8.0
        }
        Labels::Skipped => 8.0,
    };
    let axis = Axis::new(panel.scale, panel.bottom());
    let y_min = axis.at(axis.floor);
    let top = axis
        .at(panel.top().max(f64::MIN_POSITIVE))
        .max(y_min + 1e-9);
    let y_max = y_min + (top - y_min) * plot_h / (plot_h - label_px).max(plot_h * 0.5);

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
        .build_cartesian_2d(0f64..groups as f64, y_min..y_max)
        .map_err(drawing)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(0).disable_x_mesh();
    match axis.scale {
        Scale::Linear => {
            mesh.y_label_formatter(&|v| style::number(*v)).y_labels(8);
        }
        // plotters would tick the logarithms evenly (3.16, 10, 31.6):
        // the ticks at 1, 2, 5 × 10ⁿ are drawn below instead.
        Scale::Log => {
            mesh.y_labels(0).disable_y_mesh();
        }
    }
    mesh.y_desc(panel.y_desc.as_str())
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
    if axis.scale == Scale::Log {
        for v in axis.log_ticks(10f64.powf(y_max)) {
            let left = chart.backend_coord(&(0.0, axis.at(v)));
            let right = chart.backend_coord(&(groups as f64, axis.at(v)));
            if v > axis.floor {
                screen
                    .draw(&PathElement::new(vec![left, right], GRID.stroke_width(1)))
                    .map_err(drawing)?;
            }
            screen
                .draw(&PathElement::new(
                    vec![(left.0 - 5, left.1), left],
                    MUTED.stroke_width(1),
                ))
                .map_err(drawing)?;
            screen
                .draw(&Text::new(
                    style::number(v),
                    (left.0 - 8, left.1),
                    style::text(TICK_SIZE, INK).pos(Pos::new(HPos::Right, VPos::Center)),
                ))
                .map_err(drawing)?;
        }
    }
    for g in 1..groups {
        let top = chart.backend_coord(&(g as f64, y_max));
        let bottom = chart.backend_coord(&(g as f64, y_min));
        screen
            .draw(&PathElement::new(vec![top, bottom], GRID.stroke_width(1)))
            .map_err(drawing)?;
    }
    if let Some(reference) = panel.reference {
        let left = chart.backend_coord(&(0.0, axis.at(reference)));
        let right = chart.backend_coord(&(groups as f64, axis.at(reference)));
        dashed(&screen, left, right, MUTED)?;
    }

    for (series, offset) in panel.series.iter().zip(&offsets) {
        for (g, bar) in series.bars.iter().enumerate() {
            let x0 = g as f64 + offset;
            let x1 = x0 + bar_w;
            let center = chart.backend_coord(&((x0 + x1) / 2.0, y_min));
            let Some(v) = bar.value else {
                if let Some(missing) = bar.missing {
                    let size = match labels {
                        Labels::Level(size) | Labels::Upright(size) => size,
                        Labels::Skipped => MIN_VALUE_SIZE,
                    };
                    let at = (center.0, center.1 - 4);
                    value_label(&screen, missing, at, Labels::Upright(size), MUTED)?;
                }
                continue;
            };
            let top_left = chart.backend_coord(&(x0, axis.at(v)));
            let bottom_right = chart.backend_coord(&(x1, y_min));
            draw_bar(&screen, top_left, bottom_right, series.color, bar.published)?;
            // The label sits above the bar or its whisker, whichever is
            // higher, so the whisker never runs through the number.
            let mut label_y = top_left.1;
            if let Some((low, high)) = bar.whisker() {
                // On a log axis a whisker is as long as the ratio of its
                // ends; an end below the floor sits on it.
                let low = chart.backend_coord(&(x0, axis.at(low.max(0.0)))).1;
                let high = chart.backend_coord(&(x0, axis.at(high))).1;
                let cap = (bar_w * group_px * CAP_SHARE).clamp(CAP_PX.0, CAP_PX.1) as i32;
                draw_whisker(&screen, center.0, (low, high), cap)?;
                label_y = label_y.min(high);
            }
            if labels != Labels::Skipped {
                let text = (panel.format)(v);
                value_label(&screen, &text, (center.0, label_y - 4), labels, INK)?;
            }
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

/// An interval whisker at column `x`: a vertical line between two pixel
/// rows, capped by short horizontal lines `cap` pixels either side.
fn draw_whisker<DB: DrawingBackend>(
    screen: &DrawingArea<DB, Shift>,
    x: i32,
    (low, high): (i32, i32),
    cap: i32,
) -> anyhow::Result<()> {
    let ink = WHISKER.stroke_width(WHISKER_STROKE);
    for line in [
        vec![(x, low), (x, high)],
        vec![(x - cap, low), (x + cap, low)],
        vec![(x - cap, high), (x + cap, high)],
    ] {
        screen.draw(&PathElement::new(line, ink)).map_err(drawing)?;
    }
    Ok(())
}

/// A value written above a bar as `labels` says, nothing where skipped
/// (`screen` takes absolute pixel coordinates, as every element drawn
/// here).
fn value_label<DB: DrawingBackend>(
    screen: &DrawingArea<DB, Shift>,
    text: &str,
    at: (i32, i32),
    labels: Labels,
    color: RGBColor,
) -> anyhow::Result<()> {
    let (size, upright) = match labels {
        Labels::Level(size) => (size, false),
        Labels::Upright(size) => (size, true),
        Labels::Skipped => return Ok(()),
    };
    // On a white ground, so grid and reference lines never cross it; an
    // upright one no wider than the text, so it never cuts into the bars
    // beside.
    let w = text_width(text, size)? as i32;
    let h = size as i32;
    let (x, y) = at;
    let ground = if upright {
        [(x - h / 2, y - w - 2), (x + h / 2 + 1, y + 1)]
    } else {
        [(x - w / 2 - 2, y - h), (x + w / 2 + 2, y + 1)]
    };
    screen
        .draw(&Rectangle::new(ground, WHITE.filled()))
        .map_err(drawing)?;
    let style = style::text(size, color);
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
                        interval: None,
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
            scale: Scale::Linear,
        }
    }

    #[test]
    fn joined_bars_touch_and_the_block_is_centred() {
        let (offsets, w, gap) = panel(&[false, true, false]).layout();
        assert_eq!(gap, 0.0, "joined bars leave no gap");
        assert!((offsets[1] - offsets[0] - w).abs() < 1e-9, "joined: no gap");
        assert!(offsets[2] - offsets[1] > w * 1.1, "a gap between pairs");
        let right = offsets[2] + w;
        assert!((offsets[0] - (1.0 - right)).abs() < 1e-9, "centred");
        let (_, one, _) = panel(&[false]).layout();
        assert_eq!(one, MAX_BAR, "a lone bar is not a wall");
        assert_eq!(panel(&[false]).top(), 1.5, "room for the reference line");
    }

    /// One group of two bars: 2 with `interval`, and `other` with none.
    fn whiskered(interval: Option<(f64, f64)>) -> Panel {
        whiskered_beside(interval, 1.0)
    }

    fn whiskered_beside(interval: Option<(f64, f64)>, other: f64) -> Panel {
        let bar = |value, interval| Bar {
            value: Some(value),
            interval,
            published: false,
            missing: None,
        };
        Panel {
            series: vec![
                Series {
                    color: style::engine_color(0),
                    bars: vec![bar(2.0, interval)],
                    joined: false,
                },
                Series {
                    color: style::engine_color(1),
                    bars: vec![bar(other, None)],
                    joined: false,
                },
            ],
            reference: None,
            ..panel(&[])
        }
    }

    fn svg_of(panel: &Panel) -> String {
        font::register().unwrap();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (600, 400)).into_drawing_area();
            draw_panel(&root, panel).unwrap();
            root.present().unwrap();
        }
        svg
    }

    /// The value of `name="..."` in an SVG element's line.
    fn attr<'a>(line: &'a str, name: &str) -> &'a str {
        let start = line.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        let len = line[start..].find('"').unwrap();
        &line[start..start + len]
    }

    /// The points of every line drawn in the whisker colour.
    fn whisker_lines(svg: &str) -> Vec<Vec<(i32, i32)>> {
        let stroke = format!(
            "stroke=\"#{:02X}{:02X}{:02X}\"",
            WHISKER.0, WHISKER.1, WHISKER.2
        );
        svg.lines()
            .filter(|l| l.contains(&stroke))
            .map(|l| {
                attr(l, "points")
                    .split_whitespace()
                    .map(|p| {
                        let (x, y) = p.split_once(',').unwrap();
                        (x.parse().unwrap(), y.parse().unwrap())
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn whisker_tops_are_in_the_y_range() {
        assert_eq!(whiskered(Some((1.5, 4.0))).top(), 4.0);
        assert_eq!(whiskered(Some((4.0, 1.5))).top(), 4.0, "either order");
        assert_eq!(whiskered(None).top(), 2.0);
        assert!(whiskered(Some((1.5, 4.0))).has_whiskers());
        assert!(!whiskered(None).has_whiskers());
        let bad = whiskered(Some((1.0, f64::INFINITY)));
        assert!(
            !bad.has_whiskers() && bad.top() == 2.0,
            "no whisker, no range"
        );
        let mut unvalued = whiskered(Some((1.5, 4.0)));
        unvalued.series[0].bars[0].value = None;
        assert!(!unvalued.has_whiskers(), "no bar, no whisker");
    }

    #[test]
    fn a_whisker_is_a_capped_line_centred_under_its_label() {
        let svg = svg_of(&whiskered(Some((1.5, 4.0))));
        let lines = whisker_lines(&svg);
        assert_eq!(lines.len(), 3, "stem and two caps: {lines:?}");
        let [stem, low_cap, high_cap] = [&lines[0], &lines[1], &lines[2]];
        let x = stem[0].0;
        assert_eq!(stem[1].0, x, "the stem is vertical");
        let (low, high) = (stem[0].1, stem[1].1);
        assert!(
            low > high,
            "low end below the high end (pixel rows grow down)"
        );
        for (cap, y) in [(low_cap, low), (high_cap, high)] {
            assert_eq!((cap[0].1, cap[1].1), (y, y), "caps are level at the ends");
            assert_eq!(x - cap[0].0, cap[1].0 - x, "caps are centred on the stem");
            assert!(cap[1].0 - cap[0].0 >= 6, "caps are visible");
        }
        // The stem stands at the middle of its bar, the first rectangle in
        // the bar's colour.
        let color = style::engine_color(0);
        let fill = format!("fill=\"#{:02X}{:02X}{:02X}\"", color.0, color.1, color.2);
        let bar = svg
            .lines()
            .find(|l| l.starts_with("<rect") && l.contains(&fill))
            .unwrap();
        let (left, width): (i32, i32) = (
            attr(bar, "x").parse().unwrap(),
            attr(bar, "width").parse().unwrap(),
        );
        assert!(
            (2 * x - (2 * left + width)).abs() <= 2,
            "centred on the bar"
        );
        assert!(
            high < attr(bar, "y").parse().unwrap(),
            "the top above the bar"
        );
        // The value label stands above the whisker, not across it (tick
        // labels are anchored at their end, value labels at the middle).
        let label = svg
            .lines()
            .zip(svg.lines().skip(1))
            .find(|(element, text)| *text == "2" && element.contains("text-anchor=\"middle\""))
            .map(|(element, _)| element)
            .unwrap();
        assert_eq!(attr(label, "x").parse::<i32>().unwrap(), x);
        let label_y: i32 = attr(label, "y").parse().unwrap();
        assert!(label_y < high, "above the whisker");
        // This whisker is the panel's top, and its label still fits.
        assert!(f64::from(label_y) - VALUE_SIZE >= 0.0, "not clipped");
    }

    #[test]
    fn without_intervals_nothing_else_changes() {
        let plain = svg_of(&whiskered_beside(None, 3.0));
        assert!(whisker_lines(&plain).is_empty());
        // A whisker below the tallest bar keeps the y range: what changes
        // is its three lines, and its bar's label (white ground and text)
        // lifted above it.
        let with = svg_of(&whiskered_beside(Some((1.8, 2.2)), 3.0));
        assert_eq!(with.lines().count(), plain.lines().count() + 3);
        let extra: Vec<&str> = with.lines().filter(|l| !plain.contains(*l)).collect();
        let lines = extra.iter().filter(|l| l.starts_with("<polyline")).count();
        assert_eq!((lines, extra.len()), (3, 5), "{extra:#?}");
        assert_eq!(whisker_lines(&with).len(), 3);
    }

    #[test]
    fn value_labels_fit_their_bars_or_are_left_out() {
        assert_eq!(label_mode(20.0, 30.0, 40.0), Labels::Level(VALUE_SIZE));
        assert_eq!(label_mode(30.0, 12.0, 15.0), Labels::Upright(VALUE_SIZE));
        // Narrow bars side by side: smaller text, never wider than the
        // room between the neighbours.
        assert_eq!(label_mode(30.0, 7.0, 8.0), Labels::Upright(10.0));
        assert_eq!(label_mode(30.0, 4.0, 5.0), Labels::Skipped);
    }

    #[test]
    fn a_log_axis_starts_below_the_shortest_bar_and_ticks_at_1_2_5() {
        let axis = Axis::new(Scale::Log, Some(4.06));
        assert_eq!(axis.floor, 1.0);
        assert_eq!(Axis::new(Scale::Log, Some(25.0)).floor, 10.0);
        assert_eq!(Axis::new(Scale::Log, Some(1.5)).floor, 0.1);
        assert_eq!(Axis::new(Scale::Log, None).floor, 1.0);
        assert_eq!(Axis::new(Scale::Linear, Some(4.0)).floor, 0.0);
        assert!((axis.at(100.0) - 2.0).abs() < 1e-12);
        assert_eq!(axis.at(0.5), 0.0, "below the floor sits on it");
        assert_eq!(
            axis.log_ticks(300.0),
            [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0]
        );
        assert_eq!(
            axis.log_ticks(20_000.0),
            [1.0, 10.0, 100.0, 1000.0, 10_000.0]
        );
        // A whisker on a log axis spans the ratio of its ends.
        let axis = Axis::new(Scale::Log, Some(10.0));
        let (a, b) = (
            axis.at(400.0) - axis.at(200.0),
            axis.at(20.0) - axis.at(10.0),
        );
        assert!((a - b).abs() < 1e-12);
    }

    #[test]
    fn a_log_panel_draws_whiskers_and_ticks() {
        let mut panel = whiskered_beside(Some((1.8, 2.2)), 300.0);
        panel.scale = Scale::Log;
        assert_eq!(panel.bottom(), Some(1.8), "the whisker's low end");
        let svg = svg_of(&panel);
        assert_eq!(whisker_lines(&svg).len(), 3);
        for tick in ["0.1", "1", "10", "100"] {
            assert!(svg.lines().any(|l| l == tick), "tick {tick}");
        }
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
