//! Event names as `perf` spells them, turned into what `perf_event_open`
//! takes: a type and a config. The names are perf's so that a user can
//! carry a `perf stat -e` list over unchanged: the generic hardware events
//! (`branch-misses`, `cycles`, ...), the software ones (`task-clock`,
//! `context-switches`, ...), the hardware-cache grammar
//! (`L1-icache-load-misses`, `LLC-loads`, `dTLB-load-misses`, ...) and raw
//! CPU events (`r00c4`), each optionally with `:u`, `:k` or `:uk`.

use std::fmt;

/// The generic event types of `perf_event_attr.type`.
const TYPE_HARDWARE: u32 = 0;
const TYPE_SOFTWARE: u32 = 1;
const TYPE_HW_CACHE: u32 = 3;
const TYPE_RAW: u32 = 4;

/// Generic hardware events: perf's names (aliases after the first) and
/// their config.
const HARDWARE: [(&[&str], u64); 10] = [
    (&["cycles", "cpu-cycles"], 0),
    (&["instructions"], 1),
    (&["cache-references"], 2),
    (&["cache-misses"], 3),
    (&["branches", "branch-instructions"], 4),
    (&["branch-misses"], 5),
    (&["bus-cycles"], 6),
    (&["stalled-cycles-frontend", "idle-cycles-frontend"], 7),
    (&["stalled-cycles-backend", "idle-cycles-backend"], 8),
    (&["ref-cycles"], 9),
];

/// Software events, counted by the kernel itself: every Linux has them,
/// PMU or not.
const SOFTWARE: [(&[&str], u64); 9] = [
    (&["cpu-clock"], 0),
    (&["task-clock"], 1),
    (&["page-faults", "faults"], 2),
    (&["context-switches", "cs"], 3),
    (&["cpu-migrations", "migrations"], 4),
    (&["minor-faults"], 5),
    (&["major-faults"], 6),
    (&["alignment-faults"], 7),
    (&["emulation-faults"], 8),
];

/// The caches of perf's hardware-cache events, in config order.
const CACHES: [&str; 7] = [
    "L1-dcache",
    "L1-icache",
    "LLC",
    "dTLB",
    "iTLB",
    "branch",
    "node",
];

/// The operations of hardware-cache events, in config order: the
/// singular (before `-misses`) and the plural (accesses).
const CACHE_OPS: [(&str, &str); 3] = [
    ("load", "loads"),
    ("store", "stores"),
    ("prefetch", "prefetches"),
];

/// The software events the lab always opens around its timed batches:
/// they tell whether a batch was disturbed, on every machine.
pub const ALWAYS: [&str; 4] = [
    "task-clock",
    "context-switches",
    "cpu-migrations",
    "page-faults",
];

/// [`ALWAYS`], ready to open.
pub fn always() -> Vec<EventSpec> {
    ALWAYS
        .iter()
        .map(|name| EventSpec::parse(name).expect("ALWAYS holds perf names"))
        .collect()
}

/// The hardware events `bpflab run` counts unless `--events` says
/// otherwise: the thread's `perf stat` evidence, branch misses, with what
/// puts it in proportion.
pub const DEFAULT: &str = "branch-misses,branches,instructions,cycles,cache-misses";

/// Which privilege levels an event counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// User space only (`:u`).
    User,
    /// The kernel only (`:k`).
    Kernel,
    /// Both (`:uk`).
    Both,
}

/// What kind of counter an event is: software events are counted by the
/// kernel (and are about the process: time, switches, faults), the others
/// by the CPU's PMU (and are about the code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A generic hardware event.
    Hardware,
    /// A kernel software event.
    Software,
    /// A hardware-cache event.
    Cache,
    /// A raw CPU-specific event.
    Raw,
}

/// One event, ready to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSpec {
    /// The name the results and the report use: perf's main name for the
    /// event, with the modifier when one was given.
    pub name: String,
    /// What counts it.
    pub kind: Kind,
    /// `perf_event_attr.type`.
    pub type_: u32,
    /// `perf_event_attr.config`.
    pub config: u64,
    /// The privilege levels counted.
    pub scope: Scope,
}

impl fmt::Display for EventSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl EventSpec {
    /// Whether the kernel counts it (no PMU needed).
    pub fn is_software(&self) -> bool {
        self.kind == Kind::Software
    }

    /// Reads one perf event name. Without a modifier, the PMU's events
    /// count user space only, where every engine runs (the kernel's share
    /// of a batch is interrupts, which is noise here), and software events
    /// count everything (a context switch happens in the kernel).
    pub fn parse(text: &str) -> Result<EventSpec, String> {
        let (base, modifier) = match text.split_once(':') {
            Some((base, m)) => (base, Some(m)),
            None => (text, None),
        };
        let (kind, type_, config, main) = lookup(base).ok_or_else(|| {
            format!(
                "unknown event '{text}': use perf's names (`bpflab events` lists them), \
                 or rNNNN for a raw event in hex"
            )
        })?;
        let scope = match modifier {
            None if kind == Kind::Software => Scope::Both,
            None => Scope::User,
            Some("u") => Scope::User,
            Some("k") => Scope::Kernel,
            Some("uk" | "ku") => Scope::Both,
            Some(m) => {
                return Err(format!(
                    "event '{text}': unknown modifier ':{m}' (:u, :k or :uk)"
                ));
            }
        };
        let name = match modifier {
            Some(m) => format!("{main}:{m}"),
            None => main,
        };
        Ok(EventSpec {
            name,
            kind,
            type_,
            config,
            scope,
        })
    }

