//! The classic BPF instruction (`struct sock_filter`) and its opcode fields.
//!
//! Names follow `linux/filter.h` and `linux/bpf_common.h` so that a reader of
//! the kernel documentation finds the same words here.

use std::fmt;

/// Instruction class, `code & 0x07`.
pub mod class {
    /// Load into A.
    pub const LD: u16 = 0x00;
    /// Load into X.
    pub const LDX: u16 = 0x01;
    /// Store A into scratch memory.
    pub const ST: u16 = 0x02;
    /// Store X into scratch memory.
    pub const STX: u16 = 0x03;
    /// Arithmetic on A.
    pub const ALU: u16 = 0x04;
    /// Jumps.
    pub const JMP: u16 = 0x05;
    /// Return from the filter.
    pub const RET: u16 = 0x06;
    /// Register moves (TAX, TXA).
    pub const MISC: u16 = 0x07;
    /// Mask selecting the class.
    pub const MASK: u16 = 0x07;
}

/// Load size, `code & 0x18`.
pub mod size {
    /// 4 bytes.
    pub const W: u16 = 0x00;
    /// 2 bytes.
    pub const H: u16 = 0x08;
    /// 1 byte.
    pub const B: u16 = 0x10;
    /// Mask selecting the size.
    pub const MASK: u16 = 0x18;
}

/// Addressing mode, `code & 0xe0`.
pub mod mode {
    /// Immediate k.
    pub const IMM: u16 = 0x00;
    /// Packet at absolute offset k.
    pub const ABS: u16 = 0x20;
    /// Packet at offset X + k.
    pub const IND: u16 = 0x40;
    /// Scratch memory `M[k]`.
    pub const MEM: u16 = 0x60;
    /// Packet length.
    pub const LEN: u16 = 0x80;
    /// IP header length: `4 * (pkt[k] & 0xf)`.
    pub const MSH: u16 = 0xa0;
    /// Mask selecting the mode.
    pub const MASK: u16 = 0xe0;
}

/// ALU and jump operation, `code & 0xf0`.
pub mod op {
    /// A + src.
    pub const ADD: u16 = 0x00;
    /// A - src.
    pub const SUB: u16 = 0x10;
    /// A * src.
    pub const MUL: u16 = 0x20;
    /// A / src (unsigned).
    pub const DIV: u16 = 0x30;
    /// A | src.
    pub const OR: u16 = 0x40;
    /// A & src.
    pub const AND: u16 = 0x50;
    /// A << src.
    pub const LSH: u16 = 0x60;
    /// A >> src (logical).
    pub const RSH: u16 = 0x70;
    /// -A.
    pub const NEG: u16 = 0x80;
    /// A % src (unsigned).
    pub const MOD: u16 = 0x90;
    /// A ^ src.
    pub const XOR: u16 = 0xa0;

    /// Unconditional jump by k.
    pub const JA: u16 = 0x00;
    /// Jump if A == src.
    pub const JEQ: u16 = 0x10;
    /// Jump if A > src (unsigned).
    pub const JGT: u16 = 0x20;
    /// Jump if A >= src (unsigned).
    pub const JGE: u16 = 0x30;
    /// Jump if A & src != 0.
    pub const JSET: u16 = 0x40;

    /// The ALU operations that take an operand (every one but NEG).
    pub const ALU_WITH_OPERAND: [u16; 10] = [ADD, SUB, MUL, DIV, OR, AND, LSH, RSH, MOD, XOR];

    /// The conditional jumps.
    pub const CONDITIONAL_JUMPS: [u16; 4] = [JEQ, JGT, JGE, JSET];

    /// Mask selecting the operation.
    pub const MASK: u16 = 0xf0;
}

/// Operand source, `code & 0x08`.
pub mod src {
    /// The constant k.
    pub const K: u16 = 0x00;
    /// The register X.
    pub const X: u16 = 0x08;
    /// Mask selecting the source.
    pub const MASK: u16 = 0x08;
}

/// RET value source, `code & 0x18`.
pub mod rval {
    /// Return k.
    pub const K: u16 = 0x00;
    /// Return A.
    pub const A: u16 = 0x10;
}

