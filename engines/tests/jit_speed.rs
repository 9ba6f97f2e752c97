//! A measurement, not a test: ns per call of the old interpreter and both
//! JITs on the thread's programs and bench packet. Ignored by default; run
//! with `cargo test --release -p bpflab-engines --test jit_speed --
//! --ignored --nocapture`. It asserts nothing about time.
//!
//! At a few ns per call, where the JIT's stack frame falls relative to its
//! caller's moves results by up to ~30% on some cores (store-forwarding and
//! memory-renaming effects), so each engine is timed at eight stack depths
//! and the median is reported beside the fastest and slowest depth.

mod jit_common;

use bpflab_engines::skb::Skb;
use jit_common::{FPROG1, FPROG2, Trio, jit_available, packet, program};
use std::hint::black_box;
use std::time::Instant;

/// Calls per timed batch.
const BATCH: u32 = 1_000_000;
/// Batches per engine and depth (the fastest counts).
const ROUNDS: usize = 5;

/// ns per call of one batch of `f` on `skb`.
fn batch(f: &dyn Fn(&Skb) -> u32, skb: &Skb) -> f64 {
    let start = Instant::now();
    let mut acc = 0u32;
    for _ in 0..BATCH {
        acc = acc.wrapping_add(f(black_box(skb)));
    }
    black_box(acc);
    start.elapsed().as_nanos() as f64 / f64::from(BATCH)
}

/// Runs `f` with `N` more bytes of stack in use.
#[inline(never)]
fn deeper<const N: usize>(f: &mut dyn FnMut() -> f64) -> f64 {
    let pad = black_box([0u8; N]);
    let r = f();
    black_box(&pad);
    r
}

type Depth = fn(&mut dyn FnMut() -> f64) -> f64;

const DEPTHS: [Depth; 8] = [
    deeper::<16>,
    deeper::<32>,
    deeper::<48>,
    deeper::<64>,
    deeper::<80>,
    deeper::<96>,
    deeper::<112>,
    deeper::<128>,
];

/// (median, fastest, slowest) over the depths of the best batch at each.
fn measure(f: &dyn Fn(&Skb) -> u32, skb: &Skb) -> (f64, f64, f64) {
    let mut per_depth: Vec<f64> = DEPTHS
        .iter()
        .map(|depth| {
            depth(&mut || {
                (0..ROUNDS)
                    .map(|_| batch(f, skb))
                    .fold(f64::INFINITY, f64::min)
            })
        })
        .collect();
    per_depth.sort_by(f64::total_cmp);
    let mid = (per_depth[3] + per_depth[4]) / 2.0;
    (mid, per_depth[0], per_depth[7])
}

#[test]
#[ignore = "a measurement: run with --release -- --ignored --nocapture"]
fn ns_per_call_on_the_thread_programs() {
    if !jit_available() {
        return;
    }
    let skb = Skb::from_frame(packet(114));
    println!(
        "ns/call: median over {} stack depths of the best of {ROUNDS} batches of {BATCH} \
         (fastest-slowest depth); 114-byte IPv4 TCP packet to port 22",
        DEPTHS.len()
    );
    for (name, text) in [("fprog1", FPROG1), ("fprog2", FPROG2)] {
        let trio = Trio::new(&program(text));
        trio.check(&skb, &|| name.to_string());
        let old = measure(&|s| trio.old.run(s), &skb);
        let classic = measure(&|s| trio.classic.run(s), &skb);
        let ebpf = measure(&|s| trio.ebpf.run(s), &skb);
        let show = |(m, lo, hi): (f64, f64, f64)| format!("{m:6.2} ({lo:.2}-{hi:.2})");
        println!(
            "{name}: old {}  old-jit {}  ext-jit {}  old/old-jit {:.1}x  old/ext-jit {:.1}x  \
             ext-jit/old-jit {:.3}",
            show(old),
            show(classic),
            show(ebpf),
            old.0 / classic.0,
            old.0 / ebpf.0,
            ebpf.0 / classic.0
        );
    }
}
