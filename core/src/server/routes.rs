//! HTTP serving: the accept loop (TLS, header limits, graceful shutdown),
//! routing, auth and CORS, and the HTTP endpoints (SSE, long/short polling,
//! NDJSON streaming, publish, negotiate, health). WebSocket lives in
//! [`super::ws`].

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited, StreamBody};
use hyper::body::Frame;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};

use crate::message::{Data, Text};
use crate::server::hub::{Entry, Subscription};
use crate::server::{encode, http_session, ws, ConnGuard, Presence, Shared};
use std::net::SocketAddr;

/// The response body type of every endpoint.
pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// A request body's error.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body of a request, whichever server read it (ours, or the hyper or
/// axum server rtwire is mounted in). It is `Sync` because it is only ever
/// polled through `&mut` (requests are shared by reference across awaits;
/// bodies such as axum's are `Send` only).
pub(crate) struct ReqBody(std::sync::Mutex<BodyBox>);

type BodyBox = std::pin::Pin<Box<dyn hyper::body::Body<Data = Bytes, Error = BoxError> + Send>>;

impl hyper::body::Body for ReqBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let inner = self
            .get_mut()
            .0
            .get_mut()
            .unwrap_or_else(|p| p.into_inner());
        inner.as_mut().poll_frame(cx)
    }
}

/// `req` with its body boxed as [`ReqBody`].
pub(crate) fn boxed<B>(req: Request<B>) -> Request<ReqBody>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    req.map(|b| ReqBody(std::sync::Mutex::new(Box::pin(b.map_err(Into::into)))))
}

/// Accepts until shutdown, then waits (bounded) for connections to finish.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = shared.stop.clone();
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                // Out of fds or a transient error: back off, keep serving.
                Err(_) => { tokio::time::sleep(Duration::from_millis(20)).await; continue }
            },
            _ = stop.changed() => break,
        };
        let _ = tcp.set_nodelay(true);
        if shared.over_limit(peer) {
            if tls.is_none() {
                tokio::spawn(refuse_over_limit(tcp));
            }
            continue;
        }
        let shared = shared.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _guard = ConnGuard::new(&shared, peer);
            match tls {
                None => serve(TokioIo::new(tcp), shared, watcher, peer).await,
                Some(acceptor) => {
                    // The accept loop never waits on a handshake; a stalled
                    // one is dropped after header_timeout.
                    let limit = shared.opts.header_timeout;
                    if let Ok(Ok(s)) = tokio::time::timeout(limit, acceptor.accept(tcp)).await {
                        serve(TokioIo::new(s), shared, watcher, peer).await;
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}

/// Answers a connection over a limit with 503 and closes it, reading what
/// the client sent meanwhile (at most 1 s), so that the answer is not lost
/// to a reset.
async fn refuse_over_limit(mut tcp: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let answer = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
        Content-Type: text/plain\r\nContent-Length: 21\r\nConnection: close\r\n\r\n\
        too many connections\n";
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        tcp.write_all(answer).await?;
        tcp.shutdown().await?;
        let mut sink = [0u8; 4096];
        while tcp.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}

async fn serve<I>(
    io: TokioIo<I>,
    shared: Arc<Shared>,
    watcher: hyper_util::server::graceful::Watcher,
    peer: SocketAddr,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.opts.header_timeout)
        .max_headers(shared.opts.max_headers)
        .max_buf_size(64 * 1024);
    let svc = hyper::service::service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(route(shared, boxed(req), peer).await) }
    });
    let conn = builder.serve_connection_with_upgrades(io, svc).into_owned();
    let _ = watcher.watch(conn).await;
}

