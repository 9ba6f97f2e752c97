//! One worker process of a run. The lab spreads its rounds over several
//! fresh processes of the same binary, one after another, because
//! processes differ by a few percent (where the heap, the stacks and the
//! JIT pages land, the machine's state when each starts): an interval from
//! one process would understate the spread of the next run. The child side
//! (`bpflab lab-worker`, hidden) plans the same cells from the same
//! options, checks every verdict, times the cells in interleaved rounds and
//! prints what it measured as JSON; the parent side starts one and reads it.

use super::counters::{Counters, Counts, EventSpec};
use super::plan::{PlanArgs, plan};
use super::rounds::{self, BatchProbe, RoundPlan, WallClock};
use super::workload::{Workload, bpflab_measured_calls};
use crate::child::child_command;
use crate::results::CellKey;
use anyhow::{Context as _, bail};
use bpflab_engines::Filter;
use bpflab_scenarios::Scenario;
use clap::Args;
use serde::{Deserialize, Serialize};
use std::process::Stdio;
use std::time::Duration;

/// How each worker process times (the parent's choice, passed on).
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerPlan {
    /// Rounds' timing: batch length, warm-up, duration.
    pub rounds: RoundPlan,
    /// The perf events to count around every timed batch (those that open
    /// here).
    pub events: Vec<EventSpec>,
    /// Leave the kernel's address-space randomisation on, so that each
    /// process gets its own address layout.
    pub random_addresses: bool,
}

/// Options of the hidden `bpflab lab-worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    plan: PlanArgs,
    /// The seed of this process's rounds' orders.
    #[arg(long)]
    seed: u64,
    /// Seconds of timed rounds.
    #[arg(long)]
    seconds: f64,
    /// Milliseconds of warm-up rounds.
    #[arg(long)]
    warmup_ms: u64,
    /// Microseconds one timed batch should take.
    #[arg(long)]
    batch_us: u64,
    /// The perf events to count around each timed batch, comma-separated.
    #[arg(long, default_value = "")]
    events: String,
}

/// What one process measured of one cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellSamples {
    /// The cell.
    pub key: CellKey,
    /// Distinct skbs the cell visits.
    pub skbs: u64,
    /// The verdict every call gives, when all agree.
    pub result: Option<u32>,
    /// Calls per timed batch.
    pub batch: u64,
    /// ns per call in each timed round, in round order.
    pub ns: Vec<f64>,
    /// What each event of [`ProcessSamples::events`] counted in each timed
    /// batch: `counts[event][round]`, `None` where it did not run.
    #[serde(default)]
    pub counts: Vec<Vec<Option<f64>>>,
}

/// What one worker process measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessSamples {
    /// The seed of its rounds' orders.
    pub seed: u64,
    /// Untimed warm-up rounds before the timed ones.
    pub warmup_rounds: usize,
    /// The perf events counted around each timed batch (those that
    /// opened), in [`CellSamples::counts`] order.
    #[serde(default)]
    pub events: Vec<String>,
    /// Every cell, in plan order.
    pub cells: Vec<CellSamples>,
}

impl ProcessSamples {
    /// Timed rounds (every cell is timed once per round).
    pub fn rounds(&self) -> usize {
        self.cells.first().map_or(0, |c| c.ns.len())
    }
}

/// Runs `bpflab lab-worker`: prints its [`ProcessSamples`] as JSON.
pub fn run(args: &WorkerArgs) -> anyhow::Result<()> {
    let plan = plan(&args.plan, true)?;
    let mut scenarios: Vec<Scenario> = Vec::new();
    let mut cells: Vec<(CellKey, usize, Filter)> = Vec::new();
    for planned in &plan.programs {
        for &mode in &planned.modes {
            let scenario = planned.scenario(mode)?;
            for &engine in &planned.engines {
                let filter = Filter::attach(scenario.program().clone(), engine)
                    .with_context(|| format!("{} on {engine}", planned.name))?;
                scenario.verify(&filter).with_context(|| {
                    format!("engine {engine} gives a wrong verdict; nothing was measured")
                })?;
                let key = CellKey::new(engine.name(), &planned.name, mode.name());
                cells.push((key, scenarios.len(), filter));
            }
            scenarios.push(scenario);
        }
    }
    let mut work: Vec<Workload> = cells
        .iter()
        .map(|(_, s, filter)| Workload::new(filter, &scenarios[*s]))
        .collect();
    let round_plan = RoundPlan {
        batch_target: Duration::from_micros(args.batch_us.max(1)),
        warmup: Duration::from_millis(args.warmup_ms),
        duration: Duration::from_secs_f64(args.seconds.max(0.0)),
        max_rounds: usize::MAX,
    };
    let specs =
        EventSpec::parse_list(&args.events).map_err(|e| anyhow::anyhow!("--events: {e}"))?;
    let mut probe = CountingProbe {
        counters: Counters::open(&specs).0,
        counts: vec![Vec::new(); cells.len()],
    };
    let measured = {
        let mut calls: Vec<_> = work
            .iter_mut()
            .map(|w| move |n: u64| bpflab_measured_calls(w, n))
            .collect();
        rounds::run(
            &mut calls,
            &mut WallClock::new(),
            &round_plan,
            args.seed,
            &mut probe,
        )
    };
    let events: Vec<String> = probe.counters.specs().map(|e| e.name.clone()).collect();
    let samples = ProcessSamples {
        seed: args.seed,
        warmup_rounds: measured.warmup_rounds,
        cells: cells
            .iter()
            .zip(probe.counts)
            .zip(measured.batches.iter().zip(measured.ns))
            .map(|(((key, s, _), counted), (&batch, ns))| CellSamples {
                key: key.clone(),
                skbs: scenarios[*s].skbs().len() as u64,
                result: scenarios[*s].common_expected(),
                batch,
                ns,
                counts: by_event(&counted, events.len()),
            })
            .collect(),
        events,
    };
    println!("{}", serde_json::to_string(&samples)?);
    Ok(())
}

