//! Random valid classic programs, built so the checker accepts them by
//! construction and biased to where engines differ.
//!
//! A program is built from a list of [`Step`]s, one instruction each (a
//! netlink probe step emits three to five: A = offset, X = type, NLATTR,
//! perhaps RET A), plus a final RET. Every step is turned into an
//! instruction the checker accepts: jump offsets are reduced to stay inside
//! the program, constant divisors are non-zero, constant shifts are below
//! 32, ancillary loads use only the fields bpflab supports, and
//! scratch-memory loads read only slots that the checker's own dataflow
//! rule (the written mask, ANDed over incoming jump edges) proves written;
//! when none is, the step becomes a store instead. [`build_program`] is
//! deterministic, so proptest (which shrinks steps) and fuzzers (which
//! mutate bytes, [`Step::from_bytes`]) can drive it as well as a seeded
//! generator.
//!
//! Most packet loads read inside every packet made for the case (a failed
//! load ends the run, and later instructions would never execute); the
//! others aim at the interesting places: the last bytes of a packet of
//! about the nominal length, `X + k` that lands on the end when X holds
//! the length, the `SKF_NET_OFF` / `SKF_LL_OFF` windows, below them, and
//! the ancillary window reached through IND.

use crate::classic::Insn;
use crate::classic::insn::{ancillary, class, code, mode, op, size, skf, src};
use rand::Rng;

/// The raw choices behind one instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// Which kind of instruction.
    pub kind: u8,
    /// Selects variants and operands.
    pub a: u32,
    /// A raw value (constants, offsets).
    pub b: u32,
    /// Jump offset choice (jt), size choice.
    pub c: u8,
    /// Jump offset choice (jf).
    pub d: u8,
}

impl Step {
    /// Bytes a step takes in [`Step::from_bytes`].
    pub const BYTES: usize = 11;

    /// A step from 11 raw bytes (for fuzzers).
    pub fn from_bytes(b: &[u8; Step::BYTES]) -> Step {
        Step {
            kind: b[0],
            a: u32::from_le_bytes([b[1], b[2], b[3], b[4]]),
            b: u32::from_le_bytes([b[5], b[6], b[7], b[8]]),
            c: b[9],
            d: b[10],
        }
    }
}

/// Ancillary fields the checker accepts.
pub const ANCILLARY_FIELDS: [u32; 14] = [
    ancillary::PROTOCOL,
    ancillary::PKTTYPE,
    ancillary::IFINDEX,
    ancillary::NLATTR,
    ancillary::NLATTR_NEST,
    ancillary::MARK,
    ancillary::QUEUE,
    ancillary::HATYPE,
    ancillary::RXHASH,
    ancillary::CPU,
    ancillary::ALU_XOR_X,
    ancillary::VLAN_TAG,
    ancillary::VLAN_TAG_PRESENT,
    ancillary::VLAN_TPID,
];

const SIZES: [(u16, u32); 3] = [(size::W, 4), (size::H, 2), (size::B, 1)];

/// Constants that sit on the edges of 32-bit arithmetic.
const INTERESTING: [u32; 30] = [
    0,
    1,
    2,
    3,
    4,
    5,
    7,
    8,
    14,
    15,
    16,
    20,
    31,
    32,
    33,
    63,
    64,
    0x7f,
    0x80,
    0xff,
    0x100,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0x8000_0001,
    0xffff_fffe,
    0xffff_ffff,
    skf::NET_OFF as u32,
    skf::AD_OFF as u32,
];

/// A constant: raw, interesting, or small (around the nominal length).
fn value(sel: u32, raw: u32, len: u32) -> u32 {
    match sel % 5 {
        0 | 1 => raw,
        2 | 3 => INTERESTING[(raw % INTERESTING.len() as u32) as usize],
        _ => raw % (len + 8),
    }
}

/// A value for X: mostly small, so that `X + k` stays near the packet.
fn x_value(sel: u32, raw: u32, len: u32) -> u32 {
    match sel % 5 {
        0 => raw,
        1 => INTERESTING[(raw % INTERESTING.len() as u32) as usize],
        _ => raw % (len + 8),
    }
}

/// An offset from which a `width`-byte load ends within 4 bytes of the end
/// of a `len`-byte packet, on either side.
fn near_end(len: u32, width: u32, sel: u32) -> u32 {
    (i64::from(len) - i64::from(width) + i64::from(sel % 9) - 4).max(0) as u32
}

/// An offset from which a `width`-byte load succeeds on every packet the
/// generator makes for the nominal length `len` (which may be 4 shorter),
/// when there is one.
fn inside(len: u32, width: u32, raw: u32) -> u32 {
    raw % (len.saturating_sub(4 + width) + 1)
}

