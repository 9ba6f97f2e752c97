//! The socket buffer a filter runs on: packet bytes plus the metadata that
//! ancillary loads read, and the load rules every engine shares.
//!
//! bpflab models only the linear part of an skb (no fragments), so `len`
//! is the number of packet bytes.

use crate::classic::insn::{ancillary, skf};
use crate::packet_bytes::PacketBytes;

/// The network device an skb arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device {
    /// `dev->ifindex`.
    pub ifindex: u32,
    /// `dev->type`, the ARPHRD_* hardware type.
    pub hatype: u16,
}

impl Default for Device {
    /// `eth0`-like: ifindex 2, ARPHRD_ETHER.
    fn default() -> Self {
        Device {
            ifindex: 2,
            hatype: 1,
        }
    }
}

/// Everything about an skb except its bytes, as a user describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    /// `skb->protocol` in host order (the EtherType, e.g. 0x0800).
    pub protocol: u16,
    /// `skb->pkt_type` (PACKET_HOST = 0 ...); a 3-bit field, so 0..=7.
    pub pkt_type: u8,
    /// The device, or `None` for an skb without one.
    pub dev: Option<Device>,
    /// `skb->mark`.
    pub mark: u32,
    /// `skb->queue_mapping`.
    pub queue_mapping: u16,
    /// `skb->hash`.
    pub rxhash: u32,
    /// The CPU an ancillary CPU load reports.
    pub cpu: u32,
    /// The full VLAN TCI.
    pub vlan_tci: u16,
    /// Whether a VLAN tag is present.
    pub vlan_present: bool,
    /// The VLAN TPID in host order (e.g. 0x8100).
    pub vlan_tpid: u16,
    /// Offset of the link-layer header in the data.
    pub mac_header: u32,
    /// Offset of the network header in the data.
    pub network_header: u32,
}

impl Meta {
    /// The metadata Linux would give an Ethernet frame received on `eth0`:
    /// protocol from the EtherType, network header after the 14-byte
    /// Ethernet header (or at the end of a shorter frame).
    pub fn for_frame(data: &[u8]) -> Self {
        let protocol = match data {
            [_, _, _, _, _, _, _, _, _, _, _, _, hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
            _ => 0,
        };
        Meta {
            protocol,
            pkt_type: 0,
            dev: Some(Device::default()),
            mark: 0,
            queue_mapping: 0,
            rxhash: 0,
            cpu: 0,
            vlan_tci: 0,
            vlan_present: false,
            vlan_tpid: 0,
            mac_header: 0,
            network_header: data.len().min(ETH_HLEN) as u32,
        }
    }
}

/// Length of an Ethernet header.
pub const ETH_HLEN: usize = 14;

/// The skb fields as 32-bit words at fixed offsets: what converted eBPF
/// programs and JITs read through the context pointer, and what the
/// interpreters read directly, so that all engines see the same values.
#[repr(C)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    /// `skb->len`.
    pub len: u32,
    /// Link-layer header offset.
    pub mac_header: u32,
    /// Network header offset.
    pub network_header: u32,
    /// `ntohs(skb->protocol)`.
    pub protocol: u32,
    /// `skb->pkt_type & 7`.
    pub pkt_type: u32,
    /// 1 when the skb has a device.
    pub dev_present: u32,
    /// `dev->ifindex` (0 without a device).
    pub ifindex: u32,
    /// `dev->type` (0 without a device).
    pub hatype: u32,
    /// `skb->mark`.
    pub mark: u32,
    /// `skb->queue_mapping`.
    pub queue_mapping: u32,
    /// `skb->hash`.
    pub rxhash: u32,
    /// The CPU id.
    pub cpu: u32,
    /// The full VLAN TCI.
    pub vlan_tci: u32,
    /// 1 when a VLAN tag is present.
    pub vlan_present: u32,
    /// `ntohs(skb->vlan_proto)`.
    pub vlan_tpid: u32,
}

/// A packet and its metadata, immutable once built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skb {
    ctx: Context,
    data: PacketBytes,
}

impl Skb {
    /// An skb holding `data` with the given metadata.
    ///
    /// # Panics
    /// When `data` is longer than `u32::MAX` bytes, which no skb can be.
    pub fn new(data: Vec<u8>, meta: &Meta) -> Self {
        Skb::with_bytes(PacketBytes::heap(data), meta)
    }

