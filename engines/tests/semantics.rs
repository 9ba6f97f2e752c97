//! bpflab's semantics suite, in the spirit of Linux's `lib/test_bpf.c`
//! but written from `shared/reference/bpf-semantics.md` (§1-§3, with
//! bpflab's Linux 5.x choices).
//!
//! One declarative table ([`table`]) holds every case: a name, a classic
//! program, and one or more (skb, expected return value) runs. Every
//! expected value is derived by hand from the semantics (the few families
//! that sweep many offsets compute theirs with [`be_load`], a three-line
//! statement of the bounds rule). One generic runner
//! ([`semantics_table_on_every_engine`]) checks the program, attaches it to
//! EVERY engine in `Engine::available()` and runs all its runs, in order,
//! on the same attached filter. New engines must pass the table unchanged.
//!
//! Besides the table: the checker's messages name the offending
//! instruction, the table's own coverage is checked (every accepted opcode,
//! every ancillary field at every size), and a deterministic proptest runs
//! random valid programs on random packets and metadata on every engine,
//! against the old engine and against an independent reference model.

mod common;

use bpflab_engines::classic::check::is_valid_opcode;
use bpflab_engines::classic::insn::{MAX_INSNS, ancillary, op};
use bpflab_engines::classic::{CheckError, Insn, check, listing};
use bpflab_engines::fuzz::program::ANCILLARY_FIELDS;
use bpflab_engines::{Device, Engine, Filter, Meta, Skb};
use common::asm::*;
use common::generator;
use common::{attach_everywhere, reference};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use std::collections::BTreeSet;

// ---------------------------------------------------------------------------
// The table's vocabulary
// ---------------------------------------------------------------------------

/// One entry of the table.
struct Case {
    /// Unique name, printed on failure.
    name: String,
    /// The program; the checker must accept it.
    prog: Vec<Insn>,
    /// Packets with the value the filter must return for each, run in
    /// order on one attached filter (so state must not leak between runs).
    runs: Vec<(Skb, u32)>,
}

fn case(name: impl Into<String>, prog: Vec<Insn>, runs: Vec<(Skb, u32)>) -> Case {
    Case {
        name: name.into(),
        prog,
        runs,
    }
}

/// Counting packet bytes: byte i is `0x40 + i` (never 0 for i < 0xc0, so a
/// successful load is never mistaken for the 0 of a failed one).
fn pat(n: usize) -> Vec<u8> {
    (0..n).map(|i| 0x40u8.wrapping_add(i as u8)).collect()
}

/// Metadata with a distinct value in every field.
fn meta() -> Meta {
    common::distinct_meta()
}

/// Metadata differing from [`meta`] in every field.
fn meta2() -> Meta {
    Meta {
        protocol: 0x0800,
        pkt_type: 0,
        dev: Some(Device {
            ifindex: 1,
            hatype: 1,
        }),
        mark: 0,
        queue_mapping: 0,
        rxhash: 0xffff_ffff,
        cpu: 63,
        vlan_tci: 0x0abc,
        vlan_present: false,
        vlan_tpid: 0x8100,
        mac_header: 2,
        network_header: 16,
    }
}

/// [`meta`] without a device.
fn no_dev() -> Meta {
    Meta {
        dev: None,
        ..meta()
    }
}

/// The counting packet of `n` bytes with [`meta`].
fn pkt(n: usize) -> Skb {
    Skb::new(pat(n), &meta())
}

/// The counting packet of `n` bytes with the link-layer header at `mh` and
/// the network header at `nh`.
fn hdr(n: usize, mh: u32, nh: u32) -> Skb {
    Skb::new(
        pat(n),
        &Meta {
            mac_header: mh,
            network_header: nh,
            ..meta()
        },
    )
}

/// `bytes` with [`meta`].
fn raw(bytes: &[u8]) -> Skb {
    Skb::new(bytes.to_vec(), &meta())
}

/// The same program's expected value on several packet lengths.
fn on_lens(lens: &[(usize, u32)]) -> Vec<(Skb, u32)> {
    lens.iter().map(|&(n, want)| (pkt(n), want)).collect()
}

/// The bounds rule for the counting packet: a `width`-byte load at offset
/// `off >= 0` of an `n`-byte packet succeeds exactly when
/// `off + width <= n` and reads big-endian; otherwise the filter returns 0.
fn be_load(n: usize, off: usize, width: usize) -> u32 {
    if off + width > n {
        return 0;
    }
    pat(n)[off..off + width]
        .iter()
        .fold(0, |v, &b| (v << 8) | u32::from(b))
}

/// Packet lengths the boundary sweeps use (offsets go up to max + 4).
const LENS: [usize; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 13];
const MAX_SWEEP_OFF: usize = 13 + 4;

/// A value in X (or A) that a case's result must not depend on.
const DECOY: u32 = 0x5a5a_5a5a;

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

/// The table's families, each appending its cases; the runner builds and
/// runs one at a time, so memory holds one family's packets at once (which
/// matters most under Miri, where every live byte is tracked).
const FAMILIES: [fn(&mut Vec<Case>); 12] = [
    entry_state_and_returns,
    alu,
    division_by_x_zero,
    immediate_len_mem_moves,
    packet_loads,
    load_boundaries,
    indirect_loads,
    header_windows,
    ancillary_fields,
    netlink_attributes,
    jumps,
    long_programs,
];

/// Every case of the suite.
fn table() -> Vec<Case> {
    let mut t = Vec::new();
    for family in FAMILIES {
        family(&mut t);
    }
    t
}

/// A, X and M[] start at zero; RET K and RET A; nothing leaks between runs.
fn entry_state_and_returns(t: &mut Vec<Case>) {
    t.push(case(
        "ret a at entry: A starts at 0",
        vec![ret_a()],
        on_lens(&[(0, 0), (5, 0)]),
    ));
    t.push(case(
        "txa at entry: X starts at 0",
        vec![txa(), ret_a()],
        on_lens(&[(0, 0), (5, 0)]),
    ));
    t.push(case(
        "txa overwrites A with the initial X",
        vec![ld_imm(7), txa(), ret_a()],
        on_lens(&[(0, 0)]),
    ));
    t.push(case(
        "tax at entry copies the initial A over X",
        vec![ldx_imm(5), tax(), txa(), ret_a()],
        on_lens(&[(0, 0)]),
    ));
    // A and X are checked at entry, then set from the packet; running the
    // same filter again must find them zero again.
    t.push(case(
        "A and X are zero at entry of every run",
        vec![
            jmp_k(op::JEQ, 0, 0, 5), // A == 0 at entry?
            txa(),
            jmp_k(op::JEQ, 0, 0, 4), // X == 0 at entry?
            ld_len(),
            tax(),
            ret_a(),
            ret_k(0xa0),
            ret_k(0x0f),
        ],
        on_lens(&[(5, 5), (7, 7), (0, 0), (5, 5)]),
    ));
    // Each slot gets its own bit; aliasing slots would lose one.
    let mut prog = Vec::new();
    for i in 0..16 {
        prog.extend([ld_imm(1 << i), st(i)]);
    }
    prog.push(ld_imm(0));
    for i in 0..16 {
        prog.extend([ldx_mem(i), alu_x(op::OR)]);
    }
    prog.push(ret_a());
    t.push(case(
        "M[0]..M[15] are 16 distinct words",
        prog,
        on_lens(&[(0, 0xffff)]),
    ));
    t.push(case(
        "st/stx then ld/ldx M[] round trip",
        vec![
            ld_imm(0x1100),
            st(3),
            ldx_imm(0x22),
            stx(15),
            ld_imm(0),
            ldx_imm(0),
            ldx_mem(3),
            ld_mem(15),
            alu_x(op::ADD),
            ret_a(),
        ],
        on_lens(&[(0, 0x1122)]),
    ));
    t.push(case(
        "st overwrites the slot",
        vec![
            ld_imm(1),
            st(7),
            ld_imm(2),
            st(7),
            ld_imm(0),
            ld_mem(7),
            ret_a(),
        ],
        on_lens(&[(0, 2)]),
    ));
    t.push(case(
        "scratch written on both branches",
        vec![
            ld_len(),
            jmp_k(op::JGT, 3, 0, 2),
            st(9), // len > 3: M[9] = len
            ja(2),
            ldx_imm(0x99),
            stx(9), // len <= 3: M[9] = 0x99
            ld_mem(9),
            ret_a(),
        ],
        on_lens(&[(4, 4), (3, 0x99), (0, 0x99), (13, 13)]),
    ));
    for (name, prog, want) in [
        ("ret #0", vec![ret_k(0)], 0),
        ("ret #65535", vec![ret_k(0xffff)], 0xffff),
        ("ret #0xffffffff", vec![ret_k(0xffff_ffff)], 0xffff_ffff),
        ("ret #k ignores A", vec![ld_imm(5), ret_k(6)], 6),
        (
            "ret a returns A",
            vec![ld_imm(0xffff_ffff), ret_a()],
            0xffff_ffff,
        ),
        ("the first ret ends the filter", vec![ret_k(1), ret_k(2)], 1),
        (
            "ret a in the middle ends the filter",
            vec![ld_imm(3), ret_a(), ld_imm(4), ret_a()],
            3,
        ),
    ] {
        t.push(case(name, prog, on_lens(&[(0, want), (20, want)])));
    }
}

