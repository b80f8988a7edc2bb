//! Connection options with documented, safe defaults.
//!
//! The options are plain data. Every option is also declared in
//! [`SCHEMA`] (name in each language, kind, documentation, rules), which
//! the bindings, the CLI and the generated stubs and docs use, and through
//! which [`Options::set`] sets any option by name.

mod schema;
mod server;

pub use schema::{spec, Kind, Spec, TextRule, Value, SCHEMA};
pub use server::{server_spec, SERVER_SCHEMA};

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::reconnect::Reconnect;

/// The `User-Agent` sent by default.
pub const DEFAULT_USER_AGENT: &str = concat!("rtwire/", env!("CARGO_PKG_VERSION"));

/// Which transport carries the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Transport {
    /// Follow the URL scheme: `ws`/`wss` → WebSocket, `http`/`https` → SSE.
    #[default]
    Auto,
    /// WebSocket (RFC 6455).
    WebSocket,
    /// Server-Sent Events.
    Sse,
    /// HTTP long polling.
    LongPoll,
    /// HTTP short polling.
    Poll,
    /// HTTP streaming.
    Stream,
}

impl Transport {
    /// The stable names, in the order of the variants.
    pub const NAMES: &'static [&'static str] =
        &["auto", "websocket", "sse", "long_poll", "poll", "stream"];

    /// The stable name: `websocket`, `sse`, `long_poll`, `poll`, `stream`,
    /// `auto`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Auto => "auto",
            Transport::WebSocket => "websocket",
            Transport::Sse => "sse",
            Transport::LongPoll => "long_poll",
            Transport::Poll => "poll",
            Transport::Stream => "stream",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Transport {
    type Err = Error;
    /// Parses a stable name; `ws`, `long-poll` and `longpoll` are accepted
    /// as aliases.
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "auto" => Transport::Auto,
            "websocket" | "ws" => Transport::WebSocket,
            "sse" | "eventsource" => Transport::Sse,
            "long_poll" | "long-poll" | "longpoll" => Transport::LongPoll,
            "poll" => Transport::Poll,
            "stream" => Transport::Stream,
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "unknown transport {s:?} (expected websocket, sse, long_poll, poll, stream or auto)"
                    ),
                ))
            }
        })
    }
}

/// TLS settings. rustls only; no OpenSSL.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TlsOptions {
    /// PEM file of CA certificates to trust *instead of* the system roots
    /// (like curl's `--cacert`). Default: the system roots, falling back to
    /// the bundled Mozilla roots when the system has none.
    pub ca_file: Option<PathBuf>,
    /// PEM file with the client certificate chain (needs `client_key_file`).
    pub client_cert_file: Option<PathBuf>,
    /// PEM file with the client private key.
    pub client_key_file: Option<PathBuf>,
    /// CA certificates as PEM text in memory: the same as `ca_file`,
    /// without a file (at most one of the two).
    pub ca_pem: Option<Vec<u8>>,
    /// The client certificate chain as PEM text in memory (instead of
    /// `client_cert_file`; needs a key).
    pub client_cert_pem: Option<Vec<u8>>,
    /// The client private key as PEM text in memory (instead of
    /// `client_key_file`).
    pub client_key_pem: Option<Vec<u8>>,
    /// Accept any server certificate. Off by default: only for tests against
    /// self-signed servers; it makes the connection open to interception.
    pub insecure: bool,
}

/// Ping/pong keepalive and dead-peer detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Keepalive {
    /// Send a ping after this long without traffic from the peer.
    /// Default 20 s. `None` disables keepalive.
    pub interval: Option<Duration>,
    /// Declare the peer dead when nothing (no pong, no data) arrives within
    /// this long after a ping. Default 20 s.
    pub timeout: Duration,
}

impl Default for Keepalive {
    fn default() -> Self {
        Keepalive {
            interval: Some(Duration::from_secs(20)),
            timeout: Duration::from_secs(20),
        }
    }
}

