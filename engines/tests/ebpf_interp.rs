//! Both eBPF interpreters (`ext`, `ext-switch`) on hand-written eBPF
//! programs: each case's expected value is worked out from the eBPF rules
//! (bpf-semantics.md §4 with Linux 5.x division), including the parts of the
//! instruction set the converter never emits.

use bpflab_engines::ebpf::insn::{class, end, helper, op, reg::*, size};
use bpflab_engines::ebpf::{DecodeError, ExtInterpreter, ExtSwitchInterpreter, Insn};
use bpflab_engines::{Device, Meta, Skb};

fn skb() -> Skb {
    let data: Vec<u8> = (0..64).map(|i| (i * 3 + 1) as u8).collect();
    let mut meta = Meta::for_frame(&data);
    meta.mark = 0x1122_3344;
    meta.cpu = 5;
    meta.dev = Some(Device {
        ifindex: 4,
        hatype: 24,
    });
    Skb::new(data, &meta)
}

/// Runs `body` (ending with `exit`) on both interpreters; they must agree.
fn run(body: &[Insn]) -> u32 {
    let mut prog = vec![Insn::alu64_reg(op::MOV, R6, R1)];
    prog.extend_from_slice(body);
    let ext = ExtInterpreter::new(&prog).expect("ext accepts the program");
    let switch = ExtSwitchInterpreter::new(&prog).expect("ext-switch accepts the program");
    let skb = skb();
    let (a, b) = (ext.run(&skb), switch.run(&skb));
    assert_eq!(a, b, "ext and ext-switch disagree on {body:?}");
    a
}

fn mov64(dst: u8, imm: i32) -> Insn {
    Insn::alu64_imm(op::MOV, dst, imm)
}

/// r0 = (r0 >> 32) after `body`: checks the upper half.
fn high(mut body: Vec<Insn>) -> u32 {
    body.push(Insn::alu64_imm(op::RSH, R0, 32));
    body.push(Insn::exit());
    run(&body)
}

#[test]
fn alu32_zero_extends_and_alu64_sign_extends_imm() {
    assert_eq!(
        high(vec![mov64(R0, -1), Insn::alu32_imm(op::ADD, R0, 0)]),
        0
    );
    assert_eq!(high(vec![mov64(R0, -1)]), u32::MAX);
    assert_eq!(high(vec![Insn::alu32_imm(op::MOV, R0, -1)]), 0);
    assert_eq!(
        high(vec![mov64(R0, 0), Insn::alu64_imm(op::SUB, R0, 1)]),
        u32::MAX
    );
    assert_eq!(
        high(vec![mov64(R1, -8), Insn::alu32_reg(op::MOV, R0, R1)]),
        0
    );
}

