//! A filter attached to an engine: the checked classic program as the user
//! gave it, and the engine's prepared form of it.

use crate::classic::{OldInterpreter, Program};
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
}

/// The engine-specific form of a program, prepared once at attach time.
#[derive(Clone, Debug)]
enum Prepared {
    Old(OldInterpreter),
}

/// A checked program attached to one engine, ready to run on skbs.
#[derive(Clone, Debug)]
pub struct Filter {
    original: Program,
    engine: Engine,
    prepared: Prepared,
}

impl Filter {
    /// Prepares `program` for `engine` (decoding, converting or compiling
    /// it once, so that [`Filter::run`] does only the per-packet work).
    pub fn attach(program: Program, engine: Engine) -> Result<Filter, AttachError> {
        engine
            .availability()
            .map_err(|why| AttachError::Unavailable { engine, why })?;
        let prepared = match engine {
            Engine::Old => Prepared::Old(OldInterpreter::new(&program)),
        };
        Ok(Filter {
            original: program,
            engine,
            prepared,
        })
    }

    /// Runs the filter on `skb`: the number of bytes to keep, 0 to drop.
    #[inline]
    pub fn run(&self, skb: &crate::Skb) -> u32 {
        match &self.prepared {
            Prepared::Old(interp) => interp.run(skb),
        }
    }

    /// The engine this filter runs on.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The classic program exactly as attached.
    pub fn original(&self) -> &Program {
        &self.original
    }
}
