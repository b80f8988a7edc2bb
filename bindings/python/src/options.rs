//! Connection options from Python keyword arguments.

use std::str::FromStr;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyMapping, PyString};

use rtwire::{Cursor, CursorFrom, CursorTo, Framing, Options, Proxy, Reconnect, Transport};

use crate::args::{
    boolean, int_in, opt_seconds, opt_str, path, positive_seconds, seconds, string, token,
    type_name,
};
use crate::errors::to_pyerr;

/// The reconnect policy: exponential backoff with full jitter.
#[pyclass(module = "rtwire", name = "Reconnect", frozen)]
#[derive(Debug, Clone)]
pub struct PyReconnect {
    pub(crate) inner: Reconnect,
}

#[pymethods]
impl PyReconnect {
    #[new]
    #[pyo3(signature = (*, initial_delay = None, max_delay = None, max_attempts = None, retry_initial = None))]
    fn new(
        initial_delay: Option<&Bound<'_, PyAny>>,
        max_delay: Option<&Bound<'_, PyAny>>,
        max_attempts: Option<&Bound<'_, PyAny>>,
        retry_initial: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut r = Reconnect::default();
        if let Some(d) = opt_seconds("initial_delay", initial_delay)? {
            r = r.initial_delay(d);
        }
        if let Some(d) = opt_seconds("max_delay", max_delay)? {
            r = r.max_delay(d);
        }
        if let Some(n) = max_attempts.filter(|v| !v.is_none()) {
            r = r.max_attempts(int_in("max_attempts", n, 0, u32::MAX as i64)? as u32);
        }
        if let Some(b) = retry_initial.filter(|v| !v.is_none()) {
            r = r.retry_initial(boolean("retry_initial", b)?);
        }
        if r.max_delay < r.initial_delay {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "max_delay must not be below initial_delay",
            ));
        }
        Ok(PyReconnect { inner: r })
    }

    /// Upper bound of the first delay, in seconds.
    #[getter]
    fn initial_delay(&self) -> f64 {
        self.inner.initial_delay.as_secs_f64()
    }
    /// Cap on every delay, in seconds.
    #[getter]
    fn max_delay(&self) -> f64 {
        self.inner.max_delay.as_secs_f64()
    }
    /// Failed attempts in a row before giving up; `None`: never.
    #[getter]
    fn max_attempts(&self) -> Option<u32> {
        self.inner.max_attempts
    }
    /// Whether a failing first attempt is retried too.
    #[getter]
    fn retry_initial(&self) -> bool {
        self.inner.retry_initial
    }
    fn __repr__(&self) -> String {
        format!(
            "Reconnect(initial_delay={}, max_delay={}, max_attempts={}, retry_initial={})",
            self.initial_delay(),
            self.max_delay(),
            self.inner
                .max_attempts
                .map_or("None".to_string(), |n| n.to_string()),
            if self.inner.retry_initial {
                "True"
            } else {
                "False"
            }
        )
    }
}

/// Long-polling and streaming cursor: where the next cursor is read from
/// (exactly one of `header` or `json_field`) and where it is sent on the next
/// request (the query parameter `query`, default `cursor`, or the request
/// header `send_header`).
#[pyclass(module = "rtwire", name = "Cursor", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct PyCursor {
    pub(crate) inner: Cursor,
}

