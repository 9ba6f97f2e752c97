//! Hardware counters per call through perf_event, where the CPU exposes
//! them. Each event is opened on its own, so one missing counter never
//! breaks the others (perf-event's groups panic on a failed member), and
//! nothing here panics: an event that cannot be opened or read is reported
//! as unavailable with the reason.

/// The events the lab reads, in result-column order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Mispredicted branches.
    BranchMisses,
    /// Branch instructions.
    Branches,
    /// Instructions retired.
    Instructions,
    /// CPU cycles.
    Cycles,
    /// Last-level cache misses.
    CacheMisses,
}

impl Event {
    /// Every event.
    pub const ALL: [Event; 5] = [
        Event::BranchMisses,
        Event::Branches,
        Event::Instructions,
        Event::Cycles,
        Event::CacheMisses,
    ];

    /// The perf name.
    pub fn name(self) -> &'static str {
        match self {
            Event::BranchMisses => "branch-misses",
            Event::Branches => "branch-instructions",
            Event::Instructions => "instructions",
            Event::Cycles => "cycles",
            Event::CacheMisses => "cache-misses",
        }
    }
}

/// Counts per call, one slot per [`Event::ALL`], `None` where unavailable.
pub type PerCall = [Option<f64>; 5];

/// Scales a raw count to the whole enabled time (the kernel multiplexes
/// counters when there are more than the PMU has); `None` when the counter
/// never ran, which means "not measured", not zero.
pub fn scaled(count: u64, enabled_ns: u64, running_ns: u64) -> Option<f64> {
    if running_ns == 0 {
        return None;
    }
    Some(count as f64 * enabled_ns as f64 / running_ns as f64)
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod imp {
    use super::{Event, PerCall, scaled};
    use perf_event::Builder;
    use perf_event::events::Hardware;

    /// The counters that opened.
    pub struct Counters {
        open: Vec<(usize, perf_event::Counter)>,
    }

    fn kind(e: Event) -> Hardware {
        match e {
            Event::BranchMisses => Hardware::BRANCH_MISSES,
            Event::Branches => Hardware::BRANCH_INSTRUCTIONS,
            Event::Instructions => Hardware::INSTRUCTIONS,
            Event::Cycles => Hardware::CPU_CYCLES,
            Event::CacheMisses => Hardware::CACHE_MISSES,
        }
    }

    /// Opens one event for this process, disabled, or says why it cannot.
    pub fn open_event(e: Event) -> Result<perf_event::Counter, String> {
        Builder::new()
            .kind(kind(e))
            .build()
            .map_err(|err| err.to_string())
    }

    impl Counters {
        /// Opens every event alone; returns those that failed with why.
        pub fn open() -> (Counters, Vec<(Event, String)>) {
            let mut open = Vec::new();
            let mut failed = Vec::new();
            for (i, e) in Event::ALL.into_iter().enumerate() {
                match open_event(e) {
                    Ok(c) => open.push((i, c)),
                    Err(why) => failed.push((e, why)),
                }
            }
            (Counters { open }, failed)
        }

        /// Whether any event opened.
        pub fn any(&self) -> bool {
            !self.open.is_empty()
        }

        /// Counts `calls` calls made by `work`, per call.
        pub fn count(&mut self, calls: u64, work: impl FnOnce()) -> PerCall {
            let mut out: PerCall = [None; 5];
            for (_, c) in &mut self.open {
                let _ = c.reset();
                let _ = c.enable();
            }
            work();
            for (_, c) in &mut self.open {
                let _ = c.disable();
            }
            for (i, c) in &mut self.open {
                if let Ok(ct) = c.read_count_and_time() {
                    out[*i] = scaled(ct.count, ct.time_enabled, ct.time_running)
                        .map(|v| v / calls.max(1) as f64);
                }
            }
            out
        }
    }
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod imp {
    use super::{Event, PerCall};

    /// No counters on this target: the perf-event crate does not build here.
    pub struct Counters;

    impl Counters {
        /// Reports every event unavailable.
        pub fn open() -> (Counters, Vec<(Event, String)>) {
            let why = "perf_event counters are not built for this architecture";
            (Counters, Event::ALL.map(|e| (e, why.to_string())).to_vec())
        }

        /// Always false.
        pub fn any(&self) -> bool {
            false
        }

        /// Runs `work`; nothing is counted.
        pub fn count(&mut self, _calls: u64, work: impl FnOnce()) -> PerCall {
            work();
            [None; 5]
        }
    }
}

pub use imp::Counters;
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
pub use imp::open_event;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_and_not_measured() {
        assert_eq!(scaled(100, 10, 10), Some(100.0));
        assert_eq!(scaled(100, 20, 10), Some(200.0));
        assert_eq!(scaled(0, 10, 0), None);
    }

    #[test]
    fn unavailable_counters_are_reported_not_fatal() {
        let (mut counters, failed) = Counters::open();
        // On these VMs every event fails; elsewhere some may open. Either
        // way each event is accounted for exactly once and counting works.
        let opened = Event::ALL.len() - failed.len();
        assert_eq!(counters.any(), opened > 0);
        for (_, why) in &failed {
            assert!(!why.is_empty());
        }
        let mut ran = false;
        let per_call = counters.count(10, || ran = true);
        assert!(ran);
        for (e, v) in Event::ALL.iter().zip(per_call) {
            if failed.iter().any(|(f, _)| f == e) {
                assert_eq!(v, None, "{}", e.name());
            }
        }
    }
}
