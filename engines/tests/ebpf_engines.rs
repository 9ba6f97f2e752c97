//! The `ext` and `ext-switch` engines against `old`: the thread's two
//! programs on the fprogs.md packet and every truncation of it, random
//! valid programs on random skbs, the `sk_get_filter` round trip (attach
//! with ext on, read back, attach with ext off), a maximal program in a
//! small thread stack, and the four modes.

use bpflab_engines::classic::insn::{Insn as C, MAX_INSNS, ancillary, code, op, skf};
use bpflab_engines::classic::{Program, check};
use bpflab_engines::{AttachError, Device, Engine, Filter, Meta, Mode, Skb};
use ebpf_fixtures::{FPROG1, FPROG2, PACKET, packet, program};

mod ebpf_fixtures;

/// The engines compared here.
const ENGINES: [Engine; 3] = [Engine::Old, Engine::Ext, Engine::ExtSwitch];

fn attach_all(p: &Program) -> Vec<Filter> {
    ENGINES
        .iter()
        .map(|&e| Filter::attach(p.clone(), e).expect("the engine attaches"))
        .collect()
}

/// Runs `skb` on every filter and returns the common result.
fn agreed(filters: &[Filter], skb: &Skb, what: &str) -> u32 {
    let results: Vec<u32> = filters.iter().map(|f| f.run(skb)).collect();
    assert!(
        results.iter().all(|&r| r == results[0]),
        "{what}: engines disagree: {:?}",
        ENGINES.iter().zip(&results).collect::<Vec<_>>()
    );
    results[0]
}

#[test]
fn thread_programs_give_the_fprogs_md_values() {
    let expected = [
        (
            FPROG1,
            [(10, 0), (30, 0), (38, 65535), (60, 65535), (100, 65535)],
        ),
        (
            FPROG2,
            [(10, 0), (30, 0), (38, 0), (60, 65535), (100, 65535)],
        ),
    ];
    for (n, (text, runs)) in expected.iter().enumerate() {
        let filters = attach_all(&program(text));
        for &(len, want) in runs {
            let got = agreed(&filters, &packet(len), &format!("fprog{} len {len}", n + 1));
            assert_eq!(got, want, "fprog{} on {len} bytes", n + 1);
        }
        for len in 0..=120 {
            agreed(&filters, &packet(len), &format!("fprog{} len {len}", n + 1));
        }
    }
}

#[test]
fn engines_agree_on_metadata_combinations() {
    let mut prog = Vec::new();
    let anc = |off: u32| C::stmt(code::LD_W_ABS, (skf::AD_OFF as u32).wrapping_add(off));
    for off in [
        ancillary::PROTOCOL,
        ancillary::PKTTYPE,
        ancillary::MARK,
        ancillary::QUEUE,
        ancillary::RXHASH,
        ancillary::CPU,
        ancillary::VLAN_TAG,
        ancillary::VLAN_TAG_PRESENT,
        ancillary::VLAN_TPID,
        ancillary::IFINDEX,
        ancillary::HATYPE,
    ] {
        prog.push(anc(off));
        prog.push(C::stmt(code::alu_x(op::ADD), 0));
        prog.push(C::stmt(code::TAX, 0));
    }
    prog.push(C::stmt(code::RET_A, 0));
    let filters = attach_all(&check(prog).expect("valid"));
    for dev in [
        None,
        Some(Device::default()),
        Some(Device {
            ifindex: 9,
            hatype: 772,
        }),
    ] {
        let meta = Meta {
            protocol: 0x86dd,
            pkt_type: 3,
            dev,
            mark: 0xdead_beef,
            queue_mapping: 7,
            rxhash: 0x1234_5678,
            cpu: 3,
            vlan_tci: 0xf123,
            vlan_present: true,
            vlan_tpid: 0x88a8,
            mac_header: 0,
            network_header: 14,
        };
        let got = agreed(&filters, &Skb::new(PACKET.to_vec(), &meta), "metadata");
        assert_eq!(got == 0, dev.is_none(), "no device: IFINDEX ends with 0");
    }
}

/// SplitMix64: a small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A constant: often small, sometimes anything (negative as s32 too).
    fn k(&mut self) -> u32 {
        match self.below(4) {
            0 => self.next() as u32,
            1 => (self.below(64) as u32).wrapping_neg(),
            _ => self.below(64) as u32,
        }
    }
}

