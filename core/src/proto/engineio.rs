//! The Engine.IO v4 packet codec, for WebSocket frames and polling payloads.
//!
//! Engine.IO is the transport layer under Socket.IO (see
//! [`socketio`](super::socketio)): a session that starts on HTTP long-polling
//! and upgrades to a WebSocket, with server-driven heartbeats. This module
//! only turns packets into bytes and back; the carriers move the bytes.
//!
//! ```
//! use rtwire::proto::engineio::{self, Packet};
//! use rtwire::Data;
//!
//! // One packet per WebSocket frame: text frames carry the type digit first,
//! // binary frames are binary messages as they are.
//! let frame = engineio::encode(&Packet::Message("hello".into()));
//! assert_eq!(frame.as_text(), Some("4hello"));
//! assert_eq!(engineio::decode(frame)?, Packet::Message("hello".into()));
//!
//! // Polling bodies join packets with 0x1E; binary messages become `b` + base64.
//! let body = engineio::encode_payload(&[
//!     Packet::Message("hello".into()),
//!     Packet::Message(Data::Binary(vec![1, 2, 3, 4].into())),
//! ])?;
//! assert_eq!(body, b"4hello\x1ebAQIDBA==");
//! let packets = engineio::decode_payload(&body.into(), &engineio::PayloadLimits::default())?;
//! assert_eq!(packets.len(), 2);
//! # Ok::<(), rtwire::Error>(())
//! ```
//!
//! # The wire format, as implemented
//!
//! From the Engine.IO protocol document (version 4) and the reference
//! `engine.io-parser`:
//!
//! - A packet is one type digit, `0` open, `1` close, `2` ping, `3` pong,
//!   `4` message, `5` upgrade, `6` noop, followed by its payload. The open
//!   payload is the [`Handshake`] JSON; ping and pong may carry text (the
//!   upgrade uses `probe`); a message carries text or binary; close, upgrade
//!   and noop carry nothing (a payload there is an error).
//! - Over a WebSocket each packet is its own frame. A binary frame is a binary
//!   message with no type byte.
//! - A polling body is UTF-8 text: the packets joined with the record
//!   separator `0x1E`; a binary message is `b` followed by its standard
//!   base64 (padding optional when decoding). An empty body, an empty packet
//!   (a leading, trailing or doubled separator), an unknown type, invalid
//!   base64 or invalid UTF-8 is an [`ErrorKind::Protocol`] error. A text
//!   packet that contains `0x1E` cannot be written to a polling body and is
//!   refused by [`encode_payload`].
//! - A `b` text packet is a binary message also in a WebSocket text frame,
//!   as the reference parser reads it.
//!
//! # Limits
//!
//! [`decode_payload`] refuses a body over [`PayloadLimits::max_payload`]
//! (the handshake's `maxPayload`) or with more than
//! [`PayloadLimits::max_packets`] packets with [`ErrorKind::TooLarge`],
//! before allocating for it. Decoding is one pass over the body.
//!
//! # Cost
//!
//! Decoding a text packet slices the frame or body (`Bytes`): no copy.
//! Encoding a text packet writes the type digit and the payload once. Binary
//! frames pass through untouched; base64 in polling costs one allocation of
//! the decoded size.

use std::time::Duration;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use bytes::Bytes;
use memchr::{memchr, memchr_iter};
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::message::{Data, Text};

/// The record separator between packets of a polling body.
pub const SEPARATOR: u8 = 0x1E;

/// The payload of the ping and pong packets of the upgrade probe.
pub const PROBE: &str = "probe";

/// The protocol version, the `EIO` query parameter.
pub const PROTOCOL: u8 = 4;

/// Standard base64; padding written, and optional when reading.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Largest millisecond value accepted for `pingInterval` and `pingTimeout`:
/// the largest JavaScript timer delay (2³¹−1 ms, about 24.8 days).
const MAX_TIMER_MS: u64 = i32::MAX as u64;

