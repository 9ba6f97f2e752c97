//! The lab: every engine × program × mode measured on this machine in
//! interleaved rounds spread over several worker processes, every figure
//! with its 95% interval, written as CSV and JSON and reported beside the
//! thread's published tables.
//!
//! The programs are the thread's two, or with `--scenario FILE` (repeatable)
//! the users' own, described in scenario files
//! ([`bpflab_scenarios::file`]): each file is read, its program compiled
//! or checked and its packets run on every engine against their expected
//! verdicts before anything is measured.
//!
//! How a run goes: [`plan`] checks the options; worker processes
//! ([`worker`]) each time every cell in shuffled interleaved rounds
//! ([`rounds`]); after each process the run's ratios are estimated
//! ([`analysis`], [`stats`]), and more processes follow until every ratio's
//! interval is within `--precision` or `--max-seconds` is spent. perf_event
//! counters ([`counters`]) are read around every timed batch and summed up
//! per cell ([`counted`]); the branch simulator ([`simulate`]) stands in
//! for missing hardware ones on request. Then the files
//! ([`crate::results`]), the report ([`report`]) and the charts.

pub mod analysis;
pub mod counted;
pub mod counter_report;
pub mod counters;
pub mod html;
pub mod machine;
pub mod plan;
pub mod progress;
pub mod report;
pub mod rounds;
pub mod simulate;
pub mod stats;
pub mod worker;
pub mod workload;

use crate::results::{self, CounterSource, Row, RunInfo, published};
use analysis::Analysis;
use anyhow::Context as _;
use clap::Args;
use counters::{Counters, EventSpec, Unavailable, events};
use machine::Machine;
use plan::{Plan, PlanArgs, check_samples};
use progress::Progress;
use rounds::RoundPlan;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use worker::{ProcessSamples, WorkerPlan};

/// Options of `bpflab run`.
#[derive(Debug, Args, Clone)]
pub struct LabArgs {
    #[command(flatten)]
    plan: PlanArgs,
    /// Folder for the run's CSV and JSON.
    #[arg(long, default_value = "results", value_name = "DIR")]
    out: PathBuf,
    /// Folder for the run's charts (beside the published figures)
    /// [default: the run's own folder in --out, with its HTML report].
    #[arg(long, value_name = "DIR")]
    plots: Option<PathBuf>,
    /// Print only the report: no progress bar, no file lines.
    #[arg(short, long)]
    quiet: bool,
    /// A smoke run: fewer, shorter processes (the matrix in seconds).
    #[arg(long)]
    quick: bool,
    /// Count branches with valgrind's branch simulator (labelled
    /// simulated) instead of the CPU's counters.
    #[arg(long)]
    simulate: bool,
    /// The CPU's perf events to count around every timed batch, by perf's
    /// names (`bpflab events` lists them; rNNNN for raw ones), besides the
    /// software events task-clock, context-switches, cpu-migrations and
    /// page-faults, which are always counted.
    #[arg(long, default_value = events::DEFAULT, value_name = "LIST")]
    events: String,
    /// Print the report as Markdown.
    #[arg(long)]
    markdown: bool,
    /// The interval half-width every ratio should reach, in percent: more
    /// processes are run until it is, or --max-seconds is spent.
    #[arg(long, default_value_t = 1.0, value_name = "PERCENT")]
    precision: f64,
    /// Worker processes to run at least [default: 10, 2 with --quick].
    #[arg(long, value_name = "N")]
    processes: Option<u32>,
    /// Seconds of timed rounds in each worker process [default: 1.5, 0.5
    /// with --quick].
    #[arg(long, value_name = "S")]
    process_seconds: Option<f64>,
    /// The most seconds of measuring, whatever the precision [default:
    /// 120, 10 with --quick].
    #[arg(long, value_name = "S")]
    max_seconds: Option<f64>,
    /// The seed of the rounds' shuffled orders (default: from the clock;
    /// recorded in the results).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Run the worker processes with the kernel's address-space
    /// randomisation on: each its own address layout (processes then
    /// disagree more; see the README).
    #[arg(long)]
    random_addresses: bool,
    /// Count every timed round, not only the machine's quietest quarter
    /// (see the README: disturbed phases change the ratios).
    #[arg(long)]
    all_rounds: bool,
}

