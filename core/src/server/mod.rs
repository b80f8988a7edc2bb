//! The embedded server: one port, named channels published over every
//! transport at once, with bounded history and resumable ids.
//!
//! | path | transport |
//! |---|---|
//! | `GET /ws/{channel}[?cursor=ID]` | WebSocket: receives the channel; what the client sends is published to it (or given to the [`Handler`]) |
//! | `GET /sse/{channel}` (`Last-Event-ID` or `?cursor=`) | Server-Sent Events; binary messages as event `binary` in base64 |
//! | `GET /poll/{channel}?cursor=ID[&wait=SECONDS]` | long polling (held until news or `wait`, default the server's hold); `wait=0` is short polling |
//! | `GET /stream/{channel}[?cursor=ID]` | HTTP streaming, NDJSON: `{"id","data","binary"}` per line |
//! | `GET /latest/{channel}` | short polling of the newest message: its payload, `ETag` = its id, 304 for `If-None-Match`, 204 while empty |
//! | `POST /publish/{channel}` | publishes the body: text when valid UTF-8 unless its `Content-Type` says binary (`application/octet-stream`, `image/*`, ...); answers `{"id": ...}` |
//! | `GET /negotiate/{channel}` | the transports and their URLs, for clients that pick one |
//! | `GET /healthz` | `ok` |
//! | a route of [`ServerOptions::engineio`] (`/engine.io/?EIO=4&transport=polling\|websocket`) | Engine.IO v4 (long polling, WebSocket, the upgrade) for `engine.io-client` |
//!
//! WebSocket clients that offer the subprotocol `rtwire.v1` get each
//! message prefixed with its id and a line feed (`{id}\n{payload}`, in a
//! text or binary frame as published) and notices as `!reset\n` and
//! `!missed\n{n}`, so they can resume with `?cursor=ID`; rtwire's client
//! does this when [`Options::resume`](crate::Options) is on. Other clients
//! get the bare payloads.
//!
//! Ids are `{epoch}-{seq}`. A client that comes back with an id gets every
//! message after it that is still in history, none twice. One further behind
//! than the history is told how many it missed (SSE event `rtwire.missed`,
//! NDJSON `{"missed": n}`, poll field `missed` and header `X-Rtwire-Missed`);
//! one whose id is from another epoch (the server restarted) or ahead of the
//! channel is told to start over (SSE event `rtwire.reset`, `{"reset": true}`,
//! `X-Rtwire-Reset: 1`) and gets the whole new history.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rtwire::Error> {
//! use rtwire::server::{Server, ServerOptions};
//! let server = Server::start(ServerOptions::new()).await?;
//! println!("listening on {}", server.local_addr());
//! server.publish("news", "hello");
//! server.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{Error, ErrorKind};
use crate::message::Data;

mod app;
mod encode;
mod engineio;
mod http_session;
mod hub;
mod inbox;
mod mount;
mod rooms;
mod routes;
mod ws;

pub use app::{Accept, AcceptHook, AppHandler, Reject, Request};
pub use hub::ChannelStats;
pub use inbox::{Inbox, Pushed};
pub use mount::{Mount, ResponseBody};
pub use rooms::{Broadcast, Delivery, Rooms, SlowConsumer};

/// Checks a channel name: 1 to 128 of `A-Z a-z 0-9 . _ -` (what the routes
/// serve, so a name that passes can be subscribed to by URL).
///
/// # Errors
/// [`ErrorKind::InvalidArgument`] naming the channel.
pub fn validate_channel(name: &str) -> Result<(), Error> {
    let ok = (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("invalid channel name {name:?}: 1 to 128 of A-Z a-z 0-9 . _ -"),
        ))
    }
}

/// The address to listen on: an IP address (IPv6 with or without brackets)
/// or a host name resolved here, and a port (0 picks a free one).
///
/// # Errors
/// [`ErrorKind::Connect`] when the name does not resolve.
pub async fn bind_addr(host: &str, port: u16) -> Result<SocketAddr, Error> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    tokio::net::lookup_host((host, port))
        .await
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| Error::new(ErrorKind::Connect, format!("cannot resolve host {host:?}")))
}

/// What to do with a message a WebSocket client sent: return what to publish
/// to the channel (`Some(data)`, possibly changed) or `None` to publish
/// nothing. Runs on a server task: keep it short and non-blocking.
pub type Handler = Arc<dyn Fn(&str, Data) -> Option<Data> + Send + Sync>;

