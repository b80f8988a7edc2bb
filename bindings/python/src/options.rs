//! Connection options from Python keyword arguments, driven by the core's
//! schema (`rtwire::options::SCHEMA`): each keyword's value is converted by
//! its option's kind into a `Value` and given to `Options::set`, which checks
//! it. Nothing here knows a particular option; the only Python spellings are
//! rules by kind (`proxy=True`) and the keywords that take a group object
//! (`reconnect=rtwire.Reconnect(...)`, `cursor=rtwire.Cursor(...)`).

use pyo3::conversion::FromPyObjectOwned;
use pyo3::exceptions::{PyKeyError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyBytes, PyCFunction, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple,
    PyType,
};

use rtwire::options::{Kind, Spec, TextRule, Value, SCHEMA, SERVER_SCHEMA};
use rtwire::{Error, Options};

use crate::args::type_name;
use crate::errors::to_pyerr;

/// The keywords of `rtwire.connect` that take a group object: the keyword,
/// the schema group whose options the object holds, and its class.
const GROUPS: [(&str, &str, &str); 2] = [
    ("reconnect", "reconnect", "Reconnect"),
    ("cursor", "http.cursor", "Cursor"),
];

/// Keywords of `rtwire.Cursor` that exclude each other; `true`: one of the
/// two is needed.
const CURSOR_PAIRS: [(&str, &str, bool); 2] = [
    ("header", "json_field", true),
    ("query", "send_header", false),
];

/// The options of a group object's class: those of `group` without a
/// keyword of `rtwire.connect`, named by their last part.
fn members(group: &str) -> impl Iterator<Item = &'static Spec> + '_ {
    SCHEMA
        .iter()
        .filter(move |s| s.group() == group && s.python.is_empty())
}

/// The Python exception for a core error, with the options it names spelled
/// as Python keywords (`keepalive.interval` → `ping_interval`).
fn py_error(py: Python<'_>, e: Error) -> PyErr {
    let mut dotted: Vec<&Spec> = SCHEMA.iter().filter(|s| s.name.contains('.')).collect();
    dotted.sort_by_key(|s| std::cmp::Reverse(s.name.len()));
    let mut msg = e.message().to_string();
    for s in dotted {
        let kw = if s.python.is_empty() {
            s.field()
        } else {
            s.python
        };
        msg = msg.replace(s.name, kw);
    }
    to_pyerr(py, Error::new(e.kind(), msg))
}

/// `TypeError` for a keyword `known` refuses, as Python words it.
pub(crate) fn check_keywords(
    what: &str,
    kwargs: Option<&Bound<'_, PyDict>>,
    known: impl Fn(&str) -> bool,
) -> PyResult<()> {
    for k in kwargs.into_iter().flat_map(|d| d.keys()) {
        let k: String = k.extract()?;
        if !known(&k) {
            return Err(PyTypeError::new_err(format!(
                "{what} got an unexpected keyword argument '{k}'"
            )));
        }
    }
    Ok(())
}

pub(crate) fn arg<'py>(
    kwargs: Option<&Bound<'py, PyDict>>,
    k: &str,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    kwargs.map_or(Ok(None), |d| d.get_item(k))
}

/// What a keyword of `spec` takes, for a `TypeError`.
fn expected<T>(spec: &Spec<T>, kw: &str) -> String {
    let mut want = match spec.kind {
        Kind::Bool => "a bool",
        Kind::Bytes { .. } | Kind::Count { .. } => "an int",
        Kind::Duration { .. } => "a number of seconds",
        Kind::Text(TextRule::Proxy) => "a str, a bool",
        Kind::Choice(_) | Kind::Text(_) => "a str",
        Kind::Path => "a str or os.PathLike",
        Kind::Pem => "PEM text (str or bytes)",
        Kind::Tokens | Kind::Texts => "a sequence of str",
        Kind::Headers => "a mapping or an iterable of (name, value) pairs of str",
        _ => "of another type",
    }
    .to_string();
    if let Some((_, _, class)) = GROUPS.iter().find(|g| g.0 == kw) {
        want += &format!(" or an rtwire.{class}");
    }
    if spec.optional.is_some() {
        want += " or None";
    }
    want
}

