//! `rtwire_conn`: connecting, sending, closing and freeing a connection.
//!
//! Each connection has a task on its context's runtime that opens it, then
//! forwards its events into the context's queue (tagged with the handle and
//! the user's pointer) and carries out close requests.

use std::ffi::{c_char, c_void};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use rtwire::{Connection, Data, ErrorKind, Event, Options};
use tokio::sync::{mpsc, watch, Semaphore};

use crate::context::{self, rtwire_context, CtxObj, Queued};
use crate::event::EventObj;
use crate::handle::{from_ptr, to_ptr, Table};
use crate::options::{self, rtwire_options};
use crate::{arg_bytes, arg_str, guard, guard_or, rtwire_result, LastError};

/// One connection (opaque), created by `rtwire_context_connect()` and freed
/// with `rtwire_conn_free()`. Its events arrive through its context.
///
/// Thread safety: every function may be called from any thread, also
/// concurrently (e.g. sends from several threads while another closes).
#[derive(Debug)]
pub struct rtwire_conn {
    _private: [u8; 0],
}

/// What the connection task and the API share. Also stands for a server
/// whose events go through the context queue (its handle is then a server
/// handle).
#[derive(Debug)]
pub(crate) struct ConnShared {
    handle: AtomicUsize,
    userdata: usize,
    /// Set (under the queue lock) by `rtwire_conn_free`.
    pub(crate) freed: AtomicBool,
}

impl ConnShared {
    /// A source of events whose handle is set later with `set_handle`.
    pub(crate) fn new(userdata: usize) -> ConnShared {
        ConnShared {
            handle: AtomicUsize::new(0),
            userdata,
            freed: AtomicBool::new(false),
        }
    }

    pub(crate) fn set_handle(&self, h: usize) {
        self.handle.store(h, Ordering::Release);
    }

    pub(crate) fn handle(&self) -> usize {
        self.handle.load(Ordering::Acquire)
    }
}

/// Where the connection is in its life.
#[derive(Debug, Clone)]
enum Phase {
    Connecting,
    Open(rtwire::Sender),
    Ended,
}

#[derive(Debug)]
enum Cmd {
    Close(u16, String),
}

/// The object behind an `rtwire_conn` handle.
#[derive(Debug)]
pub(crate) struct ConnObj {
    ctx: Arc<CtxObj>,
    shared: Arc<ConnShared>,
    phase: watch::Receiver<Phase>,
    cmds: mpsc::UnboundedSender<Cmd>,
    /// Bounds this connection's share of the context queue.
    events: Arc<Semaphore>,
    closing: AtomicBool,
    last_error: LastError,
    /// Server connections: the server's id for the connection (0 for
    /// client connections) and the request it came with.
    id: u64,
    request: Option<crate::app::OwnedRequest>,
}

impl ConnObj {
    /// Cuts the connection loose from its context: no more events are
    /// queued, queued ones are dropped, and its task ends (dropping the core
    /// connection, which closes it with 1001 in the background).
    pub(crate) fn detach(&self) {
        self.ctx.shared.purge(&self.shared);
        self.events.close();
    }
}

pub(crate) static CONNS: Table<ConnObj> = Table::new(3);

pub(crate) fn get(conn: *const rtwire_conn) -> Option<Arc<ConnObj>> {
    CONNS.get(from_ptr(conn))
}

type ConnectFuture = Pin<Box<dyn Future<Output = Result<Connection, rtwire::Error>> + Send>>;

