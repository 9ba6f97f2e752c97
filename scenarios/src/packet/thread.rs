//! The packet the thread measured: the 38 bytes it published, padded or
//! cut to any skb length, and the full 114-byte segment they begin, which
//! is what the benchmark scenarios run the programs on.

use super::frame::{Frame, Mac};
use super::ip::Ipv4;
use super::transport::{Tcp, tcp_flags};
use std::net::Ipv4Addr;

/// The thread's source MAC (3c:07:54:43:e5:76).
pub const THREAD_SRC_MAC: Mac = [0x3c, 0x07, 0x54, 0x43, 0xe5, 0x76];
/// The thread's destination MAC (10:bf:48:d6:43:d6).
pub const THREAD_DST_MAC: Mac = [0x10, 0xbf, 0x48, 0xd6, 0x43, 0xd6];
/// The thread's source address.
pub const THREAD_SRC_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 149);
/// The thread's destination address.
pub const THREAD_DST_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 2, 10);

/// The first 38 bytes of the thread's packet, exactly as published: the
/// Ethernet and IPv4 headers and the TCP ports (49700 to 22).
pub const THREAD_PACKET_HEAD: [u8; 38] = [
    0x10, 0xbf, 0x48, 0xd6, 0x43, 0xd6, 0x3c, 0x07, 0x54, 0x43, 0xe5, 0x76, 0x08, 0x00, 0x45, 0x10,
    0x00, 0x64, 0x75, 0xb5, 0x40, 0x00, 0x40, 0x06, 0xad, 0x2e, 0x0a, 0x01, 0x01, 0x95, 0x0a, 0x01,
    0x02, 0x0a, 0xc2, 0x24, 0x00, 0x16,
];

/// The thread's skb of length `len`: [`THREAD_PACKET_HEAD`] followed by
/// zeros, or cut short, to `len` bytes.
pub fn thread_packet(len: usize) -> Vec<u8> {
    let mut data = THREAD_PACKET_HEAD[..len.min(THREAD_PACKET_HEAD.len())].to_vec();
    data.resize(len, 0);
    data
}

/// Length of [`bench_packet`]: 14 Ethernet + 100 IP total length.
pub const BENCH_PACKET_LEN: usize = 114;

/// TCP payload bytes in [`bench_packet`].
pub const BENCH_PAYLOAD_LEN: usize = 60;

/// The benchmark packet as a frame description: the thread's IPv4 TCP
/// segment 10.1.1.149:49700 to 10.1.2.10:22 (TOS 0x10, id 0x75b5, DF, TTL
/// 64) with a real 20-byte TCP header (PSH|ACK) and 60 payload bytes.
pub fn bench_frame() -> Frame {
    Frame::new(Ipv4 {
        tos: 0x10,
        id: 0x75b5,
        ttl: 64,
        dont_fragment: true,
        payload: vec![0; BENCH_PAYLOAD_LEN],
        ..Ipv4::new(Tcp {
            seq: 0x5c1f_6a3d,
            ack: 0x0e42_91b7,
            flags: tcp_flags::PSH | tcp_flags::ACK,
            window: 501,
            ..Tcp::new(49700, 22)
        })
    })
}

/// The benchmark packet's 114 bytes; they begin with
/// [`THREAD_PACKET_HEAD`].
pub fn bench_packet() -> Vec<u8> {
    bench_frame()
        .build()
        .unwrap_or_else(|e| panic!("the benchmark frame's fields are all in range: {e}"))
}

#[cfg(test)]
mod tests {
    use super::super::checksum::internet_checksum;
    use super::*;
    use crate::programs::{ACCEPT, ScenarioProgram};
    use bpflab_engines::{Engine, Filter, Skb};

    fn run(program: ScenarioProgram, data: Vec<u8>) -> u32 {
        Filter::attach(program.program(), Engine::Old)
            .unwrap()
            .run(&Skb::from_frame(data))
    }

    #[test]
    fn bench_packet_begins_with_the_published_bytes() {
        let p = bench_packet();
        assert_eq!(p.len(), BENCH_PACKET_LEN);
        // fprogs.md, "The packet", byte for byte (checksum ad 2e included).
        let published: [u8; 38] = [
            0x10, 0xbf, 0x48, 0xd6, 0x43, 0xd6, 0x3c, 0x07, 0x54, 0x43, 0xe5, 0x76, 0x08, 0x00,
            0x45, 0x10, 0x00, 0x64, 0x75, 0xb5, 0x40, 0x00, 0x40, 0x06, 0xad, 0x2e, 0x0a, 0x01,
            0x01, 0x95, 0x0a, 0x01, 0x02, 0x0a, 0xc2, 0x24, 0x00, 0x16,
        ];
        assert_eq!(&p[..38], &published);
        assert_eq!(THREAD_PACKET_HEAD, published);
    }

    #[test]
    fn bench_packet_has_a_real_tcp_header_and_payload() {
        let p = bench_packet();
        assert_eq!(p[46], 0x50, "data offset 5: a 20-byte TCP header");
        assert_eq!(p[47], tcp_flags::PSH | tcp_flags::ACK);
        assert_eq!(p.len() - 54, BENCH_PAYLOAD_LEN);
        let mut covered = p[26..34].to_vec();
        covered.extend_from_slice(&[0, 6, 0, 80]);
        covered.extend_from_slice(&p[34..]);
        assert_eq!(internet_checksum(&covered), 0, "TCP checksum is valid");
    }

    #[test]
    fn both_programs_accept_the_bench_packet() {
        for p in ScenarioProgram::ALL {
            assert_eq!(run(p, bench_packet()), ACCEPT, "{p}");
        }
    }

    #[test]
    fn thread_packet_pads_and_cuts() {
        assert_eq!(thread_packet(0), Vec::<u8>::new());
        assert_eq!(thread_packet(10), THREAD_PACKET_HEAD[..10]);
        assert_eq!(thread_packet(38), THREAD_PACKET_HEAD);
        let p = thread_packet(100);
        assert_eq!(&p[..38], &THREAD_PACKET_HEAD);
        assert!(p[38..].iter().all(|&b| b == 0));
        assert_eq!(p.len(), 100);
    }

    #[test]
    fn thread_packet_gives_the_published_table() {
        // fprogs.md: return value per skb length.
        let table: [(usize, u32, u32); 5] = [
            (10, 0, 0),
            (30, 0, 0),
            (38, 65535, 0),
            (60, 65535, 65535),
            (100, 65535, 65535),
        ];
        for (len, fprog1, fprog2) in table {
            assert_eq!(
                run(ScenarioProgram::Fprog1, thread_packet(len)),
                fprog1,
                "fprog1 len {len}"
            );
            assert_eq!(
                run(ScenarioProgram::Fprog2, thread_packet(len)),
                fprog2,
                "fprog2 len {len}"
            );
        }
    }
}
