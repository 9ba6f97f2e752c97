//! The charts, built from runs: per architecture, ns per call and speedup
//! over old (measured beside published) and branch misses; across runs,
//! speedup over old with each machine and architecture its own group.
//! Measured figures with a 95% interval carry it as a whisker.

use super::bars::{Bar, Panel, Scale, Series};
use super::data::{self, BASELINE_ENGINE, Estimate, Run, Scenario};
use super::figure::{Figure, LegendEntry};
use super::style;
use crate::results::CounterSource;
use plotters::style::RGBColor;

/// The figures to render, and a line for each chart left out and why.
#[derive(Debug, Default)]
pub struct Charts {
    /// Figures, in the order they are written.
    pub figures: Vec<Figure>,
    /// Why a chart is missing.
    pub notes: Vec<String>,
}

/// Engine colours, fixed for the thread's engines so every chart agrees.
struct Palette {
    engines: Vec<String>,
}

impl Palette {
    fn color(&self, engine: &str) -> RGBColor {
        style::engine_color(self.engines.iter().position(|e| e == engine).unwrap_or(0))
    }

    fn entries(&self, engines: &[String], published: bool) -> Vec<LegendEntry> {
        engines
            .iter()
            .map(|e| LegendEntry {
                label: e.clone(),
                color: self.color(e),
                published,
            })
            .collect()
    }
}

/// The legend entry that explains the published bars' look.
fn published_entry() -> LegendEntry {
    LegendEntry {
        label: "published 2014 (same colours, light and hatched)".into(),
        color: style::MUTED,
        published: true,
    }
}

/// One architecture's charts: a measured run (if any) beside the thread's
/// figures for that architecture (if any).
struct ArchView<'a> {
    slug: String,
    arch: String,
    measured: Option<&'a Run>,
    published: Option<&'a Run>,
}

impl ArchView<'_> {
    fn runs(&self) -> impl Iterator<Item = &Run> {
        self.measured.into_iter().chain(self.published)
    }

    /// The ids of the view's runs.
    fn run_ids(&self) -> Vec<String> {
        self.runs().map(|r| r.id.clone()).collect()
    }

    /// The view's runs in a few words, for notes.
    fn names(&self) -> String {
        self.runs().map(Run::name).collect::<Vec<_>>().join(", ")
    }

    fn subtitle(&self) -> Vec<String> {
        let runs: Vec<&Run> = self.runs().collect();
        let mut lines = data::describe_all(&runs);
        if self.published.is_none() {
            lines.push(format!(
                "The 2014 thread published no {} figures: measured only.",
                self.arch
            ));
        }
        lines
    }

    /// What the title says the chart compares.
    fn compared(&self) -> &'static str {
        match (self.measured, self.published) {
            (Some(_), Some(_)) => "measured here vs published 2014",
            (None, _) => "published 2014",
            (Some(_), None) => "measured here",
        }
    }

    fn legend(&self, palette: &Palette, engines: &[String]) -> Vec<LegendEntry> {
        let mut legend = palette.entries(engines, self.measured.is_none());
        if self.measured.is_some() && self.published.is_some() {
            legend.push(published_entry());
        }
        legend
    }

    /// One series per engine and run: measured, then published beside it.
    fn series(
        &self,
        palette: &Palette,
        engines: &[String],
        scenarios: &[Scenario],
        value: impl Fn(&Run, &str, &Scenario) -> Option<Estimate>,
    ) -> Vec<Series> {
        let mut series = Vec::new();
        for engine in engines {
            for (i, run) in self.runs().filter(|r| r.has_engine(engine)).enumerate() {
                let bars = scenarios
                    .iter()
                    .map(|s| estimate_bar(run, engine, s, value(run, engine, s)))
                    .collect();
                series.push(Series {
                    color: palette.color(engine),
                    bars,
                    joined: i > 0,
                });
            }
        }
        series
    }
}

/// The bar of `engine` in `scenario` of `run`, showing `estimate`.
fn estimate_bar(run: &Run, engine: &str, scenario: &Scenario, estimate: Option<Estimate>) -> Bar {
    Bar {
        value: estimate.map(|(value, _)| value),
        interval: estimate.and_then(|(_, interval)| interval),
        published: run.published,
        missing: (run.published && run.row(engine, scenario).is_some()).then_some("TBD"),
    }
}

