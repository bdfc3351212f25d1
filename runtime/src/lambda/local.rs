//! Local functions: `--function NAME=COMMAND` runs COMMAND as a Lambda function on this
//! machine. Each process gets its own Lambda Runtime API endpoint on loopback
//! (`AWS_LAMBDA_RUNTIME_API`), so any unmodified runtime client (`awslambdaric`, the Rust
//! `lambda_runtime`, the Node.js and Java runtimes' clients) serves invocations from it:
//! `GET /2018-06-01/runtime/invocation/next` hands out the next event with its
//! `Lambda-Runtime-*` headers, `POST …/{id}/response` and `…/{id}/error` answer it,
//! `POST /2018-06-01/runtime/init/error` reports a failed start.
//!
//! Processes start on demand, up to `--function-concurrency` per function; a process that
//! exits is restarted (with a growing pause when it keeps failing), and one that holds an
//! invocation past its deadline is killed and replaced. The processes are shared out in
//! lanes, one per worker: a lane's processes and their Runtime API run on its worker's event
//! loop, which is where its invocations come from. Dropping the [`Host`] kills the processes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use super::invocation::{InvocationType, InvokeError, Output, MAX_RESPONSE};
use crate::http1::{self, RequestBody};
use crate::{Body, Response};

const PREFIX: &str = "/2018-06-01/runtime/";

/// The Runtime API's answer to a response over [`MAX_RESPONSE`] (as runtime clients
/// report it).
const TOO_LARGE_REPLY: &str = r#"{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}"#;
/// The invocation's function error then. Not in the reference: this is the error the Invoke
/// API is reported to return for it (a function error, so API Gateway's proxy integration
/// answers 502).
const TOO_LARGE_ERROR: &str = r#"{"errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}"#;

type Reply = oneshot::Sender<Result<Output, InvokeError>>;

/// One invocation waiting for (or held by) a process.
struct Job {
    id: String,
    payload: Bytes,
    deadline_ms: u64,
    /// The function's own timeout, when it ends the invocation before the integration's.
    task_timeout: Option<Duration>,
    reply: Option<Reply>,
    /// The request's X-Ray trace header (`Lambda-Runtime-Trace-Id`).
    trace: Option<String>,
    /// A streaming invocation: where the response's chunks go (the reply then only says
    /// that it started).
    stream: Option<mpsc::Sender<Result<Bytes, String>>>,
}

/// The local functions.
pub struct Host {
    functions: HashMap<String, Arc<Function>>,
}

impl Drop for Host {
    fn drop(&mut self) {
        // The processes run on the workers' event loops, which may outlive the gateway (one
        // started by `server::spawn`): every process group is killed now, so that none
        // outlives a gateway that stops, and the tasks that watch them are cancelled.
        for f in self.functions.values() {
            for task in f.tasks.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
                task.abort();
            }
            for pid in f.groups.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
                kill_group(Some(pid));
            }
        }
    }
}