/// `503 Service Unavailable` with `Retry-After: 1`: over a connection
/// limit, or shutting down.
pub(crate) fn unavailable(why: &str) -> Response<Body> {
    let mut r = error(StatusCode::SERVICE_UNAVAILABLE, why);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

pub(crate) fn full(
    status: StatusCode,
    ctype: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed());
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

pub(crate) fn error(status: StatusCode, msg: &str) -> Response<Body> {
    full(status, "text/plain; charset=utf-8", format!("{msg}\n"))
}

fn json_response(status: StatusCode, v: &serde_json::Value) -> Response<Body> {
    full(
        status,
        "application/json",
        serde_json::to_vec(v).expect("JSON"),
    )
}

/// A streaming body fed by a task through a small bounded channel: a client
/// that stops reading stops the task, memory stays bounded.
fn streaming(ctype: &'static str) -> (mpsc::Sender<Bytes>, Response<Body>) {
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let mut r = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    (tx, r)
}

fn query(req: &Request<ReqBody>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.uri().query()?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Constant-time comparison, so the token cannot be guessed by timing.
fn same(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b.iter().cycle()) {
        diff |= x ^ y;
    }
    diff == 0
}

pub(crate) fn authorized(shared: &Shared, req: &Request<ReqBody>) -> bool {
    let Some(token) = &shared.opts.token else {
        return true;
    };
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    bearer
        .or_else(|| query(req, "token"))
        .is_some_and(|t| same(t.as_bytes(), token.as_bytes()))
}

fn valid_channel(name: &str) -> bool {
    super::validate_channel(name).is_ok()
}

fn cursor(req: &Request<ReqBody>) -> Option<String> {
    req.headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|s| !s.is_empty())
        .or_else(|| query(req, "cursor").filter(|s| !s.is_empty()))
}

/// Routes a request.
pub(crate) async fn route(
    shared: Arc<Shared>,
    req: Request<ReqBody>,
    peer: SocketAddr,
) -> Response<Body> {
    let cors = shared.opts.cors;
    let mut resp = dispatch(shared, req, peer).await;
    if cors {
        let h = resp.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type, last-event-id"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
    }
    resp
}

/// Runs the acceptance hook, if any: the request (with what the hook
/// attached), or the refusal to answer with.
async fn admit(
    shared: &Arc<Shared>,
    req: &Request<ReqBody>,
    peer: SocketAddr,
) -> Result<super::Request, Response<Body>> {
    admitted(shared, req, peer)
        .await
        .map_err(|(status, body)| full(status, "text/plain; charset=utf-8", body))
}

/// Runs the acceptance hook, if any: the request (with what the hook
/// attached), or the status and text of the refusal.
pub(crate) async fn admitted(
    shared: &Arc<Shared>,
    req: &Request<ReqBody>,
    peer: SocketAddr,
) -> Result<super::Request, (StatusCode, String)> {
    let request = super::Request::of(req, peer, shared);
    let Some(super::app::Hook(hook)) = shared.opts.accept.clone() else {
        return Ok(request);
    };
    let decided = std::panic::AssertUnwindSafe(hook(request.clone()));
    match futures_util::FutureExt::catch_unwind(decided).await {
        Ok(Ok(accept)) => Ok(super::Request {
            user: accept.into_user(),
            ..request
        }),
        Ok(Err(reject)) => {
            let status = StatusCode::from_u16(reject.status).unwrap_or(StatusCode::FORBIDDEN);
            Err((status, reject.body))
        }
        Err(_) => Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            "the acceptance hook failed\n".to_string(),
        )),
    }
}

