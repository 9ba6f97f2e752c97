//! Starting this binary again as a child process (the fuzz worker, the
//! lab's worker processes).

use anyhow::Context as _;
use std::process::Command;

/// A command starting this binary again, through `BPFLAB_RUNNER` when set
/// (a command prefix such as `qemu-arm -L /usr/arm-linux-gnueabihf`, for a
/// build running under an emulator that cannot start children itself).
pub fn child_command() -> anyhow::Result<Command> {
    let exe = std::env::current_exe().context("cannot find the bpflab binary")?;
    let runner = std::env::var("BPFLAB_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    Ok(match words.next() {
        Some(program) => {
            let mut cmd = Command::new(program);
            cmd.args(words).arg(exe);
            cmd
        }
        None => Command::new(exe),
    })
}
