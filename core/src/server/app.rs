//! Application routes: a path whose WebSocket clients each get a
//! [`Connection`] of their own, handed to the application's handler with
//! the [`Request`] they came with: the same `Connection` type (events,
//! `send`, `try_send`, backpressure, `close`) a client gets from
//! [`connect`](crate::connect), without the reconnecting.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rtwire::Error> {
//! use rtwire::server::{Server, ServerOptions};
//! use rtwire::Event;
//!
//! let opts = ServerOptions::new().route("/echo", |mut conn, _req| async move {
//!     while let Some(event) = conn.recv().await {
//!         if let Event::Message(m) = event {
//!             if conn.send(m.data).await.is_err() {
//!                 break;
//!             }
//!         }
//!     }
//! });
//! let server = Server::start(opts).await?;
//! println!("echo on ws://{}/echo", server.local_addr());
//! # Ok(()) }
//! ```

use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::client::Connection;
use crate::event::{Event, OpenInfo};
use crate::options::{Options, Transport};
use crate::session::link::SessionEnd;

/// What a client asked for when it opened a connection to a route (or,
/// for the acceptance hook, any path).
#[derive(Clone)]
#[non_exhaustive]
pub struct Request {
    /// The server's id for the connection, unique while the server runs.
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// The request path (the route).
    pub path: String,
    /// The query string, without `?` (empty when there is none).
    pub query: String,
    /// The request headers, names in lower case, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The subprotocol chosen (one the client offered and the route
    /// accepts), if any.
    pub protocol: Option<String>,
    /// What the acceptance hook attached ([`Accept::user`]), if anything.
    pub user: Option<Arc<dyn Any + Send + Sync>>,
    pub(crate) rooms: super::Rooms,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("id", &self.id)
            .field("peer", &self.peer)
            .field("path", &self.path)
            .field("protocol", &self.protocol)
            .field("user", &self.user.is_some())
            .finish_non_exhaustive()
    }
}

/// The acceptance hook's yes: optionally with what it learnt about the
/// client (the authenticated user), which the handler finds in
/// [`Request::user`].
#[derive(Default)]
pub struct Accept {
    user: Option<Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Accept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accept")
            .field("user", &self.user.is_some())
            .finish()
    }
}

impl Accept {
    pub(crate) fn into_user(self) -> Option<Arc<dyn Any + Send + Sync>> {
        self.user
    }

    /// Accepts the client.
    pub fn new() -> Accept {
        Accept::default()
    }

    /// Accepts the client, attaching `user` to its request.
    pub fn user(user: impl Any + Send + Sync) -> Accept {
        Accept {
            user: Some(Arc::new(user)),
        }
    }
}

/// The acceptance hook's no: the HTTP status and body the client gets
/// (rtwire clients see a `Handshake` error with them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The status, 400 to 599.
    pub status: u16,
    /// The body (text).
    pub body: String,
}

impl Reject {
    /// Refuses with `status` (400-599; another value becomes 403) and
    /// `body`.
    pub fn new(status: u16, body: impl Into<String>) -> Reject {
        Reject {
            status: if (400..600).contains(&status) {
                status
            } else {
                403
            },
            body: body.into(),
        }
    }
}

/// The acceptance hook: runs before the upgrade or the stream starts, for
/// application routes and the built-in channel paths alike.
pub type AcceptHook = Arc<
    dyn Fn(Request) -> Pin<Box<dyn Future<Output = Result<Accept, Reject>> + Send>> + Send + Sync,
>;

