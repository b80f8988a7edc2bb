//! The Socket.IO v5 packet codec (the default `socket.io-parser` format).
//!
//! A Socket.IO packet travels as the text of an Engine.IO message (see
//! [`engineio`](super::engineio)), followed, for the binary types, by its
//! binary attachments, each its own Engine.IO binary message.
//!
//! ```
//! use bytes::Bytes;
//! use rtwire::proto::socketio::{self, Decoder, Packet, PacketType};
//! use serde_json::json;
//!
//! let p = Packet::binary_event(
//!     "/admin",
//!     json!(["baz", socketio::placeholder(0), socketio::placeholder(1)]),
//!     None,
//!     vec![Bytes::from_static(&[1, 2]), Bytes::from_static(&[3, 4])],
//! )?;
//! let (text, attachments) = socketio::encode(&p);
//! assert_eq!(
//!     text,
//!     r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
//! );
//!
//! let mut decoder = Decoder::default();
//! assert_eq!(decoder.decode_text(text.into())?, None); // waits for 2 attachments
//! assert_eq!(decoder.decode_binary(attachments[0].clone())?, None);
//! let back = decoder.decode_binary(attachments[1].clone())?.expect("complete");
//! assert_eq!(back, p);
//! assert_eq!(back.kind(), PacketType::BinaryEvent);
//! assert_eq!(back.event_name(), Some("baz"));
//! # Ok::<(), rtwire::Error>(())
//! ```
//!
//! # The wire format, as implemented
//!
//! ```text
//! <type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]
//! ```
//!
//! - `type` is one digit, [`PacketType`] `0` to `6`. `attachments` (decimal,
//!   then `-`) is written for the binary types only. The namespace is written
//!   when it is not `/`, then a comma; a header whose namespace runs to the
//!   end without a comma (`1/admin`) is read as that namespace. The ack id is
//!   decimal. The JSON data comes last.
//! - The data each type must carry (the reference parser's rules, with
//!   the stricter choices below): `CONNECT` an object or nothing;
//!   `DISCONNECT` nothing; `CONNECT_ERROR` an object or a string; `EVENT` and
//!   `BINARY_EVENT` a non-empty array whose first element, the event name, is
//!   a string other than the reserved names (`connect`, `connect_error`,
//!   `disconnect`, `disconnecting`, `newListener`, `removeListener`); `ACK`
//!   and `BINARY_ACK` an array, possibly empty.
//! - Stricter than `socket.io-parser`: an event name must be a string (the
//!   reference also takes a number); `ACK`/`BINARY_ACK` need an ack id and
//!   the other types except the events must not have one; an ack id is at
//!   most 2⁵³−1 (JavaScript's largest exact integer).
//!
//! # Binary attachments
//!
//! Binaries are not values in the JSON: a packet's [`data`](Packet::data)
//! holds, where each binary goes, the placeholder object of the wire format,
//! `{"_placeholder":true,"num":N}` (see [`placeholder`]), and its
//! [`attachments`](Packet::attachments) hold the binaries, `N` indexing into
//! them. So encoding writes the data as it is and decoding hands out the
//! JSON it read and the attachment `Bytes` it was given, with no rewrite of
//! the JSON tree and no copy of a binary. Every packet keeps this invariant,
//! checked by the constructors and by the [`Decoder`]:
//!
//! - only `BINARY_EVENT` and `BINARY_ACK` have attachments and placeholders;
//!   an object with `"_placeholder": true` anywhere in another packet is an
//!   error (the reference takes it as plain data; here a placeholder always
//!   means an attachment);
//! - every placeholder has an integer `num` below the number of
//!   attachments. An attachment that no placeholder names is allowed, as in
//!   the reference.
//!
//! [`Packet::resolve`] walks the data and gives each placeholder's binary,
//! for users who want the reconstructed value.
//!
//! # Limits
//!
//! [`Limits`] caps the announced attachments (default 1000) and the nesting
//! depth of the data (default 64; `serde_json` itself stops at 128). The
//! [`Decoder`] refuses a packet over a limit with [`ErrorKind::TooLarge`]
//! before waiting for or storing any attachment; every other bad input is
//! [`ErrorKind::Protocol`]. The size of the text and of each attachment is
//! bounded by the Engine.IO layer (`maxPayload`, the WebSocket limits).
//!
//! The JSON is parsed and written by `serde_json` without `preserve_order`,
//! so a decoded object is written back with its keys sorted.

use std::fmt::Write as _;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::message::{Data, Text};

/// The protocol version.
pub const PROTOCOL: u8 = 5;

