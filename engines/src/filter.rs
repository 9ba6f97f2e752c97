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
}

/// The engine-specific form of a program, prepared once at attach time.
#[derive(Clone, Debug)]
enum Prepared {
    Old(OldInterpreter),
    Ext(ExtInterpreter),
    ExtSwitch(ExtSwitchInterpreter),
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
        let converted = if engine.converts() {
            Some(convert(&program).map_err(|error| AttachError::Convert { engine, error })?)
        } else {
            None
        };
        let decode_error = |error| AttachError::Decode { engine, error };
        let prepared = match (engine, &converted) {
            (Engine::Ext, Some(c)) => {
                Prepared::Ext(ExtInterpreter::new(&c.insns).map_err(decode_error)?)
            }
            (Engine::ExtSwitch, Some(c)) => {
                Prepared::ExtSwitch(ExtSwitchInterpreter::new(&c.insns).map_err(decode_error)?)
            }
            (Engine::Old, _) => Prepared::Old(OldInterpreter::new(&program)),
            // Unavailable engines were refused above.
            _ => {
                return Err(AttachError::Unavailable {
                    engine,
                    why: "no interpreter for this engine",
                });
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

    /// The program converted to eBPF, for engines that run it converted.
    pub fn converted(&self) -> Option<&Converted> {
        self.converted.as_ref()
    }
}
