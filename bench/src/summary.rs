//! The default job until the lab exists: the thread's programs over their
//! scenarios on every available engine, with a printed summary.

use clap::Args;

/// Options of `bpflab run`.
#[derive(Debug, Args, Default)]
pub struct RunArgs {}

/// Runs the summary.
pub fn run(_args: &RunArgs) -> anyhow::Result<()> {
    Ok(())
}