/// (op, A, operand, expected A) for both the K and the X form.
const ALU_ROWS: &[(u16, u32, u32, u32)] = &[
    (op::ADD, 1, 2, 3),
    (op::ADD, 0x1234, 0, 0x1234),
    (op::ADD, 0xffff_ffff, 1, 0),
    (op::ADD, 0xffff_ffff, 0xffff_ffff, 0xffff_fffe),
    (op::ADD, 0x8000_0000, 0x8000_0000, 0),
    (op::ADD, 0x7fff_ffff, 1, 0x8000_0000),
    (op::SUB, 5, 3, 2),
    (op::SUB, 0, 1, 0xffff_ffff),
    (op::SUB, 3, 5, 0xffff_fffe),
    (op::SUB, 0x8000_0000, 1, 0x7fff_ffff),
    (op::SUB, 0, 0xffff_ffff, 1),
    (op::MUL, 3, 4, 12),
    (op::MUL, 0xffff_ffff, 0xffff_ffff, 1),
    (op::MUL, 0x1_0000, 0x1_0000, 0),
    (op::MUL, 0x1234_5678, 0x10, 0x2345_6780),
    (op::MUL, 0xffff_ffff, 2, 0xffff_fffe),
    (op::MUL, 0x8000_0000, 3, 0x8000_0000),
    (op::MUL, 0xdead_beef, 0, 0),
    (op::DIV, 100, 7, 14),
    (op::DIV, 0xffff_ffff, 1, 0xffff_ffff),
    (op::DIV, 0xffff_ffff, 0xffff_ffff, 1),
    (op::DIV, 0xffff_fffe, 0xffff_ffff, 0),
    (op::DIV, 0xffff_ffff, 2, 0x7fff_ffff), // unsigned: signed would give 0
    (op::DIV, 0x8000_0000, 0x10, 0x0800_0000),
    (op::DIV, 0xdead_beef, 0x1_0000, 0xdead),
    (op::DIV, 0, 5, 0),
    (op::DIV, 7, 8, 0),
    (op::MOD, 100, 7, 2),
    (op::MOD, 0xffff_ffff, 0x10, 0xf),
    (op::MOD, 0xffff_ffff, 0xffff_fffe, 1),
    (op::MOD, 0x8000_0000, 3, 2), // unsigned: 2^31 = 3 * 715827882 + 2
    (op::MOD, 5, 0xffff_ffff, 5),
    (op::MOD, 6, 1, 0),
    (op::MOD, 0xdead_beef, 0x1_0000, 0xbeef),
    (op::AND, 0xff00_ff00, 0x0ff0_0ff0, 0x0f00_0f00),
    (op::AND, 0xffff_ffff, 0, 0),
    (op::AND, 0xdead_beef, 0xffff_ffff, 0xdead_beef),
    (op::OR, 0xff00_ff00, 0x0ff0_0ff0, 0xfff0_fff0),
    (op::OR, 0, 0, 0),
    (op::OR, 0x8000_0000, 1, 0x8000_0001),
    (op::XOR, 0xff00_ff00, 0x0ff0_0ff0, 0xf0f0_f0f0),
    (op::XOR, 0xdead_beef, 0xdead_beef, 0),
    (op::XOR, 0xffff_ffff, 0x1234_5678, 0xedcb_a987),
    (op::LSH, 0xdead_beef, 0, 0xdead_beef),
    (op::LSH, 1, 31, 0x8000_0000),
    (op::LSH, 3, 31, 0x8000_0000),
    (op::LSH, 0xffff_ffff, 31, 0x8000_0000),
    (op::LSH, 0xdead_beef, 4, 0xeadb_eef0),
    (op::LSH, 0x8000_0001, 1, 2),
    (op::LSH, 0x1234_5678, 8, 0x3456_7800),
    (op::RSH, 0xdead_beef, 0, 0xdead_beef),
    (op::RSH, 0x8000_0000, 31, 1), // logical, not arithmetic
    (op::RSH, 0xffff_ffff, 31, 1),
    (op::RSH, 0x7fff_ffff, 31, 0),
    (op::RSH, 0xdead_beef, 4, 0x0dea_dbee),
    (op::RSH, 0xffff_ffff, 1, 0x7fff_ffff),
    (op::RSH, 0x1234_5678, 8, 0x0012_3456),
];

/// X form only (the checker refuses K >= 32): the count is used modulo 32.
const ALU_X_SHIFT_ROWS: &[(u16, u32, u32, u32)] = &[
    (op::LSH, 0xdead_beef, 32, 0xdead_beef),
    (op::LSH, 0xdead_beef, 33, 0xbd5b_7dde),
    (op::LSH, 0xdead_beef, 36, 0xeadb_eef0),
    (op::LSH, 1, 63, 0x8000_0000),
    (op::LSH, 3, 0xffff_ffff, 0x8000_0000),
    (op::LSH, 0xdead_beef, 0x8000_0000, 0xdead_beef),
    (op::LSH, 0xdead_beef, 0xffff_ffe0, 0xdead_beef),
    (op::RSH, 0xdead_beef, 32, 0xdead_beef),
    (op::RSH, 0xdead_beef, 35, 0x1bd5_b7dd),
    (op::RSH, 0x8000_0000, 63, 1),
    (op::RSH, 0xffff_ffff, 0xffff_ffff, 1),
    (op::RSH, 0xdead_beef, 0x1_0004, 0x0dea_dbee),
];

/// (A, -A)
const NEG_ROWS: &[(u32, u32)] = &[
    (0, 0),
    (1, 0xffff_ffff),
    (5, 0xffff_fffb),
    (0x8000_0000, 0x8000_0000),
    (0xffff_ffff, 1),
];

/// Every ALU operation in K and X form.
fn alu(t: &mut Vec<Case>) {
    for &(o, a, b, want) in ALU_ROWS {
        let name = alu_name(o);
        // K form: X holds a decoy the result must not depend on.
        t.push(case(
            format!("{name} #{b:#x} with A={a:#x}"),
            vec![ldx_imm(DECOY), ld_imm(a), alu_k(o, b), ret_a()],
            on_lens(&[(0, want)]),
        ));
        // X form: k holds a decoy.
        t.push(case(
            format!("{name} x with A={a:#x} X={b:#x}"),
            vec![
                ld_imm(a),
                ldx_imm(b),
                Insn {
                    k: DECOY,
                    ..alu_x(o)
                },
                ret_a(),
            ],
            on_lens(&[(0, want)]),
        ));
    }
    for &(o, a, b, want) in ALU_X_SHIFT_ROWS {
        t.push(case(
            format!("{} x with A={a:#x} X={b:#x} (count mod 32)", alu_name(o)),
            vec![ld_imm(a), ldx_imm(b), alu_x(o), ret_a()],
            on_lens(&[(0, want)]),
        ));
    }
    for &(a, want) in NEG_ROWS {
        t.push(case(
            format!("neg with A={a:#x}"),
            vec![
                ldx_imm(DECOY),
                ld_imm(a),
                Insn { k: DECOY, ..neg() },
                ret_a(),
            ],
            on_lens(&[(0, want)]),
        ));
    }
    // ((6 + 4) * 3 - 1) / 2 = 14; 14 % 5 = 4; 4 ^ 0xff = 0xfb; << 4 = 0xfb0;
    // >> 2 = 0x3ec; | 1 = 0x3ed; & 0xff = 0xed; -0xed = 0xffffff13.
    t.push(case(
        "a chain of every ALU op",
        vec![
            ld_imm(6),
            add(4),
            alu_k(op::MUL, 3),
            alu_k(op::SUB, 1),
            alu_k(op::DIV, 2),
            alu_k(op::MOD, 5),
            alu_k(op::XOR, 0xff),
            alu_k(op::LSH, 4),
            alu_k(op::RSH, 2),
            alu_k(op::OR, 1),
            alu_k(op::AND, 0xff),
            neg(),
            ret_a(),
        ],
        on_lens(&[(0, 0xffff_ff13)]),
    ));
}

/// DIV and MOD by X == 0 make the filter return 0 at once.
fn division_by_x_zero(t: &mut Vec<Case>) {
    for o in [op::DIV, op::MOD] {
        let name = alu_name(o);
        t.push(case(
            format!("{name} x by X=0 returns 0, not the later ret #7"),
            vec![ld_imm(10), ldx_imm(0), alu_x(o), ret_k(7)],
            on_lens(&[(0, 0), (20, 0)]),
        ));
        t.push(case(
            format!("{name} x by the initial X=0 returns 0"),
            vec![ld_imm(10), alu_x(o), ret_a()],
            on_lens(&[(0, 0)]),
        ));
        t.push(case(
            format!("{name} x by X=0 with A=0 returns 0"),
            vec![ldx_imm(0), alu_x(o), ret_k(0xffff)],
            on_lens(&[(0, 0)]),
        ));
        t.push(case(
            format!("{name} x by X=0 after a tax"),
            vec![ld_imm(0), tax(), ld_imm(9), alu_x(o), ret_k(0xffff)],
            on_lens(&[(0, 0)]),
        ));
    }
    // 10 / len + 1 and 10 % len + 1: 0 when len == 0.
    t.push(case(
        "div x by the packet length",
        vec![ld_imm(10), ldx_len(), alu_x(op::DIV), add(1), ret_a()],
        on_lens(&[(0, 0), (5, 3), (3, 4), (13, 1)]),
    ));
    t.push(case(
        "mod x by the packet length",
        vec![ld_imm(10), ldx_len(), alu_x(op::MOD), add(1), ret_a()],
        on_lens(&[(0, 0), (5, 1), (3, 2), (13, 11)]),
    ));
    t.push(case(
        "div x guarded by a jump never divides by 0",
        vec![
            ldx_len(),
            txa(),
            jmp_k(op::JEQ, 0, 3, 0),
            ld_imm(100),
            alu_x(op::DIV),
            ret_a(),
            ret_k(9),
        ],
        on_lens(&[(0, 9), (5, 20), (3, 33)]),
    ));
}

