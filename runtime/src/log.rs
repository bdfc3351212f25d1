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

/// Where the access log goes: stdout, or a file (`--access-log-file`).
static FILE: OnceLock<std::path::PathBuf> = OnceLock::new();
/// Set by SIGHUP: the file is reopened before the next write (logrotate moves it away).
static REOPEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sends the access log to `path` (appended, created if missing) instead of stdout. Call
/// before serving; the file is opened here once so that a bad path fails at start-up.
pub fn to_file(path: &std::path::Path) -> Result<(), String> {
    open(path).map_err(|e| format!("cannot open the access log {}: {e}", path.display()))?;
    let _ = FILE.set(path.to_path_buf());
    Ok(())
}

/// Reopens the access-log file before the next write (on SIGHUP).
pub fn reopen() {
    REOPEN.store(true, Ordering::Relaxed);
}

fn open(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

fn write_loop(rx: Receiver<Vec<u8>>) {
    let mut broken = false;
    let mut file = FILE.get().and_then(|p| open(p).ok());
    for chunk in rx {
        if let Some(path) = FILE.get() {
            if REOPEN.swap(false, Ordering::Relaxed) || file.is_none() {
                file = open(path).ok();
                broken = false;
            }
            match &mut file {
                Some(f) if !broken => broken = f.write_all(&chunk).is_err(),
                _ => {
                    let lines = chunk.iter().filter(|b| **b == b'\n').count() as u64;
                    if let Some(w) = WRITER.get() {
                        w.dropped.fetch_add(lines, Ordering::Relaxed);
                    }
                }
            }
            continue;
        }
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

/// Lines dropped so far because the writer could not keep up.
pub fn dropped() -> u64 {
    WRITER
        .get()
        .map_or(0, |w| w.dropped.load(Ordering::Relaxed))
}

/// Requests that panicked (each answered 500 and the process served on).
pub static PANICS: AtomicU64 = AtomicU64::new(0);

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
