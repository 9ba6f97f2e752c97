//! The "old" engine: a model of the 2014 classic interpreter
//! (`sk_run_filter` before Linux 3.15).
//!
//! Like the kernel, the filter is decoded once at attach time into a dense
//! opcode per instruction (Linux's `BPF_S_*` codes); each call then runs a
//! loop around one `match` on that opcode, every conditional jump takes
//! either its jt or its jf offset, and packet loads go through one
//! bounds-checked helper that makes the filter return 0 on failure.

use super::check::Program;
use super::insn::{Insn, MEM_WORDS, class, code, mode, op, size, skf, src};
use crate::skb::Skb;

/// A dense opcode, one per distinct behaviour (the kernel's `BPF_S_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    AddK,
    AddX,
    SubK,
    SubX,
    MulK,
    MulX,
    DivK,
    DivX,
    ModK,
    ModX,
    AndK,
    AndX,
    OrK,
    OrX,
    XorK,
    XorX,
    LshK,
    LshX,
    RshK,
    RshX,
    Neg,
    RetK,
    RetA,
    LdWAbs,
    LdHAbs,
    LdBAbs,
    LdWInd,
    LdHInd,
    LdBInd,
    LdWLen,
    LdxWLen,
    LdxBMsh,
    LdImm,
    LdxImm,
    LdMem,
    LdxMem,
    St,
    Stx,
    Tax,
    Txa,
    Ja,
    JeqK,
    JeqX,
    JgtK,
    JgtX,
    JgeK,
    JgeX,
    JsetK,
    JsetX,
    /// LD ABS of an ancillary field; `k` holds the field offset.
    Ancillary,
}

/// One decoded instruction.
#[derive(Clone, Copy, Debug)]
struct Decoded {
    op: Op,
    jt: u8,
    jf: u8,
    k: u32,
}

/// A classic program ready for the old interpreter.
#[derive(Clone, Debug)]
pub struct OldInterpreter {
    insns: Box<[Decoded]>,
}

impl OldInterpreter {
    /// Decodes a checked program.
    pub fn new(program: &Program) -> Self {
        OldInterpreter {
            insns: program.insns().iter().map(|&i| decode(i)).collect(),
        }
    }

    /// Runs the filter on `skb` and returns its verdict.
    #[inline(never)]
    pub fn run(&self, skb: &Skb) -> u32 {
        let mut a: u32 = 0;
        let mut x: u32 = 0;
        let mut mem = [0u32; MEM_WORDS];
        let mut pc = 0usize;
        loop {
            // SAFETY: `pc` starts at 0 and only moves forward by the checked
            // amounts below; the checker proved every jump target is inside
            // the program and that the last instruction returns, so `pc` is
            // always a valid index here (the program is never empty).
            let insn = unsafe { self.insns.get_unchecked(pc) };
            pc += 1;
            let k = insn.k;
            match insn.op {
                Op::AddK => a = a.wrapping_add(k),
                Op::AddX => a = a.wrapping_add(x),
                Op::SubK => a = a.wrapping_sub(k),
                Op::SubX => a = a.wrapping_sub(x),
                Op::MulK => a = a.wrapping_mul(k),
                Op::MulX => a = a.wrapping_mul(x),
                Op::DivK => a /= k,
                Op::DivX => {
                    if x == 0 {
                        return 0;
                    }
                    a /= x;
                }
                Op::ModK => a %= k,
                Op::ModX => {
                    if x == 0 {
                        return 0;
                    }
                    a %= x;
                }
                Op::AndK => a &= k,
                Op::AndX => a &= x,
                Op::OrK => a |= k,
                Op::OrX => a |= x,
                Op::XorK => a ^= k,
                Op::XorX => a ^= x,
                Op::LshK => a = a.wrapping_shl(k),
                Op::LshX => a = a.wrapping_shl(x),
                Op::RshK => a = a.wrapping_shr(k),
                Op::RshX => a = a.wrapping_shr(x),
                Op::Neg => a = a.wrapping_neg(),
                Op::Ja => pc += k as usize,
                Op::JeqK => pc += usize::from(if a == k { insn.jt } else { insn.jf }),
                Op::JeqX => pc += usize::from(if a == x { insn.jt } else { insn.jf }),
                Op::JgtK => pc += usize::from(if a > k { insn.jt } else { insn.jf }),
                Op::JgtX => pc += usize::from(if a > x { insn.jt } else { insn.jf }),
                Op::JgeK => pc += usize::from(if a >= k { insn.jt } else { insn.jf }),
                Op::JgeX => pc += usize::from(if a >= x { insn.jt } else { insn.jf }),
                Op::JsetK => pc += usize::from(if a & k != 0 { insn.jt } else { insn.jf }),
                Op::JsetX => pc += usize::from(if a & x != 0 { insn.jt } else { insn.jf }),
                Op::LdWAbs => match skb.load_u32(k as i32) {
                    Some(v) => a = v,
                    None => return 0,
                },
                Op::LdHAbs => match skb.load_u16(k as i32) {
                    Some(v) => a = v,
                    None => return 0,
                },
                Op::LdBAbs => match skb.load_u8(k as i32) {
                    Some(v) => a = v,
                    None => return 0,
                },
                Op::LdWInd => match skb.load_u32(x.wrapping_add(k) as i32) {
                    Some(v) => a = v,
                    None => return 0,
                },
                Op::LdHInd => match skb.load_u16(x.wrapping_add(k) as i32) {
                    Some(v) => a = v,
                    None => return 0,
                },
                Op::LdBInd => match skb.load_u8(x.wrapping_add(k) as i32) {
                    Some(v) => a = v,
                    None => return 0,
                },
                Op::LdxBMsh => match skb.load_u8(k as i32) {
                    Some(v) => x = (v & 0xf) << 2,
                    None => return 0,
                },
                Op::LdWLen => a = skb.len(),
                Op::LdxWLen => x = skb.len(),
                Op::LdImm => a = k,
                Op::LdxImm => x = k,
                // The checker proved k < 16; masking keeps the index
                // provably in range without a second check.
                Op::LdMem => a = mem[k as usize & (MEM_WORDS - 1)],
                Op::LdxMem => x = mem[k as usize & (MEM_WORDS - 1)],
                Op::St => mem[k as usize & (MEM_WORDS - 1)] = a,
                Op::Stx => mem[k as usize & (MEM_WORDS - 1)] = x,
                Op::Tax => x = a,
                Op::Txa => a = x,
                Op::Ancillary => match skb.ancillary(k, a, x) {
                    Some(v) => a = v,
                    None => return 0,
                },
                Op::RetK => return k,
                Op::RetA => return a,
            }
        }
    }
}

