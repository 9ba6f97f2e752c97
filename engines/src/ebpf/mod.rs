//! Extended BPF: the instruction model, its textual form, the classic →
//! eBPF converter, and the two interpreters of converted programs (`ext`,
//! threaded, and `ext-switch`, one `match`), which share the attach-time
//! decoding step and the table of what each instruction does.

pub mod convert;
pub mod decode;
pub mod disasm;
pub mod insn;
mod ops;
pub mod portable;
pub mod switch;
pub mod threaded;

pub use convert::{ConvertError, Converted, convert};
pub use decode::DecodeError;
pub use disasm::listing;
pub use insn::Insn;
pub use switch::ExtSwitchInterpreter;
pub use threaded::{ExtInterpreter, TECHNIQUE, Technique};
