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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
}

/// One log destination with its writer thread: the access log (stdout, or
/// `--access-log-file`) or the execution log (stderr, or `--execution-log-file`).
pub struct Sink {
    writer: OnceLock<Writer>,
    file: OnceLock<std::path::PathBuf>,
    /// Set by SIGHUP: the file is reopened before the next write (logrotate moves it away).
    reopen: AtomicBool,
    dropped: AtomicU64,
    stderr: bool,
    name: &'static str,
}

impl Sink {
    const fn new(name: &'static str, stderr: bool) -> Sink {
        Sink {
            writer: OnceLock::new(),
            file: OnceLock::new(),
            reopen: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            stderr,
            name,
        }
    }

    fn writer(&'static self) -> &'static Writer {
        self.writer.get_or_init(|| {
            let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
            let thread = std::thread::Builder::new()
                .name(format!("specgate-{}", self.name))
                .spawn(move || self.write_loop(rx))
                .ok();
            Writer {
                tx: Mutex::new(thread.as_ref().map(|_| tx)),
                thread: Mutex::new(thread),
            }
        })
    }

    /// Sends this log to `path` (appended, created if missing) instead of stdout/stderr.
    /// Call before serving; the file is opened here once so that a bad path fails at start.
    pub fn to_file(&self, path: &std::path::Path) -> Result<(), String> {
        open(path)
            .map_err(|e| format!("cannot open the {} log {}: {e}", self.name, path.display()))?;
        let _ = self.file.set(path.to_path_buf());
        Ok(())
    }

    fn write_loop(&self, rx: Receiver<Vec<u8>>) {
        let mut broken = false;
        let mut file = self.file.get().and_then(|p| open(p).ok());
        for chunk in rx {
            if let Some(path) = self.file.get() {
                if self.reopen.swap(false, Ordering::Relaxed) || file.is_none() {
                    file = open(path).ok();
                    broken = false;
                }
                match &mut file {
                    Some(f) if !broken => broken = f.write_all(&chunk).is_err(),
                    _ => {
                        let lines = chunk.iter().filter(|b| **b == b'\n').count() as u64;
                        self.dropped.fetch_add(lines, Ordering::Relaxed);
                    }
                }
                continue;
            }
            if !broken {
                broken = if self.stderr {
                    let mut out = std::io::stderr().lock();
                    out.write_all(&chunk).and_then(|()| out.flush()).is_err()
                } else {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&chunk).and_then(|()| out.flush()).is_err()
                };
            }
        }
    }

    fn hand_over(&'static self, chunk: Vec<u8>) {
        let w = self.writer();
        let tx = w.tx.lock().unwrap_or_else(|p| p.into_inner());
        let lost = match tx.as_ref() {
            Some(tx) => match tx.try_send(chunk) {
                Ok(()) => return,
                Err(TrySendError::Full(c) | TrySendError::Disconnected(c)) => c,
            },
            None => chunk,
        };
        let lines = lost.iter().filter(|b| **b == b'\n').count() as u64;
        self.dropped.fetch_add(lines, Ordering::Relaxed);
    }

    /// Stops the writer after it has written everything handed over; returns how many lines
    /// were dropped because it could not keep up.
    fn finish(&self) -> u64 {
        if let Some(w) = self.writer.get() {
            drop(w.tx.lock().unwrap_or_else(|p| p.into_inner()).take());
            if let Some(t) = w.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
                let _ = t.join();
            }
        }
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The access log.
pub static ACCESS: Sink = Sink::new("access", false);
/// The execution log (`loggingLevel`).
pub static EXECUTION: Sink = Sink::new("execution", true);

fn open(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// Sends the access log to `path` instead of stdout.
pub fn to_file(path: &std::path::Path) -> Result<(), String> {
    ACCESS.to_file(path)
}

/// Reopens the log files before their next write (on SIGHUP).
pub fn reopen() {
    ACCESS.reopen.store(true, Ordering::Relaxed);
    EXECUTION.reopen.store(true, Ordering::Relaxed);
}

/// A log buffer shared by the connections of one server (worker).
#[derive(Clone)]
pub struct Buffer {
    lines: Arc<Mutex<Vec<u8>>>,
    sink: &'static Sink,
}

impl Default for Buffer {
    fn default() -> Buffer {
        Buffer::new()
    }
}

impl Buffer {
    /// A new, empty access-log buffer.
    pub fn new() -> Buffer {
        Buffer::to(&ACCESS)
    }

    /// A new, empty buffer for `sink`.
    pub fn to(sink: &'static Sink) -> Buffer {
        Buffer {
            lines: Arc::default(),
            sink,
        }
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
            self.sink.hand_over(chunk);
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
        self.sink.hand_over(chunk);
    }
}

/// Access-log lines dropped so far because the writer could not keep up.
pub fn dropped() -> u64 {
    ACCESS.dropped.load(Ordering::Relaxed)
}

/// Requests that panicked (each answered 500 and the process served on).
pub static PANICS: AtomicU64 = AtomicU64::new(0);

/// Stops the writers after they have written everything handed over; returns how many
/// access-log lines were dropped because the writer could not keep up.
pub fn finish() -> u64 {
    EXECUTION.finish();
    ACCESS.finish()
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
