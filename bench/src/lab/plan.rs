//! Planning a run: the options checked, the programs and scenario files
//! read and their packets run on every engine against their expected
//! verdicts, all before anything is measured.

use super::workload::{MAX_MISS_BUFFER_BYTES, miss_buffer_bytes};
use anyhow::{anyhow, bail};
use bpflab_engines::classic::Program;
use bpflab_engines::{Engine, Filter};
use bpflab_scenarios::packet::samples;
use bpflab_scenarios::scenario::{DEFAULT_SEED, MAX_COUNT};
use bpflab_scenarios::{DEFAULT_MISS_SKBS, Mode, Scenario, ScenarioFile, ScenarioProgram};
use clap::Args;
use std::path::{Path, PathBuf};

/// What a run measures: engines, programs or scenario files, modes and
/// skbs. The lab's options, and the worker processes' too (each worker
/// plans the same cells from the same options).
#[derive(Debug, Args, Clone, Default)]
pub struct PlanArgs {
    /// Engines to measure, comma-separated (default: every available one).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub engines: Vec<String>,
    /// Programs to run, comma-separated (fprog1, fprog2).
    #[arg(long, value_delimiter = ',', value_name = "P,Q")]
    pub programs: Vec<String>,
    /// A scenario file (TOML) naming a program and packets to measure
    /// instead of the thread's programs; repeatable. See
    /// scenarios/files/fprog1.toml for the format.
    #[arg(long = "scenario", value_name = "FILE")]
    pub scenarios: Vec<PathBuf>,
    /// Modes, comma-separated (hit, miss) [default: a scenario file's
    /// modes, else both].
    #[arg(long, value_delimiter = ',', value_name = "M,N")]
    pub modes: Vec<String>,
    /// Distinct skbs in miss mode (hit mode visits one skb as many times)
    /// [default: a scenario file's skbs, else 10000].
    #[arg(long, value_name = "N")]
    pub skbs: Option<u64>,
}

impl PlanArgs {
    /// The same options as command-line arguments, for a worker.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut list = |flag: &str, values: &[String]| {
            if !values.is_empty() {
                args.extend([flag.to_string(), values.join(",")]);
            }
        };
        list("--engines", &self.engines);
        list("--programs", &self.programs);
        list("--modes", &self.modes);
        for file in &self.scenarios {
            args.extend(["--scenario".to_string(), file.display().to_string()]);
        }
        if let Some(n) = self.skbs {
            args.extend(["--skbs".to_string(), n.to_string()]);
        }
        args
    }
}

/// The validated plan of a run.
pub struct Plan {
    /// The engines asked for (or every available one).
    pub engines: Vec<Engine>,
    /// The programs, each with its modes and engines.
    pub programs: Vec<Planned>,
}

/// One program of a run, with the modes, engines and sizes it runs with.
pub struct Planned {
    /// Its name in results.
    pub name: String,
    /// What it runs on.
    source: Source,
    /// The checked program.
    program: Program,
    /// The engines that measure it.
    pub engines: Vec<Engine>,
    /// The modes it runs in.
    pub modes: Vec<Mode>,
    /// Distinct skbs in miss mode.
    pub skbs: usize,
    /// The seed of the miss mode's visiting order.
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
    pub fn scenario(&self, mode: Mode) -> anyhow::Result<Scenario> {
        Ok(match &self.source {
            Source::Thread(p) => Scenario::new(*p, mode, self.skbs, self.seed)?,
            Source::File(f) => f.scenario(self.program.clone(), mode, self.skbs, self.seed)?,
        })
    }

    /// The `sim-cell` arguments that rebuild this program's scenario in
    /// `mode` for `engine` in a child process.
    pub fn sim_cell_args(&self, engine: Engine, mode: Mode) -> Vec<String> {
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
pub fn load_scenario_file(path: &Path) -> anyhow::Result<(ScenarioFile, Program)> {
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

/// Parses a comma list of names with `parse`, defaulting to `all`; an
/// unknown name's error lists the `known` ones, with the nearest as a
/// guess where one is near.
fn names<T: Copy>(
    given: &[String],
    all: Vec<T>,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
    known: &[&str],
) -> anyhow::Result<Vec<T>> {
    if given.is_empty() {
        return Ok(all);
    }
    given
        .iter()
        .map(|n| {
            parse(n.trim()).ok_or_else(|| {
                let guess = crate::suggest::did_you_mean(n, known.iter().copied());
                anyhow!(
                    "unknown {what} `{n}`{guess} ({what}s: {})",
                    known.join(", ")
                )
            })
        })
        .collect()
}

/// Checks every option before anything is measured.
/// `quiet` silences the notes on engines left out of a scenario file.
pub fn plan(args: &PlanArgs, quiet: bool) -> anyhow::Result<Plan> {
    let engine_names: Vec<&str> = Engine::ALL.iter().map(|e| e.name()).collect();
    let engines = names(
        &args.engines,
        Engine::available().collect(),
        "engine",
        Engine::from_name,
        &engine_names,
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
        &ScenarioProgram::ALL.map(ScenarioProgram::name),
    )?;
    let modes = names(
        &args.modes,
        Mode::ALL.to_vec(),
        "mode",
        Mode::from_name,
        &Mode::ALL.map(Mode::name),
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
        plan_files(args, quiet, &engines, modes.as_deref(), skbs)?
    };
    for planned in &programs {
        check_miss_memory(planned, args.skbs.is_some())?;
    }
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
    args: &PlanArgs,
    quiet: bool,
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
                    if !quiet {
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

/// Every sample packet on every engine gives its expected verdict.
pub fn check_samples(engines: &[Engine]) -> anyhow::Result<()> {
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