/// `subtitle` with `note` (what the whiskers are) added when some panel
/// draws whiskers: said once per figure, and never on charts without.
fn whisker_note(mut subtitle: Vec<String>, panels: &[Panel], note: &str) -> Vec<String> {
    if panels.iter().any(Panel::has_whiskers) {
        subtitle.push(note.into());
    }
    subtitle
}

/// What the whiskers of ns charts are.
const NS_WHISKERS: &str = "Whiskers: 95% interval of the median.";

/// What the whiskers of speedup charts are, and that bars without one
/// (published, or from files written before intervals) are another
/// estimate.
const SPEEDUP_WHISKERS: &str = "Whiskers: 95% interval. Bars with one show the median of paired \
     per-round ratios; bars without (published, older files), the ratio of medians.";

/// The views of every architecture: one per measured run on it (the
/// newest named after the architecture alone, older ones also after their
/// run id), or one for the published figures alone. No two views share a
/// slug, so no chart file overwrites another.
fn arch_views(runs: &[Run]) -> Vec<ArchView<'_>> {
    let mut views = Vec::new();
    for arch in data::arches(runs) {
        let published = runs.iter().find(|r| r.published && r.arch() == arch);
        let measured: Vec<&Run> = runs
            .iter()
            .filter(|r| !r.published && r.arch() == arch)
            .collect();
        if measured.is_empty() {
            views.push(ArchView {
                slug: data::sanitize(&arch),
                arch,
                measured: None,
                published,
            });
            continue;
        }
        // The newest run keeps the plain name, so a README's links show it.
        let newest = measured
            .iter()
            .max_by_key(|r| r.timestamp())
            .map(|r| r.id.clone());
        for run in &measured {
            let slug = if Some(&run.id) == newest.as_ref() {
                data::sanitize(&arch)
            } else {
                run.slug()
            };
            views.push(ArchView {
                slug: unique(slug, views.iter().map(|v| v.slug.as_str())),
                arch: arch.clone(),
                measured: Some(run),
                published,
            });
        }
    }
    views
}

/// `slug`, or `slug_2`, `slug_3`... if `taken` has it (ids that differ
/// only in characters a file name cannot hold).
fn unique<'a>(slug: String, taken: impl Iterator<Item = &'a str> + Clone) -> String {
    let free = |s: &str| !taken.clone().any(|t| t == s);
    if free(&slug) {
        return slug;
    }
    (2..)
        .map(|n| format!("{slug}_{n}"))
        .find(|s| free(s))
        .unwrap_or(slug)
}

/// The largest ratio between a panel's bars for which ns charts keep a
/// linear axis.
const LINEAR_SPAN: f64 = 50.0;

/// The y axis of an ns chart. Reference engines such as rbpf's
/// interpreter take hundreds of ns a call where JITs take a few, and on a
/// linear axis they flatten every other bar. A log axis keeps all of them
/// readable in one panel, and shows what the chart is for, how many times
/// faster one engine is than another, as the distance between bar tops
/// (the same on every scenario); a separate panel for slow engines would
/// break that comparison and give each panel its own scale. So: log when
/// the tallest bar is more than [`LINEAR_SPAN`] times the shortest,
/// linear otherwise (a linear axis reads more easily where it can). The
/// value on each bar stays exact either way, and whiskers are drawn on
/// the chosen axis.
fn ns_scale(series: &[Series]) -> Scale {
    let values = series
        .iter()
        .flat_map(|s| &s.bars)
        .filter_map(|b| b.value)
        .filter(|v| v.is_finite() && *v > 0.0);
    let (low, high) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if high > low * LINEAR_SPAN {
        Scale::Log
    } else {
        Scale::Linear
    }
}

/// The x axis of scenario groups, with the miss-mode skb count when known.
fn scenario_axis<'a>(runs: impl IntoIterator<Item = &'a Run>) -> String {
    let miss = data::miss_skbs(runs).map_or("many".to_string(), |n| n.to_string());
    format!("scenario (hit: one skb again and again; miss: {miss} distinct skbs)")
}

