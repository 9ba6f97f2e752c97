//! The differential check: one checked program on every available engine,
//! each result compared with the old interpreter's.
//!
//! A panic inside an engine is caught and reported as a finding of its
//! own, so one bad engine does not hide what the others do. A fault (a
//! read past a guarded packet, a JIT jumping astray) cannot be caught in
//! the process; `bpflab fuzz` runs its loop in a child for that.

use crate::classic::Program;
use crate::{AttachError, Engine, Filter, Skb};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Something an engine did that the old interpreter did not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// A different verdict on one packet.
    Mismatch {
        /// The engine that differs.
        engine: Engine,
        /// Index of the packet.
        packet: usize,
        /// The old interpreter's verdict.
        expected: u32,
        /// The engine's verdict.
        got: u32,
    },
    /// An engine that serves every program refused this checked one.
    Refused {
        /// The engine.
        engine: Engine,
        /// Its error.
        error: AttachError,
    },
    /// An engine panicked attaching (`packet` is `None`) or running.
    Panicked {
        /// The engine.
        engine: Engine,
        /// The packet it was running on, if it got that far.
        packet: Option<usize>,
        /// The panic message.
        message: String,
    },
}

impl Finding {
    /// The engine the finding is about.
    pub fn engine(&self) -> Engine {
        match self {
            Finding::Mismatch { engine, .. }
            | Finding::Refused { engine, .. }
            | Finding::Panicked { engine, .. } => *engine,
        }
    }

    /// The packet it happened on, when it happened on one.
    pub fn packet(&self) -> Option<usize> {
        match self {
            Finding::Mismatch { packet, .. } => Some(*packet),
            Finding::Panicked { packet, .. } => *packet,
            Finding::Refused { .. } => None,
        }
    }

    /// Whether it is a crash (a panic) rather than a divergence.
    pub fn is_crash(&self) -> bool {
        matches!(self, Finding::Panicked { .. })
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Mismatch {
                engine,
                packet,
                expected,
                got,
            } => write!(
                f,
                "{engine} returned {got} on packet {packet} where old returned {expected}"
            ),
            Finding::Refused { engine, error } => {
                write!(f, "{engine} refused a checked program: {error}")
            }
            Finding::Panicked {
                engine,
                packet: Some(p),
                message,
            } => write!(f, "{engine} panicked on packet {p}: {message}"),
            Finding::Panicked {
                engine,
                packet: None,
                message,
            } => write!(f, "{engine} panicked attaching the program: {message}"),
        }
    }
}

/// The engines to compare, `old` first as the reference.
#[derive(Clone, Debug)]
pub struct Differential {
    engines: Vec<Engine>,
}

impl Default for Differential {
    fn default() -> Self {
        Differential::new()
    }
}

impl Differential {
    /// Every engine this build on this machine can run.
    pub fn new() -> Differential {
        Differential::with_engines(Engine::available())
    }

    /// The given engines (unavailable ones are left out), always with `old`.
    pub fn with_engines(engines: impl IntoIterator<Item = Engine>) -> Differential {
        let mut list = vec![Engine::Old];
        for e in engines {
            if e.availability().is_ok() && !list.contains(&e) {
                list.push(e);
            }
        }
        Differential { engines: list }
    }

    /// The engines compared, `old` first.
    pub fn engines(&self) -> &[Engine] {
        &self.engines
    }

    /// Runs `program` on every skb on every engine and returns what
    /// differs from the old interpreter; an empty list means all agreed.
    /// Engines that serve only some programs and refuse this one are
    /// skipped; `served` counts the engines that ran it.
    pub fn check(&self, program: &Program, skbs: &[Skb]) -> Outcome {
        let mut findings = Vec::new();
        let mut expected = Vec::new();
        let mut served = 0;
        for &engine in &self.engines {
            let filter = match catch(|| Filter::attach(program.clone(), engine)) {
                Ok(Ok(f)) => f,
                Ok(Err(AttachError::NotServed { .. })) if !engine.serves_every_program() => {
                    continue;
                }
                Ok(Err(error)) => {
                    findings.push(Finding::Refused { engine, error });
                    continue;
                }
                Err(message) => {
                    findings.push(Finding::Panicked {
                        engine,
                        packet: None,
                        message,
                    });
                    continue;
                }
            };
            served += 1;
            for (packet, skb) in skbs.iter().enumerate() {
                let got = match catch(|| filter.run(skb)) {
                    Ok(v) => v,
                    Err(message) => {
                        findings.push(Finding::Panicked {
                            engine,
                            packet: Some(packet),
                            message,
                        });
                        if engine == Engine::Old {
                            // Nothing to compare this packet with.
                            expected.push(None);
                        }
                        continue;
                    }
                };
                if engine == Engine::Old {
                    expected.push(Some(got));
                } else if let Some(Some(want)) = expected.get(packet)
                    && *want != got
                {
                    findings.push(Finding::Mismatch {
                        engine,
                        packet,
                        expected: *want,
                        got,
                    });
                }
            }
        }
        Outcome { findings, served }
    }
}

/// What one [`Differential::check`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Everything that differed from the old interpreter.
    pub findings: Vec<Finding>,
    /// How many engines ran the program.
    pub served: usize,
}

/// Runs `f`, turning a panic into its message.
fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into())
    })
}
