//! The two memory situations the thread timed a filter in: `hit`, the same
//! skb again and again (its bytes stay in L1), and `miss`, thousands of
//! separately allocated skbs visited in a random order, so nearly every
//! call loads packet bytes from memory, as a busy receive path does.
//!
//! Both modes are walked the same way (an index list over a list of skbs),
//! so the walk costs the same and only where the bytes live differs.
//!
//! A scenario is either one of the thread's ([`Scenario::new`]: a thread
//! program on the benchmark packet) or a user's ([`Scenario::from_parts`]:
//! any checked program on any packets, each with the verdict it must get),
//! as scenario files ([`crate::file`]) describe them.

use crate::packet::{BENCH_PACKET_LEN, bench_packet};
use crate::programs::{ACCEPT, ScenarioProgram};
use bpflab_engines::classic::Program;
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
    /// No packet to build the skbs from.
    #[error("a scenario needs at least one packet")]
    NoPackets,
}

/// A packet of a scenario and the verdict the program must give on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedPacket {
    /// The frame's bytes, from the Ethernet header on.
    pub bytes: Vec<u8>,
    /// The verdict every engine must return for it.
    pub expected: u32,
}

/// A filter returned something other than the scenario's expected verdict.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error(
    "skb {index} of the {mode} scenario for {program}: the filter returned {got}, expected {expected}"
)]
pub struct VerdictMismatch {
    /// The name of the scenario's program (`fprog1`, or a scenario file's
    /// `name`).
    pub program: String,
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
    name: String,
    builtin: Option<ScenarioProgram>,
    program: Program,
    mode: Mode,
    skbs: Vec<Skb>,
    /// The verdict expected of each of `skbs`.
    expected: Vec<u32>,
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
        let packet = ExpectedPacket {
            bytes: bench_packet(),
            expected: ACCEPT,
        };
        let mut scenario = Scenario::from_parts(
            program.name(),
            program.program(),
            std::slice::from_ref(&packet),
            mode,
            count,
            seed,
        )?;
        scenario.builtin = Some(program);
        Ok(scenario)
    }

    /// A scenario for any checked `program`, called `name` in results, on
    /// `packets` (at least one). [`Mode::Hit`]: one skb of the first packet
    /// visited `count` times. [`Mode::Miss`]: `count` separately allocated
    /// skbs, skb `i` a copy of packet `i % packets.len()` (so with fewer
    /// skbs than packets only the first `count` packets are used), each
    /// visited once, in an order shuffled with `seed`.
    pub fn from_parts(
        name: impl Into<String>,
        program: Program,
        packets: &[ExpectedPacket],
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
        if packets.is_empty() {
            return Err(ScenarioError::NoPackets);
        }
        let metas: Vec<Meta> = packets.iter().map(|p| Meta::for_frame(&p.bytes)).collect();
        let distinct = match mode {
            Mode::Hit => 1,
            Mode::Miss => count,
        };
        let (skbs, expected) = (0..distinct)
            .map(|i| {
                let k = i % packets.len();
                (fresh_skb(&packets[k].bytes, &metas[k]), packets[k].expected)
            })
            .unzip();
        // count <= MAX_COUNT < u32::MAX, so the indices fit.
        let mut order: Vec<u32> = match mode {
            Mode::Hit => vec![0; count],
            Mode::Miss => (0..count as u32).collect(),
        };
        order.shuffle(&mut SmallRng::seed_from_u64(seed));
        Ok(Scenario {
            name: name.into(),
            builtin: None,
            program,
            mode,
            skbs,
            expected,
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

    /// The name of the scenario's program, as results show it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The thread's program this scenario runs, if it is one of the
    /// thread's scenarios ([`Scenario::new`]).
    pub fn builtin(&self) -> Option<ScenarioProgram> {
        self.builtin
    }

    /// The checked program the scenario runs.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The memory situation.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The verdict expected on the first skb: for the thread's scenarios
    /// the verdict of every call (the bench packet is accepted by both
    /// programs). A user scenario's packets may expect different verdicts:
    /// see [`Scenario::common_expected`] and [`Scenario::expected_of`].
    pub fn expected(&self) -> u32 {
        self.expected.first().copied().unwrap_or(ACCEPT)
    }

    /// The verdict every call must give, if all skbs expect the same one.
    pub fn common_expected(&self) -> Option<u32> {
        let first = *self.expected.first()?;
        self.expected.iter().all(|&e| e == first).then_some(first)
    }

    /// The verdict expected on distinct skb `index` (of [`Scenario::skbs`]).
    pub fn expected_of(&self, index: usize) -> Option<u32> {
        self.expected.get(index).copied()
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

    /// Runs `filter` once on every distinct skb and checks each gives its
    /// expected verdict; the lab does this before timing.
    pub fn verify(&self, filter: &Filter) -> Result<(), VerdictMismatch> {
        for (index, (skb, &expected)) in self.skbs.iter().zip(&self.expected).enumerate() {
            let got = filter.run(skb);
            if got != expected {
                return Err(VerdictMismatch {
                    program: self.name.clone(),
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
            (s.builtin(), s.name(), s.mode()),
            (Some(ScenarioProgram::Fprog2), "fprog2", Mode::Hit)
        );
        assert_eq!(s.program(), &ScenarioProgram::Fprog2.program());
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
    fn from_parts_cycles_through_the_packets_in_miss_mode() {
        let packets: Vec<ExpectedPacket> = (0..3u8)
            .map(|i| ExpectedPacket {
                bytes: vec![i; 20 + usize::from(i)],
                expected: u32::from(i),
            })
            .collect();
        let program = ScenarioProgram::Fprog1.program();
        let s = Scenario::from_parts("mine", program.clone(), &packets, Mode::Miss, 7, 1).unwrap();
        assert_eq!(
            (s.name(), s.builtin(), s.mode()),
            ("mine", None, Mode::Miss)
        );
        let lens: Vec<u32> = s.skbs().iter().map(Skb::len).collect();
        assert_eq!(lens, [20, 21, 22, 20, 21, 22, 20]);
        let expected: Vec<Option<u32>> = (0..8).map(|i| s.expected_of(i)).collect();
        assert_eq!(
            expected,
            [0, 1, 2, 0, 1, 2, 0]
                .map(Some)
                .into_iter()
                .chain([None])
                .collect::<Vec<_>>()
        );
        assert_eq!((s.expected(), s.common_expected()), (0, None));
        let hit = Scenario::from_parts("mine", program.clone(), &packets, Mode::Hit, 7, 1).unwrap();
        assert_eq!(hit.skbs().len(), 1);
        assert_eq!(hit.skbs()[0].data(), packets[0].bytes.as_slice());
        assert_eq!(hit.common_expected(), Some(0));
        assert_eq!(
            Scenario::from_parts("mine", program, &[], Mode::Hit, 7, 1).unwrap_err(),
            ScenarioError::NoPackets
        );
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
                program: "fprog1".into(),
                mode: Mode::Miss,
                index: 0,
                got: 0,
                expected: ACCEPT
            }
        );
        assert!(err.to_string().contains("miss scenario for fprog1"));
    }
}
