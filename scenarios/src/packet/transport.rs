//! Transport headers (TCP, UDP, SCTP, or none for any other protocol) and
//! their checksums, which cover a pseudo-header the network layer supplies.

use super::checksum::{crc32c, internet_checksum};
use super::error::{PacketError, length_u16};

/// IP protocol numbers of the transports the thread's programs look for.
pub mod protocol {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 hop-by-hop options (an extension header, as a next-header value).
    pub const IPV6_HOP_BY_HOP: u8 = 0;
    /// IPv6 destination options (an extension header).
    pub const IPV6_DEST_OPTS: u8 = 60;
    /// SCTP.
    pub const SCTP: u8 = 132;
}

/// TCP header flag bits.
pub mod tcp_flags {
    /// No more data from the sender.
    pub const FIN: u8 = 0x01;
    /// Synchronize sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push.
    pub const PSH: u8 = 0x08;
    /// The acknowledgment field is significant.
    pub const ACK: u8 = 0x10;
    /// The urgent pointer is significant.
    pub const URG: u8 = 0x20;
    /// ECN echo.
    pub const ECE: u8 = 0x40;
    /// Congestion window reduced.
    pub const CWR: u8 = 0x80;
}

/// A TCP header. The data offset follows from the options, which are
/// padded with zero (end-of-options) bytes to a multiple of 4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tcp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flag bits ([`tcp_flags`]).
    pub flags: u8,
    /// Receive window.
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Option bytes (at most 40 after padding).
    pub options: Vec<u8>,
}

impl Tcp {
    /// An ACK segment between two ports, no options.
    pub fn new(src_port: u16, dst_port: u16) -> Tcp {
        Tcp {
            src_port,
            dst_port,
            seq: 0,
            ack: 0,
            flags: tcp_flags::ACK,
            window: 65535,
            urgent: 0,
            options: Vec::new(),
        }
    }
}

impl Default for Tcp {
    /// [`Tcp::new`] with both ports 0.
    fn default() -> Self {
        Tcp::new(0, 0)
    }
}

/// A UDP header; its length field follows from the payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Udp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
}

impl Udp {
    /// A datagram between two ports.
    pub fn new(src_port: u16, dst_port: u16) -> Udp {
        Udp { src_port, dst_port }
    }
}

/// An SCTP common header; the payload is its chunks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sctp {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Verification tag.
    pub verification_tag: u32,
}

impl Sctp {
    /// A packet between two ports with verification tag 0 (as an INIT has).
    pub fn new(src_port: u16, dst_port: u16) -> Sctp {
        Sctp {
            src_port,
            dst_port,
            verification_tag: 0,
        }
    }
}

/// What follows the IP header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// A TCP header.
    Tcp(Tcp),
    /// A UDP header.
    Udp(Udp),
    /// An SCTP common header.
    Sctp(Sctp),
    /// Any other protocol: no header is built, the payload is the whole
    /// transport part.
    Other {
        /// The IP protocol number.
        protocol: u8,
    },
}

impl Default for Transport {
    /// A TCP header with ports 0.
    fn default() -> Self {
        Transport::Tcp(Tcp::default())
    }
}

impl From<Tcp> for Transport {
    fn from(t: Tcp) -> Self {
        Transport::Tcp(t)
    }
}

impl From<Udp> for Transport {
    fn from(u: Udp) -> Self {
        Transport::Udp(u)
    }
}

impl From<Sctp> for Transport {
    fn from(s: Sctp) -> Self {
        Transport::Sctp(s)
    }
}

impl Transport {
    /// The IP protocol number (IPv6 next header) naming this transport.
    pub fn protocol(&self) -> u8 {
        match self {
            Transport::Tcp(_) => protocol::TCP,
            Transport::Udp(_) => protocol::UDP,
            Transport::Sctp(_) => protocol::SCTP,
            Transport::Other { protocol } => *protocol,
        }
    }

    /// The transport header followed by `payload`, checksums filled in;
    /// `pseudo` gives the network layer's pseudo-header for a transport
    /// length (what TCP and UDP checksums cover besides their own bytes).
    pub(crate) fn encode(
        &self,
        payload: &[u8],
        pseudo: impl Fn(u8, usize) -> Vec<u8>,
    ) -> Result<Vec<u8>, PacketError> {
        let mut out = match self {
            Transport::Tcp(tcp) => tcp_header(tcp)?,
            Transport::Udp(udp) => {
                let len = length_u16("UDP datagram", 8 + payload.len())?;
                let mut h = Vec::with_capacity(8);
                h.extend_from_slice(&udp.src_port.to_be_bytes());
                h.extend_from_slice(&udp.dst_port.to_be_bytes());
                h.extend_from_slice(&len.to_be_bytes());
                h.extend_from_slice(&[0, 0]);
                h
            }
            Transport::Sctp(sctp) => {
                let mut h = Vec::with_capacity(12);
                h.extend_from_slice(&sctp.src_port.to_be_bytes());
                h.extend_from_slice(&sctp.dst_port.to_be_bytes());
                h.extend_from_slice(&sctp.verification_tag.to_be_bytes());
                h.extend_from_slice(&[0; 4]);
                h
            }
            Transport::Other { .. } => Vec::new(),
        };
        out.extend_from_slice(payload);
        match self {
            Transport::Tcp(_) | Transport::Udp(_) => {
                let mut covered = pseudo(self.protocol(), out.len());
                covered.extend_from_slice(&out);
                let mut sum = internet_checksum(&covered);
                if sum == 0 && matches!(self, Transport::Udp(_)) {
                    // A UDP checksum of 0 means "none"; 0xffff is the same sum.
                    sum = 0xffff;
                }
                let at = if matches!(self, Transport::Tcp(_)) {
                    16
                } else {
                    6
                };
                out[at..at + 2].copy_from_slice(&sum.to_be_bytes());
            }
            Transport::Sctp(_) => {
                // SCTP stores its CRC32c least significant byte first.
                let crc = crc32c(&out);
                out[8..12].copy_from_slice(&crc.to_le_bytes());
            }
            Transport::Other { .. } => {}
        }
        Ok(out)
    }
}

