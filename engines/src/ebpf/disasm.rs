//! The one textual form of eBPF instructions used everywhere in bpflab: the
//! Linux verifier log's syntax, so that what bpflab prints reads like what
//! the kernel prints.
//!
//! - 32-bit registers are `wN`, 64-bit ones `rN`: `w0 = 0`, `r6 = r1`,
//!   `w0 &= 15`, `w0 = -w0`, `r0 = be16 r0`.
//! - Jumps are relative, always: `if r0 != 0x800 goto pc+3`, `goto pc+1`
//!   (the target is the next instruction's index plus the offset; a
//!   [`listing`] numbers every line so the absolute index is at hand).
//! - Memory: `r0 = *(u32 *)(r6 +12)`, `*(u32 *)(r10 -4) = r0`.
//! - Legacy packet loads: `r0 = *(u16 *)skb[12]`, `r0 = *(u8 *)skb[r7 + 14]`.
//! - `call nlattr` (a helper by its name), `exit`.
//!
//! ALU immediates are decimal, jump immediates hexadecimal, both signed.

use super::insn::{Insn, class, end, helper, mode, op, size, src};
use std::fmt;

impl fmt::Display for Insn {
    /// The verifier-log form of the instruction, e.g. `w0 ^= w0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.class() {
            class::ALU | class::ALU64 => fmt_alu(self, f),
            class::JMP | class::JMP32 => fmt_jmp(self, f),
            class::LD => fmt_ld(self, f),
            class::LDX if self.code & mode::MASK == mode::MEM => write!(
                f,
                "r{} = *({} *)(r{} {:+})",
                self.dst,
                size_name(self.code),
                self.src,
                self.off
            ),
            class::STX if self.code & mode::MASK == mode::MEM => write!(
                f,
                "*({} *)(r{} {:+}) = r{}",
                size_name(self.code),
                self.dst,
                self.off,
                self.src
            ),
            class::ST if self.code & mode::MASK == mode::MEM => write!(
                f,
                "*({} *)(r{} {:+}) = {}",
                size_name(self.code),
                self.dst,
                self.off,
                self.imm
            ),
            _ => unknown(self, f),
        }
    }
}

/// A numbered listing, one `NNN: (cc) insn` line per instruction as the
/// verifier log shows it (the second slot of `LD IMM DW` included).
pub fn listing(insns: &[Insn]) -> String {
    insns
        .iter()
        .enumerate()
        .map(|(pc, insn)| format!("{pc:4}: ({:02x}) {insn}\n", insn.code))
        .collect()
}

fn size_name(code: u8) -> &'static str {
    match code & size::MASK {
        size::W => "u32",
        size::H => "u16",
        size::B => "u8",
        _ => "u64",
    }
}

fn unknown(insn: &Insn, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(
        f,
        "<unknown opcode {:#04x} dst r{} src r{} off {} imm {}>",
        insn.code, insn.dst, insn.src, insn.off, insn.imm
    )
}

fn fmt_alu(insn: &Insn, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let r = if insn.class() == class::ALU64 {
        'r'
    } else {
        'w'
    };
    let (dst, o) = (insn.dst, insn.code & op::MASK);
    if o == op::NEG {
        return write!(f, "{r}{dst} = -{r}{dst}");
    }
    if o == op::END {
        let dir = if insn.code & src::MASK == end::TO_BE {
            "be"
        } else {
            "le"
        };
        return write!(f, "r{dst} = {dir}{} r{dst}", insn.imm);
    }
    let sym = match o {
        op::ADD => "+=",
        op::SUB => "-=",
        op::MUL => "*=",
        op::DIV => "/=",
        op::OR => "|=",
        op::AND => "&=",
        op::LSH => "<<=",
        op::RSH => ">>=",
        op::MOD => "%=",
        op::XOR => "^=",
        op::MOV => "=",
        op::ARSH => "s>>=",
        _ => return unknown(insn, f),
    };
    if insn.code & src::MASK == src::X {
        write!(f, "{r}{dst} {sym} {r}{}", insn.src)
    } else {
        write!(f, "{r}{dst} {sym} {}", insn.imm)
    }
}

fn fmt_jmp(insn: &Insn, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let o = insn.code & op::MASK;
    match o {
        op::JA => return write!(f, "goto pc{:+}", insn.off),
        op::EXIT => return f.write_str("exit"),
        op::CALL => {
            return match helper::name(insn.imm) {
                Some(name) => write!(f, "call {name}"),
                None => write!(f, "call #{}", insn.imm),
            };
        }
        _ => {}
    }
    let sym = match o {
        op::JEQ => "==",
        op::JGT => ">",
        op::JGE => ">=",
        op::JSET => "&",
        op::JNE => "!=",
        op::JSGT => "s>",
        op::JSGE => "s>=",
        op::JLT => "<",
        op::JLE => "<=",
        op::JSLT => "s<",
        op::JSLE => "s<=",
        _ => return unknown(insn, f),
    };
    let r = if insn.class() == class::JMP32 {
        'w'
    } else {
        'r'
    };
    write!(f, "if {r}{} {sym} ", insn.dst)?;
    if insn.code & src::MASK == src::X {
        write!(f, "{r}{}", insn.src)?;
    } else if insn.imm < 0 {
        write!(f, "-{:#x}", insn.imm.unsigned_abs())?;
    } else {
        write!(f, "{:#x}", insn.imm)?;
    }
    write!(f, " goto pc{:+}", insn.off)
}

