//! The `perf_event_open` system call, called through `libc` by hand.
//!
//! Why not a crate: `perf-event` does not build for i686 or armv7,
//! `perf-event2` builds for i686 but calls the x86_64 syscall number there,
//! and `perf-event-open-sys` has no armv7 bindings; two of the thread's three
//! architectures would get no counters. What the lab needs is small and the
//! same on every Linux architecture: the attribute struct's first 72 bytes
//! (`PERF_ATTR_SIZE_VER1`), two ioctls whose numbers do not depend on the
//! architecture on x86 and Arm, and `read` with the two times. `libc` knows
//! each target's syscall number.

use super::events::{EventSpec, Scope};
use std::fs::File;
use std::io::{self, Read as _};
use std::os::fd::{AsRawFd as _, FromRawFd as _};

/// `struct perf_event_attr` up to `config2` (the kernel takes any
/// published size and zero-fills the rest). Every field sits at a multiple
/// of its size, so the layout has no padding on 32- or 64-bit targets.
#[repr(C)]
#[derive(Default)]
struct Attr {
    type_: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
    config2: u64,
}

const ATTR_SIZE_VER1: u32 = 72;
const _: () = assert!(std::mem::size_of::<Attr>() == ATTR_SIZE_VER1 as usize);

/// `read_format`: the value is followed by time enabled and time running.
const FORMAT_TOTAL_TIME_ENABLED: u64 = 1;
const FORMAT_TOTAL_TIME_RUNNING: u64 = 2;

/// `flags` bits.
const FLAG_DISABLED: u64 = 1 << 0;
const FLAG_EXCLUDE_USER: u64 = 1 << 4;
const FLAG_EXCLUDE_KERNEL: u64 = 1 << 5;
const FLAG_EXCLUDE_HV: u64 = 1 << 6;

/// `_IO('$', n)`: the same number on x86 and Arm.
const IOC_ENABLE: u64 = 0x2400;
const IOC_DISABLE: u64 = 0x2401;

/// `PERF_FLAG_FD_CLOEXEC`.
const OPEN_CLOEXEC: libc::c_ulong = 8;

/// One cumulative read of a counter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reading {
    /// Events counted while enabled and scheduled on the PMU.
    pub count: u64,
    /// Nanoseconds the counter was enabled.
    pub enabled: u64,
    /// Nanoseconds it was actually counting (less than `enabled` when the
    /// kernel multiplexed more events than the PMU has counters).
    pub running: u64,
}

impl Reading {
    /// The count between `earlier` and this reading, scaled to the whole
    /// time enabled; `None` when the counter never ran in between: not
    /// measured, which is not zero.
    pub fn since(&self, earlier: &Reading) -> Option<f64> {
        scaled(
            self.count.wrapping_sub(earlier.count),
            self.enabled.wrapping_sub(earlier.enabled),
            self.running.wrapping_sub(earlier.running),
        )
    }
}

/// Scales a raw count to the whole enabled time; `None` when the counter
/// never ran (`running` 0): "not measured", never zero.
pub fn scaled(count: u64, enabled_ns: u64, running_ns: u64) -> Option<f64> {
    if running_ns == 0 {
        return None;
    }
    Some(count as f64 * enabled_ns.max(running_ns) as f64 / running_ns as f64)
}

/// One open counter of this thread, created disabled.
#[derive(Debug)]
pub struct EventFd(File);

impl EventFd {
    /// Opens `spec` for the calling thread on any CPU, disabled; an error
    /// is the errno, which [`super::unavailable::reason`] explains.
    pub fn open(spec: &EventSpec) -> io::Result<EventFd> {
        let exclude = match spec.scope {
            Scope::User => FLAG_EXCLUDE_KERNEL | FLAG_EXCLUDE_HV,
            Scope::Kernel => FLAG_EXCLUDE_USER | FLAG_EXCLUDE_HV,
            Scope::Both => 0,
        };
        let attr = Attr {
            type_: spec.type_,
            size: ATTR_SIZE_VER1,
            config: spec.config,
            read_format: FORMAT_TOTAL_TIME_ENABLED | FORMAT_TOTAL_TIME_RUNNING,
            flags: FLAG_DISABLED | exclude,
            ..Attr::default()
        };
        // SAFETY: `attr` is a valid perf_event_attr of the size it
        // declares and outlives the call; pid 0 / cpu -1 / group -1 ask
        // for this thread on any CPU, alone. The kernel only reads `attr`.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &attr as *const Attr,
                0 as libc::pid_t,
                -1 as libc::c_int,
                -1 as libc::c_int,
                OPEN_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just returned this descriptor; nothing else
        // owns it.
        Ok(EventFd(unsafe { File::from_raw_fd(fd as libc::c_int) }))
    }

    fn ioctl(&self, request: u64) -> io::Result<()> {
        // SAFETY: an argument-less perf ioctl on a perf event descriptor
        // this value owns.
        let r = unsafe { libc::ioctl(self.0.as_raw_fd(), request as _, 0) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Starts counting.
    pub fn enable(&self) -> io::Result<()> {
        self.ioctl(IOC_ENABLE)
    }

    /// Stops counting.
    pub fn disable(&self) -> io::Result<()> {
        self.ioctl(IOC_DISABLE)
    }

    /// The counter's totals so far.
    pub fn read(&mut self) -> io::Result<Reading> {
        let mut buf = [0u8; 24];
        self.0.read_exact(&mut buf)?;
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&buf[i * 8..i * 8 + 8]);
            u64::from_ne_bytes(w)
        };
        Ok(Reading {
            count: word(0),
            enabled: word(1),
            running: word(2),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_and_not_measured() {
        assert_eq!(scaled(100, 10, 10), Some(100.0));
        // Multiplexed: counted half the time enabled.
        assert_eq!(scaled(100, 20, 10), Some(200.0));
        // Never ran: not measured, not zero.
        assert_eq!(scaled(0, 10, 0), None);
        // Ran and counted nothing: a real zero.
        assert_eq!(scaled(0, 10, 10), Some(0.0));
    }

    #[test]
    fn deltas_between_readings() {
        let a = Reading {
            count: 1000,
            enabled: 500,
            running: 500,
        };
        let b = Reading {
            count: 1300,
            enabled: 900,
            running: 700,
        };
        // 300 counted in 200 ns of running out of 400 enabled.
        assert_eq!(b.since(&a), Some(600.0));
        assert_eq!(a.since(&a), None, "enabled no time in between");
        let wrapped = Reading {
            count: 5,
            enabled: 10,
            running: 10,
        };
        let before = Reading {
            count: u64::MAX - 4,
            enabled: 0,
            running: 0,
        };
        assert_eq!(wrapped.since(&before), Some(10.0));
    }
}