#[pymethods]
impl PyCursor {
    #[new]
    #[pyo3(signature = (*, header = None, json_field = None, query = None, send_header = None, initial = None))]
    fn new(
        header: Option<&Bound<'_, PyAny>>,
        json_field: Option<&Bound<'_, PyAny>>,
        query: Option<&Bound<'_, PyAny>>,
        send_header: Option<&Bound<'_, PyAny>>,
        initial: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let header = opt_str("header", header)?;
        let json_field = opt_str("json_field", json_field)?;
        let from = match (header, json_field) {
            (Some(h), None) => CursorFrom::Header(token("header", &h)?),
            (None, Some(f)) => {
                if f.is_empty() {
                    return Err(PyValueError::new_err("json_field must not be empty"));
                }
                CursorFrom::JsonField(f)
            }
            (None, None) => {
                return Err(PyTypeError::new_err(
                    "Cursor needs where the cursor is read from: header= or json_field=",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(PyTypeError::new_err(
                    "Cursor takes header= or json_field=, not both",
                ))
            }
        };
        let mut c = Cursor::new(from);
        match (
            opt_str("query", query)?,
            opt_str("send_header", send_header)?,
        ) {
            (Some(q), None) => {
                if q.is_empty() {
                    return Err(PyValueError::new_err("query must not be empty"));
                }
                c.to = CursorTo::Query(q);
            }
            (None, Some(h)) => c.to = CursorTo::Header(token("send_header", &h)?),
            (None, None) => {}
            (Some(_), Some(_)) => {
                return Err(PyTypeError::new_err(
                    "Cursor takes query= or send_header=, not both",
                ))
            }
        }
        if let Some(i) = opt_str("initial", initial)? {
            if i.chars().any(char::is_control) {
                return Err(PyValueError::new_err(
                    "initial must not contain control characters",
                ));
            }
            c.initial = Some(i);
        }
        Ok(PyCursor { inner: c })
    }

    /// The response header the cursor is read from, or `None`.
    #[getter]
    fn header(&self) -> Option<&str> {
        match &self.inner.from {
            CursorFrom::Header(h) => Some(h),
            _ => None,
        }
    }
    /// The field of a JSON object body the cursor is read from, or `None`.
    #[getter]
    fn json_field(&self) -> Option<&str> {
        match &self.inner.from {
            CursorFrom::JsonField(f) => Some(f),
            _ => None,
        }
    }
    /// The query parameter the cursor is sent in, or `None`.
    #[getter]
    fn query(&self) -> Option<&str> {
        match &self.inner.to {
            CursorTo::Query(q) => Some(q),
            _ => None,
        }
    }
    /// The request header the cursor is sent in, or `None`.
    #[getter]
    fn send_header(&self) -> Option<&str> {
        match &self.inner.to {
            CursorTo::Header(h) => Some(h),
            _ => None,
        }
    }
    /// The cursor of the first request, or `None`.
    #[getter]
    fn initial(&self) -> Option<&str> {
        self.inner.initial.as_deref()
    }
    fn __repr__(&self) -> String {
        let mut parts = Vec::new();
        let mut add = |k: &str, v: Option<&str>| {
            if let Some(v) = v {
                parts.push(format!("{k}={v:?}"));
            }
        };
        add("header", self.header());
        add("json_field", self.json_field());
        add("query", self.query());
        add("send_header", self.send_header());
        add("initial", self.initial());
        format!("Cursor({})", parts.join(", "))
    }
}

fn framing(v: &Bound<'_, PyAny>) -> PyResult<Framing> {
    Ok(match string("framing", v)?.as_str() {
        "lines" => Framing::Lines,
        "ndjson" => Framing::Ndjson,
        "chunks" => Framing::Chunks,
        other => {
            return Err(PyValueError::new_err(format!(
                "framing must be \"lines\", \"ndjson\" or \"chunks\", got {other:?}"
            )))
        }
    })
}

/// Checked connection options (built by `rtwire.connect` from its keyword
/// arguments).
#[pyclass(module = "rtwire._rtwire", name = "Options", frozen)]
#[derive(Debug, Clone)]
pub struct PyOptions {
    pub(crate) inner: Options,
}

fn headers(v: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let bad = || {
        PyTypeError::new_err(format!(
            "headers must be a mapping or an iterable of (name, value) pairs of str, not {}",
            type_name(v)
        ))
    };
    if v.is_instance_of::<PyString>() || v.is_instance_of::<pyo3::types::PyBytes>() {
        return Err(bad());
    }
    let items = if let Ok(m) = v.cast::<PyMapping>() {
        m.items()?.into_any()
    } else {
        v.clone()
    };
    let mut out = Vec::new();
    for item in items.try_iter().map_err(|_| bad())? {
        let item = item?;
        let (k, val): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract().map_err(|_| bad())?;
        out.push((string("headers name", &k)?, string("headers value", &val)?));
    }
    Ok(out)
}

pub(crate) fn str_list(name: &str, v: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if v.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a sequence of str, not a single str"
        )));
    }
    let it = v.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be a sequence of str, not {}",
            type_name(v)
        ))
    })?;
    it.map(|x| string(name, &x?)).collect()
}

