//! Application connections over Engine.IO v4: a route served with
//! [`ServerOptions::engineio`](super::ServerOptions::engineio) gives each
//! Engine.IO client (such as the JS `engine.io-client`) the same
//! `Connection` a WebSocket client gets. The handler never knows the
//! difference.
//!
//! One [`EioSession`] per client owns the connection's queues; HTTP long
//! polling and a WebSocket are its two legs:
//!
//! - `GET {path}?EIO=4&transport=polling` opens a session (after the token
//!   and the acceptance hook, as a route upgrade would) and is answered at
//!   once with the open packet, `0{"sid","upgrades":["websocket"],
//!   "pingInterval","pingTimeout","maxPayload"}`.
//! - `GET ...&sid=S` is held until packets are queued (a heartbeat `2`
//!   comes every `pingInterval`, so no poll is held longer);
//!   `POST ...&sid=S` carries a payload of packets (at most `maxPayload`
//!   bytes, else 413) and is answered `ok` once the session took them.
//! - `GET ...&transport=websocket&sid=S` with an upgrade is the upgrade:
//!   the client probes (`2probe`, answered `3probe`), the held poll gets a
//!   noop (`6`), the client sends `5` and from then on everything goes over
//!   the WebSocket. Messages queued meanwhile stay in the connection's
//!   queue, so none is lost, doubled or reordered.
//! - `GET ...&transport=websocket` without `sid` opens a WebSocket-only
//!   session: its first frame is the open packet (no upgrades).
//! - The server pings every `pingInterval` (`ServerOptions::ping_interval`)
//!   and ends a session whose pong does not come within `pingTimeout` (the
//!   same value). A `1` from either side ends the session.
//! - Errors are the reference server's: status 400 with
//!   `{"code":N,"message":"..."}` (0 `Transport unknown`, 1 `Session ID
//!   unknown`, 2 `Bad handshake method`, 3 `Bad request`, 5 `Unsupported
//!   protocol version`); a refused token or acceptance hook keeps its
//!   status (401, or the hook's) with code 4 and the reason as message.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Limited};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{timeout, Instant};

use crate::error::{Error, ErrorKind};
use crate::event::{CloseInfo, Event};
use crate::message::{Data, Message, Text};
use crate::options::Transport;
use crate::proto::engineio::{self as eio, Handshake, Packet, PayloadLimits};
use crate::proto::frame::{Incoming, Role};
use crate::server::app::Route;
use crate::server::http_session::{new_sid, SessionMap};
use crate::server::routes::{full, ReqBody};
use crate::server::{ConnGuard, Shared};
use crate::session::link::{CloseRequest, Link, SessionEnd};
use crate::transport::frames::{Frames, ReadError};

use super::routes::Body;

/// The reference server's error codes (engine.io `Server.errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    UnknownTransport = 0,
    UnknownSid = 1,
    BadHandshakeMethod = 2,
    BadRequest = 3,
    Forbidden = 4,
    UnsupportedProtocolVersion = 5,
}

impl Code {
    fn message(self) -> &'static str {
        match self {
            Code::UnknownTransport => "Transport unknown",
            Code::UnknownSid => "Session ID unknown",
            Code::BadHandshakeMethod => "Bad handshake method",
            Code::BadRequest => "Bad request",
            Code::Forbidden => "Forbidden",
            Code::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }
}

/// The reference server's error answer: `{"code","message"}` as JSON.
fn refuse(status: StatusCode, code: Code, message: &str) -> Response<Body> {
    let body = serde_json::json!({"code": code as u8, "message": message});
    full(
        status,
        "application/json",
        serde_json::to_vec(&body).expect("JSON serializes"),
    )
}

fn bad(code: Code) -> Response<Body> {
    refuse(StatusCode::BAD_REQUEST, code, code.message())
}

/// A WebSocket leg.
type Ws = Frames<TokioIo<hyper::upgrade::Upgraded>>;

/// What a session's requests hand to it.
enum Input {
    /// A poll (`GET`): its answer, or the error code to refuse it with.
    Poll(oneshot::Sender<Result<Bytes, Code>>),
    /// The packets of a `POST`, acknowledged once taken (or refused).
    Post(Vec<Packet>, oneshot::Sender<Result<(), Code>>),
    /// A `POST` that did not parse: the session ends ("parse error").
    Garbled,
    /// A WebSocket that answered the probe: the upgrade is under way.
    Probed(Box<Ws>),
}

