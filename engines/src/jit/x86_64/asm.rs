//! The x86_64 instruction encoder both JITs share: one function per
//! instruction form they emit, written from the Intel SDM's opcode tables
//! (REX prefix, ModRM, SIB, displacement, immediate).
//!
//! The encoder knows nothing of BPF. Jumps take a finished displacement;
//! choosing between rel8 and rel32 and patching targets is the emitter's
//! business. Every function is checked byte for byte and against a
//! disassembler by the golden table in `asm/golden.rs`.

/// A 64-bit general-purpose register, numbered as in the encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Reg {
    Rax = 0,
    Rcx = 1,
    Rdx = 2,
    Rbx = 3,
    Rsp = 4,
    Rbp = 5,
    Rsi = 6,
    Rdi = 7,
    R8 = 8,
    R9 = 9,
    R10 = 10,
    R11 = 11,
    R12 = 12,
    R13 = 13,
    R14 = 14,
    R15 = 15,
}

impl Reg {
    /// The low three bits, which go into ModRM, SIB or the opcode.
    fn low(self) -> u8 {
        self as u8 & 7
    }

    /// Whether the register needs a REX extension bit (r8-r15).
    fn ext(self) -> bool {
        self as u8 >= 8
    }
}

/// Operand width of an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// 32 bits; writing a register zero-extends it to 64.
    W32,
    /// 64 bits (REX.W).
    W64,
}

/// A condition code, numbered as in `Jcc`'s opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    /// Overflow.
    O = 0,
    /// No overflow.
    No = 1,
    /// Below (unsigned <).
    B = 2,
    /// Above or equal (unsigned >=).
    Ae = 3,
    /// Equal / zero.
    E = 4,
    /// Not equal / not zero.
    Ne = 5,
    /// Below or equal (unsigned <=).
    Be = 6,
    /// Above (unsigned >).
    A = 7,
    /// Sign.
    S = 8,
    /// No sign.
    Ns = 9,
    /// Parity.
    P = 10,
    /// No parity.
    Np = 11,
    /// Less (signed <).
    L = 12,
    /// Greater or equal (signed >=).
    Ge = 13,
    /// Less or equal (signed <=).
    Le = 14,
    /// Greater (signed >).
    G = 15,
}

impl Cond {
    /// The opposite condition (the encodings pair up in the low bit).
    pub fn negate(self) -> Cond {
        const ALL: [Cond; 16] = [
            Cond::O,
            Cond::No,
            Cond::B,
            Cond::Ae,
            Cond::E,
            Cond::Ne,
            Cond::Be,
            Cond::A,
            Cond::S,
            Cond::Ns,
            Cond::P,
            Cond::Np,
            Cond::L,
            Cond::Ge,
            Cond::Le,
            Cond::G,
        ];
        ALL[(self as usize) ^ 1]
    }
}

/// The eight classic two-operand ALU operations, numbered as the ModRM
/// `/digit` of opcodes 81/83 (and bits 3-5 of the reg/reg opcodes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alu {
    /// dst + src.
    Add = 0,
    /// dst | src.
    Or = 1,
    /// dst & src.
    And = 4,
    /// dst - src.
    Sub = 5,
    /// dst ^ src.
    Xor = 6,
    /// Flags of dst - src.
    Cmp = 7,
}

/// Shifts and rotates, numbered as the ModRM `/digit` of C1/D1/D3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shift {
    /// Rotate left.
    Rol = 0,
    /// Rotate right.
    Ror = 1,
    /// Shift left.
    Shl = 4,
    /// Logical shift right.
    Shr = 5,
    /// Arithmetic shift right.
    Sar = 7,
}

/// A memory operand `[base + index + disp]` (scale 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mem {
    /// Base register.
    pub base: Reg,
    /// Optional index register (scale 1).
    pub index: Option<Reg>,
    /// Signed displacement.
    pub disp: i32,
}

impl Mem {
    /// `[base + disp]`.
    pub fn base(base: Reg, disp: i32) -> Mem {
        Mem {
            base,
            index: None,
            disp,
        }
    }

