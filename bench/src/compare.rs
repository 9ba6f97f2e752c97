//! `bpflab compare` and `bpflab spread`: the result CSVs of several runs
//! read side by side. `compare` says, cell by cell, whether a second run is
//! faster or slower than a first one beyond both runs' 95% intervals (in
//! the manner of criterion's change report); `spread` says how far each
//! figure moves over repeated runs or over a sweep of code layouts.

use crate::lab::stats::median;
use crate::plot::data::{Run, load_files_for};
use crate::results::{BASELINE_ENGINE, CellKey, Row};
use crate::table::Table;
use anyhow::{anyhow, bail};
use clap::Args;
use std::path::{Path, PathBuf};

/// Options of `bpflab compare`.
#[derive(Debug, Args, Clone)]
pub struct CompareArgs {
    /// The first run's result CSV: the reference.
    #[arg(value_name = "A.csv")]
    a: PathBuf,
    /// The second run's result CSV, judged against the first.
    #[arg(value_name = "B.csv")]
    b: PathBuf,
    /// Print the table in Markdown.
    #[arg(long)]
    markdown: bool,
}

/// Options of `bpflab spread`.
#[derive(Debug, Args, Clone)]
pub struct SpreadArgs {
    /// Result CSVs, one run each: two or more.
    #[arg(value_name = "CSV")]
    csvs: Vec<PathBuf>,
    /// Print the table in Markdown.
    #[arg(long)]
    markdown: bool,
}

/// Runs `bpflab compare`: prints the change table of B against A.
pub fn run_compare(args: &CompareArgs) -> anyhow::Result<()> {
    let a = load_one(&args.a, "compare")?;
    let b = load_one(&args.b, "compare")?;
    if a.id == b.id {
        bail!(
            "{}: run `{}` is the same run as {}: compare needs two different runs",
            args.b.display(),
            b.id,
            args.a.display()
        );
    }
    print!("{}", compare_report(&a, &b, args.markdown));
    Ok(())
}

/// Runs `bpflab spread`: prints one line per run and the spread table.
pub fn run_spread(args: &SpreadArgs) -> anyhow::Result<()> {
    if args.csvs.len() < 2 {
        bail!(
            "spread needs two or more result CSVs, got {}: usage: bpflab spread FILE FILE...",
            args.csvs.len()
        );
    }
    let mut runs: Vec<(String, Run)> = Vec::with_capacity(args.csvs.len());
    for path in &args.csvs {
        let run = load_one(path, "spread")?;
        let name = path.display().to_string();
        if let Some((other, _)) = runs.iter().find(|(_, r)| r.id == run.id) {
            bail!(
                "{name}: run `{}` is also in {other}: give each run once",
                run.id
            );
        }
        runs.push((name, run));
    }
    print!("{}", spread_report(&runs, args.markdown));
    Ok(())
}

/// The one run of a result CSV; a file with several runs (the published
/// table, files joined together) is refused, since which of them to take
/// would be a guess.
fn load_one(path: &Path, purpose: &str) -> anyhow::Result<Run> {
    let mut runs = load_files_for(&[path], purpose)?;
    if runs.len() > 1 {
        let ids: Vec<String> = runs.iter().take(3).map(|r| format!("`{}`", r.id)).collect();
        let more = if runs.len() > 3 { ", ..." } else { "" };
        bail!(
            "{}: holds {} runs ({}{more}): {purpose} takes one run per file",
            path.display(),
            runs.len(),
            ids.join(", ")
        );
    }
    runs.pop()
        .ok_or_else(|| anyhow!("{}: no run in the file", path.display()))
}

/// A figure of a row that two runs can be judged on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Median ns per call: lower is faster.
    Ns,
    /// `old`'s time over the engine's: higher is faster.
    Speedup,
}

