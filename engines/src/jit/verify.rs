//! Which eBPF programs an eBPF JIT may compile: a small verifier that proves
//! the native code touches only the context and its own frame and returns
//! what the eBPF interpreters return.
//!
//! The interpreters keep pointer registers as 0 and never form an address;
//! native code holds real pointers. So besides the structural rules
//! (registers R0-R10, R10 never written, jumps forward and inside the
//! program, known helpers, 32-bit memory accesses) one forward pass over
//! the loop-free program tracks, per register, whether it is unwritten, a
//! number, the context pointer or the frame pointer, and which stack words
//! are written (meeting states where paths join):
//! - numbers are what ALU, jumps, stores, packet offsets and `exit` read;
//!   a pointer may only be copied (`mov64`) or used as a load's base;
//! - memory is read only at a 32-bit [`Context`] field through a context
//!   pointer, or at a written, aligned stack word through a frame pointer;
//!   stack words are written through a frame pointer only;
//! - no unwritten register is read, and `exit` is reached with a number.
//!
//! Unreachable instructions are checked for structure only: their code is
//! emitted but never runs. Calls and packet loads keep R1-R5 (the JITs
//! preserve them, as the interpreters do).

use crate::ebpf::insn::{Insn, STACK_BYTES, class, helper, mode, op, reg, size, src};
use crate::jit::{JitError, Reject};
use crate::skb::Context;
use std::mem::size_of;

/// What a register holds at an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    /// Not written on some path.
    Unset,
    /// A number.
    Scalar,
    /// The context pointer.
    Ctx,
    /// The frame pointer (R10 or a copy).
    Frame,
}

/// The abstract state before an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct State {
    regs: [Ty; reg::COUNT],
    /// Bit i: the stack word at `r10 - 4 * (i + 1)` is written.
    stack: u128,
}

impl State {
    fn entry() -> State {
        let mut regs = [Ty::Unset; reg::COUNT];
        regs[usize::from(reg::R1)] = Ty::Ctx;
        regs[usize::from(reg::R10)] = Ty::Frame;
        State { regs, stack: 0 }
    }

    fn meet(&mut self, other: &State) {
        for (a, b) in self.regs.iter_mut().zip(other.regs) {
            if *a != b {
                *a = Ty::Unset;
            }
        }
        self.stack &= other.stack;
    }

    fn ty(&self, r: u8) -> Ty {
        self.regs[usize::from(r)]
    }

    fn set(&mut self, r: u8, t: Ty) {
        self.regs[usize::from(r)] = t;
    }
}

/// A rejection at `pc`.
fn reject(pc: usize, reason: Reject) -> JitError {
    JitError::Rejected { pc, reason }
}

/// An opcode the JIT has no code for.
fn unsupported(pc: usize, insn: Insn, what: &'static str) -> JitError {
    JitError::Unsupported {
        pc,
        code: insn.code.into(),
        what,
    }
}

/// Checks `insns` against the rules of the module doc.
pub fn verify(insns: &[Insn]) -> Result<(), JitError> {
    if insns.is_empty() {
        return Err(reject(0, Reject::FallsOffEnd));
    }
    for (pc, &insn) in insns.iter().enumerate() {
        structure(pc, insn, insns.len())?;
    }
    let mut states: Vec<Option<State>> = vec![None; insns.len()];
    if let Some(first) = states.first_mut() {
        *first = Some(State::entry());
    }
    for pc in 0..insns.len() {
        let Some(mut st) = states[pc] else {
            continue;
        };
        let insn = insns[pc];
        let (falls_through, target) = step(pc, insn, &mut st)?;
        let mut flow = |to: usize| -> Result<(), JitError> {
            let slot = states
                .get_mut(to)
                .ok_or_else(|| reject(pc, Reject::FallsOffEnd))?;
            match slot {
                Some(s) => s.meet(&st),
                None => *slot = Some(st),
            }
            Ok(())
        };
        if let Some(t) = target {
            flow(t)?;
        }
        if falls_through {
            flow(pc + 1)?;
        }
    }
    Ok(())
}

