//! A global allocator that survives allocations sized by untrusted input.
//!
//! The Kafka codec reserves `Vec` capacity from array lengths read off the wire before it
//! reads a single element, so a 20-byte request claiming 2^31 elements asks for tens of GiB.
//! The system allocator refuses that and Rust aborts the whole process: one client could kill
//! the broker. [`GuardedAlloc`] serves such huge requests with a lazily backed anonymous
//! mapping (`MAP_NORESERVE`): nothing is committed until touched, the decoder fails on the
//! missing bytes a moment later, and the mapping is returned. Everything else goes to the
//! system allocator unchanged.
//!
//! Install it in any binary that runs a broker:
//! ```text
//! #[global_allocator]
//! static ALLOC: fjord_broker::alloc::GuardedAlloc = fjord_broker::alloc::GuardedAlloc;
//! ```
#![allow(unsafe_code)] // A global allocator cannot be written without it; each block says why it is sound.

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations at least this large are served by an on-demand mapping.
const HUGE: usize = 1 << 30;
/// Mappings are page aligned; larger alignments go to the system allocator.
const PAGE: usize = 4096;

/// The system allocator, with huge allocations served by lazily committed mappings.
#[derive(Debug, Default, Clone, Copy)]
pub struct GuardedAlloc;

fn is_huge(layout: &Layout) -> bool {
    layout.size() >= HUGE && layout.align() <= PAGE
}

// SAFETY: every pointer returned is either from `System` (and given back to it with the same
// layout, since `is_huge` depends only on the layout) or from `mmap` of at least
// `layout.size()` bytes, page aligned (>= the requested alignment) and zero-filled, given back
// with `munmap` of the same size.
unsafe impl GlobalAlloc for GuardedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_huge(&layout) {
            map(layout.size())
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_huge(&layout) {
            map(layout.size()) // anonymous mappings are zero-filled
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_huge(&layout) {
            // SAFETY: `ptr` came from `map(layout.size())`.
            unsafe { libc::munmap(ptr.cast(), layout.size()) };
        } else {
            // SAFETY: `ptr` came from `System` with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !is_huge(&layout) && !is_huge(&new_layout) {
            // SAFETY: forwarded with the caller's guarantees.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: `new_layout` is valid (see above).
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live, distinct, and at least this long.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            // SAFETY: `ptr` was allocated by this allocator with `layout`.
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

fn map(size: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping touches no existing memory; failure is reported as
    // MAP_FAILED and turned into null, which the caller handles as allocation failure.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        std::ptr::null_mut()
    } else {
        p.cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_allocations_are_lazy_and_usable() {
        let a = GuardedAlloc;
        let layout = Layout::from_size_align(64 << 30, 8).unwrap();
        // SAFETY: layout is non-zero; the block is written within bounds and freed once.
        unsafe {
            let p = a.alloc(layout);
            assert!(
                !p.is_null(),
                "64 GiB of address space must be available lazily"
            );
            *p = 7;
            *p.add((64 << 30) - 1) = 9;
            assert_eq!(*p, 7);
            let q = a.realloc(p, layout, 1 << 20);
            assert_eq!(*q, 7);
            a.dealloc(q, Layout::from_size_align(1 << 20, 8).unwrap());
        }
    }
}
