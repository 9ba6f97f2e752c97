//! perf_event counters around the lab's timed batches, on every Linux
//! architecture (x86_64, i686, armv7, aarch64): the kernel's software
//! events everywhere, the CPU's events where it exposes a PMU.
//!
//! Each event is opened alone, so one missing counter never takes the
//! others with it; an event that cannot be opened is reported with the
//! reason ([`unavailable`]), and a batch a counter did not run in is "not
//! measured" (`None`), never zero.

pub mod events;
pub mod sys;
pub mod unavailable;

pub use events::{EventSpec, Kind};
pub use sys::{EventFd, Reading};
pub use unavailable::{Host, Unavailable};

/// Counts of one batch: one slot per open event, scaled for multiplexing;
/// `None` where the counter did not run.
pub type Counts = Vec<Option<f64>>;

/// Open counters of the calling thread, each disabled between batches.
#[derive(Debug, Default)]
pub struct Counters {
    open: Vec<Open>,
}

#[derive(Debug)]
struct Open {
    spec: EventSpec,
    fd: EventFd,
    /// The totals at the end of the last batch.
    last: Reading,
}

impl Counters {
    /// Opens each of `specs` alone for the calling thread; returns the set
    /// that opened and why the others did not.
    pub fn open(specs: &[EventSpec]) -> (Counters, Vec<Unavailable>) {
        let mut host = None;
        let mut open = Vec::new();
        let mut failed = Vec::new();
        for spec in specs {
            match EventFd::open(spec) {
                Ok(fd) => open.push(Open {
                    spec: spec.clone(),
                    fd,
                    last: Reading::default(),
                }),
                Err(err) => failed.push(Unavailable {
                    event: spec.name.clone(),
                    reason: unavailable::reason(spec, &err, host.get_or_insert_with(Host::detect)),
                }),
            }
        }
        (Counters { open }, failed)
    }

    /// The open events, in [`Counts`] order.
    pub fn specs(&self) -> impl Iterator<Item = &EventSpec> {
        self.open.iter().map(|o| &o.spec)
    }

    /// Whether no event opened.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// Starts every counter (just before a batch). The first event is
    /// started last and stopped first, so that its window is the batch's
    /// as closely as can be: the lab lists task-clock first, so that its
    /// time compares with the batch's wall time without the other
    /// counters' ioctls in it.
    pub fn start(&mut self) {
        for o in self.open.iter().rev() {
            // A counter that fails to start shows as not running in the
            // batch's reading: "not measured".
            let _ = o.fd.enable();
        }
    }

    /// Stops every counter (just after a batch) and returns what each
    /// counted since `start`.
    pub fn stop(&mut self) -> Counts {
        for o in &self.open {
            let _ = o.fd.disable();
        }
        self.open
            .iter_mut()
            .map(|o| {
                let now = o.fd.read().ok()?;
                let counted = now.since(&o.last);
                o.last = now;
                counted
            })
            .collect()
    }

    /// Counts what `work` does.
    pub fn count(&mut self, work: impl FnOnce()) -> Counts {
        self.start();
        work();
        self.stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn software(names: &[&str]) -> Vec<EventSpec> {
        names.iter().map(|n| EventSpec::parse(n).unwrap()).collect()
    }

    /// Work the compiler cannot drop: `n` rounds of a multiply-add chain.
    fn spin(n: u64) -> u64 {
        let mut x = 1u64;
        for i in 0..n {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
        }
        x
    }

    /// Opens the kernel's software events and checks they count what this
    /// thread does: task-clock grows with work, a sleep loop makes one
    /// context switch per sleep, and a stopped counter counts nothing.
    fn software_events_count() {
        let (mut c, failed) = Counters::open(&software(&[
            "task-clock",
            "context-switches",
            "cpu-migrations",
            "page-faults",
        ]));
        assert!(failed.is_empty(), "{failed:?}");
        let little = c.count(|| {
            spin(1_000_000);
        });
        let more = c.count(|| {
            spin(20_000_000);
        });
        let (little, more) = (little[0].unwrap(), more[0].unwrap());
        assert!(
            little > 0.0 && more > 5.0 * little,
            "task-clock {little} then {more} ns"
        );
        let sleeps = c.count(|| {
            for _ in 0..20 {
                std::thread::sleep(Duration::from_micros(200));
                // SAFETY: sched_yield has no preconditions.
                unsafe { libc::sched_yield() };
            }
        });
        assert!(sleeps[1].unwrap() >= 20.0, "context switches {sleeps:?}");
        // Sleeping and yielding while stopped: nothing counted.
        for _ in 0..20 {
            std::thread::sleep(Duration::from_micros(200));
        }
        spin(5_000_000);
        let idle = c.count(|| {});
        assert_eq!(idle[1], Some(0.0), "a stopped counter counted: {idle:?}");
        assert!(idle[0].unwrap() < little, "task-clock of nothing: {idle:?}");
    }

    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    #[test]
    fn software_events_count_natively() {
        software_events_count();
    }

    /// Under qemu-user the syscall may be missing: then every event must be
    /// reported unavailable, naming the emulator, never counted as zero. On
    /// Arm hardware (no emulation) they must count as on x86.
    #[cfg(target_arch = "arm")]
    #[test]
    fn software_events_count_or_say_the_emulator_lacks_them() {
        let (c, failed) = Counters::open(&software(&["task-clock"]));
        match failed.first() {
            None => {
                drop(c);
                software_events_count();
            }
            Some(u) => {
                assert!(c.is_empty());
                assert!(Host::detect().emulation.is_some(), "{u:?} on real hardware");
                assert!(
                    u.reason
                        .starts_with("the emulator does not implement perf_event_open"),
                    "{u:?}"
                );
            }
        }
    }

    #[test]
    fn events_that_do_not_open_say_why_and_the_rest_count() {
        // A raw code no CPU has, beside an event every kernel has.
        let specs = [
            EventSpec::parse("rffffffffffffffff").unwrap(),
            EventSpec::parse("branch-misses").unwrap(),
        ];
        let (mut c, failed) = Counters::open(&specs);
        for u in &failed {
            assert!(!u.reason.is_empty(), "{u:?}");
        }
        assert_eq!(c.specs().count() + failed.len(), specs.len());
        let counts = c.count(|| {
            spin(1000);
        });
        assert_eq!(counts.len(), c.specs().count());
    }
}
