//! Every classic opcode on both JITs against the old interpreter: every ALU
//! and jump operation in K and X form over boundary values, every load size
//! at every boundary length, negative offsets in the header windows, every
//! ancillary field with and without a device, division by X == 0, scratch
//! memory, and jumps far enough to need rel32.

mod jit_common;

use bpflab_engines::classic::check;
use bpflab_engines::classic::insn::{Insn, ancillary, class, code, mode, op, size, skf, src};
use bpflab_engines::skb::{Device, Meta, Skb};
use jit_common::{Trio, jit_available};

/// Runs `prog` on every skb, all three engines; `None` when the checker
/// refuses the program (callers sweep values some of which are invalid).
fn run_all(prog: Vec<Insn>, skbs: &[Skb], name: &dyn Fn() -> String) -> Option<Vec<u32>> {
    let program = check(prog).ok()?;
    let trio = Trio::new(&program);
    Some(
        skbs.iter()
            .map(|skb| {
                trio.check(skb, &|| {
                    format!("{} on {} bytes {:02x?}", name(), skb.len(), skb.data())
                })
            })
            .collect(),
    )
}

/// Counting bytes `0x40 + i`: never 0, so a load is never mistaken for a
/// failure.
fn pat(n: usize) -> Vec<u8> {
    (0..n).map(|i| 0x40u8.wrapping_add(i as u8)).collect()
}

/// An 8-byte packet holding A then X, big-endian.
fn ax(a: u32, x: u32) -> Skb {
    let mut d = a.to_be_bytes().to_vec();
    d.extend(x.to_be_bytes());
    Skb::from_frame(d)
}

const VALUES: [u32; 14] = [
    0,
    1,
    2,
    3,
    7,
    16,
    31,
    32,
    33,
    0x7f,
    0x8000_0000,
    0x7fff_ffff,
    0xffff_ffff,
    0x1234_5678,
];

const ALU_OPS: [u16; 10] = op::ALU_WITH_OPERAND;

fn ld_w(k: u32) -> Insn {
    Insn::stmt(class::LD | size::W | mode::ABS, k)
}

#[test]
fn every_alu_operation_in_k_and_x_form() {
    if !jit_available() {
        return;
    }
    let pairs: Vec<Skb> = VALUES
        .iter()
        .flat_map(|&a| VALUES.iter().map(move |&x| ax(a, x)))
        .collect();
    for o in ALU_OPS {
        // A and X from the packet, `A op= X`.
        let prog = vec![
            ld_w(4),
            Insn::stmt(code::TAX, 0),
            ld_w(0),
            Insn::stmt(code::alu_x(o), 0),
            Insn::stmt(code::RET_A, 0),
        ];
        run_all(prog, &pairs, &|| format!("alu_x {o:#x}")).expect("valid");
        // `A op= k` for every k the checker accepts.
        let by_a: Vec<Skb> = VALUES.iter().map(|&a| ax(a, 0)).collect();
        for k in VALUES {
            let prog = vec![
                ld_w(0),
                Insn::stmt(code::alu_k(o), k),
                Insn::stmt(code::RET_A, 0),
            ];
            let ran = run_all(prog, &by_a, &|| format!("alu_k {o:#x} {k:#x}"));
            let invalid = matches!(o, op::DIV | op::MOD) && k == 0
                || matches!(o, op::LSH | op::RSH) && k >= 32;
            assert_eq!(ran.is_none(), invalid, "op {o:#x} k {k:#x}");
        }
    }
    let prog = vec![
        ld_w(0),
        Insn::stmt(code::NEG, 0),
        Insn::stmt(code::RET_A, 0),
    ];
    run_all(prog, &pairs, &|| "neg".into()).expect("valid");
}

#[test]
fn powers_of_two_divide_like_any_other_constant() {
    if !jit_available() {
        return;
    }
    let by_a: Vec<Skb> = VALUES.iter().map(|&a| ax(a, 0)).collect();
    for shift in 0..32 {
        for k in [1u32 << shift, (1u32 << shift).wrapping_add(1)] {
            for o in [op::DIV, op::MOD, op::MUL] {
                let prog = vec![
                    ld_w(0),
                    Insn::stmt(code::alu_k(o), k),
                    Insn::stmt(code::RET_A, 0),
                ];
                run_all(prog, &by_a, &|| format!("{o:#x} by {k:#x}")).expect("valid");
            }
        }
    }
}

