//! `bpflab compare` and `bpflab spread` end to end, on result CSVs written
//! from synthetic rows: the tables' lines, exit 0, and bad input refused
//! with one line and exit 2.

mod common;

use bpflab::results::{CellKey, Row, RunInfo, to_csv};
use common::{assert_user_error, bpflab};
use std::path::{Path, PathBuf};

/// A run's provenance.
fn info(run_id: &str, layout: &str) -> RunInfo {
    RunInfo {
        run_id: run_id.into(),
        timestamp: "2026-11-25T10:00:00Z".into(),
        host: "vm1".into(),
        cpu_model: "Test CPU".into(),
        arch: "x86_64".into(),
        os: "linux 6.1.0".into(),
        rustc: "rustc 1.95.0".into(),
        source: "measured: bpflab 0.1.0".into(),
        seed: Some(1),
        processes: Some(3),
        layout: Some(layout.into()),
        precision: Some(0.01),
        ..RunInfo::default()
    }
}

/// A measured row: `ns` with a ±1% interval, and the speedup over `old_ns`
/// with a ±1% interval (none without `intervals`).
fn row(run: &RunInfo, engine: &str, cell: (&str, &str), ns: f64, old_ns: f64) -> Row {
    let speedup = old_ns / ns;
    Row {
        ns_per_call: Some(ns),
        ns_ci_low: Some(ns * 0.99),
        ns_ci_high: Some(ns * 1.01),
        rounds: Some(60),
        speedup: Some(speedup),
        speedup_ci_low: Some(speedup * 0.99),
        speedup_ci_high: Some(speedup * 1.01),
        result: Some(65535),
        ..Row::new(run, &CellKey::new(engine, cell.0, cell.1), 1)
    }
}

/// `old` and `ext` on fprog1 hit (old 20 ns, ext `ext_ns`) and `old` on
/// fprog1 miss (`miss_ns`).
fn run_rows(run: &RunInfo, ext_ns: f64, miss_ns: f64) -> Vec<Row> {
    vec![
        row(run, "old", ("fprog1", "hit"), 20.0, 20.0),
        row(run, "ext", ("fprog1", "hit"), ext_ns, 20.0),
        row(run, "old", ("fprog1", "miss"), miss_ns, miss_ns),
    ]
}

