//! A small reference model of classic BPF, written from
//! `shared/reference/bpf-semantics.md` §2 (with bpflab's 5.x choices) and
//! independently of `engines/src`: it reads the packet bytes and the
//! [`Meta`] directly, not through `Skb`'s load helpers. The differential
//! tests compare every engine with it.
//!
//! It assumes a program that passed the checker (forward jumps in range, a
//! final RET, scratch memory written before it is read); on anything else
//! it panics rather than guess.

use bpflab_engines::Meta;
use bpflab_engines::classic::Insn;
use bpflab_engines::classic::insn::{ancillary, class, code, mode, op, size, skf, src};

/// The value the filter `insns` returns for the packet `data` with the
/// metadata `meta`.
pub fn run(insns: &[Insn], data: &[u8], meta: &Meta) -> u32 {
    let mut a: u32 = 0;
    let mut x: u32 = 0;
    let mut m = [0u32; 16];
    let mut pc = 0usize;
    loop {
        let insn = insns[pc];
        pc += 1;
        let k = insn.k;
        match insn.class() {
            class::RET => {
                return if insn.code == code::RET_A { a } else { k };
            }
            class::ALU => {
                let s = if insn.code & src::MASK == src::X {
                    x
                } else {
                    k
                };
                a = match insn.code & op::MASK {
                    op::ADD => a.wrapping_add(s),
                    op::SUB => a.wrapping_sub(s),
                    op::MUL => a.wrapping_mul(s),
                    op::DIV | op::MOD if s == 0 => return 0,
                    op::DIV => a / s,
                    op::MOD => a % s,
                    op::AND => a & s,
                    op::OR => a | s,
                    op::XOR => a ^ s,
                    op::LSH => a << (s % 32),
                    op::RSH => a >> (s % 32),
                    op::NEG => 0u32.wrapping_sub(a),
                    other => panic!("ALU op {other:#x} at {}", pc - 1),
                };
            }
            class::JMP => {
                if insn.code == code::JA {
                    pc += k as usize;
                    continue;
                }
                let s = if insn.code & src::MASK == src::X {
                    x
                } else {
                    k
                };
                let cond = match insn.code & op::MASK {
                    op::JEQ => a == s,
                    op::JGT => a > s,
                    op::JGE => a >= s,
                    op::JSET => a & s != 0,
                    other => panic!("jump op {other:#x} at {}", pc - 1),
                };
                pc += usize::from(if cond { insn.jt } else { insn.jf });
            }
            class::ST => m[k as usize] = a,
            class::STX => m[k as usize] = x,
            class::MISC => {
                if insn.code == code::TAX {
                    x = a;
                } else {
                    a = x;
                }
            }
            class::LD => {
                let width = match insn.code & size::MASK {
                    size::W => 4,
                    size::H => 2,
                    _ => 1,
                };
                a = match insn.code & mode::MASK {
                    mode::IMM => k,
                    mode::LEN => data.len() as u32,
                    mode::MEM => m[k as usize],
                    mode::ABS if k as i32 >= skf::AD_OFF && (k as i32) < 0 => {
                        match anc(k.wrapping_sub(skf::AD_OFF as u32), a, x, data, meta) {
                            Some(v) => v,
                            None => return 0,
                        }
                    }
                    mode::ABS => match load(data, meta, k as i32, width) {
                        Some(v) => v,
                        None => return 0,
                    },
                    mode::IND => match load(data, meta, x.wrapping_add(k) as i32, width) {
                        Some(v) => v,
                        None => return 0,
                    },
                    other => panic!("LD mode {other:#x} at {}", pc - 1),
                };
            }
            _ => {
                // LDX
                x = match insn.code & mode::MASK {
                    mode::IMM => k,
                    mode::LEN => data.len() as u32,
                    mode::MEM => m[k as usize],
                    mode::MSH => match load(data, meta, k as i32, 1) {
                        Some(v) => (v & 0xf) * 4,
                        None => return 0,
                    },
                    other => panic!("LDX mode {other:#x} at {}", pc - 1),
                };
            }
        }
    }
}

/// A big-endian packet load of `width` bytes at the signed offset `off`,
/// or `None` when it fails.
pub fn load(data: &[u8], meta: &Meta, off: i32, width: usize) -> Option<u32> {
    let start: i64 = if off >= 0 {
        i64::from(off)
    } else if off >= skf::NET_OFF {
        i64::from(meta.network_header) + i64::from(off) - i64::from(skf::NET_OFF)
    } else if off >= skf::LL_OFF {
        i64::from(meta.mac_header) + i64::from(off) - i64::from(skf::LL_OFF)
    } else {
        return None;
    };
    let end = start + width as i64;
    if end > data.len() as i64 {
        return None;
    }
    let bytes = &data[start as usize..end as usize];
    Some(bytes.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b)))
}

/// An ancillary load: the new A, or `None` when the filter returns 0.
fn anc(field: u32, a: u32, x: u32, data: &[u8], meta: &Meta) -> Option<u32> {
    Some(match field {
        ancillary::PROTOCOL => u32::from(meta.protocol),
        ancillary::PKTTYPE => u32::from(meta.pkt_type & 7),
        ancillary::IFINDEX => meta.dev?.ifindex,
        ancillary::HATYPE => u32::from(meta.dev?.hatype),
        ancillary::NLATTR => nlattr(data, a, x, false),
        ancillary::NLATTR_NEST => nlattr(data, a, x, true),
        ancillary::MARK => meta.mark,
        ancillary::QUEUE => u32::from(meta.queue_mapping),
        ancillary::RXHASH => meta.rxhash,
        ancillary::CPU => meta.cpu,
        ancillary::ALU_XOR_X => a ^ x,
        ancillary::VLAN_TAG => u32::from(meta.vlan_tci),
        ancillary::VLAN_TAG_PRESENT => u32::from(meta.vlan_present),
        ancillary::VLAN_TPID => u32::from(meta.vlan_tpid),
        other => panic!("ancillary field {other} should not pass the checker"),
    })
}

/// `SKF_AD_NLATTR` (`nested == false`) and `SKF_AD_NLATTR_NEST`, as Linux's
/// `__skb_get_nlattr{,_nest}` + `nla_find` compute them.
fn nlattr(data: &[u8], a: u32, x: u32, nested: bool) -> u32 {
    let len = data.len() as i64;
    let a = i64::from(a);
    if len < 4 || a > len - 4 {
        return 0;
    }
    let u16_at = |p: i64| i64::from(u16::from_ne_bytes([data[p as usize], data[p as usize + 1]]));
    let (mut pos, mut rem) = if nested {
        let outer = u16_at(a);
        if outer > len - a {
            return 0;
        }
        // nla_data(), nla_len(): may be negative, then nothing is found.
        (a + 4, outer - 4)
    } else {
        (a, len - a)
    };
    // nla_for_each_attr with nla_ok().
    while rem >= 4 {
        let nla_len = u16_at(pos);
        if nla_len < 4 || nla_len > rem {
            return 0;
        }
        if u32::from(u16_at(pos + 2) as u16 & 0x3fff) == x {
            return pos as u32;
        }
        let step = (nla_len + 3) & !3;
        pos += step;
        rem -= step;
    }
    0
}