thread_local! {
    /// The worker this thread serves (set by the server), for [`Function`]'s lanes.
    static WORKER: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Marks the current thread as worker `n`: its invocations go to lane `n` (modulo the lanes).
pub fn set_worker(n: usize) {
    WORKER.with(|w| w.set(n));
}

impl Host {
    /// The host for `functions` (`(name, command)`), for a gateway of `workers` workers:
    /// each function's processes are split into one lane per worker (at most one per
    /// process allowed), each lane's processes served on the event loop of the worker that
    /// uses it, so that an invocation and its process's Runtime API meet on one thread.
    pub fn start(
        functions: &[(String, String)],
        concurrency: usize,
        timeout_seconds: Option<u64>,
        workers: usize,
    ) -> Result<Host, String> {
        let region = std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|_| "us-east-1".to_string());
        let lanes = workers.clamp(1, concurrency.max(1));
        let functions = functions
            .iter()
            .map(|(name, command)| {
                let arn = format!("arn:aws:lambda:{region}:000000000000:function:{name}");
                let f = Function {
                    name: name.clone(),
                    command: command.clone(),
                    arn_header: http::HeaderValue::from_str(&arn).ok(),
                    region: region.clone(),
                    timeout: timeout_seconds.map(Duration::from_secs),
                    lanes: (0..lanes)
                        .map(|i| {
                            let (tx, rx) = mpsc::unbounded_channel();
                            Lane {
                                // The processes allowed, shared out as evenly as they go.
                                concurrency: concurrency / lanes
                                    + usize::from(i < concurrency % lanes),
                                queue: tx,
                                waiting: tokio::sync::Mutex::new(rx),
                                counts: Mutex::new(Counts::default()),
                                event_loop: std::sync::OnceLock::new(),
                            }
                        })
                        .collect(),
                    tasks: Mutex::new(Vec::new()),
                    groups: Mutex::new(Vec::new()),
                };
                (name.clone(), Arc::new(f))
            })
            .collect();
        Ok(Host { functions })
    }

    /// The local function called `name`, if there is one.
    pub fn function(&self, name: &str) -> Option<&Arc<Function>> {
        self.functions.get(name)
    }

    /// Each local function's processes: name, running (or starting), waiting for work.
    pub fn processes(&self) -> Vec<(String, usize, usize)> {
        let mut out: Vec<(String, usize, usize)> = self
            .functions
            .values()
            .map(|f| {
                let (mut processes, mut idle) = (0, 0);
                for lane in &f.lanes {
                    let c = lane.counts.lock().unwrap_or_else(|p| p.into_inner());
                    processes += c.processes;
                    idle += c.idle;
                }
                (f.name.clone(), processes, idle)
            })
            .collect();
        out.sort();
        out
    }
}

#[derive(Default)]
struct Counts {
    /// Processes running (or starting).
    processes: usize,
    /// Processes waiting in `next`.
    idle: usize,
}

/// A local function: its lanes of invocations and processes.
pub struct Function {
    name: String,
    command: String,
    /// Its ARN, as the `Lambda-Runtime-Invoked-Function-Arn` value (made once; `None` if a
    /// region from the environment cannot be a header value).
    arn_header: Option<http::HeaderValue>,
    region: String,
    timeout: Option<Duration>,
    lanes: Vec<Lane>,
    /// The tasks that keep its processes running (cancelled when the host goes).
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
    /// The process groups running now (killed when the host goes).
    groups: Mutex<Vec<u32>>,
}

/// A share of a function's processes, and the invocations waiting for them, served on the
/// event loop of the worker that invokes through it: an invocation, its process's
/// `next`/`response` exchange and the reply stay on one thread (a hop to a thread of their
/// own and back cost two cross-thread wake-ups per call).
struct Lane {
    /// Processes this lane may run.
    concurrency: usize,
    queue: mpsc::UnboundedSender<Job>,
    waiting: tokio::sync::Mutex<mpsc::UnboundedReceiver<Job>>,
    counts: Mutex<Counts>,
    /// The event loop its processes are served on: the first worker's that invokes.
    event_loop: std::sync::OnceLock<tokio::runtime::Handle>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A process-unique id in Lambda's request-id shape.
fn request_id() -> String {
    static N: AtomicU64 = AtomicU64::new(1);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = now_ms();
    crate::context::uuid_text(
        (t >> 16) & 0xffff_ffff,
        t & 0xffff,
        0x4000 | ((n >> 12) & 0xfff),
        0x8000 | (n & 0xfff),
        n.wrapping_mul(0x9E37_79B9_7F4A_7C15) & 0xffff_ffff_ffff,
    )
}

impl Function {
    /// Runs one invocation on a process of this function.
    pub async fn invoke(
        self: &Arc<Self>,
        payload: Bytes,
        kind: InvocationType,
        timeout: Duration,
        trace: Option<&str>,
    ) -> Result<Output, InvokeError> {
        self.run(payload, kind, timeout, trace, None).await
    }