/// Something that happened on the server, for logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A client subscribed over a long-lived transport.
    Connected {
        /// `websocket`, `sse` or `stream`.
        transport: &'static str,
        /// The channel.
        channel: String,
        /// The client's address.
        peer: SocketAddr,
    },
    /// That client went away.
    Disconnected {
        /// `websocket`, `sse` or `stream`.
        transport: &'static str,
        /// The channel.
        channel: String,
        /// The client's address.
        peer: SocketAddr,
    },
    /// A client opened a connection to an application route.
    Opened {
        /// The connection's id ([`Request::id`]).
        id: u64,
        /// The route.
        path: String,
        /// The client's address.
        peer: SocketAddr,
        /// The subprotocol chosen, if any.
        protocol: Option<String>,
    },
    /// That connection ended.
    Closed {
        /// The connection's id.
        id: u64,
        /// The route.
        path: String,
        /// The client's address.
        peer: SocketAddr,
        /// The close code (1006: no close frame).
        code: u16,
        /// Whether the close handshake completed.
        clean: bool,
    },
    /// An application connection joined a room.
    Joined {
        /// The connection's id.
        id: u64,
        /// The room.
        room: String,
    },
    /// An application connection left a room (by [`Rooms::leave`] or by
    /// ending: it leaves every room then).
    Left {
        /// The connection's id.
        id: u64,
        /// The room.
        room: String,
    },
    /// A broadcast found connection `id`'s send queue full.
    SlowConsumer {
        /// The connection's id.
        id: u64,
        /// The room broadcast to (`None`: everybody).
        room: Option<String>,
        /// `true`: it is being closed with 1008 ([`SlowConsumer::Disconnect`]);
        /// `false`: it was left out of the message ([`SlowConsumer::Skip`]).
        disconnected: bool,
    },
    /// A message was published (by a client or through the API).
    Published {
        /// The channel.
        channel: String,
        /// The new id.
        id: String,
        /// Payload bytes.
        bytes: usize,
    },
}

/// Receives [`ServerEvent`]s. Runs on server tasks: keep it quick.
pub type Observer = Arc<dyn Fn(&ServerEvent) + Send + Sync>;

/// Server settings with safe defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Address to listen on, default `127.0.0.1:0` (a free loopback port).
    pub bind: SocketAddr,
    /// Messages kept per channel for resuming clients, default 1000.
    pub history: usize,
    /// How far (in messages) a subscriber may fall behind the live stream
    /// before it is cut off (WebSocket: close 1008; SSE and streaming: the
    /// response ends and the client resumes from history), default 1024.
    pub client_queue: usize,
    /// A bearer token every channel request must carry (`Authorization:
    /// Bearer T` or `?token=T`), compared in constant time. Default none.
    pub token: Option<String>,
    /// PEM certificate chain for TLS (with `tls_key`). Default plain TCP.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS.
    pub tls_key: Option<PathBuf>,
    /// WebSocket `Origin` values allowed (exact match); `None` (default)
    /// allows any origin, including none.
    pub allowed_origins: Option<Vec<String>>,
    /// Answer CORS preflights and add `Access-Control-Allow-Origin` for
    /// browser clients on other origins. Default off.
    pub cors: bool,
    /// WebSocket ping interval, default 20 s; a client silent for this
    /// long after a ping is disconnected, and so is one that does not take
    /// a write (a batch of messages) within this time.
    pub ping_interval: Duration,
    /// SSE comment / NDJSON blank-line heartbeat, default 15 s, so clients'
    /// idle timeouts can tell a quiet stream from a dead one.
    pub heartbeat: Duration,
    /// Longest a long poll is held, default 25 s.
    pub long_poll_hold: Duration,
    /// Largest message accepted (WebSocket or publish body), default 16 MiB.
    pub max_message_size: usize,
    /// Accept permessage-deflate (RFC 7692) from WebSocket clients that
    /// offer it. Default off. Accepted offers are answered without context
    /// takeover both ways: each message is compressed alone, by one
    /// compressor per thread, so a compressing connection costs no more
    /// memory than another, and a broadcast is compressed once for all its
    /// receivers.
    pub permessage_deflate: bool,
    /// With permessage-deflate: messages under this many bytes are sent
    /// uncompressed. Default 128.
    pub deflate_threshold: usize,
    /// Most request headers, default 64 (more: 431).
    pub max_headers: usize,
    /// Time allowed for a request's headers, default 10 s (slow-header
    /// defence).
    pub header_timeout: Duration,
    /// Most connections open at once (TCP connections and WebSocket
    /// sessions), default 100,000; past it a new connection is answered
    /// `503 Service Unavailable` with `Retry-After: 1` (dropped, under TLS)
    /// and closed, and the ones open are not affected.
    pub max_connections: usize,
    /// Most connections open at once from one IP address, default `None`
    /// (no limit: behind a reverse proxy every client has the proxy's
    /// address). Past it: as for `max_connections`.
    pub max_per_ip: Option<usize>,
    /// The bound in bytes of each application connection's outgoing
    /// queue, default 1 MiB: `send` waits while more is unsent,
    /// `try_send` hands the message back, and a broadcast treats the
    /// connection as a slow consumer ([`ServerOptions::slow_consumer`]).
    pub send_queue_bytes: usize,
    /// What a broadcast does with a slow consumer, default
    /// [`SlowConsumer::Disconnect`] (close 1008).
    pub slow_consumer: SlowConsumer,
    /// How long an application connection may pass without a message in
    /// either direction (pings do not count), default `None` (no limit):
    /// then it is closed with 1001 "idle timeout", over any transport.
    pub idle_timeout: Option<Duration>,
    /// Application routes (see [`ServerOptions::route`]); matched by exact
    /// path before the built-in paths.
    pub(crate) routes: Vec<app::Route>,
    /// The acceptance hook (see [`ServerOptions::accept`]).
    pub(crate) accept: Option<app::Hook>,
    /// Fixed documents (see [`ServerOptions::page`]).
    pub(crate) pages: Vec<Page>,
}

