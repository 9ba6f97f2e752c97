//! The calibrated timing loop: a batch size chosen so one timed batch takes
//! about a millisecond (far above the clock's ~25 ns cost and resolution),
//! a warm-up, then many timed batches for a median and a spread.

use std::time::{Duration, Instant};

/// How long to time and how.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimingPlan {
    /// The duration one timed batch should take.
    pub batch_target: Duration,
    /// How long to run untimed batches first.
    pub warmup: Duration,
    /// Number of timed batches.
    pub samples: usize,
}

impl TimingPlan {
    /// The full lab's plan.
    pub const FULL: TimingPlan = TimingPlan {
        batch_target: Duration::from_millis(1),
        warmup: Duration::from_millis(200),
        samples: 501,
    };

    /// `--quick`: a smoke test.
    pub const QUICK: TimingPlan = TimingPlan {
        batch_target: Duration::from_millis(1),
        warmup: Duration::from_millis(10),
        samples: 21,
    };
}

/// The outcome of timing one cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// Median ns per call over the samples.
    pub median: f64,
    /// Fastest sample.
    pub min: f64,
    /// Slowest sample.
    pub max: f64,
    /// Timed batches.
    pub samples: usize,
    /// Calls per batch.
    pub batch: u64,
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

/// Median, min and max of per-call samples (sorted in place).
pub fn summarize(samples: &mut [f64], batch: u64) -> Timing {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    let median = if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2.0
    };
    Timing {
        median,
        min: samples.first().copied().unwrap_or(f64::NAN),
        max: samples.last().copied().unwrap_or(f64::NAN),
        samples: n,
        batch,
    }
}

/// Times `run_batch` (which makes the given number of calls) with `plan`.
pub fn measure(plan: &TimingPlan, mut run_batch: impl FnMut(u64)) -> Timing {
    let mut time = |n: u64| {
        let start = Instant::now();
        run_batch(n);
        start.elapsed()
    };
    let batch = calibrate(plan.batch_target, &mut time);
    let warm_start = Instant::now();
    while warm_start.elapsed() < plan.warmup {
        time(batch);
    }
    let mut samples: Vec<f64> = (0..plan.samples.max(1))
        .map(|_| time(batch).as_nanos() as f64 / batch as f64)
        .collect();
    summarize(&mut samples, batch)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn summary_statistics() {
        let t = summarize(&mut [5.0, 1.0, 3.0], 10);
        assert_eq!(
            (t.median, t.min, t.max, t.samples, t.batch),
            (3.0, 1.0, 5.0, 3, 10)
        );
        let t = summarize(&mut [4.0, 1.0, 3.0, 2.0], 1);
        assert_eq!(t.median, 2.5);
    }

    #[test]
    fn measure_calls_in_batches() {
        let mut calls = 0u64;
        let plan = TimingPlan {
            batch_target: Duration::from_micros(50),
            warmup: Duration::ZERO,
            samples: 5,
        };
        let t = measure(&plan, |n| {
            for _ in 0..n {
                calls = std::hint::black_box(calls + 1);
            }
        });
        assert_eq!(t.samples, 5);
        assert!(t.batch >= 1);
        assert!(t.min <= t.median && t.median <= t.max);
        assert!(calls >= 5 * t.batch);
    }
}
