//! The lab's results model, below both the lab and the plots: result rows
//! (typed keys, provenance, figures with their intervals), their files (one
//! CSV and one JSON per run, written whole or not at all) and the thread's
//! published table.

pub mod published;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a row's counter figures come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CounterSource {
    /// Hardware counters through perf_event.
    Perf,
    /// valgrind's branch simulator (callgrind `--branch-sim=yes`).
    Simulated,
    /// No counters.
    None,
}

impl CounterSource {
    /// The name used in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            CounterSource::Perf => "perf",
            CounterSource::Simulated => "simulated",
            CounterSource::None => "none",
        }
    }
}

/// The thread's columns: (program, mode).
pub const THREAD_CELLS: [(&str, &str); 4] = [
    ("fprog1", "hit"),
    ("fprog1", "miss"),
    ("fprog2", "hit"),
    ("fprog2", "miss"),
];

/// The thread's engines in its row order; others follow as first seen.
pub const THREAD_ENGINES: [&str; 4] = ["old", "ext", "old-jit", "ext-jit"];

/// The engine every speedup is measured against.
pub const BASELINE_ENGINE: &str = "old";

/// What a row measures: one engine on one program in one mode.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CellKey {
    /// Engine name.
    pub engine: String,
    /// Program name.
    pub program: String,
    /// hit or miss.
    pub mode: String,
}

impl CellKey {
    /// The key of `engine` on `program` in `mode`.
    pub fn new(engine: &str, program: &str, mode: &str) -> CellKey {
        CellKey {
            engine: engine.into(),
            program: program.into(),
            mode: mode.into(),
        }
    }

    /// The same program and mode on another engine.
    pub fn with_engine(&self, engine: &str) -> CellKey {
        CellKey::new(engine, &self.program, &self.mode)
    }
}

impl std::fmt::Display for CellKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.engine, self.program, self.mode)
    }
}

/// What every row of one run shares: where, when and how it was measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunInfo {
    /// Identifies the run.
    pub run_id: String,
    /// When the run started (RFC 3339, UTC).
    pub timestamp: String,
    /// Host name.
    pub host: String,
    /// CPU model.
    pub cpu_model: String,
    /// Architecture (x86_64, i386, arm32, ...).
    pub arch: String,
    /// Operating system and kernel.
    pub os: String,
    /// Compiler version.
    pub rustc: String,
    /// Where the figures come from: this tool, or a publication.
    pub source: String,
    /// Measured under emulation.
    pub emulated: bool,
    /// The seed of the rounds' shuffled orders.
    pub seed: Option<u64>,
    /// Worker processes the rounds were spread over.
    pub processes: Option<u64>,
    /// The code layout of the measuring binary.
    pub layout: Option<String>,
    /// The interval half-width every ratio was to reach (0.01 = 1%).
    pub precision: Option<f64>,
    /// A `--quick` smoke run (fewer, shorter processes): not to be compared
    /// with full runs.
    pub quick: Option<bool>,
    /// The source the binary was built from: the git commit, `-dirty` when
    /// the tree had uncommitted changes.
    pub commit: Option<String>,
    /// The cargo features the binary was built with.
    pub features: Option<String>,
    /// The command line that made the run.
    pub command: Option<String>,
}

