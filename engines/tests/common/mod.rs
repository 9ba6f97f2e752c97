//! Helpers shared by bpflab-engines' integration tests: instruction
//! constructors, the program generator, the reference model, and running a
//! program on every available engine.
//!
//! Each test crate uses only part of this module.
#![allow(dead_code)]

pub mod asm;
/// The generator lives in `gen.rs`; `gen` is a reserved word in Rust 2024,
/// so the module is called `generator`.
#[path = "gen.rs"]
pub mod generator;
pub mod reference;

use bpflab_engines::classic::Program;
use bpflab_engines::{AttachError, Device, Engine, Filter, Meta};

/// The engines whose memory accesses Miri checks (`scripts/miri`): the
/// three interpreters, whose unchecked fetches, raw-pointer dispatch and
/// stack slots are what Miri is there for. The reference engines are
/// hundreds of times slower under Miri; rbpf's glue is checked there by
/// its own file (`rbpf.rs`), and `native` has no unsafe code.
pub const MIRI_ENGINES: [Engine; 3] = [Engine::Old, Engine::Ext, Engine::ExtSwitch];

/// The engines the shared tests compare: every available one, or under
/// Miri [`MIRI_ENGINES`].
pub fn engines_under_test() -> Vec<Engine> {
    if cfg!(miri) {
        MIRI_ENGINES.to_vec()
    } else {
        Engine::available().collect()
    }
}

/// The engines of [`engines_under_test`], with the program attached to
/// each.
///
/// # Panics
/// When an engine that reports itself available refuses the program.
pub fn attach_everywhere(program: &Program) -> Vec<Filter> {
    let filters: Vec<Filter> = engines_under_test()
        .into_iter()
        .filter_map(|engine| match Filter::attach(program.clone(), engine) {
            Ok(f) => Some(f),
            // Reference engines serve only some programs.
            Err(AttachError::NotServed { .. }) if !engine.serves_every_program() => None,
            Err(e) => panic!("engine {engine} is available but attach failed: {e}"),
        })
        .collect();
    assert!(
        filters.iter().any(|f| f.engine() == Engine::Old),
        "the old engine is always available"
    );
    filters
}

/// Metadata with a distinct value in every field, so a load of the wrong
/// field shows.
pub fn distinct_meta() -> Meta {
    Meta {
        protocol: 0x86dd,
        pkt_type: 4,
        dev: Some(Device {
            ifindex: 0x0bad_f00d,
            hatype: 772,
        }),
        mark: 0xdead_beef,
        queue_mapping: 0xbeef,
        rxhash: 0xcafe_babe,
        cpu: 3,
        vlan_tci: 0xf123,
        vlan_present: true,
        vlan_tpid: 0x88a8,
        mac_header: 0,
        network_header: 14,
    }
}
