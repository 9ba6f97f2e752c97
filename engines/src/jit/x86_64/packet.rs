//! What both JITs emit the same way: packet loads (an inline bounds check
//! and a direct big-endian load on the fast path, one shared out-of-line
//! stub per size calling [`runtime::load_slow`] otherwise) and calls to
//! the ancillary helpers.
//!
//! Register contract with the JITs: r9 holds the packet data pointer, r10
//! the fast-path length (see [`runtime`]), r11 is scratch; the skb pointer
//! lives in a frame slot at `[rbp + skb_disp]`; the body runs with rsp
//! 16-byte aligned; a failed load jumps to the JIT's `exit_zero` label,
//! which must return 0 through an epilogue that restores rsp from rbp.
//! Loads and helper calls preserve every register but their destination,
//! rax for helper calls, and r11.

use super::asm::{Alu, Mem, Reg, Shift, Width::*};
use super::emit::{Emitter, Label};
use super::runtime;

/// The packet data pointer.
pub(crate) const DATA: Reg = Reg::R9;
/// The fast-path packet length, at most `i32::MAX`.
pub(crate) const FASTLEN: Reg = Reg::R10;
/// Scratch: offsets, slow-path values.
pub(crate) const TMP: Reg = Reg::R11;

/// The caller-saved registers a slow load preserves for the JIT, in push
/// order (rax included: a load into X must not disturb A).
const SAVED_BY_LOAD: [Reg; 8] = [
    Reg::Rax,
    Reg::Rcx,
    Reg::Rdx,
    Reg::Rsi,
    Reg::Rdi,
    Reg::R8,
    Reg::R9,
    Reg::R10,
];

/// The caller-saved registers a helper call preserves (rax is its result).
const SAVED_BY_CALL: [Reg; 7] = [
    Reg::Rcx,
    Reg::Rdx,
    Reg::Rsi,
    Reg::Rdi,
    Reg::R8,
    Reg::R9,
    Reg::R10,
];

/// Size of a packet load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Size {
    /// 4 bytes, big-endian.
    W = 4,
    /// 2 bytes, big-endian.
    H = 2,
    /// 1 byte.
    B = 1,
}

impl Size {
    fn index(self) -> usize {
        match self {
            Size::W => 0,
            Size::H => 1,
            Size::B => 2,
        }
    }
}

/// Where a loaded value goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dest {
    /// The value, zero-extended, into a register.
    Value(Reg),
    /// `(byte & 0xf) << 2` into a register (classic `ldxb 4*([k]&0xf)`).
    Msh(Reg),
}

impl Dest {
    fn reg(self) -> Reg {
        match self {
            Dest::Value(r) | Dest::Msh(r) => r,
        }
    }
}

/// How a slow path finds the offset again.
#[derive(Clone, Copy, Debug)]
enum Offset {
    /// A constant.
    Const(u32),
    /// `src + k`, 32-bit.
    Ind(Reg, u32),
}

/// An out-of-line slow path, emitted after the body.
#[derive(Clone, Copy, Debug)]
struct Slow {
    entry: Label,
    resume: Label,
    size: Size,
    dest: Dest,
    offset: Offset,
}

/// The packet-load state of one pass of a JIT.
#[derive(Debug)]
pub(crate) struct Packet {
    exit_zero: Label,
    skb_disp: i32,
    slow: Vec<Slow>,
    stubs: [Option<Label>; 3],
}

impl Packet {
    /// Loads for a JIT whose frame keeps the skb pointer at
    /// `[rbp + skb_disp]` and whose `exit_zero` returns 0.
    pub(crate) fn new(exit_zero: Label, skb_disp: i32) -> Packet {
        Packet {
            exit_zero,
            skb_disp,
            slow: Vec::new(),
            stubs: [None; 3],
        }
    }

    fn stub(&mut self, e: &mut Emitter, size: Size) -> Label {
        *self.stubs[size.index()].get_or_insert_with(|| e.new_label())
    }

    /// A load at the constant offset `k` (as the signed offset `k as i32`).
    pub(crate) fn load_abs(&mut self, e: &mut Emitter, size: Size, k: u32, dest: Dest) {
        let end = u64::from(k) + size as u64;
        if end > i32::MAX as u64 {
            // Negative, or beyond any fast-path length: always the slow path.
            let stub = self.stub(e, size);
            e.mov_ri32(TMP, k);
            e.call(stub);
            e.mov_rr(W32, dest.reg(), TMP);
            finish_msh(e, dest);
            return;
        }
        let (entry, resume) = (e.new_label(), e.new_label());
        e.alu_ri(Alu::Cmp, W32, FASTLEN, end as i32);
        e.jcc(super::asm::Cond::B, entry);
        fast_load(e, size, dest, Mem::base(DATA, k as i32));
        e.bind(resume);
        finish_msh(e, dest);
        self.slow.push(Slow {
            entry,
            resume,
            size,
            dest,
            offset: Offset::Const(k),
        });
    }