fn scenario_groups(scenarios: &[Scenario]) -> Vec<Vec<String>> {
    scenarios.iter().map(|s| vec![s.label()]).collect()
}

fn ns_figure(view: &ArchView, palette: &Palette) -> Figure {
    let engines = data::engines(view.runs());
    let scenarios = data::scenarios(view.runs());
    let series = view.series(palette, &engines, &scenarios, |r, e, s| {
        r.ns_with_interval(e, s)
    });
    let scale = ns_scale(&series);
    let y_desc = match scale {
        Scale::Linear => "ns per call (median; lower is faster)",
        Scale::Log => "ns per call (median, log scale; lower is faster)",
    };
    let panels = vec![Panel {
        caption: None,
        groups: scenario_groups(&scenarios),
        series,
        x_desc: scenario_axis(view.runs()),
        y_desc: y_desc.into(),
        format: style::number,
        reference: None,
        scale,
    }];
    Figure {
        stem: format!("ns_per_call_{}", view.slug),
        title: format!("ns per call on {}: {}", view.arch, view.compared()),
        subtitle: whisker_note(view.subtitle(), &panels, NS_WHISKERS),
        legend: view.legend(palette, &engines),
        panels,
        columns: 1,
        panel_height: 540,
        runs: view.run_ids(),
    }
}

/// The y axis of speedup charts.
fn speedup_axis() -> String {
    format!("speedup over {BASELINE_ENGINE} (×; dashed line: {BASELINE_ENGINE} = 1×)")
}

fn speedup_figure(view: &ArchView, palette: &Palette) -> Option<Figure> {
    let engines: Vec<String> = data::engines(view.runs())
        .into_iter()
        .filter(|e| e != BASELINE_ENGINE)
        .collect();
    let scenarios = data::scenarios(view.runs());
    let series = view.series(palette, &engines, &scenarios, |r, e, s| {
        r.speedup_with_interval(e, s)
    });
    let drawn = series
        .iter()
        .flat_map(|s| &s.bars)
        .any(|b| b.value.is_some());
    if !drawn {
        return None;
    }
    let panels = vec![Panel {
        caption: None,
        groups: scenario_groups(&scenarios),
        series,
        x_desc: scenario_axis(view.runs()),
        y_desc: speedup_axis(),
        format: style::times,
        reference: Some(1.0),
        scale: Scale::Linear,
    }];
    Some(Figure {
        stem: format!("speedup_{}", view.slug),
        title: format!(
            "Speedup over {BASELINE_ENGINE} on {}: {}",
            view.arch,
            view.compared()
        ),
        subtitle: whisker_note(view.subtitle(), &panels, SPEEDUP_WHISKERS),
        legend: view.legend(palette, &engines),
        panels,
        columns: 1,
        panel_height: 540,
        runs: view.run_ids(),
    })
}

/// What kind of counts a run's branch misses are.
fn counter_label(run: &Run) -> (&'static str, &'static str) {
    let has = |source| {
        run.rows()
            .iter()
            .any(|r| r.branch_misses.is_some() && r.counter_source == source)
    };
    match (has(CounterSource::Simulated), has(CounterSource::Perf)) {
        (true, false) => (
            "simulated",
            "Simulated by valgrind's branch predictor model (callgrind --branch-sim), not hardware counts.",
        ),
        (false, true) => (
            "hardware (perf)",
            "Hardware counters read through perf_event.",
        ),
        _ => (
            "simulated and hardware (perf)",
            "Some figures simulated by valgrind (callgrind --branch-sim), some read from hardware counters.",
        ),
    }
}

fn branch_figure(view: &ArchView, run: &Run, palette: &Palette) -> Figure {
    let engines = data::engines([run]);
    let scenarios = data::scenarios([run]);
    let (label, explained) = counter_label(run);
    let series = engines
        .iter()
        .map(|e| Series {
            color: palette.color(e),
            bars: scenarios
                .iter()
                .map(|s| Bar {
                    value: run.row(e, s).and_then(|r| r.branch_misses),
                    interval: None,
                    published: false,
                    missing: None,
                })
                .collect(),
            joined: false,
        })
        .collect();
    Figure {
        stem: format!("branch_misses_{}", view.slug),
        title: format!("Branch misses per call on {}, {label}", view.arch),
        subtitle: vec![
            run.describe(),
            format!("{explained} The 2014 thread published no counts."),
        ],
        legend: palette.entries(&engines, false),
        panels: vec![Panel {
            caption: None,
            groups: scenario_groups(&scenarios),
            series,
            x_desc: scenario_axis([run]),
            y_desc: format!("branch misses per call ({label})"),
            format: style::number,
            reference: None,
            scale: Scale::Linear,
        }],
        columns: 1,
        panel_height: 540,
        runs: vec![run.id.clone()],
    }
}

