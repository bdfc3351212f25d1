//! Handing memory back to the system after a burst of connections.
//!
//! Every gateway allocates with mimalloc (the `#[global_allocator]` in `lib.rs`): in A/B runs
//! of two otherwise identical binaries it took user time per proxied request from 8.3 to 6.6
//! µs against glibc's malloc, with the idle keep-alive connection unchanged (2.7 KB). Freed
//! pages stay in mimalloc's arenas until they are purged, which happens only while a thread
//! allocates; after a burst of thousands of connections the workers may go quiet and keep
//! the whole burst's memory. So a thread of its own calls `mi_collect(true)`, off the
//! request path, once the number of open connections has dropped by [`BURST`] from its
//! peak: `bench/silent.py` then finds 9% of a 10,000-connection burst kept five seconds
//! after it closed. (An earlier measurement rejected mimalloc when each connection held
//! hyper's buffers, 35.6 KB each and none given back; with immediate purging instead of
//! collection it cost 1.2 µs of system time per request.)
//!
//! The allocator is [`Mimalloc`], not the `mimalloc` crate's `MiMalloc`: that one passes
//! every request through `mi_malloc_aligned`, whose fast path is mimalloc's plain one plus
//! an alignment check, and whose slow path (a page with no free block) over-allocates
//! (size + alignment) any block whose size is not a power of two, though every block
//! mimalloc makes is aligned to a word. Requests aligned to at most a word go to `mi_malloc`
//! itself. (mimalloc's author on Rust's calls: "it would indeed be much better to use
//! `malloc` directly", microsoft/mimalloc#314.)

use std::sync::Arc;
use std::time::Duration;

use crate::conn::Limit;

/// A drop of this many open connections from the peak counts as the end of a burst.
pub const BURST: usize = 1000;

/// Rust's global allocator on mimalloc: `mi_malloc`, `mi_zalloc` and `mi_realloc` for
/// requests aligned to at most a word (which every mimalloc block is: its size classes are
/// whole words and a page's first block is 16-byte aligned), the `_aligned` functions for
/// the rest.
pub struct Mimalloc;

/// The alignment every block `mi_malloc` returns has.
const WORD: usize = std::mem::size_of::<usize>();

#[allow(unsafe_code)]
// SAFETY: every block comes from mimalloc and goes back to it (`mi_free` takes blocks of
// either kind); a block is aligned as asked (a word by mimalloc's size classes, more by the
// `_aligned` functions); `realloc` keeps the layout's alignment by the same rule as `alloc`
// (the alignment of one allocation never changes, so a block is always resized by the
// family that made it).
unsafe impl std::alloc::GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        use libmimalloc_sys as mi;
        if layout.align() <= WORD {
            unsafe { mi::mi_malloc(layout.size()).cast() }
        } else {
            unsafe { mi::mi_malloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        use libmimalloc_sys as mi;
        if layout.align() <= WORD {
            unsafe { mi::mi_zalloc(layout.size()).cast() }
        } else {
            unsafe { mi::mi_zalloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: std::alloc::Layout) {
        unsafe { libmimalloc_sys::mi_free(ptr.cast()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        use libmimalloc_sys as mi;
        if layout.align() <= WORD {
            unsafe { mi::mi_realloc(ptr.cast(), new_size).cast() }
        } else {
            unsafe { mi::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast() }
        }
    }
}

/// Releases free heap pages to the system.
#[allow(unsafe_code)]
pub fn trim() {
    // SAFETY: mi_collect takes no arguments but a flag, and mimalloc allows it from any
    // thread: it frees and purges only pages no one holds.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// Starts a thread that trims after each burst of connections (checked every `every`).
pub fn watch(connections: Arc<Limit>, every: Duration) {
    let _ = std::thread::Builder::new()
        .name("specgate-memory".into())
        .spawn(move || {
            let mut peak = 0usize;
            loop {
                std::thread::sleep(every);
                let now = connections.active();
                peak = peak.max(now);
                if peak - now >= BURST {
                    trim();
                    peak = now;
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use std::alloc::{GlobalAlloc, Layout};

    use super::Mimalloc;

    /// Every size up to a few pages at every alignment from a byte to a page: the block is
    /// aligned, holds what was written, comes back zeroed from `alloc_zeroed`, and keeps
    /// its bytes and alignment through `realloc` up and down.
    #[test]
    #[allow(unsafe_code)]
    fn blocks_are_aligned_as_asked_and_keep_their_bytes() {
        let a = Mimalloc;
        let sizes = (1..=130).chain([200, 255, 256, 257, 1000, 1024, 4095, 4096, 5000, 70_000]);
        let mut held = Vec::new();
        for size in sizes {
            for align in [1usize, 2, 4, 8, 16, 32, 64, 4096] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: non-zero sizes; every block is freed with its own layout below.
                unsafe {
                    let p = a.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    for i in 0..size {
                        p.add(i).write(i as u8);
                    }
                    let z = a.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0, "zeroed size {size} align {align}");
                    assert!((0..size).all(|i| z.add(i).read() == 0));
                    let grown = a.realloc(p, layout, size * 3 + 7);
                    assert_eq!(grown as usize % align, 0, "grown size {size} align {align}");
                    assert!((0..size).all(|i| grown.add(i).read() == i as u8));
                    let big = Layout::from_size_align(size * 3 + 7, align).unwrap();
                    let shrunk = a.realloc(grown, big, size.div_ceil(2));
                    assert_eq!(
                        shrunk as usize % align,
                        0,
                        "shrunk size {size} align {align}"
                    );
                    assert!((0..size.div_ceil(2)).all(|i| shrunk.add(i).read() == i as u8));
                    // Kept a while, so that later requests find pages partly used.
                    held.push((
                        shrunk,
                        Layout::from_size_align(size.div_ceil(2), align).unwrap(),
                    ));
                    a.dealloc(z, layout);
                }
            }
        }
        for (p, layout) in held {
            // SAFETY: allocated above with this layout.
            unsafe { a.dealloc(p, layout) }
        }
    }
}
