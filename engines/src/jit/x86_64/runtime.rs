//! The boundary between Rust and generated code: the entry ABI, the call
//! stub that enters the code, and the Rust helpers the code calls back.
//!
//! Entry ABI, the same for both JITs (System V AMD64):
//! `extern "sysv64" fn(ctx: *const Context, data: *const u8, fastlen: u64,
//! skb: *const Skb) -> u32`, arguments in rdi, rsi, rdx, rcx. `fastlen` is
//! the packet length capped at `i32::MAX`, so that an inline bounds check
//! that passes also proves the offset non-negative; every other case takes
//! the slow path, which applies [`Skb`]'s rules exactly.

use crate::jit::JitError;
use crate::jit::mem::ExecMem;
use crate::skb::{Context, Skb};
use std::fmt;
use std::sync::Arc;

/// The signature generated code is entered with.
type Entry = unsafe extern "sysv64" fn(*const Context, *const u8, u64, *const Skb) -> u32;

/// Generated code in executable memory, ready to be called.
#[derive(Debug)]
pub(crate) struct Native {
    mem: ExecMem,
    entry: Entry,
}

impl Native {
    /// Maps `code`, which must follow the entry ABI above and touch memory
    /// only as the module docs of the JITs describe.
    pub(crate) fn new(code: &[u8]) -> Result<Native, JitError> {
        let mem = ExecMem::new(code)?;
        // SAFETY: `mem` holds the code a JIT of this module generated for
        // exactly this signature, mapped read+execute; the pointer stays
        // valid as long as `mem`, which lives beside `entry` in `Native`.
        let entry = unsafe { std::mem::transmute::<*const u8, Entry>(mem.as_ptr()) };
        Ok(Native { mem, entry })
    }

    /// The code as mapped.
    pub(crate) fn code(&self) -> &[u8] {
        self.mem.code()
    }

    /// Runs the code on `skb`, its fast path reading `data`.
    #[inline]
    pub(crate) fn call(&self, skb: &Skb, data: &[u8]) -> u32 {
        let fastlen = data.len().min(i32::MAX as usize) as u64;
        // SAFETY: the code was generated for this signature (see `new`) and
        // reads only: the `Context` behind `ctx` at field offsets, at most
        // `fastlen <= data.len()` bytes from `data`, its own stack frame, and
        // nothing through `skb` but what the helpers below do with it; all
        // three references outlive the call, which returns before this
        // function does.
        unsafe {
            (self.entry)(
                skb.context(),
                data.as_ptr(),
                fastlen,
                std::ptr::from_ref(skb),
            )
        }
    }
}

/// A compiled program as both JITs hand it out: its code, shared by clones,
/// and where each source instruction starts in it. `ClassicJit` and
/// `EbpfJit` dereference to this.
#[derive(Clone)]
pub struct Compiled {
    native: Arc<Native>,
    offsets: Arc<[usize]>,
}

impl Compiled {
    /// Maps `code`, generated for the entry ABI, with its instruction offsets.
    pub(crate) fn new(code: &[u8], offsets: Vec<usize>) -> Result<Compiled, JitError> {
        Ok(Compiled {
            native: Arc::new(Native::new(code)?),
            offsets: offsets.into(),
        })
    }

    /// Runs the program on `skb` and returns its verdict.
    #[inline]
    pub fn run(&self, skb: &Skb) -> u32 {
        self.native.call(skb, skb.data())
    }

    /// The machine code.
    pub fn code(&self) -> &[u8] {
        self.native.code()
    }

    /// The offset in [`Compiled::code`] where each source (classic or
    /// eBPF) instruction's code starts; the prologue comes before the first.
    pub fn insn_offsets(&self) -> &[usize] {
        &self.offsets
    }
}

impl fmt::Debug for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compiled")
            .field("code_bytes", &self.code().len())
            .field("insns", &self.offsets.len())
            .finish()
    }
}

/// Turns the skb pointer the generated code passes back into a reference.
///
/// # Safety
/// `skb` must be the pointer [`Native::call`] passed in, during that call.
unsafe fn skb_ref<'a>(skb: *const Skb) -> &'a Skb {
    // SAFETY: guaranteed by the caller: the pointer came from a `&Skb`
    // that outlives the call the generated code is running in.
    unsafe { &*skb }
}

/// The slow path of a packet load of `size` bytes at signed offset `off`,
/// with [`Skb`]'s exact rules: the value, or -1 when the filter must
/// return 0.
pub(crate) extern "sysv64" fn load_slow(skb: *const Skb, off: u32, size: u32) -> i64 {
    // SAFETY: generated code passes the skb pointer it was entered with,
    // from its frame slot, while the call that entered it is running.
    let skb = unsafe { skb_ref(skb) };
    let off = off as i32;
    let value = match size {
        4 => skb.load_u32(off),
        2 => skb.load_u16(off),
        _ => skb.load_u8(off),
    };
    value.map_or(-1, i64::from)
}

/// `SKF_AD_NLATTR` for A = `a`, X = `x`.
pub(crate) extern "sysv64" fn nlattr(skb: *const Skb, a: u32, x: u32) -> u64 {
    // SAFETY: as in `load_slow`.
    let skb = unsafe { skb_ref(skb) };
    skb.nlattr(a, x).into()
}

/// `SKF_AD_NLATTR_NEST` for A = `a`, X = `x`.
pub(crate) extern "sysv64" fn nlattr_nest(skb: *const Skb, a: u32, x: u32) -> u64 {
    // SAFETY: as in `load_slow`.
    let skb = unsafe { skb_ref(skb) };
    skb.nlattr_nest(a, x).into()
}

/// `SKF_AD_CPU`.
pub(crate) extern "sysv64" fn cpu(skb: *const Skb, _a: u32, _x: u32) -> u64 {
    // SAFETY: as in `load_slow`.
    let skb = unsafe { skb_ref(skb) };
    skb.context().cpu.into()
}

/// A helper's address, for `movabs`.
pub(crate) fn address(f: extern "sysv64" fn(*const Skb, u32, u32) -> u64) -> u64 {
    f as usize as u64
}

/// The slow-load helper's address, for `movabs`.
pub(crate) fn load_slow_address() -> u64 {
    let f: extern "sysv64" fn(*const Skb, u32, u32) -> i64 = load_slow;
    f as usize as u64
}
