//! The measured work: a filter called on a scenario's skbs in visiting
//! order, continuing where the last batch stopped. Timing, counters and the
//! branch simulator all run this same loop.

use bpflab_engines::{Filter, Skb};
use bpflab_scenarios::Scenario;
use bpflab_scenarios::scenario::SKB_BUFFER_CAPACITY;
use std::hint::black_box;

/// The most skb buffer memory a miss workload may take (1 GiB): 512Ki of
/// the 2 KiB buffers, 50 times the thread's 10k skbs and far past any
/// cache, yet within reach of small and 32-bit machines. Checked before
/// anything is allocated.
pub const MAX_MISS_BUFFER_BYTES: u64 = 1 << 30;

/// The skb buffer bytes a miss scenario of `count` skbs over packets of
/// lengths `lens` allocates: skb `i` holds packet `i % lens.len()` in a
/// buffer of at least [`SKB_BUFFER_CAPACITY`] bytes (no `lens`: the
/// thread's packet, which fits one).
pub fn miss_buffer_bytes(lens: &[usize], count: usize) -> u64 {
    let buffer = |len: usize| len.max(SKB_BUFFER_CAPACITY) as u64;
    if lens.is_empty() {
        return count as u64 * buffer(0);
    }
    let (cycles, rest) = (count / lens.len(), count % lens.len());
    let cycle: u64 = lens.iter().map(|&l| buffer(l)).sum();
    cycles as u64 * cycle + lens[..rest].iter().map(|&l| buffer(l)).sum::<u64>()
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn miss_buffers_are_at_least_the_skb_capacity() {
        assert_eq!(miss_buffer_bytes(&[], 10_000), 10_000 * 2048);
        assert_eq!(miss_buffer_bytes(&[60, 4096], 3), 2048 + 4096 + 2048);
        assert_eq!(miss_buffer_bytes(&[65_535; 2], 1), 65_535);
    }
}
