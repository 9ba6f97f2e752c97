//! The `native` engine: for each of the thread's two programs, a
//! hand-written Rust function that decides exactly what the program
//! decides, compiled by rustc. It is the speed any JIT should approach.
//!
//! Each function follows its program's semantics, not its instructions:
//! the same packet loads in the same order where a failed load changes the
//! verdict (any load past the end makes the filter return 0, as in every
//! bpflab engine), the same 32-bit arithmetic, the same return values
//! (65535 to accept, 0 to drop). The engine recognises a program by its
//! exact instructions, compared with the scenario files embedded at build
//! time, and refuses every other program.

use crate::classic::insn::Insn;
use crate::classic::{Format, Program, read};
use crate::skb::Skb;
use thiserror::Error;

/// The scenario file of fprog1 (`tcpdump port 22`).
const FPROG1_DD: &str = include_str!("../../scenarios/programs/fprog1.dd");
/// The scenario file of fprog2 (SSH packets carrying data).
const FPROG2_DD: &str = include_str!("../../scenarios/programs/fprog2.dd");

/// What fprog1 and fprog2 return for a packet they accept.
const ACCEPT: u32 = 0xffff;

/// A program the native engine has a function for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NativeProgram {
    /// `tcpdump port 22`: IPv4 or IPv6, TCP/UDP/SCTP, either port 22.
    Fprog1,
    /// `tcp port 22 and (IP total length - IP header - TCP header != 0)`.
    Fprog2,
}

impl NativeProgram {
    /// Both programs.
    pub const ALL: [NativeProgram; 2] = [NativeProgram::Fprog1, NativeProgram::Fprog2];

    /// The scenario name (`fprog1`, `fprog2`).
    pub fn name(self) -> &'static str {
        match self {
            NativeProgram::Fprog1 => "fprog1",
            NativeProgram::Fprog2 => "fprog2",
        }
    }

    /// The program's instructions, read from its embedded scenario file.
    pub fn insns(self) -> Result<Vec<Insn>, NotSupported> {
        let text = match self {
            NativeProgram::Fprog1 => FPROG1_DD,
            NativeProgram::Fprog2 => FPROG2_DD,
        };
        read::read(text.as_bytes(), Some(Format::Dd), None).map_err(|e| NotSupported::Embedded {
            name: self.name(),
            message: e.to_string(),
        })
    }
}

/// Why the native engine cannot run a program.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum NotSupported {
    /// The program is neither fprog1 nor fprog2, instruction for instruction.
    #[error(
        "native serves only fprog1 and fprog2 (the scenario programs, instruction for instruction); this {len}-instruction program is neither"
    )]
    UnknownProgram {
        /// The refused program's length.
        len: usize,
    },
    /// An embedded scenario file did not parse (a build defect).
    #[error("native: the embedded scenario file of {name} does not parse: {message}")]
    Embedded {
        /// The scenario.
        name: &'static str,
        /// The reader's message.
        message: String,
    },
}

/// A program attached to the native engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NativeFilter {
    program: NativeProgram,
}

impl NativeFilter {
    /// The native function for `program`, if it is fprog1 or fprog2.
    pub fn new(program: &Program) -> Result<Self, NotSupported> {
        for which in NativeProgram::ALL {
            if which.insns()? == program.insns() {
                return Ok(NativeFilter { program: which });
            }
        }
        Err(NotSupported::UnknownProgram { len: program.len() })
    }

    /// The program this filter runs.
    pub fn program(&self) -> NativeProgram {
        self.program
    }

    /// Runs the filter on `skb`: 65535 to accept, 0 to drop.
    #[inline]
    pub fn run(&self, skb: &Skb) -> u32 {
        match self.program {
            NativeProgram::Fprog1 => fprog1(skb.data()),
            NativeProgram::Fprog2 => fprog2(skb.data()),
        }
    }
}

/// The byte at `off`, or `None` past the end.
#[inline(always)]
fn u8_at(d: &[u8], off: usize) -> Option<u32> {
    d.get(off).map(|&b| u32::from(b))
}

