//! Result rows made ready for charting: read and checked from CSV files
//! (or taken as given), grouped into runs, with engines, scenarios and
//! architectures in the thread's order.

use crate::input::{read_bounded, too_large};
pub use crate::results::{BASELINE_ENGINE, THREAD_ENGINES};
use crate::results::{Row, THREAD_CELLS as CELLS, from_csv};
use anyhow::{Context as _, anyhow, bail};
use std::path::Path;

/// Columns a result CSV must have: every non-optional `Row` field, and
/// `ns_per_call`, which every chart draws.
pub const REQUIRED_COLUMNS: [&str; 14] = [
    "run_id",
    "timestamp",
    "host",
    "cpu_model",
    "arch",
    "os",
    "rustc",
    "source",
    "engine",
    "program",
    "mode",
    "skbs",
    "ns_per_call",
    "counter_source",
];

/// The largest result CSV read (16 MiB). A run writes a few KB (about 250
/// bytes a row), so this holds tens of thousands of rows, yet bounds what
/// a stray file (`/dev/zero`, a capture) can make the plot hold in memory.
pub const MAX_CSV_BYTES: u64 = 16 << 20;

/// The thread's architectures in its order; others follow as first seen.
const THREAD_ARCHES: [&str; 3] = ["x86_64", "i386", "arm32"];

/// A figure to draw and its 95% interval (low, high), where it has one.
pub type Estimate = (f64, Option<(f64, f64)>);

/// One row and where it came from, for error messages.
struct Entry {
    origin: String,
    line: Option<usize>,
    row: Row,
}

impl Entry {
    fn at(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.origin),
            None => self.origin.clone(),
        }
    }
}

/// One run: the rows of one machine at one time, or of a publication.
#[derive(Debug, Clone)]
pub struct Run {
    /// The rows' `run_id`.
    pub id: String,
    /// The run's rows, one per engine × program × mode (never empty:
    /// only this module builds runs).
    rows: Vec<Row>,
    /// The figures come from a publication (the 2014 thread), not this tool.
    pub published: bool,
    /// The run says it was emulated (under qemu, say): its times are not
    /// the machine's.
    pub emulated: bool,
}

impl Run {
    /// The run's first row, which holds what all its rows share (host,
    /// layout, processes).
    pub fn first(&self) -> &Row {
        // A run is only built from at least one row.
        &self.rows[0]
    }

    /// The run's rows.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// When the run started (RFC 3339), or was published.
    pub fn timestamp(&self) -> &str {
        &self.first().timestamp
    }

    /// The architecture in the thread's naming.
    pub fn arch(&self) -> &str {
        &self.first().arch
    }

    /// The date the run started (or was published), YYYY-MM-DD.
    pub fn date(&self) -> &str {
        let t = self.timestamp();
        t.get(..10).unwrap_or(t)
    }

    /// When the run started, to the minute where the timestamp says
    /// (`2026-11-25 11:15 UTC`): two runs of one day stay apart.
    pub fn when(&self) -> String {
        let t = self.timestamp();
        let clock = t.get(11..16).filter(|hm| {
            t.as_bytes().get(10) == Some(&b'T')
                && hm.len() == 5
                && hm.as_bytes()[2] == b':'
                && hm
                    .bytes()
                    .enumerate()
                    .all(|(i, b)| i == 2 || b.is_ascii_digit())
        });
        match clock {
            Some(hm) if t.ends_with('Z') => format!("{} {hm} UTC", self.date()),
            Some(hm) => format!("{} {hm}", self.date()),
            None => self.date().to_string(),
        }
    }

    /// The row of one cell.
    pub fn row(&self, engine: &str, scenario: &Scenario) -> Option<&Row> {
        self.rows.iter().find(|r| {
            r.engine == engine && r.program == scenario.program && r.mode == scenario.mode
        })
    }

    /// ns per call of one cell.
    pub fn ns(&self, engine: &str, scenario: &Scenario) -> Option<f64> {
        self.row(engine, scenario).and_then(|r| r.ns_per_call)
    }

    /// ns per call of one cell, with its interval.
    pub fn ns_with_interval(&self, engine: &str, scenario: &Scenario) -> Option<Estimate> {
        let row = self.row(engine, scenario)?;
        Some((row.ns_per_call?, row.ns_interval()))
    }