/// Event names a peer may not send: they have a meaning of their own.
pub const RESERVED_EVENTS: &[&str] = &[
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Largest ack id: 2⁵³−1, the largest integer a JavaScript peer holds
/// exactly.
pub const MAX_ACK_ID: u64 = (1 << 53) - 1;

/// The default namespace.
const MAIN: &str = "/";

/// The type of a Socket.IO packet, with its wire digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// `0`: connect to a namespace (client), or accept it (server, with the
    /// socket `sid` in the data).
    Connect = 0,
    /// `1`: leave a namespace.
    Disconnect = 1,
    /// `2`: an event: `[name, ...args]`.
    Event = 2,
    /// `3`: the answer to an event that carried an ack id: `[...args]`.
    Ack = 3,
    /// `4`: the server refuses the connection to a namespace.
    ConnectError = 4,
    /// `5`: an event with binary attachments.
    BinaryEvent = 5,
    /// `6`: an ack with binary attachments.
    BinaryAck = 6,
}

impl PacketType {
    /// The type of a wire digit (`0` to `6`).
    pub fn from_digit(d: u8) -> Option<PacketType> {
        Some(match d {
            b'0' => PacketType::Connect,
            b'1' => PacketType::Disconnect,
            b'2' => PacketType::Event,
            b'3' => PacketType::Ack,
            b'4' => PacketType::ConnectError,
            b'5' => PacketType::BinaryEvent,
            b'6' => PacketType::BinaryAck,
            _ => return None,
        })
    }

    /// The wire digit (`b'0'` to `b'6'`).
    pub fn digit(self) -> u8 {
        b'0' + self as u8
    }

    /// Whether the type carries binary attachments (`5` and `6`).
    pub fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }

    /// Whether the type is an event (`2` or `5`).
    pub fn is_event(self) -> bool {
        matches!(self, PacketType::Event | PacketType::BinaryEvent)
    }

    /// Whether the type is an ack (`3` or `6`).
    pub fn is_ack(self) -> bool {
        matches!(self, PacketType::Ack | PacketType::BinaryAck)
    }
}

/// Limits of the [`Decoder`] (and of the [`Packet`] constructors, with the
/// defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Most attachments one packet may announce. Default 1000.
    pub max_attachments: usize,
    /// Deepest nesting of arrays and objects in the data (the data array
    /// itself is depth 1). Default 64.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_attachments: 1000,
            max_depth: 64,
        }
    }
}

impl Limits {
    /// Sets [`max_attachments`](Limits::max_attachments).
    pub fn max_attachments(mut self, n: usize) -> Self {
        self.max_attachments = n;
        self
    }

    /// Sets [`max_depth`](Limits::max_depth).
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }
}

/// The placeholder that stands for attachment `num` in a packet's data:
/// `{"_placeholder":true,"num":num}`.
pub fn placeholder(num: usize) -> Value {
    let mut m = Map::new();
    m.insert("_placeholder".into(), Value::Bool(true));
    m.insert("num".into(), Value::from(num));
    Value::Object(m)
}

/// One Socket.IO packet; always valid (see the [module docs](self) for the
/// rules each constructor checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    kind: PacketType,
    nsp: Text,
    id: Option<u64>,
    data: Option<Value>,
    attachments: Vec<Bytes>,
}