/// A `k` for LD ABS (never in the ancillary window) or LDX MSH: mostly
/// inside every packet, else near the end, in the header
/// windows, or out of any packet.
fn abs_offset(len: u32, width: u32, sel: u32, raw: u32) -> u32 {
    match (sel >> 3) % 16 {
        0..=9 => inside(len, width, raw),
        10 => near_end(len, width, raw),
        11 => (skf::NET_OFF as u32).wrapping_add(raw % 12),
        12 => (skf::LL_OFF as u32).wrapping_add(raw % 24),
        13 => [
            (skf::NET_OFF - 1) as u32, // the top of the LL window
            (skf::NET_OFF - 4) as u32,
            (skf::AD_OFF - 1) as u32,
            (skf::LL_OFF - 1) as u32,
            0x8000_0000,
            0x7fff_ffff,
            0xffff,
            0x1_0000,
        ][(raw % 8) as usize],
        14 => raw % (len + 8),
        _ => raw & 0xffff_efff, // anything below the ancillary window
    }
}

/// A `k` for LD IND: any 32-bit value, biased so that `X + k` lands on the
/// interesting places for X = 0, X = a small value, or X = the length.
fn ind_offset(len: u32, width: u32, sel: u32, raw: u32) -> u32 {
    match (sel >> 3) % 16 {
        0..=8 => inside(len, width, raw) / 2,
        9 => near_end(len, width, raw),
        10 => 0u32
            .wrapping_sub(width)
            .wrapping_add(raw % 9)
            .wrapping_sub(4), // with X = len
        11 => (skf::NET_OFF as u32).wrapping_add(raw % 12),
        12 => (skf::LL_OFF as u32).wrapping_add(raw % 24),
        13 => (skf::AD_OFF as u32).wrapping_add(raw % 0x1000), // IND never decodes ancillary
        14 => INTERESTING[(raw % INTERESTING.len() as u32) as usize],
        _ => raw,
    }
}

/// A jump offset below `room + 1` (so the target exists), mostly short.
fn jump_offset(sel: u8, room: usize) -> u8 {
    let limit = room.min(255) + 1;
    let short = limit.min(4);
    if sel < 192 {
        (usize::from(sel) % short) as u8
    } else {
        (usize::from(sel) % limit) as u8
    }
}

/// The step kind that emits a netlink attribute probe.
const NETLINK_PROBE: u8 = 25;

/// The instructions of a netlink probe step: A = an attribute-aligned
/// offset or 4 to 12 bytes before the end, X = a small type, then NLATTR or
/// NLATTR_NEST, and half of the time RET A so that the result is seen.
fn netlink_probe(s: &Step) -> Vec<Insn> {
    let (sz, _) = SIZES[usize::from(s.c) % 3];
    let field = if s.a % 2 == 0 {
        ancillary::NLATTR
    } else {
        ancillary::NLATTR_NEST
    };
    let mut v = if s.b & 0x100 == 0 {
        vec![Insn::stmt(code::LD_IMM, (s.b % 6) * 4)]
    } else {
        vec![
            Insn::stmt(code::LD_W_LEN, 0),
            Insn::stmt(code::alu_k(op::SUB), 4 + (s.b >> 9) % 9),
        ]
    };
    v.push(Insn::stmt(code::LDX_IMM, (s.a >> 1) % 5));
    v.push(Insn::stmt(
        class::LD | sz | mode::ABS,
        (skf::AD_OFF as u32).wrapping_add(field),
    ));
    if s.d % 2 == 0 {
        v.push(Insn::stmt(code::RET_A, 0));
    }
    v
}

/// How many instructions a step emits.
fn step_len(s: &Step) -> usize {
    if s.kind % 32 == NETLINK_PROBE {
        netlink_probe(s).len()
    } else {
        1
    }
}

/// How many instructions [`build_program`] makes of `steps` (with the final
/// RET).
pub fn program_len(steps: &[Step]) -> usize {
    steps.iter().map(step_len).sum::<usize>() + 1
}

/// The `n`-th slot (mod the count) among those set in `mask`.
fn nth_slot(mask: u16, n: u32) -> u32 {
    let slots: Vec<u32> = (0..16).filter(|s| mask & (1 << s) != 0).collect();
    slots[(n as usize) % slots.len()]
}

