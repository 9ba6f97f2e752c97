//! The classic BPF checker: Linux's rules for accepting a filter
//! (`sk_chk_filter`, later `bpf_check_classic`), as a [`Program`] that can
//! only be built by passing them.

use super::insn::{Insn, MAX_INSNS, MEM_WORDS, ancillary, class, code, mode, op, size, skf, src};
use thiserror::Error;

/// A classic program that passed [`check`]: every engine may rely on its
/// rules (jumps forward and in range, the last instruction a return,
/// scratch memory written before it is read, no constant division by 0,
/// known ancillary fields, shifts by constants below 32).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    insns: Vec<Insn>,
}

impl Program {
    /// The instructions, exactly as given to [`check`].
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// Number of instructions (1..=4096).
    pub fn len(&self) -> usize {
        self.insns.len()
    }

    /// Always false: a checked program has at least one instruction.
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }
}

/// Why the checker refused a program; each names the instruction and rule.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CheckError {
    /// No instructions.
    #[error("the program is empty: a filter has 1 to {MAX_INSNS} instructions")]
    Empty,
    /// More than `BPF_MAXINSNS` instructions.
    #[error("the program has {len} instructions: at most {MAX_INSNS} are allowed")]
    TooLong {
        /// The program's length.
        len: usize,
    },
    /// An opcode Linux does not accept.
    #[error("instruction {pc} ({insn}): opcode {:#x} is not an instruction Linux accepts", insn.code)]
    BadOpcode {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
    /// DIV or MOD by the constant 0.
    #[error("instruction {pc} ({}): division or modulo by the constant 0", insn.disasm(*pc))]
    DivisionByZero {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
    /// LSH or RSH by a constant of 32 or more (a Linux 5.x rule).
    #[error("instruction {pc} ({}): shift by the constant {} (must be below 32)", insn.disasm(*pc), insn.k)]
    ShiftTooLarge {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
    /// A scratch memory index outside `M[0]`..`M[15]`.
    #[error("instruction {pc} ({}): scratch memory index {} is out of range (M[0] to M[15])", insn.disasm(*pc), insn.k)]
    ScratchIndex {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
    /// A jump whose target lies past the last instruction.
    #[error("instruction {pc} ({}): jump target {target} is past the last instruction ({})", insn.disasm(*pc), len - 1)]
    JumpOutOfRange {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
        /// The target it names.
        target: u64,
        /// The program's length.
        len: usize,
    },
    /// LD ABS in the ancillary window at an offset Linux does not know.
    #[error("instruction {pc} ({}): unknown ancillary field SKF_AD_OFF + {off}", insn.disasm(*pc))]
    UnknownAncillary {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
        /// Offset within the ancillary window.
        off: u32,
    },
    /// An ancillary field Linux knows but bpflab cannot run identically on
    /// every engine.
    #[error("instruction {pc} ({}): ancillary field {name} is not supported by bpflab: {why}", insn.disasm(*pc))]
    UnsupportedAncillary {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
        /// The field's name.
        name: &'static str,
        /// Why it is not supported.
        why: &'static str,
    },
    /// The last instruction is not RET.
    #[error("instruction {pc} ({}): the last instruction must be a return (ret #k or ret a)", insn.disasm(*pc))]
    NoFinalReturn {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
    /// A scratch slot read on a path where it was never written.
    #[error("instruction {pc} ({}): M[{}] may be read before it is written", insn.disasm(*pc), insn.k)]
    UninitializedScratch {
        /// Instruction index.
        pc: usize,
        /// The instruction.
        insn: Insn,
    },
}

impl CheckError {
    /// The index of the offending instruction, when one is to blame.
    pub fn pc(&self) -> Option<usize> {
        match self {
            CheckError::Empty | CheckError::TooLong { .. } => None,
            CheckError::BadOpcode { pc, .. }
            | CheckError::DivisionByZero { pc, .. }
            | CheckError::ShiftTooLarge { pc, .. }
            | CheckError::ScratchIndex { pc, .. }
            | CheckError::JumpOutOfRange { pc, .. }
            | CheckError::UnknownAncillary { pc, .. }
            | CheckError::UnsupportedAncillary { pc, .. }
            | CheckError::NoFinalReturn { pc, .. }
            | CheckError::UninitializedScratch { pc, .. } => Some(*pc),
        }
    }
}

/// Whether Linux accepts `code` as a classic socket-filter opcode.
pub fn is_valid_opcode(c: u16) -> bool {
    let sized = |m: u16| [size::W, size::H, size::B].map(|s| class::LD | s | m);
    sized(mode::ABS).contains(&c)
        || sized(mode::IND).contains(&c)
        || op::ALU_WITH_OPERAND
            .iter()
            .any(|&o| c == code::alu_k(o) || c == code::alu_x(o))
        || op::CONDITIONAL_JUMPS
            .iter()
            .any(|&o| c == class::JMP | o | src::K || c == class::JMP | o | src::X)
        || matches!(
            c,
            code::LD_W_LEN
                | code::LD_IMM
                | code::LD_MEM
                | code::LDX_W_LEN
                | code::LDX_B_MSH
                | code::LDX_IMM
                | code::LDX_MEM
                | code::ST
                | code::STX
                | code::NEG
                | code::JA
                | code::RET_K
                | code::RET_A
                | code::TAX
                | code::TXA
        )
}

/// Checks `insns` against Linux's rules and returns the program on success.
pub fn check(insns: Vec<Insn>) -> Result<Program, CheckError> {
    let len = insns.len();
    if len == 0 {
        return Err(CheckError::Empty);
    }
    if len > MAX_INSNS {
        return Err(CheckError::TooLong { len });
    }
    for (pc, &insn) in insns.iter().enumerate() {
        check_insn(pc, insn, len)?;
    }
    let last = insns[len - 1];
    if !matches!(last.code, code::RET_K | code::RET_A) {
        return Err(CheckError::NoFinalReturn {
            pc: len - 1,
            insn: last,
        });
    }
    check_scratch_init(&insns)?;
    Ok(Program { insns })
}

/// The rules that concern one instruction alone.
fn check_insn(pc: usize, insn: Insn, len: usize) -> Result<(), CheckError> {
    let c = insn.code;
    if !is_valid_opcode(c) {
        return Err(CheckError::BadOpcode { pc, insn });
    }
    let k = insn.k;
    match insn.class() {
        class::ALU if c & src::MASK == src::K => match c & op::MASK {
            op::DIV | op::MOD if k == 0 => return Err(CheckError::DivisionByZero { pc, insn }),
            op::LSH | op::RSH if k >= 32 => return Err(CheckError::ShiftTooLarge { pc, insn }),
            _ => {}
        },
        class::LD | class::LDX if c & mode::MASK == mode::MEM && k as usize >= MEM_WORDS => {
            return Err(CheckError::ScratchIndex { pc, insn });
        }
        class::ST | class::STX if k as usize >= MEM_WORDS => {
            return Err(CheckError::ScratchIndex { pc, insn });
        }
        class::LD if c & mode::MASK == mode::ABS && k >= skf::AD_OFF as u32 => {
            check_ancillary(pc, insn)?;
        }
        class::JMP => {
            let targets: &[u64] = if c == code::JA {
                &[pc as u64 + 1 + u64::from(k)]
            } else {
                &[
                    pc as u64 + 1 + u64::from(insn.jt),
                    pc as u64 + 1 + u64::from(insn.jf),
                ]
            };
            if let Some(&target) = targets.iter().find(|&&t| t >= len as u64) {
                return Err(CheckError::JumpOutOfRange {
                    pc,
                    insn,
                    target,
                    len,
                });
            }
        }
        _ => {}
    }
    Ok(())
}

/// LD ABS in the ancillary window: a field Linux knows and bpflab models.
fn check_ancillary(pc: usize, insn: Insn) -> Result<(), CheckError> {
    let off = insn.k.wrapping_sub(skf::AD_OFF as u32);
    let why = match off {
        ancillary::PAY_OFFSET => {
            "it needs the kernel's flow dissector, which bpflab does not model"
        }
        ancillary::RANDOM => "it is random, and bpflab's engines must give identical results",
        _ if off % 4 == 0 && off < ancillary::MAX => return Ok(()),
        _ => return Err(CheckError::UnknownAncillary { pc, insn, off }),
    };
    Err(CheckError::UnsupportedAncillary {
        pc,
        insn,
        name: ancillary::name(off).unwrap_or("?"),
        why,
    })
}

/// Linux's scratch-memory rule: a forward pass carrying the set of slots
/// written on every path; the set at a jump target is the intersection over
/// its incoming edges, and after a jump the fall-through position starts
/// from "all written" since it is reached only through its own edges.
/// (After a RET the set is kept, as Linux does: conservative, never unsound.)
fn check_scratch_init(insns: &[Insn]) -> Result<(), CheckError> {
    let mut masks = vec![u16::MAX; insns.len()];
    let mut valid: u16 = 0;
    for (pc, &insn) in insns.iter().enumerate() {
        valid &= masks[pc];
        let slot = 1u16 << (insn.k & 0xf);
        match insn.code {
            code::ST | code::STX => valid |= slot,
            code::LD_MEM | code::LDX_MEM if valid & slot == 0 => {
                return Err(CheckError::UninitializedScratch { pc, insn });
            }
            code::JA => {
                masks[pc + 1 + insn.k as usize] &= valid;
                valid = u16::MAX;
            }
            c if c & class::MASK == class::JMP => {
                masks[pc + 1 + insn.jt as usize] &= valid;
                masks[pc + 1 + insn.jf as usize] &= valid;
                valid = u16::MAX;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ret(k: u32) -> Insn {
        Insn::stmt(code::RET_K, k)
    }

    fn rejected(insns: Vec<Insn>) -> CheckError {
        check(insns).expect_err("the checker should refuse this program")
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "the checker on 4096 instructions: safe code, too slow for Miri"
    )]
    fn lengths() {
        assert_eq!(rejected(vec![]), CheckError::Empty);
        assert!(check(vec![ret(0)]).is_ok());
        assert!(check(vec![ret(0); MAX_INSNS]).is_ok());
        assert_eq!(
            rejected(vec![ret(0); MAX_INSNS + 1]),
            CheckError::TooLong { len: 4097 }
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "65,536 opcodes: safe code, too slow for Miri")]
    fn every_opcode_is_accepted_or_refused() {
        let accepted: Vec<u16> = (0..=u16::MAX).filter(|&c| is_valid_opcode(c)).collect();
        // 6 LD ABS/IND + 5 other LD + 4 LDX + 2 stores + 20 ALU + NEG
        // + JA + 8 conditional jumps + 2 RET + TAX + TXA.
        assert_eq!(accepted.len(), 6 + 3 + 4 + 2 + 20 + 1 + 1 + 8 + 2 + 2);
        for c in 0..=u16::MAX {
            let insn = Insn::stmt(c, 1);
            let result = check(vec![insn, ret(0)]);
            if !is_valid_opcode(c) {
                assert_eq!(result, Err(CheckError::BadOpcode { pc: 0, insn }), "{c:#x}");
            }
        }
        for c in [0x0e, 0x21, 0x09, 0xb4, 0x0f, 0x8f, 0x1e] {
            assert!(!is_valid_opcode(c), "{c:#x} must be refused");
        }
    }

    #[test]
    fn constant_division_by_zero() {
        for o in [op::DIV, op::MOD] {
            let insn = Insn::stmt(code::alu_k(o), 0);
            assert_eq!(
                rejected(vec![insn, ret(0)]),
                CheckError::DivisionByZero { pc: 0, insn }
            );
            assert!(check(vec![Insn::stmt(code::alu_k(o), 1), ret(0)]).is_ok());
            assert!(check(vec![Insn::stmt(code::alu_x(o), 0), ret(0)]).is_ok());
        }
    }

    #[test]
    fn constant_shifts_below_32() {
        for o in [op::LSH, op::RSH] {
            assert!(check(vec![Insn::stmt(code::alu_k(o), 31), ret(0)]).is_ok());
            let insn = Insn::stmt(code::alu_k(o), 32);
            assert_eq!(
                rejected(vec![insn, ret(0)]),
                CheckError::ShiftTooLarge { pc: 0, insn }
            );
        }
    }

    #[test]
    fn scratch_index() {
        for c in [code::ST, code::STX] {
            assert!(check(vec![Insn::stmt(c, 15), ret(0)]).is_ok());
            let insn = Insn::stmt(c, 16);
            assert_eq!(
                rejected(vec![insn, ret(0)]),
                CheckError::ScratchIndex { pc: 0, insn }
            );
        }
        for c in [code::LD_MEM, code::LDX_MEM] {
            let insn = Insn::stmt(c, 16);
            assert_eq!(
                rejected(vec![Insn::stmt(code::ST, 0), insn, ret(0)]),
                CheckError::ScratchIndex { pc: 1, insn }
            );
        }
    }

    #[test]
    fn jumps_in_range_and_forward() {
        // JA k: target pc + 1 + k must exist.
        assert!(check(vec![Insn::stmt(code::JA, 1), ret(0), ret(1)]).is_ok());
        let ja = Insn::stmt(code::JA, 2);
        assert_eq!(
            rejected(vec![ja, ret(0), ret(1)]),
            CheckError::JumpOutOfRange {
                pc: 0,
                insn: ja,
                target: 3,
                len: 3
            }
        );
        let huge = Insn::stmt(code::JA, u32::MAX);
        assert!(matches!(
            rejected(vec![huge, ret(0)]),
            CheckError::JumpOutOfRange {
                target: 0x1_0000_0000,
                ..
            }
        ));
        // Conditional: both targets.
        assert!(check(vec![Insn::jump(code::JEQ_K, 0, 1, 0), ret(0), ret(1)]).is_ok());
        for (jt, jf) in [(2, 0), (0, 2)] {
            let j = Insn::jump(code::JGT_X, 0, jt, jf);
            assert_eq!(
                rejected(vec![j, ret(0), ret(1)]),
                CheckError::JumpOutOfRange {
                    pc: 0,
                    insn: j,
                    target: 3,
                    len: 3
                }
            );
        }
    }

    #[test]
    fn last_instruction_returns() {
        let last = Insn::stmt(code::LD_IMM, 1);
        assert_eq!(
            rejected(vec![ret(0), last]),
            CheckError::NoFinalReturn { pc: 1, insn: last }
        );
        assert!(check(vec![Insn::stmt(code::RET_A, 0)]).is_ok());
    }

    #[test]
    fn ancillary_fields() {
        let at = |off: u32| Insn::stmt(code::LD_W_ABS, (skf::AD_OFF as u32).wrapping_add(off));
        for off in (0..ancillary::MAX).step_by(4) {
            let result = check(vec![at(off), ret(0)]);
            match off {
                ancillary::PAY_OFFSET | ancillary::RANDOM => assert!(matches!(
                    result,
                    Err(CheckError::UnsupportedAncillary { pc: 0, .. })
                )),
                _ => assert!(result.is_ok(), "field {off}"),
            }
        }
        for off in [1, 2, 64, 100, 0xffc] {
            assert_eq!(
                rejected(vec![at(off), ret(0)]),
                CheckError::UnknownAncillary {
                    pc: 0,
                    insn: at(off),
                    off
                }
            );
        }
        // Only LD ABS decodes the window; IND and the header windows pass.
        assert!(
            check(vec![
                Insn::stmt(code::LD_B_IND, skf::AD_OFF as u32 + 2),
                ret(0)
            ])
            .is_ok()
        );
        assert!(
            check(vec![
                Insn::stmt(code::LD_B_ABS, skf::NET_OFF as u32),
                ret(0)
            ])
            .is_ok()
        );
        assert!(
            check(vec![
                Insn::stmt(code::LD_B_ABS, (skf::AD_OFF - 1) as u32),
                ret(0)
            ])
            .is_ok()
        );
    }

    #[test]
    fn scratch_written_before_read() {
        let ld = Insn::stmt(code::LD_MEM, 3);
        assert_eq!(
            rejected(vec![ld, ret(0)]),
            CheckError::UninitializedScratch { pc: 0, insn: ld }
        );
        assert!(check(vec![Insn::stmt(code::ST, 3), ld, ret(0)]).is_ok());
        let ldx = Insn::stmt(code::LDX_MEM, 3);
        assert!(check(vec![Insn::stmt(code::STX, 3), ldx, ret(0)]).is_ok());
        // Written on one branch only.
        let prog = vec![
            Insn::jump(code::JEQ_K, 0, 0, 1),
            Insn::stmt(code::ST, 3),
            ld,
            ret(0),
        ];
        assert_eq!(
            rejected(prog),
            CheckError::UninitializedScratch { pc: 2, insn: ld }
        );
        // Written on both branches.
        let prog = vec![
            Insn::jump(code::JEQ_K, 0, 0, 2),
            Insn::stmt(code::ST, 3),
            Insn::stmt(code::JA, 1),
            Insn::stmt(code::ST, 3),
            ld,
            ret(0),
        ];
        assert!(check(prog).is_ok());
        // Written before a branch, both edges carry it.
        let prog = vec![
            Insn::stmt(code::STX, 9),
            Insn::jump(code::JSET_K, 1, 1, 0),
            Insn::stmt(code::LD_IMM, 1),
            Insn::stmt(code::LDX_MEM, 9),
            ret(0),
        ];
        assert!(check(prog).is_ok());
        // Linux keeps the set across a RET: code after it that only jumps
        // reach is judged with the RET's set too (conservative).
        let prog = vec![
            Insn::jump(code::JEQ_K, 0, 1, 0),
            ret(0),
            Insn::stmt(code::LD_MEM, 0),
            ret(1),
        ];
        assert!(check(prog).is_err());
    }

    #[test]
    fn errors_name_the_instruction() {
        let err = rejected(vec![
            Insn::stmt(code::LD_H_ABS, 12),
            Insn::stmt(code::JA, 5),
        ]);
        assert_eq!(err.pc(), Some(1));
        assert_eq!(
            err.to_string(),
            "instruction 1 (ja       7): jump target 7 is past the last instruction (1)"
        );
    }
}