impl Measure {
    /// The measures an engine's rows are judged on: the baseline's speedup
    /// is 1 by definition, so it is left out.
    fn of_engine(engine: &str) -> &'static [Measure] {
        if engine == BASELINE_ENGINE {
            &[Measure::Ns]
        } else {
            &[Measure::Ns, Measure::Speedup]
        }
    }

    /// The name in the tables.
    fn name(self) -> &'static str {
        match self {
            Measure::Ns => "ns/call",
            Measure::Speedup => "speedup",
        }
    }

    /// The figure and its interval in `row`, where the row has the figure.
    fn of(self, row: &Row) -> Option<Figure> {
        let (value, interval) = match self {
            Measure::Ns => (row.ns_per_call, row.ns_interval()),
            Measure::Speedup => (row.speedup, row.speedup_interval()),
        };
        value.map(|value| Figure { value, interval })
    }

    /// A value as the tables print it.
    fn show(self, value: f64) -> String {
        match self {
            Measure::Ns => format!("{value:.2}"),
            Measure::Speedup => format!("{value:.3}x"),
        }
    }
}

/// One run's value of a figure and its 95% interval, where it has one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Figure {
    /// The point estimate.
    pub value: f64,
    /// Low and high end of the interval.
    pub interval: Option<(f64, f64)>,
}

impl Figure {
    /// Whether the interval holds `x` (false without an interval).
    fn holds(&self, x: f64) -> bool {
        self.interval
            .is_some_and(|(low, high)| low <= x && x <= high)
    }
}

/// What a change between two runs amounts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// B is faster beyond both intervals.
    Faster,
    /// B is slower beyond both intervals.
    Slower,
    /// Each value lies within the other's interval, or one of them does.
    NoChange,
    /// A run has no interval for the figure: no verdict can be given.
    NoInterval,
}

impl Verdict {
    /// The word in the table.
    fn name(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "slower",
            Verdict::NoChange => "no change",
            Verdict::NoInterval => "no interval",
        }
    }
}

/// Judges B's figure against A's: a change counts only when B's value
/// lies outside A's interval and A's outside B's, since either interval
/// alone can be narrow by chance. Lower ns/call and higher speedup are
/// faster.
pub fn classify(measure: Measure, a: Figure, b: Figure) -> Verdict {
    if a.interval.is_none() || b.interval.is_none() {
        return Verdict::NoInterval;
    }
    if a.holds(b.value) || b.holds(a.value) || a.value == b.value {
        return Verdict::NoChange;
    }
    let lower = b.value < a.value;
    if lower == (measure == Measure::Ns) {
        Verdict::Faster
    } else {
        Verdict::Slower
    }
}

/// A cell on an architecture: what matches across runs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cell {
    arch: String,
    key: CellKey,
}

impl Cell {
    fn of(row: &Row) -> Cell {
        Cell {
            arch: row.arch.clone(),
            key: row.key(),
        }
    }

    /// The cell's name; the architecture only where the runs span several.
    fn label(&self, with_arch: bool) -> String {
        if with_arch {
            format!("{} {}", self.arch, self.key)
        } else {
            self.key.to_string()
        }
    }
}

/// The row of `cell` in `rows`.
fn find<'a>(rows: &'a [Row], cell: &Cell) -> Option<&'a Row> {
    rows.iter().find(|r| r.is(&cell.arch, &cell.key))
}

/// Whether the rows span more than one architecture.
fn several_arches<'a>(rows: impl IntoIterator<Item = &'a Row>) -> bool {
    let mut rows = rows.into_iter();
    let first = rows.next().map(|r| r.arch.as_str());
    rows.any(|r| Some(r.arch.as_str()) != first)
}

/// One line of the change table.
#[derive(Clone, Debug, PartialEq)]
struct Change {
    cell: Cell,
    measure: Measure,
    a: f64,
    b: f64,
    verdict: Verdict,
}

impl Change {
    /// B/A - 1, in percent.
    fn percent(&self) -> f64 {
        (self.b / self.a - 1.0) * 100.0
    }
}

