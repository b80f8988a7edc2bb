//! The embedded server (`rtwire.serve`): the core's `rtwire::server::Server`
//! on the binding's runtime.
//!
//! Messages WebSocket clients send are never handed to Python on a runtime
//! thread. With a Python handler set, the core's handler only queues them
//! (bounded) in the core's [`Inbox`]; a Python thread takes them with
//! `next_message` (GIL released while it waits), runs the callback and
//! publishes what it returns. Nothing on the runtime waits for the GIL.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use rtwire::server::{validate_channel, Inbox, Server, ServerOptions};
use rtwire::Data;

use rtwire::options::{Value, SERVER_SCHEMA};

use crate::args::{int_in, message, str_list, string};
use crate::bridge::{deliver, shutting_down, Outcome};
use crate::conn::{block_in_slices, runtime};
use crate::errors::to_pyerr;
use crate::events::data_to_py;
use crate::options::{arg, check_keywords, convert};

/// How long `next_message` waits between looks at the interpreter's state.
const SLICE: Duration = Duration::from_millis(200);

/// A channel name argument: a `str` (else `TypeError`) that the core's
/// [`validate_channel`] accepts (else `InvalidArgumentError`).
fn channel_arg(v: &Bound<'_, PyAny>) -> PyResult<String> {
    let c = string("channel", v)?;
    validate_channel(&c).map_err(|e| to_pyerr(v.py(), e))?;
    Ok(c)
}

/// Figures of one channel.
#[pyclass(module = "rtwire", frozen, get_all)]
#[derive(Debug)]
pub struct ChannelStats {
    /// The channel name.
    pub name: String,
    /// Messages published since the server started.
    pub published: u64,
    /// Messages kept in history.
    pub history: usize,
    /// Live subscribers (WebSocket, SSE, streaming, held polls).
    pub subscribers: usize,
}

#[pymethods]
impl ChannelStats {
    fn __repr__(&self) -> String {
        format!(
            "ChannelStats(name={:?}, published={}, history={}, subscribers={})",
            self.name, self.published, self.history, self.subscribers
        )
    }
}

/// Server-wide figures, from `Server.stats()`.
#[pyclass(module = "rtwire", frozen, get_all)]
#[derive(Debug)]
pub struct ServerStats {
    /// Open TCP connections.
    pub connections: usize,
    /// Per-channel figures, by channel name.
    pub channels: Py<PyDict>,
}

#[pymethods]
impl ServerStats {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "ServerStats(connections={}, channels={})",
            self.connections,
            self.channels.bind(py).len()
        )
    }
}

/// A running server (wrapped by `rtwire.Server`).
#[pyclass(module = "rtwire._rtwire", name = "Server", frozen)]
#[derive(Debug)]
pub struct PyServer {
    server: RwLock<Option<Server>>,
    addr: SocketAddr,
    url: String,
    epoch: String,
    inbox: Arc<Inbox>,
}

impl PyServer {
    fn with_server<R>(&self, f: impl FnOnce(&Server) -> R) -> PyResult<R> {
        let g = self.server.read().unwrap_or_else(|e| e.into_inner());
        match g.as_ref() {
            Some(s) => Ok(f(s)),
            None => Err(PyRuntimeError::new_err("the server is closed")),
        }
    }

    fn take(&self) -> Option<Server> {
        // What is still queued can no longer be published: `next_message`
        // returns `None` from now on.
        self.inbox.close();
        self.inbox.clear();
        self.server
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        if let Some(s) = self.take() {
            runtime().spawn(s.shutdown());
        }
    }
}

#[pymethods]
impl PyServer {
    /// The bound address.
    #[getter]
    fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    /// The bound port (the real one when started with port 0).
    #[getter]
    fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://host:port` (`https://` with TLS).
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// The epoch of the message ids; new at every start.
    #[getter]
    fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Whether `close` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.server
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    /// Publishes `data` (`str`: text, bytes-like: binary) to `channel`;
    /// returns the message id.
    fn publish(&self, channel: &Bound<'_, PyAny>, data: &Bound<'_, PyAny>) -> PyResult<String> {
        let channel = channel_arg(channel)?;
        let data = message(data)?;
        self.with_server(|s| s.publish(&channel, data))
    }

    /// Connection count and per-channel figures.
    fn stats(&self, py: Python<'_>) -> PyResult<ServerStats> {
        let st = self.with_server(|s| s.stats())?;
        let channels = PyDict::new(py);
        for c in st.channels {
            let name = c.name.clone();
            let v = Py::new(
                py,
                ChannelStats {
                    name: c.name,
                    published: c.published,
                    history: c.history,
                    subscribers: c.subscribers,
                },
            )?;
            channels.set_item(name, v)?;
        }
        Ok(ServerStats {
            connections: st.connections,
            channels: channels.unbind(),
        })
    }

