//! `rtwire_context`: a tokio runtime, the event queue of its connections and
//! the notify fd that is readable while events are queued.

use std::collections::VecDeque;
use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, Runtime};
use tokio::sync::OwnedSemaphorePermit;

use crate::conn::{ConnShared, CONNS};
use crate::event::{rtwire_event, EventObj, EVENTS};
use crate::handle::{from_ptr, to_ptr, Table};
use crate::server::SERVERS;
use crate::{guard, guard_or, rtwire_result, LastError};

/// A context (opaque): one background thread on which its connections and
/// servers run, their shared event queue, and a notify fd.
///
/// Create with `rtwire_context_new()`, free with `rtwire_context_free()`.
/// Events are taken on the caller's threads (`rtwire_context_next_event()`,
/// `rtwire_context_wait()`, `rtwire_context_dispatch()`); no user code ever
/// runs on rtwire's threads.
///
/// Thread safety: every function may be called from any thread.
#[derive(Debug)]
pub struct rtwire_context {
    _private: [u8; 0],
}

/// Called by `rtwire_context_dispatch()` once per event, on the calling
/// thread. `event` is borrowed: it is valid until the callback returns and
/// is freed by dispatch afterwards (do not free it; if you do, nothing bad
/// happens). Return 0 to continue, non-zero to stop dispatching.
///
/// The callback may call any rtwire function, including sending on,
/// closing or freeing the event's connection, and freeing the context
/// (dispatch then stops). It must not unwind (C++ exceptions, longjmp)
/// through rtwire.
pub type rtwire_event_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const rtwire_event) -> c_int>;

/// An event waiting in the queue, with the permit that bounds its
/// connection's share of the queue.
#[derive(Debug)]
pub(crate) struct Queued {
    pub conn: Arc<ConnShared>,
    pub event: EventObj,
    pub permit: Option<OwnedSemaphorePermit>,
}

/// What the connection tasks and the caller's threads share.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<QState>,
    cv: Condvar,
}

#[derive(Debug)]
struct QState {
    queue: VecDeque<Queued>,
    /// `rtwire_context_wakeup()` was called and not yet reported by `wait`.
    woken: bool,
    /// The context was freed: the descriptor is closed, nothing is queued.
    closed: bool,
    /// Readable while events are pending; `None` once freed.
    wake_fd: Option<rtwire::WakeFd>,
}

impl QState {
    fn signal(&mut self) {
        if let Some(w) = &self.wake_fd {
            w.signal();
        }
    }

    fn drain(&mut self) {
        if let Some(w) = &self.wake_fd {
            w.clear();
        }
    }
}