    /// Runs one invocation whose response is streamed (`InvokeWithResponseStream`): its
    /// chunks as the function writes them, or its error.
    pub async fn invoke_stream(
        self: &Arc<Self>,
        payload: Bytes,
        timeout: Duration,
        trace: Option<&str>,
    ) -> Result<super::stream::Streamed, InvokeError> {
        let (tx, rx) = mpsc::channel(super::stream::DEPTH);
        let out = self
            .run(
                payload,
                InvocationType::RequestResponse,
                timeout,
                trace,
                Some(tx),
            )
            .await?;
        Ok(if out.function_error {
            super::stream::Streamed::Failed(out)
        } else {
            super::stream::Streamed::Chunks(rx)
        })
    }

    async fn run(
        self: &Arc<Self>,
        payload: Bytes,
        kind: InvocationType,
        timeout: Duration,
        trace: Option<&str>,
        stream: Option<mpsc::Sender<Result<Bytes, String>>>,
    ) -> Result<Output, InvokeError> {
        let task_timeout = self.timeout.filter(|t| *t < timeout);
        let limit = task_timeout.unwrap_or(timeout);
        let (tx, rx) = oneshot::channel();
        let job = Job {
            id: request_id(),
            payload,
            deadline_ms: now_ms() + limit.as_millis() as u64,
            task_timeout,
            reply: (kind == InvocationType::RequestResponse).then_some(tx),
            trace: trace.map(str::to_string),
            stream,
        };
        let lane = WORKER.with(std::cell::Cell::get) % self.lanes.len();
        self.lanes[lane]
            .queue
            .send(job)
            .map_err(|_| InvokeError::Failed("the local function host has stopped".into()))?;
        self.scale(lane);
        if kind == InvocationType::Event {
            return Ok(Output {
                payload: Bytes::new(),
                function_error: false,
            });
        }
        match tokio::time::timeout(limit + Duration::from_millis(50), rx).await {
            Err(_) => Err(InvokeError::Timeout),
            Ok(Err(_)) => Err(InvokeError::Failed("the invocation was dropped".into())),
            Ok(Ok(r)) => r,
        }
    }

    /// Starts a process in `lane` when every running one is busy and the limit allows.
    fn scale(self: &Arc<Self>, lane: usize) {
        let l = &self.lanes[lane];
        let slot = {
            let mut c = l.counts.lock().unwrap_or_else(|p| p.into_inner());
            if c.idle == 0 && c.processes < l.concurrency {
                c.processes += 1;
                c.processes
            } else {
                return;
            }
        };
        // Called from a request's task: the worker's event loop.
        let event_loop = l.event_loop.get_or_init(tokio::runtime::Handle::current);
        let f = self.clone();
        let task = event_loop.spawn(async move { f.run_slot(lane, slot).await });
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(task.abort_handle());
    }

    /// Keeps one process of this function running: starts it, serves its Runtime API,
    /// replaces it when it exits or overruns an invocation.
    async fn run_slot(self: Arc<Self>, lane: usize, slot: usize) {
        let mut failures = 0u32;
        loop {
            let started = tokio::time::Instant::now();
            let ok = self.run_process(lane, slot).await;
            if ok || started.elapsed() > Duration::from_secs(10) {
                failures = 0;
            } else {
                failures += 1;
                let pause = Duration::from_millis(100 << failures.min(6));
                tokio::time::sleep(pause).await;
            }
        }
    }

