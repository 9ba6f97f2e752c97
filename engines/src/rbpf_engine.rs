//! The `rbpf` and `rbpf-jit` engines: the rbpf crate's interpreter and its
//! x86_64 JIT running OUR converted program, as a peer that users could
//! pick instead of bpflab's own engines.
//!
//! rbpf's legacy `LD ABS`/`LD IND` do not mean what Linux's do (raw host
//! order, its own bounds rule), so the program runs in the converter's
//! portable variant ([`crate::ebpf::portable`]): plain loads with explicit
//! bounds checks and byte swaps. rbpf runs it as an `EbpfVmMbuff`: the
//! "metadata buffer" is a [`PortableContext`] (the skb's
//! [`Context`](crate::skb::Context) plus
//! the packet's address), R1 points to it; the interpreter's memory checks
//! get the packet as its data area.
//!
//! What each engine runs:
//! - `rbpf` (interpreter): every checked program. The netlink ancillary
//!   loads are rbpf helpers (numbered as bpflab's [`helper`]s) that find the
//!   skb through a thread-local set for the duration of [`RbpfFilter::run`].
//!   rbpf's interpreter allocates its 512-byte stack on the heap on every
//!   call (its design; bpflab does not work around it).
//! - `rbpf-jit`: x86_64 only, and it refuses, at attach time, programs that
//!   need a helper call (`SKF_AD_NLATTR`, `SKF_AD_NLATTR_NEST`): rbpf's JIT
//!   enters helpers with the stack 8 bytes off the 16-byte alignment the
//!   x86_64 ABI requires (five pushes, a 512-byte frame and a call), which
//!   is undefined behaviour for the Rust helper. It also refuses programs
//!   whose machine code could exceed the one 4 KiB page rbpf's JIT writes
//!   into (rbpf panics past it), using a per-instruction upper bound.

use crate::classic::Program;
use crate::ebpf::Converted;
use crate::ebpf::insn::{Insn, class, helper, op};
use crate::ebpf::portable::{PortableContext, PortableError, calls_helpers, convert_portable};
use crate::skb::Skb;
use rbpf::EbpfVmMbuff;
use std::cell::Cell;
use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;
use thiserror::Error;

/// Why a program could not be attached to rbpf (or rbpf-jit).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum RbpfError {
    /// rbpf-jit cannot run on this machine.
    #[error("rbpf-jit is not available: {0}")]
    Unavailable(&'static str),
    /// The portable conversion failed.
    #[error("{0}")]
    Portable(#[from] PortableError),
    /// rbpf-jit refuses programs that call a helper.
    #[error(
        "rbpf-jit refuses programs with netlink ancillary loads (SKF_AD_NLATTR, SKF_AD_NLATTR_NEST): \
         they are helper calls, and rbpf's JIT calls helpers with a misaligned stack; use rbpf"
    )]
    HelperUnderJit,
    /// The program may not fit rbpf's JIT code buffer.
    #[error(
        "rbpf-jit refuses the program: its machine code may take up to {estimated} bytes, \
         rbpf's JIT writes into {limit}"
    )]
    TooLargeForJit {
        /// Upper bound of the machine code size.
        estimated: usize,
        /// rbpf's buffer size.
        limit: usize,
    },
    /// rbpf's own verifier or JIT refused the program.
    #[error("rbpf refused the program: {0}")]
    Rbpf(String),
    /// rbpf failed while running the program (never for a program this
    /// module prepared; reported by [`RbpfFilter::try_run`]).
    #[error("rbpf failed at run time: {0}")]
    Run(String),
}

/// `Ok` when rbpf-jit can run here (x86_64, not Windows, not under Miri),
/// otherwise why not.
pub fn jit_availability() -> Result<(), &'static str> {
    if cfg!(miri) {
        Err(crate::jit::UNAVAILABLE_UNDER_MIRI)
    } else if cfg!(all(target_arch = "x86_64", not(windows))) {
        Ok(())
    } else {
        Err("rbpf's JIT emits x86_64 code only")
    }
}

/// rbpf's JIT code buffer: one 4 KiB page.
pub const JIT_CODE_LIMIT: usize = 4096;

/// Upper bound of the bytes rbpf's JIT emits for its prologue, epilogue
/// and exit trampoline.
const JIT_FIXED_BYTES: usize = 96;

/// Upper bound of the bytes rbpf's JIT emits for one instruction (read
/// from its emitters, with margin): multiply/divide/modulo by a register
/// (division-by-zero test, pushes, pops) is the longest.
fn jit_bytes(insn: &Insn) -> usize {
    let o = insn.code & op::MASK;
    match insn.class() {
        class::ALU | class::ALU64 if matches!(o, op::MUL | op::DIV | op::MOD) => 56,
        class::ALU | class::ALU64 => 16,
        class::LDX => 10,
        class::ST | class::STX => 14,
        class::JMP | class::JMP32 if o == op::CALL => 20,
        class::JMP | class::JMP32 if o == op::EXIT => 2,
        class::JMP | class::JMP32 => 16,
        // LD class (DW immediates, legacy loads): the portable variant has
        // none; count them generously anyway.
        _ => 32,
    }
}

