//! The bytes of an skb: a heap buffer, or a read-only mapping that ends
//! exactly where an inaccessible guard page begins.
//!
//! The guarded form is for fuzzing and tests: an engine that reads even one
//! byte past the packet faults at once instead of silently reading
//! whatever the allocator put next, and a stray write faults too. Both
//! forms are read through the same pointer and length, so engines pay
//! nothing for the choice.

use std::fmt;
use std::io;
use std::ops::Deref;

/// Immutable packet bytes (see the module documentation).
pub struct PacketBytes {
    ptr: *const u8,
    len: usize,
    owner: Owner,
}

/// What keeps the bytes alive.
enum Owner {
    /// A vector, kept whole so that its capacity (the scenarios' 2 KiB skb
    /// buffers) stays what the caller allocated.
    Heap(Vec<u8>),
    /// A private mapping: the data pages, then one guard page (held only
    /// so that dropping it unmaps them).
    #[allow(dead_code)]
    Guarded(guard::Mapping),
}

// SAFETY: the bytes are never written after construction, and `owner`
// keeps them alive for as long as the value exists, on any thread.
unsafe impl Send for PacketBytes {}
// SAFETY: as above: shared access is read-only.
unsafe impl Sync for PacketBytes {}

impl PacketBytes {
    /// The bytes of `data`, left where they are.
    pub fn heap(data: Vec<u8>) -> PacketBytes {
        PacketBytes {
            ptr: data.as_ptr(),
            len: data.len(),
            owner: Owner::Heap(data),
        }
    }

    /// A copy of `data` ending right before a guard page. Under Miri, which
    /// checks every access itself and cannot change page protections, it
    /// is a heap copy.
    pub fn guarded(data: &[u8]) -> io::Result<PacketBytes> {
        #[cfg(miri)]
        return Ok(PacketBytes::heap(data.to_vec()));
        #[cfg(not(miri))]
        {
            let (mapping, ptr) = guard::Mapping::ending_at_guard(data)?;
            Ok(PacketBytes {
                ptr,
                len: data.len(),
                owner: Owner::Guarded(mapping),
            })
        }
    }

    /// Whether the bytes end at a guard page.
    pub fn is_guarded(&self) -> bool {
        matches!(self.owner, Owner::Guarded(_))
    }
}

impl Deref for PacketBytes {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` and `len` describe bytes that `owner` keeps alive
        // and that nothing writes after construction.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Clone for PacketBytes {
    /// A copy of the same form (guarded stays guarded).
    fn clone(&self) -> PacketBytes {
        match &self.owner {
            Owner::Heap(v) => {
                let mut copy = Vec::with_capacity(v.capacity());
                copy.extend_from_slice(v);
                PacketBytes::heap(copy)
            }
            Owner::Guarded(_) => PacketBytes::guarded(self)
                .unwrap_or_else(|e| panic!("cannot map a guarded packet copy: {e}")),
        }
    }
}

impl PartialEq for PacketBytes {
    fn eq(&self, other: &PacketBytes) -> bool {
        **self == **other
    }
}

impl Eq for PacketBytes {}

impl fmt::Debug for PacketBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

/// The guard-page mapping (Linux system calls through libc).
mod guard {
    use std::io;

    /// A private anonymous mapping of whole pages whose last page is
    /// PROT_NONE; unmapped on drop.
    pub struct Mapping {
        base: *mut libc::c_void,
        size: usize,
    }

    impl Mapping {
        /// Maps enough pages for `data` plus a guard page, copies `data` to
        /// end where the guard begins, and makes the data pages read-only.
        /// Returns the mapping and where the copy starts.
        #[cfg_attr(miri, allow(dead_code))]
        pub fn ending_at_guard(data: &[u8]) -> io::Result<(Mapping, *const u8)> {
            // SAFETY: sysconf has no preconditions.
            let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
                .map_err(|_| io::Error::other("no page size"))?;
            let data_size = data.len().next_multiple_of(page);
            let size = data_size + page;
            // SAFETY: a new anonymous private mapping at an address the
            // kernel chooses; the result is checked before any use.
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    size,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if base == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            let mapping = Mapping { base, size };
            let bytes = base.cast::<u8>();
            // SAFETY: `data_size - data.len()` plus `data.len()` bytes lie
            // inside the read+write part of the mapping just made, which
            // nothing else can reach yet.
            let start = unsafe {
                let start = bytes.add(data_size - data.len());
                std::ptr::copy_nonoverlapping(data.as_ptr(), start, data.len());
                start
            };
            // SAFETY: both ranges are whole pages of this mapping.
            let protected = unsafe {
                libc::mprotect(bytes.add(data_size).cast(), page, libc::PROT_NONE) == 0
                    && (data_size == 0 || libc::mprotect(base, data_size, libc::PROT_READ) == 0)
            };
            if !protected {
                return Err(io::Error::last_os_error());
            }
            Ok((mapping, start))
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: exactly the mapping made in `ending_at_guard`; the
            // `PacketBytes` that lent out slices of it is being dropped.
            unsafe { libc::munmap(self.base, self.size) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_hold_the_bytes() {
        for len in [0usize, 1, 13, 4095, 4096, 4097, 9000] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let heap = PacketBytes::heap(data.clone());
            let guarded = PacketBytes::guarded(&data).expect("mapping works");
            assert_eq!(&*heap, &data[..]);
            assert_eq!(&*guarded, &data[..]);
            assert_eq!(guarded.clone(), heap);
            assert_eq!(guarded.clone().is_guarded(), guarded.is_guarded());
            assert!(!heap.clone().is_guarded());
        }
    }

    #[test]
    #[cfg(not(miri))]
    fn a_guarded_copy_ends_at_a_page_boundary() {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        for len in [0usize, 1, 100, 4096] {
            let bytes = PacketBytes::guarded(&vec![7; len]).expect("mapping works");
            assert!(bytes.is_guarded());
            let end = bytes.as_ptr() as usize + len;
            assert_eq!(end % page, 0, "{len} bytes end where the guard starts");
        }
    }

    #[test]
    fn heap_bytes_keep_their_capacity() {
        let mut v = Vec::with_capacity(2048);
        v.extend_from_slice(&[1, 2, 3]);
        let bytes = PacketBytes::heap(v);
        let Owner::Heap(v) = &bytes.owner else {
            unreachable!()
        };
        assert_eq!(v.capacity(), 2048);
        assert_eq!(bytes.clone().len(), 3);
    }
}