    /// How many times faster than `old` an engine is in one scenario: the
    /// ratio of the two medians.
    pub fn speedup(&self, engine: &str, scenario: &Scenario) -> Option<f64> {
        let base = self.ns(BASELINE_ENGINE, scenario)?;
        self.ns(engine, scenario).map(|ns| base / ns)
    }

    /// The speedup every chart draws, with its interval: the row's own
    /// `speedup` (the median of paired per-round ratios, which the
    /// machine's drift between rounds does not skew) where it has one;
    /// otherwise, in files written before that column and in published
    /// rows, the ratio of medians, with no interval.
    pub fn speedup_with_interval(&self, engine: &str, scenario: &Scenario) -> Option<Estimate> {
        let row = self.row(engine, scenario)?;
        match row.speedup {
            Some(speedup) => Some((speedup, row.speedup_interval())),
            None => Some((self.speedup(engine, scenario)?, None)),
        }
    }

    /// Whether the run has any row of `engine`.
    pub fn has_engine(&self, engine: &str) -> bool {
        self.rows.iter().any(|r| r.engine == engine)
    }

    /// Whether any row has a branch-miss figure.
    pub fn has_branch_misses(&self) -> bool {
        self.rows.iter().any(|r| r.branch_misses.is_some())
    }

    /// One line naming the run: who or what measured it, on which CPU,
    /// architecture and system, and when.
    pub fn describe(&self) -> String {
        let r = self.first();
        let emulated = if self.emulated { " (emulated)" } else { "" };
        if self.published {
            format!(
                "published 2014: {}, {}, {}{emulated}; CPU {}",
                self.publisher(),
                self.date(),
                r.arch,
                r.cpu_model
            )
        } else {
            format!(
                "measured on {}: {}, {}{emulated}, {}, {} (run {})",
                r.host,
                r.cpu_model,
                r.arch,
                r.os,
                self.when(),
                self.id
            )
        }
    }

    /// Who published the figures (the source's first part), for
    /// published runs.
    fn publisher(&self) -> &str {
        let source = self.first().source.trim_start_matches("published:").trim();
        source.split(',').next().unwrap_or(source).trim()
    }

    /// A name for chart files: the arch and the run id (which the run's
    /// result files are named after), so runs of one host and day never
    /// share a file.
    pub fn slug(&self) -> String {
        let r = self.first();
        let raw = if self.published {
            format!("{}_published", r.arch)
        } else {
            format!("{}_{}", r.arch, self.id)
        };
        sanitize(&raw)
    }

    /// The run in a few words for notes: `run ID (x86_64 on vm, 2026-11-25
    /// 11:15 UTC)`.
    pub fn name(&self) -> String {
        if self.published {
            format!(
                "published run {} ({}, {})",
                self.id,
                self.arch(),
                self.date()
            )
        } else {
            format!(
                "run {} ({} on {}, {})",
                self.id,
                self.arch(),
                self.first().host,
                self.when()
            )
        }
    }

    /// The lines labelling the run under its group of bars: its arch,
    /// `key` (which the chart's subtitle explains), and its host or the
    /// year it was published.
    pub fn label_lines(&self, key: &str) -> Vec<String> {
        let r = self.first();
        let arch = if self.emulated {
            format!("{} (emulated)", r.arch)
        } else {
            r.arch.clone()
        };
        let third = if self.published {
            self.date().get(..4).unwrap_or("published").to_string()
        } else {
            r.host.clone()
        };
        vec![arch, key.to_string(), third]
    }
}

/// One line per run naming it ([`Run::describe`]), the published runs of
/// one publication (same author, date and CPU) on one line with their
/// architectures.
pub fn describe_all(runs: &[&Run]) -> Vec<String> {
    describe_keyed(runs, &[])
}

