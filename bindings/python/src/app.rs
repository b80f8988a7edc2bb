//! Application routes (`rtwire.serve(handler, ...)`): every WebSocket
//! client of the route gets a core `Connection` on the runtime; the route's
//! handler hands it, with its `Request`, to the asyncio loop that started
//! the server, where Python wraps it in `rtwire.Connection` and runs the
//! application's handler. The acceptance hook asks the loop the same way
//! and waits (on the runtime, without the GIL) for its answer.
//!
//! As in `bridge`, the runtime thread only takes the GIL to schedule a
//! [`Pending`] with `loop.call_soon_threadsafe`; the Python objects are
//! made on the loop's thread when it runs.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use tokio::sync::oneshot;

use rtwire::server::{Accept, Reject, Request, ServerOptions};

use crate::bridge::with_python;
use crate::conn::{PyConnection, Shared};

/// The loop a server reports to, and its Python callbacks.
#[derive(Debug)]
pub(crate) struct LoopTarget {
    pub event_loop: Py<PyAny>,
    /// `on_connect(conn, request)`.
    pub on_connect: Py<PyAny>,
    /// `on_accept(request, reply)`, if there is a hook.
    pub on_accept: Option<Py<PyAny>>,
}

type Answer = oneshot::Sender<Result<Accept, Reject>>;

/// What a [`Pending`] hands to Python.
enum Job {
    /// A new connection of the route.
    Connection(Arc<Shared>, Request),
    /// A request for the acceptance hook, and where its answer goes.
    Accept(Request, Answer),
}

/// A new connection or hook call, scheduled on the loop; calling it (on
/// the loop's thread) calls the Python callback. Never called (the loop is
/// closed): the connection is dropped, so closed with 1001, and the hook
/// refuses with 500.
#[pyclass(module = "rtwire._rtwire", frozen)]
pub struct Pending {
    callback: Py<PyAny>,
    job: Mutex<Option<Job>>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending")
    }
}

/// The acceptance hook's answer, called once by Python: `reply()` accepts,
/// `reply(status, body)` refuses. Dropped unanswered: refused with 500.
#[pyclass(module = "rtwire._rtwire", name = "AcceptReply", frozen)]
#[derive(Debug)]
pub struct AcceptReply {
    tx: Mutex<Option<Answer>>,
}

#[pymethods]
impl AcceptReply {
    /// Answers: with no `status`, accepts; else refuses with `status`
    /// (400-599, another value becomes 403) and `body`. Later calls do
    /// nothing.
    #[pyo3(signature = (status = None, body = String::new()))]
    fn __call__(&self, status: Option<u16>, body: String) {
        let tx = self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(tx) = tx {
            let answer = match status {
                None => Ok(Accept::new()),
                Some(s) => Err(Reject::new(s, body)),
            };
            let _ = tx.send(answer);
        }
    }
}

/// `request` as the tuple Python builds `rtwire.Request` from:
/// `(id, (host, port), path, query, headers, protocol)`.
fn request_to_py<'py>(py: Python<'py>, r: &Request) -> PyResult<Bound<'py, PyTuple>> {
    let headers = PyList::new(
        py,
        r.headers
            .iter()
            .map(|(k, v)| PyTuple::new(py, [k.as_str(), v.as_str()]))
            .collect::<PyResult<Vec<_>>>()?,
    )?;
    let peer = (r.peer.ip().to_string(), r.peer.port()).into_pyobject(py)?;
    (
        r.id,
        peer,
        r.path.as_str(),
        r.query.as_str(),
        headers,
        r.protocol.as_deref(),
    )
        .into_pyobject(py)
}

#[pymethods]
impl Pending {
    fn __call__(&self, py: Python<'_>) -> PyResult<()> {
        let job = self.job.lock().unwrap_or_else(|e| e.into_inner()).take();
        match job {
            None => Ok(()),
            Some(Job::Connection(shared, request)) => {
                let req = request_to_py(py, &request)?;
                let conn = Py::new(py, PyConnection::new(shared))?;
                self.callback.call1(py, (conn, req))?;
                Ok(())
            }
            Some(Job::Accept(request, tx)) => {
                let req = request_to_py(py, &request)?;
                let reply = Py::new(
                    py,
                    AcceptReply {
                        tx: Mutex::new(Some(tx)),
                    },
                )?;
                self.callback.call1(py, (req, reply))?;
                Ok(())
            }
        }
    }
}

/// Schedules `job` on the loop of `target` for `callback`; `false` when
/// it could not be (the loop is closed, the interpreter is exiting).
fn schedule(target: &LoopTarget, pick: fn(&LoopTarget) -> Option<&Py<PyAny>>, job: Job) -> bool {
    with_python(|py| {
        let Some(callback) = pick(target) else {
            return false;
        };
        let pending = Pending {
            callback: callback.clone_ref(py),
            job: Mutex::new(Some(job)),
        };
        let Ok(pending) = Py::new(py, pending) else {
            return false;
        };
        let ok = target
            .event_loop
            .call_method1(py, "call_soon_threadsafe", (pending.clone_ref(py),))
            .is_ok();
        if !ok {
            // The loop is closed: drop the job (and the connection) now.
            drop(
                pending
                    .get()
                    .job
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take(),
            );
        }
        ok
    })
    .unwrap_or(false)
}

/// Adds the route at `path` (answering with the first of `protocols` a
/// client offers) and, with `target.on_accept`, the acceptance hook.
pub(crate) fn add_route(
    opts: ServerOptions,
    path: &str,
    protocols: &[String],
    target: LoopTarget,
) -> ServerOptions {
    let target = Arc::new(target);
    let hooked = target.on_accept.is_some();
    let t = target.clone();
    let protocols: Vec<&str> = protocols.iter().map(String::as_str).collect();
    let opts = opts.route_with_protocols(path, &protocols, move |conn, request| {
        let t = t.clone();
        async move {
            // The connection now belongs to the Python object; if it cannot
            // be handed over, dropping it closes it with 1001.
            schedule(
                &t,
                |t| Some(&t.on_connect),
                Job::Connection(Shared::served(conn), request),
            );
        }
    });
    if !hooked {
        return opts;
    }
    opts.accept(move |request| {
        let t = target.clone();
        async move {
            let (tx, rx) = oneshot::channel();
            if !schedule(&t, |t| t.on_accept.as_ref(), Job::Accept(request, tx)) {
                return Err(Reject::new(503, "the server is shutting down"));
            }
            match rx.await {
                Ok(answer) => answer,
                Err(_) => Err(Reject::new(500, "the request could not be processed")),
            }
        }
    })
}