/// What the routes keep of a live Engine.IO session.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    input: mpsc::Sender<Input>,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Input::Poll(_) => "Poll",
            Input::Post(..) => "Post",
            Input::Garbled => "Garbled",
            Input::Probed(_) => "Probed",
        })
    }
}

/// The live Engine.IO sessions of a server, by id.
pub(crate) type Sessions = SessionMap<Entry>;

/// The session's parameters, from the server's options.
#[derive(Debug, Clone, Copy)]
struct Params {
    ping_interval: Duration,
    ping_timeout: Duration,
    max_payload: usize,
}

impl Params {
    fn of(shared: &Shared) -> Params {
        Params {
            ping_interval: shared.opts.ping_interval,
            ping_timeout: shared.opts.ping_interval,
            max_payload: shared.opts.max_message_size,
        }
    }

    fn handshake(&self, sid: &str, upgrades: &[&str]) -> Packet {
        Packet::Open(Handshake {
            sid: sid.to_string(),
            upgrades: upgrades.iter().map(|u| u.to_string()).collect(),
            ping_interval: self.ping_interval,
            ping_timeout: self.ping_timeout,
            max_payload: Some(self.max_payload as u64),
        })
    }
}

/// The query parameters Engine.IO requests carry.
struct Query {
    eio: Option<String>,
    transport: Option<String>,
    sid: Option<String>,
}

impl Query {
    fn of(req: &Request<ReqBody>) -> Query {
        let mut q = Query {
            eio: None,
            transport: None,
            sid: None,
        };
        let raw = req.uri().query().unwrap_or("");
        for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
            let slot = match &*k {
                "EIO" => &mut q.eio,
                "transport" => &mut q.transport,
                "sid" => &mut q.sid,
                _ => continue,
            };
            slot.get_or_insert_with(|| v.into_owned());
        }
        q
    }
}

fn is_upgrade(req: &Request<ReqBody>) -> bool {
    req.headers().contains_key(header::UPGRADE)
}

