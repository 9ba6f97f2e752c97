//! The lab: every engine × program × mode measured on this machine
//! (calibrated ns/call, counters per call), written as CSV and JSON, and
//! reported beside the thread's published tables.
//!
//! The programs are the thread's two, or with `--scenario FILE` (repeatable)
//! the users' own, described in scenario files
//! ([`bpflab_scenarios::file`]): each file is read, its program compiled
//! or checked and its packets run on every engine against their expected
//! verdicts before anything is measured.

pub mod counters;
pub mod machine;
pub mod report;
pub mod rounds;
pub mod simulate;
pub mod stats;
pub mod timing;
pub mod workload;

use crate::results::{self, CounterSource, Row, published};
use anyhow::{Context as _, anyhow, bail};
use bpflab_engines::classic::Program;
use bpflab_engines::{Engine, Filter};
use bpflab_scenarios::packet::samples;
use bpflab_scenarios::scenario::{DEFAULT_SEED, MAX_COUNT};
use bpflab_scenarios::{DEFAULT_MISS_SKBS, Mode, Scenario, ScenarioFile, ScenarioProgram};
use clap::Args;
use counters::{Counters, Event};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use machine::Machine;
use std::path::{Path, PathBuf};
use timing::TimingPlan;
use workload::{MAX_MISS_BUFFER_BYTES, Workload, bpflab_measured_calls, miss_buffer_bytes};

/// Options of `bpflab run`.
#[derive(Debug, Args, Clone)]
pub struct LabArgs {
    /// Engines to measure, comma-separated (default: every available one).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    engines: Vec<String>,
    /// Programs to run, comma-separated (fprog1, fprog2).
    #[arg(long, value_delimiter = ',', value_name = "P,Q")]
    programs: Vec<String>,
    /// A scenario file (TOML) naming a program and packets to measure
    /// instead of the thread's programs; repeatable. See
    /// scenarios/files/fprog1.toml for the format.
    #[arg(long = "scenario", value_name = "FILE")]
    scenarios: Vec<PathBuf>,
    /// Modes, comma-separated (hit, miss) [default: a scenario file's
    /// modes, else both].
    #[arg(long, value_delimiter = ',', value_name = "M,N")]
    modes: Vec<String>,
    /// Distinct skbs in miss mode (hit mode visits one skb as many times)
    /// [default: a scenario file's skbs, else 10000].
    #[arg(long, value_name = "N")]
    skbs: Option<u64>,
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
            scenarios: Vec::new(),
            modes: Vec::new(),
            skbs: None,
            out: PathBuf::from("results"),
            plots: PathBuf::from("plots"),
            quiet: false,
            quick: false,
            simulate: false,
            markdown: false,
        }
    }
}

/// The validated plan of a run.
struct Plan {
    engines: Vec<Engine>,
    programs: Vec<Planned>,
}

/// One program of a run, with the modes, engines and sizes it runs with.
struct Planned {
    /// Its name in results.
    name: String,
    /// What it runs on.
    source: Source,
    /// The checked program.
    program: Program,
    /// The engines that measure it.
    engines: Vec<Engine>,
    modes: Vec<Mode>,
    skbs: usize,
    seed: u64,
}

/// Where a planned program and its packets come from.
enum Source {
    /// One of the thread's programs on the benchmark packet.
    Thread(ScenarioProgram),
    /// A scenario file.
    File(Box<ScenarioFile>),
}

impl Planned {
    /// The scenario of this program in `mode`.
    fn scenario(&self, mode: Mode) -> anyhow::Result<Scenario> {
        Ok(match &self.source {
            Source::Thread(p) => Scenario::new(*p, mode, self.skbs, self.seed)?,
            Source::File(f) => f.scenario(self.program.clone(), mode, self.skbs, self.seed)?,
        })
    }

    /// The `sim-cell` arguments that rebuild this program's scenario in
    /// `mode` for `engine` in a child process.
    fn sim_cell_args(&self, engine: Engine, mode: Mode) -> Vec<String> {
        let source = match &self.source {
            Source::Thread(p) => ["--program".to_string(), p.name().into()],
            Source::File(f) => ["--scenario".to_string(), f.path().display().to_string()],
        };
        let mut args = vec!["--engine".into(), engine.name().into()];
        args.extend(source);
        args.extend([
            "--mode".into(),
            mode.name().into(),
            "--skbs".into(),
            self.skbs.to_string(),
        ]);
        args
    }
}