#[test]
fn arithmetic_32_and_64() {
    let cases: &[(&[Insn], u32)] = &[
        (&[mov64(R0, 7), Insn::alu32_imm(op::MUL, R0, 6)], 42),
        (
            &[mov64(R0, 7), Insn::alu32_imm(op::SUB, R0, 9)],
            (-2i32) as u32,
        ),
        (&[mov64(R0, 100), Insn::alu32_imm(op::DIV, R0, 7)], 14),
        (&[mov64(R0, 100), Insn::alu32_imm(op::MOD, R0, 7)], 2),
        (&[mov64(R0, 0xf0), Insn::alu32_imm(op::OR, R0, 0x0f)], 0xff),
        (&[mov64(R0, 0xf0), Insn::alu32_imm(op::AND, R0, 0x3c)], 0x30),
        (&[mov64(R0, 0xf0), Insn::alu32_imm(op::XOR, R0, 0xff)], 0x0f),
        (
            &[mov64(R0, 1), Insn::alu32_imm(op::LSH, R0, 31)],
            0x8000_0000,
        ),
        (
            &[mov64(R0, -16), Insn::alu32_imm(op::RSH, R0, 4)],
            0x0fff_ffff,
        ),
        (
            &[mov64(R0, -16), Insn::alu32_imm(op::ARSH, R0, 2)],
            (-4i32) as u32,
        ),
        (
            &[mov64(R0, -16), Insn::alu64_imm(op::ARSH, R0, 2)],
            (-4i32) as u32,
        ),
        (
            &[mov64(R0, 5), Insn::alu32_imm(op::NEG, R0, 0)],
            (-5i32) as u32,
        ),
        (
            &[mov64(R0, 5), Insn::alu64_imm(op::NEG, R0, 0)],
            (-5i32) as u32,
        ),
        (
            &[mov64(R0, 3), mov64(R2, 4), Insn::alu64_reg(op::MUL, R0, R2)],
            12,
        ),
        (&[mov64(R0, -1), Insn::alu64_imm(op::DIV, R0, 2)], u32::MAX),
        (
            &[mov64(R0, 9), mov64(R2, 4), Insn::alu64_reg(op::MOD, R0, R2)],
            1,
        ),
        (
            &[mov64(R0, 9), mov64(R2, 4), Insn::alu64_reg(op::XOR, R0, R2)],
            13,
        ),
        (
            &[mov64(R0, 9), mov64(R2, 4), Insn::alu64_reg(op::SUB, R0, R2)],
            5,
        ),
        (
            &[mov64(R0, 9), mov64(R2, 6), Insn::alu64_reg(op::AND, R0, R2)],
            0,
        ),
        (
            &[mov64(R0, 9), mov64(R2, 6), Insn::alu64_reg(op::OR, R0, R2)],
            15,
        ),
        (
            &[
                mov64(R0, -8),
                mov64(R2, 1),
                Insn::alu64_reg(op::ARSH, R0, R2),
            ],
            (-4i32) as u32,
        ),
        (
            &[
                mov64(R0, -8),
                mov64(R2, 1),
                Insn::alu64_reg(op::RSH, R0, R2),
            ],
            (-4i32) as u32,
        ),
        (
            &[
                mov64(R0, -8),
                mov64(R2, 1),
                Insn::alu32_reg(op::ARSH, R0, R2),
            ],
            (-4i32) as u32,
        ),
        (
            &[
                mov64(R0, -8),
                mov64(R2, 1),
                Insn::alu32_reg(op::RSH, R0, R2),
            ],
            0x7fff_fffc,
        ),
        (
            &[
                mov64(R0, 8),
                Insn::alu64_imm(op::AND, R0, 12),
                Insn::alu64_imm(op::OR, R0, 1),
            ],
            9,
        ),
        (
            &[
                mov64(R0, 8),
                Insn::alu64_imm(op::XOR, R0, 12),
                Insn::alu64_imm(op::MUL, R0, 3),
            ],
            12,
        ),
        (
            &[
                mov64(R0, 8),
                Insn::alu64_imm(op::RSH, R0, 2),
                Insn::alu64_imm(op::MOD, R0, 3),
            ],
            2,
        ),
    ];
    for (body, want) in cases {
        let mut body = body.to_vec();
        body.push(Insn::exit());
        assert_eq!(run(&body), *want, "{body:?}");
    }
    // 64-bit division sees the upper half: (2^32 + 4) / 2.
    let wide = vec![
        mov64(R0, 1),
        Insn::alu64_imm(op::LSH, R0, 32),
        Insn::alu64_imm(op::ADD, R0, 4),
        Insn::alu64_imm(op::DIV, R0, 2),
    ];
    assert_eq!(high(wide.clone()), 0);
    let mut low = wide;
    low.push(Insn::exit());
    assert_eq!(run(&low), 0x8000_0002);
}

#[test]
fn division_by_zero_gives_0_and_modulo_keeps_dst() {
    for class_op in [
        Insn::alu32_reg(op::DIV, R0, R2),
        Insn::alu64_reg(op::DIV, R0, R2),
        Insn::alu32_imm(op::DIV, R0, 0),
        Insn::alu64_imm(op::DIV, R0, 0),
    ] {
        assert_eq!(
            run(&[mov64(R0, 9), mov64(R2, 0), class_op, Insn::exit()]),
            0
        );
    }
    for class_op in [
        Insn::alu32_reg(op::MOD, R0, R2),
        Insn::alu64_reg(op::MOD, R0, R2),
        Insn::alu32_imm(op::MOD, R0, 0),
        Insn::alu64_imm(op::MOD, R0, 0),
    ] {
        assert_eq!(
            run(&[mov64(R0, 9), mov64(R2, 0), class_op, Insn::exit()]),
            9
        );
    }
    // 32-bit MOD by 0 still truncates dst to 32 bits.
    assert_eq!(
        high(vec![mov64(R0, -1), Insn::alu32_imm(op::MOD, R0, 0)]),
        0
    );
}

