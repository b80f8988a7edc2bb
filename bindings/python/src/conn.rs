//! The native connection: the core `Connection` shared between the asyncio
//! path (polled on the loop's thread, woken through `notify`) and the
//! blocking path (GIL released, waits in slices with `check_signals` in
//! between).

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::PyList;

use rtwire::hosted::Host;
use rtwire::{CloseInfo, Error, ErrorKind, Event, OpenInfo, Sender};

use crate::args::{int_in, message, opt_seconds, string};
use crate::bridge::{abort_on_cancel, deliver, on_host, Abort, Outcome};
use crate::errors::{concurrency_error, error_value, to_pyerr};
use crate::events::{closed_to_py, event_to_py, ClosedEvent};
use crate::options::PyOptions;

/// The runtime connections run on: one worker thread by default
/// (`RTWIRE_THREADS` sets more). One worker hands each wake-up to the same
/// thread, which keeps latency low for the typical few connections per
/// process; the core's shared two-worker runtime
/// (`rtwire::blocking::runtime`) is used with `RTWIRE_THREADS=shared`, or
/// when this one cannot start.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<Option<tokio::runtime::Runtime>> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        if std::env::var("RTWIRE_THREADS").is_ok_and(|v| v == "shared") {
            return None;
        }
        rtwire::runtime::build("rtwire-py", rtwire::runtime::threads(1)).ok()
    })
    .as_ref()
    .unwrap_or_else(|| rtwire::blocking::runtime())
}

/// How long a blocking call waits before it looks for signals (Ctrl-C).
const SLICE: Duration = Duration::from_millis(50);

/// What the connection's readers share.
struct Inner {
    conn: rtwire::Connection,
    /// The last `Error` event: the cause when the connection ends.
    last_error: Option<Error>,
    /// The `Closed` event, once taken.
    close: Option<CloseInfo>,
    /// Events read by a blocking `close` while nobody was receiving, handed
    /// out before anything newer.
    pending: VecDeque<Event>,
}

/// State shared by the Python object and the runtime tasks working for it
/// (a waiting send, the connect).
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    closed_cv: Condvar,
    /// A reader (a runtime task or a blocking call) is waiting for an event.
    receiving: AtomicBool,
    sender: Sender,
    open: OpenInfo,
    /// The waker of the asyncio reader (see `notify`).
    waker: Mutex<Option<std::task::Waker>>,
    /// The loop whose thread runs this connection, if one does.
    host: std::sync::OnceLock<Host>,
    /// Driven by the runtime for good (a server's connection): never hosted
    /// by a loop, whatever its notifier hosts.
    runtime_only: bool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("url", &self.open.url)
            .finish()
    }
}

impl Shared {
    pub(crate) fn new(conn: rtwire::Connection) -> Arc<Self> {
        Self::with_driver(conn, false)
    }

    /// A connection whose driver runs on the runtime (a server route's):
    /// the loop only reads it, through the notifier's wake-ups.
    pub(crate) fn served(conn: rtwire::Connection) -> Arc<Self> {
        Self::with_driver(conn, true)
    }

    fn with_driver(conn: rtwire::Connection, runtime_only: bool) -> Arc<Self> {
        let sender = conn.sender();
        let open = conn.open_info().clone();
        Arc::new(Shared {
            inner: Mutex::new(Inner {
                conn,
                last_error: None,
                close: None,
                pending: VecDeque::new(),
            }),
            closed_cv: Condvar::new(),
            receiving: AtomicBool::new(false),
            sender,
            open,
            waker: Mutex::new(None),
            host: std::sync::OnceLock::new(),
            runtime_only,
        })
    }

