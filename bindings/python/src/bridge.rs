//! Handing results from the runtime's threads to an asyncio loop.
//!
//! A task on the runtime finishes with an [`Outcome`]; it wraps it in a
//! [`Resolve`] and schedules that on the loop with
//! `loop.call_soon_threadsafe`. The Python objects are made on the loop's
//! thread, when `Resolve` runs. (Events do not come this way: see `notify`.)

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use tokio::task::AbortHandle;

use rtwire::Error;

use crate::conn::{PyConnection, Shared};
use crate::errors::error_value;

/// What a task on the runtime produced.
pub(crate) enum Outcome {
    /// A finished operation without a value.
    Done,
    /// A connection opened by `connect`.
    Connected(Arc<Shared>),
    /// A failure.
    Failed(Error),
}

/// Resolves an asyncio future with an [`Outcome`]; scheduled on the loop.
#[pyclass(module = "rtwire._rtwire", frozen)]
pub struct Resolve {
    fut: Py<PyAny>,
    outcome: Mutex<Option<Outcome>>,
}

impl std::fmt::Debug for Resolve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolve")
    }
}

impl Resolve {
    fn take(&self) -> Option<Outcome> {
        self.outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

#[pymethods]
impl Resolve {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let Some(outcome) = self.take() else {
            return Ok(());
        };
        let fut = self.fut.bind(py);
        if fut.call_method0("done")?.is_truthy()? {
            return Ok(());
        }
        match outcome {
            Outcome::Done => {
                fut.call_method1("set_result", (py.None(),))?;
            }
            Outcome::Connected(shared) => {
                let c = Py::new(py, PyConnection::new(shared))?;
                fut.call_method1("set_result", (c,))?;
            }
            Outcome::Failed(e) => {
                fut.call_method1("set_exception", (error_value(py, e, None)?,))?;
            }
        }
        Ok(())
    }
}

/// Set by the `atexit` hook: runtime threads no longer enter Python.
static SHUTTING_DOWN: AtomicBool = AtomicBool::new(false);
/// Runtime threads inside Python right now.
static ATTACHED: AtomicUsize = AtomicUsize::new(0);

/// Whether the `atexit` hook ran: runtime threads and threads waiting in
/// Rust must no longer enter Python.
pub(crate) fn shutting_down() -> bool {
    SHUTTING_DOWN.load(Ordering::SeqCst)
}

/// Runs `f` with the GIL from a runtime thread, unless the interpreter is
/// shutting down: a thread that takes the GIL during finalization would be
/// ended by the interpreter in the middle of Rust frames.
pub(crate) fn with_python<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    if SHUTTING_DOWN.load(Ordering::SeqCst) {
        return None;
    }
    ATTACHED.fetch_add(1, Ordering::SeqCst);
    let r = if SHUTTING_DOWN.load(Ordering::SeqCst) {
        None
    } else {
        Python::try_attach(f)
    };
    ATTACHED.fetch_sub(1, Ordering::SeqCst);
    r
}

/// The `atexit` hook: stops runtime threads from entering Python and waits
/// (GIL released, at most 2 s) for those inside to leave.
#[pyfunction]
pub(crate) fn _at_exit(py: Python<'_>) {
    SHUTTING_DOWN.store(true, Ordering::SeqCst);
    py.detach(|| {
        let end = Instant::now() + Duration::from_secs(2);
        while ATTACHED.load(Ordering::SeqCst) > 0 && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// Schedules `outcome` on `event_loop` to resolve `fut`.
pub(crate) fn deliver(event_loop: Py<PyAny>, fut: Py<PyAny>, outcome: Outcome) {
    let attached = with_python(|py| {
        let r = Resolve {
            fut,
            outcome: Mutex::new(Some(outcome)),
        };
        let r = match Py::new(py, r) {
            Ok(r) => r,
            Err(_) => return,
        };
        if event_loop
            .call_method1(py, "call_soon_threadsafe", (r.clone_ref(py),))
            .is_err()
        {
            // The loop is closed: nobody waits for the result.
            drop(r.get().take());
        }
        drop(event_loop);
    });
    let _ = attached;
}

/// How to stop a task working for a future.
#[derive(Debug)]
pub(crate) enum Abort {
    /// A task on the runtime.
    Task(AbortHandle),
    /// A task on a loop's host, which ends when this sender is used or
    /// (see [`on_host`]).
    Signal(Mutex<Option<tokio::sync::oneshot::Sender<()>>>),
}

/// A done-callback that stops the task when its future is cancelled.
#[pyclass(module = "rtwire._rtwire", frozen)]
#[derive(Debug)]
pub struct CancelTask {
    abort: Abort,
}

#[pymethods]
impl CancelTask {
    fn __call__(&self, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        if fut.call_method0("cancelled")?.is_truthy()? {
            match &self.abort {
                Abort::Task(h) => h.abort(),
                Abort::Signal(tx) => {
                    let tx = tx.lock().unwrap_or_else(|e| e.into_inner()).take();
                    if let Some(tx) = tx {
                        let _ = tx.send(());
                    }
                }
            }
        }
        Ok(())
    }
}

/// Stops the task behind `abort` when `fut` is cancelled.
pub(crate) fn abort_on_cancel(fut: &Bound<'_, PyAny>, abort: Abort) -> PyResult<()> {
    let cb = Py::new(fut.py(), CancelTask { abort })?;
    fut.call_method1("add_done_callback", (cb,))?;
    Ok(())
}

/// Runs `work` on `host` (the loop's thread); it is dropped unfinished when
/// the returned [`Abort`] is used.
pub(crate) fn on_host(
    host: &rtwire::hosted::Host,
    work: impl std::future::Future<Output = ()> + Send + 'static,
) -> Abort {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    host.spawn(async move {
        tokio::select! {
            biased;
            Ok(()) = rx => {}
            () = work => {}
        }
    });
    Abort::Signal(Mutex::new(Some(tx)))
}