/// A fixed document the server answers `GET path` with.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub path: String,
    pub content_type: String,
    pub body: bytes::Bytes,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            history: 1000,
            client_queue: 1024,
            token: None,
            tls_cert: None,
            tls_key: None,
            allowed_origins: None,
            cors: false,
            ping_interval: Duration::from_secs(20),
            heartbeat: Duration::from_secs(15),
            long_poll_hold: Duration::from_secs(25),
            max_message_size: 16 << 20,
            permessage_deflate: false,
            deflate_threshold: 128,
            max_headers: 64,
            header_timeout: Duration::from_secs(10),
            routes: Vec::new(),
            accept: None,
            pages: Vec::new(),
            max_connections: 100_000,
            max_per_ip: None,
            send_queue_bytes: 1 << 20,
            slow_consumer: SlowConsumer::Disconnect,
            idle_timeout: None,
        }
    }
}

impl ServerOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the listen address.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Sets the history kept per channel.
    pub fn history(mut self, n: usize) -> Self {
        self.history = n;
        self
    }

    /// Requires this bearer token.
    pub fn token(mut self, t: impl Into<String>) -> Self {
        self.token = Some(t.into());
        self
    }

    /// Serves an application at `path` (exact match, e.g. `/chat`): every
    /// WebSocket client that opens it gets a [`Connection`](crate::Connection)
    /// of its own, handed to `handler` with its [`Request`]. The connection
    /// has the client's API: events from `recv` (`Open` first, then
    /// messages, `Closed` last), `send` that waits while more than
    /// `send_queue_bytes` (8 MiB) are unsent, `try_send` that hands the
    /// message back, `close(code, reason)`. Dropping it closes with 1001;
    /// the server's shutdown closes every one with 1001 too. Messages are
    /// limited by `max_message_size`; a client silent for `ping_interval`
    /// after a ping is cut off.
    pub fn route<F, Fut>(self, path: &str, handler: F) -> Self
    where
        F: Fn(crate::Connection, Request) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.route_with_protocols(path, &[], handler)
    }

    /// As [`ServerOptions::route`], answering with the first of
    /// `protocols` (in this order of preference) that the client offers in
    /// `Sec-WebSocket-Protocol` ([`Request::protocol`]); a client that offers
    /// none of them is served without a subprotocol, as RFC 6455 allows.
    pub fn route_with_protocols<F, Fut>(self, path: &str, protocols: &[&str], handler: F) -> Self
    where
        F: Fn(crate::Connection, Request) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let protocols = protocols.iter().map(|p| p.to_string()).collect();
        self.add_route(
            path,
            Arc::new(move |c, r| Box::pin(handler(c, r))),
            protocols,
            false,
        )
    }

    /// Adds (or replaces) the route at `path`.
    fn add_route(
        mut self,
        path: &str,
        handler: AppHandler,
        protocols: Vec<String>,
        engineio: bool,
    ) -> Self {
        self.routes.retain(|r| r.path != path);
        self.routes.push(app::Route {
            path: path.to_string(),
            handler,
            protocols,
            engineio,
        });
        self
    }

    /// Serves an application over Engine.IO v4 at `path` (by convention
    /// `/engine.io/`; matched with or without the trailing slash), for
    /// Engine.IO clients such as the JS `engine.io-client`: each one gets a
    /// [`Connection`](crate::Connection) of its own, handed to `handler`
    /// with its [`Request`], exactly as with [`ServerOptions::route`]. The
    /// handler cannot tell the difference: Engine.IO text and binary
    /// messages are the connection's text and binary messages, over HTTP
    /// long polling, a WebSocket, or polling upgraded to a WebSocket
    /// midway (nothing lost, doubled or reordered across the upgrade).
    ///
    /// The first request (`GET path?EIO=4&transport=polling`, or
    /// `transport=websocket` with an upgrade) passes the bearer `token` and
    /// the acceptance hook as a route's does; later ones carry the session
    /// id (`sid`). The handshake announces `pingInterval` and
    /// `pingTimeout` = [`ServerOptions::ping_interval`] (the server pings,
    /// a client whose pong is late by that much is gone) and `maxPayload`
    /// = `max_message_size` (a larger POST is refused with 413). Errors are
    /// the reference server's: status 400 with `{"code":1,"message":"Session
    /// ID unknown"}` and the like; a refused token (401) or hook (its
    /// status) answers `{"code":4,"message":...}`. Dropping the connection
    /// or `close` sends the Engine.IO close packet.
    ///
    /// ```
    /// use rtwire::server::ServerOptions;
    /// use rtwire::Event;
    ///
    /// let opts = ServerOptions::new().engineio("/engine.io/", |mut conn, _req| async move {
    ///     while let Some(Event::Message(m)) = conn.recv().await {
    ///         if conn.send(m.data).await.is_err() {
    ///             break;
    ///         }
    ///     }
    /// });
    /// # let _ = opts;
    /// ```
    pub fn engineio<F, Fut>(self, path: &str, handler: F) -> Self
    where
        F: Fn(crate::Connection, Request) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.add_route(
            path,
            Arc::new(move |c, r| Box::pin(handler(c, r))),
            Vec::new(),
            true,
        )
    }

    /// Sets the acceptance hook: it runs for every request to an
    /// application route or a channel path (not `/healthz`) before the
    /// upgrade or the stream starts, after the bearer `token` check, and may
    /// take its time (a database, a token service). It sees the
    /// [`Request`] (path, query, headers with cookies and `Origin`, peer) and
    /// answers [`Accept`] (optionally with user data, which route handlers
    /// find in [`Request::user`]) or [`Reject`] with a status and a body
    /// (401, 403, 429, ...), which rtwire clients see as a `Handshake` error
    /// with that status and body. A hook that panics refuses with 500.
    ///
    /// ```
    /// use rtwire::server::{Accept, Reject, ServerOptions};
    /// let opts = ServerOptions::new().accept(|req| async move {
    ///     match req.query_param("user") {
    ///         Some(u) if !u.is_empty() => Ok(Accept::user(u)),
    ///         _ => Err(Reject::new(401, "who are you?")),
    ///     }
    /// });
    /// # let _ = opts;
    /// ```
    pub fn accept<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Accept, Reject>> + Send + 'static,
    {
        self.accept = Some(app::Hook(Arc::new(move |r| Box::pin(hook(r)))));
        self
    }

    /// Answers `GET path` (exact match, before the routes and the channel
    /// paths; `HEAD` too) with `body` as `content_type`, without the token
    /// or the acceptance hook: the page of a browser application served on
    /// the same origin as its WebSocket, SSE and polling endpoints. A
    /// second page at the same path replaces the first.
    pub fn page(mut self, path: &str, content_type: &str, body: impl Into<bytes::Bytes>) -> Self {
        self.pages.retain(|p| p.path != path);
        self.pages.push(Page {
            path: path.to_string(),
            content_type: content_type.to_string(),
            body: body.into(),
        });
        self
    }

    /// Sets each application connection's send-queue bound in bytes.
    pub fn send_queue_bytes(mut self, bytes: usize) -> Self {
        self.send_queue_bytes = bytes;
        self
    }

    /// Sets how long an application connection may stay without a message
    /// (`None`: no limit).
    pub fn idle_timeout(mut self, limit: Option<Duration>) -> Self {
        self.idle_timeout = limit;
        self
    }

    /// Sets what a broadcast does with a slow consumer.
    pub fn slow_consumer(mut self, policy: SlowConsumer) -> Self {
        self.slow_consumer = policy;
        self
    }

    /// Serves TLS with these PEM files.
    pub fn tls(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls_cert = Some(cert.into());
        self.tls_key = Some(key.into());
        self
    }
}