/// Runs with a speedup to show, lined up by architecture (the thread's
/// order), published first, then measured by date.
fn runs_in_line(runs: &[Run]) -> Vec<&Run> {
    let mut lined = Vec::new();
    for arch in data::arches(runs) {
        let mut of_arch: Vec<&Run> = runs
            .iter()
            .filter(|r| r.arch() == arch && r.has_engine(BASELINE_ENGINE))
            .filter(|r| r.rows().iter().any(|row| row.engine != BASELINE_ENGINE))
            .collect();
        of_arch.sort_by_key(|r| (!r.published, r.timestamp().to_string()));
        lined.extend(of_arch);
    }
    lined
}

/// The key naming each run under its bars, unique in the chart and
/// explained by the subtitle: `#1`, `#2`... in line order. Labels of host
/// and date alone did not tell two runs of one machine and day apart, and
/// were cut short when groups are narrow.
fn run_keys(runs: &[&Run]) -> Vec<String> {
    (1..=runs.len()).map(|n| format!("#{n}")).collect()
}

/// The most bars a runs panel may hold for the panels to go two abreast;
/// with more they are stacked, one a row, so bars stay wide enough for
/// their values.
const TWO_COLUMN_BARS: usize = 24;

/// Panels per row of the runs chart: its four scenario panels two abreast
/// while each holds at most [`TWO_COLUMN_BARS`] bars, else one a row.
fn runs_columns(panels: usize, runs: usize, engines: usize) -> usize {
    if panels > 1 && runs * engines <= TWO_COLUMN_BARS {
        2
    } else {
        1
    }
}

fn runs_figure(runs: &[&Run], palette: &Palette) -> Figure {
    let engines: Vec<String> = data::engines(runs.iter().copied())
        .into_iter()
        .filter(|e| e != BASELINE_ENGINE)
        .collect();
    let scenarios = data::scenarios(runs.iter().copied());
    let keys = run_keys(runs);
    let panels = scenarios
        .iter()
        .map(|s| Panel {
            caption: Some(s.label()),
            groups: runs
                .iter()
                .zip(&keys)
                .map(|(r, key)| r.label_lines(key))
                .collect(),
            series: engines
                .iter()
                .map(|e| Series {
                    color: palette.color(e),
                    bars: runs
                        .iter()
                        .map(|r| estimate_bar(r, e, s, r.speedup_with_interval(e, s)))
                        .collect(),
                    joined: false,
                })
                .collect(),
            x_desc: String::new(),
            y_desc: speedup_axis(),
            format: style::times,
            reference: Some(1.0),
            scale: Scale::Linear,
        })
        .collect::<Vec<_>>();
    let columns = runs_columns(panels.len(), runs.len(), engines.len());
    let mut legend = palette.entries(&engines, false);
    if runs.iter().any(|r| r.published) {
        legend.push(published_entry());
    }
    Figure {
        stem: "runs_speedup".into(),
        title: format!("Speedup over {BASELINE_ENGINE} across runs: each machine and architecture"),
        subtitle: whisker_note(data::describe_keyed(runs, &keys), &panels, SPEEDUP_WHISKERS),
        legend,
        columns,
        panels,
        // Stacked panels a little lower, so four fit a page.
        panel_height: if columns == 1 { 380 } else { 430 },
        runs: runs.iter().map(|r| r.id.clone()).collect(),
    }
}