impl Request {
    /// What the acceptance hook attached, if it is a `T`.
    pub fn user_as<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.user.as_deref().and_then(|u| u.downcast_ref())
    }

    /// The server's connections and rooms (see [`Rooms`](super::Rooms)).
    pub fn rooms(&self) -> super::Rooms {
        self.rooms.clone()
    }

    /// Adds this connection to `room` (see [`Rooms::join`](super::Rooms::join)).
    pub fn join(&self, room: &str) -> bool {
        self.rooms.join(self.id, room)
    }

    /// Takes this connection out of `room`.
    pub fn leave(&self, room: &str) -> bool {
        self.rooms.leave(self.id, room)
    }

    /// The rooms this connection is in, sorted.
    pub fn joined(&self) -> Vec<String> {
        self.rooms.rooms_of(self.id)
    }

    /// The request of `req` from `peer`, before any hook ran.
    pub(crate) fn of<B>(
        req: &hyper::Request<B>,
        peer: SocketAddr,
        shared: &Arc<super::Shared>,
    ) -> Request {
        Request {
            id: next_id(),
            peer,
            path: req.uri().path().to_string(),
            query: req.uri().query().unwrap_or("").to_string(),
            headers: req
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            protocol: None,
            user: None,
            rooms: super::Rooms::new(shared.clone()),
        }
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of query parameter `name`, decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// A route's handler: called once per connection, on a server task; the
/// connection lives as long as the handler keeps it (dropping it closes it
/// with 1001).
pub type AppHandler =
    Arc<dyn Fn(Connection, Request) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The acceptance hook as the options hold it.
#[derive(Clone)]
pub(crate) struct Hook(pub AcceptHook);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AcceptHook")
    }
}

/// A path served by an application handler.
#[derive(Clone)]
pub(crate) struct Route {
    pub path: String,
    pub handler: AppHandler,
    /// Subprotocols the route accepts, in its order of preference.
    pub protocols: Vec<String>,
    /// Served over Engine.IO (see [`super::engineio`]) rather than
    /// rtwire's own transports.
    pub engineio: bool,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("path", &self.path)
            .field("protocols", &self.protocols)
            .field("engineio", &self.engineio)
            .finish_non_exhaustive()
    }
}

impl Route {
    /// Whether a request for `path` is for this route: the exact path, or
    /// for an Engine.IO route also with or without its trailing slash
    /// (`/engine.io` and `/engine.io/`).
    pub fn matches(&self, path: &str) -> bool {
        self.path == path
            || (self.engineio
                && path.len() > 1
                && self.path.trim_end_matches('/') == path.trim_end_matches('/'))
    }

