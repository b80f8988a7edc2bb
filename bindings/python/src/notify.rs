//! One asyncio loop's side of the binding: waking it from the runtime
//! without the GIL, and running connections on its thread.
//!
//! A [`LoopNotifier`] owns a wake-up descriptor ([`rtwire::WakeFd`]); the
//! loop watches it (`loop.add_reader`). A connection's reader registers a
//! [`Waker`] that records the connection's id and signals the descriptor.
//! The loop's callback then takes the ids that are ready and polls those
//! connections again, on its own thread. No runtime task and no GIL are
//! needed to hand an event over.
//!
//! Unless created without a `watch` callback, the notifier is also the
//! [`Host`] of the loop's connections (see `rtwire::hosted`): their tasks
//! run on the loop's thread and their sockets are watched by the loop
//! (`watch` adds and removes readers and writers), so a message is read,
//! parsed and handed to the reader in one loop callback, and `send` writes
//! before it returns. The runtime then only does what is rare (name
//! resolution, the TCP connect, timers), and wakes the loop through the
//! same descriptor.

use std::cell::Cell;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

use pyo3::prelude::*;
use rtwire::hosted::{Host, Reactor};
use rtwire::WakeFd;

thread_local! {
    /// Set while this thread runs host tasks for a loop callback that hands
    /// out the ready ids itself: readers woken meanwhile need no wake-up
    /// signal.
    static DEFER: Cell<bool> = const { Cell::new(false) };
}

/// The shared part of a [`LoopNotifier`].
#[derive(Debug)]
pub(crate) struct Notifier {
    wake: WakeFd,
    ready: Mutex<Vec<u64>>,
}

impl Notifier {
    fn notify(&self, id: u64) {
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id);
        if !DEFER.with(Cell::get) {
            self.wake.signal();
        }
    }

    /// The ids of the connections that are ready, each once.
    fn take_ids(&self) -> Vec<u64> {
        let mut ids = std::mem::take(&mut *self.ready.lock().unwrap_or_else(|e| e.into_inner()));
        if ids.len() > 1 {
            ids.sort_unstable();
            ids.dedup();
        }
        ids
    }
}

/// One connection's waker: marks `id` ready on its loop's notifier.
struct ReadyWaker {
    notifier: Arc<Notifier>,
    id: u64,
}

impl Wake for ReadyWaker {
    fn wake(self: Arc<Self>) {
        self.notifier.notify(self.id);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.notifier.notify(self.id);
    }
}

/// The loop as the host sees it: wake-ups go through the descriptor,
/// watches to the Python `watch(fd, token, read, write)` callback.
#[derive(Debug)]
struct LoopReactor {
    notifier: Arc<Notifier>,
    watch: Py<PyAny>,
}

impl Reactor for LoopReactor {
    fn wake(&self) {
        self.notifier.wake.signal();
    }

    fn watch(&self, fd: RawFd, token: u64, read: bool, write: bool) {
        // Called within a host call, on the loop's thread, which holds the
        // GIL; attaching again is cheap.
        Python::attach(|py| {
            if let Err(e) = self.watch.call1(py, (fd, token, read, write)) {
                e.write_unraisable(py, Some(self.watch.bind(py)));
            }
        });
    }
}

/// Wakes one asyncio loop from the runtime's threads (one per loop), and
/// hosts the loop's connections.
#[pyclass(module = "rtwire._rtwire", frozen)]
#[derive(Debug)]
pub struct LoopNotifier {
    pub(crate) inner: Arc<Notifier>,
    pub(crate) host: Option<Host>,
}

impl LoopNotifier {
    /// A waker that marks connection `id` ready.
    pub(crate) fn waker(&self, id: u64) -> Waker {
        Waker::from(Arc::new(ReadyWaker {
            notifier: self.inner.clone(),
            id,
        }))
    }

    /// Runs `f` (host calls) with reader wake-ups deferred, then takes the
    /// ready ids.
    fn deferred(&self, f: impl FnOnce()) -> Vec<u64> {
        let outer = DEFER.with(|d| d.replace(true));
        f();
        DEFER.with(|d| d.set(outer));
        self.inner.take_ids()
    }
}

#[pymethods]
impl LoopNotifier {
    /// `watch(fd, token, read, write)`: when given, the notifier hosts the
    /// loop's connections and calls it to (un)watch their sockets; the
    /// loop then reports readiness to `io_ready(token, ...)`.
    #[new]
    #[pyo3(signature = (watch = None))]
    fn new(watch: Option<Py<PyAny>>) -> PyResult<Self> {
        let inner = Arc::new(Notifier {
            wake: WakeFd::new()?,
            ready: Mutex::new(Vec::new()),
        });
        let host = watch.map(|watch| {
            let reactor = Arc::new(LoopReactor {
                notifier: inner.clone(),
                watch,
            });
            Host::new(reactor, crate::conn::runtime().handle().clone())
        });
        Ok(LoopNotifier { inner, host })
    }

    /// The file descriptor to watch for reading.
    fn fileno(&self) -> i32 {
        self.inner.wake.fd()
    }

    /// Whether connections of this loop run on its thread.
    #[getter]
    fn hosting(&self) -> bool {
        self.host.is_some()
    }

    /// Connection tasks this loop runs (opening or open); 0 when not
    /// hosting.
    #[getter]
    fn tasks(&self) -> usize {
        self.host.as_ref().map_or(0, Host::tasks)
    }

    /// Clears the wake-up, runs the connection tasks woken from other
    /// threads, and returns the ids of the connections that are ready, each
    /// once.
    fn take_ready(&self) -> Vec<u64> {
        // Cleared before anything the wake-up asked for is run, so that a
        // wake-up coming meanwhile is kept for the next turn.
        self.inner.wake.clear();
        match &self.host {
            Some(host) => self.deferred(|| host.run()),
            None => self.inner.take_ids(),
        }
    }

    /// The socket watched under `token` is readable and/or writable: runs
    /// what that wakes and returns the ids of the connections now ready.
    fn io_ready(&self, token: u64, readable: bool, writable: bool) -> Vec<u64> {
        match &self.host {
            Some(host) => self.deferred(|| host.ready(token, readable, writable)),
            None => Vec::new(),
        }
    }
}
