//! The list of engines: their names, what each is, and whether this build
//! on this machine can run it.

use std::fmt;

/// An engine bpflab can run a filter on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Engine {
    /// The 2014 classic interpreter (`sk_run_filter`).
    Old,
}

impl Engine {
    /// Every engine bpflab knows, available here or not.
    pub const ALL: &'static [Engine] = &[Engine::Old];

    /// The name used on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Old => "old",
        }
    }

    /// One line saying what the engine is.
    pub fn summary(self) -> &'static str {
        match self {
            Engine::Old => {
                "classic interpreter as in Linux before 3.15 (sk_run_filter): one switch, jt/jf jumps"
            }
        }
    }

    /// `Ok` when this build on this machine can run the engine, otherwise
    /// why not.
    pub fn availability(self) -> Result<(), &'static str> {
        match self {
            Engine::Old => Ok(()),
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
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
