//! The events a [`Connection`](crate::Connection) yields, in order.

use std::time::Duration;

use crate::error::Error;
use crate::message::{Data, Message};
use crate::options::Transport;

/// One event of a connection. The order is: `Open`, then any number of
/// `Message`, `Reconnecting` (followed by a new `Open` when it succeeds) and
/// `Error`, and `Closed` exactly once, always last.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// A session is established (first connect or after a reconnect).
    Open(OpenInfo),
    /// A message arrived.
    Message(Message),
    /// The session was lost and a new attempt is scheduled.
    Reconnecting {
        /// 1 for the first retry after a loss, counting up until a session
        /// opens again.
        attempt: u32,
        /// The wait before the attempt.
        delay: Duration,
        /// Why the previous session or attempt ended.
        cause: Error,
    },
    /// An error that ends the connection (followed by `Closed`) or that the
    /// connection survived (a refused send, an overflow).
    Error(Error),
    /// The connection is over. Always the last event, exactly once.
    Closed(CloseInfo),
}

/// What an `open` event reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenInfo {
    /// The transport in use.
    pub transport: Transport,
    /// The URL connected to, without user name or password.
    pub url: String,
    /// The subprotocol the server chose, if any.
    pub protocol: Option<String>,
    /// The response headers of the handshake (names in lower case); empty
    /// for a server's connection, whose request headers are in
    /// [`Request::headers`](crate::server::Request::headers).
    pub headers: Vec<(String, String)>,
}

/// What a `closed` event reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseInfo {
    /// The close code: the peer's (or ours, if the peer sent none in reply),
    /// 1005 when a close frame had no code, 1006 when the connection was lost
    /// without a close handshake.
    pub code: u16,
    /// The close reason.
    pub reason: String,
    /// Whether the close handshake completed in both directions.
    pub clean: bool,
    /// Messages accepted by `send` that were never written; they are handed
    /// back here, in order, rather than dropped.
    pub unsent: Vec<Data>,
}

impl CloseInfo {
    pub(crate) fn abnormal(reason: impl Into<String>) -> Self {
        CloseInfo {
            code: 1006,
            reason: reason.into(),
            clean: false,
            unsent: Vec::new(),
        }
    }
}
