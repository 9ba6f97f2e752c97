//! What every instruction the eBPF interpreters run does, written once as a
//! table that each interpreter expands into its own dispatch shape (the
//! decoded opcode enum, the arms of a `match`, or one handler function per
//! opcode), so the engines cannot drift apart in semantics.
//!
//! Each row is `Name [opcode]? kind { body }`. The opcode, when present, is
//! the one `code` byte that always means this row; rows without one are
//! chosen by the decoder from the operands (context fields, stack slots,
//! helpers, byte-swap widths). Inside a body `vm` is the [`Machine`] and
//! `d` the [`Decoded`](super::decode::Decoded) instruction. Kinds:
//! - `plain`: the body acts, then the next instruction runs;
//! - `branch`: the body is the condition; when true, `d.target` runs next;
//! - `load`: the body is an `Option<u32>` for R0; `None` ends the program
//!   with 0 (the legacy packet loads' rule);
//! - `exit`: the body is the program's result.
//!
//! Semantics are eBPF's: 64-bit registers, 32-bit ALU results zero-extended,
//! immediates sign-extended for ALU64 and JMP (the decoder stores them so),
//! shift counts masked to the width, DIV by 0 gives 0 and MOD by 0 leaves
//! the destination (Linux 5.x).

use super::insn::STACK_BYTES;
use crate::skb::{Context, Skb};
use std::mem::MaybeUninit;

/// Number of 32-bit stack slots.
pub(crate) const STACK_SLOTS: usize = STACK_BYTES / 4;

/// The per-call state of a run: registers, stack and the skb.
///
/// Pointer registers (R1 = ctx at entry, R10 = frame pointer) hold 0: the
/// decoder resolves every memory operand to a context field or a stack slot,
/// so no address is ever formed from a register value.
pub(crate) struct Machine<'k> {
    regs: [u64; 16],
    /// Only slots the decoder proved written are read.
    stack: [MaybeUninit<u32>; STACK_SLOTS],
    /// The packet being filtered.
    pub(crate) skb: &'k Skb,
}

impl<'k> Machine<'k> {
    /// Fresh registers (all 0) and an unwritten stack.
    #[inline(always)]
    pub(crate) fn new(skb: &'k Skb) -> Self {
        Machine {
            regs: [0; 16],
            stack: [const { MaybeUninit::uninit() }; STACK_SLOTS],
            skb,
        }
    }

    /// Register `r` as 64 bits.
    #[inline(always)]
    pub(crate) fn r(&self, r: u8) -> u64 {
        self.regs[usize::from(r & 0xf)]
    }

    /// The low 32 bits of register `r`.
    #[inline(always)]
    pub(crate) fn w(&self, r: u8) -> u32 {
        self.r(r) as u32
    }

    /// Sets register `r`.
    #[inline(always)]
    pub(crate) fn set(&mut self, r: u8, v: u64) {
        self.regs[usize::from(r & 0xf)] = v;
    }

    /// Sets register `r` to a 32-bit value, zero-extended.
    #[inline(always)]
    pub(crate) fn set32(&mut self, r: u8, v: u32) {
        self.set(r, u64::from(v));
    }

    /// The skb's context fields.
    #[inline(always)]
    pub(crate) fn ctx(&self) -> &Context {
        self.skb.context()
    }

    /// Writes stack slot `slot`.
    #[inline(always)]
    pub(crate) fn stack_write(&mut self, slot: u32, v: u32) {
        self.stack[slot as usize % STACK_SLOTS] = MaybeUninit::new(v);
    }

    /// Reads stack slot `slot`.
    ///
    /// # Safety
    /// The slot must have been written in this run; the decoder refuses
    /// programs that may read a slot on a path where it was not written.
    #[inline(always)]
    pub(crate) unsafe fn stack_read(&self, slot: u32) -> u32 {
        // SAFETY: the caller guarantees the slot was written this run.
        unsafe { self.stack[slot as usize % STACK_SLOTS].assume_init() }
    }
}

