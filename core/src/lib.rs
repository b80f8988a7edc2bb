//! # rtwire
//!
//! One native core for real-time web connections. Give it a URL and get one
//! ordered stream of [`Event`]s and one `send`, with reconnect, keepalive,
//! limits and clear errors built in, whatever the transport underneath.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rtwire::Error> {
//! use rtwire::{Event, Options};
//!
//! let mut conn = rtwire::connect("wss://example.com/chat", Options::new()).await?;
//! conn.send("hello").await?;
//! while let Some(event) = conn.recv().await {
//!     match event {
//!         Event::Message(m) => println!("got {:?}", m.data),
//!         Event::Reconnecting { attempt, delay, cause } => {
//!             eprintln!("lost ({cause}); retry {attempt} in {delay:?}")
//!         }
//!         Event::Closed(c) => println!("closed {} {}", c.code, c.reason),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! ## Features
//! - WebSocket (`ws://`, `wss://`) with rustls TLS, subprotocols, custom
//!   headers, ping/pong keepalive and dead-peer detection, limits
//!   ([`Limits`]), and the close handshake.
//! - Reconnect with exponential backoff and full jitter ([`Reconnect`]);
//!   messages sent while reconnecting are queued (bounded) and flushed in
//!   order; whatever is never sent is handed back in [`CloseInfo::unsent`].
//! - Backpressure both ways: a bounded event queue (a slow reader slows the
//!   socket) and a bounded outgoing queue (`send` waits, `try_send` fails and
//!   hands the message back).
//! - Proxies for every transport, WebSocket included: HTTP `CONNECT` with
//!   basic auth, HTTPS and SOCKS5 proxies, from [`Proxy`] or the usual
//!   `HTTPS_PROXY`/`NO_PROXY` variables (rules on [`Proxy`]).
//! - A [`blocking`] facade for code without a runtime.
//! - [`hosted`] connections, run on an application's own event loop (asyncio,
//!   libuv) with their sockets watched by that loop: no thread hop per
//!   message. The Python and Node bindings use them.
//!
//! ## Errors
//! One [`Error`] with a stable [`ErrorKind`]; every binding maps the kind.
//!
//! ## Cancel safety
//! [`Connection::recv`] is cancel safe: dropping the future loses no event.
//! [`Connection::send`] is cancel safe: if the future is dropped before it
//! completes, the message was not queued.
#![deny(missing_docs, missing_debug_implementations, unused_must_use)]

pub mod blocking;
mod client;
pub mod error;
pub mod event;
#[cfg(unix)]
pub mod hosted;
mod http;
pub mod message;
mod net;
pub mod options;
pub mod proto;
mod proxy;
pub mod reconnect;
pub mod runtime;
pub mod server;
mod session;
mod target;
mod tls;
mod transport;
#[cfg(unix)]
mod wake_fd;

pub use client::{connect, connect_check, is_valid_close_code, Connection, Sender};
pub use error::{Error, ErrorKind, Result};
pub use event::{CloseInfo, Event, OpenInfo};
pub use message::{Data, Message, Text};
pub use options::{
    Cursor, CursorFrom, CursorTo, Framing, HttpOptions, Keepalive, Limits, Options, Proxy,
    TlsOptions, Transport,
};
pub use reconnect::Reconnect;
#[cfg(unix)]
pub use wake_fd::WakeFd;

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
