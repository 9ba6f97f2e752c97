//! The `ext-switch` engine: a converted program run by a plain
//! `loop { match }` over the decoded instructions, with a bounds-checked
//! fetch so that LLVM keeps one shared dispatch jump. Against `old` it
//! measures what the new instruction set and fall-through jumps gain;
//! against `ext` what jump threading gains.
//!
//! The same loop with an unchecked fetch is what `ext` runs where tail
//! calls do not become jumps (see [`super::threaded`]).

use super::decode::{DecodeError, Decoded, Op, decode};
use super::insn::Insn;
use super::ops::{Machine, for_each_op};
use crate::skb::Skb;

/// One arm of the match loop, by the row's kind.
macro_rules! match_arm {
    (plain, $body:block, $vm:ident, $d:ident, $pc:ident) => {{
        $body;
    }};
    (branch, $body:block, $vm:ident, $d:ident, $pc:ident) => {{
        if $body {
            $pc = $d.target as usize;
        }
    }};
    (load, $body:block, $vm:ident, $d:ident, $pc:ident) => {{
        match $body {
            Some(v) => $vm.set32(0, v),
            None => return 0,
        }
    }};
    (exit, $body:block, $vm:ident, $d:ident, $pc:ident) => {{
        return $body;
    }};
}

/// Expands the op table into the match loop.
macro_rules! gen_match_loop {
    ($vm:ident, $d:ident; $($name:ident $([$code:literal])? $kind:ident $body:block)*) => {
        /// Runs decoded `code` on `skb` with one `match` per instruction;
        /// `UNCHECKED` drops the fetch's bounds check.
        ///
        /// # Safety
        /// `code` must come from [`decode`], which proves every reachable
        /// index is in bounds (forward jumps inside, a final `exit`); only
        /// the unchecked fetch relies on it.
        #[inline(always)]
        pub(crate) unsafe fn run_match<const UNCHECKED: bool>(code: &[Decoded], skb: &Skb) -> u32 {
            let mut machine = Machine::new(skb);
            let $vm = &mut machine;
            let mut pc = 0usize;
            loop {
                let $d = if UNCHECKED {
                    // SAFETY: the caller passes decoded code, in which `pc`
                    // starts at 0 and only moves to a next instruction that
                    // exists (the last one exits) or to a checked target.
                    unsafe { code.get_unchecked(pc) }
                } else {
                    match code.get(pc) {
                        Some(d) => d,
                        None => return 0,
                    }
                };
                pc += 1;
                match $d.op {
                    $(Op::$name => match_arm!($kind, $body, $vm, $d, pc),)*
                }
            }
        }
    };
}

for_each_op!(gen_match_loop);

/// A program prepared for the `ext-switch` engine.
#[derive(Clone, Debug)]
pub struct ExtSwitchInterpreter {
    code: Box<[Decoded]>,
}

impl ExtSwitchInterpreter {
    /// Validates and decodes an eBPF program (see [`super::decode`]).
    pub fn new(insns: &[Insn]) -> Result<Self, DecodeError> {
        Ok(ExtSwitchInterpreter {
            code: decode(insns)?.into_boxed_slice(),
        })
    }

    /// Runs the program on `skb`: the low 32 bits of R0 at `exit`, or 0
    /// when a packet load fails.
    #[inline(never)]
    pub fn run(&self, skb: &Skb) -> u32 {
        // SAFETY: `code` came from `decode`; the checked fetch does not
        // rely on it anyway.
        unsafe { run_match::<false>(&self.code, skb) }
    }
}
