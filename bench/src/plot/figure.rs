//! A figure: title, subtitle lines (which runs, on which CPU, when), a
//! legend and one or more bar panels, rendered as SVG and PNG files, each
//! written whole or not at all.

use super::bars::{self, Panel, drawing};
use super::font;
use super::style::{self, INK, MUTED};
use anyhow::Context as _;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// One legend entry: a swatch and its text.
#[derive(Debug, Clone)]
pub struct LegendEntry {
    /// The text.
    pub label: String,
    /// The swatch colour.
    pub color: RGBColor,
    /// A published-style swatch (light and hatched).
    pub published: bool,
}

/// A whole chart, ready to render.
#[derive(Debug, Clone)]
pub struct Figure {
    /// The file name without extension.
    pub stem: String,
    /// The title.
    pub title: String,
    /// Lines under the title.
    pub subtitle: Vec<String>,
    /// Legend entries, laid out in rows.
    pub legend: Vec<LegendEntry>,
    /// The panels, row by row.
    pub panels: Vec<Panel>,
    /// Panels per row.
    pub columns: usize,
    /// Height of one panel, in pixels.
    pub panel_height: u32,
    /// The ids of the runs the chart draws, for what `bpflab plot` prints.
    pub runs: Vec<String>,
}

/// Width of every figure, in pixels: what a README shows at full size.
pub const WIDTH: u32 = 1000;
const SIDE: i32 = 24;
const TITLE_SIZE: f64 = 24.0;
const SUBTITLE_SIZE: f64 = 14.0;
const SUBTITLE_LINE: i32 = 19;
const LEGEND_SIZE: f64 = 15.0;
const LEGEND_LINE: i32 = 26;
const SWATCH: (i32, i32) = (24, 14);

/// Where each legend entry goes: (x, row).
fn legend_layout(entries: &[LegendEntry]) -> anyhow::Result<Vec<(i32, i32)>> {
    let mut at = Vec::with_capacity(entries.len());
    let (mut x, mut row) = (SIDE, 0);
    for entry in entries {
        let (w, _) = style::text(LEGEND_SIZE, INK)
            .font
            .box_size(&entry.label)
            .map_err(drawing)?;
        let width = SWATCH.0 + 7 + w as i32 + 24;
        if x > SIDE && x + width > WIDTH as i32 - SIDE {
            x = SIDE;
            row += 1;
        }
        at.push((x, row));
        x += width;
    }
    Ok(at)
}

impl Figure {
    /// Height of the title, subtitle and legend, in pixels.
    fn header_height(&self) -> anyhow::Result<i32> {
        let rows = legend_layout(&self.legend)?
            .last()
            .map_or(0, |(_, row)| row + 1);
        Ok(52 + SUBTITLE_LINE * self.subtitle.len() as i32 + 8 + LEGEND_LINE * rows)
    }

    /// The figure's size in pixels.
    fn size(&self) -> anyhow::Result<(u32, u32)> {
        let rows = self.panels.len().div_ceil(self.columns.max(1)) as u32;
        let header = self.header_height()? as u32;
        Ok((WIDTH, header + rows.max(1) * self.panel_height + 8))
    }
}

/// Draws `figure` over the whole of `root`.
fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, figure: &Figure) -> anyhow::Result<()> {
    root.fill(&WHITE).map_err(drawing)?;
    let left = Pos::new(HPos::Left, VPos::Top);
    root.draw_text(
        &figure.title,
        &style::text(TITLE_SIZE, INK).pos(left),
        (SIDE, 16),
    )
    .map_err(drawing)?;
    let mut y = 52;
    for line in &figure.subtitle {
        let line = bars::fit(
            line,
            SUBTITLE_SIZE,
            f64::from(WIDTH) - 2.0 * f64::from(SIDE),
        )?;
        root.draw_text(
            &line,
            &style::text(SUBTITLE_SIZE, MUTED).pos(left),
            (SIDE, y),
        )
        .map_err(drawing)?;
        y += SUBTITLE_LINE;
    }
    y += 8;
    let layout = legend_layout(&figure.legend)?;
    for (entry, (x, row)) in figure.legend.iter().zip(layout) {
        let top = y + row * LEGEND_LINE;
        bars::draw_bar(
            root,
            (x, top + 1),
            (x + SWATCH.0, top + 1 + SWATCH.1),
            entry.color,
            entry.published,
        )?;
        root.draw_text(
            &entry.label,
            &style::text(LEGEND_SIZE, INK).pos(Pos::new(HPos::Left, VPos::Center)),
            (x + SWATCH.0 + 7, top + 1 + SWATCH.1 / 2),
        )
        .map_err(drawing)?;
    }

    let header = figure.header_height()?;
    let (_, body) = root.split_vertically(header);
    let columns = figure.columns.max(1);
    let rows = figure.panels.len().div_ceil(columns).max(1);
    let cells = body.split_evenly((rows, columns));
    for (panel, cell) in figure.panels.iter().zip(&cells) {
        bars::draw_panel(cell, panel)?;
    }
    Ok(())
}

