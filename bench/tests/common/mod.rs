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

/// Runs `bpflab` with `args`.
pub fn bpflab(args: &[&str]) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_bpflab"))
        .args(args)
        .output()
        .expect("the bpflab binary runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
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