/// LD/LDX IMM and LEN, TAX and TXA.
fn immediate_len_mem_moves(t: &mut Vec<Case>) {
    for k in [0, 1, 0xdead_beef, 0xffff_ffff] {
        t.push(case(
            format!("ld #{k:#x}"),
            vec![ld_imm(k), ret_a()],
            on_lens(&[(0, k)]),
        ));
        t.push(case(
            format!("ldx #{k:#x}"),
            vec![ldx_imm(k), txa(), ret_a()],
            on_lens(&[(0, k)]),
        ));
    }
    let lens: Vec<(usize, u32)> = LENS
        .iter()
        .chain(&[60, 1514])
        .map(|&n| (n, n as u32))
        .collect();
    t.push(case("ld #len", vec![ld_len(), ret_a()], on_lens(&lens)));
    t.push(case(
        "ldx #len",
        vec![ldx_len(), txa(), ret_a()],
        on_lens(&lens),
    ));
    t.push(case(
        "tax copies A, txa copies X",
        vec![ld_imm(7), tax(), ld_imm(0), txa(), ret_a()],
        on_lens(&[(0, 7)]),
    ));
    t.push(case(
        "tax leaves A, txa leaves X",
        vec![ld_imm(7), tax(), add(1), alu_x(op::ADD), ret_a()],
        on_lens(&[(0, 15)]),
    ));
}

/// Big-endian packet loads, and a failed load ending the filter.
fn packet_loads(t: &mut Vec<Case>) {
    let counting = [1u8, 2, 3, 4, 5, 6, 7, 8];
    let high = [0xffu8, 0xfe, 0x80, 0x00, 0x7f];
    for (sz, k, bytes, want) in [
        (W, 0, &counting[..], 0x0102_0304),
        (W, 1, &counting[..], 0x0203_0405),
        (W, 4, &counting[..], 0x0506_0708),
        (H, 6, &counting[..], 0x0708),
        (B, 7, &counting[..], 0x08),
        (W, 0, &high[..], 0xfffe_8000),
        (W, 1, &high[..], 0xfe80_007f),
        (H, 2, &high[..], 0x8000),
        (H, 0, &high[..], 0xfffe),
        (B, 0, &high[..], 0xff), // no sign extension
        (B, 3, &high[..], 0x00),
    ] {
        t.push(case(
            format!("{} [{k}] of {bytes:02x?} is big-endian", size_name(sz)),
            vec![ld_abs(sz, k), ret_a()],
            vec![(raw(bytes), want)],
        ));
    }
    // A load at 100 of a counting packet reads 0x40 + 100 = 0xa4 onwards.
    for (sz, width, value) in [(W, 4, 0xa4a5_a6a7), (H, 2, 0xa4a5), (B, 1, 0xa4)] {
        let n = 100 + width;
        t.push(case(
            format!(
                "{} [100] fails: A set before is not returned",
                size_name(sz)
            ),
            vec![ld_imm(0x77), ld_abs(sz, 100), ret_a()],
            on_lens(&[(n - 1, 0), (n, value), (0, 0)]),
        ));
        t.push(case(
            format!(
                "{} [100] fails: the later ret is not reached",
                size_name(sz)
            ),
            vec![ld_abs(sz, 100), ret_k(0xffff)],
            on_lens(&[(n - 1, 0), (n, 0xffff)]),
        ));
        t.push(case(
            format!("{} [x + 99] with X=1 fails at the end", size_name(sz)),
            vec![ldx_imm(1), ld_ind(sz, 99), ret_k(0xffff)],
            on_lens(&[(n - 1, 0), (n, 0xffff)]),
        ));
    }
    for k in [0x7fff_ffff, 0x8000_0000, 0xffff, 0x1_0000, 0x7fff_fffc] {
        t.push(case(
            format!("ldb [{k:#x}] is out of any packet"),
            vec![ld_abs(B, k), ret_k(1)],
            on_lens(&[(0, 0), (60, 0)]),
        ));
    }
    // ldxb 4*([k]&0xf): only X changes; the load follows the same rule.
    for (byte, x) in [(0x45u8, 20), (0x4f, 60), (0xf0, 0), (0x06, 24)] {
        t.push(case(
            format!("ldxb 4*([0]&0xf) of {byte:#04x}"),
            vec![ld_imm(0x1234), ldx_msh(0), alu_x(op::ADD), ret_a()],
            vec![(raw(&[byte]), 0x1234 + x)],
        ));
    }
}

/// Every load size and mode at every offset around the end of packets of
/// several lengths: a load succeeds exactly when `off + size <= len`.
fn load_boundaries(t: &mut Vec<Case>) {
    for (sz, width) in SIZES {
        let width = width as usize;
        for off in 0..=MAX_SWEEP_OFF {
            let runs = |prog_for: &dyn Fn(usize) -> u32| -> Vec<(Skb, u32)> {
                LENS.iter().map(|&n| (pkt(n), prog_for(n))).collect()
            };
            let want = |n: usize| be_load(n, off, width);
            t.push(case(
                format!("{} [{off}] at the packet end", size_name(sz)),
                vec![ld_abs(sz, off as u32), ret_a()],
                runs(&want),
            ));
            // IND: X + k == off in 32-bit arithmetic, split four ways
            // (three when off == 0, where the first two are the same).
            let o = off as u32;
            let splits = [
                (o, 0),
                (0, o),
                (o.wrapping_add(0x1000), 0u32.wrapping_sub(0x1000)),
                (0xffff_ffff, o + 1),
            ];
            for (i, &(x, k)) in splits.iter().enumerate() {
                if i == 1 && o == 0 {
                    continue;
                }
                t.push(case(
                    format!(
                        "{} [x + {}] with X={x:#x} at the packet end",
                        size_name(sz),
                        k as i32
                    ),
                    vec![ldx_imm(x), ld_ind(sz, k), ret_a()],
                    runs(&want),
                ));
            }
        }
    }
    for off in 0..=MAX_SWEEP_OFF {
        // X = 4 * (low nibble of 0x40 + off); + 1 tells success from failure.
        let want = |n: usize| {
            if off < n {
                (u32::from(pat(n)[off]) & 0xf) * 4 + 1
            } else {
                0
            }
        };
        t.push(case(
            format!("ldxb 4*([{off}]&0xf) at the packet end"),
            vec![ldx_msh(off as u32), txa(), add(1), ret_a()],
            LENS.iter().map(|&n| (pkt(n), want(n))).collect(),
        ));
    }
}

/// IND: X + k wraps in 32 bits and is then a signed offset.
fn indirect_loads(t: &mut Vec<Case>) {
    // (what, X, k, expected for ld, ldh, ldb) on a 30-byte counting packet
    // (byte i = 0x40 + i).
    let rows: [(&str, u32, u32, [u32; 3]); 11] = [
        ("wraps to 1", 0xffff_ffff, 2, [0x4142_4344, 0x4142, 0x41]),
        (
            "wraps to 1 from k",
            2,
            0xffff_ffff,
            [0x4142_4344, 0x4142, 0x41],
        ),
        (
            "wraps to 0",
            0x8000_0000,
            0x8000_0000,
            [0x4041_4243, 0x4041, 0x40],
        ),
        (
            "wraps to 3",
            0x8000_0000,
            0x8000_0003,
            [0x4344_4546, 0x4344, 0x43],
        ),
        (
            "is 2",
            0x7fff_ffff,
            0x8000_0003,
            [0x4243_4445, 0x4243, 0x42],
        ),
        ("wraps to 4", 0xffff_fff0, 0x14, [0x4445_4647, 0x4445, 0x44]),
        ("is -1", 0, 0xffff_ffff, [0; 3]),
        ("is -1 from X", 0xffff_ffff, 0, [0; 3]),
        ("is -2", 0x7fff_ffff, 0x7fff_ffff, [0; 3]),
        ("is i32::MIN", 0x7fff_ffff, 1, [0; 3]),
        ("is i32::MAX", 0x7fff_ffff, 0, [0; 3]),
    ];
    for (what, x, k, wants) in rows {
        for ((sz, _), want) in SIZES.into_iter().zip(wants) {
            t.push(case(
                format!("{} [x + {k:#x}] with X={x:#x}: X + k {what}", size_name(sz)),
                vec![ldx_imm(x), ld_ind(sz, k), ret_a()],
                on_lens(&[(30, want)]),
            ));
        }
    }
    // X = len: loads counted back from the end of any packet.
    t.push(case(
        "ld [x - 4] with X = len reads the last word",
        vec![ldx_len(), ld_ind(W, off(-4)), ret_a()],
        on_lens(&[(30, 0x5a5b_5c5d), (4, 0x4041_4243), (3, 0), (0, 0)]),
    ));
    t.push(case(
        "ldh [x - 2] with X = len reads the last half-word",
        vec![ldx_len(), ld_ind(H, off(-2)), ret_a()],
        on_lens(&[(30, 0x5c5d), (2, 0x4041), (1, 0), (0, 0)]),
    ));
    t.push(case(
        "ldb [x - 1] with X = len reads the last byte",
        vec![ldx_len(), ld_ind(B, off(-1)), ret_a()],
        on_lens(&[(30, 0x5d), (1, 0x40), (0, 0)]),
    ));
    t.push(case(
        "ldb [x + 0] with X = len is always past the end",
        vec![ldx_len(), ld_ind(B, 0), ret_k(1)],
        on_lens(&[(30, 0), (1, 0), (0, 0)]),
    ));
}

