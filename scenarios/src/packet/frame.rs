//! Ethernet frames: MAC addresses, an optional 802.1Q tag inside the frame,
//! the EtherType, and what it announces (IPv4, IPv6, ARP or raw bytes).
//! This is the layer the programs' first load (`ldh [12]`) reads.

use super::error::PacketError;
use super::ip::{Ipv4, Ipv6};
use super::thread::{THREAD_DST_IP, THREAD_DST_MAC, THREAD_SRC_IP, THREAD_SRC_MAC};
use std::net::Ipv4Addr;

/// A MAC address.
pub type Mac = [u8; 6];

/// EtherType values.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// An 802.1Q VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
}

/// Length of an Ethernet frame without FCS below which senders pad
/// (`ETH_ZLEN`).
pub const ETH_ZLEN: usize = 60;

/// An ARP packet for IPv4 over Ethernet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    /// 1 for a request, 2 for a reply.
    pub operation: u16,
    /// Sender hardware address.
    pub sender_mac: Mac,
    /// Sender protocol address.
    pub sender_ip: Ipv4Addr,
    /// Target hardware address (zero in a request).
    pub target_mac: Mac,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl Arp {
    /// The ARP operation code of a request.
    pub const REQUEST: u16 = 1;
    /// The ARP operation code of a reply.
    pub const REPLY: u16 = 2;

    /// A request from `sender_mac`/`sender_ip` asking for `target_ip`.
    pub fn request(sender_mac: Mac, sender_ip: Ipv4Addr, target_ip: Ipv4Addr) -> Arp {
        Arp {
            operation: Arp::REQUEST,
            sender_mac,
            sender_ip,
            target_mac: [0; 6],
            target_ip,
        }
    }

    /// The 28 bytes of the packet.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(28);
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&ethertype::IPV4.to_be_bytes());
        out.extend_from_slice(&[6, 4]);
        out.extend_from_slice(&self.operation.to_be_bytes());
        out.extend_from_slice(&self.sender_mac);
        out.extend_from_slice(&self.sender_ip.octets());
        out.extend_from_slice(&self.target_mac);
        out.extend_from_slice(&self.target_ip.octets());
        out
    }
}

impl Default for Arp {
    /// The thread's source host asking for the thread's destination.
    fn default() -> Self {
        Arp::request(THREAD_SRC_MAC, THREAD_SRC_IP, THREAD_DST_IP)
    }
}

/// What an Ethernet frame carries after its EtherType.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Network {
    /// IPv4 (EtherType 0x0800).
    Ipv4(Ipv4),
    /// IPv6 (EtherType 0x86dd).
    Ipv6(Ipv6),
    /// ARP (EtherType 0x0806).
    Arp(Arp),
    /// Any EtherType followed by arbitrary bytes.
    Raw {
        /// The EtherType.
        ethertype: u16,
        /// The bytes after it.
        bytes: Vec<u8>,
    },
}

impl Network {
    /// The EtherType announcing this content.
    pub fn ethertype(&self) -> u16 {
        match self {
            Network::Ipv4(_) => ethertype::IPV4,
            Network::Ipv6(_) => ethertype::IPV6,
            Network::Arp(_) => ethertype::ARP,
            Network::Raw { ethertype, .. } => *ethertype,
        }
    }

    /// The bytes after the EtherType.
    pub fn encode(&self) -> Result<Vec<u8>, PacketError> {
        match self {
            Network::Ipv4(ip) => ip.encode(),
            Network::Ipv6(ip) => ip.encode(),
            Network::Arp(arp) => Ok(arp.encode()),
            Network::Raw { bytes, .. } => Ok(bytes.clone()),
        }
    }
}

impl From<Ipv4> for Network {
    fn from(ip: Ipv4) -> Self {
        Network::Ipv4(ip)
    }
}

impl From<Ipv6> for Network {
    fn from(ip: Ipv6) -> Self {
        Network::Ipv6(ip)
    }
}

impl From<Arp> for Network {
    fn from(arp: Arp) -> Self {
        Network::Arp(arp)
    }
}

