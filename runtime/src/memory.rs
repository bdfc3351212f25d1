//! Handing memory back to the system after a burst of connections.
//!
//! Each connection costs about 21 KB in user space (most of it hyper's two 8 KiB buffers).
//! When a burst of thousands of connections ends, glibc's malloc keeps about half of that
//! memory: freed chunks between live ones stay in its arenas, and it trims only the top of
//! the heap. `malloc_trim(0)` releases every free page (with `madvise`), so the gateway
//! calls it, off the request path, once the number of open connections has dropped by
//! [`BURST`] from its peak. (mimalloc was measured as the alternative, twice: it saves
//! about 1.3 µs of user time per proxied request, but an idle keep-alive connection cost
//! 35.6 KB instead of 22 KB and none of a burst's memory went back to the system; with
//! immediate purging it gave memory back but cost 1.2 µs of system time per request. See
//! the session notes.)

use std::sync::Arc;
use std::time::Duration;

use crate::conn::Limit;

/// A drop of this many open connections from the peak counts as the end of a burst.
pub const BURST: usize = 1000;

/// Releases free heap pages to the system (glibc only; elsewhere a no-op).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn trim() {
    extern "C" {
        fn malloc_trim(pad: usize) -> std::ffi::c_int;
    }
    // SAFETY: malloc_trim takes no pointers and is thread-safe (it locks each arena); it
    // only returns free pages to the kernel.
    unsafe {
        malloc_trim(0);
    }
}

/// Releases free heap pages to the system (glibc only; elsewhere a no-op).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim() {}

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