/// A program the checker accepts: the instructions of each step, then `last`
/// (made a RET if it is not one). `len` is the nominal packet length the
/// offsets aim at.
pub fn build_program(len: u32, steps: &[Step], last: Insn) -> Vec<Insn> {
    let body: usize = steps.iter().map(step_len).sum();
    let mut insns = Vec::with_capacity(body + 1);
    // The checker's scratch-memory dataflow: masks[pc] is the AND of the
    // written sets on the jumps into pc; `valid` is the set falling
    // through to the next instruction.
    let mut masks = vec![u16::MAX; body + 1];
    let mut valid: u16 = 0;
    for s in steps {
        let pc = insns.len();
        valid &= masks[pc];
        // Jumps from pc may skip at most `room` instructions: the final RET
        // is at index `body`.
        let room = body - pc - 1;
        let (sz, width) = SIZES[usize::from(s.c) % 3];
        if s.kind % 32 == NETLINK_PROBE {
            for insn in netlink_probe(s) {
                // Jumps may land inside the probe too.
                valid &= masks[insns.len()];
                insns.push(insn);
            }
            continue;
        }
        let insn = match s.kind % 32 {
            0 | 1 => Insn::stmt(code::LD_IMM, value(s.a, s.b, len)),
            2 | 3 => Insn::stmt(code::LDX_IMM, x_value(s.a, s.b, len)),
            4..=6 | 15 => {
                let o = op::ALU_WITH_OPERAND[(s.a % 10) as usize];
                let k = match o {
                    op::DIV | op::MOD => value(s.a >> 4, s.b, len).max(1),
                    op::LSH | op::RSH => s.b % 32,
                    _ => value(s.a >> 4, s.b, len),
                };
                Insn::stmt(code::alu_k(o), k)
            }
            7 | 8 => Insn::stmt(code::alu_x(op::ALU_WITH_OPERAND[(s.a % 10) as usize]), 0),
            9 => Insn::stmt(code::NEG, 0),
            10..=12 => Insn::stmt(class::LD | sz | mode::ABS, abs_offset(len, width, s.a, s.b)),
            13 | 14 => Insn::stmt(class::LD | sz | mode::IND, ind_offset(len, width, s.a, s.b)),
            16 => {
                if s.a % 2 == 0 {
                    Insn::stmt(code::LD_W_LEN, 0)
                } else {
                    Insn::stmt(code::LDX_W_LEN, 0)
                }
            }
            17 => Insn::stmt(code::LDX_B_MSH, abs_offset(len, 1, s.a, s.b)),
            18 => Insn::stmt(code::ST, s.b % 16),
            19 => Insn::stmt(code::STX, s.b % 16),
            20 | 21 if valid != 0 => {
                let c = if s.kind % 32 == 20 {
                    code::LD_MEM
                } else {
                    code::LDX_MEM
                };
                Insn::stmt(c, nth_slot(valid, s.b))
            }
            20 | 21 => Insn::stmt(code::ST, s.b % 16),
            22 => Insn::stmt(code::TAX, 0),
            23 => Insn::stmt(code::TXA, 0),
            24 => {
                let field = ANCILLARY_FIELDS[(s.a as usize) % ANCILLARY_FIELDS.len()];
                Insn::stmt(
                    class::LD | sz | mode::ABS,
                    (skf::AD_OFF as u32).wrapping_add(field),
                )
            }
            26 | 27 => Insn::jump(
                class::JMP | op::CONDITIONAL_JUMPS[(s.a % 4) as usize] | src::K,
                value(s.a >> 2, s.b, len),
                jump_offset(s.c, room),
                jump_offset(s.d, room),
            ),
            28 | 29 => Insn::jump(
                class::JMP | op::CONDITIONAL_JUMPS[(s.a % 4) as usize] | src::X,
                0,
                jump_offset(s.c, room),
                jump_offset(s.d, room),
            ),
            30 => {
                let k = if s.a % 4 == 0 {
                    s.b as usize % (room + 1)
                } else {
                    s.b as usize % (room.min(3) + 1)
                };
                Insn::stmt(code::JA, k as u32)
            }
            _ => {
                if s.a % 2 == 0 {
                    Insn::stmt(code::RET_A, 0)
                } else {
                    Insn::stmt(code::RET_K, value(s.a >> 1, s.b, len))
                }
            }
        };
        match insn.code {
            code::ST | code::STX => valid |= 1 << insn.k,
            code::JA => {
                masks[pc + 1 + insn.k as usize] &= valid;
                valid = u16::MAX;
            }
            c if c & class::MASK == class::JMP => {
                masks[pc + 1 + usize::from(insn.jt)] &= valid;
                masks[pc + 1 + usize::from(insn.jf)] &= valid;
                valid = u16::MAX;
            }
            _ => {}
        }
        insns.push(insn);
    }
    let last = if matches!(last.code, code::RET_K | code::RET_A) {
        last
    } else {
        Insn::stmt(code::RET_A, 0)
    };
    insns.push(last);
    insns
}

impl Step {
    /// A step drawn uniformly (the builder does the biasing).
    pub fn random(rng: &mut impl Rng) -> Step {
        Step {
            kind: rng.random(),
            a: rng.random(),
            b: rng.random(),
            c: rng.random(),
            d: rng.random(),
        }
    }
}
