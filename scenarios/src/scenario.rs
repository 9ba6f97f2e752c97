//! The two memory situations the thread timed a filter in: `hit`, the same
//! skb again and again (its bytes stay in L1), and `miss`, thousands of
//! separately allocated skbs visited in a random order, so nearly every
//! call loads packet bytes from memory, as a busy receive path does.
//!
//! Both modes are walked the same way (an index list over a list of skbs),
//! so the walk costs the same and only where the bytes live differs.

use crate::packet::{BENCH_PACKET_LEN, bench_packet};
use crate::programs::{ACCEPT, ScenarioProgram};
use bpflab_engines::{Filter, Meta, Skb};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Distinct skbs in a miss scenario unless told otherwise (the thread's 10k).
pub const DEFAULT_MISS_SKBS: usize = 10_000;

/// The seed of the visiting order unless told otherwise.
pub const DEFAULT_SEED: u64 = 0x6270_666c_6162; // "bpflab"

/// Capacity of each skb's data buffer: what a driver allocates for a
/// 1500-byte MTU frame plus headroom and `skb_shared_info`, so that 10k
/// buffers span about 20 MB, well beyond the caches.
pub const SKB_BUFFER_CAPACITY: usize = 2048;

/// The most visits (hit) or skbs (miss) a scenario may have: 2 GiB of
/// buffers in miss mode.
pub const MAX_COUNT: usize = 1 << 20;

/// Where the packet bytes live when the filter runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// One skb, run again and again: its bytes are cached.
    Hit,
    /// Many skbs in a shuffled order: each call reads cold memory.
    Miss,
}

/// A mode name that is neither `hit` nor `miss`.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("unknown mode `{0}` (expected hit or miss)")]
pub struct UnknownMode(pub String);

impl Mode {
    /// Both modes, in the thread's order.
    pub const ALL: [Mode; 2] = [Mode::Hit, Mode::Miss];

    /// The name used on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Hit => "hit",
            Mode::Miss => "miss",
        }
    }

    /// The mode with this name.
    pub fn from_name(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == name)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = UnknownMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::from_name(s).ok_or_else(|| UnknownMode(s.to_owned()))
    }
}

/// Why a scenario cannot be built.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ScenarioError {
    /// A count of 0: there would be nothing to run.
    #[error("the skb count must be at least 1")]
    ZeroCount,
    /// A count beyond [`MAX_COUNT`].
    #[error("the skb count {count} is more than the {MAX_COUNT} a scenario may have")]
    TooMany {
        /// The count asked for.
        count: usize,
    },
}

/// A filter returned something other than the scenario's expected verdict.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error(
    "skb {index} of the {mode} scenario for {program}: the filter returned {got}, expected {expected}"
)]
pub struct VerdictMismatch {
    /// The program of the scenario.
    pub program: ScenarioProgram,
    /// The mode of the scenario.
    pub mode: Mode,
    /// Index of the skb in [`Scenario::skbs`].
    pub index: usize,
    /// What the filter returned.
    pub got: u32,
    /// What it should have.
    pub expected: u32,
}

/// A program and the skbs it is timed on, in the order they are visited.
#[derive(Debug)]
pub struct Scenario {
    program: ScenarioProgram,
    mode: Mode,
    skbs: Vec<Skb>,
    order: Vec<u32>,
}

impl Scenario {
    /// The scenario for `program` in `mode`: for [`Mode::Hit`] one skb of
    /// the bench packet visited `count` times; for [`Mode::Miss`] `count`
    /// separately allocated copies of it, each visited once, in an order
    /// shuffled with `seed`.
    pub fn new(
        program: ScenarioProgram,
        mode: Mode,
        count: usize,
        seed: u64,
    ) -> Result<Scenario, ScenarioError> {
        if count == 0 {
            return Err(ScenarioError::ZeroCount);
        }
        if count > MAX_COUNT {
            return Err(ScenarioError::TooMany { count });
        }
        let packet = bench_packet();
        let meta = Meta::for_frame(&packet);
        let distinct = match mode {
            Mode::Hit => 1,
            Mode::Miss => count,
        };
        let skbs = (0..distinct).map(|_| fresh_skb(&packet, &meta)).collect();
        // count <= MAX_COUNT < u32::MAX, so the indices fit.
        let mut order: Vec<u32> = match mode {
            Mode::Hit => vec![0; count],
            Mode::Miss => (0..count as u32).collect(),
        };
        order.shuffle(&mut SmallRng::seed_from_u64(seed));
        Ok(Scenario {
            program,
            mode,
            skbs,
            order,
        })
    }

