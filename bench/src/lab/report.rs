//! The report printed after a run: the thread's tables as measured here,
//! with the published figures beside them, as aligned text or Markdown.

use super::Method;
use super::analysis::{Analysis, EXTRA_PAIRS, SLOW_ROUND};
use crate::results::{CellKey, CounterSource, Row, THREAD_CELLS as CELLS, THREAD_ENGINES};

use crate::table::Table;

/// One engine's measured row for a cell.
fn find<'a>(
    rows: &'a [Row],
    arch: &str,
    engine: &str,
    program: &str,
    mode: &str,
) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.arch == arch && r.engine == engine && r.program == program && r.mode == mode)
}

/// A published cell: its figure, "TBD" when the thread left it open, "-"
/// when the thread has no such row.
fn published_text(
    published: &[Row],
    arch: &str,
    engine: &str,
    program: &str,
    mode: &str,
) -> String {
    match find(published, arch, engine, program, mode) {
        Some(Row {
            ns_per_call: Some(ns),
            ..
        }) => format!("{ns:.0}"),
        Some(_) => "TBD".into(),
        None => "-".into(),
    }
}

fn ratio(base: Option<f64>, x: Option<f64>) -> Option<f64> {
    match (base, x) {
        (Some(b), Some(x)) if x > 0.0 => Some(b / x),
        _ => None,
    }
}

fn times(r: Option<f64>) -> String {
    r.map_or("-".into(), |r| format!("{r:.2}x"))
}

/// A figure written by `format`, with its interval in brackets when it has
/// one: `1.31x [1.29, 1.33]`.
fn estimate_text(
    value: f64,
    interval: Option<(f64, f64)>,
    format: fn(Option<f64>) -> String,
) -> String {
    let strip = |x: f64| format(Some(x)).trim_end_matches('x').to_string();
    match interval {
        Some((lo, hi)) => format!("{} [{}, {}]", format(Some(value)), strip(lo), strip(hi)),
        None => format(Some(value)),
    }
}

/// A row's ns/call with its interval: `22.7 [22.5, 22.9]`.
fn ns_text(row: &Row) -> String {
    let one = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.1}"));
    match row.ns_per_call {
        Some(v) => estimate_text(v, row.ns_interval(), one),
        None => "-".into(),
    }
}

/// The engines of a run in the thread's order.
fn engine_order(rows: &[Row]) -> Vec<String> {
    let mut engines: Vec<String> = THREAD_ENGINES
        .iter()
        .filter(|e| rows.iter().any(|r| r.engine == **e))
        .map(|e| e.to_string())
        .collect();
    for r in rows {
        if !engines.contains(&r.engine) {
            engines.push(r.engine.clone());
        }
    }
    engines
}

/// The report's columns: the thread's four when every row is of the
/// thread's programs; otherwise each (program, mode) of the rows, programs
/// in run order, hit before miss.
pub fn columns(rows: &[Row]) -> Vec<(String, String)> {
    let thread = |p: &str| CELLS.iter().any(|(c, _)| *c == p);
    if rows.iter().all(|r| thread(&r.program)) {
        return CELLS
            .iter()
            .map(|(p, m)| (p.to_string(), m.to_string()))
            .collect();
    }
    let mut programs: Vec<&str> = Vec::new();
    for r in rows {
        if !programs.contains(&r.program.as_str()) {
            programs.push(&r.program);
        }
    }
    let mut modes: Vec<&str> = ["hit", "miss"]
        .into_iter()
        .filter(|m| rows.iter().any(|r| r.mode == *m))
        .collect();
    for r in rows {
        if !modes.contains(&r.mode.as_str()) {
            modes.push(&r.mode);
        }
    }
    programs
        .iter()
        .flat_map(|p| {
            modes
                .iter()
                .filter(|m| rows.iter().any(|r| r.program == *p && r.mode == **m))
                .map(|m| (p.to_string(), m.to_string()))
        })
        .collect()
}

fn header(cols: &[(String, String)]) -> Vec<String> {
    std::iter::once("engine".to_string())
        .chain(cols.iter().map(|(p, m)| format!("{p} {m}")))
        .collect()
}

