//! A "portable" output variant of the classic → eBPF converter, for eBPF
//! runtimes that are not Linux (the `rbpf` engines).
//!
//! Why: the converter keeps every packet load a single legacy
//! `LD ABS`/`LD IND` instruction, whose meaning (bounds rule, the
//! `SKF_NET_OFF`/`SKF_LL_OFF` windows, big-endian result, "return 0 on
//! failure") is Linux's. Other runtimes give these opcodes their own
//! meaning: rbpf loads raw host-order bytes relative to its own memory
//! pointer, with its own bounds rule (an interpreter error, or no check at
//! all in its JIT). So this variant takes the [`Converted`] program and
//! rewrites each legacy load into plain eBPF that any runtime runs the same:
//!
//! 1. compute the start offset in R2 (for `LD IND`: `w2 = w7 + k`, sign
//!    extended, then mapped through the `SKF_NET_OFF`/`SKF_LL_OFF` windows
//!    with the header offsets read from the context; for `LD ABS` the window
//!    is known at conversion time);
//! 2. an explicit bounds check of `start + size` against the packet length
//!    read from the context; on failure `w0 = 0; exit`;
//! 3. a plain `ldx` (B/H/W) from the packet pointer read from the context
//!    at [`DATA_PTR_OFFSET`], plus `be16`/`be32` for H/W.
//!
//! Legacy loads clobber R1-R5 in Linux's eBPF, so the converter never keeps
//! a value there across one; the expansions use R1-R3 only. The `CPU`
//! helper call becomes a context load (it only reads a field); the netlink
//! helpers stay calls (numbered as in [`super::insn::helper`]). Every jump
//! of the converted program is re-targeted across the expansions, and
//! [`Converted::pc_map`] is remapped.
//!
//! The context this variant reads through R1 at entry (kept in R6) is a
//! [`Context`] at offset 0 followed, at [`DATA_PTR_OFFSET`], by the 64-bit
//! address of the packet's first byte: see [`PortableContext`].

use super::convert::{ConvertError, Converted, REG_CTX, convert};
use super::insn::{Insn, class, end, helper, mode, op, reg, size};
use crate::classic::Program;
use crate::classic::insn::skf;
use crate::skb::{Context, Skb};
use std::mem::{offset_of, size_of};
use thiserror::Error;

/// The memory a portable program's context pointer (R1 at entry) points
/// to: the skb's [`Context`], padding, and the packet's address.
#[repr(C)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortableContext {
    /// The skb fields, at the offsets the converter's context loads use.
    pub ctx: Context,
    /// Explicit padding, so that the struct has no uninitialised bytes.
    pub pad: u32,
    /// Address of the first packet byte (`skb.data().as_ptr()`).
    pub data: u64,
}

/// Offset of [`PortableContext::data`], read by the rewritten packet loads.
pub const DATA_PTR_OFFSET: usize = offset_of!(PortableContext, data);

// The layout the rewritten loads rely on: Context first, no hidden padding.
const _: () = assert!(offset_of!(PortableContext, ctx) == 0);
const _: () = assert!(size_of::<Context>() == offset_of!(PortableContext, pad));
const _: () = assert!(offset_of!(PortableContext, pad) + 4 == DATA_PTR_OFFSET);
const _: () = assert!(size_of::<PortableContext>() == DATA_PTR_OFFSET + 8);

impl PortableContext {
    /// The context of `skb`, pointing at its packet bytes.
    pub fn of(skb: &Skb) -> Self {
        PortableContext {
            ctx: skb.context().clone(),
            pad: 0,
            data: skb.data().as_ptr() as u64,
        }
    }

