//! "old-jit": a checked classic program straight to x86_64, each
//! instruction to a short native sequence, as the 2011 classic JIT did.
//!
//! Registers, as in the 2011 JIT (see the reference's §6): eax = A, ebx = X
//! (pushed only when the program uses X), rdi = the [`Context`] pointer
//! (the skb's role there); r9 = packet data and r10 = fast-path length
//! (r8/r9 there: the eBPF JIT needs r8 for R5 and both JITs share the load
//! code); r11, ecx (shift counts) and edx (DIV) scratch. A and X start at
//! 0. The frame (`push rbp; mov rbp, rsp`) holds the skb pointer at
//! `[rbp-8]` when a slow path or helper may need it, and M\[0..15\] at
//! `[rbp-72+4k]` when the program uses scratch memory; rsp stays 16-byte
//! aligned in the body.
//! `ret` is inlined (`leave; ret`); failed loads, DIV/MOD by X == 0 and
//! device fields without a device jump to `exit_zero`, which returns 0.
//! Every classic program the checker accepts compiles.

use super::asm::{Alu, Cond, Mem, Reg, Shift, Width::*};
use super::emit::{Emitter, Label, assemble};
use super::packet::{DATA, Dest, FASTLEN, Packet, Size, TMP};
use super::runtime::{self, Compiled};
use crate::classic::Program;
use crate::classic::insn::{Insn, ancillary, class, code, mode, op, size, skf, src};
use crate::jit::JitError;
use crate::skb::Context;
use std::mem::offset_of;
use std::ops::Deref;

const A: Reg = Reg::Rax;
const X: Reg = Reg::Rbx;
const CTX: Reg = Reg::Rdi;
/// The skb pointer's frame slot.
const SKB_DISP: i32 = -8;

/// A classic program compiled to x86_64 ("old-jit"); its methods are
/// [`Compiled`]'s.
#[derive(Clone, Debug)]
pub struct ClassicJit(Compiled);

impl ClassicJit {
    /// Compiles a checked classic program.
    pub fn compile(program: &Program) -> Result<ClassicJit, JitError> {
        let plan = Plan::of(program.insns());
        let (code, offsets) = assemble(|e| plan.generate(e, program.insns()))?;
        Ok(ClassicJit(Compiled::new(&code, offsets)?))
    }
}

impl Deref for ClassicJit {
    type Target = Compiled;

    fn deref(&self) -> &Compiled {
        &self.0
    }
}

/// What the program needs from the frame, found before emitting.
#[derive(Clone, Copy, Debug)]
struct Plan {
    /// Scratch memory is used.
    mem: bool,
    /// Packet data is loaded.
    packet: bool,
    /// A slow path or helper may need the skb pointer.
    skb: bool,
    /// X is read or written.
    x: bool,
}

/// A classic LD ABS in the ancillary window, and its field offset.
fn ancillary_off(insn: Insn) -> Option<u32> {
    (insn.code & (class::MASK | mode::MASK) == class::LD | mode::ABS
        && insn.k >= skf::AD_OFF as u32)
        .then(|| insn.k.wrapping_sub(skf::AD_OFF as u32))
}

/// Where M\[k\] lives.
fn scratch(k: u32) -> Mem {
    Mem::base(Reg::Rbp, -72 + 4 * (k & 0xf) as i32)
}

/// The [`Context`] field at byte offset `off`.
fn field(off: usize) -> Mem {
    Mem::base(CTX, off as i32)
}

impl Plan {
    fn of(insns: &[Insn]) -> Plan {
        let mut plan = Plan {
            mem: false,
            packet: false,
            skb: false,
            x: false,
        };
        for &insn in insns {
            let m = insn.code & mode::MASK;
            plan.x |= match insn.class() {
                class::LDX | class::STX => true,
                class::ALU | class::JMP => insn.code & src::MASK == src::X,
                class::LD => m == mode::IND || m == mode::ABS && ancillary_off(insn).is_some(),
                class::MISC => true,
                _ => false,
            };
            match insn.class() {
                class::ST | class::STX => plan.mem = true,
                class::LD | class::LDX if m == mode::MEM => plan.mem = true,
                class::LD if m == mode::ABS => match ancillary_off(insn) {
                    Some(ancillary::NLATTR | ancillary::NLATTR_NEST | ancillary::CPU) => {
                        plan.skb = true;
                    }
                    Some(_) => {}
                    None => plan.packet = true,
                },
                class::LD if m == mode::IND => plan.packet = true,
                class::LDX if m == mode::MSH => plan.packet = true,
                _ => {}
            }
        }
        plan.skb |= plan.packet;
        plan
    }

