//! `bpflab plot` end to end: every chart rendered from fixed CSVs (two
//! architectures, the published table, with and without counters), and
//! bad input refused with one line, exit 2 and no chart left behind.

mod common;

use bpflab::results::{CellKey, CounterSource, Row, RunInfo, to_csv};
use common::{Run, assert_user_error, bpflab};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const CELLS: [(&str, &str); 4] = [
    ("fprog1", "hit"),
    ("fprog1", "miss"),
    ("fprog2", "hit"),
    ("fprog2", "miss"),
];

/// A measured run: every engine in every cell, ns scaled by `base`;
/// simulated branch misses when `counters`.
fn run_rows(arch: &str, host: &str, cpu: &str, base: f64, counters: bool) -> Vec<Row> {
    let engines = [
        ("old", 1.0),
        ("ext", 0.4),
        ("old-jit", 0.15),
        ("ext-switch", 0.6),
    ];
    let mut rows = Vec::new();
    for (i, (program, mode)) in CELLS.iter().enumerate() {
        for (engine, scale) in engines {
            let ns = base * scale * (1.0 + i as f64);
            let info = RunInfo {
                run_id: format!("20261125T100000Z-{host}"),
                timestamp: "2026-11-25T10:00:00Z".into(),
                host: host.into(),
                cpu_model: cpu.into(),
                arch: arch.into(),
                os: "linux 6.1.0".into(),
                rustc: "rustc 1.95.0".into(),
                source: "measured: bpflab 0.1.0".into(),
                ..RunInfo::default()
            };
            let skbs = if *mode == "miss" { 10_000 } else { 1 };
            rows.push(Row {
                ns_per_call: Some(ns),
                ns_min: Some(ns * 0.95),
                ns_max: Some(ns * 1.1),
                samples: Some(101),
                branch_misses: counters.then_some(ns / 10.0),
                instructions: counters.then_some(ns * 4.0),
                counter_source: if counters {
                    CounterSource::Simulated
                } else {
                    CounterSource::None
                },
                result: Some(65535),
                ..Row::new(&info, &CellKey::new(engine, program, mode), skbs)
            });
        }
    }
    rows
}

fn write_csv(dir: &Path, name: &str, rows: &[Row]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, to_csv(rows).unwrap()).unwrap();
    path
}

fn published_csv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../results/published.csv")
}

fn x86_64_run(dir: &Path) -> PathBuf {
    write_csv(
        dir,
        "x86.csv",
        &run_rows("x86_64", "vm1", "Test CPU X @ 2.90GHz", 40.0, true),
    )
}

fn arm32_run(dir: &Path) -> PathBuf {
    write_csv(
        dir,
        "arm.csv",
        &run_rows("arm32", "pi", "ARMv7 Processor rev 4 (v7l)", 200.0, false),
    )
}

