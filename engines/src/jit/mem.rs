//! Executable memory for generated code: mapped writable, filled, then
//! switched to read+execute, so that no page is ever writable and
//! executable at once; unmapped on drop.
//!
//! This module holds no `unsafe`: the mapping crate does the system calls.
//! Calling into the code is the architecture's call stub's business.

use memmap2::{Mmap, MmapMut};
use std::fmt;
use std::io;

/// Machine code in a read+execute mapping of its own.
pub struct ExecMem {
    map: Mmap,
    len: usize,
}

impl ExecMem {
    /// Maps `code` read+execute: anonymous memory is mapped read+write, the
    /// code copied in, the instruction cache made coherent, and the mapping
    /// switched to read+execute before anyone can run it.
    pub fn new(code: &[u8]) -> io::Result<ExecMem> {
        let mut map = MmapMut::map_anon(code.len().max(1))?;
        map[..code.len()].copy_from_slice(code);
        flush_icache(&map[..code.len()]);
        let map = map.make_exec()?;
        Ok(ExecMem {
            map,
            len: code.len(),
        })
    }

    /// The first byte of the code.
    pub fn as_ptr(&self) -> *const u8 {
        self.map.as_ptr()
    }

    /// The code, read back from the executable mapping.
    pub fn code(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

impl fmt::Debug for ExecMem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecMem")
            .field("addr", &self.as_ptr())
            .field("len", &self.len)
            .finish()
    }
}

// ---------------------------------------------------------------------------
// INSTRUCTION-CACHE FLUSH GOES HERE.
// x86 and x86_64 keep instruction and data caches coherent, so there is
// nothing to do. ARMv7 does not: before a JIT for arm32 runs code written
// here, this function must clean the data cache and invalidate the
// instruction cache over `code` (the `cacheflush` system call 0x0f0002, or
// the `clear-cache` crate). qemu-user never catches a missing flush, so it
// must stay inside this one write-to-execute path.
// ---------------------------------------------------------------------------
/// Makes freshly written code visible to instruction fetch.
fn flush_icache(_code: &[u8]) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_reads_back() {
        let mem = ExecMem::new(&[0xc3, 0x90, 0xcc]).expect("mapping works");
        assert_eq!(mem.code(), &[0xc3, 0x90, 0xcc]);
        assert!(!mem.as_ptr().is_null());
        let empty = ExecMem::new(&[]).expect("an empty mapping still maps a page");
        assert!(empty.code().is_empty());
    }
}
