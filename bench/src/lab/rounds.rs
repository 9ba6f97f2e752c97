//! The interleaved runner. Each cell (engine × program × mode) gets a batch
//! size that makes one timed batch last about a millisecond (far above the
//! clock's ~25 ns cost and resolution); then every cell is warmed up, and
//! the timed rounds begin: each round times one batch of every cell, in an
//! order shuffled afresh each round. The machine's speed drifts in phases
//! of a fraction of a second to seconds; a round takes milliseconds, so a
//! slow phase slows every cell of a round alike and cancels out of the
//! per-round ratios, and the shuffling keeps any cell from always running
//! first, or always after the same neighbour.

use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use std::time::{Duration, Instant};

/// A source of elapsed time; the lab's is the wall clock, tests inject a
/// simulated one.
pub trait Clock {
    /// Time elapsed since some fixed start.
    fn now(&mut self) -> Duration;
}

/// The monotonic wall clock.
pub struct WallClock(Instant);

impl WallClock {
    /// A clock starting now.
    pub fn new() -> Self {
        WallClock(Instant::now())
    }
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for WallClock {
    fn now(&mut self) -> Duration {
        self.0.elapsed()
    }
}

/// What is measured around each timed batch besides its time: the
/// counters. `start` comes just before the batch's clock starts, `stop`
/// just after it stops, so the batch's time leaves the probe's cost out.
pub trait BatchProbe {
    /// Before a timed batch.
    fn start(&mut self);
    /// After cell `cell`'s timed batch of `calls` calls.
    fn stop(&mut self, cell: usize, calls: u64);
}

/// No probe: time only.
impl BatchProbe for () {
    fn start(&mut self) {}
    fn stop(&mut self, _: usize, _: u64) {}
}

/// How one process times its cells.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RoundPlan {
    /// The duration one timed batch should take.
    pub batch_target: Duration,
    /// How long to run untimed rounds first (at least one is run).
    pub warmup: Duration,
    /// How long to run timed rounds (at least one is run).
    pub duration: Duration,
    /// The most timed rounds.
    pub max_rounds: usize,
}

/// What one process measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Rounds {
    /// Calls per batch, per cell.
    pub batches: Vec<u64>,
    /// ns per call of each cell in each timed round: `ns[cell][round]`.
    pub ns: Vec<Vec<f64>>,
    /// Untimed warm-up rounds run before.
    pub warmup_rounds: usize,
}

/// The number of calls that make one batch last about `target`, given a
/// way to time a batch of `n` calls. Grows the batch tenfold until a batch
/// takes at least a tenth of the target, then scales to the target.
pub fn calibrate(target: Duration, mut time_batch: impl FnMut(u64) -> Duration) -> u64 {
    let floor = target / 10;
    let mut n: u64 = 1;
    loop {
        let took = time_batch(n);
        if took >= floor || n >= 1 << 40 {
            let scaled = n as f64 * target.as_secs_f64() / took.as_secs_f64().max(1e-9);
            return (scaled.round() as u64).clamp(1, 1 << 40);
        }
        n *= 10;
    }
}

/// `0..n` in a random order drawn from `rng`.
pub fn shuffled(rng: &mut SmallRng, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order
}

