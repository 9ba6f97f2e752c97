//! IPv4 and IPv6 headers: the layer both programs test first (EtherType,
//! protocol, fragment offset, header length, total length), built with
//! correct lengths and checksums from a few fields.

use super::checksum::internet_checksum;
use super::error::{PacketError, length_u16};
use super::thread::{THREAD_DST_IP, THREAD_SRC_IP};
use super::transport::Transport;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The largest fragment offset, in 8-byte units (13 bits).
pub const MAX_FRAGMENT_OFFSET: u16 = 0x1fff;

/// An IPv4 datagram: header fields, transport and payload. IHL, total
/// length and header checksum follow from the rest.
///
/// A non-first fragment (`fragment_offset != 0`) carries no transport
/// header: `payload` is all it holds, while the protocol field still names
/// `transport`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv4 {
    /// Type of service (DSCP and ECN).
    pub tos: u8,
    /// Identification.
    pub id: u16,
    /// Time to live.
    pub ttl: u8,
    /// The DF flag.
    pub dont_fragment: bool,
    /// The MF flag.
    pub more_fragments: bool,
    /// Fragment offset in 8-byte units (at most [`MAX_FRAGMENT_OFFSET`]).
    pub fragment_offset: u16,
    /// Option bytes, padded with zero (end-of-options) to a multiple of 4;
    /// at most 40.
    pub options: Vec<u8>,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// The transport header (and protocol number).
    pub transport: Transport,
    /// Bytes after the transport header.
    pub payload: Vec<u8>,
}

impl Ipv4 {
    /// A datagram between the thread's addresses (10.1.1.149 to 10.1.2.10),
    /// TTL 64, no flags, options or payload.
    pub fn new(transport: impl Into<Transport>) -> Ipv4 {
        Ipv4 {
            tos: 0,
            id: 0,
            ttl: 64,
            dont_fragment: false,
            more_fragments: false,
            fragment_offset: 0,
            options: Vec::new(),
            src: THREAD_SRC_IP,
            dst: THREAD_DST_IP,
            transport: transport.into(),
            payload: Vec::new(),
        }
    }

    /// The header length in bytes (20 plus padded options), as IHL × 4.
    pub fn header_len(&self) -> usize {
        20 + self.options.len().next_multiple_of(4)
    }

    /// The datagram's bytes, from the version/IHL byte to the payload's end.
    pub fn encode(&self) -> Result<Vec<u8>, PacketError> {
        if self.fragment_offset > MAX_FRAGMENT_OFFSET {
            return Err(PacketError::FragmentOffsetTooLarge {
                offset: self.fragment_offset,
            });
        }
        let header_len = self.header_len();
        if header_len > 60 {
            return Err(PacketError::Ipv4OptionsTooLong {
                len: self.options.len(),
            });
        }
        let protocol = self.transport.protocol();
        let body = if self.fragment_offset != 0 {
            self.payload.clone()
        } else {
            let (src, dst) = (self.src.octets(), self.dst.octets());
            self.transport.encode(&self.payload, |proto, len| {
                let mut p = Vec::with_capacity(12);
                p.extend_from_slice(&src);
                p.extend_from_slice(&dst);
                p.extend_from_slice(&[0, proto]);
                // A transport longer than 65535 fails the total length below.
                p.extend_from_slice(&(len as u16).to_be_bytes());
                p
            })?
        };
        let total = length_u16("IPv4 datagram", header_len + body.len())?;
        let flags_frag = u16::from(self.dont_fragment) << 14
            | u16::from(self.more_fragments) << 13
            | self.fragment_offset;
        let mut out = Vec::with_capacity(usize::from(total));
        out.push(0x40 | (header_len / 4) as u8);
        out.push(self.tos);
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&flags_frag.to_be_bytes());
        out.push(self.ttl);
        out.push(protocol);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.src.octets());
        out.extend_from_slice(&self.dst.octets());
        out.extend_from_slice(&self.options);
        out.resize(header_len, 0);
        let sum = internet_checksum(&out);
        out[10..12].copy_from_slice(&sum.to_be_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }
}

impl Default for Ipv4 {
    /// [`Ipv4::new`] carrying a TCP header with ports 0.
    fn default() -> Self {
        Ipv4::new(Transport::default())
    }
}

/// An IPv6 extension header: its type (the next-header value that names
/// it) and the bytes after its next-header and length fields, padded with
/// zeros (Pad1 options) so the header is a multiple of 8 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv6Extension {
    /// The protocol number naming this header (0 hop-by-hop, 60
    /// destination options, ...).
    pub header_type: u8,
    /// The header's bytes after its first two.
    pub data: Vec<u8>,
}