/// Compiles a scenario's tcpdump expression with libpcap (Ethernet) and
/// checks the result; without the `libpcap` feature this says what is
/// missing.
pub fn compile_expression(expression: &str) -> anyhow::Result<Program> {
    let insns = bpflab_engines::libpcap::compile_expression(expression)?;
    Ok(bpflab_engines::classic::check(insns)?)
}

/// Reads a scenario file and its program (compiling an expression).
fn load_scenario_file(path: &Path) -> anyhow::Result<(ScenarioFile, Program)> {
    let file = ScenarioFile::load(path)?;
    let program = file.resolve_program(|expr| {
        compile_expression(expr).map_err(|e| {
            e.chain()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(": ")
        })
    })?;
    Ok((file, program))
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
    if !args.scenarios.is_empty() && !args.programs.is_empty() {
        bail!(
            "--programs picks the thread's programs and --scenario brings its own: give one or the other"
        );
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
    let skbs = match args.skbs {
        None => None,
        Some(0) => bail!("--skbs 0: a scenario needs at least one skb"),
        Some(n) => match usize::try_from(n) {
            Ok(n) if n <= MAX_COUNT => Some(n),
            _ => bail!("--skbs {n}: at most {MAX_COUNT}"),
        },
    };
    let programs = if args.scenarios.is_empty() {
        programs
            .into_iter()
            .map(|p| Planned {
                name: p.name().into(),
                source: Source::Thread(p),
                program: p.program(),
                engines: engines.clone(),
                modes: modes.clone(),
                skbs: skbs.unwrap_or(DEFAULT_MISS_SKBS),
                seed: DEFAULT_SEED,
            })
            .collect()
    } else {
        let modes = (!args.modes.is_empty()).then_some(modes);
        plan_files(args, &engines, modes.as_deref(), skbs)?
    };
    for planned in &programs {
        check_miss_memory(planned, args.skbs.is_some())?;
    }
    if args.simulate && !simulate::available() {
        bail!("--simulate needs valgrind, which is not installed here");
    }
    if let (true, Some(why)) = (args.simulate, &machine.emulation) {
        bail!("--simulate cannot run under emulation: {why}");
    }
    results::ensure_writable(&args.out)?;
    results::ensure_writable(&args.plots)?;
    Ok(Plan { engines, programs })
}

/// Refuses a miss mode whose skbs would take more than
/// [`MAX_MISS_BUFFER_BYTES`], before any is allocated; the error names
/// where the count came from (`--skbs`, the file's `[run] skbs`, the
/// default).
fn check_miss_memory(planned: &Planned, from_flag: bool) -> anyhow::Result<()> {
    let lens: Vec<usize> = match &planned.source {
        Source::Thread(_) => Vec::new(),
        Source::File(f) => f.packets().iter().map(|p| p.bytes.len()).collect(),
    };
    let bytes = miss_buffer_bytes(&lens, planned.skbs);
    if !planned.modes.contains(&Mode::Miss) || bytes <= MAX_MISS_BUFFER_BYTES {
        return Ok(());
    }
    let (mib, max) = (bytes >> 20, MAX_MISS_BUFFER_BYTES >> 20);
    let skbs = planned.skbs;
    let source = match (&planned.source, from_flag) {
        (_, true) => format!("--skbs {skbs}"),
        (Source::File(f), false) => match f.skbs() {
            Some(_) => format!("{}: [run] skbs {skbs}", f.path().display()),
            None => format!("{}: the default {skbs} skbs", f.path().display()),
        },
        (Source::Thread(_), false) => format!("{skbs} skbs"),
    };
    bail!(
        "{source}: miss mode would allocate {mib} MiB of skb buffers for `{}`; at most {max} MiB (use fewer skbs or --modes hit)",
        planned.name
    )
}

/// Reads every `--scenario` file and runs its packets on every engine
/// against their expected verdicts. An engine that cannot run a file's
/// program is an error when `--engines` names it, and is left out of that
/// program's cells (with a note) when it was picked by default.
fn plan_files(
    args: &LabArgs,
    engines: &[Engine],
    modes: Option<&[Mode]>,
    skbs: Option<usize>,
) -> anyhow::Result<Vec<Planned>> {
    let mut planned: Vec<Planned> = Vec::new();
    for path in &args.scenarios {
        let (file, program) = load_scenario_file(path)?;
        if let Some(other) = planned.iter().find(|p| p.name == file.name()) {
            let first = match &other.source {
                Source::File(f) => f.path().display().to_string(),
                Source::Thread(_) => String::new(),
            };
            bail!(
                "{}: name `{}` is also the name in {first}; results tell programs apart by name",
                path.display(),
                file.name()
            );
        }
        let mut usable = Vec::new();
        for &engine in engines {
            let filter = match Filter::attach(program.clone(), engine) {
                Ok(f) => f,
                Err(e) if args.engines.is_empty() => {
                    if !args.quiet {
                        eprintln!(
                            "{}: engine {engine} left out: it cannot run `{}`: {e}",
                            path.display(),
                            file.name()
                        );
                    }
                    continue;
                }
                Err(e) => bail!(
                    "{}: engine {engine} cannot run `{}`: {e}",
                    path.display(),
                    file.name()
                ),
            };
            for (i, packet) in file.packets().iter().enumerate() {
                let got = filter.run(&bpflab_engines::Skb::from_frame(packet.bytes.clone()));
                if got != packet.expected {
                    bail!(
                        "{}: packet {} of {}: engine {engine} returns {got}, the file expects {}; nothing was measured",
                        path.display(),
                        i + 1,
                        file.packets().len(),
                        packet.expected
                    );
                }
            }
            usable.push(engine);
        }
        if usable.is_empty() {
            bail!("{}: no engine can run `{}`", path.display(), file.name());
        }
        planned.push(Planned {
            name: file.name().into(),
            program,
            engines: usable,
            modes: modes
                .or(file.modes())
                .map_or_else(|| Mode::ALL.to_vec(), <[Mode]>::to_vec),
            skbs: skbs.or(file.skbs()).unwrap_or(DEFAULT_MISS_SKBS),
            seed: file.seed().unwrap_or(DEFAULT_SEED),
            source: Source::File(Box::new(file)),
        });
    }
    Ok(planned)
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

    let cells: usize = plan
        .programs
        .iter()
        .map(|p| p.engines.len() * p.modes.len())
        .sum();
    let bar = progress_bar(cells as u64, args.quiet);
    let mut rows = Vec::with_capacity(cells);
    for planned in &plan.programs {
        let program = &planned.name;
        for &mode in &planned.modes {
            let scenario = planned.scenario(mode)?;
            for &engine in &planned.engines {
                bar.set_message(format!("{engine} {program} {mode}"));
                let measured = measure_cell(
                    engine,
                    planned,
                    &scenario,
                    &timing_plan,
                    &mut counters,
                    args.simulate,
                )?;
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

/// Measures one cell (`engine` on `planned`'s `scenario`): verdicts
/// first, then timing, then counters.
fn measure_cell(
    engine: Engine,
    planned: &Planned,
    scenario: &Scenario,
    plan: &TimingPlan,
    counters: &mut Counters,
    simulate: bool,
) -> anyhow::Result<Row> {
    let (program, mode) = (scenario.name(), scenario.mode());
    let filter = Filter::attach(scenario.program().clone(), engine)
        .with_context(|| format!("{program} on {engine}"))?;
    scenario
        .verify(&filter)
        .with_context(|| format!("engine {engine} gives a wrong verdict; nothing was measured"))?;
    let mut work = Workload::new(&filter, scenario);
    let t = timing::measure(plan, |n| bpflab_measured_calls(&mut work, n));
    let mut row = Row {
        ns_per_call: Some(t.median),
        ns_min: Some(t.min),
        ns_max: Some(t.max),
        samples: Some(t.samples as u64),
        result: scenario.common_expected(),
        ..Row::new(
            &Default::default(),
            &results::CellKey::new(engine.name(), program, mode.name()),
            scenario.skbs().len() as u64,
        )
    };
    if simulate {
        let calls = scenario.len() as u64;
        let s = simulate::simulate_cell(&planned.sim_cell_args(engine, mode), calls)
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