/// Size limits. The defaults stop a hostile peer from making us allocate
/// without bound while leaving room for every ordinary use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest incoming message (after reassembly), default 64 MiB. Over it:
    /// a `TooLarge` error and close code 1009.
    pub max_message_size: usize,
    /// Largest incoming frame, default 16 MiB (capped at `max_message_size`).
    /// A frame compressed by permessage-deflate may be a sixteenth larger:
    /// what deflate adds to data it cannot compress.
    pub max_frame_size: usize,
    /// High-water mark of the outgoing queue in bytes, default 8 MiB: `send`
    /// waits and `try_send` fails while queued bytes are above it. A single
    /// message larger than this is accepted once the queue is empty.
    pub send_queue_bytes: usize,
    /// Capacity of the incoming event queue, default 256 events. When the
    /// application does not read, the connection stops reading the socket.
    pub event_queue: usize,
    /// Bytes read from the socket at a time, default 2 KiB. This buffer is
    /// the largest part of an idle connection (about 8 KiB in all with the
    /// default), and a message larger than it arrives in several reads:
    /// raise it (16–64 KiB) for connections that move large messages, at
    /// that much memory per connection.
    pub read_buffer_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 64 << 20,
            max_frame_size: 16 << 20,
            send_queue_bytes: 8 << 20,
            event_queue: 256,
            read_buffer_size: 2048,
        }
    }
}

/// Which proxy to use — the same rules for every transport (WebSocket, SSE,
/// long polling, polling, streaming).
///
/// # Kinds of proxy
///
/// | URL | What happens |
/// |---|---|
/// | `http://[user:pass@]host[:port]` | HTTP `CONNECT host:port` (default port 80); credentials go in `Proxy-Authorization: Basic` |
/// | `https://[user:pass@]host[:port]` | TLS to the proxy first (default port 443), then `CONNECT` inside it |
/// | `socks5://[user:pass@]host[:port]` | SOCKS5 (RFC 1928, default port 1080); the target's name is resolved here and the proxy is sent an IP address |
/// | `socks5h://[user:pass@]host[:port]` | SOCKS5; the proxy is sent the name and resolves it |
///
/// A value without `scheme://` is an `http://` proxy (`proxy:3128`). User
/// name and password are percent-decoded (`p%40ss` is `p@ss`); SOCKS5 uses
/// RFC 1929 username/password authentication with them. Credentials are sent
/// to the proxy only, never to the target, and error messages and `Debug`
/// output never show the password.
///
/// WebSocket always tunnels (`CONNECT`, for `ws://` too); then TLS to the
/// target runs inside the tunnel for `wss://`, checked against the same
/// [`TlsOptions`] as a direct connection. An `https://` proxy's certificate
/// is checked with the same [`TlsOptions`] too. The HTTP transports tunnel
/// `https://` URLs and send `http://` requests to an HTTP proxy in absolute
/// form, as HTTP proxying does.
///
/// # The environment ([`Proxy::FromEnv`])
///
/// - `ws://` and `http://` URLs use `http_proxy`, then `HTTP_PROXY`;
///   `wss://` and `https://` use `https_proxy`, then `HTTPS_PROXY`. When
///   neither is set, `all_proxy`, then `ALL_PROXY`. (`ws_proxy` and
///   `wss_proxy` are not read.)
/// - Lower-case names win over upper-case ones, as in curl. A variable set
///   to an empty or blank value counts as unset.
/// - The environment is read when `connect` is called; the reconnects of
///   that connection keep the same choice.
/// - In a CGI program (`REQUEST_METHOD` is set), `HTTP_PROXY` is ignored:
///   there it can come from a request header ("httpoxy"); `http_proxy` still
///   counts.
/// - A variable that is set but is not a usable proxy URL is an
///   [`InvalidArgument`](crate::ErrorKind::InvalidArgument) error for the
///   connections that would use it (for the HTTP transports, which may be
///   redirected between `http` and `https`, any of them), never silently
///   skipped.
/// - `no_proxy`, then `NO_PROXY`, lists hosts reached directly:
///   - entries are separated by commas and/or white space; entries that
///     cannot be understood are skipped;
///   - `*` matches every host;
///   - `example.com`, `.example.com` and `*.example.com` all match
///     `example.com` and every name under it (`a.b.example.com`), but not
///     `notexample.com`; case and a trailing dot do not matter; there is no
///     other wildcard;
///   - an IP address matches that address: `127.0.0.1`, and IPv6 with or
///     without brackets (`::1`, `[::1]`); an IPv4-mapped IPv6 address is the
///     IPv4 address; a network matches every address in it (`10.0.0.0/8`,
///     `fd00::/8`);
///   - names are compared as written, without DNS: `localhost` does not
///     match `127.0.0.1`;
///   - an entry with a port (`example.com:8080`, `10.0.0.1:8080`,
///     `[::1]:8080`) matches that port only; an entry without a port
///     matches every port.
///
/// # Errors
///
/// Everything that goes wrong at a proxy is a
/// [`Connect`](crate::ErrorKind::Connect) error whose message names the
/// proxy (`proxy http://host:3128 (from HTTPS_PROXY): ...`, never its
/// password): unreachable, `407` (proxy authentication required; not
/// retried), another refusal (the status is in
/// [`Error::status`](crate::Error::status); retried for 408, 429 and 5xx), an
/// answer that is not HTTP or has a head over 16 KiB, a connection closed
/// early, or a SOCKS5 reply code (named as in RFC 1928). A proxy that does
/// not answer runs into [`Options::open_timeout`], which covers the proxy
/// handshake (a [`Timeout`](crate::ErrorKind::Timeout) error). A TLS failure
/// with an `https://` proxy is a [`Tls`](crate::ErrorKind::Tls) error. For
/// `http://` URLs forwarded by an HTTP proxy, the proxy's refusal is the
/// response: a [`Handshake`](crate::ErrorKind::Handshake) error with its
/// status.
///
/// ```
/// use rtwire::{Options, Proxy};
/// let opts = Options::new().proxy(Proxy::Url("http://user:pass@proxy.internal:3128".into()));
/// // Debug output hides the credentials.
/// assert!(!format!("{opts:?}").contains("pass"));
/// let direct = Options::new().proxy(Proxy::Disabled);
/// # let _ = direct;
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Proxy {
    /// From the environment (the default), by the rules above.
    #[default]
    FromEnv,
    /// Never use a proxy; the environment is ignored.
    Disabled,
    /// This proxy for every host (`NO_PROXY` is not consulted):
    /// `http://[user:pass@]host:port`, `https://...`, `socks5://...` or
    /// `socks5h://...`. An unusable URL fails `connect` with
    /// [`InvalidArgument`](crate::ErrorKind::InvalidArgument) before any I/O.
    Url(String),
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proxy::FromEnv => f.write_str("FromEnv"),
            Proxy::Disabled => f.write_str("Disabled"),
            Proxy::Url(u) => f.debug_tuple("Url").field(&redact(u)).finish(),
        }
    }
}