/// SKF_NET_OFF and SKF_LL_OFF windows, offsets below them, and the
/// ancillary window reached other than by LD ABS.
fn header_windows(t: &mut Vec<Case>) {
    // Counting packets: byte i = 0x40 + i.
    t.push(case(
        "ldb [net + 0] follows the network header",
        vec![ld_abs(B, net(0)), ret_a()],
        vec![
            (hdr(30, 0, 14), 0x4e),
            (hdr(30, 0, 20), 0x54),
            (hdr(30, 0, 0), 0x40),
            (hdr(30, 0, 29), 0x5d),
            (hdr(30, 0, 30), 0),
            (hdr(30, 0, 100), 0),
            (hdr(0, 0, 0), 0),
        ],
    ));
    for (sz, o, runs) in [
        (
            W,
            12,
            vec![
                (hdr(30, 0, 14), 0x5a5b_5c5d),
                (hdr(30, 0, 10), 0x5657_5859),
                (hdr(30, 0, 15), 0),
                (hdr(30, 0, 20), 0),
            ],
        ),
        (
            W,
            13,
            vec![(hdr(30, 0, 14), 0), (hdr(30, 0, 13), 0x5a5b_5c5d)],
        ),
        (
            W,
            6,
            vec![(hdr(30, 0, 20), 0x5a5b_5c5d), (hdr(30, 0, 14), 0x5455_5657)],
        ),
        (
            W,
            7,
            vec![(hdr(30, 0, 20), 0), (hdr(30, 0, 19), 0x5a5b_5c5d)],
        ),
        (
            H,
            14,
            vec![
                (hdr(30, 0, 14), 0x5c5d),
                (hdr(30, 0, 15), 0),
                (hdr(30, 0, 20), 0),
            ],
        ),
        (H, 15, vec![(hdr(30, 0, 14), 0), (hdr(30, 0, 13), 0x5c5d)]),
        (B, 15, vec![(hdr(30, 0, 14), 0x5d), (hdr(30, 0, 15), 0)]),
        (B, 9, vec![(hdr(30, 0, 20), 0x5d), (hdr(30, 0, 21), 0)]),
        (B, 10, vec![(hdr(30, 0, 20), 0), (hdr(30, 0, 14), 0x58)]),
    ] {
        t.push(case(
            format!("{} [net + {o}] near the end", size_name(sz)),
            vec![ld_abs(sz, net(o)), ret_a()],
            runs,
        ));
    }
    t.push(case(
        "ldb [ll + 0] follows the link-layer header",
        vec![ld_abs(B, ll(0)), ret_a()],
        vec![
            (hdr(30, 0, 14), 0x40),
            (hdr(30, 4, 14), 0x44),
            (hdr(30, 29, 14), 0x5d),
            (hdr(30, 30, 14), 0),
            (hdr(0, 0, 0), 0),
        ],
    ));
    t.push(case(
        "ld [ll + 26] near the end",
        vec![ld_abs(W, ll(26)), ret_a()],
        vec![
            (hdr(30, 0, 14), 0x5a5b_5c5d),
            (hdr(30, 1, 14), 0),
            (hdr(30, 4, 14), 0),
        ],
    ));
    t.push(case(
        "ldh [ll + 28] near the end",
        vec![ld_abs(H, ll(28)), ret_a()],
        vec![(hdr(30, 0, 14), 0x5c5d), (hdr(30, 1, 14), 0)],
    ));
    t.push(case(
        "link-layer and network windows in one program",
        vec![
            ld_abs(B, ll(0)),
            tax(),
            ld_abs(B, net(0)),
            alu_x(op::ADD),
            ret_a(),
        ],
        vec![(hdr(30, 4, 20), 0x44 + 0x54), (hdr(30, 0, 14), 0x40 + 0x4e)],
    ));
    t.push(case(
        "a failed window load ends the filter",
        vec![ld_imm(5), ld_abs(B, net(100)), ret_k(0xffff)],
        vec![(hdr(30, 0, 14), 0), (hdr(120, 0, 14), 0xffff)],
    ));
    for (name, k) in [
        ("ldb [ll + 0xfffff], the top of the LL window", ll(0xf_ffff)),
        (
            "ldb [SKF_LL_OFF - 1], below the windows",
            ll(0).wrapping_sub(1),
        ),
        ("ldb [i32::MIN]", 0x8000_0000),
        ("ldb [SKF_LL_OFF - 0x100000]", ll(0).wrapping_sub(0x10_0000)),
    ] {
        t.push(case(
            name,
            vec![ld_abs(B, k), ret_k(1)],
            vec![(hdr(30, 0, 14), 0), (hdr(30, 4, 20), 0)],
        ));
    }
    t.push(case(
        "ldxb 4*([net + 0]&0xf)",
        vec![ldx_msh(net(0)), txa(), add(1), ret_a()],
        // 0x4e & 0xf = 14 -> 56; 0x54 -> 16.
        vec![
            (hdr(30, 0, 14), 57),
            (hdr(30, 0, 20), 17),
            (hdr(30, 0, 30), 0),
        ],
    ));
    t.push(case(
        "ldxb 4*([ll + 1]&0xf)",
        vec![ldx_msh(ll(1)), txa(), add(1), ret_a()],
        // 0x41 -> 4; 0x45 -> 20.
        vec![
            (hdr(30, 0, 14), 5),
            (hdr(30, 4, 14), 21),
            (hdr(30, 29, 14), 0),
        ],
    ));
    // IND into the windows.
    t.push(case(
        "ldb [x + SKF_NET_OFF] with X = 3",
        vec![ldx_imm(3), ld_ind(B, net(0)), ret_a()],
        vec![
            (hdr(30, 0, 14), 0x51),
            (hdr(30, 0, 20), 0x57),
            (hdr(30, 0, 27), 0),
        ],
    ));
    t.push(case(
        "ldb [x + 5] with X = SKF_NET_OFF",
        vec![ldx_imm(net(0)), ld_ind(B, 5), ret_a()],
        vec![(hdr(30, 0, 14), 0x53), (hdr(30, 0, 25), 0)],
    ));
    t.push(case(
        "ld [x + SKF_LL_OFF] with X = 2",
        vec![ldx_imm(2), ld_ind(W, ll(0)), ret_a()],
        vec![
            (hdr(30, 0, 14), 0x4243_4445),
            (hdr(30, 4, 14), 0x4647_4849),
            (hdr(30, 25, 14), 0),
        ],
    ));
    t.push(case(
        "ldb [x + SKF_LL_OFF - 1] with X = 0 is below the windows",
        vec![ldx_imm(0), ld_ind(B, ll(0).wrapping_sub(1)), ret_k(1)],
        vec![(hdr(30, 0, 14), 0)],
    ));

    // The ancillary window [SKF_AD_OFF, 0) is decoded only by LD ABS; any
    // other load there is a NET-window load 0xff000 bytes or so past the
    // network header. A packet that long makes those loads succeed.
    const FAR: usize = 0xff000; // SKF_AD_OFF - SKF_NET_OFF
    let nh = 14;
    let mut big = vec![0u8; nh + FAR + 32];
    big[nh + FAR] = 0x77; // [SKF_AD_OFF]
    big[nh + FAR - 1] = 0x66; // [SKF_AD_OFF - 1]
    big[nh + FAR + 20..nh + FAR + 24].copy_from_slice(&[1, 2, 3, 4]); // [SKF_AD_OFF + 20]
    let big = || {
        Skb::new(
            big.clone(),
            &Meta {
                network_header: nh as u32,
                ..meta()
            },
        )
    };
    t.push(case(
        "ldb [x + SKF_AD_OFF] is a far NET load, not ancillary",
        vec![ldx_imm(0), ld_ind(B, ad(0)), ret_a()],
        vec![(pkt(30), 0), (big(), 0x77), (pkt(0), 0)],
    ));
    t.push(case(
        "ld [x + SKF_AD_OFF + 20] is not the mark",
        vec![ldx_imm(0), ld_ind(W, ad(ancillary::MARK)), ret_a()],
        vec![(pkt(30), 0), (big(), 0x0102_0304)],
    ));
    t.push(case(
        "ldb [x + 0] with X = SKF_AD_OFF + 4 is not the packet type",
        vec![ldx_imm(ad(ancillary::PKTTYPE)), ld_ind(B, 0), ret_k(9)],
        vec![(pkt(30), 0), (big(), 9)],
    ));
    t.push(case(
        "ldb [SKF_AD_OFF - 1] is a far NET load",
        vec![ld_abs(B, ad(0).wrapping_sub(1)), ret_a()],
        vec![(pkt(30), 0), (big(), 0x66)],
    ));
    t.push(case(
        "ldxb 4*([SKF_AD_OFF]&0xf) is a far NET load",
        vec![ldx_msh(ad(0)), txa(), add(1), ret_a()],
        // 0x77 & 0xf = 7 -> 28.
        vec![(pkt(30), 0), (big(), 29)],
    ));
    t.push(case(
        "ld #len of a 1 MiB packet",
        vec![ld_len(), ret_a()],
        vec![(big(), (nh + FAR + 32) as u32)],
    ));
}

