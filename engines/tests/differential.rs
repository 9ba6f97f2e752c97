//! The bounded differential run: what `bpflab fuzz` does, with a fixed seed
//! and a fixed number of programs, so that `cargo test` always runs the
//! same cases. Every available engine must return what the old
//! interpreter returns on every packet (each packet ends at a guard page,
//! so a read past it faults), and the generator must keep covering what it
//! is biased to.

mod common;

use bpflab_engines::classic::check;
use bpflab_engines::classic::insn::{class, code, mode, op};
use bpflab_engines::fuzz::{Case, Differential};

/// The run's seed and size: about 8 s in a debug build on a 2-core VM.
/// Under Miri (`scripts/miri`), the first programs of the same run on the
/// interpreters only: Miri is some 10,000 times slower.
const SEED: u64 = 0x5eed_0009;
const PROGRAMS: u64 = if cfg!(miri) { 12 } else { 5000 };

#[test]
fn every_engine_agrees_with_old_on_generated_programs() {
    let differential = Differential::with_engines(common::engines_under_test());
    let mut findings = Vec::new();
    let mut longest = 0;
    let mut packets = 0;
    for index in 0..PROGRAMS {
        let case = Case::nth(SEED, index);
        let program = check(case.insns.clone()).unwrap_or_else(|e| {
            panic!("case #{index}: the generator made an invalid program: {e}")
        });
        longest = longest.max(case.insns.len());
        packets += case.packets.len();
        let outcome = differential.check(&program, &case.skbs());
        findings.extend(
            outcome
                .findings
                .iter()
                .map(|f| format!("case #{index}: {f}\n{case:?}")),
        );
    }
    assert!(
        findings.is_empty(),
        "{} findings, the first:\n{}",
        findings.len(),
        findings[0]
    );
    if !cfg!(miri) {
        assert!(longest > 1000, "long programs are generated ({longest})");
    }
    assert!(packets as u64 >= PROGRAMS * 8);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "the generator's coverage: safe code, too slow for Miri"
)]
fn the_generator_reaches_what_it_is_biased_to() {
    let (mut div_x, mut ind, mut negative, mut scratch, mut ancillary, mut ja) = (0, 0, 0, 0, 0, 0);
    let mut lengths = std::collections::BTreeSet::new();
    for index in 0..300 {
        let case = Case::nth(SEED, index);
        lengths.extend(case.packets.iter().map(|(d, _)| d.len()));
        for i in &case.insns {
            match i.code {
                c if c == code::alu_x(op::DIV) || c == code::alu_x(op::MOD) => div_x += 1,
                code::LD_MEM | code::LDX_MEM => scratch += 1,
                code::JA => ja += 1,
                c if c & class::MASK == class::LD && c & 0xe0 == mode::IND => ind += 1,
                c if c & class::MASK == class::LD && c & 0xe0 == mode::ABS => {
                    if i.k >= 0xffff_f000 {
                        ancillary += 1;
                    } else if (i.k as i32) < 0 {
                        negative += 1;
                    }
                }
                _ => {}
            }
        }
    }
    for (what, n) in [
        ("DIV/MOD by X", div_x),
        ("IND loads", ind),
        ("negative offsets", negative),
        ("scratch loads", scratch),
        ("ancillary loads", ancillary),
        ("JA", ja),
    ] {
        assert!(n >= 20, "{what}: only {n}");
    }
    assert!(lengths.contains(&0), "empty packets");
    assert!(lengths.iter().any(|&l| l >= 1496), "MTU-size packets");
    assert!(lengths.iter().any(|&l| l >= 65531), "64 KiB packets");
}