    /// Runs `f`; on a hosted connection, then runs what it woke on this
    /// (the loop's) thread: a message sent is written before this returns.
    fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        match self.host.get() {
            Some(h) => h.enter(f),
            None => f(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn note(&self, g: &mut Inner, ev: Option<&Event>) {
        match ev {
            Some(Event::Error(e)) => g.last_error = Some(e.clone()),
            Some(Event::Closed(c)) => {
                g.close = Some(c.clone());
                self.closed_cv.notify_all();
            }
            _ => {}
        }
    }

    /// Polls for the next event.
    fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut g = self.lock();
        if let Some(ev) = g.pending.pop_front() {
            return Poll::Ready(Some(ev));
        }
        let ev = match g.conn.poll_recv(cx) {
            Poll::Ready(ev) => ev,
            Poll::Pending => return Poll::Pending,
        };
        self.note(&mut g, ev.as_ref());
        Poll::Ready(ev)
    }

    /// The next event if one is ready.
    fn try_take(&self) -> Option<Event> {
        let mut g = self.lock();
        if let Some(ev) = g.pending.pop_front() {
            return Some(ev);
        }
        // Not `Connection::try_recv`: on an empty queue it marks the
        // connection finished. Polling with a no-op waker does not.
        let ev = match g
            .conn
            .poll_recv(&mut Context::from_waker(std::task::Waker::noop()))
        {
            Poll::Ready(ev) => ev,
            Poll::Pending => return None,
        };
        self.note(&mut g, ev.as_ref());
        ev
    }

    /// Reads events into `pending` until the `Closed` event (or the end).
    fn poll_stash_until_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = self.lock();
        loop {
            match g.conn.poll_recv(cx) {
                Poll::Ready(Some(ev)) => {
                    let closed = matches!(ev, Event::Closed(_));
                    self.note(&mut g, Some(&ev));
                    g.pending.push_back(ev);
                    if closed {
                        return Poll::Ready(());
                    }
                }
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn finished(&self) -> bool {
        self.lock().conn.is_finished()
    }
}

/// Marks the connection as being read; cleared on drop.
struct ReadGuard<'a>(&'a AtomicBool);

impl<'a> ReadGuard<'a> {
    fn acquire(py: Python<'_>, flag: &'a AtomicBool) -> PyResult<Self> {
        if flag.swap(true, Ordering::AcqRel) {
            return Err(concurrency_error(
                py,
                "another task or thread is already receiving on this connection",
            ));
        }
        Ok(ReadGuard(flag))
    }
}

impl Drop for ReadGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Runs `fut` on the runtime from a Python thread, with the GIL released,
/// in slices; between slices it checks for signals (Ctrl-C raises
/// `KeyboardInterrupt` and drops `fut`). Gives up with `Ok(None)` at
/// `deadline`.
pub(crate) fn block_in_slices<F>(
    py: Python<'_>,
    fut: F,
    deadline: Option<Instant>,
) -> PyResult<Option<F::Output>>
where
    F: Future + Send,
    F::Output: Send,
{
    let mut fut = std::pin::pin!(fut);
    loop {
        let slice = match deadline {
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return Ok(None);
                }
                (d - now).min(SLICE)
            }
            None => SLICE,
        };
        let f: Pin<&mut F> = fut.as_mut();
        let r = py.detach(|| runtime().block_on(async { tokio::time::timeout(slice, f).await }));
        if let Ok(v) = r {
            return Ok(Some(v));
        }
        py.check_signals()?;
    }
}

fn deadline_from(py: Python<'_>, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Instant>> {
    let _ = py;
    Ok(opt_seconds("timeout", timeout)?.map(|d| Instant::now() + d))
}

/// A live connection (wrapped by `rtwire.Connection` and
/// `rtwire.sync.Connection`).
#[pyclass(module = "rtwire._rtwire", name = "Connection", frozen)]
#[derive(Debug)]
pub struct PyConnection {
    shared: Arc<Shared>,
}

impl PyConnection {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        PyConnection { shared }
    }

    fn event(&self, py: Python<'_>, ev: Option<Event>) -> PyResult<Py<PyAny>> {
        match ev {
            Some(ev) => event_to_py(py, ev),
            None => Ok(py.None()),
        }
    }

    fn send_error(&self, py: Python<'_>, e: Error) -> PyErr {
        if e.kind() == ErrorKind::Closed {
            let close = self.shared.lock().close.clone();
            if let Some(c) = close {
                return match error_value(py, e, Some(&c)) {
                    Ok(v) => PyErr::from_value(v),
                    Err(e) => e,
                };
            }
        }
        to_pyerr(py, e)
    }
}

#[pymethods]
impl PyConnection {
    /// The next event if one is ready, else `None`.
    fn try_recv(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let guard = ReadGuard::acquire(py, &self.shared.receiving)?;
        let ev = self.shared.try_take();
        drop(guard);
        self.event(py, ev)
    }

    /// Wakes this connection's reader through `notifier` under `id`.
    fn set_notifier(&self, notifier: &crate::notify::LoopNotifier, id: u64) {
        *self.shared.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(notifier.waker(id));
        if let Some(h) = notifier.host.as_ref().filter(|_| !self.shared.runtime_only) {
            let _ = self.shared.host.set(h.clone());
        }
    }