    /// Adds application connection `id` to `room`: `True` when it was not
    /// in it yet, `False` when it was or is not open.
    fn join(&self, py: Python<'_>, id: u64, room: &Bound<'_, PyAny>) -> PyResult<bool> {
        let room = string("room", room)?;
        // Once the server is closed its connections are over: nothing to join.
        match self
            .with_server(|s| s.rooms().try_join(id, &room))
            .unwrap_or(Ok(false))
        {
            Ok(added) => Ok(added),
            Err(e) if e.kind() == rtwire::ErrorKind::Closed => Ok(false),
            Err(e) => Err(to_pyerr(py, e)),
        }
    }

    /// Takes connection `id` out of `room`: `True` when it was in it.
    fn leave(&self, id: u64, room: &Bound<'_, PyAny>) -> PyResult<bool> {
        let room = string("room", room)?;
        // Once the server is closed its connections are in no room.
        Ok(self
            .with_server(|s| s.rooms().leave(id, &room))
            .unwrap_or(false))
    }

    /// The rooms connection `id` is in, sorted.
    fn rooms_of(&self, id: u64) -> Vec<String> {
        self.with_server(|s| s.rooms().rooms_of(id))
            .unwrap_or_default()
    }

    /// The ids of the members of `room`, increasing.
    fn members(&self, room: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
        let room = string("room", room)?;
        Ok(self
            .with_server(|s| s.rooms().members(&room))
            .unwrap_or_default())
    }

    /// The rooms with members, sorted.
    fn room_names(&self) -> Vec<String> {
        self.with_server(|s| s.rooms().names()).unwrap_or_default()
    }

    /// Queues `data` for the members of `room` (every application
    /// connection with `None`) but the ids in `exclude`, without waiting;
    /// returns `(queued, skipped, disconnected)`.
    #[pyo3(signature = (room, data, exclude))]
    fn broadcast(
        &self,
        room: Option<&Bound<'_, PyAny>>,
        data: &Bound<'_, PyAny>,
        exclude: Vec<u64>,
    ) -> PyResult<(usize, usize, usize)> {
        let room = match room.filter(|r| !r.is_none()) {
            Some(r) => Some(string("room", r)?),
            None => None,
        };
        let data = message(data)?;
        // A closed server has no connections: nothing is delivered (as a
        // departure announced while the server shuts down).
        Ok(self
            .with_server(|s| {
                let d = s.rooms().broadcast(room.as_deref(), exclude, data);
                (d.queued, d.skipped, d.disconnected)
            })
            .unwrap_or((0, 0, 0)))
    }

    /// Drops every client at once, as a network cut would; they reconnect
    /// and resume from history.
    fn disconnect_all(&self) -> PyResult<()> {
        self.with_server(|s| s.disconnect_all())
    }

    /// With `capacity`: messages WebSocket clients send go to the inbox (at
    /// most `capacity` waiting; more are dropped and counted) instead of
    /// being published. With `None`: they are published as sent.
    #[pyo3(signature = (capacity))]
    fn set_inbox(&self, capacity: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let capacity = match capacity.filter(|v| !v.is_none()) {
            Some(c) => Some(int_in("queue", c, 1, isize::MAX as i64)? as usize),
            None => None,
        };
        let inbox = self.inbox.clone();
        self.with_server(|s| match capacity {
            Some(n) => {
                inbox.set_capacity(n);
                s.set_handler(Arc::new(move |channel: &str, data: Data| {
                    // Dropped (and counted) when full; the Python thread
                    // polls, so no wake-up is needed.
                    let _ = inbox.push(channel, data);
                    None
                }));
            }
            None => s.set_handler(Arc::new(|_: &str, data: Data| Some(data))),
        })
    }

    /// The next message from the inbox as `(channel, data)`, blocking with
    /// the GIL released; `None` after `timeout` seconds or once the server
    /// is closed (what is still queued then is dropped: it could not be
    /// published).
    #[pyo3(signature = (timeout = None))]
    fn next_message<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let deadline = match timeout.filter(|v| !v.is_none()) {
            Some(t) => Some(Instant::now() + crate::args::seconds("timeout", t)?),
            None => None,
        };
        let inbox = &self.inbox;
        let item = py.detach(|| loop {
            if shutting_down() {
                // The interpreter is finalizing: this thread must not enter
                // Python again. It waits here until the process exits.
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            }
            let wait = match deadline {
                Some(d) => SLICE.min(d.saturating_duration_since(Instant::now())),
                None => SLICE,
            };
            match inbox.pop_timeout(wait) {
                // A message, or `None` once closed (then nothing is queued).
                Ok(item) => return item,
                Err(()) if deadline.is_some_and(|d| Instant::now() >= d) => return None,
                Err(()) => {}
            }
        });
        match item {
            Some((channel, data)) => {
                let d = data_to_py(py, &data)?;
                Ok(Some(PyTuple::new(
                    py,
                    [PyString::new(py, &channel).into_any().unbind(), d],
                )?))
            }
            None => Ok(None),
        }
    }

    /// Messages the inbox dropped because it was full.
    #[getter]
    fn dropped(&self) -> u64 {
        self.inbox.dropped()
    }

    /// Stops the server, blocking (GIL released) until it has shut down:
    /// WebSocket clients get close 1001, streams end, connections are awaited
    /// up to 5 s. Harmless when already closed.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(s) = self.take() {
            let task = runtime().spawn(s.shutdown());
            block_in_slices(py, task, None)?;
        }
        Ok(())
    }

    /// Stops the server; returns a future on `loop` that resolves once it has
    /// shut down, or `None` when it was already closed.
    fn close_async<'py>(&self, r#loop: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(s) = self.take() else {
            return Ok(None);
        };
        let fut = r#loop.call_method0("create_future")?;
        let event_loop = r#loop.clone().unbind();
        let target = fut.clone().unbind();
        runtime().spawn(async move {
            s.shutdown().await;
            deliver(event_loop, target, Outcome::Done);
        });
        Ok(Some(fut))
    }
}

