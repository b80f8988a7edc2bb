//! Connection options from JavaScript, converted by the option schema.
//!
//! `lib/options.js` walks the user's options object by the schema's Node
//! paths ([`option_schema`]), checks each value's JavaScript type and hands
//! over `[canonicalName, value]` pairs in schema order; here each value
//! becomes an [`rtwire::options::Value`] by the option's kind alone, and
//! [`Options::set`] applies every rule.

use napi::bindgen_prelude::{Buffer, Either, Either5};
use napi_derive::napi;
use rtwire::options::{Kind, Spec, Value, SCHEMA, SERVER_SCHEMA};
use rtwire::{Error, ErrorKind, Options};

use crate::errors::ErrorInfo;

/// An option's value as JavaScript has it: `null` (off), a boolean, a
/// number (milliseconds for durations), a string, a Buffer, a list of
/// strings or a list of `[name, value]` pairs.
#[napi]
pub type OptionValue =
    Option<Either5<bool, f64, String, Buffer, Either<Vec<String>, Vec<(String, String)>>>>;

/// One option of the schema, for the JavaScript layer.
#[napi(object)]
pub struct OptionSpec {
    /// The canonical name (`limits.max_message_size`).
    pub name: String,
    /// The path in the options object (`keepalive.interval`).
    pub node: String,
    /// `bool`, `bytes`, `count`, `duration`, `choice`, `text`, `path`,
    /// `pem`, `tokens`, `headers` or `texts`.
    pub kind: String,
    /// What `null` means, for an option that can be off.
    pub optional: Option<String>,
    /// The default value (durations in milliseconds).
    pub default: OptionValue,
    /// The smallest accepted number: for sizes, counts, and `0` for the
    /// durations that may be zero (other durations must be greater).
    pub min: Option<f64>,
    /// The largest accepted number, for counts.
    pub max: Option<f64>,
}

impl std::fmt::Debug for OptionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OptionSpec")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A core value for JavaScript (durations in milliseconds).
fn to_js(v: Value) -> OptionValue {
    Some(match v {
        Value::Bool(b) => Either5::A(b),
        Value::Int(n) => Either5::B(n as f64),
        Value::Float(n) | Value::Millis(n) => Either5::B(n),
        Value::Seconds(s) => Either5::B(s * 1000.0),
        Value::Duration(d) => Either5::B(d.as_secs_f64() * 1000.0),
        Value::Text(s) => Either5::C(s),
        Value::Bytes(b) => Either5::D(b.into()),
        Value::List(l) => Either5::E(Either::A(l)),
        Value::Pairs(l) => Either5::E(Either::B(l)),
        _ => return None,
    })
}

/// A JavaScript value for an option of kind `kind`: numbers are
/// milliseconds for durations; the core checks the rest.
pub(crate) fn from_js(kind: Kind, v: OptionValue) -> Value {
    match v {
        None => Value::Off,
        Some(Either5::A(b)) => Value::Bool(b),
        Some(Either5::B(n)) if matches!(kind, Kind::Duration { .. }) => Value::Millis(n),
        Some(Either5::B(n)) => Value::Float(n),
        Some(Either5::C(s)) => Value::Text(s),
        Some(Either5::D(b)) => Value::Bytes(b.to_vec()),
        Some(Either5::E(Either::A(l))) if l.is_empty() && kind == Kind::Headers => {
            Value::Pairs(Vec::new())
        }
        Some(Either5::E(Either::A(l))) => Value::List(l),
        Some(Either5::E(Either::B(l))) => Value::Pairs(l),
    }
}

/// Every connection option of the core, in the order they are applied.
#[napi]
pub fn option_schema() -> Vec<OptionSpec> {
    spec_list(SCHEMA)
}

/// Every server option of the core (`serve()`), in the order they are
/// applied; `node` is empty for `bind` (`host` and `port`).
#[napi]
pub fn server_option_schema() -> Vec<OptionSpec> {
    spec_list(SERVER_SCHEMA)
}

fn spec_list<T: Default>(schema: &'static [Spec<T>]) -> Vec<OptionSpec> {
    schema
        .iter()
        .map(|s| {
            let (min, max) = match s.kind {
                Kind::Bytes { min } => (Some(min as f64), None),
                Kind::Count { min, max } => (Some(min as f64), Some(max as f64)),
                Kind::Duration { zero: true } => (Some(0.0), None),
                _ => (None, None),
            };
            OptionSpec {
                name: s.name.into(),
                node: s.node.into(),
                kind: Kind::name(s.kind).into(),
                optional: s.optional.map(Into::into),
                default: to_js(s.default_value()),
                min,
                max,
            }
        })
        .collect()
}

/// The core options from `[canonicalName, value]` pairs, set in order.
///
/// # Errors
/// `InvalidArgument` naming the option (its Node path first) for an
/// unknown name or a value the schema refuses.
pub(crate) fn build(pairs: Vec<(String, OptionValue)>) -> Result<Options, Error> {
    let mut o = Options::new();
    for (name, v) in pairs {
        let Some(spec) = rtwire::options::spec(&name) else {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown option {name:?}"),
            ));
        };
        o.set(spec.name, from_js(spec.kind, v))
            .map_err(|e| Error::new(e.kind(), format!("options.{}: {}", spec.node, e.message())))?;
    }
    Ok(o)
}

/// The server options from `[canonicalName, value]` pairs of the server
/// schema, set in order, then `ServerOptions::validate`.
///
/// # Errors
/// `InvalidArgument` with the core's message, which names the option by its
/// canonical name.
pub(crate) fn build_server(
    pairs: Vec<(String, OptionValue)>,
) -> Result<rtwire::server::ServerOptions, Error> {
    let mut o = rtwire::server::ServerOptions::new();
    for (name, v) in pairs {
        let Some(spec) = rtwire::options::server_spec(&name) else {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown option {name:?}"),
            ));
        };
        o.set(spec.name, from_js(spec.kind, v))?;
    }
    o.validate()?;
    Ok(o)
}

/// Checks `[canonicalName, value]` pairs of the server schema without
/// starting a server: `null` when the core accepts them, else the error
/// (its message names the option by its canonical name).
#[napi]
pub fn check_server_options(options: Vec<(String, OptionValue)>) -> Option<ErrorInfo> {
    build_server(options).err().map(ErrorInfo::from)
}

/// Checks `[canonicalName, value]` pairs without connecting: `null` when
/// the core accepts each value and the whole (`Options::validate`), else
/// the error.
#[napi]
pub fn check_options(options: Vec<(String, OptionValue)>) -> Option<ErrorInfo> {
    build(options)
        .and_then(|o| o.validate())
        .err()
        .map(ErrorInfo::from)
}