/// Two runs cell by cell.
#[derive(Debug, Default)]
struct Comparison {
    changes: Vec<Change>,
    /// Cells of both runs with no figure that both have.
    no_figure: Vec<Cell>,
    only_a: Vec<Cell>,
    only_b: Vec<Cell>,
}

/// Matches the cells of `a` and `b` (in `a`'s order) and judges each
/// figure both have.
fn compare_rows(a: &[Row], b: &[Row]) -> Comparison {
    let mut out = Comparison::default();
    for ra in a {
        let cell = Cell::of(ra);
        let Some(rb) = find(b, &cell) else {
            out.only_a.push(cell);
            continue;
        };
        let before = out.changes.len();
        for &measure in Measure::of_engine(&ra.engine) {
            if let (Some(fa), Some(fb)) = (measure.of(ra), measure.of(rb)) {
                out.changes.push(Change {
                    cell: cell.clone(),
                    measure,
                    a: fa.value,
                    b: fb.value,
                    verdict: classify(measure, fa, fb),
                });
            }
        }
        if out.changes.len() == before {
            out.no_figure.push(cell);
        }
    }
    out.only_b = b
        .iter()
        .map(Cell::of)
        .filter(|cell| find(a, cell).is_none())
        .collect();
    out
}

/// A signed change in percent; a change that rounds to zero is +0.0%.
fn signed_percent(p: f64) -> String {
    let p = if p.abs() < 0.05 { 0.0 } else { p };
    format!("{p:+.1}%")
}

/// One line naming a run: its id, host, architecture, layout and processes.
fn describe(run: &Run) -> String {
    let r = run.first();
    let host = if r.host.is_empty() {
        "an unnamed host"
    } else {
        &r.host
    };
    let emulated = if run.emulated { ", emulated" } else { "" };
    let layout = r
        .layout
        .as_ref()
        .map_or("layout not recorded".to_string(), |l| format!("layout {l}"));
    let processes = match r.processes {
        None => "processes not recorded".to_string(),
        Some(1) => "1 process".to_string(),
        Some(n) => format!("{n} processes"),
    };
    format!(
        "run {} on {host} ({}{emulated}, {layout}, {processes})",
        run.id, r.arch
    )
}

/// Text or Markdown lines and tables, one after another.
struct Out {
    markdown: bool,
    text: String,
}

impl Out {
    fn new(markdown: bool) -> Out {
        Out {
            markdown,
            text: String::new(),
        }
    }

    /// A line of prose (a paragraph in Markdown).
    fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text
            .push_str(if self.markdown { "\n\n" } else { "\n" });
    }

    /// A list of things on one line, when there are any.
    fn list(&mut self, what: &str, cells: &[Cell], with_arch: bool) {
        if !cells.is_empty() {
            let names: Vec<String> = cells.iter().map(|c| c.label(with_arch)).collect();
            self.line(&format!("{what}: {}", names.join(", ")));
        }
    }

    /// A table after a blank line.
    fn table(&mut self, table: &Table) {
        if !self.markdown {
            self.text.push('\n');
        }
        self.text.push_str(&table.render(self.markdown));
        if self.markdown {
            self.text.push('\n');
        }
    }
}

/// The change report of `b` against `a`.
fn compare_report(a: &Run, b: &Run, markdown: bool) -> String {
    let cmp = compare_rows(a.rows(), b.rows());
    let with_arch = several_arches(a.rows().iter().chain(b.rows()));
    let mut out = Out::new(markdown);
    out.line(&format!("A: {}; B: {}", describe(a), describe(b)));
    let (arch_a, arch_b) = (&a.first().arch, &b.first().arch);
    if cmp.changes.is_empty() && arch_a != arch_b {
        out.line(&format!(
            "no figure to compare: A ran on {arch_a} and B on {arch_b}, and cells match only on \
             the same architecture"
        ));
    } else if cmp.changes.is_empty() {
        out.line("no figure to compare: the runs have no cell with a figure in both");
    } else {
        out.table(&Table {
            title: "B against A: change = B/A - 1; faster or slower only where each value lies \
                    outside the other's 95% interval (speedup is over old: higher is faster)"
                .into(),
            header: ["cell", "figure", "A", "B", "change", "verdict"]
                .map(String::from)
                .to_vec(),
            rows: cmp
                .changes
                .iter()
                .map(|c| {
                    vec![
                        c.cell.label(with_arch),
                        c.measure.name().into(),
                        c.measure.show(c.a),
                        c.measure.show(c.b),
                        signed_percent(c.percent()),
                        c.verdict.name().into(),
                    ]
                })
                .collect(),
        });
    }
    out.list(
        "in both, without a figure in one",
        &cmp.no_figure,
        with_arch,
    );
    out.list("only in A", &cmp.only_a, with_arch);
    out.list("only in B", &cmp.only_b, with_arch);
    out.text
}