/// An IPv6 packet: header fields, extension headers, transport and
/// payload. Payload length and the next-header chain follow from the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv6 {
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    /// Hop limit.
    pub hop_limit: u8,
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Extension headers between the IPv6 header and the transport.
    pub extensions: Vec<Ipv6Extension>,
    /// The transport header (and its next-header value).
    pub transport: Transport,
    /// Bytes after the transport header.
    pub payload: Vec<u8>,
}

/// The documentation-prefix addresses IPv6 packets default to.
pub const IPV6_SRC: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
/// See [`IPV6_SRC`].
pub const IPV6_DST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

impl Ipv6 {
    /// A packet from 2001:db8::1 to 2001:db8::2, hop limit 64, no
    /// extension headers or payload.
    pub fn new(transport: impl Into<Transport>) -> Ipv6 {
        Ipv6 {
            traffic_class: 0,
            flow_label: 0,
            hop_limit: 64,
            src: IPV6_SRC,
            dst: IPV6_DST,
            extensions: Vec::new(),
            transport: transport.into(),
            payload: Vec::new(),
        }
    }

    /// The packet's bytes, from the version nibble to the payload's end.
    pub fn encode(&self) -> Result<Vec<u8>, PacketError> {
        if self.flow_label > 0xf_ffff {
            return Err(PacketError::FlowLabelTooLarge {
                label: self.flow_label,
            });
        }
        let upper = self.transport.protocol();
        let (src, dst) = (self.src.octets(), self.dst.octets());
        let transport = self.transport.encode(&self.payload, |proto, len| {
            let mut p = Vec::with_capacity(40);
            p.extend_from_slice(&src);
            p.extend_from_slice(&dst);
            p.extend_from_slice(&(len as u32).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, proto]);
            p
        })?;
        let mut chain = Vec::new();
        for (i, ext) in self.extensions.iter().enumerate() {
            let next = self.extensions.get(i + 1).map_or(upper, |e| e.header_type);
            let len = (2 + ext.data.len()).next_multiple_of(8);
            if len > 2048 {
                return Err(PacketError::ExtensionTooLong { len });
            }
            let start = chain.len();
            chain.push(next);
            chain.push((len / 8 - 1) as u8);
            chain.extend_from_slice(&ext.data);
            chain.resize(start + len, 0);
        }
        let payload_len = length_u16("IPv6 payload", chain.len() + transport.len())?;
        let first = self.extensions.first().map_or(upper, |e| e.header_type);
        let word = 6u32 << 28 | u32::from(self.traffic_class) << 20 | self.flow_label;
        let mut out = Vec::with_capacity(40 + usize::from(payload_len));
        out.extend_from_slice(&word.to_be_bytes());
        out.extend_from_slice(&payload_len.to_be_bytes());
        out.push(first);
        out.push(self.hop_limit);
        out.extend_from_slice(&src);
        out.extend_from_slice(&dst);
        out.extend_from_slice(&chain);
        out.extend_from_slice(&transport);
        Ok(out)
    }
}

impl Default for Ipv6 {
    /// [`Ipv6::new`] carrying a TCP header with ports 0.
    fn default() -> Self {
        Ipv6::new(Transport::default())
    }
}

#[cfg(test)]
mod tests {
    use super::super::transport::{Tcp, Udp, protocol};
    use super::*;

    #[test]
    fn ipv4_header_fields_lengths_and_checksum() {
        let ip = Ipv4 {
            tos: 0x10,
            id: 0x75b5,
            dont_fragment: true,
            payload: vec![0; 60],
            ..Ipv4::new(Tcp::new(49700, 22))
        };
        let bytes = ip.encode().unwrap();
        assert_eq!(bytes.len(), 100);
        assert_eq!(
            &bytes[..20],
            &[
                0x45, 0x10, 0x00, 0x64, 0x75, 0xb5, 0x40, 0x00, 0x40, 0x06, 0xad, 0x2e, 10, 1, 1,
                149, 10, 1, 2, 10
            ]
        );
        assert_eq!(internet_checksum(&bytes[..20]), 0);
    }

    #[test]
    fn ipv4_options_set_ihl_and_pad() {
        let ip = Ipv4 {
            options: vec![0x94, 0x04, 0x00, 0x00, 0x01],
            ..Ipv4::new(Udp::new(1, 2))
        };
        let bytes = ip.encode().unwrap();
        assert_eq!(bytes[0], 0x47);
        assert_eq!(&bytes[20..28], &[0x94, 4, 0, 0, 1, 0, 0, 0]);
        assert_eq!(u16::from_be_bytes([bytes[2], bytes[3]]), 28 + 8);
        assert_eq!(internet_checksum(&bytes[..28]), 0);
        let long = Ipv4 {
            options: vec![1; 41],
            ..Ipv4::default()
        };
        assert_eq!(
            long.encode(),
            Err(PacketError::Ipv4OptionsTooLong { len: 41 })
        );
    }