fn plot(csvs: &[&Path], out: &Path) -> Run {
    let mut args = vec!["plot".to_string()];
    args.extend(csvs.iter().map(|p| p.display().to_string()));
    args.extend(["--out".to_string(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    bpflab(&args)
}

fn names(dir: &Path) -> BTreeSet<String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

fn both(stems: &[&str]) -> BTreeSet<String> {
    stems
        .iter()
        .flat_map(|s| [format!("{s}.svg"), format!("{s}.png")])
        .collect()
}

/// Decodes a PNG: (width, height, distinct colours, share of non-white
/// pixels).
fn png_stats(path: &Path) -> (u32, u32, usize, f64) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| &p[..3])
        .collect();
    let colours: BTreeSet<&[u8]> = pixels.iter().copied().collect();
    let inked = pixels.iter().filter(|p| **p != [255, 255, 255]).count();
    (
        info.width,
        info.height,
        colours.len(),
        inked as f64 / pixels.len() as f64,
    )
}

fn svg(dir: &Path, stem: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap()
}

fn assert_holds(svg: &str, stem: &str, texts: &[&str]) {
    for text in texts {
        assert!(svg.contains(text), "{stem}.svg lacks `{text}`");
    }
}

#[test]
fn every_chart_from_two_arches_and_the_published_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plots");
    let (x86, arm) = (x86_64_run(dir.path()), arm32_run(dir.path()));
    let run = plot(&[&x86, &arm, &published_csv()], &out);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);

    let want = both(&[
        "ns_per_call_x86_64",
        "ns_per_call_i386",
        "ns_per_call_arm32",
        "speedup_x86_64",
        "speedup_i386",
        "speedup_arm32",
        "branch_misses_x86_64",
        "runs_speedup",
    ]);
    assert_eq!(names(&out), want, "no other file, no temporary left");
    assert!(
        run.stdout
            .contains("no branch-miss chart for run 20261125T100000Z-pi (arm32 on pi, 2026-11-25 10:00 UTC): its rows have no branch-miss figures"),
        "{}",
        run.stdout
    );
    for file in &want {
        assert!(
            run.stdout.contains(&out.join(file).display().to_string()),
            "{file} not reported"
        );
    }
    // Each chart is reported with the runs it draws, and no note names a
    // run that a chart of its kind draws.
    let branch_line = run
        .stdout
        .lines()
        .find(|l| l.contains("branch_misses_x86_64.png"))
        .unwrap();
    assert!(
        branch_line.ends_with(": run 20261125T100000Z-vm1"),
        "{branch_line}"
    );
    assert!(
        !run.stdout
            .contains("no branch-miss chart for run 20261125T100000Z-vm1")
    );

    for file in want.iter().filter(|f| f.ends_with(".png")) {
        let (w, h, colours, inked) = png_stats(&out.join(file));
        assert_eq!(w, 1000, "{file}");
        assert!((500..=1400).contains(&h), "{file}: height {h}");
        assert!(colours > 30, "{file}: only {colours} colours");
        assert!(
            (0.03..0.6).contains(&inked),
            "{file}: {inked:.3} of the pixels inked"
        );
    }

    let engines = ["old", "ext", "old-jit", "ext-switch"];
    let ns = svg(&out, "ns_per_call_x86_64");
    assert_holds(
        &ns,
        "ns_per_call_x86_64",
        &[
            "ns per call on x86_64: measured here vs published 2014",
            "ns per call (median; lower is faster)",
            "scenario (hit: one skb again and again; miss: 10000 distinct skbs)",
            "fprog1 hit",
            "fprog2 miss",
            "measured on vm1: Test CPU X @ 2.90GHz, x86_64, linux 6.1.0, 2026-11-25",
            "published 2014: Alexei Starovoitov, 2014-03-09, x86_64",
            "published 2014 (same colours, light and hatched)",
            "TBD",
            ">\n40\n<",
            ">\n90\n<",
        ],
    );
    assert_holds(&ns, "ns_per_call_x86_64", &engines);
    assert_holds(
        &svg(&out, "ns_per_call_i386"),
        "ns_per_call_i386",
        &["ns per call on i386: published 2014", ">\n107\n<"],
    );
    assert_holds(
        &svg(&out, "speedup_arm32"),
        "speedup_arm32",
        &[
            "Speedup over old on arm32: measured here vs published 2014",
            "speedup over old (×; dashed line: old = 1×)",
            "measured on pi: ARMv7 Processor rev 4 (v7l), arm32",
            "2.5×",
            "old-jit",
        ],
    );
    let branches = svg(&out, "branch_misses_x86_64");
    assert_holds(
        &branches,
        "branch_misses_x86_64",
        &[
            "Branch misses per call on x86_64, simulated",
            "branch misses per call (simulated)",
            "not hardware counts",
            ">\n4\n<",
        ],
    );
    assert_holds(&branches, "branch_misses_x86_64", &engines);
    let runs = svg(&out, "runs_speedup");
    assert_holds(
        &runs,
        "runs_speedup",
        &[
            "Speedup over old across runs",
            "published 2014: Alexei Starovoitov, 2014-03-09, x86_64, i386, arm32",
            "measured on vm1",
            "measured on pi",
            "fprog1 miss",
            "i386",
            "2026-11-25",
        ],
    );
}

