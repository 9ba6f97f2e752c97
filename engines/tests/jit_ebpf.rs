//! ext-jit on eBPF beyond what the converter emits: every ALU and ALU64
//! operation, byte swap and 64-bit jump over 64-bit boundary values, with
//! destination and source in the registers x86 treats specially (rax, rdx,
//! rcx), against the `ext` interpreter; calls and packet loads keeping
//! R1-R5; and the programs the JIT must refuse.

mod jit_common;

use bpflab_engines::ebpf::ExtInterpreter;
use bpflab_engines::ebpf::insn::{Insn, end, helper, op, reg::*, size};
use bpflab_engines::jit::{EbpfJit, JitError, Reject};
use bpflab_engines::skb::Skb;
use jit_common::jit_available;

const VALUES: [u64; 12] = [
    0,
    1,
    2,
    31,
    63,
    64,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0001,
    0x8000_0000_0000_0000,
    0xfedc_ba98_7654_3210,
];

const IMMS: [i32; 8] = [0, 1, -1, 31, 32, 63, 0x7fff_ffff, i32::MIN];

/// (dst, src) pairs, chosen for x86: DIV uses rax:rdx, shifts use cl.
const PAIRS: [(u8, u8); 9] = [
    (R0, R3),
    (R3, R0),
    (R4, R0),
    (R0, R4),
    (R2, R4),
    (R4, R4),
    (R0, R0),
    (R5, R2),
    (R1, R9),
];

/// Packets holding two 64-bit values, big-endian.
fn packets() -> Vec<Skb> {
    VALUES
        .iter()
        .flat_map(|&a| {
            VALUES.iter().map(move |&b| {
                let mut d = a.to_be_bytes().to_vec();
                d.extend(b.to_be_bytes());
                Skb::from_frame(d)
            })
        })
        .collect()
}

/// `dst = packet[0..8]`, `src = packet[8..16]` as 64-bit values (R7 and
/// R8 are the scratch), after the context rule's `r6 = r1`.
fn load_pair(dst: u8, src: u8) -> Vec<Insn> {
    let mut p = vec![Insn::alu64_reg(op::MOV, R6, R1)];
    for (r, off) in [(R7, 0), (R8, 8)] {
        p.extend([
            Insn::ld_abs(size::W, off),
            Insn::alu64_reg(op::MOV, r, R0),
            Insn::alu64_imm(op::LSH, r, 32),
            Insn::ld_abs(size::W, off + 4),
            Insn::alu64_reg(op::OR, r, R0),
        ]);
    }
    p.push(Insn::alu64_reg(op::MOV, dst, R7));
    if src != dst {
        p.push(Insn::alu64_reg(op::MOV, src, R8));
    }
    p
}

/// Both engines on every packet (the JIT on a copy before a guard page);
/// `None` when the interpreter refuses.
fn compare(insns: &[Insn], skbs: &[Skb], what: &dyn Fn() -> String) -> Option<()> {
    let interp = ExtInterpreter::new(insns).ok()?;
    let jit = EbpfJit::compile_insns(insns)
        .unwrap_or_else(|e| panic!("ext-jit refused what ext runs: {e}: {}", what()));
    for skb in skbs {
        let guarded = skb.guarded_copy().expect("a guarded copy maps");
        let (want, got) = (interp.run(skb), jit.run(&guarded));
        assert_eq!(got, want, "{} on {:02x?}", what(), skb.data());
    }
    Some(())
}

/// `tail` run after `op`: R0 = the low or high half of `dst`.
fn result_of(dst: u8, high: bool) -> Vec<Insn> {
    let mut p = vec![Insn::alu64_reg(op::MOV, R0, dst)];
    if high {
        p.push(Insn::alu64_imm(op::RSH, R0, 32));
    }
    p.push(Insn::exit());
    p
}

#[test]
fn every_alu_operation_over_64_bit_values() {
    if !jit_available() {
        return;
    }
    let skbs = packets();
    let ops = [
        op::ADD,
        op::SUB,
        op::MUL,
        op::DIV,
        op::OR,
        op::AND,
        op::LSH,
        op::RSH,
        op::NEG,
        op::MOD,
        op::XOR,
        op::MOV,
        op::ARSH,
    ];
    let mut ran = 0;
    for o in ops {
        for wide in [false, true] {
            for (dst, src) in PAIRS {
                let mut forms: Vec<Insn> = Vec::new();
                if o != op::NEG {
                    forms.push(if wide {
                        Insn::alu64_reg(o, dst, src)
                    } else {
                        Insn::alu32_reg(o, dst, src)
                    });
                }
                for imm in IMMS {
                    forms.push(if wide {
                        Insn::alu64_imm(o, dst, imm)
                    } else {
                        Insn::alu32_imm(o, dst, imm)
                    });
                }
                for insn in forms {
                    for high in [false, true] {
                        let mut p = load_pair(dst, src);
                        p.push(insn);
                        p.extend(result_of(dst, high));
                        let what = || format!("{insn:?} (high half: {high})");
                        compare(&p, &skbs, &what).expect("ext runs it");
                        ran += 1;
                    }
                }
            }
        }
    }
    assert!(ran > 2000);
}

#[test]
fn byte_swaps() {
    if !jit_available() {
        return;
    }
    let skbs = packets();
    for dir in [end::TO_LE, end::TO_BE] {
        for width in [16, 32, 64] {
            for dst in [R0, R3, R9] {
                let swap = Insn::new(0xd4 | dir, dst, 0, 0, width);
                for high in [false, true] {
                    let mut p = load_pair(dst, dst);
                    p.push(swap);
                    p.extend(result_of(dst, high));
                    compare(&p, &skbs, &|| format!("{swap:?} high {high}")).expect("ext runs it");
                }
            }
        }
    }
}