#[pymethods]
impl PyOptions {
    #[new]
    #[pyo3(signature = (
        *,
        transport = None,
        headers = None,
        subprotocols = None,
        origin = None,
        reconnect = None,
        open_timeout = None,
        close_timeout = None,
        ping_interval = None,
        ping_timeout = None,
        max_message_size = None,
        max_frame_size = None,
        send_queue_bytes = None,
        event_queue = None,
        proxy = None,
        cafile = None,
        cadata = None,
        certfile = None,
        keyfile = None,
        insecure = None,
        disable_ping = false,
        send_url = None,
        last_event_id = None,
        read_timeout = None,
        poll_interval = None,
        long_poll_timeout = None,
        long_poll_post = None,
        json_array = None,
        cursor = None,
        framing = None,
        max_line = None,
        retry_server_errors = None,
        max_redirects = None,
        rtwire_protocol = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        transport: Option<&Bound<'_, PyAny>>,
        headers: Option<&Bound<'_, PyAny>>,
        subprotocols: Option<&Bound<'_, PyAny>>,
        origin: Option<&Bound<'_, PyAny>>,
        reconnect: Option<&Bound<'_, PyAny>>,
        open_timeout: Option<&Bound<'_, PyAny>>,
        close_timeout: Option<&Bound<'_, PyAny>>,
        ping_interval: Option<&Bound<'_, PyAny>>,
        ping_timeout: Option<&Bound<'_, PyAny>>,
        max_message_size: Option<&Bound<'_, PyAny>>,
        max_frame_size: Option<&Bound<'_, PyAny>>,
        send_queue_bytes: Option<&Bound<'_, PyAny>>,
        event_queue: Option<&Bound<'_, PyAny>>,
        proxy: Option<&Bound<'_, PyAny>>,
        cafile: Option<&Bound<'_, PyAny>>,
        cadata: Option<&Bound<'_, PyAny>>,
        certfile: Option<&Bound<'_, PyAny>>,
        keyfile: Option<&Bound<'_, PyAny>>,
        insecure: Option<&Bound<'_, PyAny>>,
        disable_ping: bool,
        send_url: Option<&Bound<'_, PyAny>>,
        last_event_id: Option<&Bound<'_, PyAny>>,
        read_timeout: Option<&Bound<'_, PyAny>>,
        poll_interval: Option<&Bound<'_, PyAny>>,
        long_poll_timeout: Option<&Bound<'_, PyAny>>,
        long_poll_post: Option<&Bound<'_, PyAny>>,
        json_array: Option<&Bound<'_, PyAny>>,
        cursor: Option<&Bound<'_, PyAny>>,
        framing: Option<&Bound<'_, PyAny>>,
        max_line: Option<&Bound<'_, PyAny>>,
        retry_server_errors: Option<&Bound<'_, PyAny>>,
        max_redirects: Option<&Bound<'_, PyAny>>,
        rtwire_protocol: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut o = Options::new();
        if let Some(t) = opt_str("transport", transport)? {
            o = o.transport(Transport::from_str(&t).map_err(|e| to_pyerr(py, e))?);
        }
        if let Some(h) = headers.filter(|v| !v.is_none()) {
            o.headers = self::headers(h)?;
        }
        if let Some(s) = subprotocols.filter(|v| !v.is_none()) {
            o.subprotocols = str_list("subprotocols", s)?;
        }
        o.origin = opt_str("origin", origin)?;
        if let Some(r) = reconnect.filter(|v| !v.is_none()) {
            if r.is_instance_of::<PyBool>() {
                if !r.cast::<PyBool>()?.is_true() {
                    o = o.reconnect(Reconnect::disabled());
                }
            } else if let Ok(p) = r.cast::<PyReconnect>() {
                o = o.reconnect(p.get().inner);
            } else {
                return Err(PyTypeError::new_err(format!(
                    "reconnect must be a bool or an rtwire.Reconnect, not {}",
                    type_name(r)
                )));
            }
        }
        if let Some(d) = opt_seconds("open_timeout", open_timeout)? {
            o = o.open_timeout(d);
        }
        if let Some(d) = opt_seconds("close_timeout", close_timeout)? {
            o = o.close_timeout(d);
        }
        let mut interval = o.keepalive.interval;
        let mut timeout = o.keepalive.timeout;
        if disable_ping {
            interval = None;
        } else if let Some(v) = ping_interval.filter(|v| !v.is_none()) {
            interval = Some(seconds("ping_interval", v)?);
        }
        if let Some(d) = opt_seconds("ping_timeout", ping_timeout)? {
            timeout = d;
        }
        o = o.keepalive(interval, timeout);
        let size = |name: &str, v: Option<&Bound<'_, PyAny>>| -> PyResult<Option<usize>> {
            match v.filter(|v| !v.is_none()) {
                None => Ok(None),
                Some(v) => Ok(Some(int_in(name, v, 1, isize::MAX as i64)? as usize)),
            }
        };
        if let Some(n) = size("max_message_size", max_message_size)? {
            o = o.max_message_size(n);
            o.limits.max_frame_size = o.limits.max_frame_size.min(n);
        }
        if let Some(n) = size("max_frame_size", max_frame_size)? {
            o = o.max_frame_size(n);
        }
        if let Some(n) = size("send_queue_bytes", send_queue_bytes)? {
            o = o.send_queue_bytes(n);
        }
        if let Some(n) = size("event_queue", event_queue)? {
            o = o.event_queue(n);
        }
        if let Some(p) = proxy {
            o = o.proxy(if let Ok(b) = p.cast::<PyBool>() {
                if b.is_true() {
                    Proxy::FromEnv
                } else {
                    Proxy::Disabled
                }
            } else if p.is_instance_of::<PyString>() {
                Proxy::Url(string("proxy", p)?)
            } else {
                return Err(PyTypeError::new_err(format!(
                    "proxy must be a str, True (from the environment) or None/False (direct), not {}",
                    type_name(p)
                )));
            });
        }
        if let Some(p) = path("cafile", cafile)? {
            o = o.ca_file(p);
        }
        if let Some(d) = cadata.filter(|v| !v.is_none()) {
            // As for `ssl.SSLContext.load_verify_locations`: PEM as str or bytes.
            let pem: Vec<u8> = if d.is_instance_of::<pyo3::types::PyString>() {
                d.extract::<String>()?.into_bytes()
            } else if let Ok(b) = d.cast::<pyo3::types::PyBytes>() {
                b.as_bytes().to_vec()
            } else {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "cadata must be PEM text (str or bytes), not {}",
                    type_name(d)
                )));
            };
            if o.tls.ca_file.is_some() {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "give cafile or cadata, not both",
                ));
            }
            o = o.ca_pem(pem);
        }
        let cert = path("certfile", certfile)?;
        let key = path("keyfile", keyfile)?;
        match (cert, key) {
            (Some(c), Some(k)) => o = o.client_cert(c, k),
            (None, None) => {}
            _ => {
                return Err(pyo3::exceptions::PyValueError::new_err(
                    "certfile and keyfile go together",
                ))
            }
        }
        if let Some(b) = insecure.filter(|v| !v.is_none()) {
            o = o.insecure(boolean("insecure", b)?);
        }
        let flag = |name: &str, v: Option<&Bound<'_, PyAny>>| -> PyResult<Option<bool>> {
            v.filter(|v| !v.is_none())
                .map(|v| boolean(name, v))
                .transpose()
        };
        if let Some(u) = opt_str("send_url", send_url)? {
            o = o.send_url(u);
        }
        if let Some(id) = opt_str("last_event_id", last_event_id)? {
            if id.contains(['\0', '\r', '\n']) {
                return Err(PyValueError::new_err(
                    "last_event_id must not contain NUL, CR or LF",
                ));
            }
            o = o.last_event_id(id);
        }
        if let Some(v) = read_timeout.filter(|v| !v.is_none()) {
            o = o.read_timeout(positive_seconds("read_timeout", v)?);
        }
        if let Some(v) = poll_interval.filter(|v| !v.is_none()) {
            o = o.poll_interval(positive_seconds("poll_interval", v)?);
        }
        if let Some(v) = long_poll_timeout.filter(|v| !v.is_none()) {
            o.http.long_poll_timeout = positive_seconds("long_poll_timeout", v)?;
        }
        if let Some(b) = flag("long_poll_post", long_poll_post)? {
            o.http.long_poll_post = b;
        }
        if let Some(b) = flag("json_array", json_array)? {
            o.http.json_array = b;
        }
        if let Some(c) = cursor.filter(|v| !v.is_none()) {
            let c = c.cast::<PyCursor>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "cursor must be an rtwire.Cursor or None, not {}",
                    type_name(c)
                ))
            })?;
            o = o.cursor(c.get().inner.clone());
        }
        if let Some(f) = framing.filter(|v| !v.is_none()) {
            o = o.framing(self::framing(f)?);
        }
        if let Some(n) = size("max_line", max_line)? {
            o.http.max_line = n;
        }
        if let Some(b) = flag("retry_server_errors", retry_server_errors)? {
            o.http.retry_server_errors = b;
        }
        if let Some(n) = max_redirects.filter(|v| !v.is_none()) {
            o.http.max_redirects = int_in("max_redirects", n, 0, 1000)? as usize;
        }
        if let Some(b) = flag("rtwire_protocol", rtwire_protocol)? {
            o = o.rtwire_protocol(b);
        }
        Ok(PyOptions { inner: o })
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}