    #[test]
    fn ipv4_fragments() {
        let first = Ipv4 {
            more_fragments: true,
            ..Ipv4::new(Tcp::new(1, 22))
        };
        let bytes = first.encode().unwrap();
        assert_eq!(&bytes[6..8], &[0x20, 0x00]);
        assert_eq!(bytes.len(), 40, "the first fragment has the TCP header");
        let tail = Ipv4 {
            fragment_offset: MAX_FRAGMENT_OFFSET,
            payload: vec![0, 22, 0, 22],
            ..Ipv4::new(Tcp::new(1, 22))
        };
        let bytes = tail.encode().unwrap();
        assert_eq!(&bytes[6..8], &[0x1f, 0xff]);
        assert_eq!(bytes[9], protocol::TCP);
        assert_eq!(&bytes[20..], &[0, 22, 0, 22], "no transport header");
        let bad = Ipv4 {
            fragment_offset: 0x2000,
            ..Ipv4::default()
        };
        assert_eq!(
            bad.encode(),
            Err(PacketError::FragmentOffsetTooLarge { offset: 0x2000 })
        );
    }

    #[test]
    fn ipv4_refuses_datagrams_over_64k() {
        let ip = Ipv4 {
            payload: vec![0; 65535 - 40 + 1],
            ..Ipv4::default()
        };
        assert_eq!(
            ip.encode(),
            Err(PacketError::TooLong {
                what: "IPv4 datagram",
                len: 65536
            })
        );
    }

    #[test]
    fn ipv4_tcp_checksum_covers_the_pseudo_header() {
        let bytes = Ipv4 {
            payload: vec![1, 2, 3],
            ..Ipv4::new(Tcp::new(1000, 22))
        }
        .encode()
        .unwrap();
        let mut covered = bytes[12..20].to_vec();
        covered.extend_from_slice(&[0, 6, 0, 23]);
        covered.extend_from_slice(&bytes[20..]);
        assert_eq!(internet_checksum(&covered), 0);
    }

    #[test]
    fn ipv6_header_and_extension_chain() {
        let ip = Ipv6 {
            traffic_class: 0xab,
            flow_label: 0x12345,
            hop_limit: 7,
            extensions: vec![
                Ipv6Extension {
                    header_type: protocol::IPV6_HOP_BY_HOP,
                    data: vec![],
                },
                Ipv6Extension {
                    header_type: protocol::IPV6_DEST_OPTS,
                    data: vec![1; 7],
                },
            ],
            payload: vec![9],
            ..Ipv6::new(Udp::new(5, 22))
        };
        let bytes = ip.encode().unwrap();
        assert_eq!(&bytes[..4], &[0x6a, 0xb1, 0x23, 0x45]);
        assert_eq!(u16::from_be_bytes([bytes[4], bytes[5]]), 8 + 16 + 9);
        assert_eq!(bytes[6], protocol::IPV6_HOP_BY_HOP);
        assert_eq!(bytes[7], 7);
        assert_eq!(&bytes[8..24], &IPV6_SRC.octets());
        assert_eq!(&bytes[24..40], &IPV6_DST.octets());
        assert_eq!(
            &bytes[40..48],
            &[protocol::IPV6_DEST_OPTS, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(&bytes[48..50], &[protocol::UDP, 1]);
        assert_eq!(&bytes[50..57], &[1; 7]);
        assert_eq!(&bytes[57..64], &[0; 7]);
        assert_eq!(&bytes[64..68], &[0, 5, 0, 22]);
        assert_eq!(bytes.len(), 40 + 16 + 8 + 8 + 1);
    }

    #[test]
    fn ipv6_udp_checksum_and_limits() {
        let bytes = Ipv6::new(Udp::new(7, 22)).encode().unwrap();
        assert_eq!(bytes[6], protocol::UDP);
        let mut covered = bytes[8..40].to_vec();
        covered.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 17]);
        covered.extend_from_slice(&bytes[40..]);
        assert_eq!(internet_checksum(&covered), 0);
        let bad = Ipv6 {
            flow_label: 0x10_0000,
            ..Ipv6::default()
        };
        assert_eq!(
            bad.encode(),
            Err(PacketError::FlowLabelTooLarge { label: 0x10_0000 })
        );
        let long_ext = Ipv6 {
            extensions: vec![Ipv6Extension {
                header_type: 0,
                data: vec![0; 2047],
            }],
            ..Ipv6::default()
        };
        assert_eq!(
            long_ext.encode(),
            Err(PacketError::ExtensionTooLong { len: 2056 })
        );
    }
}
