//! The attach-time step both eBPF interpreters share: validate a program and
//! decode it into one `Decoded` entry per instruction (an opcode from the
//! `for_each_op` table, jump targets as absolute indices, immediates
//! sign-extended, memory operands resolved to a context field or a stack
//! slot), so that nothing is decoded per call and the interpreters never
//! form an address from a register.
//!
//! The rules, each refused with its own [`DecodeError`]:
//! - registers are R0-R10 and R10 is never written;
//! - jumps go forward (no loops, so every run ends) and stay inside the
//!   program, whose last instruction is `exit`;
//! - memory accesses are 32-bit, either loads of a [`Context`] field through
//!   R6 or loads and stores of a stack slot `r10 - 4 .. r10 - 512`, aligned;
//! - R6 is the context: it is set by `r6 = r1` before any jump, call or
//!   write to R1 (so R1 still holds the context), is never written again,
//!   and no context load or packet load comes before it;
//! - a stack slot is written on every path before it is read;
//! - calls name a known helper.
//!
//! Opcodes outside the table (64-bit immediates, JMP32, atomics, ALU64
//! byte swaps) are refused too.

use super::insn::{Insn, class, end, helper, mode, op, reg, size, src};
use super::ops::{STACK_SLOTS, for_each_op};
use crate::skb::Context;
use std::mem::{offset_of, size_of};
use thiserror::Error;

/// Whether a table row's kind is `branch`.
macro_rules! kind_is_branch {
    (branch) => {
        true
    };
    ($other:ident) => {
        false
    };
}

/// Expands the op table into the [`Op`] enum and its opcode map.
macro_rules! gen_op_enum {
    ($vm:ident, $d:ident; $($name:ident $([$code:literal])? $kind:ident $body:block)*) => {
        /// One behaviour of the op table, the unit the interpreters dispatch on.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Op {
            $($name,)*
        }

        impl Op {
            /// The op that opcode `code` always means, if it means one
            /// independent of its operands.
            fn from_code(code: u8) -> Option<Op> {
                match code {
                    $($($code => Some(Op::$name),)?)*
                    _ => None,
                }
            }

            /// Whether the op is a jump to `target`.
            pub(crate) fn is_branch(self) -> bool {
                match self {
                    $(Op::$name => kind_is_branch!($kind),)*
                }
            }
        }
    };
}

for_each_op!(gen_op_enum);

/// One instruction decoded for the interpreters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// The immediate, sign-extended to 64 bits.
    pub(crate) imm: u64,
    /// Jumps: the index taken; stack accesses: the slot; otherwise 0.
    pub(crate) target: u32,
    /// What the instruction does.
    pub(crate) op: Op,
    /// Destination register.
    pub(crate) dst: u8,
    /// Source register.
    pub(crate) src: u8,
}

