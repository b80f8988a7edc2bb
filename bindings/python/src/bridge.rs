//! Handing results from the runtime's threads to an asyncio loop.
//!
//! A task on the runtime finishes with an [`Outcome`]; it wraps it in a
//! [`Resolve`] and schedules that on the loop with
//! `loop.call_soon_threadsafe`. The Python objects are made on the loop's
//! thread, when `Resolve` runs. An event whose future was cancelled meanwhile
//! goes back to the front of its connection's queue: nothing is lost.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use tokio::task::AbortHandle;

use rtwire::{Error, Event};

use crate::conn::{PyConnection, Shared};
use crate::errors::error_value;
use crate::events::event_to_py;

/// What a task on the runtime produced.
pub(crate) enum Outcome {
    /// An event taken from a connection (or `None`: the stream is over).
    Event(Option<Event>, Arc<Shared>),
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
        self.outcome.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Puts an undelivered event back in its queue.
    fn give_back(outcome: Outcome) {
        if let Outcome::Event(Some(ev), shared) = outcome {
            shared.give_back(ev);
        }
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
            Self::give_back(outcome);
            return Ok(());
        }
        match outcome {
            Outcome::Event(ev, _) => {
                let v = match ev {
                    Some(ev) => event_to_py(py, ev)?,
                    None => py.None(),
                };
                fut.call_method1("set_result", (v,))?;
            }
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

/// Schedules `outcome` on `event_loop` to resolve `fut`. If the loop is
/// closed or the interpreter is shutting down, an event goes back to its
/// queue.
pub(crate) fn deliver(event_loop: Py<PyAny>, fut: Py<PyAny>, outcome: Outcome) {
    let attached = Python::try_attach(|py| {
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
            if let Some(o) = r.get().take() {
                Resolve::give_back(o);
            }
        }
        drop(event_loop);
    });
    let _ = attached;
}

/// A done-callback that aborts a runtime task when its future is cancelled.
#[pyclass(module = "rtwire._rtwire", frozen)]
#[derive(Debug)]
pub struct CancelTask {
    handle: AbortHandle,
}

#[pymethods]
impl CancelTask {
    fn __call__(&self, fut: &Bound<'_, PyAny>) -> PyResult<()> {
        if fut.call_method0("cancelled")?.is_truthy()? {
            self.handle.abort();
        }
        Ok(())
    }
}

/// Aborts `handle`'s task when `fut` is cancelled.
pub(crate) fn abort_on_cancel(fut: &Bound<'_, PyAny>, handle: AbortHandle) -> PyResult<()> {
    let cb = Py::new(fut.py(), CancelTask { handle })?;
    fut.call_method1("add_done_callback", (cb,))?;
    Ok(())
}