    /// [`Scenario::new`] with [`DEFAULT_MISS_SKBS`] and [`DEFAULT_SEED`].
    pub fn standard(program: ScenarioProgram, mode: Mode) -> Scenario {
        // Both constants are within the limits `new` checks.
        match Scenario::new(program, mode, DEFAULT_MISS_SKBS, DEFAULT_SEED) {
            Ok(s) => s,
            Err(e) => unreachable!("default scenario sizes are valid: {e}"),
        }
    }

    /// The program this scenario is for.
    pub fn program(&self) -> ScenarioProgram {
        self.program
    }

    /// The memory situation.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The verdict every call must give: the bench packet is accepted by
    /// both programs.
    pub fn expected(&self) -> u32 {
        ACCEPT
    }

    /// The distinct skbs, in allocation order.
    pub fn skbs(&self) -> &[Skb] {
        &self.skbs
    }

    /// Indices into [`Scenario::skbs`], in visiting order.
    pub fn order(&self) -> &[u32] {
        &self.order
    }

    /// Number of visits in one pass.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Always false: a scenario has at least one visit.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The skb of visit `i`, if `i < len()`.
    pub fn get(&self, i: usize) -> Option<&Skb> {
        self.order.get(i).and_then(|&k| self.skbs.get(k as usize))
    }

    /// The skbs of one pass, in visiting order.
    pub fn visits(&self) -> impl ExactSizeIterator<Item = &Skb> + Clone + '_ {
        self.order.iter().map(|&k| &self.skbs[k as usize])
    }

    /// Bytes of packet buffer the scenario spans (capacity, not length).
    pub fn buffer_bytes(&self) -> usize {
        self.skbs.len() * SKB_BUFFER_CAPACITY
    }

    /// Runs `filter` once on every distinct skb and checks each gives
    /// [`Scenario::expected`]; the lab does this before timing.
    pub fn verify(&self, filter: &Filter) -> Result<(), VerdictMismatch> {
        let expected = self.expected();
        for (index, skb) in self.skbs.iter().enumerate() {
            let got = filter.run(skb);
            if got != expected {
                return Err(VerdictMismatch {
                    program: self.program,
                    mode: self.mode,
                    index,
                    got,
                    expected,
                });
            }
        }
        Ok(())
    }
}

/// An skb holding a copy of `packet` in its own buffer of
/// [`SKB_BUFFER_CAPACITY`] bytes.
fn fresh_skb(packet: &[u8], meta: &Meta) -> Skb {
    let mut data = Vec::with_capacity(SKB_BUFFER_CAPACITY.max(packet.len()));
    data.extend_from_slice(packet);
    Skb::new(data, meta)
}

const _: () = assert!(BENCH_PACKET_LEN <= SKB_BUFFER_CAPACITY);
const _: () = assert!(MAX_COUNT < u32::MAX as usize);

#[cfg(test)]
mod tests {
    use super::*;
    use bpflab_engines::Engine;

    #[test]
    fn mode_names_round_trip() {
        for m in Mode::ALL {
            assert_eq!(m.to_string().parse::<Mode>(), Ok(m));
        }
        assert_eq!("hit".parse::<Mode>(), Ok(Mode::Hit));
        assert_eq!("miss".parse::<Mode>(), Ok(Mode::Miss));
        assert_eq!("Hit".parse::<Mode>(), Err(UnknownMode("Hit".into())));
        assert_eq!(Mode::from_name(""), None);
    }

    #[test]
    fn count_zero_and_too_many_are_refused() {
        for mode in Mode::ALL {
            assert_eq!(
                Scenario::new(ScenarioProgram::Fprog1, mode, 0, 1).unwrap_err(),
                ScenarioError::ZeroCount
            );
            assert_eq!(
                Scenario::new(ScenarioProgram::Fprog1, mode, MAX_COUNT + 1, 1).unwrap_err(),
                ScenarioError::TooMany {
                    count: MAX_COUNT + 1
                }
            );
        }
    }