/// A temporary file in `dir`, readable by all like any chart file once
/// renamed.
fn temp_file(dir: &Path, suffix: &str) -> anyhow::Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".bpflab-").suffix(suffix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))
}

/// Renders `figure` into `out` as `<stem>.svg` and `<stem>.png`; returns
/// their paths. Both are rendered into temporary files beside them, then
/// renamed: a chart appears whole or not at all.
pub fn render(figure: &Figure, out: &Path) -> anyhow::Result<[PathBuf; 2]> {
    font::register()?;
    let size = figure.size()?;
    let svg_path = out.join(format!("{}.svg", figure.stem));
    let png_path = out.join(format!("{}.png", figure.stem));

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(&root, figure)?;
        root.present().map_err(drawing)?;
    }
    let mut svg_file = temp_file(out, ".svg")?;
    svg_file
        .write_all(svg.as_bytes())
        .with_context(|| format!("cannot write {}", svg_path.display()))?;

    let png_file = temp_file(out, ".png")?;
    {
        let root = BitMapBackend::new(png_file.path(), size).into_drawing_area();
        draw(&root, figure)?;
        root.present()
            .map_err(drawing)
            .with_context(|| format!("cannot write {}", png_path.display()))?;
    }

    for (file, path) in [(svg_file, &svg_path), (png_file, &png_path)] {
        file.persist(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok([svg_path, png_path])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::bars::{Bar, Series};

    fn figure(legend: usize) -> Figure {
        Figure {
            stem: "test_chart".into(),
            title: "A title".into(),
            subtitle: vec!["one".into(), "two".into()],
            legend: (0..legend)
                .map(|i| LegendEntry {
                    label: format!("engine number {i}"),
                    color: style::engine_color(i),
                    published: i % 2 == 1,
                })
                .collect(),
            panels: vec![
                Panel {
                    caption: Some("a panel".into()),
                    groups: vec![vec!["g1".into()], vec!["g2".into(), "line 2".into()]],
                    series: vec![Series {
                        color: style::engine_color(0),
                        bars: vec![
                            Bar {
                                value: Some(3.0),
                                interval: None,
                                published: false,
                                missing: None,
                            },
                            Bar {
                                value: None,
                                interval: None,
                                published: true,
                                missing: Some("TBD"),
                            },
                        ],
                        joined: false,
                    }],
                    x_desc: "x".into(),
                    y_desc: "y".into(),
                    format: style::number,
                    reference: None,
                    scale: bars::Scale::Linear,
                };
                3
            ],
            columns: 2,
            panel_height: 300,
            runs: vec!["run-1".into()],
        }
    }

    #[test]
    fn size_follows_panels_and_legend_rows() {
        font::register().unwrap();
        let (w, h) = figure(2).size().unwrap();
        assert_eq!(w, WIDTH);
        // Two rows of panels under the header.
        assert_eq!(h, figure(2).header_height().unwrap() as u32 + 600 + 8);
        let wrapped = figure(12).header_height().unwrap() - figure(2).header_height().unwrap();
        assert!(wrapped >= LEGEND_LINE, "a long legend wraps");
    }

    #[test]
    fn render_writes_both_files_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let [svg, png] = render(&figure(3), dir.path()).unwrap();
        assert_eq!(svg, dir.path().join("test_chart.svg"));
        assert_eq!(png, dir.path().join("test_chart.png"));
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains("A title") && text.contains("engine number 2"));
        assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_missing_folder_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        assert!(render(&figure(1), &gone).is_err());
        assert!(!gone.exists());
    }
}