/// The rules about one instruction alone: known opcodes and widths,
/// registers, R10 never written, jumps forward and inside.
fn structure(pc: usize, insn: Insn, len: usize) -> Result<(), JitError> {
    if insn.dst > reg::R10 {
        return Err(reject(pc, Reject::BadRegister(insn.dst)));
    }
    if insn.src > reg::R10 {
        return Err(reject(pc, Reject::BadRegister(insn.src)));
    }
    let o = insn.code & op::MASK;
    match insn.class() {
        class::ALU | class::ALU64 => {
            let ok = match o {
                op::NEG => insn.code & src::MASK == src::K,
                op::END => insn.class() == class::ALU,
                op::ADD | op::SUB | op::MUL | op::DIV | op::OR | op::AND | op::LSH | op::RSH => {
                    true
                }
                op::MOD | op::XOR | op::MOV | op::ARSH => true,
                _ => false,
            };
            if !ok {
                return Err(unsupported(pc, insn, "this ALU operation"));
            }
            if o == op::END && !matches!(insn.imm, 16 | 32 | 64) {
                return Err(reject(pc, Reject::BadSwapWidth(insn.imm)));
            }
            if insn.dst == reg::R10 {
                return Err(reject(pc, Reject::WritesFramePointer));
            }
        }
        class::JMP => match o {
            op::CALL => {
                if helper::name(insn.imm).is_none() {
                    return Err(reject(pc, Reject::UnknownHelper(insn.imm)));
                }
            }
            op::EXIT => {}
            op::JA if insn.code & src::MASK == src::X => {
                return Err(unsupported(pc, insn, "this jump"));
            }
            op::JA
            | op::JEQ
            | op::JGT
            | op::JGE
            | op::JSET
            | op::JNE
            | op::JSGT
            | op::JSGE
            | op::JLT
            | op::JLE
            | op::JSLT
            | op::JSLE => {
                if insn.off < 0 {
                    return Err(reject(pc, Reject::BackwardJump));
                }
                if pc + 1 + insn.off as usize >= len {
                    return Err(reject(pc, Reject::JumpOutOfRange));
                }
            }
            _ => return Err(unsupported(pc, insn, "this jump")),
        },
        class::LDX if insn.code == class::LDX | size::W | mode::MEM => {
            if insn.dst == reg::R10 {
                return Err(reject(pc, Reject::WritesFramePointer));
            }
        }
        class::STX if insn.code == class::STX | size::W | mode::MEM => {}
        class::ST if insn.code == class::ST | size::W | mode::MEM => {}
        class::LD => {
            let m = insn.code & mode::MASK;
            if !matches!(m, mode::ABS | mode::IND) || insn.code & size::MASK == size::DW {
                return Err(unsupported(pc, insn, "this load"));
            }
        }
        _ => return Err(unsupported(pc, insn, "this instruction")),
    }
    Ok(())
}

