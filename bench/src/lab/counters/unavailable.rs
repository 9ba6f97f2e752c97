//! Why an event cannot be counted here, and what would make it countable:
//! `perf_event_open`'s errno read with what the machine says about itself
//! (whether it has a CPU PMU, how paranoid the kernel is, whether this is
//! an emulator), as `perf stat` shows `<not supported>` with a hint.

use super::events::EventSpec;
use crate::lab::machine::emulation;
use std::io;
use std::path::Path;

/// An event that did not open, with the reason and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unavailable {
    /// The event's name.
    pub event: String,
    /// Why, and what to do, in one line.
    pub reason: String,
}

/// The events of `unavailable` grouped by their reason, reasons in first
/// appearance order: one line per reason reads better than the same long
/// reason for each of five events.
pub fn by_reason(unavailable: &[Unavailable]) -> Vec<(&str, Vec<&str>)> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for u in unavailable {
        match groups.iter_mut().find(|(r, _)| *r == u.reason) {
            Some((_, events)) => events.push(&u.event),
            None => groups.push((&u.reason, vec![&u.event])),
        }
    }
    groups
}

/// What the machine says about its counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// Whether the kernel registered a CPU PMU
    /// (`/sys/bus/event_source/devices/cpu*`).
    pub has_cpu_pmu: bool,
    /// `/proc/sys/kernel/perf_event_paranoid`, if readable.
    pub paranoid: Option<i32>,
    /// Why this seems to run under emulation, if it does.
    pub emulation: Option<String>,
}

impl Host {
    /// Reads this machine.
    pub fn detect() -> Host {
        let devices = Path::new("/sys/bus/event_source/devices");
        let has_cpu_pmu = std::fs::read_dir(devices).is_ok_and(|dir| {
            dir.flatten().any(|d| {
                let name = d.file_name();
                let name = name.to_string_lossy();
                // x86 and most Arm kernels call it `cpu`; big.LITTLE Arm
                // ones `armv7_cortex_a15`, `cpu_core`, ...
                name.starts_with("cpu") || name.starts_with("armv")
            })
        });
        let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
            .ok()
            .and_then(|s| s.trim().parse().ok());
        Host {
            has_cpu_pmu,
            paranoid,
            emulation: emulation(
                std::env::consts::ARCH,
                &std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default(),
            ),
        }
    }
}

/// Why opening `spec` failed with `err` on `host`.
pub fn reason(spec: &EventSpec, err: &io::Error, host: &Host) -> String {
    let errno = err.raw_os_error().unwrap_or(0);
    if let Some(why) = &host.emulation {
        if errno == libc::ENOSYS {
            return format!(
                "the emulator does not implement perf_event_open ({why}); \
                 counters need the real CPU"
            );
        }
    }
    match errno {
        libc::ENOSYS => "this kernel has no perf_event_open (built without \
                         CONFIG_PERF_EVENTS)"
            .to_string(),
        libc::EACCES | libc::EPERM => {
            let level = host
                .paranoid
                .map_or(String::from("unknown"), |p| p.to_string());
            format!(
                "not permitted (kernel.perf_event_paranoid is {level}): run as root, \
                 or `sysctl kernel.perf_event_paranoid=1`; in a container, allow \
                 perf_event_open (e.g. docker --cap-add PERFMON)"
            )
        }
        libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV if !spec.is_software() => {
            if host.has_cpu_pmu {
                "this CPU's PMU does not count this event (or the hypervisor hides \
                 it); `bpflab events` lists what opens here"
                    .to_string()
            } else {
                "no PMU: this machine exposes no CPU performance counters (a VM \
                 whose hypervisor hides them?); enable the virtual PMU (e.g. KVM \
                 `-cpu host,pmu=on`) or run on bare metal; `bpflab run --simulate` \
                 gives valgrind's simulated branch misses"
                    .to_string()
            }
        }
        libc::EINVAL => "the kernel rejects this event's configuration here (a raw code or \
             modifier this CPU does not have?)"
            .to_string(),
        libc::EMFILE | libc::ENFILE => {
            "too many open files: raise `ulimit -n` or count fewer events".to_string()
        }
        _ => format!("perf_event_open failed: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(pmu: bool, paranoid: Option<i32>, emulation: Option<&str>) -> Host {
        Host {
            has_cpu_pmu: pmu,
            paranoid,
            emulation: emulation.map(String::from),
        }
    }

    fn why(name: &str, errno: i32, host: &Host) -> String {
        let spec = EventSpec::parse(name).unwrap();
        reason(&spec, &io::Error::from_raw_os_error(errno), host)
    }

    #[test]
    fn no_pmu_and_an_event_this_pmu_lacks() {
        let vm = host(false, Some(2), None);
        let text = why("branch-misses", libc::ENOENT, &vm);
        assert!(text.starts_with("no PMU"), "{text}");
        assert!(text.contains("--simulate"), "{text}");
        let metal = host(true, Some(2), None);
        let text = why("L1-icache-load-misses", libc::EOPNOTSUPP, &metal);
        assert!(text.contains("does not count this event"), "{text}");
    }

    #[test]
    fn paranoia_names_the_level_and_the_fix() {
        let text = why("cycles", libc::EACCES, &host(true, Some(3), None));
        assert!(text.contains("perf_event_paranoid is 3"), "{text}");
        assert!(
            text.contains("sysctl kernel.perf_event_paranoid=1"),
            "{text}"
        );
        let text = why("task-clock", libc::EPERM, &host(true, None, None));
        assert!(text.contains("paranoid is unknown"), "{text}");
    }

    #[test]
    fn missing_syscall_blames_the_emulator_when_there_is_one() {
        let qemu = host(false, None, Some("an x86 CPU runs arm code"));
        let text = why("task-clock", libc::ENOSYS, &qemu);
        assert!(text.starts_with("the emulator does not implement perf_event_open"));
        let text = why("task-clock", libc::ENOSYS, &host(false, None, None));
        assert!(text.contains("CONFIG_PERF_EVENTS"), "{text}");
        assert!(why("r1", libc::EINVAL, &qemu).contains("rejects"));
    }
}