#[test]
fn without_counters_the_branch_chart_is_skipped_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plots");
    let arm = arm32_run(dir.path());
    let run = plot(&[&arm], &out);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let skipped: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("branch-miss"))
        .collect();
    assert_eq!(skipped.len(), 1, "{}", run.stdout);
    assert!(skipped[0].starts_with("no branch-miss chart: no measured row has branch-miss"));
    assert!(run.stdout.contains("no runs chart"), "{}", run.stdout);
    assert_eq!(
        names(&out),
        both(&["ns_per_call_arm32", "speedup_arm32"]),
        "measured only: no published arm32 figures given"
    );
    assert!(svg(&out, "ns_per_call_arm32").contains("ns per call on arm32: measured here"));
}

#[test]
fn with_no_csv_argument_every_results_csv_is_plotted_into_plots() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    std::fs::create_dir(&results).unwrap();
    x86_64_run(&results);
    std::fs::copy(published_csv(), results.join("published.csv")).unwrap();
    std::fs::write(results.join("notes.txt"), "not a CSV").unwrap();
    let output = common::command()
        .arg("plot")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let plots = names(&dir.path().join("plots"));
    for stem in ["ns_per_call_x86_64", "ns_per_call_arm32", "runs_speedup"] {
        assert!(plots.contains(&format!("{stem}.png")), "{plots:?}");
    }
}

/// A bad input: exit 2, one line naming the file, and the output folder
/// (made beforehand) still empty.
fn assert_refused(csvs: &[&Path], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plots");
    std::fs::create_dir(&out).unwrap();
    let run = plot(csvs, &out);
    assert_user_error(&run, needle);
    assert!(names(&out).is_empty(), "left behind: {:?}", names(&out));
}

#[test]
fn bad_input_is_one_line_exit_2_and_no_chart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = x86_64_run(d);

    let missing = d.join("missing.csv");
    assert_refused(&[&missing], "missing.csv: cannot be read");
    // A good file first: nothing is drawn before every input is checked.
    assert_refused(&[&good, &missing], "missing.csv: cannot be read");

    let columns = d.join("columns.csv");
    std::fs::write(&columns, "run_id,engine,program,mode\nr,old,fprog1,hit\n").unwrap();
    assert_refused(&[&columns], "columns.csv:1: missing columns `timestamp`");
    let full = String::from_utf8(to_csv(&run_rows("x86_64", "h", "c", 1.0, false)).unwrap())
        .unwrap()
        .replace("ns_per_call", "ns");
    let no_ns_column = d.join("no_ns_column.csv");
    std::fs::write(&no_ns_column, full).unwrap();
    assert_refused(
        &[&no_ns_column],
        "no_ns_column.csv:1: missing column `ns_per_call`",
    );

    let empty = d.join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    assert_refused(&[&empty], "empty.csv: empty file");
    let header_only = d.join("header_only.csv");
    let header = String::from_utf8(to_csv(&run_rows("x86_64", "h", "c", 1.0, false)).unwrap())
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&header_only, format!("{header}\n")).unwrap();
    assert_refused(&[&header_only], "header_only.csv: no rows");

    let mut rows = run_rows("x86_64", "h", "c", 1.0, false);
    for row in &mut rows {
        row.ns_per_call = None;
    }
    let no_ns = write_csv(d, "no_ns.csv", &rows);
    assert_refused(
        &[&published_csv(), &no_ns],
        "no_ns.csv:2: run `20261125T100000Z-h` has no measured ns_per_call",
    );
}

#[test]
fn an_unwritable_output_is_one_line_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let good = x86_64_run(dir.path());
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let run = plot(&[&good], &blocker.join("plots"));
    assert_user_error(&run, "cannot be created");
}
