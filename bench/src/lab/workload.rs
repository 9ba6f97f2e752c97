//! The measured work: a filter called on a scenario's skbs in visiting
//! order, continuing where the last batch stopped. Timing, counters and the
//! branch simulator all run this same loop.

use bpflab_engines::{Filter, Skb};
use bpflab_scenarios::Scenario;
use std::hint::black_box;

/// A filter walking a scenario's visits.
pub struct Workload<'a> {
    filter: &'a Filter,
    skbs: &'a [Skb],
    order: &'a [u32],
    cursor: usize,
    sum: u32,
}

impl<'a> Workload<'a> {
    /// The walk of `scenario` by `filter`, from the first visit.
    pub fn new(filter: &'a Filter, scenario: &'a Scenario) -> Self {
        Workload {
            filter,
            skbs: scenario.skbs(),
            order: scenario.order(),
            cursor: 0,
            sum: 0,
        }
    }

    /// Makes `calls` calls. The same loop serves hit and miss scenarios, so
    /// only where the bytes live differs between them.
    #[inline(always)]
    pub fn run(&mut self, calls: u64) {
        let mut cursor = self.cursor;
        let mut sum = self.sum;
        for _ in 0..calls {
            let skb = &self.skbs[self.order[cursor] as usize];
            sum = sum.wrapping_add(self.filter.run(black_box(skb)));
            cursor += 1;
            if cursor == self.order.len() {
                cursor = 0;
            }
        }
        self.cursor = cursor;
        self.sum = black_box(sum);
    }
}

/// The function the branch simulator counts (callgrind
/// `--toggle-collect=bpflab_measured_calls`); kept out of line under a
/// fixed symbol name for that.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn bpflab_measured_calls(work: &mut Workload<'_>, calls: u64) {
    work.run(calls);
}
