//! The charts, built from runs: per architecture, ns per call and speedup
//! over old (measured beside published) and branch misses; across runs,
//! speedup over old with each machine and architecture its own group.

use super::bars::{Bar, Panel, Series};
use super::data::{self, BASELINE_ENGINE, Run, Scenario};
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
        value: impl Fn(&Run, &str, &Scenario) -> Option<f64>,
    ) -> Vec<Series> {
        let mut series = Vec::new();
        for engine in engines {
            for (i, run) in self.runs().filter(|r| r.has_engine(engine)).enumerate() {
                let bars = scenarios
                    .iter()
                    .map(|s| Bar {
                        value: value(run, engine, s),
                        published: run.published,
                        missing: (run.published && run.row(engine, s).is_some()).then_some("TBD"),
                    })
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

/// The views of every architecture: one per measured run on it (the
/// newest named after the architecture alone, older ones also after host
/// and date), or one for the published figures alone.
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
            views.push(ArchView {
                slug: if Some(&run.id) == newest.as_ref() {
                    data::sanitize(&arch)
                } else {
                    run.slug()
                },
                arch: arch.clone(),
                measured: Some(run),
                published,
            });
        }
    }
    views
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
    Figure {
        stem: format!("ns_per_call_{}", view.slug),
        title: format!("ns per call on {}: {}", view.arch, view.compared()),
        subtitle: view.subtitle(),
        legend: view.legend(palette, &engines),
        panels: vec![Panel {
            caption: None,
            groups: scenario_groups(&scenarios),
            series: view.series(palette, &engines, &scenarios, |r, e, s| r.ns(e, s)),
            x_desc: scenario_axis(view.runs()),
            y_desc: "ns per call (median; lower is faster)".into(),
            format: style::number,
            reference: None,
        }],
        columns: 1,
        panel_height: 540,
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
    let series = view.series(palette, &engines, &scenarios, |r, e, s| r.speedup(e, s));
    let drawn = series
        .iter()
        .flat_map(|s| &s.bars)
        .any(|b| b.value.is_some());
    if !drawn {
        return None;
    }
    Some(Figure {
        stem: format!("speedup_{}", view.slug),
        title: format!(
            "Speedup over {BASELINE_ENGINE} on {}: {}",
            view.arch,
            view.compared()
        ),
        subtitle: view.subtitle(),
        legend: view.legend(palette, &engines),
        panels: vec![Panel {
            caption: None,
            groups: scenario_groups(&scenarios),
            series,
            x_desc: scenario_axis(view.runs()),
            y_desc: speedup_axis(),
            format: style::times,
            reference: Some(1.0),
        }],
        columns: 1,
        panel_height: 540,
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
        }],
        columns: 1,
        panel_height: 540,
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

fn runs_figure(runs: &[&Run], palette: &Palette) -> Figure {
    let engines: Vec<String> = data::engines(runs.iter().copied())
        .into_iter()
        .filter(|e| e != BASELINE_ENGINE)
        .collect();
    let scenarios = data::scenarios(runs.iter().copied());
    let panels = scenarios
        .iter()
        .map(|s| Panel {
            caption: Some(s.label()),
            groups: runs.iter().map(|r| r.label_lines()).collect(),
            series: engines
                .iter()
                .map(|e| Series {
                    color: palette.color(e),
                    bars: runs
                        .iter()
                        .map(|r| Bar {
                            value: r.speedup(e, s),
                            published: r.published,
                            missing: (r.published && r.row(e, s).is_some()).then_some("TBD"),
                        })
                        .collect(),
                    joined: false,
                })
                .collect(),
            x_desc: String::new(),
            y_desc: speedup_axis(),
            format: style::times,
            reference: Some(1.0),
        })
        .collect::<Vec<_>>();
    let mut legend = palette.entries(&engines, false);
    if runs.iter().any(|r| r.published) {
        legend.push(published_entry());
    }
    Figure {
        stem: "runs_speedup".into(),
        title: format!("Speedup over {BASELINE_ENGINE} across runs: each machine and architecture"),
        subtitle: data::describe_all(runs),
        legend,
        columns: if panels.len() > 1 { 2 } else { 1 },
        panels,
        panel_height: 430,
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
                view.slug
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
            _ if counted > 0 => charts.notes.push(format!(
                "no branch-miss chart for {}: its rows have no branch-miss figures",
                view.slug
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
                    ..sample_row()
                });
            }
        }
        rows
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
                "ns_per_call_x86_64_a_2026-11-20",
                "speedup_x86_64_a_2026-11-20",
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
            ["no branch-miss chart for x86_64_a_2026-11-20: its rows have no branch-miss figures"]
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
        assert_eq!(
            runs_chart.panels[0].groups[0][1], "published",
            "published first"
        );
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
    fn without_old_there_is_no_speedup() {
        let rows: Vec<Row> = run("x86_64", "a", "20", false)
            .into_iter()
            .filter(|r| r.engine != "old")
            .collect();
        let charts = build(&data::load_rows(&rows).unwrap());
        assert_eq!(stems(&charts), ["ns_per_call_x86_64"]);
        assert_eq!(charts.notes.len(), 3, "{:?}", charts.notes);
        assert!(charts.notes[0].starts_with("no speedup chart for x86_64"));
    }
}