impl Packet {
    /// A packet of any type, checked against the rules with the default
    /// [`Limits`].
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] when the packet breaks a rule: a
    /// namespace that does not start with `/` or contains `,`, an ack id
    /// where none belongs (or none on an ack, or over [`MAX_ACK_ID`]), data
    /// of the wrong shape, attachments on a non-binary type, a placeholder
    /// out of range, or data nested deeper than the limit.
    pub fn new(
        kind: PacketType,
        nsp: impl Into<Text>,
        id: Option<u64>,
        data: Option<Value>,
        attachments: Vec<Bytes>,
    ) -> Result<Packet> {
        let p = Packet {
            kind,
            nsp: nsp.into(),
            id,
            data,
            attachments,
        };
        p.check(&Limits::default())
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, e.0))?;
        Ok(p)
    }

    /// `CONNECT` to (or accepted on) `nsp`, with an optional object (the
    /// client's auth, or the server's `{"sid": ...}`).
    ///
    /// # Errors
    /// See [`Packet::new`].
    pub fn connect(nsp: impl Into<Text>, data: Option<Value>) -> Result<Packet> {
        Packet::new(PacketType::Connect, nsp, None, data, Vec::new())
    }

    /// `DISCONNECT` from `nsp`.
    ///
    /// # Errors
    /// See [`Packet::new`].
    pub fn disconnect(nsp: impl Into<Text>) -> Result<Packet> {
        Packet::new(PacketType::Disconnect, nsp, None, None, Vec::new())
    }

    /// `CONNECT_ERROR` on `nsp`, with an object (`{"message": ...}`) or a
    /// string.
    ///
    /// # Errors
    /// See [`Packet::new`].
    pub fn connect_error(nsp: impl Into<Text>, data: Value) -> Result<Packet> {
        Packet::new(PacketType::ConnectError, nsp, None, Some(data), Vec::new())
    }

    /// `EVENT` on `nsp`: `data` is `[name, ...args]`; `id` asks for an ack.
    ///
    /// # Errors
    /// See [`Packet::new`].
    pub fn event(nsp: impl Into<Text>, data: Value, id: Option<u64>) -> Result<Packet> {
        Packet::new(PacketType::Event, nsp, id, Some(data), Vec::new())
    }

    /// `BINARY_EVENT` on `nsp`: `data` is `[name, ...args]` with
    /// [`placeholder`]s for the `attachments`.
    ///
    /// # Errors
    /// See [`Packet::new`].
    pub fn binary_event(
        nsp: impl Into<Text>,
        data: Value,
        id: Option<u64>,
        attachments: Vec<Bytes>,
    ) -> Result<Packet> {
        Packet::new(PacketType::BinaryEvent, nsp, id, Some(data), attachments)
    }

    /// `ACK` of event `id` on `nsp`: `data` is the array of answer args.
    ///
    /// # Errors
    /// See [`Packet::new`].
    pub fn ack(nsp: impl Into<Text>, id: u64, data: Value) -> Result<Packet> {
        Packet::new(PacketType::Ack, nsp, Some(id), Some(data), Vec::new())
    }

    /// `BINARY_ACK` of event `id` on `nsp`, with [`placeholder`]s for the
    /// `attachments`.
    ///
    /// # Errors
    /// See [`Packet::new`].
    pub fn binary_ack(
        nsp: impl Into<Text>,
        id: u64,
        data: Value,
        attachments: Vec<Bytes>,
    ) -> Result<Packet> {
        Packet::new(
            PacketType::BinaryAck,
            nsp,
            Some(id),
            Some(data),
            attachments,
        )
    }

    /// The packet type, as on the wire.
    pub fn kind(&self) -> PacketType {
        self.kind
    }

    /// The namespace (`/` by default).
    pub fn nsp(&self) -> &str {
        &self.nsp
    }

    /// The ack id.
    pub fn id(&self) -> Option<u64> {
        self.id
    }

    /// The JSON data, with placeholders for the attachments.
    pub fn data(&self) -> Option<&Value> {
        self.data.as_ref()
    }

    /// The binary attachments, in placeholder `num` order.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// The event name of an event packet.
    pub fn event_name(&self) -> Option<&str> {
        if !self.kind.is_event() {
            return None;
        }
        self.data.as_ref()?.get(0)?.as_str()
    }

    /// The parts: type, namespace, ack id, data, attachments.
    pub fn into_parts(self) -> (PacketType, Text, Option<u64>, Option<Value>, Vec<Bytes>) {
        (self.kind, self.nsp, self.id, self.data, self.attachments)
    }

    /// Calls `f` with each placeholder of the data and the attachment it
    /// names, in document order (arrays in order, object keys sorted).
    pub fn resolve(&self, mut f: impl FnMut(&Value, &Bytes)) {
        fn walk(v: &Value, atts: &[Bytes], f: &mut dyn FnMut(&Value, &Bytes)) {
            match v {
                Value::Object(m) if is_placeholder(m) => {
                    // The invariant holds: `num` is in range.
                    if let Some(b) = m
                        .get("num")
                        .and_then(Value::as_u64)
                        .and_then(|n| atts.get(n as usize))
                    {
                        f(v, b);
                    }
                }
                Value::Object(m) => m.values().for_each(|v| walk(v, atts, f)),
                Value::Array(a) => a.iter().for_each(|v| walk(v, atts, f)),
                _ => {}
            }
        }
        if let Some(d) = &self.data {
            walk(d, &self.attachments, &mut f);
        }
    }

    /// Checks every rule; the message of the error says which one broke.
    fn check(&self, limits: &Limits) -> Result<(), Broken> {
        let nsp = self.nsp.as_str();
        if !nsp.starts_with('/') {
            return Err(Broken::rule(format!(
                "socket.io namespace {nsp:?} does not start with '/'"
            )));
        }
        if nsp.contains(',') {
            return Err(Broken::rule(format!(
                "socket.io namespace {nsp:?} contains ','"
            )));
        }
        check_id(self.kind, self.id)?;
        if !self.kind.is_binary() && !self.attachments.is_empty() {
            return Err(Broken::rule(format!(
                "socket.io {:?} packet with attachments",
                self.kind
            )));
        }
        if self.attachments.len() > limits.max_attachments {
            return Err(Broken::rule(format!(
                "socket.io packet with {} attachments, over the limit of {}",
                self.attachments.len(),
                limits.max_attachments
            )));
        }
        check_data(self.kind, self.data.as_ref())?;
        if let Some(d) = &self.data {
            check_tree(d, self.kind, self.attachments.len(), limits.max_depth)?;
        }
        Ok(())
    }
}

/// A rule a packet broke, before it becomes an error of the caller's kind.
/// `.1` is set when the rule is a limit.
struct Broken(String, bool);

impl Broken {
    fn rule(message: impl Into<String>) -> Broken {
        Broken(message.into(), false)
    }

    fn limit(message: impl Into<String>) -> Broken {
        Broken(message.into(), true)
    }
}