/// Counts every open event around each timed batch, per cell.
struct CountingProbe {
    counters: Counters,
    /// `counts[cell][round]`: what each event counted.
    counts: Vec<Vec<Counts>>,
}

impl BatchProbe for CountingProbe {
    fn start(&mut self) {
        self.counters.start();
    }

    fn stop(&mut self, cell: usize, _calls: u64) {
        let counted = self.counters.stop();
        self.counts[cell].push(counted);
    }
}

/// `[round][event]` turned into `[event][round]`.
fn by_event(rounds: &[Counts], events: usize) -> Vec<Vec<Option<f64>>> {
    (0..events)
        .map(|e| rounds.iter().map(|r| r.get(e).copied().flatten()).collect())
        .collect()
}

/// Makes `cmd` run with address-space randomisation off, so every worker
/// gets the same address layout. With it on, processes of one binary
/// disagree by up to 60% on some CPUs (seen on an AMD EPYC VM: old/ext on
/// fprog1 1.42 in some processes, 1.92 in others, even the JITs 5 or 8
/// ns/call); with it off they agree within a few percent. The spread over
/// layouts is then measured on purpose, by scripts/layouts.
fn same_addresses(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: between fork and exec the closure only makes the
    // async-signal-safe personality(2) call; the flag is inherited across
    // exec. A kernel that refuses it leaves randomisation on, which the
    // results then show as a wider spread between processes.
    unsafe {
        cmd.pre_exec(|| {
            let current = libc::personality(0xffff_ffff);
            if current != -1 {
                libc::personality(
                    (current as libc::c_ulong) | libc::ADDR_NO_RANDOMIZE as libc::c_ulong,
                );
            }
            Ok(())
        });
    }
}

/// Starts one worker process with the run's `plan_args` and reads what it
/// measured; a worker that fails is an error quoting its last line.
pub fn spawn(plan_args: &PlanArgs, plan: &WorkerPlan, seed: u64) -> anyhow::Result<ProcessSamples> {
    let mut cmd = child_command()?;
    cmd.arg("lab-worker")
        .args(plan_args.to_args())
        .args(["--seed", &seed.to_string()])
        .args(["--seconds", &plan.rounds.duration.as_secs_f64().to_string()])
        .args(["--warmup-ms", &plan.rounds.warmup.as_millis().to_string()])
        .args([
            "--batch-us",
            &plan.rounds.batch_target.as_micros().to_string(),
        ]);
    if !plan.events.is_empty() {
        let names: Vec<&str> = plan.events.iter().map(|e| e.name.as_str()).collect();
        cmd.args(["--events", &names.join(",")]);
    }
    if !plan.random_addresses {
        same_addresses(&mut cmd);
    }
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .context("cannot start a worker process")?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        let last = err.lines().rev().find(|l| !l.trim().is_empty());
        bail!(
            "a worker process failed ({}): {}",
            output.status,
            last.unwrap_or("no message").trim_start_matches("bpflab: ")
        );
    }
    serde_json::from_slice(&output.stdout).context("a worker process printed no valid samples")
}

// Where the test itself runs under qemu-user (arm32 in scripts/cross-test)
// the flag is the emulator's business; the x86 builds run natively.
#[cfg(all(test, any(target_arch = "x86_64", target_arch = "x86")))]
mod tests {
    use super::*;

    #[test]
    fn workers_run_without_address_randomisation() {
        let flags = |same: bool| {
            let mut cmd = std::process::Command::new("cat");
            cmd.arg("/proc/self/personality");
            if same {
                same_addresses(&mut cmd);
            }
            let out = cmd.output().expect("cat runs");
            let text = String::from_utf8_lossy(&out.stdout);
            u64::from_str_radix(text.trim(), 16).expect("a hex personality")
        };
        let bit = libc::ADDR_NO_RANDOMIZE as u64;
        assert_ne!(flags(true) & bit, 0);
        assert_eq!(flags(false) & bit, flags(true) & bit & flags(false));
    }
}
