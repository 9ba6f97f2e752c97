//! `bpflab run --scenario FILE` end to end: the shipped scenario files, a
//! user's own program and packets, expressions, and bad files.

mod common;

use bpflab::results::{CounterSource, Row, from_csv};
use common::{THREAD_PACKET_HEX, assert_user_error, bpflab};
use std::path::{Path, PathBuf};

/// A shipped scenario file.
fn shipped(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/files")
        .join(format!("{name}.toml"))
        .display()
        .to_string()
}

/// The rows of the one CSV in `dir`.
fn csv_rows(dir: &Path) -> Vec<Row> {
    let csvs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    assert_eq!(csvs.len(), 1, "{csvs:?}");
    from_csv(&std::fs::read(&csvs[0]).unwrap(), "run.csv").unwrap()
}

/// `bpflab run --quick -q` writing into `dir`, with `args`.
fn run_in(dir: &Path, args: &[&str]) -> common::Run {
    let out = dir.join("out");
    let plots = dir.join("plots");
    let mut full = vec![
        "run",
        "--quick",
        "-q",
        "--out",
        out.to_str().unwrap(),
        "--plots",
        plots.to_str().unwrap(),
    ];
    full.extend(args);
    bpflab(&full)
}

/// A program accepting IPv4 frames (EtherType 0x0800) with 65535.
const IPV4_ONLY: &str = "\
{ 0x28, 0, 0, 0x0000000c },
{ 0x15, 0, 1, 0x00000800 },
{ 0x6, 0, 0, 0x0000ffff },
{ 0x6, 0, 0, 0x00000000 },
";

/// Writes `files` (name, content) into `dir`; returns the first's path.
fn write(dir: &Path, files: &[(&str, &str)]) -> String {
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
    dir.join(files[0].0).display().to_string()
}

#[test]
fn the_shipped_fprog1_file_runs_as_fprog1() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(
        dir.path(),
        &["--scenario", &shipped("fprog1"), "--engines", "old"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [
                    "engine", "fprog1", "hit", "fprog1", "miss", "fprog2", "hit", "fprog2", "miss"
                ]),
        "the thread's columns: {}",
        run.stdout
    );
    let rows = csv_rows(&dir.path().join("out"));
    let cells: Vec<(&str, &str, &str, u64, Option<u32>)> = rows
        .iter()
        .map(|r| {
            (
                r.engine.as_str(),
                r.program.as_str(),
                r.mode.as_str(),
                r.skbs,
                r.result,
            )
        })
        .collect();
    assert_eq!(
        cells,
        [
            ("old", "fprog1", "hit", 1, Some(65535)),
            ("old", "fprog1", "miss", 10_000, Some(65535)),
        ]
    );
}

#[test]
fn a_user_program_on_hex_packets_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = format!(
        "name = \"ipv4-only\"\n[program]\nfile = \"ipv4.dd\"\n\
         [[packet]]\nhex = \"{THREAD_PACKET_HEX}\"\nexpect = 65535\n\
         [[packet]]\nhex = \"10bf48d643d6 3c075443e576 86dd\"\nexpect = 0\n\
         [run]\nmodes = [\"hit\", \"miss\"]\nskbs = 64\n"
    );
    let file = write(
        dir.path(),
        &[("mine.toml", &scenario), ("ipv4.dd", IPV4_ONLY)],
    );
    let run = run_in(
        dir.path(),
        &[
            "--scenario",
            &file,
            "--scenario",
            &shipped("fprog2"),
            "--engines",
            "old,ext",
            "--skbs",
            "100",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let header: Vec<&str> = run
        .stdout
        .lines()
        .find(|l| l.starts_with("engine"))
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "engine",
            "ipv4-only",
            "hit",
            "ipv4-only",
            "miss",
            "fprog2",
            "hit",
            "fprog2",
            "miss"
        ],
        "{}",
        run.stdout
    );
    let rows = csv_rows(&dir.path().join("out"));
    assert_eq!(rows.len(), 2 * 2 * 2);
    for row in &rows {
        let mixed = row.program == "ipv4-only" && row.mode == "miss";
        assert_eq!(
            row.result,
            if mixed { None } else { Some(65535) },
            "the miss skbs alternate accept and drop: {row:?}"
        );
        // --skbs overrides the file's skbs.
        assert_eq!(row.skbs, if row.mode == "hit" { 1 } else { 100 });
        assert!(row.ns_per_call.unwrap() > 0.0);
        assert_ne!(row.counter_source, CounterSource::Simulated);
    }
    assert!(rows.iter().any(|r| r.program == "fprog2"));
}

