//! The classic → eBPF converter checked instruction by instruction against
//! listings derived by hand from the rules (bpf-semantics.md §5, bpflab's
//! choices in `ebpf::convert`): the thread's two programs in full, then one
//! case per rule.

use bpflab_engines::classic::check;
use bpflab_engines::classic::insn::{Insn as C, ancillary, code, op, skf};
use bpflab_engines::ebpf::insn::{class, mode, src};
use bpflab_engines::ebpf::{Converted, Insn, convert, listing};
use ebpf_fixtures::{FPROG1, FPROG2, program};

mod ebpf_fixtures;

fn conv(insns: Vec<C>) -> Converted {
    let p = check(insns).expect("the test program passes the checker");
    convert(&p).expect("the program converts")
}

/// Asserts that `c` is `prologue + body` in the verifier-log syntax, and
/// that every field the syntax does not show is zero.
fn assert_body(c: &Converted, body: &[&str]) {
    let text: Vec<String> = c.insns.iter().map(Insn::to_string).collect();
    let mut want = vec!["w0 ^= w0", "w7 ^= w7", "r6 = r1"];
    want.extend_from_slice(body);
    assert_eq!(text, want, "\n{}", listing(&c.insns));
    for insn in &c.insns {
        assert_canonical(insn);
    }
}

/// The fields an instruction does not use are zero, as Linux requires.
fn assert_canonical(i: &Insn) {
    let k_form = i.code & src::MASK == src::K;
    let ok = match i.class() {
        class::ALU | class::ALU64 if k_form => i.src == 0 && i.off == 0,
        class::ALU | class::ALU64 => i.imm == 0 && i.off == 0,
        class::JMP if matches!(i.code, 0x05 | 0x85 | 0x95) => i.dst == 0 && i.src == 0,
        class::JMP if k_form => i.src == 0,
        class::JMP => i.imm == 0,
        class::LDX | class::STX => i.imm == 0,
        class::LD if i.code & mode::MASK == mode::ABS => i.dst == 0 && i.src == 0 && i.off == 0,
        class::LD => i.dst == 0 && i.off == 0,
        _ => false,
    };
    assert!(ok, "non-canonical {i:?} ({i})");
}

#[test]
fn fprog1_converts_to_35_instructions() {
    let c = convert(&program(FPROG1)).expect("fprog1 converts");
    #[rustfmt::skip]
    assert_body(&c, &[
        "r0 = *(u16 *)skb[12]",            //  3 <- 0
        "if r0 != 0x86dd goto pc+9",       //  4 <- 1: jt 0 -> JNE to 10
        "r0 = *(u8 *)skb[20]",             //  5 <- 2
        "if r0 == 0x84 goto pc+2",         //  6 <- 3: jf 0 -> to 6
        "if r0 == 0x6 goto pc+1",          //  7 <- 4
        "if r0 != 0x11 goto pc+24",        //  8 <- 5: to 23
        "r0 = *(u16 *)skb[54]",            //  9 <- 6
        "if r0 == 0x16 goto pc+20",        // 10 <- 7: to 22
        "r0 = *(u16 *)skb[56]",            // 11 <- 8
        "if r0 == 0x16 goto pc+18",        // 12 <- 9: jt 12 jf 13 -> two
        "goto pc+19",                      // 13
        "if r0 != 0x800 goto pc+18",       // 14 <- 10: to 23
        "r0 = *(u8 *)skb[23]",             // 15 <- 11
        "if r0 == 0x84 goto pc+2",         // 16 <- 12: to 15
        "if r0 == 0x6 goto pc+1",          // 17 <- 13
        "if r0 != 0x11 goto pc+14",        // 18 <- 14: to 23
        "r0 = *(u16 *)skb[20]",            // 19 <- 15
        "if r0 & 0x1fff goto pc+12",       // 20 <- 16: to 23
        "r8 = r0",                         // 21 <- 17: ldxb 4*([14]&0xf)
        "r0 = *(u8 *)skb[14]",             // 22
        "w0 &= 15",                        // 23
        "w0 <<= 2",                        // 24
        "r7 = r0",                         // 25
        "r0 = r8",                         // 26
        "r0 = *(u16 *)skb[r7 + 14]",       // 27 <- 18
        "if r0 == 0x16 goto pc+2",         // 28 <- 19: to 22
        "r0 = *(u16 *)skb[r7 + 16]",       // 29 <- 20
        "if r0 != 0x16 goto pc+2",         // 30 <- 21: jt 0 jf 1 -> to 23
        "w0 = 65535",                      // 31 <- 22
        "exit",                            // 32
        "w0 = 0",                          // 33 <- 23
        "exit",                            // 34
    ]);
    assert_eq!(c.insns.len(), 35);
    assert_eq!(
        c.pc_map,
        [
            3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 27, 28, 29, 30, 31, 33
        ]
    );
    // The listing shows each opcode byte, as the verifier log does.
    let text = listing(&c.insns);
    assert!(text.starts_with("   0: (ac) w0 ^= w0\n   1: (ac) w7 ^= w7\n   2: (bf) r6 = r1\n"));
    assert!(text.contains("  27: (48) r0 = *(u16 *)skb[r7 + 14]\n"));
    assert!(text.ends_with("  33: (b4) w0 = 0\n  34: (95) exit\n"));
}

