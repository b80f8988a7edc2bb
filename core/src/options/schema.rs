//! The option schema: every connection option declared once, with its name
//! in each language, its kind, its documentation and its rules.
//!
//! Everything that takes options by name goes through this table: the C
//! setters, the Python keyword arguments, the Node option object, the CLI
//! flags and the generated stubs and docs. A binding converts its own
//! values into a [`Value`] and calls [`Options::set`]; the range checks,
//! the accepted words and the error messages are here, so every language
//! accepts and refuses the same values with the same
//! [`ErrorKind::InvalidArgument`].
//!
//! ```
//! use rtwire::options::{Options, Value, SCHEMA};
//! let mut o = Options::new();
//! o.set("limits.max_message_size", Value::Int(1 << 20)).unwrap();
//! o.set("open_timeout", Value::Millis(2500.0)).unwrap();
//! o.set("transport", Value::Text("sse".into())).unwrap();
//! assert_eq!(o.limits.max_message_size, 1 << 20);
//! assert!(o.set("limits.event_queue", Value::Int(0)).is_err());
//! // The default of every option, as a value:
//! let spec = SCHEMA.iter().find(|s| s.name == "open_timeout").unwrap();
//! assert_eq!(spec.default_value(), Value::Duration(std::time::Duration::from_secs(10)));
//! ```

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, ErrorKind};

use super::{Cursor, CursorFrom, CursorTo, Framing, Options, Proxy, Transport};

/// A value given for an option, in the form a binding has it.
///
/// Numbers come as [`Value::Int`] or [`Value::Float`]; durations may also
/// come as [`Value::Seconds`] (Python) or [`Value::Millis`] (C, Node); the
/// schema checks that they are finite, not negative, whole where a count is
/// meant, and within the option's range.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// No value: the option is switched off (a ping interval, a proxy, a
    /// limit on reconnect attempts) or unset (an optional text). Only for
    /// options whose kind allows it ([`Spec::optional`]).
    Off,
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number that may have a fraction (JavaScript numbers); a count or
    /// size must still be whole.
    Float(f64),
    /// A duration.
    Duration(Duration),
    /// A duration in seconds.
    Seconds(f64),
    /// A duration in milliseconds.
    Millis(f64),
    /// Text.
    Text(String),
    /// Bytes (PEM text given as bytes).
    Bytes(Vec<u8>),
    /// A list of texts (subprotocols).
    List(Vec<String>),
    /// A list of name/value pairs (headers).
    Pairs(Vec<(String, String)>),
}

impl Value {
    /// What kind of value this is, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Off => "nothing",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::Float(_) => "a number",
            Value::Duration(_) | Value::Seconds(_) | Value::Millis(_) => "a duration",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "a list",
            Value::Pairs(_) => "a list of pairs",
        }
    }
}

/// What an option holds, which values it accepts, and its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// `true` or `false`.
    Bool,
    /// A size in bytes, from `min` to `max`.
    Bytes {
        /// The smallest accepted value.
        min: u64,
    },
    /// A count, from `min` to `max`.
    Count {
        /// The smallest accepted value.
        min: u64,
        /// The largest accepted value.
        max: u64,
    },
    /// A duration greater than zero (or zero where `zero` is set).
    Duration {
        /// Zero is accepted.
        zero: bool,
    },
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
    /// Text, checked by a rule.
    Text(TextRule),
    /// A file path.
    Path,
    /// PEM text, as text or bytes.
    Pem,
    /// A list of HTTP tokens (subprotocols).
    Tokens,
    /// A list of HTTP header name/value pairs.
    Headers,
    /// A list of texts, each non-empty and without control characters
    /// (the `Origin` values a server allows).
    Texts,
}

/// The rule a text option's value must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TextRule {
    /// Any text without NUL, CR or LF.
    Line,
    /// An HTTP header name.
    HeaderName,
    /// A non-empty name (a query parameter, a JSON field).
    Name,
    /// An absolute `http`/`https`/`ws`/`wss` URL (checked when connecting).
    Url,
    /// A proxy: `env` (from the environment), `none`, or a proxy URL.
    Proxy,
    /// A secret (a bearer token): non-empty, without spaces or control
    /// characters (no header could carry them); error messages do not
    /// repeat it.
    Secret,
    /// An IP address and a port (`127.0.0.1:8080`, `[::1]:0`).
    SocketAddr,
}

impl Kind {
    /// The stable name of the kind, as the bindings' schema exports give
    /// it: `bool`, `bytes`, `count`, `duration`, `choice`, `text`, `path`,
    /// `pem`, `tokens`, `headers` or `texts`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Bytes { .. } => "bytes",
            Kind::Count { .. } => "count",
            Kind::Duration { .. } => "duration",
            Kind::Choice(_) => "choice",
            Kind::Text(_) => "text",
            Kind::Path => "path",
            Kind::Pem => "pem",
            Kind::Tokens => "tokens",
            Kind::Headers => "headers",
            Kind::Texts => "texts",
        }
    }

    /// The unit of a number, for docs and flags: `bytes`, `seconds`, or
    /// the empty string.
    pub fn unit(self) -> &'static str {
        match self {
            Kind::Bytes { .. } => "bytes",
            Kind::Duration { .. } => "duration",
            _ => "",
        }
    }

    /// Whether a value of this shape can be meant for this kind at all (a
    /// binding raises its language's type error when not; the range is
    /// checked by [`Options::set`]).
    pub fn accepts(self, v: &Value) -> bool {
        matches!(
            (self, v),
            (Kind::Bool, Value::Bool(_))
                | (
                    Kind::Bytes { .. } | Kind::Count { .. },
                    Value::Int(_) | Value::Float(_)
                )
                | (
                    Kind::Duration { .. },
                    Value::Duration(_) | Value::Seconds(_) | Value::Millis(_)
                )
                | (Kind::Choice(_) | Kind::Text(_) | Kind::Path, Value::Text(_))
                | (Kind::Pem, Value::Text(_) | Value::Bytes(_))
                | (Kind::Tokens | Kind::Texts, Value::List(_))
                | (Kind::Headers, Value::Pairs(_))
        )
    }
}

