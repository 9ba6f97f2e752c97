//! proptest strategies over the library's generator
//! (`bpflab_engines::fuzz`): programs from shrinkable [`Step`] lists,
//! packets and metadata from a seed.

use bpflab_engines::classic::Insn;
use bpflab_engines::classic::insn::code;
use bpflab_engines::fuzz::{Step, build_program, packet::packet};
use proptest::collection::vec;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

pub use bpflab_engines::fuzz::Case as GenCase;

/// One instruction's raw choices.
pub fn step() -> impl Strategy<Value = Step> {
    (
        any::<u8>(),
        any::<u32>(),
        any::<u32>(),
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(|(kind, a, b, c, d)| Step { kind, a, b, c, d })
}

/// A generated case: a nominal packet length, a valid program of up to
/// `max_steps + 1` instructions whose offsets aim around that length, and
/// one to three packets of about that length.
pub fn case_with(max_steps: usize) -> impl Strategy<Value = GenCase> {
    (
        0u32..=48,
        vec(step(), 0..=max_steps),
        any::<bool>(),
        any::<u32>(),
        1usize..=3,
        any::<u64>(),
    )
        .prop_map(|(nominal, steps, ret_a, k, count, seed)| {
            let last = if ret_a {
                Insn::stmt(code::RET_A, 0)
            } else {
                Insn::stmt(code::RET_K, k)
            };
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            GenCase {
                insns: build_program(nominal, &steps, last),
                packets: (0..count).map(|_| packet(&mut rng, nominal)).collect(),
            }
        })
}

/// [`case_with`] with programs of up to 48 instructions.
pub fn case() -> impl Strategy<Value = GenCase> {
    case_with(47)
}
