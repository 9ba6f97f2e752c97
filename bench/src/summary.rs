//! The default job until the lab exists: the thread's programs over their
//! scenarios on every available engine, checked, roughly timed, and
//! summarised.

use crate::timing::time_passes;
use anyhow::{Context as _, bail};
use bpflab_engines::{Engine, Filter};
use bpflab_scenarios::packet::samples;
use bpflab_scenarios::{Mode, Scenario, ScenarioProgram};
use clap::Args;

/// Options of `bpflab run`.
#[derive(Debug, Args, Default)]
pub struct RunArgs {}

/// Timed passes per cell.
const PASSES: usize = 11;

/// Runs the summary.
pub fn run(_args: &RunArgs) -> anyhow::Result<()> {
    let engines: Vec<Engine> = Engine::available().collect();
    check_samples(&engines)?;
    println!(
        "bpflab: the thread's programs on {} engine(s); ns/call from a simple timing loop \
         (median of {PASSES} passes over the scenario, min-max); hit = one skb, miss = {} skbs",
        engines.len(),
        bpflab_scenarios::DEFAULT_MISS_SKBS
    );
    println!(
        "{:<8} {:<12} {:<5} {:>7} {:>10}  {:<17} {:>8}",
        "program", "engine", "mode", "verdict", "ns/call", "(min-max)", "vs old"
    );
    for program in ScenarioProgram::ALL {
        for mode in Mode::ALL {
            let scenario = Scenario::standard(program, mode);
            let mut old_ns = None;
            for &engine in &engines {
                let filter = Filter::attach(program.program(), engine)
                    .with_context(|| format!("{program} on {engine}"))?;
                scenario
                    .verify(&filter)
                    .with_context(|| format!("{engine} gives a wrong verdict"))?;
                let t = time_passes(&filter, &scenario, PASSES);
                let base = *old_ns.get_or_insert(t.median);
                println!(
                    "{:<8} {:<12} {:<5} {:>7} {:>10.1}  {:<17} {:>7.2}x",
                    program.name(),
                    engine.name(),
                    mode.name(),
                    scenario.expected(),
                    t.median,
                    format!("({:.1}-{:.1})", t.min, t.max),
                    base / t.median
                );
            }
        }
    }
    Ok(())
}

/// Every sample packet on every engine gives its expected verdict; prints
/// one line saying so, or fails naming the first disagreement.
fn check_samples(engines: &[Engine]) -> anyhow::Result<()> {
    let samples = samples();
    let mut checked = 0;
    for program in ScenarioProgram::ALL {
        for &engine in engines {
            let filter = Filter::attach(program.program(), engine)?;
            for sample in &samples {
                let got = filter.run(&sample.skb());
                let want = sample.expected(program);
                if got != want {
                    bail!(
                        "{engine} returns {got} for {program} on sample {}, expected {want}",
                        sample.name
                    );
                }
                checked += 1;
            }
        }
    }
    println!(
        "samples: {} packets x {} programs x {} engine(s) = {checked} verdicts, all as expected",
        samples.len(),
        ScenarioProgram::ALL.len(),
        engines.len()
    );
    Ok(())
}
