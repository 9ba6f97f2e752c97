//! The classic → eBPF converter, following Linux 5.x's `bpf_convert_filter`
//! rules (see the reference's §5) with bpflab's choices:
//!
//! - A is R0, X is R7, the context is R6 (copied from R1 by the prologue),
//!   the temporary is **R8**. Linux 5.x uses R2 as its temporary because it
//!   inlines packet loads; bpflab keeps every packet load a single legacy
//!   `LD ABS`/`LD IND` instruction (no inlined fast path, no helper call),
//!   and those act like calls that clobber R1-R5, so the 2014 choice of R8
//!   is the one that stays correct here.
//! - The prologue zeroes A and X (`w0 ^= w0; w7 ^= w7; r6 = r1`).
//! - `jt`/`jf`: one conditional jump when `jf == 0`; when `jt == 0` the
//!   inverted condition (JEQ→JNE, JGT→JLE, JGE→JLT; JSET has no inverse and
//!   takes the two-instruction form); otherwise `Jcond` to jt plus `goto` to
//!   jf. Constants that are negative as `s32` are first moved to the
//!   temporary with `mov32` (eBPF sign-extends jump immediates) and compared
//!   in the X form.
//! - DIV/MOD by X are guarded by `if r7 != 0 goto pc+2; w0 = 0; exit`.
//! - Scratch word M\[k\] lives at `r10 - (k*4 + 4)`; `ret #k` is
//!   `w0 = k; exit`, `ret a` is `exit`.
//! - Ancillary loads read the [`Context`] through R6; IFINDEX and HATYPE
//!   return 0 without a device, as every bpflab engine does (Linux's
//!   converter returns A there); NLATTR, NLATTR_NEST and CPU are calls with
//!   R1 = ctx, R2 = A, R3 = X.
//!
//! Group lengths never depend on jump distances, so one emitting pass
//! settles every group's position (Linux reaches the same fixed point by
//! repeating passes until the length is stable); jump offsets are then
//! patched from the map of classic pcs to eBPF pcs and must fit in `i16`.

use super::insn::{Insn, helper, op as eop, reg, size as esize};
use crate::classic::Program;
use crate::classic::insn::{
    Insn as Classic, ancillary, class, code, misc, mode, op, rval, size, skf, src,
};
use crate::skb::Context;
use std::mem::offset_of;
use thiserror::Error;

/// Classic A.
pub const REG_A: u8 = reg::R0;
/// Classic X.
pub const REG_X: u8 = reg::R7;
/// The skb context.
pub const REG_CTX: u8 = reg::R6;
/// The converter's temporary.
pub const REG_TMP: u8 = reg::R8;

/// A classic program converted to eBPF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Converted {
    /// The eBPF instructions.
    pub insns: Vec<Insn>,
    /// For each classic pc, the index of the first eBPF instruction it
    /// became (the prologue comes before classic pc 0).
    pub pc_map: Vec<usize>,
}

/// Why a classic program could not be converted.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ConvertError {
    /// A jump whose eBPF distance does not fit the 16-bit offset.
    #[error(
        "classic instruction {pc}: the converted jump spans {distance} instructions, more than an eBPF offset holds"
    )]
    JumpTooFar {
        /// The classic instruction.
        pc: usize,
        /// The eBPF distance needed.
        distance: i64,
    },
    /// A classic jump target outside the program (a checked program has none).
    #[error("classic instruction {pc}: jump target {target} is outside the program")]
    BadTarget {
        /// The classic instruction.
        pc: usize,
        /// Its target.
        target: usize,
    },
    /// An ancillary field the converter has no rule for.
    #[error("classic instruction {pc}: no conversion for ancillary field SKF_AD_OFF + {off}")]
    UnsupportedAncillary {
        /// The classic instruction.
        pc: usize,
        /// Offset within the ancillary window.
        off: u32,
    },
    /// An opcode the converter has no rule for (a checked program has none).
    #[error("classic instruction {pc}: no conversion for opcode {code:#x}")]
    UnsupportedOpcode {
        /// The classic instruction.
        pc: usize,
        /// Its opcode.
        code: u16,
    },
}

/// A jump emitted before its distance is known.
struct Fixup {
    /// Index of the eBPF jump.
    at: usize,
    /// Classic pc it goes to.
    target: usize,
    /// Classic pc it came from.
    pc: usize,
}

/// The emitting state of one conversion.
struct Emitter {
    out: Vec<Insn>,
    fixups: Vec<Fixup>,
}

