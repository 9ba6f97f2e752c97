//! The `rbpf` and `rbpf-jit` engines (the rbpf crate's interpreter and
//! x86_64 JIT running bpflab's portable conversion) against `old`: the
//! thread's programs at every truncation and on field variations, the
//! packet-load rules (bounds, `SKF_NET_OFF`/`SKF_LL_OFF` windows, indirect
//! offsets that wrap or go negative), every ancillary field, and random
//! valid programs from the shared generator.

mod common;
mod thread_packets;

use bpflab_engines::classic::insn::ancillary;
use bpflab_engines::classic::{Insn, OldInterpreter, Program, check};
use bpflab_engines::ebpf::portable::{DATA_PTR_OFFSET, PortableContext, convert_portable};
use bpflab_engines::fuzz::program::ANCILLARY_FIELDS;
use bpflab_engines::rbpf_engine::{RbpfError, RbpfFilter, jit_availability};
use bpflab_engines::{Meta, Skb};
use common::asm::*;
use common::generator::{self, GenCase};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use std::cell::Cell;
use thread_packets::{packet, programs, skbs, variations};

/// The rbpf engines this machine runs: the interpreter, and the JIT on x86_64.
fn modes() -> Vec<bool> {
    let mut m = vec![false];
    if jit_availability().is_ok() {
        m.push(true);
    }
    m
}

fn name(jit: bool) -> &'static str {
    if jit { "rbpf-jit" } else { "rbpf" }
}

/// Runs `program` on old and on every rbpf engine (which must accept it).
fn agree(program: &Program, skbs: &[Skb]) {
    let old = OldInterpreter::new(program);
    for jit in modes() {
        let f = RbpfFilter::new(program, jit)
            .unwrap_or_else(|e| panic!("{} refused the program: {e}", name(jit)));
        for skb in skbs {
            let got = f
                .try_run(skb)
                .unwrap_or_else(|e| panic!("{}: {e}", name(jit)));
            assert_eq!(
                got,
                old.run(skb),
                "{} on {} bytes {:02x?} {:?}\n{}",
                name(jit),
                skb.len(),
                skb.data(),
                skb.meta(),
                bpflab_engines::classic::listing(program.insns())
            );
        }
    }
}

fn prog(insns: Vec<Insn>) -> Program {
    check(insns).expect("valid test program")
}

#[test]
#[cfg_attr(
    miri,
    ignore = "rbpf is too slow under Miri for this many cases; Miri checks its glue in the smaller tests"
)]
fn the_thread_programs_at_every_truncation() {
    for (_, program) in programs() {
        agree(&program, &skbs((0..=114).map(packet)));
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "rbpf is too slow under Miri for this many cases; Miri checks its glue in the smaller tests"
)]
fn the_thread_programs_on_field_variations() {
    let packets = skbs(variations());
    for (_, program) in programs() {
        agree(&program, &packets);
    }
}

/// Counting bytes (never 0 inside the packet) with the given header offsets.
fn hdr(len: usize, mac: u32, net: u32) -> Skb {
    let data: Vec<u8> = (0..len).map(|i| 0x40u8.wrapping_add(i as u8)).collect();
    let mut meta = Meta::for_frame(&data);
    meta.mac_header = mac;
    meta.network_header = net;
    Skb::new(data, &meta)
}

fn header_skbs() -> Vec<Skb> {
    let mut v = Vec::new();
    for len in [0usize, 1, 3, 4, 13, 14, 15, 20, 30, 33, 64] {
        for (mac, net) in [
            (0, 14),
            (0, 0),
            (2, 20),
            (0, 30),
            (5, 64),
            (64, 0),
            (0, 100),
        ] {
            v.push(hdr(len, mac, net));
        }
    }
    v
}

#[test]
#[cfg_attr(
    miri,
    ignore = "rbpf is too slow under Miri for this many cases; Miri checks its glue in the smaller tests"
)]
fn absolute_loads_and_header_windows() {
    let skbs = header_skbs();
    for (sz, _) in SIZES {
        for o in [
            0u32, 1, 2, 3, 10, 12, 13, 14, 16, 28, 29, 30, 31, 60, 61, 62, 63, 64,
        ] {
            for k in [o, net(o), ll(o)] {
                agree(&prog(vec![ld_abs(sz, k), ret_a()]), &skbs);
            }
        }
        // Far away and below every window.
        for k in [
            0x7fff_fffe,
            0x7fff_ffff,
            0x8000_0000,
            ll(0).wrapping_sub(1),
            net(0xff000 - 4),
        ] {
            agree(&prog(vec![ld_abs(sz, k), ret_a()]), &skbs);
        }
        // MSH: X = 4 * (pkt[k] & 0xf), A kept.
        for k in [0, 13, 14, 29, net(0), ll(3)] {
            agree(
                &prog(vec![ld_imm(7), ldx_msh(k), add(0), txa(), ret_a()]),
                &skbs,
            );
        }
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "rbpf is too slow under Miri for this many cases; Miri checks its glue in the smaller tests"
)]
fn indirect_loads_wrap_and_reach_the_windows() {
    let skbs = header_skbs();
    let xs = [
        0u32,
        1,
        14,
        28,
        net(0),
        net(5),
        ll(0),
        ll(9),
        ll(0).wrapping_sub(1),
        ad(0),
        0x7fff_fff0,
        0x8000_0000,
        u32::MAX,
        u32::MAX - 13,
    ];
    for (sz, _) in SIZES {
        for x in xs {
            for k in [0u32, 1, 2, 14, 29, u32::MAX, net(0), 0x8000_0000] {
                agree(&prog(vec![ldx_imm(x), ld_ind(sz, k), ret_a()]), &skbs);
            }
        }
        // X from the packet length: the load ends exactly at the end, or one past.
        for k in [off(-1), off(-2), off(-4), off(-5), 0] {
            agree(&prog(vec![ldx_len(), ld_ind(sz, k), ret_a()]), &skbs);
        }
    }
}

