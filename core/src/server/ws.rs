//! The server's WebSocket endpoint: a validated upgrade (RFC 6455 §4.2),
//! then one task per client that forwards the channel in coalesced writes,
//! publishes what the client sends, pings, and cuts off a client that falls
//! too far behind (close 1008), stops reading or stops answering; a client
//! that sends an oversize message gets close 1009, invalid UTF-8 1007, a
//! protocol violation 1002.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::{broadcast, watch};
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

use crate::message::{Data, Text};
use crate::proto::frame::{Incoming, OpCode, Role};
use crate::proto::ws::{Due, Liveness};
use crate::server::app::{Request as AppRequest, Route};
use crate::server::hub::{Entry, Subscription};
use crate::server::routes::ReqBody;
use crate::server::routes::{error, Body};
use crate::server::{ConnGuard, Presence, Shared};
use crate::transport::frames::{Frames, ReadError};

fn has_token(req: &Request<ReqBody>, name: header::HeaderName, token: &str) -> bool {
    req.headers().get_all(name).iter().any(|v| {
        v.to_str()
            .map(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
            .unwrap_or(false)
    })
}

/// Checks an upgrade request (RFC 6455 §4.2.1) and the origin policy: the
/// client's key, or the plain refusal to answer with (rare: its size does
/// not matter).
#[allow(clippy::result_large_err)]
fn check_upgrade(shared: &Shared, req: &Request<ReqBody>) -> Result<HeaderValue, Response<Body>> {
    if !has_token(req, header::UPGRADE, "websocket")
        || !has_token(req, header::CONNECTION, "upgrade")
    {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "expected a WebSocket upgrade request",
        ));
    }
    if req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        let mut r = error(
            StatusCode::UPGRADE_REQUIRED,
            "only WebSocket version 13 is supported",
        );
        r.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return Err(r);
    }
    let key = match req.headers().get(header::SEC_WEBSOCKET_KEY) {
        Some(k)
            if base64::engine::general_purpose::STANDARD
                .decode(k.as_bytes())
                .is_ok_and(|b| b.len() == 16) =>
        {
            k.clone()
        }
        _ => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "missing or malformed Sec-WebSocket-Key",
            ))
        }
    };
    if let Some(allowed) = &shared.opts.allowed_origins {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok());
        if !origin.is_some_and(|o| allowed.iter().any(|a| a == o)) {
            return Err(error(StatusCode::FORBIDDEN, "origin not allowed"));
        }
    }
    Ok(key)
}