impl Default for LabArgs {
    fn default() -> Self {
        LabArgs {
            plan: PlanArgs::default(),
            out: PathBuf::from("results"),
            plots: None,
            quiet: false,
            quick: false,
            simulate: false,
            events: events::DEFAULT.to_string(),
            markdown: false,
            precision: 1.0,
            processes: None,
            process_seconds: None,
            max_seconds: None,
            seed: None,
            random_addresses: false,
            all_rounds: false,
        }
    }
}

/// How long and how much a run measures, from the options.
#[derive(Clone, Debug, PartialEq)]
struct Budget {
    /// Each worker's timing.
    worker: WorkerPlan,
    /// Processes to run at least.
    min_processes: u32,
    /// Measuring stops when the next process would end past this.
    max: Duration,
    /// The ratios' target half-width (0.01 = 1%).
    precision: f64,
}

impl Budget {
    /// The budget the options ask for (no events until opened).
    fn new(args: &LabArgs) -> anyhow::Result<Budget> {
        let (processes, seconds, max, warmup) = if args.quick {
            (2, 0.5, 10.0, 50)
        } else {
            (10, 1.5, 120.0, 300)
        };
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(v)
            } else {
                Err(anyhow::anyhow!(
                    "--{name} {v}: a positive number of seconds"
                ))
            }
        };
        let seconds = positive("process-seconds", args.process_seconds.unwrap_or(seconds))?;
        let max = positive("max-seconds", args.max_seconds.unwrap_or(max))?;
        if !(args.precision.is_finite() && args.precision > 0.0 && args.precision < 100.0) {
            anyhow::bail!(
                "--precision {}: a percentage above 0 and below 100",
                args.precision
            );
        }
        let min_processes = args.processes.unwrap_or(processes);
        if min_processes == 0 {
            anyhow::bail!("--processes 0: a run needs at least one worker process");
        }
        Ok(Budget {
            worker: WorkerPlan {
                rounds: RoundPlan {
                    batch_target: Duration::from_millis(1),
                    warmup: Duration::from_millis(warmup),
                    duration: Duration::from_secs_f64(seconds.min(3600.0)),
                    max_rounds: usize::MAX,
                },
                events: Vec::new(),
                random_addresses: args.random_addresses,
            },
            min_processes,
            max: Duration::from_secs_f64(max.min(86_400.0)),
            precision: args.precision / 100.0,
        })
    }
}

/// How the run's figures were made, for the report (what the analysis
/// itself holds, processes and rounds, is read from it).
#[derive(Clone, Debug, PartialEq)]
pub struct Method {
    /// Processes asked for at least.
    pub min_processes: u32,
    /// Seconds spent measuring.
    pub seconds: f64,
    /// The rounds' seed.
    pub seed: u64,
    /// The binary's code layout.
    pub layout: String,
    /// Consecutive processes bootstrapped as one block.
    pub block: usize,
    /// The ratios' target half-width (0.01 = 1%).
    pub precision: f64,
}

