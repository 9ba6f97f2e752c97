//! Random valid classic programs (the shared generator in `common/gen.rs`)
//! on random packets and metadata: both JITs must return what the old
//! interpreter returns, every time.

mod common;
mod jit_common;

use bpflab_engines::classic::check;
use common::generator::{self, GenCase};
use jit_common::{Trio, jit_available};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

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

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 4000,
        rng_seed: RngSeed::Fixed(0x6a17_5eed),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_programs_agree_with_old(case in generator::case()) {
        if jit_available() {
            differential(&case)?;
        }
    }

    #[test]
    fn long_random_programs_agree_with_old(case in generator::case_with(300)) {
        if jit_available() {
            differential(&case)?;
        }
    }
}
