//! The server's WebSocket endpoint: a validated upgrade (RFC 6455 §4.2),
//! then one task per client that forwards the channel in coalesced writes,
//! publishes what the client sends, pings, and cuts off a client that falls
//! too far behind (close 1008) or stops answering.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::broadcast;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{
    frame::coding::CloseCode, CloseFrame, Role, WebSocketConfig,
};
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::message::{Data, Text};
use crate::server::hub::{Entry, Subscription};
use crate::server::routes::{error, Body};
use crate::server::{ConnGuard, Presence, Shared};

fn has_token(req: &Request<Incoming>, name: header::HeaderName, token: &str) -> bool {
    req.headers().get_all(name).iter().any(|v| {
        v.to_str()
            .map(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
            .unwrap_or(false)
    })
}

/// Validates the upgrade request and answers 101, or refuses it plainly.
pub(crate) fn accept(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    channel: String,
    peer: std::net::SocketAddr,
) -> Response<Body> {
    if !has_token(&req, header::UPGRADE, "websocket")
        || !has_token(&req, header::CONNECTION, "upgrade")
    {
        return error(
            StatusCode::BAD_REQUEST,
            "expected a WebSocket upgrade request",
        );
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
        return r;
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
            return error(
                StatusCode::BAD_REQUEST,
                "missing or malformed Sec-WebSocket-Key",
            )
        }
    };
    if let Some(allowed) = &shared.opts.allowed_origins {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok());
        if !origin.is_some_and(|o| allowed.iter().any(|a| a == o)) {
            return error(StatusCode::FORBIDDEN, "origin not allowed");
        }
    }
    let cursor = url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.into_owned())
        .filter(|c| !c.is_empty());
    let framed = has_token(&req, header::SEC_WEBSOCKET_PROTOCOL, PROTOCOL);
    let sub = shared.hub.subscribe(&channel, cursor.as_deref());
    let accept = derive_accept_key(key.as_bytes());
    let upgrade = hyper::upgrade::on(req);
    // The HTTP connection ends when it upgrades; the session counts itself.
    let guard = ConnGuard::new(&shared);
    let presence = Presence::new(&shared, "websocket", &channel, peer);
    tokio::spawn(async move {
        let _guard = guard;
        let _presence = presence;
        let Ok(upgraded) = upgrade.await else { return };
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(16 << 10)
            .max_message_size(Some(shared.opts.max_message_size))
            .max_frame_size(Some(shared.opts.max_message_size));
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        let resumed = cursor.is_some();
        session(shared, ws, channel, sub, Mode { framed, resumed }).await;
    });
    let mut r = Response::new(http_body_util::BodyExt::boxed(http_body_util::Empty::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(&accept).expect("base64 is a valid header value"),
    );
    if framed {
        h.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(PROTOCOL),
        );
    }
    r
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

fn to_ws(e: &Entry, framed: bool) -> WsMessage {
    // SAFETY (both text arms): `Text` is always valid UTF-8, and so is an
    // ASCII id, a line feed and a text.
    match (&e.data, framed) {
        (Data::Text(t), false) => {
            WsMessage::Text(unsafe { Utf8Bytes::from_bytes_unchecked(t.clone().into_bytes()) })
        }
        (Data::Text(_), true) => {
            WsMessage::Text(unsafe { Utf8Bytes::from_bytes_unchecked(e.framed().clone()) })
        }
        (Data::Binary(b), false) => WsMessage::Binary(b.clone()),
        (Data::Binary(_), true) => WsMessage::Binary(e.framed().clone()),
    }
}

type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

async fn close(ws: &mut Ws, code: u16, reason: &str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    let _ = timeout(Duration::from_secs(2), ws.close(Some(frame))).await;
    // Read the reply (bounded), then drop the connection.
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
            if ws.feed(WsMessage::text(n)).await.is_err() {
                return;
            }
        }
        for e in std::mem::take(&mut sub.replay.entries) {
            if ws.feed(to_ws(&e, framed)).await.is_err() {
                return;
            }
        }
        if timeout(write_limit, ws.flush())
            .await
            .map_or(true, |r| r.is_err())
        {
            return;
        }
    }
    let mut stop = shared.stop.clone();
    let mut cut = shared.cut.subscribe();
    let mut last_heard = Instant::now();
    let mut ping_sent: Option<Instant> = None;
    loop {
        let deadline = match ping_sent {
            Some(t) => t + shared.opts.ping_interval,
            None => last_heard + shared.opts.ping_interval,
        };
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
                    let mut ok = ws.feed(to_ws(&e, framed)).await.is_ok();
                    let mut n = 0;
                    while ok && n < 256 {
                        match sub.live.try_recv() {
                            Ok(e) => ok = ws.feed(to_ws(&e, framed)).await.is_ok(),
                            Err(_) => break,
                        }
                        n += 1;
                    }
                    if !ok || timeout(write_limit, ws.flush()).await.map_or(true, |r| r.is_err()) {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    close(&mut ws, 1008, &format!("consumer too slow: {n} messages behind")).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            m = ws.next() => {
                last_heard = Instant::now();
                ping_sent = None;
                let data = match m {
                    Some(Ok(WsMessage::Text(t))) => {
                        // SAFETY: tungstenite validated the UTF-8.
                        Data::Text(unsafe { Text::from_utf8_unchecked(Bytes::from(t)) })
                    }
                    Some(Ok(WsMessage::Binary(b))) => Data::Binary(b),
                    Some(Ok(WsMessage::Close(_))) => {
                        let _ = timeout(Duration::from_secs(2), ws.flush()).await;
                        continue;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return,
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
            _ = tokio::time::sleep_until(deadline) => {
                if ping_sent.is_some() {
                    return; // silent for a whole interval after a ping: dead
                }
                ping_sent = Some(Instant::now());
                if timeout(write_limit, ws.send(WsMessage::Ping(Bytes::new()))).await.map_or(true, |r| r.is_err()) {
                    return;
                }
            }
        }
    }
}
