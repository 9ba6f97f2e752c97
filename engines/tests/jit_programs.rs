//! The thread's two programs on both JITs against the old interpreter: the
//! thread's packet cut or zero-padded to every length 0..=114, under
//! several metadata variations, plus the results fprogs.md states.

mod jit_common;

use bpflab_engines::skb::{Device, Meta, Skb};
use jit_common::{FPROG1, FPROG2, Trio, jit_available, packet, program};

/// Metadata variations that must not change what a packet filter returns
/// (or, for the headers, change it the same way on every engine).
fn metas(data: &[u8]) -> Vec<(&'static str, Meta)> {
    let base = Meta::for_frame(data);
    let mut out = vec![("for_frame", base.clone())];
    let mut m = base.clone();
    m.dev = None;
    out.push(("no device", m));
    let mut m = base.clone();
    m.dev = Some(Device {
        ifindex: 7,
        hatype: 772,
    });
    m.mark = 0xdead_beef;
    m.rxhash = 0x1234_5678;
    m.vlan_tci = 0xffff;
    m.vlan_present = true;
    m.cpu = 3;
    out.push(("busy metadata", m));
    let mut m = base.clone();
    m.network_header = 0;
    m.mac_header = data.len() as u32;
    out.push(("odd headers", m));
    let mut m = base;
    m.protocol = 0x86dd;
    m.pkt_type = 4;
    out.push(("ipv6 protocol", m));
    out
}

#[test]
fn thread_programs_at_every_truncation() {
    if !jit_available() {
        return;
    }
    for (name, text) in [("fprog1", FPROG1), ("fprog2", FPROG2)] {
        let trio = Trio::new(&program(text));
        for len in 0..=114 {
            let data = packet(len);
            for (variant, meta) in metas(&data) {
                let skb = Skb::new(data.clone(), &meta);
                trio.check(&skb, &|| format!("{name}, {len} bytes, {variant}"));
            }
        }
    }
}

#[test]
fn thread_programs_give_the_documented_results() {
    if !jit_available() {
        return;
    }
    let expect = [
        (
            FPROG1,
            [(10, 0), (30, 0), (38, 65535), (60, 65535), (100, 65535)],
        ),
        (
            FPROG2,
            [(10, 0), (30, 0), (38, 0), (60, 65535), (100, 65535)],
        ),
    ];
    for (text, runs) in expect {
        let trio = Trio::new(&program(text));
        for (len, want) in runs {
            let skb = Skb::from_frame(packet(len));
            let got = trio.check(&skb, &|| format!("{len} bytes"));
            assert_eq!(got, want, "{len} bytes");
        }
    }
}

fn shareable<T: Send + Sync + Clone + std::fmt::Debug>() {}

#[test]
fn jit_types_can_live_in_a_filter() {
    shareable::<bpflab_engines::jit::ClassicJit>();
    shareable::<bpflab_engines::jit::EbpfJit>();
}

#[test]
fn compiled_code_is_mapped_and_indexed() {
    if !jit_available() {
        return;
    }
    let p = program(FPROG1);
    let trio = Trio::new(&p);
    let offs = trio.classic.insn_offsets();
    assert_eq!(offs.len(), p.len());
    assert!(offs.windows(2).all(|w| w[0] <= w[1]));
    assert!(offs[0] > 0, "the prologue comes first");
    assert!(*offs.last().unwrap() < trio.classic.code().len());
    let converted = bpflab_engines::ebpf::convert(&p).unwrap();
    let eoffs = trio.ebpf.insn_offsets();
    assert_eq!(eoffs.len(), converted.insns.len());
    assert!(eoffs.windows(2).all(|w| w[0] <= w[1]));
    assert!(*eoffs.last().unwrap() < trio.ebpf.code().len());
    // Clones share the code and run the same.
    let skb = Skb::from_frame(packet(60));
    assert_eq!(trio.classic.clone().run(&skb), 65535);
    assert_eq!(trio.ebpf.clone().run(&skb), 65535);
    assert!(format!("{:?}", trio.classic).contains("ClassicJit"));
    assert!(format!("{:?}", trio.ebpf).contains("EbpfJit"));
}