/// The TCP header without its checksum.
fn tcp_header(tcp: &Tcp) -> Result<Vec<u8>, PacketError> {
    let options_len = tcp.options.len().next_multiple_of(4);
    if options_len > 40 {
        return Err(PacketError::TcpOptionsTooLong {
            len: tcp.options.len(),
        });
    }
    let header_len = 20 + options_len;
    let mut h = Vec::with_capacity(header_len);
    h.extend_from_slice(&tcp.src_port.to_be_bytes());
    h.extend_from_slice(&tcp.dst_port.to_be_bytes());
    h.extend_from_slice(&tcp.seq.to_be_bytes());
    h.extend_from_slice(&tcp.ack.to_be_bytes());
    h.push(((header_len / 4) as u8) << 4);
    h.push(tcp.flags);
    h.extend_from_slice(&tcp.window.to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&tcp.urgent.to_be_bytes());
    h.extend_from_slice(&tcp.options);
    h.resize(header_len, 0);
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_pseudo(_: u8, _: usize) -> Vec<u8> {
        Vec::new()
    }

    #[test]
    fn tcp_header_layout_and_data_offset() {
        let tcp = Tcp {
            seq: 0x0102_0304,
            ack: 0x0506_0708,
            flags: tcp_flags::SYN | tcp_flags::ACK,
            window: 0x1234,
            urgent: 0x5678,
            options: vec![2, 4, 0x05, 0xb4, 1, 1, 4],
            ..Tcp::new(49700, 22)
        };
        let seg = Transport::from(tcp).encode(&[0xaa], no_pseudo).unwrap();
        assert_eq!(seg.len(), 20 + 8 + 1);
        assert_eq!(&seg[..4], &[0xc2, 0x24, 0x00, 0x16]);
        assert_eq!(&seg[4..12], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(seg[12], 7 << 4, "data offset 7 words");
        assert_eq!(seg[13], 0x12);
        assert_eq!(&seg[14..16], &[0x12, 0x34]);
        assert_eq!(&seg[18..20], &[0x56, 0x78]);
        assert_eq!(&seg[20..28], &[2, 4, 0x05, 0xb4, 1, 1, 4, 0]);
        assert_eq!(seg[28], 0xaa);
        assert_eq!(internet_checksum(&seg), 0, "checksum covers the segment");
    }

    #[test]
    fn tcp_options_are_limited_to_40_bytes() {
        let padded = Tcp {
            options: vec![1; 37],
            ..Tcp::default()
        };
        assert_eq!(
            Transport::from(padded).encode(&[], no_pseudo).unwrap()[12],
            0xf0,
            "37 bytes pad to 40"
        );
        let ok = Tcp {
            options: vec![1; 40],
            ..Tcp::default()
        };
        assert_eq!(
            Transport::from(ok).encode(&[], no_pseudo).unwrap()[12],
            0xf0
        );
        let long = Tcp {
            options: vec![1; 41],
            ..Tcp::default()
        };
        assert_eq!(
            Transport::from(long).encode(&[], no_pseudo),
            Err(PacketError::TcpOptionsTooLong { len: 41 })
        );
    }

    #[test]
    fn udp_length_and_checksum_include_the_pseudo_header() {
        let pseudo = |proto: u8, len: usize| vec![0, proto, 0, len as u8];
        let dgram = Transport::from(Udp::new(53, 22))
            .encode(&[1, 2, 3], pseudo)
            .unwrap();
        assert_eq!(&dgram[..6], &[0, 53, 0, 22, 0, 11]);
        let mut covered = pseudo(17, 11);
        covered.extend_from_slice(&dgram);
        assert_eq!(internet_checksum(&covered), 0);
        assert_eq!(
            Transport::from(Udp::new(1, 2)).encode(&vec![0; 65528], no_pseudo),
            Err(PacketError::TooLong {
                what: "UDP datagram",
                len: 65536
            })
        );
    }

    #[test]
    fn udp_never_sends_a_zero_checksum() {
        // Header words 0, 0, 8, 0 plus a pseudo-header word 0xfff7 sum to
        // 0xffff, whose complement 0 must go out as 0xffff.
        let cancel = |_: u8, _: usize| vec![0xff, 0xf7];
        let dgram = Transport::from(Udp::new(0, 0)).encode(&[], cancel).unwrap();
        assert_eq!(dgram, [0, 0, 0, 0, 0, 8, 0xff, 0xff]);
    }

    #[test]
    fn sctp_carries_crc32c_little_endian() {
        let pkt = Transport::from(Sctp {
            verification_tag: 0xdead_beef,
            ..Sctp::new(22, 5000)
        })
        .encode(&[0; 4], no_pseudo)
        .unwrap();
        assert_eq!(&pkt[..8], &[0, 22, 0x13, 0x88, 0xde, 0xad, 0xbe, 0xef]);
        let mut zeroed = pkt.clone();
        zeroed[8..12].fill(0);
        assert_eq!(&pkt[8..12], &crc32c(&zeroed).to_le_bytes());
    }

    #[test]
    fn other_protocols_get_no_header() {
        let t = Transport::Other {
            protocol: protocol::ICMP,
        };
        assert_eq!(t.protocol(), 1);
        assert_eq!(
            t.encode(&[8, 0, 0xf7, 0xff], no_pseudo).unwrap(),
            [8, 0, 0xf7, 0xff]
        );
    }
}
