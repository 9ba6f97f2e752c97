//! The command line: subcommands and their options.

use crate::{dump, engines_cmd, exec, summary};
use clap::{Parser, Subcommand};

/// bpflab: a lab for classic and extended BPF filter engines.
#[derive(Debug, Parser)]
#[command(name = "bpflab", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the thread's programs over their scenarios on every engine and
    /// print a summary (the default when no command is given).
    Run(summary::RunArgs),
    /// Run a filter on packets given in hex and print each verdict.
    Exec(exec::ExecArgs),
    /// Print a program in `tcpdump -d` form (and its conversion with
    /// `--engine ext`).
    Dump(dump::DumpArgs),
    /// List every engine and whether this build and machine can run it.
    Engines,
}

/// Runs the command the user chose.
pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => summary::run(&summary::RunArgs::default()),
        Some(Command::Run(args)) => summary::run(&args),
        Some(Command::Exec(args)) => exec::run(&args),
        Some(Command::Dump(args)) => dump::run(&args),
        Some(Command::Engines) => engines_cmd::run(),
    }
}