/// Times `cells` (each makes the given number of calls) in interleaved
/// rounds under `plan`, the rounds' orders drawn from `seed`, with `probe`
/// around every timed batch.
pub fn run<F: FnMut(u64)>(
    cells: &mut [F],
    clock: &mut impl Clock,
    plan: &RoundPlan,
    seed: u64,
    probe: &mut impl BatchProbe,
) -> Rounds {
    let mut rng = SmallRng::seed_from_u64(seed);
    let time = |cell: &mut F, clock: &mut dyn Clock, n: u64| {
        let start = clock.now();
        cell(n);
        clock.now().saturating_sub(start)
    };
    let batches: Vec<u64> = cells
        .iter_mut()
        .map(|cell| calibrate(plan.batch_target, |n| time(cell, clock, n)))
        .collect();
    let mut round = |clock: &mut dyn Clock, rng: &mut SmallRng, ns: Option<&mut [Vec<f64>]>| {
        let order = shuffled(rng, cells.len());
        match ns {
            Some(ns) => {
                for c in order {
                    probe.start();
                    let took = time(&mut cells[c], clock, batches[c]);
                    probe.stop(c, batches[c]);
                    ns[c].push(took.as_nanos() as f64 / batches[c] as f64);
                }
            }
            None => order.into_iter().for_each(|c| cells[c](batches[c])),
        }
    };
    let warm_start = clock.now();
    let mut warmup_rounds = 0;
    while warmup_rounds == 0 || clock.now().saturating_sub(warm_start) < plan.warmup {
        round(clock, &mut rng, None);
        warmup_rounds += 1;
    }
    let mut ns = vec![Vec::new(); batches.len()];
    let start = clock.now();
    let mut rounds = 0;
    while rounds < plan.max_rounds.max(1)
        && (rounds == 0 || clock.now().saturating_sub(start) < plan.duration)
    {
        round(clock, &mut rng, Some(&mut ns));
        rounds += 1;
    }
    Rounds {
        batches,
        ns,
        warmup_rounds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::stats::{median_with_interval, paired_ratios};
    use std::cell::{Cell, RefCell};

    #[test]
    fn calibration_reaches_the_target() {
        let per_call = Duration::from_nanos(37);
        let mut asked = Vec::new();
        let n = calibrate(Duration::from_millis(1), |n| {
            asked.push(n);
            per_call * n as u32
        });
        assert_eq!(n, 27_027);
        assert_eq!(asked, [1, 10, 100, 1000, 10_000]);
        // A slow engine: one call already takes longer than the target.
        assert_eq!(
            calibrate(Duration::from_millis(1), |_| Duration::from_millis(5)),
            1
        );
        // A clock that reports nothing does not loop for ever.
        assert_eq!(
            calibrate(Duration::from_millis(1), |_| Duration::ZERO),
            1 << 40
        );
    }

    /// A simulated clock shared by synthetic cells: a cell's calls advance
    /// it by their cost, scaled by the machine's speed at that moment.
    struct FakeClock<'a>(&'a Cell<f64>);

    impl Clock for FakeClock<'_> {
        fn now(&mut self) -> Duration {
            Duration::from_nanos(self.0.get() as u64)
        }
    }

    const PLAN: RoundPlan = RoundPlan {
        batch_target: Duration::from_micros(100),
        warmup: Duration::from_millis(1),
        duration: Duration::from_secs(3600),
        max_rounds: 300,
    };

    #[test]
    fn every_round_is_a_fresh_permutation() {
        let now = Cell::new(0.0);
        let log = RefCell::new(Vec::new());
        let mut cells: Vec<_> = (0..5)
            .map(|i| {
                let (now, log) = (&now, &log);
                move |n: u64| {
                    now.set(now.get() + n as f64 * 10.0);
                    log.borrow_mut().push(i);
                }
            })
            .collect();
        let plan = RoundPlan {
            max_rounds: 40,
            ..PLAN
        };
        let rounds = run(&mut cells, &mut FakeClock(&now), &plan, 9, &mut ());
        assert!(rounds.ns.iter().all(|ns| ns.len() == 40));
        let log = log.borrow().clone();
        // The timed rounds are the last 40 × 5 calls.
        let timed: Vec<&[usize]> = log[log.len() - 200..].chunks(5).collect();
        for round in &timed {
            let mut sorted = round.to_vec();
            sorted.sort();
            assert_eq!(sorted, [0, 1, 2, 3, 4], "a permutation: {round:?}");
        }
        let distinct: std::collections::HashSet<&[usize]> = timed.iter().copied().collect();
        assert!(distinct.len() > 20, "orders differ between rounds");
        assert!(timed.windows(2).any(|w| w[0][0] != w[1][0]));
        let again = run(&mut cells, &mut FakeClock(&now), &plan, 9, &mut ());
        assert_eq!(
            again.batches, rounds.batches,
            "the same seed, the same plan"
        );
    }

    #[test]
    fn the_probe_wraps_each_timed_batch_and_nothing_else() {
        /// Logs the probe's calls and the clock at each.
        struct Log<'a>(&'a Cell<f64>, Vec<(bool, usize, u64, f64)>);
        impl BatchProbe for Log<'_> {
            fn start(&mut self) {
                self.1.push((true, usize::MAX, 0, self.0.get()));
            }
            fn stop(&mut self, cell: usize, calls: u64) {
                self.1.push((false, cell, calls, self.0.get()));
            }
        }
        let now = Cell::new(0.0);
        let mut cells: Vec<_> = (0..3)
            .map(|i| {
                let now = &now;
                move |n: u64| now.set(now.get() + n as f64 * (i + 1) as f64)
            })
            .collect();
        let plan = RoundPlan {
            max_rounds: 7,
            ..PLAN
        };
        let mut log = Log(&now, Vec::new());
        let rounds = run(&mut cells, &mut FakeClock(&now), &plan, 3, &mut log);
        let log = log.1;
        assert_eq!(
            log.len(),
            2 * 3 * 7,
            "one start and one stop per timed batch"
        );
        for (pair, r) in log.chunks(2).zip(0..) {
            let ((start, _, _, t0), (stop, cell, calls, t1)) = (pair[0], pair[1]);
            assert!(start && !stop, "{pair:?}");
            assert_eq!(calls, rounds.batches[cell]);
            // The batch ran between them: the clock moved by its calls.
            assert_eq!(t1 - t0, (calls * (cell as u64 + 1)) as f64, "batch {r}");
        }
    }

    #[test]
    fn paired_ratios_cancel_the_machines_phases() {
        // Two engines charged 2:1 per call, on a machine whose speed
        // changes by up to 3x in phases of 5 ms, with a little jitter.
        let now = Cell::new(0.0);
        let jitter = Cell::new(1u64);
        let speed = |t: f64| [1.0, 2.5, 1.3, 3.0, 1.8][(t / 5e6) as usize % 5];
        let mut cells: Vec<_> = [2.0, 1.0]
            .into_iter()
            .map(|cost| {
                let (now, jitter) = (&now, &jitter);
                move |n: u64| {
                    let x = jitter
                        .get()
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1);
                    jitter.set(x);
                    let noise = 1.0 + (x >> 40) as f64 / (1u64 << 24) as f64 * 0.02;
                    now.set(now.get() + n as f64 * cost * speed(now.get()) * noise);
                }
            })
            .collect();
        let by_process: Vec<_> = (0..4)
            .map(|p| run(&mut cells, &mut FakeClock(&now), &PLAN, p, &mut ()))
            .collect();
        let slow: Vec<Vec<f64>> = by_process.iter().map(|r| r.ns[0].clone()).collect();
        let fast: Vec<Vec<f64>> = by_process.iter().map(|r| r.ns[1].clone()).collect();
        let ratio = median_with_interval(&paired_ratios(&slow, &fast), 1000, 1).unwrap();
        assert!(ratio.contains(2.0), "{ratio:?}");
        assert!(ratio.relative_half_width() < 0.02, "{ratio:?}");
        // Each engine's own times swing with the phases.
        let times = median_with_interval(&fast, 1000, 1).unwrap();
        assert!(times.contains(times.value));
        let all: Vec<f64> = fast.concat();
        let (lo, hi) = all
            .iter()
            .fold((f64::MAX, 0.0f64), |(l, h), &x| (l.min(x), h.max(x)));
        assert!(hi / lo > 2.0, "the phases show in single cells: {lo}..{hi}");
    }
}