/// One measured (or published) cell: engine × program × mode on a machine.
/// Counter figures are per call; `None` where unavailable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Identifies the run (all rows of one run share it).
    pub run_id: String,
    /// When the run started (RFC 3339, UTC).
    pub timestamp: String,
    /// Host name.
    pub host: String,
    /// CPU model.
    pub cpu_model: String,
    /// Architecture (x86_64, i386, arm32, ...).
    pub arch: String,
    /// Operating system and kernel.
    pub os: String,
    /// Compiler version.
    pub rustc: String,
    /// Where the figures come from: this tool, or a publication.
    pub source: String,
    /// Engine name.
    pub engine: String,
    /// Program name.
    pub program: String,
    /// hit or miss.
    pub mode: String,
    /// Distinct skbs visited.
    pub skbs: u64,
    /// Median ns per call (over rounds).
    pub ns_per_call: Option<f64>,
    /// Fastest sample, ns per call.
    pub ns_min: Option<f64>,
    /// Slowest sample, ns per call.
    pub ns_max: Option<f64>,
    /// Number of timed samples.
    pub samples: Option<u64>,
    /// Branch misses per call.
    pub branch_misses: Option<f64>,
    /// Branch instructions per call.
    pub branches: Option<f64>,
    /// Instructions per call.
    pub instructions: Option<f64>,
    /// Cycles per call.
    pub cycles: Option<f64>,
    /// Cache misses per call.
    pub cache_misses: Option<f64>,
    /// Where the counter figures come from.
    pub counter_source: CounterSource,
    /// The verdict every call gave.
    pub result: Option<u32>,
    /// Measured under emulation (qemu-user): the times say nothing about
    /// hardware. Files written before this column existed read as false.
    #[serde(default)]
    pub emulated: bool,
    /// Low end of the 95% interval of `ns_per_call` (empty in files
    /// written before intervals, and in published rows).
    #[serde(default)]
    pub ns_ci_low: Option<f64>,
    /// High end of the 95% interval of `ns_per_call`.
    #[serde(default)]
    pub ns_ci_high: Option<f64>,
    /// Interleaved rounds this cell was timed in, over all processes.
    #[serde(default)]
    pub rounds: Option<u64>,
    /// `old`'s time / this engine's time: the median of the paired
    /// per-round ratios.
    #[serde(default)]
    pub speedup: Option<f64>,
    /// Low end of the 95% interval of `speedup`.
    #[serde(default)]
    pub speedup_ci_low: Option<f64>,
    /// High end of the 95% interval of `speedup`.
    #[serde(default)]
    pub speedup_ci_high: Option<f64>,
    /// The seed of the rounds' shuffled orders.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Worker processes the rounds were spread over.
    #[serde(default)]
    pub processes: Option<u64>,
    /// The code layout of the measuring binary ("default": as the linker
    /// placed it; "shuffle-N": functions shuffled with seed N).
    #[serde(default)]
    pub layout: Option<String>,
    /// The interval half-width every ratio was to reach (0.01 = 1%).
    #[serde(default)]
    pub precision: Option<f64>,
    /// The kernel's task-clock per call, ns: the CPU time charged to the
    /// worker (below `ns_per_call` when it was switched out).
    #[serde(default)]
    pub task_clock_ns: Option<f64>,
    /// Context switches per timed batch (one batch per round).
    #[serde(default)]
    pub context_switches_per_round: Option<f64>,
    /// CPU migrations per timed batch.
    #[serde(default)]
    pub cpu_migrations_per_round: Option<f64>,
    /// Page faults per timed batch.
    #[serde(default)]
    pub page_faults_per_round: Option<f64>,
    /// The other perf events counted (`--events`), per call:
    /// `name=value` pairs joined by `;`.
    #[serde(default)]
    pub other_counters: Option<String>,
    /// A `--quick` smoke run (empty in files written before this column).
    #[serde(default)]
    pub quick: Option<bool>,
    /// The git commit the binary was built from, `-dirty` with
    /// uncommitted changes.
    #[serde(default)]
    pub commit: Option<String>,
    /// The cargo features the binary was built with.
    #[serde(default)]
    pub features: Option<String>,
    /// The command line that made the run.
    #[serde(default)]
    pub command: Option<String>,
}