/// A Python value as a schema value, by its type; the kind tells seconds
/// from counts and which container is meant. `None`: no shape the schema
/// knows.
fn shape(kind: Kind, v: &Bound<'_, PyAny>) -> PyResult<Option<Value>> {
    let secs = matches!(kind, Kind::Duration { .. });
    let number = |v: &Bound<'_, PyAny>| v.extract::<f64>().unwrap_or(f64::INFINITY);
    Ok(Some(if let Ok(b) = v.cast::<PyBool>() {
        Value::Bool(b.is_true())
    } else if v.is_instance_of::<PyInt>() && !secs {
        v.extract::<i64>()
            .map_or_else(|_| Value::Float(number(v)), Value::Int)
    } else if v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>() {
        if secs {
            Value::Seconds(number(v))
        } else {
            Value::Float(number(v))
        }
    } else if let Ok(s) = v.cast::<PyString>() {
        Value::Text(s.to_cow()?.into_owned())
    } else if let Ok(b) = v.cast::<PyBytes>() {
        Value::Bytes(b.as_bytes().to_vec())
    } else if kind == Kind::Path && v.hasattr("__fspath__")? {
        return shape(kind, &v.py().import("os")?.call_method1("fspath", (v,))?);
    } else if kind == Kind::Tokens || kind == Kind::Texts {
        return Ok(each(v)?.map(Value::List));
    } else if kind == Kind::Headers {
        let items = match v.cast::<PyMapping>() {
            Ok(m) => m.items()?.into_any(),
            Err(_) => v.clone(),
        };
        return Ok(each(&items)?.map(Value::Pairs));
    } else {
        return Ok(None);
    }))
}

/// Every item of iterable `v` as a `T`; `None` when `v` is not iterable or
/// an item is not a `T`.
fn each<'py, T: FromPyObjectOwned<'py>>(v: &Bound<'py, PyAny>) -> PyResult<Option<Vec<T>>> {
    let Ok(items) = v.try_iter() else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for x in items {
        match x?.extract() {
            Ok(t) => out.push(t),
            Err(_) => return Ok(None),
        }
    }
    Ok(Some(out))
}

/// The value of keyword `kw` for option `spec`; `Ok(None)`: the default
/// (`None` for an option that cannot be off).
pub(crate) fn convert<T>(
    spec: &Spec<T>,
    kw: &str,
    v: &Bound<'_, PyAny>,
) -> PyResult<Option<Value>> {
    if v.is_none() {
        return Ok(spec.optional.map(|_| Value::Off));
    }
    let value = match (spec.kind, shape(spec.kind, v)?) {
        // `proxy=True`: from the environment; `proxy=False`: none.
        (Kind::Text(TextRule::Proxy), Some(Value::Bool(b))) => Some(if b {
            Value::Text("env".into())
        } else {
            Value::Off
        }),
        // A group object (`reconnect=rtwire.Reconnect(...)`) switches it on.
        (Kind::Bool, None) if takes_group(kw, v) => Some(Value::Bool(true)),
        (_, value) => value,
    };
    match value {
        Some(value) if value == Value::Off || spec.kind.accepts(&value) => Ok(Some(value)),
        _ => Err(PyTypeError::new_err(format!(
            "{kw} must be {}, not {}",
            expected(spec, kw),
            type_name(v)
        ))),
    }
}

