//! Shared by the `jit_*` test files: the thread's programs and packet, and
//! running one program on the old interpreter and both JITs.
#![allow(dead_code)]

use bpflab_engines::classic::{OldInterpreter, Program, check, read};
use bpflab_engines::ebpf::convert::convert;
use bpflab_engines::jit::{ClassicJit, EbpfJit};
use bpflab_engines::skb::Skb;

/// The thread's fprog1 (`tcpdump port 22`), as the scenarios crate ships it.
pub const FPROG1: &str = include_str!("../../../scenarios/programs/fprog1.dd");
/// The thread's fprog2.
pub const FPROG2: &str = include_str!("../../../scenarios/programs/fprog2.dd");

/// The first 38 bytes of the thread's packet (Ethernet, IPv4, TCP to port 22).
pub const PACKET_HEAD: [u8; 38] = [
    0x10, 0xbf, 0x48, 0xd6, 0x43, 0xd6, 0x3c, 0x07, 0x54, 0x43, 0xe5, 0x76, 0x08, 0x00, 0x45, 0x10,
    0x00, 0x64, 0x75, 0xb5, 0x40, 0x00, 0x40, 0x06, 0xad, 0x2e, 0x0a, 0x01, 0x01, 0x95, 0x0a, 0x01,
    0x02, 0x0a, 0xc2, 0x24, 0x00, 0x16,
];

/// The thread's packet zero-padded (or cut) to `len` bytes.
pub fn packet(len: usize) -> Vec<u8> {
    let mut p = PACKET_HEAD.to_vec();
    p.resize(len, 0);
    p
}

/// A `-dd` program text, read and checked.
pub fn program(text: &str) -> Program {
    let insns = read::read(text.as_bytes(), None, None).expect("the program reads");
    check(insns).expect("the program checks")
}

/// Whether this machine has the JITs; prints why not when it has not.
pub fn jit_available() -> bool {
    match bpflab_engines::jit::availability() {
        Ok(()) => true,
        Err(why) => {
            eprintln!("skipping JIT tests: {why}");
            false
        }
    }
}

/// A program ready on the old interpreter and both JITs.
pub struct Trio {
    /// The reference.
    pub old: OldInterpreter,
    /// "old-jit".
    pub classic: ClassicJit,
    /// "ext-jit".
    pub ebpf: EbpfJit,
}

impl Trio {
    /// Compiles `program` for all three.
    pub fn new(program: &Program) -> Trio {
        let converted = convert(program).expect("the program converts");
        Trio {
            old: OldInterpreter::new(program),
            classic: ClassicJit::compile(program).expect("old-jit compiles it"),
            ebpf: EbpfJit::compile(&converted).expect("ext-jit compiles it"),
        }
    }

    /// Runs all three on `skb`, the JITs on a copy that ends right before
    /// a guard page (so a read past the packet faults); panics with `what`
    /// when a JIT disagrees with the old interpreter. Returns the common
    /// result.
    pub fn check(&self, skb: &Skb, what: &dyn Fn() -> String) -> u32 {
        let want = self.old.run(skb);
        let guarded = skb.guarded_copy().expect("a guarded copy maps");
        let classic = self.classic.run(&guarded);
        let ebpf = self.ebpf.run(&guarded);
        assert!(
            classic == want && ebpf == want,
            "old {want:#x}, old-jit {classic:#x}, ext-jit {ebpf:#x}: {}",
            what()
        );
        want
    }
}