#[test]
fn division_and_modulo_by_x_zero_return_zero() {
    if !jit_available() {
        return;
    }
    for o in [op::DIV, op::MOD] {
        let prog = vec![
            ld_w(4),
            Insn::stmt(code::TAX, 0),
            ld_w(0),
            Insn::stmt(code::alu_x(o), 0),
            Insn::stmt(code::RET_K, 0xfeed),
        ];
        let got = run_all(prog, &[ax(100, 0), ax(100, 7), ax(0, 0)], &|| {
            format!("{o:#x} by x")
        })
        .expect("valid");
        assert_eq!(got, [0, 0xfeed, 0]);
    }
}

#[test]
fn every_jump_in_k_and_x_form() {
    if !jit_available() {
        return;
    }
    let pairs: Vec<Skb> = VALUES
        .iter()
        .flat_map(|&a| VALUES.iter().map(move |&x| ax(a, x)))
        .collect();
    for o in [op::JEQ, op::JGT, op::JGE, op::JSET] {
        for (jt, jf) in [(0, 0), (0, 1), (1, 0), (1, 2), (2, 1), (2, 2)] {
            let tail = [
                Insn::stmt(code::RET_K, 10),
                Insn::stmt(code::RET_K, 11),
                Insn::stmt(code::RET_K, 12),
            ];
            let mut prog = vec![
                ld_w(4),
                Insn::stmt(code::TAX, 0),
                ld_w(0),
                Insn::jump(class::JMP | o | src::X, 0, jt, jf),
            ];
            prog.extend(tail);
            run_all(prog, &pairs, &|| format!("jmp_x {o:#x} {jt}/{jf}")).expect("valid");
            for k in VALUES {
                let mut prog = vec![ld_w(0), Insn::jump(class::JMP | o | src::K, k, jt, jf)];
                prog.extend(tail);
                run_all(prog, &pairs, &|| format!("jmp_k {o:#x} {k:#x} {jt}/{jf}")).expect("valid");
            }
        }
    }
}

#[test]
fn jumps_of_every_length_up_to_rel32() {
    if !jit_available() {
        return;
    }
    let skbs = [ax(0, 0), ax(1, 0), ax(5, 0)];
    for gap in (0..70).chain([100, 200, 255]) {
        // jeq #1 jumps over `gap` additions (3 bytes each); ja jumps too.
        let mut prog = vec![
            ld_w(0),
            Insn::jump(code::JEQ_K, 1, gap as u8, 0),
            Insn::stmt(code::JA, gap + 1),
        ];
        prog.extend((0..gap).map(|i| Insn::stmt(code::alu_k(op::ADD), i)));
        prog.push(Insn::stmt(code::RET_K, 77));
        prog.push(Insn::stmt(code::RET_A, 0));
        run_all(prog, &skbs, &|| format!("gap {gap}")).expect("valid");
    }
    // A jump across code far bigger than rel8 reach, in both JITs.
    let mut prog = vec![ld_w(0), Insn::stmt(code::JA, 3000)];
    prog.extend((0..3000).map(|_| Insn::stmt(code::alu_k(op::MUL), 1000)));
    prog.push(Insn::stmt(code::RET_A, 0));
    let got = run_all(prog, &skbs, &|| "long ja".into()).expect("valid");
    assert_eq!(got, [0, 1, 5]);
}