#[test]
fn an_expression_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = format!(
        "name = \"ssh\"\n[program]\nexpression = \"port 22\"\n\
         [[packet]]\nhex = \"{THREAD_PACKET_HEX}\"\nexpect = 65535\n"
    );
    let file = write(dir.path(), &[("expr.toml", &scenario)]);
    let run = run_in(
        dir.path(),
        &["--scenario", &file, "--engines", "old", "--skbs", "10"],
    );
    if cfg!(feature = "libpcap") {
        assert_eq!(run.code, 0, "{}", run.stderr);
        let rows = csv_rows(&dir.path().join("out"));
        assert!(rows.iter().all(|r| r.program == "ssh"), "{rows:?}");
    } else {
        assert_user_error(
            &run,
            "expr.toml:2: [program] expression `port 22`: built without the libpcap feature (needs Debian's libpcap-dev",
        );
        assert!(!dir.path().join("out").exists());
    }
}

#[test]
fn bad_scenarios_fail_before_measuring_and_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, &[("ipv4.dd", IPV4_ONLY)]);
    let good =
        "name = \"g\"\n[program]\nfile = \"ipv4.dd\"\n[[packet]]\nhex = \"00\"\nexpect = 0\n";
    let cases: Vec<(Vec<&str>, String, &str)> = vec![
        (
            vec![],
            "name = \"x\"\n[[packet]]\nhex = \"00\"\nexpect = 0\n".into(),
            "s.toml: [program] needs `file`",
        ),
        (
            vec![],
            good.replace("hex = \"00\"", "hex = \"0g\""),
            "s.toml:5: packet 1: hex: character 2 `g` is not a hex digit",
        ),
        (
            vec![],
            good.replace("expect = 0", "expect = 9"),
            "s.toml: packet 1 of 1: engine old returns 0, the file expects 9; nothing was measured",
        ),
        (
            vec![],
            good.replace("[[packet]]", "[[packets]]"),
            "s.toml:4: unknown field `packets`",
        ),
        (
            vec!["--programs", "fprog1"],
            good.into(),
            "--programs picks the thread's programs and --scenario brings its own",
        ),
        (
            vec!["--scenario", "SELF"],
            good.into(),
            "name `g` is also the name in",
        ),
        (
            vec!["--skbs", "0"],
            good.into(),
            "--skbs 0: a scenario needs at least one skb",
        ),
    ];
    let path = d.join("s.toml").display().to_string();
    for (extra, text, needle) in cases {
        std::fs::write(d.join("s.toml"), &text).unwrap();
        let mut args = vec!["--scenario", path.as_str(), "--engines", "old"];
        args.extend(
            extra
                .iter()
                .map(|a| if *a == "SELF" { path.as_str() } else { a }),
        );
        let run = run_in(d, &args);
        assert_user_error(&run, needle);
        assert!(!d.join("out").exists(), "{needle}");
    }
    let missing = d.join("none.toml").display().to_string();
    let run = run_in(d, &["--scenario", &missing]);
    assert_user_error(&run, "none.toml: cannot read the scenario file: ");
}

#[test]
fn simulated_counters_for_a_scenario_file() {
    if let Some(why) = common::simulation_unavailable() {
        eprintln!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = format!(
        "name = \"ipv4-only\"\n[program]\nfile = \"ipv4.dd\"\n\
         [[packet]]\nhex = \"{THREAD_PACKET_HEX}\"\nexpect = 65535\n"
    );
    let file = write(
        dir.path(),
        &[("mine.toml", &scenario), ("ipv4.dd", IPV4_ONLY)],
    );
    let run = run_in(
        dir.path(),
        &[
            "--simulate",
            "--scenario",
            &file,
            "--engines",
            "old",
            "--modes",
            "hit",
            "--skbs",
            "50",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = csv_rows(&dir.path().join("out"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].program, "ipv4-only");
    assert_eq!(rows[0].counter_source, CounterSource::Simulated);
    // Four classic instructions, one of them a branch.
    assert!(rows[0].branches.unwrap() >= 1.0, "{:?}", rows[0]);
}
