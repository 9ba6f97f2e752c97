//! A filter attached to an engine: the checked classic program as the user
//! gave it, and the engine's prepared form of it.
//!
//! The classic program is kept whatever the engine, so that reading a
//! filter back ([`Filter::original`], the thread's `sk_get_filter` problem)
//! gives what was attached even when it runs converted to eBPF.

use crate::classic::{OldInterpreter, Program};
use crate::ebpf::{
    ConvertError, Converted, DecodeError, ExtInterpreter, ExtSwitchInterpreter, convert,
};
use crate::engine::Engine;
use crate::jit::{ClassicJit, EbpfJit, JitError};
use crate::libpcap::LibpcapFilter;
use crate::native::NativeFilter;
use crate::rbpf_engine::RbpfFilter;
use thiserror::Error;

/// Why a program could not be attached to an engine.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum AttachError {
    /// The engine cannot run on this build or machine.
    #[error("engine {engine} is not available: {why}")]
    Unavailable {
        /// The engine asked for.
        engine: Engine,
        /// Why it is not available.
        why: &'static str,
    },
    /// The classic → eBPF conversion failed.
    #[error("engine {engine}: conversion to eBPF failed: {error}")]
    Convert {
        /// The engine asked for.
        engine: Engine,
        /// What went wrong.
        error: ConvertError,
    },
    /// The converted program cannot be run by the eBPF interpreters.
    #[error("engine {engine}: the converted program was refused: {error}")]
    Decode {
        /// The engine asked for.
        engine: Engine,
        /// What went wrong.
        error: DecodeError,
    },
    /// A reference engine that serves only some programs refuses this one
    /// (it would not give Linux's results, or does not know the program).
    #[error("engine {engine} does not serve this program: {why}")]
    NotServed {
        /// The engine asked for.
        engine: Engine,
        /// Why not.
        why: String,
    },
    /// The JIT could not compile the program (it never runs it wrong).
    #[error("engine {engine}: the JIT refused the program: {error}")]
    Jit {
        /// The engine asked for.
        engine: Engine,
        /// What went wrong.
        error: JitError,
    },
}

/// The engine-specific form of a program, prepared once at attach time.
/// (`Libpcap` is built only with the `libpcap` feature.)
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "libpcap"), allow(dead_code))]
enum Prepared {
    Old(OldInterpreter),
    Ext(ExtInterpreter),
    ExtSwitch(ExtSwitchInterpreter),
    OldJit(ClassicJit),
    ExtJit(EbpfJit),
    Libpcap(LibpcapFilter),
    Native(NativeFilter),
    Rbpf(RbpfFilter),
}

/// A checked program attached to one engine, ready to run on skbs.
#[derive(Clone, Debug)]
pub struct Filter {
    original: Program,
    engine: Engine,
    converted: Option<Converted>,
    prepared: Prepared,
}

impl Filter {
    /// Prepares `program` for an engine, named directly or by a
    /// [`Mode`](crate::Mode) (decoding, converting or compiling it once, so
    /// that [`Filter::run`] does only the per-packet work). An engine that
    /// is not available is an error, never a fallback to another.
    pub fn attach(program: Program, how: impl Into<Engine>) -> Result<Filter, AttachError> {
        let engine = how.into();
        engine
            .availability()
            .map_err(|why| AttachError::Unavailable { engine, why })?;
        let decode_error = |error| AttachError::Decode { engine, error };
        let jit_error = |error| AttachError::Jit { engine, error };
        let (converted, prepared) = match engine {
            Engine::Old => (None, Prepared::Old(OldInterpreter::new(&program))),
            Engine::OldJit => (
                None,
                Prepared::OldJit(ClassicJit::compile(&program).map_err(jit_error)?),
            ),
            Engine::Libpcap => {
                let filter = LibpcapFilter::new(&program).map_err(|e| AttachError::NotServed {
                    engine,
                    why: e.to_string(),
                })?;
                (None, Prepared::Libpcap(filter))
            }
            Engine::Native => {
                let filter = NativeFilter::new(&program).map_err(|e| AttachError::NotServed {
                    engine,
                    why: e.to_string(),
                })?;
                (None, Prepared::Native(filter))
            }
            Engine::Rbpf | Engine::RbpfJit => {
                let filter = RbpfFilter::new(&program, engine == Engine::RbpfJit).map_err(|e| {
                    AttachError::NotServed {
                        engine,
                        why: e.to_string(),
                    }
                })?;
                (Some(filter.converted().clone()), Prepared::Rbpf(filter))
            }
            Engine::Ext | Engine::ExtSwitch | Engine::ExtJit => {
                let c =
                    convert(&program).map_err(|error| AttachError::Convert { engine, error })?;
                let prepared = match engine {
                    Engine::Ext => {
                        Prepared::Ext(ExtInterpreter::new(&c.insns).map_err(decode_error)?)
                    }
                    Engine::ExtSwitch => Prepared::ExtSwitch(
                        ExtSwitchInterpreter::new(&c.insns).map_err(decode_error)?,
                    ),
                    _ => Prepared::ExtJit(EbpfJit::compile(&c).map_err(jit_error)?),
                };
                (Some(c), prepared)
            }
        };
        Ok(Filter {
            original: program,
            engine,
            converted,
            prepared,
        })
    }

    /// Runs the filter on `skb`: the number of bytes to keep, 0 to drop.
    #[inline]
    pub fn run(&self, skb: &crate::Skb) -> u32 {
        match &self.prepared {
            Prepared::Old(interp) => interp.run(skb),
            Prepared::Ext(interp) => interp.run(skb),
            Prepared::ExtSwitch(interp) => interp.run(skb),
            Prepared::OldJit(jit) => jit.run(skb),
            Prepared::ExtJit(jit) => jit.run(skb),
            Prepared::Libpcap(f) => f.run(skb),
            Prepared::Native(f) => f.run(skb),
            Prepared::Rbpf(f) => f.run(skb),
        }
    }

    /// The engine this filter runs on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The classic program exactly as attached, whatever the engine.
    pub fn original(&self) -> &Program {
        &self.original
    }

    /// The native code and where each instruction starts in it (classic
    /// instructions for old-jit, eBPF ones for ext-jit), for JIT engines.
    pub fn native_code(&self) -> Option<(&[u8], &[usize])> {
        match &self.prepared {
            Prepared::OldJit(jit) => Some((jit.code(), jit.insn_offsets())),
            Prepared::ExtJit(jit) => Some((jit.code(), jit.insn_offsets())),
            _ => None,
        }
    }

    /// The program converted to eBPF, for engines that run it converted.
    pub fn converted(&self) -> Option<&Converted> {
        self.converted.as_ref()
    }
}