/// One figure of one cell over several runs.
#[derive(Clone, Debug, PartialEq)]
struct Spread {
    cell: Cell,
    measure: Measure,
    runs: usize,
    min: f64,
    median: f64,
    max: f64,
    /// Runs whose interval holds the median of all runs.
    holding: usize,
    /// Runs with an interval.
    with_interval: usize,
}

impl Spread {
    /// Over `figures` (two or more) of `cell`.
    fn over(cell: &Cell, measure: Measure, figures: &[Figure]) -> Spread {
        let mut values: Vec<f64> = figures.iter().map(|f| f.value).collect();
        let median = median(&mut values);
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Spread {
            cell: cell.clone(),
            measure,
            runs: figures.len(),
            min,
            median,
            max,
            holding: figures.iter().filter(|f| f.holds(median)).count(),
            with_interval: figures.iter().filter(|f| f.interval.is_some()).count(),
        }
    }

    /// (max - min) / median, in percent.
    fn percent(&self) -> f64 {
        (self.max - self.min) / self.median * 100.0
    }

    /// How many runs' intervals hold the median ("5/5"); runs without an
    /// interval are counted as not holding it, and said.
    fn holding_text(&self) -> String {
        match self.runs - self.with_interval {
            0 => format!("{}/{}", self.holding, self.runs),
            n if n == self.runs => "no interval".into(),
            n => format!("{}/{} ({n} without interval)", self.holding, self.runs),
        }
    }
}

/// The spread of every figure that two or more runs have, cells in order
/// of first appearance (the first run's order first); and the cells that
/// gave no line.
fn spread_rows(runs: &[&[Row]]) -> (Vec<Spread>, Vec<Cell>) {
    let mut cells: Vec<Cell> = Vec::new();
    for row in runs.iter().flat_map(|rows| rows.iter()) {
        let cell = Cell::of(row);
        if !cells.contains(&cell) {
            cells.push(cell);
        }
    }
    let mut spreads = Vec::new();
    let mut alone = Vec::new();
    for cell in cells {
        let before = spreads.len();
        for &measure in Measure::of_engine(&cell.key.engine) {
            let figures: Vec<Figure> = runs
                .iter()
                .filter_map(|rows| find(rows, &cell).and_then(|r| measure.of(r)))
                .collect();
            if figures.len() >= 2 {
                spreads.push(Spread::over(&cell, measure, &figures));
            }
        }
        if spreads.len() == before {
            alone.push(cell);
        }
    }
    (spreads, alone)
}