/// An upper bound of the size of rbpf's JIT code for `insns`.
pub fn jit_size_bound(insns: &[Insn]) -> usize {
    JIT_FIXED_BYTES + insns.iter().map(jit_bytes).sum::<usize>()
}

thread_local! {
    /// The skb being filtered on this thread, while an rbpf run is on.
    static CURRENT: Cell<*const Skb> = const { Cell::new(std::ptr::null()) };
}

/// Sets [`CURRENT`] for its lifetime, restoring the previous value after.
struct CurrentSkb {
    previous: *const Skb,
}

impl CurrentSkb {
    fn set(skb: &Skb) -> Self {
        CurrentSkb {
            previous: CURRENT.replace(skb),
        }
    }
}

impl Drop for CurrentSkb {
    fn drop(&mut self) {
        CURRENT.set(self.previous);
    }
}

/// Runs `f` on the current skb, or returns 0 outside a run.
fn with_current(f: impl FnOnce(&Skb) -> u32) -> u64 {
    let p = CURRENT.get();
    if p.is_null() {
        return 0;
    }
    // SAFETY: CURRENT is non-null only while a `CurrentSkb` guard lives,
    // i.e. inside `RbpfFilter::try_run` on this thread, which holds the
    // `&Skb` it was set from for that whole time (the guard is dropped,
    // restoring the previous value, before the borrow ends).
    let skb = unsafe { &*p };
    u64::from(f(skb))
}

/// Helper `SKF_AD_NLATTR`: R2 = A, R3 = X.
fn helper_nlattr(_ctx: u64, a: u64, x: u64, _r4: u64, _r5: u64) -> u64 {
    with_current(|skb| skb.nlattr(a as u32, x as u32))
}

/// Helper `SKF_AD_NLATTR_NEST`: R2 = A, R3 = X.
fn helper_nlattr_nest(_ctx: u64, a: u64, x: u64, _r4: u64, _r5: u64) -> u64 {
    with_current(|skb| skb.nlattr_nest(a as u32, x as u32))
}

/// Helper `SKF_AD_CPU` (the portable variant turns it into a context load;
/// registered for completeness).
fn helper_cpu(_ctx: u64, _a: u64, _x: u64, _r4: u64, _r5: u64) -> u64 {
    with_current(|skb| skb.context().cpu)
}

/// The program bytes an rbpf VM borrows, owned through a raw pointer so
/// that the VM can hold them as `'static` while this struct owns them.
struct OwnedBytes(NonNull<[u8]>);

impl OwnedBytes {
    fn new(bytes: Vec<u8>) -> Self {
        OwnedBytes(NonNull::from(Box::leak(bytes.into_boxed_slice())))
    }

    /// The bytes, for as long as the caller promises to keep `self`.
    ///
    /// # Safety
    /// The returned reference must not be used after `self` is dropped.
    unsafe fn get(&self) -> &'static [u8] {
        // SAFETY: the pointer came from a leaked Box and is freed only in
        // Drop; the caller keeps every use before that (see `Vm`).
        unsafe { self.0.as_ref() }
    }
}