#[test]
fn every_jump_over_64_bit_values() {
    if !jit_available() {
        return;
    }
    let skbs = packets();
    let ops = [
        op::JEQ,
        op::JGT,
        op::JGE,
        op::JSET,
        op::JNE,
        op::JSGT,
        op::JSGE,
        op::JLT,
        op::JLE,
        op::JSLT,
        op::JSLE,
    ];
    for o in ops {
        for (dst, src) in [(R0, R3), (R9, R2), (R4, R4)] {
            let mut forms = vec![Insn::jmp_reg(o, dst, src, 2)];
            forms.extend(IMMS.iter().map(|&imm| Insn::jmp_imm(o, dst, imm, 2)));
            for jmp in forms {
                let mut p = load_pair(dst, src);
                p.extend([
                    jmp,
                    Insn::alu32_imm(op::MOV, R0, 1),
                    Insn::exit(),
                    Insn::alu32_imm(op::MOV, R0, 2),
                    Insn::exit(),
                ]);
                compare(&p, &skbs, &|| format!("{jmp:?}")).expect("ext runs it");
            }
        }
    }
}

#[test]
fn calls_and_packet_loads_keep_r1_to_r5() {
    if !jit_available() {
        return;
    }
    let mut data = vec![0u8; 4];
    data.extend([8, 0, 1, 0, 0xaa, 0xbb, 0xcc, 0xdd]);
    let skbs = [
        Skb::from_frame(data),
        Skb::from_frame(vec![1, 2, 3]),
        Skb::from_frame(vec![]),
    ];
    for call in [helper::NLATTR, helper::NLATTR_NEST, helper::CPU] {
        let mut p = vec![Insn::alu64_reg(op::MOV, R6, R1)];
        for (r, v) in [(R2, 4), (R3, 1), (R4, 40), (R5, 500), (R9, 9000)] {
            p.push(Insn::alu64_imm(op::MOV, r, v));
        }
        p.extend([
            Insn::call(call),
            Insn::alu64_reg(op::ADD, R0, R2),
            Insn::alu64_reg(op::ADD, R0, R3),
            Insn::ld_abs(size::B, 100),
            Insn::alu64_reg(op::ADD, R0, R4),
            Insn::ld_ind(size::B, R0, 0),
            Insn::alu64_reg(op::ADD, R0, R5),
            Insn::alu64_reg(op::ADD, R0, R9),
            Insn::exit(),
        ]);
        compare(&p, &skbs, &|| format!("helper {call}")).expect("ext runs it");
    }
}

#[test]
fn the_stack_through_r10() {
    if !jit_available() {
        return;
    }
    let mut p = vec![Insn::alu64_reg(op::MOV, R6, R1)];
    for slot in 1..=128i16 {
        p.push(Insn::st_mem(size::W, R10, -4 * slot, i32::from(slot) * 3));
    }
    p.push(Insn::alu32_imm(op::MOV, R0, 0));
    for slot in (1..=128i16).step_by(7) {
        p.push(Insn::ldx_mem(size::W, R2, R10, -4 * slot));
        p.push(Insn::alu64_reg(op::ADD, R0, R2));
        p.push(Insn::stx_mem(size::W, R10, R0, -4 * slot));
    }
    p.push(Insn::ldx_mem(size::W, R0, R10, -512));
    p.push(Insn::exit());
    compare(&p, &[Skb::from_frame(vec![])], &|| "stack".into()).expect("ext runs it");
}

#[test]
fn programs_the_jit_must_refuse() {
    if !jit_available() {
        return;
    }
    let refused = |p: &[Insn]| EbpfJit::compile_insns(p).expect_err("must be refused");
    let leak = [Insn::alu64_reg(op::MOV, R0, R1), Insn::exit()];
    assert_eq!(
        refused(&leak),
        JitError::Rejected {
            pc: 1,
            reason: Reject::PointerAsNumber(R0)
        }
    );
    let uninit = [Insn::alu64_reg(op::ADD, R0, R2), Insn::exit()];
    assert!(matches!(
        refused(&uninit),
        JitError::Rejected {
            pc: 0,
            reason: Reject::Uninitialized(R0)
        }
    ));
    let wild = [
        Insn::alu32_imm(op::MOV, R2, 0x1000),
        Insn::ldx_mem(size::W, R0, R2, 0),
        Insn::exit(),
    ];
    assert!(matches!(
        refused(&wild),
        JitError::Rejected {
            pc: 1,
            reason: Reject::NotAPointer(R2)
        }
    ));
    let imm64 = [
        Insn::new(0x18, R0, 0, 0, 1),
        Insn::new(0, 0, 0, 0, 0),
        Insn::exit(),
    ];
    let e = refused(&imm64);
    assert!(matches!(e, JitError::Unsupported { pc: 0, .. }), "{e}");
    assert!(e.to_string().contains("instruction 0"));
    let looping = [Insn::alu32_imm(op::MOV, R0, 0), Insn::ja(-2), Insn::exit()];
    assert_eq!(
        refused(&looping).to_string(),
        "eBPF instruction 1: jumps backwards (loops are not compiled)"
    );
    assert!(matches!(
        refused(&[]),
        JitError::Rejected {
            reason: Reject::FallsOffEnd,
            ..
        }
    ));
}
