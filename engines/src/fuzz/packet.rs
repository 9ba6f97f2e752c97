//! Random packets and metadata for generated programs: random, counting or
//! netlink-attribute bytes of about the length the program's offsets aim
//! at, and metadata with any field values, a device or none, and header
//! offsets inside the packet or a little past its end.

use crate::{Device, Meta};
use rand::Rng;

/// A packet with metadata: of a length within 4 bytes of `nominal`
/// (random, counting or netlink bytes), or a netlink attribute stream of
/// its own length, whole or with its last 1 to 3 bytes cut.
pub fn packet(rng: &mut impl Rng, nominal: u32) -> (Vec<u8>, Meta) {
    let data = if rng.random_ratio(4, 5) {
        let len = (nominal + rng.random_range(0..=8)).saturating_sub(4) as usize;
        match rng.random_range(0..6) {
            0..=2 => random_bytes(rng, len),
            3 | 4 => {
                let mut v = netlink_stream(rng);
                v.resize(len, 0);
                v
            }
            _ => (0..len).map(|i| i as u8).collect(),
        }
    } else {
        let mut v = netlink_stream(rng);
        let cut = rng.random_range(0..6);
        if cut <= 3 {
            v.truncate(v.len().saturating_sub(cut));
        }
        v
    };
    let meta = meta(rng, data.len() as u32);
    (data, meta)
}

fn random_bytes(rng: &mut impl Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0; len];
    rng.fill(&mut v[..]);
    v
}

/// Metadata for a `len`-byte packet.
pub fn meta(rng: &mut impl Rng, len: u32) -> Meta {
    Meta {
        protocol: rng.random(),
        pkt_type: rng.random_range(0..8),
        dev: rng.random_ratio(4, 5).then(|| Device {
            ifindex: rng.random(),
            hatype: rng.random(),
        }),
        mark: rng.random(),
        queue_mapping: rng.random(),
        rxhash: rng.random(),
        cpu: rng.random_range(0..64),
        vlan_tci: rng.random(),
        vlan_present: rng.random(),
        vlan_tpid: rng.random(),
        mac_header: rng.random_range(0..=len.saturating_add(4)),
        network_header: rng.random_range(0..=len.saturating_add(4)),
    }
}

/// A netlink attribute stream after a short prefix: one to four attributes
/// of types 0..4, some with the NESTED or NET_BYTEORDER flag, a third of
/// them holding a list of attributes one level down.
pub fn netlink_stream(rng: &mut impl Rng) -> Vec<u8> {
    let prefix = rng.random_range(0..6);
    let mut out = random_bytes(rng, prefix);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    for _ in 0..rng.random_range(1..5) {
        let ty = attribute_type(rng);
        let payload = if rng.random_ratio(3, 10) {
            (0..rng.random_range(0..4))
                .flat_map(|_| {
                    let (t, len) = (attribute_type(rng), rng.random_range(0..7));
                    nla(t, &random_bytes(rng, len))
                })
                .collect()
        } else {
            let len = rng.random_range(0..7);
            random_bytes(rng, len)
        };
        out.extend(nla(ty, &payload));
    }
    out
}

/// An attribute type 0..4, perhaps with the NESTED or NET_BYTEORDER flag.
fn attribute_type(rng: &mut impl Rng) -> u16 {
    let flag = [0, 0x8000, 0x4000, 0][rng.random_range(0..4)];
    rng.random_range(0..4) | flag
}

/// One netlink attribute: `struct nlattr` (length and type in host order)
/// then the payload, padded to 4 bytes.
///
/// # Panics
/// When the payload does not fit a 16-bit length.
pub fn nla(ty: u16, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(4 + payload.len()).expect("a netlink attribute under 64 KiB");
    let mut v = len.to_ne_bytes().to_vec();
    v.extend_from_slice(&ty.to_ne_bytes());
    v.extend_from_slice(payload);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}