/// Shared by every connection of a server.
pub(crate) struct Shared {
    pub hub: hub::Hub,
    /// Application connections and their rooms.
    pub rooms: rooms::Registry,
    /// Route connections over HTTP, by session id.
    pub sessions: http_session::Sessions,
    /// Engine.IO connections, by session id.
    pub eio: engineio::Sessions,
    pub opts: ServerOptions,
    /// The connection options of every server-side session (one copy for
    /// all of them).
    pub session_options: Arc<crate::options::Options>,
    pub handler: RwLock<Option<Handler>>,
    pub observer: RwLock<Option<Observer>>,
    pub connections: AtomicUsize,
    /// Open connections per client address (kept only with `max_per_ip`).
    pub per_ip: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
    pub stop: watch::Receiver<bool>,
    /// Bumped by [`Server::disconnect_all`].
    pub cut: watch::Sender<u64>,
    pub tls: bool,
    pub addr: SocketAddr,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Tells the observer, if any.
    pub fn observe(&self, ev: ServerEvent) {
        if let Some(o) = self.observer.read().expect("observer lock").as_ref() {
            o(&ev);
        }
    }

    /// Publishes (into the channel's history, to its subscribers and to
    /// the members of the room of that name) and tells the observer.
    pub fn publish(self: &Arc<Self>, channel: &str, data: Data) -> String {
        let bytes = data.len();
        let id = self.hub.publish(channel, data.clone());
        let _ = Rooms::new(self.clone()).to(channel).send(data);
        if self.observer.read().expect("observer lock").is_some() {
            self.observe(ServerEvent::Published {
                channel: channel.to_string(),
                id: id.clone(),
                bytes,
            });
        }
        id
    }
}

