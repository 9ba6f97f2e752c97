//! The estimators: medians over interleaved rounds and 95% bootstrap
//! intervals that respect how the rounds were made. Rounds are grouped by
//! the worker process that timed them, and processes of one binary differ
//! by a few percent (heap and stack addresses, where the kernel placed the
//! pages, the machine's state when each started), so an interval from one
//! process's rounds alone would understate the spread of the next run. The
//! bootstrap resamples processes first, then rounds within each.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Bootstrap resamples per interval: enough for stable 2.5% and 97.5%
/// percentiles (criterion uses 100,000 for a single benchmark; a lab run
/// has dozens of estimates and recomputes them after each process).
pub const RESAMPLES: usize = 2000;

/// A figure with its 95% interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The point estimate: the median over every round of every process.
    pub value: f64,
    /// Low end of the 95% interval.
    pub low: f64,
    /// High end of the 95% interval.
    pub high: f64,
}

impl Estimate {
    /// The interval's half-width relative to the value (0.01 = ±1%).
    pub fn relative_half_width(&self) -> f64 {
        (self.high - self.low) / 2.0 / self.value.abs()
    }

    /// Whether `x` lies within the interval.
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// The median of `values` (reordered in place); NaN when empty.
pub fn median(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let (below, &mut upper, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        return upper;
    }
    // The lower middle is the largest of the values below the upper one.
    let lower = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lower + upper) / 2.0
}

/// The value at quantile `q` (0..=1) of sorted `values`, interpolated.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, pos.fract());
    match sorted.get(i + 1) {
        Some(next) => sorted[i] + (next - sorted[i]) * frac,
        None => sorted[i],
    }
}

/// The median of every value in `groups` (one group per process, one value
/// per round) with a 95% percentile-bootstrap interval: each resample draws
/// as many processes as there are, with replacement, and from each drawn
/// process as many of its rounds as it has, with replacement. `None` when
/// there is no value. The same `seed` gives the same interval.
pub fn median_with_interval(groups: &[Vec<f64>], resamples: usize, seed: u64) -> Option<Estimate> {
    let groups: Vec<&Vec<f64>> = groups.iter().filter(|g| !g.is_empty()).collect();
    let total: usize = groups.iter().map(|g| g.len()).sum();
    if total == 0 {
        return None;
    }
    let mut pooled: Vec<f64> = groups.iter().flat_map(|g| g.iter().copied()).collect();
    let value = median(&mut pooled);
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut medians = Vec::with_capacity(resamples.max(1));
    for _ in 0..resamples.max(1) {
        pooled.clear();
        for _ in 0..groups.len() {
            let group = groups[rng.random_range(0..groups.len())];
            pooled.extend((0..group.len()).map(|_| group[rng.random_range(0..group.len())]));
        }
        medians.push(median(&mut pooled));
    }
    medians.sort_by(f64::total_cmp);
    Some(Estimate {
        value,
        low: quantile(&medians, 0.025).min(value),
        high: quantile(&medians, 0.975).max(value),
    })
}

/// The paired per-round ratios `base / other` of two cells timed in the
/// same rounds, grouped as the rounds are. Rounds where either time is not
/// a positive number are skipped.
pub fn paired_ratios(base: &[Vec<f64>], other: &[Vec<f64>]) -> Vec<Vec<f64>> {
    base.iter()
        .zip(other)
        .map(|(b, o)| {
            b.iter()
                .zip(o)
                .filter(|(b, o)| **b > 0.0 && **o > 0.0)
                .map(|(b, o)| b / o)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut [7.0]), 7.0);
        assert!(median(&mut []).is_nan());
    }

    #[test]
    fn interval_contains_the_median_and_is_repeatable() {
        let groups: Vec<Vec<f64>> = (0..4)
            .map(|p| {
                (0..50)
                    .map(|r| 10.0 + p as f64 * 0.1 + (r % 7) as f64)
                    .collect()
            })
            .collect();
        let e = median_with_interval(&groups, 500, 1).unwrap();
        assert!(e.contains(e.value), "{e:?}");
        assert!(e.low < e.high, "{e:?}");
        assert_eq!(median_with_interval(&groups, 500, 1), Some(e));
        assert_eq!(median_with_interval(&[vec![], vec![]], 10, 1), None);
    }

    #[test]
    fn process_spread_widens_the_interval() {
        // The same rounds within each process; in `apart` the processes'
        // levels differ by ±3%, as processes of one binary can.
        let rounds = |level: f64| -> Vec<f64> {
            (0..200)
                .map(|r| level * (1.0 + (r % 11) as f64 * 0.001))
                .collect()
        };
        let together: Vec<Vec<f64>> = (0..6).map(|_| rounds(1.0)).collect();
        let apart: Vec<Vec<f64>> = [0.97, 1.03, 0.99, 1.01, 0.98, 1.02]
            .into_iter()
            .map(rounds)
            .collect();
        let narrow = median_with_interval(&together, 1000, 3).unwrap();
        let wide = median_with_interval(&apart, 1000, 3).unwrap();
        assert!(narrow.relative_half_width() < 0.003, "{narrow:?}");
        assert!(wide.relative_half_width() > 0.01, "{wide:?}");
    }

    #[test]
    fn ratios_pair_rounds() {
        let base = vec![vec![4.0, 6.0], vec![9.0]];
        let other = vec![vec![2.0, 0.0], vec![3.0]];
        assert_eq!(paired_ratios(&base, &other), [vec![2.0], vec![3.0]]);
    }
}