/// Applies a reachable instruction to `st`; returns whether it falls
/// through and where it jumps.
fn step(pc: usize, insn: Insn, st: &mut State) -> Result<(bool, Option<usize>), JitError> {
    let scalar = |st: &State, r: u8| -> Result<(), JitError> {
        match st.ty(r) {
            Ty::Scalar => Ok(()),
            Ty::Unset => Err(reject(pc, Reject::Uninitialized(r))),
            Ty::Ctx | Ty::Frame => Err(reject(pc, Reject::PointerAsNumber(r))),
        }
    };
    let from_x = insn.code & src::MASK == src::X;
    let o = insn.code & op::MASK;
    match insn.class() {
        class::ALU | class::ALU64 => {
            if o == op::MOV {
                if !from_x {
                    st.set(insn.dst, Ty::Scalar);
                } else if insn.class() == class::ALU64 {
                    let t = st.ty(insn.src);
                    if t == Ty::Unset {
                        return Err(reject(pc, Reject::Uninitialized(insn.src)));
                    }
                    st.set(insn.dst, t);
                } else {
                    scalar(st, insn.src)?;
                    st.set(insn.dst, Ty::Scalar);
                }
            } else if from_x && matches!(o, op::XOR | op::SUB) && insn.dst == insn.src {
                // `r ^= r` and `r -= r` give 0 whatever r held.
                st.set(insn.dst, Ty::Scalar);
            } else {
                scalar(st, insn.dst)?;
                if from_x && o != op::END {
                    scalar(st, insn.src)?;
                }
                st.set(insn.dst, Ty::Scalar);
            }
        }
        class::JMP => match o {
            op::EXIT => {
                scalar(st, reg::R0)?;
                return Ok((false, None));
            }
            op::CALL => {
                if insn.imm != helper::CPU {
                    scalar(st, reg::R2)?;
                    scalar(st, reg::R3)?;
                }
                st.set(reg::R0, Ty::Scalar);
            }
            op::JA => return Ok((false, Some(pc + 1 + insn.off as usize))),
            _ => {
                scalar(st, insn.dst)?;
                if from_x {
                    scalar(st, insn.src)?;
                }
                return Ok((true, Some(pc + 1 + insn.off as usize)));
            }
        },
        class::LDX => {
            match st.ty(insn.src) {
                Ty::Ctx => context_field(pc, insn.off)?,
                Ty::Frame => {
                    let bit = stack_word(pc, insn.off)?;
                    if st.stack & bit == 0 {
                        return Err(reject(pc, Reject::UninitializedStack(insn.off)));
                    }
                }
                _ => return Err(reject(pc, Reject::NotAPointer(insn.src))),
            }
            st.set(insn.dst, Ty::Scalar);
        }
        class::STX | class::ST => {
            if st.ty(insn.dst) != Ty::Frame {
                return Err(reject(pc, Reject::NotAPointer(insn.dst)));
            }
            if insn.class() == class::STX {
                scalar(st, insn.src)?;
            }
            st.stack |= stack_word(pc, insn.off)?;
        }
        _ => {
            // LD ABS / LD IND: R0 = packet bytes.
            if insn.code & mode::MASK == mode::IND {
                scalar(st, insn.src)?;
            }
            st.set(reg::R0, Ty::Scalar);
        }
    }
    Ok((true, None))
}

/// A 32-bit context field at `off`.
fn context_field(pc: usize, off: i16) -> Result<(), JitError> {
    let ok = off >= 0 && off % 4 == 0 && (off as usize) + 4 <= size_of::<Context>();
    if ok {
        Ok(())
    } else {
        Err(reject(pc, Reject::ContextOffset(off)))
    }
}

