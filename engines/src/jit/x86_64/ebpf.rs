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
//! rbp; mov rbp, rsp`, so R10 = rbp with the eBPF stack right below it (as
//! deep as the program's deepest stack access, at most 512 bytes) and the
//! skb pointer's slot below that; rsp stays 16-byte aligned. `exit` is
//! inlined (`leave`, pops, `ret`). DIV/MOD follow eBPF (by 0: DIV gives 0,
//! MOD keeps dst), calls and packet loads preserve R1-R5 (as the
//! interpreters do), and only programs [`verify`](crate::jit::verify)
//! accepts are compiled. A conditional jump compares 32-bit registers
//! where that decides the 64-bit comparison (see [`compares_as_32_bits`]).
//!
//! One peephole breaks the one-to-one rule: the converter's six-instruction
//! expansion of classic `ldxb 4*([k]&0xf)` (see [`MshGroup`]) becomes one
//! load straight into X's register, as the classic JIT emits it, whenever
//! no jump lands inside the group; its six instructions share one offset
//! in [`EbpfJit::insn_offsets`].

use super::asm::{Alu, Cond, Mem, Reg, Shift, Width};
use super::emit::{Emitter, Label, assemble};
use super::packet::{DATA, Dest, FASTLEN, Packet, Size, TMP};
use super::runtime::{self, Compiled};
use crate::ebpf::Converted;
use crate::ebpf::insn::{Insn, STACK_BYTES, class, end, helper, mode, op, reg, size, src};
use crate::jit::JitError;
use crate::jit::verify::verify;
use std::ops::Deref;

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

/// An eBPF program compiled to x86_64 ("ext-jit"); its methods are
/// [`Compiled`]'s.
#[derive(Clone, Debug)]
pub struct EbpfJit(Compiled);

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
        Ok(EbpfJit(Compiled::new(&code, offsets)?))
    }
}

impl Deref for EbpfJit {
    type Target = Compiled;

    fn deref(&self) -> &Compiled {
        &self.0
    }
}

/// Instructions in the converter's expansion of classic MSH.
const MSH_LEN: usize = 6;

/// The converter's expansion of classic `ldxb 4*([k]&0xf)` with A in R0,
/// X in `x` and the temporary `tmp`:
///
/// ```text
/// tmp = r0; r0 = *(u8 *)skb[k]; w0 &= 15; w0 <<= 2; x = r0; r0 = tmp
/// ```
///
/// Its effect is `tmp = r0; x = (packet[k] & 15) << 2` (or the exit with 0
/// of a failed load), R0 unchanged; fused, it is the byte load straight
/// into `x`'s register plus, only when some instruction reads `tmp`, the
/// copy into `tmp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MshGroup {
    k: i32,
    tmp: u8,
    x: u8,
}

impl MshGroup {
    /// The group starting `insns`, if it is one; `tmp` and `x` are distinct
    /// registers in R1-R9.
    fn at(insns: &[Insn]) -> Option<MshGroup> {
        let [first, load, ..] = insns else {
            return None;
        };
        let g = MshGroup {
            k: load.imm,
            tmp: first.dst,
            x: insns.get(4)?.dst,
        };
        let usable = |r: u8| (reg::R1..=reg::R9).contains(&r);
        (usable(g.tmp) && usable(g.x) && g.tmp != g.x && insns.get(..MSH_LEN)? == g.insns())
            .then_some(g)
    }

    /// The six instructions the group stands for.
    fn insns(self) -> [Insn; MSH_LEN] {
        [
            Insn::alu64_reg(op::MOV, self.tmp, reg::R0),
            Insn::ld_abs(size::B, self.k),
            Insn::alu32_imm(op::AND, reg::R0, 0xf),
            Insn::alu32_imm(op::LSH, reg::R0, 2),
            Insn::alu64_reg(op::MOV, self.x, reg::R0),
            Insn::alu64_reg(op::MOV, reg::R0, self.tmp),
        ]
    }
}