/// Answers a request to an Engine.IO route.
pub(crate) async fn request(
    shared: Arc<Shared>,
    req: Request<ReqBody>,
    route: Route,
    peer: std::net::SocketAddr,
) -> Response<Body> {
    let q = Query::of(&req);
    let websocket = match q.transport.as_deref() {
        Some("polling") => false,
        Some("websocket") => true,
        _ => return bad(Code::UnknownTransport),
    };
    if let Some(sid) = q.sid {
        let Some(entry) = shared.eio.get(&route.path, &sid) else {
            return bad(Code::UnknownSid);
        };
        return match (websocket, req.method()) {
            (true, _) if is_upgrade(&req) => upgrade(shared, req, entry),
            (false, &Method::GET) => poll(entry, Params::of(&shared)).await,
            (false, &Method::POST) => post(&shared, req, entry).await,
            _ => bad(Code::BadRequest),
        };
    }
    if req.method() != Method::GET {
        return bad(Code::BadHandshakeMethod);
    }
    if q.eio.as_deref() != Some("4") {
        return bad(Code::UnsupportedProtocolVersion);
    }
    if websocket && !is_upgrade(&req) {
        return bad(Code::BadRequest);
    }
    if !super::routes::authorized(&shared, &req) {
        let mut r = refuse(
            StatusCode::UNAUTHORIZED,
            Code::Forbidden,
            "missing or wrong bearer token",
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    let request = match super::routes::admitted(&shared, &req, peer).await {
        Ok(r) => r,
        Err((status, why)) => return refuse(status, Code::Forbidden, why.trim_end()),
    };
    if websocket {
        open_websocket(shared, req, route, request)
    } else {
        open_polling(shared, route, request)
    }
}

/// Registers a new session of `route`; its id and the session.
fn register(shared: &Arc<Shared>, route: &str, leg: Option<Box<Ws>>) -> EioSession {
    let sid = new_sid();
    let (tx, rx) = mpsc::channel(8);
    shared.eio.insert(sid.clone(), route, Entry { input: tx });
    EioSession {
        sid,
        shared: shared.clone(),
        input: rx,
        params: Params::of(shared),
        ws: leg,
    }
}

fn spawn(shared: Arc<Shared>, route: Route, request: super::Request, session: EioSession) {
    let guard = ConnGuard::new(&shared, request.peer);
    tokio::spawn(async move {
        let _guard = guard;
        let carrier = super::app::Carrier::EngineIo(session);
        super::app::run(route, request, carrier, shared.clone()).await;
    });
}

/// The first polling request: the open packet, and the session starts.
fn open_polling(shared: Arc<Shared>, route: Route, request: super::Request) -> Response<Body> {
    let session = register(&shared, &route.path, None);
    let open = session.params.handshake(&session.sid, &["websocket"]);
    let body = eio::encode_payload(&[open]).expect("the open packet has no separator");
    spawn(shared, route, request, session);
    polling_answer(Bytes::from(body))
}

fn polling_answer(body: Bytes) -> Response<Body> {
    let mut r = full(StatusCode::OK, "text/plain; charset=UTF-8", body);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A WebSocket-only client: upgrade, send the open packet, run the session.
fn open_websocket(
    shared: Arc<Shared>,
    req: Request<ReqBody>,
    route: Route,
    request: super::Request,
) -> Response<Body> {
    let (key, deflate) = match super::ws::upgrade_terms(&shared, &req) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let params = deflate.as_ref().map(|(_, p)| *p);
    let on = hyper::upgrade::on(req);
    let guard = ConnGuard::new(&shared, request.peer);
    tokio::spawn(async move {
        let _guard = guard;
        let Ok(upgraded) = on.await else { return };
        let mut ws = Box::new(frames(&shared, upgraded).with_deflate(params));
        let session = register(&shared, &route.path, None);
        let open = eio::encode(&session.params.handshake(&session.sid, &[]));
        let limit = session.params.ping_interval;
        if !matches!(timeout(limit, ws.send(&open)).await, Ok(Ok(()))) {
            shared.eio.remove(&session.sid);
            return;
        }
        let session = EioSession {
            ws: Some(ws),
            ..session
        };
        let carrier = super::app::Carrier::EngineIo(session);
        super::app::run(route, request, carrier, shared.clone()).await;
    });
    let extensions = deflate.map(|(e, _)| e);
    super::ws::switching(&key, None, extensions.as_deref())
}

fn frames(shared: &Shared, upgraded: hyper::upgrade::Upgraded) -> Ws {
    Frames::new(
        TokioIo::new(upgraded),
        Role::Server,
        BytesMut::new(),
        shared.opts.max_message_size,
        shared.opts.max_message_size,
        8192,
    )
}

/// The upgrade of a polling session: the probe is answered here, then the
/// WebSocket is handed to the session, which switches on `5`.
fn upgrade(shared: Arc<Shared>, req: Request<ReqBody>, entry: Entry) -> Response<Body> {
    let (key, deflate) = match super::ws::upgrade_terms(&shared, &req) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let params = deflate.as_ref().map(|(_, p)| *p);
    let on = hyper::upgrade::on(req);
    let probe_limit = shared.opts.ping_interval;
    tokio::spawn(async move {
        let Ok(upgraded) = on.await else { return };
        let mut ws = Box::new(frames(&shared, upgraded).with_deflate(params));
        let probed = timeout(probe_limit, async {
            loop {
                match ws.next().await {
                    Some(Ok(Incoming::Message(d))) => {
                        if eio::decode(d).ok() == Some(Packet::ping_probe()) {
                            return ws.send(&eio::encode(&Packet::pong_probe())).await.is_ok();
                        }
                        return false;
                    }
                    Some(Ok(Incoming::Ping(_))) => {
                        if ws.flush().await.is_err() {
                            return false;
                        }
                    }
                    Some(Ok(Incoming::Pong(_))) => {}
                    _ => return false,
                }
            }
        })
        .await;
        if probed == Ok(true) {
            // The session drops it if it is over or already upgrading.
            let _ = entry.input.send(Input::Probed(ws)).await;
        }
    });
    let extensions = deflate.map(|(e, _)| e);
    super::ws::switching(&key, None, extensions.as_deref())
}

/// How long a request waits for its session to take it.
const HAND_OVER: Duration = Duration::from_secs(10);

async fn poll(entry: Entry, params: Params) -> Response<Body> {
    let (tx, rx) = oneshot::channel();
    if !matches!(
        timeout(HAND_OVER, entry.input.send(Input::Poll(tx))).await,
        Ok(Ok(()))
    ) {
        return bad(Code::UnknownSid);
    }
    // The heartbeat answers every poll within `pingInterval`.
    let wait = params.ping_interval + params.ping_timeout + HAND_OVER;
    match timeout(wait, rx).await {
        Ok(Ok(Ok(body))) => polling_answer(body),
        Ok(Ok(Err(code))) => bad(code),
        _ => bad(Code::UnknownSid),
    }
}

async fn post(shared: &Shared, req: Request<ReqBody>, entry: Entry) -> Response<Body> {
    let limit = shared.opts.max_message_size;
    let body = match Limited::new(req.into_body(), limit).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return full(
                StatusCode::PAYLOAD_TOO_LARGE,
                "text/plain; charset=utf-8",
                format!("payload over the limit of {limit} bytes\n"),
            )
        }
        Err(_) => return bad(Code::BadRequest),
    };
    let limits = PayloadLimits::default().max_payload(limit);
    let packets = match eio::decode_payload(&body, &limits) {
        Ok(p) => p,
        Err(_) => {
            let _ = entry.input.try_send(Input::Garbled);
            return bad(Code::BadRequest);
        }
    };
    let (tx, rx) = oneshot::channel();
    let handed = timeout(HAND_OVER, entry.input.send(Input::Post(packets, tx))).await;
    if !matches!(handed, Ok(Ok(()))) {
        return bad(Code::UnknownSid);
    }
    match timeout(HAND_OVER, rx).await {
        Ok(Ok(Ok(()))) => full(StatusCode::OK, "text/html", Bytes::from_static(b"ok")),
        Ok(Ok(Err(code))) => bad(code),
        _ => bad(Code::UnknownSid),
    }
}

/// One Engine.IO session, run by the route like a WebSocket session.
pub(crate) struct EioSession {
    sid: String,
    shared: Arc<Shared>,
    input: mpsc::Receiver<Input>,
    params: Params,
    /// The WebSocket leg, once there is one (from the start for
    /// WebSocket-only clients).
    ws: Option<Box<Ws>>,
}

/// How many payload bytes one poll answer carries (at least one message).
const ANSWER_BYTES: usize = 1 << 20;

/// What the session does next, decided by the packet handler.
enum Flow {
    Go,
    End(SessionEnd),
}

fn lost(why: &str) -> SessionEnd {
    SessionEnd::Lost {
        cause: Error::new(ErrorKind::Closed, why.to_string()),
        close: CloseInfo::abnormal(""),
    }
}

fn closed(code: u16, reason: &str) -> SessionEnd {
    SessionEnd::Closed(CloseInfo {
        code,
        reason: reason.to_string(),
        clean: true,
        unsent: Vec::new(),
    })
}

/// The next frame of an optional WebSocket (never, without one).
async fn next_frame(ws: &mut Option<Box<Ws>>) -> Option<Result<Incoming, ReadError>> {
    match ws {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}

/// The session's state between events.
struct State {
    /// The poll held open, waiting for packets.
    held: Option<oneshot::Sender<Result<Bytes, Code>>>,
    /// Packets of the session's own to send before the next messages
    /// (pings).
    control: VecDeque<Packet>,
    /// A WebSocket that answered the probe, until the client's `5`.
    probing: Option<Box<Ws>>,
    /// When the next ping is due.
    next_ping: Instant,
    /// When the unanswered ping's pong is overdue.
    pong_due: Option<Instant>,
    /// The application's close, waiting for a poll to carry it.
    closing: Option<(CloseRequest, Instant)>,
}

impl EioSession {
    /// The transport the connection reports when it opens.
    pub fn transport(&self) -> Transport {
        if self.ws.is_some() {
            Transport::WebSocket
        } else {
            Transport::LongPoll
        }
    }

    /// Runs the session until it ends.
    pub async fn run(mut self, link: &mut Link) -> SessionEnd {
        let end = self.drive(link).await;
        self.shared.eio.remove(&self.sid);
        if let (Some(ws), SessionEnd::Closed(c)) = (self.ws.as_mut(), &end) {
            close_ws(ws, c.code).await;
        }
        end
    }

    async fn drive(&mut self, link: &mut Link) -> SessionEnd {
        let far = || Instant::now() + Duration::from_secs(86_400 * 365);
        let mut st = State {
            held: None,
            control: VecDeque::new(),
            probing: None,
            next_ping: Instant::now() + self.params.ping_interval,
            pong_due: None,
            closing: None,
        };
        loop {
            let timer = st
                .pong_due
                .unwrap_or(st.next_ping)
                .min(st.closing.as_ref().map_or_else(far, |c| c.1));
            let polling = self.ws.is_none();
            let can_answer = polling && st.held.is_some() && st.probing.is_none();
            tokio::select! {
                req = link.close_req.requested(), if st.closing.is_none() => {
                    if !polling {
                        return self.ws_close(link, req).await;
                    }
                    let deadline = Instant::now() + self.params.ping_interval.min(Duration::from_secs(5));
                    st.closing = Some((req, deadline));
                    if let Some(slot) = st.held.take() {
                        return self.answer_close(link, &mut st, slot);
                    }
                }
                input = self.input.recv() => {
                    let Some(input) = input else { return lost("the session ended") };
                    if let Flow::End(end) = self.on_input(link, &mut st, input).await {
                        return end;
                    }
                }
                m = link.outgoing.recv(), if can_answer || !polling => {
                    let Some(m) = m else { return lost("the queue closed") };
                    link.outgoing.push_front(m);
                    let flow = if polling {
                        let slot = st.held.take().expect("a poll is held");
                        self.answer(link, &mut st, slot)
                    } else {
                        self.ws_write(link, &mut st).await
                    };
                    if let Flow::End(end) = flow {
                        return end;
                    }
                }
                f = next_frame(&mut self.ws) => {
                    let flow = match f {
                        Some(Ok(Incoming::Message(d))) => match eio::decode(d) {
                            Ok(p) => self.on_packets(link, &mut st, vec![p]).await,
                            Err(e) => Flow::End(SessionEnd::Failed { error: e, close: CloseInfo::abnormal("parse error") }),
                        },
                        Some(Ok(Incoming::Ping(_))) => self.ws_write(link, &mut st).await,
                        Some(Ok(Incoming::Pong(_))) => Flow::Go,
                        Some(Ok(Incoming::Close(frame))) => {
                            // The client's close (engine.io-client closes a
                            // WebSocket leg without `1`); the reply is queued.
                            if let Some(mut ws) = self.ws.take() {
                                let _ = timeout(Duration::from_secs(2), ws.flush()).await;
                            }
                            let (code, reason) = frame.unwrap_or((1000, String::new()));
                            Flow::End(SessionEnd::peer_closed(CloseInfo { code, reason, clean: true, unsent: Vec::new() }))
                        }
                        Some(Err(ReadError::Fault(f))) => {
                            if let Some(ws) = self.ws.as_mut() {
                                close_ws(ws, f.close_code()).await;
                            }
                            Flow::End(lost(f.reason()))
                        }
                        Some(Err(ReadError::Io(_))) | None => Flow::End(lost("the WebSocket ended")),
                    };
                    if let Flow::End(end) = flow {
                        return end;
                    }
                }
                f = next_frame(&mut st.probing) => {
                    if let Flow::End(end) = self.on_probe_frame(link, &mut st, f).await {
                        return end;
                    }
                }
                () = tokio::time::sleep_until(timer) => {
                    let now = Instant::now();
                    if let Some((_, deadline)) = &st.closing {
                        if now >= *deadline {
                            let (req, _) = st.closing.take().expect("closing");
                            return closed(req.code, &req.reason);
                        }
                    }
                    if st.pong_due.is_some_and(|d| now >= d) {
                        return lost("ping timeout");
                    }
                    if st.pong_due.is_none() && now >= st.next_ping {
                        st.control.push_back(Packet::ping());
                        st.pong_due = Some(now + self.params.ping_timeout);
                        st.next_ping = far();
                        let flow = match (polling, st.held.take()) {
                            (false, _) => self.ws_write(link, &mut st).await,
                            (true, Some(slot)) if st.probing.is_none() => self.answer(link, &mut st, slot),
                            (true, held) => { st.held = held; Flow::Go }
                        };
                        if let Flow::End(end) = flow {
                            return end;
                        }
                    }
                }
            }
        }
    }

    async fn on_input(&mut self, link: &mut Link, st: &mut State, input: Input) -> Flow {
        match input {
            Input::Poll(slot) => {
                if self.ws.is_some() {
                    let _ = slot.send(Err(Code::BadRequest));
                    return Flow::Go;
                }
                if st.held.as_ref().is_some_and(|h| !h.is_closed()) {
                    // Two polls at once: the reference server ends the
                    // session ("overlap from client"). (A poll its client
                    // gave up on is simply replaced.)
                    let _ = slot.send(Err(Code::BadRequest));
                    return Flow::End(lost("poll overlap from the client"));
                }
                if st.closing.is_some() {
                    return Flow::End(self.answer_close(link, st, slot));
                }
                if st.probing.is_some() {
                    // Upgrading: the poll is let go with a noop.
                    let _ = slot.send(Ok(Bytes::from_static(b"6")));
                    return Flow::Go;
                }
                if st.control.is_empty() && !link.outgoing.has_queued() {
                    st.held = Some(slot);
                    return Flow::Go;
                }
                self.answer(link, st, slot)
            }
            Input::Post(packets, ack) => {
                if self.ws.is_some() {
                    let _ = ack.send(Err(Code::BadRequest));
                    return Flow::Go;
                }
                let flow = self.on_packets(link, st, packets).await;
                let _ = ack.send(Ok(()));
                flow
            }
            Input::Garbled => Flow::End(SessionEnd::Failed {
                error: Error::new(ErrorKind::Protocol, "engine.io payload does not parse"),
                close: CloseInfo::abnormal("parse error"),
            }),
            Input::Probed(ws) => {
                if self.ws.is_some() || st.probing.is_some() {
                    return Flow::Go;
                }
                st.probing = Some(ws);
                // The held poll is let go so that the client can pause
                // polling; what is queued waits for the WebSocket.
                if let Some(slot) = st.held.take() {
                    let _ = slot.send(Ok(Bytes::from_static(b"6")));
                }
                Flow::Go
            }
        }
    }

    async fn on_probe_frame(
        &mut self,
        link: &mut Link,
        st: &mut State,
        frame: Option<Result<Incoming, ReadError>>,
    ) -> Flow {
        let packet = match frame {
            Some(Ok(Incoming::Message(d))) => eio::decode(d).ok(),
            Some(Ok(Incoming::Ping(_))) => {
                let ws = st.probing.as_mut().expect("probing");
                if timeout(self.params.ping_interval, ws.flush())
                    .await
                    .is_err()
                {
                    st.probing = None;
                }
                return Flow::Go;
            }
            Some(Ok(Incoming::Pong(_))) => return Flow::Go,
            // The upgrade failed: the session stays on polling.
            _ => {
                st.probing = None;
                return Flow::Go;
            }
        };
        match packet {
            Some(Packet::Upgrade) => {
                // Everything the client POSTed before `5` was acknowledged
                // before it sent it, so nothing of polling is still to come.
                self.ws = st.probing.take();
                if let Some(slot) = st.held.take() {
                    let _ = slot.send(Ok(Bytes::from_static(b"6")));
                }
                if let Some((req, _)) = st.closing.take() {
                    return Flow::End(self.ws_close(link, req).await);
                }
                self.ws_write(link, st).await
            }
            Some(p) if p == Packet::ping_probe() => {
                let ws = st.probing.as_mut().expect("probing");
                let sent = timeout(
                    self.params.ping_interval,
                    ws.send(&eio::encode(&Packet::pong_probe())),
                )
                .await;
                if !matches!(sent, Ok(Ok(()))) {
                    st.probing = None;
                }
                Flow::Go
            }
            _ => {
                st.probing = None;
                Flow::Go
            }
        }
    }

    /// The client's packets, in order.
    async fn on_packets(&mut self, link: &mut Link, st: &mut State, packets: Vec<Packet>) -> Flow {
        for p in packets {
            match p {
                Packet::Message(data) => {
                    if link.emit(Event::Message(Message::new(data))).await.is_err() {
                        return Flow::End(SessionEnd::Abandoned);
                    }
                }
                Packet::Pong(_) => {
                    st.pong_due = None;
                    st.next_ping = Instant::now() + self.params.ping_interval;
                }
                Packet::Close => {
                    if let Some(slot) = st.held.take() {
                        let _ = slot.send(Ok(Bytes::from_static(b"6")));
                    }
                    return Flow::End(SessionEnd::peer_closed(CloseInfo {
                        code: 1000,
                        reason: String::new(),
                        clean: true,
                        unsent: Vec::new(),
                    }));
                }
                // v4 clients do not ping; upgrade and noop mean nothing
                // here; an open packet from a client is a protocol error.
                Packet::Ping(_) | Packet::Upgrade | Packet::Noop => {}
                Packet::Open(_) => {
                    return Flow::End(SessionEnd::Failed {
                        error: Error::new(
                            ErrorKind::Protocol,
                            "an engine.io client sent an open packet",
                        ),
                        close: CloseInfo::abnormal("parse error"),
                    })
                }
            }
        }
        Flow::Go
    }

    /// Answers `slot` with what is queued.
    fn answer(
        &self,
        link: &mut Link,
        st: &mut State,
        slot: oneshot::Sender<Result<Bytes, Code>>,
    ) -> Flow {
        if slot.is_closed() {
            // Its client gave up on it: what is queued waits for the next.
            return Flow::Go;
        }
        let packets = take_packets(link, st, false);
        match eio::encode_payload(&packets) {
            Ok(body) => {
                let _ = slot.send(Ok(Bytes::from(body)));
                Flow::Go
            }
            Err(error) => {
                // A text message with 0x1E cannot go by polling.
                let _ = slot.send(Ok(Bytes::from_static(b"1")));
                Flow::End(SessionEnd::Failed {
                    error,
                    close: CloseInfo::abnormal("a message polling cannot carry"),
                })
            }
        }
    }

    /// Answers `slot` with everything queued and the close packet.
    fn answer_close(
        &self,
        link: &mut Link,
        st: &mut State,
        slot: oneshot::Sender<Result<Bytes, Code>>,
    ) -> SessionEnd {
        let (req, _) = st.closing.take().expect("closing");
        let mut packets = take_packets(link, st, true);
        packets.retain(|p| !matches!(p, Packet::Ping(_)));
        packets.push(Packet::Close);
        let body = eio::encode_payload(&packets).unwrap_or_else(|_| b"1".to_vec());
        let _ = slot.send(Ok(Bytes::from(body)));
        closed(req.code, &req.reason)
    }

    /// Writes what is queued to the WebSocket leg.
    async fn ws_write(&mut self, link: &mut Link, st: &mut State) -> Flow {
        let limit = self.params.ping_interval;
        let Some(ws) = self.ws.as_mut() else {
            return Flow::Go;
        };
        let packets = take_packets_ws(link, st);
        for p in &packets {
            ws.feed(&eio::encode(p));
        }
        match timeout(limit, ws.flush()).await {
            Ok(Ok(())) => Flow::Go,
            _ => Flow::End(lost("the WebSocket does not take writes")),
        }
    }

    /// The application's close over the WebSocket leg: what is queued, then
    /// `1` (the close frame follows in [`EioSession::run`]).
    async fn ws_close(&mut self, link: &mut Link, req: CloseRequest) -> SessionEnd {
        let limit = self.params.ping_interval;
        if let Some(ws) = self.ws.as_mut() {
            while let Some(m) = link.outgoing.try_recv() {
                link.outgoing.release(&m);
                ws.feed(&eio::encode(&Packet::Message(m.data)));
            }
            ws.feed(&Data::Text(Text::from_static("1")));
            let _ = timeout(limit, ws.flush()).await;
        }
        closed(req.code, &req.reason)
    }
}

/// The packets to send now: the session's own, then messages (up to
/// [`ANSWER_BYTES`], or all of them when `all`).
fn take_packets(link: &mut Link, st: &mut State, all: bool) -> Vec<Packet> {
    let mut packets: Vec<Packet> = st.control.drain(..).collect();
    let mut bytes = 0;
    while bytes < ANSWER_BYTES || all {
        let Some(m) = link.outgoing.try_recv() else {
            break;
        };
        link.outgoing.release(&m);
        bytes += m.data.len();
        packets.push(Packet::Message(m.data));
    }
    packets
}

/// The packets to send now over a WebSocket: the session's own, then up
/// to 256 messages.
fn take_packets_ws(link: &mut Link, st: &mut State) -> Vec<Packet> {
    let mut packets: Vec<Packet> = st.control.drain(..).collect();
    for _ in 0..256 {
        let Some(m) = link.outgoing.try_recv() else {
            break;
        };
        link.outgoing.release(&m);
        packets.push(Packet::Message(m.data));
    }
    packets
}

/// Sends a close frame and waits (bounded) for the client's.
async fn close_ws(ws: &mut Ws, code: u16) {
    // Codes that must not be sent (RFC 6455 §7.4.1) become 1000.
    let code = match code {
        1000..=1003 | 1007..=1014 | 3000..=4999 => code,
        _ => 1000,
    };
    ws.feed_close(code, "");
    let _ = timeout(Duration::from_secs(2), ws.flush()).await;
    let _ = timeout(Duration::from_secs(2), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}