    /// The next event if one is ready; else `None`, and the notifier set
    /// with `set_notifier` reports this connection once there is one.
    fn poll_event(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let waker = self
            .shared
            .waker
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| std::task::Waker::noop().clone());
        let poll = self
            .shared
            .enter(|| self.shared.poll_take(&mut Context::from_waker(&waker)));
        let ev = match poll {
            Poll::Ready(Some(ev)) => Some(ev),
            Poll::Ready(None) | Poll::Pending => None,
        };
        self.event(py, ev)
    }

    /// The next event, blocking with the GIL released; `None` once the
    /// stream is over. Raises `rtwire.TimeoutError` after `timeout` seconds.
    #[pyo3(signature = (timeout = None))]
    fn recv_blocking(
        &self,
        py: Python<'_>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let deadline = deadline_from(py, timeout)?;
        let guard = ReadGuard::acquire(py, &self.shared.receiving)?;
        let shared = &self.shared;
        if let Some(ev) = shared.try_take() {
            drop(guard);
            return self.event(py, Some(ev));
        }
        let r = block_in_slices(py, poll_fn(|cx| shared.poll_take(cx)), deadline);
        drop(guard);
        match r? {
            Some(ev) => self.event(py, ev),
            None => Err(to_pyerr(
                py,
                Error::new(
                    ErrorKind::Timeout,
                    "no message within the timeout given to recv()",
                ),
            )),
        }
    }

    /// Queues a message. Returns `None` when it was queued at once, else a
    /// future on `loop` that resolves once it is queued (the outgoing queue
    /// was over its high-water mark).
    fn send<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        r#loop: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let data = message(data)?;
        match self.shared.enter(|| self.shared.sender.try_send(data)) {
            Ok(()) => Ok(None),
            Err(mut e) if e.kind() == ErrorKind::QueueFull => {
                let data = e.take_unsent().ok_or_else(|| to_pyerr(py, e))?;
                let fut = r#loop.call_method0("create_future")?;
                let sender = self.shared.sender.clone();
                let event_loop = r#loop.clone().unbind();
                let target = fut.clone().unbind();
                let work = async move {
                    let outcome = match sender.send(data).await {
                        Ok(()) => Outcome::Done,
                        Err(e) => Outcome::Failed(e),
                    };
                    deliver(event_loop, target, outcome);
                };
                let abort = match self.shared.host.get() {
                    Some(h) => on_host(h, work),
                    None => Abort::Task(runtime().spawn(work).abort_handle()),
                };
                abort_on_cancel(&fut, abort)?;
                Ok(Some(fut))
            }
            Err(e) => Err(self.send_error(py, e)),
        }
    }

    /// Queues a message, blocking (GIL released) while the outgoing queue is
    /// over its high-water mark.
    fn send_blocking(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = message(data)?;
        match self.shared.sender.try_send(data) {
            Ok(()) => Ok(()),
            Err(mut e) if e.kind() == ErrorKind::QueueFull => {
                let data = e.take_unsent().ok_or_else(|| to_pyerr(py, e))?;
                let sender = &self.shared.sender;
                match block_in_slices(py, sender.send(data), None)? {
                    Some(Ok(())) | None => Ok(()),
                    Some(Err(e)) => Err(self.send_error(py, e)),
                }
            }
            Err(e) => Err(self.send_error(py, e)),
        }
    }

    /// Queues a message without waiting; `rtwire.QueueFullError` when the
    /// outgoing queue is over its high-water mark.
    fn try_send(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let data = message(data)?;
        self.shared
            .enter(|| self.shared.sender.try_send(data))
            .map_err(|e| self.send_error(py, e))
    }

    /// Starts the close handshake.
    #[pyo3(signature = (code = None, reason = None))]
    fn close(
        &self,
        py: Python<'_>,
        code: Option<&Bound<'_, PyAny>>,
        reason: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let code = match code {
            Some(c) => int_in("code", c, 0, u16::MAX as i64)? as u16,
            None => 1000,
        };
        let reason = match reason {
            Some(r) => string("reason", r)?,
            None => String::new(),
        };
        let r = self
            .shared
            .enter(|| self.shared.lock().conn.close(code, &reason));
        r.map_err(|e| to_pyerr(py, e))
    }

    /// Blocks (GIL released) until the `Closed` event has been read. Unless
    /// another thread is receiving, the events read meanwhile (the `Closed`
    /// one included) are kept for later `recv_blocking` calls.
    /// Returns `False` at `timeout`.
    #[pyo3(signature = (timeout = None))]
    fn wait_closed_blocking(
        &self,
        py: Python<'_>,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let deadline = deadline_from(py, timeout)?;
        let shared = &self.shared;
        loop {
            if shared.lock().close.is_some() || shared.finished() {
                return Ok(true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            let slice_end = Instant::now() + SLICE;
            let end = deadline.map_or(slice_end, |d| d.min(slice_end));
            if !shared.receiving.swap(true, Ordering::AcqRel) {
                let guard = ReadGuard(&shared.receiving);
                let drain = poll_fn(|cx| shared.poll_stash_until_closed(cx));
                let r = py.detach(|| {
                    runtime().block_on(async {
                        tokio::time::timeout(end.saturating_duration_since(Instant::now()), drain)
                            .await
                    })
                });
                drop(guard);
                if r.is_ok() {
                    return Ok(true);
                }
            } else {
                py.detach(|| {
                    let g = shared.lock();
                    let _ = shared
                        .closed_cv
                        .wait_timeout(g, end.saturating_duration_since(Instant::now()));
                });
            }
            py.check_signals()?;
        }
    }

    /// The exception that `recv` raises once the connection is over: the
    /// error that ended it, else `rtwire.ConnectionClosed`.
    fn closed_error<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (err, close) = {
            let g = self.shared.lock();
            (g.last_error.clone(), g.close.clone())
        };
        let err = err.unwrap_or_else(|| {
            let msg = match &close {
                Some(c) if c.reason.is_empty() => format!("connection closed with code {}", c.code),
                Some(c) => format!("connection closed with code {} ({})", c.code, c.reason),
                None => "the connection is closing".to_string(),
            };
            Error::new(ErrorKind::Closed, msg)
        });
        let close = close.filter(|_| err.kind() == ErrorKind::Closed);
        error_value(py, err, close.as_ref())
    }

    /// The transport in use (`"websocket"`, ...).
    #[getter]
    fn transport(&self) -> &'static str {
        self.shared.open.transport.as_str()
    }

    /// The URL connected to, without credentials.
    #[getter]
    fn url(&self) -> &str {
        &self.shared.open.url
    }

    /// The subprotocol the server chose, if any.
    #[getter]
    fn subprotocol(&self) -> Option<&str> {
        self.shared.open.protocol.as_deref()
    }

    /// The handshake response headers of the first session.
    #[getter]
    fn response_headers(&self) -> Vec<(String, String)> {
        self.shared.open.headers.clone()
    }

    /// The `ClosedEvent`, once it has been received.
    #[getter]
    fn closed_event(&self, py: Python<'_>) -> PyResult<Option<Py<ClosedEvent>>> {
        let close = self.shared.lock().close.clone();
        close.map(|c| closed_to_py(py, &c)).transpose()
    }

    /// Whether the `Closed` event has been received.
    #[getter]
    fn finished(&self) -> bool {
        self.shared.finished()
    }

    /// Bytes accepted by `send` and not yet written.
    #[getter]
    fn buffered_amount(&self) -> usize {
        self.shared.sender.buffered_amount()
    }

    /// Messages handed back when the connection ended (a copy).
    #[getter]
    fn unsent<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let close = self.shared.lock().close.clone();
        let items = close
            .map(|c| c.unsent)
            .unwrap_or_default()
            .iter()
            .map(|d| crate::events::data_to_py(py, d))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }
}