impl Row {
    /// A row of `run` for `key` over `skbs` skbs, with no figures yet.
    pub fn new(run: &RunInfo, key: &CellKey, skbs: u64) -> Row {
        Row {
            run_id: run.run_id.clone(),
            timestamp: run.timestamp.clone(),
            host: run.host.clone(),
            cpu_model: run.cpu_model.clone(),
            arch: run.arch.clone(),
            os: run.os.clone(),
            rustc: run.rustc.clone(),
            source: run.source.clone(),
            engine: key.engine.clone(),
            program: key.program.clone(),
            mode: key.mode.clone(),
            skbs,
            ns_per_call: None,
            ns_min: None,
            ns_max: None,
            samples: None,
            branch_misses: None,
            branches: None,
            instructions: None,
            cycles: None,
            cache_misses: None,
            counter_source: CounterSource::None,
            result: None,
            emulated: run.emulated,
            ns_ci_low: None,
            ns_ci_high: None,
            rounds: None,
            speedup: None,
            speedup_ci_low: None,
            speedup_ci_high: None,
            seed: run.seed,
            processes: run.processes,
            layout: run.layout.clone(),
            precision: run.precision,
            task_clock_ns: None,
            context_switches_per_round: None,
            cpu_migrations_per_round: None,
            page_faults_per_round: None,
            other_counters: None,
            quick: run.quick,
            commit: run.commit.clone(),
            features: run.features.clone(),
            command: run.command.clone(),
        }
    }

    /// Puts counted events in their columns: `(name, per call, per
    /// round)` each. The CPU's events of the thread's set make the row's
    /// counters `perf`.
    pub fn set_counts<'a>(&mut self, events: impl IntoIterator<Item = (&'a str, f64, f64)>) {
        let mut other: Vec<String> = Vec::new();
        for (name, per_call, per_round) in events {
            match name {
                "task-clock" => self.task_clock_ns = Some(per_call),
                "context-switches" => self.context_switches_per_round = Some(per_round),
                "cpu-migrations" => self.cpu_migrations_per_round = Some(per_round),
                "page-faults" => self.page_faults_per_round = Some(per_round),
                _ => match self.cpu_counter(name) {
                    Some(slot) => {
                        *slot = Some(per_call);
                        self.counter_source = CounterSource::Perf;
                    }
                    None => other.push(format!("{name}={per_call}")),
                },
            }
        }
        if !other.is_empty() {
            self.other_counters = Some(other.join(";"));
        }
    }

    /// The column of a CPU event of the thread's set.
    fn cpu_counter(&mut self, name: &str) -> Option<&mut Option<f64>> {
        Some(match name {
            "branch-misses" => &mut self.branch_misses,
            "branches" => &mut self.branches,
            "instructions" => &mut self.instructions,
            "cycles" => &mut self.cycles,
            "cache-misses" => &mut self.cache_misses,
            _ => return None,
        })
    }

    /// What the row measures.
    pub fn key(&self) -> CellKey {
        CellKey::new(&self.engine, &self.program, &self.mode)
    }

    /// Whether the row is `key` on `arch`.
    pub fn is(&self, arch: &str, key: &CellKey) -> bool {
        self.arch == arch
            && self.engine == key.engine
            && self.program == key.program
            && self.mode == key.mode
    }

    /// The interval of `ns_per_call`, where the row has one.
    pub fn ns_interval(&self) -> Option<(f64, f64)> {
        self.ns_ci_low.zip(self.ns_ci_high)
    }

    /// The interval of `speedup`, where the row has one.
    pub fn speedup_interval(&self) -> Option<(f64, f64)> {
        self.speedup_ci_low.zip(self.speedup_ci_high)
    }
}

/// The paths a run's files are written to.
pub fn run_paths(dir: &Path, run_id: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{run_id}.csv")),
        dir.join(format!("{run_id}.json")),
    )
}

/// Checks that `dir` exists (creating it) and can take new files, before
/// any measuring starts.
pub fn ensure_writable(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("output folder {} cannot be created", dir.display()))?;
    let probe = tempfile::Builder::new()
        .prefix(".bpflab-probe")
        .tempfile_in(dir)
        .with_context(|| format!("output folder {} is not writable", dir.display()))?;
    drop(probe);
    Ok(())
}

/// The rows as CSV text, header first.
pub fn to_csv(rows: &[Row]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.serialize(row)?;
    }
    Ok(w.into_inner()?)
}

