//! `bpflab fuzz`: random valid classic programs (biased to packet ends,
//! negative offsets, division by X, every jump shape, scratch memory,
//! ancillary loads, up to 4096 instructions) run on every available engine
//! on random and edge-length packets, every result compared with the old
//! interpreter's.
//!
//! The loop runs in a worker child ([`worker`]); this side counts what it
//! streams, and when a case kills it, finds which engine and packet did
//! by running each alone through `bpflab exec`, then starts a new worker
//! after that case. It ends with `programs=N packets=M divergences=D
//! crashes=C`, and exits 1 when D or C is not zero.

pub mod repro;
pub mod worker;

use crate::child::child_command;
use crate::input;
use anyhow::{Context as _, bail};
use bpflab_engines::Engine;
use bpflab_engines::fuzz::Case;
use clap::Args;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitCode, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest run `--seconds` allows (a day).
const MAX_SECONDS: u64 = 86_400;

/// A case that streams nothing for this long is taken for a hang.
const HANG_LIMIT: Duration = Duration::from_secs(30);

/// Options of `bpflab fuzz`.
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// How long to fuzz.
    #[arg(long, default_value_t = 60, value_name = "N")]
    seconds: u64,
    /// The run's seed [default: from the clock; printed first].
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Run only program number I of the seed (to rerun a reported one).
    #[arg(long, value_name = "I", requires = "seed")]
    case: Option<u64>,
    /// Stop after programs 0 to N-1 of the seed (or at --seconds, whichever
    /// comes first): a run of the same size on every machine.
    #[arg(long, value_name = "N", conflicts_with = "case")]
    programs: Option<u64>,
    /// Engines to compare with `old` (comma-separated) [default: every
    /// available one].
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    engines: Vec<String>,
}

/// What the workers reported, summed.
#[derive(Debug)]
struct Tally {
    programs: u64,
    packets: u64,
    divergences: u64,
    crashes: u64,
    started: Instant,
    reported: Instant,
    /// The run's length, seconds.
    seconds: u64,
}

/// How often a run says how far it got (on stderr): often enough that a
/// log or a pipe never looks stuck.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

impl Tally {
    fn new(seconds: u64) -> Tally {
        let now = Instant::now();
        Tally {
            seconds,
            programs: 0,
            packets: 0,
            divergences: 0,
            crashes: 0,
            started: now,
            reported: now,
        }
    }

    /// The counts as the summary line prints them.
    fn counts(&self) -> String {
        format!(
            "programs={} packets={} divergences={} crashes={}",
            self.programs, self.packets, self.divergences, self.crashes
        )
    }

    /// A progress line on stderr every [`PROGRESS_EVERY`].
    fn report_progress(&mut self) {
        if self.reported.elapsed() >= PROGRESS_EVERY {
            self.reported = Instant::now();
            let secs = self.started.elapsed().as_secs();
            eprintln!("fuzz: {secs} s of {} s, {}", self.seconds, self.counts());
        }
    }
}