/// Converts a checked classic program to eBPF.
pub fn convert(program: &Program) -> Result<Converted, ConvertError> {
    let classic = program.insns();
    let mut e = Emitter {
        out: Vec::with_capacity(3 + classic.len() * 2),
        fixups: Vec::new(),
    };
    e.out.push(Insn::alu32_reg(eop::XOR, REG_A, REG_A));
    e.out.push(Insn::alu32_reg(eop::XOR, REG_X, REG_X));
    e.out.push(Insn::alu64_reg(eop::MOV, REG_CTX, reg::R1));
    let mut pc_map = Vec::with_capacity(classic.len());
    for (pc, &insn) in classic.iter().enumerate() {
        pc_map.push(e.out.len());
        e.one(pc, insn)?;
    }
    for f in &e.fixups {
        let to = *pc_map.get(f.target).ok_or(ConvertError::BadTarget {
            pc: f.pc,
            target: f.target,
        })?;
        let distance = to as i64 - (f.at as i64 + 1);
        let off =
            i16::try_from(distance).map_err(|_| ConvertError::JumpTooFar { pc: f.pc, distance })?;
        e.out[f.at].off = off;
    }
    Ok(Converted {
        insns: e.out,
        pc_map,
    })
}

/// The scratch word M\[k\]'s offset from R10.
pub fn scratch_offset(k: u32) -> i16 {
    -((k as i16 & 0xf) * 4 + 4)
}

/// The offset of a [`Context`] field, as an eBPF displacement.
fn ctx(off: usize) -> i16 {
    // Context is a few dozen bytes, far below i16::MAX.
    off as i16
}

impl Emitter {
    fn push(&mut self, insn: Insn) {
        self.out.push(insn);
    }

    /// Emits `insn` as a jump to classic pc `target`, patched later.
    fn jump(&mut self, insn: Insn, pc: usize, target: usize) {
        self.fixups.push(Fixup {
            at: self.out.len(),
            target,
            pc,
        });
        self.out.push(insn);
    }

    /// `if r0 == 0 return 0` for a register that must be non-zero.
    fn return_zero_unless(&mut self, r: u8) {
        self.push(Insn::jmp_imm(eop::JNE, r, 0, 2));
        self.push(Insn::alu32_imm(eop::MOV, REG_A, 0));
        self.push(Insn::exit());
    }

    fn one(&mut self, pc: usize, insn: Classic) -> Result<(), ConvertError> {
        let k = insn.k;
        let c = insn.code;
        let unsupported = ConvertError::UnsupportedOpcode { pc, code: c };
        match insn.class() {
            class::ALU => {
                let o = (c & op::MASK) as u8;
                if c == code::NEG {
                    self.push(Insn::alu32_imm(eop::NEG, REG_A, 0));
                } else if c & src::MASK == src::X {
                    if matches!(c & op::MASK, op::DIV | op::MOD) {
                        self.return_zero_unless(REG_X);
                    }
                    self.push(Insn::alu32_reg(o, REG_A, REG_X));
                } else {
                    self.push(Insn::alu32_imm(o, REG_A, k as i32));
                }
            }
            class::JMP => self.cond_jump(pc, insn),
            class::RET => {
                if c & 0x18 == rval::K {
                    self.push(Insn::alu32_imm(eop::MOV, REG_A, k as i32));
                }
                self.push(Insn::exit());
            }
            class::MISC => match c & 0xf8 {
                misc::TAX => self.push(Insn::alu64_reg(eop::MOV, REG_X, REG_A)),
                misc::TXA => self.push(Insn::alu64_reg(eop::MOV, REG_A, REG_X)),
                _ => return Err(unsupported),
            },
            class::ST | class::STX => {
                let from = if insn.class() == class::ST {
                    REG_A
                } else {
                    REG_X
                };
                self.push(Insn::stx_mem(esize::W, reg::R10, from, scratch_offset(k)));
            }
            class::LD | class::LDX => {
                let to = if insn.class() == class::LD {
                    REG_A
                } else {
                    REG_X
                };
                let sz = (c & size::MASK) as u8;
                match c & mode::MASK {
                    mode::IMM => self.push(Insn::alu32_imm(eop::MOV, to, k as i32)),
                    mode::MEM => {
                        self.push(Insn::ldx_mem(esize::W, to, reg::R10, scratch_offset(k)))
                    }
                    mode::LEN => self.push(Insn::ldx_mem(
                        esize::W,
                        to,
                        REG_CTX,
                        ctx(offset_of!(Context, len)),
                    )),
                    mode::ABS if to == REG_A && k >= skf::AD_OFF as u32 => {
                        self.ancillary(pc, k.wrapping_sub(skf::AD_OFF as u32))?
                    }
                    mode::ABS if to == REG_A => self.push(Insn::ld_abs(sz, k as i32)),
                    mode::IND if to == REG_A => self.push(Insn::ld_ind(sz, REG_X, k as i32)),
                    mode::MSH if to == REG_X => {
                        self.push(Insn::alu64_reg(eop::MOV, REG_TMP, REG_A));
                        self.push(Insn::ld_abs(esize::B, k as i32));
                        self.push(Insn::alu32_imm(eop::AND, REG_A, 0xf));
                        self.push(Insn::alu32_imm(eop::LSH, REG_A, 2));
                        self.push(Insn::alu64_reg(eop::MOV, REG_X, REG_A));
                        self.push(Insn::alu64_reg(eop::MOV, REG_A, REG_TMP));
                    }
                    _ => return Err(unsupported),
                }
            }
            _ => return Err(unsupported),
        }
        Ok(())
    }