#[test]
fn fprog2_converts_to_45_instructions() {
    let c = convert(&program(FPROG2)).expect("fprog2 converts");
    #[rustfmt::skip]
    assert_body(&c, &[
        "r0 = *(u16 *)skb[12]",            //  3 <- 0
        "if r0 == 0x86dd goto pc+38",      //  4 <- 1: to 29
        "if r0 != 0x800 goto pc+37",       //  5 <- 2: to 29
        "r0 = *(u8 *)skb[23]",             //  6 <- 3
        "if r0 != 0x6 goto pc+35",         //  7 <- 4: to 29
        "r0 = *(u16 *)skb[20]",            //  8 <- 5
        "if r0 & 0x1fff goto pc+33",       //  9 <- 6: to 29
        "r8 = r0",                         // 10 <- 7: ldxb 4*([14]&0xf)
        "r0 = *(u8 *)skb[14]",             // 11
        "w0 &= 15",                        // 12
        "w0 <<= 2",                        // 13
        "r7 = r0",                         // 14
        "r0 = r8",                         // 15
        "r0 = *(u16 *)skb[r7 + 14]",       // 16 <- 8
        "if r0 == 0x16 goto pc+2",         // 17 <- 9: to 12
        "r0 = *(u16 *)skb[r7 + 16]",       // 18 <- 10
        "if r0 != 0x16 goto pc+23",        // 19 <- 11: to 29
        "r0 = *(u16 *)skb[16]",            // 20 <- 12
        "*(u32 *)(r10 -8) = r0",           // 21 <- 13: st M[1]
        "r0 = *(u8 *)skb[14]",             // 22 <- 14
        "w0 &= 15",                        // 23 <- 15
        "w0 <<= 2",                        // 24 <- 16
        "r7 = r0",                         // 25 <- 17: tax
        "r0 = *(u32 *)(r10 -8)",           // 26 <- 18: ld M[1]
        "w0 -= w7",                        // 27 <- 19
        "*(u32 *)(r10 -24) = r0",          // 28 <- 20: st M[5]
        "r8 = r0",                         // 29 <- 21: ldxb 4*([14]&0xf)
        "r0 = *(u8 *)skb[14]",             // 30
        "w0 &= 15",                        // 31
        "w0 <<= 2",                        // 32
        "r7 = r0",                         // 33
        "r0 = r8",                         // 34
        "r0 = *(u8 *)skb[r7 + 26]",        // 35 <- 22
        "w0 &= 240",                       // 36 <- 23
        "w0 >>= 2",                        // 37 <- 24
        "r7 = r0",                         // 38 <- 25: tax
        "r0 = *(u32 *)(r10 -24)",          // 39 <- 26: ld M[5]
        "if r0 == r7 goto pc+2",           // 40 <- 27: to 29
        "w0 = 65535",                      // 41 <- 28
        "exit",                            // 42
        "w0 = 0",                          // 43 <- 29
        "exit",                            // 44
    ]);
    assert_eq!(c.insns.len(), 45);
    assert_eq!(
        c.pc_map,
        [
            3, 4, 5, 6, 7, 8, 9, 10, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 35,
            36, 37, 38, 39, 40, 41, 43
        ]
    );
}

