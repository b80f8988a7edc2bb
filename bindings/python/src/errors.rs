//! `rtwire::Error` → Python exception. The classes are defined in Python
//! (`rtwire/exceptions.py`); the one mapping from an `ErrorKind` to its class
//! lives there too (`_from_core`), keyed by the kind's stable name. A test
//! asserts that every kind of `rtwire::ErrorKind::ALL` has its own class.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyList};

use rtwire::{CloseInfo, Error, ErrorKind};

use crate::events::data_to_py;

static FROM_CORE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static CONCURRENCY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn exceptions_attr(py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
    Ok(py.import("rtwire.exceptions")?.getattr(name)?.unbind())
}

/// The Python exception instance for a core error. `close` fills in the
/// close code, reason and unsent messages of a `ConnectionClosed`.
pub(crate) fn error_value<'py>(
    py: Python<'py>,
    mut err: Error,
    close: Option<&CloseInfo>,
) -> PyResult<Bound<'py, PyAny>> {
    let factory = FROM_CORE.get_or_try_init(py, || exceptions_attr(py, "_from_core"))?;
    let kw = PyDict::new(py);
    if let Some(s) = err.status() {
        kw.set_item("status", s)?;
        kw.set_item("headers", err.headers().to_vec())?;
        kw.set_item("body", err.body().map(|b| PyBytes::new(py, b)))?;
    }
    if let Some(c) = err.close_code() {
        kw.set_item("close_code", c)?;
    }
    let mut unsent = Vec::new();
    if let Some(d) = err.take_unsent() {
        unsent.push(data_to_py(py, &d)?);
    }
    if let Some(c) = close {
        kw.set_item("code", c.code)?;
        kw.set_item("reason", &c.reason)?;
        kw.set_item("clean", c.clean)?;
        for d in &c.unsent {
            unsent.push(data_to_py(py, d)?);
        }
    }
    kw.set_item("unsent", PyList::new(py, unsent)?)?;
    factory
        .call(py, (err.kind().as_str(), err.message()), Some(&kw))
        .map(|v| v.into_bound(py))
}

/// The `PyErr` for a core error.
pub(crate) fn to_pyerr(py: Python<'_>, err: Error) -> PyErr {
    match error_value(py, err, None) {
        Ok(v) => PyErr::from_value(v),
        Err(e) => e,
    }
}

/// `rtwire.ConcurrencyError`: two readers at once.
pub(crate) fn concurrency_error(py: Python<'_>, what: &str) -> PyErr {
    match CONCURRENCY.get_or_try_init(py, || exceptions_attr(py, "ConcurrencyError")) {
        Ok(cls) => match cls.call1(py, (what,)) {
            Ok(v) => PyErr::from_value(v.into_bound(py)),
            Err(e) => e,
        },
        Err(e) => e,
    }
}

/// Builds a core error of the kind named `kind` with `message` and maps it to
/// its Python exception (used by the parity test of the mapping).
#[pyfunction]
#[pyo3(signature = (kind, message = "test"))]
pub(crate) fn error_for_kind<'py>(
    py: Python<'py>,
    kind: &str,
    message: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let k = ErrorKind::ALL
        .iter()
        .copied()
        .find(|k| k.as_str() == kind)
        .ok_or_else(|| PyValueError::new_err(format!("unknown error kind {kind:?}")))?;
    error_value(py, Error::new(k, message), None)
}