async fn dispatch(shared: Arc<Shared>, req: Request<ReqBody>, peer: SocketAddr) -> Response<Body> {
    let path = req.uri().path().to_string();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if req.method() == Method::OPTIONS {
        return full(StatusCode::NO_CONTENT, "text/plain", Bytes::new());
    }
    if parts == ["healthz"] {
        return full(StatusCode::OK, "text/plain", "ok\n");
    }
    if let Some(page) = shared.opts.pages.iter().find(|p| p.path == path) {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here");
        }
        let mut r = full(StatusCode::OK, "text/plain", page.body.clone());
        if let Ok(v) = HeaderValue::from_str(&page.content_type) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        return r;
    }
    if let Some(route) = shared
        .opts
        .routes
        .iter()
        .find(|r| r.matches(&path))
        .cloned()
    {
        if route.engineio {
            return super::engineio::request(shared, req, route, peer).await;
        }
        // A session's requests carry its id, which the token and the
        // acceptance hook admitted when it opened: that is their credential.
        if let Some(sid) = query(&req, "sid") {
            return session_request(shared, req, &route.path, &sid).await;
        }
        if !authorized(&shared, &req) {
            let mut r = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
        if req.method() != Method::GET {
            return error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here");
        }
        if wants_negotiate(&req) && query(&req, "transport").is_none() {
            return route_negotiate(&route.path);
        }
        let down = match query(&req, "transport") {
            _ if req.headers().contains_key(header::UPGRADE) => None,
            None => None,
            Some(t) => match http_session::Down::from_query(&t) {
                Some(d) => Some(d),
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "transport must be sse, stream or poll (or upgrade to WebSocket)",
                    )
                }
            },
        };
        let request = match admit(&shared, &req, peer).await {
            Ok(r) => r,
            Err(refusal) => return refusal,
        };
        return match down {
            Some(down) => open_session(shared, route, request, down),
            None => ws::accept_route(shared, req, route, request),
        };
    }
    let [kind, channel] = parts[..] else {
        return error(
            StatusCode::NOT_FOUND,
            "not found: see the server's documented paths",
        );
    };
    if !valid_channel(channel) {
        return error(
            StatusCode::BAD_REQUEST,
            "channel names are 1-128 characters of A-Z a-z 0-9 . _ -",
        );
    }
    if !authorized(&shared, &req) {
        let mut r = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    if let Err(refusal) = admit(&shared, &req, peer).await {
        return refusal;
    }
    // `Upgrade: websocket` anywhere but /ws is refused plainly.
    if kind != "ws" && req.headers().contains_key(header::UPGRADE) {
        return error(StatusCode::BAD_REQUEST, "this endpoint does not upgrade");
    }
    match (req.method(), kind) {
        (&Method::GET, "ws") => ws::accept(shared, req, channel.to_string(), peer),
        (&Method::GET, "sse") => sse(shared, &req, channel, peer),
        (&Method::GET, "poll") => poll(shared, &req, channel).await,
        (&Method::GET, "stream") => stream(shared, &req, channel, peer),
        (&Method::GET, "latest") => latest(&shared, &req, channel),
        (&Method::POST, "publish") => publish(shared, req, channel.to_string()).await,
        (&Method::GET, "negotiate") => negotiate(&shared, channel),
        (_, "ws" | "sse" | "poll" | "stream" | "latest" | "publish" | "negotiate") => {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here")
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "not found: see the server's documented paths",
        ),
    }
}

/// Opens a route connection over HTTP (see `http_session`) and runs it.
fn open_session(
    shared: Arc<Shared>,
    route: super::app::Route,
    request: super::Request,
    down: http_session::Down,
) -> Response<Body> {
    let guard = ConnGuard::new(&shared, request.peer);
    let (session, first, resp) = match down {
        http_session::Down::Poll => {
            let (session, first) = http_session::open(&shared, &route.path, down, None);
            let mut r = full(StatusCode::OK, "application/json", first);
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Ok(v) = HeaderValue::from_str(&session.send_path()) {
                r.headers_mut().insert("rtwire-send", v);
            }
            (session, None, r)
        }
        _ => {
            let ctype = if down == http_session::Down::Sse {
                "text/event-stream"
            } else {
                "application/x-ndjson"
            };
            let (tx, mut resp) = streaming(ctype);
            let (session, first) = http_session::open(&shared, &route.path, down, Some(tx.clone()));
            // Where to send, for clients that read headers before the body.
            if let Ok(v) = HeaderValue::from_str(&session.send_path()) {
                resp.headers_mut().insert("rtwire-send", v);
            }
            (session, Some((tx, first)), resp)
        }
    };
    tokio::spawn(async move {
        let _guard = guard;
        if let Some((tx, first)) = first {
            if tx.send(first).await.is_err() {
                return;
            }
        }
        let carrier = super::app::Carrier::Http(session);
        super::app::run(route, request, carrier, shared.clone()).await;
    });
    resp
}

