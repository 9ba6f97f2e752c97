//! Short constructors for classic instructions, so that test programs read
//! almost like `bpf_asm` listings.

use bpflab_engines::classic::Insn;
use bpflab_engines::classic::insn::{class, code, mode, op, size, skf, src};

/// Load size: 4 bytes.
pub const W: u16 = size::W;
/// Load size: 2 bytes.
pub const H: u16 = size::H;
/// Load size: 1 byte.
pub const B: u16 = size::B;

/// The three load sizes with their width in bytes.
pub const SIZES: [(u16, u32); 3] = [(W, 4), (H, 2), (B, 1)];

/// The `bpf_asm` mnemonic suffix of a load size (`ld`, `ldh`, `ldb`).
pub fn size_name(sz: u16) -> &'static str {
    match sz {
        W => "ld",
        H => "ldh",
        _ => "ldb",
    }
}

/// `ld{,h,b} [k]`
pub fn ld_abs(sz: u16, k: u32) -> Insn {
    Insn::stmt(class::LD | sz | mode::ABS, k)
}

/// `ld{,h,b} [x + k]`
pub fn ld_ind(sz: u16, k: u32) -> Insn {
    Insn::stmt(class::LD | sz | mode::IND, k)
}

/// The unsigned `k` of a signed offset.
pub const fn off(o: i32) -> u32 {
    o as u32
}

/// `k` for byte `o` after the network header (`SKF_NET_OFF + o`).
pub const fn net(o: u32) -> u32 {
    (skf::NET_OFF as u32).wrapping_add(o)
}

/// `k` for byte `o` after the link-layer header (`SKF_LL_OFF + o`).
pub const fn ll(o: u32) -> u32 {
    (skf::LL_OFF as u32).wrapping_add(o)
}

/// `k` for ancillary field `field` (`SKF_AD_OFF + field`).
pub const fn ad(field: u32) -> u32 {
    (skf::AD_OFF as u32).wrapping_add(field)
}

/// `ld{,h,b} #field`: an ancillary load.
pub fn ld_anc(sz: u16, field: u32) -> Insn {
    ld_abs(sz, ad(field))
}

/// `ldxb 4*([k]&0xf)`
pub fn ldx_msh(k: u32) -> Insn {
    Insn::stmt(code::LDX_B_MSH, k)
}

/// `ld #len`
pub fn ld_len() -> Insn {
    Insn::stmt(code::LD_W_LEN, 0)
}

/// `ldx #len`
pub fn ldx_len() -> Insn {
    Insn::stmt(code::LDX_W_LEN, 0)
}

/// `ld #k`
pub fn ld_imm(k: u32) -> Insn {
    Insn::stmt(code::LD_IMM, k)
}

/// `ldx #k`
pub fn ldx_imm(k: u32) -> Insn {
    Insn::stmt(code::LDX_IMM, k)
}

/// `ld M[k]`
pub fn ld_mem(k: u32) -> Insn {
    Insn::stmt(code::LD_MEM, k)
}

/// `ldx M[k]`
pub fn ldx_mem(k: u32) -> Insn {
    Insn::stmt(code::LDX_MEM, k)
}

/// `st M[k]`
pub fn st(k: u32) -> Insn {
    Insn::stmt(code::ST, k)
}

/// `stx M[k]`
pub fn stx(k: u32) -> Insn {
    Insn::stmt(code::STX, k)
}

/// `tax`
pub fn tax() -> Insn {
    Insn::stmt(code::TAX, 0)
}

/// `txa`
pub fn txa() -> Insn {
    Insn::stmt(code::TXA, 0)
}

/// `neg`
pub fn neg() -> Insn {
    Insn::stmt(code::NEG, 0)
}

/// `<op> #k`
pub fn alu_k(o: u16, k: u32) -> Insn {
    Insn::stmt(code::alu_k(o), k)
}

/// `<op> x`
pub fn alu_x(o: u16) -> Insn {
    Insn::stmt(code::alu_x(o), 0)
}

/// `add #k`
pub fn add(k: u32) -> Insn {
    alu_k(op::ADD, k)
}

/// `ja +k`
pub fn ja(k: u32) -> Insn {
    Insn::stmt(code::JA, k)
}

/// `j<op> #k, +jt, +jf`
pub fn jmp_k(o: u16, k: u32, jt: u8, jf: u8) -> Insn {
    Insn::jump(class::JMP | o | src::K, k, jt, jf)
}

/// `j<op> x, +jt, +jf`
pub fn jmp_x(o: u16, jt: u8, jf: u8) -> Insn {
    Insn::jump(class::JMP | o | src::X, 0, jt, jf)
}

/// `ret #k`
pub fn ret_k(k: u32) -> Insn {
    Insn::stmt(code::RET_K, k)
}

/// `ret a`
pub fn ret_a() -> Insn {
    Insn::stmt(code::RET_A, 0)
}

/// The name of an ALU operation.
pub fn alu_name(o: u16) -> &'static str {
    match o {
        op::ADD => "add",
        op::SUB => "sub",
        op::MUL => "mul",
        op::DIV => "div",
        op::MOD => "mod",
        op::AND => "and",
        op::OR => "or",
        op::XOR => "xor",
        op::LSH => "lsh",
        op::RSH => "rsh",
        op::NEG => "neg",
        _ => "alu?",
    }
}

/// The name of a conditional jump operation.
pub fn jmp_name(o: u16) -> &'static str {
    match o {
        op::JEQ => "jeq",
        op::JGT => "jgt",
        op::JGE => "jge",
        op::JSET => "jset",
        op::JA => "ja",
        _ => "j?",
    }
}

/// A netlink attribute as Linux lays it out: `u16 nla_len` (header
/// included, padding excluded), `u16 nla_type`, both in host order, then
/// the payload, padded with zeros to a multiple of 4 bytes.
pub fn nla(ty: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = u16::try_from(4 + payload.len())
        .expect("small attribute")
        .to_ne_bytes()
        .to_vec();
    v.extend_from_slice(&ty.to_ne_bytes());
    v.extend_from_slice(payload);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}
