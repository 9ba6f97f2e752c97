//! The lab: every engine × program × mode measured on this machine
//! (calibrated ns/call, counters per call), written as CSV and JSON, and
//! reported beside the thread's published tables.

pub mod counters;
pub mod machine;
pub mod published;
pub mod report;
pub mod results;
pub mod simulate;
pub mod timing;
pub mod workload;

use anyhow::{Context as _, anyhow, bail};
use bpflab_engines::{Engine, Filter};
use bpflab_scenarios::packet::samples;
use bpflab_scenarios::scenario::{DEFAULT_SEED, MAX_COUNT};
use bpflab_scenarios::{DEFAULT_MISS_SKBS, Mode, Scenario, ScenarioProgram};
use clap::Args;
use counters::{Counters, Event};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use machine::Machine;
use results::{CounterSource, Row};
use std::path::PathBuf;
use timing::TimingPlan;
use workload::{Workload, bpflab_measured_calls};

/// Options of `bpflab run`.
#[derive(Debug, Args, Clone)]
pub struct LabArgs {
    /// Engines to measure, comma-separated (default: every available one).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    engines: Vec<String>,
    /// Programs to run, comma-separated (fprog1, fprog2).
    #[arg(long, value_delimiter = ',', value_name = "P,Q")]
    programs: Vec<String>,
    /// Modes, comma-separated (hit, miss).
    #[arg(long, value_delimiter = ',', value_name = "M,N")]
    modes: Vec<String>,
    /// Distinct skbs in miss mode (hit mode visits one skb as many times).
    #[arg(long, default_value_t = DEFAULT_MISS_SKBS as u64, value_name = "N")]
    skbs: u64,
    /// Folder for the run's CSV and JSON.
    #[arg(long, default_value = "results", value_name = "DIR")]
    out: PathBuf,
    /// Folder for the run's charts (beside the published figures).
    #[arg(long, default_value = "plots", value_name = "DIR")]
    plots: PathBuf,
    /// Print only the report: no progress bar, no file lines.
    #[arg(short, long)]
    quiet: bool,
    /// A smoke run: fewer, shorter samples (the matrix in seconds).
    #[arg(long)]
    quick: bool,
    /// Count branches with valgrind's branch simulator (labelled simulated).
    #[arg(long)]
    simulate: bool,
    /// Print the report as Markdown.
    #[arg(long)]
    markdown: bool,
}

impl Default for LabArgs {
    fn default() -> Self {
        LabArgs {
            engines: Vec::new(),
            programs: Vec::new(),
            modes: Vec::new(),
            skbs: DEFAULT_MISS_SKBS as u64,
            out: PathBuf::from("results"),
            plots: PathBuf::from("plots"),
            quiet: false,
            quick: false,
            simulate: false,
            markdown: false,
        }
    }
}

/// One measured cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    /// The engine.
    pub engine: Engine,
    /// The program.
    pub program: ScenarioProgram,
    /// hit or miss.
    pub mode: Mode,
}

/// The validated plan of a run.
struct Plan {
    engines: Vec<Engine>,
    programs: Vec<ScenarioProgram>,
    modes: Vec<Mode>,
    skbs: usize,
}

/// Parses a comma list of names with `parse`, defaulting to `all`.
fn names<T: Copy>(
    given: &[String],
    all: Vec<T>,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
    known: &str,
) -> anyhow::Result<Vec<T>> {
    if given.is_empty() {
        return Ok(all);
    }
    given
        .iter()
        .map(|n| parse(n.trim()).ok_or_else(|| anyhow!("unknown {what} `{n}` ({known})")))
        .collect()
}

