//! A named corpus of frames the two programs judge differently or alike,
//! each with the verdicts worked out from the programs' meaning (not from
//! running them), so that every engine can be checked against it, as
//! Linux's `test_bpf` checks its engines against one table.
//!
//! What the programs mean, for reading the expectations:
//! - fprog1, `port 22`: IPv4 or IPv6 (IPv6 without extension headers),
//!   protocol TCP, UDP or SCTP, source or destination port 22; an IPv4
//!   fragment with a non-zero offset is rejected. The IPv4 transport header
//!   is found with the real header length (`ldxb 4*([14]&0xf)`).
//! - fprog2, the man page's "SSH with data": IPv4 only, TCP, port 22 as
//!   above, and IP total length − IP header length − TCP header length ≠ 0
//!   (lengths from the headers, never from the skb's length).

use super::frame::{Arp, ETH_ZLEN, Frame};
use super::ip::{Ipv4, Ipv6, Ipv6Extension};
use super::thread::bench_packet;
use super::transport::{Sctp, Tcp, Transport, Udp, protocol, tcp_flags};
use crate::programs::{ACCEPT, PerProgram, REJECT, ScenarioProgram};
use bpflab_engines::Skb;

/// One frame and what each program must make of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// A short unique name (kebab-case).
    pub name: &'static str,
    /// Why the programs decide as they do.
    pub about: &'static str,
    /// The Ethernet frame.
    pub packet: Vec<u8>,
    /// Each program's return value ([`ACCEPT`] or [`REJECT`]).
    pub expected: PerProgram<u32>,
    /// For each program, one past the last packet byte it loads on this
    /// frame: shorter cuts of the frame make it return 0, longer ones
    /// give the full verdict.
    pub reads: PerProgram<usize>,
}

impl Sample {
    /// What `program` must return on this frame.
    pub fn expected(&self, program: ScenarioProgram) -> u32 {
        *self.expected.get(program)
    }

    /// The frame as an skb received on `eth0`.
    pub fn skb(&self) -> Skb {
        Skb::from_frame(self.packet.clone())
    }
}

/// The sample named `name`.
pub fn sample(name: &str) -> Option<Sample> {
    samples().into_iter().find(|s| s.name == name)
}

/// Shorthand for the two verdicts.
const fn verdicts(fprog1: u32, fprog2: u32) -> PerProgram<u32> {
    PerProgram { fprog1, fprog2 }
}

/// Shorthand for the two read extents.
const fn reads(fprog1: usize, fprog2: usize) -> PerProgram<usize> {
    PerProgram { fprog1, fprog2 }
}

/// The bytes of a frame from the fixed descriptions below, all in range.
fn build(frame: impl Into<Frame>) -> Vec<u8> {
    frame
        .into()
        .build()
        .unwrap_or_else(|e| panic!("a sample frame's fields are all in range: {e}"))
}

/// TCP data, as the thread's bench segment has.
fn data_segment(src_port: u16, dst_port: u16) -> Tcp {
    Tcp {
        flags: tcp_flags::PSH | tcp_flags::ACK,
        ..Tcp::new(src_port, dst_port)
    }
}

