//! The `native` engine against `old`: the thread's packet at every length,
//! systematic variations of every field the two programs read, and random
//! packets (fixed seed), on both programs; and its refusal of others.

mod thread_packets;

use bpflab_engines::classic::insn::code;
use bpflab_engines::classic::{Insn, OldInterpreter, check};
use bpflab_engines::native::{NativeFilter, NativeProgram, NotSupported};
use bpflab_engines::{Meta, Skb};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use thread_packets::{packet, programs, skbs, variations};

#[test]
fn recognises_the_two_programs() {
    for (name, program) in programs() {
        let f = NativeFilter::new(&program).expect("native serves the scenario programs");
        assert_eq!(f.program().name(), name);
    }
    for which in NativeProgram::ALL {
        assert!(which.insns().is_ok(), "{} parses", which.name());
    }
}

#[test]
fn refuses_every_other_program() {
    let ret0 = check(vec![Insn::stmt(code::RET_K, 0)]).expect("valid");
    let err = NativeFilter::new(&ret0).expect_err("not a scenario program");
    assert_eq!(err, NotSupported::UnknownProgram { len: 1 });
    assert!(
        err.to_string()
            .contains("native serves only fprog1 and fprog2"),
        "{err}"
    );
    // One changed constant, one instruction less: refused too.
    for (_, program) in programs() {
        let mut insns = program.insns().to_vec();
        insns[0].k = 13;
        let changed = check(insns).expect("still valid");
        assert!(NativeFilter::new(&changed).is_err());
        let mut insns = program.insns().to_vec();
        insns.insert(0, Insn::stmt(code::LD_IMM, 0));
        let longer = check(insns).expect("still valid");
        assert!(NativeFilter::new(&longer).is_err());
    }
}

/// Native and old agree on every skb.
fn agree(skbs: &[Skb]) -> usize {
    for (name, program) in programs() {
        let old = OldInterpreter::new(&program);
        let native = NativeFilter::new(&program).expect("served");
        for skb in skbs {
            assert_eq!(
                native.run(skb),
                old.run(skb),
                "{name} on {} bytes {:02x?}",
                skb.len(),
                skb.data()
            );
        }
    }
    skbs.len()
}

#[test]
fn the_thread_packet_at_every_length() {
    assert_eq!(agree(&skbs((0..=114).map(packet))), 115);
    // The verdicts of shared/reference/fprogs.md.
    let expected = [
        (10, 0, 0),
        (30, 0, 0),
        (38, 65535, 0),
        (60, 65535, 65535),
        (100, 65535, 65535),
    ];
    let [(_, p1), (_, p2)] = programs();
    let (n1, n2) = (
        NativeFilter::new(&p1).unwrap(),
        NativeFilter::new(&p2).unwrap(),
    );
    for (len, want1, want2) in expected {
        let skb = Skb::from_frame(packet(len));
        assert_eq!((n1.run(&skb), n2.run(&skb)), (want1, want2), "len {len}");
    }
}

#[test]
fn field_variations_at_many_truncations() {
    let n = agree(&skbs(variations()));
    assert!(n > 20_000, "{n} variations");
}

#[test]
fn metadata_does_not_matter() {
    // The programs read packet bytes only: other metadata changes nothing.
    let mut meta = Meta::for_frame(&packet(60));
    meta.protocol = 0x86dd;
    meta.network_header = 0;
    meta.dev = None;
    agree(&[Skb::new(packet(60), &meta)]);
}

/// Random packets, mostly shaped like the programs' targets: IPv4 / IPv6
/// EtherType, a TCP/UDP/SCTP protocol, a port 22, any length to 120.
fn random_packet() -> impl Strategy<Value = Vec<u8>> {
    (
        vec(any::<u8>(), 0..=120),
        prop_oneof![Just(0x0800u16), Just(0x86dd), any::<u16>()],
        prop_oneof![Just(6u8), Just(17), Just(132), any::<u8>()],
        prop_oneof![Just(34usize), Just(36), Just(54), Just(56), 0usize..80],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(mut p, ethertype, proto, port_at, set_port, clear_frag)| {
            let put = |p: &mut Vec<u8>, at: usize, bytes: &[u8]| {
                if p.len() >= at + bytes.len() {
                    p[at..at + bytes.len()].copy_from_slice(bytes);
                }
            };
            put(&mut p, 12, &ethertype.to_be_bytes());
            put(&mut p, 23, &[proto]);
            put(&mut p, 20, &[proto]);
            if clear_frag {
                put(&mut p, 21, &[0]);
                put(&mut p, 20, &[0x40]);
                put(&mut p, 14, &[0x45]);
                put(&mut p, 23, &[proto]);
            }
            if set_port {
                put(&mut p, port_at, &22u16.to_be_bytes());
            }
            p
        })
}

#[test]
fn random_packets() {
    let mut runner = TestRunner::new(Config {
        cases: 20_000,
        rng_seed: RngSeed::Fixed(0x0a71_7e00),
        failure_persistence: None,
        ..Config::default()
    });
    let [(_, p1), (_, p2)] = programs();
    let (o1, o2) = (OldInterpreter::new(&p1), OldInterpreter::new(&p2));
    let (n1, n2) = (
        NativeFilter::new(&p1).unwrap(),
        NativeFilter::new(&p2).unwrap(),
    );
    let accepted = [std::cell::Cell::new(0u32), std::cell::Cell::new(0u32)];
    runner
        .run(&random_packet(), |p| {
            let skb = Skb::from_frame(p);
            let (a, b) = (o1.run(&skb), o2.run(&skb));
            prop_assert_eq!(n1.run(&skb), a, "fprog1");
            prop_assert_eq!(n2.run(&skb), b, "fprog2");
            accepted[0].set(accepted[0].get() + u32::from(a != 0));
            accepted[1].set(accepted[1].get() + u32::from(b != 0));
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    // The generator reaches both verdicts of both programs.
    let accepted = accepted.map(|c| c.get());
    assert!(accepted[0] > 200 && accepted[1] > 50, "{accepted:?}");
}
