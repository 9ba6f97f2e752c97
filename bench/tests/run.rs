//! `bpflab run` (the lab) end to end: options, result files, report.

mod common;

use bpflab::results::{CounterSource, from_csv};
use common::{assert_user_error, bpflab, expect_emulation};
use std::path::Path;

/// The run files in `dir`: (csv, json); nothing else but folders is there.
fn run_files(dir: &Path) -> (Vec<std::path::PathBuf>, Vec<std::path::PathBuf>) {
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.is_dir())
        .collect();
    let with = |ext: &str| {
        files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        files.len(),
        with("csv").len() + with("json").len(),
        "{files:?}"
    );
    (with("csv"), with("json"))
}

#[test]
fn quick_run_writes_a_complete_csv_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let plots = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = bpflab(&[
        "run",
        "--quick",
        "--engines",
        "old,ext",
        "--skbs",
        "1000",
        "--seed",
        "42",
        "--precision",
        "5",
        "--out",
        out,
        "--plots",
        plots.path().to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("ns per call on"), "{}", run.stdout);
    assert!(run.stdout.contains("speedup over old"), "{}", run.stdout);
    assert!(
        run.stdout.contains("method: interleaved rounds") && run.stdout.contains("seed 42;"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("precision: "), "{}", run.stdout);
    assert_eq!(run.stdout.contains("EMULATED"), expect_emulation());
    assert!(!run.stdout.contains("wrote"), "-q prints only the report");
    // The counters: the software ones counted (or, under qemu-user, said
    // to be missing), the CPU's either counted or <not supported>.
    if expect_emulation() {
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with("<not supported> task-clock, "));
        assert!(
            line.is_some_and(|l| l.contains(": the emulator does not implement perf_event_open")),
            "{}",
            run.stdout
        );
    } else {
        assert!(
            run.stdout.contains("perf_event counters over")
                && run.stdout.contains("task-clock ns/call")
                && run.stdout.contains("noise (software counters): "),
            "{}",
            run.stdout
        );
    }
    let (csvs, jsons) = run_files(dir.path());
    assert_eq!((csvs.len(), jsons.len()), (1, 1));
    let rows = from_csv(&std::fs::read(&csvs[0]).unwrap(), "run.csv").unwrap();
    assert_eq!(rows.len(), 2 * 2 * 2);
    // The HTML report in the run's own folder, with the provenance.
    let page = std::fs::read_to_string(dir.path().join(&rows[0].run_id).join("report.html"))
        .expect("report.html in the run's folder");
    assert!(page.contains("<table>") && page.contains("<dt>command</dt>"));
    assert_eq!(rows[0].quick, Some(true));
    assert!(rows[0].commit.as_deref().is_some_and(|c| !c.is_empty()));
    assert!(
        rows[0]
            .command
            .as_deref()
            .is_some_and(|c| c.contains("run --quick --engines old,ext")),
        "{:?}",
        rows[0].command
    );
    for engine in ["old", "ext"] {
        for program in ["fprog1", "fprog2"] {
            for (mode, skbs) in [("hit", 1), ("miss", 1000)] {
                let row = rows
                    .iter()
                    .find(|r| r.engine == engine && r.program == program && r.mode == mode)
                    .unwrap_or_else(|| panic!("no row {engine} {program} {mode}"));
                assert_eq!(row.skbs, skbs);
                assert_eq!(row.result, Some(65535));
                let (ns, lo, hi) = (
                    row.ns_per_call.unwrap(),
                    row.ns_min.unwrap(),
                    row.ns_max.unwrap(),
                );
                assert!(ns > 0.0 && lo <= ns && ns <= hi, "{row:?}");
                let (ci_low, ci_high) = row.ns_interval().expect("an interval");
                assert!(lo <= ci_low && ci_low <= ns && ns <= ci_high && ci_high <= hi);
                assert!(row.samples.unwrap() > 1);
                assert_eq!(row.rounds, row.samples);
                // The seed given, every process in the provenance, and
                // the binary's layout (cargo's build: the default order).
                assert_eq!(row.seed, Some(42));
                assert!(row.processes.unwrap() >= 2, "{row:?}");
                assert_eq!(row.layout.as_deref(), Some("default"));
                assert_eq!(row.precision, Some(0.05));
                let speedup = row.speedup.expect("a speedup over old");
                let (s_low, s_high) = row.speedup_interval().expect("its interval");
                assert!(s_low <= speedup && speedup <= s_high, "{row:?}");
                if engine == "old" {
                    assert_eq!((s_low, speedup, s_high), (1.0, 1.0, 1.0));
                }
                assert_eq!(row.emulated, expect_emulation(), "emulation marker");
                assert!(
                    !row.run_id.is_empty() && !row.cpu_model.is_empty() && !row.rustc.is_empty()
                );
                match row.counter_source {
                    CounterSource::None => assert_eq!(row.branch_misses, None),
                    CounterSource::Perf => assert!(row.branch_misses.is_some()),
                    CounterSource::Simulated => panic!("not asked to simulate"),
                }
                // The kernel's software events, counted around every batch
                // wherever perf_event_open exists (not under qemu-user).
                if expect_emulation() {
                    assert_eq!(row.task_clock_ns, None, "{row:?}");
                } else {
                    assert!(row.task_clock_ns.unwrap() > 0.0, "{row:?}");
                    for per_round in [
                        row.context_switches_per_round,
                        row.cpu_migrations_per_round,
                        row.page_faults_per_round,
                    ] {
                        assert!(per_round.is_some_and(|v| v >= 0.0), "{row:?}");
                    }
                }
            }
        }
    }
    let json: Vec<bpflab::results::Row> =
        serde_json::from_slice(&std::fs::read(&jsons[0]).unwrap()).unwrap();
    assert_eq!(json, rows);
    let counted = rows.iter().any(|r| r.branch_misses.is_some());
    let unsupported = run
        .stdout
        .lines()
        .any(|l| l.starts_with("<not supported> ") && l.contains("branch-misses"));
    assert_ne!(
        counted, unsupported,
        "branch misses are counted or said to be unsupported: {}",
        run.stdout
    );
    // The run's own charts, beside the published figures.
    let arch = &rows[0].arch;
    for chart in [format!("ns_per_call_{arch}"), format!("speedup_{arch}")] {
        for ext in ["svg", "png"] {
            let f = plots.path().join(format!("{chart}.{ext}"));
            assert!(f.is_file(), "missing {}", f.display());
        }
    }
}

