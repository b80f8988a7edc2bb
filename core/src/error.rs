//! The one error type of rtwire and its stable [`ErrorKind`].
//!
//! Every binding maps [`ErrorKind`] and nothing else: one C result code, one
//! Python exception class and one Node `code` string per kind (see
//! [`ErrorKind::as_str`]).

use std::fmt;

use crate::message::Data;

/// What went wrong, as a stable category.
///
/// New kinds may be added in minor releases; existing ones never change
/// meaning or name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The URL could not be used: bad syntax, unknown scheme, empty host,
    /// port 0, a fragment in a WebSocket URL, control characters.
    InvalidUrl,
    /// An argument or option had a value outside its allowed range.
    InvalidArgument,
    /// Name resolution or the TCP connection failed (refused, unreachable).
    Connect,
    /// TLS failed: untrusted or invalid certificate, unreadable CA or key
    /// file, handshake failure.
    Tls,
    /// The HTTP handshake was refused or answered wrongly (status other than
    /// 101, wrong `Sec-WebSocket-Accept`, subprotocol not offered). See
    /// [`Error::status`], [`Error::headers`], [`Error::body`].
    Handshake,
    /// The peer broke the protocol (bad frame, invalid UTF-8 in text).
    Protocol,
    /// A message or frame was over the configured limit (close code 1009).
    TooLarge,
    /// An operation did not finish in time: handshake, close, or a peer that
    /// stopped answering pings.
    Timeout,
    /// The connection is closed; the operation cannot be performed.
    Closed,
    /// The outgoing queue is over its high-water mark; `try_send` handed the
    /// message back (see [`Error::take_unsent`]).
    QueueFull,
    /// The feature or transport is not available for this connection.
    Unsupported,
    /// An I/O error on an established connection.
    Io,
    /// A bug in rtwire (a caught panic, a broken invariant).
    Internal,
}

impl ErrorKind {
    /// All kinds, in declaration order.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::InvalidUrl,
        ErrorKind::InvalidArgument,
        ErrorKind::Connect,
        ErrorKind::Tls,
        ErrorKind::Handshake,
        ErrorKind::Protocol,
        ErrorKind::TooLarge,
        ErrorKind::Timeout,
        ErrorKind::Closed,
        ErrorKind::QueueFull,
        ErrorKind::Unsupported,
        ErrorKind::Io,
        ErrorKind::Internal,
    ];

    /// The stable snake_case name of the kind (`"invalid_url"`, `"too_large"`,
    /// ...), used in the CLI's JSON output and as the Node error `code` base.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidUrl => "invalid_url",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::Handshake => "handshake",
            ErrorKind::Protocol => "protocol",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Closed => "closed",
            ErrorKind::QueueFull => "queue_full",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Io => "io",
            ErrorKind::Internal => "internal",
        }
    }

    /// Whether a connection that failed with this kind is worth retrying by
    /// the reconnect policy. Configuration and protocol errors are not: the
    /// same attempt would fail the same way.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Connect | ErrorKind::Timeout | ErrorKind::Closed | ErrorKind::Io
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An rtwire error: a [`kind`](Error::kind), a message that says what was
/// wrong and with which input, and, where they apply, the HTTP status, headers
/// and body of a refused handshake, the WebSocket close code, and a message
/// handed back unsent.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    close_code: Option<u16>,
    unsent: Option<Data>,
    retryable: Option<bool>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                status: None,
                headers: Vec::new(),
                body: None,
                close_code: None,
                unsent: None,
                retryable: None,
                source: None,
            }),
        }
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    pub(crate) fn with_http(
        mut self,
        status: u16,
        headers: Vec<(String, String)>,
        body: Option<Vec<u8>>,
    ) -> Self {
        self.inner.status = Some(status);
        self.inner.headers = headers;
        self.inner.body = body;
        self
    }

    pub(crate) fn with_close_code(mut self, code: u16) -> Self {
        self.inner.close_code = Some(code);
        self
    }

    pub(crate) fn with_unsent(mut self, data: Data) -> Self {
        self.inner.unsent = Some(data);
        self
    }

    pub(crate) fn with_retryable(mut self, retryable: bool) -> Self {
        self.inner.retryable = Some(retryable);
        self
    }

    /// The category of the error.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The human-readable message (also what `Display` prints).
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The HTTP status of a refused handshake.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The response headers of a refused handshake.
    pub fn headers(&self) -> &[(String, String)] {
        &self.inner.headers
    }

    /// The start of the response body of a refused handshake (at most 64 KiB).
    pub fn body(&self) -> Option<&[u8]> {
        self.inner.body.as_deref()
    }

    /// The WebSocket close code this error caused or came with (1009 for
    /// [`ErrorKind::TooLarge`], 1007 for invalid UTF-8, ...).
    pub fn close_code(&self) -> Option<u16> {
        self.inner.close_code
    }

    /// Takes back the message that could not be queued or sent.
    pub fn take_unsent(&mut self) -> Option<Data> {
        self.inner.unsent.take()
    }

    /// Whether the reconnect policy retries after this error.
    pub fn is_retryable(&self) -> bool {
        self.inner
            .retryable
            .unwrap_or_else(|| self.inner.kind.is_retryable())
    }

    /// Shorthand for `kind() == ErrorKind::Timeout`.
    pub fn is_timeout(&self) -> bool {
        self.kind() == ErrorKind::Timeout
    }

    /// Shorthand for `kind() == ErrorKind::Closed`.
    pub fn is_closed(&self) -> bool {
        self.kind() == ErrorKind::Closed
    }
}

impl Clone for Error {
    /// Clones everything but the source chain, which is kept as text.
    fn clone(&self) -> Self {
        let mut e = Error::new(self.kind(), self.inner.message.clone());
        e.inner.status = self.inner.status;
        e.inner.headers = self.inner.headers.clone();
        e.inner.body = self.inner.body.clone();
        e.inner.close_code = self.inner.close_code;
        e.inner.unsent = self.inner.unsent.clone();
        e.inner.retryable = self.inner.retryable;
        e
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(s) = self.inner.status {
            d.field("status", &s);
        }
        if let Some(c) = self.inner.close_code {
            d.field("close_code", &c);
        }
        if let Some(s) = &self.inner.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}
