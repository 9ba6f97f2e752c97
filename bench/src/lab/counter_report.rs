//! The counters part of a run's report, as `perf stat -r` shows counters:
//! each cell's events with their spread over rounds, the events this
//! machine cannot count as `<not supported>` with the reason, and what the
//! software events say about how disturbed the timed batches were.

use super::analysis::Analysis;
use super::counted::{EventEstimate, Noise};
use super::counters::unavailable::by_reason;
use super::counters::{EventSpec, Kind, Unavailable};
use crate::table::Table;

/// A share of the counted batches with a context switch above which the
/// quiet rounds were not quiet: a switch puts another task's time slice
/// (milliseconds) into a batch of about one.
const SWITCHED_WARNING: f64 = 0.05;

/// A share of the batches' wall time off a CPU above which the worker
/// was visibly kept off it.
const OFF_CPU_WARNING: f64 = 0.03;

/// How an event is shown: the kernel's clocks in ns per call, its rare
/// events (switches, migrations, faults) per round (one timed batch), the
/// CPU's events per call.
fn unit(event: &str) -> &'static str {
    match EventSpec::parse(event) {
        Ok(e) if e.kind == Kind::Software && e.name.contains("clock") => "ns/call",
        Ok(e) if e.kind == Kind::Software => "/round",
        _ => "/call",
    }
}

/// A count with as many digits as its size deserves.
fn figure(v: f64) -> String {
    match v.abs() {
        0.0 => "0".into(),
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        a if a >= 0.01 => format!("{v:.3}"),
        _ => format!("{v:.1e}"),
    }
}

fn cell_text(e: &EventEstimate) -> String {
    if unit(&e.event) == "/round" {
        return figure(e.per_round);
    }
    match e.spread {
        Some(s) => format!("{} ±{:.1}%", figure(e.per_call), s * 100.0),
        None => figure(e.per_call),
    }
}

/// The counters table, the `<not supported>` lines and the noise line.
pub fn counters_report(analysis: &Analysis, unavailable: &[Unavailable], markdown: bool) -> String {
    let mut out = String::new();
    if !analysis.events.is_empty() {
        let header = std::iter::once("cell".to_string())
            .chain(analysis.events.iter().map(|e| format!("{e} {}", unit(e))))
            .collect();
        let rows = analysis
            .cells
            .iter()
            .map(|c| {
                std::iter::once(c.key.to_string())
                    .chain(analysis.events.iter().map(|name| {
                        c.counters
                            .iter()
                            .find(|e| &e.event == name)
                            .map_or_else(|| angled("not counted", markdown), cell_text)
                    }))
                    .collect()
            })
            .collect();
        let cpu = analysis
            .events
            .iter()
            .any(|e| !EventSpec::parse(e).is_ok_and(|e| e.is_software()));
        let table = Table {
            title: format!(
                "perf_event counters over {} rounds: per call ± their standard deviation over rounds; the kernel's switches, migrations and faults per round (one timed batch of the cell){}",
                analysis.rounds_timed,
                if cpu {
                    "; the CPU's events count user space only unless named with :k or :uk"
                } else {
                    ""
                }
            ),
            header,
            rows,
        };
        out.push('\n');
        out.push_str(&table.render(markdown));
    }
    // Markdown takes a line right after a table for one of its rows, and
    // joins lines into one paragraph: blank lines part them.
    let gap = if markdown { "\n" } else { "" };
    for line in not_supported(unavailable, markdown).lines() {
        out.push_str(&format!("{gap}{line}\n"));
    }
    if let Some(noise) = &analysis.noise {
        out.push_str(gap);
        out.push_str(&noise_line(noise));
    }
    out
}

/// `<not supported>` lines, one per reason, naming its events.
fn not_supported(unavailable: &[Unavailable], markdown: bool) -> String {
    by_reason(unavailable)
        .iter()
        .map(|(reason, events)| {
            format!(
                "{} {}: {reason}\n",
                angled("not supported", markdown),
                events.join(", ")
            )
        })
        .collect()
}