/// How an HTTP streaming body is cut into messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Framing {
    /// Each received chunk is one binary message, as it arrived.
    Chunks,
    /// Each line (LF or CRLF ended) is one text message (default).
    #[default]
    Lines,
    /// Each line is one JSON value (NDJSON); a line that is not JSON is a
    /// protocol error. Blank lines are skipped.
    Ndjson,
}

impl Framing {
    /// The stable names: `chunks`, `lines`, `ndjson`.
    pub const NAMES: &'static [&'static str] = &["chunks", "lines", "ndjson"];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Framing::Chunks => "chunks",
            Framing::Lines => "lines",
            Framing::Ndjson => "ndjson",
        }
    }
}

impl FromStr for Framing {
    type Err = Error;
    /// Parses a stable name (any case).
    fn from_str(s: &str) -> Result<Self, Error> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "chunks" => Framing::Chunks,
            "lines" => Framing::Lines,
            "ndjson" => Framing::Ndjson,
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("unknown framing {s:?} (expected lines, ndjson or chunks)"),
                ))
            }
        })
    }
}

/// Where a long-poll cursor is read from in a response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CursorFrom {
    /// A response header (e.g. `X-Cursor`).
    Header(String),
    /// A top-level field of a JSON object body (e.g. `cursor`); the
    /// messages are then in the `messages` field if it is an array.
    JsonField(String),
}

/// Where a long-poll cursor is sent on the next request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CursorTo {
    /// A query parameter (default `cursor`).
    Query(String),
    /// A request header.
    Header(String),
}