/// A request of an open HTTP session: a message (`POST`) or a poll.
async fn session_request(
    shared: Arc<Shared>,
    req: Request<ReqBody>,
    route: &str,
    sid: &str,
) -> Response<Body> {
    use http_session::Miss;
    let gone = || error(StatusCode::NOT_FOUND, "no such session (it is over)");
    if req.method() == Method::POST {
        let data = match body_message(&shared, req).await {
            Ok(d) => d,
            Err(r) => return r,
        };
        return match shared.sessions.send(route, sid, data) {
            Ok(()) => full(StatusCode::NO_CONTENT, "text/plain", Bytes::new()),
            Err(Miss::Gone) => gone(),
            Err(Miss::Busy) => {
                let mut r = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "the application is behind; send again later",
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
        };
    }
    if req.method() != Method::GET || query(&req, "transport").as_deref() != Some("poll") {
        return error(
            StatusCode::BAD_REQUEST,
            "a session takes POST (a message) or GET ?transport=poll",
        );
    }
    let Some(wait) = hold(&shared, &req) else {
        return bad_wait();
    };
    let answer = match shared.sessions.poll(route, sid, wait) {
        Ok(rx) => rx,
        Err(_) => return gone(),
    };
    match tokio::time::timeout(wait + Duration::from_secs(5), answer).await {
        Ok(Ok(body)) => {
            let mut r = full(StatusCode::OK, "application/json", body);
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        _ => gone(),
    }
}

/// Runs a long-lived stream for one subscriber: the notices and replay,
/// then live entries and heartbeats, until the client goes, falls too far
/// behind (it then resumes from history), or the server stops.
fn spawn_feed(
    shared: Arc<Shared>,
    mut sub: Subscription,
    tx: mpsc::Sender<Bytes>,
    first: Bytes,
    encode_entry: fn(&Entry) -> Bytes,
    heartbeat: Bytes,
    presence: Presence,
) {
    // Watched from before the response goes out: a cut right after the
    // client sees the headers still ends this stream.
    let mut cut = shared.cut.subscribe();
    tokio::spawn(async move {
        let _presence = presence;
        let mut stop = shared.stop.clone();
        // A client that stops reading fills the small body channel; every
        // write then waits at most a ping interval and gives way to
        // shutdown and cuts, so the task never hangs.
        let limit = shared.opts.ping_interval;
        macro_rules! put {
            ($bytes:expr) => {
                tokio::select! {
                    biased;
                    _ = stop.changed() => return,
                    _ = cut.changed() => return,
                    r = tokio::time::timeout(limit, tx.send($bytes)) => {
                        if !matches!(r, Ok(Ok(()))) {
                            return;
                        }
                    }
                }
            };
        }
        put!(first);
        for e in std::mem::take(&mut sub.replay.entries) {
            put!(encode_entry(&e));
        }
        let mut beat = tokio::time::interval(shared.opts.heartbeat);
        beat.tick().await;
        loop {
            tokio::select! {
                // Shutdown and cuts win over pending traffic.
                biased;
                _ = stop.changed() => return,
                _ = cut.changed() => return,
                e = sub.live.recv() => match e {
                    Ok(e) => {
                        // Everything already published goes out in one
                        // chunk (one write) rather than one per message.
                        let mut batch = BytesMut::from(&encode_entry(&e)[..]);
                        while batch.len() < 64 << 10 {
                            match sub.live.try_recv() {
                                Ok(e) => batch.extend_from_slice(&encode_entry(&e)),
                                // Too slow: the client resumes from history.
                                Err(broadcast::error::TryRecvError::Lagged(_)) => return,
                                Err(_) => break,
                            }
                        }
                        put!(batch.freeze());
                    }
                    // Too slow: end the response; the client resumes from
                    // history with its last id.
                    Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = beat.tick() => put!(heartbeat.clone()),
                _ = tx.closed() => return,
            }
        }
    });
}

fn sse_bytes(e: &Entry) -> Bytes {
    let mut out = BytesMut::new();
    encode::sse_entry(&mut out, e);
    out.freeze()
}

fn sse(
    shared: Arc<Shared>,
    req: &Request<ReqBody>,
    channel: &str,
    peer: SocketAddr,
) -> Response<Body> {
    let given = cursor(req);
    let sub = shared.hub.subscribe(channel, given.as_deref());
    let mut first = BytesMut::from(&b": rtwire\n\n"[..]);
    if given.is_none() {
        // An id with no data moves the client's Last-Event-ID to where the
        // channel is (the standard updates it without dispatching), so a
        // cut before the first message still resumes without loss.
        let head = sub
            .head
            .clone()
            .unwrap_or_else(|| format!("{}-0", shared.hub.epoch()));
        first.extend_from_slice(format!("id: {head}\n\n").as_bytes());
    }
    if sub.replay.reset {
        encode::sse_event(
            &mut first,
            None,
            Some(encode::SSE_RESET),
            "{\"reset\":true}",
        );
    }
    if sub.replay.missed > 0 {
        let data = format!("{{\"missed\":{}}}", sub.replay.missed);
        encode::sse_event(&mut first, None, Some(encode::SSE_MISSED), &data);
    }
    let (tx, resp) = streaming("text/event-stream");
    let presence = Presence::new(&shared, "sse", channel, peer);
    spawn_feed(
        shared,
        sub,
        tx,
        first.freeze(),
        sse_bytes,
        Bytes::from_static(b": hb\n\n"),
        presence,
    );
    resp
}

fn ndjson_bytes(e: &Entry) -> Bytes {
    encode::ndjson(&encode::json_entry(e))
}

fn stream(
    shared: Arc<Shared>,
    req: &Request<ReqBody>,
    channel: &str,
    peer: SocketAddr,
) -> Response<Body> {
    let sub = shared.hub.subscribe(channel, cursor(req).as_deref());
    let mut first = BytesMut::new();
    if sub.replay.reset {
        first.extend_from_slice(&encode::ndjson(&json!({"reset": true})));
    }
    if sub.replay.missed > 0 {
        first.extend_from_slice(&encode::ndjson(&json!({"missed": sub.replay.missed})));
    }
    let (tx, resp) = streaming("application/x-ndjson");
    let presence = Presence::new(&shared, "stream", channel, peer);
    spawn_feed(
        shared,
        sub,
        tx,
        first.freeze(),
        ndjson_bytes,
        Bytes::from_static(b"\n"),
        presence,
    );
    resp
}

/// A long-poll answer: the messages, the cursor to send next, and notices.
fn poll_answer(
    entries: &[Arc<Entry>],
    cursor: Option<String>,
    reset: bool,
    missed: u64,
) -> Response<Body> {
    let messages: Vec<_> = entries
        .iter()
        .map(|e| match &e.data {
            Data::Text(t) => json!(t.as_str()),
            Data::Binary(_) => encode::json_entry(e),
        })
        .collect();
    let next = entries.last().map(|e| e.id.clone()).or(cursor);
    let body = json!({"cursor": next, "messages": messages, "reset": reset, "missed": missed});
    let mut r = json_response(StatusCode::OK, &body);
    let h = r.headers_mut();
    if let Some(c) = next.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
        h.insert("x-rtwire-cursor", c);
    }
    if reset {
        h.insert("x-rtwire-reset", HeaderValue::from_static("1"));
    }
    if missed > 0 {
        h.insert("x-rtwire-missed", HeaderValue::from(missed));
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// How long a poll may be held: `?wait=SECONDS`, at most (and by default)
/// the server's `long_poll_hold`; a bad value is answered 400.
fn hold(shared: &Shared, req: &Request<ReqBody>) -> Option<Duration> {
    match query(req, "wait") {
        None => Some(shared.opts.long_poll_hold),
        Some(w) => match w.parse::<f64>() {
            Ok(s) if s.is_finite() && s >= 0.0 => {
                Some(Duration::from_secs_f64(s).min(shared.opts.long_poll_hold))
            }
            _ => None,
        },
    }
}

fn bad_wait() -> Response<Body> {
    error(
        StatusCode::BAD_REQUEST,
        "wait must be a number of seconds >= 0",
    )
}

async fn poll(shared: Arc<Shared>, req: &Request<ReqBody>, channel: &str) -> Response<Body> {
    let Some(wait) = hold(&shared, req) else {
        return bad_wait();
    };
    let given = cursor(req);
    let mut sub = shared.hub.subscribe(channel, given.as_deref());
    let r = std::mem::take(&mut sub.replay);
    // No cursor: the answer is where the channel is now.
    let here = given
        .clone()
        .or_else(|| sub.head.clone())
        .or_else(|| Some(format!("{}-0", shared.hub.epoch())));
    if !r.entries.is_empty() || r.reset || r.missed > 0 || given.is_none() || wait.is_zero() {
        return poll_answer(&r.entries, here, r.reset, r.missed);
    }
    let mut stop = shared.stop.clone();
    let mut cut = shared.cut.subscribe();
    tokio::select! {
        biased;
        _ = cut.changed() => full(StatusCode::NO_CONTENT, "text/plain", Bytes::new()),
        e = sub.live.recv() => match e {
            Ok(first) => {
                let mut entries = vec![first];
                while let Ok(e) = sub.live.try_recv() {
                    entries.push(e);
                    if entries.len() >= 1000 { break; }
                }
                poll_answer(&entries, here, false, 0)
            }
            // Fell behind while held: the next poll replays from history.
            Err(_) => full(StatusCode::NO_CONTENT, "text/plain", Bytes::new()),
        },
        _ = tokio::time::sleep(wait) => full(StatusCode::NO_CONTENT, "text/plain", Bytes::new()),
        _ = stop.changed() => full(StatusCode::NO_CONTENT, "text/plain", Bytes::new()),
    }
}

fn latest(shared: &Shared, req: &Request<ReqBody>, channel: &str) -> Response<Body> {
    let Some(entry) = shared.hub.latest(channel) else {
        return full(StatusCode::NO_CONTENT, "text/plain", Bytes::new());
    };
    let etag = format!("\"{}\"", entry.id);
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut r = if matches {
        full(StatusCode::NOT_MODIFIED, "text/plain", Bytes::new())
    } else {
        match &entry.data {
            Data::Text(t) => full(
                StatusCode::OK,
                "text/plain; charset=utf-8",
                t.clone().into_bytes(),
            ),
            Data::Binary(b) => full(StatusCode::OK, "application/octet-stream", b.clone()),
        }
    };
    let h = r.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("ids are header-safe"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// How a published body is taken, by its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    /// `text/*`, JSON: must be UTF-8.
    Text,
    /// `application/octet-stream`, `image/*`, `audio/*`, `video/*`, and
    /// other binary formats: bytes as sent.
    Binary,
    /// None, or a form or anything else: text when it is valid UTF-8 (what
    /// `curl -d` sends), else bytes.
    Sniff,
}

fn body_kind(content_type: Option<&str>) -> BodyKind {
    let Some(ct) = content_type else {
        return BodyKind::Sniff;
    };
    let ct = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if ct.starts_with("text/") || ct == "application/json" || ct.ends_with("+json") {
        BodyKind::Text
    } else if ct == "application/octet-stream"
        || ["image/", "audio/", "video/", "font/"]
            .iter()
            .any(|p| ct.starts_with(p))
        || [
            "application/pdf",
            "application/zip",
            "application/gzip",
            "application/cbor",
            "application/msgpack",
            "application/x-msgpack",
            "application/protobuf",
            "application/x-protobuf",
        ]
        .contains(&ct.as_str())
    {
        BodyKind::Binary
    } else {
        BodyKind::Sniff
    }
}

/// The message a request's body carries: text when valid UTF-8 unless its
/// `Content-Type` says binary (see `body_kind`), at most
/// `max_message_size`; or the refusal.
async fn body_message(shared: &Shared, req: Request<ReqBody>) -> Result<Data, Response<Body>> {
    let kind = body_kind(
        req.headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    let limit = shared.opts.max_message_size;
    let body = match Limited::new(req.into_body(), limit).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("message over the limit of {limit} bytes"),
            ))
        }
    };
    Ok(match kind {
        BodyKind::Binary => Data::Binary(body),
        BodyKind::Text => match Text::from_utf8(body) {
            Ok(t) => Data::Text(t),
            Err(_) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "text body is not valid UTF-8",
                ))
            }
        },
        BodyKind::Sniff => match Text::from_utf8(body) {
            Ok(t) => Data::Text(t),
            Err(b) => Data::Binary(b),
        },
    })
}

