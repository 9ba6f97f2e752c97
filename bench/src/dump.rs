//! `bpflab dump`: a program in `tcpdump -d` form.

use crate::input;
use bpflab_engines::classic::{self, Format};
use clap::Args;
use std::path::PathBuf;

/// Options of `bpflab dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// The program file.
    #[arg(long, value_name = "FILE")]
    prog: PathBuf,
    /// The program file's format, when not detected (dd, ddd, comma, bin).
    #[arg(long, value_name = "FMT")]
    format: Option<Format>,
}

/// Runs `bpflab dump`.
pub fn run(args: &DumpArgs) -> anyhow::Result<()> {
    let program = input::load_program(&args.prog, args.format)?;
    print!("{}", classic::listing(program.insns()));
    Ok(())
}