    /// `[base + index + disp]`.
    pub fn indexed(base: Reg, index: Reg, disp: i32) -> Mem {
        Mem {
            base,
            index: Some(index),
            disp,
        }
    }
}

/// Whether `v` fits a sign-extended 8-bit immediate or displacement.
pub fn fits_i8(v: i64) -> bool {
    i8::try_from(v).is_ok()
}

/// A growing buffer of machine code.
#[derive(Clone, Debug, Default)]
pub struct Code {
    buf: Vec<u8>,
}

impl Code {
    /// An empty buffer.
    pub fn new() -> Code {
        Code::default()
    }

    /// Bytes emitted so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was emitted.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The code.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The code, giving up the buffer.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Empties the buffer, keeping its allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Overwrites the byte at `at` (a rel8 field).
    pub fn patch_rel8(&mut self, at: usize, disp: i8) {
        if let Some(b) = self.buf.get_mut(at) {
            *b = disp as u8;
        }
    }

    /// Overwrites the four bytes at `at` (a rel32 field).
    pub fn patch_rel32(&mut self, at: usize, disp: i32) {
        if let Some(b) = self.buf.get_mut(at..at + 4) {
            b.copy_from_slice(&disp.to_le_bytes());
        }
    }

    fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    fn imm32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// A REX prefix when any of W, R, X, B is needed.
    fn rex(&mut self, w: Width, r: bool, x: bool, b: bool) {
        let rex = 0x40
            | (u8::from(w == Width::W64) << 3)
            | (u8::from(r) << 2)
            | (u8::from(x) << 1)
            | u8::from(b);
        if rex != 0x40 {
            self.byte(rex);
        }
    }

    /// REX, opcode and a register-direct ModRM (`mod = 11`).
    fn op_rr(&mut self, w: Width, opcode: &[u8], reg: u8, rm: Reg) {
        self.rex(w, reg >= 8, false, rm.ext());
        self.buf.extend_from_slice(opcode);
        self.byte(0xc0 | ((reg & 7) << 3) | rm.low());
    }

    /// REX, opcode, and a ModRM (+SIB, +displacement) addressing `m`.
    fn op_rm(&mut self, w: Width, opcode: &[u8], reg: u8, m: Mem) {
        // rsp cannot be an index; with scale 1 base and index commute.
        let (base, index) = match m.index {
            Some(Reg::Rsp) if m.base != Reg::Rsp => (Reg::Rsp, Some(m.base)),
            other => (m.base, other),
        };
        self.rex(w, reg >= 8, index.is_some_and(Reg::ext), base.ext());
        self.buf.extend_from_slice(opcode);
        // mod = 00 with base rbp/r13 means "disp32, no base": use disp8 0.
        let md = if m.disp == 0 && base.low() != 5 {
            0b00
        } else if fits_i8(m.disp.into()) {
            0b01
        } else {
            0b10
        };
        let needs_sib = index.is_some() || base.low() == 4;
        let rm = if needs_sib { 4 } else { base.low() };
        self.byte((md << 6) | ((reg & 7) << 3) | rm);
        if needs_sib {
            let idx = index.map_or(4, Reg::low);
            self.byte((idx << 3) | base.low());
        }
        match md {
            0b01 => self.byte(m.disp as u8),
            0b10 => self.imm32(m.disp),
            _ => {}
        }
    }

    /// `mov dst, src`.
    pub fn mov_rr(&mut self, w: Width, dst: Reg, src: Reg) {
        self.op_rr(w, &[0x89], src as u8, dst);
    }

    /// `mov dst32, imm32` (zero-extends into the 64-bit register).
    pub fn mov_ri32(&mut self, dst: Reg, imm: u32) {
        self.rex(Width::W32, false, false, dst.ext());
        self.byte(0xb8 + dst.low());
        self.imm32(imm as i32);
    }

    /// `mov dst64, imm32` sign-extended to 64 bits (`C7 /0`).
    pub fn mov_ri64_sx(&mut self, dst: Reg, imm: i32) {
        self.op_rr(Width::W64, &[0xc7], 0, dst);
        self.imm32(imm);
    }