    /// One pass of code generation; returns each instruction's offset.
    fn generate(&self, e: &mut Emitter, insns: &[Insn]) -> Result<Vec<usize>, JitError> {
        let labels: Vec<Label> = insns.iter().map(|_| e.new_label()).collect();
        let exit_zero = e.new_label();
        let mut packet = Packet::new(exit_zero, SKB_DISP);
        self.prologue(e);
        let mut offsets = Vec::with_capacity(insns.len());
        for (pc, &insn) in insns.iter().enumerate() {
            e.bind(labels[pc]);
            offsets.push(e.len());
            let mut g = Insns {
                plan: self,
                e: &mut *e,
                packet: &mut packet,
                labels: &labels,
                exit_zero,
                pc,
            };
            g.one(insn)?;
        }
        // The checker makes the last instruction a return: nothing falls
        // through to here.
        e.bind(exit_zero);
        e.alu_rr(Alu::Xor, W32, A, A);
        self.epilogue(e);
        packet.finish(e);
        Ok(offsets)
    }

    /// Registers pushed by the prologue, rbp included.
    fn pushes(&self) -> i32 {
        1 + i32::from(self.x)
    }

    /// Bytes reserved below rbp: M\[0..15\], the skb slot, alignment.
    fn frame(&self) -> i32 {
        let frame = match (self.mem, self.skb) {
            (true, _) => 72,
            (false, true) => 8,
            (false, false) => return 0,
        };
        // Entry rsp is 8 off 16-byte alignment; each push moves it by 8.
        if (8 + 8 * self.pushes() + frame) % 16 == 0 {
            frame
        } else {
            frame + 8
        }
    }

    fn prologue(&self, e: &mut Emitter) {
        if self.x {
            e.push(X);
        }
        e.push(Reg::Rbp);
        e.mov_rr(W64, Reg::Rbp, Reg::Rsp);
        let frame = self.frame();
        if frame > 0 {
            e.alu_ri(Alu::Sub, W64, Reg::Rsp, frame);
        }
        if self.skb {
            e.store(W64, Mem::base(Reg::Rbp, SKB_DISP), Reg::Rcx);
        }
        if self.packet {
            e.mov_rr(W64, DATA, Reg::Rsi);
            e.mov_rr(W64, FASTLEN, Reg::Rdx);
        }
        e.alu_rr(Alu::Xor, W32, A, A);
        if self.x {
            e.alu_rr(Alu::Xor, W32, X, X);
        }
    }

    fn epilogue(&self, e: &mut Emitter) {
        e.leave();
        if self.x {
            e.pop(X);
        }
        e.ret();
    }
}

/// The state for emitting one instruction.
struct Insns<'a> {
    plan: &'a Plan,
    e: &'a mut Emitter,
    packet: &'a mut Packet,
    labels: &'a [Label],
    exit_zero: Label,
    pc: usize,
}

