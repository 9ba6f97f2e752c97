//! The `libpcap` engine against the old interpreter: the thread's two
//! programs at every truncation of the thread's packet and of varied
//! packets, random valid programs wherever the engine accepts them, and
//! libpcap's compiler reproducing the thread's programs. Without the
//! `libpcap` feature only the availability message is tested.

mod common;

use bpflab_engines::libpcap::{self, LibpcapError};

#[cfg(not(feature = "libpcap"))]
#[test]
fn unavailable_without_the_feature_and_says_why() {
    let why = libpcap::availability().expect_err("no libpcap in this build");
    assert!(why.contains("libpcap feature"), "{why}");
    assert!(why.contains("libpcap-dev"), "{why}");
    assert_eq!(
        libpcap::compile_expression("port 22"),
        Err(LibpcapError::Unavailable)
    );
    let program = bpflab_engines::classic::check(vec![common::asm::ret_k(1)]).expect("valid");
    assert!(matches!(
        libpcap::LibpcapFilter::new(&program),
        Err(LibpcapError::Unavailable)
    ));
}

#[cfg(feature = "libpcap")]
mod with_libpcap {
    use super::common::asm::{alu_x, ld_anc, ld_imm, ld_ind, ldx_imm, ldx_len, ret_a};
    use super::common::generator::{self, GenCase};
    use super::*;
    use bpflab_engines::Skb;
    use bpflab_engines::classic::insn::{ancillary, op, size};
    use bpflab_engines::classic::read::{self, Format};
    use bpflab_engines::classic::{Insn, OldInterpreter, Program, check};
    use libpcap::{LibpcapFilter, Refusal};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed, TestRunner};
    use std::cell::Cell;

    const FPROG1: &str = include_str!("../../scenarios/programs/fprog1.dd");
    const FPROG2: &str = include_str!("../../scenarios/programs/fprog2.dd");
    const FPROG2_EXPR: &str =
        "tcp port 22 and (((ip[2:2] - ((ip[0]&0xf)<<2)) - ((tcp[12]&0xf0)>>2)) != 0)";

    /// The first 38 bytes of the thread's packet (fprogs.md).
    const THREAD_PACKET: [u8; 38] = [
        0x10, 0xbf, 0x48, 0xd6, 0x43, 0xd6, 0x3c, 0x07, 0x54, 0x43, 0xe5, 0x76, 0x08, 0x00, 0x45,
        0x10, 0x00, 0x64, 0x75, 0xb5, 0x40, 0x00, 0x40, 0x06, 0xad, 0x2e, 0x0a, 0x01, 0x01, 0x95,
        0x0a, 0x01, 0x02, 0x0a, 0xc2, 0x24, 0x00, 0x16,
    ];

    fn insns(text: &str) -> Vec<Insn> {
        read::read(text.as_bytes(), Some(Format::Dd), None).expect("a thread program")
    }

    fn program(text: &str) -> Program {
        check(insns(text)).expect("the thread's programs are valid")
    }

    /// The thread's packet zero-padded to its IP length: 114 bytes.
    fn thread_frame() -> Vec<u8> {
        let mut f = THREAD_PACKET.to_vec();
        f.resize(114, 0);
        f
    }

    /// Ethernet frames around the thread's packet that steer the thread's
    /// programs down their different paths.
    fn varied_frames() -> Vec<Vec<u8>> {
        let base = thread_frame();
        let with = |edits: &[(usize, u8)]| {
            let mut f = base.clone();
            for &(i, b) in edits {
                f[i] = b;
            }
            f
        };
        let mut frames = vec![
            base.clone(),
            with(&[(36, 0x00), (37, 0x50)]), // dport 80: no port 22
            with(&[(34, 0x00), (35, 0x16), (37, 0x50)]), // sport 22
            with(&[(23, 17)]),               // UDP port 22
            with(&[(23, 132)]),              // SCTP
            with(&[(23, 1)]),                // ICMP
            with(&[(20, 0x00), (21, 0x10)]), // a non-first fragment
            with(&[(20, 0x20), (21, 0x00)]), // first fragment, MF set
            with(&[(14, 0x46)]),             // IHL 6: ports 4 bytes on
            with(&[(14, 0x4f)]),             // IHL 15
            with(&[(14, 0x40)]),             // IHL 0
            with(&[(46, 0x50)]),             // TCP doff 5
            with(&[(46, 0xf0)]),             // TCP doff 15
            with(&[(16, 0x00), (17, 0x28), (46, 0x50)]), // tot_len 40: no payload
            with(&[(16, 0x00), (17, 0x00)]), // tot_len 0: negative length
            with(&[(12, 0x08), (13, 0x06)]), // ARP
        ];
        // IPv6 TCP and UDP to and from port 22.
        for (next, port_at) in [(6u8, 56usize), (17, 54), (6, 54), (58, 56)] {
            let mut f = vec![0u8; 114];
            f[12] = 0x86;
            f[13] = 0xdd;
            f[14] = 0x60;
            f[20] = next;
            f[port_at + 1] = 22;
            frames.push(f);
        }
        // Counting and patterned bytes under both EtherTypes.
        for ethertype in [[0x08, 0x00], [0x86, 0xdd]] {
            let mut f: Vec<u8> = (0..114u32).map(|i| (i * 7 + 3) as u8).collect();
            f[12..14].copy_from_slice(&ethertype);
            frames.push(f);
        }
        frames
    }

    /// Both engines on every truncation (0 to the whole frame) of `frame`.
    fn agree_on_truncations(name: &str, old: &OldInterpreter, pcap: &LibpcapFilter, frame: &[u8]) {
        for len in 0..=frame.len() {
            let skb = Skb::from_frame(frame[..len].to_vec());
            assert_eq!(
                pcap.run(&skb),
                old.run(&skb),
                "{name} at length {len} of {frame:02x?}"
            );
        }
    }

    #[test]
    fn the_thread_programs_are_accepted_and_agree_with_old() {
        for (name, text) in [("fprog1", FPROG1), ("fprog2", FPROG2)] {
            let p = program(text);
            let pcap = LibpcapFilter::new(&p)
                .unwrap_or_else(|e| panic!("{name} must be accepted by libpcap: {e}"));
            let old = OldInterpreter::new(&p);
            for frame in varied_frames() {
                agree_on_truncations(name, &old, &pcap, &frame);
            }
        }
    }

    #[test]
    fn the_thread_table_holds() {
        // fprogs.md: the thread's packet zero-padded to each length.
        let table = [
            (
                FPROG1,
                [(10, 0), (30, 0), (38, 65535), (60, 65535), (100, 65535)],
            ),
            (
                FPROG2,
                [(10, 0), (30, 0), (38, 0), (60, 65535), (100, 65535)],
            ),
        ];
        for (text, rows) in table {
            let pcap = LibpcapFilter::new(&program(text)).expect("accepted");
            for (len, want) in rows {
                let mut frame = THREAD_PACKET.to_vec();
                frame.resize(len, 0);
                assert_eq!(pcap.run(&Skb::from_frame(frame)), want, "length {len}");
            }
        }
    }

    #[test]
    fn refusals_name_the_instruction() {
        let anc = check(vec![ld_anc(size::W, ancillary::PROTOCOL), ret_a()]).expect("valid");
        let err = LibpcapFilter::new(&anc).expect_err("ancillary loads are refused");
        assert!(matches!(
            err,
            LibpcapError::Refused {
                pc: 0,
                reason: Refusal::Ancillary { field: "proto" },
                ..
            }
        ));
        assert!(err.to_string().contains("instruction 0"), "{err}");
        let ind = check(vec![ldx_len(), ld_ind(size::B, 0), ret_a()]).expect("valid");
        let err = LibpcapFilter::new(&ind).expect_err("unbounded X is refused");
        assert!(err.to_string().contains("instruction 1 (ldb"), "{err}");
        // Shifts by X: X = 31 is proven small and runs as Linux does; X = 33
        // is refused (libpcap 1.10 gives 0, Linux shifts by 33 mod 32).
        let shift =
            |x: u32| check(vec![ld_imm(3), ldx_imm(x), alu_x(op::LSH), ret_a()]).expect("valid");
        let p = shift(31);
        let skb = Skb::from_frame(vec![]);
        let pcap = LibpcapFilter::new(&p).expect("X = 31 is accepted");
        assert_eq!(pcap.run(&skb), OldInterpreter::new(&p).run(&skb));
        assert_eq!(pcap.run(&skb), 0x8000_0000);
        assert!(matches!(
            LibpcapFilter::new(&shift(33)),
            Err(LibpcapError::Refused {
                pc: 2,
                reason: Refusal::ShiftByLargeX { x_max: 33 },
                ..
            })
        ));
    }

    /// Whether the engine accepted the case; when it did, both engines
    /// agree on every packet.
    fn differential(case: &GenCase) -> Result<bool, TestCaseError> {
        let program = check(case.insns.clone()).map_err(|e| {
            TestCaseError::fail(format!("the generator made an invalid program: {e}"))
        })?;
        let pcap = match LibpcapFilter::new(&program) {
            Ok(f) => f,
            Err(LibpcapError::Refused { .. }) => return Ok(false),
            Err(e) => return Err(TestCaseError::fail(format!("unexpected error: {e}"))),
        };
        let old = OldInterpreter::new(&program);
        for skb in case.skbs() {
            prop_assert_eq!(pcap.run(&skb), old.run(&skb), "libpcap vs old");
        }
        Ok(true)
    }

    fn random(cases: u32, max_steps: usize, seed: u64, min_accepted: u32) {
        let accepted = Cell::new(0u32);
        let mut runner = TestRunner::new(Config {
            cases,
            rng_seed: RngSeed::Fixed(seed),
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(&generator::case_with(max_steps), |case| {
            if differential(&case)? {
                accepted.set(accepted.get() + 1);
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        assert!(
            accepted.get() >= min_accepted,
            "only {} of {cases} random programs were accepted",
            accepted.get()
        );
    }

    #[test]
    fn random_programs_agree_with_old_where_accepted() {
        random(4000, 47, 0x11b9_ca90, 600);
    }

    /// Long programs almost always hold one instruction libpcap refuses
    /// (an ancillary load, a negative offset, a shift by a large X): with
    /// this seed 80 of 2000 are accepted, so the floor of 40 keeps the
    /// test from passing on a handful.
    #[test]
    fn long_random_programs_agree_with_old_where_accepted() {
        random(2000, 300, 0x11b9_ca91, 40);
    }

    #[test]
    fn libpcap_compiles_the_thread_programs() {
        assert_eq!(
            libpcap::compile_expression("port 22").expect("compiles"),
            insns(FPROG1)
        );
        assert_eq!(
            libpcap::compile_expression(FPROG2_EXPR).expect("compiles"),
            insns(FPROG2)
        );
    }

    #[test]
    fn a_bad_expression_is_a_typed_error_with_libpcaps_message() {
        match libpcap::compile_expression("port 22 and") {
            Err(LibpcapError::Compile { expr, message }) => {
                assert_eq!(expr, "port 22 and");
                assert!(message.contains("syntax error"), "{message}");
            }
            other => panic!("expected a compile error, got {other:?}"),
        }
        assert!(matches!(
            libpcap::compile_expression("port 22\0"),
            Err(LibpcapError::Compile { .. })
        ));
    }
}