    /// One process, from start to exit. Returns whether it ended for a reason other than
    /// failing on its own (killed for overrunning).
    async fn run_process(self: &Arc<Self>, lane: usize, slot: usize) -> bool {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => {
                crate::warn!("specgate: function {}: cannot listen: {e}", self.name);
                return false;
            }
        };
        let api = match listener.local_addr() {
            Ok(a) => a.to_string(),
            Err(_) => return false,
        };
        let cwd = std::env::current_dir().unwrap_or_default();
        // COMMAND runs under `sh` in a process group of its own, so that everything it
        // starts goes with it.
        let child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .process_group(0)
            .env("AWS_LAMBDA_RUNTIME_API", &api)
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", self.name),
            )
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("specgate/{lane}-{slot}"),
            )
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_REGION", &self.region)
            .env("AWS_DEFAULT_REGION", &self.region)
            .env("LAMBDA_TASK_ROOT", &cwd)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                crate::warn!("specgate: function {}: cannot start `sh`: {e}", self.name);
                return false;
            }
        };
        let _group = Group::new(self, child.id());
        let state = Arc::new(Slot {
            current: Mutex::new(None),
            deadline: Watched::default(),
            reached_next: Mutex::new(false),
        });
        // Ends with this process on every path (also when the host drops this task).
        let _server = Serving(tokio::spawn(serve(
            listener,
            self.clone(),
            lane,
            state.clone(),
        )));
        let watched = &state.deadline;
        let overran = loop {
            let deadline = watched.arm();
            let wait = async {
                match deadline {
                    Some(ms) => {
                        let left = ms.saturating_sub(now_ms());
                        tokio::time::sleep(Duration::from_millis(left)).await
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                status = child.wait() => {
                    let why = match status {
                        Ok(s) => format!("Runtime exited with error: {s}"),
                        Err(e) => format!("Runtime exited: {e}"),
                    };
                    self.fail_current(lane, &state, "Runtime.ExitError", &why);
                    break false;
                }
                _ = wait => {
                    // The timer was set for an invocation that may have ended since: only
                    // the one held now counts.
                    if !watched.passed() {
                        continue;
                    }
                    // Past its deadline: the process is replaced, the caller has timed out.
                    kill_group(child.id());
                    let _ = child.kill().await;
                    if let Some(job) = state.take() {
                        if let Some(reply) = job.reply {
                            // The function's timeout is a function error (Lambda's "Task
                            // timed out"); the integration's is the gateway's timeout.
                            let answer = match job.task_timeout {
                                Some(t) => Ok(Output {
                                    payload: Bytes::from(
                                        serde_json::json!({
                                            "errorMessage": format!(
                                                "RequestId: {} Error: Task timed out after {:.2} seconds",
                                                job.id,
                                                t.as_secs_f64()
                                            ),
                                            "errorType": "Sandbox.Timedout",
                                        })
                                        .to_string(),
                                    ),
                                    function_error: true,
                                }),
                                None => Err(InvokeError::Timeout),
                            };
                            let _ = reply.send(answer);
                        }
                    }
                    break true;
                }
                () = watched.wake.notified() => {}
            }
        };
        overran
    }

    /// Fails the invocation a process held when it died; a process that died before asking
    /// for work fails the oldest waiting invocation instead, so that a function that cannot
    /// start answers with an error rather than a timeout.
    fn fail_current(&self, lane: usize, slot: &Slot, error_type: &str, message: &str) {
        let job = slot.take().or_else(|| {
            let started = *slot.reached_next.lock().unwrap_or_else(|p| p.into_inner());
            if started {
                return None;
            }
            self.lanes[lane].waiting.try_lock().ok()?.try_recv().ok()
        });
        if let Some(Job {
            id,
            reply: Some(reply),
            ..
        }) = job
        {
            let payload = serde_json::json!({
                "errorMessage": format!("RequestId: {id} Error: {message}"),
                "errorType": error_type,
            });
            let _ = reply.send(Ok(Output {
                payload: Bytes::from(payload.to_string()),
                function_error: true,
            }));
        }
    }
}

/// A process's Runtime API listener, stopped when dropped.
struct Serving(tokio::task::JoinHandle<()>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Kills a process group (the function's `sh` and everything it started).
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Kills its process group when dropped: when the process is replaced, and when the host
/// shuts down (its tasks are dropped, not finished). Registered with the function meanwhile,
/// so that a host dropped while its event loops run on kills it too.
struct Group<'f> {
    pid: Option<u32>,
    function: &'f Function,
}

impl<'f> Group<'f> {
    fn new(function: &'f Function, pid: Option<u32>) -> Self {
        if let Some(pid) = pid {
            function
                .groups
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(pid);
        }
        Group { pid, function }
    }
}

impl Drop for Group<'_> {
    fn drop(&mut self) {
        kill_group(self.pid);
        if let Some(pid) = self.pid {
            self.function
                .groups
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .retain(|g| *g != pid);
        }
    }
}