#[test]
fn shift_counts_are_masked_to_the_width() {
    let mut body = vec![
        mov64(R0, 1),
        mov64(R2, 33),
        Insn::alu32_reg(op::LSH, R0, R2),
    ];
    body.push(Insn::exit());
    assert_eq!(run(&body), 2);
    let body = vec![
        mov64(R0, 1),
        mov64(R2, 65),
        Insn::alu64_reg(op::LSH, R0, R2),
    ];
    assert_eq!(high(body.clone()), 0);
    let mut body = body;
    body.push(Insn::exit());
    assert_eq!(run(&body), 2);
}

#[test]
fn byte_swaps() {
    let swap = |to: u8, width: i32| Insn::new(class::ALU | op::END | to, R0, 0, 0, width);
    let load = [mov64(R0, 0x1234_5678)];
    let cases = [
        (swap(end::TO_BE, 16), 0x7856),
        (swap(end::TO_BE, 32), 0x7856_3412),
        (swap(end::TO_LE, 16), 0x5678),
        (swap(end::TO_LE, 32), 0x1234_5678),
        (swap(end::TO_LE, 64), 0x1234_5678),
    ];
    for (insn, want) in cases {
        let body = [load[0], insn, Insn::exit()];
        if cfg!(target_endian = "little") {
            assert_eq!(run(&body), want, "{insn}");
        }
    }
    if cfg!(target_endian = "little") {
        assert_eq!(high(vec![load[0], swap(end::TO_BE, 64)]), 0x7856_3412);
    }
}

#[test]
fn jumps_signed_and_unsigned() {
    // r0 = -1 (all ones); r2 = 1.
    let cond = |j: Insn| {
        let body = [
            mov64(R0, -1),
            mov64(R2, 1),
            j,
            Insn::alu32_imm(op::MOV, R0, 0),
            Insn::exit(),
            Insn::alu32_imm(op::MOV, R0, 1),
            Insn::exit(),
        ];
        run(&body)
    };
    let taken = [
        Insn::jmp_reg(op::JGT, R0, R2, 2),
        Insn::jmp_reg(op::JGE, R0, R2, 2),
        Insn::jmp_reg(op::JNE, R0, R2, 2),
        Insn::jmp_reg(op::JSLT, R0, R2, 2),
        Insn::jmp_reg(op::JSLE, R0, R2, 2),
        Insn::jmp_reg(op::JSET, R0, R2, 2),
        Insn::jmp_imm(op::JEQ, R0, -1, 2),
        Insn::jmp_imm(op::JSLT, R0, 0, 2),
        Insn::jmp_imm(op::JSGE, R0, -1, 2),
        Insn::jmp_imm(op::JLE, R0, -1, 2),
        Insn::jmp_imm(op::JGT, R0, 0x7fff_ffff, 2),
        Insn::ja(2),
    ];
    for j in taken {
        assert_eq!(cond(j), 1, "{j} should jump");
    }
    let not_taken = [
        Insn::jmp_reg(op::JLT, R0, R2, 2),
        Insn::jmp_reg(op::JLE, R0, R2, 2),
        Insn::jmp_reg(op::JEQ, R0, R2, 2),
        Insn::jmp_reg(op::JSGT, R0, R2, 2),
        Insn::jmp_reg(op::JSGE, R0, R2, 2),
        Insn::jmp_imm(op::JSGT, R0, -1, 2),
        Insn::jmp_imm(op::JLT, R0, -1, 2),
        Insn::jmp_imm(op::JSET, R0, 0, 2),
        Insn::jmp_imm(op::JEQ, R0, 0xffff, 0),
    ];
    for j in not_taken {
        assert_eq!(cond(j), 0, "{j} should fall through");
    }
}

