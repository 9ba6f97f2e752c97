//! The `ext` and `ext-switch` engines against `old`: the thread's two
//! programs on the fprogs.md packet and every truncation of it, the
//! `sk_get_filter` round trip (attach with ext on, read back, attach with
//! ext off) on those and on random valid programs (the shared generator;
//! `semantics.rs` runs its random differential over every engine), a
//! maximal program in a small thread stack, and the four modes.

use bpflab_engines::classic::insn::{Insn as C, MAX_INSNS, ancillary, code, op, skf};
use bpflab_engines::classic::{Program, check};
use bpflab_engines::{AttachError, Device, Engine, Filter, Meta, Mode, Skb};
use common::generator;
use ebpf_fixtures::{FPROG1, FPROG2, PACKET, packet, program};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngSeed, TestRunner};

mod common;
mod ebpf_fixtures;

/// The engines compared here.
const ENGINES: [Engine; 3] = [Engine::Old, Engine::Ext, Engine::ExtSwitch];

fn attach_all(p: &Program) -> Vec<Filter> {
    ENGINES
        .iter()
        .map(|&e| Filter::attach(p.clone(), e).expect("the engine attaches"))
        .collect()
}

/// Runs `skb` on every filter and returns the common result.
fn agreed(filters: &[Filter], skb: &Skb, what: &str) -> u32 {
    let results: Vec<u32> = filters.iter().map(|f| f.run(skb)).collect();
    assert!(
        results.iter().all(|&r| r == results[0]),
        "{what}: engines disagree: {:?}",
        ENGINES.iter().zip(&results).collect::<Vec<_>>()
    );
    results[0]
}

#[test]
fn thread_programs_give_the_fprogs_md_values() {
    let expected = [
        (
            FPROG1,
            [(10, 0), (30, 0), (38, 65535), (60, 65535), (100, 65535)],
        ),
        (
            FPROG2,
            [(10, 0), (30, 0), (38, 0), (60, 65535), (100, 65535)],
        ),
    ];
    for (n, (text, runs)) in expected.iter().enumerate() {
        let filters = attach_all(&program(text));
        for &(len, want) in runs {
            let got = agreed(&filters, &packet(len), &format!("fprog{} len {len}", n + 1));
            assert_eq!(got, want, "fprog{} on {len} bytes", n + 1);
        }
        for len in 0..=120 {
            agreed(&filters, &packet(len), &format!("fprog{} len {len}", n + 1));
        }
    }
}

#[test]
fn engines_agree_on_metadata_combinations() {
    let mut prog = Vec::new();
    let anc = |off: u32| C::stmt(code::LD_W_ABS, (skf::AD_OFF as u32).wrapping_add(off));
    for off in [
        ancillary::PROTOCOL,
        ancillary::PKTTYPE,
        ancillary::MARK,
        ancillary::QUEUE,
        ancillary::RXHASH,
        ancillary::CPU,
        ancillary::VLAN_TAG,
        ancillary::VLAN_TAG_PRESENT,
        ancillary::VLAN_TPID,
        ancillary::IFINDEX,
        ancillary::HATYPE,
    ] {
        prog.push(anc(off));
        prog.push(C::stmt(code::alu_x(op::ADD), 0));
        prog.push(C::stmt(code::TAX, 0));
    }
    prog.push(C::stmt(code::RET_A, 0));
    let filters = attach_all(&check(prog).expect("valid"));
    for dev in [
        None,
        Some(Device::default()),
        Some(Device {
            ifindex: 9,
            hatype: 772,
        }),
    ] {
        let meta = Meta {
            protocol: 0x86dd,
            pkt_type: 3,
            dev,
            mark: 0xdead_beef,
            queue_mapping: 7,
            rxhash: 0x1234_5678,
            cpu: 3,
            vlan_tci: 0xf123,
            vlan_present: true,
            vlan_tpid: 0x88a8,
            mac_header: 0,
            network_header: 14,
        };
        let got = agreed(&filters, &Skb::new(PACKET.to_vec(), &meta), "metadata");
        assert_eq!(got == 0, dev.is_none(), "no device: IFINDEX ends with 0");
    }
}

