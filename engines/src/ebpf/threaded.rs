//! The `ext` engine: a converted program run with threaded dispatch, so that
//! each instruction's handler jumps straight to the next one and the CPU
//! predicts every dispatch site on its own (what the 2014 interpreter's
//! computed `goto` did), on stable Rust.
//!
//! Stable Rust guarantees no tail call, so the technique depends on the
//! build ([`TECHNIQUE`]); what the compiler made of it was checked in the
//! emitted assembly (Rust 1.95, LLVM 21), and the dispatch-shape test keeps
//! checking it:
//! - **release, x86_64, i686 and 32-bit ARM** ([`Technique::TailCalls`]):
//!   the program is pre-decoded into an array of `Slot`s, a handler
//!   function pointer plus operands; each handler ends by calling the next
//!   slot's handler in tail position, which LLVM compiles to an indirect
//!   `jmp` (ARM: `bx`), one or two per handler (jumps have one for each
//!   way). Handlers return a plain `u32`: with an `Option` return LLVM
//!   cannot turn the call after a fallible packet load into a jump.
//!   Recursion depth would be bounded by the program length anyway: jumps
//!   only go forward.
//!   On i686 two more things are needed, and both are in place: the
//!   handlers use the `fastcall` convention (arguments in ecx/edx: with the
//!   default stack-passing conventions LLVM keeps `call`/`ret`), and the
//!   code must not be position-independent (in PIC code every handler sets
//!   up a GOT pointer and LLVM makes no sibling calls), so
//!   `.cargo/config.toml` builds i686 with `-C relocation-model=static`.
//!   An i686 build without that flag still runs correctly, as nested calls
//!   (depth at most the program length).
//! - **release, any other target** ([`Technique::MatchLoop`]): the
//!   `ext-switch` loop with an unchecked fetch.
//! - **debug builds, every target** ([`Technique::HandlerLoop`]): the same
//!   handlers return the next slot to a loop instead of calling it (without
//!   optimisation every tail call would grow the stack), so debug builds run
//!   and test the very handler bodies the release build threads.
//!
//! A release build with debug assertions off but optimisation off as well
//! (a custom profile) would recurse once per instruction: do not measure
//! with one.

use super::decode::{DecodeError, Decoded, Op, decode};
use super::insn::Insn;
use super::ops::{Machine, for_each_op};
use super::switch::run_match;
use crate::skb::Skb;

/// How `ext` dispatches in a build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Technique {
    /// Handlers tail-call the next handler: one indirect jump per handler.
    TailCalls,
    /// Handlers return the next slot to a loop that calls it.
    HandlerLoop,
    /// A `match` loop with an unchecked fetch (one shared dispatch jump
    /// where LLVM does not duplicate it).
    MatchLoop,
}

impl Technique {
    /// One line saying what the technique is.
    pub fn describe(self) -> &'static str {
        match self {
            Technique::TailCalls => "threaded: each handler tail-calls the next (indirect jmp)",
            Technique::HandlerLoop => {
                "call-threaded: handlers return the next slot to a loop (debug builds)"
            }
            Technique::MatchLoop => {
                "match loop with unchecked fetch: one shared dispatch jump (not threaded)"
            }
        }
    }
}

/// The technique `ext` uses in this build.
pub const TECHNIQUE: Technique = if cfg!(debug_assertions) {
    Technique::HandlerLoop
} else if cfg!(any(
    target_arch = "x86_64",
    target_arch = "x86",
    target_arch = "arm"
)) {
    Technique::TailCalls
} else {
    Technique::MatchLoop
};