fn fmt_ld(insn: &Insn, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let sz = size_name(insn.code);
    match insn.code & mode::MASK {
        mode::ABS => write!(f, "r0 = *({sz} *)skb[{}]", insn.imm),
        mode::IND if insn.imm < 0 => write!(
            f,
            "r0 = *({sz} *)skb[r{} - {}]",
            insn.src,
            insn.imm.unsigned_abs()
        ),
        mode::IND => write!(f, "r0 = *({sz} *)skb[r{} + {}]", insn.src, insn.imm),
        mode::IMM if insn.code & size::MASK == size::DW => {
            write!(f, "r{} = {:#x} ll", insn.dst, insn.imm as u32)
        }
        _ => unknown(insn, f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ebpf::insn::reg::*;

    #[test]
    fn verifier_log_syntax() {
        let cases = [
            (Insn::alu32_reg(op::XOR, R0, R0), "w0 ^= w0"),
            (Insn::alu64_reg(op::MOV, R6, R1), "r6 = r1"),
            (Insn::alu32_imm(op::MOV, R0, 0), "w0 = 0"),
            (Insn::alu32_imm(op::MOV, R8, -1), "w8 = -1"),
            (Insn::alu32_imm(op::AND, R0, 15), "w0 &= 15"),
            (Insn::alu32_imm(op::LSH, R0, 2), "w0 <<= 2"),
            (Insn::alu32_reg(op::SUB, R0, R7), "w0 -= w7"),
            (Insn::alu64_imm(op::ARSH, R3, 4), "r3 s>>= 4"),
            (Insn::alu32_imm(op::NEG, R0, 0), "w0 = -w0"),
            (Insn::alu64_imm(op::NEG, R2, 0), "r2 = -r2"),
            (
                Insn::new(class::ALU | op::END | end::TO_BE, R0, 0, 0, 16),
                "r0 = be16 r0",
            ),
            (
                Insn::new(class::ALU | op::END | end::TO_LE, R0, 0, 0, 64),
                "r0 = le64 r0",
            ),
            (
                Insn::jmp_imm(op::JNE, R0, 0x800, 3),
                "if r0 != 0x800 goto pc+3",
            ),
            (
                Insn::jmp_imm(op::JSET, R0, 0x1fff, 6),
                "if r0 & 0x1fff goto pc+6",
            ),
            (Insn::jmp_reg(op::JEQ, R0, R7, 1), "if r0 == r7 goto pc+1"),
            (Insn::jmp_reg(op::JSGE, R0, R8, 0), "if r0 s>= r8 goto pc+0"),
            (Insn::jmp_imm(op::JLT, R0, -2, -4), "if r0 < -0x2 goto pc-4"),
            (Insn::ja(12), "goto pc+12"),
            (Insn::ldx_mem(size::W, R0, R6, 12), "r0 = *(u32 *)(r6 +12)"),
            (Insn::ldx_mem(size::W, R7, R10, -8), "r7 = *(u32 *)(r10 -8)"),
            (Insn::stx_mem(size::W, R10, R0, -4), "*(u32 *)(r10 -4) = r0"),
            (Insn::st_mem(size::H, R10, -2, 7), "*(u16 *)(r10 -2) = 7"),
            (Insn::ld_abs(size::H, 12), "r0 = *(u16 *)skb[12]"),
            (
                Insn::ld_abs(size::W, -1048576),
                "r0 = *(u32 *)skb[-1048576]",
            ),
            (Insn::ld_ind(size::B, R7, 14), "r0 = *(u8 *)skb[r7 + 14]"),
            (Insn::ld_ind(size::H, R7, -2), "r0 = *(u16 *)skb[r7 - 2]"),
            (Insn::call(helper::NLATTR), "call nlattr"),
            (Insn::call(helper::CPU), "call cpu"),
            (Insn::call(99), "call #99"),
            (Insn::exit(), "exit"),
            (
                Insn::new(class::LD | size::DW | mode::IMM, R1, 0, 0, 5),
                "r1 = 0x5 ll",
            ),
            (
                Insn::new(0xff, 1, 2, 3, 4),
                "<unknown opcode 0xff dst r1 src r2 off 3 imm 4>",
            ),
        ];
        for (insn, want) in cases {
            assert_eq!(insn.to_string(), want, "{insn:?}");
        }
    }

    #[test]
    fn listing_shows_index_and_opcode() {
        let prog = [Insn::alu32_reg(op::XOR, R0, R0), Insn::exit()];
        assert_eq!(listing(&prog), "   0: (ac) w0 ^= w0\n   1: (95) exit\n");
    }
}