impl From<Broken> for Error {
    /// A decoding error: `TooLarge` over a limit, `Protocol` otherwise.
    fn from(b: Broken) -> Error {
        let kind = if b.1 {
            ErrorKind::TooLarge
        } else {
            ErrorKind::Protocol
        };
        Error::new(kind, b.0)
    }
}

fn check_id(kind: PacketType, id: Option<u64>) -> Result<(), Broken> {
    match (kind, id) {
        (_, Some(id)) if id > MAX_ACK_ID => Err(Broken::rule(format!(
            "socket.io ack id {id} is over the limit of {MAX_ACK_ID}"
        ))),
        (k, None) if k.is_ack() => Err(Broken::rule(format!(
            "socket.io {k:?} packet without an ack id"
        ))),
        (k, Some(_)) if !k.is_ack() && !k.is_event() => Err(Broken::rule(format!(
            "socket.io {k:?} packet with an ack id"
        ))),
        _ => Ok(()),
    }
}

fn check_data(kind: PacketType, data: Option<&Value>) -> Result<(), Broken> {
    let ok = match kind {
        PacketType::Connect => matches!(data, None | Some(Value::Object(_))),
        PacketType::Disconnect => data.is_none(),
        PacketType::ConnectError => matches!(data, Some(Value::Object(_) | Value::String(_))),
        PacketType::Ack | PacketType::BinaryAck => matches!(data, Some(Value::Array(_))),
        PacketType::Event | PacketType::BinaryEvent => {
            let Some(Value::Array(a)) = data else {
                return Err(Broken::rule("socket.io event data is not an array"));
            };
            return match a.first() {
                None => Err(Broken::rule("socket.io event data is an empty array")),
                Some(Value::String(name)) if RESERVED_EVENTS.contains(&name.as_str()) => Err(
                    Broken::rule(format!("socket.io event name {name:?} is reserved")),
                ),
                Some(Value::String(_)) => Ok(()),
                Some(_) => Err(Broken::rule("socket.io event name is not a string")),
            };
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Broken::rule(format!(
            "socket.io {kind:?} packet with {}",
            match data {
                None => "no data",
                Some(Value::Null) => "null data",
                Some(Value::Bool(_)) => "boolean data",
                Some(Value::Number(_)) => "number data",
                Some(Value::String(_)) => "string data",
                Some(Value::Array(_)) => "array data",
                Some(Value::Object(_)) => "object data",
            }
        )))
    }
}

fn is_placeholder(m: &Map<String, Value>) -> bool {
    m.get("_placeholder") == Some(&Value::Bool(true))
}

/// Checks the nesting depth and the placeholders of `data`. The recursion is
/// bounded by `max_depth`.
fn check_tree(
    data: &Value,
    kind: PacketType,
    attachments: usize,
    max_depth: usize,
) -> Result<(), Broken> {
    fn walk(v: &Value, depth: usize, kind: PacketType, n: usize, max: usize) -> Result<(), Broken> {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(m) if is_placeholder(m) => {
                if !kind.is_binary() {
                    return Err(Broken::rule(format!(
                        "socket.io {kind:?} packet with a binary placeholder"
                    )));
                }
                return match m.get("num") {
                    Some(Value::Number(num)) if num.as_u64().is_some_and(|i| i < n as u64) => {
                        Ok(())
                    }
                    other => Err(Broken::rule(format!(
                        "socket.io placeholder num {} is not an attachment index below {n}",
                        other.map_or_else(|| "(none)".to_string(), Value::to_string)
                    ))),
                };
            }
            Value::Object(m) => Box::new(m.values()),
            _ => return Ok(()),
        };
        if depth >= max {
            return Err(Broken::limit(format!(
                "socket.io data nested deeper than {max}"
            )));
        }
        for c in children {
            walk(c, depth + 1, kind, n, max)?;
        }
        Ok(())
    }
    walk(data, 0, kind, attachments, max_depth)
}

/// Encodes a packet: the text to send as an Engine.IO text message, then the
/// attachments to send as Engine.IO binary messages, in order (clones of the
/// `Bytes`, no copy).
pub fn encode(packet: &Packet) -> (String, Vec<Bytes>) {
    let mut s = String::new();
    s.push(char::from(packet.kind.digit()));
    if packet.kind.is_binary() {
        let _ = write!(s, "{}-", packet.attachments.len());
    }
    if packet.nsp.as_str() != MAIN {
        s.push_str(&packet.nsp);
        s.push(',');
    }
    if let Some(id) = packet.id {
        let _ = write!(s, "{id}");
    }
    if let Some(d) = &packet.data {
        // A `Value` always serializes; its depth was bounded at construction.
        let _ = serde_json::to_writer(StringWriter(&mut s), d);
    }
    (s, packet.attachments.clone())
}

/// `io::Write` into a `String` (serde_json writes UTF-8 only).
struct StringWriter<'a>(&'a mut String);

