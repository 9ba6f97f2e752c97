//! The JIT types on an architecture without a backend: they exist so that
//! callers build everywhere, but cannot be constructed; `compile` always
//! says [`JitError::Unavailable`].

use crate::classic::Program;
use crate::ebpf::Converted;
use crate::ebpf::insn::Insn;
use crate::jit::JitError;
use crate::skb::Skb;
use std::convert::Infallible;
use std::ops::Deref;

/// A compiled program; never exists on this architecture.
#[derive(Clone, Debug)]
pub struct Compiled {
    never: Infallible,
}

impl Compiled {
    /// Unreachable: no value of this type exists.
    pub fn run(&self, _skb: &Skb) -> u32 {
        match self.never {}
    }

    /// Unreachable: no value of this type exists.
    pub fn code(&self) -> &[u8] {
        match self.never {}
    }

    /// Unreachable: no value of this type exists.
    pub fn insn_offsets(&self) -> &[usize] {
        match self.never {}
    }
}

/// A compiled classic program; never exists on this architecture.
#[derive(Clone, Debug)]
pub struct ClassicJit(Compiled);

impl ClassicJit {
    /// Always [`JitError::Unavailable`] here.
    pub fn compile(_program: &Program) -> Result<ClassicJit, JitError> {
        Err(JitError::Unavailable)
    }
}

impl Deref for ClassicJit {
    type Target = Compiled;

    fn deref(&self) -> &Compiled {
        &self.0
    }
}

/// A compiled eBPF program; never exists on this architecture.
#[derive(Clone, Debug)]
pub struct EbpfJit(Compiled);

impl EbpfJit {
    /// Always [`JitError::Unavailable`] here.
    pub fn compile(_program: &Converted) -> Result<EbpfJit, JitError> {
        Err(JitError::Unavailable)
    }

    /// Always [`JitError::Unavailable`] here.
    pub fn compile_insns(_insns: &[Insn]) -> Result<EbpfJit, JitError> {
        Err(JitError::Unavailable)
    }
}

impl Deref for EbpfJit {
    type Target = Compiled;

    fn deref(&self) -> &Compiled {
        &self.0
    }
}
