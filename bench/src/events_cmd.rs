//! `bpflab events`: perf's event names and whether each can be counted on
//! this machine (the reason where not), like `perf list` with a test open.

use crate::lab::counters::events::{self, Kind};
use crate::lab::counters::unavailable::by_reason;
use crate::lab::counters::{Counters, EventSpec, Unavailable};

/// Options of `bpflab events`.
#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    /// Test these events (perf's names, comma-separated; rNNNN for raw
    /// ones) instead of every known name.
    #[arg(value_name = "LIST")]
    list: Option<String>,
}

/// Prints one line per event: its kind, and `counts` or `<not supported>`
/// with the reason.
pub fn run(args: &EventsArgs) -> anyhow::Result<()> {
    let specs: Vec<EventSpec> = match &args.list {
        Some(list) => EventSpec::parse_list(list).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => events::known()
            .into_iter()
            .map(|(_, name)| EventSpec::parse(&name).map_err(|e| anyhow::anyhow!("{e}")))
            .collect::<anyhow::Result<_>>()?,
    };
    let width = specs.iter().map(|e| e.name.len()).max().unwrap_or(0);
    let failed: Vec<Unavailable> = specs
        .iter()
        .flat_map(|spec| Counters::open(std::slice::from_ref(spec)).1)
        .collect();
    // Each reason once, below the list, as [n].
    let reasons = by_reason(&failed);
    for spec in &specs {
        let kind = match spec.kind {
            Kind::Hardware => "hardware",
            Kind::Software => "software",
            Kind::Cache => "cache",
            Kind::Raw => "raw",
        };
        let status = match reasons
            .iter()
            .position(|(_, events)| events.contains(&spec.name.as_str()))
        {
            None => "counts".to_string(),
            Some(n) => format!("<not supported> [{}]", n + 1),
        };
        println!("{:<width$}  {kind:<8}  {status}", spec.name);
    }
    for (n, (reason, _)) in reasons.iter().enumerate() {
        println!("[{}] {reason}", n + 1);
    }
    Ok(())
}
