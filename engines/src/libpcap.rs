//! The `libpcap` engine: libpcap's own classic interpreter (`bpf_filter`)
//! running our program on the skb bytes, and libpcap's compiler for
//! tcpdump expressions ([`compile_expression`]).
//!
//! Both need the cargo feature `libpcap` (and Debian's `libpcap-dev`).
//! Without it this module still exists: [`availability`] says why the
//! engine is missing, [`LibpcapFilter::new`] and [`compile_expression`]
//! return [`LibpcapError::Unavailable`], and [`check`] (pure Rust) still
//! tells which programs the engine would refuse.
//!
//! # Where libpcap's interpreter differs from Linux
//!
//! libpcap's `bpf_filter(insns, pkt, wirelen, buflen)` is run with
//! `wirelen = buflen = ` the packet length. It has no skb, so:
//!
//! - **Ancillary loads** (`LD ABS` at `SKF_AD_OFF + n`) read skb metadata in
//!   Linux; libpcap takes `k` as a plain (huge) offset and fails the load
//!   (or, built for Linux, reads VLAN fields from its own aux data).
//! - **Negative offsets** (`LD ABS`, `LDX MSH` with `k >= 0x80000000`): Linux
//!   reads the `SKF_NET_OFF` / `SKF_LL_OFF` windows relative to the headers;
//!   libpcap takes `k` unsigned and fails the load.
//! - **`LD IND`**: Linux adds `X + k` in 32 bits and reads the sum as a
//!   signed offset (so a sum of 2^31 or more reaches the header windows, and
//!   one past 2^32 wraps to a small offset); libpcap checks `X + k + size`
//!   without wrapping and fails the load. They agree exactly when
//!   `X + k < 2^31` on every path, which [`check`] proves with an upper
//!   bound on X (a forward dataflow pass over A, X and `M[]`).
//! - **`LSH` / `RSH` by X**: Linux's C shift masks the count to 5 bits;
//!   libpcap (1.10) gives 0 for counts of 32 or more. They agree when X is
//!   proven below 32.
//!
//! Everything else (ALU with 32-bit wraparound, DIV/MOD by X == 0 returning
//! 0, jumps, LEN, `M[]`, RET, positive loads with their bounds) is the same
//! in both. A program with any of the instructions above that cannot be
//! proven equivalent is refused at attach time with a [`Refusal`] naming
//! the instruction: the engine never runs a program that might disagree.

use crate::classic::Program;
use crate::classic::insn::{Insn, MEM_WORDS, ancillary, class, misc, mode, op, size, skf, src};
use crate::skb::Skb;
use thiserror::Error;

/// Why the engine is missing from a build without the `libpcap` feature.
pub const UNAVAILABLE: &str = "built without the libpcap feature (needs Debian's libpcap-dev; build with --features bpflab/libpcap)";

/// Why the engine is missing under Miri even with the `libpcap` feature:
/// Miri interprets Rust only and cannot call into a C library.
pub const UNAVAILABLE_UNDER_MIRI: &str = "Miri cannot call libpcap's C code (foreign functions)";

/// `Ok` when this build has libpcap, otherwise why not.
pub fn availability() -> Result<(), &'static str> {
    if !cfg!(feature = "libpcap") {
        Err(UNAVAILABLE)
    } else if cfg!(miri) {
        Err(UNAVAILABLE_UNDER_MIRI)
    } else {
        Ok(())
    }
}