/// A schema value as a Python value: durations in seconds, off as `None`.
pub(crate) fn value_to_py(py: Python<'_>, v: Value) -> PyResult<Bound<'_, PyAny>> {
    Ok(match v {
        Value::Bool(b) => PyBool::new(py, b).to_owned().into_any(),
        Value::Int(n) => n.into_pyobject(py)?.into_any(),
        Value::Float(f) | Value::Seconds(f) => f.into_pyobject(py)?.into_any(),
        Value::Millis(f) => (f / 1000.0).into_pyobject(py)?.into_any(),
        Value::Duration(d) => d.as_secs_f64().into_pyobject(py)?.into_any(),
        Value::Text(s) => PyString::new(py, &s).into_any(),
        Value::Bytes(b) => PyBytes::new(py, &b).into_any(),
        Value::List(l) => PyList::new(py, l)?.into_any(),
        Value::Pairs(l) => PyList::new(py, l)?.into_any(),
        _ => py.None().into_bound(py),
    })
}

/// The options of one schema group given to a group object
/// (`rtwire.Reconnect(max_delay=5)`), checked by the core.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    group: &'static str,
    class: &'static str,
    /// The values given, by canonical name, in schema order.
    items: Vec<(&'static str, Value)>,
    /// Default options with these values set, for the attributes.
    view: Options,
}

impl PartialEq for Group {
    fn eq(&self, other: &Self) -> bool {
        members(self.group).all(|s| self.view.get(s.name) == other.view.get(s.name))
    }
}

impl Group {
    fn new(
        py: Python<'_>,
        group: &'static str,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let (_, _, class) = *GROUPS.iter().find(|g| g.1 == group).expect("a group");
        check_keywords(&format!("{class}()"), kwargs, |k| {
            members(group).any(|s| s.field() == k)
        })?;
        let mut g = Group {
            group,
            class,
            items: Vec::new(),
            view: Options::new(),
        };
        for s in members(group) {
            let Some(v) = arg(kwargs, s.field())? else {
                continue;
            };
            if let Some(value) = convert(s, s.field(), &v)? {
                g.view
                    .set(s.name, value.clone())
                    .map_err(|e| py_error(py, e))?;
                g.items.push((s.name, value));
            }
        }
        g.view.validate().map_err(|e| py_error(py, e))?;
        Ok(g)
    }

    fn apply(&self, o: &mut Options) -> Result<(), Error> {
        self.items
            .iter()
            .try_for_each(|(name, v)| o.set(name, v.clone()))
    }

    fn repr(&self, py: Python<'_>) -> PyResult<String> {
        let mut parts = Vec::new();
        for s in members(self.group) {
            match self.view.get(s.name) {
                None | Some(Value::Off) => {}
                Some(v) => parts.push(format!("{}={}", s.field(), value_to_py(py, v)?.repr()?)),
            }
        }
        Ok(format!("{}({})", self.class, parts.join(", ")))
    }
}

/// Runs `f` on the group of a `Reconnect` or `Cursor`.
fn with_group<R>(v: &Bound<'_, PyAny>, f: impl FnOnce(&Group) -> R) -> Option<R> {
    if let Ok(r) = v.cast::<PyReconnect>() {
        return Some(f(&r.get().0));
    }
    v.cast::<PyCursor>().ok().map(|c| f(&c.get().0))
}

/// Whether `v` is the group object that keyword `kw` takes.
fn takes_group(kw: &str, v: &Bound<'_, PyAny>) -> bool {
    with_group(v, |g| GROUPS.iter().any(|x| x.0 == kw && x.1 == g.group)) == Some(true)
}

/// Adds to a group object's class a read-only attribute per option of its
/// group, named by the option's last part.
pub(crate) fn add_attributes(cls: &Bound<'_, PyType>, group: &'static str) -> PyResult<()> {
    let py = cls.py();
    let property = py.import("builtins")?.getattr("property")?;
    for s in members(group) {
        let name = s.name;
        let get = PyCFunction::new_closure(
            py,
            None,
            None,
            move |args: &Bound<'_, PyTuple>,
                  _: Option<&Bound<'_, PyDict>>|
                  -> PyResult<Py<PyAny>> {
                let this = args.get_item(0)?;
                let v = with_group(&this, |g| g.view.get(name)).flatten();
                Ok(value_to_py(args.py(), v.unwrap_or(Value::Off))?.unbind())
            },
        )?;
        cls.setattr(
            s.field(),
            property.call1((get, py.None(), py.None(), s.doc))?,
        )?;
    }
    Ok(())
}

/// The reconnect policy: exponential backoff with full jitter. The keywords
/// are those of the schema group `reconnect`.
#[pyclass(module = "rtwire", name = "Reconnect", frozen)]
#[derive(Debug, Clone)]
pub struct PyReconnect(Group);

#[pymethods]
impl PyReconnect {
    #[new]
    #[pyo3(signature = (**kw))]
    fn new(py: Python<'_>, kw: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Group::new(py, "reconnect", kw).map(PyReconnect)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.0.repr(py)
    }
}

/// Long-polling and streaming cursor: where the next cursor is read from
/// (exactly one of `header` or `json_field`) and where it is sent on the next
/// request (the query parameter `query`, default `cursor`, or the request
/// header `send_header`). The keywords are those of the schema group
/// `http.cursor`.
#[pyclass(module = "rtwire", name = "Cursor", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct PyCursor(Group);

#[pymethods]
impl PyCursor {
    #[new]
    #[pyo3(signature = (**kw))]
    fn new(py: Python<'_>, kw: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let given = |k| Ok::<_, PyErr>(arg(kw, k)?.is_some_and(|v| !v.is_none()));
        for (a, b, needed) in CURSOR_PAIRS {
            if given(a)? && given(b)? {
                return Err(PyTypeError::new_err(format!(
                    "Cursor takes {a}= or {b}=, not both"
                )));
            }
            if needed && !given(a)? && !given(b)? {
                return Err(PyTypeError::new_err(format!("Cursor needs {a}= or {b}=")));
            }
        }
        Group::new(py, "http.cursor", kw).map(PyCursor)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        self.0.repr(py)
    }
}

/// Checked connection options (built by `rtwire.connect` from its keyword
/// arguments, which are the schema's `python` names).
#[pyclass(module = "rtwire._rtwire", name = "Options", frozen)]
#[derive(Debug, Clone)]
pub struct PyOptions {
    pub(crate) inner: Options,
}

#[pymethods]
impl PyOptions {
    /// Walks the schema in order, setting each option given as a keyword;
    /// a group object is applied where its group's options are.
    #[new]
    #[pyo3(signature = (**options))]
    fn new(py: Python<'_>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        check_keywords("connect()", options, |k| {
            SCHEMA.iter().any(|s| s.python == k) || GROUPS.iter().any(|g| g.0 == k)
        })?;
        let mut o = Options::new();
        let mut applied = Vec::new();
        for s in SCHEMA {
            if !s.python.is_empty() {
                if let Some(v) = arg(options, s.python)? {
                    if let Some(value) = convert(s, s.python, &v)? {
                        o.set(s.name, value).map_err(|e| py_error(py, e))?;
                    }
                }
                continue;
            }
            let Some(&(kw, group, class)) = GROUPS.iter().find(|g| g.1 == s.group()) else {
                continue;
            };
            if applied.contains(&group) {
                continue;
            }
            applied.push(group);
            let Some(v) = arg(options, kw)?.filter(|v| !v.is_none()) else {
                continue;
            };
            match with_group(&v, |g| (g.group == group).then(|| g.apply(&mut o))).flatten() {
                Some(r) => r.map_err(|e| py_error(py, e))?,
                // A keyword of its own (`reconnect=True`) was set above.
                None if SCHEMA.iter().any(|s| s.python == kw) => {}
                None => {
                    return Err(PyTypeError::new_err(format!(
                        "{kw} must be an rtwire.{class} or None, not {}",
                        type_name(&v)
                    )))
                }
            }
        }
        o.validate().map_err(|e| py_error(py, e))?;
        Ok(PyOptions { inner: o })
    }

    /// The value of the option with canonical name `name` (durations in
    /// seconds, off as `None`).
    fn get<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let v = self
            .inner
            .get(name)
            .ok_or_else(|| PyKeyError::new_err(name.to_string()))?;
        value_to_py(py, v)
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.inner)
    }
}