async fn publish(shared: Arc<Shared>, req: Request<ReqBody>, channel: String) -> Response<Body> {
    let data = match body_message(&shared, req).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let id = shared.publish(&channel, data);
    json_response(StatusCode::OK, &json!({"id": id}))
}

/// Whether a plain GET asks for the negotiate document (`transport=auto`
/// clients do).
fn wants_negotiate(req: &Request<ReqBody>) -> bool {
    !req.headers().contains_key(header::UPGRADE)
        && req
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains(NEGOTIATE_TYPE))
}

const NEGOTIATE_TYPE: &str = "application/vnd.rtwire.negotiate+json";

/// The transports of an application route, in the order to try them:
/// WebSocket, then SSE, then long polling, with POST up. `"session": true` says that the
/// client keeps its own URL (query included) and that SSE names where to
/// send (`rtwire.session`).
fn route_negotiate(path: &str) -> Response<Body> {
    let body = json!({
        "route": path,
        "transports": [
            {"transport": "websocket", "url": path, "session": true},
            {"transport": "sse", "url": format!("{path}?transport=sse"), "session": true},
            {"transport": "long_poll", "url": format!("{path}?transport=poll"), "session": true},
        ],
    });
    full(
        StatusCode::OK,
        NEGOTIATE_TYPE,
        serde_json::to_vec(&body).expect("JSON"),
    )
}

