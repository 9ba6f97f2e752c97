//! "ext-jit": an eBPF program (normally the converter's output) to x86_64,
//! each eBPF instruction to a short native sequence with the registers
//! mapped one to one, as the 2014 eBPF JIT did.
//!
//! | eBPF | x86_64 | | eBPF | x86_64 |
//! |---|---|---|---|---|
//! | R0 | rax | | R6 | rbx |
//! | R1 | rdi | | R7 | r13 |
//! | R2 | rsi | | R8 | r14 |
//! | R3 | rdx | | R9 | r15 |
//! | R4 | rcx | | R10 | rbp |
//! | R5 | r8 | | | |
//!
//! r9 = packet data, r10 = fast-path length, r11 scratch (see
//! [`super::packet`]); r12 is unused (it would need a SIB byte). At entry
//! R1 = the [`Context`](crate::skb::Context) pointer. A register no
//! instruction reads gets no code for the ALU and LDX instructions that
//! write it (they have no other effect), so the converter's `r6 = r1` costs
//! nothing in a program that never reads the context. The prologue pushes
//! the callee-saved registers of the registers that are read, then `push
//! rbp; mov rbp, rsp`, so R10 = rbp with the 512-byte eBPF stack right
//! below it and the skb pointer's slot below that; rsp stays 16-byte
//! aligned. `exit` is inlined (`leave`, pops, `ret`). DIV/MOD follow eBPF
//! (by 0: DIV gives 0, MOD keeps dst), calls and packet loads preserve
//! R1-R5 (as the interpreters do), and only programs
//! [`verify`](crate::jit::verify) accepts are compiled.

use super::asm::{Alu, Cond, Mem, Reg, Shift, Width};
use super::emit::{Emitter, Label, assemble};
use super::packet::{DATA, Dest, FASTLEN, Packet, Size, TMP};
use super::runtime::{self, Native};
use crate::ebpf::Converted;
use crate::ebpf::insn::{Insn, STACK_BYTES, class, end, helper, mode, op, reg, size, src};
use crate::jit::JitError;
use crate::jit::verify::verify;
use crate::skb::Skb;
use std::fmt;
use std::sync::Arc;

/// The x86_64 register of each eBPF register (the reference's §6).
const MAP: [Reg; reg::COUNT] = [
    Reg::Rax,
    Reg::Rdi,
    Reg::Rsi,
    Reg::Rdx,
    Reg::Rcx,
    Reg::R8,
    Reg::Rbx,
    Reg::R13,
    Reg::R14,
    Reg::R15,
    Reg::Rbp,
];

/// The x86_64 register of eBPF register `r` (checked by the verifier).
fn x(r: u8) -> Reg {
    MAP[usize::from(r) % reg::COUNT]
}

/// An eBPF program compiled to x86_64 ("ext-jit").
#[derive(Clone)]
pub struct EbpfJit {
    native: Arc<Native>,
    offsets: Arc<[usize]>,
}

impl EbpfJit {
    /// Compiles a converted classic program.
    pub fn compile(program: &Converted) -> Result<EbpfJit, JitError> {
        EbpfJit::compile_insns(&program.insns)
    }

    /// Compiles eBPF instructions that [`verify`] accepts.
    pub fn compile_insns(insns: &[Insn]) -> Result<EbpfJit, JitError> {
        verify(insns)?;
        let plan = Plan::of(insns);
        let (code, offsets) = assemble(|e| plan.generate(e, insns))?;
        Ok(EbpfJit {
            native: Arc::new(Native::new(&code)?),
            offsets: offsets.into(),
        })
    }

    /// Runs the program on `skb` and returns R0's low 32 bits.
    #[inline]
    pub fn run(&self, skb: &Skb) -> u32 {
        self.native.call(skb, skb.data())
    }

    /// Runs the program on `skb` with the inline fast path reading `data`
    /// instead of `skb.data()` (for tests that put the bytes before a guard
    /// page); with `data == skb.data()` this is [`EbpfJit::run`].
    pub fn run_with_packet(&self, skb: &Skb, data: &[u8]) -> u32 {
        self.native.call(skb, data)
    }

    /// The machine code.
    pub fn code(&self) -> &[u8] {
        self.native.code()
    }