/// Rows from CSV text; `name` is the file named in errors, which give the
/// line.
pub fn from_csv(text: &[u8], name: &str) -> anyhow::Result<Vec<Row>> {
    let mut r = csv::Reader::from_reader(text);
    let headers = r.headers().cloned().unwrap_or_default();
    let mut rows = Vec::new();
    for (i, record) in r.deserialize::<Row>().enumerate() {
        match record {
            Ok(row) => rows.push(row),
            Err(e) => {
                let line = e.position().map_or(i as u64 + 2, |p| p.line());
                let what = match e.kind() {
                    csv::ErrorKind::Deserialize { err, .. } => {
                        let column = err.field().and_then(|f| headers.get(f as usize));
                        match column {
                            Some(c) => format!("column {c}: {}", err.kind()),
                            None => err.kind().to_string(),
                        }
                    }
                    _ => e.to_string(),
                };
                bail!("{name}:{line}: {what}");
            }
        }
    }
    Ok(rows)
}

/// Writes `bytes` to `path` through a temporary file in the same folder
/// and a rename, so a reader never sees a half-written file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_through_temp(path, bytes, true)
}

/// Like [`write_atomically`], but never replaces an existing file: a
/// run's results are never written over another's.
pub fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_through_temp(path, bytes, false)
}

fn write_through_temp(path: &Path, bytes: &[u8], replace: bool) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".bpflab-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // Results are for everyone to read (temporary files start owner-only).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    if replace {
        tmp.persist(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
    } else {
        tmp.persist_noclobber(path)
            .with_context(|| format!("cannot write {} (it exists?)", path.display()))?;
    }
    Ok(())
}

/// Claims a run id in `dir`: `base`, or `base-2`, `base-3`... when another
/// run (maybe running at the same moment) has it. The claim is the run's
/// own folder, created exclusively (for its charts and HTML report); an id
/// whose CSV or JSON exists is skipped too. Returns the id and the folder.
pub fn claim_run_id(dir: &Path, base: &str) -> anyhow::Result<(String, PathBuf)> {
    for n in 1..10_000 {
        let id = if n == 1 {
            base.to_string()
        } else {
            format!("{base}-{n}")
        };
        let (csv, json) = run_paths(dir, &id);
        if csv.exists() || json.exists() {
            continue;
        }
        let folder = dir.join(&id);
        match std::fs::create_dir(&folder) {
            Ok(()) => return Ok((id, folder)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create {}", folder.display()));
            }
        }
    }
    anyhow::bail!("no free run id for {base} in {}", dir.display())
}

