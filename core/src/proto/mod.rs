//! Sans-IO protocol state machines: bytes in, events out.
//!
//! Nothing here touches a socket, a clock or a runtime. Each parser is fed
//! whatever chunks the transport happened to read, in any split, and gives
//! the same result as if the whole stream had arrived at once. That makes
//! them testable byte by byte and fuzzable; `transport` drives them with
//! tokio.
//!
//! - [`sse`]: the `text/event-stream` (Server-Sent Events) parser.
//! - [`lines`]: line framing for HTTP streaming (lines, NDJSON).
//! - `stream`: an HTTP streaming body cut into messages per the framing.
//! - `long_poll`: a long-poll answer's messages and cursor.
//! - `deflate`: permessage-deflate (RFC 7692): negotiation, and one
//!   message compressed or inflated (bounded).
//! - `frame`: WebSocket frames (header, masking, a reader that checks
//!   every framing rule and joins fragments).
//! - `ws`: the WebSocket session rules shared by client and server
//!   (keepalive, close handshake, fault close codes).
//! - [`engineio`]: Engine.IO v4 packets (WebSocket frames, polling bodies,
//!   the handshake, the client's upgrade probe).
//! - [`socketio`]: Socket.IO v5 packets and their binary attachments.

pub(crate) mod deflate;
pub mod engineio;
pub(crate) mod frame;
pub(crate) mod handshake;
pub mod lines;
pub(crate) mod long_poll;
pub mod socketio;
pub mod sse;
pub(crate) mod stream;
pub(crate) mod ws;