/// A handler: runs the slot's instruction, then dispatches.
///
/// # Safety
/// `slot` points into a slot array built by [`ExtInterpreter::new`].
#[cfg(not(target_arch = "x86"))]
type Handler = unsafe fn(*const Slot, &mut Run<'_>) -> u32;
/// On i686 in registers (`fastcall`), so that the dispatch can be a jump.
#[cfg(target_arch = "x86")]
type Handler = unsafe extern "fastcall" fn(*const Slot, &mut Run<'_>) -> u32;

/// Defines a handler with the [`Handler`] calling convention of the target.
#[cfg(not(target_arch = "x86"))]
macro_rules! handler_fn {
    ($(#[$m:meta])* fn $name:ident($($args:tt)*) -> u32 $body:block) => {
        $(#[$m])* pub(super) unsafe fn $name($($args)*) -> u32 $body
    };
}
#[cfg(target_arch = "x86")]
macro_rules! handler_fn {
    ($(#[$m:meta])* fn $name:ident($($args:tt)*) -> u32 $body:block) => {
        $(#[$m])* pub(super) unsafe extern "fastcall" fn $name($($args)*) -> u32 $body
    };
}

/// One pre-decoded instruction: its handler and operands. For jumps,
/// `d.target` is the distance in slots from this slot to the target.
#[derive(Clone, Copy, Debug)]
struct Slot {
    handler: Handler,
    d: Decoded,
}

/// The state of one run.
struct Run<'k> {
    machine: Machine<'k>,
    /// [`Technique::HandlerLoop`] only: the slot to run next, or null once
    /// the program has ended. (A scalar return keeps the tail calls of
    /// [`Technique::TailCalls`] possible: with an `Option` return, LLVM
    /// cannot turn the calls after a fallible load into jumps.)
    next: *const Slot,
}

/// Moves on to slot `$next`: a tail call, or a return to the loop.
macro_rules! dispatch {
    ($next:expr, $run:ident) => {{
        let next: *const Slot = $next;
        if matches!(TECHNIQUE, Technique::TailCalls) {
            // SAFETY: `next` is a slot of the same array (the caller
            // computed it from a validated offset), holding its handler.
            return unsafe { ((*next).handler)(next, $run) };
        }
        $run.next = next;
        return 0;
    }};
}

/// Ends the run with `$value`.
macro_rules! finish {
    ($value:expr, $run:ident) => {{
        let value: u32 = $value;
        if !matches!(TECHNIQUE, Technique::TailCalls) {
            $run.next = std::ptr::null();
        }
        return value;
    }};
}

/// The body of a handler, by the row's kind.
macro_rules! handler_body {
    (plain, $body:block, $vm:ident, $d:ident, $slot:ident, $run:ident) => {{
        $body;
        // SAFETY: a `plain` instruction is never the last one (that is
        // `exit`), so the next slot exists.
        dispatch!(unsafe { $slot.add(1) }, $run)
    }};
    (branch, $body:block, $vm:ident, $d:ident, $slot:ident, $run:ident) => {{
        if $body {
            // SAFETY: the decoder checked the target is inside the array.
            dispatch!(unsafe { $slot.add($d.target as usize) }, $run)
        }
        // SAFETY: a jump is never the last instruction.
        dispatch!(unsafe { $slot.add(1) }, $run)
    }};
    (load, $body:block, $vm:ident, $d:ident, $slot:ident, $run:ident) => {{
        match $body {
            Some(v) => $vm.set32(0, v),
            None => finish!(0, $run),
        }
        // SAFETY: a load is never the last instruction.
        dispatch!(unsafe { $slot.add(1) }, $run)
    }};
    (exit, $body:block, $vm:ident, $d:ident, $slot:ident, $run:ident) => {{ finish!($body, $run) }};
}

/// Expands the op table into one handler per op and the op → handler map.
macro_rules! gen_handlers {
    ($vm:ident, $d:ident; $($name:ident $([$code:literal])? $kind:ident $body:block)*) => {
        /// One function per op; names are the op names, so the
        /// dispatch-shape test can find them in the compiled code.
        #[allow(non_snake_case)]
        mod handlers {
            use super::*;

            $(
                handler_fn! {
                    /// The handler of this op.
                    ///
                    /// # Safety
                    /// `slot` points into a slot array built by
                    /// [`ExtInterpreter::new`].
                    #[allow(unused_variables)]
                    fn $name(slot: *const Slot, run: &mut Run<'_>) -> u32 {
                        // SAFETY: the caller passes a slot of a built array.
                        let $d = unsafe { &(*slot).d };
                        let $vm = &mut run.machine;
                        handler_body!($kind, $body, $vm, $d, slot, run)
                    }
                }
            )*

            /// The handler of `op`.
            pub(super) fn of(op: Op) -> Handler {
                match op {
                    $(Op::$name => $name,)*
                }
            }
        }
    };
}

for_each_op!(gen_handlers);

/// A program prepared for the `ext` engine.
#[derive(Clone, Debug)]
pub struct ExtInterpreter {
    code: Code,
}

/// The prepared form [`TECHNIQUE`] runs.
#[derive(Clone, Debug)]
enum Code {
    Slots(Box<[Slot]>),
    Decoded(Box<[Decoded]>),
}

impl ExtInterpreter {
    /// Validates and decodes an eBPF program (see [`super::decode`]) and
    /// builds what this build's technique runs.
    pub fn new(insns: &[Insn]) -> Result<Self, DecodeError> {
        let decoded = decode(insns)?;
        let code = if matches!(TECHNIQUE, Technique::MatchLoop) {
            Code::Decoded(decoded.into_boxed_slice())
        } else {
            let slots = decoded
                .iter()
                .enumerate()
                .map(|(pc, &d)| {
                    let mut d = d;
                    if d.op.is_branch() {
                        // Forward and inside: the decoder checked both.
                        d.target -= pc as u32;
                    }
                    Slot {
                        handler: handlers::of(d.op),
                        d,
                    }
                })
                .collect();
            Code::Slots(slots)
        };
        Ok(ExtInterpreter { code })
    }

    /// Runs the program on `skb`: the low 32 bits of R0 at `exit`, or 0
    /// when a packet load fails.
    #[inline(never)]
    pub fn run(&self, skb: &Skb) -> u32 {
        // The guards are constants: only this build's technique is compiled
        // into `run` (`new` built its form, so the last arm never runs).
        match &self.code {
            Code::Slots(slots) if !matches!(TECHNIQUE, Technique::MatchLoop) => {
                run_slots(slots, skb)
            }
            // SAFETY: the code came from `decode`.
            Code::Decoded(code) if matches!(TECHNIQUE, Technique::MatchLoop) => unsafe {
                run_match::<true>(code, skb)
            },
            _ => 0,
        }
    }
}

/// Runs a slot array: the first handler, which threads through the rest,
/// or a loop calling each handler in turn.
#[inline(always)]
fn run_slots(slots: &[Slot], skb: &Skb) -> u32 {
    let mut run = Run {
        machine: Machine::new(skb),
        next: std::ptr::null(),
    };
    let mut cur = slots.as_ptr();
    loop {
        // SAFETY: `cur` is the first slot (a decoded program is never
        // empty) or the next slot a handler chose within the array.
        let value = unsafe { ((*cur).handler)(cur, &mut run) };
        if matches!(TECHNIQUE, Technique::TailCalls) || run.next.is_null() {
            return value;
        }
        cur = run.next;
    }
}
