//! Helpers for end-to-end tests that run the built `bpflab` binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The result of one `bpflab` run.
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// The smallest lab run: one cell, one short process, only the report
/// printed.
pub const ONE_CELL: [&str; 11] = [
    "run",
    "--quick",
    "--engines",
    "old",
    "--programs",
    "fprog1",
    "--modes",
    "hit",
    "--processes",
    "1",
    "-q",
];

/// Runs `bpflab` with `args`.
pub fn bpflab(args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command()
        .args(args)
        .output()
        .expect("the bpflab binary runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A command that starts the built binary; for an arm32 build on another
/// machine through the runner cargo uses (qemu-arm, see scripts/cross-test).
pub fn command() -> Command {
    let bin = env!("CARGO_BIN_EXE_bpflab");
    let runner = std::env::var("CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER")
        .ok()
        .filter(|_| cfg!(target_arch = "arm"));
    match runner.as_deref().map(str::split_whitespace) {
        Some(mut words) => {
            let mut cmd = Command::new(words.next().unwrap_or("qemu-arm"));
            cmd.args(words).arg(bin);
            // bpflab's own children (fuzz workers) need the runner too.
            cmd.env("BPFLAB_RUNNER", runner.as_deref().unwrap_or_default());
            cmd
        }
        None => Command::new(bin),
    }
}

/// Whether the cross-test script says this run is emulated (arm32 under
/// qemu-arm): then results must say so.
pub fn expect_emulation() -> bool {
    std::env::var("BPFLAB_EXPECT_EMULATION").is_ok_and(|v| v == "1")
}

/// Asserts a clean user error: exit 2, nothing on stdout, one line on
/// stderr containing `needle`.
pub fn assert_user_error(run: &Run, needle: &str) {
    assert_eq!(run.code, 2, "exit code; stderr: {}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "stdout should be empty: {}",
        run.stdout
    );
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        run.stderr.contains(needle),
        "`{needle}` not in: {}",
        run.stderr
    );
}

/// A scenario program file of the repository.
pub fn scenario_program(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/programs")
        .join(format!("{name}.dd"))
}

/// The 38 bytes of the thread's test packet (fprogs.md), in hex.
pub const THREAD_PACKET_HEX: &str =
    "10bf48d643d63c075443e57608004510006475b540004006ad2e0a0101950a01020ac2240016";

/// Why `--simulate` cannot run here (no valgrind, or this binary runs under
/// emulation), or `None` when it can.
pub fn simulation_unavailable() -> Option<String> {
    if !bpflab::lab::simulate::available() {
        return Some("valgrind is not installed, so --simulate cannot run here".into());
    }
    bpflab::lab::machine::Machine::detect()
        .emulation
        .map(|why| format!("valgrind cannot simulate this binary: {why}"))
}