#[test]
fn loads_of_every_size_at_every_boundary() {
    if !jit_available() {
        return;
    }
    let skbs: Vec<Skb> = (0..=12)
        .chain([40, 255, 256])
        .map(|n| Skb::from_frame(pat(n)))
        .collect();
    let ks: Vec<u32> = (0..=14)
        .chain([250, 251, 252, 253, 254, 255, 256, 257])
        .chain([
            0x7fff_fff9,
            0x7fff_fffb,
            0x7fff_fffc,
            0x7fff_fffd,
            0x7fff_ffff,
        ])
        .chain([0x8000_0000, 0xffff_fffc, 0xffff_ffff])
        .collect();
    for sz in [size::W, size::H, size::B] {
        for &k in &ks {
            let abs = vec![
                Insn::stmt(class::LD | sz | mode::ABS, k),
                Insn::stmt(code::RET_A, 0),
            ];
            // k in the ancillary window is a (refused or field) load: skip.
            run_all(abs, &skbs, &|| format!("ld{sz:#x} [{k:#x}]"));
            for xv in [
                0u32,
                1,
                3,
                0xffff_ffff,
                0xffff_fffe,
                0x8000_0000,
                0x7fff_ffff,
            ] {
                let ind = vec![
                    Insn::stmt(code::LDX_IMM, xv),
                    Insn::stmt(class::LD | sz | mode::IND, k),
                    Insn::stmt(code::RET_A, 0),
                ];
                run_all(ind, &skbs, &|| format!("ld{sz:#x} [x={xv:#x} + {k:#x}]")).expect("valid");
            }
        }
    }
    for &k in &ks {
        let msh = vec![
            Insn::stmt(code::LDX_B_MSH, k),
            Insn::stmt(code::TXA, 0),
            Insn::stmt(code::RET_A, 0),
        ];
        run_all(msh, &skbs, &|| format!("msh [{k:#x}]")).expect("valid");
    }
    for ins in [code::LD_W_LEN, code::LDX_W_LEN] {
        let prog = vec![
            Insn::stmt(ins, 0),
            Insn::stmt(code::TXA, 0),
            Insn::stmt(code::RET_A, 0),
        ];
        run_all(prog, &skbs, &|| format!("len {ins:#x}")).expect("valid");
    }
}

#[test]
fn negative_offsets_in_the_header_windows() {
    if !jit_available() {
        return;
    }
    let mut skbs = Vec::new();
    for len in [0usize, 1, 13, 14, 15, 20, 34] {
        for (mac, net) in [(0, 14), (0, 0), (2, 16), (len as u32, len as u32), (0, 40)] {
            let mut meta = Meta::for_frame(&pat(len));
            meta.mac_header = mac;
            meta.network_header = net;
            skbs.push(Skb::new(pat(len), &meta));
        }
    }
    let bases = [skf::NET_OFF, skf::LL_OFF];
    let mut ks: Vec<u32> = Vec::new();
    for base in bases {
        for d in (-2i32..=22).chain([0x1000, 0xf_fff0]) {
            ks.push(base.wrapping_add(d) as u32);
        }
    }
    ks.extend([
        (skf::LL_OFF - 1) as u32,
        (skf::AD_OFF - 1) as u32,
        -1i32 as u32,
    ]);
    for sz in [size::W, size::H, size::B] {
        for &k in &ks {
            let abs = vec![
                Insn::stmt(class::LD | sz | mode::ABS, k),
                Insn::stmt(code::RET_A, 0),
            ];
            // In the ancillary window the checker refuses unknown fields.
            let ran = run_all(abs, &skbs, &|| format!("ld{sz:#x} [{}]", k as i32));
            assert!(ran.is_some() || k >= skf::AD_OFF as u32);
            // The same window through X: X = k - 4, then [x + 4].
            let ind = vec![
                Insn::stmt(code::LDX_IMM, k.wrapping_sub(4)),
                Insn::stmt(class::LD | sz | mode::IND, 4),
                Insn::stmt(code::RET_A, 0),
            ];
            run_all(ind, &skbs, &|| format!("ld{sz:#x} [x + 4 = {}]", k as i32)).expect("valid");
        }
    }
    for &k in &ks {
        let msh = vec![
            Insn::stmt(code::LDX_B_MSH, k),
            Insn::stmt(code::TXA, 0),
            Insn::stmt(code::RET_A, 0),
        ];
        run_all(msh, &skbs, &|| format!("msh [{}]", k as i32)).expect("valid");
    }
}

use bpflab_engines::fuzz::packet::nla;