/// Reports a subscriber as connected now and disconnected when dropped.
pub(crate) struct Presence {
    shared: Arc<Shared>,
    transport: &'static str,
    channel: String,
    peer: SocketAddr,
}

impl Presence {
    pub fn new(
        shared: &Arc<Shared>,
        transport: &'static str,
        channel: &str,
        peer: SocketAddr,
    ) -> Self {
        shared.observe(ServerEvent::Connected {
            transport,
            channel: channel.to_string(),
            peer,
        });
        Presence {
            shared: shared.clone(),
            transport,
            channel: channel.to_string(),
            peer,
        }
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        self.shared.observe(ServerEvent::Disconnected {
            transport: self.transport,
            channel: std::mem::take(&mut self.channel),
            peer: self.peer,
        });
    }
}

/// Counts a live connection while it exists.
pub(crate) struct ConnGuard(Arc<Shared>, std::net::IpAddr);

impl ConnGuard {
    /// Counts a connection from `peer`.
    pub fn new(shared: &Arc<Shared>, peer: SocketAddr) -> Self {
        shared.connections.fetch_add(1, Ordering::Relaxed);
        if shared.opts.max_per_ip.is_some() {
            *shared.ip_counts().entry(peer.ip()).or_insert(0) += 1;
        }
        ConnGuard(shared.clone(), peer.ip())
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
        if self.0.opts.max_per_ip.is_some() {
            let mut m = self.0.ip_counts();
            if let Some(n) = m.get_mut(&self.1) {
                *n -= 1;
                if *n == 0 {
                    m.remove(&self.1);
                }
            }
        }
    }
}