    /// Reads a comma-separated list (empty items are skipped, repeats
    /// kept once).
    pub fn parse_list(text: &str) -> Result<Vec<EventSpec>, String> {
        let mut out: Vec<EventSpec> = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let spec = EventSpec::parse(item)?;
            if !out.iter().any(|e| e.name == spec.name) {
                out.push(spec);
            }
        }
        Ok(out)
    }
}

/// The kind, type, config and main name of `base`, if perf knows it.
fn lookup(base: &str) -> Option<(Kind, u32, u64, String)> {
    let named = |table: &[(&[&str], u64)], kind, type_| {
        table
            .iter()
            .find(|(names, _)| names.contains(&base))
            .map(|(names, config)| (kind, type_, *config, names[0].to_string()))
    };
    named(&HARDWARE, Kind::Hardware, TYPE_HARDWARE)
        .or_else(|| named(&SOFTWARE, Kind::Software, TYPE_SOFTWARE))
        .or_else(|| cache(base).map(|config| (Kind::Cache, TYPE_HW_CACHE, config, base.into())))
        .or_else(|| raw(base).map(|config| (Kind::Raw, TYPE_RAW, config, base.into())))
}

/// A hardware-cache event: `<cache>-loads` counts accesses,
/// `<cache>-load-misses` misses; the config packs cache, op and result.
fn cache(base: &str) -> Option<u64> {
    CACHES.iter().enumerate().find_map(|(c, cache)| {
        let rest = base.strip_prefix(cache)?.strip_prefix('-')?;
        CACHE_OPS.iter().enumerate().find_map(|(o, (op, ops))| {
            let result = if rest == *ops {
                0
            } else if rest.strip_prefix(op)? == "-misses" {
                1
            } else {
                return None;
            };
            Some(c as u64 | (o as u64) << 8 | result << 16)
        })
    })
}

/// A raw event: `r` and up to 16 hex digits.
fn raw(base: &str) -> Option<u64> {
    let hex = base.strip_prefix('r')?;
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// Every name `parse` knows, for `bpflab events`: the main names of each
/// kind (aliases and the cache grammar's every combination left out).
pub fn known() -> Vec<(Kind, String)> {
    let mut out: Vec<(Kind, String)> = Vec::new();
    out.extend(
        HARDWARE
            .iter()
            .map(|(n, _)| (Kind::Hardware, n[0].to_string())),
    );
    out.extend(
        SOFTWARE
            .iter()
            .map(|(n, _)| (Kind::Software, n[0].to_string())),
    );
    for cache in CACHES {
        for (op, ops) in CACHE_OPS {
            out.push((Kind::Cache, format!("{cache}-{ops}")));
            out.push((Kind::Cache, format!("{cache}-{op}-misses")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perf_names_and_aliases() {
        let e = EventSpec::parse("branch-instructions").unwrap();
        assert_eq!((e.name.as_str(), e.type_, e.config), ("branches", 0, 4));
        assert_eq!(e.scope, Scope::User);
        let e = EventSpec::parse("cs").unwrap();
        assert_eq!(
            (e.name.as_str(), e.type_, e.config),
            ("context-switches", 1, 3)
        );
        assert_eq!(e.scope, Scope::Both);
        assert!(e.is_software());
        assert_eq!(EventSpec::parse("task-clock").unwrap().config, 1);
        assert_eq!(EventSpec::parse("cycles").unwrap().config, 0);
    }

    #[test]
    fn cache_events_pack_cache_op_and_result() {
        let e = EventSpec::parse("L1-icache-load-misses").unwrap();
        assert_eq!((e.type_, e.config, e.kind), (3, 1 | 1 << 16, Kind::Cache));
        assert_eq!(EventSpec::parse("LLC-loads").unwrap().config, 2);
        assert_eq!(
            EventSpec::parse("dTLB-store-misses").unwrap().config,
            3 | 1 << 8 | 1 << 16
        );
        assert_eq!(
            EventSpec::parse("L1-dcache-prefetches").unwrap().config,
            2 << 8
        );
        assert!(EventSpec::parse("L1-icache-load").is_err());
        assert!(EventSpec::parse("L1-dcache-prefetchs").is_err());
        assert!(EventSpec::parse("L2-loads").is_err());
    }

    #[test]
    fn raw_events_and_modifiers() {
        let e = EventSpec::parse("r00c4:k").unwrap();
        assert_eq!((e.type_, e.config), (4, 0xc4));
        assert_eq!((e.name.as_str(), e.scope), ("r00c4:k", Scope::Kernel));
        assert_eq!(
            EventSpec::parse("branch-misses:uk").unwrap().scope,
            Scope::Both
        );
        assert!(EventSpec::parse("r").is_err());
        assert!(EventSpec::parse("rxyz").is_err());
        assert!(EventSpec::parse("r12345678901234567").is_err());
        let bad = EventSpec::parse("cycles:p").unwrap_err();
        assert!(bad.contains("modifier ':p'"), "{bad}");
        let unknown = EventSpec::parse("branch-mises").unwrap_err();
        assert!(
            unknown.contains("unknown event 'branch-mises'"),
            "{unknown}"
        );
    }

    #[test]
    fn lists_skip_blanks_and_repeats() {
        let list = EventSpec::parse_list("cycles, cpu-cycles,,branch-misses").unwrap();
        let names: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["cycles", "branch-misses"]);
        assert_eq!(EventSpec::parse_list(DEFAULT).unwrap().len(), 5);
        assert!(EventSpec::parse_list("cycles,nope").is_err());
        assert!(EventSpec::parse_list("").unwrap().is_empty());
    }

    #[test]
    fn every_known_name_parses_to_itself() {
        for (kind, name) in known() {
            let e = EventSpec::parse(&name).unwrap();
            assert_eq!((e.kind, e.name), (kind, name));
        }
        assert!(always().iter().all(EventSpec::is_software));
        assert_eq!(always().len(), ALWAYS.len());
    }
}