/// One process's Runtime API state.
struct Slot {
    /// The invocation it holds.
    current: Mutex<Option<Job>>,
    /// The deadline of that invocation.
    deadline: Watched,
    /// It has asked for work at least once (its runtime client started).
    reached_next: Mutex<bool>,
}

impl Slot {
    /// Whether the process holds the invocation `id`.
    fn holds(&self, id: &str) -> bool {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current.as_ref().is_some_and(|j| j.id == id)
    }

    fn take(&self) -> Option<Job> {
        let job = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        self.deadline.clear();
        job
    }
}

/// The deadline of the invocation a process holds, and the timer of the task that watches
/// it (`run_process`), kept apart: a new deadline wakes the watcher only when it comes
/// before the timer set, and an invocation that ends leaves the timer as it is (it fires
/// once, finds no deadline passed and is set again). So a call costs a few atomic loads
/// and stores, where a channel woke the watcher twice per call to set a timer and drop it
/// again (seven percent of the gateway's instructions per Lambda call, measured with
/// callgrind).
#[derive(Default)]
struct Watched {
    /// The held invocation's deadline, ms since the epoch (0: none held).
    at: AtomicU64,
    /// When the watcher's timer fires, ms since the epoch (0: not set, waits for a wake).
    armed: AtomicU64,
    /// Wakes the watcher for a deadline before its timer.
    wake: tokio::sync::Notify,
}

impl Watched {
    /// An invocation is held until `ms`.
    fn set(&self, ms: u64) {
        self.at.store(ms.max(1), Ordering::SeqCst);
        let armed = self.armed.load(Ordering::SeqCst);
        if armed == 0 || ms < armed {
            // Kept as a permit if the watcher is not waiting yet.
            self.wake.notify_one();
        }
    }

    /// The held invocation ended.
    fn clear(&self) {
        self.at.store(0, Ordering::SeqCst);
    }

    /// The watcher sets its timer: for the deadline held now, if any. The timer is noted
    /// before the deadline is read (both sequentially consistent), so a deadline set
    /// meanwhile either is read here or sees a timer it must wake the watcher for.
    fn arm(&self) -> Option<u64> {
        self.armed.store(0, Ordering::SeqCst);
        let at = self.at.load(Ordering::SeqCst);
        if at == 0 {
            return None;
        }
        self.armed.store(at, Ordering::SeqCst);
        Some(at)
    }

    /// Whether the invocation held now is past its deadline.
    fn passed(&self) -> bool {
        let at = self.at.load(Ordering::SeqCst);
        at != 0 && now_ms() >= at
    }
}

/// Counts a process as idle while it waits in `next`.
struct Idle<'a>(&'a Lane);

impl<'a> Idle<'a> {
    fn new(lane: &'a Lane) -> Self {
        lane.counts.lock().unwrap_or_else(|p| p.into_inner()).idle += 1;
        Idle(lane)
    }
}

impl Drop for Idle<'_> {
    fn drop(&mut self) {
        let mut c = self.0.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.idle = c.idle.saturating_sub(1);
    }
}

/// Serves a process's Runtime API on the gateway's own HTTP/1 connection code (as its
/// clients are served): through hyper's server, the two exchanges of each call cost a
/// third of the gateway's instructions per Lambda call (callgrind), through this code
/// about a tenth.
async fn serve(listener: TcpListener, f: Arc<Function>, lane: usize, slot: Arc<Slot>) {
    // `runtime_api`'s own future, written into its box: an `async` block around it held
    // the request a second time and was built on the stack and copied into a box whole
    // (two kilobytes, twice per call).
    let service: http1::Service = Arc::new(move |req, _headers, _peer| {
        crate::boxed(runtime_api(req, f.clone(), lane, slot.clone()))
    });
    let settings = http1::Settings {
        // A process holds its connection between the event it was handed and its answer,
        // as long as its invocation runs: no limit here (the invocation's deadline is
        // watched by `run_process`).
        head_timeout: Duration::from_secs(7 * 24 * 3600),
        keep_trailers: true,
    };
    // Never drained: the processes go with the host.
    let drain = http1::Drain::default();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (service, drain) = (service.clone(), drain.clone());
        tokio::spawn(http1::serve(
            Box::new(stream),
            bytes::BytesMut::new(),
            peer,
            settings,
            drain,
            service,
        ));
    }
}

