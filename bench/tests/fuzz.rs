//! `bpflab fuzz` end to end: a short clean run and its summary line, a
//! worker that dies (through the self-test hook) reported as a crash with
//! a way to rerun it, bad options, and reproduction lines that really
//! reproduce: each `bpflab exec` line the fuzzer would print gives, when
//! run, what the engine gives on the fuzz case's packet.

mod common;

use bpflab::fuzz::repro;
use bpflab_engines::classic::check;
use bpflab_engines::fuzz::Case;
use bpflab_engines::{Engine, Filter};
use common::{assert_user_error, bpflab, command};

/// The `programs=N packets=M divergences=D crashes=C` line, parsed.
fn summary(stdout: &str) -> [u64; 4] {
    let line = stdout.lines().last().expect("a summary line");
    let values: Vec<u64> = line
        .split_whitespace()
        .zip(["programs=", "packets=", "divergences=", "crashes="])
        .map(|(field, key)| {
            field
                .strip_prefix(key)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("`{line}` is not the summary line"))
        })
        .collect();
    values.try_into().expect("four fields")
}

#[test]
fn a_short_run_ends_with_its_summary() {
    let run = bpflab(&["fuzz", "--seconds", "2", "--seed", "11"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("fuzz: seed 11, engines old,"));
    let [programs, packets, divergences, crashes] = summary(&run.stdout);
    assert!(programs > 0 && packets >= 8 * programs);
    assert_eq!((divergences, crashes), (0, 0));
}

#[test]
fn a_worker_that_dies_is_a_crash_with_a_rerun_line() {
    // A count, not a time: the run must go on after the crash however slow
    // the machine (qemu-arm in scripts/cross-test).
    let out = command()
        .args([
            "fuzz",
            "--seconds",
            "3600",
            "--programs",
            "6",
            "--seed",
            "3",
        ])
        .env("BPFLAB_FUZZ_ABORT_AT_CASE", "2")
        .output()
        .expect("bpflab runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("crash: program #2 of seed 3: the worker was killed by signal 6"),
        "{stdout}"
    );
    assert!(stdout.contains("fuzz --seed 3 --case 2"), "{stdout}");
    let [programs, _, divergences, crashes] = summary(&stdout);
    assert_eq!(programs, 6, "the run goes on after the crash");
    assert_eq!((divergences, crashes), (0, 1));
}

#[test]
fn one_case_can_be_rerun() {
    let run = bpflab(&["fuzz", "--seed", "3", "--case", "2"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(summary(&run.stdout)[..1], [1]);
}

#[test]
fn bad_options_are_one_line_errors() {
    for (args, needle) in [
        (
            &["fuzz", "--seconds", "0"][..],
            "--seconds 0 is out of range",
        ),
        (&["fuzz", "--seconds", "86401"][..], "out of range"),
        (&["fuzz", "--seconds", "-5"][..], "-5"),
        (&["fuzz", "--case", "1"][..], "--seed"),
        (
            &["fuzz", "--programs", "0"][..],
            "--programs 0 is out of range",
        ),
        (
            &["fuzz", "--seed", "1", "--case", "1", "--programs", "5"][..],
            "cannot be used with",
        ),
        (
            &["fuzz", "--engines", "old,nope"][..],
            "unknown engine `nope`",
        ),
        (&["fuzz", "--seed", "x"][..], "--seed"),
    ] {
        assert_user_error(&bpflab(args), needle);
    }
}

#[test]
fn reproduction_lines_reproduce() {
    let mut checked = 0;
    for index in 0..40 {
        let case = Case::nth(99, index);
        if case.insns.len() > 600 {
            continue; // keeps the command lines and the test short
        }
        let program = check(case.insns.clone()).expect("generated programs check");
        let skbs = case.skbs();
        for engine in [Engine::Old, Engine::Ext, Engine::ExtJit, Engine::Rbpf] {
            let Ok(filter) = Filter::attach(program.clone(), engine) else {
                continue; // not available here
            };
            let (data, meta) = &case.packets[index as usize % case.packets.len()];
            let skb = &skbs[index as usize % skbs.len()];
            assert_eq!(&skb.meta(), meta);
            let args = repro::exec_args(engine, &case.insns, data, meta);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let run = bpflab(&args);
            assert_eq!(run.code, 0, "{}", run.stderr);
            assert_eq!(
                run.stdout.trim(),
                filter.run(skb).to_string(),
                "case #{index} on {engine}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} reproductions checked");
}
