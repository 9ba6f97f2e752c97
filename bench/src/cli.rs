//! The command line: subcommands and their options.

use crate::{compare, compile, dump, engines_cmd, events_cmd, exec, fuzz, lab, plot};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// bpflab: a lab for classic and extended BPF filter engines.
#[derive(Debug, Parser)]
#[command(name = "bpflab", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The lab: measure every engine on every scenario, write the results and
    /// print the thread's tables beside the published ones (the default).
    Run(lab::LabArgs),
    /// Run a filter on packets given in hex and print each verdict.
    Exec(exec::ExecArgs),
    /// Print a program in `tcpdump -d` form or, with `--format`, any form
    /// the readers take; with `--engine`, its conversion or native code.
    Dump(dump::DumpArgs),
    /// List every engine and whether this build and machine can run it.
    Engines,
    /// List perf events by perf's names and whether each can be counted
    /// here (`<not supported>` with the reason where not).
    Events(events_cmd::EventsArgs),
    /// Compile a tcpdump expression with libpcap (Ethernet, snapshot length
    /// 65535, optimized) and print it in `tcpdump -dd` form (needs the
    /// `libpcap` feature).
    Compile(compile::CompileArgs),
    /// Chart result CSVs (measured beside published, across machines and
    /// architectures) as SVG and PNG.
    Plot(plot::PlotArgs),
    /// Compare two runs cell by cell: ns/call and speedup over old in each,
    /// the change, and whether it lies beyond both runs' 95% intervals.
    Compare(compare::CompareArgs),
    /// The spread of each figure over several runs (repeats, or one run per
    /// code layout): min, median, max, and how many runs' intervals hold
    /// the median.
    Spread(compare::SpreadArgs),
    /// Differential fuzzing: random valid programs on every available
    /// engine, each result compared with the old interpreter's.
    Fuzz(fuzz::FuzzArgs),
    /// One cell's calls for the branch simulator (used by `run --simulate`).
    #[command(hide = true)]
    SimCell(lab::simulate::SimCellArgs),
    /// One worker process of a lab run (used by `run`).
    #[command(hide = true)]
    LabWorker(lab::worker::WorkerArgs),
    /// The fuzz loop in a child process (used by `fuzz`).
    #[command(hide = true)]
    FuzzWorker(fuzz::worker::WorkerArgs),
}

/// What the binary knows of how it was built.
#[derive(Clone, Copy, Debug, Default)]
pub struct Build {
    /// The code layout it was linked with (`scripts/layouts` sets
    /// `BPFLAB_LAYOUT` when it relinks with shuffled functions); `None`:
    /// the linker's default order.
    pub layout: Option<&'static str>,
}

/// Runs the command the user chose; the exit code is 0 unless the command
/// says otherwise (`fuzz` exits 1 when it found something).
pub fn dispatch(cli: Cli, build: Build) -> anyhow::Result<ExitCode> {
    let done = match cli.command {
        None => lab::run(&lab::LabArgs::default(), build.layout),
        Some(Command::Run(args)) => lab::run(&args, build.layout),
        Some(Command::SimCell(args)) => lab::simulate::sim_cell(&args),
        Some(Command::LabWorker(args)) => lab::worker::run(&args),
        Some(Command::Exec(args)) => exec::run(&args),
        Some(Command::Dump(args)) => dump::run(&args),
        Some(Command::Engines) => engines_cmd::run(),
        Some(Command::Events(args)) => events_cmd::run(&args),
        Some(Command::Compile(args)) => compile::run(&args),
        Some(Command::Plot(args)) => plot::run(&args),
        Some(Command::Compare(args)) => compare::run_compare(&args),
        Some(Command::Spread(args)) => compare::run_spread(&args),
        Some(Command::Fuzz(args)) => return fuzz::run(&args),
        Some(Command::FuzzWorker(args)) => fuzz::worker::run(&args),
    };
    done.map(|()| ExitCode::SUCCESS)
}