fn metas() -> Vec<Meta> {
    let full = common::distinct_meta();
    let no_dev = Meta {
        dev: None,
        ..full.clone()
    };
    vec![full, no_dev, Meta::for_frame(&[])]
}

#[test]
fn every_ancillary_field_at_every_size() {
    let mut skbs = Vec::new();
    for meta in metas() {
        for data in [vec![], (0..40u8).collect(), netlink_stream()] {
            skbs.push(Skb::new(data, &meta));
        }
    }
    for field in ANCILLARY_FIELDS {
        for (sz, _) in SIZES {
            let p = prog(vec![ld_imm(4), ldx_imm(2), ld_anc(sz, field), ret_a()]);
            if matches!(field, ancillary::NLATTR | ancillary::NLATTR_NEST) {
                // The interpreter runs them; the JIT refuses them.
                let old = OldInterpreter::new(&p);
                let f = RbpfFilter::new(&p, false).expect("rbpf runs netlink loads");
                for skb in &skbs {
                    assert_eq!(f.try_run(skb), Ok(old.run(skb)), "field {field}");
                }
                if jit_availability().is_ok() {
                    let err = RbpfFilter::new(&p, true).expect_err("rbpf-jit refuses helpers");
                    assert_eq!(err, RbpfError::HelperUnderJit);
                    assert!(err.to_string().contains("SKF_AD_NLATTR"), "{err}");
                }
            } else {
                agree(&p, &skbs);
            }
        }
    }
}

/// A netlink attribute stream: types 1, 2 and a nested 3 holding 5 and 6.
fn netlink_stream() -> Vec<u8> {
    let mut data = vec![0xaa; 4];
    data.extend(nla(1, &[1, 2, 3]));
    data.extend(nla(2, &[]));
    let nested = [nla(5, &[9]), nla(6, &[])].concat();
    data.extend(nla(3 | 0x8000, &nested));
    data
}

#[test]
fn netlink_walks_on_the_interpreter() {
    let data = netlink_stream();
    let meta = Meta::for_frame(&[]);
    // Under Miri, which checks the helpers' access to the running skb, a
    // sample: every 5th length, 4 of the A values and 2 of the X values.
    let (step, a_values, x_values): (usize, &[u32], &[u32]) = if cfg!(miri) {
        (5, &[0, 12, 28, u32::MAX], &[1, 6])
    } else {
        (1, &[0, 4, 12, 16, 28, 100, u32::MAX], &[1, 2, 3, 5, 6, 9])
    };
    let skbs: Vec<Skb> = (0..=data.len())
        .step_by(step)
        .map(|n| Skb::new(data[..n].to_vec(), &meta))
        .collect();
    for field in [ancillary::NLATTR, ancillary::NLATTR_NEST] {
        for &a in a_values {
            for &x in x_values {
                let p = prog(vec![ld_imm(a), ldx_imm(x), ld_anc(W, field), ret_a()]);
                let old = OldInterpreter::new(&p);
                let f = RbpfFilter::new(&p, false).expect("accepted");
                for skb in &skbs {
                    assert_eq!(f.try_run(skb), Ok(old.run(skb)));
                }
            }
        }
    }
}

#[test]
fn the_portable_context_layout() {
    let skb = Skb::from_frame(packet(60));
    let ctx = PortableContext::of(&skb);
    assert_eq!(DATA_PTR_OFFSET, 64);
    assert_eq!(ctx.as_bytes().len(), 72);
    assert_eq!(ctx.data, skb.data().as_ptr() as u64);
    assert_eq!(&ctx.as_bytes()[..4], &60u32.to_ne_bytes());
    // No legacy packet load survives the portable conversion.
    for (_, program) in programs() {
        let c = convert_portable(&program).expect("converts");
        assert!(
            c.insns.iter().all(|i| i.code & 0x07 != 0),
            "no LD class left"
        );
        assert_eq!(c.pc_map.len(), program.len());
    }
}

/// What rbpf-jit did with a generated program.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Jit {
    /// Not available on this machine.
    Absent,
    /// Refused: the program calls a netlink helper.
    Helper,
    /// Refused: the machine code may not fit rbpf's page.
    TooLarge,
    /// Compiled and run.
    Ran,
}