    /// The offset in [`EbpfJit::code`] where each eBPF instruction's code
    /// starts (the prologue comes before the first).
    pub fn insn_offsets(&self) -> &[usize] {
        &self.offsets
    }
}

impl fmt::Debug for EbpfJit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EbpfJit")
            .field("code_bytes", &self.code().len())
            .field("insns", &self.offsets.len())
            .finish()
    }
}

/// The frame a program needs, found before emitting.
#[derive(Clone, Debug)]
struct Plan {
    /// Registers some instruction reads.
    read: [bool; reg::COUNT],
    /// Callee-saved registers to push, in push order.
    saved: Vec<Reg>,
    /// Bytes below rbp: the eBPF stack, the skb slot, alignment.
    frame: i32,
    /// Where the skb pointer is kept, from rbp.
    skb_disp: i32,
    /// The program loads packet data.
    packet: bool,
    /// A slow path or helper may need the skb pointer.
    skb: bool,
}

impl Plan {
    fn of(insns: &[Insn]) -> Plan {
        let read = registers_read(insns);
        let calls = insns.iter().any(|i| i.code == class::JMP | op::CALL);
        let mentions = |r: u8| insns.iter().any(|i| i.dst == r || i.src == r);
        // R6-R9 live in callee-saved registers: save those that are read.
        let saved: Vec<Reg> = (reg::R6..=reg::R9)
            .filter(|&r| read[usize::from(r)])
            .map(x)
            .collect();
        let packet = insns.iter().any(|i| {
            i.class() == class::LD && matches!(i.code & mode::MASK, mode::ABS | mode::IND)
        });
        let skb = packet || calls;
        let stack = if mentions(reg::R10) {
            STACK_BYTES as i32
        } else {
            0
        };
        let mut frame = stack + if skb { 8 } else { 0 };
        // Entry rsp is 8 off 16-byte alignment; each push moves it by 8.
        let pushes = saved.len() as i32 + 1;
        while (8 + 8 * pushes + frame) % 16 != 0 {
            frame += 8;
        }
        Plan {
            read,
            saved,
            frame,
            skb_disp: -(stack + 8),
            packet,
            skb,
        }
    }

    /// One pass of code generation; returns each instruction's offset.
    fn generate(&self, e: &mut Emitter, insns: &[Insn]) -> Result<Vec<usize>, JitError> {
        let labels: Vec<Label> = insns.iter().map(|_| e.new_label()).collect();
        let exit_zero = e.new_label();
        let mut packet = Packet::new(exit_zero, self.skb_disp);
        self.prologue(e);
        let mut offsets = Vec::with_capacity(insns.len());
        for (pc, &insn) in insns.iter().enumerate() {
            e.bind(labels[pc]);
            offsets.push(e.len());
            self.one(e, &mut packet, &labels, pc, insn)?;
        }
        // The verifier proved nothing falls through to here.
        e.bind(exit_zero);
        e.alu_rr(Alu::Xor, Width::W32, Reg::Rax, Reg::Rax);
        self.epilogue(e);
        packet.finish(e);
        Ok(offsets)
    }

    fn prologue(&self, e: &mut Emitter) {
        for &r in &self.saved {
            e.push(r);
        }
        e.push(Reg::Rbp);
        e.mov_rr(Width::W64, Reg::Rbp, Reg::Rsp);
        if self.frame > 0 {
            e.alu_ri(Alu::Sub, Width::W64, Reg::Rsp, self.frame);
        }
        if self.skb {
            e.store(Width::W64, Mem::base(Reg::Rbp, self.skb_disp), Reg::Rcx);
        }
        if self.packet {
            e.mov_rr(Width::W64, DATA, Reg::Rsi);
            e.mov_rr(Width::W64, FASTLEN, Reg::Rdx);
        }
    }

    fn epilogue(&self, e: &mut Emitter) {
        e.leave();
        for &r in self.saved.iter().rev() {
            e.pop(r);
        }
        e.ret();
    }