/// `<text>` as perf writes it; in code quotes in Markdown, where it would
/// read as an HTML tag and vanish.
fn angled(text: &str, markdown: bool) -> String {
    if markdown {
        format!("`<{text}>`")
    } else {
        format!("<{text}>")
    }
}

/// What the software events say about the timed batches, with a warning
/// when the rounds the times count were disturbed.
pub fn noise_line(n: &Noise) -> String {
    let share = |part: u64, all: u64| part as f64 / all.max(1) as f64;
    let counted = share(n.counted_switched, n.counted_batches);
    let mut line = format!(
        "noise (software counters): the worker was switched out during {:.2}% of {} timed batches, {:.2}% of the {} in the rounds the times count; {:.0} CPU migrations and {:.0} page faults inside batches",
        share(n.switched, n.batches) * 100.0,
        n.batches,
        counted * 100.0,
        n.counted_batches,
        n.migrations,
        n.page_faults,
    );
    if let Some(off) = n.off_cpu {
        line.push_str(&format!(
            "; off a CPU {:.2}% of the batches' wall time",
            off * 100.0
        ));
    }
    let warn = counted > SWITCHED_WARNING || n.off_cpu.is_some_and(|o| o > OFF_CPU_WARNING);
    if warn {
        line = format!(
            "WARNING: the machine was busy: {line}; other tasks took this CPU during the counted rounds, so times and ratios may be off (close other programs, or run longer)"
        );
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(switched: u64, counted_switched: u64, off: Option<f64>) -> Noise {
        Noise {
            batches: 1000,
            switched,
            counted_batches: 250,
            counted_switched,
            migrations: 0.0,
            page_faults: 3.0,
            off_cpu: off,
        }
    }

    #[test]
    fn quiet_batches_make_a_plain_noise_line() {
        let line = noise_line(&noise(31, 2, Some(0.0012)));
        assert_eq!(
            line,
            "noise (software counters): the worker was switched out during 3.10% of 1000 timed batches, 0.80% of the 250 in the rounds the times count; 0 CPU migrations and 3 page faults inside batches; off a CPU 0.12% of the batches' wall time\n"
        );
    }

    #[test]
    fn disturbed_counted_rounds_or_time_off_the_cpu_warn() {
        assert!(
            noise_line(&noise(100, 20, Some(0.01))).starts_with("WARNING: the machine was busy")
        );
        assert!(noise_line(&noise(10, 0, Some(0.1))).starts_with("WARNING"));
        assert!(!noise_line(&noise(10, 0, None)).starts_with("WARNING"));
    }

    #[test]
    fn figures_and_units() {
        assert_eq!(figure(0.0), "0");
        assert_eq!(figure(1234.4), "1234");
        assert_eq!(figure(12.34), "12.3");
        assert_eq!(figure(1.2345), "1.234");
        assert_eq!(figure(0.00012), "1.2e-4");
        assert_eq!(unit("context-switches"), "/round");
        assert_eq!(unit("page-faults"), "/round");
        assert_eq!(unit("task-clock"), "ns/call");
        assert_eq!(unit("branch-misses:uk"), "/call");
        let e = EventEstimate {
            event: "branch-misses".into(),
            per_call: 2.5,
            per_round: 2500.0,
            spread: Some(0.031),
        };
        assert_eq!(cell_text(&e), "2.500 ±3.1%");
    }

    #[test]
    fn unsupported_events_are_grouped_by_reason() {
        let u = |e: &str, r: &str| Unavailable {
            event: e.into(),
            reason: r.into(),
        };
        let all = [
            u("branch-misses", "no PMU"),
            u("r1", "rejected"),
            u("cycles", "no PMU"),
        ];
        assert_eq!(
            not_supported(&all, false),
            "<not supported> branch-misses, cycles: no PMU\n<not supported> r1: rejected\n"
        );
        assert!(not_supported(&all, true).starts_with("`<not supported>` branch-misses, cycles"));
    }
}
