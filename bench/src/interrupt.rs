//! Ctrl-C and SIGTERM during a step that leaves temporary files behind
//! when killed (the branch simulator's callgrind folders): while an
//! [`Interruptible`] guard lives, the signals only raise a flag, so the
//! step can stop at its next check, remove what it made and fail with one
//! line. Written with libc rather than a crate because the handlers must
//! be installed for the step alone and the previous ones put back after
//! (the `ctrlc` crate installs one handler for the process's life).

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn raise_flag(_: libc::c_int) {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// SIGINT and SIGTERM raise a flag instead of ending the process, until
/// dropped.
pub struct Interruptible {
    previous: [(libc::c_int, libc::sighandler_t); 2],
}

impl Interruptible {
    /// Installs the flag-raising handlers.
    pub fn install() -> Interruptible {
        REQUESTED.store(false, Ordering::SeqCst);
        let handler = raise_flag as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe.
        let previous =
            [libc::SIGINT, libc::SIGTERM].map(|sig| (sig, unsafe { libc::signal(sig, handler) }));
        Interruptible { previous }
    }

    /// Whether a signal came since the guard was made.
    pub fn requested(&self) -> Option<&'static str> {
        REQUESTED
            .load(Ordering::SeqCst)
            .then_some("interrupted (SIGINT or SIGTERM)")
    }
}

impl Drop for Interruptible {
    fn drop(&mut self) {
        for (sig, handler) in self.previous {
            // SAFETY: puts back the disposition `new` replaced.
            unsafe { libc::signal(sig, handler) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_raises_the_flag_while_the_guard_lives() {
        let guard = Interruptible::install();
        assert_eq!(guard.requested(), None);
        // SAFETY: raising a signal at this process, whose handler is ours.
        unsafe { libc::raise(libc::SIGTERM) };
        assert!(guard.requested().is_some());
        drop(guard);
        let again = Interruptible::install();
        assert_eq!(again.requested(), None, "a new guard starts clear");
    }
}