/// MISC operation, `code & 0xf8`.
pub mod misc {
    /// X = A.
    pub const TAX: u16 = 0x00;
    /// A = X.
    pub const TXA: u16 = 0x80;
}

/// Negative offsets that address the network or link-layer header, and the
/// ancillary-data window (`SKF_*` in `linux/filter.h`).
pub mod skf {
    /// Start of the ancillary window.
    pub const AD_OFF: i32 = -0x1000;
    /// Start of the network-header window.
    pub const NET_OFF: i32 = -0x100000;
    /// Start of the link-layer-header window.
    pub const LL_OFF: i32 = -0x200000;
}

/// Ancillary field offsets relative to `SKF_AD_OFF` (`SKF_AD_*`).
pub mod ancillary {
    /// `ntohs(skb->protocol)`.
    pub const PROTOCOL: u32 = 0;
    /// `skb->pkt_type`.
    pub const PKTTYPE: u32 = 4;
    /// `skb->dev->ifindex`, 0 without a device.
    pub const IFINDEX: u32 = 8;
    /// Offset of the netlink attribute of type X, searched from offset A.
    pub const NLATTR: u32 = 12;
    /// Same, inside the nested attribute at offset A.
    pub const NLATTR_NEST: u32 = 16;
    /// `skb->mark`.
    pub const MARK: u32 = 20;
    /// `skb->queue_mapping`.
    pub const QUEUE: u32 = 24;
    /// `skb->dev->type`, 0 without a device.
    pub const HATYPE: u32 = 28;
    /// `skb->hash`.
    pub const RXHASH: u32 = 32;
    /// The CPU the filter runs on.
    pub const CPU: u32 = 36;
    /// A ^= X.
    pub const ALU_XOR_X: u32 = 40;
    /// The VLAN TCI (the full tag, as in Linux 5.x).
    pub const VLAN_TAG: u32 = 44;
    /// Whether a VLAN tag is present.
    pub const VLAN_TAG_PRESENT: u32 = 48;
    /// Flow-dissector payload offset.
    pub const PAY_OFFSET: u32 = 52;
    /// A random number.
    pub const RANDOM: u32 = 56;
    /// `ntohs(skb->vlan_proto)`.
    pub const VLAN_TPID: u32 = 60;
    /// One past the last field (`SKF_AD_MAX`).
    pub const MAX: u32 = 64;

    /// The `bpf_asm`-style name of a field, or `None` for an unknown offset.
    pub fn name(off: u32) -> Option<&'static str> {
        Some(match off {
            PROTOCOL => "proto",
            PKTTYPE => "type",
            IFINDEX => "ifidx",
            NLATTR => "nla",
            NLATTR_NEST => "nlan",
            MARK => "mark",
            QUEUE => "queue",
            HATYPE => "hatype",
            RXHASH => "rxhash",
            CPU => "cpu",
            ALU_XOR_X => "xor_x",
            VLAN_TAG => "vlan_tci",
            VLAN_TAG_PRESENT => "vlan_avail",
            PAY_OFFSET => "poff",
            RANDOM => "rand",
            VLAN_TPID => "vlan_tpid",
            _ => return None,
        })
    }
}

/// Named full opcodes that the thread's programs and the tests use most.
pub mod code {
    use super::{class, misc, mode, op, rval, size, src};

