//! The list of engines: their names, what each is, and whether this build
//! on this machine can run it; and the thread's four modes, the two
//! switches `bpf_ext_enable` and `bpf_jit_enable`, which name four of them.

use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// An engine bpflab can run a filter on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Engine {
    /// The 2014 classic interpreter (`sk_run_filter`).
    Old,
    /// The classic JIT.
    OldJit,
    /// Converted to eBPF, run by the threaded interpreter.
    Ext,
    /// Converted to eBPF, compiled by the eBPF JIT.
    ExtJit,
    /// Converted to eBPF, run by a single-`match` interpreter.
    ExtSwitch,
    /// libpcap's own classic interpreter (`bpf_filter`), a reference engine.
    Libpcap,
    /// Hand-written Rust deciding what fprog1/fprog2 decide: the speed a
    /// JIT could approach.
    Native,
    /// The rbpf crate's interpreter on the portable conversion.
    Rbpf,
    /// The rbpf crate's x86_64 JIT on the portable conversion.
    RbpfJit,
}

impl Engine {
    /// Every engine bpflab knows, available here or not.
    pub const ALL: &'static [Engine] = &[
        Engine::Old,
        Engine::OldJit,
        Engine::Ext,
        Engine::ExtJit,
        Engine::ExtSwitch,
        Engine::Native,
        Engine::Libpcap,
        Engine::Rbpf,
        Engine::RbpfJit,
    ];

    /// The name used on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Old => "old",
            Engine::OldJit => "old-jit",
            Engine::Ext => "ext",
            Engine::ExtJit => "ext-jit",
            Engine::ExtSwitch => "ext-switch",
            Engine::Libpcap => "libpcap",
            Engine::Native => "native",
            Engine::Rbpf => "rbpf",
            Engine::RbpfJit => "rbpf-jit",
        }
    }

    /// One line saying what the engine is.
    pub fn summary(self) -> &'static str {
        match self {
            Engine::Old => {
                "classic interpreter as in Linux before 3.15 (sk_run_filter): one switch, jt/jf jumps"
            }
            Engine::OldJit => {
                "classic BPF compiled straight to native code (x86_64), as the 2014 classic JIT"
            }
            Engine::Ext => {
                "converted to eBPF (5.x rules), threaded interpreter: one dispatch jump per handler"
            }
            Engine::ExtJit => {
                "converted to eBPF, compiled to native code (x86_64), registers mapped one to one"
            }
            Engine::ExtSwitch => {
                "converted to eBPF (5.x rules), plain loop-and-match interpreter: one dispatch jump"
            }
            Engine::Libpcap => {
                "libpcap's own classic interpreter (bpf_filter); serves programs whose libpcap result is Linux's"
            }
            Engine::Native => {
                "hand-written Rust for fprog1 and fprog2 (same bounds rules and verdicts); serves only those"
            }
            Engine::Rbpf => {
                "the rbpf crate's interpreter on the portable conversion (explicit bounds checks, byte swaps)"
            }
            Engine::RbpfJit => {
                "the rbpf crate's x86_64 JIT on the portable conversion; no netlink helpers, 4 KiB of code"
            }
        }
    }

    /// `Ok` when this build on this machine can run the engine, otherwise
    /// why not.
    pub fn availability(self) -> Result<(), &'static str> {
        match self {
            Engine::Old | Engine::Ext | Engine::ExtSwitch => Ok(()),
            Engine::OldJit | Engine::ExtJit => crate::jit::availability(),
            Engine::Libpcap => crate::libpcap::availability(),
            Engine::Native | Engine::Rbpf => Ok(()),
            Engine::RbpfJit => crate::rbpf_engine::jit_availability(),
        }
    }

    /// The engine with this name.
    pub fn from_name(name: &str) -> Option<Engine> {
        Engine::ALL.iter().copied().find(|e| e.name() == name)
    }

    /// The engines this build on this machine can run.
    pub fn available() -> impl Iterator<Item = Engine> {
        Engine::ALL
            .iter()
            .copied()
            .filter(|e| e.availability().is_ok())
    }

    /// The mode that selects this engine, if one does (`ext-switch` is
    /// bpflab's own and has none).
    pub fn mode(self) -> Option<Mode> {
        Mode::ALL.into_iter().find(|&m| Engine::from(m) == self)
    }

    /// Whether the engine runs every checked program. Reference engines
    /// serve only some (those whose results would equal Linux's, or the
    /// programs they know) and refuse the others at attach with
    /// [`AttachError::NotServed`](crate::AttachError::NotServed).
    pub fn serves_every_program(self) -> bool {
        !matches!(self, Engine::Libpcap | Engine::Native | Engine::RbpfJit)
    }

    /// Whether the engine runs the program converted to eBPF.
    pub fn converts(self) -> bool {
        matches!(self, Engine::Ext | Engine::ExtJit | Engine::ExtSwitch)
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The thread's two switches: `bpf_ext_enable` (convert classic filters to
/// eBPF) and `bpf_jit_enable` (compile to native code).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Mode {
    /// `bpf_ext_enable`.
    pub ext: bool,
    /// `bpf_jit_enable`.
    pub jit: bool,
}