/// Checks every option before anything is measured.
fn plan(args: &LabArgs, machine: &Machine) -> anyhow::Result<Plan> {
    let engine_names: Vec<&str> = Engine::ALL.iter().map(|e| e.name()).collect();
    let engines = names(
        &args.engines,
        Engine::available().collect(),
        "engine",
        Engine::from_name,
        &format!("engines: {}", engine_names.join(", ")),
    )?;
    for e in &engines {
        e.availability()
            .map_err(|why| anyhow!("engine {e} is not available: {why}"))?;
    }
    let programs = names(
        &args.programs,
        ScenarioProgram::ALL.to_vec(),
        "program",
        ScenarioProgram::from_name,
        "programs: fprog1, fprog2",
    )?;
    let modes = names(
        &args.modes,
        Mode::ALL.to_vec(),
        "mode",
        Mode::from_name,
        "modes: hit, miss",
    )?;
    if args.skbs == 0 {
        bail!("--skbs 0: a scenario needs at least one skb");
    }
    let skbs = match usize::try_from(args.skbs) {
        Ok(n) if n <= MAX_COUNT => n,
        _ => bail!("--skbs {}: at most {MAX_COUNT}", args.skbs),
    };
    if args.simulate && !simulate::available() {
        bail!("--simulate needs valgrind, which is not installed here");
    }
    if let (true, Some(why)) = (args.simulate, &machine.emulation) {
        bail!("--simulate cannot run under emulation: {why}");
    }
    results::ensure_writable(&args.out)?;
    results::ensure_writable(&args.plots)?;
    Ok(Plan {
        engines,
        programs,
        modes,
        skbs,
    })
}

