//! `bpflab compile`: a tcpdump filter expression compiled by libpcap (for
//! Ethernet, with its optimizer) and printed in `tcpdump -dd` form.
//!
//! Needs the `libpcap` cargo feature; without it the subcommand exists and
//! says so.

use anyhow::{Context, anyhow};
use bpflab_engines::classic::read::{self, Format};
use bpflab_engines::libpcap::{self, LibpcapError};
use clap::Args;
use std::io::Write;

/// Options of `bpflab compile`.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// The tcpdump filter expression, e.g. 'port 22'; several words are
    /// joined with spaces, as tcpdump does.
    #[arg(value_name = "EXPR", required = true, num_args = 1.., allow_hyphen_values = true)]
    expr: Vec<String>,
}

/// Runs `bpflab compile`: prints the program as `tcpdump -s 65535 -dd EXPR`
/// does on an Ethernet interface.
pub fn run(args: &CompileArgs) -> anyhow::Result<()> {
    let insns = libpcap::compile_expression(&args.expr.join(" ")).map_err(|e| match e {
        LibpcapError::Unavailable => anyhow!("compile needs libpcap: bpflab was {e}"),
        other => anyhow!(other),
    })?;
    std::io::stdout()
        .lock()
        .write_all(&read::write(&insns, Format::Dd)?)
        .context("cannot write the program")
}
