//! A simple timing loop: passes over a scenario's visits, timed as whole
//! batches (a single call is far below the clock's resolution).

use bpflab_engines::Filter;
use bpflab_scenarios::Scenario;
use std::hint::black_box;
use std::time::Instant;

/// Median and spread of ns per call over several timed passes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NsPerCall {
    /// Median over the passes.
    pub median: f64,
    /// Fastest pass.
    pub min: f64,
    /// Slowest pass.
    pub max: f64,
}

/// Times `filter` over `passes` passes of the scenario's visiting order,
/// after one untimed warm-up pass.
pub fn time_passes(filter: &Filter, scenario: &Scenario, passes: usize) -> NsPerCall {
    let one_pass = || {
        let mut sum = 0u32;
        for skb in scenario.visits() {
            sum = sum.wrapping_add(filter.run(black_box(skb)));
        }
        black_box(sum);
    };
    one_pass();
    let mut samples: Vec<f64> = (0..passes.max(1))
        .map(|_| {
            let start = Instant::now();
            one_pass();
            start.elapsed().as_nanos() as f64 / scenario.len() as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    NsPerCall {
        median: samples[samples.len() / 2],
        min: samples[0],
        max: samples[samples.len() - 1],
    }
}
