//! Writing to stdout and stderr without ever blocking or killing a worker.
//!
//! `println!` panics when stdout is a closed pipe (`./gateway | head`) and blocks the event
//! loop when the pipe is full. Access-log lines are instead appended to a buffer per server
//! (one per worker: uncontended), handed to one writer thread when the buffer fills or on a
//! short interval, and written there. A writer that cannot keep up makes the hand-over fail:
//! those lines are dropped and counted (reported at exit), never waited for. A broken stdout
//! stops the writing, not the gateway. At shutdown every buffer is handed over and the
//! writer thread drains its queue before the process exits, so nothing is lost on SIGTERM.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

/// A buffer is handed over once it holds this much.
const HAND_OVER: usize = 32 * 1024;
/// Buffers waiting for the writer; beyond this, lines are dropped.
const QUEUE: usize = 256;
/// How often a worker hands over what it has.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);

struct Writer {
    tx: Mutex<Option<SyncSender<Vec<u8>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    dropped: AtomicU64,
}

static WRITER: OnceLock<Writer> = OnceLock::new();

fn writer() -> &'static Writer {
    WRITER.get_or_init(|| {
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
        let thread = std::thread::Builder::new()
            .name("specgate-log".into())
            .spawn(move || write_loop(rx))
            .ok();
        Writer {
            tx: Mutex::new(thread.as_ref().map(|_| tx)),
            thread: Mutex::new(thread),
            dropped: AtomicU64::new(0),
        }
    })
}

fn write_loop(rx: Receiver<Vec<u8>>) {
    let mut broken = false;
    for chunk in rx {
        if !broken {
            let mut out = std::io::stdout().lock();
            broken = out.write_all(&chunk).and_then(|()| out.flush()).is_err();
        }
    }
}

/// An access-log buffer shared by the connections of one server (worker).
#[derive(Clone, Default)]
pub struct Buffer {
    lines: Arc<Mutex<Vec<u8>>>,
}

impl Buffer {
    /// A new, empty buffer.
    pub fn new() -> Buffer {
        Buffer::default()
    }

    /// Appends one line (a newline is added).
    pub fn line(&self, line: &str) {
        let full = {
            let mut b = self.lines.lock().unwrap_or_else(|p| p.into_inner());
            b.extend_from_slice(line.as_bytes());
            b.push(b'\n');
            (b.len() >= HAND_OVER).then(|| std::mem::take(&mut *b))
        };
        if let Some(chunk) = full {
            hand_over(chunk);
        }
    }

    /// Hands what the buffer holds to the writer.
    pub fn flush(&self) {
        let chunk = {
            let mut b = self.lines.lock().unwrap_or_else(|p| p.into_inner());
            if b.is_empty() {
                return;
            }
            std::mem::take(&mut *b)
        };
        hand_over(chunk);
    }
}

fn hand_over(chunk: Vec<u8>) {
    let w = writer();
    let tx = w.tx.lock().unwrap_or_else(|p| p.into_inner());
    let lost = match tx.as_ref() {
        Some(tx) => match tx.try_send(chunk) {
            Ok(()) => return,
            Err(TrySendError::Full(c) | TrySendError::Disconnected(c)) => c,
        },
        None => chunk,
    };
    let lines = lost.iter().filter(|b| **b == b'\n').count() as u64;
    w.dropped.fetch_add(lines, Ordering::Relaxed);
}

/// Stops the writer after it has written everything handed over; returns how many lines
/// were dropped because it could not keep up.
pub fn finish() -> u64 {
    let Some(w) = WRITER.get() else {
        return 0;
    };
    drop(w.tx.lock().unwrap_or_else(|p| p.into_inner()).take());
    if let Some(t) = w.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
        let _ = t.join();
    }
    w.dropped.load(Ordering::Relaxed)
}

/// A line on stderr that never panics (stderr may be a closed pipe too). Diagnostics only:
/// rare, so written directly.
pub fn warn(args: std::fmt::Arguments<'_>) {
    let mut e = std::io::stderr().lock();
    let _ = e.write_fmt(args);
    let _ = e.write_all(b"\n");
}

/// `warn!("…", args)`: [`warn`] with `format_args!`.
#[macro_export]
macro_rules! warn {
    ($($t:tt)*) => {
        $crate::log::warn(format_args!($($t)*))
    };
}
