//! The floor of `specgate-bench-floor` on io_uring: the same bytes forwarded between a client
//! connection and a kept-alive backend connection, the same idle (60 s) and integration
//! (29 s) timeouts around each read, one thread per worker, but every receive, send and
//! accept is a submission to the worker's own ring, and a worker makes one system call
//! (`io_uring_enter`) per turn of its loop for everything it submits and everything that
//! completed since. This is the system-call experiment of issue 20: `bench/run.sh` measures it
//! beside the tokio floor, so the ratio of the two says what a gateway on io_uring could save
//! at best, before anything is parsed. Written against the `io-uring` crate directly (no
//! runtime) so that nothing but the ring stands between the sockets and the loop.
//!
//! As in the tokio floor nothing is parsed: each read is taken to be one whole message, which
//! holds for wrk's requests and a small backend answer on loopback, and for nothing else. The
//! backend connection is opened with a blocking connect once per client connection (wrk keeps
//! its connections, so this is set-up, not the per-request cost being measured).
//!
//!     specgate-bench-floor-uring LISTEN BACKEND [WORKERS]

#[cfg(target_os = "linux")]
fn main() {
    uring::main()
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("specgate-bench-floor-uring: io_uring is Linux only");
    std::process::exit(2);
}

#[cfg(target_os = "linux")]
mod uring {
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::{AsRawFd, FromRawFd, RawFd};

    use io_uring::{cqueue, opcode, squeue, types, IoUring};