/// Long-poll cursor handling: nothing is skipped or repeated across errors
/// and reconnects, because the cursor only advances with a delivered
/// response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cursor {
    /// Where the next cursor comes from.
    pub from: CursorFrom,
    /// Where it goes.
    pub to: CursorTo,
    /// The cursor of the first request, if any.
    pub initial: Option<String>,
}

impl Cursor {
    /// A cursor read from `from` and sent as the query parameter `cursor`.
    pub fn new(from: CursorFrom) -> Self {
        Cursor {
            from,
            to: CursorTo::Query("cursor".into()),
            initial: None,
        }
    }
}

/// Settings of the HTTP transports (SSE, long polling, polling, streaming).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpOptions {
    /// Where `send` POSTs for HTTP transports; without it, `send` fails with
    /// `Unsupported`.
    pub send_url: Option<String>,
    /// A stream that delivers no byte for this long is dead: reconnect.
    /// Default 60 s (servers send heartbeats more often than that).
    pub read_timeout: Duration,
    /// Short polling: time between requests (±10 % jitter), default 5 s.
    pub poll_interval: Duration,
    /// Long polling: the longest a request may be held by the server before
    /// it counts as failed, default 65 s (a 60 s hold plus a margin).
    pub long_poll_timeout: Duration,
    /// Long polling: use POST instead of GET.
    pub long_poll_post: bool,
    /// Long polling: a JSON array body is delivered as one message per
    /// element.
    pub json_array: bool,
    /// Long polling: cursor handling.
    pub cursor: Option<Cursor>,
    /// HTTP streaming: how the body is cut into messages.
    pub framing: Framing,
    /// Longest line for SSE and line framing, default 1 MiB.
    pub max_line: usize,
    /// SSE: the `Last-Event-ID` to send on the first request.
    pub last_event_id: Option<String>,
    /// SSE: retry on 5xx and 429 answers (honouring `Retry-After`) instead of
    /// failing. Off by default, as the standard says.
    pub retry_server_errors: bool,
    /// Redirects followed at most, default 10. Credentials are not sent to
    /// another origin, and an https→http redirect is refused.
    pub max_redirects: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            send_url: None,
            read_timeout: Duration::from_secs(60),
            poll_interval: Duration::from_secs(5),
            long_poll_timeout: Duration::from_secs(65),
            long_poll_post: false,
            json_array: false,
            cursor: None,
            framing: Framing::Lines,
            max_line: 1 << 20,
            last_event_id: None,
            retry_server_errors: false,
            max_redirects: 10,
        }
    }
}

/// Options for [`connect`](crate::connect). Build with the consuming setters:
///
/// ```
/// use std::time::Duration;
/// let opts = rtwire::Options::new()
///     .header("Authorization", "Bearer t0k3n")
///     .subprotocol("chat.v1")
///     .open_timeout(Duration::from_secs(5))
///     .max_message_size(1 << 20)
///     .reconnect(rtwire::Reconnect::default().max_attempts(10));
/// assert_eq!(opts.limits.max_message_size, 1 << 20);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The transport. Default [`Transport::Auto`] (follows the scheme).
    pub transport: Transport,
    /// Extra request headers (sent on every attempt).
    pub headers: Vec<(String, String)>,
    /// Subprotocols to offer (`Sec-WebSocket-Protocol`), in preference order.
    pub subprotocols: Vec<String>,
    /// `Origin` header value, if any.
    pub origin: Option<String>,
    /// `User-Agent` header value, default `rtwire/<version>`; `None` sends
    /// none. A `User-Agent` among [`Options::headers`] wins.
    pub user_agent: Option<String>,
    /// Limit on TCP connect + TLS + HTTP handshake, default 10 s.
    pub open_timeout: Duration,
    /// How long to wait for the peer's reply to our close frame, default
    /// 10 s; then the TCP connection is dropped.
    pub close_timeout: Duration,
    /// Ping/pong keepalive.
    pub keepalive: Keepalive,
    /// Size limits and queue bounds.
    pub limits: Limits,
    /// TLS settings.
    pub tls: TlsOptions,
    /// Reconnect policy.
    pub reconnect: Reconnect,
    /// Proxy selection, for every transport.
    pub proxy: Proxy,
    /// WebSocket to an rtwire server: offer the subprotocol `rtwire.v1`,
    /// under which every message carries its id, and resume with
    /// `?cursor=ID` after a reconnect, so nothing is lost or repeated.
    /// Off by default (other servers would not know it); `transport=auto`
    /// turns it on for the WebSocket an rtwire server offers.
    pub rtwire_protocol: bool,
    /// WebSocket: offer permessage-deflate (RFC 7692), as browsers do.
    /// Default on. rtwire negotiates it without context takeover both
    /// ways, so it costs no memory per connection (see docs/transports.md).
    pub permessage_deflate: bool,
    /// WebSocket with permessage-deflate: messages under this many bytes
    /// are sent uncompressed. Default 128.
    pub deflate_threshold: usize,
    /// Settings of the HTTP transports.
    pub http: HttpOptions,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            transport: Transport::Auto,
            headers: Vec::new(),
            subprotocols: Vec::new(),
            origin: None,
            user_agent: Some(DEFAULT_USER_AGENT.to_string()),
            open_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(10),
            keepalive: Keepalive::default(),
            limits: Limits::default(),
            tls: TlsOptions::default(),
            reconnect: Reconnect::default(),
            proxy: Proxy::FromEnv,
            rtwire_protocol: false,
            permessage_deflate: true,
            deflate_threshold: 128,
            http: HttpOptions::default(),
        }
    }
}