    /// `ld [k]`
    pub const LD_W_ABS: u16 = class::LD | size::W | mode::ABS;
    /// `ldh [k]`
    pub const LD_H_ABS: u16 = class::LD | size::H | mode::ABS;
    /// `ldb [k]`
    pub const LD_B_ABS: u16 = class::LD | size::B | mode::ABS;
    /// `ld [x + k]`
    pub const LD_W_IND: u16 = class::LD | size::W | mode::IND;
    /// `ldh [x + k]`
    pub const LD_H_IND: u16 = class::LD | size::H | mode::IND;
    /// `ldb [x + k]`
    pub const LD_B_IND: u16 = class::LD | size::B | mode::IND;
    /// `ld #len`
    pub const LD_W_LEN: u16 = class::LD | size::W | mode::LEN;
    /// `ld #k`
    pub const LD_IMM: u16 = class::LD | mode::IMM;
    /// `ld M[k]`
    pub const LD_MEM: u16 = class::LD | mode::MEM;
    /// `ldx #len`
    pub const LDX_W_LEN: u16 = class::LDX | size::W | mode::LEN;
    /// `ldxb 4*([k]&0xf)`
    pub const LDX_B_MSH: u16 = class::LDX | size::B | mode::MSH;
    /// `ldx #k`
    pub const LDX_IMM: u16 = class::LDX | mode::IMM;
    /// `ldx M[k]`
    pub const LDX_MEM: u16 = class::LDX | mode::MEM;
    /// `st M[k]`
    pub const ST: u16 = class::ST;
    /// `stx M[k]`
    pub const STX: u16 = class::STX;
    /// `neg`
    pub const NEG: u16 = class::ALU | op::NEG;
    /// `ja k`
    pub const JA: u16 = class::JMP | op::JA;
    /// `jeq #k`
    pub const JEQ_K: u16 = class::JMP | op::JEQ | src::K;
    /// `jeq x`
    pub const JEQ_X: u16 = class::JMP | op::JEQ | src::X;
    /// `jgt #k`
    pub const JGT_K: u16 = class::JMP | op::JGT | src::K;
    /// `jgt x`
    pub const JGT_X: u16 = class::JMP | op::JGT | src::X;
    /// `jge #k`
    pub const JGE_K: u16 = class::JMP | op::JGE | src::K;
    /// `jge x`
    pub const JGE_X: u16 = class::JMP | op::JGE | src::X;
    /// `jset #k`
    pub const JSET_K: u16 = class::JMP | op::JSET | src::K;
    /// `jset x`
    pub const JSET_X: u16 = class::JMP | op::JSET | src::X;
    /// `ret #k`
    pub const RET_K: u16 = class::RET | rval::K;
    /// `ret a`
    pub const RET_A: u16 = class::RET | rval::A;
    /// `tax`
    pub const TAX: u16 = class::MISC | misc::TAX;
    /// `txa`
    pub const TXA: u16 = class::MISC | misc::TXA;

    /// The ALU opcode for `op` with a constant operand.
    pub const fn alu_k(op: u16) -> u16 {
        class::ALU | op | src::K
    }

    /// The ALU opcode for `op` with X as operand.
    pub const fn alu_x(op: u16) -> u16 {
        class::ALU | op | src::X
    }
}

/// One classic BPF instruction: `struct sock_filter { code, jt, jf, k }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Insn {
    /// Opcode.
    pub code: u16,
    /// Jump offset when the condition holds.
    pub jt: u8,
    /// Jump offset when it does not.
    pub jf: u8,
    /// Constant operand.
    pub k: u32,
}

/// Size in bytes of one instruction in its binary (`struct sock_filter`) form.
pub const INSN_BYTES: usize = 8;

/// The most instructions a classic program may have (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;

/// Number of scratch memory words (`BPF_MEMWORDS`).
pub const MEM_WORDS: usize = 16;

