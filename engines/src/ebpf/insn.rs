//! The eBPF instruction (`struct bpf_insn`) and its opcode fields, named as
//! in `linux/bpf.h` and `linux/bpf_common.h` so that the kernel's
//! documentation reads the same here.
//!
//! The textual form of an instruction lives in [`super::disasm`].

/// Instruction class, `code & 0x07`.
pub mod class {
    /// Loads: the 64-bit immediate and the legacy packet loads.
    pub const LD: u8 = 0x00;
    /// Load from memory into a register.
    pub const LDX: u8 = 0x01;
    /// Store an immediate to memory.
    pub const ST: u8 = 0x02;
    /// Store a register to memory.
    pub const STX: u8 = 0x03;
    /// 32-bit arithmetic (results zero-extended).
    pub const ALU: u8 = 0x04;
    /// Jumps comparing 64-bit registers, calls and exit.
    pub const JMP: u8 = 0x05;
    /// Jumps comparing the low 32 bits (2019; not run by bpflab).
    pub const JMP32: u8 = 0x06;
    /// 64-bit arithmetic.
    pub const ALU64: u8 = 0x07;
    /// Mask selecting the class.
    pub const MASK: u8 = 0x07;
}

/// Access size, `code & 0x18`.
pub mod size {
    /// 4 bytes.
    pub const W: u8 = 0x00;
    /// 2 bytes.
    pub const H: u8 = 0x08;
    /// 1 byte.
    pub const B: u8 = 0x10;
    /// 8 bytes.
    pub const DW: u8 = 0x18;
    /// Mask selecting the size.
    pub const MASK: u8 = 0x18;
}

/// Addressing mode, `code & 0xe0`.
pub mod mode {
    /// Immediate (`LD IMM DW`, two slots).
    pub const IMM: u8 = 0x00;
    /// Legacy packet load at a constant offset.
    pub const ABS: u8 = 0x20;
    /// Legacy packet load at a register plus a constant.
    pub const IND: u8 = 0x40;
    /// Memory at a register plus `off`.
    pub const MEM: u8 = 0x60;
    /// Atomic read-modify-write (not run by bpflab).
    pub const ATOMIC: u8 = 0xc0;
    /// Mask selecting the mode.
    pub const MASK: u8 = 0xe0;
}

/// ALU and jump operation, `code & 0xf0`.
pub mod op {
    /// dst + src.
    pub const ADD: u8 = 0x00;
    /// dst - src.
    pub const SUB: u8 = 0x10;
    /// dst * src.
    pub const MUL: u8 = 0x20;
    /// dst / src, unsigned; 0 when src is 0.
    pub const DIV: u8 = 0x30;
    /// dst | src.
    pub const OR: u8 = 0x40;
    /// dst & src.
    pub const AND: u8 = 0x50;
    /// dst << src, the count masked to the width.
    pub const LSH: u8 = 0x60;
    /// dst >> src, logical, the count masked to the width.
    pub const RSH: u8 = 0x70;
    /// -dst.
    pub const NEG: u8 = 0x80;
    /// dst % src, unsigned; dst unchanged when src is 0.
    pub const MOD: u8 = 0x90;
    /// dst ^ src.
    pub const XOR: u8 = 0xa0;
    /// dst = src.
    pub const MOV: u8 = 0xb0;
    /// dst >> src, arithmetic.
    pub const ARSH: u8 = 0xc0;
    /// Byte swap to little (`src::K`) or big (`src::X`) endian; imm is the width.
    pub const END: u8 = 0xd0;

    /// Unconditional jump by `off`.
    pub const JA: u8 = 0x00;
    /// Jump if dst == src.
    pub const JEQ: u8 = 0x10;
    /// Jump if dst > src, unsigned.
    pub const JGT: u8 = 0x20;
    /// Jump if dst >= src, unsigned.
    pub const JGE: u8 = 0x30;
    /// Jump if dst & src != 0.
    pub const JSET: u8 = 0x40;
    /// Jump if dst != src.
    pub const JNE: u8 = 0x50;
    /// Jump if dst > src, signed.
    pub const JSGT: u8 = 0x60;
    /// Jump if dst >= src, signed.
    pub const JSGE: u8 = 0x70;
    /// Call the helper numbered imm.
    pub const CALL: u8 = 0x80;
    /// Return R0.
    pub const EXIT: u8 = 0x90;
    /// Jump if dst < src, unsigned (2017).
    pub const JLT: u8 = 0xa0;
    /// Jump if dst <= src, unsigned (2017).
    pub const JLE: u8 = 0xb0;
    /// Jump if dst < src, signed (2017).
    pub const JSLT: u8 = 0xc0;
    /// Jump if dst <= src, signed (2017).
    pub const JSLE: u8 = 0xd0;