impl Mode {
    /// The four modes: old, old-jit, ext, ext-jit.
    pub const ALL: [Mode; 4] = [
        Mode {
            ext: false,
            jit: false,
        },
        Mode {
            ext: false,
            jit: true,
        },
        Mode {
            ext: true,
            jit: false,
        },
        Mode {
            ext: true,
            jit: true,
        },
    ];

    /// The mode's name: `old`, `old-jit`, `ext` or `ext-jit`.
    pub fn name(self) -> &'static str {
        Engine::from(self).name()
    }
}

impl From<Mode> for Engine {
    /// The engine the two switches select.
    fn from(mode: Mode) -> Engine {
        match (mode.ext, mode.jit) {
            (false, false) => Engine::Old,
            (false, true) => Engine::OldJit,
            (true, false) => Engine::Ext,
            (true, true) => Engine::ExtJit,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A mode name that is none of the four.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("unknown mode `{0}` (expected old, old-jit, ext or ext-jit)")]
pub struct ParseModeError(pub String);

impl FromStr for Mode {
    type Err = ParseModeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| ParseModeError(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &e in Engine::ALL {
            assert_eq!(Engine::from_name(e.name()), Some(e));
        }
        for m in Mode::ALL {
            assert_eq!(m.to_string().parse::<Mode>(), Ok(m));
            assert_eq!(Engine::from(m).mode(), Some(m));
        }
        assert_eq!(Engine::ExtSwitch.mode(), None);
        assert_eq!(
            "jit".parse::<Mode>(),
            Err(ParseModeError("jit".to_string()))
        );
    }

    #[test]
    fn the_switches_select_the_engines() {
        let m = |ext, jit| Engine::from(Mode { ext, jit });
        assert_eq!(m(false, false), Engine::Old);
        assert_eq!(m(false, true), Engine::OldJit);
        assert_eq!(m(true, false), Engine::Ext);
        assert_eq!(m(true, true), Engine::ExtJit);
        assert_eq!(Mode::default().name(), "old");
    }

    #[test]
    fn jits_only_where_there_is_one() {
        let available: Vec<Engine> = Engine::available().collect();
        for e in [
            Engine::Old,
            Engine::Ext,
            Engine::ExtSwitch,
            Engine::Native,
            Engine::Rbpf,
        ] {
            assert!(available.contains(&e), "{e}");
        }
        for jit in [Engine::OldJit, Engine::ExtJit] {
            if cfg!(miri) {
                assert_eq!(jit.availability(), Err(crate::jit::UNAVAILABLE_UNDER_MIRI));
            } else if cfg!(target_arch = "x86_64") {
                assert!(available.contains(&jit));
            } else {
                assert_eq!(jit.availability(), Err("no JIT for this architecture yet"));
            }
        }
    }
}