/// One option of a schema: of the connection options ([`SCHEMA`], `T` =
/// [`Options`]) or of the server options ([`SERVER_SCHEMA`](super::SERVER_SCHEMA),
/// `T` = [`ServerOptions`](crate::server::ServerOptions)). Both are checked
/// by the same rules.
pub struct Spec<T: 'static = Options> {
    /// The canonical name: the field's path in [`Options`]
    /// (`limits.max_message_size`) or in `ServerOptions` (`idle_timeout`).
    /// [`Options::set`] and `ServerOptions::set` take it.
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
    /// Whether [`Value::Off`] is accepted, and what it means.
    pub optional: Option<&'static str>,
    /// One paragraph of documentation, shared by every language.
    pub doc: &'static str,
    /// The Python keyword argument of `rtwire.connect` or `rtwire.serve`
    /// (empty: not a keyword of its own but part of a group object, see
    /// `group`, or spelled otherwise, as `bind` is by `host` and `port`).
    pub python: &'static str,
    /// The path in the Node `options` object of `connect` or `serve`
    /// (`keepalive.interval`), or empty as for `python`.
    pub node: &'static str,
    /// The long flag of `rtwire connect` or `rtwire serve` without the
    /// dashes, or empty.
    pub cli: &'static str,
    /// The C setter's name after `rtwire_options_set_` (server:
    /// `rtwire_server_options_set_`; for lists, `_add_` instead of
    /// `_set_`); durations take milliseconds and end in `_ms`.
    pub c: &'static str,
    pub(super) get: fn(&T) -> Value,
    pub(super) set: fn(&mut T, Value) -> Result<(), Error>,
}

impl<T> Clone for Spec<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Spec<T> {}

impl<T> fmt::Debug for Spec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spec")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl<T: Default> Spec<T> {
    /// This option's default, as a value.
    pub fn default_value(&self) -> Value {
        (self.get)(&T::default())
    }
}

impl<T> Spec<T> {
    /// This option's value in `target`.
    pub fn get(&self, target: &T) -> Value {
        (self.get)(target)
    }

    /// The group of the canonical name (`limits`, `tls`, `reconnect`,
    /// `http`, `http.cursor`, or the empty string for top-level options).
    pub fn group(&self) -> &'static str {
        self.name.rsplit_once('.').map_or("", |(g, _)| g)
    }

    /// The last part of the canonical name.
    pub fn field(&self) -> &'static str {
        self.name.rsplit_once('.').map_or(self.name, |(_, f)| f)
    }
}

/// The option with this canonical name.
pub fn spec(name: &str) -> Option<&'static Spec> {
    SCHEMA.iter().find(|s| s.name == name)
}

pub(super) fn invalid(msg: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg)
}

fn wrong_type(name: &str, kind: Kind, v: &Value) -> Error {
    let want = match kind {
        Kind::Bool => "a boolean",
        Kind::Bytes { .. } => "a whole number of bytes",
        Kind::Count { .. } => "a whole number",
        Kind::Duration { .. } => "a duration",
        Kind::Choice(_) | Kind::Text(_) => "text",
        Kind::Path => "a file path",
        Kind::Pem => "PEM text",
        Kind::Tokens => "a list of texts",
        Kind::Headers => "a list of (name, value) pairs",
        Kind::Texts => "a list of texts",
    };
    invalid(format!("{name} must be {want}, not {}", v.type_name()))
}

/// A whole number within `[min, max]`.
fn whole(name: &str, v: &Value, min: u64, max: u64) -> Result<u64, Error> {
    let n = match *v {
        Value::Int(n) => n as f64,
        Value::Float(f) => f,
        _ => unreachable!("checked by accepts"),
    };
    if !n.is_finite() || n.fract() != 0.0 {
        return Err(invalid(format!("{name} must be a whole number, got {n}")));
    }
    if n < min as f64 || n > max as f64 {
        let upper = if max >= i64::MAX as u64 {
            String::new()
        } else {
            format!(" and at most {max}")
        };
        return Err(invalid(format!(
            "{name} must be at least {min}{upper}, got {n}"
        )));
    }
    Ok(n as u64)
}

fn duration(name: &str, v: &Value, zero: bool) -> Result<Duration, Error> {
    let d = match *v {
        Value::Duration(d) => d,
        Value::Seconds(s) | Value::Millis(s) => {
            let secs = if matches!(v, Value::Millis(_)) {
                s / 1000.0
            } else {
                s
            };
            if !secs.is_finite() || secs < 0.0 {
                return Err(invalid(format!(
                    "{name} must be a finite duration of at least zero, got {s}"
                )));
            }
            Duration::try_from_secs_f64(secs)
                .map_err(|_| invalid(format!("{name} is too long: {s}")))?
        }
        _ => unreachable!("checked by accepts"),
    };
    if d.is_zero() && !zero {
        return Err(invalid(format!("{name} must be greater than zero")));
    }
    Ok(d)
}