impl Shared {
    fn ip_counts(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<std::net::IpAddr, usize>> {
        self.per_ip.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a new connection from `peer` is over a limit.
    pub(crate) fn over_limit(&self, peer: SocketAddr) -> bool {
        if self.connections.load(Ordering::Relaxed) >= self.opts.max_connections {
            return true;
        }
        match self.opts.max_per_ip {
            Some(max) => self.ip_counts().get(&peer.ip()).copied().unwrap_or(0) >= max,
            None => false,
        }
    }
}

/// Server-wide figures.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Open TCP connections.
    pub connections: usize,
    /// Per-channel figures, by name.
    pub channels: Vec<ChannelStats>,
}

/// Refuses options the server schema refuses (the same messages as every
/// binding gives).
fn check(opts: &ServerOptions) -> Result<(), Error> {
    opts.validate()
}

impl Shared {
    fn new(
        opts: ServerOptions,
        addr: SocketAddr,
        tls: bool,
        stop: watch::Receiver<bool>,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            hub: hub::Hub::new(opts.history, opts.client_queue),
            rooms: rooms::Registry::default(),
            sessions: http_session::Sessions::default(),
            eio: engineio::Sessions::default(),
            handler: RwLock::new(None),
            observer: RwLock::new(None),
            connections: AtomicUsize::new(0),
            per_ip: Default::default(),
            stop,
            cut: watch::channel(0).0,
            tls,
            addr,
            session_options: Arc::new(app::session_options(&opts)),
            opts,
        })
    }
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn tls_acceptor(opts: &ServerOptions) -> Result<Option<tokio_rustls::TlsAcceptor>, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let (Some(cert), Some(key)) = (&opts.tls_cert, &opts.tls_key) else {
        if opts.tls_cert.is_some() || opts.tls_key.is_some() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "tls_cert and tls_key go together",
            ));
        }
        return Ok(None);
    };
    let bad = |what: &str, p: &PathBuf, e: &dyn std::fmt::Display| {
        Error::new(ErrorKind::Tls, format!("{what} {}: {e}", p.display()))
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("cannot read certificate", cert, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad("bad PEM in", cert, &e))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad("cannot read key", key, &e))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
    .map_err(|e| Error::new(ErrorKind::Tls, format!("server TLS setup: {e}")))?;
    let mut config = config;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))))
}

impl Server {
    /// Binds and starts serving on the current tokio runtime.
    ///
    /// # Errors
    /// `Connect` when the address cannot be bound; `Tls` for unreadable
    /// certificate or key files; `InvalidArgument` for inconsistent options.
    pub async fn start(opts: ServerOptions) -> Result<Server, Error> {
        check(&opts)?;
        let tls = tls_acceptor(&opts)?;
        let listener = TcpListener::bind(opts.bind).await.map_err(|e| {
            Error::new(
                ErrorKind::Connect,
                format!("cannot listen on {}: {e}", opts.bind),
            )
        })?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::new(ErrorKind::Io, format!("local address: {e}")))?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let shared = Shared::new(opts, addr, tls.is_some(), stop_rx);
        let task = tokio::spawn(routes::accept_loop(listener, tls, shared.clone()));
        Ok(Server {
            shared,
            stop: stop_tx,
            task,
        })
    }

    /// The bound address (with the real port when binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The base URL, `http://` or `https://` with the bound address.
    pub fn base_url(&self) -> String {
        let scheme = if self.shared.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.shared.addr)
    }

    /// The ids' epoch: it changes every time a server starts.
    pub fn epoch(&self) -> &str {
        self.shared.hub.epoch()
    }

    /// Publishes to a channel; returns the message id. The name is not
    /// checked: see [`Server::try_publish`].
    pub fn publish(&self, channel: &str, data: impl Into<Data>) -> String {
        self.shared.publish(channel, data.into())
    }

    /// Publishes to a channel whose name [`validate_channel`] accepts;
    /// returns the message id.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] for an invalid channel name.
    pub fn try_publish(&self, channel: &str, data: impl Into<Data>) -> Result<String, Error> {
        validate_channel(channel)?;
        Ok(self.shared.publish(channel, data.into()))
    }

    /// The application connections and their rooms: send to one, to a
    /// room, to everybody.
    pub fn rooms(&self) -> Rooms {
        Rooms::new(self.shared.clone())
    }

    /// Sets the observer of [`ServerEvent`]s (connections, publishes).
    pub fn set_observer(&self, observer: Observer) {
        *self.shared.observer.write().expect("observer lock") = Some(observer);
    }

    /// Sets the handler for messages WebSocket clients send (by default they
    /// are published to the channel as they are).
    pub fn set_handler(&self, handler: Handler) {
        *self.shared.handler.write().expect("handler lock") = Some(handler);
    }

    /// Drops every live WebSocket session and ends every SSE and streaming
    /// response and held poll at once, without close frames, as a network
    /// cut would. Clients reconnect and resume from history. For tests and
    /// demonstrations.
    pub fn disconnect_all(&self) {
        self.shared.cut.send_modify(|n| *n += 1);
    }

    /// Connection count and per-channel figures.
    pub fn stats(&self) -> Stats {
        Stats {
            connections: self.shared.connections.load(Ordering::Relaxed),
            channels: self.shared.hub.stats(),
        }
    }

    /// Stops accepting, ends every stream (WebSocket clients get close
    /// 1001), waits up to 5 s for connections to finish, then returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}