static CONTENT_TYPE: http::header::HeaderName = http::header::CONTENT_TYPE;

fn reply(status: u16, body: &'static str) -> Response {
    let mut fields = crate::framing::OwnFields::with_capacity(16);
    fields.push(&CONTENT_TYPE, b"application/json");
    let body = Body::full(Bytes::from_static(body.as_bytes())).with_raw_fields(fields.finish());
    let mut r = http::Response::new(body);
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
    r
}

/// The Runtime API for one process.
async fn runtime_api(
    req: http::Request<RequestBody>,
    f: Arc<Function>,
    lane: usize,
    slot: Arc<Slot>,
) -> Response {
    let (f, slot) = (&*f, &*slot);
    let (parts, body) = req.into_parts();
    let Some(rest) = parts.uri.path().strip_prefix(PREFIX) else {
        return reply(
            404,
            r#"{"errorMessage":"Not found","errorType":"NotFound"}"#,
        );
    };
    let method = &parts.method;
    if method == http::Method::GET && rest == "invocation/next" {
        *slot.reached_next.lock().unwrap_or_else(|p| p.into_inner()) = true;
        let job = {
            let lane = &f.lanes[lane];
            let _idle = Idle::new(lane);
            let mut waiting = lane.waiting.lock().await;
            waiting.recv().await
        };
        let Some(job) = job else {
            return reply(
                500,
                r#"{"errorMessage":"stopping","errorType":"ServiceException"}"#,
            );
        };
        // Written as the head's fields are (no header map): the id and trace are this
        // gateway's own text or a client's field value, the ARN was checked once, the
        // deadline is formatted in place.
        let trace = job.trace.as_deref().map(Cow::Borrowed);
        let trace = trace.unwrap_or_else(|| Cow::Owned(trace_id(&job.id)));
        let arn = f.arn_header.as_ref().map_or(&[][..], |a| a.as_bytes());
        use http::header::HeaderName;
        static ID: HeaderName = HeaderName::from_static("lambda-runtime-aws-request-id");
        static DEADLINE: HeaderName = HeaderName::from_static("lambda-runtime-deadline-ms");
        static ARN: HeaderName = HeaderName::from_static("lambda-runtime-invoked-function-arn");
        static TRACE: HeaderName = HeaderName::from_static("lambda-runtime-trace-id");
        let mut fields =
            crate::framing::OwnFields::with_capacity(40 + job.id.len() + arn.len() + trace.len());
        fields.push(&CONTENT_TYPE, b"application/json");
        fields.push(&ID, job.id.as_bytes());
        let mut deadline = itoa::Buffer::new();
        let deadline = deadline.format(job.deadline_ms);
        fields.push(&DEADLINE, deadline.as_bytes());
        if f.arn_header.is_some() {
            fields.push(&ARN, arn);
        }
        fields.push(&TRACE, trace.as_bytes());
        let body = Body::full(job.payload.clone()).with_raw_fields(fields.finish());
        let resp = http::Response::new(body);
        let deadline = job.deadline_ms;
        *slot.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(job);
        slot.deadline.set(deadline);
        return resp;
    }
    if method != http::Method::POST {
        return reply(
            405,
            r#"{"errorMessage":"Method not allowed","errorType":"MethodNotAllowed"}"#,
        );
    }
    // A streaming invocation's response: forwarded as it arrives.
    if let Some(id) = rest
        .strip_prefix("invocation/")
        .and_then(|r| r.strip_suffix("/response"))
    {
        let streaming = {
            let current = slot.current.lock().unwrap_or_else(|p| p.into_inner());
            current
                .as_ref()
                .is_some_and(|j| j.id == id && j.stream.is_some())
        };
        if streaming {
            if let Some(job) = slot.take() {
                // Boxed: a streamed answer is the rare case, and its future inline made
                // every exchange's larger.
                return Box::pin(forward(body, job)).await;
            }
        }
    }
    let body = match http_body_util::Limited::new(body, MAX_RESPONSE)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            // Lambda refuses the answer (413 to the runtime, which usually gives up on the
            // invocation) and the invocation ends in a function error: API Gateway's 502.
            let answered = rest
                .strip_prefix("invocation/")
                .and_then(|r| r.split_once('/'))
                .is_some_and(|(id, what)| {
                    (what == "response" || what == "error") && slot.holds(id)
                });
            if answered {
                if let Some(Job { reply: Some(r), .. }) = slot.take() {
                    let _ = r.send(Ok(Output {
                        payload: Bytes::from_static(TOO_LARGE_ERROR.as_bytes()),
                        function_error: true,
                    }));
                }
            }
            return reply(413, TOO_LARGE_REPLY);
        }
        Err(_) => {
            return reply(
                400,
                r#"{"errorMessage":"Bad body","errorType":"InvalidRequest"}"#,
            )
        }
    };
    if rest == "init/error" {
        crate::warn!(
            "specgate: function {}: init error: {}",
            f.name,
            String::from_utf8_lossy(&body)
        );
        return reply(202, r#"{"status":"OK"}"#);
    }
    let Some((id, what)) = rest
        .strip_prefix("invocation/")
        .and_then(|r| r.split_once('/'))
    else {
        return reply(
            404,
            r#"{"errorMessage":"Not found","errorType":"NotFound"}"#,
        );
    };
    if what != "response" && what != "error" {
        return reply(
            404,
            r#"{"errorMessage":"Not found","errorType":"NotFound"}"#,
        );
    }
    if !slot.holds(id) {
        return reply(
            400,
            r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#,
        );
    }
    if let Some(job) = slot.take() {
        if let Some(r) = job.reply {
            let _ = r.send(Ok(Output {
                payload: body,
                function_error: what == "error",
            }));
        }
    }
    reply(202, r#"{"status":"OK"}"#)
}

/// A streaming invocation's response (`Lambda-Runtime-Function-Response-Mode: streaming`,
/// or a whole response): the reply says it started, the chunks follow as they arrive; an
/// error in the trailers (`Lambda-Runtime-Function-Error-Type`/`-Body`) ends the stream with
/// it.
async fn forward(mut body: RequestBody, job: Job) -> Response {
    let (Some(started), Some(tx)) = (job.reply, job.stream) else {
        return reply(202, r#"{"status":"OK"}"#);
    };
    let _ = started.send(Ok(Output {
        payload: Bytes::new(),
        function_error: false,
    }));
    let mut client_gone = false;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                let _ = tx
                    .send(Err(format!("the function's stream broke: {e}")))
                    .await;
                return reply(
                    400,
                    r#"{"errorMessage":"Bad body","errorType":"InvalidRequest"}"#,
                );
            }
        };
        match frame.into_data() {
            Ok(data) => {
                // A client that went away stops reading; the function still finishes.
                if !client_gone && tx.send(Ok(data)).await.is_err() {
                    client_gone = true;
                }
            }
            Err(frame) => {
                if let Some(t) = frame.trailers_ref() {
                    if let Some(kind) = t.get("lambda-runtime-function-error-type") {
                        let kind = kind.to_str().unwrap_or("Error").to_string();
                        let _ = tx.send(Err(format!("function error {kind}"))).await;
                    }
                }
            }
        }
    }
    reply(202, r#"{"status":"OK"}"#)
}

/// An X-Ray trace header for an invocation: `Root=1-{time}-{24 hex}`, the hex taken from the
/// request id.
fn trace_id(request_id: &str) -> String {
    let mut hex = String::with_capacity(40);
    hex.extend(request_id.chars().filter(char::is_ascii_hexdigit));
    while hex.len() < 40 {
        hex.push('0');
    }
    format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        now_ms() / 1000,
        &hex[..24],
        &hex[24..40]
    )
}