/// Largest integer a JavaScript peer represents exactly (2⁵³−1).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0`: the server's handshake.
    Open(Handshake),
    /// `1`: the transport is being closed.
    Close,
    /// `2`: a heartbeat ping (sent by the server in v4), or the client's
    /// upgrade probe when the text is [`PROBE`]. The text is usually empty.
    Ping(Text),
    /// `3`: the answer to a ping, with the same text.
    Pong(Text),
    /// `4`: an application message, text or binary.
    Message(Data),
    /// `5`: the client completes an upgrade.
    Upgrade,
    /// `6`: no operation (ends a pending poll during an upgrade).
    Noop,
}

impl Packet {
    /// A ping without payload (`2`).
    pub fn ping() -> Packet {
        Packet::Ping(Text::default())
    }

    /// A pong without payload (`3`).
    pub fn pong() -> Packet {
        Packet::Pong(Text::default())
    }

    /// The upgrade probe ping (`2probe`).
    pub fn ping_probe() -> Packet {
        Packet::Ping(Text::from_static(PROBE))
    }

    /// The upgrade probe answer (`3probe`).
    pub fn pong_probe() -> Packet {
        Packet::Pong(Text::from_static(PROBE))
    }

    /// The type digit of the packet (`b'0'` to `b'6'`).
    pub fn type_byte(&self) -> u8 {
        match self {
            Packet::Open(_) => b'0',
            Packet::Close => b'1',
            Packet::Ping(_) => b'2',
            Packet::Pong(_) => b'3',
            Packet::Message(_) => b'4',
            Packet::Upgrade => b'5',
            Packet::Noop => b'6',
        }
    }

    /// The length in bytes of the packet in a polling body (without the
    /// separator), to fill a body up to `maxPayload`.
    pub fn polling_len(&self) -> usize {
        match self {
            Packet::Message(Data::Binary(b)) => {
                1 + base64::encoded_len(b.len(), true).unwrap_or(usize::MAX)
            }
            Packet::Open(h) => 1 + h.to_json().len(),
            Packet::Ping(t) | Packet::Pong(t) | Packet::Message(Data::Text(t)) => 1 + t.len(),
            Packet::Close | Packet::Upgrade | Packet::Noop => 1,
        }
    }
}

/// The payload of the open packet: the session's parameters, sent by the
/// server as JSON.
///
/// ```
/// use std::time::Duration;
/// use rtwire::proto::engineio::Handshake;
///
/// let h = Handshake::from_json(
///     r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
/// )?;
/// assert_eq!(h.sid, "lv_VI97HAXpY6yYWAAAC");
/// assert!(h.can_upgrade_to_websocket());
/// assert_eq!(h.ping_interval, Duration::from_secs(25));
/// assert_eq!(h.max_payload, Some(1_000_000));
/// # Ok::<(), rtwire::Error>(())
/// ```
///
/// Parsing checks every field: `sid` a non-empty string, `upgrades` an array
/// of strings (unknown names are kept; the client ignores them),
/// `pingInterval` and `pingTimeout` integers from 1 to 2³¹−1 milliseconds,
/// `maxPayload` (optional: servers before engine.io 5 do not send it) an
/// integer from 1 to 2⁵³−1. Other fields are ignored. Anything else is an
/// [`ErrorKind::Protocol`] error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The session id, sent back in the `sid` query parameter.
    pub sid: String,
    /// The transports the session may upgrade to (`"websocket"`).
    pub upgrades: Vec<String>,
    /// How often the server pings.
    pub ping_interval: Duration,
    /// How long the server waits for a pong; the client gives up on a
    /// server that sent no ping within `ping_interval + ping_timeout`.
    pub ping_timeout: Duration,
    /// The largest polling body, in bytes, the server accepts.
    pub max_payload: Option<u64>,
}