/// [`describe_all`], each line led by the keys of its runs (`#2: measured
/// on ...`, `#1, #5: published 2014: ...`) where `keys` has one per run.
pub fn describe_keyed(runs: &[&Run], keys: &[String]) -> Vec<String> {
    /// A line: a measured run's, or a publication's with its arches,
    /// each with the keys of its runs.
    enum Line<'a> {
        Measured(String, Vec<&'a str>),
        Published(&'a Run, Vec<&'a str>, Vec<&'a str>),
    }
    let key = |i: usize| keys.get(i).map(String::as_str);
    let same = |a: &Run, b: &Run| {
        a.publisher() == b.publisher()
            && a.date() == b.date()
            && a.first().cpu_model == b.first().cpu_model
    };
    let mut lines: Vec<Line> = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        if !run.published {
            lines.push(Line::Measured(run.describe(), key(i).into_iter().collect()));
            continue;
        }
        let found = lines.iter_mut().find_map(|line| match line {
            Line::Published(first, arches, keys) if same(first, run) => Some((arches, keys)),
            _ => None,
        });
        match found {
            Some((arches, keys)) => {
                arches.push(run.arch());
                keys.extend(key(i));
            }
            None => lines.push(Line::Published(
                run,
                vec![run.arch()],
                key(i).into_iter().collect(),
            )),
        }
    }
    let led = |keys: Vec<&str>, text: String| {
        if keys.is_empty() {
            text
        } else {
            format!("{}: {text}", keys.join(", "))
        }
    };
    lines
        .into_iter()
        .map(|line| match line {
            Line::Measured(text, keys) => led(keys, text),
            Line::Published(first, arches, keys) => led(
                keys,
                format!(
                    "published 2014: {}, {}, {}; CPU {}",
                    first.publisher(),
                    first.date(),
                    arches.join(", "),
                    first.first().cpu_model
                ),
            ),
        })
        .collect()
}

/// A thread column: a program in a mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The program (fprog1, fprog2).
    pub program: String,
    /// hit or miss.
    pub mode: String,
}

impl Scenario {
    /// The label under the scenario's group of bars.
    pub fn label(&self) -> String {
        format!("{} {}", self.program, self.mode)
    }
}

/// Letters, digits, `-` and `_` only, for file names.
pub fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Reads, checks and groups the runs of result CSV files; the first
/// problem found is the error, naming the file and, where there is one,
/// the line.
pub fn load_files(paths: &[impl AsRef<Path>]) -> anyhow::Result<Vec<Run>> {
    load_files_for(paths, "plot")
}

/// [`load_files`] for another command than `plot`: `purpose` is the verb
/// its errors use ("an empty run has nothing to compare").
pub fn load_files_for(paths: &[impl AsRef<Path>], purpose: &str) -> anyhow::Result<Vec<Run>> {
    let mut entries = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let name = path.display().to_string();
        let bytes = read_bounded(path, MAX_CSV_BYTES).map_err(|e| match too_large(&e) {
            Some(size) => anyhow!("{name}: too large for a result CSV: {size}"),
            None => anyhow!(e).context(format!("{name}: cannot be read")),
        })?;
        check_header(&bytes, &name)?;
        let rows = from_csv(&bytes, &name)?;
        if rows.is_empty() {
            bail!("{name}: no rows: an empty run has nothing to {purpose}");
        }
        // One row a line: bpflab writes no field with a line break.
        entries.extend(rows.into_iter().enumerate().map(|(i, row)| Entry {
            origin: name.clone(),
            line: Some(i + 2),
            row,
        }));
    }
    group(entries, purpose)
}

/// Checks and groups rows given in memory (a run just measured, say).
pub fn load_rows(rows: &[Row]) -> anyhow::Result<Vec<Run>> {
    if rows.is_empty() {
        bail!("no rows to plot: an empty run has nothing to plot");
    }
    group(
        rows.iter()
            .map(|row| Entry {
                origin: "rows to plot".into(),
                line: None,
                row: row.clone(),
            })
            .collect(),
        "plot",
    )
}

/// The header names every required column.
fn check_header(bytes: &[u8], name: &str) -> anyhow::Result<()> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader
        .headers()
        .with_context(|| format!("{name}:1: not a CSV header"))?;
    if header.iter().all(|h| h.trim().is_empty()) {
        bail!("{name}: empty file: a result CSV needs a header line and at least one row");
    }
    let missing: Vec<String> = REQUIRED_COLUMNS
        .iter()
        .filter(|c| !header.iter().any(|h| h.trim() == **c))
        .map(|c| format!("`{c}`"))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{name}:1: missing column{} {}: not a bpflab result CSV",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        );
    }
    Ok(())
}