/// An Ethernet frame as a receiving NIC hands it up (no preamble, no FCS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Destination MAC.
    pub dst: Mac,
    /// Source MAC.
    pub src: Mac,
    /// An 802.1Q tag (its TCI) written into the frame before the EtherType,
    /// as a NIC without VLAN offload delivers it.
    pub vlan: Option<u16>,
    /// What follows the EtherType.
    pub network: Network,
    /// Zero-pad the frame to at least this many bytes ([`ETH_ZLEN`] for
    /// what arrives off the wire; 0 for no padding).
    pub min_len: usize,
}

impl Frame {
    /// A frame between the thread's MACs (3c:07:54:43:e5:76 to
    /// 10:bf:48:d6:43:d6), untagged and unpadded.
    pub fn new(network: impl Into<Network>) -> Frame {
        Frame {
            dst: THREAD_DST_MAC,
            src: THREAD_SRC_MAC,
            vlan: None,
            network: network.into(),
            min_len: 0,
        }
    }

    /// The frame's bytes.
    pub fn build(&self) -> Result<Vec<u8>, PacketError> {
        let body = self.network.encode()?;
        let mut out = Vec::with_capacity((18 + body.len()).max(self.min_len));
        out.extend_from_slice(&self.dst);
        out.extend_from_slice(&self.src);
        if let Some(tci) = self.vlan {
            out.extend_from_slice(&ethertype::VLAN.to_be_bytes());
            out.extend_from_slice(&tci.to_be_bytes());
        }
        out.extend_from_slice(&self.network.ethertype().to_be_bytes());
        out.extend_from_slice(&body);
        if out.len() < self.min_len {
            out.resize(self.min_len, 0);
        }
        Ok(out)
    }
}

impl<T: Into<Network>> From<T> for Frame {
    fn from(network: T) -> Self {
        Frame::new(network)
    }
}

#[cfg(test)]
mod tests {
    use super::super::transport::Tcp;
    use super::*;

    #[test]
    fn ethernet_header_layout() {
        let frame = Frame::new(Network::Raw {
            ethertype: 0x88b5,
            bytes: vec![1, 2, 3],
        })
        .build()
        .unwrap();
        assert_eq!(&frame[..6], &THREAD_DST_MAC);
        assert_eq!(&frame[6..12], &THREAD_SRC_MAC);
        assert_eq!(&frame[12..], &[0x88, 0xb5, 1, 2, 3]);
    }

    #[test]
    fn vlan_tag_sits_before_the_ethertype() {
        let frame = Frame {
            vlan: Some(0x2064),
            ..Frame::from(Ipv4::new(Tcp::new(1, 22)))
        }
        .build()
        .unwrap();
        assert_eq!(&frame[12..18], &[0x81, 0x00, 0x20, 0x64, 0x08, 0x00]);
        assert_eq!(frame[18], 0x45);
        assert_eq!(frame.len(), 18 + 40);
    }

    #[test]
    fn padding_reaches_min_len_only() {
        let arp = Frame::from(Arp::default());
        assert_eq!(arp.build().unwrap().len(), 42);
        let padded = Frame {
            min_len: ETH_ZLEN,
            ..arp
        }
        .build()
        .unwrap();
        assert_eq!(padded.len(), 60);
        assert!(padded[42..].iter().all(|&b| b == 0));
        let long = Frame {
            min_len: 10,
            ..Frame::from(Arp::default())
        };
        assert_eq!(long.build().unwrap().len(), 42);
    }

    #[test]
    fn arp_request_layout() {
        let frame = Frame::from(Arp::default()).build().unwrap();
        assert_eq!(&frame[12..14], &[0x08, 0x06]);
        assert_eq!(&frame[14..22], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(&frame[22..28], &THREAD_SRC_MAC);
        assert_eq!(&frame[28..32], &[10, 1, 1, 149]);
        assert_eq!(&frame[32..38], &[0; 6]);
        assert_eq!(&frame[38..42], &[10, 1, 2, 10]);
    }

    #[test]
    fn network_errors_reach_the_frame() {
        let frame = Frame::from(Ipv4 {
            fragment_offset: 0xffff,
            ..Ipv4::default()
        });
        assert_eq!(
            frame.build(),
            Err(PacketError::FragmentOffsetTooLarge { offset: 0xffff })
        );
    }
}