/// Runs the lab.
pub fn run(args: &LabArgs) -> anyhow::Result<()> {
    let machine = Machine::detect();
    let plan = plan(args, &machine)?;
    check_samples(&plan.engines)?;
    if let (false, Some(why)) = (args.quiet, &machine.emulation) {
        eprintln!("emulated: {why}; results are marked emulated");
    }
    let now = std::time::SystemTime::now();
    let timestamp = humantime::format_rfc3339_seconds(now).to_string();
    let run_id = format!(
        "{}-{}",
        timestamp.replace([':', '-'], ""),
        machine
            .host
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    let timing_plan = if args.quick {
        TimingPlan::QUICK
    } else {
        TimingPlan::FULL
    };
    let (mut counters, unavailable) = Counters::open();
    if !args.quiet && !args.simulate && !unavailable.is_empty() {
        let (event, why) = &unavailable[0];
        eprintln!(
            "counters: {} of {} unavailable (e.g. {}: {why}); timing goes on without them",
            unavailable.len(),
            Event::ALL.len(),
            event.name()
        );
    }

    let cells = plan.engines.len() * plan.programs.len() * plan.modes.len();
    let bar = progress_bar(cells as u64, args.quiet);
    let mut rows = Vec::with_capacity(cells);
    for &program in &plan.programs {
        for &mode in &plan.modes {
            let scenario = Scenario::new(program, mode, plan.skbs, DEFAULT_SEED)?;
            for &engine in &plan.engines {
                let cell = Cell {
                    engine,
                    program,
                    mode,
                };
                bar.set_message(format!("{engine} {program} {mode}"));
                let measured =
                    measure_cell(cell, &scenario, &timing_plan, &mut counters, args.simulate)?;
                rows.push(Row {
                    run_id: run_id.clone(),
                    timestamp: timestamp.clone(),
                    host: machine.host.clone(),
                    cpu_model: machine.cpu_model.clone(),
                    arch: machine.arch.clone(),
                    os: machine.os.clone(),
                    rustc: machine.rustc.clone(),
                    emulated: machine.emulation.is_some(),
                    source: format!("measured: bpflab {}", env!("CARGO_PKG_VERSION")),
                    ..measured
                });
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();
    let (csv, json) = results::write_run(&args.out, &run_id, &rows)?;
    let published = published::published_rows();
    print!(
        "{}",
        report::report(&rows, &published, &machine.arch, args.markdown)
    );
    let plotted = crate::plot::plot_rows(&[rows, published].concat(), &args.plots)?;
    if !args.quiet {
        println!("\nwrote {} and {}", csv.display(), json.display());
        for note in &plotted.notes {
            println!("{note}");
        }
        let charts: Vec<String> = plotted
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        println!("wrote {} chart files: {}", charts.len(), charts.join(", "));
    }
    Ok(())
}

fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} cells  {msg}") {
        bar.set_style(style);
    }
    bar
}

/// Measures one cell: verdicts first, then timing, then counters.
fn measure_cell(
    cell: Cell,
    scenario: &Scenario,
    plan: &TimingPlan,
    counters: &mut Counters,
    simulate: bool,
) -> anyhow::Result<Row> {
    let Cell {
        engine,
        program,
        mode,
    } = cell;
    let filter = Filter::attach(program.program(), engine)
        .with_context(|| format!("{program} on {engine}"))?;
    scenario
        .verify(&filter)
        .with_context(|| format!("engine {engine} gives a wrong verdict; nothing was measured"))?;
    let mut work = Workload::new(&filter, scenario);
    let t = timing::measure(plan, |n| bpflab_measured_calls(&mut work, n));
    let mut row = Row {
        run_id: String::new(),
        timestamp: String::new(),
        host: String::new(),
        cpu_model: String::new(),
        arch: String::new(),
        os: String::new(),
        rustc: String::new(),
        source: String::new(),
        engine: engine.name().into(),
        program: program.name().into(),
        mode: mode.name().into(),
        skbs: scenario.skbs().len() as u64,
        ns_per_call: Some(t.median),
        ns_min: Some(t.min),
        ns_max: Some(t.max),
        samples: Some(t.samples as u64),
        branch_misses: None,
        branches: None,
        instructions: None,
        cycles: None,
        cache_misses: None,
        counter_source: CounterSource::None,
        result: Some(scenario.expected()),
        emulated: false,
    };
    if simulate {
        let calls = scenario.len() as u64;
        let s = simulate::simulate_cell(&sim_cell_args(cell, scenario.len()), calls)
            .with_context(|| format!("simulating {engine} {program} {mode}"))?;
        row.branch_misses = Some(s.branch_misses);
        row.branches = Some(s.branches);
        row.instructions = Some(s.instructions);
        row.counter_source = CounterSource::Simulated;
    } else if counters.any() {
        let calls = t.batch * 10;
        let [bm, br, ins, cyc, cm] =
            counters.count(calls, || bpflab_measured_calls(&mut work, calls));
        row.branch_misses = bm;
        row.branches = br;
        row.instructions = ins;
        row.cycles = cyc;
        row.cache_misses = cm;
        if [bm, br, ins, cyc, cm].iter().any(Option::is_some) {
            row.counter_source = CounterSource::Perf;
        }
    }
    Ok(row)
}

/// The `sim-cell` arguments that rebuild `cell` in a child process.
fn sim_cell_args(cell: Cell, skbs: usize) -> Vec<String> {
    vec![
        "--engine".into(),
        cell.engine.name().into(),
        "--program".into(),
        cell.program.name().into(),
        "--mode".into(),
        cell.mode.name().into(),
        "--skbs".into(),
        skbs.to_string(),
    ]
}

/// Options of the hidden `bpflab sim-cell`: one cell's calls, for the
/// branch simulator to count.
#[derive(Debug, Args)]
pub struct SimCellArgs {
    #[arg(long)]
    engine: String,
    #[arg(long)]
    program: String,
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
    let program = ScenarioProgram::from_name(&args.program)
        .ok_or_else(|| anyhow!("unknown program {}", args.program))?;
    let mode: Mode = args.mode.parse()?;
    let scenario = Scenario::new(program, mode, args.skbs, DEFAULT_SEED)?;
    let filter = Filter::attach(program.program(), engine)?;
    scenario.verify(&filter)?;
    let mut work = Workload::new(&filter, &scenario);
    // Warm-up outside the collected symbol (`run` is inlined here).
    work.run(scenario.len() as u64);
    bpflab_measured_calls(&mut work, args.calls);
    Ok(())
}

/// Every sample packet on every engine gives its expected verdict.
fn check_samples(engines: &[Engine]) -> anyhow::Result<()> {
    for program in ScenarioProgram::ALL {
        for &engine in engines {
            let filter = Filter::attach(program.program(), engine)?;
            for sample in samples() {
                let got = filter.run(&sample.skb());
                let want = sample.expected(program);
                if got != want {
                    bail!(
                        "engine {engine} returns {got} for {program} on sample {}, expected {want}; nothing was measured",
                        sample.name
                    );
                }
            }
        }
    }
    Ok(())
}