/// Writes a run's CSV and JSON files, never over existing ones; returns
/// their paths.
pub fn write_run(dir: &Path, run_id: &str, rows: &[Row]) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (csv_path, json_path) = run_paths(dir, run_id);
    let json = serde_json::to_vec_pretty(rows)?;
    write_new(&csv_path, &to_csv(rows)?)?;
    write_new(&json_path, &json)?;
    Ok((csv_path, json_path))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_run() -> RunInfo {
        RunInfo {
            run_id: "r1".into(),
            timestamp: "2026-11-25T10:00:00Z".into(),
            host: "h".into(),
            cpu_model: "Some CPU, with a comma".into(),
            arch: "x86_64".into(),
            os: "linux 6.1".into(),
            rustc: "rustc 1.95.0".into(),
            source: "measured".into(),
            emulated: false,
            seed: Some(7),
            processes: Some(3),
            layout: Some("default".into()),
            precision: Some(0.01),
            ..RunInfo::default()
        }
    }

    pub(crate) fn sample_row() -> Row {
        Row {
            ns_per_call: Some(22.5),
            ns_min: Some(22.0),
            ns_max: Some(25.0),
            samples: Some(101),
            branches: Some(30.25),
            instructions: Some(200.0),
            counter_source: CounterSource::Simulated,
            result: Some(65535),
            ns_ci_low: Some(22.4),
            ns_ci_high: Some(22.7),
            rounds: Some(101),
            speedup: Some(1.0),
            speedup_ci_low: Some(1.0),
            speedup_ci_high: Some(1.0),
            ..Row::new(&sample_run(), &CellKey::new("old", "fprog1", "hit"), 1)
        }
    }

    #[test]
    fn files_written_before_intervals_still_load() {
        let old = "run_id,timestamp,host,cpu_model,arch,os,rustc,source,engine,program,mode,skbs,ns_per_call,ns_min,ns_max,samples,branch_misses,branches,instructions,cycles,cache_misses,counter_source,result,emulated\n\
                   r,t,h,c,x86_64,o,r,s,old,fprog1,hit,1,22.5,22,25,101,,,,,,none,65535,false\n";
        let rows = from_csv(old.as_bytes(), "old.csv").unwrap();
        assert_eq!(rows[0].ns_per_call, Some(22.5));
        assert_eq!(
            (rows[0].ns_interval(), rows[0].speedup_interval()),
            (None, None)
        );
        assert_eq!((rows[0].rounds, rows[0].layout.as_deref()), (None, None));
    }

    #[test]
    fn csv_and_json_round_trip() {
        let rows = vec![
            sample_row(),
            Row {
                engine: "ext".into(),
                ns_per_call: None,
                counter_source: CounterSource::None,
                result: None,
                emulated: true,
                ..sample_row()
            },
        ];
        let csv = to_csv(&rows).unwrap();
        let text = String::from_utf8(csv.clone()).unwrap();
        assert!(text.starts_with(
            "run_id,timestamp,host,cpu_model,arch,os,rustc,source,engine,program,mode,skbs,ns_per_call,ns_min,ns_max,samples,branch_misses,branches,instructions,cycles,cache_misses,counter_source,result,emulated,ns_ci_low,ns_ci_high,rounds,speedup,speedup_ci_low,speedup_ci_high,seed,processes,layout,precision,task_clock_ns,context_switches_per_round,cpu_migrations_per_round,page_faults_per_round,other_counters,quick,commit,features,command\n"
        ));
        assert_eq!(from_csv(&csv, "x.csv").unwrap(), rows);
        let json = serde_json::to_vec(&rows).unwrap();
        assert_eq!(serde_json::from_slice::<Vec<Row>>(&json).unwrap(), rows);
    }

    #[test]
    fn bad_csv_names_the_line() {
        let mut csv = to_csv(&[sample_row()]).unwrap();
        csv.extend_from_slice(
            b"r2,t,h,c,a,o,r,s,old,fprog1,hit,many,1,1,1,1,,,,,,none,0,false,,,,,,,,,,,,,,,,,,,\n",
        );
        let err = from_csv(&csv, "runs.csv").unwrap_err().to_string();
        assert!(err.starts_with("runs.csv:3: column skbs: "), "{err}");
    }

    #[test]
    fn files_are_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        ensure_writable(dir.path()).unwrap();
        let (csv, json) = write_run(dir.path(), "run", &[sample_row()]).unwrap();
        assert_eq!(
            from_csv(&std::fs::read(&csv).unwrap(), "c").unwrap(),
            [sample_row()]
        );
        assert!(json.exists());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty());
        // A second run of the same id never replaces the first.
        let err = write_run(dir.path(), "run", &[]).unwrap_err();
        assert!(err.to_string().contains("it exists?"), "{err}");
        assert_eq!(
            from_csv(&std::fs::read(&csv).unwrap(), "c").unwrap(),
            [sample_row()]
        );
    }

    #[test]
    fn run_ids_are_claimed_once() {
        let dir = tempfile::tempdir().unwrap();
        let (a, folder) = claim_run_id(dir.path(), "t-vm").unwrap();
        assert_eq!(a, "t-vm");
        assert!(folder.is_dir());
        let (b, _) = claim_run_id(dir.path(), "t-vm").unwrap();
        assert_eq!(b, "t-vm-2");
        // A run written before run folders existed keeps its id too.
        std::fs::write(dir.path().join("u-vm.csv"), "x").unwrap();
        assert_eq!(claim_run_id(dir.path(), "u-vm").unwrap().0, "u-vm-2");
    }
}