    /// Mask selecting the operation.
    pub const MASK: u8 = 0xf0;
}

/// Operand source, `code & 0x08`.
pub mod src {
    /// The immediate `imm`.
    pub const K: u8 = 0x00;
    /// The register `src`.
    pub const X: u8 = 0x08;
    /// Mask selecting the source.
    pub const MASK: u8 = 0x08;
}

/// Byte-swap direction of `op::END`, in the source bit.
pub mod end {
    /// Convert to little endian.
    pub const TO_LE: u8 = 0x00;
    /// Convert to big endian.
    pub const TO_BE: u8 = 0x08;
}

/// Register numbers.
pub mod reg {
    /// Return value, call results, legacy packet loads; classic A.
    pub const R0: u8 = 0;
    /// First argument; the context at entry.
    pub const R1: u8 = 1;
    /// Second argument.
    pub const R2: u8 = 2;
    /// Third argument.
    pub const R3: u8 = 3;
    /// Fourth argument.
    pub const R4: u8 = 4;
    /// Fifth argument.
    pub const R5: u8 = 5;
    /// Callee-saved; the context in converted programs.
    pub const R6: u8 = 6;
    /// Callee-saved; classic X in converted programs.
    pub const R7: u8 = 7;
    /// Callee-saved; the converter's temporary.
    pub const R8: u8 = 8;
    /// Callee-saved.
    pub const R9: u8 = 9;
    /// The read-only frame pointer (top of the 512-byte stack).
    pub const R10: u8 = 10;
    /// Number of registers.
    pub const COUNT: usize = 11;
}

/// The helpers a converted program may call (bpflab's own numbering; Linux
/// calls kernel functions by their distance from `__bpf_call_base`).
pub mod helper {
    /// `SKF_AD_NLATTR`: R0 = offset of netlink attribute of type R3 from R2.
    pub const NLATTR: i32 = 1;
    /// `SKF_AD_NLATTR_NEST`: the same inside the nested attribute at R2.
    pub const NLATTR_NEST: i32 = 2;
    /// `SKF_AD_CPU`: R0 = the CPU id.
    pub const CPU: i32 = 3;

    /// The name a call to helper `id` is shown with, if bpflab knows it.
    pub fn name(id: i32) -> Option<&'static str> {
        Some(match id {
            NLATTR => "nlattr",
            NLATTR_NEST => "nlattr_nest",
            CPU => "cpu",
            _ => return None,
        })
    }
}

/// Size of the stack below R10, in bytes (`MAX_BPF_STACK`).
pub const STACK_BYTES: usize = 512;

/// Size in bytes of one instruction in its binary form.
pub const INSN_BYTES: usize = 8;

/// One eBPF instruction: `struct bpf_insn { code, dst_reg:4, src_reg:4, off, imm }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Insn {
    /// Opcode.
    pub code: u8,
    /// Destination register (4 bits).
    pub dst: u8,
    /// Source register (4 bits).
    pub src: u8,
    /// Signed offset: jump distance or memory displacement.
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

