//! Argument checks that name the argument: `TypeError` for a wrong type,
//! `ValueError` for a value out of range.

use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyMemoryView, PyString};

use rtwire::Data;

/// The Python type name of `v`, for messages.
pub(crate) fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A non-negative, finite number of seconds. `bool` is refused.
pub(crate) fn seconds(name: &str, v: &Bound<'_, PyAny>) -> PyResult<Duration> {
    if v.is_instance_of::<PyBool>() || v.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be a number of seconds, not {}",
            type_name(v)
        )));
    }
    let f: f64 = v.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be a number of seconds, not {}",
            type_name(v)
        ))
    })?;
    if !f.is_finite() || f < 0.0 {
        return Err(PyValueError::new_err(format!(
            "{name} must be a finite number of seconds >= 0, got {f}"
        )));
    }
    Duration::try_from_secs_f64(f)
        .map_err(|_| PyValueError::new_err(format!("{name} is out of range: {f}")))
}

/// A positive number of seconds, or `None`.
pub(crate) fn opt_seconds(name: &str, v: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Duration>> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => seconds(name, v).map(Some),
    }
}

/// An integer in `min..=max`. `bool` is refused.
pub(crate) fn int_in(name: &str, v: &Bound<'_, PyAny>, min: i64, max: i64) -> PyResult<i64> {
    if v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an int, not bool"
        )));
    }
    let n: i64 = v.extract().map_err(|_| {
        PyTypeError::new_err(format!("{name} must be an int, not {}", type_name(v)))
    })?;
    if n < min || n > max {
        return Err(PyValueError::new_err(format!(
            "{name} must be between {min} and {max}, got {n}"
        )));
    }
    Ok(n)
}

/// A `str`.
pub(crate) fn string(name: &str, v: &Bound<'_, PyAny>) -> PyResult<String> {
    let s = v
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a str, not {}", type_name(v))))?;
    Ok(s.to_cow()?.into_owned())
}

/// A sequence of `str` (a single `str` is refused).
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

/// A message to send: `str` → text; `bytes`, `bytearray` or a contiguous
/// `memoryview` → binary. `bytes` are not copied.
pub(crate) fn message(v: &Bound<'_, PyAny>) -> PyResult<Data> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Data::from(s.to_cow()?.into_owned()));
    }
    if v.is_instance_of::<PyBytes>() || v.is_instance_of::<PyByteArray>() {
        let b: pyo3::pybacked::PyBackedBytes = v.extract()?;
        return Ok(Data::Binary(bytes::Bytes::from_owner(b)));
    }
    if v.is_instance_of::<PyMemoryView>() {
        if !v.getattr("c_contiguous")?.is_truthy()? {
            return Err(PyValueError::new_err(
                "message memoryview must be C-contiguous",
            ));
        }
        let b = v.call_method0("tobytes")?;
        let b: pyo3::pybacked::PyBackedBytes = b.extract()?;
        return Ok(Data::Binary(bytes::Bytes::from_owner(b)));
    }
    Err(PyTypeError::new_err(format!(
        "message must be str, bytes, bytearray or memoryview, not {}",
        type_name(v)
    )))
}