/// The MSH groups to fuse, by the pc of their first instruction: those no
/// jump enters past their first instruction, without overlaps.
fn msh_groups(insns: &[Insn]) -> Vec<Option<MshGroup>> {
    let mut target = vec![false; insns.len() + 1];
    for (pc, i) in insns.iter().enumerate() {
        let o = i.code & op::MASK;
        if i.class() == class::JMP && o != op::CALL && o != op::EXIT {
            // The verifier keeps targets forward and inside the program.
            let to = pc as i64 + 1 + i64::from(i.off);
            if let Some(slot) = usize::try_from(to).ok().and_then(|t| target.get_mut(t)) {
                *slot = true;
            }
        }
    }
    let mut groups = vec![None; insns.len()];
    let mut pc = 0;
    while pc < insns.len() {
        match MshGroup::at(&insns[pc..]) {
            Some(g) if !target[pc + 1..pc + MSH_LEN].contains(&true) => {
                groups[pc] = Some(g);
                pc += MSH_LEN;
            }
            _ => pc += 1,
        }
    }
    groups
}

/// The frame a program needs, found before emitting.
#[derive(Clone, Debug)]
struct Plan {
    /// Registers some instruction reads (a fused group reads only R0).
    read: [bool; reg::COUNT],
    /// The fused MSH groups, by the pc of their first instruction.
    msh: Vec<Option<MshGroup>>,
    /// By pc: bit r set when Rr's upper 32 bits are 0 on every path there.
    narrow: Vec<u16>,
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
        let msh = msh_groups(insns);
        let read = registers_read(insns, &msh);
        let calls = insns.iter().any(|i| i.code == class::JMP | op::CALL);
        // R6-R9 live in callee-saved registers: save those that are read.
        let saved: Vec<Reg> = (reg::R6..=reg::R9)
            .filter(|&r| read[usize::from(r)])
            .map(x)
            .collect();
        let packet = insns.iter().any(|i| {
            i.class() == class::LD && matches!(i.code & mode::MASK, mode::ABS | mode::IND)
        });
        let skb = packet || calls;
        let stack = stack_depth(insns);
        let mut frame = stack + if skb { 8 } else { 0 };
        // Entry rsp is 8 off 16-byte alignment; each push moves it by 8.
        let pushes = saved.len() as i32 + 1;
        while (8 + 8 * pushes + frame) % 16 != 0 {
            frame += 8;
        }
        Plan {
            read,
            msh,
            narrow: zero_extended(insns),
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
        let mut pc = 0;
        while pc < insns.len() {
            if let Some(g) = self.msh[pc] {
                // No jump lands on the other five labels; bind them anyway.
                for &label in &labels[pc..pc + MSH_LEN] {
                    e.bind(label);
                    offsets.push(e.len());
                }
                self.msh(e, &mut packet, g);
                pc += MSH_LEN;
                continue;
            }
            e.bind(labels[pc]);
            offsets.push(e.len());
            self.one(e, &mut packet, &labels, pc, insns[pc])?;
            pc += 1;
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

    /// A fused [`MshGroup`].
    fn msh(&self, e: &mut Emitter, packet: &mut Packet, g: MshGroup) {
        if self.read[usize::from(g.tmp)] {
            e.mov_rr(Width::W64, x(g.tmp), Reg::Rax);
        }
        // An unread X still needs the load: it may exit with 0.
        let into = if self.read[usize::from(g.x)] {
            x(g.x)
        } else {
            TMP
        };
        packet.load_abs(e, Size::B, g.k as u32, Dest::Msh(into));
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
                    let narrow = self.narrow[pc];
                    let w = if compares_as_32_bits(insn, |r| narrow & (1 << r) != 0) {
                        Width::W32
                    } else {
                        Width::W64
                    };
                    jump(e, o, insn, w, dst, s, to).ok_or(unsupported("this jump"))?;
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

/// Bytes of the eBPF stack below R10 the program can touch, a multiple of
/// 8: the deepest negative offset of any memory access. The verifier lets
/// a frame pointer be copied but never moved, and keeps every reachable
/// stack access within [`STACK_BYTES`] below R10 (unreachable ones never
/// run, whatever their offset); context fields are at positive offsets.
fn stack_depth(insns: &[Insn]) -> i32 {
    let deepest = insns
        .iter()
        .filter(|i| matches!(i.class(), class::LDX | class::STX | class::ST))
        .map(|i| -i32::from(i.off))
        .max()
        .unwrap_or(0);
    (deepest.clamp(0, STACK_BYTES as i32) + 7) & !7
}

/// Which registers some instruction reads (the helpers read R2 and R3,
/// never R1: they find the skb in the frame; a fused MSH group reads R0).
fn registers_read(insns: &[Insn], msh: &[Option<MshGroup>]) -> [bool; reg::COUNT] {
    let mut read = [false; reg::COUNT];
    let mut mark = |r: u8| {
        if let Some(slot) = read.get_mut(usize::from(r)) {
            *slot = true;
        }
    };
    let mut pc = 0;
    while let Some(i) = insns.get(pc) {
        if msh.get(pc).copied().flatten().is_some() {
            mark(reg::R0);
            pc += MSH_LEN;
            continue;
        }
        pc += 1;
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

/// For each instruction, the registers (bit r for Rr) whose eBPF value has
/// its upper 32 bits 0 on every path reaching it: one forward pass over
/// the loop-free program, meeting (intersecting) where paths join.
///
/// A register is zero-extended after a 32-bit ALU operation (all but the
/// 64-bit byte swaps), a 32-bit memory load, `mov64` of a non-negative
/// immediate or of a zero-extended register, `and64` with a non-negative
/// immediate or a zero-extended register, and R0 after a packet load; a
/// helper call leaves R0 unknown; anything else the instruction writes
/// becomes unknown. Unreachable instructions get the empty set.
fn zero_extended(insns: &[Insn]) -> Vec<u16> {
    let mut into: Vec<Option<u16>> = vec![None; insns.len()];
    if let Some(first) = into.first_mut() {
        *first = Some(0);
    }
    for (pc, &i) in insns.iter().enumerate() {
        let Some(mut z) = into[pc] else {
            continue;
        };
        let bit = |r: u8| 1u16 << (r & 15);
        let from_x = i.code & src::MASK == src::X;
        let o = i.code & op::MASK;
        let set = |z: &mut u16, r: u8, zext: bool| {
            if zext {
                *z |= bit(r);
            } else {
                *z &= !bit(r);
            }
        };
        let mut target = None;
        let mut falls_through = true;
        match i.class() {
            class::ALU => set(&mut z, i.dst, !(o == op::END && i.imm == 64)),
            class::ALU64 => {
                let source = if from_x {
                    z & bit(i.src) != 0
                } else {
                    i.imm >= 0
                };
                let zext = match o {
                    op::MOV => source,
                    op::AND => source || z & bit(i.dst) != 0,
                    _ => false,
                };
                set(&mut z, i.dst, zext);
            }
            class::LDX => set(&mut z, i.dst, true),
            class::LD => set(&mut z, reg::R0, true),
            class::JMP => match o {
                op::EXIT => falls_through = false,
                op::CALL => set(&mut z, reg::R0, false),
                _ => {
                    target = Some(pc as i64 + 1 + i64::from(i.off));
                    falls_through = o != op::JA;
                }
            },
            _ => {}
        }
        let next = falls_through.then_some(pc as i64 + 1);
        for to in [next, target].into_iter().flatten() {
            if let Some(slot) = usize::try_from(to).ok().and_then(|t| into.get_mut(t)) {
                *slot = Some(slot.map_or(z, |s| s & z));
            }
        }
    }
    into.into_iter().map(Option::unwrap_or_default).collect()
}

/// Whether a conditional jump may compare the low 32 bits only: an
/// unsigned or equality condition (or JSET) on a zero-extended `dst`
/// against a zero-extended `src` or a non-negative immediate (which
/// sign-extends to a zero-extended 64-bit value), so that the upper halves
/// are equal (both 0) and the 64-bit comparison is decided by the low
/// halves alone.
fn compares_as_32_bits(insn: Insn, zext: impl Fn(u8) -> bool) -> bool {
    let unsigned = matches!(
        insn.code & op::MASK,
        op::JEQ | op::JNE | op::JGT | op::JGE | op::JLT | op::JLE | op::JSET
    );
    let source = if insn.code & src::MASK == src::X {
        zext(insn.src)
    } else {
        insn.imm >= 0
    };
    unsigned && zext(insn.dst) && source
}

/// A conditional jump comparing `w`-bit registers (64 unless
/// [`compares_as_32_bits`]); `None` for an unknown op.
fn jump(e: &mut Emitter, o: u8, insn: Insn, w: Width, dst: Reg, s: Reg, to: Label) -> Option<()> {
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
        (true, true) => e.test_rr(w, dst, s),
        (true, false) => e.test_ri(w, dst, insn.imm),
        (false, true) => e.alu_rr(Alu::Cmp, w, dst, s),
        // `test r, r` sets the flags exactly as `cmp r, 0` does.
        (false, false) if insn.imm == 0 => e.test_rr(w, dst, dst),
        (false, false) => e.alu_ri(Alu::Cmp, w, dst, insn.imm),
    }
    e.jcc(cond, to);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classic::{self, check};
    use crate::ebpf::ExtInterpreter;
    use crate::ebpf::insn::reg::*;
    use crate::skb::Skb;

    const PUSH_RBX: u8 = 0x53;
    const PUSH_RBP: u8 = 0x55;

    /// Packets of every length up to 40 (so every load fails on some),
    /// with values around the 32-bit sign bit and an IPv4 header length.
    fn packets() -> Vec<Skb> {
        let mut full: Vec<u8> = (0..40u8).map(|b| b.wrapping_mul(37)).collect();
        full[..4].copy_from_slice(&[0x80, 0, 0, 1]);
        full[14] = 0x46;
        let mut skbs: Vec<Skb> = (0..=full.len())
            .map(|n| Skb::from_frame(full[..n].to_vec()))
            .collect();
        for first in [[0, 0, 0, 1], [0xff; 4], [0x7f, 0xff, 0xff, 0xff], [0; 4]] {
            let mut d = full.clone();
            d[..4].copy_from_slice(&first);
            skbs.push(Skb::from_frame(d));
        }
        skbs
    }

    /// ext-jit gives what the `ext` interpreter gives on every packet.
    fn same_as_interpreter(insns: &[Insn]) -> EbpfJit {
        let interp = ExtInterpreter::new(insns).expect("the interpreter runs it");
        let jit = EbpfJit::compile_insns(insns).expect("compiles");
        for skb in packets() {
            assert_eq!(
                jit.run(&skb),
                interp.run(&skb),
                "{insns:?} on {:02x?}",
                skb.data()
            );
        }
        jit
    }

    /// Whether the six instructions from `pc` share one offset.
    fn fused_at(jit: &EbpfJit, pc: usize) -> bool {
        let o = jit.insn_offsets();
        o[pc + 1..pc + MSH_LEN].iter().all(|&x| x == o[pc])
    }

    #[test]
    fn the_converters_msh_group_is_fused() {
        let program = check(vec![
            classic::Insn::stmt(classic::insn::code::LDX_B_MSH, 14),
            classic::Insn::stmt(classic::insn::code::LD_H_IND, 14),
            classic::Insn::stmt(classic::insn::code::RET_A, 0),
        ])
        .expect("valid");
        let converted = crate::ebpf::convert(&program).expect("converts");
        let insns = &converted.insns;
        let groups = msh_groups(insns);
        let pc = groups.iter().position(Option::is_some).expect("a group");
        assert_eq!(
            groups[pc],
            Some(MshGroup {
                k: 14,
                tmp: R8,
                x: R7
            })
        );
        // R8 is read only inside the group: nothing saves r14.
        let plan = Plan::of(insns);
        assert_eq!(plan.saved, [Reg::R13], "{plan:?}");
        let jit = same_as_interpreter(insns);
        assert!(fused_at(&jit, pc));
        // movzx r13d, byte [r9+14]; and r13d, 15; shl r13d, 2
        let load = [
            0x45, 0x0f, 0xb6, 0x69, 0x0e, 0x41, 0x83, 0xe5, 0x0f, 0x41, 0xc1, 0xe5, 0x02,
        ];
        assert!(jit.code().windows(load.len()).any(|w| w == load));
    }

    /// The context rule's `r6 = r1` (packet loads need it).
    const CTX: Insn = Insn::alu64_reg(op::MOV, R6, R1);

    /// `r6 = r1; w7 = 0; w8 = 0; r0 = packet[0]; if r0 == 1 goto <target>;`
    /// then the group at pc 5 and `w0 += w7; exit` at pc 11.
    fn jumping_to(target: usize) -> Vec<Insn> {
        let mut p = vec![
            CTX,
            Insn::alu32_imm(op::MOV, R7, 0),
            Insn::alu32_imm(op::MOV, R8, 0),
            Insn::ld_abs(size::B, 0),
            Insn::jmp_imm(op::JEQ, R0, 1, (target - 5) as i16),
        ];
        p.extend(
            MshGroup {
                k: 14,
                tmp: R8,
                x: R7,
            }
            .insns(),
        );
        p.extend([Insn::alu32_reg(op::ADD, R0, R7), Insn::exit()]);
        p
    }

    #[test]
    fn a_jump_into_the_group_keeps_it_apart() {
        for target in 5..=11 {
            let insns = jumping_to(target);
            let inside = (6..11).contains(&target);
            assert_eq!(msh_groups(&insns)[5].is_some(), !inside, "to {target}");
            let jit = same_as_interpreter(&insns);
            assert_eq!(fused_at(&jit, 5), !inside, "to {target}");
            // Apart, `r0 = r8` reads R8: r14 is saved.
            let plan = Plan::of(&insns);
            assert_eq!(plan.saved.contains(&Reg::R14), inside, "{plan:?}");
        }
    }

    #[test]
    fn fused_groups_keep_what_the_program_reads() {
        let group = |k: i32, tmp: u8, x: u8| MshGroup { k, tmp, x }.insns();
        for k in [0, 14, 39, 40, i32::MAX - 1, i32::MAX, -1, i32::MIN] {
            // X never read, the temporary read afterwards.
            let mut p = vec![CTX, Insn::alu32_imm(op::MOV, R0, 7)];
            p.extend(group(k, R8, R7));
            p.extend([Insn::alu64_reg(op::ADD, R0, R8), Insn::exit()]);
            let jit = same_as_interpreter(&p);
            assert!(fused_at(&jit, 2));
            // Other registers: X in R2 (caller-saved), the temporary in R9;
            // both read, R0 keeps its 64-bit value.
            let mut p = vec![CTX, Insn::alu64_imm(op::MOV, R0, -3)];
            p.extend(group(k, R9, R2));
            p.extend([
                Insn::alu64_reg(op::ADD, R0, R2),
                Insn::alu64_reg(op::XOR, R0, R9),
                Insn::alu64_imm(op::RSH, R0, 1),
                Insn::exit(),
            ]);
            let jit = same_as_interpreter(&p);
            assert!(fused_at(&jit, 2));
        }
    }

    #[test]
    fn near_misses_are_not_groups() {
        let g = MshGroup {
            k: 14,
            tmp: R8,
            x: R7,
        };
        assert_eq!(MshGroup::at(&g.insns()), Some(g));
        assert_eq!(MshGroup::at(&g.insns()[..5]), None);
        let same = MshGroup { x: R8, ..g };
        assert_eq!(MshGroup::at(&same.insns()), None, "X is the temporary");
        let r0 = MshGroup { tmp: R0, ..g };
        assert_eq!(MshGroup::at(&r0.insns()), None);
        for (at, other) in [
            (1, Insn::ld_abs(size::H, 14)),
            (2, Insn::alu32_imm(op::AND, R0, 7)),
            (3, Insn::alu64_imm(op::LSH, R0, 2)),
            (4, Insn::alu32_reg(op::MOV, R7, R0)),
            (5, Insn::alu64_reg(op::MOV, R0, R9)),
        ] {
            let mut insns = g.insns();
            insns[at] = other;
            assert_eq!(MshGroup::at(&insns), None, "{other:?}");
        }
    }

    #[test]
    fn the_stack_is_as_deep_as_the_deepest_access() {
        let ret = [Insn::alu32_imm(op::MOV, R0, 1), Insn::exit()];
        assert_eq!(stack_depth(&ret), 0);
        for (off, depth) in [(-4, 8), (-8, 8), (-12, 16), (-512, 512)] {
            let mut p = vec![
                CTX,
                Insn::ld_abs(size::W, 0),
                Insn::stx_mem(size::W, R10, R0, off),
                Insn::st_mem(size::W, R10, -4, 9),
                Insn::ldx_mem(size::W, R0, R10, off),
                Insn::ldx_mem(size::W, R3, R6, 0),
                Insn::ldx_mem(size::W, R4, R10, -4),
                Insn::alu64_reg(op::ADD, R0, R4),
                Insn::exit(),
            ];
            assert_eq!(stack_depth(&p), depth, "{off}");
            let plan = Plan::of(&p);
            assert_eq!(plan.skb_disp, -(depth + 8));
            assert!(plan.frame >= depth + 8);
            same_as_interpreter(&p);
            // The skb slot survives the deepest store (a slow load reads it).
            p[1] = Insn::ld_abs(size::W, 100);
            same_as_interpreter(&p);
        }
    }

    #[test]
    fn zero_extension_is_tracked_along_every_path() {
        let insns = [
            Insn::ld_abs(size::H, 12),
            Insn::alu64_reg(op::MOV, R2, R0),
            Insn::alu64_imm(op::LSH, R2, 32),
            Insn::jmp_imm(op::JEQ, R0, 5, 1),
            Insn::alu64_imm(op::MOV, R0, -1),
            Insn::ldx_mem(size::W, R3, R1, 0),
            Insn::alu64_imm(op::AND, R2, 0xff),
            Insn::exit(),
        ];
        let z = zero_extended(&insns);
        let bits = |rs: &[u8]| rs.iter().fold(0u16, |m, &r| m | 1 << r);
        assert_eq!(z[0], 0);
        assert_eq!(z[1], bits(&[R0]));
        assert_eq!(z[2], bits(&[R0, R2]));
        assert_eq!(z[3], bits(&[R0]));
        assert_eq!(z[4], bits(&[R0]));
        assert_eq!(z[5], 0, "R0 = -1 on one path");
        assert_eq!(z[6], bits(&[R3]));
        assert_eq!(z[7], bits(&[R2, R3]));
    }

    #[test]
    fn only_unsigned_compares_of_zero_extended_values_narrow() {
        let zext = |r: u8| r != R3;
        assert!(compares_as_32_bits(Insn::jmp_imm(op::JEQ, R0, 5, 0), zext));
        assert!(compares_as_32_bits(Insn::jmp_reg(op::JGT, R0, R1, 0), zext));
        assert!(compares_as_32_bits(
            Insn::jmp_imm(op::JSET, R0, 0xff, 0),
            zext
        ));
        assert!(!compares_as_32_bits(
            Insn::jmp_imm(op::JEQ, R0, -1, 0),
            zext
        ));
        assert!(!compares_as_32_bits(
            Insn::jmp_imm(op::JSGT, R0, 5, 0),
            zext
        ));
        assert!(!compares_as_32_bits(Insn::jmp_imm(op::JEQ, R3, 5, 0), zext));
        assert!(!compares_as_32_bits(
            Insn::jmp_reg(op::JLT, R0, R3, 0),
            zext
        ));
    }

    #[test]
    fn narrowed_and_wide_compares_match_the_interpreter() {
        let conds = [
            op::JEQ,
            op::JNE,
            op::JGT,
            op::JGE,
            op::JLT,
            op::JLE,
            op::JSET,
            op::JSGT,
            op::JSGE,
            op::JSLT,
            op::JSLE,
        ];
        // R2 = packet[0..4] (zero-extended) through operations that keep
        // it zero-extended or not; then R0 = packet[4..8].
        let swap = |e: u8, w: i32| Insn::new(class::ALU | op::END | e, R2, 0, 0, w);
        let shift = Insn::alu64_imm(op::LSH, R2, 31);
        let producers: Vec<Vec<Insn>> = vec![
            vec![],
            vec![shift],
            vec![swap(end::TO_BE, 64)],
            vec![swap(end::TO_BE, 32)],
            vec![shift, swap(end::TO_LE, 64)],
            vec![shift, swap(end::TO_LE, 32)],
            vec![shift, Insn::alu64_imm(op::AND, R2, -2)],
            vec![shift, Insn::alu64_imm(op::AND, R2, 0x7fff_fffe)],
            vec![shift, Insn::alu32_imm(op::ADD, R2, 1)],
            vec![Insn::alu64_imm(op::ADD, R2, -1)],
            vec![Insn::alu64_imm(op::MOV, R2, -2)],
            vec![Insn::alu64_imm(op::MOV, R2, 0x7fff_ffff)],
            vec![
                Insn::ld_abs(size::W, 4),
                Insn::alu64_imm(op::LSH, R0, 32),
                Insn::alu64_reg(op::AND, R2, R0),
            ],
        ];
        for produce in &producers {
            for &c in &conds {
                for imm in [0, 1, 0x7fff_ffff, i32::MIN, -1] {
                    let mut p = vec![
                        CTX,
                        Insn::ld_abs(size::W, 0),
                        Insn::alu64_reg(op::MOV, R2, R0),
                    ];
                    p.extend(produce);
                    p.extend([
                        Insn::ld_abs(size::W, 4),
                        Insn::jmp_imm(c, R2, imm, 2),
                        Insn::jmp_reg(c, R2, R0, 1),
                        Insn::alu32_imm(op::MOV, R0, 3),
                        Insn::exit(),
                    ]);
                    same_as_interpreter(&p);
                }
            }
        }
    }

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