/// Why libpcap's interpreter cannot be trusted to run an instruction as
/// Linux does.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum Refusal {
    /// An ancillary load: Linux reads skb metadata, libpcap has none.
    #[error(
        "ancillary load of `{field}`: Linux reads skb metadata, libpcap's bpf_filter has no skb and takes k as a packet offset"
    )]
    Ancillary {
        /// The field's `bpf_asm` name.
        field: &'static str,
    },
    /// A constant offset that Linux reads as negative.
    #[error(
        "offset {k:#x} is negative for Linux ({window}); libpcap's bpf_filter takes it unsigned and fails the load"
    )]
    NegativeOffset {
        /// The instruction's k.
        k: u32,
        /// Which of Linux's negative windows it falls in.
        window: &'static str,
    },
    /// An IND load whose `X + k` may reach 2^31.
    #[error(
        "X + k may reach 2^31 or more (X is only known to be at most {x_max:#x}): Linux then reads a negative or wrapped offset, libpcap fails the load"
    )]
    IndexMayBeNegative {
        /// The upper bound on X the dataflow pass proved (u32::MAX: none).
        x_max: u32,
    },
    /// A shift by X where X may be 32 or more.
    #[error(
        "shift by X where X may be 32 or more (X is only known to be at most {x_max:#x}): Linux shifts by X mod 32, libpcap gives 0"
    )]
    ShiftByLargeX {
        /// The upper bound on X the dataflow pass proved.
        x_max: u32,
    },
}

/// What can go wrong with the `libpcap` engine or compiler.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum LibpcapError {
    /// This build has no libpcap.
    #[error("{UNAVAILABLE}")]
    Unavailable,
    /// The program may behave differently under libpcap than under Linux.
    #[error("libpcap may not run this program as Linux does: instruction {pc} ({}): {reason}", insn.disasm(*pc))]
    Refused {
        /// Index of the instruction.
        pc: usize,
        /// The instruction.
        insn: Insn,
        /// Why.
        reason: Refusal,
    },
    /// libpcap could not compile a filter expression.
    #[error("cannot compile `{expr}`: {message}")]
    Compile {
        /// The expression.
        expr: String,
        /// libpcap's message.
        message: String,
    },
    /// libpcap returned an instruction bpflab could not read back.
    #[error("libpcap returned an instruction bpflab cannot read: `{text}`")]
    BadInstruction {
        /// The instruction as the pcap crate prints it.
        text: String,
    },
}

/// Upper bounds on A, X and `M[]` at one instruction, over every path to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bounds {
    a: u32,
    x: u32,
    mem: [u32; MEM_WORDS],
}

impl Bounds {
    fn join(&mut self, other: &Bounds) {
        self.a = self.a.max(other.a);
        self.x = self.x.max(other.x);
        for (m, o) in self.mem.iter_mut().zip(other.mem) {
            *m = (*m).max(o);
        }
    }
}

/// The smallest all-ones value at least `v` (a bound on `v | w`, `v ^ w`
/// for `w <= v`).
fn smear(v: u32) -> u32 {
    if v == 0 {
        0
    } else {
        u32::MAX >> v.leading_zeros()
    }
}

/// The largest value a load of this size gives.
fn load_max(code: u16) -> u32 {
    match code & size::MASK {
        size::H => 0xffff,
        size::B => 0xff,
        _ => u32::MAX,
    }
}

/// Linux's name for the negative window that `k` falls in.
fn window(k: u32) -> &'static str {
    let off = k as i32;
    if off >= skf::AD_OFF {
        "the SKF_AD_OFF window, not an ancillary load for this instruction"
    } else if off >= skf::NET_OFF {
        "the SKF_NET_OFF window: after the network header"
    } else if off >= skf::LL_OFF {
        "the SKF_LL_OFF window: after the link-layer header"
    } else {
        "below SKF_LL_OFF: an invalid offset"
    }
}

/// The refusal that needs no dataflow: ancillary loads and negative constant
/// offsets.
fn static_refusal(insn: Insn) -> Option<Refusal> {
    let c = insn.code;
    let k = insn.k;
    let abs = insn.class() == class::LD && c & mode::MASK == mode::ABS;
    let msh = insn.class() == class::LDX && c & mode::MASK == mode::MSH;
    if abs && k >= skf::AD_OFF as u32 {
        let field = ancillary::name(k.wrapping_sub(skf::AD_OFF as u32)).unwrap_or("unknown");
        return Some(Refusal::Ancillary { field });
    }
    if (abs || msh) && k >= 0x8000_0000 {
        return Some(Refusal::NegativeOffset {
            k,
            window: window(k),
        });
    }
    None
}