/// Opens a connection to `url` with a copy of `opts` (NULL means the
/// defaults) and writes its handle to `*out`. Does not block: the
/// connection opens in the background and reports OPEN, or ERROR then
/// CLOSED, through the context's events.
///
/// `userdata` is stored with the connection and handed back by
/// `rtwire_event_userdata()` and `rtwire_conn_userdata()`; rtwire never
/// dereferences it.
///
/// Errors found before any network I/O are returned at once, with the text
/// on the context (`rtwire_context_last_error()`), and nothing is created:
/// `RTWIRE_RESULT_INVALID_URL`, `RTWIRE_RESULT_INVALID_ARGUMENT` (options
/// that do not go together, such as a client certificate without its key;
/// `url` not UTF-8), `RTWIRE_RESULT_UNSUPPORTED`
/// (a transport not available yet), `RTWIRE_RESULT_TLS` (unreadable CA or
/// key file). Also `RTWIRE_RESULT_NULL_ARGUMENT` (`url` or `out`),
/// `RTWIRE_RESULT_INVALID_HANDLE` (`ctx`, or a non-NULL `opts` that is not
/// live). Failures on the network (refused, timeout, handshake, TLS
/// handshake) arrive as an ERROR event followed by CLOSED (code 1006).
///
/// On success the caller owns `*out` and frees it with `rtwire_conn_free()`
/// (also after CLOSED). Thread-safe.
///
/// # Safety
/// `url` is NULL or a NUL-terminated string; `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_context_connect(
    ctx: *mut rtwire_context,
    url: *const c_char,
    opts: *const rtwire_options,
    userdata: *mut c_void,
    out: *mut *mut rtwire_conn,
) -> rtwire_result {
    guard(|| {
        let Some(c) = context::get(ctx) else {
            return rtwire_result::InvalidHandle;
        };
        if out.is_null() {
            return c
                .last_error
                .fail(rtwire_result::NullArgument, "out is NULL");
        }
        // SAFETY: per this function's contract.
        let url = match unsafe { arg_str(url, "url") } {
            Ok(u) => u.to_owned(),
            Err(e) => return c.last_error.arg(e, "url"),
        };
        let options = if opts.is_null() {
            Options::new()
        } else {
            match options::snapshot(opts) {
                Some(o) => o,
                None => {
                    return c.last_error.fail(
                        rtwire_result::InvalidHandle,
                        "opts is not a live options handle",
                    )
                }
            }
        };
        match start(&c, url, options, userdata as usize) {
            Ok(h) => {
                // SAFETY: `out` is non-NULL and writable per the contract.
                unsafe { *out = to_ptr(h) };
                rtwire_result::Ok
            }
            Err(r) => r,
        }
    })
}

fn start(
    c: &Arc<CtxObj>,
    url: String,
    options: Options,
    userdata: usize,
) -> Result<usize, rtwire_result> {
    let queue_len = options.limits.event_queue.max(1);
    let mut fut: ConnectFuture = Box::pin(async move { rtwire::connect(&url, options).await });
    // One poll on this thread runs the checks that come before any I/O, so
    // that their errors are returned here rather than as events.
    let first = {
        let _rt = c.rt.enter();
        fut.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    };
    let fut: ConnectFuture = match first {
        Poll::Ready(Err(e))
            if !matches!(
                e.kind(),
                ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::Io
            ) =>
        {
            return Err(c.last_error.error(&e));
        }
        Poll::Ready(r) => Box::pin(std::future::ready(r)),
        Poll::Pending => fut,
    };
    spawn(c, fut, userdata, queue_len, Phase::Connecting, None, 0)
}

/// Gives a connection a server accepted a handle of its own on context
/// `c`, as if it had been connected there: its events go through the
/// context's queue, and sends, close and free work as for any connection.
pub(crate) fn adopt(
    c: &Arc<CtxObj>,
    conn: Connection,
    userdata: usize,
    queue_len: usize,
    request: crate::app::OwnedRequest,
    id: u64,
) -> Result<usize, rtwire_result> {
    let phase = Phase::Open(conn.sender());
    let fut: ConnectFuture = Box::pin(std::future::ready(Ok(conn)));
    spawn(c, fut, userdata, queue_len, phase, Some(request), id)
}