impl Handshake {
    /// Parses the JSON payload of an open packet.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when it is not JSON or a field is missing or
    /// out of range (see the [type docs](Handshake)).
    pub fn from_json(json: &str) -> Result<Handshake> {
        let v: Value = serde_json::from_str(json)
            .map_err(|e| protocol(format!("engine.io handshake is not JSON: {e}")))?;
        let obj = v
            .as_object()
            .ok_or_else(|| protocol("engine.io handshake is not a JSON object"))?;
        let sid = match obj.get("sid") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(_) => {
                return Err(protocol(
                    "engine.io handshake: `sid` is not a non-empty string",
                ))
            }
            None => return Err(protocol("engine.io handshake: no `sid`")),
        };
        let upgrades = match obj.get("upgrades") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|u| {
                    u.as_str().map(str::to_owned).ok_or_else(|| {
                        protocol("engine.io handshake: an `upgrades` entry is not a string")
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            Some(_) => return Err(protocol("engine.io handshake: `upgrades` is not an array")),
            None => return Err(protocol("engine.io handshake: no `upgrades`")),
        };
        let ping_interval = Duration::from_millis(integer(obj, "pingInterval", MAX_TIMER_MS)?);
        let ping_timeout = Duration::from_millis(integer(obj, "pingTimeout", MAX_TIMER_MS)?);
        let max_payload = match obj.get("maxPayload") {
            None => None,
            Some(_) => Some(integer(obj, "maxPayload", MAX_SAFE_INTEGER)?),
        };
        Ok(Handshake {
            sid,
            upgrades,
            ping_interval,
            ping_timeout,
            max_payload,
        })
    }

    /// The JSON payload of the open packet, with the fields in the order of
    /// the protocol document (`sid`, `upgrades`, `pingInterval`,
    /// `pingTimeout`, `maxPayload`). Durations are written in whole
    /// milliseconds.
    pub fn to_json(&self) -> String {
        // Strings and arrays of strings never fail to serialize.
        let sid = serde_json::to_string(&self.sid).unwrap_or_default();
        let upgrades = serde_json::to_string(&self.upgrades).unwrap_or_default();
        let mut s = format!(
            r#"{{"sid":{sid},"upgrades":{upgrades},"pingInterval":{},"pingTimeout":{}"#,
            self.ping_interval.as_millis(),
            self.ping_timeout.as_millis()
        );
        if let Some(m) = self.max_payload {
            s.push_str(&format!(r#","maxPayload":{m}"#));
        }
        s.push('}');
        s
    }

    /// Whether the server offers the upgrade to a WebSocket.
    pub fn can_upgrade_to_websocket(&self) -> bool {
        self.upgrades.iter().any(|u| u == "websocket")
    }
}

/// A positive integer field of the handshake, at most `max`.
fn integer(obj: &serde_json::Map<String, Value>, name: &str, max: u64) -> Result<u64> {
    match obj.get(name) {
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if (1..=max).contains(&v) => Ok(v),
            _ => Err(protocol(format!(
                "engine.io handshake: `{name}` is {n}, not an integer from 1 to {max}"
            ))),
        },
        Some(_) => Err(protocol(format!(
            "engine.io handshake: `{name}` is not a number"
        ))),
        None => Err(protocol(format!("engine.io handshake: no `{name}`"))),
    }
}

/// The packet as one WebSocket frame: a text frame with the type digit
/// first, or, for a binary message, a binary frame with the bytes as they
/// are (no copy).
pub fn encode(packet: &Packet) -> Data {
    match packet {
        Packet::Message(Data::Binary(b)) => Data::Binary(b.clone()),
        other => Data::Text(Text::from(encode_text(other))),
    }
}

/// The text form of a packet that is not a binary message.
fn encode_text(packet: &Packet) -> String {
    let payload: &str = match packet {
        Packet::Open(h) => return format!("0{}", h.to_json()),
        Packet::Ping(t) | Packet::Pong(t) | Packet::Message(Data::Text(t)) => t,
        Packet::Message(Data::Binary(_)) | Packet::Close | Packet::Upgrade | Packet::Noop => "",
    };
    let mut s = String::with_capacity(1 + payload.len());
    s.push(char::from(packet.type_byte()));
    s.push_str(payload);
    s
}

/// Reads the packet of one WebSocket frame: a binary frame is a binary
/// message, a text frame is parsed. Text payloads are slices of the frame.
///
/// # Errors
/// [`ErrorKind::Protocol`] for an empty text frame, an unknown type, a
/// payload on close/upgrade/noop, invalid base64 after `b`, or an invalid
/// handshake.
pub fn decode(frame: Data) -> Result<Packet> {
    match frame {
        Data::Binary(b) => Ok(Packet::Message(Data::Binary(b))),
        Data::Text(t) => decode_text(t),
    }
}

/// Parses one text packet (a WebSocket text frame, or one packet of a
/// polling body).
fn decode_text(t: Text) -> Result<Packet> {
    let Some(&first) = t.as_bytes().first() else {
        return Err(protocol("empty engine.io packet"));
    };
    // The type byte is ASCII (or the packet is refused below), so the rest
    // starts on a character boundary.
    let rest = || -> Text {
        let bytes = t.clone().into_bytes().slice(1..);
        // SAFETY: `t` is UTF-8 and byte 0 is an ASCII character, so the
        // bytes after it are UTF-8 too.
        unsafe { Text::from_utf8_unchecked(bytes) }
    };
    let empty_payload = |p: Packet| {
        if t.len() == 1 {
            Ok(p)
        } else {
            Err(protocol(format!(
                "engine.io packet type {} carries a payload",
                char::from(first)
            )))
        }
    };
    match first {
        b'0' => Ok(Packet::Open(Handshake::from_json(&t[1..])?)),
        b'1' => empty_payload(Packet::Close),
        b'2' => Ok(Packet::Ping(rest())),
        b'3' => Ok(Packet::Pong(rest())),
        b'4' => Ok(Packet::Message(Data::Text(rest()))),
        b'5' => empty_payload(Packet::Upgrade),
        b'6' => empty_payload(Packet::Noop),
        b'b' => {
            let bytes = B64
                .decode(&t.as_bytes()[1..])
                .map_err(|e| protocol(format!("engine.io binary packet is not base64: {e}")))?;
            Ok(Packet::Message(Data::Binary(Bytes::from(bytes))))
        }
        other => Err(protocol(format!(
            "unknown engine.io packet type {:?}",
            char::from(other)
        ))),
    }
}

/// Limits applied by [`decode_payload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PayloadLimits {
    /// Largest body in bytes. Default 1 000 000, engine.io's default
    /// `maxPayload`; set it to the handshake's value.
    pub max_payload: usize,
    /// Most packets in one body. Default 100 000.
    pub max_packets: usize,
}

impl Default for PayloadLimits {
    fn default() -> Self {
        PayloadLimits {
            max_payload: 1_000_000,
            max_packets: 100_000,
        }
    }
}

impl PayloadLimits {
    /// Sets [`max_payload`](PayloadLimits::max_payload).
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.max_payload = bytes;
        self
    }