fn text_rule(name: &str, rule: TextRule, s: &str) -> Result<(), Error> {
    let ok = match rule {
        TextRule::Line | TextRule::Url | TextRule::Proxy => !s.contains(['\0', '\r', '\n']),
        TextRule::HeaderName => http::HeaderName::from_bytes(s.as_bytes()).is_ok(),
        TextRule::Name => !s.is_empty() && !s.chars().any(char::is_control),
        TextRule::Secret => {
            !s.is_empty() && !s.chars().any(|c| c.is_control() || c.is_whitespace())
        }
        TextRule::SocketAddr => s.parse::<std::net::SocketAddr>().is_ok(),
    };
    if ok && !(matches!(rule, TextRule::Url | TextRule::Proxy) && s.is_empty()) {
        return Ok(());
    }
    let what = match rule {
        TextRule::Line => "must not contain NUL, CR or LF",
        TextRule::HeaderName => "must be an HTTP header name",
        TextRule::Name => "must be a non-empty name without control characters",
        TextRule::Url => "must be a URL",
        TextRule::Proxy => "must be a proxy URL, \"env\" or \"none\"",
        TextRule::Secret => {
            return Err(invalid(format!(
                "{name} must be non-empty, without spaces or control characters"
            )))
        }
        TextRule::SocketAddr => "must be IP:PORT (127.0.0.1:8080, [::1]:0)",
    };
    Err(invalid(format!("{name} {what}, got {s:?}")))
}

/// Whether `p` is an HTTP token, as a subprotocol must be.
pub(crate) fn is_token(p: &str) -> bool {
    !p.is_empty()
        && p.bytes()
            .all(|b| b.is_ascii_graphic() && !b"(),/:;<=>?@[\\]{}\"".contains(&b))
}

/// Other spellings of the words of choice options, as `Transport::from_str`
/// takes them.
const ALIASES: &[(&str, &str)] = &[
    ("ws", "websocket"),
    ("long-poll", "long_poll"),
    ("longpoll", "long_poll"),
    ("eventsource", "sse"),
];

/// The checked value of option `spec`: the kind's rules, applied to `v`.
/// What [`Options::set`] stores.
pub(super) fn check<T>(spec: &Spec<T>, v: Value) -> Result<Value, Error> {
    let name = spec.name;
    if v == Value::Off {
        return if spec.optional.is_some() {
            Ok(Value::Off)
        } else {
            Err(invalid(format!("{name} cannot be switched off or unset")))
        };
    }
    if !spec.kind.accepts(&v) {
        return Err(wrong_type(name, spec.kind, &v));
    }
    Ok(match spec.kind {
        Kind::Bool => v,
        Kind::Bytes { min } => Value::Int(whole(name, &v, min, isize::MAX as u64)? as i64),
        Kind::Count { min, max } => Value::Int(whole(name, &v, min, max)? as i64),
        Kind::Duration { zero } => Value::Duration(duration(name, &v, zero)?),
        Kind::Choice(words) => {
            let Value::Text(s) = &v else { unreachable!() };
            let mut lower = s.to_ascii_lowercase();
            if let Some((_, word)) = ALIASES.iter().find(|(a, _)| *a == lower) {
                lower = (*word).to_string();
            }
            if !words.contains(&lower.as_str()) {
                return Err(invalid(format!(
                    "{name} must be one of {}, got {s:?}",
                    words.join(", ")
                )));
            }
            Value::Text(lower)
        }
        Kind::Text(rule) => {
            let Value::Text(s) = &v else { unreachable!() };
            text_rule(name, rule, s)?;
            v
        }
        Kind::Path => {
            let Value::Text(s) = &v else { unreachable!() };
            if s.is_empty() || s.contains('\0') {
                return Err(invalid(format!("{name} must be a non-empty file path")));
            }
            v
        }
        Kind::Pem => {
            let bytes = match v {
                Value::Text(s) => s.into_bytes(),
                Value::Bytes(b) => b,
                _ => unreachable!(),
            };
            if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
                return Err(invalid(format!(
                    "{name} must be PEM text (with a -----BEGIN line)"
                )));
            }
            Value::Bytes(bytes)
        }
        Kind::Tokens => {
            let Value::List(l) = &v else { unreachable!() };
            if let Some(p) = l.iter().find(|p| !is_token(p)) {
                return Err(invalid(format!(
                    "{name}: invalid subprotocol {p:?} (must be an HTTP token)"
                )));
            }
            v
        }
        Kind::Texts => {
            let Value::List(l) = &v else { unreachable!() };
            if let Some(p) = l
                .iter()
                .find(|p| p.is_empty() || p.chars().any(char::is_control))
            {
                return Err(invalid(format!(
                    "{name}: invalid item {p:?} (must be non-empty, without control characters)"
                )));
            }
            v
        }
        Kind::Headers => {
            let Value::Pairs(l) = &v else { unreachable!() };
            for (k, val) in l {
                if http::HeaderName::from_bytes(k.as_bytes()).is_err() {
                    return Err(invalid(format!("{name}: invalid header name {k:?}")));
                }
                if http::HeaderValue::from_str(val).is_err() {
                    return Err(invalid(format!("{name}: invalid value for header {k:?}")));
                }
            }
            v
        }
    })
}

/// Checks the value option `spec` has in `o` (for fields written directly).
pub(super) fn check_current<T>(spec: &Spec<T>, o: &T) -> Result<(), Error> {
    check(spec, (spec.get)(o)).map(drop)
}

/// The option of `schema` named `name`.
pub(super) fn find<T>(schema: &'static [Spec<T>], name: &str) -> Result<&'static Spec<T>, Error> {
    schema
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| invalid(format!("unknown option {name:?}")))
}

/// Sets option `name` of `schema` in `target` from a binding's value,
/// applying the schema's rules: what [`Options::set`] and
/// `ServerOptions::set` do.
pub(super) fn set_in<T>(
    schema: &'static [Spec<T>],
    target: &mut T,
    name: &str,
    value: Value,
) -> Result<(), Error> {
    let spec = find(schema, name)?;
    let v = check(spec, value)?;
    (spec.set)(target, v)
}