/// The full report for the run's `rows` on `arch`, beside `published`.
pub fn report(rows: &[Row], published: &[Row], arch: &str, markdown: bool) -> String {
    let engines = engine_order(rows);
    let cols = columns(rows);
    let has_published = published.iter().any(|r| r.arch == arch);
    let ns = |r: Option<&Row>| r.and_then(|r| r.ns_per_call);
    let mut out = String::new();
    if let Some(first) = rows.first() {
        let line = format!(
            "Run {} on {}: {}, {}, {}, {}",
            first.run_id, first.host, first.cpu_model, first.arch, first.os, first.rustc
        );
        out.push_str(&if markdown {
            format!("{line}\n\n")
        } else {
            format!("{line}\n")
        });
    }
    if rows.iter().any(|r| r.emulated) {
        let line = "EMULATED: this run was measured under emulation (qemu-user); its timings say \
                    nothing about any hardware, only that the engines run correctly here.";
        out.push_str(&if markdown {
            format!("{line}\n\n")
        } else {
            format!("{line}\n")
        });
    }
    if !has_published {
        let line = format!("The thread published no {arch} table: measured figures only.");
        out.push_str(&if markdown {
            format!("{line}\n\n")
        } else {
            format!("{line}\n")
        });
    }
    let gap = if markdown { "\n" } else { "" };

    let ns_table = Table {
        title: format!("ns per call on {arch}: measured here (published in 2014)"),
        header: header(&cols),
        rows: engines
            .iter()
            .map(|e| {
                std::iter::once(e.clone())
                    .chain(cols.iter().map(|(p, m)| {
                        let measured = find(rows, arch, e, p, m).map_or("-".into(), ns_text);
                        format!("{measured} ({})", published_text(published, arch, e, p, m))
                    }))
                    .collect()
            })
            .collect(),
    };
    out.push_str(&format!("\n{}{gap}", ns_table.render(markdown)));

    let speedup = Table {
        title: "speedup over old: measured here (published); absolute times differ across machines, the ratios are what reproduces".into(),
        header: header(&cols),
        rows: engines
            .iter()
            .map(|e| {
                std::iter::once(e.clone())
                    .chain(cols.iter().map(|(p, m)| {
                        let here = match find(rows, arch, e, p, m) {
                            Some(row @ Row { speedup: Some(x), .. }) => {
                                estimate_text(*x, row.speedup_interval(), times)
                            }
                            _ => times(ratio(
                                ns(find(rows, arch, "old", p, m)),
                                ns(find(rows, arch, e, p, m)),
                            )),
                        };
                        let then = ratio(
                            ns(find(published, arch, "old", p, m)),
                            ns(find(published, arch, e, p, m)),
                        );
                        format!("{here} ({})", times(then))
                    }))
                    .collect()
            })
            .collect(),
    };
    out.push_str(&format!("\n{}{gap}", speedup.render(markdown)));
    out.push('\n');
    out.push_str(&branch_table(rows, arch, &engines, &cols, markdown));
    out
}

