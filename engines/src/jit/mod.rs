//! Just-in-time compilers: the classic program straight to machine code
//! ("old-jit") and the converted eBPF program to machine code ("ext-jit"),
//! the two JIT rows of the thread's table.
//!
//! Each architecture is one folder (`x86_64` today); what every
//! architecture shares lives beside it: executable memory (`mem`), the
//! errors, and the check of which eBPF programs a JIT may run (`verify`).
//! On an architecture without a backend, `ClassicJit` and `EbpfJit`
//! still exist so that callers build everywhere, but `compile` always
//! refuses with `JitError::Unavailable` and `availability` says why.

mod error;
pub mod mem;
pub mod verify;

#[cfg(target_arch = "x86_64")]
pub mod x86_64;

#[cfg(not(target_arch = "x86_64"))]
mod unsupported;

pub use error::{JitError, Reject};

#[cfg(target_arch = "x86_64")]
pub use x86_64::{ClassicJit, Compiled, EbpfJit};

#[cfg(not(target_arch = "x86_64"))]
pub use unsupported::{ClassicJit, Compiled, EbpfJit};

/// Why the JITs cannot run on this architecture.
pub const UNAVAILABLE: &str = "no JIT for this architecture yet";

/// Why the JITs cannot run under Miri (which interprets Rust's MIR and
/// cannot call into machine code made at run time, nor map it executable).
pub const UNAVAILABLE_UNDER_MIRI: &str = "Miri cannot execute generated machine code";

/// `Ok` when this build has a JIT backend for the machine it runs on,
/// otherwise why not.
pub fn availability() -> Result<(), &'static str> {
    if cfg!(miri) {
        Err(UNAVAILABLE_UNDER_MIRI)
    } else if cfg!(target_arch = "x86_64") {
        Ok(())
    } else {
        Err(UNAVAILABLE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_follows_the_target() {
        assert_eq!(
            availability().is_ok(),
            cfg!(target_arch = "x86_64") && !cfg!(miri)
        );
        if cfg!(miri) {
            assert_eq!(availability(), Err(UNAVAILABLE_UNDER_MIRI));
        } else if let Err(why) = availability() {
            assert_eq!(why, UNAVAILABLE);
            assert_eq!(JitError::Unavailable.to_string(), UNAVAILABLE);
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    #[test]
    fn compiling_says_unavailable() {
        let program = crate::classic::check(vec![crate::classic::Insn::stmt(0x06, 1)])
            .expect("ret #1 is valid");
        assert_eq!(
            ClassicJit::compile(&program).err(),
            Some(JitError::Unavailable)
        );
        assert_eq!(
            EbpfJit::compile_insns(&[]).err(),
            Some(JitError::Unavailable)
        );
    }
}