    /// Like [`Skb::new`], with a copy of `data` that ends right before an
    /// inaccessible page, so that an engine reading past the packet faults
    /// instead of passing silently (for fuzzing and tests).
    ///
    /// # Panics
    /// As [`Skb::new`].
    pub fn new_guarded(data: &[u8], meta: &Meta) -> std::io::Result<Self> {
        Ok(Skb::with_bytes(PacketBytes::guarded(data)?, meta))
    }

    /// This skb with its bytes copied before a guard page
    /// ([`Skb::new_guarded`]).
    pub fn guarded_copy(&self) -> std::io::Result<Self> {
        Ok(Skb {
            ctx: self.ctx.clone(),
            data: PacketBytes::guarded(&self.data)?,
        })
    }

    /// Whether the bytes end at a guard page.
    pub fn is_guarded(&self) -> bool {
        self.data.is_guarded()
    }

    fn with_bytes(data: PacketBytes, meta: &Meta) -> Self {
        let len = u32::try_from(data.len()).expect("an skb is shorter than 4 GiB");
        let dev = meta.dev;
        Skb {
            ctx: Context {
                len,
                mac_header: meta.mac_header,
                network_header: meta.network_header,
                protocol: meta.protocol.into(),
                pkt_type: u32::from(meta.pkt_type & 7),
                dev_present: dev.is_some().into(),
                ifindex: dev.map_or(0, |d| d.ifindex),
                hatype: dev.map_or(0, |d| d.hatype.into()),
                mark: meta.mark,
                queue_mapping: meta.queue_mapping.into(),
                rxhash: meta.rxhash,
                cpu: meta.cpu,
                vlan_tci: meta.vlan_tci.into(),
                vlan_present: meta.vlan_present.into(),
                vlan_tpid: meta.vlan_tpid.into(),
            },
            data,
        }
    }

    /// An Ethernet frame with the metadata of [`Meta::for_frame`].
    pub fn from_frame(data: Vec<u8>) -> Self {
        let meta = Meta::for_frame(&data);
        Skb::new(data, &meta)
    }

    /// The packet bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The packet length.
    pub fn len(&self) -> u32 {
        self.ctx.len
    }

    /// Whether the packet is empty.
    pub fn is_empty(&self) -> bool {
        self.ctx.len == 0
    }

    /// The fields ancillary loads read, in their fixed layout.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The metadata this skb was built with.
    pub fn meta(&self) -> Meta {
        let c = &self.ctx;
        Meta {
            protocol: c.protocol as u16,
            pkt_type: c.pkt_type as u8,
            dev: (c.dev_present != 0).then_some(Device {
                ifindex: c.ifindex,
                hatype: c.hatype as u16,
            }),
            mark: c.mark,
            queue_mapping: c.queue_mapping as u16,
            rxhash: c.rxhash,
            cpu: c.cpu,
            vlan_tci: c.vlan_tci as u16,
            vlan_present: c.vlan_present != 0,
            vlan_tpid: c.vlan_tpid as u16,
            mac_header: c.mac_header,
            network_header: c.network_header,
        }
    }

    /// Index of the first of `size` bytes a packet load at signed offset
    /// `off` reads, or `None` when Linux would fail the load (and the
    /// filter return 0).
    ///
    /// Offsets >= 0 address the data; `[SKF_NET_OFF, 0)` and
    /// `[SKF_LL_OFF, SKF_NET_OFF)` address bytes after the network or
    /// link-layer header; anything below is invalid. Ancillary offsets are
    /// not special here: only `LD ABS` decodes them, when it is checked.
    #[inline]
    pub fn load_index(&self, off: i32, size: usize) -> Option<usize> {
        let start = if off >= 0 {
            off as u64
        } else if off >= skf::NET_OFF {
            u64::from(self.ctx.network_header) + (off - skf::NET_OFF) as u64
        } else if off >= skf::LL_OFF {
            u64::from(self.ctx.mac_header) + (off - skf::LL_OFF) as u64
        } else {
            return None;
        };
        (start + size as u64 <= u64::from(self.ctx.len)).then_some(start as usize)
    }