impl Shared {
    fn new() -> std::io::Result<Shared> {
        Ok(Shared {
            state: Mutex::new(QState {
                queue: VecDeque::new(),
                woken: false,
                closed: false,
                wake_fd: Some(rtwire::WakeFd::new()?),
            }),
            cv: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, QState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues an event; `false` when the context or the connection is gone.
    pub(crate) fn push(&self, item: Queued) -> bool {
        let mut st = self.lock();
        if st.closed || item.conn.freed.load(Ordering::Acquire) {
            return false;
        }
        st.queue.push_back(item);
        st.signal();
        drop(st);
        self.cv.notify_all();
        true
    }

    /// Drops the queued events of a connection being freed; afterwards its
    /// task can queue nothing more.
    pub(crate) fn purge(&self, conn: &ConnShared) {
        let mut st = self.lock();
        conn.freed.store(true, Ordering::Release);
        let handle = conn.handle();
        st.queue.retain(|q| q.conn.handle() != handle);
        if st.queue.is_empty() && !st.woken {
            st.drain();
        }
    }

    fn pop(&self) -> Result<Option<Queued>, rtwire_result> {
        let mut st = self.lock();
        if st.closed {
            return Err(rtwire_result::InvalidHandle);
        }
        let item = st.queue.pop_front();
        if st.queue.is_empty() {
            st.drain();
            if item.is_none() {
                st.woken = false;
            }
        }
        Ok(item)
    }

    fn len(&self) -> usize {
        self.lock().queue.len()
    }

    fn fd(&self) -> c_int {
        let st = self.lock();
        st.wake_fd.as_ref().map_or(-1, |w| w.fd())
    }

    fn wake(&self) {
        let mut st = self.lock();
        st.woken = true;
        st.signal();
        drop(st);
        self.cv.notify_all();
    }

    fn wait(&self, timeout_ms: i32) -> rtwire_result {
        let deadline =
            (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64));
        let mut st = self.lock();
        loop {
            if st.closed {
                return rtwire_result::InvalidHandle;
            }
            if !st.queue.is_empty() {
                return rtwire_result::Ok;
            }
            if st.woken {
                st.woken = false;
                st.drain();
                return rtwire_result::WouldBlock;
            }
            st = match deadline {
                None => self.cv.wait(st).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return rtwire_result::Timeout;
                    }
                    self.cv
                        .wait_timeout(st, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }

    /// Marks the context freed: drops queued events, closes the pipe and
    /// wakes every waiter.
    fn close(&self) {
        let mut st = self.lock();
        if st.closed {
            return;
        }
        st.closed = true;
        let queued = std::mem::take(&mut st.queue);
        st.wake_fd = None;
        drop(st);
        self.cv.notify_all();
        drop(queued);
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.close();
    }
}

/// The object behind an `rtwire_context` handle.
#[derive(Debug)]
pub(crate) struct CtxObj {
    runtime: Mutex<Option<Runtime>>,
    pub(crate) rt: Handle,
    pub(crate) shared: Arc<Shared>,
    /// Handles of this context's live connections and servers.
    conns: Mutex<Vec<usize>>,
    dead: AtomicBool,
    pub(crate) last_error: LastError,
}

impl CtxObj {
    /// Records a new connection or server handle; `false` when the context
    /// is being freed.
    pub(crate) fn adopt(&self, conn: usize) -> bool {
        let mut c = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        if self.dead.load(Ordering::Acquire) {
            return false;
        }
        c.push(conn);
        true
    }

    /// Forgets a freed connection or server handle.
    pub(crate) fn disown(&self, conn: usize) {
        let mut c = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        c.retain(|h| *h != conn);
    }
}

impl Drop for CtxObj {
    fn drop(&mut self) {
        self.shared.close();
        let rt = self
            .runtime
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(rt) = rt {
            // Cancels the connection tasks (their sockets close) and joins
            // the worker thread; a name lookup still running in the blocking
            // pool is given up on after the timeout.
            rt.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

pub(crate) static CONTEXTS: Table<CtxObj> = Table::new(2);

pub(crate) fn get(ctx: *const rtwire_context) -> Option<Arc<CtxObj>> {
    CONTEXTS.get(from_ptr(ctx))
}

/// Creates a context: starts its background thread (named `rtwire-ctx`;
/// name lookups use up to 4 more, started on demand), opens its notify fd,
/// and writes the context to `*out`.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_NULL_ARGUMENT` (`out` is
/// NULL) or `RTWIRE_RESULT_IO` (no thread or pipe could be created).
/// `*out` is written only on success. The caller owns the context and frees
/// it with `rtwire_context_free()`. Thread-safe.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_context_new(out: *mut *mut rtwire_context) -> rtwire_result {
    guard(|| {
        if out.is_null() {
            return rtwire_result::NullArgument;
        }
        let Ok(runtime) = rtwire::runtime::build("rtwire-ctx", rtwire::runtime::threads(1)) else {
            return rtwire_result::Io;
        };
        let Ok(shared) = Shared::new() else {
            return rtwire_result::Io;
        };
        let obj = Arc::new(CtxObj {
            rt: runtime.handle().clone(),
            runtime: Mutex::new(Some(runtime)),
            shared: Arc::new(shared),
            conns: Mutex::new(Vec::new()),
            dead: AtomicBool::new(false),
            last_error: LastError::default(),
        });
        match CONTEXTS.insert(obj) {
            Some(h) => {
                // SAFETY: `out` is non-NULL and writable per the contract.
                unsafe { *out = to_ptr(h) };
                rtwire_result::Ok
            }
            None => rtwire_result::Internal,
        }
    })
}

/// Frees a context and everything in it: every connection of the context
/// is dropped at once (its socket closes without a close handshake; for a
/// clean close call `rtwire_conn_close()` and wait for the CLOSED event
/// first), every server started on it stops at once (its clients see the
/// connection drop; for a graceful stop call `rtwire_server_stop()` first),
/// undelivered events are discarded, the notify fd is closed (take
/// it out of your poll set first) and the background thread is joined (waiting
/// at most 2 s for a name lookup in progress).
///
/// Handles of its connections and servers become invalid. Events already
/// taken from the queue stay valid until `rtwire_event_free()`. Calls on
/// the context that are waiting in other threads return
/// `RTWIRE_RESULT_INVALID_HANDLE`.
/// Inside a dispatch callback the teardown is finished when dispatch
/// returns.
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE` (NULL,
/// double free, not a context). Blocks only for the teardown. Thread-safe.
#[no_mangle]
pub extern "C" fn rtwire_context_free(ctx: *mut rtwire_context) -> rtwire_result {
    guard(|| {
        let Some(obj) = CONTEXTS.remove(from_ptr(ctx)) else {
            return rtwire_result::InvalidHandle;
        };
        let conns = {
            let mut c = obj.conns.lock().unwrap_or_else(|e| e.into_inner());
            obj.dead.store(true, Ordering::Release);
            std::mem::take(&mut *c)
        };
        obj.shared.close();
        for h in conns {
            if let Some(conn) = CONNS.remove(h) {
                conn.detach();
            } else if let Some(server) = SERVERS.remove(h) {
                server.detach();
            }
        }
        drop(obj);
        rtwire_result::Ok
    })
}

/// The notify fd: readable while at least one event is queued (and after
/// `rtwire_context_wakeup()` until the next `rtwire_context_next_event()`
/// or `rtwire_context_wait()`). Use it with poll/epoll/select or an event
/// loop (libuv, GLib, asyncio) and call `rtwire_context_next_event()` until
/// it returns `RTWIRE_RESULT_WOULD_BLOCK` when it is readable; never read
/// from or close the fd yourself.
///
/// The fd belongs to the context and is closed by `rtwire_context_free()`.
/// Returns -1 for an invalid handle. Thread-safe.
#[no_mangle]
pub extern "C" fn rtwire_context_fd(ctx: *const rtwire_context) -> c_int {
    guard_or(-1, || get(ctx).map_or(-1, |c| c.shared.fd()))
}

/// Takes the next event of any connection or server of the context, without
/// blocking, and writes it to `*out`.
///
/// Returns `RTWIRE_RESULT_OK` (the caller owns `*out` and frees it with
/// `rtwire_event_free()`), `RTWIRE_RESULT_WOULD_BLOCK` (nothing queued;
/// `*out` untouched), `RTWIRE_RESULT_NULL_ARGUMENT` or
/// `RTWIRE_RESULT_INVALID_HANDLE`. Events of one connection come in order:
/// OPEN, then MESSAGE / RECONNECTING / OPEN / ERROR, and CLOSED exactly
/// once, last. Thread-safe (each event goes to exactly one caller).
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_context_next_event(
    ctx: *mut rtwire_context,
    out: *mut *mut rtwire_event,
) -> rtwire_result {
    guard(|| {
        let Some(c) = get(ctx) else {
            return rtwire_result::InvalidHandle;
        };
        if out.is_null() {
            return rtwire_result::NullArgument;
        }
        match take(&c) {
            Ok(h) => {
                // SAFETY: `out` is non-NULL and writable per the contract.
                unsafe { *out = to_ptr(h) };
                rtwire_result::Ok
            }
            Err(r) => r,
        }
    })
}

/// Pops one event and gives it a handle.
fn take(c: &Arc<CtxObj>) -> Result<usize, rtwire_result> {
    let Some(item) = c.shared.pop()? else {
        return Err(rtwire_result::WouldBlock);
    };
    let Queued {
        mut event, permit, ..
    } = item;
    drop(permit);
    // A connection a server accepted gets its handle here, on the
    // application's thread, so that its events follow this one.
    crate::app::materialize(c, &mut event);
    EVENTS
        .insert(Arc::new(event))
        .ok_or(rtwire_result::Internal)
}

/// Blocks the calling thread until an event is queued, `timeout_ms`
/// milliseconds pass (a negative value waits without limit; 0 only
/// checks), or another thread calls `rtwire_context_wakeup()`.
///
/// Returns `RTWIRE_RESULT_OK` (an event is queued: take it with
/// `rtwire_context_next_event()`), `RTWIRE_RESULT_TIMEOUT`,
/// `RTWIRE_RESULT_WOULD_BLOCK` (woken with nothing queued) or
/// `RTWIRE_RESULT_INVALID_HANDLE` (also when the context is freed while
/// waiting). Thread-safe.
#[no_mangle]
pub extern "C" fn rtwire_context_wait(ctx: *mut rtwire_context, timeout_ms: i32) -> rtwire_result {
    guard(|| match get(ctx) {
        Some(c) => {
            let shared = c.shared.clone();
            drop(c);
            shared.wait(timeout_ms)
        }
        None => rtwire_result::InvalidHandle,
    })
}

/// Makes a `rtwire_context_wait()` in progress (or the next one) return
/// `RTWIRE_RESULT_WOULD_BLOCK`, and the notify fd readable, e.g. to make a
/// waiting thread look at work queued by another thread.
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`. Never
/// blocks; callable from any thread (including signal-free contexts such as
/// other event loops).
#[no_mangle]
pub extern "C" fn rtwire_context_wakeup(ctx: *mut rtwire_context) -> rtwire_result {
    guard(|| match get(ctx) {
        Some(c) => {
            c.shared.wake();
            rtwire_result::Ok
        }
        None => rtwire_result::InvalidHandle,
    })
}

/// Delivers queued events to `callback` on the calling thread, at most as
/// many as were queued when the call started (so it always returns), and
/// frees each event after its callback returns. Stops early when the
/// callback returns non-zero or frees the context. Never blocks waiting for
/// events. No rtwire lock is held while the callback runs.
///
/// `userdata` is passed to the callback unchanged. If `count` is not NULL,
/// the number of events delivered is written to it (also on early stop).
///
/// Returns `RTWIRE_RESULT_OK` (also when nothing was queued),
/// `RTWIRE_RESULT_NULL_ARGUMENT` (`callback` is NULL) or
/// `RTWIRE_RESULT_INVALID_HANDLE`. Thread-safe; each event goes to exactly
/// one thread.
///
/// # Safety
/// `count` is NULL or writable; `callback` follows `rtwire_event_callback`.
#[no_mangle]
pub unsafe extern "C" fn rtwire_context_dispatch(
    ctx: *mut rtwire_context,
    callback: rtwire_event_callback,
    userdata: *mut c_void,
    count: *mut usize,
) -> rtwire_result {
    guard(|| {
        let Some(c) = get(ctx) else {
            return rtwire_result::InvalidHandle;
        };
        let Some(cb) = callback else {
            return rtwire_result::NullArgument;
        };
        let budget = c.shared.len();
        let mut n = 0usize;
        while n < budget {
            let Ok(h) = take(&c) else { break };
            n += 1;
            // SAFETY: the callback's contract is the caller's; the event
            // handle stays valid until we free it below.
            let stop = unsafe { cb(userdata, to_ptr::<rtwire_event>(h)) };
            EVENTS.remove(h);
            if stop != 0 {
                break;
            }
        }
        drop(c);
        if !count.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { *count = n };
        }
        rtwire_result::Ok
    })
}

/// Copies the text of the last error recorded on this context (e.g. why
/// `rtwire_context_connect()` failed) into `buf`, snprintf-style: at most
/// `cap` bytes including the NUL, nothing written when `buf` is NULL or
/// `cap` is 0. Returns the full length of the text without the NUL; 0 when
/// there is none or the handle is invalid. Thread-safe.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtwire_context_last_error(
    ctx: *const rtwire_context,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    guard_or(0, || match get(ctx) {
        // SAFETY: per this function's contract.
        Some(c) => unsafe { c.last_error.copy_to(buf, cap) },
        None => 0,
    })
}
