//! Differential fuzzing: random valid programs and packets biased to where
//! engines can differ, and the check that every available engine returns
//! what the old interpreter returns. Shared by the bounded run in
//! `cargo test`, `bpflab fuzz`, and the cargo-fuzz targets in `fuzz/`.

pub mod bytes;
pub mod case;
pub mod differential;
pub mod packet;
pub mod program;

pub use case::{Case, Shape};
pub use differential::{Differential, Finding, Outcome};
pub use program::{Step, build_program};