#[test]
fn packet_loads_context_stack_and_helpers() {
    // Data byte i is i*3+1.
    let body = [Insn::ld_abs(size::H, 2), Insn::exit()];
    assert_eq!(run(&body), 0x070a);
    let body = [mov64(R7, 60), Insn::ld_ind(size::W, R7, 0), Insn::exit()];
    assert_eq!(run(&body), 0xb5b8_bbbe);
    // Out of range: the program returns 0 at once.
    let body = [
        mov64(R7, 61),
        Insn::ld_ind(size::W, R7, 0),
        mov64(R0, 9),
        Insn::exit(),
    ];
    assert_eq!(run(&body), 0);
    let body = [
        Insn::ldx_mem(size::W, R3, R6, 32),
        Insn::alu64_reg(op::MOV, R0, R3),
        Insn::exit(),
    ];
    assert_eq!(run(&body), 0x1122_3344, "mark");
    let body = [
        Insn::st_mem(size::W, R10, -512, 5),
        mov64(R2, 6),
        Insn::stx_mem(size::W, R10, R2, -4),
        Insn::ldx_mem(size::W, R0, R10, -512),
        Insn::ldx_mem(size::W, R3, R10, -4),
        Insn::alu64_reg(op::ADD, R0, R3),
        Insn::exit(),
    ];
    assert_eq!(run(&body), 11);
    let body = [Insn::call(helper::CPU), Insn::exit()];
    assert_eq!(run(&body), 5);
    let body = [
        mov64(R2, 0),
        mov64(R3, 1),
        Insn::call(helper::NLATTR),
        Insn::exit(),
    ];
    assert_eq!(run(&body), skb().nlattr(0, 1));
    let body = [
        mov64(R2, 4),
        mov64(R3, 1),
        Insn::call(helper::NLATTR_NEST),
        Insn::exit(),
    ];
    assert_eq!(run(&body), skb().nlattr_nest(4, 1));
    // Exit returns the low 32 bits of r0.
    assert_eq!(run(&[mov64(R0, -2), Insn::exit()]), u32::MAX - 1);
}

#[test]
fn both_interpreters_refuse_what_they_cannot_run() {
    let refused = [
        (vec![], DecodeError::Empty),
        (
            vec![Insn::ldx_mem(size::W, R0, R6, 0), Insn::exit()],
            DecodeError::ContextNotSet {
                pc: 0,
                insn: Insn::ldx_mem(size::W, R0, R6, 0),
            },
        ),
        (
            vec![Insn::ja(-1), Insn::exit()],
            DecodeError::BackwardJump {
                pc: 0,
                insn: Insn::ja(-1),
            },
        ),
    ];
    for (prog, err) in refused {
        assert_eq!(ExtInterpreter::new(&prog).map(|_| ()), Err(err.clone()));
        assert_eq!(
            ExtSwitchInterpreter::new(&prog).map(|_| ()),
            Err(err.clone())
        );
        assert!(!err.to_string().is_empty());
    }
    let msg = ExtInterpreter::new(&[Insn::ldx_mem(size::W, R0, R2, 0), Insn::exit()])
        .map(|_| ())
        .expect_err("r2 is not a memory base")
        .to_string();
    assert_eq!(
        msg,
        "eBPF instruction 0 (r0 = *(u32 *)(r2 +0)): memory is addressed through r6 (context) or r10 (stack) only"
    );
}

#[test]
#[cfg_attr(
    miri,
    ignore = "24,575 instructions: too slow for Miri, which does not model the native stack this checks"
)]
fn a_long_straight_program_runs_in_a_small_stack() {
    let mut prog = vec![Insn::alu64_reg(op::MOV, R6, R1)];
    prog.extend(std::iter::repeat_n(
        Insn::alu64_imm(op::ADD, R0, 1),
        100_000,
    ));
    prog.push(Insn::exit());
    let got = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let skb = skb();
            let ext = ExtInterpreter::new(&prog).map(|i| i.run(&skb));
            let switch = ExtSwitchInterpreter::new(&prog).map(|i| i.run(&skb));
            (ext, switch)
        })
        .expect("thread starts")
        .join()
        .expect("no stack overflow");
    assert_eq!(got, (Ok(100_000), Ok(100_000)));
}