    /// Sets [`max_packets`](PayloadLimits::max_packets).
    pub fn max_packets(mut self, packets: usize) -> Self {
        self.max_packets = packets;
        self
    }
}

/// Encodes packets as a polling body: joined with `0x1E`, binary messages as
/// `b` + base64.
///
/// # Errors
/// [`ErrorKind::InvalidArgument`] when a text payload contains the
/// separator `0x1E`, which a polling body cannot carry.
pub fn encode_payload(packets: &[Packet]) -> Result<Vec<u8>> {
    let len: usize = packets.iter().map(|p| p.polling_len() + 1).sum();
    let mut out = Vec::with_capacity(len);
    for (i, p) in packets.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        match p {
            Packet::Message(Data::Binary(b)) => {
                out.push(b'b');
                let start = out.len();
                out.resize(start + base64::encoded_len(b.len(), true).unwrap_or(0), 0);
                // The buffer was sized for the encoding just above.
                let n = B64.encode_slice(b, &mut out[start..]).unwrap_or(0);
                out.truncate(start + n);
            }
            Packet::Open(_) => out.extend_from_slice(encode_text(p).as_bytes()),
            Packet::Ping(t) | Packet::Pong(t) | Packet::Message(Data::Text(t)) => {
                if memchr(SEPARATOR, t.as_bytes()).is_some() {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        "an engine.io text packet that contains 0x1E cannot be sent by polling",
                    ));
                }
                out.push(p.type_byte());
                out.extend_from_slice(t.as_bytes());
            }
            Packet::Close | Packet::Upgrade | Packet::Noop => out.push(p.type_byte()),
        }
    }
    Ok(out)
}

