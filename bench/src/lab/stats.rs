//! The estimators: medians over interleaved rounds and 95% bootstrap
//! intervals that respect how the rounds were made. Rounds are grouped by
//! the worker process that timed them, and processes of one binary differ
//! by a few percent (heap and stack addresses, where the kernel placed the
//! pages, the machine's state when each started), so an interval from one
//! process's rounds alone would understate the spread of the next run. The
//! bootstrap resamples processes first, then rounds within each.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Bootstrap resamples per interval: enough for 2.5% and 97.5% percentiles
/// steady to a few percent of the interval's width, yet cheap enough (a
/// fraction of a second for a whole run's dozens of estimates) to redo
/// after every worker process (criterion uses 100,000 for one benchmark).
pub const RESAMPLES: usize = 1000;

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
/// process as many of its rounds as it has, with replacement. With few
/// processes that bootstrap is known to be too narrow (it sees the spread
/// between processes through a handful of draws), so the interval is
/// widened by [`few_processes_factor`]. `None` when there is no value. The
/// same `seed` gives the same interval.
pub fn median_with_interval(groups: &[Vec<f64>], resamples: usize, seed: u64) -> Option<Estimate> {
    let groups: Vec<&Vec<f64>> = groups.iter().filter(|g| !g.is_empty()).collect();
    let mut sorted: Vec<(f64, usize)> = groups
        .iter()
        .enumerate()
        .flat_map(|(p, g)| g.iter().map(move |&x| (x, p)))
        .collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Each process's rounds as ranks in the pooled order: a resample is
    // then a count per rank, and its median a walk over the counts, which
    // is several times faster than gathering and selecting values.
    let mut ranks: Vec<Vec<u32>> = vec![Vec::new(); groups.len()];
    for (rank, &(_, p)) in sorted.iter().enumerate() {
        ranks[p].push(rank as u32);
    }
    let values: Vec<f64> = sorted.iter().map(|v| v.0).collect();
    let value = median_of_counts(&values, &vec![1; values.len()], values.len());
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut counts = vec![0u32; values.len()];
    let mut medians = Vec::with_capacity(resamples.max(1));
    for _ in 0..resamples.max(1) {
        counts.fill(0);
        let mut drawn = 0;
        for _ in 0..ranks.len() {
            let process = &ranks[rng.random_range(0..ranks.len())];
            for _ in 0..process.len() {
                counts[process[rng.random_range(0..process.len())] as usize] += 1;
            }
            drawn += process.len();
        }
        medians.push(median_of_counts(&values, &counts, drawn));
    }
    medians.sort_by(f64::total_cmp);
    let widen = few_processes_factor(groups.len());
    let (low, high) = (quantile(&medians, 0.025), quantile(&medians, 0.975));
    // Widened, but no median lies outside the values themselves.
    let (least, most) = (values[0], values[values.len() - 1]);
    Some(Estimate {
        value,
        low: (value - (value - low).max(0.0) * widen).max(least),
        high: (value + (high - value).max(0.0) * widen).min(most),
    })
}

/// The median of a multiset of `total` values given as a count of each of
/// `values` (sorted).
fn median_of_counts(values: &[f64], counts: &[u32], total: usize) -> f64 {
    // The 0-based positions of the middle value(s) in sorted order.
    let (lower, upper) = ((total - 1) / 2, total / 2);
    let (mut seen, mut low) = (0usize, f64::NAN);
    for (v, &c) in values.iter().zip(counts) {
        seen += c as usize;
        if low.is_nan() && seen > lower {
            low = *v;
        }
        if seen > upper {
            return (low + v) / 2.0;
        }
    }
    low
}

/// How much a percentile-bootstrap interval over `processes` clusters is
/// widened: by sqrt(P / (P - 1)), since resampling P clusters sees
/// (P - 1) / P of their variance, and by the ratio of Student's t with P - 1
/// degrees of freedom to the normal 1.96, since the spread between
/// processes is itself estimated from P of them. 1 for a single process,
/// where there is no spread between processes to scale.
pub fn few_processes_factor(processes: usize) -> f64 {
    if processes < 2 {
        return 1.0;
    }
    let df = processes - 1;
    // Student's t, 97.5% quantile, for 1..=30 degrees of freedom.
    const T975: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    let t = T975.get(df - 1).copied().unwrap_or(1.96 + 2.4 / df as f64);
    t / 1.96 * (processes as f64 / df as f64).sqrt()
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
    fn the_median_of_counts_is_the_median_of_the_multiset() {
        let values = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(median_of_counts(&values, &[1, 1, 1, 1], 4), 2.5);
        assert_eq!(median_of_counts(&values, &[0, 3, 0, 2], 5), 2.0);
        assert_eq!(median_of_counts(&values, &[1, 0, 0, 1], 2), 2.5);
        assert_eq!(median_of_counts(&values, &[0, 0, 0, 1], 1), 4.0);
    }

    #[test]
    fn few_processes_widen_more() {
        assert_eq!(few_processes_factor(1), 1.0);
        let (two, six, thirty, many) = (
            few_processes_factor(2),
            few_processes_factor(6),
            few_processes_factor(30),
            few_processes_factor(1000),
        );
        assert!(two > six && six > thirty && thirty > many && many > 1.0);
        assert!((six - 2.571 / 1.96 * 1.2f64.sqrt()).abs() < 1e-9);
        assert!(many < 1.01);
    }

    #[test]
    fn ratios_pair_rounds() {
        let base = vec![vec![4.0, 6.0], vec![9.0]];
        let other = vec![vec![2.0, 0.0], vec![3.0]];
        assert_eq!(paired_ratios(&base, &other), [vec![2.0], vec![3.0]]);
    }
}
