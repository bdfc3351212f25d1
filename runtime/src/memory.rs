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

use std::sync::Arc;
use std::time::Duration;

use crate::conn::Limit;

/// A drop of this many open connections from the peak counts as the end of a burst.
pub const BURST: usize = 1000;

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