impl Drop for OwnedBytes {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::leak` in `new` and is freed
        // only here, once; no reference to the bytes outlives `self` (the
        // only one is held by `Vm::vm`, dropped before this field).
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// An rbpf VM and the program bytes it borrows. Field order matters: the
/// VM is dropped before the bytes.
struct Vm {
    vm: EbpfVmMbuff<'static>,
    _prog: OwnedBytes,
}

// SAFETY: `EbpfVmMbuff` is neither Send nor Sync only because rbpf's stack
// verifier can hold a user `Box<dyn Any>` for a custom stack-usage
// calculator; this module never sets one, so it holds nothing. The rest is
// plain data (the program bytes, helper fn pointers, hash maps, the JIT's
// code page) written in `RbpfFilter::new` and only read afterwards:
// `execute_program` and `execute_program_jit` take `&self` and keep their
// per-call state (registers, stack) local to the call, and the helpers'
// skb pointer is thread-local. `OwnedBytes` is an immutable byte buffer
// owned by this struct alone.
unsafe impl Send for Vm {}
// SAFETY: as for Send: nothing in a `Vm` is mutated through `&Vm`.
unsafe impl Sync for Vm {}

/// A program attached to rbpf's interpreter or JIT.
#[derive(Clone)]
pub struct RbpfFilter {
    vm: Arc<Vm>,
    jit: bool,
    converted: Converted,
    helpers: bool,
}

impl fmt::Debug for RbpfFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RbpfFilter")
            .field("jit", &self.jit)
            .field("insns", &self.converted.insns.len())
            .field("helpers", &self.helpers)
            .finish()
    }
}

impl RbpfFilter {
    /// Converts `program` to the portable eBPF variant and loads it into
    /// rbpf: its interpreter, or (`jit`) its x86_64 JIT, compiled here.
    pub fn new(program: &Program, jit: bool) -> Result<Self, RbpfError> {
        if jit {
            jit_availability().map_err(RbpfError::Unavailable)?;
        }
        let converted = convert_portable(program)?;
        let helpers = calls_helpers(&converted.insns);
        if jit && helpers {
            return Err(RbpfError::HelperUnderJit);
        }
        if jit {
            let estimated = jit_size_bound(&converted.insns);
            if estimated > JIT_CODE_LIMIT {
                return Err(RbpfError::TooLargeForJit {
                    estimated,
                    limit: JIT_CODE_LIMIT,
                });
            }
        }
        let bytes: Vec<u8> = converted.insns.iter().flat_map(|i| i.to_bytes()).collect();
        let owned = OwnedBytes::new(bytes);
        // SAFETY: the reference is held only by the VM, stored next to
        // `owned` in `Vm`, whose field order drops the VM first.
        let prog = unsafe { owned.get() };
        let rbpf_error = |e: std::io::Error| RbpfError::Rbpf(e.to_string());
        let mut vm = EbpfVmMbuff::new(Some(prog)).map_err(rbpf_error)?;
        if helpers {
            vm.register_helper(helper::NLATTR as u32, helper_nlattr)
                .map_err(rbpf_error)?;
            vm.register_helper(helper::NLATTR_NEST as u32, helper_nlattr_nest)
                .map_err(rbpf_error)?;
            vm.register_helper(helper::CPU as u32, helper_cpu)
                .map_err(rbpf_error)?;
        }
        if jit {
            Self::compile(&mut vm).map_err(rbpf_error)?;
        }
        Ok(RbpfFilter {
            vm: Arc::new(Vm { vm, _prog: owned }),
            jit,
            converted,
            helpers,
        })
    }

    #[cfg(all(target_arch = "x86_64", not(windows)))]
    fn compile(vm: &mut EbpfVmMbuff<'static>) -> Result<(), std::io::Error> {
        vm.jit_compile()
    }

    #[cfg(not(all(target_arch = "x86_64", not(windows))))]
    fn compile(_vm: &mut EbpfVmMbuff<'static>) -> Result<(), std::io::Error> {
        Err(std::io::Error::other("rbpf's JIT emits x86_64 code only"))
    }

    /// Runs the filter on `skb`: the number of bytes to keep, 0 to drop
    /// (also 0 if rbpf reported an error, which [`RbpfFilter::try_run`]
    /// shows; none is expected for a program this module prepared).
    #[inline]
    pub fn run(&self, skb: &Skb) -> u32 {
        self.try_run(skb).unwrap_or(0)
    }

    /// Runs the filter on `skb`, with rbpf's run-time errors.
    pub fn try_run(&self, skb: &Skb) -> Result<u32, RbpfError> {
        let mut ctx = PortableContext::of(skb);
        let result = if self.jit {
            self.run_jit(&mut ctx)
        } else {
            let _current = self.helpers.then(|| CurrentSkb::set(skb));
            self.vm.vm.execute_program(skb.data(), ctx.as_bytes())
        };
        // Classic A is 32 bits; the program's R0 holds it zero-extended.
        result
            .map(|r0| r0 as u32)
            .map_err(|e| RbpfError::Run(e.to_string()))
    }

    #[cfg(all(target_arch = "x86_64", not(windows)))]
    fn run_jit(&self, ctx: &mut PortableContext) -> Result<u64, std::io::Error> {
        let vm: &EbpfVmMbuff<'_> = &self.vm.vm;
        // SAFETY: the JIT code is rbpf's compilation of our portable
        // program, which rbpf's verifier accepted: forward jumps inside the
        // program, no helper calls (refused in `new`), no stores but to the
        // stack below R10 (scratch words at R10-64..R10), loads only from
        // the stack, from the context buffer `ctx` (offsets below its
        // size), and from the packet at `ctx.data` + an offset whose
        // `offset + size <= ctx.ctx.len` was checked by the program just
        // before (`ctx.ctx.len` is the length of the `skb.data()` that
        // `ctx.data` points into, and that skb is borrowed for this call).
        // The code fits rbpf's buffer (bounded in `new`). The packet area
        // rbpf passes separately is unused, hence empty.
        unsafe { vm.execute_program_jit(&mut [], ctx.as_bytes_mut()) }
    }

    #[cfg(not(all(target_arch = "x86_64", not(windows))))]
    fn run_jit(&self, _ctx: &mut PortableContext) -> Result<u64, std::io::Error> {
        Err(std::io::Error::other("rbpf's JIT emits x86_64 code only"))
    }

    /// Whether this filter runs on rbpf's JIT (else its interpreter).
    pub fn is_jit(&self) -> bool {
        self.jit
    }

    /// The portable eBPF program rbpf runs.
    pub fn converted(&self) -> &Converted {
        &self.converted
    }
}