/// The refusal for an instruction reached with bounds `b`, if any.
fn refusal(insn: Insn, b: &Bounds) -> Option<Refusal> {
    if let Some(r) = static_refusal(insn) {
        return Some(r);
    }
    let c = insn.code;
    match insn.class() {
        class::LD if c & mode::MASK == mode::IND => (u64::from(b.x) + u64::from(insn.k)
            > 0x7fff_ffff)
            .then_some(Refusal::IndexMayBeNegative { x_max: b.x }),
        class::ALU
            if c & src::MASK == src::X
                && matches!(c & op::MASK, op::LSH | op::RSH)
                && b.x >= 32 =>
        {
            Some(Refusal::ShiftByLargeX { x_max: b.x })
        }
        _ => None,
    }
}

/// The bounds after `insn` falls through (or jumps) from bounds `b`.
fn transfer(insn: Insn, mut b: Bounds) -> Bounds {
    let c = insn.code;
    let k = insn.k;
    let slot = k as usize % MEM_WORDS;
    match insn.class() {
        class::LD => {
            b.a = match c & mode::MASK {
                mode::IMM => k,
                mode::MEM => b.mem[slot],
                mode::ABS | mode::IND => load_max(c),
                _ => u32::MAX,
            }
        }
        class::LDX => {
            b.x = match c & mode::MASK {
                mode::IMM => k,
                mode::MEM => b.mem[slot],
                mode::MSH => 0x3c,
                _ => u32::MAX,
            }
        }
        class::ST => b.mem[slot] = b.a,
        class::STX => b.mem[slot] = b.x,
        class::ALU => {
            let (s, by_x) = if c & src::MASK == src::X {
                (b.x, true)
            } else {
                (k, false)
            };
            b.a = match c & op::MASK {
                op::ADD => b.a.saturating_add(s),
                op::MUL => b.a.saturating_mul(s),
                op::DIV if by_x => b.a,
                op::DIV => b.a / s.max(1),
                op::MOD => b.a.min(s.saturating_sub(1)),
                op::AND => b.a.min(s),
                op::OR | op::XOR => smear(b.a.max(s)),
                op::LSH if !by_x && b.a.leading_zeros() >= s => b.a << s,
                op::RSH if by_x => b.a,
                op::RSH => b.a >> s.min(31),
                // SUB and NEG may wrap, LSH may overflow.
                _ => u32::MAX,
            };
        }
        class::MISC => {
            if c & 0xf8 == misc::TXA {
                b.a = b.x;
            } else {
                b.x = b.a;
            }
        }
        _ => {}
    }
    b
}

/// Checks that libpcap's interpreter runs `program` exactly as Linux does
/// on every skb (see the module documentation); the first instruction that
/// cannot be proven so is the error.
pub fn check(program: &Program) -> Result<(), LibpcapError> {
    let insns = program.insns();
    let refused = |pc: usize, reason| LibpcapError::Refused {
        pc,
        insn: insns[pc],
        reason,
    };
    for (pc, &insn) in insns.iter().enumerate() {
        if let Some(reason) = static_refusal(insn) {
            return Err(refused(pc, reason));
        }
    }
    // Forward dataflow: the checker proved every jump forward and in
    // range, so each instruction's predecessors come before it.
    let mut states: Vec<Option<Bounds>> = vec![None; insns.len()];
    states[0] = Some(Bounds {
        a: 0,
        x: 0,
        mem: [u32::MAX; MEM_WORDS],
    });
    for (pc, &insn) in insns.iter().enumerate() {
        // Unreachable instructions never run.
        let Some(before) = states[pc] else { continue };
        if let Some(reason) = refusal(insn, &before) {
            return Err(refused(pc, reason));
        }
        let after = transfer(insn, before);
        match insn.class() {
            class::RET => {}
            class::JMP if insn.code & op::MASK == op::JA => {
                flow(&mut states, pc + 1 + insn.k as usize, &after);
            }
            class::JMP => {
                flow(&mut states, pc + 1 + usize::from(insn.jt), &after);
                flow(&mut states, pc + 1 + usize::from(insn.jf), &after);
            }
            _ => flow(&mut states, pc + 1, &after),
        }
    }
    Ok(())
}