    fn one(
        &self,
        e: &mut Emitter,
        packet: &mut Packet,
        labels: &[Label],
        pc: usize,
        insn: Insn,
    ) -> Result<(), JitError> {
        let (dst, s) = (x(insn.dst), x(insn.src));
        let unsupported = |what| JitError::Unsupported {
            pc,
            code: insn.code.into(),
            what,
        };
        let dead = matches!(insn.class(), class::ALU | class::ALU64 | class::LDX)
            && !self.read[usize::from(insn.dst) % reg::COUNT];
        if dead {
            return Ok(());
        }
        match insn.class() {
            class::ALU => {
                alu(e, Width::W32, insn, dst, s).ok_or(unsupported("this ALU operation"))?
            }
            class::ALU64 => {
                alu(e, Width::W64, insn, dst, s).ok_or(unsupported("this ALU operation"))?
            }
            class::JMP => match insn.code & op::MASK {
                op::EXIT => self.epilogue(e),
                op::CALL => {
                    let f = match insn.imm {
                        helper::NLATTR => runtime::nlattr,
                        helper::NLATTR_NEST => runtime::nlattr_nest,
                        helper::CPU => runtime::cpu,
                        _ => return Err(unsupported("a call to this helper")),
                    };
                    // R2 and R3 are already in esi and edx.
                    packet.call_helper(e, runtime::address(f), None);
                }
                o => {
                    let to = labels
                        .get(pc + 1 + insn.off.max(0) as usize)
                        .copied()
                        .ok_or(unsupported("a jump past the end"))?;
                    jump(e, o, insn, dst, s, to).ok_or(unsupported("this jump"))?;
                }
            },
            class::LDX => e.load(Width::W32, dst, Mem::base(s, insn.off.into())),
            class::STX => e.store(Width::W32, Mem::base(dst, insn.off.into()), s),
            class::ST => e.store_imm32(Mem::base(dst, insn.off.into()), insn.imm),
            class::LD => {
                let sz = match insn.code & size::MASK {
                    size::W => Size::W,
                    size::H => Size::H,
                    _ => Size::B,
                };
                let into = Dest::Value(Reg::Rax);
                if insn.code & mode::MASK == mode::IND {
                    packet.load_ind(e, sz, s, insn.imm as u32, into);
                } else {
                    packet.load_abs(e, sz, insn.imm as u32, into);
                }
            }
            _ => return Err(unsupported("this instruction")),
        }
        Ok(())
    }
}

/// Which registers some instruction reads (the helpers read R2 and R3,
/// never R1: they find the skb in the frame).
fn registers_read(insns: &[Insn]) -> [bool; reg::COUNT] {
    let mut read = [false; reg::COUNT];
    let mut mark = |r: u8| {
        if let Some(slot) = read.get_mut(usize::from(r)) {
            *slot = true;
        }
    };
    for i in insns {
        let from_x = i.code & src::MASK == src::X;
        let o = i.code & op::MASK;
        match i.class() {
            class::ALU | class::ALU64 => {
                if o != op::MOV {
                    mark(i.dst);
                }
                if from_x && o != op::END {
                    mark(i.src);
                }
            }
            class::JMP => match o {
                op::EXIT => mark(reg::R0),
                op::CALL => {
                    mark(reg::R2);
                    mark(reg::R3);
                }
                op::JA => {}
                _ => {
                    mark(i.dst);
                    if from_x {
                        mark(i.src);
                    }
                }
            },
            class::LDX => mark(i.src),
            class::STX => {
                mark(i.dst);
                mark(i.src);
            }
            class::ST => mark(i.dst),
            class::LD if i.code & mode::MASK == mode::IND => mark(i.src),
            _ => {}
        }
    }
    read
}