impl Options {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the transport.
    pub fn transport(mut self, t: Transport) -> Self {
        self.transport = t;
        self
    }

    /// Adds a request header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a subprotocol to offer.
    pub fn subprotocol(mut self, p: impl Into<String>) -> Self {
        self.subprotocols.push(p.into());
        self
    }

    /// Sets the `User-Agent` header (`None`: send none).
    pub fn user_agent(mut self, ua: Option<String>) -> Self {
        self.user_agent = ua;
        self
    }

    /// Sets the `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Sets the handshake timeout (TCP + TLS + HTTP).
    pub fn open_timeout(mut self, d: Duration) -> Self {
        self.open_timeout = d;
        self
    }

    /// Sets the close handshake timeout.
    pub fn close_timeout(mut self, d: Duration) -> Self {
        self.close_timeout = d;
        self
    }

    /// Sets the keepalive ping interval and dead-peer timeout; `None`
    /// disables pings.
    pub fn keepalive(mut self, interval: Option<Duration>, timeout: Duration) -> Self {
        self.keepalive = Keepalive { interval, timeout };
        self
    }

    /// Sets the largest incoming message.
    pub fn max_message_size(mut self, n: usize) -> Self {
        self.limits.max_message_size = n;
        self
    }

    /// Sets the largest incoming frame.
    pub fn max_frame_size(mut self, n: usize) -> Self {
        self.limits.max_frame_size = n;
        self
    }

    /// Sets the outgoing queue's high-water mark in bytes.
    pub fn send_queue_bytes(mut self, n: usize) -> Self {
        self.limits.send_queue_bytes = n;
        self
    }

    /// Sets the socket read size (see [`Limits::read_buffer_size`]).
    pub fn read_buffer_size(mut self, n: usize) -> Self {
        self.limits.read_buffer_size = n;
        self
    }

    /// Sets the incoming event queue capacity.
    pub fn event_queue(mut self, n: usize) -> Self {
        self.limits.event_queue = n;
        self
    }

