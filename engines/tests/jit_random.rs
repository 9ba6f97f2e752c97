//! Random valid classic programs (the shared generator in `common/gen.rs`)
//! on random packets and metadata: both JITs must return what the old
//! interpreter returns, every time.

mod common;
mod jit_common;

use bpflab_engines::classic::check;
use common::generator::{self, GenCase};
use jit_common::{Trio, jit_available};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};

fn differential(case: &GenCase) -> Result<(), TestCaseError> {
    let program = check(case.insns.clone())
        .map_err(|e| TestCaseError::fail(format!("the generator made an invalid program: {e}")))?;
    let trio = Trio::new(&program);
    for skb in case.skbs() {
        let want = trio.old.run(&skb);
        prop_assert_eq!(trio.classic.run(&skb), want, "old-jit vs old");
        prop_assert_eq!(trio.ebpf.run(&skb), want, "ext-jit vs old");
    }
    Ok(())
}

/// Runs `cases` generated cases of at most `max_steps + 1` instructions.
fn run(cases: u32, max_steps: usize, seed: u64) {
    // Checked before generating anything: without a JIT there is nothing
    // to compare, and generation alone is slow under emulation.
    if !jit_available() {
        return;
    }
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&generator::case_with(max_steps), |case| differential(&case)) {
        panic!("{e}");
    }
}

#[test]
fn random_programs_agree_with_old() {
    run(4000, 47, 0x6a17_5eed);
}

#[test]
fn long_random_programs_agree_with_old() {
    run(500, 300, 0x6a17_10e9);
}