/// Runs `bpflab fuzz`.
pub fn run(args: &FuzzArgs) -> anyhow::Result<ExitCode> {
    if args.seconds == 0 || args.seconds > MAX_SECONDS {
        bail!(
            "--seconds {} is out of range (1 to {MAX_SECONDS})",
            args.seconds
        );
    }
    if args.programs == Some(0) {
        bail!("--programs 0 is out of range (at least 1)");
    }
    let engines = engines(&args.engines)?;
    let seed = args.seed.unwrap_or_else(clock_seed);
    let names: Vec<&str> = engines.iter().map(|e| e.name()).collect();
    println!("fuzz: seed {seed}, engines old,{}", names.join(","));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut tally = Tally::new(args.seconds);
    let mut next = args.case.unwrap_or(0);
    // One past the last program to run, when the run has one.
    let end = match (args.case, args.programs) {
        (Some(case), _) => Some(case.saturating_add(1)),
        (None, programs) => programs,
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || end.is_some_and(|end| next >= end) {
            break;
        }
        let cases = end.map(|end| end - next);
        let ended = supervise(seed, next, cases, left, &names, &mut tally)?;
        match ended {
            WorkerEnd::Finished => break,
            WorkerEnd::Died { case, why } => {
                tally.crashes += 1;
                println!("crash: program #{case} of seed {seed}: the worker {why}");
                localize(seed, case, &engines);
                next = case + 1;
            }
        }
    }
    println!("{}", tally.counts());
    Ok(if tally.divergences + tally.crashes == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// How a worker ended.
enum WorkerEnd {
    /// It used up its time or cases.
    Finished,
    /// It died or hung in `case`.
    Died { case: u64, why: String },
}

/// Runs one worker from case `first` and tallies its stream.
fn supervise(
    seed: u64,
    first: u64,
    cases: Option<u64>,
    left: Duration,
    engines: &[&str],
    tally: &mut Tally,
) -> anyhow::Result<WorkerEnd> {
    let mut cmd = child_command()?;
    cmd.args(["fuzz-worker", "--seed", &seed.to_string()])
        .args(["--first", &first.to_string()])
        .args(["--millis", &left.as_millis().to_string()])
        .stdout(Stdio::piped());
    if let Some(n) = cases {
        cmd.args(["--cases", &n.to_string()]);
    }
    if !engines.is_empty() {
        cmd.args(["--engines", &engines.join(",")]);
    }
    let mut child = cmd.spawn().context("cannot start the fuzz worker")?;
    let lines = stream_lines(&mut child);
    let mut current = None;
    loop {
        match lines.recv_timeout(HANG_LIMIT) {
            Ok(line) => {
                tally_line(&line, &mut current, tally);
                tally.report_progress();
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // A kill that fails means the worker ended meanwhile.
                let _ = child.kill();
                let _ = child.wait();
                return Ok(match current {
                    Some(case) => WorkerEnd::Died {
                        case,
                        why: format!("hung (nothing for {} s)", HANG_LIMIT.as_secs()),
                    },
                    None => WorkerEnd::Finished,
                });
            }
        }
    }
    let status = child.wait().context("cannot wait for the fuzz worker")?;
    if status.success() {
        return Ok(WorkerEnd::Finished);
    }
    match current {
        Some(case) => Ok(WorkerEnd::Died {
            case,
            why: died(status),
        }),
        None => bail!(
            "the fuzz worker failed before its first case ({})",
            died(status)
        ),
    }
}

/// The worker's stdout as lines on a channel (so that a hang can time out).
fn stream_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Counts a stream line, or prints it when it is a finding's text.
fn tally_line(line: &str, current: &mut Option<u64>, tally: &mut Tally) {
    if let Some(rest) = line.strip_prefix("@case ") {
        let mut fields = rest.split_whitespace();
        *current = fields.next().and_then(|i| i.parse().ok());
        let packets = fields
            .next()
            .and_then(|p| p.strip_prefix("packets="))
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(0);
        tally.programs += 1;
        tally.packets += packets;
    } else if line == "@divergence" {
        tally.divergences += 1;
    } else if line == "@crash" {
        tally.crashes += 1;
    } else {
        println!("{line}");
    }
}

/// How a process ended, in words.
fn died(status: ExitStatus) -> String {
    match (status.signal(), status.code()) {
        (Some(sig), _) => format!("was killed by signal {sig}"),
        (None, Some(code)) => format!("exited with status {code}"),
        (None, None) => "ended abnormally".into(),
    }
}

/// Finds which engine and packet of a case that killed the worker crash on
/// their own: each runs alone through `bpflab exec`, and those that die are
/// printed as their reproduction.
fn localize(seed: u64, case: u64, engines: &[Engine]) {
    let binary = binary_name();
    let program = Case::nth(seed, case);
    let mut found = false;
    for &engine in std::iter::once(&Engine::Old).chain(engines) {
        for (data, meta) in &program.packets {
            let args = repro::exec_args(engine, &program.insns, data, meta);
            let status = child_command().and_then(|mut cmd| {
                let status = cmd
                    .args(&args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()?;
                Ok(status)
            });
            if let Ok(status) = status
                && status.signal().is_some()
            {
                found = true;
                println!(
                    "  {} ({})",
                    repro::command_line(&binary, &args),
                    died(status)
                );
            }
        }
    }
    if !found {
        println!(
            "  no engine crashes on its own; rerun the case: {binary} fuzz --seed {seed} --case {case}"
        );
    }
}

/// The engines named (each must exist and be available here), or every
/// available one but `old`, the reference.
fn engines(names: &[String]) -> anyhow::Result<Vec<Engine>> {
    if names.is_empty() {
        return Ok(Engine::available().filter(|&e| e != Engine::Old).collect());
    }
    names
        .iter()
        .map(|n| input::engine(n.trim()))
        .filter(|e| !matches!(e, Ok(Engine::Old)))
        .collect()
}

/// How this binary was started, for the reproduction lines.
fn binary_name() -> String {
    std::env::args().next().unwrap_or_else(|| "bpflab".into())
}

/// A seed from the clock, for runs that name none.
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
