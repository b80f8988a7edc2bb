//! The events of a connection as Python objects (immutable).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use rtwire::{Data, Event};

use crate::errors::error_value;

/// A payload as `str` (text) or `bytes` (binary).
pub(crate) fn data_to_py(py: Python<'_>, d: &Data) -> PyResult<Py<PyAny>> {
    Ok(match d {
        Data::Text(t) => PyString::new(py, t.as_str()).into_any().unbind(),
        Data::Binary(b) => PyBytes::new(py, b).into_any().unbind(),
    })
}

/// `None` or the quoted string, as in Python.
fn opt_repr(v: &Option<String>) -> String {
    match v {
        Some(s) => format!("{s:?}"),
        None => "None".to_string(),
    }
}

/// A session is open (first connect or after a reconnect).
#[pyclass(module = "rtwire", frozen, get_all)]
#[derive(Debug)]
pub struct OpenEvent {
    /// The transport in use (`"websocket"`, ...).
    pub transport: String,
    /// The URL connected to, without credentials.
    pub url: String,
    /// The subprotocol the server chose, if any.
    pub subprotocol: Option<String>,
    /// The handshake response headers, names in lower case.
    pub headers: Vec<(String, String)>,
}

#[pymethods]
impl OpenEvent {
    /// `"open"`.
    #[getter]
    fn r#type(&self) -> &'static str {
        "open"
    }
    fn __repr__(&self) -> String {
        format!(
            "OpenEvent(transport={:?}, url={:?}, subprotocol={})",
            self.transport,
            self.url,
            opt_repr(&self.subprotocol)
        )
    }
}

/// A message arrived.
#[pyclass(module = "rtwire", frozen, get_all)]
#[derive(Debug)]
pub struct MessageEvent {
    /// `str` for a text message, `bytes` for a binary one.
    pub data: Py<PyAny>,
    /// The event type (SSE `event:`), if the transport has one.
    pub event: Option<String>,
    /// The event id or cursor (SSE `id:`), if the transport has one.
    pub id: Option<String>,
}

#[pymethods]
impl MessageEvent {
    /// `"message"`.
    #[getter]
    fn r#type(&self) -> &'static str {
        "message"
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "MessageEvent(data={}, event={}, id={})",
            self.data.bind(py).repr()?,
            opt_repr(&self.event),
            opt_repr(&self.id)
        ))
    }
}

/// The session was lost; a new attempt follows after `delay` seconds.
#[pyclass(module = "rtwire", frozen, get_all)]
#[derive(Debug)]
pub struct ReconnectingEvent {
    /// 1 for the first retry after a loss, counting up.
    pub attempt: u32,
    /// Seconds to wait before the attempt.
    pub delay: f64,
    /// Why the previous session or attempt ended (an `rtwire.Error`).
    pub error: Py<PyAny>,
}

#[pymethods]
impl ReconnectingEvent {
    /// `"reconnecting"`.
    #[getter]
    fn r#type(&self) -> &'static str {
        "reconnecting"
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "ReconnectingEvent(attempt={}, delay={:.3}, error={})",
            self.attempt,
            self.delay,
            self.error.bind(py).repr()?
        ))
    }
}

/// An error; when it ends the connection, `ClosedEvent` follows.
#[pyclass(module = "rtwire", frozen, get_all)]
#[derive(Debug)]
pub struct ErrorEvent {
    /// The error (an `rtwire.Error` subclass instance).
    pub error: Py<PyAny>,
}

#[pymethods]
impl ErrorEvent {
    /// `"error"`.
    #[getter]
    fn r#type(&self) -> &'static str {
        "error"
    }
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("ErrorEvent(error={})", self.error.bind(py).repr()?))
    }
}

/// The connection is over: always the last event, exactly once.
#[pyclass(module = "rtwire", frozen, get_all)]
#[derive(Debug)]
pub struct ClosedEvent {
    /// The close code (1005: none given, 1006: lost without a close frame).
    pub code: u16,
    /// The close reason.
    pub reason: String,
    /// Whether the close handshake completed both ways.
    pub clean: bool,
    /// Messages accepted by `send` that were never written, in order.
    pub unsent: Py<PyList>,
}

#[pymethods]
impl ClosedEvent {
    /// `"closed"`.
    #[getter]
    fn r#type(&self) -> &'static str {
        "closed"
    }
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "ClosedEvent(code={}, reason={:?}, clean={}, unsent={} messages)",
            self.code,
            self.reason,
            if self.clean { "True" } else { "False" },
            self.unsent.bind(py).len()
        )
    }
}

/// An event as its Python object.
pub(crate) fn event_to_py(py: Python<'_>, ev: Event) -> PyResult<Py<PyAny>> {
    Ok(match ev {
        Event::Message(m) => Py::new(
            py,
            MessageEvent {
                data: data_to_py(py, &m.data)?,
                event: m.event,
                id: m.id,
            },
        )?
        .into_any(),
        Event::Open(info) => Py::new(
            py,
            OpenEvent {
                transport: info.transport.as_str().to_string(),
                url: info.url,
                subprotocol: info.protocol,
                headers: info.headers,
            },
        )?
        .into_any(),
        Event::Reconnecting {
            attempt,
            delay,
            cause,
        } => Py::new(
            py,
            ReconnectingEvent {
                attempt,
                delay: delay.as_secs_f64(),
                error: error_value(py, cause, None)?.unbind(),
            },
        )?
        .into_any(),
        Event::Error(e) => Py::new(
            py,
            ErrorEvent {
                error: error_value(py, e, None)?.unbind(),
            },
        )?
        .into_any(),
        Event::Closed(c) => closed_to_py(py, &c)?.into_any(),
        other => {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
                "event not known to this build: {other:?}"
            )))
        }
    })
}

/// A `ClosedEvent`.
pub(crate) fn closed_to_py(py: Python<'_>, c: &rtwire::CloseInfo) -> PyResult<Py<ClosedEvent>> {
    let unsent = c
        .unsent
        .iter()
        .map(|d| data_to_py(py, d))
        .collect::<PyResult<Vec<_>>>()?;
    Py::new(
        py,
        ClosedEvent {
            code: c.code,
            reason: c.reason.clone(),
            clean: c.clean,
            unsent: PyList::new(py, unsent)?.unbind(),
        },
    )
}