/// Groups entries into runs by `run_id` (in order of first appearance),
/// checking each figure and that each run has something to draw.
fn group(entries: Vec<Entry>, purpose: &str) -> anyhow::Result<Vec<Run>> {
    let mut runs: Vec<(Entry, Run)> = Vec::new();
    for entry in entries {
        check_figures(&entry)?;
        let row = &entry.row;
        match runs.iter_mut().find(|(_, run)| run.id == row.run_id) {
            Some((first, run)) => {
                if first.origin != entry.origin {
                    bail!(
                        "{}: run `{}` is also in {}: give each run once",
                        entry.at(),
                        row.run_id,
                        first.origin
                    );
                }
                if run.rows.iter().any(|r| {
                    r.engine == row.engine && r.program == row.program && r.mode == row.mode
                }) {
                    bail!(
                        "{}: a second `{} {} {}` row in run `{}`",
                        entry.at(),
                        row.engine,
                        row.program,
                        row.mode,
                        row.run_id
                    );
                }
                run.rows.push(entry.row);
            }
            None => {
                let run = Run {
                    id: row.run_id.clone(),
                    published: row.source.starts_with("published"),
                    emulated: row.emulated
                        || [&row.arch, &row.os, &row.cpu_model, &row.source]
                            .iter()
                            .any(|s| s.to_ascii_lowercase().contains("emulated")),
                    rows: vec![row.clone()],
                };
                runs.push((entry, run));
            }
        }
    }
    for (first, run) in &runs {
        if run.rows.iter().all(|r| r.ns_per_call.is_none()) {
            bail!(
                "{}: run `{}` has no measured ns_per_call in any row: nothing to {purpose}",
                first.at(),
                run.id
            );
        }
    }
    Ok(runs.into_iter().map(|(_, run)| run).collect())
}

/// Times and speedups are positive, counts are not negative, and
/// intervals are whole and ordered.
fn check_figures(entry: &Entry) -> anyhow::Result<()> {
    check_intervals(entry)?;
    let r = &entry.row;
    if let Some(bm) = r.branch_misses
        && !(bm.is_finite() && bm >= 0.0)
    {
        bail!(
            "{}: branch_misses {bm} of `{} {} {}` is not a count",
            entry.at(),
            r.engine,
            r.program,
            r.mode
        );
    }
    Ok(())
}

/// The time, the speedup and the ends of both intervals, where given, are
/// positive numbers, and each interval has both ends, low before high: `compare`
/// and `spread` judge runs by them, so a broken one must not pass as a
/// verdict.
fn check_intervals(entry: &Entry) -> anyhow::Result<()> {
    let r = &entry.row;
    let figures = [
        ("speedup", r.speedup),
        ("ns_ci_low", r.ns_ci_low),
        ("ns_ci_high", r.ns_ci_high),
        ("speedup_ci_low", r.speedup_ci_low),
        ("speedup_ci_high", r.speedup_ci_high),
        ("ns_per_call", r.ns_per_call),
    ];
    for (column, value) in figures {
        if let Some(v) = value
            && !(v.is_finite() && v > 0.0)
        {
            bail!(
                "{}: {column} {v} of `{}` is not a positive number",
                entry.at(),
                r.key()
            );
        }
    }
    let intervals = [
        ("ns_ci_low", r.ns_ci_low, "ns_ci_high", r.ns_ci_high),
        (
            "speedup_ci_low",
            r.speedup_ci_low,
            "speedup_ci_high",
            r.speedup_ci_high,
        ),
    ];
    for (low_name, low, high_name, high) in intervals {
        match (low, high) {
            (Some(l), Some(h)) if l > h => bail!(
                "{}: {low_name} {l} is above {high_name} {h} in `{}`: not an interval",
                entry.at(),
                r.key()
            ),
            (Some(_), None) | (None, Some(_)) => bail!(
                "{}: `{}` has only one of {low_name} and {high_name}: an interval needs both ends",
                entry.at(),
                r.key()
            ),
            _ => {}
        }
    }
    Ok(())
}

