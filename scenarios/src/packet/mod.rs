//! Packets for the programs to judge: a small builder for the traffic they
//! look at (Ethernet, 802.1Q, IPv4, IPv6, TCP, UDP, SCTP, ARP), the
//! thread's benchmark packet, and a corpus of samples with their expected
//! verdicts.
//!
//! Frames are built from descriptions rather than written as hex so that
//! lengths and checksums are always right and each sample says, in fields,
//! what makes it interesting.

mod checksum;
mod error;
mod frame;
mod ip;
mod samples;
mod thread;
mod transport;

pub use checksum::{crc32c, internet_checksum};
pub use error::PacketError;
pub use frame::{Arp, ETH_ZLEN, Frame, Mac, Network, ethertype};
pub use ip::{IPV6_DST, IPV6_SRC, Ipv4, Ipv6, Ipv6Extension, MAX_FRAGMENT_OFFSET};
pub use samples::{Sample, sample, samples};
pub use thread::{
    BENCH_PACKET_LEN, BENCH_PAYLOAD_LEN, THREAD_DST_IP, THREAD_DST_MAC, THREAD_PACKET_HEAD,
    THREAD_SRC_IP, THREAD_SRC_MAC, bench_frame, bench_packet, thread_packet,
};
pub use transport::{Sctp, Tcp, Transport, Udp, protocol, tcp_flags};