/// The option schema: one dict per option, in order, with `name`, `python`
/// (the keyword of `connect`, or empty), `group`, `field`, `kind`,
/// `optional`, `off` (what off means, or `None`), `default`, `doc`, and the
/// kind's rule: `min`/`max` (sizes, counts), `zero` (durations), `words`
/// (choices), `rule` (texts).
#[pyfunction]
pub(crate) fn option_schema(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    schema_list(py, SCHEMA)
}

/// The server option schema (`rtwire.serve`'s keywords), in the form of
/// `option_schema`; `python` is empty for `bind` (`host` and `port`).
#[pyfunction]
pub(crate) fn server_option_schema(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    schema_list(py, SERVER_SCHEMA)
}

fn schema_list<'py, T: Default>(
    py: Python<'py>,
    schema: &'static [Spec<T>],
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for s in schema {
        let d = PyDict::new(py);
        d.set_item("name", s.name)?;
        d.set_item("python", s.python)?;
        d.set_item("group", s.group())?;
        d.set_item("field", s.field())?;
        d.set_item("kind", Kind::name(s.kind))?;
        d.set_item("optional", s.optional.is_some())?;
        d.set_item("off", s.optional)?;
        d.set_item("default", value_to_py(py, s.default_value())?)?;
        d.set_item("doc", s.doc)?;
        match s.kind {
            Kind::Bytes { min } => d.set_item("min", min)?,
            Kind::Count { min, max } => {
                d.set_item("min", min)?;
                d.set_item("max", max)?;
            }
            Kind::Duration { zero } => d.set_item("zero", zero)?,
            Kind::Choice(words) => d.set_item("words", PyTuple::new(py, words)?)?,
            Kind::Text(rule) => d.set_item("rule", format!("{rule:?}"))?,
            _ => {}
        }
        list.append(d)?;
    }
    Ok(list)
}