    /// A big-endian 32-bit packet load at `off` (see [`Skb::load_index`]).
    #[inline]
    pub fn load_u32(&self, off: i32) -> Option<u32> {
        let i = self.load_index(off, 4)?;
        let b = self.data.get(i..i + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A big-endian 16-bit packet load at `off` (see [`Skb::load_index`]).
    #[inline]
    pub fn load_u16(&self, off: i32) -> Option<u32> {
        let i = self.load_index(off, 2)?;
        let b = self.data.get(i..i + 2)?;
        Some(u16::from_be_bytes([b[0], b[1]]).into())
    }

    /// A byte packet load at `off` (see [`Skb::load_index`]).
    #[inline]
    pub fn load_u8(&self, off: i32) -> Option<u32> {
        let i = self.load_index(off, 1)?;
        self.data.get(i).map(|&b| b.into())
    }

    /// The value of the ancillary field at `off` (an `SKF_AD_*` offset) given
    /// the current A and X: the new A, or `None` when the filter must return
    /// 0 at once (IFINDEX and HATYPE on an skb without a device, as the
    /// classic interpreter does; bpflab makes every engine do the same).
    ///
    /// Fields the checker refuses (PAY_OFFSET, RANDOM, unknown offsets) never
    /// reach an engine; they read as 0.
    #[inline]
    pub fn ancillary(&self, off: u32, a: u32, x: u32) -> Option<u32> {
        let c = &self.ctx;
        Some(match off {
            ancillary::PROTOCOL => c.protocol,
            ancillary::PKTTYPE => c.pkt_type,
            ancillary::IFINDEX | ancillary::HATYPE if c.dev_present == 0 => return None,
            ancillary::IFINDEX => c.ifindex,
            ancillary::NLATTR => self.nlattr(a, x),
            ancillary::NLATTR_NEST => self.nlattr_nest(a, x),
            ancillary::MARK => c.mark,
            ancillary::QUEUE => c.queue_mapping,
            ancillary::HATYPE => c.hatype,
            ancillary::RXHASH => c.rxhash,
            ancillary::CPU => c.cpu,
            ancillary::ALU_XOR_X => a ^ x,
            ancillary::VLAN_TAG => c.vlan_tci,
            ancillary::VLAN_TAG_PRESENT => c.vlan_present,
            ancillary::VLAN_TPID => c.vlan_tpid,
            _ => 0,
        })
    }

    /// `SKF_AD_NLATTR`: the offset of the first netlink attribute of type
    /// `x` in the attribute stream starting at offset `a`, or 0.
    pub fn nlattr(&self, a: u32, x: u32) -> u32 {
        let a = a as usize;
        match self.data.get(a..) {
            Some(stream) if stream.len() >= NLA_HDRLEN => {
                find_nlattr(stream, x).map_or(0, |pos| (a + pos) as u32)
            }
            _ => 0,
        }
    }

    /// `SKF_AD_NLATTR_NEST`: like [`Skb::nlattr`], searching inside the
    /// payload of the attribute at offset `a`.
    ///
    /// Written with `get` rather than indexing: no panic path, which keeps
    /// the threaded interpreter's handler free of calls.
    pub fn nlattr_nest(&self, a: u32, x: u32) -> u32 {
        let a = a as usize;
        let Some(attr @ [l0, l1, _, _, ..]) = self.data.get(a..) else {
            return 0;
        };
        let nla_len = usize::from(u16::from_ne_bytes([*l0, *l1]));
        match attr.get(NLA_HDRLEN..nla_len.max(NLA_HDRLEN)) {
            Some(payload) if nla_len >= NLA_HDRLEN => {
                find_nlattr(payload, x).map_or(0, |pos| (a + NLA_HDRLEN + pos) as u32)
            }
            _ => 0,
        }
    }
}

/// Size of `struct nlattr` (u16 length, u16 type, host order).
const NLA_HDRLEN: usize = 4;

/// Netlink attribute type bits (without NESTED and NET_BYTEORDER flags).
const NLA_TYPE_MASK: u16 = 0x3fff;

/// Offset in `buf` of the first well-formed attribute of type `ty`, walking
/// attributes as netlink's `nla_find` does (4-byte aligned, stopping at the
/// first malformed header).
fn find_nlattr(buf: &[u8], ty: u32) -> Option<usize> {
    let mut pos = 0usize;
    while buf.len() - pos >= NLA_HDRLEN {
        let nla_len = usize::from(u16::from_ne_bytes([buf[pos], buf[pos + 1]]));
        if nla_len < NLA_HDRLEN || nla_len > buf.len() - pos {
            return None;
        }
        let nla_type = u16::from_ne_bytes([buf[pos + 2], buf[pos + 3]]) & NLA_TYPE_MASK;
        if u32::from(nla_type) == ty {
            return Some(pos);
        }
        pos += nla_len.next_multiple_of(4);
        if pos > buf.len() {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skb(len: usize) -> Skb {
        Skb::from_frame((0..len as u8).collect())
    }

    #[test]
    fn positive_loads_stop_at_the_end() {
        let s = skb(20);
        assert_eq!(s.load_u32(16), Some(0x10111213));
        assert_eq!(s.load_u32(17), None);
        assert_eq!(s.load_u16(18), Some(0x1213));
        assert_eq!(s.load_u16(19), None);
        assert_eq!(s.load_u8(19), Some(19));
        assert_eq!(s.load_u8(20), None);
        assert_eq!(s.load_u8(i32::MAX), None);
    }

    #[test]
    fn negative_windows_are_relative_to_headers() {
        let s = skb(20);
        assert_eq!(s.load_u8(skf::NET_OFF), Some(14));
        assert_eq!(s.load_u16(skf::NET_OFF + 4), Some(0x1213));
        assert_eq!(s.load_u16(skf::NET_OFF + 5), None);
        assert_eq!(s.load_u8(skf::LL_OFF + 3), Some(3));
        assert_eq!(s.load_u32(skf::LL_OFF + 16), Some(0x10111213));
        assert_eq!(s.load_u8(skf::LL_OFF - 1), None);
        assert_eq!(
            s.load_u8(skf::AD_OFF),
            None,
            "ancillary offsets fall in the NET window far out"
        );
        assert_eq!(s.load_u8(-1), None);
    }

    #[test]
    fn metadata_defaults_follow_the_frame() {
        let s = Skb::from_frame(vec![0; 10]);
        assert_eq!(s.context().network_header, 10);
        assert_eq!(s.context().protocol, 0);
        let mut frame = vec![0u8; 14];
        frame[12] = 0x86;
        frame[13] = 0xdd;
        let s = Skb::from_frame(frame);
        assert_eq!(s.ancillary(ancillary::PROTOCOL, 0, 0), Some(0x86dd));
        assert_eq!(s.context().network_header, 14);
        assert_eq!(s.meta(), Meta::for_frame(s.data()));
    }

    #[test]
    fn device_fields_end_the_filter_without_a_device() {
        let mut meta = Meta::for_frame(&[]);
        meta.dev = None;
        let s = Skb::new(vec![], &meta);
        assert_eq!(s.ancillary(ancillary::IFINDEX, 7, 7), None);
        assert_eq!(s.ancillary(ancillary::HATYPE, 7, 7), None);
        assert_eq!(s.ancillary(ancillary::MARK, 7, 7), Some(0));
        let s = Skb::from_frame(vec![]);
        assert_eq!(s.ancillary(ancillary::IFINDEX, 7, 7), Some(2));
        assert_eq!(s.ancillary(ancillary::HATYPE, 7, 7), Some(1));
    }

    fn nla(ty: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = ((NLA_HDRLEN + payload.len()) as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(payload);
        while v.len() % 4 != 0 {
            v.push(0);
        }
        v
    }

    #[test]
    fn nlattr_walks_attributes() {
        let mut data = vec![0xaa; 4];
        data.extend(nla(1, &[1, 2, 3]));
        data.extend(nla(2, &[]));
        let nested = [nla(5, &[9]), nla(6, &[])].concat();
        data.extend(nla(3 | 0x8000, &nested));
        let s = Skb::new(data, &Meta::for_frame(&[]));
        assert_eq!(s.nlattr(4, 1), 4);
        assert_eq!(s.nlattr(4, 2), 12);
        assert_eq!(s.nlattr(4, 3), 16);
        assert_eq!(s.nlattr(4, 9), 0);
        assert_eq!(s.nlattr(0, 1), 0, "0xaaaa is a length past the end");
        assert_eq!(s.nlattr_nest(16, 6), 28);
        assert_eq!(s.nlattr_nest(16, 5), 20);
        assert_eq!(s.nlattr_nest(16, 1), 0);
        assert_eq!(s.nlattr(u32::MAX, 1), 0);
        assert_eq!(s.nlattr_nest(u32::MAX, 1), 0);
    }
}
