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

/// The engines this build can run, with the program attached to each.
///
/// # Panics
/// When an engine that reports itself available refuses the program.
pub fn attach_everywhere(program: &Program) -> Vec<Filter> {
    let filters: Vec<Filter> = Engine::available()
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