/// How the figures were made (processes, rounds, seed, layout, intervals),
/// whether every ratio reached the precision asked for, and the pairs
/// the report shows besides the speedups over old.
pub fn method_report(method: &Method, analysis: &Analysis, markdown: bool) -> String {
    let layout = if method.layout == "default" {
        "layout: the linker's default order (one layout: scripts/layouts sweeps others)".to_string()
    } else {
        format!("layout: {}", method.layout)
    };
    let processes = analysis.processes;
    let counted = if analysis.rounds_used == analysis.rounds_timed {
        format!("every one of {} rounds counts", analysis.rounds_timed)
    } else {
        format!(
            "the figures are from the {} quietest of {} rounds (the machine's least disturbed; --all-rounds counts all)",
            analysis.rounds_used, analysis.rounds_timed
        )
    };
    let mut out = format!(
        "\nmethod: interleaved rounds (each round times every cell once, in a fresh shuffled order) in {} worker process{}, {:.0} s, seed {}; {counted}; {layout}; intervals: 95%, bootstrap over blocks of {} consecutive processes (the machine's phases span several), then rounds\n{}",
        processes,
        if processes == 1 { "" } else { "es" },
        method.seconds,
        method.seed,
        method.block,
        // Markdown joins lines into one paragraph unless a blank line
        // parts them.
        if markdown { "\n" } else { "" }
    );
    let target = method.precision * 100.0;
    let imprecise = analysis.imprecise(method.precision);
    out.push_str(&if analysis.blocks < 2 {
        format!(
            "precision: not established: the processes made one block, so the intervals show the rounds' spread only, not how processes differ (run longer for ±{target}%)\n"
        )
    } else if imprecise.is_empty() {
        let widest = analysis.widest().map_or(0.0, |w| w * 100.0);
        format!("precision: every ratio within ±{target}% (widest ±{widest:.2}%)\n")
    } else {
        // A run stops short of the precision only when its time is spent.
        let why = if processes < method.min_processes as usize {
            format!(
                "--max-seconds ended the run after {} of at least {} processes",
                processes, method.min_processes
            )
        } else {
            "--max-seconds ended the run".to_string()
        };
        let named: Vec<String> = imprecise
            .iter()
            .map(|p| {
                format!(
                    "{} ±{:.2}%",
                    p.describe(),
                    p.ratio.relative_half_width() * 100.0
                )
            })
            .collect();
        format!(
            "precision: ±{target}% NOT reached by {} of {} ratios ({why}): {}\n",
            imprecise.len(),
            analysis.pairs.len(),
            named.join("; ")
        )
    });
    if markdown {
        out.push('\n');
    }
    out.push_str(&slow_rounds_line(analysis));
    if processes > 1 {
        out.push('\n');
        out.push_str(&process_range_table(analysis, markdown));
    }
    for (base, engine, what) in EXTRA_PAIRS {
        let cols: Vec<(String, String)> = analysis
            .pairs
            .iter()
            .filter(|p| p.base.engine == base && p.engine.engine == engine)
            .map(|p| (p.engine.program.clone(), p.engine.mode.clone()))
            .collect();
        if cols.is_empty() {
            continue;
        }
        let row = std::iter::once(format!("{engine} over {base}"))
            .chain(cols.iter().map(|(p, m)| {
                let pair = analysis.pair(&CellKey::new(base, p, m), &CellKey::new(engine, p, m));
                pair.map_or("-".into(), |p| {
                    estimate_text(p.ratio.value, Some((p.ratio.low, p.ratio.high)), times)
                })
            }))
            .collect();
        let table = Table {
            title: format!("{what}: {base}'s time / {engine}'s time"),
            header: header(&cols),
            rows: vec![row],
        };
        out.push('\n');
        out.push_str(&table.render(markdown));
    }
    out
}

/// Rounds above this share slowed beyond [`SLOW_ROUND`] make the run
/// noisy: more than the quiet quarter the figures use could avoid.
const SLOW_ROUNDS_WARNING: f64 = 0.10;

/// How many rounds the machine slowed, with a warning and what to do
/// when they were many.
fn slow_rounds_line(analysis: &Analysis) -> String {
    let share = analysis.slow_rounds as f64 / analysis.rounds_timed.max(1) as f64;
    let line = format!(
        "noise (times): {:.1}% of the {} rounds ran more than {SLOW_ROUND}x slower than a typical round (the slowest {:.1}x)",
        share * 100.0,
        analysis.rounds_timed,
        analysis.slowest_round
    );
    if share > SLOW_ROUNDS_WARNING {
        format!(
            "WARNING: a noisy run: {line}; close other programs, or run longer (--max-seconds) so that the quiet rounds are enough\n"
        )
    } else {
        format!("{line}\n")
    }
}