fn negotiate(shared: &Shared, channel: &str) -> Response<Body> {
    let body = json!({
        "channel": channel,
        "epoch": shared.hub.epoch(),
        "transports": [
            {"transport": "websocket", "url": format!("/ws/{channel}")},
            {"transport": "sse", "url": format!("/sse/{channel}"), "send_url": format!("/publish/{channel}")},
            {"transport": "long_poll", "url": format!("/poll/{channel}"), "send_url": format!("/publish/{channel}")},
            {"transport": "stream", "url": format!("/stream/{channel}"), "send_url": format!("/publish/{channel}")},
            {"transport": "poll", "url": format!("/latest/{channel}"), "send_url": format!("/publish/{channel}")},
        ],
    });
    full(
        StatusCode::OK,
        NEGOTIATE_TYPE,
        serde_json::to_vec(&body).expect("JSON"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare_is_exact() {
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secret", b"secreT"));
        assert!(!same(b"secret", b"secret2"));
        assert!(!same(b"", b"x"));
        assert!(same(b"", b""));
    }

    #[test]
    fn published_bodies_are_text_unless_declared_binary() {
        assert_eq!(body_kind(None), BodyKind::Sniff);
        assert_eq!(
            body_kind(Some("application/x-www-form-urlencoded")),
            BodyKind::Sniff
        );
        assert_eq!(body_kind(Some("text/plain; charset=utf-8")), BodyKind::Text);
        assert_eq!(body_kind(Some("application/ld+json")), BodyKind::Text);
        assert_eq!(
            body_kind(Some("Application/Octet-Stream")),
            BodyKind::Binary
        );
        assert_eq!(body_kind(Some("image/png")), BodyKind::Binary);
    }

    #[test]
    fn channel_names_are_restricted() {
        assert!(valid_channel("chat.room-1_a"));
        for bad in ["", "a/b", "a b", "ä", &"x".repeat(129)] {
            assert!(!valid_channel(bad), "{bad:?}");
        }
    }
}