    #[test]
    fn hit_is_one_skb_visited_count_times() {
        let s = Scenario::new(ScenarioProgram::Fprog2, Mode::Hit, 500, 7).unwrap();
        assert_eq!(s.skbs().len(), 1);
        assert_eq!(s.len(), 500);
        assert!(!s.is_empty());
        assert!(s.order().iter().all(|&k| k == 0));
        let first = s.skbs()[0].data().as_ptr();
        assert!(s.visits().all(|skb| skb.data().as_ptr() == first));
        assert_eq!(s.visits().len(), 500);
        assert_eq!(s.get(499).map(Skb::len), Some(BENCH_PACKET_LEN as u32));
        assert!(s.get(500).is_none());
        assert_eq!(s.buffer_bytes(), SKB_BUFFER_CAPACITY);
        assert_eq!(
            (s.program(), s.mode()),
            (ScenarioProgram::Fprog2, Mode::Hit)
        );
    }

    #[test]
    fn miss_skbs_are_separate_bench_packets_in_their_own_buffers() {
        let s = Scenario::new(ScenarioProgram::Fprog1, Mode::Miss, 1000, 7).unwrap();
        assert_eq!(s.skbs().len(), 1000);
        assert_eq!(s.len(), 1000);
        let packet = bench_packet();
        let meta = Meta::for_frame(&packet);
        for skb in s.skbs() {
            assert_eq!(skb.data(), packet.as_slice());
            assert_eq!(skb.meta(), meta);
        }
        let mut starts: Vec<usize> = s
            .skbs()
            .iter()
            .map(|k| k.data().as_ptr() as usize)
            .collect();
        starts.sort_unstable();
        assert!(
            starts
                .windows(2)
                .all(|w| w[1] - w[0] >= SKB_BUFFER_CAPACITY),
            "each buffer owns {SKB_BUFFER_CAPACITY} bytes"
        );
        assert_eq!(s.buffer_bytes(), 1000 * SKB_BUFFER_CAPACITY);
    }

    #[test]
    fn miss_order_is_a_seeded_shuffle() {
        let s = Scenario::new(ScenarioProgram::Fprog1, Mode::Miss, 1000, 7).unwrap();
        let mut sorted = s.order().to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<u32>>(), "a permutation");
        assert_ne!(s.order(), sorted.as_slice(), "not the allocation order");
        let again = Scenario::new(ScenarioProgram::Fprog2, Mode::Miss, 1000, 7).unwrap();
        assert_eq!(s.order(), again.order(), "same seed, same order");
        let other = Scenario::new(ScenarioProgram::Fprog1, Mode::Miss, 1000, 8).unwrap();
        assert_ne!(s.order(), other.order(), "another seed, another order");
        let by_get: Vec<*const u8> = (0..s.len())
            .map(|i| s.get(i).unwrap().data().as_ptr())
            .collect();
        let by_iter: Vec<*const u8> = s.visits().map(|k| k.data().as_ptr()).collect();
        assert_eq!(by_get, by_iter);
    }

    #[test]
    fn standard_miss_has_the_thread_size() {
        let s = Scenario::standard(ScenarioProgram::Fprog1, Mode::Miss);
        assert_eq!(s.skbs().len(), DEFAULT_MISS_SKBS);
        assert!(s.buffer_bytes() >= 20_000_000);
    }

    #[test]
    fn every_skb_gives_the_expected_verdict() {
        for program in ScenarioProgram::ALL {
            let filter = Filter::attach(program.program(), Engine::Old).unwrap();
            for mode in Mode::ALL {
                let s = Scenario::new(program, mode, 300, 1).unwrap();
                assert_eq!(s.expected(), ACCEPT);
                assert_eq!(s.verify(&filter), Ok(()));
                assert!(s.visits().all(|skb| filter.run(skb) == s.expected()));
            }
        }
    }

    #[test]
    fn verify_reports_the_first_wrong_verdict() {
        let s = Scenario::new(ScenarioProgram::Fprog1, Mode::Miss, 3, 1).unwrap();
        let reject_all = bpflab_engines::classic::check(vec![bpflab_engines::classic::Insn {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0,
        }])
        .unwrap();
        let filter = Filter::attach(reject_all, Engine::Old).unwrap();
        let err = s.verify(&filter).unwrap_err();
        assert_eq!(
            err,
            VerdictMismatch {
                program: ScenarioProgram::Fprog1,
                mode: Mode::Miss,
                index: 0,
                got: 0,
                expected: ACCEPT
            }
        );
        assert!(err.to_string().contains("miss scenario for fprog1"));
    }
}