fn ret(k: u32) -> C {
    C::stmt(code::RET_K, k)
}

fn jump(c: u16, k: u32, jt: u8, jf: u8) -> C {
    C::jump(c, k, jt, jf)
}

#[test]
fn jf_zero_is_one_jump_to_jt() {
    let c = conv(vec![jump(code::JGT_K, 7, 1, 0), ret(1), ret(2)]);
    assert_body(
        &c,
        &["if r0 > 0x7 goto pc+2", "w0 = 1", "exit", "w0 = 2", "exit"],
    );
    // Both offsets zero: a jump to the next instruction.
    let c = conv(vec![jump(code::JEQ_K, 7, 0, 0), ret(1)]);
    assert_body(&c, &["if r0 == 0x7 goto pc+0", "w0 = 1", "exit"]);
}

#[test]
fn jt_zero_inverts_jeq_jgt_jge() {
    for (c, inverted) in [(code::JEQ_K, "!="), (code::JGT_K, "<="), (code::JGE_K, "<")] {
        let conv = conv(vec![jump(c, 9, 0, 1), ret(1), ret(2)]);
        let first = format!("if r0 {inverted} 0x9 goto pc+2");
        assert_body(&conv, &[&first, "w0 = 1", "exit", "w0 = 2", "exit"]);
    }
    for (c, inverted) in [(code::JEQ_X, "!="), (code::JGT_X, "<="), (code::JGE_X, "<")] {
        let conv = conv(vec![jump(c, 0, 0, 1), ret(1), ret(2)]);
        let first = format!("if r0 {inverted} r7 goto pc+2");
        assert_body(&conv, &[&first, "w0 = 1", "exit", "w0 = 2", "exit"]);
    }
}

#[test]
fn jset_has_no_inverse_and_takes_two_instructions() {
    let c = conv(vec![jump(code::JSET_K, 4, 0, 1), ret(1), ret(2)]);
    assert_body(
        &c,
        &[
            "if r0 & 0x4 goto pc+1",
            "goto pc+2",
            "w0 = 1",
            "exit",
            "w0 = 2",
            "exit",
        ],
    );
    let c = conv(vec![jump(code::JSET_X, 0, 0, 1), ret(1), ret(2)]);
    assert_eq!(c.insns[3].to_string(), "if r0 & r7 goto pc+1");
}

#[test]
fn both_offsets_give_jcond_then_goto() {
    let c = conv(vec![jump(code::JGE_X, 0, 1, 2), ret(1), ret(2), ret(3)]);
    assert_body(
        &c,
        &[
            "if r0 >= r7 goto pc+3",
            "goto pc+4",
            "w0 = 1",
            "exit",
            "w0 = 2",
            "exit",
            "w0 = 3",
            "exit",
        ],
    );
    assert_eq!(c.pc_map, [3, 5, 7, 9]);
}

#[test]
fn negative_constants_are_compared_through_the_temporary() {
    // jt == 0: inverted; the mov comes first and the jump offset counts
    // from the jump itself.
    let c = conv(vec![jump(code::JEQ_K, 0xffff_fff0, 0, 1), ret(1), ret(2)]);
    assert_body(
        &c,
        &[
            "w8 = -16",
            "if r0 != r8 goto pc+2",
            "w0 = 1",
            "exit",
            "w0 = 2",
            "exit",
        ],
    );
    let c = conv(vec![
        jump(code::JGT_K, 0x8000_0000, 1, 2),
        ret(1),
        ret(2),
        ret(3),
    ]);
    assert_body(
        &c,
        &[
            "w8 = -2147483648",
            "if r0 > r8 goto pc+3",
            "goto pc+4",
            "w0 = 1",
            "exit",
            "w0 = 2",
            "exit",
            "w0 = 3",
            "exit",
        ],
    );
    let c = conv(vec![jump(code::JSET_K, 0xffff_ffff, 1, 0), ret(1), ret(2)]);
    assert_eq!(c.insns[3].to_string(), "w8 = -1");
    assert_eq!(c.insns[4].to_string(), "if r0 & r8 goto pc+2");
    // 0x7fffffff is positive as an s32: compared as an immediate.
    let c = conv(vec![jump(code::JEQ_K, 0x7fff_ffff, 1, 0), ret(1), ret(2)]);
    assert_eq!(c.insns[3].to_string(), "if r0 == 0x7fffffff goto pc+2");
}