    /// The subprotocol to answer with: the first of the route's that the
    /// client offered (`Sec-WebSocket-Protocol`, comma separated).
    pub fn choose(&self, offered: &[String]) -> Option<String> {
        self.protocols
            .iter()
            .find(|p| offered.iter().any(|o| o == *p))
            .cloned()
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A new connection id.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// The connection options of a server-side session: the server's limits,
/// its ping interval as keepalive (a client silent for an interval after a
/// ping is dead), no reconnecting.
pub(crate) fn session_options(shared: &super::ServerOptions) -> Options {
    let mut o = Options::new()
        .max_message_size(shared.max_message_size)
        .max_frame_size(shared.max_message_size)
        .keepalive(Some(shared.ping_interval), shared.ping_interval)
        .reconnect(crate::Reconnect::disabled());
    o.limits.send_queue_bytes = shared.send_queue_bytes;
    o.close_timeout = Duration::from_secs(5);
    o.limits.read_buffer_size = 4096;
    o
}

/// What carries a route connection: a WebSocket session, an HTTP one
/// (SSE, NDJSON streaming or long polling, with POST up), or an Engine.IO
/// one (polling and WebSocket legs).
pub(crate) enum Carrier {
    /// An upgraded WebSocket.
    Ws(crate::transport::ws::WsSession),
    /// Server-Sent Events, streaming or polls.
    Http(super::http_session::HttpSession),
    /// Engine.IO v4.
    EngineIo(super::engineio::EioSession),
}

impl Carrier {
    fn transport(&self) -> Transport {
        match self {
            Carrier::Ws(_) => Transport::WebSocket,
            Carrier::Http(h) => h.transport(),
            Carrier::EngineIo(e) => e.transport(),
        }
    }

    async fn run(
        self,
        link: &mut crate::session::link::Link,
        options: &Options,
        resume: &mut crate::session::resume::Resume,
    ) -> SessionEnd {
        match self {
            Carrier::Ws(ws) => ws.run(link, options, resume).await,
            Carrier::Http(h) => h.run(link).await,
            Carrier::EngineIo(e) => e.run(link).await,
        }
    }
}

/// Runs the connection of a session that opened (an upgraded WebSocket,
/// or an HTTP session):
/// hands it to the route's handler, then drives it until it ends. The
/// server's shutdown closes it with 1001.
pub(crate) async fn run(
    route: Route,
    request: Request,
    session: Carrier,
    shared: Arc<super::Shared>,
) {
    let options = shared.session_options.clone();
    let mut stop = shared.stop.clone();
    let (id, path, peer) = (request.id, request.path.clone(), request.peer);
    shared.observe(super::ServerEvent::Opened {
        id,
        path: path.clone(),
        peer,
        protocol: request.protocol.clone(),
    });
    let info = OpenInfo {
        transport: session.transport(),
        url: request.path.clone(),
        protocol: request.protocol.clone(),
        // The request's headers are in `Request::headers`: one copy per
        // connection is enough.
        headers: Vec::new(),
    };
    // Boxed, as the rare paths below: their state would otherwise stay in
    // every idle connection's task.
    let (conn, mut link) = Box::pin(crate::client::pair(&options, info)).await;
    let closer = link.close_req.handle();
    shared.rooms.register(id, conn.sender(), closer.clone());
    tokio::spawn((route.handler)(conn, request));
    let mut resume = crate::session::resume::Resume::default();
    let idle = shared.opts.idle_timeout;
    let meters = (link.events.meter(), link.outgoing.meter());
    let activity = move || meters.0.count() + meters.1.count();
    let end = {
        let run = session.run(&mut link, &options, &mut resume);
        tokio::pin!(run);
        let mut stopping = *stop.borrow();
        if stopping {
            closer.request(shutdown_request());
        }
        // The idle check: when `idle` passed, was there a message since?
        let mut seen = activity();
        let check = tokio::time::sleep(idle.unwrap_or(Duration::MAX / 4));
        tokio::pin!(check);
        loop {
            tokio::select! {
                end = &mut run => break end,
                changed = stop.changed(), if !stopping => {
                    stopping = true;
                    if changed.is_err() || *stop.borrow() {
                        closer.request(shutdown_request());
                    }
                }
                () = &mut check, if idle.is_some() && !stopping => {
                    let now = activity();
                    if now == seen {
                        stopping = true;
                        closer.request(crate::session::link::CloseRequest {
                            code: 1001,
                            reason: "idle timeout".into(),
                        });
                    } else {
                        seen = now;
                        check.as_mut().reset(tokio::time::Instant::now() + idle.unwrap_or_default());
                    }
                }
            }
        }
    };
    let close = match end {
        SessionEnd::Closed(info) => info,
        SessionEnd::Abandoned => crate::event::CloseInfo::abnormal("abandoned"),
        // The client closed with a code of its own: how it ended, not an
        // error of this side.
        SessionEnd::Lost { close, .. } if close.code != 1006 => close,
        SessionEnd::Failed { error, close }
        | SessionEnd::Lost {
            cause: error,
            close,
        } => {
            if Box::pin(link.emit(Event::Error(error))).await.is_err() {
                return;
            }
            close
        }
    };
    for room in shared.rooms.unregister(id) {
        shared.observe(super::ServerEvent::Left { id, room });
    }
    shared.observe(super::ServerEvent::Closed {
        id,
        path,
        peer,
        code: close.code,
        clean: close.clean,
    });
    Box::pin(crate::client::finish(link, close)).await;
}

fn shutdown_request() -> crate::session::link::CloseRequest {
    crate::session::link::CloseRequest {
        code: 1001,
        reason: "server shutting down".into(),
    }
}
