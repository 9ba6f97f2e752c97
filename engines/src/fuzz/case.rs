//! One generated test: a valid program and the packets it runs on.

use super::packet::packet;
use super::program::{Step, build_program, program_len};
use crate::classic::Insn;
use crate::classic::insn::MAX_INSNS;
use crate::classic::insn::code;
use crate::{Meta, Skb};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::fmt;

/// A program (accepted by the checker by construction) and packets with
/// their metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct Case {
    /// The program.
    pub insns: Vec<Insn>,
    /// Packets with their metadata.
    pub packets: Vec<(Vec<u8>, Meta)>,
}

/// How big the generated programs and how many the packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Most instructions in a program (at most 4096).
    pub max_insns: usize,
    /// Packets per program (at least one).
    pub packets: usize,
}

impl Shape {
    /// What `bpflab fuzz` draws from: mostly short programs, where every
    /// instruction matters; some of a few hundred; and 1 in 50 of up to
    /// 4096 instructions, the checker's limit. Eight packets each, so that
    /// attaching (compiling for the JITs) is not most of the work.
    pub fn biased(rng: &mut impl Rng) -> Shape {
        let max_insns = match rng.random_range(0..50) {
            0 => MAX_INSNS,
            1..=10 => 400,
            _ => 48,
        };
        Shape {
            max_insns,
            packets: 8,
        }
    }
}

/// Packet lengths that programs aim at besides 0..=48: a full Ethernet,
/// IPv4 and TCP header, a minimum frame, the thread's packet, an MTU, a
/// jumbo frame, and the 16-bit boundary.
const EDGE_LENGTHS: [u32; 8] = [54, 60, 64, 114, 1500, 9000, 65535, 65536];

impl Case {
    /// A random case: a nominal packet length (usually 0..=48, else one of
    /// the edge lengths), a program of up to `shape.max_insns` instructions
    /// whose offsets aim around it, and `shape.packets` packets of about
    /// that length.
    pub fn random(rng: &mut impl Rng, shape: Shape) -> Case {
        let nominal = if rng.random_ratio(9, 10) {
            rng.random_range(0..=48)
        } else {
            EDGE_LENGTHS[rng.random_range(0..EDGE_LENGTHS.len())]
        };
        let limit = shape.max_insns.clamp(1, MAX_INSNS);
        let wanted = rng.random_range(0..limit);
        let mut steps = Vec::with_capacity(wanted);
        for _ in 0..wanted {
            let step = Step::random(rng);
            steps.push(step);
            if program_len(&steps) >= limit {
                steps.pop();
                break;
            }
        }
        let last = if rng.random() {
            Insn::stmt(code::RET_A, 0)
        } else {
            Insn::stmt(code::RET_K, rng.random())
        };
        Case {
            insns: build_program(nominal, &steps, last),
            packets: (0..shape.packets.max(1))
                .map(|_| packet(rng, nominal))
                .collect(),
        }
    }

    /// Case number `index` of the run seeded with `seed`: each case has a
    /// generator of its own, so any one can be made again without the
    /// others (how `bpflab fuzz` reports a case that crashed its worker).
    /// Its shape is [`Shape::biased`].
    pub fn nth(seed: u64, index: u64) -> Case {
        // seed_from_u64 spreads its argument with SplitMix64; the odd
        // multiplier keeps runs with nearby seeds from sharing cases.
        let mut rng =
            Xoshiro256PlusPlus::seed_from_u64(seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let shape = Shape::biased(&mut rng);
        Case::random(&mut rng, shape)
    }

    /// The packets as skbs whose bytes end right before a guard page, so
    /// that a read past a packet faults.
    ///
    /// # Panics
    /// When the system refuses the mappings.
    pub fn skbs(&self) -> Vec<Skb> {
        self.packets
            .iter()
            .map(|(data, meta)| {
                Skb::new_guarded(data, meta)
                    .unwrap_or_else(|e| panic!("cannot map a guarded packet: {e}"))
            })
            .collect()
    }
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "program:")?;
        f.write_str(&crate::classic::listing(&self.insns))?;
        for (data, meta) in &self.packets {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            writeln!(f, "packet ({} bytes) {hex}\n  {meta:?}", data.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classic::check;

    #[test]
    #[cfg_attr(miri, ignore = "generated cases: safe code, too slow for Miri")]
    fn every_generated_program_checks_and_fits() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let mut longest = 0;
        for i in 0..300 {
            let shape = if i % 100 == 0 {
                Shape {
                    max_insns: MAX_INSNS,
                    packets: 1,
                }
            } else {
                Shape::biased(&mut rng)
            };
            let case = Case::random(&mut rng, shape);
            assert!(case.insns.len() <= shape.max_insns.max(1));
            longest = longest.max(case.insns.len());
            if let Err(e) = check(case.insns.clone()) {
                panic!("{e}\n{case:?}");
            }
            assert_eq!(case.skbs().len(), shape.packets);
        }
        assert!(longest > 2000, "long programs are made ({longest})");
    }

    #[test]
    fn a_seed_gives_the_same_case() {
        let case = |seed| {
            Case::random(
                &mut Xoshiro256PlusPlus::seed_from_u64(seed),
                Shape {
                    max_insns: 48,
                    packets: 3,
                },
            )
        };
        assert_eq!(case(7), case(7));
        assert_ne!(case(7), case(8));
        assert_eq!(Case::nth(3, 10), Case::nth(3, 10));
        assert_ne!(Case::nth(3, 10), Case::nth(3, 11));
        assert_ne!(Case::nth(3, 10), Case::nth(4, 10));
    }
}