/// Decodes a polling body into its packets, in order. Text payloads are
/// slices of `body`.
///
/// # Errors
/// [`ErrorKind::TooLarge`] over a limit; [`ErrorKind::Protocol`] for an
/// empty body, an empty packet, invalid UTF-8 or any packet [`decode`]
/// refuses.
pub fn decode_payload(body: &Bytes, limits: &PayloadLimits) -> Result<Vec<Packet>> {
    if body.len() > limits.max_payload {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!(
                "engine.io payload of {} bytes is over the limit of {} bytes",
                body.len(),
                limits.max_payload
            ),
        ));
    }
    if body.is_empty() {
        return Err(protocol("empty engine.io payload"));
    }
    if std::str::from_utf8(body).is_err() {
        return Err(protocol("engine.io payload is not UTF-8"));
    }
    let count = memchr_iter(SEPARATOR, body).count() + 1;
    if count > limits.max_packets {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!(
                "engine.io payload of {count} packets is over the limit of {}",
                limits.max_packets
            ),
        ));
    }
    let mut packets = Vec::with_capacity(count);
    let mut start = 0;
    for end in memchr_iter(SEPARATOR, body).chain(std::iter::once(body.len())) {
        // SAFETY: the body is UTF-8 and the separator is ASCII, so every
        // piece between separators is UTF-8.
        let piece = unsafe { Text::from_utf8_unchecked(body.slice(start..end)) };
        packets.push(decode_text(piece)?);
        start = end + 1;
    }
    Ok(packets)
}

/// Where a client-side upgrade stands (see [`ClientUpgrade`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeState {
    /// Not started.
    Idle,
    /// `2probe` sent on the new WebSocket; waiting for `3probe`.
    Probing,
    /// `3probe` received: pause polling (let the pending requests end), then
    /// call [`ClientUpgrade::complete`].
    Probed,
    /// `5` handed out: the session is on the WebSocket.
    Upgraded,
    /// The probe was answered wrongly: close the WebSocket and stay on
    /// polling.
    Failed,
}

/// The client's side of the upgrade from polling to a WebSocket, as pure
/// state (the caller owns the sockets and the probe timeout):
///
/// 1. open the WebSocket with the session's `sid` and send
///    [`probe`](ClientUpgrade::probe) (`2probe`);
/// 2. hand every packet read from that WebSocket to
///    [`on_packet`](ClientUpgrade::on_packet) until it answers
///    [`UpgradeState::Probed`] (`3probe` came) or an error;
/// 3. pause polling, wait for the pending requests to end, send
///    [`complete`](ClientUpgrade::complete) (`5`) on the WebSocket, then
///    send the buffered packets there.
///
/// ```
/// use rtwire::proto::engineio::{ClientUpgrade, Packet, UpgradeState};
///
/// let mut up = ClientUpgrade::new();
/// assert_eq!(up.probe()?, Packet::ping_probe());
/// assert_eq!(up.on_packet(&Packet::pong_probe())?, UpgradeState::Probed);
/// assert_eq!(up.complete()?, Packet::Upgrade);
/// assert_eq!(up.state(), UpgradeState::Upgraded);
/// # Ok::<(), rtwire::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientUpgrade {
    state: UpgradeState,
}

impl Default for ClientUpgrade {
    fn default() -> Self {
        ClientUpgrade::new()
    }
}

impl ClientUpgrade {
    /// An upgrade not yet started.
    pub fn new() -> ClientUpgrade {
        ClientUpgrade {
            state: UpgradeState::Idle,
        }
    }

    /// Where the upgrade stands.
    pub fn state(&self) -> UpgradeState {
        self.state
    }