#[test]
fn ja_gets_the_recomputed_distance() {
    let c = conv(vec![
        C::stmt(code::JA, 2),
        C::stmt(code::LDX_B_MSH, 14),
        C::stmt(code::LDX_B_MSH, 14),
        ret(4),
    ]);
    assert_eq!(c.insns[3].to_string(), "goto pc+12");
    assert_eq!(c.pc_map, [3, 4, 10, 16]);
}

#[test]
fn div_and_mod_by_x_return_0_when_x_is_0() {
    let c = conv(vec![
        C::stmt(code::alu_x(op::DIV), 0),
        C::stmt(code::RET_A, 0),
    ]);
    assert_body(
        &c,
        &[
            "if r7 != 0x0 goto pc+2",
            "w0 = 0",
            "exit",
            "w0 /= w7",
            "exit",
        ],
    );
    let c = conv(vec![
        C::stmt(code::alu_x(op::MOD), 0),
        C::stmt(code::RET_A, 0),
    ]);
    assert_body(
        &c,
        &[
            "if r7 != 0x0 goto pc+2",
            "w0 = 0",
            "exit",
            "w0 %= w7",
            "exit",
        ],
    );
    // By a constant: no guard (the checker refuses 0).
    let c = conv(vec![
        C::stmt(code::alu_k(op::DIV), 3),
        C::stmt(code::RET_A, 0),
    ]);
    assert_body(&c, &["w0 /= 3", "exit"]);
}

#[test]
fn alu_stays_32_bit() {
    let ops = [
        (op::ADD, "+="),
        (op::SUB, "-="),
        (op::MUL, "*="),
        (op::OR, "|="),
        (op::AND, "&="),
        (op::LSH, "<<="),
        (op::RSH, ">>="),
        (op::MOD, "%="),
        (op::XOR, "^="),
    ];
    for (o, sym) in ops {
        let c = conv(vec![C::stmt(code::alu_k(o), 5), C::stmt(code::RET_A, 0)]);
        assert_body(&c, &[&format!("w0 {sym} 5"), "exit"]);
        let c = conv(vec![C::stmt(code::alu_x(o), 0), C::stmt(code::RET_A, 0)]);
        let body = format!("w0 {sym} w7");
        let want: &[&str] = if o == op::MOD {
            &["if r7 != 0x0 goto pc+2", "w0 = 0", "exit", &body, "exit"]
        } else {
            &[&body, "exit"]
        };
        assert_body(&c, want);
    }
    let c = conv(vec![C::stmt(code::NEG, 0), C::stmt(code::RET_A, 0)]);
    assert_body(&c, &["w0 = -w0", "exit"]);
}

#[test]
fn msh_is_six_instructions_around_the_temporary() {
    let c = conv(vec![
        C::stmt(code::LDX_B_MSH, 14),
        C::stmt(code::TXA, 0),
        C::stmt(code::RET_A, 0),
    ]);
    assert_body(
        &c,
        &[
            "r8 = r0",
            "r0 = *(u8 *)skb[14]",
            "w0 &= 15",
            "w0 <<= 2",
            "r7 = r0",
            "r0 = r8",
            "r0 = r7",
            "exit",
        ],
    );
}