impl Insns<'_> {
    fn one(&mut self, insn: Insn) -> Result<(), JitError> {
        let k = insn.k;
        let c = insn.code;
        let e = &mut *self.e;
        match insn.class() {
            class::LD | class::LDX => return self.load(insn),
            class::ST => e.store(W32, scratch(k), A),
            class::STX => e.store(W32, scratch(k), X),
            class::ALU => return self.alu(insn),
            class::JMP => return self.jump(insn),
            class::RET => {
                if c == code::RET_K {
                    set(e, A, k);
                }
                self.plan.epilogue(e);
            }
            _ if c == code::TAX => e.mov_rr(W32, X, A),
            _ if c == code::TXA => e.mov_rr(W32, A, X),
            _ => return Err(self.unsupported(c, "this opcode")),
        }
        Ok(())
    }

    fn unsupported(&self, code: u16, what: &'static str) -> JitError {
        JitError::Unsupported {
            pc: self.pc,
            code,
            what,
        }
    }

    fn load(&mut self, insn: Insn) -> Result<(), JitError> {
        let k = insn.k;
        let to = if insn.class() == class::LD { A } else { X };
        let sz = match insn.code & size::MASK {
            size::W => Size::W,
            size::H => Size::H,
            _ => Size::B,
        };
        let e = &mut *self.e;
        match insn.code & mode::MASK {
            mode::IMM => set(e, to, k),
            mode::LEN => e.load(W32, to, field(offset_of!(Context, len))),
            mode::MEM => e.load(W32, to, scratch(k)),
            mode::ABS if to == A => match ancillary_off(insn) {
                Some(off) => return self.ancillary(insn.code, off),
                None => self.packet.load_abs(e, sz, k, Dest::Value(A)),
            },
            mode::IND if to == A => self.packet.load_ind(e, sz, X, k, Dest::Value(A)),
            mode::MSH if to == X => self.packet.load_abs(e, Size::B, k, Dest::Msh(X)),
            _ => return Err(self.unsupported(insn.code, "this load")),
        }
        Ok(())
    }

    fn ancillary(&mut self, code: u16, off: u32) -> Result<(), JitError> {
        let e = &mut *self.e;
        let simple = match off {
            ancillary::PROTOCOL => Some(offset_of!(Context, protocol)),
            ancillary::PKTTYPE => Some(offset_of!(Context, pkt_type)),
            ancillary::MARK => Some(offset_of!(Context, mark)),
            ancillary::QUEUE => Some(offset_of!(Context, queue_mapping)),
            ancillary::RXHASH => Some(offset_of!(Context, rxhash)),
            ancillary::VLAN_TAG => Some(offset_of!(Context, vlan_tci)),
            ancillary::VLAN_TAG_PRESENT => Some(offset_of!(Context, vlan_present)),
            ancillary::VLAN_TPID => Some(offset_of!(Context, vlan_tpid)),
            _ => None,
        };
        if let Some(f) = simple {
            e.load(W32, A, field(f));
            return Ok(());
        }
        match off {
            ancillary::IFINDEX | ancillary::HATYPE => {
                e.load(W32, TMP, field(offset_of!(Context, dev_present)));
                e.test_rr(W32, TMP, TMP);
                e.jcc(Cond::E, self.exit_zero);
                let f = if off == ancillary::IFINDEX {
                    offset_of!(Context, ifindex)
                } else {
                    offset_of!(Context, hatype)
                };
                e.load(W32, A, field(f));
            }
            ancillary::NLATTR | ancillary::NLATTR_NEST | ancillary::CPU => {
                let helper = match off {
                    ancillary::NLATTR => runtime::nlattr,
                    ancillary::NLATTR_NEST => runtime::nlattr_nest,
                    _ => runtime::cpu,
                };
                self.packet
                    .call_helper(e, runtime::address(helper), Some((A, X)));
            }
            ancillary::ALU_XOR_X => e.alu_rr(Alu::Xor, W32, A, X),
            _ => return Err(self.unsupported(code, "this ancillary field")),
        }
        Ok(())
    }

    fn alu(&mut self, insn: Insn) -> Result<(), JitError> {
        let unsupported = self.unsupported(insn.code, "this ALU operation");
        let e = &mut *self.e;
        let k = insn.k;
        let o = insn.code & op::MASK;
        if insn.code & src::MASK == src::X && o != op::NEG {
            match o {
                op::MUL => e.imul_rr(W32, A, X),
                op::DIV | op::MOD => {
                    e.test_rr(W32, X, X);
                    e.jcc(Cond::E, self.exit_zero);
                    e.zero_div_high();
                    e.div(W32, X);
                    if o == op::MOD {
                        e.mov_rr(W32, A, Reg::Rdx);
                    }
                }
                op::LSH | op::RSH => {
                    e.mov_rr(W32, Reg::Rcx, X);
                    let sh = if o == op::LSH { Shift::Shl } else { Shift::Shr };
                    e.shift_cl(sh, W32, A);
                }
                _ => e.alu_rr(alu_op(o).ok_or(unsupported)?, W32, A, X),
            }
            return Ok(());
        }
        match o {
            op::NEG => e.neg(W32, A),
            op::MUL => e.imul_rri(W32, A, A, k as i32),
            op::DIV if k.is_power_of_two() => {
                if k > 1 {
                    e.shift_ri(Shift::Shr, W32, A, k.trailing_zeros() as u8);
                }
            }
            op::MOD if k.is_power_of_two() => e.alu_ri(Alu::And, W32, A, (k - 1) as i32),
            op::DIV | op::MOD => {
                e.mov_ri32(TMP, k);
                e.zero_div_high();
                e.div(W32, TMP);
                if o == op::MOD {
                    e.mov_rr(W32, A, Reg::Rdx);
                }
            }
            // x86 masks an imm8 count to 5 bits, as the interpreter's
            // wrapping shift does (the checker keeps k below 32 anyway).
            op::LSH => e.shift_ri(Shift::Shl, W32, A, k as u8),
            op::RSH => e.shift_ri(Shift::Shr, W32, A, k as u8),
            _ => e.alu_ri(alu_op(o).ok_or(unsupported)?, W32, A, k as i32),
        }
        Ok(())
    }

    fn jump(&mut self, insn: Insn) -> Result<(), JitError> {
        let target = |off: u64| -> Result<Label, JitError> {
            usize::try_from(self.pc as u64 + 1 + off)
                .ok()
                .and_then(|t| self.labels.get(t).copied())
                .ok_or(JitError::Unsupported {
                    pc: self.pc,
                    code: insn.code,
                    what: "a jump past the end",
                })
        };
        if insn.code == code::JA {
            let to = target(insn.k.into())?;
            if insn.k != 0 {
                self.e.jmp(to);
            }
            return Ok(());
        }
        let jt = target(insn.jt.into())?;
        let jf = target(insn.jf.into())?;
        let e = &mut *self.e;
        if insn.jt == insn.jf {
            if insn.jt != 0 {
                e.jmp(jt);
            }
            return Ok(());
        }
        let o = insn.code & op::MASK;
        let from_x = insn.code & src::MASK == src::X;
        let cond = match o {
            op::JEQ => Cond::E,
            op::JGT => Cond::A,
            op::JGE => Cond::Ae,
            op::JSET => Cond::Ne,
            _ => return Err(self.unsupported(insn.code, "this jump")),
        };
        match (o, from_x) {
            (op::JSET, true) => e.test_rr(W32, A, X),
            (op::JSET, false) => e.test_ri(W32, A, insn.k as i32),
            (_, true) => e.alu_rr(Alu::Cmp, W32, A, X),
            // `test a, a` sets ZF and clears CF exactly as `cmp a, 0` does.
            (_, false) if insn.k == 0 => e.test_rr(W32, A, A),
            (_, false) => e.alu_ri(Alu::Cmp, W32, A, insn.k as i32),
        }
        if insn.jt == 0 {
            e.jcc(cond.negate(), jf);
        } else {
            e.jcc(cond, jt);
            if insn.jf != 0 {
                e.jmp(jf);
            }
        }
        Ok(())
    }
}