/// Sets option `name` of `schema` in `target` from text: what
/// [`Options::set_text`] and `ServerOptions::set_text` do.
pub(super) fn set_text_in<T>(
    schema: &'static [Spec<T>],
    target: &mut T,
    name: &str,
    text: &str,
) -> Result<(), Error> {
    let spec = find(schema, name)?;
    let t = text.trim();
    let off = spec.optional.is_some()
        && (t.eq_ignore_ascii_case("off")
            || (t.eq_ignore_ascii_case("none")
                && !matches!(spec.kind, Kind::Text(TextRule::Proxy))));
    let value = if off {
        Value::Off
    } else {
        parse_text(spec, t, &(spec.get)(target))?
    };
    set_in(schema, target, name, value)
}

/// Conversions between a field's Rust type and a checked [`Value`].
pub(super) trait Field: Sized {
    fn to_value(&self) -> Value;
    fn from_value(v: Value) -> Self;
}

impl Field for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
    fn from_value(v: Value) -> Self {
        matches!(v, Value::Bool(true))
    }
}

impl Field for usize {
    fn to_value(&self) -> Value {
        Value::Int(*self as i64)
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::Int(n) => n as usize,
            _ => 0,
        }
    }
}

impl Field for Option<u32> {
    fn to_value(&self) -> Value {
        self.map_or(Value::Off, |n| Value::Int(n.into()))
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::Int(n) => Some(n as u32),
            _ => None,
        }
    }
}

impl Field for Duration {
    fn to_value(&self) -> Value {
        Value::Duration(*self)
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::Duration(d) => d,
            _ => Duration::ZERO,
        }
    }
}

impl Field for Option<Duration> {
    fn to_value(&self) -> Value {
        self.map_or(Value::Off, Value::Duration)
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::Duration(d) => Some(d),
            _ => None,
        }
    }
}

impl Field for Option<String> {
    fn to_value(&self) -> Value {
        self.clone().map_or(Value::Off, Value::Text)
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl Field for Option<PathBuf> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Off, |p| {
            Value::Text(p.to_string_lossy().into_owned())
        })
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::Text(s) => Some(s.into()),
            _ => None,
        }
    }
}

impl Field for Option<Vec<u8>> {
    fn to_value(&self) -> Value {
        self.clone().map_or(Value::Off, Value::Bytes)
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

impl Field for Vec<String> {
    fn to_value(&self) -> Value {
        Value::List(self.clone())
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::List(l) => l,
            _ => Vec::new(),
        }
    }
}

impl Field for Vec<(String, String)> {
    fn to_value(&self) -> Value {
        Value::Pairs(self.clone())
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::Pairs(l) => l,
            _ => Vec::new(),
        }
    }
}

impl Field for Transport {
    fn to_value(&self) -> Value {
        Value::Text(self.as_str().into())
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::Text(s) => s.parse().unwrap_or_default(),
            _ => Transport::Auto,
        }
    }
}

impl Field for Framing {
    fn to_value(&self) -> Value {
        Value::Text(self.as_str().into())
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::Text(s) => s.parse().unwrap_or_default(),
            _ => Framing::Lines,
        }
    }
}

impl Field for Proxy {
    fn to_value(&self) -> Value {
        match self {
            Proxy::FromEnv => Value::Text("env".into()),
            Proxy::Disabled => Value::Off,
            Proxy::Url(u) => Value::Text(u.clone()),
        }
    }
    fn from_value(v: Value) -> Self {
        match v {
            Value::Text(s) if s.eq_ignore_ascii_case("env") => Proxy::FromEnv,
            Value::Text(s) if s.eq_ignore_ascii_case("none") => Proxy::Disabled,
            Value::Text(s) => Proxy::Url(s),
            _ => Proxy::Disabled,
        }
    }
}

/// A schema entry for the field at `$path` of [`Options`].
macro_rules! opt {
    ($name:literal, $($f:ident).+, $kind:expr, $off:expr,
     py $py:literal, node $node:literal, cli $cli:literal, c $c:literal, $doc:literal) => {
        Spec {
            name: $name,
            kind: $kind,
            optional: $off,
            doc: $doc,
            python: $py,
            node: $node,
            cli: $cli,
            c: $c,
            get: |o| Field::to_value(&o.$($f).+),
            set: |o, v| {
                o.$($f).+ = Field::from_value(v);
                Ok(())
            },
        }
    };
}

pub(super) use opt;

/// A cursor field: `from`/`to`/`initial` of [`HttpOptions::cursor`](super::HttpOptions::cursor).
macro_rules! cursor_opt {
    ($name:literal, $kind:expr, py $py:literal, node $node:literal, cli $cli:literal, c $c:literal,
     $doc:literal, get $get:expr, set $set:expr) => {
        Spec {
            name: $name,
            kind: $kind,
            optional: Some("no cursor"),
            doc: $doc,
            python: $py,
            node: $node,
            cli: $cli,
            c: $c,
            get: |o| {
                let get: fn(&Cursor) -> Option<String> = $get;
                o.http
                    .cursor
                    .as_ref()
                    .and_then(get)
                    .map_or(Value::Off, Value::Text)
            },
            set: |o, v| {
                let set: fn(&mut Option<Cursor>, Option<String>) -> Result<(), Error> = $set;
                set(&mut o.http.cursor, Option::<String>::from_value(v))
            },
        }
    };
}

fn cursor_needs_from(c: &mut Option<Cursor>) -> Result<&mut Cursor, Error> {
    c.as_mut().ok_or_else(|| {
        invalid(
            "set where the cursor is read from (http.cursor.header or \
             http.cursor.json_field) before where it goes"
                .into(),
        )
    })
}

fn set_from(c: &mut Option<Cursor>, from: Option<CursorFrom>) {
    match (c.as_mut(), from) {
        (_, None) => *c = None,
        (Some(cur), Some(f)) => cur.from = f,
        (None, Some(f)) => *c = Some(Cursor::new(f)),
    }
}