/// The big-endian 16-bit value at `off`, or `None` if it does not fit.
#[inline(always)]
fn u16_at(d: &[u8], off: usize) -> Option<u32> {
    match d.get(off..off + 2) {
        Some(&[hi, lo]) => Some(u32::from(u16::from_be_bytes([hi, lo]))),
        _ => None,
    }
}

/// EtherType IPv4.
const ETH_P_IP: u32 = 0x0800;
/// EtherType IPv6.
const ETH_P_IPV6: u32 = 0x86dd;
/// IP protocol numbers fprog1 accepts: SCTP, TCP, UDP.
const IPPROTO_SCTP: u32 = 132;
const IPPROTO_TCP: u32 = 6;
const IPPROTO_UDP: u32 = 17;
/// The port both programs look for.
const SSH: u32 = 22;
/// Fragment offset bits of the IPv4 flags/fragment word.
const FRAG_OFFSET: u32 = 0x1fff;

/// `4 * (byte 14 & 0xf)`: the IPv4 header length (classic `ldxb 4*([14]&0xf)`).
#[inline(always)]
fn ip_header_len(d: &[u8]) -> Option<usize> {
    u8_at(d, 14).map(|b| ((b & 0xf) << 2) as usize)
}

/// Whether either 16-bit port at `off`, `off + 2` is 22; a failed load of
/// the first drops the packet, and so does a failed load of the second
/// when the first is not 22.
#[inline(always)]
fn either_port_is_ssh(d: &[u8], off: usize) -> Option<bool> {
    if u16_at(d, off)? == SSH {
        return Some(true);
    }
    Some(u16_at(d, off + 2)? == SSH)
}

/// fprog1, `tcpdump port 22`.
#[inline]
pub fn fprog1(d: &[u8]) -> u32 {
    let verdict = || -> Option<bool> {
        let ethertype = u16_at(d, 12)?;
        if ethertype == ETH_P_IPV6 {
            // Next header at 14 + 6; ports right after the fixed 40-byte header.
            let next = u8_at(d, 20)?;
            if !matches!(next, IPPROTO_SCTP | IPPROTO_TCP | IPPROTO_UDP) {
                return Some(false);
            }
            return either_port_is_ssh(d, 54);
        }
        if ethertype != ETH_P_IP {
            return Some(false);
        }
        let proto = u8_at(d, 23)?;
        if !matches!(proto, IPPROTO_SCTP | IPPROTO_TCP | IPPROTO_UDP) {
            return Some(false);
        }
        if u16_at(d, 20)? & FRAG_OFFSET != 0 {
            return Some(false);
        }
        either_port_is_ssh(d, ip_header_len(d)? + 14)
    };
    if verdict() == Some(true) { ACCEPT } else { 0 }
}

/// fprog2, `tcp port 22 and (((ip[2:2] - ((ip[0]&0xf)<<2)) -
/// ((tcp[12]&0xf0)>>2)) != 0)`.
#[inline]
pub fn fprog2(d: &[u8]) -> u32 {
    let verdict = || -> Option<bool> {
        if u16_at(d, 12)? != ETH_P_IP {
            return Some(false);
        }
        if u8_at(d, 23)? != IPPROTO_TCP {
            return Some(false);
        }
        if u16_at(d, 20)? & FRAG_OFFSET != 0 {
            return Some(false);
        }
        let ihl = ip_header_len(d)?;
        if !either_port_is_ssh(d, ihl + 14)? {
            return Some(false);
        }
        // IP total length minus the IP header length (32-bit wrapping).
        let ip_payload = u16_at(d, 16)?.wrapping_sub(ihl as u32);
        // The TCP data offset, in bytes: the byte 12 of the TCP header.
        let tcp_header = (u8_at(d, ihl + 26)? & 0xf0) >> 2;
        Some(ip_payload != tcp_header)
    };
    if verdict() == Some(true) { ACCEPT } else { 0 }
}