/// Registers a connection and starts its task.
fn spawn(
    c: &Arc<CtxObj>,
    fut: ConnectFuture,
    userdata: usize,
    queue_len: usize,
    phase: Phase,
    request: Option<crate::app::OwnedRequest>,
    id: u64,
) -> Result<usize, rtwire_result> {
    let shared = Arc::new(ConnShared::new(userdata));
    let (phase_tx, phase_rx) = watch::channel(phase);
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let events = Arc::new(Semaphore::new(queue_len.clamp(1, Semaphore::MAX_PERMITS)));
    let obj = Arc::new(ConnObj {
        ctx: c.clone(),
        shared: shared.clone(),
        phase: phase_rx,
        cmds: cmd_tx,
        events: events.clone(),
        closing: AtomicBool::new(false),
        last_error: LastError::default(),
        id,
        request,
    });
    let Some(h) = CONNS.insert(obj) else {
        return Err(c
            .last_error
            .fail(rtwire_result::Internal, "too many live connections"));
    };
    shared.set_handle(h);
    if !c.adopt(h) {
        CONNS.remove(h);
        return Err(rtwire_result::InvalidHandle);
    }
    let pump = Pump {
        queue: c.shared.clone(),
        conn: shared,
        events,
        phase: phase_tx,
    };
    c.rt.spawn(pump.run(fut, cmd_rx));
    Ok(h)
}

/// The connection's task.
struct Pump {
    queue: Arc<context::Shared>,
    conn: Arc<ConnShared>,
    events: Arc<Semaphore>,
    phase: watch::Sender<Phase>,
}

impl Pump {
    /// Queues one event once this connection has room in the queue; `false`
    /// when the connection was freed or the context is gone.
    async fn deliver(&self, event: EventObj) -> bool {
        let Ok(permit) = self.events.clone().acquire_owned().await else {
            return false;
        };
        self.queue.push(Queued {
            conn: self.conn.clone(),
            event,
            permit: Some(permit),
        })
    }

    fn tag(&self, event: Event) -> EventObj {
        EventObj::from_core(event, self.conn.handle(), self.conn.userdata)
    }

    fn closed(&self, reason: &str) -> EventObj {
        EventObj::closed(self.conn.handle(), self.conn.userdata, 1006, reason)
    }

    async fn run(self, fut: ConnectFuture, mut cmds: mpsc::UnboundedReceiver<Cmd>) {
        let mut conn = tokio::select! {
            r = fut => match r {
                Ok(conn) => conn,
                Err(e) => {
                    self.phase.send_replace(Phase::Ended);
                    let msg = e.message().to_owned();
                    if self.deliver(self.tag(Event::Error(e))).await {
                        self.deliver(self.closed(&msg)).await;
                    }
                    return;
                }
            },
            cmd = cmds.recv() => {
                self.phase.send_replace(Phase::Ended);
                if cmd.is_some() {
                    self.deliver(self.closed("closed by the application before the connection opened"))
                        .await;
                }
                return;
            }
        };
        self.phase.send_replace(Phase::Open(conn.sender()));
        loop {
            tokio::select! {
                ev = conn.recv() => {
                    let Some(ev) = ev else {
                        self.phase.send_replace(Phase::Ended);
                        self.deliver(self.closed("the connection ended")).await;
                        return;
                    };
                    let last = matches!(ev, Event::Closed(_));
                    if last {
                        self.phase.send_replace(Phase::Ended);
                    }
                    if !self.deliver(self.tag(ev)).await || last {
                        return;
                    }
                }
                cmd = cmds.recv() => match cmd {
                    Some(Cmd::Close(code, reason)) => {
                        // Arguments were checked by the caller.
                        let _ = conn.close(code, &reason);
                    }
                    // Freed: dropping `conn` closes it with 1001.
                    None => return,
                },
            }
        }
    }
}