    /// The struct's bytes (what a runtime takes as its context buffer).
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: PortableContext is #[repr(C)], made only of u32/u64
        // fields with no padding (the const assertions above), so all of
        // its size_of bytes are initialised; the slice borrows `self`.
        unsafe {
            std::slice::from_raw_parts(
                (self as *const Self).cast::<u8>(),
                size_of::<PortableContext>(),
            )
        }
    }

    /// The struct's bytes, mutably (for runtimes whose API takes `&mut`).
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_bytes`; every byte pattern is a valid value of
        // the integer fields, so writes through the slice cannot break an
        // invariant; the slice borrows `self` mutably and exclusively.
        unsafe {
            std::slice::from_raw_parts_mut(
                (self as *mut Self).cast::<u8>(),
                size_of::<PortableContext>(),
            )
        }
    }
}

/// Why a program could not be given its portable form.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum PortableError {
    /// The classic → eBPF conversion itself failed.
    #[error("conversion to eBPF failed: {0}")]
    Convert(#[from] ConvertError),
    /// After the expansion of packet loads, a jump no longer fits the 16-bit offset.
    #[error(
        "eBPF instruction {pc}: after expanding packet loads the jump spans {distance} instructions, more than an eBPF offset holds"
    )]
    JumpTooFar {
        /// The jump's index in the converted (unexpanded) program.
        pc: usize,
        /// The distance needed.
        distance: i64,
    },
    /// A jump of the converted program lands outside it (never for a
    /// program [`convert`] made).
    #[error("eBPF instruction {pc}: jump target {target} is outside the program")]
    BadTarget {
        /// The jump's index.
        pc: usize,
        /// Its target.
        target: i64,
    },
}

/// Converts a checked classic program to eBPF, in the portable variant.
pub fn convert_portable(program: &Program) -> Result<Converted, PortableError> {
    portable(&convert(program)?)
}

/// Rewrites a converted program into the portable variant (see the module
/// documentation). Instructions other than legacy packet loads and the CPU
/// call are kept as they are.
pub fn portable(converted: &Converted) -> Result<Converted, PortableError> {
    let old = &converted.insns;
    let mut out: Vec<Insn> = Vec::with_capacity(old.len() * 2);
    let mut new_pos = Vec::with_capacity(old.len() + 1);
    for &insn in old {
        new_pos.push(out.len());
        expand(insn, &mut out);
    }
    new_pos.push(out.len());
    for (pc, &insn) in old.iter().enumerate() {
        if !is_jump(insn) {
            continue;
        }
        let target = pc as i64 + 1 + i64::from(insn.off);
        let to = usize::try_from(target)
            .ok()
            .filter(|&t| t < old.len())
            .ok_or(PortableError::BadTarget { pc, target })?;
        let at = new_pos[pc];
        let distance = new_pos[to] as i64 - (at as i64 + 1);
        out[at].off =
            i16::try_from(distance).map_err(|_| PortableError::JumpTooFar { pc, distance })?;
    }
    let pc_map = converted.pc_map.iter().map(|&p| new_pos[p]).collect();
    Ok(Converted { insns: out, pc_map })
}

/// Whether `insn` is a JMP-class jump (not a call or exit).
fn is_jump(insn: Insn) -> bool {
    matches!(insn.class(), class::JMP | class::JMP32)
        && !matches!(insn.code & op::MASK, op::CALL | op::EXIT)
}

/// A context field's displacement from R6.
fn ctx_field(off: usize) -> i16 {
    // The portable context is 72 bytes, far below i16::MAX.
    off as i16
}

const LEN: usize = offset_of!(Context, len);
const NET: usize = offset_of!(Context, network_header);
const MAC: usize = offset_of!(Context, mac_header);
const CPU: usize = offset_of!(Context, cpu);

/// Appends the portable form of one converted instruction.
fn expand(insn: Insn, out: &mut Vec<Insn>) {
    let is_legacy_load =
        insn.class() == class::LD && matches!(insn.code & mode::MASK, mode::ABS | mode::IND);
    if insn.code == Insn::call(helper::CPU).code && insn.imm == helper::CPU {
        out.push(Insn::ldx_mem(size::W, reg::R0, REG_CTX, ctx_field(CPU)));
        return;
    }
    if !is_legacy_load {
        out.push(insn);
        return;
    }
    let sz = insn.code & size::MASK;
    let bytes: i32 = match sz {
        size::W => 4,
        size::H => 2,
        size::B => 1,
        // The converter emits no DW legacy loads; fail such a load as Linux
        // would refuse it, never read 8 bytes.
        _ => {
            fail(out);
            return;
        }
    };
    if insn.code & mode::MASK == mode::ABS {
        abs(insn.imm, sz, bytes, out);
    } else {
        ind(insn.src, insn.imm, sz, bytes, out);
    }
}

/// `w0 = 0; exit`.
fn fail(out: &mut Vec<Insn>) {
    out.push(Insn::alu32_imm(op::MOV, reg::R0, 0));
    out.push(Insn::exit());
}

/// `LD ABS` at the constant offset `k` (below the ancillary window).
fn abs(k: i32, sz: u8, bytes: i32, out: &mut Vec<Insn>) {
    if k >= 0 {
        match k.checked_add(bytes) {
            Some(end) => {
                // r1 = len; if r1 >= k + size goto load; fail
                out.push(Insn::ldx_mem(size::W, reg::R1, REG_CTX, ctx_field(LEN)));
                out.push(Insn::jmp_imm(op::JGE, reg::R1, end, 2));
                fail(out);
                out.push(Insn::ldx_mem(
                    size::DW,
                    reg::R1,
                    REG_CTX,
                    ctx_field(DATA_PTR_OFFSET),
                ));
                match i16::try_from(k) {
                    Ok(disp) => load(sz, disp, out),
                    Err(_) => {
                        out.push(Insn::alu64_imm(op::ADD, reg::R1, k));
                        load(sz, 0, out);
                    }
                }
            }
            None => {
                // k + size overflows i32: compare in 64 bits.
                out.push(Insn::alu32_imm(op::MOV, reg::R2, k));
                checked_load(sz, bytes, out);
            }
        }
    } else if k >= skf::NET_OFF {
        window(NET, k - skf::NET_OFF, out);
        checked_load(sz, bytes, out);
    } else if k >= skf::LL_OFF {
        window(MAC, k - skf::LL_OFF, out);
        checked_load(sz, bytes, out);
    } else {
        fail(out);
    }
}

/// `r2 = header_offset_field + rel` (64-bit, rel >= 0).
fn window(field: usize, rel: i32, out: &mut Vec<Insn>) {
    out.push(Insn::ldx_mem(size::W, reg::R2, REG_CTX, ctx_field(field)));
    if rel != 0 {
        out.push(Insn::alu64_imm(op::ADD, reg::R2, rel));
    }
}

/// `LD IND` at `src + k` (32-bit sum, read as a signed offset).
fn ind(src: u8, k: i32, sz: u8, bytes: i32, out: &mut Vec<Insn>) {
    // r2 = (s64)(s32)(src + k)
    out.push(Insn::alu32_reg(op::MOV, reg::R2, src));
    if k != 0 {
        out.push(Insn::alu32_imm(op::ADD, reg::R2, k));
    }
    out.push(Insn::alu64_imm(op::LSH, reg::R2, 32));
    out.push(Insn::alu64_imm(op::ARSH, reg::R2, 32));
    // Offsets >= 0 go straight to the check, 8 instructions on.
    out.push(Insn::jmp_imm(op::JSGE, reg::R2, 0, 8));
    // Below SKF_LL_OFF: fail (the check's `w0 = 0; exit`, 11 on).
    out.push(Insn::jmp_imm(op::JSLT, reg::R2, skf::LL_OFF, 11));
    // [SKF_LL_OFF, SKF_NET_OFF): the link-layer window, 3 on.
    out.push(Insn::jmp_imm(op::JSLT, reg::R2, skf::NET_OFF, 3));
    // Network-header window.
    out.push(Insn::ldx_mem(size::W, reg::R1, REG_CTX, ctx_field(NET)));
    out.push(Insn::alu64_imm(op::ADD, reg::R2, -skf::NET_OFF));
    out.push(Insn::ja(2));
    // Link-layer-header window.
    out.push(Insn::ldx_mem(size::W, reg::R1, REG_CTX, ctx_field(MAC)));
    out.push(Insn::alu64_imm(op::ADD, reg::R2, -skf::LL_OFF));
    out.push(Insn::alu64_reg(op::ADD, reg::R2, reg::R1));
    checked_load(sz, bytes, out);
}

/// The bounds check and load of `size` bytes at the offset in R2 (a
/// 64-bit value >= 0): 6 instructions to the load; the `w0 = 0; exit` is at
/// index 4 and 5 of this sequence.
fn checked_load(sz: u8, bytes: i32, out: &mut Vec<Insn>) {
    out.push(Insn::ldx_mem(size::W, reg::R1, REG_CTX, ctx_field(LEN)));
    out.push(Insn::alu64_reg(op::MOV, reg::R3, reg::R2));
    out.push(Insn::alu64_imm(op::ADD, reg::R3, bytes));
    out.push(Insn::jmp_reg(op::JLE, reg::R3, reg::R1, 2));
    fail(out);
    out.push(Insn::ldx_mem(
        size::DW,
        reg::R1,
        REG_CTX,
        ctx_field(DATA_PTR_OFFSET),
    ));
    out.push(Insn::alu64_reg(op::ADD, reg::R1, reg::R2));
    load(sz, 0, out);
}

/// `r0 = *(size *)(r1 + disp)`, then to host order from big endian.
fn load(sz: u8, disp: i16, out: &mut Vec<Insn>) {
    out.push(Insn::ldx_mem(sz, reg::R0, reg::R1, disp));
    let width = match sz {
        size::W => 32,
        size::H => 16,
        _ => return,
    };
    out.push(Insn::new(
        class::ALU | op::END | end::TO_BE,
        reg::R0,
        0,
        0,
        width,
    ));
}

/// Whether a portable program calls a helper (only the netlink ones remain).
pub fn calls_helpers(insns: &[Insn]) -> bool {
    insns
        .iter()
        .any(|i| i.class() == class::JMP && i.code & op::MASK == op::CALL)
}