/// (name, field, value in [`meta`], value in [`meta2`], value without a
/// device, i.e. 0 where the filter must stop).
const ANCILLARY_ROWS: &[(&str, u32, u32, u32, u32)] = &[
    ("proto", ancillary::PROTOCOL, 0x86dd, 0x0800, 0x86dd),
    ("type", ancillary::PKTTYPE, 4, 0, 4),
    ("ifidx", ancillary::IFINDEX, 0x0bad_f00d, 1, 0),
    ("mark", ancillary::MARK, 0xdead_beef, 0, 0xdead_beef),
    ("queue", ancillary::QUEUE, 0xbeef, 0, 0xbeef),
    ("hatype", ancillary::HATYPE, 772, 1, 0),
    (
        "rxhash",
        ancillary::RXHASH,
        0xcafe_babe,
        0xffff_ffff,
        0xcafe_babe,
    ),
    ("cpu", ancillary::CPU, 3, 63, 3),
    ("vlan_tci", ancillary::VLAN_TAG, 0xf123, 0x0abc, 0xf123),
    ("vlan_avail", ancillary::VLAN_TAG_PRESENT, 1, 0, 1),
    ("vlan_tpid", ancillary::VLAN_TPID, 0x88a8, 0x8100, 0x88a8),
];

/// Every ancillary field the checker accepts, at every load size.
fn ancillary_fields(t: &mut Vec<Case>) {
    for &(name, field, v1, v2, v_nodev) in ANCILLARY_ROWS {
        for (sz, _) in SIZES {
            // The field replaces A whatever the load size; no packet bytes
            // are needed.
            t.push(case(
                format!("{} #{name}", size_name(sz)),
                vec![
                    ld_imm(DECOY),
                    ldx_imm(0x3333_3333),
                    ld_anc(sz, field),
                    ret_a(),
                ],
                vec![
                    (Skb::new(pat(0), &meta()), v1),
                    (Skb::new(pat(20), &meta2()), v2),
                    (Skb::new(pat(5), &no_dev()), v_nodev),
                ],
            ));
        }
    }
    let with = |m: Meta| Skb::new(pat(10), &m);
    t.push(case(
        "ld #type is the 3-bit packet type",
        vec![ld_anc(B, ancillary::PKTTYPE), ret_a()],
        (0..8)
            .map(|p| {
                (
                    with(Meta {
                        pkt_type: p,
                        ..meta()
                    }),
                    u32::from(p),
                )
            })
            .collect(),
    ));
    let vlans = [
        (0xf123u16, true),
        (0x0abc, true),
        (0x1000, false),
        (0, false),
        (0xffff, true),
        (0, true),
    ];
    let vlan = |tci: u16, present: bool| {
        with(Meta {
            vlan_tci: tci,
            vlan_present: present,
            ..meta()
        })
    };
    t.push(case(
        "ld #vlan_tci is the full TCI, whatever the present flag",
        vec![ld_anc(W, ancillary::VLAN_TAG), ret_a()],
        vlans
            .iter()
            .map(|&(tci, p)| (vlan(tci, p), u32::from(tci)))
            .collect(),
    ));
    t.push(case(
        "ld #vlan_avail is the separate present flag",
        vec![ld_anc(W, ancillary::VLAN_TAG_PRESENT), ret_a()],
        vlans
            .iter()
            .map(|&(tci, p)| (vlan(tci, p), u32::from(p)))
            .collect(),
    ));
    let dev = |ifindex: u32, hatype: u16| {
        with(Meta {
            dev: Some(Device { ifindex, hatype }),
            ..meta()
        })
    };
    t.push(case(
        "ld #ifidx without a device ends the filter",
        vec![ld_anc(W, ancillary::IFINDEX), ret_k(77)],
        vec![
            (with(meta()), 77),
            (with(no_dev()), 0),
            (dev(0, 0), 77),
            (with(meta()), 77),
        ],
    ));
    t.push(case(
        "ld #hatype without a device ends the filter, whatever A was",
        vec![ld_imm(5), ld_anc(H, ancillary::HATYPE), ret_k(78)],
        vec![(with(meta()), 78), (with(no_dev()), 0), (dev(0, 0), 78)],
    ));
    t.push(case(
        "ld #ifidx and #hatype with a device",
        vec![
            ld_anc(W, ancillary::HATYPE),
            tax(),
            ld_anc(W, ancillary::IFINDEX),
            alu_x(op::ADD),
            ret_a(),
        ],
        vec![
            (dev(0x100, 0xffff), 0x100 + 0xffff),
            (dev(0xffff_ffff, 2), 1),
            (with(no_dev()), 0),
        ],
    ));
    t.push(case(
        "an ancillary load leaves X alone",
        vec![
            ldx_imm(0x55),
            ld_anc(W, ancillary::MARK),
            alu_x(op::ADD),
            ret_a(),
        ],
        vec![
            (Skb::new(pat(0), &meta()), 0xdead_bf44),
            (Skb::new(pat(0), &meta2()), 0x55),
        ],
    ));
    for (sz, _) in SIZES {
        t.push(case(
            format!("{} #xor_x", size_name(sz)),
            vec![
                ld_imm(0xff00_ff00),
                ldx_imm(0x0ff0_0ff0),
                ld_anc(sz, ancillary::ALU_XOR_X),
                ret_a(),
            ],
            vec![
                (Skb::new(pat(0), &meta()), 0xf0f0_f0f0),
                (Skb::new(pat(3), &no_dev()), 0xf0f0_f0f0),
            ],
        ));
    }
    t.push(case(
        "ld #xor_x with A == X",
        vec![
            ld_imm(0x1234),
            ldx_imm(0x1234),
            ld_anc(W, ancillary::ALU_XOR_X),
            ret_a(),
        ],
        on_lens(&[(0, 0)]),
    ));
    t.push(case(
        "ld #xor_x with the initial X",
        vec![ld_imm(0xabc), ld_anc(W, ancillary::ALU_XOR_X), ret_a()],
        on_lens(&[(0, 0xabc)]),
    ));
    t.push(case(
        "ld #xor_x leaves X alone",
        vec![
            ld_imm(0xff00_ff00),
            ldx_imm(0x0ff0_0ff0),
            ld_anc(W, ancillary::ALU_XOR_X),
            txa(),
            ret_a(),
        ],
        on_lens(&[(0, 0x0ff0_0ff0)]),
    ));
}

/// Netlink flags that `nla_type` masks off.
const NLA_F_NESTED: u16 = 0x8000;
const NLA_F_NET_BYTEORDER: u16 = 0x4000;

/// A 40-byte netlink attribute stream after a 4-byte prefix:
/// 4: type 1 (len 7, padded to 8); 12: type 2 (len 4);
/// 16: type 3 | NESTED (len 16) holding 20: type 5 (len 5) and 28: type 6
/// (len 4); 32: type 7 | NET_BYTEORDER (len 8).
fn nl_stream() -> Vec<u8> {
    let mut s = vec![0xaa; 4];
    s.extend(nla(1, &[1, 2, 3]));
    s.extend(nla(2, &[]));
    let nested = [nla(5, &[9]), nla(6, &[])].concat();
    s.extend(nla(3 | NLA_F_NESTED, &nested));
    s.extend(nla(7 | NLA_F_NET_BYTEORDER, &[0xde, 0xad, 0xbe, 0xef]));
    assert_eq!(s.len(), 40);
    s
}