impl Insn {
    /// An instruction without jump offsets.
    pub const fn stmt(code: u16, k: u32) -> Self {
        Insn {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    /// A conditional jump.
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Self {
        Insn { code, jt, jf, k }
    }

    /// The instruction class (`class::*`).
    pub const fn class(&self) -> u16 {
        self.code & class::MASK
    }

    /// The little-endian `struct sock_filter` bytes.
    pub fn to_bytes(self) -> [u8; INSN_BYTES] {
        let mut b = [0u8; INSN_BYTES];
        b[0..2].copy_from_slice(&self.code.to_le_bytes());
        b[2] = self.jt;
        b[3] = self.jf;
        b[4..8].copy_from_slice(&self.k.to_le_bytes());
        b
    }

    /// An instruction from its little-endian `struct sock_filter` bytes.
    pub fn from_bytes(b: [u8; INSN_BYTES]) -> Self {
        Insn {
            code: u16::from_le_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// The mnemonic and operand as `tcpdump -d` prints them, for the
    /// instruction at `pc` (jump targets are absolute).
    pub fn disasm(&self, pc: usize) -> String {
        let (mnemonic, operand) = self.mnemonic_operand(pc);
        if self.class() == class::JMP && self.code & op::MASK != op::JA {
            let jt = pc + 1 + self.jt as usize;
            let jf = pc + 1 + self.jf as usize;
            format!("{mnemonic:<8} {operand:<16} jt {jt}\tjf {jf}")
        } else if operand.is_empty() {
            mnemonic.to_string()
        } else {
            format!("{mnemonic:<8} {operand}")
        }
    }

    fn mnemonic_operand(&self, pc: usize) -> (&'static str, String) {
        let k = self.k;
        let sized = |w: &'static str, h: &'static str, b: &'static str| match self.code & size::MASK
        {
            size::W => w,
            size::H => h,
            size::B => b,
            _ => "?",
        };
        let alu_name = |o: u16| match o {
            op::ADD => "add",
            op::SUB => "sub",
            op::MUL => "mul",
            op::DIV => "div",
            op::OR => "or",
            op::AND => "and",
            op::LSH => "lsh",
            op::RSH => "rsh",
            op::NEG => "neg",
            op::MOD => "mod",
            op::XOR => "xor",
            _ => "alu?",
        };
        match self.class() {
            class::LD => {
                let name = sized("ld", "ldh", "ldb");
                match self.code & mode::MASK {
                    mode::ABS => (name, abs_operand(k)),
                    mode::IND => (name, format!("[x + {}]", k as i32)),
                    mode::LEN => ("ld", "#pktlen".into()),
                    mode::IMM => ("ld", format!("#{k:#x}")),
                    mode::MEM => ("ld", format!("M[{k}]")),
                    _ => ("unimp", format!("{:#x}", self.code)),
                }
            }
            class::LDX => match self.code & mode::MASK {
                mode::LEN => ("ldx", "#pktlen".into()),
                mode::IMM => ("ldx", format!("#{k:#x}")),
                mode::MEM => ("ldx", format!("M[{k}]")),
                mode::MSH => ("ldxb", format!("4*([{}]&0xf)", k as i32)),
                mode::ABS => (sized("ldx", "ldxh", "ldxb"), abs_operand(k)),
                _ => ("unimp", format!("{:#x}", self.code)),
            },
            class::ST => ("st", format!("M[{k}]")),
            class::STX => ("stx", format!("M[{k}]")),
            class::ALU => {
                let o = self.code & op::MASK;
                let name = alu_name(o);
                if o == op::NEG {
                    (name, String::new())
                } else if self.code & src::MASK == src::X {
                    (name, "x".into())
                } else if matches!(o, op::AND | op::OR | op::XOR) {
                    (name, format!("#{k:#x}"))
                } else {
                    (name, format!("#{k}"))
                }
            }
            class::JMP => {
                let o = self.code & op::MASK;
                let name = match o {
                    op::JA => return ("ja", format!("{}", pc as u64 + 1 + k as u64)),
                    op::JEQ => "jeq",
                    op::JGT => "jgt",
                    op::JGE => "jge",
                    op::JSET => "jset",
                    _ => "j?",
                };
                if self.code & src::MASK == src::X {
                    (name, "x".into())
                } else {
                    (name, format!("#{k:#x}"))
                }
            }
            class::RET => match self.code & 0x18 {
                rval::K => ("ret", format!("#{k}")),
                rval::A => ("ret", "a".into()),
                _ => ("ret", "x".into()),
            },
            _ => match self.code & 0xf8 {
                misc::TAX => ("tax", String::new()),
                misc::TXA => ("txa", String::new()),
                _ => ("unimp", format!("{:#x}", self.code)),
            },
        }
    }
}

/// The operand of an absolute load: `[k]`, a header window, or an
/// ancillary field by its `bpf_asm` name.
fn abs_operand(k: u32) -> String {
    let s = k as i32;
    if (skf::AD_OFF..0).contains(&s) {
        let off = (s - skf::AD_OFF) as u32;
        match ancillary::name(off) {
            Some(name) => format!("#{name}"),
            None => format!("[{s}]"),
        }
    } else if (skf::NET_OFF..0).contains(&s) {
        format!("[net + {}]", s - skf::NET_OFF)
    } else if (skf::LL_OFF..0).contains(&s) {
        format!("[ll + {}]", s - skf::LL_OFF)
    } else {
        format!("[{s}]")
    }
}

impl fmt::Display for Insn {
    /// The `tcpdump -dd` form, `{ 0x28, 0, 0, 0x0000000c }`; for the
    /// mnemonic form with absolute jump targets see [`Insn::disasm`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{ {:#x}, {}, {}, {:#010x} }}",
            self.code, self.jt, self.jf, self.k
        )
    }
}

/// A program listing in `tcpdump -d` form, one `(NNN) insn` line each.
pub fn listing(insns: &[Insn]) -> String {
    let mut out = String::new();
    for (pc, insn) in insns.iter().enumerate() {
        out.push_str(&format!("({pc:03}) {}\n", insn.disasm(pc)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disasm_matches_tcpdump_d() {
        let cases = [
            (Insn::stmt(code::LD_H_ABS, 12), 0, "ldh      [12]"),
            (
                Insn::jump(code::JEQ_K, 0x86dd, 0, 8),
                1,
                "jeq      #0x86dd          jt 2\tjf 10",
            ),
            (Insn::stmt(code::LD_B_ABS, 20), 2, "ldb      [20]"),
            (Insn::stmt(code::LDX_B_MSH, 14), 17, "ldxb     4*([14]&0xf)"),
            (Insn::stmt(code::LD_H_IND, 14), 18, "ldh      [x + 14]"),
            (Insn::stmt(code::RET_K, 65535), 22, "ret      #65535"),
            (Insn::stmt(code::RET_A, 0), 3, "ret      a"),
            (Insn::stmt(code::ST, 1), 13, "st       M[1]"),
            (Insn::stmt(code::LDX_MEM, 5), 26, "ldx      M[5]"),
            (Insn::stmt(code::alu_k(op::AND), 0xf), 15, "and      #0xf"),
            (Insn::stmt(code::alu_k(op::LSH), 2), 16, "lsh      #2"),
            (Insn::stmt(code::alu_x(op::SUB), 0), 19, "sub      x"),
            (Insn::stmt(code::TAX, 0), 17, "tax"),
            (Insn::stmt(code::NEG, 0), 4, "neg"),
            (Insn::stmt(code::JA, 3), 4, "ja       8"),
            (Insn::stmt(code::LD_W_LEN, 0), 0, "ld       #pktlen"),
            (Insn::stmt(code::LD_IMM, 7), 0, "ld       #0x7"),
            (
                Insn::stmt(code::LD_H_ABS, (skf::AD_OFF as u32).wrapping_add(0)),
                0,
                "ldh      #proto",
            ),
            (
                Insn::stmt(code::LD_B_ABS, skf::NET_OFF as u32 + 9),
                0,
                "ldb      [net + 9]",
            ),
            (
                Insn::jump(code::JSET_X, 0, 1, 0),
                5,
                "jset     x                jt 7\tjf 6",
            ),
        ];
        for (insn, pc, want) in cases {
            assert_eq!(insn.disasm(pc), want, "{insn}");
        }
    }

    #[test]
    fn bytes_round_trip() {
        let insn = Insn::jump(code::JEQ_K, 0xdead_beef, 3, 250);
        assert_eq!(insn.to_bytes(), [0x15, 0, 3, 250, 0xef, 0xbe, 0xad, 0xde]);
        assert_eq!(Insn::from_bytes(insn.to_bytes()), insn);
    }

    #[test]
    fn listing_numbers_lines() {
        let prog = [Insn::stmt(code::LD_H_ABS, 12), Insn::stmt(code::RET_A, 0)];
        assert_eq!(listing(&prog), "(000) ldh      [12]\n(001) ret      a\n");
    }
}
