//! Starting this binary again as a child process (the fuzz worker, the
//! lab's worker processes).

use anyhow::Context as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::Command;

/// The running binary's own file, whatever happens to its path: a lab run
/// must time every worker with the very binary (and code layout) it
/// started with, even if a build replaces the file meanwhile.
const SELF_EXE: &str = "/proc/self/exe";

/// A command starting this binary again, through `BPFLAB_RUNNER` when set
/// (a command prefix such as `qemu-arm -L /usr/arm-linux-gnueabihf`, for a
/// build running under an emulator that cannot start children itself).
pub fn child_command() -> anyhow::Result<Command> {
    let exe = std::env::current_exe().context("cannot find the bpflab binary")?;
    let runner = std::env::var("BPFLAB_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    Ok(match words.next() {
        Some(program) => {
            // The emulator is the host's process: its /proc/self/exe would
            // be the emulator, so it gets the binary's path.
            let mut cmd = Command::new(program);
            cmd.args(words).arg(exe);
            cmd
        }
        None if Path::new(SELF_EXE).exists() => {
            let mut cmd = Command::new(SELF_EXE);
            cmd.arg0(exe);
            cmd
        }
        None => Command::new(exe),
    })
}