/// (field, A, X, expected) on [`nl_stream`].
const NLATTR_ROWS: &[(u32, u32, u32, u32)] = &[
    (ancillary::NLATTR, 4, 1, 4),
    (ancillary::NLATTR, 4, 2, 12),
    (ancillary::NLATTR, 4, 3, 16), // the NESTED flag is not part of the type
    (ancillary::NLATTR, 4, 7, 32), // nor is NET_BYTEORDER
    (ancillary::NLATTR, 4, 5, 0),  // only inside the nest
    (ancillary::NLATTR, 4, 6, 0),
    (ancillary::NLATTR, 4, 9, 0),
    (ancillary::NLATTR, 4, 0, 0),
    (ancillary::NLATTR, 4, 0x8003, 0), // X is compared with the masked type
    (ancillary::NLATTR, 12, 1, 0),     // the search starts at A
    (ancillary::NLATTR, 12, 7, 32),
    (ancillary::NLATTR, 16, 3, 16),
    (ancillary::NLATTR, 32, 7, 32),
    (ancillary::NLATTR, 0, 1, 0),  // length 0xaaaa runs past the end
    (ancillary::NLATTR, 36, 7, 0), // 0xdead/0xadde runs past the end
    (ancillary::NLATTR, 37, 7, 0), // A > len - 4
    (ancillary::NLATTR, 0xffff_ffff, 1, 0),
    (ancillary::NLATTR_NEST, 16, 5, 20),
    (ancillary::NLATTR_NEST, 16, 6, 28),
    (ancillary::NLATTR_NEST, 16, 1, 0),
    (ancillary::NLATTR_NEST, 16, 3, 0),
    (ancillary::NLATTR_NEST, 4, 1, 0), // 3 payload bytes hold no attribute
    (ancillary::NLATTR_NEST, 12, 2, 0), // empty payload
    (ancillary::NLATTR_NEST, 32, 7, 0), // a payload that is not attributes
    (ancillary::NLATTR_NEST, 0, 1, 0), // outer length past the end
    (ancillary::NLATTR_NEST, 36, 1, 0),
    (ancillary::NLATTR_NEST, 37, 1, 0),
    (ancillary::NLATTR_NEST, 0xffff_ffff, 5, 0),
];

/// NLATTR and NLATTR_NEST on small hand-built attribute streams.
fn netlink_attributes(t: &mut Vec<Case>) {
    let name = |field| {
        if field == ancillary::NLATTR {
            "nla"
        } else {
            "nlan"
        }
    };
    let stream = || Skb::new(nl_stream(), &meta());
    for &(field, a, x, want) in NLATTR_ROWS {
        t.push(case(
            format!("ld #{} with A={a} X={x:#x}", name(field)),
            vec![ld_imm(a), ldx_imm(x), ld_anc(W, field), ret_a()],
            vec![(stream(), want), (Skb::new(nl_stream(), &no_dev()), want)],
        ));
    }
    for (sz, _) in SIZES {
        t.push(case(
            format!("{} #nla finds a nested attribute by type", size_name(sz)),
            vec![
                ld_imm(4),
                ldx_imm(3),
                ld_anc(sz, ancillary::NLATTR),
                ret_a(),
            ],
            vec![(stream(), 16)],
        ));
        t.push(case(
            format!(
                "{} #nlan finds the second attribute of a nest",
                size_name(sz)
            ),
            vec![
                ld_imm(16),
                ldx_imm(6),
                ld_anc(sz, ancillary::NLATTR_NEST),
                ret_a(),
            ],
            vec![(stream(), 28)],
        ));
    }
    t.push(case(
        "ld #nla leaves X alone",
        vec![
            ld_imm(4),
            ldx_imm(2),
            ld_anc(W, ancillary::NLATTR),
            alu_x(op::ADD),
            ret_a(),
        ],
        vec![(stream(), 14)],
    ));
    // The stream cut to 28 bytes: the nest at 16 claims 16 bytes, only 12
    // are left, although the attribute of type 5 inside it is complete.
    let cut = || Skb::new(nl_stream()[..28].to_vec(), &meta());
    for (field, a, x, want) in [
        (ancillary::NLATTR_NEST, 16, 5, 0),
        (ancillary::NLATTR, 4, 2, 12),
        (ancillary::NLATTR, 4, 3, 0),
        (ancillary::NLATTR, 4, 1, 4),
    ] {
        t.push(case(
            format!("ld #{} with A={a} X={x} on a cut stream", name(field)),
            vec![ld_imm(a), ldx_imm(x), ld_anc(W, field), ret_a()],
            vec![(cut(), want)],
        ));
    }
    // Four zero bytes (a length-0 header stops the walk), then type 9.
    let zero_then_9 = || {
        let mut v = vec![0u8; 4];
        v.extend(nla(9, &[]));
        raw(&v)
    };
    for (a, want) in [(0, 0), (4, 4)] {
        t.push(case(
            format!("ld #nla of type 9 from A={a} after a zero-length header"),
            vec![ld_imm(a), ldx_imm(9), ld_anc(W, ancillary::NLATTR), ret_a()],
            vec![(zero_then_9(), want)],
        ));
    }
    // A last attribute without its padding bytes is still found; the walk
    // then ends.
    let unpadded = || {
        let mut v = vec![0xffu8; 4];
        v.extend(&nla(1, &[0x11])[..5]);
        raw(&v)
    };
    for (x, want) in [(1, 4), (2, 0)] {
        t.push(case(
            format!("ld #nla X={x} on an unpadded last attribute"),
            vec![ld_imm(4), ldx_imm(x), ld_anc(W, ancillary::NLATTR), ret_a()],
            vec![(unpadded(), want)],
        ));
    }
    // An attribute claiming one byte more than the packet holds is
    // malformed: nothing is found there.
    let one_short = || {
        let mut v = vec![0xffu8; 4];
        v.extend(&nla(1, &[0x11, 0x22])[..5]);
        raw(&v)
    };
    t.push(case(
        "ld #nla of an attribute one byte longer than the packet",
        vec![
            ld_imm(4),
            ldx_imm(1),
            ld_anc(W, ancillary::NLATTR),
            add(1),
            ret_a(),
        ],
        vec![(one_short(), 1)],
    ));
    // A nest at 0 claiming 12 bytes (type 5 at 4, then the start of a type
    // 6), in a packet of 11 or 12 bytes: the complete attribute of type 5
    // inside it is found only when the whole nest fits.
    let nest = |n: usize| {
        let mut v = nla(3 | NLA_F_NESTED, &[nla(5, &[]), nla(6, &[7])].concat());
        v[0..2].copy_from_slice(&12u16.to_ne_bytes());
        v.truncate(n);
        raw(&v)
    };
    for (n, want) in [(11, 0), (12, 4)] {
        t.push(case(
            format!("ld #nlan of a 12-byte nest in a {n}-byte packet"),
            vec![
                ld_imm(0),
                ldx_imm(5),
                ld_anc(W, ancillary::NLATTR_NEST),
                ret_a(),
            ],
            vec![(nest(n), want)],
        ));
    }
    // Packets shorter than a header.
    for n in [0, 3] {
        for field in [ancillary::NLATTR, ancillary::NLATTR_NEST] {
            t.push(case(
                format!("ld #{} on a {n}-byte packet", name(field)),
                vec![ld_imm(0), ldx_imm(0), ld_anc(W, field), ret_k(5)],
                vec![(Skb::new(vec![4, 0, 0, 0][..n].to_vec(), &meta()), 5)],
            ));
        }
    }
    // A nest whose own length is below a header.
    let short_nest = || {
        let mut v = 2u16.to_ne_bytes().to_vec();
        v.extend(0u16.to_ne_bytes());
        v.extend(nla(0, &[]));
        raw(&v)
    };
    t.push(case(
        "ld #nlan of a nest shorter than its header",
        vec![
            ld_imm(0),
            ldx_imm(0),
            ld_anc(W, ancillary::NLATTR_NEST),
            add(1),
            ret_a(),
        ],
        vec![(short_nest(), 1)],
    ));
}

/// (op, A, operand, whether the jump is taken) for the K and X forms.
const JMP_ROWS: &[(u16, u32, u32, bool)] = &[
    (op::JEQ, 5, 5, true),
    (op::JEQ, 5, 6, false),
    (op::JEQ, 0, 0, true),
    (op::JEQ, 0xffff_ffff, 0xffff_ffff, true),
    (op::JEQ, 0, 0x8000_0000, false),
    (op::JGT, 6, 5, true),
    (op::JGT, 5, 5, false),
    (op::JGT, 4, 5, false),
    (op::JGT, 0x8000_0000, 1, true), // unsigned
    (op::JGT, 1, 0xffff_ffff, false),
    (op::JGT, 0xffff_ffff, 0xffff_fffe, true),
    (op::JGT, 0x7fff_ffff, 0x8000_0000, false),
    (op::JGT, 0xffff_ffff, 0x8000_0000, true),
    (op::JGE, 5, 5, true),
    (op::JGE, 6, 5, true),
    (op::JGE, 4, 5, false),
    (op::JGE, 0, 0, true),
    (op::JGE, 0xffff_ffff, 0, true),
    (op::JGE, 0, 0xffff_ffff, false),
    (op::JGE, 0x8000_0000, 0x7fff_ffff, true),
    (op::JGE, 0x7fff_ffff, 0x8000_0000, false),
    (op::JSET, 0x10, 0x10, true),
    (op::JSET, 0x10, 0x01, false),
    (op::JSET, 0xf0f0, 0x0f0f, false),
    (op::JSET, 0x8000_0000, 0xffff_ffff, true),
    (op::JSET, 0xffff_ffff, 0x8000_0000, true),
    (op::JSET, 0, 0xffff_ffff, false),
    (op::JSET, 0xffff_ffff, 0, false),
];

/// (jt, jf) layouts every conditional row runs with.
const JMP_LAYOUTS: [(u8, u8); 5] = [(2, 1), (1, 2), (0, 2), (2, 0), (0, 0)];