/// The permessage-deflate to answer an upgrade with: the response header's
/// value and what it negotiates, when the server accepts compression and
/// the client offered it acceptably.
fn negotiate_deflate(shared: &Shared, req: &Request<ReqBody>) -> Option<DeflateTerms> {
    if !shared.opts.permessage_deflate {
        return None;
    }
    let offers = req
        .headers()
        .get_all(header::SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .filter_map(|v| v.to_str().ok());
    crate::proto::deflate::server_accept(offers, shared.opts.deflate_threshold)
}

/// An accepted permessage-deflate: the response header's value and what it
/// negotiates.
pub(crate) type DeflateTerms = (String, crate::proto::deflate::Params);

/// What every WebSocket upgrade of the server checks and negotiates
/// first: the client's key and the permessage-deflate to answer with, or
/// the refusal.
#[allow(clippy::result_large_err)]
pub(crate) fn upgrade_terms(
    shared: &Shared,
    req: &Request<ReqBody>,
) -> Result<(HeaderValue, Option<DeflateTerms>), Response<Body>> {
    let key = check_upgrade(shared, req)?;
    Ok((key, negotiate_deflate(shared, req)))
}

/// The 101 answer to an upgrade with `key`, naming `protocol` if one was
/// chosen and the extensions accepted.
pub(crate) fn switching(
    key: &HeaderValue,
    protocol: Option<&str>,
    extensions: Option<&str>,
) -> Response<Body> {
    let accept = derive_accept_key(key.as_bytes());
    let mut r = Response::new(http_body_util::BodyExt::boxed(http_body_util::Empty::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
    );
    if let Some(p) = protocol.and_then(|p| HeaderValue::from_str(p).ok()) {
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, p);
    }
    if let Some(e) = extensions.and_then(|e| HeaderValue::from_str(e).ok()) {
        h.insert(header::SEC_WEBSOCKET_EXTENSIONS, e);
    }
    r
}

/// The subprotocols a request offers, in its order.
fn offered_protocols(req: &Request<ReqBody>) -> Vec<String> {
    req.headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Upgrades a request for an application route: the route's handler gets
/// the connection.
pub(crate) fn accept_route(
    shared: Arc<Shared>,
    req: Request<ReqBody>,
    route: Route,
    request: AppRequest,
) -> Response<Body> {
    let (key, deflate) = match upgrade_terms(&shared, &req) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let protocol = route.choose(&offered_protocols(&req));
    let params = deflate.as_ref().map(|(_, p)| *p);
    let request = AppRequest {
        protocol: protocol.clone(),
        ..request
    };
    let upgrade = hyper::upgrade::on(req);
    let guard = ConnGuard::new(&shared, request.peer);
    tokio::spawn(async move {
        let _guard = guard;
        let Ok(upgraded) = upgrade.await else { return };
        let session = crate::transport::ws::WsSession::accepted(
            Box::new(TokioIo::new(upgraded)),
            &shared.session_options,
            params,
        );
        let session = super::app::Carrier::Ws(session);
        super::app::run(route, request, session, shared.clone()).await;
    });
    let extensions = deflate.map(|(e, _)| e);
    switching(&key, protocol.as_deref(), extensions.as_deref())
}

/// Validates the upgrade request and answers 101, or refuses it plainly.
pub(crate) fn accept(
    shared: Arc<Shared>,
    req: Request<ReqBody>,
    channel: String,
    peer: std::net::SocketAddr,
) -> Response<Body> {
    let (key, deflate) = match upgrade_terms(&shared, &req) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let cursor = url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.into_owned())
        .filter(|c| !c.is_empty());
    let framed = has_token(&req, header::SEC_WEBSOCKET_PROTOCOL, PROTOCOL);
    let params = deflate.as_ref().map(|(_, p)| *p);
    let sub = shared.hub.subscribe(&channel, cursor.as_deref());
    // Watched from before the 101: a cut right after the client sees the
    // upgrade still drops this session.
    let cut = shared.cut.subscribe();
    let upgrade = hyper::upgrade::on(req);
    // The HTTP connection ends when it upgrades; the session counts itself.
    let guard = ConnGuard::new(&shared, peer);
    let presence = Presence::new(&shared, "websocket", &channel, peer);
    tokio::spawn(async move {
        let _guard = guard;
        let _presence = presence;
        let Ok(upgraded) = upgrade.await else { return };
        let ws = Frames::new(
            TokioIo::new(upgraded),
            Role::Server,
            bytes::BytesMut::new(),
            shared.opts.max_message_size,
            shared.opts.max_message_size,
            8192,
        )
        .with_deflate(params);
        let resumed = cursor.is_some();
        session(shared, ws, channel, sub, cut, Mode { framed, resumed }).await;
    });
    let extensions = deflate.map(|(e, _)| e);
    switching(&key, framed.then_some(PROTOCOL), extensions.as_deref())
}

/// The subprotocol under which messages carry their ids.
pub(crate) const PROTOCOL: &str = "rtwire.v1";

/// How a session talks to its client.
#[derive(Debug, Clone, Copy)]
struct Mode {
    /// `rtwire.v1`: ids before payloads, notices as `!name\n`.
    framed: bool,
    /// The client came with a cursor.
    resumed: bool,
}

/// Queues one published message: its payload as published, or with its
/// id before it (`rtwire.v1`). The payload is shared, not copied.
fn feed(ws: &mut Ws, e: &Entry, framed: bool) {
    let op = if e.data.is_text() {
        OpCode::Text
    } else {
        OpCode::Binary
    };
    let plain = match (&e.data, framed) {
        (_, true) => e.framed(),
        (Data::Text(t), false) => t.bytes(),
        (Data::Binary(b), false) => b,
    };
    // Compressed once for every subscriber that negotiated deflate.
    ws.feed_compressed(op, plain, || e.compressed(framed).cloned());
}

type Ws = Frames<TokioIo<hyper::upgrade::Upgraded>>;

/// How a forwarded batch ended.
enum Forwarded {
    /// Written and flushed.
    Done,
    /// The subscriber fell this many messages behind mid-batch.
    Lagged(u64),
}

/// Writes `first` and whatever else is already queued (up to 256 more) in
/// one flush.
async fn forward(
    ws: &mut Ws,
    live: &mut broadcast::Receiver<Arc<Entry>>,
    first: &Entry,
    framed: bool,
) -> std::io::Result<Forwarded> {
    feed(ws, first, framed);
    let mut lagged = None;
    for _ in 0..256 {
        match live.try_recv() {
            Ok(e) => feed(ws, &e, framed),
            Err(broadcast::error::TryRecvError::Lagged(n)) => {
                lagged = Some(n);
                break;
            }
            Err(_) => break,
        }
    }
    ws.flush().await?;
    Ok(lagged.map_or(Forwarded::Done, Forwarded::Lagged))
}

/// Sends a close frame, then reads (bounded) until the client's reply or
/// the end of the stream, and drops the connection.
async fn close(ws: &mut Ws, code: u16, reason: &str) {
    ws.feed_close(code, reason);
    let _ = timeout(Duration::from_secs(2), ws.flush()).await;
    let _ = timeout(Duration::from_secs(2), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

async fn session(
    shared: Arc<Shared>,
    mut ws: Ws,
    channel: String,
    mut sub: Subscription,
    mut cut: watch::Receiver<u64>,
    mode: Mode,
) {
    let write_limit = shared.opts.ping_interval;
    let framed = mode.framed;
    if mode.resumed {
        let missed = sub.replay.missed;
        let notice = match (sub.replay.reset, framed) {
            (true, true) => Some("!reset\n".to_string()),
            (true, false) => Some("{\"rtwire\":\"reset\"}".to_string()),
            (false, true) if missed > 0 => Some(format!("!missed\n{missed}")),
            (false, false) if missed > 0 => {
                Some(format!("{{\"rtwire\":\"missed\",\"missed\":{missed}}}"))
            }
            _ => None,
        };
        if let Some(n) = notice {
            ws.feed(&Data::Text(Text::from(n)));
        }
        for e in std::mem::take(&mut sub.replay.entries) {
            feed(&mut ws, &e, framed);
        }
        if timeout(write_limit, ws.flush())
            .await
            .map_or(true, |r| r.is_err())
        {
            return;
        }
    }
    if framed && !mode.resumed {
        // Where the channel is now: a client cut before its first message
        // resumes from here.
        let head = sub
            .head
            .clone()
            .unwrap_or_else(|| format!("{}-0", shared.hub.epoch()));
        let at = Data::Text(Text::from(format!("!at\n{head}")));
        let sent = timeout(write_limit, ws.send(&at)).await;
        if sent.map_or(true, |r| r.is_err()) {
            return;
        }
    }
    let mut stop = shared.stop.clone();
    // A client silent for an interval is pinged, and dead when silent for
    // another.
    let iv = shared.opts.ping_interval;
    let now = || Instant::now().into_std();
    let mut live = Liveness::new(now(), Some(iv), iv, Duration::from_secs(2));
    loop {
        let deadline = Instant::from_std(live.deadline().expect("pings are on"));
        tokio::select! {
            // Shutdown and cuts win over pending traffic.
            biased;
            _ = stop.changed() => {
                close(&mut ws, 1001, "server shutting down").await;
                return;
            }
            _ = cut.changed() => return, // dropped, no close frame
            e = sub.live.recv() => match e {
                Ok(e) => {
                    // The whole batch, not only the flush, is bounded: a
                    // client that stops reading blocks `feed` as soon as the
                    // socket and write buffer are full.
                    match timeout(write_limit, forward(&mut ws, &mut sub.live, &e, framed)).await {
                        Ok(Ok(Forwarded::Done)) => {}
                        Ok(Ok(Forwarded::Lagged(n))) => {
                            close(&mut ws, 1008, &format!("consumer too slow: {n} messages behind")).await;
                            return;
                        }
                        Ok(Err(_)) | Err(_) => return,
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    close(&mut ws, 1008, &format!("consumer too slow: {n} messages behind")).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            m = ws.next() => {
                live.heard();
                let data = match m {
                    Some(Ok(Incoming::Message(d))) => d,
                    Some(Ok(Incoming::Close(_))) => {
                        // The reply is queued: write it, then drop.
                        let _ = timeout(Duration::from_secs(2), ws.flush()).await;
                        return;
                    }
                    Some(Ok(Incoming::Ping(_))) => {
                        // Its pong is queued.
                        if timeout(write_limit, ws.flush()).await.map_or(true, |r| r.is_err()) {
                            return;
                        }
                        continue;
                    }
                    Some(Ok(Incoming::Pong(_))) => continue,
                    Some(Err(ReadError::Fault(f))) => {
                        // Tell the client why (RFC 6455 §7.4.1).
                        close(&mut ws, f.close_code(), f.reason()).await;
                        return;
                    }
                    Some(Err(ReadError::Io(_))) | None => return,
                };
                let handler = shared.handler.read().expect("handler lock").clone();
                let out = match handler {
                    Some(h) => h(&channel, data),
                    None => Some(data),
                };
                if let Some(d) = out {
                    shared.publish(&channel, d);
                }
            }
            _ = tokio::time::sleep_until(deadline) => match live.on_deadline(now()) {
                Due::Nothing => {}
                Due::Ping => {
                    ws.feed_ping(&Bytes::new());
                    if timeout(write_limit, ws.flush()).await.map_or(true, |r| r.is_err()) {
                        return;
                    }
                }
                // Silent for a whole interval after a ping: dead.
                Due::Dead | Due::CloseWaitOver => return,
            },
        }
    }
}