#[test]
fn markdown_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = bpflab(&[
        "run",
        "--quick",
        "--engines",
        "old",
        "--programs",
        "fprog2",
        "--modes",
        "hit",
        "--skbs",
        "10",
        "--out",
        out,
        "--plots",
        &format!("{out}/plots"),
        "--markdown",
        "-q",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("| engine | fprog1 hit | fprog1 miss | fprog2 hit | fprog2 miss |")
    );
    assert!(run.stdout.contains("| old | - ("), "{}", run.stdout);
    // perf's angle brackets would read as HTML tags: quoted.
    assert!(!run.stdout.contains("\n<not supported>"), "{}", run.stdout);
    if !expect_emulation() {
        assert!(
            run.stdout.contains("| cell | task-clock ns/call |"),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn simulated_counters_on_one_cell() {
    if let Some(why) = common::simulation_unavailable() {
        eprintln!("skipped: {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = bpflab(&[
        "run",
        "--quick",
        "--simulate",
        "--engines",
        "old",
        "--programs",
        "fprog1",
        "--modes",
        "hit",
        "--skbs",
        "200",
        "--out",
        out,
        "--plots",
        &format!("{out}/plots"),
        "-q",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("SIMULATED"), "{}", run.stdout);
    let (csvs, _) = run_files(dir.path());
    let rows = from_csv(&std::fs::read(&csvs[0]).unwrap(), "run.csv").unwrap();
    assert_eq!(rows.len(), 1);
    let chart = format!("plots/branch_misses_{}.png", rows[0].arch);
    assert!(dir.path().join(chart).is_file());
    let row = &rows[0];
    assert_eq!(row.counter_source, CounterSource::Simulated);
    // fprog1 on the bench packet runs 11 classic instructions, several of
    // them branches: the simulator must have seen them.
    assert!(row.branches.unwrap() >= 5.0, "{row:?}");
    assert!(row.instructions.unwrap() >= 50.0, "{row:?}");
    assert!(row.branch_misses.unwrap() >= 0.0);
    assert_eq!(row.cycles, None);
}

/// `--events` with one event outside the thread's set and one raw code:
/// each counted (in `other_counters`) or reported `<not supported>` with
/// a reason, never a silent zero.
#[test]
fn chosen_events_are_counted_or_said_to_be_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let plots = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let mut args = common::ONE_CELL.to_vec();
    args.extend([
        "--events",
        "cpu-clock,L1-icache-load-misses",
        "--out",
        out,
        "--plots",
        plots.path().to_str().unwrap(),
    ]);
    let run = bpflab(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (csvs, _) = run_files(dir.path());
    let rows = from_csv(&std::fs::read(&csvs[0]).unwrap(), "run.csv").unwrap();
    let other = rows[0].other_counters.clone().unwrap_or_default();
    // Not asked for: the thread's CPU events.
    assert_eq!(rows[0].branch_misses, None);
    assert!(!run.stdout.contains("branch-misses"), "{}", run.stdout);
    for event in ["cpu-clock", "L1-icache-load-misses"] {
        let counted = other.contains(&format!("{event}="));
        let unsupported = run
            .stdout
            .lines()
            .any(|l| l.starts_with("<not supported> ") && l.contains(event) && l.len() > 40);
        assert!(counted != unsupported, "{event}: {other} / {}", run.stdout);
    }
    if !expect_emulation() {
        assert!(
            other.contains("cpu-clock="),
            "a software event counts: {other}"
        );
        assert!(run.stdout.contains("cpu-clock ns/call"), "{}", run.stdout);
    }
}

#[test]
fn events_lists_what_counts_here() {
    let run = bpflab(&["events", "task-clock,branch-misses,r00c4"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("task-clock     software  "),
        "{}",
        run.stdout
    );
    assert!(
        lines[2].starts_with("r00c4          raw       "),
        "{}",
        run.stdout
    );
    if expect_emulation() {
        assert!(lines[0].ends_with("<not supported> [1]"), "{}", run.stdout);
        assert!(
            run.stdout
                .contains("[1] the emulator does not implement perf_event_open"),
            "{}",
            run.stdout
        );
    } else {
        assert!(lines[0].ends_with("counts"), "{}", run.stdout);
    }
    // Every <not supported> line points at a reason printed below.
    for line in &lines[..3] {
        if let Some(n) = line.split("<not supported> ").nth(1) {
            assert!(run.stdout.contains(&format!("\n{n} ")), "{}", run.stdout);
        }
    }
    assert_user_error(&bpflab(&["events", "nope"]), "unknown event 'nope'");
}

/// Ctrl-C during `--simulate` leaves neither callgrind's temporary
/// folders nor a result behind (valgrind does not run under emulation).
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
#[test]
fn an_interrupted_simulation_leaves_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let child = common::command()
        .args([
            "run",
            "--simulate",
            "--quick",
            "--engines",
            "old,ext,ext-switch",
            "--programs",
            "fprog1",
            "--processes",
            "1",
            "-q",
            "--out",
            out.path().to_str().unwrap(),
        ])
        .env("TMPDIR", tmp.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the simulator's first temporary folder, then interrupt.
    let start = std::time::Instant::now();
    while std::fs::read_dir(tmp.path()).unwrap().next().is_none() {
        assert!(
            start.elapsed().as_secs() < 120,
            "the simulation never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: signalling the child this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(std::fs::read_dir(out.path()).unwrap().next().is_none());
}

#[test]
fn bad_options_fail_before_measuring_and_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let under_file = blocker.join("sub");
    for (args, needle) in [
        (vec!["--engines", "old,turbo"], "unknown engine `turbo`"),
        (vec!["--programs", "fprog3"], "unknown program `fprog3`"),
        (vec!["--modes", "warm"], "unknown mode `warm`"),
        (vec!["--skbs", "0"], "--skbs 0"),
        (vec!["--skbs", "99999999999"], "--skbs 99999999999"),
        (vec!["--precision", "0"], "--precision 0"),
        (vec!["--precision", "100"], "--precision 100"),
        (vec!["--processes", "0"], "--processes 0"),
        (vec!["--max-seconds", "0"], "--max-seconds 0"),
        (vec!["--process-seconds", "inf"], "--process-seconds inf"),
        (
            vec!["--events", "branch-misses,branch-mises"],
            "--events: unknown event 'branch-mises'",
        ),
        (vec!["--events", "cycles:x"], "unknown modifier ':x'"),
        (
            vec!["--out", under_file.to_str().unwrap()],
            "cannot be created",
        ),
    ] {
        let mut full = vec!["run", "--quick"];
        for option in ["--out", "--plots"] {
            if !args.contains(&option) {
                full.extend([option, out_s]);
            }
        }
        full.extend(args);
        assert_user_error(&bpflab(&full), needle);
    }
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
}

#[test]
fn mistyped_names_get_a_guess_and_clap_tips_stay_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    for (args, needle) in [
        (
            vec!["--engines", "old,ext-jt"],
            "unknown engine `ext-jt`: did you mean `ext-jit`? (engines: old,",
        ),
        (
            vec!["--programs", "fprg2"],
            "unknown program `fprg2`: did you mean `fprog2`? (programs: fprog1, fprog2)",
        ),
        (
            vec!["--modes", "hit,mis"],
            "unknown mode `mis`: did you mean `miss`? (modes: hit, miss)",
        ),
        (
            vec!["--engine", "old"],
            "bpflab: unexpected argument '--engine' found (a similar argument exists: '--engines')",
        ),
    ] {
        let mut full = vec!["run", "--quick", "--out", out_s, "--plots", out_s];
        full.extend(args);
        assert_user_error(&bpflab(&full), needle);
    }
    // No guess where none is near, or two are as near.
    for (args, unknown) in [
        (
            vec!["--engines", "turbo"],
            "unknown engine `turbo` (engines:",
        ),
        (
            vec!["--programs", "fprog3"],
            "unknown program `fprog3` (programs:",
        ),
    ] {
        let mut full = vec!["run", "--quick", "--out", out_s, "--plots", out_s];
        full.extend(args);
        let run = bpflab(&full);
        assert_user_error(&run, unknown);
        assert!(!run.stderr.contains("did you mean"), "{}", run.stderr);
    }
    assert_user_error(
        &bpflab(&["exce"]),
        "bpflab: unrecognized subcommand 'exce' (a similar subcommand exists: 'exec')",
    );
    assert!(!out.exists());
}