/// Runs the interpreter only (the JIT refused for `why`).
fn check_interp(
    case: &GenCase,
    old: &OldInterpreter,
    interp: &RbpfFilter,
    why: Jit,
) -> Result<Jit, TestCaseError> {
    for skb in case.skbs() {
        prop_assert_eq!(interp.try_run(&skb), Ok(old.run(&skb)), "rbpf vs old");
    }
    Ok(why)
}

/// Runs one generated case on rbpf (must accept) and rbpf-jit (may refuse
/// only helper calls and oversize programs).
fn differential(case: &GenCase) -> Result<Jit, TestCaseError> {
    let program = check(case.insns.clone())
        .map_err(|e| TestCaseError::fail(format!("invalid generated program: {e}")))?;
    let old = OldInterpreter::new(&program);
    let interp = RbpfFilter::new(&program, false)
        .map_err(|e| TestCaseError::fail(format!("rbpf refused: {e}")))?;
    let jit = match jit_availability() {
        Err(_) => return check_interp(case, &old, &interp, Jit::Absent),
        Ok(()) => match RbpfFilter::new(&program, true) {
            Ok(f) => f,
            Err(RbpfError::HelperUnderJit) => {
                return check_interp(case, &old, &interp, Jit::Helper);
            }
            Err(RbpfError::TooLargeForJit { .. }) => {
                return check_interp(case, &old, &interp, Jit::TooLarge);
            }
            Err(e) => return Err(TestCaseError::fail(format!("rbpf-jit refused: {e}"))),
        },
    };
    for skb in case.skbs() {
        let want = old.run(&skb);
        prop_assert_eq!(interp.try_run(&skb), Ok(want), "rbpf vs old");
        prop_assert_eq!(jit.try_run(&skb), Ok(want), "rbpf-jit vs old");
    }
    Ok(Jit::Ran)
}

/// Runs `cases` generated programs; on x86_64, rbpf-jit must take at least
/// `min_jit_share` of those without netlink loads (the rest it may refuse
/// only as too large).
fn random(cases: u32, max_steps: usize, seed: u64, min_jit_share: f64) {
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    });
    let counts = Cell::new([0u32; 4]);
    runner
        .run(&generator::case_with(max_steps), |case| {
            let what = differential(&case)?;
            let mut c = counts.get();
            c[what as usize] += 1;
            counts.set(c);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let [_, helper, too_large, ran] = counts.get();
    eprintln!("rbpf-jit: ran {ran}, too large {too_large}, netlink {helper}");
    if jit_availability().is_ok() {
        let eligible = too_large + ran;
        assert!(
            f64::from(ran) >= min_jit_share * f64::from(eligible),
            "rbpf-jit took {ran} of {eligible} programs without netlink loads ({helper} with)"
        );
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "rbpf is too slow under Miri for this many cases; Miri checks its glue in the smaller tests"
)]
fn random_programs_agree_with_old() {
    random(3000, 47, 0x0bbf_0001, 0.95);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "rbpf is too slow under Miri for this many cases; Miri checks its glue in the smaller tests"
)]
fn long_random_programs_agree_with_old() {
    random(300, 300, 0x0bbf_0002, 0.5);
}

#[test]
fn jit_refusals_are_typed_and_explained() {
    if jit_availability().is_err() {
        let p = prog(vec![ret_k(1)]);
        assert!(matches!(
            RbpfFilter::new(&p, true),
            Err(RbpfError::Unavailable(_))
        ));
        return;
    }
    // A long program: more machine code than rbpf's one page.
    let mut insns = vec![ld_imm(1)];
    insns.extend((0..600).map(|_| ld_abs(W, 0)));
    insns.push(ret_a());
    let p = prog(insns);
    let err = RbpfFilter::new(&p, true).expect_err("too large for rbpf's JIT");
    assert!(
        matches!(err, RbpfError::TooLargeForJit { limit: 4096, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("4096"), "{err}");
    // The interpreter has no such limit.
    agree_interp_only(&p, &[hdr(10, 0, 0), hdr(3, 0, 0)]);
}

fn agree_interp_only(program: &Program, skbs: &[Skb]) {
    let old = OldInterpreter::new(program);
    let f = RbpfFilter::new(program, false).expect("rbpf accepts");
    for skb in skbs {
        assert_eq!(f.try_run(skb), Ok(old.run(skb)));
    }
}

#[test]
fn filters_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + Clone + std::fmt::Debug>() {}
    shareable::<RbpfFilter>();
    shareable::<bpflab_engines::native::NativeFilter>();
    // And they run on another thread, the clone agreeing with the original.
    let [(_, p1), _] = programs();
    let f = RbpfFilter::new(&p1, jit_availability().is_ok()).expect("accepted");
    let g = f.clone();
    let skb = Skb::from_frame(packet(60));
    let there = std::thread::spawn(move || g.run(&Skb::from_frame(packet(60))))
        .join()
        .expect("runs");
    assert_eq!((f.run(&skb), there), (65535, 65535));
}