/// Every chart of `runs`, and a line for each one left out.
pub fn build(runs: &[Run]) -> Charts {
    let mut engines: Vec<String> = data::THREAD_ENGINES.map(String::from).to_vec();
    for e in data::engines(runs) {
        if !engines.contains(&e) {
            engines.push(e);
        }
    }
    let palette = Palette { engines };
    let mut charts = Charts::default();
    let views = arch_views(runs);
    for view in &views {
        charts.figures.push(ns_figure(view, &palette));
        match speedup_figure(view, &palette) {
            Some(figure) => charts.figures.push(figure),
            None => charts.notes.push(format!(
                "no speedup chart for {}: no scenario has both `{BASELINE_ENGINE}` and another engine",
                view.names()
            )),
        }
    }

    let measured: Vec<&ArchView> = views.iter().filter(|v| v.measured.is_some()).collect();
    let counted = measured
        .iter()
        .filter(|v| v.measured.is_some_and(Run::has_branch_misses))
        .count();
    if counted == 0 {
        charts.notes.push(
            "no branch-miss chart: no measured row has branch-miss figures \
             (no hardware counters here? `bpflab run --simulate` gives valgrind's simulated counts)"
                .into(),
        );
    }
    for view in &measured {
        match view.measured {
            Some(run) if run.has_branch_misses() => {
                charts.figures.push(branch_figure(view, run, &palette));
            }
            Some(run) if counted > 0 => charts.notes.push(format!(
                "no branch-miss chart for {}: its rows have no branch-miss figures",
                run.name()
            )),
            _ => {}
        }
    }

    let lined = runs_in_line(runs);
    if lined.len() >= 2 {
        charts.figures.push(runs_figure(&lined, &palette));
    } else {
        charts.notes.push(format!(
            "no runs chart: it needs two runs with `{BASELINE_ENGINE}` and another engine, found {}",
            lined.len()
        ));
    }
    charts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Row;
    use crate::results::published::published_rows;
    use crate::results::tests::sample_row;

    /// A run as files written before intervals have it: no interval, no
    /// paired speedup.
    fn run(arch: &str, host: &str, day: &str, counters: bool) -> Vec<Row> {
        let mut rows = Vec::new();
        for (program, mode) in crate::results::THREAD_CELLS {
            for (engine, ns) in [("old", 90.0), ("ext", 30.0)] {
                rows.push(Row {
                    run_id: format!("{day}-{host}"),
                    timestamp: format!("2026-11-{day}T10:00:00Z"),
                    host: host.into(),
                    arch: arch.into(),
                    engine: engine.into(),
                    program: program.into(),
                    mode: mode.into(),
                    ns_per_call: Some(ns),
                    branch_misses: counters.then_some(ns / 30.0),
                    counter_source: if counters {
                        CounterSource::Perf
                    } else {
                        CounterSource::None
                    },
                    ns_ci_low: None,
                    ns_ci_high: None,
                    speedup: None,
                    speedup_ci_low: None,
                    speedup_ci_high: None,
                    ..sample_row()
                });
            }
        }
        rows
    }

    /// `rows` with intervals: ns within -10%..+20%, and a paired speedup
    /// of 3.3 (3.0 to 3.6), unlike the ratio of medians (3.0).
    fn with_intervals(rows: Vec<Row>) -> Vec<Row> {
        rows.into_iter()
            .map(|row| {
                let ns = row.ns_per_call.unwrap();
                let paired = row.engine != "old";
                Row {
                    ns_ci_low: Some(ns * 0.9),
                    ns_ci_high: Some(ns * 1.2),
                    speedup: paired.then_some(3.3),
                    speedup_ci_low: paired.then_some(3.0),
                    speedup_ci_high: paired.then_some(3.6),
                    ..row
                }
            })
            .collect()
    }

    fn figure<'a>(charts: &'a Charts, stem: &str) -> &'a Figure {
        charts.figures.iter().find(|f| f.stem == stem).unwrap()
    }

    fn whisker_notes(figure: &Figure) -> usize {
        figure
            .subtitle
            .iter()
            .filter(|l| l.starts_with("Whiskers"))
            .count()
    }

    fn stems(charts: &Charts) -> Vec<&str> {
        charts.figures.iter().map(|f| f.stem.as_str()).collect()
    }

    #[test]
    fn the_newest_run_of_an_arch_keeps_the_plain_name() {
        let mut rows = run("x86_64", "a", "20", false);
        rows.extend(run("x86_64", "b", "25", true));
        rows.extend(published_rows());
        let runs = data::load_rows(&rows).unwrap();
        let charts = build(&runs);
        assert_eq!(
            stems(&charts),
            [
                "ns_per_call_x86_64_20-a",
                "speedup_x86_64_20-a",
                "ns_per_call_x86_64",
                "speedup_x86_64",
                "ns_per_call_i386",
                "speedup_i386",
                "ns_per_call_arm32",
                "speedup_arm32",
                "branch_misses_x86_64",
                "runs_speedup",
            ]
        );
        assert_eq!(
            charts.notes,
            [
                "no branch-miss chart for run 20-a (x86_64 on a, 2026-11-20 10:00 UTC): \
                 its rows have no branch-miss figures"
            ]
        );
        let branch = &charts.figures[8];
        assert_eq!(
            branch.title,
            "Branch misses per call on x86_64, hardware (perf)"
        );
        let runs_chart = &charts.figures[9];
        let groups: Vec<&str> = runs_chart.panels[0]
            .groups
            .iter()
            .map(|g| g[0].as_str())
            .collect();
        assert_eq!(groups, ["x86_64", "x86_64", "x86_64", "i386", "arm32"]);
        assert_eq!(runs_chart.panels[0].groups[0][2], "2014", "published first");
        assert_eq!(runs_chart.runs[0], "published-2014-x86_64");
        assert_eq!(runs_chart.panels.len(), 4, "one panel per scenario");
    }

    #[test]
    fn measured_and_published_bars_are_paired() {
        let mut rows = run("x86_64", "a", "20", false);
        rows.extend(published_rows());
        let runs = data::load_rows(&rows).unwrap();
        let charts = build(&runs);
        let ns = &charts.figures[0];
        assert_eq!(
            ns.title,
            "ns per call on x86_64: measured here vs published 2014"
        );
        let series = &ns.panels[0].series;
        // old, old published, ext, ext published, old-jit published, ext-jit published.
        let shape: Vec<(bool, bool)> = series
            .iter()
            .map(|s| (s.bars[0].published, s.joined))
            .collect();
        assert_eq!(
            shape,
            [
                (false, false),
                (true, true),
                (false, false),
                (true, true),
                (true, false),
                (true, false)
            ]
        );
        assert_eq!(series[1].bars[0].value, Some(90.0));
        assert_eq!(series[5].bars[0].value, None);
        assert_eq!(series[5].bars[0].missing, Some("TBD"));
        let speedup = &charts.figures[1];
        assert_eq!(speedup.panels[0].series[0].bars[0].value, Some(3.0));
        assert_eq!(speedup.panels[0].reference, Some(1.0));
    }

    #[test]
    fn intervals_become_whiskers_and_rows_without_stay_as_they_were() {
        let mut rows = with_intervals(run("x86_64", "a", "20", false));
        rows.extend(run("arm32", "c", "21", false));
        rows.extend(published_rows());
        let charts = build(&data::load_rows(&rows).unwrap());
        let first = |stem, series: usize| -> Bar {
            figure(&charts, stem).panels[0].series[series].bars[0].clone()
        };

        // Measured old, then old published beside it.
        let ns = first("ns_per_call_x86_64", 0);
        assert_eq!((ns.value, ns.interval), (Some(90.0), Some((81.0, 108.0))));
        assert_eq!(first("ns_per_call_x86_64", 1).interval, None);
        // Measured ext: the paired median and its interval.
        let speedup = first("speedup_x86_64", 0);
        assert_eq!(
            (speedup.value, speedup.interval),
            (Some(3.3), Some((3.0, 3.6)))
        );
        let published = first("speedup_x86_64", 1);
        assert!(published.published && published.interval.is_none());
        assert_eq!(published.value, Some(90.0 / 31.0), "ratio of medians");
        // A file without intervals: the ratio of medians, no whisker.
        for (stem, value) in [("ns_per_call_arm32", 90.0), ("speedup_arm32", 3.0)] {
            let bar = first(stem, 0);
            assert_eq!((bar.value, bar.interval), (Some(value), None), "{stem}");
        }

        for (stem, notes) in [
            ("ns_per_call_x86_64", 1),
            ("speedup_x86_64", 1),
            ("ns_per_call_i386", 0),
            ("ns_per_call_arm32", 0),
            ("speedup_arm32", 0),
            ("runs_speedup", 1),
        ] {
            assert_eq!(whisker_notes(figure(&charts, stem)), notes, "{stem}");
        }
        assert_eq!(
            figure(&charts, "speedup_x86_64").subtitle.last().unwrap(),
            SPEEDUP_WHISKERS
        );

        // Across runs: each run's bar chooses for itself.
        let runs = &figure(&charts, "runs_speedup").panels[0];
        let ext = &runs.series[0];
        let by_host = |host: &str| {
            let g = runs.groups.iter().position(|g| g[2] == host).unwrap();
            (ext.bars[g].value, ext.bars[g].interval)
        };
        assert_eq!(by_host("a"), (Some(3.3), Some((3.0, 3.6))));
        assert_eq!(by_host("c"), (Some(3.0), None));
    }

    #[test]
    fn without_intervals_no_chart_mentions_whiskers() {
        let mut rows = run("x86_64", "a", "20", true);
        rows.extend(published_rows());
        let charts = build(&data::load_rows(&rows).unwrap());
        for figure in &charts.figures {
            assert_eq!(whisker_notes(figure), 0, "{}", figure.stem);
            assert!(!figure.panels.iter().any(Panel::has_whiskers));
        }
    }

    #[test]
    fn whiskers_reach_the_files_and_only_where_there_are_intervals() {
        let stroke = format!(
            "stroke=\"#{:02X}{:02X}{:02X}\"",
            style::WHISKER.0,
            style::WHISKER.1,
            style::WHISKER.2
        );
        let lines = |rows: Vec<Row>| -> Vec<(String, usize, bool)> {
            let dir = tempfile::tempdir().unwrap();
            let charts = build(&data::load_rows(&rows).unwrap());
            charts
                .figures
                .iter()
                .map(|figure| {
                    let [svg, _] = crate::plot::figure::render(figure, dir.path()).unwrap();
                    let svg = std::fs::read_to_string(svg).unwrap();
                    let whiskers = svg.lines().filter(|l| l.contains(&stroke)).count();
                    (figure.stem.clone(), whiskers, svg.contains("Whiskers: 95%"))
                })
                .collect()
        };
        // Three lines a whisker: old and ext in 4 scenarios, ext's speedup
        // in 4.
        assert_eq!(
            lines(with_intervals(run("x86_64", "a", "20", true))),
            [
                ("ns_per_call_x86_64".into(), 24, true),
                ("speedup_x86_64".into(), 12, true),
                ("branch_misses_x86_64".into(), 0, false),
            ]
        );
        assert_eq!(
            lines(run("x86_64", "a", "20", true)),
            [
                ("ns_per_call_x86_64".into(), 0, false),
                ("speedup_x86_64".into(), 0, false),
                ("branch_misses_x86_64".into(), 0, false),
            ]
        );
    }

    /// `rows` with an `rbpf` engine 20 times slower than `old`.
    fn with_rbpf(rows: Vec<Row>) -> Vec<Row> {
        let mut out = rows.clone();
        out.extend(rows.into_iter().filter(|r| r.engine == "old").map(|r| Row {
            engine: "rbpf".into(),
            ns_per_call: r.ns_per_call.map(|ns| ns * 20.0),
            ..r
        }));
        out
    }

    #[test]
    fn a_slow_reference_engine_puts_ns_on_a_log_axis() {
        // 30 to 1800 ns: 60 times.
        let slow = build(&data::load_rows(&with_rbpf(run("x86_64", "a", "20", false))).unwrap());
        let ns = figure(&slow, "ns_per_call_x86_64");
        assert_eq!(ns.panels[0].scale, Scale::Log);
        assert!(ns.panels[0].y_desc.contains("log scale"));
        // Speedups and the other charts stay linear.
        assert_eq!(
            figure(&slow, "speedup_x86_64").panels[0].scale,
            Scale::Linear
        );

        // 30 to 90 ns: linear, as is the published table alone (6 to 202).
        let fast = build(&data::load_rows(&run("x86_64", "a", "20", false)).unwrap());
        let ns = figure(&fast, "ns_per_call_x86_64");
        assert_eq!(ns.panels[0].scale, Scale::Linear);
        assert!(!ns.panels[0].y_desc.contains("log"));
        let published = build(&data::load_rows(&published_rows()).unwrap());
        for f in &published.figures {
            assert!(
                f.panels.iter().all(|p| p.scale == Scale::Linear),
                "{}",
                f.stem
            );
        }
    }

    #[test]
    fn runs_of_one_host_and_day_get_distinct_labels_and_files() {
        // Two x86_64 runs of host a on the same day, a minute apart.
        let mut rows = run("x86_64", "a", "20", false);
        rows.extend(run("x86_64", "a", "20", false).into_iter().map(|r| Row {
            run_id: "20-a-again".into(),
            timestamp: "2026-11-20T10:01:00Z".into(),
            ..r
        }));
        rows.extend(published_rows());
        let charts = build(&data::load_rows(&rows).unwrap());
        let runs_chart = figure(&charts, "runs_speedup");
        for panel in &runs_chart.panels {
            let mut labels = panel.groups.clone();
            labels.sort();
            labels.dedup();
            assert_eq!(labels.len(), panel.groups.len(), "{:?}", panel.groups);
            assert!(panel.groups.iter().all(|g| g[1].starts_with('#')));
        }
        // The subtitle says which run each key is, to the minute.
        let subtitle = runs_chart.subtitle.join("\n");
        assert!(subtitle.contains("#2: measured on a"), "{subtitle}");
        assert!(
            subtitle.contains("2026-11-20 10:00 UTC (run 20-a)"),
            "{subtitle}"
        );
        assert!(subtitle.contains("#3: measured on a"), "{subtitle}");
        assert!(
            subtitle.contains("2026-11-20 10:01 UTC (run 20-a-again)"),
            "{subtitle}"
        );
        // No two charts share a file.
        let mut all = stems(&charts);
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count, "{:?}", stems(&charts));
        assert_eq!(unique("x".into(), ["x", "x_2"].into_iter()), "x_3");
    }

    #[test]
    fn crowded_runs_panels_are_stacked() {
        assert_eq!(runs_columns(4, 5, 3), 2, "15 bars a panel: two abreast");
        assert_eq!(runs_columns(4, 7, 7), 1, "49 bars a panel: one a row");
        assert_eq!(runs_columns(1, 2, 2), 1, "a lone panel");
        let keys = run_keys(&[]);
        assert!(keys.is_empty());
    }

    #[test]
    fn notes_name_runs_that_no_chart_of_their_kind_draws() {
        // The newest x86_64 run has no counters, an older one has: the
        // note names the newest run, and the chart written covers the
        // older one only.
        let mut rows = run("x86_64", "a", "20", true);
        rows.extend(run("x86_64", "b", "25", false));
        let charts = build(&data::load_rows(&rows).unwrap());
        let branch: Vec<&Figure> = charts
            .figures
            .iter()
            .filter(|f| f.stem.starts_with("branch_misses"))
            .collect();
        assert_eq!(branch.len(), 1);
        assert_eq!(branch[0].stem, "branch_misses_x86_64_20-a");
        assert_eq!(branch[0].runs, ["20-a"]);
        assert!(branch[0].subtitle[0].contains("(run 20-a)"));
        assert_eq!(charts.notes.len(), 1, "{:?}", charts.notes);
        assert!(charts.notes[0].contains("run 25-b"), "{:?}", charts.notes);
        assert!(!charts.notes[0].contains("20-a"), "{:?}", charts.notes);
        // Every figure says which runs it draws.
        assert!(charts.figures.iter().all(|f| !f.runs.is_empty()));
    }

    #[test]
    fn without_old_there_is_no_speedup() {
        let rows: Vec<Row> = run("x86_64", "a", "20", false)
            .into_iter()
            .filter(|r| r.engine != "old")
            .collect();
        let charts = build(&data::load_rows(&rows).unwrap());
        assert_eq!(stems(&charts), ["ns_per_call_x86_64"]);
        assert_eq!(charts.notes.len(), 3, "{:?}", charts.notes);
        assert!(
            charts.notes[0].starts_with("no speedup chart for run 20-a (x86_64 on a,"),
            "{:?}",
            charts.notes
        );
    }
}
