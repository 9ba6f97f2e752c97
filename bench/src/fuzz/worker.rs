//! The fuzz loop proper, run in a child process (`bpflab fuzz-worker`) so
//! that a case that kills it (a fault in a JIT, a read past a guarded
//! packet, an abort) is seen by the parent, which knows from the stream
//! which case that was.
//!
//! Stdout is the stream: `@case I packets=P` before each case, `@divergence`
//! or `@crash` before each finding's text, and the text itself (a finding
//! and its `bpflab exec` reproduction), which the parent passes on.

use super::repro;
use bpflab_engines::classic::check;
use bpflab_engines::fuzz::{Case, Differential, Finding};
use clap::Args;
use std::io::Write;
use std::time::{Duration, Instant};

/// Options of `bpflab fuzz-worker` (set by `bpflab fuzz`).
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The run's seed.
    #[arg(long)]
    pub seed: u64,
    /// The first case to run.
    #[arg(long)]
    pub first: u64,
    /// Run at most this many cases.
    #[arg(long)]
    pub cases: Option<u64>,
    /// Stop starting cases after this many milliseconds.
    #[arg(long)]
    pub millis: u64,
    /// The engines to compare (default: every available one).
    #[arg(long, value_delimiter = ',')]
    pub engines: Vec<String>,
}

/// Self-test hook: the worker aborts when it reaches this case, so the
/// tests can check how `bpflab fuzz` reports a worker that dies.
const CRASH_HOOK: &str = "BPFLAB_FUZZ_ABORT_AT_CASE";

/// Runs cases until the time or the count is used up.
pub fn run(args: &WorkerArgs) -> anyhow::Result<()> {
    let engines = super::engines(&args.engines)?;
    let differential = Differential::with_engines(engines);
    let abort_at: Option<u64> = std::env::var(CRASH_HOOK).ok().and_then(|v| v.parse().ok());
    let binary = super::binary_name();
    let deadline = Instant::now() + Duration::from_millis(args.millis);
    let last = args
        .cases
        .map_or(u64::MAX, |n| args.first.saturating_add(n));
    let mut out = std::io::stdout().lock();
    for index in args.first..last {
        if Instant::now() >= deadline {
            break;
        }
        let case = Case::nth(args.seed, index);
        writeln!(out, "@case {index} packets={}", case.packets.len())?;
        out.flush()?;
        if abort_at == Some(index) {
            std::process::abort();
        }
        let program = match check(case.insns.clone()) {
            Ok(p) => p,
            Err(e) => {
                writeln!(out, "@divergence")?;
                writeln!(
                    out,
                    "divergence: program #{index} of seed {}: the generator made a program the checker refuses: {e}",
                    args.seed
                )?;
                continue;
            }
        };
        let outcome = differential.check(&program, &case.skbs());
        for finding in &outcome.findings {
            let tag = if finding.is_crash() {
                "crash"
            } else {
                "divergence"
            };
            writeln!(out, "@{tag}")?;
            writeln!(
                out,
                "{tag}: program #{index} of seed {}: {finding}",
                args.seed
            )?;
            writeln!(out, "  {}", reproduction(&binary, &case, finding))?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The `bpflab exec` line that shows `finding`: its engine on its packet
/// (the first packet for an attach failure).
fn reproduction(binary: &str, case: &Case, finding: &Finding) -> String {
    let (data, meta) = &case.packets[finding.packet().unwrap_or(0)];
    let args = repro::exec_args(finding.engine(), &case.insns, data, meta);
    repro::command_line(binary, &args)
}