impl std::io::Write for StringWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let s = std::str::from_utf8(buf)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        self.0.push_str(s);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A packet whose attachments are still to come.
#[derive(Debug)]
struct Pending {
    packet: Packet,
    expected: usize,
}

/// The Socket.IO decoder of one connection: feed it the Engine.IO messages
/// in order; it yields each packet once its announced attachments came.
///
/// Errors are final for the connection (the reference closes it with
/// "invalid payload"); after one, the decoder drops any half-received
/// packet and can be fed again.
#[derive(Debug, Default)]
pub struct Decoder {
    limits: Limits,
    pending: Option<Pending>,
}

impl Decoder {
    /// A decoder with `limits`.
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            limits,
            pending: None,
        }
    }

    /// Whether a binary packet is waiting for attachments.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// How many attachments the waiting packet still needs (0 when none is
    /// waiting).
    pub fn attachments_needed(&self) -> usize {
        self.pending
            .as_ref()
            .map_or(0, |p| p.expected - p.packet.attachments.len())
    }

    /// Checks that no packet is half received, at the end of the
    /// connection.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when a packet still waits for attachments
    /// (it announced more than came).
    pub fn finish(&mut self) -> Result<()> {
        match self.pending.take() {
            None => Ok(()),
            Some(p) => Err(protocol(format!(
                "socket.io packet announced {} attachments and got {}",
                p.expected,
                p.packet.attachments.len()
            ))),
        }
    }

    /// Feeds one Engine.IO message: text or binary.
    ///
    /// # Errors
    /// See [`decode_text`](Decoder::decode_text) and
    /// [`decode_binary`](Decoder::decode_binary).
    pub fn feed(&mut self, message: Data) -> Result<Option<Packet>> {
        match message {
            Data::Text(t) => self.decode_text(t),
            Data::Binary(b) => self.decode_binary(b),
        }
    }

    /// Feeds the text of a packet. Returns the packet, or `None` when it is
    /// a binary packet waiting for its attachments.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] for a malformed header or JSON, a bad
    /// namespace, an ack id out of range, data of the wrong shape, a
    /// placeholder out of range, or a text while attachments are awaited;
    /// [`ErrorKind::TooLarge`] for more attachments than
    /// [`Limits::max_attachments`] or data nested deeper than
    /// [`Limits::max_depth`].
    pub fn decode_text(&mut self, text: Text) -> Result<Option<Packet>> {
        if let Some(p) = self.pending.take() {
            return Err(protocol(format!(
                "socket.io text packet while {} more attachments were expected",
                p.expected - p.packet.attachments.len()
            )));
        }
        let (packet, expected) = self.parse(text)?;
        if expected == 0 {
            Ok(Some(packet))
        } else {
            self.pending = Some(Pending {
                packet: Packet {
                    attachments: Vec::with_capacity(expected),
                    ..packet
                },
                expected,
            });
            Ok(None)
        }
    }

    /// Feeds one binary attachment. Returns the packet when it was the
    /// last one announced.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when no packet waits for an attachment.
    pub fn decode_binary(&mut self, binary: Bytes) -> Result<Option<Packet>> {
        let Some(p) = self.pending.as_mut() else {
            return Err(protocol(
                "socket.io binary attachment without a packet announcing it",
            ));
        };
        p.packet.attachments.push(binary);
        if p.packet.attachments.len() < p.expected {
            return Ok(None);
        }
        Ok(self.pending.take().map(|p| p.packet))
    }

    /// Parses a text packet: the packet (without attachments) and the
    /// number of attachments it announced.
    fn parse(&self, text: Text) -> Result<(Packet, usize)> {
        let s = text.as_str();
        let b = s.as_bytes();
        let Some(kind) = b.first().copied().and_then(PacketType::from_digit) else {
            return Err(protocol(format!(
                "socket.io packet {} has no known type",
                snippet(s)
            )));
        };
        let mut i = 1;
        let mut expected = 0;
        if kind.is_binary() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == start || b.get(i) != Some(&b'-') {
                return Err(protocol(format!(
                    "socket.io packet {} has an illegal attachment count",
                    snippet(s)
                )));
            }
            expected = parse_decimal(&s[start..i])
                .filter(|&n| n <= self.limits.max_attachments as u64)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::TooLarge,
                        format!(
                            "socket.io packet announces {} attachments, over the limit of {}",
                            &s[start..i],
                            self.limits.max_attachments
                        ),
                    )
                })? as usize;
            i += 1;
        }
        let nsp = if b.get(i) == Some(&b'/') {
            let start = i;
            let end = memchr::memchr(b',', &b[i..]).map_or(b.len(), |n| i + n);
            i = (end + 1).min(b.len());
            // SAFETY: `start` and `end` sit at ASCII bytes ('/' and ',') or
            // at the end of the UTF-8 text, so the slice is UTF-8.
            unsafe { Text::from_utf8_unchecked(text.clone().into_bytes().slice(start..end)) }
        } else {
            Text::from_static(MAIN)
        };
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let id = if i > start {
            match parse_decimal(&s[start..i]) {
                Some(id) if id <= MAX_ACK_ID => Some(id),
                _ => {
                    return Err(protocol(format!(
                        "socket.io ack id {} is over the limit of {MAX_ACK_ID}",
                        snippet(&s[start..i])
                    )))
                }
            }
        } else {
            None
        };
        let data = if i < b.len() {
            let v: Value = serde_json::from_str(&s[i..]).map_err(|e| {
                protocol(format!(
                    "socket.io packet data is not JSON ({e}): {}",
                    snippet(s)
                ))
            })?;
            Some(v)
        } else {
            None
        };
        let packet = Packet {
            kind,
            nsp,
            id,
            data,
            attachments: Vec::new(),
        };
        check_id(kind, id)?;
        check_data(kind, packet.data.as_ref())?;
        if let Some(d) = &packet.data {
            check_tree(d, kind, expected, self.limits.max_depth)?;
        }
        Ok((packet, expected))
    }
}