/// Joins `b` into the bounds at instruction `to`.
fn flow(states: &mut [Option<Bounds>], to: usize, b: &Bounds) {
    if let Some(slot) = states.get_mut(to) {
        match slot {
            Some(s) => s.join(b),
            None => *slot = Some(*b),
        }
    }
}

/// libpcap's `struct bpf_insn`, laid out as C does.
#[cfg(feature = "libpcap")]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct RawInsn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

#[cfg(feature = "libpcap")]
#[link(name = "pcap")]
unsafe extern "C" {
    /// libpcap's classic interpreter: `u_int bpf_filter(const struct
    /// bpf_insn *, const u_char *, u_int wirelen, u_int buflen)`.
    fn bpf_filter(pc: *const RawInsn, pkt: *const u8, wirelen: u32, buflen: u32) -> u32;
}

/// A program accepted by [`check`], ready for libpcap's interpreter.
#[derive(Clone, Debug)]
pub struct LibpcapFilter {
    #[cfg(feature = "libpcap")]
    insns: Box<[RawInsn]>,
    #[cfg(not(feature = "libpcap"))]
    never: std::convert::Infallible,
}

impl LibpcapFilter {
    /// Prepares a checked program for libpcap, refusing it when libpcap
    /// might decide differently from Linux ([`check`]) or when this build
    /// has no libpcap.
    pub fn new(program: &Program) -> Result<Self, LibpcapError> {
        availability().map_err(|_| LibpcapError::Unavailable)?;
        check(program)?;
        #[cfg(feature = "libpcap")]
        {
            let insns = program
                .insns()
                .iter()
                .map(|i| RawInsn {
                    code: i.code,
                    jt: i.jt,
                    jf: i.jf,
                    k: i.k,
                })
                .collect();
            Ok(LibpcapFilter { insns })
        }
        #[cfg(not(feature = "libpcap"))]
        Err(LibpcapError::Unavailable)
    }

    /// Runs libpcap's interpreter on the skb's bytes (wire length = buffer
    /// length = the packet length): the number of bytes to keep, 0 to drop.
    #[inline]
    pub fn run(&self, skb: &Skb) -> u32 {
        #[cfg(feature = "libpcap")]
        {
            let data = skb.data();
            // An skb is shorter than 4 GiB (Skb::new), so this is exact.
            let len = data.len() as u32;
            // SAFETY: `insns` is a non-empty program that passed Linux's
            // checker (classic::check): every jump is forward and inside
            // the array, the last instruction returns, scratch indexes are
            // below 16 and constant divisors non-zero, so bpf_filter never
            // reads past the array. It reads the packet only after checking
            // offsets against `buflen`, which is `data.len()`, and writes
            // nothing we own.
            unsafe { bpf_filter(self.insns.as_ptr(), data.as_ptr(), len, len) }
        }
        #[cfg(not(feature = "libpcap"))]
        {
            let _ = skb;
            match self.never {}
        }
    }
}

/// Compiles a tcpdump filter expression for Ethernet (DLT_EN10MB, snapshot
/// length 65535, netmask 0) with libpcap's optimizer: the program as
/// `tcpdump -s 65535 -dd EXPR` prints it. Not checked against Linux's
/// rules (libpcap emits backward jumps for `ip6 protochain`).
pub fn compile_expression(expr: &str) -> Result<Vec<Insn>, LibpcapError> {
    #[cfg(feature = "libpcap")]
    {
        compile::compile(expr)
    }
    #[cfg(not(feature = "libpcap"))]
    {
        let _ = expr;
        Err(LibpcapError::Unavailable)
    }
}

#[cfg(feature = "libpcap")]
mod compile {
    use super::{Insn, LibpcapError};
    use std::sync::Mutex;

    /// Serializes calls into libpcap's compiler, whose thread safety
    /// varies between versions.
    static COMPILER: Mutex<()> = Mutex::new(());