fn write_csv(dir: &Path, name: &str, rows: &[Row]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, to_csv(rows).unwrap()).unwrap();
    path
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn compare_prints_one_line_per_figure_with_its_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let a_info = info("run-a", "default");
    let b_info = info("run-b", "shuffle-1");
    let mut a_rows = run_rows(&a_info, 10.0, 50.0);
    a_rows.push(row(&a_info, "old-jit", ("fprog1", "hit"), 3.0, 20.0));
    let mut b_rows = run_rows(&b_info, 8.0, 50.2);
    b_rows.push(row(&b_info, "ext", ("fprog2", "miss"), 30.0, 40.0));
    let a = write_csv(dir.path(), "a.csv", &a_rows);
    let b = write_csv(dir.path(), "b.csv", &b_rows);

    let out = bpflab(&["compare", arg(&a), arg(&b)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let want = "\
A: run run-a on vm1 (x86_64, layout default, 3 processes); B: run run-b on vm1 (x86_64, layout shuffle-1, 3 processes)

B against A: change = B/A - 1; faster or slower only where each value lies outside the other's 95% interval (speedup is over old: higher is faster)
cell              figure       A       B  change    verdict
old fprog1 hit   ns/call   20.00   20.00   +0.0%  no change
ext fprog1 hit   ns/call   10.00    8.00  -20.0%     faster
ext fprog1 hit   speedup  2.000x  2.500x  +25.0%     faster
old fprog1 miss  ns/call   50.00   50.20   +0.4%  no change
only in A: old-jit fprog1 hit
only in B: ext fprog2 miss
";
    assert_eq!(out.stdout, want);

    // The other way round, the same change is slower.
    let out = bpflab(&["compare", arg(&b), arg(&a)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("ext fprog1 hit   ns/call    8.00   10.00  +25.0%     slower\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("ext fprog1 hit   speedup  2.500x  2.000x  -20.0%     slower\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn compare_without_intervals_gives_no_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_csv(
        dir.path(),
        "a.csv",
        &run_rows(&info("run-a", "default"), 10.0, 50.0),
    );
    // A file written before intervals existed: figures, no intervals.
    let old: Vec<Row> = run_rows(&info("run-old", "default"), 5.0, 50.0)
        .into_iter()
        .map(|r| Row {
            ns_ci_low: None,
            ns_ci_high: None,
            speedup_ci_low: None,
            speedup_ci_high: None,
            ..r
        })
        .collect();
    let b = write_csv(dir.path(), "b.csv", &old);
    let out = bpflab(&["compare", arg(&a), arg(&b)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("ext fprog1 hit   ns/call   10.00    5.00   -50.0%  no interval\n"),
        "{}",
        out.stdout
    );
    let verdicts = |l: &str| l.ends_with("faster") || l.ends_with("slower");
    assert!(!out.stdout.lines().any(verdicts), "{}", out.stdout);
}

#[test]
fn compare_in_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_csv(
        dir.path(),
        "a.csv",
        &run_rows(&info("run-a", "default"), 10.0, 50.0),
    );
    let b = write_csv(
        dir.path(),
        "b.csv",
        &run_rows(&info("run-b", "default"), 12.0, 50.0),
    );
    let out = bpflab(&["compare", "--markdown", arg(&a), arg(&b)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "| cell | figure | A | B | change | verdict |\n| --- | ---: | ---: | ---: | ---: | ---: |\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("| ext fprog1 hit | ns/call | 10.00 | 12.00 | +20.0% | slower |\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn spread_over_a_layout_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, ext_ns) in [10.0, 10.3, 9.8].into_iter().enumerate() {
        let run = info(&format!("run-{i}"), &format!("shuffle-{i}"));
        let mut rows = run_rows(&run, ext_ns, 50.0);
        if i == 0 {
            rows.push(row(&run, "old-jit", ("fprog1", "hit"), 3.0, 20.0));
        }
        paths.push(write_csv(dir.path(), &format!("run{i}.csv"), &rows));
    }
    let args: Vec<&str> = std::iter::once("spread")
        .chain(paths.iter().map(|p| arg(p)))
        .collect();
    let out = bpflab(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    for (i, path) in paths.iter().enumerate() {
        assert_eq!(
            lines[i],
            format!(
                "{}: run run-{i} on vm1 (x86_64, layout shuffle-{i}, 3 processes)",
                path.display()
            )
        );
    }
    let table = lines[3..].join("\n");
    let want = "
spread over 3 runs: (max - min) / median; in interval: the runs whose 95% interval holds the median of all runs
cell              figure  runs     min  median     max  spread  in interval
old fprog1 hit   ns/call     3   20.00   20.00   20.00    0.0%          3/3
ext fprog1 hit   ns/call     3    9.80   10.00   10.30    5.0%          1/3
ext fprog1 hit   speedup     3  1.942x  2.000x  2.041x    5.0%          1/3
old fprog1 miss  ns/call     3   50.00   50.00   50.00    0.0%          3/3
in fewer than two runs with a figure: old-jit fprog1 hit";
    assert_eq!(table, want);

    let out = bpflab(&[&args[..], &["--markdown"]].concat());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("- "), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("| ext fprog1 hit | ns/call | 3 | 9.80 | 10.00 | 10.30 | 5.0% | 1/3 |\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_csv(
        dir.path(),
        "a.csv",
        &run_rows(&info("run-a", "default"), 10.0, 50.0),
    );
    let copy = write_csv(
        dir.path(),
        "copy.csv",
        &run_rows(&info("run-a", "default"), 11.0, 50.0),
    );
    let missing = dir.path().join("missing.csv");
    let text = dir.path().join("notes.csv");
    std::fs::write(&text, "just some notes\nand more\n").unwrap();
    let mut two = run_rows(&info("run-b", "default"), 10.0, 50.0);
    two.extend(run_rows(&info("run-c", "default"), 10.0, 50.0));
    let two = write_csv(dir.path(), "two.csv", &two);
    let mut broken = run_rows(&info("run-d", "default"), 10.0, 50.0);
    broken[1].ns_ci_low = Some(12.0);
    let broken = write_csv(dir.path(), "broken.csv", &broken);

    let cases: [(&[&str], &str); 9] = [
        (
            &["compare", arg(&a), arg(&missing)],
            "missing.csv: cannot be read",
        ),
        (
            &["compare", arg(&text), arg(&a)],
            "notes.csv:1: missing columns",
        ),
        (&["compare", arg(&a), arg(&a)], "is the same run as"),
        (
            &["compare", arg(&a), arg(&copy)],
            "copy.csv: run `run-a` is the same run as",
        ),
        (
            &["compare", arg(&two), arg(&a)],
            "two.csv: holds 2 runs (`run-b`, `run-c`)",
        ),
        (
            &["compare", arg(&a), arg(&broken)],
            "broken.csv:3: ns_ci_low 12 is above",
        ),
        (&["compare", arg(&a)], "B.csv"),
        (
            &["spread", arg(&a)],
            "spread needs two or more result CSVs, got 1",
        ),
        (
            &["spread", arg(&a), arg(&copy)],
            "copy.csv: run `run-a` is also in",
        ),
    ];
    for (args, needle) in cases {
        let out = bpflab(args);
        assert_user_error(&out, needle);
    }
}