    /// Starts the upgrade: the packet to send first on the new WebSocket.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] when the upgrade was already started.
    pub fn probe(&mut self) -> Result<Packet> {
        self.expect(UpgradeState::Idle, "probe")?;
        self.state = UpgradeState::Probing;
        Ok(Packet::ping_probe())
    }

    /// A packet read from the new WebSocket while probing.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when it is anything but `3probe` (a wrong
    /// probe, a noop, a message): the upgrade has failed and the session
    /// stays on polling. [`ErrorKind::InvalidArgument`] when not probing.
    pub fn on_packet(&mut self, packet: &Packet) -> Result<UpgradeState> {
        self.expect(UpgradeState::Probing, "on_packet")?;
        match packet {
            Packet::Pong(t) if t == PROBE => {
                self.state = UpgradeState::Probed;
                Ok(self.state)
            }
            other => {
                self.state = UpgradeState::Failed;
                Err(protocol(format!(
                    "engine.io upgrade failed: expected the probe answer 3probe, got {:?}",
                    encode_text_lossy(other)
                )))
            }
        }
    }

    /// Ends the upgrade: the packet to send on the WebSocket once polling
    /// is paused.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] when the probe was not answered.
    pub fn complete(&mut self) -> Result<Packet> {
        self.expect(UpgradeState::Probed, "complete")?;
        self.state = UpgradeState::Upgraded;
        Ok(Packet::Upgrade)
    }

    fn expect(&self, state: UpgradeState, call: &str) -> Result<()> {
        if self.state == state {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("engine.io upgrade: {call} called in state {:?}", self.state),
            ))
        }
    }
}

/// A short description of a packet for error messages.
fn encode_text_lossy(packet: &Packet) -> String {
    match packet {
        Packet::Message(Data::Binary(b)) => format!("a binary message of {} bytes", b.len()),
        other => {
            let mut s = encode_text(other);
            if s.len() > 64 {
                let mut cut = 64;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                s.truncate(cut);
                s.push('…');
            }
            s
        }
    }
}