    /// A load at `src + k` (32-bit, then signed).
    pub(crate) fn load_ind(&mut self, e: &mut Emitter, size: Size, src: Reg, k: u32, dest: Dest) {
        let (entry, resume) = (e.new_label(), e.new_label());
        offset_into_tmp(e, src, k);
        // off (zero-extended) + size, in 64 bits: no wrap-around.
        e.lea(W64, TMP, Mem::base(TMP, size as i32));
        e.alu_rr(Alu::Cmp, W64, TMP, FASTLEN);
        e.jcc(super::asm::Cond::A, entry);
        fast_load(e, size, dest, Mem::indexed(DATA, TMP, -(size as i32)));
        e.bind(resume);
        finish_msh(e, dest);
        self.slow.push(Slow {
            entry,
            resume,
            size,
            dest,
            offset: Offset::Ind(src, k),
        });
    }

    /// Calls `helper(skb, a, x)` with the result in rax, preserving every
    /// other register but r11; `args` moves A and X into esi and edx first
    /// (`None` when they are there already).
    pub(crate) fn call_helper(&self, e: &mut Emitter, helper: u64, args: Option<(Reg, Reg)>) {
        for r in SAVED_BY_CALL {
            e.push(r);
        }
        // 7 pushes leave rsp 8 off the 16-byte alignment the body keeps.
        e.alu_ri(Alu::Sub, W64, Reg::Rsp, 8);
        if let Some((a, x)) = args {
            if x == Reg::Rsi {
                e.mov_rr(W32, TMP, x);
                e.mov_rr(W32, Reg::Rsi, a);
                e.mov_rr(W32, Reg::Rdx, TMP);
            } else {
                e.mov_rr(W32, Reg::Rsi, a);
                e.mov_rr(W32, Reg::Rdx, x);
            }
        }
        e.load(W64, Reg::Rdi, Mem::base(Reg::Rbp, self.skb_disp));
        e.mov_ri64(Reg::Rax, helper);
        e.call_r(Reg::Rax);
        e.alu_ri(Alu::Add, W64, Reg::Rsp, 8);
        for r in SAVED_BY_CALL.iter().rev() {
            e.pop(*r);
        }
    }

    /// Emits the slow paths and stubs; call once, after the body.
    pub(crate) fn finish(mut self, e: &mut Emitter) {
        for s in std::mem::take(&mut self.slow) {
            e.bind(s.entry);
            match s.offset {
                Offset::Const(k) => e.mov_ri32(TMP, k),
                Offset::Ind(src, k) => offset_into_tmp(e, src, k),
            }
            let stub = self.stub(e, s.size);
            e.call(stub);
            e.mov_rr(W32, s.dest.reg(), TMP);
            e.jmp(s.resume);
        }
        for size in [Size::W, Size::H, Size::B] {
            if let Some(stub) = self.stubs[size.index()] {
                e.bind(stub);
                self.emit_stub(e, size);
            }
        }
    }

    /// The shared slow load: offset in r11d, value back in r11 (or a return
    /// of 0 from the filter), every other register preserved.
    fn emit_stub(&self, e: &mut Emitter, size: Size) {
        for r in SAVED_BY_LOAD {
            e.push(r);
        }
        // The call and 8 pushes leave rsp 8 off 16-byte alignment.
        e.alu_ri(Alu::Sub, W64, Reg::Rsp, 8);
        e.load(W64, Reg::Rdi, Mem::base(Reg::Rbp, self.skb_disp));
        e.mov_rr(W32, Reg::Rsi, TMP);
        e.mov_ri32(Reg::Rdx, size as u32);
        e.mov_ri64(Reg::Rax, runtime::load_slow_address());
        e.call_r(Reg::Rax);
        e.alu_ri(Alu::Add, W64, Reg::Rsp, 8);
        e.mov_rr(W64, TMP, Reg::Rax);
        for r in SAVED_BY_LOAD.iter().rev() {
            e.pop(*r);
        }
        e.test_rr(W64, TMP, TMP);
        // `exit_zero` restores rsp from rbp, dropping the return address.
        e.jcc(super::asm::Cond::S, self.exit_zero);
        e.ret();
    }
}

/// r11d = `src + k` modulo 2^32.
fn offset_into_tmp(e: &mut Emitter, src: Reg, k: u32) {
    if k == 0 {
        e.mov_rr(W32, TMP, src);
    } else {
        e.lea(W32, TMP, Mem::base(src, k as i32));
    }
}

/// The bounds-checked fast load from `m`, converted to host order.
fn fast_load(e: &mut Emitter, size: Size, dest: Dest, m: Mem) {
    let r = dest.reg();
    match size {
        Size::W => {
            e.load(W32, r, m);
            e.bswap(W32, r);
        }
        Size::H => {
            e.load16(r, m);
            e.rol16_8(r);
        }
        Size::B => e.load8(r, m),
    }
}

/// The rest of `ldxb 4*([k]&0xf)`, after either path.
fn finish_msh(e: &mut Emitter, dest: Dest) {
    if let Dest::Msh(r) = dest {
        e.alu_ri(Alu::And, W32, r, 0xf);
        e.shift_ri(Shift::Shl, W32, r, 2);
    }
}