/// A decimal number of ASCII digits, `None` on overflow.
fn parse_decimal(digits: &str) -> Option<u64> {
    digits.bytes().try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The start of a packet, for error messages.
fn snippet(s: &str) -> String {
    let mut cut = s.len().min(48);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    if cut < s.len() {
        format!("{:?}…", &s[..cut])
    } else {
        format!("{s:?}")
    }
}

fn protocol(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Protocol, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b(bytes: &[u8]) -> Bytes {
        Bytes::copy_from_slice(bytes)
    }

    /// Decodes a text packet and its attachments, checking that the packet
    /// comes out exactly with the last one.
    fn decode_all(text: &str, attachments: &[Bytes]) -> Result<Packet> {
        let mut d = Decoder::default();
        let mut out = d.decode_text(Text::from(text))?;
        for (i, a) in attachments.iter().enumerate() {
            assert!(out.is_none(), "{text}: complete before attachment {i}");
            out = d.decode_binary(a.clone())?;
        }
        d.finish()?;
        Ok(out.expect("complete after its attachments"))
    }

    /// Every packet of the protocol document: decoded to the right value
    /// and encoded back to the same text and attachments.
    #[test]
    fn document_examples_round_trip() {
        let buf = b(&[1, 2, 3, 4]);
        let cases = vec![
            ("0", vec![], Packet::connect("/", None).unwrap()),
            (
                r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#,
                vec![],
                Packet::connect("/admin", Some(json!({"sid": "oSO0OpakMV_3jnilAAAA"}))).unwrap(),
            ),
            (
                r#"4{"message":"Not authorized"}"#,
                vec![],
                Packet::connect_error("/", json!({"message": "Not authorized"})).unwrap(),
            ),
            (
                r#"2["foo"]"#,
                vec![],
                Packet::event("/", json!(["foo"]), None).unwrap(),
            ),
            (
                r#"2/admin,["bar"]"#,
                vec![],
                Packet::event("/admin", json!(["bar"]), None).unwrap(),
            ),
            (
                r#"51-["baz",{"_placeholder":true,"num":0}]"#,
                vec![buf.clone()],
                Packet::binary_event("/", json!(["baz", placeholder(0)]), None, vec![buf.clone()])
                    .unwrap(),
            ),
            (
                r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
                vec![b(&[1, 2]), b(&[3, 4])],
                Packet::binary_event(
                    "/admin",
                    json!(["baz", placeholder(0), placeholder(1)]),
                    None,
                    vec![b(&[1, 2]), b(&[3, 4])],
                )
                .unwrap(),
            ),
            (
                r#"212["foo"]"#,
                vec![],
                Packet::event("/", json!(["foo"]), Some(12)).unwrap(),
            ),
            (
                r#"3/admin,13["bar"]"#,
                vec![],
                Packet::ack("/admin", 13, json!(["bar"])).unwrap(),
            ),
            (
                r#"61-15["bar",{"_placeholder":true,"num":0}]"#,
                vec![buf.clone()],
                Packet::binary_ack("/", 15, json!(["bar", placeholder(0)]), vec![buf.clone()])
                    .unwrap(),
            ),
            ("1", vec![], Packet::disconnect("/").unwrap()),
            ("1/admin,", vec![], Packet::disconnect("/admin").unwrap()),
            // The sample session.
            (
                r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#,
                vec![],
                Packet::connect("/", Some(json!({"sid": "wZX3oN0bSVIhsaknAAAI"}))).unwrap(),
            ),
            (
                r#"2["hey","Jude"]"#,
                vec![],
                Packet::event("/", json!(["hey", "Jude"]), None).unwrap(),
            ),
            ("0/admin,", vec![], Packet::connect("/admin", None).unwrap()),
            (
                r#"2/admin,1["tellme"]"#,
                vec![],
                Packet::event("/admin", json!(["tellme"]), Some(1)).unwrap(),
            ),
            (
                r#"61-/admin,1[{"_placeholder":true,"num":0}]"#,
                vec![buf.clone()],
                Packet::binary_ack("/admin", 1, json!([placeholder(0)]), vec![buf.clone()])
                    .unwrap(),
            ),
            // Exchange examples not spelled out in the encoding section.
            (
                r#"3/admin,13[]"#,
                vec![],
                Packet::ack("/admin", 13, json!([])).unwrap(),
            ),
            (
                r#"0/admin,{"token":"123"}"#,
                vec![],
                Packet::connect("/admin", Some(json!({"token": "123"}))).unwrap(),
            ),
        ];
        for (text, atts, packet) in cases {
            assert_eq!(decode_all(text, &atts).unwrap(), packet, "{text}");
            assert_eq!(encode(&packet), (text.to_string(), atts), "{text}");
        }
    }

    #[test]
    fn lenient_forms_of_the_reference_decode() {
        // A namespace running to the end, "/" spelled out, zero attachments.
        assert_eq!(
            decode_all("1/admin", &[]).unwrap(),
            Packet::disconnect("/admin").unwrap()
        );
        assert_eq!(
            decode_all(r#"2/,["a"]"#, &[]).unwrap(),
            Packet::event("/", json!(["a"]), None).unwrap()
        );
        let p = decode_all(r#"50-["a"]"#, &[]).unwrap();
        assert_eq!(p.kind(), PacketType::BinaryEvent);
        assert_eq!(encode(&p).0, r#"50-["a"]"#);
        assert_eq!(
            decode_all(r#"4"nope""#, &[]).unwrap().data(),
            Some(&json!("nope"))
        );
        // An attachment no placeholder names.
        let p = decode_all(
            r#"52-["a",{"_placeholder":true,"num":1}]"#,
            &[b(b"x"), b(b"y")],
        )
        .unwrap();
        let mut seen = Vec::new();
        p.resolve(|_, bin| seen.push(bin.clone()));
        assert_eq!(seen, vec![b(b"y")]);
    }

    #[test]
    fn attachments_are_not_copied() {
        let a = Bytes::from(vec![7u8; 64]);
        let p = decode_all(
            r#"51-["a",{"_placeholder":true,"num":0}]"#,
            std::slice::from_ref(&a),
        )
        .unwrap();
        assert_eq!(p.attachments()[0].as_ptr(), a.as_ptr());
        assert_eq!(encode(&p).1[0].as_ptr(), a.as_ptr());
    }

    /// The invalid-packet table of the Socket.IO tests, and more.
    #[test]
    fn invalid_packets_are_protocol_errors() {
        let bad = [
            "",
            "442[\"some\",\"data\"",
            "0/admin,\"invalid\"",
            "0[]",
            "1/admin,{}",
            "2/admin,{}",
            "2[{\"toString\":\"foo\"}]",
            "2[true,\"foo\"]",
            "2[null,\"bar\"]",
            "2[1,\"bar\"]",
            "2[\"connect\"]",
            "2[\"disconnect\",\"123\"]",
            "2[]",
            "2",
            "5",
            "51",
            "5a-",
            "51.23-",
            "5-[\"a\"]",
            "999",
            "7",
            "x",
            "3[\"a\"]",
            "6-1-[]",
            "01{}",
            "41{}",
            "2[\"a\"]x",
            "2[\"a\",{\"_placeholder\":true,\"num\":0}]",
            "51-[\"a\",{\"_placeholder\":true,\"num\":1}]",
            "51-[\"a\",{\"_placeholder\":true,\"num\":-1}]",
            "51-[\"a\",{\"_placeholder\":true,\"num\":0.5}]",
            "51-[\"a\",{\"_placeholder\":true,\"num\":\"0\"}]",
            "51-[\"a\",{\"_placeholder\":true,\"num\":\"__proto__\"}]",
            "51-[\"a\",{\"_placeholder\":true}]",
            "29007199254740992[\"a\"]",
            "299999999999999999999999[\"a\"]",
        ];
        for text in bad {
            let err = Decoder::default()
                .decode_text(Text::from(text))
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protocol, "{text:?}: {err}");
        }
        // The largest ack id is fine.
        assert_eq!(
            decode_all("29007199254740991[\"a\"]", &[]).unwrap().id(),
            Some(MAX_ACK_ID)
        );
    }

    #[test]
    fn attachment_counts_must_not_lie() {
        let text = Text::from(r#"51-["a",{"_placeholder":true,"num":0}]"#);
        // Fewer than announced: the next text is an error, and so is the end.
        let mut d = Decoder::default();
        assert_eq!(d.decode_text(text.clone()).unwrap(), None);
        assert!(d.is_waiting());
        assert_eq!(d.attachments_needed(), 1);
        assert_eq!(
            d.decode_text(Text::from("2[\"b\"]")).unwrap_err().kind(),
            ErrorKind::Protocol
        );
        assert_eq!(d.decode_text(text.clone()).unwrap(), None);
        assert_eq!(d.finish().unwrap_err().kind(), ErrorKind::Protocol);
        // More than announced: the extra binary is an error.
        let mut d = Decoder::default();
        d.decode_text(text).unwrap();
        assert!(d.decode_binary(b(b"1")).unwrap().is_some());
        assert_eq!(
            d.decode_binary(b(b"2")).unwrap_err().kind(),
            ErrorKind::Protocol
        );
        // A binary first.
        assert_eq!(
            Decoder::default()
                .feed(Data::Binary(b(b"x")))
                .unwrap_err()
                .kind(),
            ErrorKind::Protocol
        );
    }

    #[test]
    fn limits_are_too_large_errors() {
        let mut d = Decoder::new(Limits::default());
        assert_eq!(
            d.decode_text(Text::from("51001-[\"a\"]"))
                .unwrap_err()
                .kind(),
            ErrorKind::TooLarge
        );
        assert_eq!(
            d.decode_text(Text::from("5184467440737095516150-[\"a\"]"))
                .unwrap_err()
                .kind(),
            ErrorKind::TooLarge
        );
        assert_eq!(d.decode_text(Text::from("51000-[\"a\"]")).unwrap(), None);
        let mut d = Decoder::new(Limits::default().max_depth(3));
        assert!(d
            .decode_text(Text::from("2[\"a\",[[1]]]"))
            .unwrap()
            .is_some());
        assert_eq!(
            d.decode_text(Text::from("2[\"a\",[[[1]]]]"))
                .unwrap_err()
                .kind(),
            ErrorKind::TooLarge
        );
        // Deeper than serde_json's own limit: still a typed error.
        let deep = format!("2[\"a\",{}{}]", "[".repeat(10_000), "]".repeat(10_000));
        assert!(Decoder::default()
            .decode_text(Text::from(deep.as_str()))
            .is_err());
    }

    #[test]
    fn constructors_refuse_invalid_packets() {
        let bad = [
            Packet::connect("admin", None),
            Packet::connect("/a,b", None),
            Packet::connect("/", Some(json!([]))),
            Packet::event("/", json!({}), None),
            Packet::event("/", json!([]), None),
            Packet::event("/", json!([1]), None),
            Packet::event("/", json!(["connect"]), None),
            Packet::event("/", json!(["a"]), Some(MAX_ACK_ID + 1)),
            Packet::event("/", json!(["a", placeholder(0)]), None),
            Packet::binary_event("/", json!(["a", placeholder(1)]), None, vec![b(b"x")]),
            Packet::ack("/", 1, json!({})),
            Packet::connect_error("/", json!(1)),
            Packet::new(
                PacketType::Event,
                "/",
                None,
                Some(json!(["a"])),
                vec![b(b"x")],
            ),
            Packet::new(PacketType::Ack, "/", None, Some(json!([])), vec![]),
            Packet::new(PacketType::Disconnect, "/", Some(1), None, vec![]),
        ];
        for p in bad {
            assert_eq!(p.unwrap_err().kind(), ErrorKind::InvalidArgument);
        }
        let mut deep = json!(1);
        for _ in 0..100 {
            deep = json!([deep]);
        }
        assert_eq!(
            Packet::event("/", json!(["a", deep]), None)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn unicode_namespaces_and_names_round_trip() {
        let p = Packet::event("/é€", json!(["ñ", "\u{1e}\u{0}"]), Some(7)).unwrap();
        let (text, _) = encode(&p);
        assert_eq!(text, "2/é€,7[\"ñ\",\"\\u001e\\u0000\"]");
        assert_eq!(decode_all(&text, &[]).unwrap(), p);
    }

    /// Garbage in, bounded: never a panic; whatever decodes re-encodes to
    /// a text that decodes to the same packet.
    #[test]
    fn garbage_never_panics() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x510);
        let pieces: &[&str] = &[
            "0",
            "1",
            "2",
            "3",
            "4",
            "5",
            "6",
            "9",
            "-",
            "/",
            "/admin",
            ",",
            "[",
            "]",
            "{",
            "}",
            "\"a\"",
            ":",
            "12",
            "null",
            "true",
            "\"_placeholder\"",
            "\"num\"",
            "é",
            "18446744073709551616",
            " ",
        ];
        for _ in 0..20_000 {
            let n = rng.random_range(0..12);
            let s: String = (0..n)
                .map(|_| pieces[rng.random_range(0..pieces.len())])
                .collect();
            let mut d = Decoder::new(Limits::default().max_attachments(3));
            match d.decode_text(Text::from(s.as_str())) {
                Ok(Some(p)) => {
                    let (text, atts) = encode(&p);
                    assert!(atts.is_empty());
                    assert_eq!(decode_all(&text, &atts).unwrap(), p, "{s:?} -> {text:?}");
                }
                Ok(None) => {
                    for _ in 0..d.attachments_needed() {
                        let _ = d.decode_binary(b(b"x"));
                    }
                    assert!(!d.is_waiting());
                }
                Err(_) => {}
            }
        }
    }
}