fn protocol(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Protocol, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Data {
        Data::Text(Text::from(s))
    }

    fn bin(b: &[u8]) -> Data {
        Data::Binary(Bytes::copy_from_slice(b))
    }

    fn body(s: &[u8]) -> Bytes {
        Bytes::copy_from_slice(s)
    }

    const HANDSHAKE: &str = r#"{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

    /// Every packet of the protocol document, over a WebSocket: decoded to
    /// the right value and encoded back to the same frame.
    #[test]
    fn document_examples_over_websocket_round_trip() {
        let cases = [
            (text("4hello"), Packet::Message(text("hello"))),
            (text("2"), Packet::ping()),
            (text("3"), Packet::pong()),
            (text("2probe"), Packet::ping_probe()),
            (text("3probe"), Packet::pong_probe()),
            (text("5"), Packet::Upgrade),
            (text("6"), Packet::Noop),
            (text("1"), Packet::Close),
            (bin(&[1, 2, 3, 4]), Packet::Message(bin(&[1, 2, 3, 4]))),
        ];
        for (frame, packet) in cases {
            assert_eq!(decode(frame.clone()).unwrap(), packet, "{frame:?}");
            assert_eq!(encode(&packet), frame);
        }
    }

    #[test]
    fn document_handshake_round_trips() {
        let frame = text(&format!("0{HANDSHAKE}"));
        let Packet::Open(h) = decode(frame.clone()).unwrap() else {
            panic!("not an open packet")
        };
        assert_eq!(
            h,
            Handshake {
                sid: "lv_VI97HAXpY6yYWAAAC".into(),
                upgrades: vec!["websocket".into()],
                ping_interval: Duration::from_millis(25000),
                ping_timeout: Duration::from_millis(20000),
                max_payload: Some(1_000_000),
            }
        );
        assert_eq!(encode(&Packet::Open(h)), frame);
        // The sample session's handshake (pingTimeout 5000).
        let sample = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}"#;
        let p = decode(text(sample)).unwrap();
        assert_eq!(encode(&p), text(sample));
    }

    #[test]
    fn document_polling_examples_round_trip() {
        let cases: [(&[u8], Vec<Packet>); 3] = [
            (
                b"4hello\x1e2\x1e4world",
                vec![
                    Packet::Message(text("hello")),
                    Packet::ping(),
                    Packet::Message(text("world")),
                ],
            ),
            (
                b"4hello\x1ebAQIDBA==",
                vec![
                    Packet::Message(text("hello")),
                    Packet::Message(bin(&[1, 2, 3, 4])),
                ],
            ),
            (
                b"42[\"hello\"]\x1e42[\"world\"]",
                vec![
                    Packet::Message(text("2[\"hello\"]")),
                    Packet::Message(text("2[\"world\"]")),
                ],
            ),
        ];
        for (wire, packets) in cases {
            assert_eq!(
                decode_payload(&body(wire), &PayloadLimits::default()).unwrap(),
                packets
            );
            assert_eq!(encode_payload(&packets).unwrap(), wire);
        }
    }

    #[test]
    fn text_payloads_are_slices_of_the_input() {
        let b = body(b"4hello\x1e4world");
        let packets = decode_payload(&b, &PayloadLimits::default()).unwrap();
        let Packet::Message(Data::Text(t)) = &packets[1] else {
            panic!()
        };
        assert_eq!(t.as_bytes().as_ptr(), b[8..].as_ptr());
    }

    #[test]
    fn unpadded_base64_and_empty_binary_decode() {
        let p = decode_payload(&body(b"bAQIDBA"), &PayloadLimits::default()).unwrap();
        assert_eq!(p, vec![Packet::Message(bin(&[1, 2, 3, 4]))]);
        let p = decode_payload(&body(b"b"), &PayloadLimits::default()).unwrap();
        assert_eq!(p, vec![Packet::Message(bin(&[]))]);
    }

    #[test]
    fn bad_packets_are_protocol_errors() {
        for bad in [
            "",
            "a123",
            "{",
            "9",
            "b!!notbase64",
            "1x",
            "5probe",
            "6 ",
            "0",
            "0{",
            "0[]",
        ] {
            let err = decode(text(bad)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protocol, "{bad:?}");
        }
    }

    #[test]
    fn bad_bodies_are_protocol_errors() {
        let bad: [&[u8]; 7] = [
            b"",
            b"\x1e4a",
            b"4a\x1e",
            b"4a\x1e\x1e4b",
            b"\x1e",
            b"4\xff",
            b"4a\x1eb!!",
        ];
        for b in bad {
            let err = decode_payload(&body(b), &PayloadLimits::default()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protocol, "{b:?}");
        }
    }

    #[test]
    fn limits_are_enforced_before_allocating() {
        let big = body(&vec![b'4'; 1_000_001]);
        assert_eq!(
            decode_payload(&big, &PayloadLimits::default())
                .unwrap_err()
                .kind(),
            ErrorKind::TooLarge
        );
        let many: Vec<u8> = b"6\x1e".repeat(11).into_iter().chain(*b"6").collect();
        let limits = PayloadLimits::default().max_packets(10);
        assert_eq!(
            decode_payload(&body(&many), &limits).unwrap_err().kind(),
            ErrorKind::TooLarge
        );
        // Half a million tiny packets within the limits decode in one pass.
        let mut many = b"6\x1e".repeat(499_999);
        many.push(b'6');
        let limits = PayloadLimits::default().max_packets(500_000);
        assert_eq!(
            decode_payload(&body(&many), &limits).unwrap().len(),
            500_000
        );
    }

    #[test]
    fn a_separator_in_text_cannot_be_polled() {
        let err = encode_payload(&[Packet::Message(text("a\x1eb"))]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        // It can go over a WebSocket.
        assert_eq!(encode(&Packet::Message(text("a\x1eb"))), text("4a\x1eb"));
    }

    #[test]
    fn bad_handshakes_are_refused() {
        let good: Value = serde_json::from_str(HANDSHAKE).unwrap();
        let set = |k: &str, v: Value| {
            let mut h = good.clone();
            h[k] = v;
            h.to_string()
        };
        let without = |k: &str| {
            let mut h = good.clone();
            h.as_object_mut().unwrap().remove(k);
            h.to_string()
        };
        let bad = [
            without("sid"),
            without("upgrades"),
            without("pingInterval"),
            without("pingTimeout"),
            set("sid", "".into()),
            set("sid", 5.into()),
            set("upgrades", "websocket".into()),
            set("upgrades", serde_json::json!([1])),
            set("pingInterval", 0.into()),
            set("pingInterval", (-1).into()),
            set("pingInterval", (1u64 << 53).into()),
            set("pingInterval", "25000".into()),
            set("pingInterval", 2.5.into()),
            set("pingTimeout", 0.into()),
            set("maxPayload", 0.into()),
            set("maxPayload", (1u64 << 53).into()),
            "[]".to_string(),
            "null".to_string(),
        ];
        for json in bad {
            let err = Handshake::from_json(&json).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protocol, "{json}");
        }
        // An old server without maxPayload, with an unknown upgrade and extra
        // fields: accepted.
        let h = Handshake::from_json(&without("maxPayload")).unwrap();
        assert_eq!(h.max_payload, None);
        let h =
            Handshake::from_json(&set("upgrades", serde_json::json!(["webtransport"]))).unwrap();
        assert!(!h.can_upgrade_to_websocket());
        assert!(Handshake::from_json(&set("extra", true.into())).is_ok());
    }

    #[test]
    fn polling_len_matches_the_encoding() {
        let h = Handshake::from_json(HANDSHAKE).unwrap();
        let packets = [
            Packet::Open(h),
            Packet::Close,
            Packet::ping_probe(),
            Packet::Message(text("héllo")),
            Packet::Message(bin(&[0; 7])),
            Packet::Noop,
        ];
        for p in packets {
            assert_eq!(
                p.polling_len(),
                encode_payload(std::slice::from_ref(&p)).unwrap().len(),
                "{p:?}"
            );
        }
    }

    #[test]
    fn upgrade_probe_sequence() {
        let mut up = ClientUpgrade::new();
        assert_eq!(
            up.complete().unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(encode(&up.probe().unwrap()), text("2probe"));
        assert_eq!(up.probe().unwrap_err().kind(), ErrorKind::InvalidArgument);
        let answer = decode(text("3probe")).unwrap();
        assert_eq!(up.on_packet(&answer).unwrap(), UpgradeState::Probed);
        assert_eq!(encode(&up.complete().unwrap()), text("5"));
        assert_eq!(up.state(), UpgradeState::Upgraded);
    }

    #[test]
    fn a_wrong_probe_answer_fails_the_upgrade() {
        for wrong in ["3prob", "6", "3", "4probe", "2probe"] {
            let mut up = ClientUpgrade::new();
            up.probe().unwrap();
            let err = up.on_packet(&decode(text(wrong)).unwrap()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protocol, "{wrong}");
            assert_eq!(up.state(), UpgradeState::Failed);
        }
    }

    /// Garbage in, bounded: never a panic, only values or typed errors.
    #[test]
    fn garbage_never_panics() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5e10);
        let alphabet = b"0123456b\x1e{}[]\":,probe=+/AQ\xff\xc3\xa9";
        let limits = PayloadLimits::default().max_packets(64);
        for _ in 0..20_000 {
            let len = rng.random_range(0..40);
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.random_bool(0.8) {
                        alphabet[rng.random_range(0..alphabet.len())]
                    } else {
                        rng.random()
                    }
                })
                .collect();
            let b = Bytes::from(bytes);
            if let Ok(packets) = decode_payload(&b, &limits) {
                // Whatever decodes re-encodes and decodes to the same packets.
                if let Ok(again) = encode_payload(&packets) {
                    assert_eq!(decode_payload(&again.into(), &limits).unwrap(), packets);
                }
            }
            if let Ok(t) = Text::from_utf8(b.clone()) {
                let _ = decode(Data::Text(t));
            }
            let _ = decode(Data::Binary(b));
        }
    }
}