/// `r = k`.
fn set(e: &mut Emitter, r: Reg, k: u32) {
    if k == 0 {
        e.alu_rr(Alu::Xor, W32, r, r);
    } else {
        e.mov_ri32(r, k);
    }
}

/// The x86 operation of a classic ADD/SUB/AND/OR/XOR.
fn alu_op(o: u16) -> Option<Alu> {
    Some(match o {
        op::ADD => Alu::Add,
        op::SUB => Alu::Sub,
        op::AND => Alu::And,
        op::OR => Alu::Or,
        op::XOR => Alu::Xor,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classic::check;

    fn compile(insns: Vec<Insn>) -> ClassicJit {
        let program = check(insns).expect("valid");
        ClassicJit::compile(&program).expect("compiles")
    }

    #[test]
    fn x_is_saved_only_when_used() {
        let without_x = compile(vec![Insn::stmt(code::RET_K, 1)]);
        assert_eq!(without_x.code()[0], 0x55, "push rbp first");
        let with_x = compile(vec![Insn::stmt(code::TAX, 0), Insn::stmt(code::RET_A, 0)]);
        assert_eq!(with_x.code()[..2], [0x53, 0x55], "push rbx; push rbp");
    }

    #[test]
    fn frames_keep_the_stack_aligned() {
        let shapes = [
            vec![Insn::stmt(code::RET_K, 1)],
            vec![Insn::stmt(code::LD_B_ABS, 1), Insn::stmt(code::RET_A, 0)],
            vec![
                Insn::stmt(code::LDX_B_MSH, 1),
                Insn::stmt(code::ST, 0),
                Insn::stmt(code::RET_A, 0),
            ],
            vec![Insn::stmt(code::ST, 0), Insn::stmt(code::RET_A, 0)],
        ];
        for insns in shapes {
            let plan = Plan::of(&insns);
            let frame = plan.frame();
            assert!(
                frame == 0 || (8 + 8 * plan.pushes() + frame) % 16 == 0,
                "{plan:?}"
            );
            assert_eq!(frame == 0, !plan.mem && !plan.skb, "{plan:?}");
            assert!(
                !plan.mem || frame >= 72,
                "M[] and the skb slot fit: {plan:?}"
            );
        }
    }
}