/// Conditional jumps (K and X, both outcomes, jt/jf 0 and > 0), JA.
fn jumps(t: &mut Vec<Case>) {
    // After the jump: ret #100, ret #200, ret #300 at offsets 0, 1, 2.
    let rets = [ret_k(100), ret_k(200), ret_k(300)];
    for &(o, a, b, taken) in JMP_ROWS {
        for (jt, jf) in JMP_LAYOUTS {
            let want = [100, 200, 300][usize::from(if taken { jt } else { jf })];
            let name = jmp_name(o);
            // K form, X holds A (a decoy for JEQ and JGE).
            let mut prog = vec![ldx_imm(a), ld_imm(a), jmp_k(o, b, jt, jf)];
            prog.extend(rets);
            t.push(case(
                format!("{name} #{b:#x} with A={a:#x}, jt {jt} jf {jf}"),
                prog,
                on_lens(&[(0, want)]),
            ));
            // X form, k holds A.
            let mut prog = vec![
                ld_imm(a),
                ldx_imm(b),
                Insn {
                    k: a,
                    ..jmp_x(o, jt, jf)
                },
            ];
            prog.extend(rets);
            t.push(case(
                format!("{name} x with A={a:#x} X={b:#x}, jt {jt} jf {jf}"),
                prog,
                on_lens(&[(0, want)]),
            ));
        }
    }
    // Offsets of 255: ld len; jeq #1, jt 255, jf 254; 255 fillers; ret #999.
    let mut prog = vec![ld_len(), jmp_k(op::JEQ, 1, 255, 254)];
    prog.extend((2..=256).map(|pc| ret_k(0x1000 + pc)));
    prog.push(ret_k(999));
    t.push(case(
        "jeq with jt 255 and jf 254",
        prog,
        on_lens(&[(1, 999), (0, 0x1100), (2, 0x1100)]),
    ));
    let mut prog = vec![ld_len(), ldx_imm(3), jmp_x(op::JGT, 0, 255)];
    prog.extend((3..=257).map(|pc| ret_k(0x2000 + pc)));
    prog.push(ret_k(777));
    t.push(case(
        "jgt x with jt 0 and jf 255",
        prog,
        on_lens(&[(4, 0x2003), (3, 777), (0, 777)]),
    ));
    // JA.
    for (k, want) in [(0, 1), (1, 2), (2, 3)] {
        t.push(case(
            format!("ja {k}"),
            vec![ja(k), ret_k(1), ret_k(2), ret_k(3)],
            on_lens(&[(0, want)]),
        ));
    }
    t.push(case(
        "ja ignores jt and jf",
        vec![
            Insn {
                jt: 1,
                jf: 2,
                ..ja(0)
            },
            ret_k(1),
            ret_k(2),
            ret_k(3),
        ],
        on_lens(&[(0, 1)]),
    ));
    t.push(case(
        "a chain of ja",
        vec![ja(1), ret_k(1), ja(1), ret_k(2), ld_imm(7), ret_a()],
        on_lens(&[(0, 7)]),
    ));
    let mut prog = vec![ld_imm(7), ja(1000)];
    prog.extend(std::iter::repeat_n(ret_k(0xbad), 1000));
    prog.push(ret_a());
    t.push(case("ja 1000", prog, on_lens(&[(0, 7)])));
    t.push(case(
        "jumps straight to the final ret",
        vec![
            ld_len(),
            jmp_k(op::JGE, 10, 3, 0),
            jmp_k(op::JSET, 1, 2, 1),
            ja(1),
            add(0x100),
            ret_a(),
        ],
        // len >= 10: A = len; odd: len; even: len + 0x100.
        on_lens(&[(13, 13), (3, 3), (4, 0x104), (0, 0x100)]),
    ));
}

/// Programs of the maximum length, 4096 instructions.
fn long_programs(t: &mut Vec<Case>) {
    let mut prog = vec![add(1); MAX_INSNS - 1];
    prog.push(ret_a());
    t.push(case(
        "4096 instructions: 4095 adds",
        prog,
        on_lens(&[(0, 4095)]),
    ));
    // 1023 blocks of [add #3; ja 1; add #1000 (skipped); jge #0 (+0/+0)],
    // then 3 adds of 1: 1023 * 3 + 3.
    let mut prog = Vec::new();
    for _ in 0..1023 {
        prog.extend([add(3), ja(1), add(1000), jmp_k(op::JGE, 0, 0, 0)]);
    }
    prog.extend([add(1), add(1), add(1), ret_a()]);
    t.push(case(
        "4096 instructions: adds and jumps",
        prog,
        on_lens(&[(0, 3072)]),
    ));
    let mut prog = vec![ld_imm(7), ja(4093)];
    prog.extend(std::iter::repeat_n(ret_k(0xbad), 4093));
    prog.push(ret_a());
    t.push(case(
        "4096 instructions: one ja over 4093",
        prog,
        on_lens(&[(0, 7)]),
    ));
    let mut prog = vec![ldx_len()];
    prog.extend(std::iter::repeat_n(alu_x(op::ADD), 4094));
    prog.push(ret_a());
    t.push(case(
        "4096 instructions: 4094 times add x",
        prog,
        on_lens(&[(3, 12282), (0, 0), (256, 1_048_064)]),
    ));
    // ld len; 15 blocks of [jgt #0, jt 255; 255 x add #1]; 254 x add #2;
    // ret a. len > 0 hops over every block: len + 508. len == 0 runs the
    // first block's adds (A = 255), then hops: 255 + 508.
    let mut prog = vec![ld_len()];
    for _ in 0..15 {
        prog.push(jmp_k(op::JGT, 0, 255, 0));
        prog.extend(std::iter::repeat_n(add(1), 255));
    }
    prog.extend(std::iter::repeat_n(add(2), 254));
    prog.push(ret_a());
    t.push(case(
        "4096 instructions: a chain of jumps of 255",
        prog,
        on_lens(&[(5, 513), (0, 763)]),
    ));
}

// ---------------------------------------------------------------------------
// The runner
// ---------------------------------------------------------------------------

#[test]
fn semantics_table_on_every_engine() {
    let engines = common::engines_under_test();
    let mut miri_sample = MiriSample::default();
    let mut failures = Vec::new();
    let mut first_listing = None;
    let (mut cases_run, mut runs) = (0usize, 0usize);
    for family in FAMILIES {
        let mut cases = Vec::new();
        family(&mut cases);
        if cfg!(miri) {
            cases.retain(|case| miri_sample.keeps(case));
        }
        cases_run += cases.len();
        for case in &cases {
            let program = match check(case.prog.clone()) {
                Ok(p) => p,
                Err(e) => {
                    failures.push(format!("{}: the checker refused it: {e}", case.name));
                    continue;
                }
            };
            for filter in attach_everywhere(&program) {
                for (i, (skb, want)) in case.runs.iter().enumerate() {
                    runs += 1;
                    let got = filter.run(skb);
                    if got != *want {
                        failures.push(format!(
                            "{} [engine {}, run {i}, {}-byte packet]: returned {got:#x}, expected {want:#x}",
                            case.name,
                            filter.engine(),
                            skb.len()
                        ));
                        first_listing.get_or_insert_with(|| {
                            format!("{}:\n{}", case.name, listing(&case.prog))
                        });
                    }
                }
            }
        }
    }
    println!(
        "{cases_run} cases, {runs} runs on engines {engines:?}, {} failures",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}\n\nfirst failing program, {}",
        failures.len(),
        failures.join("\n"),
        first_listing.unwrap_or_default()
    );
}

/// `ld{,h,b} #field`.
fn is_ancillary_load(i: &Insn) -> bool {
    i.k >= ad(0) && [W, H, B].map(|s| ld_abs(s, 0).code).contains(&i.code)
}

/// Which cases run under Miri (`scripts/miri`), thousands of times slower:
/// of the programs of at most `MiriSample::MAX_LEN` instructions, every one
/// that uses an instruction no earlier kept case used (opcode, and field for
/// ancillary loads), so every handler of every interpreter still runs under
/// Miri's checks, and every `MiriSample::EVERY`th of the others. The long
/// programs (up to 4096 instructions) repeat the same handlers and would
/// take Miri minutes each; they run natively and in the differential test.
#[derive(Default)]
struct MiriSample {
    seen: BTreeSet<(u16, u32)>,
    others: usize,
}

impl MiriSample {
    const EVERY: usize = 8;
    const MAX_LEN: usize = 64;

    fn keeps(&mut self, case: &Case) -> bool {
        if case.prog.len() > Self::MAX_LEN {
            return false;
        }
        let new = case
            .prog
            .iter()
            .map(|i| (i.code, if is_ancillary_load(i) { i.k } else { 0 }))
            .fold(false, |new, key| self.seen.insert(key) | new);
        if new {
            return true;
        }
        self.others += 1;
        self.others % Self::EVERY == 1
    }
}

// ---------------------------------------------------------------------------
// The table's own coverage
// ---------------------------------------------------------------------------