#[test]
fn every_ancillary_field_with_and_without_a_device() {
    if !jit_available() {
        return;
    }
    let mut data = vec![0xaa; 4];
    data.extend(nla(1, &[1, 2, 3]));
    data.extend(nla(2, &[]));
    data.extend(nla(3 | 0x8000, &[nla(5, &[9]), nla(6, &[])].concat()));
    let mut skbs = Vec::new();
    for dev in [
        None,
        Some(Device::default()),
        Some(Device {
            ifindex: 0xffff_ffff,
            hatype: 0xffff,
        }),
    ] {
        for frame in [data.clone(), vec![], pat(20)] {
            let mut meta = Meta::for_frame(&frame);
            meta.dev = dev;
            meta.protocol = 0x86dd;
            meta.pkt_type = 7;
            meta.mark = 0x8000_0001;
            meta.queue_mapping = 0xffff;
            meta.rxhash = 0xdead_beef;
            meta.cpu = 5;
            meta.vlan_tci = 0xf123;
            meta.vlan_present = true;
            meta.vlan_tpid = 0x88a8;
            skbs.push(Skb::new(frame.clone(), &meta));
            skbs.push(Skb::new(frame, &Meta::for_frame(&[])));
        }
    }
    let fields = (0..ancillary::MAX).step_by(4);
    let mut compiled = 0;
    for field in fields {
        for sz in [size::W, size::H, size::B] {
            for (a, x) in [
                (4u32, 1u32),
                (4, 3),
                (16, 6),
                (16, 5),
                (0, 0),
                (0xffff_fff0, 2),
            ] {
                let prog = vec![
                    Insn::stmt(code::LDX_IMM, x),
                    Insn::stmt(code::LD_IMM, a),
                    Insn::stmt(class::LD | sz | mode::ABS, (skf::AD_OFF as u32) + field),
                    Insn::stmt(code::RET_A, 0),
                ];
                if run_all(prog, &skbs, &|| {
                    format!("ancillary {field} size {sz:#x} a {a} x {x}")
                })
                .is_some()
                {
                    compiled += 1;
                }
            }
        }
    }
    // Every field but PAY_OFFSET and RANDOM, at 3 sizes and 6 A/X pairs.
    assert_eq!(compiled, 14 * 3 * 6);
}

#[test]
fn scratch_memory_and_register_moves() {
    if !jit_available() {
        return;
    }
    let mut prog = Vec::new();
    for k in 0..16 {
        prog.push(Insn::stmt(code::LD_IMM, 0x100 + k));
        prog.push(Insn::stmt(code::ST, k));
        prog.push(Insn::stmt(code::LDX_IMM, 0x200 + k));
        prog.push(Insn::stmt(code::STX, 15 - k));
    }
    // Every slot read back through both registers; A ends as M[15].
    prog.push(Insn::stmt(code::LD_IMM, 0));
    for k in 0..16 {
        prog.push(Insn::stmt(code::LDX_MEM, k));
        prog.push(Insn::stmt(code::alu_x(op::ADD), 0));
        prog.push(Insn::stmt(code::LD_MEM, k));
        prog.push(Insn::stmt(code::TAX, 0));
        prog.push(Insn::stmt(code::TXA, 0));
    }
    prog.push(Insn::stmt(code::RET_A, 0));
    let got = run_all(prog, &[Skb::from_frame(vec![])], &|| "scratch".into()).expect("valid");
    assert_eq!(got, [0x10f], "M[15] was last written by st at k = 15");
    let prog = vec![Insn::stmt(code::RET_K, 0xffff_ffff)];
    let got = run_all(prog, &[Skb::from_frame(vec![])], &|| "ret".into()).expect("valid");
    assert_eq!(got, [0xffff_ffff]);
    let prog = vec![Insn::stmt(code::RET_A, 0)];
    let got = run_all(prog, &[Skb::from_frame(vec![])], &|| "ret a".into()).expect("valid");
    assert_eq!(got, [0], "A starts at 0");
    let prog = vec![Insn::stmt(code::TXA, 0), Insn::stmt(code::RET_A, 0)];
    let got = run_all(prog, &[Skb::from_frame(vec![])], &|| "txa".into()).expect("valid");
    assert_eq!(got, [0], "X starts at 0");
}
