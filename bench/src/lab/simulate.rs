//! Simulated branch misses where the machine has no counters: the lab runs
//! one cell in a child process (`bpflab sim-cell`) under valgrind's
//! callgrind with its branch simulator, collecting only inside
//! [`bpflab_measured_calls`](super::workload::bpflab_measured_calls), and
//! reads the totals. The model is a simple 2004-era predictor, so the
//! figures are always labelled "simulated".

use super::plan::load_scenario_file;
use super::workload::{MAX_MISS_BUFFER_BYTES, Workload, bpflab_measured_calls, miss_buffer_bytes};
use anyhow::{Context as _, anyhow, bail};
use bpflab_engines::{Engine, Filter};
use bpflab_scenarios::scenario::DEFAULT_SEED;
use bpflab_scenarios::{Mode, Scenario, ScenarioProgram};
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the simulator counted, per call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Simulated {
    /// Mispredicted conditional and indirect branches.
    pub branch_misses: f64,
    /// Conditional and indirect branches.
    pub branches: f64,
    /// Instructions.
    pub instructions: f64,
}

/// Whether valgrind can be run here.
pub fn available() -> bool {
    super::machine::has_command("valgrind", "--version")
}

/// Runs the cell's `sim-cell` arguments under callgrind and returns the
/// counts per call; `calls` is how many calls the child makes while
/// collected.
pub fn simulate_cell(cell_args: &[String], calls: u64) -> anyhow::Result<Simulated> {
    let exe = std::env::current_exe().context("cannot find the bpflab binary")?;
    let dir = tempfile::tempdir().context("cannot make a temporary folder")?;
    let out = dir.path().join("callgrind.out");
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--branch-sim=yes")
        .arg("--cache-sim=no")
        .arg("--collect-atstart=no")
        .arg("--toggle-collect=bpflab_measured_calls")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&exe)
        .arg("sim-cell")
        .args(cell_args)
        .arg("--calls")
        .arg(calls.to_string())
        .output()
        .context("cannot run valgrind")?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        bail!("valgrind failed: {last}");
    }
    parse_totals(&out, calls)
}

/// Reads a callgrind output file's `events:` and `totals:` lines.
fn parse_totals(path: &Path, calls: u64) -> anyhow::Result<Simulated> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_totals_text(&text, calls)
}

/// The per-call counts in callgrind output text.
pub fn parse_totals_text(text: &str, calls: u64) -> anyhow::Result<Simulated> {
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(|s| s.split_whitespace().collect::<Vec<_>>())
    };
    let (Some(events), Some(totals)) = (field("events:"), field("totals:")) else {
        bail!("callgrind output has no events/totals lines");
    };
    let get = |name: &str| -> f64 {
        events
            .iter()
            .position(|e| *e == name)
            .and_then(|i| totals.get(i))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    if !events.contains(&"Ir") || !events.contains(&"Bc") {
        bail!("callgrind output lacks the Ir/Bc events (was --branch-sim=yes given?)");
    }
    let per = calls.max(1) as f64;
    Ok(Simulated {
        branch_misses: (get("Bcm") + get("Bim")) / per,
        branches: (get("Bc") + get("Bi")) / per,
        instructions: get("Ir") / per,
    })
}

/// Options of the hidden `bpflab sim-cell`: one cell's calls, for the
/// branch simulator to count.
#[derive(Debug, Args)]
pub struct SimCellArgs {
    #[arg(long)]
    engine: String,
    #[arg(
        long,
        required_unless_present = "scenario",
        conflicts_with = "scenario"
    )]
    program: Option<String>,
    #[arg(long)]
    scenario: Option<PathBuf>,
    #[arg(long)]
    mode: String,
    #[arg(long)]
    skbs: usize,
    #[arg(long)]
    calls: u64,
}

/// Runs one cell's calls: a warm-up pass the simulator does not collect,
/// then `calls` collected calls inside `bpflab_measured_calls`.
pub fn sim_cell(args: &SimCellArgs) -> anyhow::Result<()> {
    let engine =
        Engine::from_name(&args.engine).ok_or_else(|| anyhow!("unknown engine {}", args.engine))?;
    let mode: Mode = args.mode.parse()?;
    let scenario = match (&args.program, &args.scenario) {
        (Some(name), _) => {
            let program = ScenarioProgram::from_name(name)
                .ok_or_else(|| anyhow!("unknown program {name}"))?;
            check_cell_memory(mode, &[], args.skbs)?;
            Scenario::new(program, mode, args.skbs, DEFAULT_SEED)?
        }
        (None, Some(path)) => {
            let (file, program) = load_scenario_file(path)?;
            let lens: Vec<usize> = file.packets().iter().map(|p| p.bytes.len()).collect();
            check_cell_memory(mode, &lens, args.skbs)?;
            let seed = file.seed().unwrap_or(DEFAULT_SEED);
            file.scenario(program, mode, args.skbs, seed)?
        }
        (None, None) => bail!("sim-cell needs --program or --scenario"),
    };
    let filter = Filter::attach(scenario.program().clone(), engine)?;
    scenario.verify(&filter)?;
    let mut work = Workload::new(&filter, &scenario);
    // Warm-up outside the collected symbol (`run` is inlined here).
    work.run(scenario.len() as u64);
    bpflab_measured_calls(&mut work, args.calls);
    Ok(())
}

/// `sim-cell`'s own check of [`MAX_MISS_BUFFER_BYTES`] (`run` checks
/// before it starts one, but the command can be called by hand).
fn check_cell_memory(mode: Mode, lens: &[usize], skbs: usize) -> anyhow::Result<()> {
    if mode == Mode::Miss && miss_buffer_bytes(lens, skbs) > MAX_MISS_BUFFER_BYTES {
        bail!(
            "--skbs {skbs}: miss mode would take more than {MAX_MISS_BUFFER_BYTES} bytes of skb buffers"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_per_call() {
        let text = "version: 1\ncreator: callgrind-3.19.0\nevents: Ir Bc Bcm Bi Bim\nfn=x\n1 2 3\ntotals: 1000 200 30 100 7\n";
        let s = parse_totals_text(text, 10).unwrap();
        assert_eq!(
            s,
            Simulated {
                branch_misses: 3.7,
                branches: 30.0,
                instructions: 100.0
            }
        );
        assert!(parse_totals_text("events: Ir\n", 1).is_err());
        assert!(parse_totals_text("events: Ir\ntotals: 5\n", 1).is_err());
    }
}