    /// `movabs dst64, imm64`.
    pub fn movabs(&mut self, dst: Reg, imm: u64) {
        self.rex(Width::W64, false, false, dst.ext());
        self.byte(0xb8 + dst.low());
        self.buf.extend_from_slice(&imm.to_le_bytes());
    }

    /// `dst64 = imm` in the shortest of the three forms.
    pub fn mov_ri64(&mut self, dst: Reg, imm: u64) {
        if let Ok(v) = u32::try_from(imm) {
            self.mov_ri32(dst, v);
        } else if let Ok(v) = i32::try_from(imm as i64) {
            self.mov_ri64_sx(dst, v);
        } else {
            self.movabs(dst, imm);
        }
    }

    /// `op dst, src` for the two-operand ALU operations.
    pub fn alu_rr(&mut self, op: Alu, w: Width, dst: Reg, src: Reg) {
        self.op_rr(w, &[((op as u8) << 3) | 1], src as u8, dst);
    }

    /// `op dst, imm`, with the sign-extended imm8 form when it fits (the
    /// imm32 is sign-extended for 64-bit operands).
    pub fn alu_ri(&mut self, op: Alu, w: Width, dst: Reg, imm: i32) {
        if fits_i8(imm.into()) {
            self.op_rr(w, &[0x83], op as u8, dst);
            self.byte(imm as u8);
        } else {
            self.op_rr(w, &[0x81], op as u8, dst);
            self.imm32(imm);
        }
    }

    /// `test a, b`.
    pub fn test_rr(&mut self, w: Width, a: Reg, b: Reg) {
        self.op_rr(w, &[0x85], b as u8, a);
    }

    /// `test dst, imm32` (sign-extended for 64-bit operands).
    pub fn test_ri(&mut self, w: Width, dst: Reg, imm: i32) {
        self.op_rr(w, &[0xf7], 0, dst);
        self.imm32(imm);
    }

    /// `imul dst, src` (the low half of the product, sign-agnostic).
    pub fn imul_rr(&mut self, w: Width, dst: Reg, src: Reg) {
        self.op_rr(w, &[0x0f, 0xaf], dst as u8, src);
    }

    /// `imul dst, src, imm`, with the imm8 form when it fits.
    pub fn imul_rri(&mut self, w: Width, dst: Reg, src: Reg, imm: i32) {
        if fits_i8(imm.into()) {
            self.op_rr(w, &[0x6b], dst as u8, src);
            self.byte(imm as u8);
        } else {
            self.op_rr(w, &[0x69], dst as u8, src);
            self.imm32(imm);
        }
    }

    /// `div src`: unsigned `rdx:rax / src`, quotient in rax, remainder in
    /// rdx (the caller zeroes rdx first, see [`Code::zero_div_high`]).
    pub fn div(&mut self, w: Width, src: Reg) {
        self.op_rr(w, &[0xf7], 6, src);
    }

    /// `xor edx, edx`: the high half of an unsigned dividend.
    pub fn zero_div_high(&mut self) {
        self.alu_rr(Alu::Xor, Width::W32, Reg::Rdx, Reg::Rdx);
    }

    /// `neg dst`.
    pub fn neg(&mut self, w: Width, dst: Reg) {
        self.op_rr(w, &[0xf7], 3, dst);
    }

    /// `op dst, imm8` (the `D1` form for a count of 1).
    pub fn shift_ri(&mut self, op: Shift, w: Width, dst: Reg, count: u8) {
        if count == 1 {
            self.op_rr(w, &[0xd1], op as u8, dst);
        } else {
            self.op_rr(w, &[0xc1], op as u8, dst);
            self.byte(count);
        }
    }

    /// `op dst, cl`.
    pub fn shift_cl(&mut self, op: Shift, w: Width, dst: Reg) {
        self.op_rr(w, &[0xd3], op as u8, dst);
    }

    /// `rol dst16, 8`: swaps the two low bytes, leaving the rest.
    pub fn rol16_8(&mut self, dst: Reg) {
        self.byte(0x66);
        self.op_rr(Width::W32, &[0xc1], Shift::Rol as u8, dst);
        self.byte(8);
    }