#[test]
#[cfg_attr(
    miri,
    ignore = "the table's own coverage, no engine runs: too slow for Miri"
)]
fn table_names_are_unique_and_every_case_runs() {
    let cases = table();
    let mut seen = BTreeSet::new();
    for case in &cases {
        assert!(seen.insert(case.name.as_str()), "duplicate: {}", case.name);
        assert!(!case.runs.is_empty(), "no runs: {}", case.name);
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "the table's own coverage, no engine runs: too slow for Miri"
)]
fn table_uses_every_accepted_opcode() {
    let used: BTreeSet<u16> = table()
        .iter()
        .flat_map(|c| c.prog.iter().map(|i| i.code))
        .collect();
    let missing: Vec<String> = (0..=u16::MAX)
        .filter(|&c| is_valid_opcode(c) && !used.contains(&c))
        .map(|c| format!("{c:#04x}"))
        .collect();
    assert!(missing.is_empty(), "opcodes never used: {missing:?}");
}

#[test]
#[cfg_attr(
    miri,
    ignore = "the table's own coverage, no engine runs: too slow for Miri"
)]
fn table_loads_every_ancillary_field_at_every_size() {
    let used: BTreeSet<(u16, u32)> = table()
        .iter()
        .flat_map(|c| c.prog.clone())
        .filter(is_ancillary_load)
        .map(|i| (i.code, i.k.wrapping_sub(ad(0))))
        .collect();
    for field in ANCILLARY_FIELDS {
        for (sz, _) in SIZES {
            assert!(
                used.contains(&(ld_abs(sz, 0).code, field)),
                "{} #{} is never loaded",
                size_name(sz),
                ancillary::name(field).unwrap_or("?")
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The checker: each refusal names its instruction
// ---------------------------------------------------------------------------

#[test]
fn checker_errors_name_the_instruction() {
    type Rule = fn(&CheckError) -> bool;
    let rows: Vec<(&str, Vec<Insn>, usize, Rule)> = vec![
        (
            "ldx W ABS (seccomp only)",
            vec![ld_imm(1), ld_imm(2), Insn::stmt(0x21, 0), ret_a()],
            2,
            |e| matches!(e, CheckError::BadOpcode { .. }),
        ),
        ("ret x", vec![ld_imm(1), Insn::stmt(0x0e, 0)], 1, |e| {
            matches!(e, CheckError::BadOpcode { .. })
        }),
        (
            "div #0",
            vec![ld_imm(1), alu_k(op::DIV, 0), ret_a()],
            1,
            |e| matches!(e, CheckError::DivisionByZero { .. }),
        ),
        (
            "mod #0",
            vec![ld_imm(1), ld_imm(1), alu_k(op::MOD, 0), ret_a()],
            2,
            |e| matches!(e, CheckError::DivisionByZero { .. }),
        ),
        (
            "lsh #32",
            vec![ld_imm(1), alu_k(op::LSH, 32), ret_a()],
            1,
            |e| matches!(e, CheckError::ShiftTooLarge { .. }),
        ),
        (
            "rsh #0xffffffff",
            vec![ld_imm(1), alu_k(op::RSH, 0xffff_ffff), ret_a()],
            1,
            |e| matches!(e, CheckError::ShiftTooLarge { .. }),
        ),
        ("st M[16]", vec![ld_imm(1), st(16), ret_a()], 1, |e| {
            matches!(e, CheckError::ScratchIndex { .. })
        }),
        ("ldx M[16]", vec![st(0), ldx_mem(16), ret_a()], 1, |e| {
            matches!(e, CheckError::ScratchIndex { .. })
        }),
        ("ja past the end", vec![ld_imm(1), ja(1), ret_a()], 1, |e| {
            matches!(e, CheckError::JumpOutOfRange { .. })
        }),
        (
            "jeq jt past the end",
            vec![ld_imm(1), ld_imm(1), jmp_k(op::JEQ, 1, 1, 0), ret_a()],
            2,
            |e| matches!(e, CheckError::JumpOutOfRange { .. }),
        ),
        (
            "jset x jf past the end",
            vec![ld_imm(1), jmp_x(op::JSET, 0, 2), ret_a(), ret_a()],
            1,
            |e| matches!(e, CheckError::JumpOutOfRange { .. }),
        ),
        (
            "ldb [-1] is an unknown ancillary field",
            vec![ld_imm(0), ld_abs(B, 0xffff_ffff), ret_a()],
            1,
            |e| matches!(e, CheckError::UnknownAncillary { off: 0xfff, .. }),
        ),
        (
            "ld [SKF_AD_OFF + 64]",
            vec![ld_imm(0), ld_abs(W, ad(ancillary::MAX)), ret_a()],
            1,
            |e| matches!(e, CheckError::UnknownAncillary { off: 64, .. }),
        ),
        (
            "ld #poff is unsupported",
            vec![ld_imm(0), ld_anc(W, ancillary::PAY_OFFSET), ret_a()],
            1,
            |e| matches!(e, CheckError::UnsupportedAncillary { name: "poff", .. }),
        ),
        (
            "ldb #rand is unsupported",
            vec![ld_imm(0), ld_anc(B, ancillary::RANDOM), ret_a()],
            1,
            |e| matches!(e, CheckError::UnsupportedAncillary { name: "rand", .. }),
        ),
        (
            "no final ret",
            vec![ld_imm(1), ret_a(), ld_imm(2)],
            2,
            |e| matches!(e, CheckError::NoFinalReturn { .. }),
        ),
        (
            "ld M[5] never written",
            vec![st(4), ld_imm(0), ld_mem(5), ret_a()],
            2,
            |e| matches!(e, CheckError::UninitializedScratch { .. }),
        ),
        (
            "ldx M[2] written on one path only",
            vec![
                ld_len(),
                jmp_k(op::JEQ, 0, 1, 0),
                st(2),
                ldx_mem(2),
                ret_a(),
            ],
            3,
            |e| matches!(e, CheckError::UninitializedScratch { .. }),
        ),
    ];
    for (name, prog, pc, rule) in rows {
        let err = check(prog).expect_err(name);
        assert!(rule(&err), "{name}: wrong rule: {err:?}");
        assert_eq!(err.pc(), Some(pc), "{name}: {err}");
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("instruction {pc} (")),
            "{name}: the message does not name instruction {pc}: {msg}"
        );
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "the checker on 4096 instructions: safe code, too slow for Miri"
)]
fn checker_lengths() {
    assert_eq!(check(vec![]), Err(CheckError::Empty));
    assert_eq!(CheckError::Empty.pc(), None);
    assert!(check(vec![ret_a(); MAX_INSNS]).is_ok());
    let err = check(vec![ret_a(); MAX_INSNS + 1]).expect_err("4097 instructions");
    assert_eq!(err, CheckError::TooLong { len: 4097 });
    assert_eq!(err.pc(), None);
    assert!(err.to_string().contains("4097"), "{err}");
}

// ---------------------------------------------------------------------------
// Differential: random valid programs on every engine
// ---------------------------------------------------------------------------

/// Runs one generated case: the checker must accept it, and every engine
/// must return what the old engine returns, which must be what the
/// reference model returns.
fn differential(case: &generator::GenCase) -> Result<(), TestCaseError> {
    let program = check(case.insns.clone())
        .map_err(|e| TestCaseError::fail(format!("the generator made an invalid program: {e}")))?;
    let old = Filter::attach(program.clone(), Engine::Old).expect("old is always available");
    let filters = attach_everywhere(&program);
    for (skb, (data, meta)) in case.skbs().iter().zip(&case.packets) {
        let want = old.run(skb);
        let model = reference::run(&case.insns, data, meta);
        prop_assert_eq!(want, model, "old engine vs reference model");
        for f in &filters {
            prop_assert_eq!(f.run(skb), want, "engine {} vs old", f.engine());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        // Under Miri (scripts/miri) the first few of the same cases.
        cases: if cfg!(miri) { 10 } else { 3000 },
        rng_seed: RngSeed::Fixed(0x00bf_1ab5_e3a7),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_programs_agree_on_every_engine(case in generator::case()) {
        differential(&case)?;
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "the generator's coverage: safe code, too slow for Miri"
)]
fn generated_programs_are_valid_and_cover_every_opcode() {
    let mut runner = TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(7),
        ..Config::default()
    });
    let strategy = generator::case();
    let mut opcodes = BTreeSet::new();
    let mut fields = BTreeSet::new();
    let (mut zero, mut nonzero) = (0, 0);
    for _ in 0..1000 {
        let case = strategy
            .new_tree(&mut runner)
            .expect("the strategy never rejects")
            .current();
        let program =
            check(case.insns.clone()).unwrap_or_else(|e| panic!("invalid program: {e}\n{case:?}"));
        opcodes.extend(case.insns.iter().map(|i| i.code));
        fields.extend(
            case.insns
                .iter()
                .filter(|i| is_ancillary_load(i))
                .map(|i| i.k.wrapping_sub(ad(0))),
        );
        let old = Filter::attach(program, Engine::Old).expect("old is available");
        for skb in case.skbs() {
            if old.run(&skb) == 0 {
                zero += 1;
            } else {
                nonzero += 1;
            }
        }
    }
    let missing: Vec<String> = (0..=u16::MAX)
        .filter(|&c| is_valid_opcode(c) && !opcodes.contains(&c))
        .map(|c| format!("{c:#04x}"))
        .collect();
    assert!(missing.is_empty(), "opcodes never generated: {missing:?}");
    assert_eq!(fields, ANCILLARY_FIELDS.into_iter().collect());
    assert!(zero > 0 && nonzero > 0, "zero {zero}, nonzero {nonzero}");
}