/// One ALU or ALU64 instruction; `None` for an operation without code.
fn alu(e: &mut Emitter, w: Width, insn: Insn, dst: Reg, s: Reg) -> Option<()> {
    let from_x = insn.code & src::MASK == src::X;
    let imm = insn.imm;
    let o = insn.code & op::MASK;
    match o {
        op::MOV if from_x => {
            if w == Width::W32 || dst != s {
                e.mov_rr(w, dst, s);
            }
        }
        op::MOV if imm == 0 => e.alu_rr(Alu::Xor, Width::W32, dst, dst),
        op::MOV if w == Width::W32 => e.mov_ri32(dst, imm as u32),
        op::MOV => e.mov_ri64(dst, imm as i64 as u64),
        op::ADD | op::SUB | op::AND | op::OR | op::XOR => {
            let a = match o {
                op::ADD => Alu::Add,
                op::SUB => Alu::Sub,
                op::AND => Alu::And,
                op::OR => Alu::Or,
                _ => Alu::Xor,
            };
            if from_x {
                e.alu_rr(a, w, dst, s);
            } else {
                e.alu_ri(a, w, dst, imm);
            }
        }
        op::MUL if from_x => e.imul_rr(w, dst, s),
        op::MUL => e.imul_rri(w, dst, dst, imm),
        op::DIV | op::MOD => divide(e, w, o == op::MOD, dst, from_x.then_some(s), imm),
        op::LSH | op::RSH | op::ARSH => {
            let sh = match o {
                op::LSH => Shift::Shl,
                op::RSH => Shift::Shr,
                _ => Shift::Sar,
            };
            if from_x {
                shift_by_reg(e, sh, w, dst, s);
            } else {
                let count = imm as u32 & if w == Width::W32 { 31 } else { 63 };
                if count != 0 {
                    e.shift_ri(sh, w, dst, count as u8);
                } else if w == Width::W32 {
                    // A shift by 0 still zero-extends the 32-bit result.
                    e.mov_rr(w, dst, dst);
                }
            }
        }
        op::NEG => e.neg(w, dst),
        op::END => match (insn.code & src::MASK == end::TO_BE, imm) {
            (true, 16) => {
                e.rol16_8(dst);
                e.movzx16_rr(dst, dst);
            }
            (true, 32) => e.bswap(Width::W32, dst),
            (true, 64) => e.bswap(Width::W64, dst),
            (false, 16) => e.movzx16_rr(dst, dst),
            (false, 32) => e.mov_rr(Width::W32, dst, dst),
            (false, 64) => {}
            _ => return None,
        },
        _ => return None,
    }
    Some(())
}

/// `dst <<= s` (or `>>=`) with the count in cl, keeping rcx (R4) intact.
fn shift_by_reg(e: &mut Emitter, sh: Shift, w: Width, dst: Reg, s: Reg) {
    if s == Reg::Rcx {
        e.shift_cl(sh, w, dst);
    } else if dst == Reg::Rcx {
        e.mov_rr(Width::W64, TMP, Reg::Rcx);
        e.mov_rr(Width::W32, Reg::Rcx, s);
        e.shift_cl(sh, w, TMP);
        e.mov_rr(w, Reg::Rcx, TMP);
    } else {
        e.mov_rr(Width::W64, TMP, Reg::Rcx);
        e.mov_rr(Width::W32, Reg::Rcx, s);
        e.shift_cl(sh, w, dst);
        e.mov_rr(Width::W64, Reg::Rcx, TMP);
    }
    if w == Width::W32 {
        // Keep the 32-bit result zero-extended even where the masked count
        // is 0 (x86 leaves the destination unwritten then on some cores).
        e.mov_rr(Width::W32, dst, dst);
    }
}

/// Unsigned DIV or MOD of `dst` by `src` (a register) or `imm`, with
/// eBPF's rule for a zero divisor: DIV gives 0, MOD keeps `dst`.
fn divide(e: &mut Emitter, w: Width, modulo: bool, dst: Reg, src: Option<Reg>, imm: i32) {
    let zero_divisor = |e: &mut Emitter| {
        if modulo {
            if w == Width::W32 {
                e.mov_rr(Width::W32, dst, dst);
            }
        } else {
            e.alu_rr(Alu::Xor, Width::W32, dst, dst);
        }
    };
    let done = e.new_label();
    match src {
        None if imm == 0 => {
            zero_divisor(e);
            return;
        }
        None if w == Width::W32 => e.mov_ri32(TMP, imm as u32),
        None => e.mov_ri64_sx(TMP, imm),
        Some(s) => {
            let divide = e.new_label();
            e.mov_rr(w, TMP, s);
            e.test_rr(w, TMP, TMP);
            e.jcc(Cond::Ne, divide);
            zero_divisor(e);
            e.jmp(done);
            e.bind(divide);
        }
    }
    if dst != Reg::Rax {
        e.push(Reg::Rax);
    }
    if dst != Reg::Rdx {
        e.push(Reg::Rdx);
    }
    if dst != Reg::Rax {
        e.mov_rr(w, Reg::Rax, dst);
    }
    e.zero_div_high();
    e.div(w, TMP);
    e.mov_rr(Width::W64, TMP, if modulo { Reg::Rdx } else { Reg::Rax });
    if dst != Reg::Rdx {
        e.pop(Reg::Rdx);
    }
    if dst != Reg::Rax {
        e.pop(Reg::Rax);
    }
    e.mov_rr(w, dst, TMP);
    e.bind(done);
}