/// Sends one message, waiting per `timeout_ms`.
fn send(conn: *mut rtwire_conn, data: Data, timeout_ms: i32) -> rtwire_result {
    let Some(obj) = get(conn) else {
        return rtwire_result::InvalidHandle;
    };
    let err = &obj.last_error;
    if obj.closing.load(Ordering::Acquire) {
        return err.fail(
            rtwire_result::Closed,
            "rtwire_conn_close() was called; nothing more can be sent",
        );
    }
    let phase = obj.phase.borrow().clone();
    let sender = match phase {
        Phase::Open(s) => s,
        Phase::Ended => {
            return err.fail(rtwire_result::Closed, "the connection is closed");
        }
        Phase::Connecting if timeout_ms == 0 => {
            return err.fail(
                rtwire_result::WouldBlock,
                "the connection is not open yet; wait for its OPEN event or pass a timeout",
            );
        }
        Phase::Connecting => {
            let mut rx = obj.phase.clone();
            let opened = obj.ctx.rt.block_on(within(timeout_ms, async move {
                rx.wait_for(|p| !matches!(p, Phase::Connecting))
                    .await
                    .map(|p| p.clone())
                    .ok()
            }));
            match opened {
                Some(Some(Phase::Open(s))) => s,
                Some(_) => return err.fail(rtwire_result::Closed, "the connection is closed"),
                None => {
                    return err.fail(
                        rtwire_result::Timeout,
                        format!("the connection did not open within {timeout_ms} ms"),
                    )
                }
            }
        }
    };
    let data = match sender.try_send(data) {
        Ok(()) => return rtwire_result::Ok,
        Err(mut e) if e.kind() == ErrorKind::QueueFull && timeout_ms != 0 => {
            match e.take_unsent() {
                Some(d) => d,
                None => return err.error(&e),
            }
        }
        Err(e) => return err.error(&e),
    };
    let r = obj
        .ctx
        .rt
        .block_on(within(timeout_ms, async move { sender.send(data).await }));
    match r {
        Some(Ok(())) => rtwire_result::Ok,
        Some(Err(e)) => err.error(&e),
        None => err.fail(
            rtwire_result::QueueFull,
            format!("the outgoing queue stayed full for {timeout_ms} ms"),
        ),
    }
}

/// Runs `f` for at most `timeout_ms` (negative: no limit); `None` on
/// timeout.
async fn within<T>(timeout_ms: i32, f: impl Future<Output = T>) -> Option<T> {
    if timeout_ms < 0 {
        Some(f.await)
    } else {
        tokio::time::timeout(Duration::from_millis(timeout_ms as u64), f)
            .await
            .ok()
    }
}

/// Queues a text message (`len` bytes of UTF-8 at `text`, copied; need not
/// be NUL-terminated; `(NULL, 0)` sends an empty message).
///
/// `timeout_ms` says how long the call may block: 0 never blocks; a
/// positive value waits up to that long while the connection is still
/// opening or the outgoing queue is over its high-water mark; a negative
/// value waits without limit. Waiting happens on the calling thread; do not
/// wait on the thread that takes the events if the peer may be blocked on
/// them.
///
/// Returns `RTWIRE_RESULT_OK` (queued; it is written in order, also across
/// reconnects, or handed back in the CLOSED event's unsent list),
/// `RTWIRE_RESULT_QUEUE_FULL` (backpressure: not queued; retry later),
/// `RTWIRE_RESULT_WOULD_BLOCK` (not open yet and `timeout_ms` is 0),
/// `RTWIRE_RESULT_TIMEOUT` (did not open in time), `RTWIRE_RESULT_CLOSED`
/// (after `rtwire_conn_close()` or the end of the connection),
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (not UTF-8), `RTWIRE_RESULT_NULL_ARGUMENT`
/// (`text` NULL with `len` > 0) or `RTWIRE_RESULT_INVALID_HANDLE`. The error
/// text is kept on the connection. Thread-safe.
///
/// # Safety
/// `text` points to `len` readable bytes (or `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn rtwire_conn_send_text(
    conn: *mut rtwire_conn,
    text: *const c_char,
    len: usize,
    timeout_ms: i32,
) -> rtwire_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let bytes = match unsafe { arg_bytes(text.cast(), len) } {
            Ok(b) => b,
            Err(e) => return with_conn_error(conn, |err| err.arg(e, "text")),
        };
        let Ok(s) = std::str::from_utf8(bytes) else {
            return with_conn_error(conn, |err| {
                err.fail(
                    rtwire_result::InvalidArgument,
                    "text is not valid UTF-8; send it as binary",
                )
            });
        };
        send(conn, Data::from(s), timeout_ms)
    })
}

