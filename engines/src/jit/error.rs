//! Why a JIT refused a program: typed, so that callers can tell "this
//! machine has no JIT" from "this program is outside what the JIT runs".

use std::fmt;
use thiserror::Error;

/// Why a program could not be compiled to machine code.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum JitError {
    /// This architecture has no JIT backend.
    #[error("{}", super::UNAVAILABLE)]
    Unavailable,
    /// An instruction the JIT has no code for.
    #[error("instruction {pc} (opcode {code:#04x}): the JIT does not compile {what}")]
    Unsupported {
        /// Index of the instruction.
        pc: usize,
        /// Its opcode.
        code: u16,
        /// What it is.
        what: &'static str,
    },
    /// An eBPF program the JIT cannot prove safe and equal to the
    /// interpreter (see [`super::verify`]).
    #[error("eBPF instruction {pc}: {reason}")]
    Rejected {
        /// Index of the instruction.
        pc: usize,
        /// The rule it breaks.
        reason: Reject,
    },
    /// A label jumped to but never placed (an internal error).
    #[error("internal error: a jump target was never placed")]
    UnboundLabel,
    /// A short jump's target ended up out of its reach (an internal error).
    #[error("internal error: a short jump cannot reach its target ({distance} bytes)")]
    JumpOutOfReach {
        /// The distance it needed.
        distance: i64,
    },
    /// The operating system refused executable memory.
    #[error("cannot get executable memory: {0}")]
    Memory(String),
}

/// The rule of [`super::verify`] an eBPF instruction breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// A register number above R10.
    BadRegister(u8),
    /// An instruction writes R10, the read-only frame pointer.
    WritesFramePointer,
    /// A register is read on a path where it was never written.
    Uninitialized(u8),
    /// A pointer (context or frame) is used as a number.
    PointerAsNumber(u8),
    /// A memory access through a register that is not a known pointer.
    NotAPointer(u8),
    /// A context access outside the context's fields.
    ContextOffset(i16),
    /// A stack access outside the 512-byte frame or not 4-byte aligned.
    StackOffset(i16),
    /// A stack word read on a path where it was never written.
    UninitializedStack(i16),
    /// A jump backwards (the JIT runs loop-free programs only).
    BackwardJump,
    /// A jump past the last instruction.
    JumpOutOfRange,
    /// Execution can run past the last instruction.
    FallsOffEnd,
    /// A call to a helper bpflab does not have.
    UnknownHelper(i32),
    /// A byte swap to a width other than 16, 32 or 64.
    BadSwapWidth(i32),
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Reject::BadRegister(r) => write!(f, "register r{r} does not exist"),
            Reject::WritesFramePointer => f.write_str("writes r10, the read-only frame pointer"),
            Reject::Uninitialized(r) => write!(f, "reads r{r} where it may not be written"),
            Reject::PointerAsNumber(r) => write!(f, "uses pointer r{r} as a number"),
            Reject::NotAPointer(r) => {
                write!(
                    f,
                    "accesses memory through r{r}, which is not the context or the frame"
                )
            }
            Reject::ContextOffset(o) => write!(f, "context offset {o} is not a 32-bit field"),
            Reject::StackOffset(o) => {
                write!(
                    f,
                    "stack offset {o} is outside the frame or not 4-byte aligned"
                )
            }
            Reject::UninitializedStack(o) => {
                write!(f, "reads the stack at r10{o:+} where it may not be written")
            }
            Reject::BackwardJump => f.write_str("jumps backwards (loops are not compiled)"),
            Reject::JumpOutOfRange => f.write_str("jumps past the last instruction"),
            Reject::FallsOffEnd => f.write_str("execution may run past the last instruction"),
            Reject::UnknownHelper(id) => write!(f, "calls unknown helper {id}"),
            Reject::BadSwapWidth(w) => write!(f, "byte swap to width {w}"),
        }
    }
}

impl From<std::io::Error> for JitError {
    fn from(e: std::io::Error) -> Self {
        JitError::Memory(e.to_string())
    }
}