/// Runs the lab; `layout` names the code layout this binary was linked
/// with (`None`: the linker's default order).
pub fn run(args: &LabArgs, layout: Option<&str>) -> anyhow::Result<()> {
    let machine = Machine::detect();
    let plan = plan::plan(&args.plan, args.quiet)?;
    if args.simulate && !simulate::available() {
        anyhow::bail!("--simulate needs valgrind, which is not installed here");
    }
    if let (true, Some(why)) = (args.simulate, &machine.emulation) {
        anyhow::bail!("--simulate cannot run under emulation: {why}");
    }
    let mut budget = Budget::new(args)?;
    let asked = run_events(&args.events, args.simulate)?;
    results::ensure_writable(&args.out)?;
    if let Some(plots) = &args.plots {
        results::ensure_writable(plots)?;
    }
    check_samples(&plan.engines)?;
    let (opened, unavailable) = open_events(&asked, args.quiet);
    budget.worker.events = opened;
    if let (false, Some(why)) = (args.quiet, &machine.emulation) {
        eprintln!("emulated: {why}; results are marked emulated");
    }
    let now = std::time::SystemTime::now();
    let timestamp = humantime::format_rfc3339_seconds(now).to_string();
    let seed = args.seed.unwrap_or_else(|| {
        now.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let (analysis, method) = measure(args, &budget, seed, layout)?;
    let base_id = format!(
        "{}-{}",
        timestamp.replace([':', '-'], ""),
        machine
            .host
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    );
    let mut info = RunInfo {
        // Claimed once the figures are complete (an interrupted simulation
        // leaves no run folder behind).
        run_id: String::new(),
        timestamp,
        host: machine.host.clone(),
        cpu_model: machine.cpu_model.clone(),
        arch: machine.arch.clone(),
        os: machine.os.clone(),
        rustc: machine.rustc.clone(),
        source: format!("measured: bpflab {}", env!("CARGO_PKG_VERSION")),
        emulated: machine.emulation.is_some(),
        seed: Some(seed),
        processes: Some(analysis.processes as u64),
        layout: Some(method.layout.clone()),
        precision: Some(budget.precision),
        quick: Some(args.quick),
        commit: Some(env!("BPFLAB_COMMIT").to_string()),
        features: Some(features()),
        command: Some(command_line()),
    };
    let mut rows = rows(&info, &analysis);
    if args.simulate {
        add_simulated(&plan, &mut rows, args.quiet)?;
    }
    let (run_id, run_dir) = results::claim_run_id(&args.out, &base_id)?;
    for row in &mut rows {
        row.run_id.clone_from(&run_id);
    }
    info.run_id = run_id;
    let (csv, json) = results::write_run(&args.out, &info.run_id, &rows)?;
    let published = published::published_rows();
    let report = |markdown| {
        [
            report::report(&rows, &published, &machine.arch, markdown),
            report::method_report(&method, &analysis, markdown),
            counter_report::counters_report(&analysis, &unavailable, markdown),
        ]
        .concat()
    };
    print!("{}", report(args.markdown));
    let charts_dir = args.plots.as_ref().unwrap_or(&run_dir);
    let charted: Vec<Row> = rows.iter().chain(&published).cloned().collect();
    let plotted = crate::plot::plot_rows(&charted, charts_dir)?;
    let page = html::page(&info, &report(true), &plotted.files, &[&csv, &json])?;
    let page_path = run_dir.join("report.html");
    results::write_new(&page_path, page.as_bytes())?;
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
        println!("wrote {} (open it in a browser)", page_path.display());
    }
    Ok(())
}

/// The cargo features this binary was built with, comma-separated
/// (`none` without any).
fn features() -> String {
    let on: Vec<&str> = [("libpcap", cfg!(feature = "libpcap"))]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect();
    if on.is_empty() {
        "none".into()
    } else {
        on.join(",")
    }
}

/// This process's command line, each argument quoted where a shell would
/// need it.
fn command_line() -> String {
    std::env::args()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=,:@%+".contains(c));
            if plain {
                a
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The events a run counts: the software ones always, the `--events` list
/// too unless `--simulate` counts branches instead.
fn run_events(list: &str, simulate: bool) -> anyhow::Result<Vec<EventSpec>> {
    let asked = EventSpec::parse_list(list).map_err(|e| anyhow::anyhow!("--events: {e}"))?;
    let mut specs = events::always();
    if !simulate {
        for spec in asked {
            if !specs.contains(&spec) {
                specs.push(spec);
            }
        }
    }
    Ok(specs)
}

/// Opens each of `specs` here first, so that workers get only those that
/// open; the others are returned with the reason (and printed, one line
/// per reason, unless quiet).
fn open_events(specs: &[EventSpec], quiet: bool) -> (Vec<EventSpec>, Vec<Unavailable>) {
    let (counters, unavailable) = Counters::open(specs);
    if !quiet {
        for (reason, events) in counters::unavailable::by_reason(&unavailable) {
            eprintln!("counters: <not supported> {}: {reason}", events.join(", "));
        }
    }
    (counters.specs().cloned().collect(), unavailable)
}

/// The seed of worker process `i` of a run seeded `seed`.
fn process_seed(seed: u64, i: usize) -> u64 {
    seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Runs worker processes one after another until every ratio is within
/// the precision (after the minimum number of processes) or the time is
/// spent, and analyses what they measured.
fn measure(
    args: &LabArgs,
    budget: &Budget,
    seed: u64,
    layout: Option<&str>,
) -> anyhow::Result<(Analysis, Method)> {
    let mut progress = Progress::new(
        "run",
        budget.max.as_secs(),
        "{bar:30} {elapsed} of at most {len}s  {msg}",
        args.quiet,
    );
    let start = Instant::now();
    let mut processes: Vec<ProcessSamples> = Vec::new();
    let settings = analysis::Settings {
        resamples: stats::RESAMPLES,
        seed,
        // A process takes its rounds plus about 0.4 s of start-up,
        // calibration and warm-up.
        block: analysis::block_of(budget.worker.rounds.duration.as_secs_f64() + 0.4),
        quiet_share: if args.all_rounds {
            1.0
        } else {
            analysis::QUIET_SHARE
        },
    };
    loop {
        let i = processes.len();
        processes.push(worker::spawn(
            &args.plan,
            &budget.worker,
            process_seed(seed, i),
        )?);
        let analysis = analysis::analyse(&processes, &settings)?;
        let elapsed = start.elapsed();
        let imprecise = analysis.imprecise(budget.precision).len();
        progress.update(
            elapsed.as_secs().min(budget.max.as_secs()),
            format!(
                "{} s, {} processes; {} of {} ratios within ±{}%; {}",
                elapsed.as_secs(),
                processes.len(),
                analysis.pairs.len() - imprecise,
                analysis.pairs.len(),
                budget.precision * 100.0,
                progress::time_left(
                    elapsed,
                    processes.len(),
                    budget.min_processes as usize,
                    budget.max
                )
            ),
        );
        let per_process = elapsed / processes.len() as u32;
        // Precision claimed from a single block would only be the rounds'.
        let enough = processes.len() >= budget.min_processes as usize
            && analysis.blocks >= 2
            && imprecise == 0;
        if enough || elapsed + per_process > budget.max {
            progress.finish();
            let method = Method {
                min_processes: budget.min_processes,
                seconds: elapsed.as_secs_f64(),
                seed,
                layout: layout.unwrap_or("default").to_string(),
                block: settings.block,
                precision: budget.precision,
            };
            return Ok((analysis, method));
        }
    }
}

/// The run's rows: one per cell.
fn rows(info: &RunInfo, analysis: &Analysis) -> Vec<Row> {
    analysis
        .cells
        .iter()
        .map(|c| {
            let mut row = Row {
                ns_per_call: Some(c.ns.value),
                ns_ci_low: Some(c.ns.low),
                ns_ci_high: Some(c.ns.high),
                ns_min: Some(c.min),
                ns_max: Some(c.max),
                samples: Some(c.rounds),
                rounds: Some(c.rounds),
                speedup: c.speedup.map(|s| s.value),
                speedup_ci_low: c.speedup.map(|s| s.low),
                speedup_ci_high: c.speedup.map(|s| s.high),
                result: c.result,
                ..Row::new(info, &c.key, c.skbs)
            };
            row.set_counts(
                c.counters
                    .iter()
                    .map(|e| (e.event.as_str(), e.per_call, e.per_round)),
            );
            row
        })
        .collect()
}

/// Runs every cell once more under valgrind's branch simulator and puts
/// its (simulated) counts in the rows.
fn add_simulated(plan: &Plan, rows: &mut [Row], quiet: bool) -> anyhow::Result<()> {
    let mut progress = Progress::new(
        "simulate",
        rows.len() as u64,
        "{bar:30} {pos} of {len} cells  {msg}",
        quiet,
    );
    let mut done = 0;
    // Killed by a signal, callgrind's temporary folder would stay behind.
    let interrupt = crate::interrupt::Interruptible::install();
    for planned in &plan.programs {
        for &mode in &planned.modes {
            let calls = planned.scenario(mode)?.len() as u64;
            for &engine in &planned.engines {
                let key = results::CellKey::new(engine.name(), &planned.name, mode.name());
                progress.update(
                    done,
                    format!("simulating {key} ({done} of {} cells done)", rows.len()),
                );
                let simulated =
                    simulate::simulate_cell(&planned.sim_cell_args(engine, mode), calls);
                if let Some(why) = interrupt.requested() {
                    anyhow::bail!("{why} while simulating {key}; nothing was written");
                }
                let s = simulated.with_context(|| format!("simulating {key}"))?;
                if let Some(row) = rows.iter_mut().find(|r| r.key() == key) {
                    row.branch_misses = Some(s.branch_misses);
                    row.branches = Some(s.branches);
                    row.instructions = Some(s.instructions);
                    row.counter_source = CounterSource::Simulated;
                }
                done += 1;
            }
        }
    }
    progress.finish();
    Ok(())
}