/// Every sample. Offsets in the reads: the IPv4 transport header starts at
/// 14 + IHL×4 (34 without options); IPv6's at 54.
pub fn samples() -> Vec<Sample> {
    let ipv4_tcp_22 = |payload: usize| Ipv4 {
        payload: vec![0; payload],
        ..Ipv4::new(data_segment(49700, 22))
    };
    vec![
        Sample {
            name: "bench",
            about: "the thread's segment to port 22 with 60 data bytes: both accept",
            packet: bench_packet(),
            expected: verdicts(ACCEPT, ACCEPT),
            // fprog1 ends on the destination port (36..38); fprog2 on the
            // TCP data offset byte (46).
            reads: reads(38, 47),
        },
        Sample {
            name: "tcp-src-22",
            about: "TCP from port 22 with data: both match the source port",
            packet: build(Ipv4 {
                payload: vec![0x5a; 48],
                ..Ipv4::new(data_segment(22, 49700))
            }),
            expected: verdicts(ACCEPT, ACCEPT),
            // fprog1 stops after the source port; fprog2 goes on to the
            // length test.
            reads: reads(36, 47),
        },
        Sample {
            name: "udp-dst-22",
            about: "UDP to port 22: fprog1 takes UDP, fprog2 wants TCP",
            packet: build(Ipv4 {
                payload: vec![0; 32],
                ..Ipv4::new(Udp::new(49700, 22))
            }),
            expected: verdicts(ACCEPT, REJECT),
            reads: reads(38, 24),
        },
        Sample {
            name: "sctp-dst-22",
            about: "SCTP to port 22: fprog1 takes SCTP, fprog2 wants TCP",
            packet: build(Ipv4 {
                // An INIT chunk header and its fixed part.
                payload: [&[1, 0, 0, 20][..], &[0; 16]].concat(),
                ..Ipv4::new(Sctp::new(49700, 22))
            }),
            expected: verdicts(ACCEPT, REJECT),
            reads: reads(38, 24),
        },
        Sample {
            name: "tcp-dst-80",
            about: "TCP between ports 49700 and 80: neither port is 22",
            packet: build(Ipv4 {
                payload: vec![0; 60],
                ..Ipv4::new(data_segment(49700, 80))
            }),
            expected: verdicts(REJECT, REJECT),
            reads: reads(38, 38),
        },
        Sample {
            name: "ipv6-tcp-dst-22",
            about: "IPv6 TCP to port 22: fprog1 handles IPv6, fprog2 rejects it at once",
            packet: build(Ipv6 {
                payload: vec![0; 60],
                ..Ipv6::new(data_segment(49700, 22))
            }),
            expected: verdicts(ACCEPT, REJECT),
            // fprog1 reads both ports at 54..58.
            reads: reads(58, 14),
        },
        Sample {
            name: "ipv6-udp-src-22",
            about: "IPv6 UDP from port 22: fprog1 matches the source port",
            packet: build(Ipv6 {
                payload: vec![0; 16],
                ..Ipv6::new(Udp::new(22, 49700))
            }),
            expected: verdicts(ACCEPT, REJECT),
            reads: reads(56, 14),
        },
        Sample {
            name: "ipv6-udp-dst-80",
            about: "IPv6 UDP between ports 49700 and 80: neither port is 22",
            packet: build(Ipv6 {
                payload: vec![0; 16],
                ..Ipv6::new(Udp::new(49700, 80))
            }),
            expected: verdicts(REJECT, REJECT),
            reads: reads(58, 14),
        },
        Sample {
            name: "ipv6-hop-by-hop-tcp-dst-22",
            about: "IPv6 TCP to port 22 behind a hop-by-hop header: fprog1 only looks at \
                    the first next-header (0), so it rejects",
            packet: build(Ipv6 {
                // A router alert option (MLD), padded with Pad1.
                extensions: vec![Ipv6Extension {
                    header_type: protocol::IPV6_HOP_BY_HOP,
                    data: vec![5, 2, 0, 0],
                }],
                payload: vec![0; 20],
                ..Ipv6::new(data_segment(49700, 22))
            }),
            expected: verdicts(REJECT, REJECT),
            reads: reads(21, 14),
        },
        Sample {
            name: "ipv4-options-tcp-dst-22",
            about: "IPv4 with a router alert option (IHL 6) to port 22: both find the \
                    ports after the options through the header length",
            packet: build(Ipv4 {
                options: vec![0x94, 0x04, 0x00, 0x00],
                ..ipv4_tcp_22(60)
            }),
            expected: verdicts(ACCEPT, ACCEPT),
            // The TCP header starts at 38 instead of 34.
            reads: reads(42, 51),
        },
        Sample {
            name: "tcp-dst-22-options-1-byte",
            about: "TCP to port 22 with 12 option bytes (data offset 8) and 1 data byte: \
                    fprog2's length test subtracts the real TCP header length",
            packet: build(Ipv4 {
                payload: vec![0x41],
                ..Ipv4::new(Tcp {
                    // NOP, NOP, timestamps.
                    options: vec![1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
                    ..data_segment(49700, 22)
                })
            }),
            expected: verdicts(ACCEPT, ACCEPT),
            reads: reads(38, 47),
        },
        Sample {
            name: "tcp-dst-22-syn",
            about: "a SYN to port 22 with 20 option bytes and no data: fprog1 accepts, \
                    fprog2 finds 60 - 20 - 40 = 0 data bytes",
            packet: build(Ipv4::new(Tcp {
                flags: tcp_flags::SYN,
                seq: 0x1234_5678,
                window: 64240,
                // MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
                options: vec![
                    2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
                ],
                ..Tcp::new(49700, 22)
            })),
            expected: verdicts(ACCEPT, REJECT),
            reads: reads(38, 47),
        },
        Sample {
            name: "tcp-dst-22-ack-padded",
            about: "a pure ACK to port 22 padded to 60 bytes on the wire: fprog2 uses the \
                    IP total length (40), not the skb length, so it sees no data",
            packet: build(Frame {
                min_len: ETH_ZLEN,
                ..Frame::from(ipv4_tcp_22(0))
            }),
            expected: verdicts(ACCEPT, REJECT),
            reads: reads(38, 47),
        },
        Sample {
            name: "fragment-first-dst-22",
            about: "the first fragment (MF set, offset 0) of a TCP segment to port 22: \
                    it has the TCP header, both accept",
            packet: build(Ipv4 {
                more_fragments: true,
                id: 0x1c46,
                ..ipv4_tcp_22(1460)
            }),
            expected: verdicts(ACCEPT, ACCEPT),
            reads: reads(38, 47),
        },
        Sample {
            name: "fragment-tail-dst-22",
            about: "a later fragment (offset 1480) of that segment, whose data happens to \
                    look like ports 22 and 22: both reject non-first fragments",
            packet: build(Ipv4 {
                id: 0x1c46,
                fragment_offset: 185,
                payload: [&[0x00, 0x16, 0x00, 0x16][..], &[0; 36]].concat(),
                ..Ipv4::new(data_segment(49700, 22))
            }),
            expected: verdicts(REJECT, REJECT),
            // Both stop at the fragment test (protocol at 23, offset at 20).
            reads: reads(24, 24),
        },
        Sample {
            name: "icmp-echo",
            about: "an ICMP echo request: not TCP, UDP or SCTP",
            packet: build(Ipv4 {
                payload: vec![8, 0, 0xf7, 0xff, 0, 0, 0, 0],
                ..Ipv4::new(Transport::Other {
                    protocol: protocol::ICMP,
                })
            }),
            expected: verdicts(REJECT, REJECT),
            reads: reads(24, 24),
        },
        Sample {
            name: "arp",
            about: "an ARP request padded to 60 bytes: neither IPv4 nor IPv6",
            packet: build(Frame {
                min_len: ETH_ZLEN,
                ..Frame::from(Arp::default())
            }),
            expected: verdicts(REJECT, REJECT),
            reads: reads(14, 14),
        },
        Sample {
            name: "vlan-tcp-dst-22",
            about: "the bench segment with an 802.1Q tag in the frame: the EtherType at 12 \
                    is 0x8100, so both reject",
            packet: build(Frame {
                vlan: Some(100),
                ..Frame::from(ipv4_tcp_22(60))
            }),
            expected: verdicts(REJECT, REJECT),
            reads: reads(14, 14),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::super::thread::BENCH_PACKET_LEN;
    use super::*;
    use bpflab_engines::{Engine, Filter};
    use std::collections::HashSet;

    fn filters() -> Vec<(ScenarioProgram, Filter)> {
        ScenarioProgram::ALL
            .into_iter()
            .map(|p| (p, Filter::attach(p.program(), Engine::Old).unwrap()))
            .collect()
    }

    #[test]
    fn names_are_unique_and_findable() {
        let all = samples();
        let names: HashSet<_> = all.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), all.len());
        for s in &all {
            assert_eq!(sample(s.name).as_ref(), Some(s));
        }
        assert_eq!(sample("nope"), None);
    }

    #[test]
    fn the_corpus_covers_what_the_brief_asks() {
        let all = samples();
        let v = |name: &str| {
            let s = all.iter().find(|s| s.name == name).unwrap();
            (s.expected.fprog1, s.expected.fprog2)
        };
        assert_eq!(v("bench"), (ACCEPT, ACCEPT));
        assert_eq!(v("udp-dst-22"), (ACCEPT, REJECT));
        assert_eq!(v("tcp-dst-80"), (REJECT, REJECT));
        assert_eq!(v("ipv6-tcp-dst-22"), (ACCEPT, REJECT));
        assert_eq!(v("ipv4-options-tcp-dst-22"), (ACCEPT, ACCEPT));
        assert_eq!(v("tcp-dst-22-syn"), (ACCEPT, REJECT));
        assert_eq!(v("fragment-tail-dst-22"), (REJECT, REJECT));
        assert_eq!(v("fragment-first-dst-22"), (ACCEPT, ACCEPT));
        assert_eq!(v("vlan-tcp-dst-22"), (REJECT, REJECT));
        assert_eq!(all[0].packet.len(), BENCH_PACKET_LEN);
    }

    #[test]
    fn samples_have_the_headers_they_claim() {
        let s = sample("ipv4-options-tcp-dst-22").unwrap();
        assert_eq!(s.packet[14], 0x46);
        assert_eq!(&s.packet[38..42], &[0xc2, 0x24, 0x00, 0x16]);
        let s = sample("tcp-dst-22-options-1-byte").unwrap();
        assert_eq!(s.packet[46], 0x80);
        assert_eq!(&s.packet[16..18], &[0, 53]);
        let s = sample("tcp-dst-22-syn").unwrap();
        assert_eq!((s.packet[46], s.packet[47]), (0xa0, tcp_flags::SYN));
        assert_eq!(&s.packet[16..18], &[0, 60]);
        let s = sample("tcp-dst-22-ack-padded").unwrap();
        assert_eq!(s.packet.len(), 60);
        assert_eq!(&s.packet[16..18], &[0, 40]);
        let s = sample("fragment-first-dst-22").unwrap();
        assert_eq!(&s.packet[20..22], &[0x20, 0x00]);
        assert_eq!(s.packet.len(), 1514);
        let s = sample("fragment-tail-dst-22").unwrap();
        assert_eq!(&s.packet[20..22], &[0x00, 185]);
        assert_eq!(s.packet[23], protocol::TCP);
        assert_eq!(&s.packet[34..38], &[0, 22, 0, 22]);
        let s = sample("vlan-tcp-dst-22").unwrap();
        assert_eq!(&s.packet[12..14], &[0x81, 0x00]);
        let s = sample("ipv6-hop-by-hop-tcp-dst-22").unwrap();
        assert_eq!(s.packet[20], protocol::IPV6_HOP_BY_HOP);
    }

    #[test]
    fn the_old_interpreter_gives_every_expected_verdict() {
        for (program, filter) in filters() {
            for s in samples() {
                assert_eq!(
                    filter.run(&s.skb()),
                    s.expected(program),
                    "{program} on {}: {}",
                    s.name,
                    s.about
                );
            }
        }
    }

    #[test]
    fn truncated_frames_give_the_verdict_or_0() {
        for (program, filter) in filters() {
            for s in samples() {
                let full = s.expected(program);
                let reads = *s.reads.get(program);
                assert!(reads <= s.packet.len(), "{}", s.name);
                for len in 0..=s.packet.len() {
                    let got = filter.run(&Skb::from_frame(s.packet[..len].to_vec()));
                    assert!(
                        got == full || got == 0,
                        "{program} on {} cut to {len}: {got}",
                        s.name
                    );
                    let want = if len >= reads { full } else { 0 };
                    assert_eq!(
                        got, want,
                        "{program} on {} cut to {len} (reads up to {reads})",
                        s.name
                    );
                }
            }
        }
    }
}