/// The stack-word bit of `r10 + off`.
fn stack_word(pc: usize, off: i16) -> Result<u128, JitError> {
    let o = i32::from(off);
    if o < -(STACK_BYTES as i32) || o > -4 || o % 4 != 0 {
        return Err(reject(pc, Reject::StackOffset(off)));
    }
    Ok(1u128 << ((-o / 4) - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ebpf::insn::{Insn, op as eop, reg::*, size::W};

    fn prologue() -> Vec<Insn> {
        vec![
            Insn::alu32_reg(eop::XOR, R0, R0),
            Insn::alu64_reg(eop::MOV, R6, R1),
        ]
    }

    fn rejected(body: Vec<Insn>) -> JitError {
        let mut p = prologue();
        p.extend(body);
        verify(&p).expect_err("the verifier should refuse this")
    }

    fn accepted(body: Vec<Insn>) {
        let mut p = prologue();
        p.extend(body);
        verify(&p).expect("the verifier should accept this");
    }

    #[test]
    fn the_converter_shapes_pass() {
        accepted(vec![
            Insn::ldx_mem(W, R0, R6, 0),
            Insn::stx_mem(W, R10, R0, -4),
            Insn::ldx_mem(W, R7, R10, -4),
            Insn::ld_ind(W, R7, 14),
            Insn::jmp_imm(eop::JEQ, R0, 5, 1),
            Insn::exit(),
            Insn::alu64_reg(eop::MOV, R1, R6),
            Insn::alu32_reg(eop::MOV, R2, R0),
            Insn::alu32_reg(eop::MOV, R3, R7),
            Insn::call(helper::NLATTR),
            Insn::exit(),
        ]);
    }

    #[test]
    fn pointers_are_not_numbers() {
        assert_eq!(
            rejected(vec![Insn::alu64_reg(eop::MOV, R0, R1), Insn::exit()]),
            reject(3, Reject::PointerAsNumber(R0))
        );
        assert_eq!(
            rejected(vec![Insn::alu64_imm(eop::ADD, R6, 8), Insn::exit()]),
            reject(2, Reject::PointerAsNumber(R6))
        );
        assert_eq!(
            rejected(vec![Insn::alu32_reg(eop::MOV, R0, R10), Insn::exit()]),
            reject(2, Reject::PointerAsNumber(R10))
        );
    }

    #[test]
    fn memory_goes_through_known_pointers() {
        assert_eq!(
            rejected(vec![Insn::ldx_mem(W, R0, R0, 0), Insn::exit()]),
            reject(2, Reject::NotAPointer(R0))
        );
        assert_eq!(
            rejected(vec![Insn::ldx_mem(W, R0, R6, 60), Insn::exit()]),
            reject(2, Reject::ContextOffset(60))
        );
        assert_eq!(
            rejected(vec![Insn::ldx_mem(W, R0, R6, 2), Insn::exit()]),
            reject(2, Reject::ContextOffset(2))
        );
        assert_eq!(
            rejected(vec![Insn::stx_mem(W, R6, R0, 0), Insn::exit()]),
            reject(2, Reject::NotAPointer(R6))
        );
        assert_eq!(
            rejected(vec![Insn::st_mem(W, R10, -516, 1), Insn::exit()]),
            reject(2, Reject::StackOffset(-516))
        );
        assert_eq!(
            rejected(vec![Insn::ldx_mem(W, R0, R10, -8), Insn::exit()]),
            reject(2, Reject::UninitializedStack(-8))
        );
        accepted(vec![
            Insn::alu64_reg(eop::MOV, R2, R10),
            Insn::st_mem(W, R2, -512, 1),
            Insn::ldx_mem(W, R0, R10, -512),
            Insn::ldx_mem(W, R0, R1, 56),
            Insn::exit(),
        ]);
    }

    #[test]
    fn states_meet_where_paths_join() {
        // The store happens on one path only.
        assert_eq!(
            rejected(vec![
                Insn::jmp_imm(eop::JEQ, R0, 0, 1),
                Insn::stx_mem(W, R10, R0, -4),
                Insn::ldx_mem(W, R0, R10, -4),
                Insn::exit(),
            ]),
            reject(4, Reject::UninitializedStack(-4))
        );
        assert_eq!(
            rejected(vec![
                Insn::jmp_imm(eop::JEQ, R0, 0, 1),
                Insn::alu32_imm(eop::MOV, R3, 1),
                Insn::alu32_reg(eop::ADD, R0, R3),
                Insn::exit(),
            ]),
            reject(4, Reject::Uninitialized(R3))
        );
        // Unreachable code is not held to the dataflow rules.
        accepted(vec![
            Insn::exit(),
            Insn::ldx_mem(W, R0, R3, 0),
            Insn::exit(),
        ]);
    }

    #[test]
    fn structure() {
        assert_eq!(
            rejected(vec![Insn::ja(-1), Insn::exit()]),
            reject(2, Reject::BackwardJump)
        );
        assert_eq!(
            rejected(vec![Insn::ja(1), Insn::exit()]),
            reject(2, Reject::JumpOutOfRange)
        );
        assert_eq!(
            rejected(vec![Insn::alu32_imm(eop::MOV, R0, 1)]),
            reject(2, Reject::FallsOffEnd)
        );
        assert_eq!(
            rejected(vec![Insn::alu64_imm(eop::MOV, R10, 1), Insn::exit()]),
            reject(2, Reject::WritesFramePointer)
        );
        assert_eq!(
            rejected(vec![Insn::call(99), Insn::exit()]),
            reject(2, Reject::UnknownHelper(99))
        );
        assert_eq!(
            rejected(vec![Insn::new(0x04, 11, 0, 0, 0), Insn::exit()]),
            reject(2, Reject::BadRegister(11))
        );
        assert_eq!(
            rejected(vec![Insn::new(0xd4, R0, 0, 0, 8), Insn::exit()]),
            reject(2, Reject::BadSwapWidth(8))
        );
        assert!(matches!(
            rejected(vec![Insn::new(0x18, R0, 0, 0, 1), Insn::exit()]),
            JitError::Unsupported { pc: 2, .. }
        ));
        assert!(matches!(
            rejected(vec![
                Insn::ldx_mem(crate::ebpf::insn::size::DW, R0, R6, 0),
                Insn::exit()
            ]),
            JitError::Unsupported { pc: 2, .. }
        ));
        assert_eq!(verify(&[]), Err(reject(0, Reject::FallsOffEnd)));
    }
}
