//! The `bpflab` command and the lab behind it: composes the engines and the
//! scenarios, measures them, and writes and reports the results.

mod child;
pub mod cli;
mod compare;
mod compile;
mod dump;
mod engines_cmd;
mod events_cmd;
mod exec;
pub mod fuzz;
mod input;
pub mod interrupt;
pub mod lab;
pub mod plot;
pub mod results;
mod suggest;
mod table;