/// Queues a binary message (`len` bytes at `data`, copied; `(NULL, 0)`
/// sends an empty message). Waiting and results as
/// `rtwire_conn_send_text()` (without the UTF-8 check). Thread-safe.
///
/// # Safety
/// `data` points to `len` readable bytes (or `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn rtwire_conn_send_binary(
    conn: *mut rtwire_conn,
    data: *const u8,
    len: usize,
    timeout_ms: i32,
) -> rtwire_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let bytes = match unsafe { arg_bytes(data, len) } {
            Ok(b) => b,
            Err(e) => return with_conn_error(conn, |err| err.arg(e, "data")),
        };
        send(conn, Data::from(bytes), timeout_ms)
    })
}

fn with_conn_error(
    conn: *mut rtwire_conn,
    f: impl FnOnce(&LastError) -> rtwire_result,
) -> rtwire_result {
    match get(conn) {
        Some(obj) => f(&obj.last_error),
        None => rtwire_result::InvalidHandle,
    }
}

/// Starts closing the connection: messages queued before go out first, then
/// a close frame with `code` and `reason` (NULL means no reason); the peer's
/// reply is awaited up to the close timeout. Never blocks. Keep taking
/// events: messages still arriving are delivered and CLOSED comes last.
/// Closing a connection that is still opening cancels it (CLOSED with code
/// 1006). Sends after this return `RTWIRE_RESULT_CLOSED`.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (close was already
/// called, or the connection already ended), `RTWIRE_RESULT_INVALID_ARGUMENT`
/// (a code an application may not send — allowed: 1000–1003, 1007–1014,
/// 3000–4999 — or a reason over 123 bytes or not UTF-8) or
/// `RTWIRE_RESULT_INVALID_HANDLE`. Thread-safe.
///
/// # Safety
/// `reason` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_conn_close(
    conn: *mut rtwire_conn,
    code: u16,
    reason: *const c_char,
) -> rtwire_result {
    guard(|| {
        let Some(obj) = get(conn) else {
            return rtwire_result::InvalidHandle;
        };
        let err = &obj.last_error;
        let reason = if reason.is_null() {
            String::new()
        } else {
            // SAFETY: per this function's contract.
            match unsafe { arg_str(reason, "reason") } {
                Ok(r) => r.to_owned(),
                Err(e) => return err.arg(e, "reason"),
            }
        };
        if !rtwire::is_valid_close_code(code) {
            return err.fail(
                rtwire_result::InvalidArgument,
                format!(
                    "close code {code} may not be sent (allowed: 1000-1003, 1007-1014, 3000-4999)"
                ),
            );
        }
        if reason.len() > 123 {
            return err.fail(
                rtwire_result::InvalidArgument,
                format!(
                    "close reason is {} bytes; at most 123 fit in a close frame",
                    reason.len()
                ),
            );
        }
        if matches!(*obj.phase.borrow(), Phase::Ended) {
            return err.fail(rtwire_result::Closed, "the connection is already closed");
        }
        if obj.closing.swap(true, Ordering::AcqRel) {
            return err.fail(
                rtwire_result::Closed,
                "rtwire_conn_close() was already called",
            );
        }
        if obj.cmds.send(Cmd::Close(code, reason)).is_err() {
            return err.fail(rtwire_result::Closed, "the connection is already closed");
        }
        rtwire_result::Ok
    })
}

