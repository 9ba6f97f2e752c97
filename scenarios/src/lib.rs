//! bpflab's scenarios: what the filters are run on. The thread's two
//! programs (as data files), the packets they judge (a builder, the
//! benchmark packet and a corpus with expected verdicts), and the cache-hit
//! and cache-miss arrangements of skbs the lab times; and the scenario
//! files ([`file`](mod@file)) in which users describe their own.
//!
//! Scenarios know programs and packets but nothing of timing; engines know
//! nothing of scenarios.

#![warn(missing_docs)]

pub mod file;
pub mod packet;
pub mod programs;
pub mod scenario;

pub use file::{FileError, FileErrorKind, ProgramSource, ScenarioFile};
pub use programs::{ACCEPT, PerProgram, REJECT, ScenarioProgram, UnknownProgram};
pub use scenario::{
    DEFAULT_MISS_SKBS, ExpectedPacket, Mode, Scenario, ScenarioError, UnknownMode, VerdictMismatch,
};