    /// `bswap dst`.
    pub fn bswap(&mut self, w: Width, dst: Reg) {
        self.rex(w, false, false, dst.ext());
        self.byte(0x0f);
        self.byte(0xc8 + dst.low());
    }

    /// `movzx dst32, src16`.
    pub fn movzx16_rr(&mut self, dst: Reg, src: Reg) {
        self.op_rr(Width::W32, &[0x0f, 0xb7], dst as u8, src);
    }

    /// `movzx dst32, byte [m]`.
    pub fn load8(&mut self, dst: Reg, m: Mem) {
        self.op_rm(Width::W32, &[0x0f, 0xb6], dst as u8, m);
    }

    /// `movzx dst32, word [m]`.
    pub fn load16(&mut self, dst: Reg, m: Mem) {
        self.op_rm(Width::W32, &[0x0f, 0xb7], dst as u8, m);
    }

    /// `mov dst, [m]` (dword or qword).
    pub fn load(&mut self, w: Width, dst: Reg, m: Mem) {
        self.op_rm(w, &[0x8b], dst as u8, m);
    }

    /// `mov [m], src` (dword or qword).
    pub fn store(&mut self, w: Width, m: Mem, src: Reg) {
        self.op_rm(w, &[0x89], src as u8, m);
    }

    /// `mov dword [m], imm32`.
    pub fn store_imm32(&mut self, m: Mem, imm: i32) {
        self.op_rm(Width::W32, &[0xc7], 0, m);
        self.imm32(imm);
    }

    /// `lea dst, [m]`; with a 32-bit width the address wraps modulo 2^32.
    pub fn lea(&mut self, w: Width, dst: Reg, m: Mem) {
        self.op_rm(w, &[0x8d], dst as u8, m);
    }

    /// `push r64`.
    pub fn push(&mut self, r: Reg) {
        self.rex(Width::W32, false, false, r.ext());
        self.byte(0x50 + r.low());
    }

    /// `pop r64`.
    pub fn pop(&mut self, r: Reg) {
        self.rex(Width::W32, false, false, r.ext());
        self.byte(0x58 + r.low());
    }

    /// `call rel32`; returns the offset of the displacement field.
    pub fn call_rel32(&mut self, disp: i32) -> usize {
        self.byte(0xe8);
        self.imm32(disp);
        self.len() - 4
    }

    /// `call r64`.
    pub fn call_r(&mut self, r: Reg) {
        self.op_rr(Width::W32, &[0xff], 2, r);
    }

    /// `ret`.
    pub fn ret(&mut self) {
        self.byte(0xc3);
    }

    /// `leave`: `mov rsp, rbp; pop rbp`.
    pub fn leave(&mut self) {
        self.byte(0xc9);
    }

    /// `jcc rel8`; returns the offset of the displacement byte.
    pub fn jcc_rel8(&mut self, cond: Cond, disp: i8) -> usize {
        self.byte(0x70 + cond as u8);
        self.byte(disp as u8);
        self.len() - 1
    }

    /// `jcc rel32`; returns the offset of the displacement field.
    pub fn jcc_rel32(&mut self, cond: Cond, disp: i32) -> usize {
        self.byte(0x0f);
        self.byte(0x80 + cond as u8);
        self.imm32(disp);
        self.len() - 4
    }

    /// `jmp rel8`; returns the offset of the displacement byte.
    pub fn jmp_rel8(&mut self, disp: i8) -> usize {
        self.byte(0xeb);
        self.byte(disp as u8);
        self.len() - 1
    }

    /// `jmp rel32`; returns the offset of the displacement field.
    pub fn jmp_rel32(&mut self, disp: i32) -> usize {
        self.byte(0xe9);
        self.imm32(disp);
        self.len() - 4
    }

    /// `int3`: a trap, for padding that must never run.
    pub fn int3(&mut self) {
        self.byte(0xcc);
    }
}

#[cfg(test)]
mod golden;