#[test]
fn loads_stores_and_moves() {
    let c = conv(vec![
        C::stmt(code::LD_IMM, 0xffff_ffff),
        C::stmt(code::LDX_IMM, 3),
        C::stmt(code::ST, 0),
        C::stmt(code::STX, 15),
        C::stmt(code::LD_MEM, 15),
        C::stmt(code::LDX_MEM, 0),
        C::stmt(code::LD_W_LEN, 0),
        C::stmt(code::LDX_W_LEN, 0),
        C::stmt(code::TAX, 0),
        C::stmt(code::TXA, 0),
        C::stmt(code::LD_W_ABS, 2),
        C::stmt(code::LD_B_IND, 0xffff_fffe),
        C::stmt(code::LD_B_ABS, (skf::NET_OFF + 9) as u32),
        C::stmt(code::RET_A, 0),
    ]);
    assert_body(
        &c,
        &[
            "w0 = -1",
            "w7 = 3",
            "*(u32 *)(r10 -4) = r0",
            "*(u32 *)(r10 -64) = r7",
            "r0 = *(u32 *)(r10 -64)",
            "r7 = *(u32 *)(r10 -4)",
            "r0 = *(u32 *)(r6 +0)",
            "r7 = *(u32 *)(r6 +0)",
            "r7 = r0",
            "r0 = r7",
            "r0 = *(u32 *)skb[2]",
            "r0 = *(u8 *)skb[r7 - 2]",
            "r0 = *(u8 *)skb[-1048567]",
            "exit",
        ],
    );
}

#[test]
fn ret_forms() {
    assert_body(&conv(vec![ret(0xffff)]), &["w0 = 65535", "exit"]);
    assert_body(&conv(vec![C::stmt(code::RET_A, 0)]), &["exit"]);
}

#[test]
fn every_ancillary_field() {
    let ctx_load = |off: usize| format!("r0 = *(u32 *)(r6 +{off})");
    // Context offsets: len 0, mac 4, net 8, protocol 12, pkt_type 16,
    // dev_present 20, ifindex 24, hatype 28, mark 32, queue 36, rxhash 40,
    // cpu 44, vlan_tci 48, vlan_present 52, vlan_tpid 56.
    let single = [
        (ancillary::PROTOCOL, ctx_load(12)),
        (ancillary::PKTTYPE, ctx_load(16)),
        (ancillary::MARK, ctx_load(32)),
        (ancillary::QUEUE, ctx_load(36)),
        (ancillary::RXHASH, ctx_load(40)),
        (ancillary::VLAN_TAG, ctx_load(48)),
        (ancillary::VLAN_TAG_PRESENT, ctx_load(52)),
        (ancillary::VLAN_TPID, ctx_load(56)),
        (ancillary::ALU_XOR_X, "w0 ^= w7".to_string()),
    ];
    for size in [code::LD_W_ABS, code::LD_H_ABS, code::LD_B_ABS] {
        let k = |off: u32| (skf::AD_OFF as u32).wrapping_add(off);
        for (off, want) in &single {
            let c = conv(vec![C::stmt(size, k(*off)), C::stmt(code::RET_A, 0)]);
            assert_body(&c, &[want, "exit"]);
        }
        for (off, field) in [(ancillary::IFINDEX, 24), (ancillary::HATYPE, 28)] {
            let c = conv(vec![C::stmt(size, k(off)), C::stmt(code::RET_A, 0)]);
            assert_body(
                &c,
                &[
                    "r8 = *(u32 *)(r6 +20)",
                    "if r8 != 0x0 goto pc+2",
                    "w0 = 0",
                    "exit",
                    &ctx_load(field),
                    "exit",
                ],
            );
        }
        for (off, helper) in [
            (ancillary::NLATTR, "nlattr"),
            (ancillary::NLATTR_NEST, "nlattr_nest"),
            (ancillary::CPU, "cpu"),
        ] {
            let c = conv(vec![C::stmt(size, k(off)), C::stmt(code::RET_A, 0)]);
            let call = format!("call {helper}");
            assert_body(&c, &["r1 = r6", "w2 = w0", "w3 = w7", &call, "exit"]);
        }
    }
}

#[test]
fn pc_map_points_at_each_group() {
    let c = convert(&program(FPROG2)).expect("fprog2 converts");
    let classic = program(FPROG2);
    for (pc, insn) in classic.insns().iter().enumerate() {
        let first = c.insns[c.pc_map[pc]];
        match insn.code {
            code::LDX_B_MSH => assert_eq!(first.to_string(), "r8 = r0"),
            code::RET_K => assert_eq!(first.to_string(), format!("w0 = {}", insn.k)),
            code::ST => assert!(first.to_string().starts_with("*(u32 *)(r10")),
            _ => {}
        }
    }
    assert!(c.pc_map.windows(2).all(|w| w[0] < w[1]));
}