/// Why an eBPF program cannot run on bpflab's interpreters.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    /// No instructions.
    #[error("the eBPF program is empty")]
    Empty,
    /// More instructions than a 32-bit index holds.
    #[error("the eBPF program has {len} instructions, too many to index")]
    TooLong {
        /// The program's length.
        len: usize,
    },
    /// An opcode the interpreters do not run.
    #[error("eBPF instruction {pc} ({insn}): opcode {:#04x} is not supported", insn.code)]
    UnsupportedOpcode {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
    /// A register number above R10.
    #[error("eBPF instruction {pc} ({insn}): register number above r10")]
    BadRegister {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
    /// A write to the read-only frame pointer.
    #[error("eBPF instruction {pc} ({insn}): r10 is read-only")]
    WritesFramePointer {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
    /// A jump backwards or to itself: loops are not allowed.
    #[error("eBPF instruction {pc} ({insn}): jumps must go forward")]
    BackwardJump {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
    /// A jump past the last instruction.
    #[error("eBPF instruction {pc} ({insn}): jump target {target} is outside the program")]
    JumpOutOfRange {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
        /// The target index it names.
        target: i64,
    },
    /// The last instruction is not `exit`, so a run could fall off the end.
    #[error("eBPF instruction {pc} ({insn}): the last instruction must be exit")]
    NoFinalExit {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
    /// A memory access the interpreters cannot resolve at attach.
    #[error("eBPF instruction {pc} ({insn}): {why}")]
    BadMemory {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A call to a helper bpflab does not have.
    #[error("eBPF instruction {pc} ({insn}): unknown helper {}", insn.imm)]
    UnknownHelper {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
    /// A context or packet load where R6 is not known to hold the context.
    #[error(
        "eBPF instruction {pc} ({insn}): needs the context in r6, set by `r6 = r1` before any jump, call or write to r1"
    )]
    ContextNotSet {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
    /// A write to R6 other than the one `r6 = r1` that sets the context.
    #[error(
        "eBPF instruction {pc} ({insn}): r6 holds the context and is written only once, by `r6 = r1` before any jump, call or write to r1"
    )]
    ContextOverwritten {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
    /// A stack slot that may be read before it is written.
    #[error("eBPF instruction {pc} ({insn}): the stack slot may be read before it is written")]
    UninitializedStack {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
}

/// The context fields a 32-bit load through R6 may read, by offset.
const CTX_FIELDS: [(usize, Op); 15] = [
    (offset_of!(Context, len), Op::LdxLen),
    (offset_of!(Context, mac_header), Op::LdxMacHeader),
    (offset_of!(Context, network_header), Op::LdxNetworkHeader),
    (offset_of!(Context, protocol), Op::LdxProtocol),
    (offset_of!(Context, pkt_type), Op::LdxPktType),
    (offset_of!(Context, dev_present), Op::LdxDevPresent),
    (offset_of!(Context, ifindex), Op::LdxIfindex),
    (offset_of!(Context, hatype), Op::LdxHatype),
    (offset_of!(Context, mark), Op::LdxMark),
    (offset_of!(Context, queue_mapping), Op::LdxQueueMapping),
    (offset_of!(Context, rxhash), Op::LdxRxhash),
    (offset_of!(Context, cpu), Op::LdxCpu),
    (offset_of!(Context, vlan_tci), Op::LdxVlanTci),
    (offset_of!(Context, vlan_present), Op::LdxVlanPresent),
    (offset_of!(Context, vlan_tpid), Op::LdxVlanTpid),
];

// Every Context field is a u32 listed above: a new field must be added here.
const _: () = assert!(size_of::<Context>() == CTX_FIELDS.len() * 4);

/// Validates `insns` and decodes them for the interpreters.
pub(crate) fn decode(insns: &[Insn]) -> Result<Vec<Decoded>, DecodeError> {
    let len = insns.len();
    let Some(&last) = insns.last() else {
        return Err(DecodeError::Empty);
    };
    if u32::try_from(len).is_err() {
        return Err(DecodeError::TooLong { len });
    }
    let code = insns
        .iter()
        .enumerate()
        .map(|(pc, &insn)| decode_one(pc, insn, len))
        .collect::<Result<Vec<_>, _>>()?;
    if last != Insn::exit() {
        return Err(DecodeError::NoFinalExit {
            pc: len - 1,
            insn: last,
        });
    }
    check_context(insns)?;
    check_stack(insns, &code)?;
    Ok(code)
}

/// Decodes one instruction on its own.
fn decode_one(pc: usize, insn: Insn, len: usize) -> Result<Decoded, DecodeError> {
    if usize::from(insn.dst) >= reg::COUNT || usize::from(insn.src) >= reg::COUNT {
        return Err(DecodeError::BadRegister { pc, insn });
    }
    let writes_dst = matches!(insn.class(), class::ALU | class::ALU64 | class::LDX);
    if writes_dst && insn.dst == reg::R10 {
        return Err(DecodeError::WritesFramePointer { pc, insn });
    }
    let mut d = Decoded {
        imm: insn.imm as i64 as u64,
        target: 0,
        op: Op::Exit,
        dst: insn.dst,
        src: insn.src,
    };
    let unsupported = DecodeError::UnsupportedOpcode { pc, insn };
    if let Some(op) = Op::from_code(insn.code) {
        d.op = op;
        if op.is_branch() {
            if insn.off < 0 {
                return Err(DecodeError::BackwardJump { pc, insn });
            }
            let target = pc as i64 + 1 + i64::from(insn.off);
            d.target = u32::try_from(target)
                .ok()
                .filter(|&t| (t as usize) < len)
                .ok_or(DecodeError::JumpOutOfRange { pc, insn, target })?;
        }
        return Ok(d);
    }
    let memory = |why| DecodeError::BadMemory { pc, insn, why };
    let c = insn.code;
    match c & class::MASK {
        class::ALU if c & op::MASK == op::END => {
            let to_be = c & src::MASK == end::TO_BE;
            d.op = match (to_be, insn.imm) {
                (false, 16) => Op::Le16,
                (false, 32) => Op::Le32,
                (false, 64) => Op::Le64,
                (true, 16) => Op::Be16,
                (true, 32) => Op::Be32,
                (true, 64) => Op::Be64,
                _ => return Err(unsupported),
            };
        }
        class::JMP if c == class::JMP | op::CALL => {
            d.op = match insn.imm {
                helper::NLATTR => Op::CallNlattr,
                helper::NLATTR_NEST => Op::CallNlattrNest,
                helper::CPU => Op::CallCpu,
                _ => return Err(DecodeError::UnknownHelper { pc, insn }),
            };
        }
        class::LDX | class::ST | class::STX => {
            if c & mode::MASK != mode::MEM {
                return Err(unsupported);
            }
            if c & size::MASK != size::W {
                return Err(memory("only 32-bit memory accesses are supported"));
            }
            let base = if insn.class() == class::LDX {
                insn.src
            } else {
                insn.dst
            };
            match base {
                reg::R6 if insn.class() == class::LDX => {
                    d.op = usize::try_from(insn.off)
                        .ok()
                        .and_then(|off| CTX_FIELDS.iter().find(|(o, _)| *o == off))
                        .map(|&(_, op)| op)
                        .ok_or(memory(
                            "the offset is not a context field (32-bit, aligned)",
                        ))?;
                }
                reg::R6 => return Err(memory("the context is read-only")),
                reg::R10 => {
                    let off = i32::from(insn.off);
                    if off >= 0 || off < -(STACK_SLOTS as i32 * 4) || off % 4 != 0 {
                        return Err(memory(
                            "stack offsets are aligned and within r10-512 .. r10-4",
                        ));
                    }
                    d.target = (-off / 4 - 1) as u32;
                    d.op = match insn.class() {
                        class::LDX => Op::LdxStack,
                        class::STX => Op::StxStack,
                        _ => Op::StStack,
                    };
                }
                _ => {
                    return Err(memory(
                        "memory is addressed through r6 (context) or r10 (stack) only",
                    ));
                }
            }
        }
        _ => return Err(unsupported),
    }
    Ok(d)
}

/// The R6-is-the-context rule (see the module doc). Jumps only go forward,
/// so an `r6 = r1` with no jump, call or R1 write before it runs before
/// every later instruction that is reached at all.
fn check_context(insns: &[Insn]) -> Result<(), DecodeError> {
    let set_ctx = Insn::alu64_reg(op::MOV, reg::R6, reg::R1);
    let mut set = false;
    let mut r1_lost = false;
    for (pc, &insn) in insns.iter().enumerate() {
        let c = insn.code;
        let is_load = c & class::MASK == class::LD;
        let is_call = c == class::JMP | op::CALL;
        let reads_ctx = is_load || (insn.class() == class::LDX && insn.src == reg::R6);
        // Registers the instruction may write; loads and calls clobber R0-R5.
        let writes: u16 = match insn.class() {
            class::ALU | class::ALU64 | class::LDX => 1 << insn.dst,
            _ if is_load || is_call => 0x3f,
            _ => 0,
        };
        if insn == set_ctx && !set && !r1_lost {
            set = true;
            continue;
        }
        if writes & (1 << reg::R6) != 0 {
            return Err(DecodeError::ContextOverwritten { pc, insn });
        }
        if reads_ctx && !set {
            return Err(DecodeError::ContextNotSet { pc, insn });
        }
        let is_jump = insn.class() == class::JMP && !is_call && c != Insn::exit().code;
        if is_jump || writes & (1 << reg::R1) != 0 {
            r1_lost = true;
        }
    }
    Ok(())
}

/// The stack rule: a forward pass carrying the set of slots written on the
/// fall-through path; a jump target's set is the intersection over its
/// incoming edges, and after `goto` or `exit` only those edges count.
fn check_stack(insns: &[Insn], code: &[Decoded]) -> Result<(), DecodeError> {
    if !code
        .iter()
        .any(|d| matches!(d.op, Op::LdxStack | Op::StxStack | Op::StStack))
    {
        return Ok(());
    }
    let mut incoming = vec![u128::MAX; code.len()];
    let mut written: u128 = 0;
    for (pc, d) in code.iter().enumerate() {
        written &= incoming[pc];
        let bit = 1u128 << (d.target % 128);
        match d.op {
            Op::LdxStack if written & bit == 0 => {
                return Err(DecodeError::UninitializedStack {
                    pc,
                    insn: insns[pc],
                });
            }
            Op::StxStack | Op::StStack => written |= bit,
            Op::Ja => {
                incoming[d.target as usize] &= written;
                written = u128::MAX;
            }
            Op::Exit => written = u128::MAX,
            op if op.is_branch() => incoming[d.target as usize] &= written,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ebpf::insn::reg::*;

    fn prologue() -> Vec<Insn> {
        vec![Insn::alu64_reg(op::MOV, R6, R1)]
    }

    fn err(mut body: Vec<Insn>) -> DecodeError {
        body.push(Insn::exit());
        decode(&body).expect_err("the decoder should refuse this program")
    }

    #[test]
    fn minimal_programs() {
        assert_eq!(decode(&[]), Err(DecodeError::Empty));
        assert!(decode(&[Insn::exit()]).is_ok());
        let mov = Insn::alu32_imm(op::MOV, R0, 1);
        assert_eq!(
            decode(&[mov]),
            Err(DecodeError::NoFinalExit { pc: 0, insn: mov })
        );
    }

    #[test]
    fn opcode_table_matches_the_constructors() {
        let d = |insn: Insn| decode_one(0, insn, 4).map(|d| d.op);
        assert_eq!(d(Insn::alu32_reg(op::XOR, R0, R0)), Ok(Op::Xor32X));
        assert_eq!(d(Insn::alu64_reg(op::MOV, R6, R1)), Ok(Op::Mov64X));
        assert_eq!(d(Insn::alu32_imm(op::ARSH, R0, 1)), Ok(Op::Arsh32K));
        assert_eq!(d(Insn::alu64_imm(op::NEG, R0, 0)), Ok(Op::Neg64));
        assert_eq!(d(Insn::jmp_imm(op::JSLE, R0, 1, 0)), Ok(Op::JsleK));
        assert_eq!(d(Insn::jmp_reg(op::JLT, R0, R1, 0)), Ok(Op::JltX));
        assert_eq!(d(Insn::ld_ind(size::H, R7, 1)), Ok(Op::LdIndH));
        assert_eq!(d(Insn::ld_abs(size::B, 1)), Ok(Op::LdAbsB));
        assert_eq!(d(Insn::call(helper::CPU)), Ok(Op::CallCpu));
        let be16 = Insn::new(class::ALU | op::END | end::TO_BE, R0, 0, 0, 16);
        assert_eq!(d(be16), Ok(Op::Be16));
        let offsets = [
            (0, Op::LdxLen),
            (12, Op::LdxProtocol),
            (56, Op::LdxVlanTpid),
        ];
        for (off, op) in offsets {
            assert_eq!(d(Insn::ldx_mem(size::W, R0, R6, off)), Ok(op));
        }
        let stack = decode_one(0, Insn::stx_mem(size::W, R10, R0, -8), 4);
        assert_eq!(stack.map(|d| (d.op, d.target)), Ok((Op::StxStack, 1)));
    }

    #[test]
    fn immediates_are_sign_extended_and_targets_absolute() {
        let d = decode_one(3, Insn::jmp_imm(op::JEQ, R0, -1, 2), 8);
        assert_eq!(d.map(|d| (d.imm, d.target)), Ok((u64::MAX, 6)));
    }

    #[test]
    fn registers_and_frame_pointer() {
        let bad = Insn::alu64_reg(op::MOV, R0, 11);
        assert_eq!(
            err(vec![bad]),
            DecodeError::BadRegister { pc: 0, insn: bad }
        );
        let fp = Insn::alu64_imm(op::ADD, R10, 8);
        assert_eq!(
            err(vec![fp]),
            DecodeError::WritesFramePointer { pc: 0, insn: fp }
        );
    }

    #[test]
    fn jumps_go_forward_and_stay_inside() {
        let back = Insn::ja(-1);
        assert_eq!(
            err(vec![back]),
            DecodeError::BackwardJump { pc: 0, insn: back }
        );
        let out = Insn::jmp_imm(op::JEQ, R0, 0, 1);
        assert_eq!(
            err(vec![out]),
            DecodeError::JumpOutOfRange {
                pc: 0,
                insn: out,
                target: 2
            }
        );
        assert!(decode(&[Insn::jmp_imm(op::JEQ, R0, 0, 0), Insn::exit()]).is_ok());
    }

    #[test]
    fn unsupported_opcodes() {
        for insn in [
            Insn::new(class::LD | size::DW | mode::IMM, R0, 0, 0, 1),
            Insn::new(class::JMP32 | op::JEQ, R0, 0, 0, 1),
            Insn::new(class::ALU64 | op::END, R0, 0, 0, 16),
            Insn::new(class::ALU | op::END, R0, 0, 0, 8),
            Insn::new(class::STX | size::W | mode::ATOMIC, R10, R0, -4, 0),
            Insn::new(class::ALU | op::NEG | src::X, R0, 0, 0, 0),
        ] {
            assert_eq!(
                err(vec![insn]),
                DecodeError::UnsupportedOpcode { pc: 0, insn }
            );
        }
        let call = Insn::call(42);
        assert_eq!(
            err(vec![call]),
            DecodeError::UnknownHelper { pc: 0, insn: call }
        );
    }

    #[test]
    fn memory_operands() {
        let refused = [
            Insn::ldx_mem(size::H, R0, R6, 0),
            Insn::ldx_mem(size::W, R0, R6, 2),
            Insn::ldx_mem(size::W, R0, R6, 60),
            Insn::ldx_mem(size::W, R0, R6, -4),
            Insn::ldx_mem(size::W, R0, R10, 0),
            Insn::ldx_mem(size::W, R0, R10, -516),
            Insn::ldx_mem(size::W, R0, R10, -6),
            Insn::ldx_mem(size::W, R0, R1, 0),
            Insn::stx_mem(size::W, R6, R0, 0),
            Insn::st_mem(size::W, R2, 0, 0),
            Insn::stx_mem(size::DW, R10, R0, -8),
        ];
        for insn in refused {
            let mut p = prologue();
            p.push(insn);
            assert!(
                matches!(err(p), DecodeError::BadMemory { pc: 1, .. }),
                "{insn}"
            );
        }
        let mut p = prologue();
        p.extend([
            Insn::st_mem(size::W, R10, -512, 1),
            Insn::ldx_mem(size::W, R0, R10, -512),
            Insn::exit(),
        ]);
        assert!(decode(&p).is_ok());
    }

    #[test]
    fn context_register_rule() {
        let load = Insn::ld_abs(size::B, 0);
        assert_eq!(
            err(vec![load]),
            DecodeError::ContextNotSet { pc: 0, insn: load }
        );
        let ldx = Insn::ldx_mem(size::W, R0, R6, 0);
        let set = Insn::alu64_reg(op::MOV, R6, R1);
        // A jump before the set may skip it.
        let jump = Insn::jmp_imm(op::JEQ, R0, 0, 1);
        assert_eq!(
            err(vec![jump, set, ldx]),
            DecodeError::ContextOverwritten { pc: 1, insn: set }
        );
        // R1 no longer holds the context.
        let clobber = Insn::alu64_imm(op::MOV, R1, 0);
        assert_eq!(
            err(vec![clobber, set, ldx]),
            DecodeError::ContextOverwritten { pc: 1, insn: set }
        );
        let write = Insn::alu64_imm(op::ADD, R6, 4);
        assert_eq!(
            err(vec![set, write]),
            DecodeError::ContextOverwritten { pc: 1, insn: write }
        );
        assert!(decode(&[set, ldx, load, Insn::exit()]).is_ok());
        // Programs that never use the context need no set.
        assert!(decode(&[Insn::alu32_imm(op::MOV, R0, 7), Insn::exit()]).is_ok());
    }

    #[test]
    fn stack_is_written_before_read() {
        let st = Insn::stx_mem(size::W, R10, R0, -4);
        let ld = Insn::ldx_mem(size::W, R0, R10, -4);
        assert_eq!(
            err(vec![ld]),
            DecodeError::UninitializedStack { pc: 0, insn: ld }
        );
        assert!(decode(&[st, ld, Insn::exit()]).is_ok());
        // Written on one path only.
        let skip = Insn::jmp_imm(op::JEQ, R0, 0, 1);
        assert_eq!(
            err(vec![skip, st, ld]),
            DecodeError::UninitializedStack { pc: 2, insn: ld }
        );
        // Written on both paths; the dead code after exit reads nothing.
        let ok = [
            Insn::jmp_imm(op::JEQ, R0, 0, 2),
            st,
            Insn::ja(1),
            Insn::st_mem(size::W, R10, -4, 9),
            ld,
            Insn::exit(),
        ];
        assert!(decode(&ok).is_ok());
        // After `exit` only incoming edges count.
        let after_exit = [skip, Insn::exit(), st, ld, Insn::exit()];
        assert!(decode(&after_exit).is_ok());
        let to_ld = Insn::jmp_imm(op::JEQ, R0, 0, 2);
        let unwritten = [to_ld, st, Insn::exit(), ld, Insn::exit()];
        assert_eq!(
            decode(&unwritten),
            Err(DecodeError::UninitializedStack { pc: 3, insn: ld })
        );
    }
}
