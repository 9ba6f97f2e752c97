//! Raw instruction arrays that pass the checker, on an arbitrary packet and
//! metadata (the layout of `bpflab_engines::fuzz::bytes`), run by every
//! available engine: every result must equal the old interpreter's. The
//! packet ends at a guard page, so a read past it crashes the target.
#![no_main]

use bpflab_engines::Skb;
use bpflab_engines::classic::check;
use bpflab_engines::fuzz::{Differential, bytes};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static ENGINES: OnceLock<Differential> = OnceLock::new();
    let (insns, meta, packet) = bytes::split(data);
    let Ok(program) = check(insns) else {
        return;
    };
    let skb = Skb::new_guarded(&packet, &meta).expect("a guarded packet maps");
    let outcome = ENGINES
        .get_or_init(Differential::new)
        .check(&program, &[skb]);
    if let Some(first) = outcome.findings.first() {
        panic!("{first} ({} findings)", outcome.findings.len());
    }
});