    /// See [`super::compile_expression`].
    pub fn compile(expr: &str) -> Result<Vec<Insn>, LibpcapError> {
        let fail = |e: pcap::Error| LibpcapError::Compile {
            expr: expr.to_string(),
            message: match e {
                pcap::Error::PcapError(m) => format!("libpcap: {m}"),
                other => other.to_string(),
            },
        };
        let _guard = COMPILER.lock().unwrap_or_else(|e| e.into_inner());
        let capture = pcap::Capture::dead(pcap::Linktype::ETHERNET).map_err(fail)?;
        let program = capture.compile(expr, true).map_err(fail)?;
        program
            .get_instructions()
            .iter()
            .map(|i| parse(&i.to_string()))
            .collect()
    }

    /// An instruction from the pcap crate's `code jt jf k` display (its
    /// fields are private).
    fn parse(text: &str) -> Result<Insn, LibpcapError> {
        let bad = || LibpcapError::BadInstruction {
            text: text.to_string(),
        };
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [code, jt, jf, k] = fields[..] else {
            return Err(bad());
        };
        Ok(Insn {
            code: code.parse().map_err(|_| bad())?,
            jt: jt.parse().map_err(|_| bad())?,
            jf: jf.parse().map_err(|_| bad())?,
            k: k.parse().map_err(|_| bad())?,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn parses_the_display_form() {
            assert_eq!(
                parse("40 0 0 12"),
                Ok(Insn {
                    code: 40,
                    jt: 0,
                    jf: 0,
                    k: 12
                })
            );
            assert!(parse("40 0 0").is_err());
            assert!(parse("40 0 0 4294967296").is_err());
            assert!(parse("x 0 0 1").is_err());
        }
    }
}

// `struct bpf_insn` is 8 bytes: u_short code, u_char jt, u_char jf, u_int k.
#[cfg(feature = "libpcap")]
const _: () = assert!(std::mem::size_of::<RawInsn>() == 8);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classic::check as linux_check;
    use crate::classic::insn::code;

    fn program(insns: Vec<Insn>) -> Program {
        linux_check(insns).expect("a valid program")
    }

    fn refused_at(insns: Vec<Insn>) -> (usize, Refusal) {
        match check(&program(insns)) {
            Err(LibpcapError::Refused { pc, reason, .. }) => (pc, reason),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    const RET_A: Insn = Insn::stmt(code::RET_A, 0);

    #[test]
    fn availability_follows_the_feature() {
        assert_eq!(
            availability().is_ok(),
            cfg!(feature = "libpcap") && !cfg!(miri)
        );
    }

    #[test]
    fn ancillary_and_negative_offsets_are_refused() {
        let anc = Insn::stmt(code::LD_W_ABS, (skf::AD_OFF as u32) + ancillary::MARK);
        assert_eq!(
            refused_at(vec![Insn::stmt(code::LD_IMM, 1), anc, RET_A]),
            (1, Refusal::Ancillary { field: "mark" })
        );
        for (k, w) in [
            (skf::NET_OFF as u32, "SKF_NET_OFF"),
            (skf::LL_OFF as u32 + 3, "SKF_LL_OFF window"),
            (0x8000_0000, "below SKF_LL_OFF"),
        ] {
            for c in [code::LD_B_ABS, code::LDX_B_MSH] {
                let (pc, r) = refused_at(vec![Insn::stmt(c, k), RET_A]);
                assert_eq!(pc, 0);
                assert!(r.to_string().contains(w), "{r}");
            }
        }
        // Unreachable ancillary loads are refused too (no dataflow needed).
        let (pc, _) = refused_at(vec![
            Insn::stmt(code::JA, 1),
            Insn::stmt(code::LD_B_ABS, skf::AD_OFF as u32),
            RET_A,
        ]);
        assert_eq!(pc, 1);
    }

    #[test]
    fn ind_loads_need_a_small_x() {
        // X from MSH is at most 60: accepted (fprog1's pattern).
        let ok = vec![
            Insn::stmt(code::LDX_B_MSH, 14),
            Insn::stmt(code::LD_H_IND, 14),
            RET_A,
        ];
        assert_eq!(check(&program(ok)), Ok(()));
        // X + k just below 2^31: accepted; one more: refused.
        let at = |x: u32, k: u32| {
            check(&program(vec![
                Insn::stmt(code::LDX_IMM, x),
                Insn::stmt(code::LD_B_IND, k),
                RET_A,
            ]))
        };
        assert_eq!(at(0x7fff_0000, 0xffff), Ok(()));
        assert!(matches!(
            at(0x7fff_0000, 0x1_0000),
            Err(LibpcapError::Refused {
                pc: 1,
                reason: Refusal::IndexMayBeNegative { x_max: 0x7fff_0000 },
                ..
            })
        ));
        // X loaded from the packet or the length: unbounded.
        let (pc, r) = refused_at(vec![
            Insn::stmt(code::LDX_W_LEN, 0),
            Insn::stmt(code::LD_B_IND, 0),
            RET_A,
        ]);
        assert_eq!(
            (pc, r),
            (1, Refusal::IndexMayBeNegative { x_max: u32::MAX })
        );
        // The bound flows through A, M[] and TAX, and joins over jumps.
        let through = vec![
            Insn::stmt(code::LD_B_ABS, 0),
            Insn::stmt(code::alu_k(op::AND), 0x0f),
            Insn::stmt(code::ST, 3),
            Insn::jump(code::JEQ_K, 0, 0, 1),
            Insn::stmt(code::LDX_IMM, 100),
            Insn::stmt(code::LD_MEM, 3),
            Insn::stmt(code::TAX, 0),
            Insn::stmt(code::LD_W_IND, 0x7fff_fff0),
            RET_A,
        ];
        assert_eq!(check(&program(through)), Ok(()));
        // An unreachable IND load is not a reason to refuse.
        let dead = vec![
            Insn::stmt(code::LDX_W_LEN, 0),
            Insn::stmt(code::RET_K, 1),
            Insn::stmt(code::LD_B_IND, 0),
            RET_A,
        ];
        assert_eq!(check(&program(dead)), Ok(()));
    }

    #[test]
    fn shifts_by_x_need_x_below_32() {
        let with_x = |x: u32, o: u16| {
            check(&program(vec![
                Insn::stmt(code::LD_IMM, 1),
                Insn::stmt(code::LDX_IMM, x),
                Insn::stmt(code::alu_x(o), 0),
                RET_A,
            ]))
        };
        for o in [op::LSH, op::RSH] {
            assert_eq!(with_x(31, o), Ok(()));
            let err = with_x(32, o).expect_err("X = 32 is refused");
            assert!(err.to_string().contains("instruction 2"), "{err}");
            assert!(err.to_string().contains("mod 32"), "{err}");
        }
    }

    #[test]
    fn bounds_arithmetic_is_sound() {
        assert_eq!(smear(0), 0);
        assert_eq!(smear(1), 1);
        assert_eq!(smear(0x50), 0x7f);
        assert_eq!(smear(u32::MAX), u32::MAX);
        let b = Bounds {
            a: 0xff,
            x: 3,
            mem: [0; MEM_WORDS],
        };
        let a_after = |i: Insn| transfer(i, b).a;
        assert_eq!(a_after(Insn::stmt(code::alu_k(op::LSH), 24)), 0xff00_0000);
        assert_eq!(a_after(Insn::stmt(code::alu_k(op::LSH), 25)), u32::MAX);
        assert_eq!(a_after(Insn::stmt(code::alu_x(op::MOD), 0)), 2);
        assert_eq!(a_after(Insn::stmt(code::alu_k(op::SUB), 1)), u32::MAX);
        assert_eq!(a_after(Insn::stmt(code::alu_x(op::ADD), 0)), 0x102);
        assert_eq!(a_after(Insn::stmt(code::alu_k(op::DIV), 16)), 0xf);
        assert_eq!(a_after(Insn::stmt(code::NEG, 0)), u32::MAX);
        assert_eq!(a_after(Insn::stmt(code::TXA, 0)), 3);
        assert_eq!(transfer(Insn::stmt(code::TAX, 0), b).x, 0xff);
    }
}