const SECS: Kind = Kind::Duration { zero: false };

/// Every connection option, in the order a binding applies them (a
/// cursor's source before its destination).
pub static SCHEMA: &[Spec] = &[
    opt!("transport", transport, Kind::Choice(Transport::NAMES), None,
        py "transport", node "transport", cli "transport", c "transport",
        "The transport: `websocket`, `sse`, `long_poll`, `poll`, `stream` or `auto` (the default: `ws`/`wss` URLs use WebSocket; `http`/`https` URLs ask an rtwire server which transports it offers, else use SSE)."),
    opt!("headers", headers, Kind::Headers, None,
        py "headers", node "headers", cli "header", c "header",
        "Extra request headers, sent on every attempt."),
    opt!("subprotocols", subprotocols, Kind::Tokens, None,
        py "subprotocols", node "protocols", cli "protocol", c "subprotocol",
        "WebSocket subprotocols to offer (`Sec-WebSocket-Protocol`), in order of preference."),
    opt!("origin", origin, Kind::Text(TextRule::Line), Some("no Origin header"),
        py "origin", node "origin", cli "origin", c "origin",
        "The `Origin` header."),
    opt!("user_agent", user_agent, Kind::Text(TextRule::Line), Some("no User-Agent header"),
        py "user_agent", node "userAgent", cli "user-agent", c "user_agent",
        "The `User-Agent` header of every request (WebSocket handshake included); a `User-Agent` among the headers wins."),
    opt!("open_timeout", open_timeout, SECS, None,
        py "open_timeout", node "openTimeout", cli "open-timeout", c "open_timeout",
        "Limit on TCP connect + TLS + HTTP handshake (proxy included)."),
    opt!("close_timeout", close_timeout, SECS, None,
        py "close_timeout", node "closeTimeout", cli "close-timeout", c "close_timeout",
        "How long to wait for the peer's reply to our close frame; then the TCP connection is dropped."),
    opt!("keepalive.interval", keepalive.interval, SECS, Some("no pings"),
        py "ping_interval", node "keepalive.interval", cli "ping-interval", c "keepalive_interval",
        "Send a WebSocket ping after this long without traffic from the peer."),
    opt!("keepalive.timeout", keepalive.timeout, SECS, None,
        py "ping_timeout", node "keepalive.timeout", cli "ping-timeout", c "keepalive_timeout",
        "Declare the peer dead when nothing arrives within this long after a ping."),
    opt!("limits.max_message_size", limits.max_message_size, Kind::Bytes { min: 1 }, None,
        py "max_message_size", node "maxMessageSize", cli "max-message-size", c "max_message_size",
        "Largest incoming message, after reassembly. Over it: a `too_large` error and close code 1009."),
    opt!("limits.max_frame_size", limits.max_frame_size, Kind::Bytes { min: 1 }, None,
        py "max_frame_size", node "maxFrameSize", cli "max-frame-size", c "max_frame_size",
        "Largest incoming WebSocket frame (no larger than the largest message). A compressed frame may be a sixteenth larger: what deflate adds to data it cannot compress (the inflated message is held to the message limit exactly)."),
    opt!("limits.send_queue_bytes", limits.send_queue_bytes, Kind::Bytes { min: 1 }, None,
        py "send_queue_bytes", node "sendQueueBytes", cli "send-queue-bytes", c "send_queue_bytes",
        "High-water mark of the outgoing queue: `send` waits and `try_send` fails with `queue_full` while more bytes than this wait to be written."),
    opt!("limits.event_queue", limits.event_queue, Kind::Count { min: 1, max: 1 << 30 }, None,
        py "event_queue", node "eventQueue", cli "event-queue", c "event_queue",
        "Capacity of the incoming event queue; when the application does not read, the connection stops reading its socket."),
    opt!("limits.read_buffer_size", limits.read_buffer_size, Kind::Bytes { min: 256 }, None,
        py "read_buffer_size", node "readBufferSize", cli "read-buffer-size", c "read_buffer_size",
        "Bytes read from the socket at a time: the largest part of an idle connection's memory. Raise it (16-64 KiB) for large messages."),
    opt!("tls.ca_file", tls.ca_file, Kind::Path, Some("system roots"),
        py "cafile", node "ca", cli "ca-file", c "ca_file",
        "PEM file of CA certificates to trust instead of the system roots (as curl's --cacert)."),
    opt!("tls.ca_pem", tls.ca_pem, Kind::Pem, Some("system roots"),
        py "cadata", node "ca", cli "", c "ca_pem",
        "CA certificates as PEM text, instead of a file."),
    opt!("tls.client_cert_file", tls.client_cert_file, Kind::Path, Some("no client certificate"),
        py "certfile", node "cert", cli "cert", c "client_cert_file",
        "PEM file of the client certificate chain (needs a key)."),
    opt!("tls.client_key_file", tls.client_key_file, Kind::Path, Some("no client certificate"),
        py "keyfile", node "key", cli "key", c "client_key_file",
        "PEM file of the client private key."),
    opt!("tls.client_cert_pem", tls.client_cert_pem, Kind::Pem, Some("no client certificate"),
        py "certdata", node "cert", cli "", c "client_cert_pem",
        "The client certificate chain as PEM text, instead of a file."),
    opt!("tls.client_key_pem", tls.client_key_pem, Kind::Pem, Some("no client certificate"),
        py "keydata", node "key", cli "", c "client_key_pem",
        "The client private key as PEM text, instead of a file."),
    opt!("tls.insecure", tls.insecure, Kind::Bool, None,
        py "insecure", node "insecure", cli "insecure", c "insecure",
        "Accept any server certificate. Only for tests against self-signed servers: it makes the connection open to interception."),
    opt!("reconnect.enabled", reconnect.enabled, Kind::Bool, None,
        py "reconnect", node "reconnect", cli "no-reconnect", c "reconnect",
        "Reconnect after a lost session."),
    opt!("reconnect.initial_delay", reconnect.initial_delay, Kind::Duration { zero: true }, None,
        py "", node "reconnect.initialDelay", cli "reconnect-initial-delay", c "reconnect_initial_delay",
        "Upper bound of the first reconnect delay (full jitter: the delay before attempt n is drawn from [0, min(max_delay, initial_delay * 2^(n-1))])."),
    opt!("reconnect.max_delay", reconnect.max_delay, Kind::Duration { zero: true }, None,
        py "", node "reconnect.maxDelay", cli "reconnect-max-delay", c "reconnect_max_delay",
        "Cap on every reconnect delay."),
    opt!("reconnect.max_attempts", reconnect.max_attempts, Kind::Count { min: 0, max: u32::MAX as u64 }, Some("unlimited"),
        py "", node "reconnect.maxAttempts", cli "max-attempts", c "reconnect_max_attempts",
        "Give up after this many failed attempts in a row."),
    opt!("reconnect.retry_initial", reconnect.retry_initial, Kind::Bool, None,
        py "", node "reconnect.retryInitial", cli "retry-initial", c "reconnect_retry_initial",
        "Also retry when the very first attempt fails (else `connect` returns that error)."),
    opt!("proxy", proxy, Kind::Text(TextRule::Proxy), Some("no proxy"),
        py "proxy", node "proxy", cli "proxy", c "proxy",
        "The proxy: `env` (from `http_proxy`/`https_proxy`/`all_proxy`/`no_proxy`, the default), `none`, or `http://`, `https://`, `socks5://`, `socks5h://` URLs with optional `user:pass@`."),
    opt!("rtwire_protocol", rtwire_protocol, Kind::Bool, None,
        py "rtwire_protocol", node "rtwireProtocol", cli "rtwire-protocol", c "rtwire_protocol",
        "WebSocket to an rtwire server: offer `rtwire.v1`, under which every message carries its id and a reconnect resumes after the last one. `auto` turns it on by itself."),
    opt!("permessage_deflate", permessage_deflate, Kind::Bool, None,
        py "permessage_deflate", node "permessageDeflate", cli "no-deflate", c "permessage_deflate",
        "WebSocket: offer permessage-deflate compression (RFC 7692), without context takeover either way, so it costs no memory per connection. On by default; `--no-deflate` turns it off."),
    opt!("deflate_threshold", deflate_threshold, Kind::Bytes { min: 0 }, None,
        py "deflate_threshold", node "deflateThreshold", cli "deflate-threshold", c "deflate_threshold",
        "WebSocket with permessage-deflate: messages under this many bytes are sent uncompressed."),
    opt!("http.send_url", http.send_url, Kind::Text(TextRule::Url), Some("send is unsupported on HTTP transports"),
        py "send_url", node "sendUrl", cli "send-url", c "send_url",
        "Where `send` POSTs on the HTTP transports."),
    opt!("http.read_timeout", http.read_timeout, SECS, None,
        py "read_timeout", node "readTimeout", cli "read-timeout", c "read_timeout",
        "An HTTP stream that delivers no byte for this long is dead: reconnect."),
    opt!("http.poll_interval", http.poll_interval, SECS, None,
        py "poll_interval", node "pollInterval", cli "poll-interval", c "poll_interval",
        "Short polling: time between requests (with 10 % jitter)."),
    opt!("http.long_poll_timeout", http.long_poll_timeout, SECS, None,
        py "long_poll_timeout", node "longPollTimeout", cli "long-poll-timeout", c "long_poll_timeout",
        "Long polling: the longest a request may be held before it counts as failed."),
    opt!("http.long_poll_post", http.long_poll_post, Kind::Bool, None,
        py "long_poll_post", node "longPollPost", cli "long-poll-post", c "long_poll_post",
        "Long polling with POST instead of GET."),
    opt!("http.json_array", http.json_array, Kind::Bool, None,
        py "json_array", node "jsonArray", cli "json-array", c "json_array",
        "Long polling: a JSON array body is delivered as one message per element."),
    cursor_opt!("http.cursor.header", Kind::Text(TextRule::HeaderName),
        py "", node "cursor.header", cli "cursor-header", c "cursor_header",
        "Long polling: read the next cursor from this response header.",
        get |c| match &c.from { CursorFrom::Header(h) => Some(h.clone()), _ => None },
        set |c, v| { set_from(c, v.map(CursorFrom::Header)); Ok(()) }),
    cursor_opt!("http.cursor.json_field", Kind::Text(TextRule::Name),
        py "", node "cursor.jsonField", cli "cursor-json", c "cursor_json_field",
        "Long polling: read the next cursor from this field of a JSON object body (the messages are then in its `messages` array).",
        get |c| match &c.from { CursorFrom::JsonField(f) => Some(f.clone()), _ => None },
        set |c, v| { set_from(c, v.map(CursorFrom::JsonField)); Ok(()) }),
    cursor_opt!("http.cursor.query", Kind::Text(TextRule::Name),
        py "", node "cursor.query", cli "cursor-query", c "cursor_query",
        "Long polling: send the cursor in this query parameter (the default, named `cursor`).",
        get |c| match &c.to { CursorTo::Query(q) => Some(q.clone()), _ => None },
        set |c, v| { let cur = cursor_needs_from(c)?; cur.to = CursorTo::Query(v.unwrap_or_else(|| "cursor".into())); Ok(()) }),
    cursor_opt!("http.cursor.send_header", Kind::Text(TextRule::HeaderName),
        py "", node "cursor.sendHeader", cli "cursor-send-header", c "cursor_send_header",
        "Long polling: send the cursor in this request header instead of the query.",
        get |c| match &c.to { CursorTo::Header(h) => Some(h.clone()), _ => None },
        set |c, v| { let cur = cursor_needs_from(c)?; cur.to = v.map_or_else(|| CursorTo::Query("cursor".into()), CursorTo::Header); Ok(()) }),
    cursor_opt!("http.cursor.initial", Kind::Text(TextRule::Line),
        py "", node "cursor.initial", cli "cursor-initial", c "cursor_initial",
        "Long polling: the cursor of the first request.",
        get |c| c.initial.clone(),
        set |c, v| { cursor_needs_from(c)?.initial = v; Ok(()) }),
    opt!("http.framing", http.framing, Kind::Choice(Framing::NAMES), None,
        py "framing", node "framing", cli "framing", c "framing",
        "HTTP streaming: how the body is cut into messages: `lines` (each line a text message), `ndjson` (each line a JSON value) or `chunks` (each chunk a binary message as it arrived)."),
    opt!("http.max_line", http.max_line, Kind::Bytes { min: 1 }, None,
        py "max_line", node "maxLine", cli "max-line", c "max_line",
        "Longest SSE or framed line."),
    opt!("http.last_event_id", http.last_event_id, Kind::Text(TextRule::Line), Some("none"),
        py "last_event_id", node "lastEventId", cli "last-event-id", c "last_event_id",
        "SSE: the `Last-Event-ID` of the first request."),
    opt!("http.retry_server_errors", http.retry_server_errors, Kind::Bool, None,
        py "retry_server_errors", node "retryServerErrors", cli "retry-server-errors", c "retry_server_errors",
        "SSE: retry on 5xx and 429 answers (honouring `Retry-After`) instead of failing, which the standard asks."),
    opt!("http.max_redirects", http.max_redirects, Kind::Count { min: 0, max: 1000 }, None,
        py "max_redirects", node "maxRedirects", cli "max-redirects", c "max_redirects",
        "Redirects followed at most. Credentials are not sent to another origin, and an https-to-http redirect is refused."),
];