/// The spread report over `runs`, each with the file it came from.
fn spread_report(runs: &[(String, Run)], markdown: bool) -> String {
    let rows: Vec<&[Row]> = runs.iter().map(|(_, run)| run.rows()).collect();
    let (spreads, alone) = spread_rows(&rows);
    let with_arch = several_arches(rows.iter().flat_map(|r| r.iter()));
    let mut out = Out::new(markdown);
    for (file, run) in runs {
        let bullet = if markdown { "- " } else { "" };
        out.text
            .push_str(&format!("{bullet}{file}: {}\n", describe(run)));
    }
    if markdown {
        out.text.push('\n');
    }
    if spreads.is_empty() {
        out.line("no figure to spread: no cell has a figure in two runs");
    } else {
        out.table(&Table {
            title: format!(
                "spread over {} runs: (max - min) / median; in interval: the runs whose 95% \
                 interval holds the median of all runs",
                runs.len()
            ),
            header: [
                "cell",
                "figure",
                "runs",
                "min",
                "median",
                "max",
                "spread",
                "in interval",
            ]
            .map(String::from)
            .to_vec(),
            rows: spreads
                .iter()
                .map(|s| {
                    vec![
                        s.cell.label(with_arch),
                        s.measure.name().into(),
                        s.runs.to_string(),
                        s.measure.show(s.min),
                        s.measure.show(s.median),
                        s.measure.show(s.max),
                        format!("{:.1}%", s.percent()),
                        s.holding_text(),
                    ]
                })
                .collect(),
        });
    }
    out.list("in fewer than two runs with a figure", &alone, with_arch);
    out.text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::RunInfo;

    fn fig(value: f64, low: f64, high: f64) -> Figure {
        Figure {
            value,
            interval: Some((low, high)),
        }
    }

    #[test]
    fn clearly_lower_ns_is_faster_and_higher_slower() {
        let a = fig(20.0, 19.8, 20.2);
        let b = fig(18.0, 17.9, 18.1);
        assert_eq!(classify(Measure::Ns, a, b), Verdict::Faster);
        assert_eq!(classify(Measure::Ns, b, a), Verdict::Slower);
    }

    #[test]
    fn higher_speedup_is_faster() {
        let a = fig(1.20, 1.19, 1.21);
        let b = fig(1.30, 1.28, 1.32);
        assert_eq!(classify(Measure::Speedup, a, b), Verdict::Faster);
        assert_eq!(classify(Measure::Speedup, b, a), Verdict::Slower);
    }

    #[test]
    fn overlap_is_no_change() {
        let a = fig(20.0, 19.0, 21.0);
        // B's value is outside A's interval, but A's is inside B's (wide)
        // interval: one interval alone does not make a change.
        let wide = fig(18.5, 17.0, 20.5);
        assert_eq!(classify(Measure::Ns, a, wide), Verdict::NoChange);
        assert_eq!(classify(Measure::Ns, wide, a), Verdict::NoChange);
        // Overlapping intervals with each value outside the other's are a
        // change: the rule is about the values, not the overlap.
        let near = fig(18.8, 18.0, 19.9);
        assert_eq!(classify(Measure::Ns, a, near), Verdict::Faster);
        assert_eq!(classify(Measure::Ns, a, a), Verdict::NoChange);
        // Bounds are inside.
        assert_eq!(
            classify(Measure::Ns, a, fig(19.0, 18.0, 20.0)),
            Verdict::NoChange
        );
    }

    #[test]
    fn a_missing_interval_gives_no_verdict() {
        let a = fig(20.0, 19.9, 20.1);
        let bare = Figure {
            value: 10.0,
            interval: None,
        };
        assert_eq!(classify(Measure::Ns, a, bare), Verdict::NoInterval);
        assert_eq!(classify(Measure::Speedup, bare, a), Verdict::NoInterval);
    }

    fn row(run: &str, engine: &str, mode: &str, ns: f64, speedup: Option<f64>) -> Row {
        let info = RunInfo {
            run_id: run.into(),
            host: "h".into(),
            arch: "x86_64".into(),
            ..RunInfo::default()
        };
        Row {
            ns_per_call: Some(ns),
            ns_ci_low: Some(ns * 0.99),
            ns_ci_high: Some(ns * 1.01),
            speedup,
            speedup_ci_low: speedup.map(|s| s * 0.99),
            speedup_ci_high: speedup.map(|s| s * 1.01),
            ..Row::new(&info, &CellKey::new(engine, "fprog1", mode), 1)
        }
    }

    #[test]
    fn comparison_matches_cells_and_leaves_old_speedup_out() {
        let a = vec![
            row("a", "old", "hit", 20.0, Some(1.0)),
            row("a", "ext", "hit", 10.0, Some(2.0)),
            row("a", "ext", "miss", 30.0, None),
        ];
        let mut b = vec![
            row("b", "ext", "hit", 10.05, Some(1.6)),
            row("b", "old", "hit", 16.0, Some(1.0)),
            row("b", "old-jit", "hit", 3.0, Some(6.0)),
        ];
        b[0].speedup_ci_low = None;
        let cmp = compare_rows(&a, &b);
        let lines: Vec<(String, &str, Verdict)> = cmp
            .changes
            .iter()
            .map(|c| (c.cell.label(false), c.measure.name(), c.verdict))
            .collect();
        assert_eq!(
            lines,
            [
                ("old fprog1 hit".to_string(), "ns/call", Verdict::Faster),
                ("ext fprog1 hit".to_string(), "ns/call", Verdict::NoChange),
                ("ext fprog1 hit".to_string(), "speedup", Verdict::NoInterval),
            ]
        );
        assert!((cmp.changes[0].percent() + 20.0).abs() < 1e-9);
        assert_eq!(cmp.only_a, [Cell::of(&a[2])]);
        assert_eq!(cmp.only_b, [Cell::of(&b[2])]);
        assert!(cmp.no_figure.is_empty());
    }

    #[test]
    fn spread_arithmetic() {
        let runs: Vec<Vec<Row>> = [10.05, 10.5, 9.8, 10.1, 10.7]
            .iter()
            .enumerate()
            .map(|(i, ns)| vec![row(&format!("r{i}"), "ext", "hit", *ns, Some(20.0 / ns))])
            .collect();
        let rows: Vec<&[Row]> = runs.iter().map(Vec::as_slice).collect();
        let (spreads, alone) = spread_rows(&rows);
        assert!(alone.is_empty());
        let ns = &spreads[0];
        assert_eq!(ns.measure, Measure::Ns);
        assert_eq!((ns.runs, ns.min, ns.median, ns.max), (5, 9.8, 10.1, 10.7));
        assert!((ns.percent() - 0.9 / 10.1 * 100.0).abs() < 1e-9);
        // The intervals are ±1%: only 10.05's and 10.1's hold 10.1.
        assert_eq!(ns.holding, 2);
        assert_eq!(ns.holding_text(), "2/5");
        let speedup = &spreads[1];
        assert_eq!(speedup.measure, Measure::Speedup);
        assert!((speedup.median - 20.0 / 10.1).abs() < 1e-12);
    }

    #[test]
    fn spread_counts_runs_without_interval_and_lists_lone_cells() {
        let mut one = vec![
            row("a", "old", "hit", 20.0, Some(1.0)),
            row("a", "ext", "miss", 8.0, Some(2.5)),
        ];
        let two = vec![row("b", "old", "hit", 21.0, Some(1.0))];
        let three = vec![row("c", "old", "hit", 22.0, Some(1.0))];
        one[0].ns_ci_low = None;
        one[0].ns_ci_high = None;
        let (spreads, alone) = spread_rows(&[&one, &two, &three]);
        assert_eq!(spreads.len(), 1, "old has no speedup line");
        let s = &spreads[0];
        assert_eq!((s.runs, s.median, s.with_interval), (3, 21.0, 2));
        assert_eq!(s.holding_text(), "1/3 (1 without interval)");
        assert_eq!(alone, [Cell::of(&one[1])]);
        // Even counts take the mean of the middle two.
        let (spreads, _) = spread_rows(&[&two, &three]);
        assert_eq!(spreads[0].median, 21.5);
        assert_eq!(spreads[0].holding_text(), "0/2");
    }

    #[test]
    fn change_percent_is_signed_and_never_minus_zero() {
        assert_eq!(signed_percent(-0.01), "+0.0%");
        assert_eq!(signed_percent(12.345), "+12.3%");
        assert_eq!(signed_percent(-5.0), "-5.0%");
    }
}