    /// What a completion is for: the low byte of its `user_data`; the slot and the slot's
    /// generation (a completion for a connection already gone is dropped) above it.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum Step {
        Accept = 1,
        ReadClient = 2,
        WriteUpstream = 3,
        ReadUpstream = 4,
        WriteClient = 5,
        Timeout = 6,
    }

    const STEPS: [Step; 6] = [
        Step::Accept,
        Step::ReadClient,
        Step::WriteUpstream,
        Step::ReadUpstream,
        Step::WriteClient,
        Step::Timeout,
    ];

    fn tag(slot: usize, generation: u32, step: Step) -> u64 {
        (u64::from(generation) << 32) | ((slot as u64) << 8) | step as u64
    }

    fn untag(data: u64) -> Option<(usize, u32, Step)> {
        let step = *STEPS.iter().find(|s| **s as u64 == data & 0xff)?;
        Some((
            ((data >> 8) & 0xff_ffff) as usize,
            (data >> 32) as u32,
            step,
        ))
    }

    // The kernel copies a linked timeout's time when the entry is prepared; statics keep the
    // pointers valid regardless.
    static IDLE: types::Timespec = types::Timespec::new().sec(60);
    static INTEGRATION: types::Timespec = types::Timespec::new().sec(29);

    struct Conn {
        client: TcpStream,
        upstream: TcpStream,
        generation: u32,
        request: Box<[u8]>,
        response: Box<[u8]>,
        /// Bytes of the message in flight, and how many of them are sent.
        len: usize,
        sent: usize,
    }

    pub fn main() {
        let args: Vec<String> = std::env::args().collect();
        let (Some(listen), Some(backend)) = (args.get(1), args.get(2)) else {
            eprintln!("usage: specgate-bench-floor-uring LISTEN BACKEND [WORKERS]");
            std::process::exit(2);
        };
        let workers: usize = args.get(3).and_then(|w| w.parse().ok()).unwrap_or(2);
        let listener = TcpListener::bind(listen).unwrap_or_else(|e| {
            eprintln!("specgate-bench-floor-uring: {listen}: {e}");
            std::process::exit(1);
        });
        let threads: Vec<_> = (0..workers)
            .map(|_| {
                let listener = listener.try_clone().expect("a listener for each worker");
                let backend = backend.clone();
                std::thread::spawn(move || {
                    if let Err(e) = worker(&listener, &backend) {
                        eprintln!("specgate-bench-floor-uring: {e}");
                        std::process::exit(1);
                    }
                })
            })
            .collect();
        for t in threads {
            let _ = t.join();
        }
    }

    /// A ring that runs completion work only when its one thread enters it (no interrupts
    /// between turns), or a plain ring where the kernel lacks those flags.
    fn ring() -> std::io::Result<IoUring> {
        IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .build(1024)
            .or_else(|_| IoUring::new(1024))
    }

    struct Worker<'a> {
        ring: IoUring,
        listener: &'a TcpListener,
        backend: &'a str,
        conns: Vec<Option<Conn>>,
        free: Vec<usize>,
        generation: u32,
    }

    fn worker(listener: &TcpListener, backend: &str) -> std::io::Result<()> {
        let mut w = Worker {
            ring: ring()?,
            listener,
            backend,
            conns: Vec::new(),
            free: Vec::new(),
            generation: 0,
        };
        w.accept()?;
        let mut done: Vec<(u64, i32)> = Vec::with_capacity(256);
        loop {
            // One system call: what was queued since the last turn goes in, and the thread
            // sleeps until at least one completion is there.
            match w.ring.submit_and_wait(1) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            done.clear();
            done.extend(
                w.ring
                    .completion()
                    .map(|c: cqueue::Entry| (c.user_data(), c.result())),
            );
            for &(data, result) in &done {
                w.complete(data, result)?;
            }
        }
    }

    impl Worker<'_> {
        /// Queues entries that must go in together (a read and its linked timeout), making
        /// room first by submitting what is queued when the queue is full.
        fn push(&mut self, entries: &[squeue::Entry]) -> std::io::Result<()> {
            loop {
                {
                    let mut sq = self.ring.submission();
                    if sq.capacity() - sq.len() >= entries.len() {
                        for e in entries {
                            // SAFETY: every buffer an entry points at is owned by a `Conn`
                            // that stays in its slot until that entry's completion is seen
                            // (one buffer operation per connection at a time).
                            unsafe { sq.push(e) }.expect("room was checked");
                        }
                        return Ok(());
                    }
                }
                self.ring.submit()?;
            }
        }

        fn accept(&mut self) -> std::io::Result<()> {
            let e = opcode::Accept::new(
                types::Fd(self.listener.as_raw_fd()),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
            .build()
            .user_data(tag(0, 0, Step::Accept));
            self.push(&[e])
        }

        fn read(&mut self, slot: usize, step: Step) -> std::io::Result<()> {
            let conn = self.conns[slot].as_mut().expect("a live slot");
            let (fd, buf, limit): (RawFd, &mut Box<[u8]>, &'static types::Timespec) = match step {
                Step::ReadClient => (conn.client.as_raw_fd(), &mut conn.request, &IDLE),
                _ => (conn.upstream.as_raw_fd(), &mut conn.response, &INTEGRATION),
            };
            let generation = conn.generation;
            let read = opcode::Recv::new(types::Fd(fd), buf.as_mut_ptr(), buf.len() as u32)
                .build()
                .flags(squeue::Flags::IO_LINK)
                .user_data(tag(slot, generation, step));
            let timeout = opcode::LinkTimeout::new(limit).build().user_data(tag(
                slot,
                generation,
                Step::Timeout,
            ));
            self.push(&[read, timeout])
        }

        fn write(&mut self, slot: usize, step: Step) -> std::io::Result<()> {
            let conn = self.conns[slot].as_mut().expect("a live slot");
            let (fd, buf) = match step {
                Step::WriteUpstream => (conn.upstream.as_raw_fd(), &conn.request),
                _ => (conn.client.as_raw_fd(), &conn.response),
            };
            let rest = &buf[conn.sent..conn.len];
            let e = opcode::Send::new(types::Fd(fd), rest.as_ptr(), rest.len() as u32)
                .build()
                .user_data(tag(slot, conn.generation, step));
            self.push(&[e])
        }

        fn open(&mut self, fd: RawFd) -> std::io::Result<()> {
            // SAFETY: `fd` is the connection the accept just returned; nothing else owns it.
            let client = unsafe { TcpStream::from_raw_fd(fd) };
            let Ok(upstream) = TcpStream::connect(self.backend) else {
                return Ok(()); // dropping `client` closes it
            };
            for s in [&client, &upstream] {
                s.set_nodelay(true)?;
                s.set_nonblocking(true)?;
            }
            self.generation = self.generation.wrapping_add(1);
            let conn = Conn {
                client,
                upstream,
                generation: self.generation,
                request: vec![0; 16384].into_boxed_slice(),
                response: vec![0; 16384].into_boxed_slice(),
                len: 0,
                sent: 0,
            };
            let slot = match self.free.pop() {
                Some(slot) => {
                    self.conns[slot] = Some(conn);
                    slot
                }
                None => {
                    self.conns.push(Some(conn));
                    self.conns.len() - 1
                }
            };
            self.read(slot, Step::ReadClient)
        }

        fn close(&mut self, slot: usize) {
            if self.conns[slot].take().is_some() {
                self.free.push(slot);
            }
        }

        fn complete(&mut self, data: u64, result: i32) -> std::io::Result<()> {
            let Some((slot, generation, step)) = untag(data) else {
                return Ok(());
            };
            match step {
                Step::Accept => {
                    if result >= 0 {
                        self.open(result)?;
                    }
                    return self.accept();
                }
                // A timeout's own completion: cancelled because its read finished, or fired,
                // in which case the read completes with an error and closes the connection.
                Step::Timeout => return Ok(()),
                _ => {}
            }
            match self.conns.get_mut(slot) {
                Some(Some(conn)) if conn.generation == generation => {
                    if result <= 0 {
                        self.close(slot);
                        return Ok(());
                    }
                    let n = result as usize;
                    match step {
                        Step::ReadClient | Step::ReadUpstream => {
                            conn.len = n;
                            conn.sent = 0;
                            let next = if step == Step::ReadClient {
                                Step::WriteUpstream
                            } else {
                                Step::WriteClient
                            };
                            self.write(slot, next)
                        }
                        _ => {
                            conn.sent += n;
                            if conn.sent < conn.len {
                                return self.write(slot, step);
                            }
                            let next = if step == Step::WriteUpstream {
                                Step::ReadUpstream
                            } else {
                                Step::ReadClient
                            };
                            self.read(slot, next)
                        }
                    }
                }
                _ => Ok(()),
            }
        }
    }
}