/// Every engine of `runs`, the thread's first, then others as first seen.
pub fn engines<'a>(runs: impl IntoIterator<Item = &'a Run>) -> Vec<String> {
    let all: Vec<&str> = runs
        .into_iter()
        .flat_map(|run| run.rows.iter().map(|r| r.engine.as_str()))
        .collect();
    in_order(&THREAD_ENGINES, &all)
}

/// Every architecture of `runs`, the thread's first, then others.
pub fn arches(runs: &[Run]) -> Vec<String> {
    let all: Vec<&str> = runs.iter().map(Run::arch).collect();
    in_order(&THREAD_ARCHES, &all)
}

/// Every scenario of `runs`: the thread's four columns first, then others
/// as first seen.
pub fn scenarios<'a>(runs: impl IntoIterator<Item = &'a Run>) -> Vec<Scenario> {
    let mut found: Vec<Scenario> = Vec::new();
    for row in runs.into_iter().flat_map(|run| run.rows.iter()) {
        let s = Scenario {
            program: row.program.clone(),
            mode: row.mode.clone(),
        };
        if !found.contains(&s) {
            found.push(s);
        }
    }
    let mut ordered: Vec<Scenario> = CELLS
        .iter()
        .map(|(p, m)| Scenario {
            program: p.to_string(),
            mode: m.to_string(),
        })
        .filter(|s| found.contains(s))
        .collect();
    for s in found {
        if !ordered.contains(&s) {
            ordered.push(s);
        }
    }
    ordered
}