async fn connect_future(url: String, options: rtwire::Options) -> Result<Arc<Shared>, Error> {
    rtwire::connect(&url, options).await.map(Shared::new)
}

/// Connects on the runtime, or on `notifier`'s loop when it hosts
/// connections; returns a future on `loop` that resolves to a native
/// `Connection` or fails with the mapped error. Cancelling the future
/// cancels the attempt.
#[pyfunction]
#[pyo3(signature = (r#loop, url, options, notifier = None))]
pub(crate) fn connect_async<'py>(
    r#loop: &Bound<'py, PyAny>,
    url: &Bound<'py, PyAny>,
    options: &PyOptions,
    notifier: Option<&crate::notify::LoopNotifier>,
) -> PyResult<Bound<'py, PyAny>> {
    let url = string("url", url)?;
    let fut = r#loop.call_method0("create_future")?;
    let event_loop = r#loop.clone().unbind();
    let target = fut.clone().unbind();
    let host = notifier.and_then(|n| n.host.clone());
    let opts = options.inner.clone();
    let hosted = host
        .as_ref()
        .map(|h| rtwire::hosted::connect(h, &url, opts.clone()));
    let work = async move {
        let connected = match hosted {
            Some(connecting) => connecting.await.map(Shared::new),
            None => connect_future(url, opts).await,
        };
        let outcome = match connected {
            Ok(shared) => Outcome::Connected(shared),
            Err(e) => Outcome::Failed(e),
        };
        deliver(event_loop, target, outcome);
    };
    let abort = match &host {
        Some(h) => h.enter(|| on_host(h, work)),
        None => Abort::Task(runtime().spawn(work).abort_handle()),
    };
    abort_on_cancel(&fut, abort)?;
    Ok(fut)
}

/// Connects, blocking with the GIL released; Ctrl-C interrupts it.
#[pyfunction]
pub(crate) fn connect_blocking(
    py: Python<'_>,
    url: &Bound<'_, PyAny>,
    options: &PyOptions,
) -> PyResult<PyConnection> {
    let url = string("url", url)?;
    let opts = options.inner.clone();
    match block_in_slices(py, connect_future(url, opts), None)? {
        Some(Ok(shared)) => Ok(PyConnection::new(shared)),
        Some(Err(e)) => Err(to_pyerr(py, e)),
        None => unreachable!("no deadline"),
    }
}
