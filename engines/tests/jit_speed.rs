//! A measurement, not a test: ns per call of the old interpreter and both
//! JITs on the thread's programs and bench packet. Ignored by default; run
//! with `cargo test --release -p bpflab-engines --test jit_speed --
//! --ignored --nocapture`. It asserts nothing about time.

mod jit_common;

use bpflab_engines::skb::Skb;
use jit_common::{FPROG1, FPROG2, Trio, jit_available, packet, program};
use std::hint::black_box;
use std::time::Instant;

/// Calls per timed batch.
const BATCH: u32 = 1_000_000;
/// Batches per engine (the fastest is reported).
const ROUNDS: usize = 7;

/// ns per call of one batch of `f` on `skb`.
fn batch(f: impl Fn(&Skb) -> u32, skb: &Skb) -> f64 {
    let start = Instant::now();
    let mut acc = 0u32;
    for _ in 0..BATCH {
        acc = acc.wrapping_add(f(black_box(skb)));
    }
    black_box(acc);
    start.elapsed().as_nanos() as f64 / f64::from(BATCH)
}

#[test]
#[ignore = "a measurement: run with --release -- --ignored --nocapture"]
fn ns_per_call_on_the_thread_programs() {
    if !jit_available() {
        return;
    }
    let skb = Skb::from_frame(packet(114));
    println!("ns/call, best of {ROUNDS} batches of {BATCH}, 114-byte IPv4 TCP packet to port 22");
    println!("{:8} {:>8} {:>8} {:>8} {:>10} {:>10} {:>14}", "program", "old", "old-jit", "ext-jit", "old/old-jit", "old/ext-jit", "ext-jit/old-jit");
    for (name, text) in [("fprog1", FPROG1), ("fprog2", FPROG2)] {
        let trio = Trio::new(&program(text));
        trio.check(&skb, &|| name.to_string());
        let mut best = [f64::INFINITY; 3];
        // Interleave the engines so drift hits all of them alike.
        for _ in 0..ROUNDS {
            best[0] = best[0].min(batch(|s| trio.old.run(s), &skb));
            best[1] = best[1].min(batch(|s| trio.classic.run(s), &skb));
            best[2] = best[2].min(batch(|s| trio.ebpf.run(s), &skb));
        }
        let [old, classic, ebpf] = best;
        println!(
            "{name:8} {old:>8.2} {classic:>8.2} {ebpf:>8.2} {:>10.2} {:>10.2} {:>14.3}",
            old / classic,
            old / ebpf,
            ebpf / classic
        );
    }
}