/// Calls `$gen!` with the table of every operation the interpreters run.
macro_rules! for_each_op {
    ($gen:ident) => {
        $gen! { vm, d;
            // ALU, 32-bit: dst = (u32) (dst op src), zero-extended.
            Add32K [0x04] plain { vm.set32(d.dst, vm.w(d.dst).wrapping_add(d.imm as u32)) }
            Add32X [0x0c] plain { vm.set32(d.dst, vm.w(d.dst).wrapping_add(vm.w(d.src))) }
            Sub32K [0x14] plain { vm.set32(d.dst, vm.w(d.dst).wrapping_sub(d.imm as u32)) }
            Sub32X [0x1c] plain { vm.set32(d.dst, vm.w(d.dst).wrapping_sub(vm.w(d.src))) }
            Mul32K [0x24] plain { vm.set32(d.dst, vm.w(d.dst).wrapping_mul(d.imm as u32)) }
            Mul32X [0x2c] plain { vm.set32(d.dst, vm.w(d.dst).wrapping_mul(vm.w(d.src))) }
            Div32K [0x34] plain { vm.set32(d.dst, vm.w(d.dst).checked_div(d.imm as u32).unwrap_or(0)) }
            Div32X [0x3c] plain { vm.set32(d.dst, vm.w(d.dst).checked_div(vm.w(d.src)).unwrap_or(0)) }
            Or32K [0x44] plain { vm.set32(d.dst, vm.w(d.dst) | d.imm as u32) }
            Or32X [0x4c] plain { vm.set32(d.dst, vm.w(d.dst) | vm.w(d.src)) }
            And32K [0x54] plain { vm.set32(d.dst, vm.w(d.dst) & d.imm as u32) }
            And32X [0x5c] plain { vm.set32(d.dst, vm.w(d.dst) & vm.w(d.src)) }
            Lsh32K [0x64] plain { vm.set32(d.dst, vm.w(d.dst).wrapping_shl(d.imm as u32)) }
            Lsh32X [0x6c] plain { vm.set32(d.dst, vm.w(d.dst).wrapping_shl(vm.w(d.src))) }
            Rsh32K [0x74] plain { vm.set32(d.dst, vm.w(d.dst).wrapping_shr(d.imm as u32)) }
            Rsh32X [0x7c] plain { vm.set32(d.dst, vm.w(d.dst).wrapping_shr(vm.w(d.src))) }
            Neg32 [0x84] plain { vm.set32(d.dst, vm.w(d.dst).wrapping_neg()) }
            Mod32K [0x94] plain {
                let a = vm.w(d.dst);
                vm.set32(d.dst, a.checked_rem(d.imm as u32).unwrap_or(a))
            }
            Mod32X [0x9c] plain {
                let a = vm.w(d.dst);
                vm.set32(d.dst, a.checked_rem(vm.w(d.src)).unwrap_or(a))
            }
            Xor32K [0xa4] plain { vm.set32(d.dst, vm.w(d.dst) ^ d.imm as u32) }
            Xor32X [0xac] plain { vm.set32(d.dst, vm.w(d.dst) ^ vm.w(d.src)) }
            Mov32K [0xb4] plain { vm.set32(d.dst, d.imm as u32) }
            Mov32X [0xbc] plain { vm.set32(d.dst, vm.w(d.src)) }
            Arsh32K [0xc4] plain { vm.set32(d.dst, (vm.w(d.dst) as i32).wrapping_shr(d.imm as u32) as u32) }
            Arsh32X [0xcc] plain { vm.set32(d.dst, (vm.w(d.dst) as i32).wrapping_shr(vm.w(d.src)) as u32) }
            Le16 plain { vm.set(d.dst, u64::from((vm.r(d.dst) as u16).to_le())) }
            Le32 plain { vm.set(d.dst, u64::from((vm.r(d.dst) as u32).to_le())) }
            Le64 plain { vm.set(d.dst, vm.r(d.dst).to_le()) }
            Be16 plain { vm.set(d.dst, u64::from((vm.r(d.dst) as u16).to_be())) }
            Be32 plain { vm.set(d.dst, u64::from((vm.r(d.dst) as u32).to_be())) }
            Be64 plain { vm.set(d.dst, vm.r(d.dst).to_be()) }

            // ALU, 64-bit; the decoder sign-extended imm.
            Add64K [0x07] plain { vm.set(d.dst, vm.r(d.dst).wrapping_add(d.imm)) }
            Add64X [0x0f] plain { vm.set(d.dst, vm.r(d.dst).wrapping_add(vm.r(d.src))) }
            Sub64K [0x17] plain { vm.set(d.dst, vm.r(d.dst).wrapping_sub(d.imm)) }
            Sub64X [0x1f] plain { vm.set(d.dst, vm.r(d.dst).wrapping_sub(vm.r(d.src))) }
            Mul64K [0x27] plain { vm.set(d.dst, vm.r(d.dst).wrapping_mul(d.imm)) }
            Mul64X [0x2f] plain { vm.set(d.dst, vm.r(d.dst).wrapping_mul(vm.r(d.src))) }
            Div64K [0x37] plain { vm.set(d.dst, vm.r(d.dst).checked_div(d.imm).unwrap_or(0)) }
            Div64X [0x3f] plain { vm.set(d.dst, vm.r(d.dst).checked_div(vm.r(d.src)).unwrap_or(0)) }
            Or64K [0x47] plain { vm.set(d.dst, vm.r(d.dst) | d.imm) }
            Or64X [0x4f] plain { vm.set(d.dst, vm.r(d.dst) | vm.r(d.src)) }
            And64K [0x57] plain { vm.set(d.dst, vm.r(d.dst) & d.imm) }
            And64X [0x5f] plain { vm.set(d.dst, vm.r(d.dst) & vm.r(d.src)) }
            Lsh64K [0x67] plain { vm.set(d.dst, vm.r(d.dst).wrapping_shl(d.imm as u32)) }
            Lsh64X [0x6f] plain { vm.set(d.dst, vm.r(d.dst).wrapping_shl(vm.w(d.src))) }
            Rsh64K [0x77] plain { vm.set(d.dst, vm.r(d.dst).wrapping_shr(d.imm as u32)) }
            Rsh64X [0x7f] plain { vm.set(d.dst, vm.r(d.dst).wrapping_shr(vm.w(d.src))) }
            Neg64 [0x87] plain { vm.set(d.dst, vm.r(d.dst).wrapping_neg()) }
            Mod64K [0x97] plain {
                let a = vm.r(d.dst);
                vm.set(d.dst, a.checked_rem(d.imm).unwrap_or(a))
            }
            Mod64X [0x9f] plain {
                let a = vm.r(d.dst);
                vm.set(d.dst, a.checked_rem(vm.r(d.src)).unwrap_or(a))
            }
            Xor64K [0xa7] plain { vm.set(d.dst, vm.r(d.dst) ^ d.imm) }
            Xor64X [0xaf] plain { vm.set(d.dst, vm.r(d.dst) ^ vm.r(d.src)) }
            Mov64K [0xb7] plain { vm.set(d.dst, d.imm) }
            Mov64X [0xbf] plain { vm.set(d.dst, vm.r(d.src)) }
            Arsh64K [0xc7] plain { vm.set(d.dst, (vm.r(d.dst) as i64).wrapping_shr(d.imm as u32) as u64) }
            Arsh64X [0xcf] plain { vm.set(d.dst, (vm.r(d.dst) as i64).wrapping_shr(vm.w(d.src)) as u64) }

            // Jumps on 64-bit values; the decoder sign-extended imm.
            Ja [0x05] branch { true }
            JeqK [0x15] branch { vm.r(d.dst) == d.imm }
            JeqX [0x1d] branch { vm.r(d.dst) == vm.r(d.src) }
            JgtK [0x25] branch { vm.r(d.dst) > d.imm }
            JgtX [0x2d] branch { vm.r(d.dst) > vm.r(d.src) }
            JgeK [0x35] branch { vm.r(d.dst) >= d.imm }
            JgeX [0x3d] branch { vm.r(d.dst) >= vm.r(d.src) }
            JsetK [0x45] branch { vm.r(d.dst) & d.imm != 0 }
            JsetX [0x4d] branch { vm.r(d.dst) & vm.r(d.src) != 0 }
            JneK [0x55] branch { vm.r(d.dst) != d.imm }
            JneX [0x5d] branch { vm.r(d.dst) != vm.r(d.src) }
            JsgtK [0x65] branch { (vm.r(d.dst) as i64) > d.imm as i64 }
            JsgtX [0x6d] branch { (vm.r(d.dst) as i64) > vm.r(d.src) as i64 }
            JsgeK [0x75] branch { (vm.r(d.dst) as i64) >= d.imm as i64 }
            JsgeX [0x7d] branch { (vm.r(d.dst) as i64) >= vm.r(d.src) as i64 }
            JltK [0xa5] branch { vm.r(d.dst) < d.imm }
            JltX [0xad] branch { vm.r(d.dst) < vm.r(d.src) }
            JleK [0xb5] branch { vm.r(d.dst) <= d.imm }
            JleX [0xbd] branch { vm.r(d.dst) <= vm.r(d.src) }
            JsltK [0xc5] branch { (vm.r(d.dst) as i64) < d.imm as i64 }
            JsltX [0xcd] branch { (vm.r(d.dst) as i64) < vm.r(d.src) as i64 }
            JsleK [0xd5] branch { (vm.r(d.dst) as i64) <= d.imm as i64 }
            JsleX [0xdd] branch { (vm.r(d.dst) as i64) <= vm.r(d.src) as i64 }
            Exit [0x95] exit { vm.w(0) }

            // Helper calls: R0 = helper(R1 = ctx, R2, R3).
            CallNlattr plain { vm.set32(0, vm.skb.nlattr(vm.w(2), vm.w(3))) }
            CallNlattrNest plain { vm.set32(0, vm.skb.nlattr_nest(vm.w(2), vm.w(3))) }
            CallCpu plain { vm.set32(0, vm.ctx().cpu) }

            // Legacy packet loads into R0; a failed load returns 0.
            LdAbsW [0x20] load { vm.skb.load_u32(d.imm as i32) }
            LdAbsH [0x28] load { vm.skb.load_u16(d.imm as i32) }
            LdAbsB [0x30] load { vm.skb.load_u8(d.imm as i32) }
            LdIndW [0x40] load { vm.skb.load_u32(vm.w(d.src).wrapping_add(d.imm as u32) as i32) }
            LdIndH [0x48] load { vm.skb.load_u16(vm.w(d.src).wrapping_add(d.imm as u32) as i32) }
            LdIndB [0x50] load { vm.skb.load_u8(vm.w(d.src).wrapping_add(d.imm as u32) as i32) }

            // 32-bit loads of context fields (through R6).
            LdxLen plain { vm.set32(d.dst, vm.ctx().len) }
            LdxMacHeader plain { vm.set32(d.dst, vm.ctx().mac_header) }
            LdxNetworkHeader plain { vm.set32(d.dst, vm.ctx().network_header) }
            LdxProtocol plain { vm.set32(d.dst, vm.ctx().protocol) }
            LdxPktType plain { vm.set32(d.dst, vm.ctx().pkt_type) }
            LdxDevPresent plain { vm.set32(d.dst, vm.ctx().dev_present) }
            LdxIfindex plain { vm.set32(d.dst, vm.ctx().ifindex) }
            LdxHatype plain { vm.set32(d.dst, vm.ctx().hatype) }
            LdxMark plain { vm.set32(d.dst, vm.ctx().mark) }
            LdxQueueMapping plain { vm.set32(d.dst, vm.ctx().queue_mapping) }
            LdxRxhash plain { vm.set32(d.dst, vm.ctx().rxhash) }
            LdxCpu plain { vm.set32(d.dst, vm.ctx().cpu) }
            LdxVlanTci plain { vm.set32(d.dst, vm.ctx().vlan_tci) }
            LdxVlanPresent plain { vm.set32(d.dst, vm.ctx().vlan_present) }
            LdxVlanTpid plain { vm.set32(d.dst, vm.ctx().vlan_tpid) }

            // 32-bit stack slots (through R10); d.target is the slot.
            LdxStack plain {
                // SAFETY: the decoder proved this slot is written on every
                // path that reaches this instruction.
                vm.set32(d.dst, unsafe { vm.stack_read(d.target) })
            }
            StxStack plain { vm.stack_write(d.target, vm.w(d.src)) }
            StStack plain { vm.stack_write(d.target, d.imm as u32) }
        }
    };
}

pub(crate) use for_each_op;