    /// Trusts the CA certificates in this PEM text instead of the system
    /// roots.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.ca_pem = Some(pem.into());
        self
    }

    /// Trusts the CA certificates in this PEM file instead of the system
    /// roots.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.ca_file = Some(path.into());
        self
    }

    /// Presents this client certificate chain and key (PEM files).
    pub fn client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls.client_cert_file = Some(cert.into());
        self.tls.client_key_file = Some(key.into());
        self
    }

    /// Accepts any server certificate. Only for testing.
    pub fn insecure(mut self, yes: bool) -> Self {
        self.tls.insecure = yes;
        self
    }

    /// Sets the reconnect policy.
    pub fn reconnect(mut self, r: Reconnect) -> Self {
        self.reconnect = r;
        self
    }

    /// Sets the proxy.
    pub fn proxy(mut self, p: Proxy) -> Self {
        self.proxy = p;
        self
    }

    /// Speaks `rtwire.v1` on WebSocket (ids and resume with an rtwire
    /// server).
    pub fn rtwire_protocol(mut self, yes: bool) -> Self {
        self.rtwire_protocol = yes;
        self
    }

    /// Sets the URL `send` POSTs to on HTTP transports.
    pub fn send_url(mut self, url: impl Into<String>) -> Self {
        self.http.send_url = Some(url.into());
        self
    }

    /// Sets the idle read timeout of HTTP streams.
    pub fn read_timeout(mut self, d: Duration) -> Self {
        self.http.read_timeout = d;
        self
    }

    /// Sets the short-poll interval.
    pub fn poll_interval(mut self, d: Duration) -> Self {
        self.http.poll_interval = d;
        self
    }

    /// Sets the long-poll cursor handling.
    pub fn cursor(mut self, c: Cursor) -> Self {
        self.http.cursor = Some(c);
        self
    }

    /// Sets the HTTP streaming framing.
    pub fn framing(mut self, f: Framing) -> Self {
        self.http.framing = f;
        self
    }

    /// Sets the longest time a long-poll request may be held.
    pub fn long_poll_timeout(mut self, d: Duration) -> Self {
        self.http.long_poll_timeout = d;
        self
    }

    /// Long polling with POST instead of GET.
    pub fn long_poll_post(mut self, yes: bool) -> Self {
        self.http.long_poll_post = yes;
        self
    }

    /// Long polling: a JSON array body is one message per element.
    pub fn json_array(mut self, yes: bool) -> Self {
        self.http.json_array = yes;
        self
    }

    /// Sets the longest SSE or framed line.
    pub fn max_line(mut self, n: usize) -> Self {
        self.http.max_line = n;
        self
    }

    /// SSE: retry on 5xx and 429 answers instead of failing.
    pub fn retry_server_errors(mut self, yes: bool) -> Self {
        self.http.retry_server_errors = yes;
        self
    }

    /// Sets how many redirects are followed at most.
    pub fn max_redirects(mut self, n: usize) -> Self {
        self.http.max_redirects = n;
        self
    }

    /// Presents this client certificate chain and key (PEM text).
    pub fn client_cert_pem(mut self, cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.tls.client_cert_pem = Some(cert.into());
        self.tls.client_key_pem = Some(key.into());
        self
    }

    /// Sets the SSE `Last-Event-ID` of the first request.
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        self.http.last_event_id = Some(id.into());
        self
    }

    /// Checks every option against the rules of [`SCHEMA`] (for fields
    /// written directly) and the rules that tie options together. `connect`
    /// calls it; bindings need not.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`], naming the option.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: &str| Err(Error::new(ErrorKind::InvalidArgument, m.to_string()));
        for s in SCHEMA {
            schema::check_current(s, self)?;
        }
        let t = &self.tls;
        if t.ca_file.is_some() && t.ca_pem.is_some() {
            return bad("give tls.ca_file or tls.ca_pem, not both");
        }
        if t.client_cert_file.is_some() && t.client_cert_pem.is_some() {
            return bad("give tls.client_cert_file or tls.client_cert_pem, not both");
        }
        if t.client_key_file.is_some() && t.client_key_pem.is_some() {
            return bad("give tls.client_key_file or tls.client_key_pem, not both");
        }
        let has_cert = t.client_cert_file.is_some() || t.client_cert_pem.is_some();
        let has_key = t.client_key_file.is_some() || t.client_key_pem.is_some();
        if has_cert != has_key {
            return bad("a client certificate and its key go together");
        }
        self.reconnect.validate()
    }
}

/// `value` with its userinfo (which may hold a password) replaced by `***`,
/// for messages and `Debug` output.
pub(crate) fn redact(value: &str) -> String {
    let start = value.find("://").map_or(0, |i| i + 3);
    let rest = &value[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &value[..start], &rest[at..]),
        None => value.to_string(),
    }
}
