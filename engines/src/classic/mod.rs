//! Classic BPF: the instruction, the readers, the checker and the old
//! interpreter.

pub mod check;
pub mod insn;
pub mod interp;
pub mod read;

pub use check::{CheckError, Program, check};
pub use insn::{Insn, listing};
pub use interp::OldInterpreter;
pub use read::{Format, ReadError};