/// Runs `cases` programs from the shared generator (fixed seed) through `check`.
fn for_random_cases(cases: u32, seed: u64, mut test: impl FnMut(Program, Vec<Skb>)) {
    let mut runner = TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = generator::case();
    for _ in 0..cases {
        let case = strategy
            .new_tree(&mut runner)
            .expect("the generator makes cases")
            .current();
        let program = check(case.insns.clone()).expect("the generator makes valid programs");
        test(program, case.skbs());
    }
}

#[test]
fn sk_get_filter_round_trip() {
    let thread_skbs: Vec<Skb> = (0..=100).map(packet).collect();
    let mut cases: Vec<(Program, Vec<Skb>)> = vec![
        (program(FPROG1), thread_skbs.clone()),
        (program(FPROG2), thread_skbs.clone()),
    ];
    let random = if cfg!(miri) { 5 } else { 300 };
    for_random_cases(random, 0x5eed_0004, |p, skbs| cases.push((p, skbs)));
    for (p, skbs) in cases {
        let ext = Filter::attach(
            p.clone(),
            Mode {
                ext: true,
                jit: false,
            },
        )
        .expect("ext");
        assert_eq!(ext.engine(), Engine::Ext);
        assert!(ext.converted().is_some());
        let read_back = ext.original().clone();
        assert_eq!(
            read_back, p,
            "original() is the classic program as attached"
        );
        let old = Filter::attach(
            read_back,
            Mode {
                ext: false,
                jit: false,
            },
        )
        .expect("old");
        assert_eq!(old.engine(), Engine::Old);
        assert!(old.converted().is_none());
        for skb in &skbs {
            assert_eq!(ext.run(skb), old.run(skb), "{p:?}");
        }
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "24,500 instructions: too slow for Miri, which does not model the native stack this checks"
)]
fn maximal_program_runs_in_a_small_stack() {
    // 4096 instructions, nearly all LDX MSH (6 eBPF instructions each), all
    // executed: ~24,500 eBPF instructions in one run.
    let mut insns = vec![C::stmt(code::LDX_B_MSH, 14); MAX_INSNS - 2];
    insns.push(C::stmt(code::TXA, 0));
    insns.push(C::stmt(code::RET_A, 0));
    let p = check(insns).expect("valid");
    let results = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let filters = attach_all(&p);
            let skb = packet(60);
            let converted = filters[1].converted().map_or(0, |c| c.insns.len());
            (agreed(&filters, &skb, "maximal program"), converted)
        })
        .expect("thread starts")
        .join()
        .expect("no stack overflow");
    assert_eq!(results, (20, 3 + 6 * (MAX_INSNS - 2) + 2));
}

#[test]
fn filters_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<Filter>();
    shareable::<bpflab_engines::ebpf::ExtInterpreter>();
    shareable::<bpflab_engines::ebpf::ExtSwitchInterpreter>();
}

#[test]
fn modes_select_engines_and_unavailable_jits_are_refused() {
    let p = program(FPROG1);
    assert_eq!(
        Filter::attach(p.clone(), Mode::default()).map(|f| f.engine()),
        Ok(Engine::Old)
    );
    for (mode, engine) in [
        (
            Mode {
                ext: false,
                jit: true,
            },
            Engine::OldJit,
        ),
        (
            Mode {
                ext: true,
                jit: true,
            },
            Engine::ExtJit,
        ),
    ] {
        match engine.availability() {
            // Where a JIT exists the mode selects it; elsewhere attaching
            // fails with the reason, never falling back to an interpreter.
            Ok(()) => {
                let f = Filter::attach(p.clone(), mode).expect("JIT available");
                assert_eq!(f.engine(), engine);
                assert_eq!(f.original(), &p);
            }
            Err(_) => {
                let err = Filter::attach(p.clone(), mode).expect_err("no JIT here");
                assert!(matches!(err, AttachError::Unavailable { engine: e, .. } if e == engine));
                assert!(err.to_string().contains("not available"), "{err}");
            }
        }
    }
    let switch = Filter::attach(p.clone(), Engine::ExtSwitch).expect("ext-switch");
    assert_eq!(switch.original(), &p);
    assert_eq!(
        switch.converted().map(|c| c.insns.len()),
        Some(35),
        "fprog1 converted"
    );
}
