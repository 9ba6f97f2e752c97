//! How JIT code sits in memory: no mapping of the process is ever writable
//! and executable at once while filters are attached, and the inline fast
//! path never reads a byte past the packet (the packet is put right before
//! a PROT_NONE page, where one byte too far would fault).

mod jit_common;

use bpflab_engines::classic::check;
use bpflab_engines::classic::insn::{Insn, class, code, mode, size};
use bpflab_engines::ebpf::convert;
use bpflab_engines::jit::{ClassicJit, EbpfJit};
use bpflab_engines::skb::Skb;
use jit_common::{FPROG1, FPROG2, jit_available, packet, program};

/// The mappings of this process, one `/proc/self/maps` line each.
fn maps() -> Vec<String> {
    std::fs::read_to_string("/proc/self/maps")
        .expect("/proc/self/maps is readable on Linux")
        .lines()
        .map(str::to_string)
        .collect()
}

/// The permission field (`r-xp`) of the mapping holding `addr`.
fn perms_of(maps: &[String], addr: usize) -> Option<String> {
    maps.iter().find_map(|line| {
        let mut fields = line.split_whitespace();
        let range = fields.next()?;
        let perms = fields.next()?;
        let (lo, hi) = range.split_once('-')?;
        let lo = usize::from_str_radix(lo, 16).ok()?;
        let hi = usize::from_str_radix(hi, 16).ok()?;
        (lo <= addr && addr < hi).then(|| perms.to_string())
    })
}

#[test]
fn no_mapping_is_writable_and_executable() {
    if !jit_available() {
        return;
    }
    let mut classic = Vec::new();
    let mut ebpf = Vec::new();
    for text in [FPROG1, FPROG2, FPROG1, FPROG2] {
        let p = program(text);
        classic.push(ClassicJit::compile(&p).expect("compiles"));
        ebpf.push(EbpfJit::compile(&convert(&p).expect("converts")).expect("compiles"));
    }
    let maps = maps();
    let wx: Vec<&String> = maps
        .iter()
        .filter(|l| {
            let perms = l.split_whitespace().nth(1).unwrap_or("");
            perms.contains('w') && perms.contains('x')
        })
        .collect();
    assert!(wx.is_empty(), "writable and executable: {wx:#?}");
    let codes = classic
        .iter()
        .map(|j| j.code().as_ptr())
        .chain(ebpf.iter().map(|j| j.code().as_ptr()));
    for addr in codes {
        assert_eq!(
            perms_of(&maps, addr as usize).as_deref(),
            Some("r-xp"),
            "the code at {addr:p} is mapped read+execute"
        );
    }
    // The filters still run after the check.
    let skb = Skb::from_frame(packet(60));
    assert!(classic.iter().all(|j| j.run(&skb) == 65535));
}

#[test]
fn fast_paths_never_read_past_the_packet() {
    if !jit_available() {
        return;
    }
    let mut programs = vec![program(FPROG1), program(FPROG2)];
    for sz in [size::W, size::H, size::B] {
        for k in 0..=20 {
            programs.push(
                check(vec![
                    Insn::stmt(class::LD | sz | mode::ABS, k),
                    Insn::stmt(code::RET_A, 0),
                ])
                .expect("valid"),
            );
            programs.push(
                check(vec![
                    Insn::stmt(code::LD_W_LEN, 0),
                    Insn::stmt(code::alu_k(bpflab_engines::classic::insn::op::SUB), k),
                    Insn::stmt(code::TAX, 0),
                    Insn::stmt(class::LD | sz | mode::IND, 0),
                    Insn::stmt(code::RET_A, 0),
                ])
                .expect("valid"),
            );
        }
    }
    programs.push(
        check(vec![
            Insn::stmt(code::LDX_B_MSH, 13),
            Insn::stmt(code::TXA, 0),
            Insn::stmt(code::RET_A, 0),
        ])
        .expect("valid"),
    );
    for p in &programs {
        let classic = ClassicJit::compile(p).expect("compiles");
        let ebpf = EbpfJit::compile(&convert(p).expect("converts")).expect("compiles");
        for len in 0..=40 {
            let skb = Skb::from_frame(packet(len));
            let edge = skb.guarded_copy().expect("mapping works");
            assert!(edge.is_guarded());
            let want = classic.run(&skb);
            assert_eq!(classic.run(&edge), want);
            assert_eq!(ebpf.run(&edge), want);
            assert_eq!(ebpf.run(&skb), want);
        }
    }
}
