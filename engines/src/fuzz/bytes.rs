//! The byte layout the cargo-fuzz differential target reads, and writes
//! for its seed corpus: a raw instruction array, then metadata, then the
//! packet. Raw, not generated, so that the fuzzer also reaches programs
//! the generator would never build.
//!
//! ```text
//! u16 LE   n, the number of instructions (cut to what the input holds)
//! n × 8    instructions as struct sock_filter, little-endian
//! 32       metadata (see `meta_from`; missing bytes read as zero)
//! rest     the packet
//! ```

use crate::classic::Insn;
use crate::{Device, Meta};

/// Bytes of metadata in the layout.
pub const META_BYTES: usize = 32;

/// Instructions, metadata and packet from fuzzer bytes.
pub fn split(data: &[u8]) -> (Vec<Insn>, Meta, Vec<u8>) {
    let (count, rest) = match data {
        [lo, hi, rest @ ..] => (usize::from(u16::from_le_bytes([*lo, *hi])), rest),
        _ => (0, &[][..]),
    };
    let count = count.min(rest.len() / 8);
    let (code, rest) = rest.split_at(count * 8);
    let insns = code
        .chunks_exact(8)
        .map(|b| Insn {
            code: u16::from_le_bytes([b[0], b[1]]),
            jt: b[2],
            jf: b[3],
            k: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        })
        .collect();
    let (meta, packet) = rest.split_at(rest.len().min(META_BYTES));
    let mut m = [0u8; META_BYTES];
    m[..meta.len()].copy_from_slice(meta);
    (insns, meta_from(&m), packet.to_vec())
}

/// The inverse of [`split`], for seed inputs.
pub fn join(insns: &[Insn], meta: &Meta, packet: &[u8]) -> Vec<u8> {
    let count = u16::try_from(insns.len()).unwrap_or(u16::MAX);
    let mut out = count.to_le_bytes().to_vec();
    for i in insns.iter().take(count.into()) {
        out.extend(i.code.to_le_bytes());
        out.extend([i.jt, i.jf]);
        out.extend(i.k.to_le_bytes());
    }
    out.extend(meta_bytes(meta));
    out.extend_from_slice(packet);
    out
}

fn meta_from(b: &[u8; META_BYTES]) -> Meta {
    let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let flags = b[2];
    Meta {
        protocol: u16_at(0),
        pkt_type: flags & 7,
        dev: (flags & 8 == 0).then(|| Device {
            ifindex: u32_at(4),
            hatype: u16_at(8),
        }),
        vlan_present: flags & 16 != 0,
        cpu: u32::from(b[3]),
        queue_mapping: u16_at(10),
        mark: u32_at(12),
        rxhash: u32_at(16),
        vlan_tci: u16_at(20),
        vlan_tpid: u16_at(22),
        mac_header: u32_at(24),
        network_header: u32_at(28),
    }
}

fn meta_bytes(m: &Meta) -> [u8; META_BYTES] {
    let mut b = [0u8; META_BYTES];
    let dev = m.dev.unwrap_or(Device {
        ifindex: 0,
        hatype: 0,
    });
    b[0..2].copy_from_slice(&m.protocol.to_le_bytes());
    b[2] = (m.pkt_type & 7) | u8::from(m.dev.is_none()) << 3 | u8::from(m.vlan_present) << 4;
    b[3] = m.cpu as u8;
    b[4..8].copy_from_slice(&dev.ifindex.to_le_bytes());
    b[8..10].copy_from_slice(&dev.hatype.to_le_bytes());
    b[10..12].copy_from_slice(&m.queue_mapping.to_le_bytes());
    b[12..16].copy_from_slice(&m.mark.to_le_bytes());
    b[16..20].copy_from_slice(&m.rxhash.to_le_bytes());
    b[20..22].copy_from_slice(&m.vlan_tci.to_le_bytes());
    b[22..24].copy_from_slice(&m.vlan_tpid.to_le_bytes());
    b[24..28].copy_from_slice(&m.mac_header.to_le_bytes());
    b[28..32].copy_from_slice(&m.network_header.to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::Case;

    #[test]
    #[cfg_attr(miri, ignore = "generated cases: safe code, too slow for Miri")]
    fn join_then_split_gives_the_case_back() {
        for index in 0..50 {
            let case = Case::nth(5, index);
            let (packet, mut meta) = case.packets[0].clone();
            meta.cpu &= 0xff; // one byte in the layout
            let (insns, m, p) = split(&join(&case.insns, &meta, &packet));
            assert_eq!((insns, m, p), (case.insns.clone(), meta, packet));
        }
    }

    #[test]
    fn short_and_lying_inputs_still_split() {
        assert_eq!(split(&[]).0, vec![]);
        assert_eq!(split(&[5]).2, Vec::<u8>::new());
        // Claims 0xffff instructions, holds one.
        let (insns, _, packet) = split(&[0xff, 0xff, 6, 0, 0, 0, 1, 0, 0, 0, 9]);
        assert_eq!(insns.len(), 1);
        assert!(packet.is_empty());
    }
}