impl Insn {
    /// An instruction from its fields.
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }

    /// 32-bit `dst op= imm`.
    pub const fn alu32_imm(op: u8, dst: u8, imm: i32) -> Self {
        Insn::new(class::ALU | op | src::K, dst, 0, 0, imm)
    }

    /// 32-bit `dst op= src`.
    pub const fn alu32_reg(op: u8, dst: u8, src: u8) -> Self {
        Insn::new(class::ALU | op | src::X, dst, src, 0, 0)
    }

    /// 64-bit `dst op= imm` (imm sign-extended).
    pub const fn alu64_imm(op: u8, dst: u8, imm: i32) -> Self {
        Insn::new(class::ALU64 | op | src::K, dst, 0, 0, imm)
    }

    /// 64-bit `dst op= src`.
    pub const fn alu64_reg(op: u8, dst: u8, src: u8) -> Self {
        Insn::new(class::ALU64 | op | src::X, dst, src, 0, 0)
    }

    /// `if dst op imm goto pc+off` (imm sign-extended to 64 bits).
    pub const fn jmp_imm(op: u8, dst: u8, imm: i32, off: i16) -> Self {
        Insn::new(class::JMP | op | src::K, dst, 0, off, imm)
    }

    /// `if dst op src goto pc+off`.
    pub const fn jmp_reg(op: u8, dst: u8, src: u8, off: i16) -> Self {
        Insn::new(class::JMP | op | src::X, dst, src, off, 0)
    }

    /// `goto pc+off`.
    pub const fn ja(off: i16) -> Self {
        Insn::new(class::JMP | op::JA, 0, 0, off, 0)
    }

    /// `dst = *(size *)(src + off)`.
    pub const fn ldx_mem(size: u8, dst: u8, src: u8, off: i16) -> Self {
        Insn::new(class::LDX | size | mode::MEM, dst, src, off, 0)
    }

    /// `*(size *)(dst + off) = src`.
    pub const fn stx_mem(size: u8, dst: u8, src: u8, off: i16) -> Self {
        Insn::new(class::STX | size | mode::MEM, dst, src, off, 0)
    }

    /// `*(size *)(dst + off) = imm`.
    pub const fn st_mem(size: u8, dst: u8, off: i16, imm: i32) -> Self {
        Insn::new(class::ST | size | mode::MEM, dst, 0, off, imm)
    }

    /// Legacy `R0 = packet[imm]`, big-endian to host.
    pub const fn ld_abs(size: u8, imm: i32) -> Self {
        Insn::new(class::LD | size | mode::ABS, 0, 0, 0, imm)
    }

    /// Legacy `R0 = packet[src + imm]`, big-endian to host.
    pub const fn ld_ind(size: u8, src: u8, imm: i32) -> Self {
        Insn::new(class::LD | size | mode::IND, 0, src, 0, imm)
    }

    /// `call helper` (see [`helper`]).
    pub const fn call(helper: i32) -> Self {
        Insn::new(class::JMP | op::CALL, 0, 0, 0, helper)
    }

    /// `exit`: return R0.
    pub const fn exit() -> Self {
        Insn::new(class::JMP | op::EXIT, 0, 0, 0, 0)
    }

    /// The class (`class::*`).
    pub const fn class(&self) -> u8 {
        self.code & class::MASK
    }

    /// The little-endian `struct bpf_insn` bytes (dst in the low nibble).
    pub fn to_bytes(self) -> [u8; INSN_BYTES] {
        let mut b = [0u8; INSN_BYTES];
        b[0] = self.code;
        b[1] = (self.dst & 0xf) | (self.src << 4);
        b[2..4].copy_from_slice(&self.off.to_le_bytes());
        b[4..8].copy_from_slice(&self.imm.to_le_bytes());
        b
    }

    /// An instruction from its little-endian `struct bpf_insn` bytes.
    pub fn from_bytes(b: [u8; INSN_BYTES]) -> Self {
        Insn {
            code: b[0],
            dst: b[1] & 0xf,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_with_nibbles() {
        let insn = Insn::ldx_mem(size::W, reg::R0, reg::R6, 12);
        assert_eq!(insn.to_bytes(), [0x61, 0x60, 12, 0, 0, 0, 0, 0]);
        assert_eq!(Insn::from_bytes(insn.to_bytes()), insn);
        let jmp = Insn::jmp_imm(op::JNE, reg::R0, -2, -3);
        assert_eq!(
            jmp.to_bytes(),
            [0x55, 0x00, 0xfd, 0xff, 0xfe, 0xff, 0xff, 0xff]
        );
        assert_eq!(Insn::from_bytes(jmp.to_bytes()), jmp);
    }

    #[test]
    fn opcodes_keep_their_linux_values() {
        assert_eq!(Insn::alu32_reg(op::XOR, 0, 0).code, 0xac);
        assert_eq!(Insn::alu64_reg(op::MOV, 6, 1).code, 0xbf);
        assert_eq!(Insn::alu32_imm(op::MOV, 0, 0).code, 0xb4);
        assert_eq!(Insn::ld_abs(size::H, 12).code, 0x28);
        assert_eq!(Insn::ld_ind(size::B, reg::R7, 14).code, 0x50);
        assert_eq!(Insn::stx_mem(size::W, reg::R10, reg::R0, -4).code, 0x63);
        assert_eq!(Insn::st_mem(size::W, reg::R10, -4, 1).code, 0x62);
        assert_eq!(Insn::call(helper::CPU).code, 0x85);
        assert_eq!(Insn::exit().code, 0x95);
        assert_eq!(Insn::ja(1).code, 0x05);
        assert_eq!(Insn::jmp_imm(op::JLE, 0, 1, 1).code, 0xb5);
    }
}