/// Each speedup over old as the worker processes saw it: the lowest and
/// highest of their own medians (processes of one binary can disagree by
/// far more than one process's interval; the run's interval covers that).
fn process_range_table(analysis: &Analysis, markdown: bool) -> String {
    let over_old: Vec<_> = analysis
        .pairs
        .iter()
        .filter(|p| p.base.engine == crate::results::BASELINE_ENGINE)
        .collect();
    let mut cols: Vec<(String, String)> = Vec::new();
    let mut engines: Vec<String> = Vec::new();
    for p in &over_old {
        let col = (p.engine.program.clone(), p.engine.mode.clone());
        if !cols.contains(&col) {
            cols.push(col);
        }
        if !engines.contains(&p.engine.engine) {
            engines.push(p.engine.engine.clone());
        }
    }
    let rows = engines
        .iter()
        .map(|e| {
            std::iter::once(e.clone())
                .chain(cols.iter().map(|(p, m)| {
                    over_old
                        .iter()
                        .find(|x| x.engine == CellKey::new(e, p, m))
                        .map_or("-".into(), |x| {
                            format!("{:.2}-{:.2}", x.process_range.0, x.process_range.1)
                        })
                }))
                .collect()
        })
        .collect();
    Table {
        title: format!(
            "speedup over old in each of the {} worker processes: lowest-highest of their own medians over all their rounds",
            analysis.processes
        ),
        header: header(&cols),
        rows,
    }
    .render(markdown)
}