/// The dense opcode of a checked instruction.
fn decode(insn: Insn) -> Decoded {
    let c = insn.code;
    let mut k = insn.k;
    let alu = |kop: Op, xop: Op| if c & src::MASK == src::X { xop } else { kop };
    let op = match c & class::MASK {
        class::ALU => match c & op::MASK {
            op::ADD => alu(Op::AddK, Op::AddX),
            op::SUB => alu(Op::SubK, Op::SubX),
            op::MUL => alu(Op::MulK, Op::MulX),
            op::DIV => alu(Op::DivK, Op::DivX),
            op::MOD => alu(Op::ModK, Op::ModX),
            op::AND => alu(Op::AndK, Op::AndX),
            op::OR => alu(Op::OrK, Op::OrX),
            op::XOR => alu(Op::XorK, Op::XorX),
            op::LSH => alu(Op::LshK, Op::LshX),
            op::RSH => alu(Op::RshK, Op::RshX),
            _ => Op::Neg,
        },
        class::JMP => match c & op::MASK {
            op::JEQ => alu(Op::JeqK, Op::JeqX),
            op::JGT => alu(Op::JgtK, Op::JgtX),
            op::JGE => alu(Op::JgeK, Op::JgeX),
            op::JSET => alu(Op::JsetK, Op::JsetX),
            _ => Op::Ja,
        },
        class::LD => match (c & mode::MASK, c & size::MASK) {
            (mode::ABS, _) if k >= skf::AD_OFF as u32 => {
                k = k.wrapping_sub(skf::AD_OFF as u32);
                Op::Ancillary
            }
            (mode::ABS, size::W) => Op::LdWAbs,
            (mode::ABS, size::H) => Op::LdHAbs,
            (mode::ABS, _) => Op::LdBAbs,
            (mode::IND, size::W) => Op::LdWInd,
            (mode::IND, size::H) => Op::LdHInd,
            (mode::IND, _) => Op::LdBInd,
            (mode::LEN, _) => Op::LdWLen,
            (mode::MEM, _) => Op::LdMem,
            _ => Op::LdImm,
        },
        class::LDX => match c & mode::MASK {
            mode::LEN => Op::LdxWLen,
            mode::MSH => Op::LdxBMsh,
            mode::MEM => Op::LdxMem,
            _ => Op::LdxImm,
        },
        class::ST => Op::St,
        class::STX => Op::Stx,
        class::RET if c == code::RET_A => Op::RetA,
        class::RET => Op::RetK,
        _ if c == code::TXA => Op::Txa,
        _ => Op::Tax,
    };
    Decoded {
        op,
        jt: insn.jt,
        jf: insn.jf,
        k,
    }
}