    /// JA and the conditional jumps.
    fn cond_jump(&mut self, pc: usize, insn: Classic) {
        let jt = pc + 1 + usize::from(insn.jt);
        let jf = pc + 1 + usize::from(insn.jf);
        let o = (insn.code & op::MASK) as u8;
        if insn.code == code::JA {
            self.jump(Insn::ja(0), pc, pc + 1 + insn.k as usize);
            return;
        }
        // The comparison's source: X, the temporary holding a negative
        // constant, or the constant itself.
        let source = if insn.code & src::MASK == src::X {
            Some(REG_X)
        } else if (insn.k as i32) < 0 {
            self.push(Insn::alu32_imm(eop::MOV, REG_TMP, insn.k as i32));
            Some(REG_TMP)
        } else {
            None
        };
        let k = insn.k as i32;
        let cmp = move |o: u8| match source {
            Some(r) => Insn::jmp_reg(o, REG_A, r, 0),
            None => Insn::jmp_imm(o, REG_A, k, 0),
        };
        if insn.jf == 0 {
            self.jump(cmp(o), pc, jt);
            return;
        }
        if insn.jt == 0 {
            let inverse = match o {
                eop::JEQ => Some(eop::JNE),
                eop::JGT => Some(eop::JLE),
                eop::JGE => Some(eop::JLT),
                _ => None,
            };
            if let Some(inv) = inverse {
                self.jump(cmp(inv), pc, jf);
                return;
            }
        }
        self.jump(cmp(o), pc, jt);
        self.jump(Insn::ja(0), pc, jf);
    }

    /// LD ABS of the ancillary field at `off` (relative to `SKF_AD_OFF`).
    fn ancillary(&mut self, pc: usize, off: u32) -> Result<(), ConvertError> {
        let field = |o: usize| Insn::ldx_mem(esize::W, REG_A, REG_CTX, ctx(o));
        match off {
            ancillary::PROTOCOL => self.push(field(offset_of!(Context, protocol))),
            ancillary::PKTTYPE => self.push(field(offset_of!(Context, pkt_type))),
            ancillary::MARK => self.push(field(offset_of!(Context, mark))),
            ancillary::QUEUE => self.push(field(offset_of!(Context, queue_mapping))),
            ancillary::RXHASH => self.push(field(offset_of!(Context, rxhash))),
            ancillary::VLAN_TAG => self.push(field(offset_of!(Context, vlan_tci))),
            ancillary::VLAN_TAG_PRESENT => self.push(field(offset_of!(Context, vlan_present))),
            ancillary::VLAN_TPID => self.push(field(offset_of!(Context, vlan_tpid))),
            ancillary::IFINDEX | ancillary::HATYPE => {
                let dev = ctx(offset_of!(Context, dev_present));
                self.push(Insn::ldx_mem(esize::W, REG_TMP, REG_CTX, dev));
                self.return_zero_unless(REG_TMP);
                self.push(field(if off == ancillary::IFINDEX {
                    offset_of!(Context, ifindex)
                } else {
                    offset_of!(Context, hatype)
                }));
            }
            ancillary::NLATTR | ancillary::NLATTR_NEST | ancillary::CPU => {
                self.push(Insn::alu64_reg(eop::MOV, reg::R1, REG_CTX));
                self.push(Insn::alu32_reg(eop::MOV, reg::R2, REG_A));
                self.push(Insn::alu32_reg(eop::MOV, reg::R3, REG_X));
                self.push(Insn::call(match off {
                    ancillary::NLATTR => helper::NLATTR,
                    ancillary::NLATTR_NEST => helper::NLATTR_NEST,
                    _ => helper::CPU,
                }));
            }
            ancillary::ALU_XOR_X => self.push(Insn::alu32_reg(eop::XOR, REG_A, REG_X)),
            _ => return Err(ConvertError::UnsupportedAncillary { pc, off }),
        }
        Ok(())
    }
}