/// A random classic program the checker accepts (retrying until it does).
fn random_program(rng: &mut Rng) -> Program {
    loop {
        let len = 2 + rng.below(40) as usize;
        let mut insns = Vec::with_capacity(len);
        for pc in 0..len - 1 {
            insns.push(random_insn(rng, len - pc - 1));
        }
        insns.push(if rng.below(2) == 0 {
            C::stmt(code::RET_A, 0)
        } else {
            C::stmt(code::RET_K, rng.k())
        });
        if let Ok(p) = check(insns) {
            return p;
        }
    }
}

/// One instruction with at most `room` instructions after it.
fn random_insn(rng: &mut Rng, room: usize) -> C {
    let alu = [
        op::ADD,
        op::SUB,
        op::MUL,
        op::DIV,
        op::OR,
        op::AND,
        op::LSH,
        op::RSH,
        op::MOD,
        op::XOR,
    ];
    let fields = [
        ancillary::PROTOCOL,
        ancillary::PKTTYPE,
        ancillary::IFINDEX,
        ancillary::NLATTR,
        ancillary::NLATTR_NEST,
        ancillary::MARK,
        ancillary::QUEUE,
        ancillary::HATYPE,
        ancillary::RXHASH,
        ancillary::CPU,
        ancillary::ALU_XOR_X,
        ancillary::VLAN_TAG,
        ancillary::VLAN_TAG_PRESENT,
        ancillary::VLAN_TPID,
    ];
    let jumps = [
        code::JEQ_K,
        code::JEQ_X,
        code::JGT_K,
        code::JGT_X,
        code::JGE_K,
        code::JGE_X,
        code::JSET_K,
        code::JSET_X,
    ];
    let off = |rng: &mut Rng| rng.below(room as u64 + 1).min(255) as u8;
    let mem = (rng.below(16)) as u32;
    match rng.below(14) {
        0 => C::stmt(code::alu_k(rng.pick(&alu)), 1 + rng.below(31) as u32),
        1 => C::stmt(code::alu_x(rng.pick(&alu)), 0),
        2 => C::stmt(code::alu_k(rng.pick(&alu)), rng.k().max(1) % 32),
        3 => C::stmt(
            rng.pick(&[code::LD_W_ABS, code::LD_H_ABS, code::LD_B_ABS]),
            match rng.below(4) {
                0 => (skf::NET_OFF + rng.below(40) as i32) as u32,
                1 => (skf::LL_OFF + rng.below(40) as i32) as u32,
                _ => rng.below(70) as u32,
            },
        ),
        4 => C::stmt(
            rng.pick(&[code::LD_W_IND, code::LD_H_IND, code::LD_B_IND]),
            rng.k(),
        ),
        5 => C::stmt(
            rng.pick(&[code::LD_W_ABS, code::LD_H_ABS, code::LD_B_ABS]),
            (skf::AD_OFF as u32).wrapping_add(rng.pick(&fields)),
        ),
        6 => C::stmt(code::LDX_B_MSH, rng.below(40) as u32),
        7 => C::stmt(rng.pick(&[code::ST, code::STX]), mem),
        8 => C::stmt(rng.pick(&[code::LD_MEM, code::LDX_MEM]), mem),
        9 => C::stmt(rng.pick(&[code::LD_IMM, code::LDX_IMM]), rng.k()),
        10 => C::stmt(
            rng.pick(&[
                code::LD_W_LEN,
                code::LDX_W_LEN,
                code::TAX,
                code::TXA,
                code::NEG,
            ]),
            0,
        ),
        11 => C::stmt(code::JA, off(rng).into()),
        12 if room > 1 => C::stmt(code::RET_K, rng.k()),
        _ => {
            let jt = off(rng);
            let jf = if rng.below(3) == 0 { 0 } else { off(rng) };
            C::jump(rng.pick(&jumps), rng.k(), jt, jf)
        }
    }
}

/// A random skb: the fprogs.md packet or random bytes, any length up to
/// 80, random metadata (sometimes no device).
fn random_skb(rng: &mut Rng) -> Skb {
    let len = rng.below(81) as usize;
    let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
    if rng.below(2) == 0 {
        let n = len.min(PACKET.len());
        data[..n].copy_from_slice(&PACKET[..n]);
    }
    let mut meta = Meta::for_frame(&data);
    if rng.below(4) == 0 {
        meta.dev = None;
    }
    meta.mark = rng.next() as u32;
    meta.rxhash = rng.next() as u32;
    meta.cpu = rng.below(8) as u32;
    meta.vlan_tci = rng.next() as u16;
    meta.vlan_present = rng.below(2) == 0;
    meta.pkt_type = rng.below(8) as u8;
    meta.network_header = rng.below(len as u64 + 1) as u32;
    Skb::new(data, &meta)
}