impl Options {
    /// Sets the option with canonical name `name` (see [`SCHEMA`]) from a
    /// binding's value, applying the schema's rules.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] for an unknown name, a value of the
    /// wrong shape, or one out of the option's range; the message names the
    /// option. Rules that tie several options together are checked by
    /// [`Options::validate`].
    pub fn set(&mut self, name: &str, value: Value) -> Result<(), Error> {
        set_in(SCHEMA, self, name, value)
    }

    /// Sets an option from text, as a command line or a configuration file
    /// gives it: `true`/`false`, whole numbers with an optional `KiB`/`MiB`/
    /// `GiB` suffix for sizes, durations with a unit (`250ms`, `10s`, `2m`)
    /// or a number of seconds, `off` or `none` where the option can be off,
    /// comma-separated lists, and `Name: value` for a header (each call adds
    /// one).
    ///
    /// # Errors
    /// As [`Options::set`], and for text that is not of the option's kind.
    pub fn set_text(&mut self, name: &str, text: &str) -> Result<(), Error> {
        set_text_in(SCHEMA, self, name, text)
    }

    /// The current value of option `name`, or `None` for an unknown name.
    pub fn get(&self, name: &str) -> Option<Value> {
        spec(name).map(|s| (s.get)(self))
    }
}

/// The value of `spec` that text `t` gives; `current` is the option's
/// value now (a list flag adds to it).
fn parse_text<T>(spec: &Spec<T>, t: &str, current: &Value) -> Result<Value, Error> {
    let name = spec.name;
    let bad = |what: &str| invalid(format!("{name} must be {what}, got {t:?}"));
    Ok(match spec.kind {
        Kind::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => Value::Bool(true),
            "false" | "no" | "0" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        Kind::Bytes { .. } => {
            let (num, mul) = [
                ("gib", 1u64 << 30),
                ("mib", 1 << 20),
                ("kib", 1 << 10),
                ("b", 1),
            ]
            .iter()
            .find_map(|(suf, m)| {
                let l = t.to_ascii_lowercase();
                l.strip_suffix(suf).map(|n| (n.trim().to_string(), *m))
            })
            .unwrap_or((t.to_string(), 1));
            // A plain number that is not whole is the value's to refuse, with
            // the message every language gets.
            if let (Err(_), Ok(f), 1) = (num.parse::<u64>(), num.parse::<f64>(), mul) {
                return Ok(Value::Float(f));
            }
            let n: u64 = num
                .parse()
                .map_err(|_| bad("a size (1048576, 64KiB, 16MiB)"))?;
            let n = n.checked_mul(mul).ok_or_else(|| bad("a smaller size"))?;
            Value::Int(i64::try_from(n).map_err(|_| bad("a smaller size"))?)
        }
        Kind::Count { .. } => match (t.parse::<i64>(), t.parse::<f64>()) {
            (Ok(n), _) => Value::Int(n),
            // As for sizes: the checks refuse it as for any language.
            (Err(_), Ok(f)) => Value::Float(f),
            _ => return Err(bad("a whole number")),
        },
        Kind::Duration { .. } => {
            let l = t.to_ascii_lowercase();
            let (num, scale) = if let Some(n) = l.strip_suffix("ms") {
                (n, 0.001)
            } else if let Some(n) = l.strip_suffix('s') {
                (n, 1.0)
            } else if let Some(n) = l.strip_suffix('m') {
                (n, 60.0)
            } else {
                (l.as_str(), 1.0)
            };
            let n: f64 = num
                .trim()
                .parse()
                .map_err(|_| bad("a duration (250ms, 10s, 2m)"))?;
            Value::Seconds(n * scale)
        }
        Kind::Choice(_) | Kind::Text(_) | Kind::Path => Value::Text(t.to_string()),
        Kind::Pem => Value::Text(t.to_string()),
        Kind::Tokens => {
            let mut l = match current {
                Value::List(l) => l.clone(),
                _ => Vec::new(),
            };
            l.extend(t.split(',').map(|s| s.trim().to_string()));
            Value::List(l)
        }
        Kind::Texts => {
            let mut l = match current {
                Value::List(l) => l.clone(),
                _ => Vec::new(),
            };
            l.push(t.to_string());
            Value::List(l)
        }
        Kind::Headers => {
            let (k, v) = t.split_once(':').ok_or_else(|| bad("`Name: value`"))?;
            let mut l = match current {
                Value::Pairs(l) => l.clone(),
                _ => Vec::new(),
            };
            l.push((k.trim().to_string(), v.trim().to_string()));
            Value::Pairs(l)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_round_trips_its_default() {
        let d = Options::default();
        for s in SCHEMA {
            let v = d.get(s.name).unwrap();
            let mut o = Options::default();
            // Cursor parts need a source first; their default is "off".
            if !(s.group() == "http.cursor" && v == Value::Off) {
                o.set(s.name, v.clone())
                    .unwrap_or_else(|e| panic!("{}: default refused: {e}", s.name));
            }
            assert_eq!(o.get(s.name).unwrap(), v, "{}", s.name);
        }
    }

    #[test]
    fn names_are_unique_per_language() {
        let mut seen = std::collections::HashSet::new();
        for s in SCHEMA {
            assert!(seen.insert(s.name), "duplicate {}", s.name);
            assert!(!s.doc.is_empty() && s.doc.ends_with('.'), "{} doc", s.name);
        }
        for lang in [|s: &Spec| s.c, |s: &Spec| s.cli, |s: &Spec| s.python] {
            let mut seen = std::collections::HashSet::new();
            for s in SCHEMA {
                let n = lang(s);
                assert!(n.is_empty() || seen.insert(n), "duplicate {n}");
            }
        }
    }

    #[test]
    fn ranges_and_types_are_checked() {
        let mut o = Options::new();
        let e = o.set("limits.max_message_size", Value::Int(0)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().contains("limits.max_message_size"), "{e}");
        assert!(o.set("limits.max_message_size", Value::Float(1.5)).is_err());
        assert!(o
            .set("limits.max_message_size", Value::Float(f64::NAN))
            .is_err());
        assert!(o
            .set("limits.max_message_size", Value::Text("1".into()))
            .is_err());
        assert!(o.set("open_timeout", Value::Seconds(-1.0)).is_err());
        assert!(o
            .set("open_timeout", Value::Seconds(f64::INFINITY))
            .is_err());
        assert!(o.set("open_timeout", Value::Millis(0.0)).is_err());
        assert!(o.set("open_timeout", Value::Off).is_err());
        o.set("keepalive.interval", Value::Off).unwrap();
        assert_eq!(o.keepalive.interval, None);
        assert!(o
            .set("transport", Value::Text("carrier-pigeon".into()))
            .is_err());
        o.set("transport", Value::Text("LONG_POLL".into())).unwrap();
        assert_eq!(o.transport, Transport::LongPoll);
        o.set("transport", Value::Text("long-poll".into())).unwrap();
        assert_eq!(o.transport, Transport::LongPoll);
        assert!(o
            .set("subprotocols", Value::List(vec!["a b".into()]))
            .is_err());
        assert!(o
            .set(
                "headers",
                Value::Pairs(vec![("bad name".into(), "v".into())])
            )
            .is_err());
        assert!(o
            .set("http.last_event_id", Value::Text("a\nb".into()))
            .is_err());
        assert!(o.set("tls.ca_pem", Value::Text("not pem".into())).is_err());
        assert!(o.set("nope", Value::Bool(true)).is_err());
        assert!(o.set("http.cursor.query", Value::Text("c".into())).is_err());
        o.set("http.cursor.header", Value::Text("X-Cursor".into()))
            .unwrap();
        o.set("http.cursor.send_header", Value::Text("X-After".into()))
            .unwrap();
        assert_eq!(
            o.http.cursor.as_ref().unwrap().to,
            CursorTo::Header("X-After".into())
        );
        o.set("proxy", Value::Off).unwrap();
        assert_eq!(o.proxy, Proxy::Disabled);
        o.set("proxy", Value::Text("none".into())).unwrap();
        assert_eq!(o.proxy, Proxy::Disabled);
        o.set("proxy", Value::Text("env".into())).unwrap();
        assert_eq!(o.proxy, Proxy::FromEnv);
    }

    #[test]
    fn text_values_parse() {
        let mut o = Options::new();
        o.set_text("limits.max_message_size", "64KiB").unwrap();
        assert_eq!(o.limits.max_message_size, 64 << 10);
        o.set_text("open_timeout", "250ms").unwrap();
        assert_eq!(o.open_timeout, Duration::from_millis(250));
        o.set_text("open_timeout", "2").unwrap();
        assert_eq!(o.open_timeout, Duration::from_secs(2));
        o.set_text("keepalive.interval", "off").unwrap();
        assert_eq!(o.keepalive.interval, None);
        o.set_text("headers", "A: 1").unwrap();
        o.set_text("headers", "B: 2").unwrap();
        assert_eq!(o.headers.len(), 2);
        o.set_text("subprotocols", "a, b").unwrap();
        assert_eq!(o.subprotocols, ["a", "b"]);
        o.set_text("proxy", "none").unwrap();
        assert_eq!(o.proxy, Proxy::Disabled);
        assert!(o.set_text("tls.insecure", "maybe").is_err());
        assert!(o.set_text("limits.max_message_size", "big").is_err());
    }
}