/// A conditional jump comparing 64-bit registers; `None` for an unknown op.
fn jump(e: &mut Emitter, o: u8, insn: Insn, dst: Reg, s: Reg, to: Label) -> Option<()> {
    if o == op::JA {
        if insn.off != 0 {
            e.jmp(to);
        }
        return Some(());
    }
    let cond = match o {
        op::JEQ => Cond::E,
        op::JNE | op::JSET => Cond::Ne,
        op::JGT => Cond::A,
        op::JGE => Cond::Ae,
        op::JLT => Cond::B,
        op::JLE => Cond::Be,
        op::JSGT => Cond::G,
        op::JSGE => Cond::Ge,
        op::JSLT => Cond::L,
        op::JSLE => Cond::Le,
        _ => return None,
    };
    let from_x = insn.code & src::MASK == src::X;
    match (o == op::JSET, from_x) {
        (true, true) => e.test_rr(Width::W64, dst, s),
        (true, false) => e.test_ri(Width::W64, dst, insn.imm),
        (false, true) => e.alu_rr(Alu::Cmp, Width::W64, dst, s),
        // `test r, r` sets the flags exactly as `cmp r, 0` does.
        (false, false) if insn.imm == 0 => e.test_rr(Width::W64, dst, dst),
        (false, false) => e.alu_ri(Alu::Cmp, Width::W64, dst, insn.imm),
    }
    e.jcc(cond, to);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUSH_RBX: u8 = 0x53;
    const PUSH_RBP: u8 = 0x55;

    #[test]
    fn registers_never_read_cost_nothing() {
        let unread = [
            Insn::alu64_reg(op::MOV, reg::R6, reg::R1),
            Insn::ldx_mem(size::W, reg::R8, reg::R1, 0),
            Insn::alu32_imm(op::MOV, reg::R0, 1),
            Insn::exit(),
        ];
        let jit = EbpfJit::compile_insns(&unread).expect("compiles");
        assert_eq!(jit.code()[0], PUSH_RBP, "nothing to save");
        assert_eq!(jit.insn_offsets()[0], jit.insn_offsets()[2]);
        let read = [
            Insn::alu64_reg(op::MOV, reg::R6, reg::R1),
            Insn::ldx_mem(size::W, reg::R0, reg::R6, 0),
            Insn::exit(),
        ];
        let jit = EbpfJit::compile_insns(&read).expect("compiles");
        assert_eq!(jit.code()[..2], [PUSH_RBX, PUSH_RBP], "rbx holds R6");
        assert!(jit.insn_offsets()[0] < jit.insn_offsets()[1]);
    }

    #[test]
    fn frames_keep_the_stack_aligned() {
        for insns in [
            vec![Insn::alu32_imm(op::MOV, reg::R0, 1), Insn::exit()],
            vec![Insn::ld_abs(size::B, 0), Insn::exit()],
            vec![
                Insn::alu64_reg(op::MOV, reg::R7, reg::R1),
                Insn::ld_abs(size::B, 0),
                Insn::stx_mem(size::W, reg::R10, reg::R0, -4),
                Insn::ldx_mem(size::W, reg::R0, reg::R7, 0),
                Insn::exit(),
            ],
        ] {
            let plan = Plan::of(&insns);
            let pushes = plan.saved.len() as i32 + 1;
            assert_eq!((8 + 8 * pushes + plan.frame) % 16, 0, "{plan:?}");
            assert!(plan.skb_disp >= -plan.frame || !plan.skb);
        }
    }
}