#[test]
fn random_programs_agree_on_every_engine() {
    let mut rng = Rng(0x5eed_0003);
    let skbs: Vec<Skb> = (0..24).map(|_| random_skb(&mut rng)).collect();
    for n in 0..6000 {
        let p = random_program(&mut rng);
        let filters = attach_all(&p);
        for skb in &skbs {
            agreed(&filters, skb, &format!("random program {n}:\n{p:?}"));
        }
    }
}

#[test]
fn sk_get_filter_round_trip() {
    let mut rng = Rng(0x5eed_0004);
    let mut programs = vec![program(FPROG1), program(FPROG2)];
    programs.extend((0..300).map(|_| random_program(&mut rng)));
    let mut skbs: Vec<Skb> = (0..=100).map(packet).collect();
    skbs.extend((0..200).map(|_| random_skb(&mut rng)));
    for p in programs {
        let ext = Filter::attach(
            p.clone(),
            Mode {
                ext: true,
                jit: false,
            },
        )
        .expect("ext");
        assert_eq!(ext.engine(), Engine::Ext);
        assert!(ext.converted().is_some());
        let read_back = ext.original().clone();
        assert_eq!(
            read_back, p,
            "original() is the classic program as attached"
        );
        let old = Filter::attach(
            read_back,
            Mode {
                ext: false,
                jit: false,
            },
        )
        .expect("old");
        assert_eq!(old.engine(), Engine::Old);
        assert!(old.converted().is_none());
        for skb in &skbs {
            assert_eq!(ext.run(skb), old.run(skb), "{p:?}");
        }
    }
}

#[test]
fn maximal_program_runs_in_a_small_stack() {
    // 4096 instructions, nearly all LDX MSH (6 eBPF instructions each), all
    // executed: ~24,500 eBPF instructions in one run.
    let mut insns = vec![C::stmt(code::LDX_B_MSH, 14); MAX_INSNS - 2];
    insns.push(C::stmt(code::TXA, 0));
    insns.push(C::stmt(code::RET_A, 0));
    let p = check(insns).expect("valid");
    let results = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let filters = attach_all(&p);
            let skb = packet(60);
            let converted = filters[1].converted().map_or(0, |c| c.insns.len());
            (agreed(&filters, &skb, "maximal program"), converted)
        })
        .expect("thread starts")
        .join()
        .expect("no stack overflow");
    assert_eq!(results, (20, 3 + 6 * (MAX_INSNS - 2) + 2));
}

#[test]
fn filters_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<Filter>();
    shareable::<bpflab_engines::ebpf::ExtInterpreter>();
    shareable::<bpflab_engines::ebpf::ExtSwitchInterpreter>();
}

#[test]
fn modes_select_engines_and_unavailable_jits_are_refused() {
    let p = program(FPROG1);
    assert_eq!(
        Filter::attach(p.clone(), Mode::default()).map(|f| f.engine()),
        Ok(Engine::Old)
    );
    for (mode, engine) in [
        (
            Mode {
                ext: false,
                jit: true,
            },
            Engine::OldJit,
        ),
        (
            Mode {
                ext: true,
                jit: true,
            },
            Engine::ExtJit,
        ),
    ] {
        match engine.availability() {
            // Where a JIT exists the mode selects it; elsewhere attaching
            // fails with the reason, never falling back to an interpreter.
            Ok(()) => {
                let f = Filter::attach(p.clone(), mode).expect("JIT available");
                assert_eq!(f.engine(), engine);
                assert_eq!(f.original(), &p);
            }
            Err(_) => {
                let err = Filter::attach(p.clone(), mode).expect_err("no JIT here");
                assert!(matches!(err, AttachError::Unavailable { engine: e, .. } if e == engine));
                assert!(err.to_string().contains("not available"), "{err}");
            }
        }
    }
    let switch = Filter::attach(p.clone(), Engine::ExtSwitch).expect("ext-switch");
    assert_eq!(switch.original(), &p);
    assert_eq!(
        switch.converted().map(|c| c.insns.len()),
        Some(35),
        "fprog1 converted"
    );
}
