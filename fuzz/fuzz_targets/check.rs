//! The checker on arbitrary instruction arrays: never a panic, and every
//! program it accepts obeys the rules, restated here independently of the
//! checker's code: 1 to 4096 instructions ending in RET, known opcodes
//! only, jumps inside the program, no division by a constant 0, constant
//! shifts below 32, scratch slots below 16 and read only where every path
//! wrote them, and only the ancillary fields bpflab supports. An accepted
//! program must also convert to eBPF and attach to the interpreters.
#![no_main]

use bpflab_engines::classic::{Insn, check};
use bpflab_engines::fuzz::bytes;
use bpflab_engines::{Engine, Filter};
use libfuzzer_sys::fuzz_target;

/// Every classic opcode Linux accepts.
const OPCODES: &[u16] = &[
    0x00, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x60, 0x80, // LD
    0x01, 0x61, 0x81, 0xb1, // LDX
    0x02, 0x03, // ST, STX
    0x04, 0x14, 0x24, 0x34, 0x44, 0x54, 0x64, 0x74, 0x94, 0xa4, // ALU K
    0x0c, 0x1c, 0x2c, 0x3c, 0x4c, 0x5c, 0x6c, 0x7c, 0x9c, 0xac, // ALU X
    0x84, // NEG
    0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d, // JMP
    0x06, 0x16, // RET K, RET A
    0x07, 0x87, // TAX, TXA
];

/// `SKF_AD_OFF` and the ancillary fields bpflab supports (all but
/// PAY_OFFSET, 52, and RANDOM, 56).
const AD_OFF: u32 = 0xffff_f000;
const FIELDS: &[u32] = &[0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 60];

fuzz_target!(|data: &[u8]| {
    let (insns, _, _) = bytes::split(data);
    let Ok(program) = check(insns.clone()) else {
        return;
    };
    obeys_the_rules(&insns);
    for engine in [Engine::Ext, Engine::ExtSwitch] {
        if let Err(e) = Filter::attach(program.clone(), engine) {
            panic!("{engine} refuses a checked program: {e}");
        }
    }
});

fn obeys_the_rules(insns: &[Insn]) {
    let n = insns.len();
    assert!((1..=4096).contains(&n), "length {n}");
    assert!(matches!(insns[n - 1].code, 0x06 | 0x16), "ends in RET");
    // Scratch slots written on every path into each instruction (jumps
    // only go forward, so one pass in order sees every predecessor).
    let mut written_in = vec![u16::MAX; n + 1];
    written_in[0] = 0;
    for (pc, i) in insns.iter().enumerate() {
        assert!(OPCODES.contains(&i.code), "#{pc}: opcode {:#x}", i.code);
        let mut written = written_in[pc];
        let mut next = vec![pc + 1];
        match i.code {
            0x34 | 0x94 => assert_ne!(i.k, 0, "#{pc}: division by constant 0"),
            0x64 | 0x74 => assert!(i.k < 32, "#{pc}: shift by {}", i.k),
            0x60 | 0x61 => {
                assert!(i.k < 16, "#{pc}: M[{}]", i.k);
                assert!(
                    written & (1 << i.k) != 0,
                    "#{pc}: M[{}] read unwritten",
                    i.k
                );
            }
            0x02 | 0x03 => {
                assert!(i.k < 16, "#{pc}: M[{}]", i.k);
                written |= 1 << i.k;
            }
            0x20 | 0x28 | 0x30 if i.k >= AD_OFF => {
                assert!(
                    FIELDS.contains(&(i.k - AD_OFF)),
                    "#{pc}: ancillary {:#x}",
                    i.k
                );
            }
            0x05 => next = vec![pc + 1 + i.k as usize],
            0x06 | 0x16 => next = vec![],
            c if c & 7 == 5 => next = vec![pc + 1 + usize::from(i.jt), pc + 1 + usize::from(i.jf)],
            _ => {}
        }
        for target in next {
            assert!(target < n, "#{pc}: jump to {target} of {n}");
            written_in[target] &= written;
        }
    }
}
