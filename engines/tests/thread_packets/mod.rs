//! The thread's two programs and packets around them, for the tests of
//! the `native` and `rbpf` engines: the packet of `shared/reference/
//! fprogs.md` at every length, and systematic variations of the fields the
//! programs read (EtherType, protocol / next header, fragment word, IHL,
//! ports, TCP data offset, total length), each at several truncations.
#![allow(dead_code)]

use bpflab_engines::Skb;
use bpflab_engines::classic::{Format, Program, check, read};

/// The first 38 bytes of the thread's packet (Ethernet, IPv4 IHL 5, TCP
/// 10.1.1.149:49700 -> 10.1.2.10:22).
pub const PACKET: [u8; 38] = [
    0x10, 0xbf, 0x48, 0xd6, 0x43, 0xd6, 0x3c, 0x07, 0x54, 0x43, 0xe5, 0x76, 0x08, 0x00, 0x45, 0x10,
    0x00, 0x64, 0x75, 0xb5, 0x40, 0x00, 0x40, 0x06, 0xad, 0x2e, 0x0a, 0x01, 0x01, 0x95, 0x0a, 0x01,
    0x02, 0x0a, 0xc2, 0x24, 0x00, 0x16,
];

/// The thread's packet zero-padded (or cut) to `len` bytes.
pub fn packet(len: usize) -> Vec<u8> {
    let mut v = PACKET.to_vec();
    v.resize(len, 0);
    v
}

/// A scenario program, read and checked.
pub fn program(name: &str) -> Program {
    let text = match name {
        "fprog1" => include_str!("../../../scenarios/programs/fprog1.dd"),
        "fprog2" => include_str!("../../../scenarios/programs/fprog2.dd"),
        _ => panic!("no scenario program {name}"),
    };
    let insns = read::read(text.as_bytes(), Some(Format::Dd), None).expect("scenario parses");
    check(insns).expect("scenario checks")
}

/// Both thread programs.
pub fn programs() -> [(&'static str, Program); 2] {
    [("fprog1", program("fprog1")), ("fprog2", program("fprog2"))]
}

/// A 120-byte frame with the given fields, IPv4 or IPv6 by `ethertype`.
#[allow(clippy::too_many_arguments)]
fn frame(
    ethertype: u16,
    proto: u8,
    frag: u16,
    ihl: u8,
    sport: u16,
    dport: u16,
    doff: u8,
    total_len: u16,
) -> Vec<u8> {
    let mut f = packet(120);
    f[12..14].copy_from_slice(&ethertype.to_be_bytes());
    // IPv4 fields.
    f[14] = 0x40 | (ihl & 0xf);
    f[16..18].copy_from_slice(&total_len.to_be_bytes());
    f[20..22].copy_from_slice(&frag.to_be_bytes());
    f[23] = proto;
    let l4 = 14 + usize::from(ihl & 0xf) * 4;
    f[l4..l4 + 2].copy_from_slice(&sport.to_be_bytes());
    f[l4 + 2..l4 + 4].copy_from_slice(&dport.to_be_bytes());
    f[l4 + 12] = doff << 4;
    // IPv6 fields (next header at 20, ports at 54/56) when asked for.
    if ethertype == 0x86dd {
        f[20] = proto;
        f[54..56].copy_from_slice(&sport.to_be_bytes());
        f[56..58].copy_from_slice(&dport.to_be_bytes());
    }
    f
}

/// Lengths each variation is cut to: around every offset the programs read.
pub const CUTS: [usize; 16] = [
    0, 13, 14, 15, 21, 22, 24, 34, 36, 37, 38, 40, 55, 57, 58, 120,
];

/// Every variation, whole and at each of [`CUTS`] (tens of thousands).
pub fn variations() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let ethertypes = [0x0800, 0x86dd, 0x0806, 0x8100, 0x0000, 0x0801];
    let protos = [6u8, 17, 132, 1, 0, 255];
    let frags = [0u16, 0x2000, 0x4000, 0x0001, 0x1fff, 0x6000, 0x8000, 0x2001];
    let ports = [
        (22u16, 80u16),
        (80, 22),
        (22, 22),
        (80, 443),
        (0x1600, 0x0016),
    ];
    for ethertype in ethertypes {
        for proto in protos {
            for frag in frags {
                for (sport, dport) in ports {
                    for ihl in 0..16u8 {
                        let doff = (ihl * 7 + proto % 5) & 0xf;
                        let total =
                            [100u16, 20 + u16::from(doff) * 4, 0, 0xffff][usize::from(ihl) % 4];
                        let f = frame(ethertype, proto, frag, ihl, sport, dport, doff, total);
                        out.push(f.clone());
                        if (usize::from(ihl) + usize::from(frag)) % 3 == 0 {
                            for cut in CUTS {
                                out.push(f[..cut].to_vec());
                            }
                        }
                    }
                }
            }
        }
    }
    // fprog2's data test: every TCP data offset against every IHL and a few
    // total lengths, on an IPv4 TCP port-22 frame.
    for ihl in 0..16u8 {
        for doff in 0..16u8 {
            for total in [0u16, 20, 40, 52, 60, 100, 0xffff] {
                let f = frame(0x0800, 6, 0, ihl, 22, 1234, doff, total);
                out.push(f.clone());
                let cut = 14 + usize::from(ihl) * 4 + 13;
                out.push(f[..cut.min(f.len())].to_vec());
                out.push(f[..(cut - 1).min(f.len())].to_vec());
            }
        }
    }
    out
}

/// The packets as Ethernet skbs.
pub fn skbs(packets: impl IntoIterator<Item = Vec<u8>>) -> Vec<Skb> {
    packets.into_iter().map(Skb::from_frame).collect()
}