/// The distinct skbs of miss-mode rows, if all runs agree on one number.
pub fn miss_skbs<'a>(runs: impl IntoIterator<Item = &'a Run>) -> Option<u64> {
    let mut counts: Vec<u64> = runs
        .into_iter()
        .flat_map(|run| run.rows.iter())
        .filter(|r| r.mode == "miss")
        .map(|r| r.skbs)
        .collect();
    counts.sort_unstable();
    counts.dedup();
    match counts.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// `preferred` names present in `all`, then the rest of `all` in order.
fn in_order(preferred: &[&str], all: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = preferred
        .iter()
        .filter(|p| all.contains(p))
        .map(|p| p.to_string())
        .collect();
    for name in all {
        if !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{CellKey, RunInfo, to_csv};

    fn row(run: &str, arch: &str, engine: &str, program: &str, mode: &str, ns: f64) -> Row {
        let info = RunInfo {
            run_id: run.into(),
            timestamp: "2026-11-25T10:00:00Z".into(),
            host: "h".into(),
            cpu_model: "cpu".into(),
            arch: arch.into(),
            os: "linux".into(),
            rustc: "rustc".into(),
            source: "measured: bpflab".into(),
            ..RunInfo::default()
        };
        let skbs = if mode == "miss" { 10_000 } else { 1 };
        Row {
            ns_per_call: Some(ns),
            ..Row::new(&info, &CellKey::new(engine, program, mode), skbs)
        }
    }

    #[test]
    fn required_columns_are_row_fields() {
        let csv = String::from_utf8(to_csv(&[row("r", "a", "e", "p", "m", 1.0)]).unwrap()).unwrap();
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        for c in REQUIRED_COLUMNS {
            assert!(header.contains(&c), "{c}");
        }
    }

    #[test]
    fn orders_follow_the_thread() {
        let rows = vec![
            row("r", "arm32", "ext-switch", "fprog2", "miss", 3.0),
            row("r", "arm32", "ext", "fprog1", "hit", 2.0),
            row("r", "arm32", "old", "fprog9", "hit", 1.0),
            row("q", "x86_64", "old", "fprog1", "miss", 1.0),
        ];
        let runs = load_rows(&rows).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(engines(&runs), ["old", "ext", "ext-switch"]);
        assert_eq!(arches(&runs), ["x86_64", "arm32"]);
        let labels: Vec<String> = scenarios(&runs).iter().map(Scenario::label).collect();
        assert_eq!(
            labels,
            ["fprog1 hit", "fprog1 miss", "fprog2 miss", "fprog9 hit"]
        );
        assert_eq!(miss_skbs(&runs), Some(10_000));
    }

    #[test]
    fn speedup_is_over_old() {
        let runs = load_rows(&[
            row("r", "x86_64", "old", "fprog1", "hit", 90.0),
            row("r", "x86_64", "ext", "fprog1", "hit", 30.0),
        ])
        .unwrap();
        let s = &scenarios(&runs)[0];
        assert_eq!(runs[0].speedup("ext", s), Some(3.0));
        assert_eq!(runs[0].speedup("old-jit", s), None);
    }

    #[test]
    fn speedup_is_the_paired_median_where_the_row_has_one() {
        let mut ext = row("r", "x86_64", "ext", "fprog1", "hit", 30.0);
        let old = row("r", "x86_64", "old", "fprog1", "hit", 90.0);
        let plain = load_rows(&[old.clone(), ext.clone()]).unwrap();
        let s = &scenarios(&plain)[0];
        assert_eq!(plain[0].speedup_with_interval("ext", s), Some((3.0, None)));
        assert_eq!(plain[0].ns_with_interval("ext", s), Some((30.0, None)));

        ext.speedup = Some(3.2);
        let unsure = load_rows(&[old.clone(), ext.clone()]).unwrap();
        assert_eq!(
            unsure[0].speedup_with_interval("ext", s),
            Some((3.2, None)),
            "the column, even without its interval"
        );

        (ext.speedup_ci_low, ext.speedup_ci_high) = (Some(2.9), Some(3.5));
        (ext.ns_ci_low, ext.ns_ci_high) = (Some(28.0), Some(33.0));
        let paired = load_rows(&[old, ext.clone()]).unwrap();
        assert_eq!(
            paired[0].speedup_with_interval("ext", s),
            Some((3.2, Some((2.9, 3.5))))
        );
        assert_eq!(
            paired[0].ns_with_interval("ext", s),
            Some((30.0, Some((28.0, 33.0))))
        );
        assert_eq!(paired[0].speedup_with_interval("old-jit", s), None);

        // Measured against old in its rounds: stands without old's row.
        let alone = load_rows(&[ext]).unwrap();
        assert_eq!(alone[0].speedup("ext", s), None);
        assert_eq!(
            alone[0].speedup_with_interval("ext", s),
            Some((3.2, Some((2.9, 3.5))))
        );
    }

    #[test]
    fn bad_intervals_are_refused() {
        let good = row("r", "x86_64", "ext", "fprog1", "hit", 30.0);
        let mut upside_down = good.clone();
        (upside_down.ns_ci_low, upside_down.ns_ci_high) = (Some(33.0), Some(28.0));
        let err = load_rows(&[upside_down]).unwrap_err().to_string();
        assert!(err.contains("ns_ci_low 33 is above ns_ci_high 28"), "{err}");
        let mut upside_down = good.clone();
        (upside_down.speedup_ci_low, upside_down.speedup_ci_high) = (Some(3.5), Some(2.9));
        let err = load_rows(&[upside_down]).unwrap_err().to_string();
        assert!(err.contains("speedup_ci_low 3.5 is above"), "{err}");
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let mut r = good.clone();
            r.speedup = Some(bad);
            let err = load_rows(&[r]).unwrap_err().to_string();
            assert!(
                err.contains("speedup") && err.contains("not a positive number"),
                "{err}"
            );
            let mut r = good.clone();
            r.ns_ci_high = Some(bad);
            let err = load_rows(&[r]).unwrap_err().to_string();
            assert!(err.contains("ns_ci_high"), "{err}");
        }
    }

    #[test]
    fn bad_figures_and_empty_runs_are_refused() {
        let mut zero = row("r", "x86_64", "old", "fprog1", "hit", 0.0);
        let err = load_rows(&[zero.clone()]).unwrap_err().to_string();
        assert!(err.contains("not a positive number"), "{err}");
        zero.ns_per_call = None;
        let err = load_rows(&[zero.clone()]).unwrap_err().to_string();
        assert!(err.contains("no measured ns_per_call"), "{err}");
        let ok = row("r", "x86_64", "old", "fprog1", "hit", 1.0);
        let err = load_rows(&[ok.clone(), ok]).unwrap_err().to_string();
        assert!(err.contains("a second `old fprog1 hit` row"), "{err}");
        assert!(load_rows(&[]).is_err());
    }

    #[test]
    fn broken_intervals_are_refused() {
        let ok = row("r", "x86_64", "ext", "fprog1", "hit", 10.0);
        type Spoil = fn(&mut Row);
        let cases: [(Spoil, &str); 4] = [
            (
                |r| r.speedup = Some(-1.0),
                "speedup -1 of `ext fprog1 hit` is not a positive",
            ),
            (
                |r| (r.ns_ci_low, r.ns_ci_high) = (Some(11.0), Some(9.0)),
                "ns_ci_low 11 is above ns_ci_high 9",
            ),
            (
                |r| r.speedup_ci_high = Some(2.0),
                "only one of speedup_ci_low and speedup_ci_high",
            ),
            (|r| r.ns_ci_low = Some(f64::NAN), "ns_ci_low NaN"),
        ];
        for (spoil, want) in cases {
            let mut bad = ok.clone();
            spoil(&mut bad);
            let err = load_rows(&[bad]).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
        let whole = Row {
            ns_ci_low: Some(9.0),
            ns_ci_high: Some(11.0),
            speedup: Some(2.0),
            speedup_ci_low: Some(2.0),
            speedup_ci_high: Some(2.0),
            ..ok
        };
        assert!(load_rows(&[whole]).is_ok());
    }

    #[test]
    fn emulated_and_published_runs_are_recognised() {
        let mut r = row("r", "arm32", "old", "fprog1", "hit", 1.0);
        r.os = "linux 6.1 (emulated: qemu-arm)".into();
        let mut p = row("p", "arm32", "old", "fprog1", "hit", 1.0);
        p.source = "published: Someone, LKML".into();
        let runs = load_rows(&[r, p]).unwrap();
        assert!(runs[0].emulated && !runs[0].published);
        assert!(runs[1].published && !runs[1].emulated);
        assert_eq!(runs[0].label_lines("#1")[0], "arm32 (emulated)");
        assert!(
            runs[1]
                .describe()
                .starts_with("published 2014: Someone, 2026-11-25")
        );
        assert_eq!(runs[0].slug(), "arm32_r", "arch and run id");
        assert_eq!(runs[1].slug(), "arm32_published");
    }

    #[test]
    fn runs_of_one_day_are_told_apart_by_the_minute() {
        let mut a = row("a", "x86_64", "old", "fprog1", "hit", 1.0);
        a.timestamp = "2026-11-25T11:15:04Z".into();
        let mut b = row("b", "x86_64", "old", "fprog1", "hit", 1.0);
        b.timestamp = "2026-11-25T11:31:58Z".into();
        let mut odd = row("c", "x86_64", "old", "fprog1", "hit", 1.0);
        odd.timestamp = "2026-11-25".into();
        let runs = load_rows(&[a, b, odd]).unwrap();
        assert_eq!(runs[0].when(), "2026-11-25 11:15 UTC");
        assert_eq!(runs[1].when(), "2026-11-25 11:31 UTC");
        assert_eq!(runs[2].when(), "2026-11-25", "no time: the date alone");
        assert!(runs[0].describe().ends_with("2026-11-25 11:15 UTC (run a)"));
        assert_eq!(runs[1].name(), "run b (x86_64 on h, 2026-11-25 11:31 UTC)");
    }

    #[test]
    fn keyed_lines_lead_with_their_runs_keys() {
        let mut p1 = row("p1", "x86_64", "old", "fprog1", "hit", 1.0);
        p1.source = "published: Someone, LKML".into();
        let mut p2 = row("p2", "i386", "old", "fprog1", "hit", 1.0);
        p2.source = "published: Someone, LKML".into();
        let m = row("m", "x86_64", "old", "fprog1", "hit", 1.0);
        let runs = load_rows(&[p1, m, p2]).unwrap();
        let refs: Vec<&Run> = runs.iter().collect();
        let keys = ["#1".to_string(), "#2".into(), "#3".into()];
        let lines = describe_keyed(&refs, &keys);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("#1, #3: published 2014: Someone"),
            "{lines:?}"
        );
        assert!(lines[1].starts_with("#2: measured on h"), "{lines:?}");
        assert_eq!(describe_all(&refs)[1], runs[1].describe());
    }
}