/// Branch misses per call, or a line saying why there are none.
fn branch_table(
    rows: &[Row],
    arch: &str,
    engines: &[String],
    cols: &[(String, String)],
    markdown: bool,
) -> String {
    let source = rows
        .iter()
        .map(|r| r.counter_source)
        .find(|s| *s != CounterSource::None);
    let Some(source) = source else {
        return "branch misses: none counted in this run (the counters below say why); \
                `bpflab run --simulate` gives valgrind's simulated counts\n"
            .to_string();
    };
    let label = match source {
        CounterSource::Simulated => "SIMULATED by valgrind's branch predictor model, not hardware",
        _ => "hardware counters (perf_event)",
    };
    let value = |r: Option<&Row>, f: fn(&Row) -> Option<f64>| r.and_then(f);
    let table = Table {
        title: format!(
            "branch misses per call on {arch}, {label}; in parentheses instructions per call (the thread published no counts)"
        ),
        header: header(cols),
        rows: engines
            .iter()
            .map(|e| {
                std::iter::once(e.clone())
                    .chain(cols.iter().map(|(p, m)| {
                        let r = find(rows, arch, e, p, m);
                        let bm =
                            value(r, |r| r.branch_misses).map_or("-".into(), |v| format!("{v:.2}"));
                        let ins =
                            value(r, |r| r.instructions).map_or("-".into(), |v| format!("{v:.0}"));
                        format!("{bm} ({ins})")
                    }))
                    .collect()
            })
            .collect(),
    };
    table.render(markdown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::tests::sample_row;

    /// A row as files before intervals had them: no interval, no speedup.
    fn row(engine: &str, program: &str, mode: &str, ns: f64, bm: Option<f64>) -> Row {
        Row {
            engine: engine.into(),
            program: program.into(),
            mode: mode.into(),
            ns_per_call: Some(ns),
            ns_ci_low: None,
            ns_ci_high: None,
            speedup: None,
            speedup_ci_low: None,
            speedup_ci_high: None,
            branch_misses: bm,
            instructions: bm.map(|b| b * 10.0),
            counter_source: if bm.is_some() {
                CounterSource::Simulated
            } else {
                CounterSource::None
            },
            ..sample_row()
        }
    }

    fn run_rows(bm: bool) -> Vec<Row> {
        let mut rows = Vec::new();
        for (e, scale) in [("ext", 0.5), ("old", 1.0), ("ext-switch", 0.8)] {
            for (i, (p, m)) in CELLS.iter().enumerate() {
                let ns = scale * 20.0 * (i + 1) as f64;
                rows.push(row(e, p, m, ns, bm.then_some(ns / 10.0)));
            }
        }
        rows
    }

    fn published() -> Vec<Row> {
        let mut rows = Vec::new();
        for (e, base) in [("old", Some(90.0)), ("ext", Some(30.0)), ("ext-jit", None)] {
            for (p, m) in CELLS {
                rows.push(Row {
                    ns_per_call: base,
                    ..row(e, p, m, 0.0, None)
                });
            }
        }
        rows
    }

    #[test]
    fn text_report_layout() {
        let text = report(&run_rows(false), &published(), "x86_64", false);
        let want = "\
Run r1 on h: Some CPU, with a comma, x86_64, linux 6.1, rustc 1.95.0

ns per call on x86_64: measured here (published in 2014)
engine      fprog1 hit  fprog1 miss  fprog2 hit  fprog2 miss
old          20.0 (90)    40.0 (90)   60.0 (90)    80.0 (90)
ext          10.0 (30)    20.0 (30)   30.0 (30)    40.0 (30)
ext-switch    16.0 (-)     32.0 (-)    48.0 (-)     64.0 (-)

speedup over old: measured here (published); absolute times differ across machines, the ratios are what reproduces
engine         fprog1 hit    fprog1 miss     fprog2 hit    fprog2 miss
old         1.00x (1.00x)  1.00x (1.00x)  1.00x (1.00x)  1.00x (1.00x)
ext         2.00x (3.00x)  2.00x (3.00x)  2.00x (3.00x)  2.00x (3.00x)
ext-switch      1.25x (-)      1.25x (-)      1.25x (-)      1.25x (-)

branch misses: none counted in this run (the counters below say why); `bpflab run --simulate` gives valgrind's simulated counts
";
        assert_eq!(text, want);
    }

    #[test]
    fn markdown_report_with_simulated_counts() {
        let md = report(&run_rows(true), &published(), "x86_64", true);
        assert!(md.contains(
            "| engine | fprog1 hit | fprog1 miss | fprog2 hit | fprog2 miss |\n| --- | ---: | ---: | ---: | ---: |\n"
        ));
        assert!(md.contains("| old | 20.0 (90) | 40.0 (90) | 60.0 (90) | 80.0 (90) |"));
        assert!(md.contains("SIMULATED"));
        assert!(md.contains("| ext | 1.00 (10) | 2.00 (20) | 3.00 (30) | 4.00 (40) |"));
    }

    #[test]
    fn user_programs_get_their_own_columns() {
        let mut rows = vec![
            row("old", "mine", "miss", 8.0, None),
            row("old", "fprog1", "hit", 4.0, None),
            row("ext", "mine", "miss", 2.0, None),
        ];
        assert_eq!(
            columns(&rows),
            [("mine", "miss"), ("fprog1", "hit")].map(|(p, m)| (p.to_string(), m.to_string()))
        );
        let text = report(&rows, &published(), "x86_64", false);
        assert!(text.contains("engine  mine miss  fprog1 hit\n"), "{text}");
        assert!(text.contains("old       8.0 (-)    4.0 (90)\n"), "{text}");
        assert!(text.contains("ext       2.0 (-)      - (30)\n"), "{text}");
        assert!(
            text.contains("ext     4.00x (-)      - (3.00x)\n"),
            "{text}"
        );
        rows.retain(|r| r.program == "fprog1");
        assert_eq!(columns(&rows).len(), CELLS.len(), "the thread's columns");
    }

    #[test]
    fn intervals_and_paired_speedups() {
        let mut rows = run_rows(false);
        for r in &mut rows {
            r.ns_ci_low = r.ns_per_call.map(|v| v - 0.5);
            r.ns_ci_high = r.ns_per_call.map(|v| v + 0.25);
            if r.engine == "ext" {
                // The paired median, not the ratio of medians (2.00x).
                (r.speedup, r.speedup_ci_low, r.speedup_ci_high) =
                    (Some(1.9), Some(1.85), Some(1.96));
            }
        }
        let text = report(&rows, &published(), "x86_64", false);
        assert!(text.contains("20.0 [19.5, 20.2] (90)"), "{text}");
        assert!(text.contains("1.90x [1.85, 1.96] (3.00x)"), "{text}");
        // Without its own speedup a row falls back to the ratio of medians.
        let switch = text.lines().filter(|l| l.starts_with("ext-switch")).nth(1);
        assert!(switch.is_some_and(|l| l.contains(" 1.25x (-)")), "{text}");
    }

    #[test]
    fn tbd_and_missing_published_cells() {
        let mut rows = run_rows(false);
        rows.push(row("ext-jit", "fprog1", "hit", 5.0, None));
        let text = report(&rows, &published(), "x86_64", false);
        assert!(text.contains("5.0 (TBD)"), "{text}");
        let text = report(&rows, &published(), "aarch64", false);
        assert!(text.contains("The thread published no aarch64 table"));
    }
}