/// The server options from `rtwire.serve`'s schema keywords, in schema
/// order, then `ServerOptions::validate`.
fn server_options(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<ServerOptions> {
    check_keywords("serve()", kwargs, |k| {
        SERVER_SCHEMA
            .iter()
            .any(|s| !s.python.is_empty() && s.python == k)
    })?;
    let mut o = ServerOptions::new();
    for s in SERVER_SCHEMA.iter().filter(|s| !s.python.is_empty()) {
        let Some(v) = arg(kwargs, s.python)? else {
            continue;
        };
        if let Some(value) = convert(s, s.python, &v)? {
            o.set(s.name, value).map_err(|e| to_pyerr(py, e))?;
        }
    }
    o.validate().map_err(|e| to_pyerr(py, e))?;
    Ok(o)
}

/// The address to listen on, resolved by the core (GIL released).
fn bind_addr(
    py: Python<'_>,
    host: &Bound<'_, PyAny>,
    port: &Bound<'_, PyAny>,
) -> PyResult<SocketAddr> {
    let host = string("host", host)?;
    let port = int_in("port", port, 0, u16::MAX as i64)? as u16;
    match block_in_slices(py, rtwire::server::bind_addr(&host, port), None)? {
        Some(r) => r.map_err(|e| to_pyerr(py, e)),
        None => unreachable!("no deadline"),
    }
}

/// Starts a server on the runtime, blocking (GIL released) only until it
/// listens. The keyword arguments in `options` are the server schema's
/// (`rtwire::options::SERVER_SCHEMA`): each is converted by its option's
/// kind into a `Value` and given to `ServerOptions::set`, which checks it;
/// those left out keep the core's defaults.
#[pyfunction]
#[pyo3(signature = (
    host,
    port,
    *,
    pages = None,
    route = None,
    protocols = None,
    event_loop = None,
    on_connect = None,
    on_accept = None,
    **options,
))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn serve(
    py: Python<'_>,
    host: &Bound<'_, PyAny>,
    port: &Bound<'_, PyAny>,
    pages: Option<&Bound<'_, PyAny>>,
    route: Option<&Bound<'_, PyAny>>,
    protocols: Option<&Bound<'_, PyAny>>,
    event_loop: Option<&Bound<'_, PyAny>>,
    on_connect: Option<&Bound<'_, PyAny>>,
    on_accept: Option<&Bound<'_, PyAny>>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<PyServer> {
    let mut o = server_options(py, options)?;
    let pages = pages.filter(|v| !v.is_none());
    if let Some(pages) = pages {
        let pages: Vec<(String, String, Vec<u8>)> = pages.extract()?;
        for (path, content_type, body) in pages {
            o = o.page(&path, &content_type, body);
        }
    }
    if let Some(route) = route.filter(|v| !v.is_none()) {
        let route = string("path", route)?;
        if !route.starts_with('/') {
            return Err(PyValueError::new_err(format!(
                "path must start with '/', got {route:?}"
            )));
        }
        let protocols = match protocols.filter(|v| !v.is_none()) {
            Some(p) => str_list("subprotocols", p)?,
            None => Vec::new(),
        };
        let (Some(event_loop), Some(on_connect)) = (event_loop, on_connect) else {
            return Err(PyValueError::new_err(
                "a route needs event_loop and on_connect",
            ));
        };
        let target = crate::app::LoopTarget {
            event_loop: event_loop.clone().unbind(),
            on_connect: on_connect.clone().unbind(),
            on_accept: on_accept
                .filter(|v| !v.is_none())
                .map(|v| v.clone().unbind()),
        };
        o = crate::app::add_route(o, &route, &protocols, target);
    }
    let bind = bind_addr(py, host, port)?;
    o.set("bind", Value::Text(bind.to_string()))
        .map_err(|e| to_pyerr(py, e))?;
    let server = match block_in_slices(py, Server::start(o), None)? {
        Some(Ok(s)) => s,
        Some(Err(e)) => return Err(to_pyerr(py, e)),
        None => unreachable!("no deadline"),
    };
    Ok(PyServer {
        addr: server.local_addr(),
        url: server.base_url(),
        epoch: server.epoch().to_string(),
        server: RwLock::new(Some(server)),
        inbox: Arc::new(Inbox::new(1024)),
    })
}