/// Writes to `*out` the number of bytes accepted by sends and not yet
/// handed to the socket (0 before the connection opens).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_NULL_ARGUMENT` or
/// `RTWIRE_RESULT_INVALID_HANDLE`; `*out` is written only on success.
/// Thread-safe.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_conn_buffered_amount(
    conn: *const rtwire_conn,
    out: *mut usize,
) -> rtwire_result {
    guard(|| {
        let Some(obj) = get(conn) else {
            return rtwire_result::InvalidHandle;
        };
        if out.is_null() {
            return rtwire_result::NullArgument;
        }
        let n = match &*obj.phase.borrow() {
            Phase::Open(s) => s.buffered_amount(),
            _ => 0,
        };
        // SAFETY: non-NULL and writable per the contract.
        unsafe { *out = n };
        rtwire_result::Ok
    })
}

/// The `userdata` given to `rtwire_context_connect()` (for a connection a
/// server accepted: the `user` given to `rtwire_request_accept()`), or NULL
/// for an invalid handle. Thread-safe.
#[no_mangle]
pub extern "C" fn rtwire_conn_userdata(conn: *const rtwire_conn) -> *mut c_void {
    guard_or(std::ptr::null_mut(), || {
        get(conn).map_or(std::ptr::null_mut(), |o| o.shared.userdata as *mut c_void)
    })
}

/// The server's id for a connection it accepted on one of its routes (the
/// id rooms and broadcasts take, `rtwire_request_id()`); 0 for a client
/// connection and for an invalid handle. Thread-safe.
#[no_mangle]
pub extern "C" fn rtwire_conn_id(conn: *const rtwire_conn) -> u64 {
    guard_or(0, || get(conn).map_or(0, |o| o.id))
}

/// The request a connection accepted by a server came with (path, query,
/// headers, peer, subprotocol, the user pointer of the accept decision):
/// owned by the connection, valid until `rtwire_conn_free()`; do not free
/// it. NULL for a client connection and for an invalid handle.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn rtwire_conn_request(
    conn: *const rtwire_conn,
) -> *const crate::app::rtwire_request {
    guard_or(std::ptr::null(), || {
        get(conn)
            .and_then(|o| {
                o.request
                    .as_ref()
                    .map(|r| to_ptr::<crate::app::rtwire_request>(r.handle()).cast_const())
            })
            .unwrap_or(std::ptr::null())
    })
}

/// Copies the text of the last error recorded on this connection into
/// `buf`, snprintf-style (see `rtwire_context_last_error()`). Returns the
/// full length without the NUL; 0 when there is none or the handle is
/// invalid. Thread-safe.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtwire_conn_last_error(
    conn: *const rtwire_conn,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    guard_or(0, || match get(conn) {
        // SAFETY: per this function's contract.
        Some(o) => unsafe { o.last_error.copy_to(buf, cap) },
        None => 0,
    })
}

/// Frees a connection handle (a client's, or one a server accepted: its
/// request goes with it). If the connection is still open it is closed
/// in the background with code 1001 (going away); for a chosen code call
/// `rtwire_conn_close()` and wait for CLOSED first. Its undelivered events
/// are discarded and no further event of it is delivered; events already
/// taken stay valid until `rtwire_event_free()` (their
/// `rtwire_event_conn()` is then a stale handle).
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE` (NULL,
/// double free, freed with its context, not a connection). Never blocks.
/// Thread-safe; safe inside a dispatch callback, also for the connection of
/// the event being dispatched.
#[no_mangle]
pub extern "C" fn rtwire_conn_free(conn: *mut rtwire_conn) -> rtwire_result {
    guard(|| {
        let h = from_ptr(conn);
        let Some(obj) = CONNS.remove(h) else {
            return rtwire_result::InvalidHandle;
        };
        obj.ctx.disown(h);
        obj.detach();
        rtwire_result::Ok
    })
}
