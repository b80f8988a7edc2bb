//! Application connections over HTTP: a route's clients that cannot (or
//! will not) upgrade to WebSocket get the same `Connection` over Server-Sent
//! Events, NDJSON streaming or long polling, sending with `POST`. The
//! handler never knows the difference.
//!
//! The wire protocol (documented in docs/server.md):
//!
//! - `GET {route}?transport=sse|stream|poll` opens a session (after the
//!   token and the acceptance hook, as an upgrade would). The server draws
//!   a session id (`sid`, 128 random bits in hex) and answers with it
//!   first: SSE event `rtwire.session` / the first NDJSON line / the first
//!   poll answer, `{"sid": "...", "send": "{route}?sid=..."}`.
//! - `POST {route}?sid=S` sends one message: the body, text when valid
//!   UTF-8 unless its `Content-Type` says binary (the rule of
//!   `/publish`); 204, or 404 for a session that is over, 413 over
//!   `max_message_size`, 429 while the handler is more than a queue behind.
//! - Downstream, text messages are SSE `data:` / NDJSON
//!   `{"data": "...", "binary": false}` / poll strings; binary ones SSE
//!   event `binary` / `"binary": true` with base64 data. Each poll
//!   (`GET {route}?transport=poll&sid=S[&wait=SECONDS]`) is held until there
//!   is something or `wait` (the server's `long_poll_hold`) passes, and
//!   answers `{"messages": [...]}`.
//! - The server's close is SSE event `rtwire.close` / NDJSON
//!   `{"close": {"code", "reason"}}` / `"close"` in a poll answer; then the
//!   response ends. A stream that ends, or no poll for `ping_interval`,
//!   ends the session (1006).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, ErrorKind};
use crate::event::{CloseInfo, Event};
use crate::message::{Data, Message};
use crate::options::Transport;
use crate::session::link::{Link, SessionEnd};

use super::encode;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Messages a session's clients may have sent ahead of the handler.
const UPSTREAM: usize = 64;

/// How a session's messages go down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Down {
    /// Server-Sent Events.
    Sse,
    /// NDJSON lines of one long response.
    Stream,
    /// One held request at a time.
    Poll,
}

impl Down {
    /// The kind the `transport` query parameter names.
    pub fn from_query(v: &str) -> Option<Down> {
        match v {
            "sse" => Some(Down::Sse),
            "stream" => Some(Down::Stream),
            "poll" | "long_poll" => Some(Down::Poll),
            _ => None,
        }
    }

    /// The transport the connection reports.
    pub fn transport(self) -> Transport {
        match self {
            Down::Sse => Transport::Sse,
            Down::Stream => Transport::Stream,
            Down::Poll => Transport::LongPoll,
        }
    }
}

/// A held poll: where its answer goes.
type PollSlot = oneshot::Sender<Bytes>;

/// What the routes keep of a live session.
#[derive(Debug, Clone)]
struct Entry {
    up: mpsc::Sender<Data>,
    polls: Option<mpsc::Sender<(PollSlot, Duration)>>,
}

/// Live sessions of one kind, by id, each tied to its route: what the
/// requests after the first find their session by.
#[derive(Debug)]
pub(crate) struct SessionMap<E> {
    map: Mutex<HashMap<String, (String, E)>>,
}

impl<E> Default for SessionMap<E> {
    fn default() -> Self {
        SessionMap {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<E: Clone> SessionMap<E> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, E)>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers session `sid` of `route`.
    pub fn insert(&self, sid: String, route: &str, entry: E) {
        self.lock().insert(sid, (route.to_string(), entry));
    }

    /// Session `sid`, if it is live and of `route`.
    pub fn get(&self, route: &str, sid: &str) -> Option<E> {
        match self.lock().get(sid) {
            Some((r, e)) if r == route => Some(e.clone()),
            _ => None,
        }
    }

    /// Forgets session `sid`.
    pub fn remove(&self, sid: &str) {
        self.lock().remove(sid);
    }
}

/// The live HTTP sessions of a server, by id.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    map: SessionMap<Entry>,
}

/// Why a message or poll found no session.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Miss {
    /// No such session (over, or never).
    Gone,
    /// The handler is a queue behind.
    Busy,
}

impl Sessions {
    /// Hands a POSTed message to session `sid` of `route`.
    pub fn send(&self, route: &str, sid: &str, data: Data) -> Result<(), Miss> {
        let up = self.map.get(route, sid).ok_or(Miss::Gone)?.up;
        up.try_send(data).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => Miss::Busy,
            mpsc::error::TrySendError::Closed(_) => Miss::Gone,
        })
    }

    /// Hands a poll of session `sid` of `route` to it; its answer comes on
    /// the returned receiver.
    pub fn poll(
        &self,
        route: &str,
        sid: &str,
        wait: Duration,
    ) -> Result<oneshot::Receiver<Bytes>, Miss> {
        let polls = self
            .map
            .get(route, sid)
            .and_then(|e| e.polls)
            .ok_or(Miss::Gone)?;
        let (tx, rx) = oneshot::channel();
        polls.try_send((tx, wait)).map_err(|_| Miss::Gone)?;
        Ok(rx)
    }

    fn remove(&self, sid: &str) {
        self.map.remove(sid);
    }
}

/// A session's downstream.
enum Downstream {
    /// A streaming response body (SSE or NDJSON).
    Body(mpsc::Sender<Bytes>),
    /// Held polls.
    Polls(mpsc::Receiver<(PollSlot, Duration)>),
}

/// One session, run by the route like a WebSocket session.
pub(crate) struct HttpSession {
    sid: String,
    route: String,
    down: Down,
    downstream: Downstream,
    up: mpsc::Receiver<Data>,
    sessions: Arc<super::Shared>,
    heartbeat: Duration,
    poll_gap: Duration,
}

/// A new session id: 128 random bits in hex.
pub(crate) fn new_sid() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// What the first answer tells the client.
fn hello(sid: &str, route: &str) -> serde_json::Value {
    json!({"sid": sid, "send": format!("{route}?sid={sid}")})
}

/// Opens a session of `route`: registers it and returns it with its first
/// answer (SSE and NDJSON: the first bytes of the body, which `body` then
/// carries; poll: the whole first answer).
pub(crate) fn open(
    shared: &Arc<super::Shared>,
    route: &str,
    down: Down,
    body: Option<mpsc::Sender<Bytes>>,
) -> (HttpSession, Bytes) {
    let sid = new_sid();
    let (up_tx, up_rx) = mpsc::channel(UPSTREAM);
    let hello = hello(&sid, route);
    let (downstream, polls, first) = match (down, body) {
        (Down::Sse | Down::Stream, Some(tx)) => {
            let mut first = BytesMut::new();
            if down == Down::Sse {
                encode::sse_event(&mut first, None, Some("rtwire.session"), &hello.to_string());
            } else {
                first.extend_from_slice(&encode::ndjson(&hello));
            }
            (Downstream::Body(tx), None, first.freeze())
        }
        _ => {
            let (tx, rx) = mpsc::channel(2);
            let mut answer = hello;
            answer["messages"] = json!([]);
            let first = Bytes::from(serde_json::to_vec(&answer).expect("JSON serializes"));
            (Downstream::Polls(rx), Some(tx), first)
        }
    };
    shared
        .sessions
        .map
        .insert(sid.clone(), route, Entry { up: up_tx, polls });
    let session = HttpSession {
        sid,
        route: route.to_string(),
        down,
        downstream,
        up: up_rx,
        sessions: shared.clone(),
        heartbeat: shared.opts.heartbeat,
        poll_gap: shared.opts.ping_interval,
    };
    (session, first)
}

/// One message as the session's downstream encodes it.
fn encode_message(down: Down, data: &Data, out: &mut BytesMut) {
    match down {
        Down::Sse => match data {
            Data::Text(t) => encode::sse_event(out, None, None, t.as_str()),
            Data::Binary(b) => encode::sse_event(out, None, Some("binary"), &B64.encode(b)),
        },
        Down::Stream => out.extend_from_slice(&encode::ndjson(&json_message(data))),
        Down::Poll => unreachable!("polls answer JSON arrays"),
    }
}

/// A message in JSON: a string for text, `{"data", "binary": true}` in
/// base64 for binary (polls); `{"data", "binary"}` always (NDJSON).
fn json_message(data: &Data) -> serde_json::Value {
    match data {
        Data::Text(t) => json!({"data": t.as_str(), "binary": false}),
        Data::Binary(b) => json!({"data": B64.encode(b), "binary": true}),
    }
}

fn poll_message(data: &Data) -> serde_json::Value {
    match data {
        Data::Text(t) => json!(t.as_str()),
        Data::Binary(_) => json_message(data),
    }
}

/// The close notice on a streaming downstream.
fn close_notice(down: Down, code: u16, reason: &str) -> Bytes {
    let v = json!({"code": code, "reason": reason});
    let mut out = BytesMut::new();
    match down {
        Down::Sse => encode::sse_event(&mut out, None, Some("rtwire.close"), &v.to_string()),
        _ => out.extend_from_slice(&encode::ndjson(&json!({ "close": v }))),
    }
    out.freeze()
}

fn lost(why: &str) -> SessionEnd {
    SessionEnd::Lost {
        cause: Error::new(ErrorKind::Closed, why.to_string()),
        close: CloseInfo::abnormal(""),
    }
}

impl HttpSession {
    /// Where the session's client POSTs its messages (`route?sid=S`).
    pub fn send_path(&self) -> String {
        format!("{}?sid={}", self.route, self.sid)
    }

    /// The transport the connection reports.
    pub fn transport(&self) -> Transport {
        self.down.transport()
    }

    /// Runs the session until it ends.
    pub async fn run(mut self, link: &mut Link) -> SessionEnd {
        let end =
            match std::mem::replace(&mut self.downstream, Downstream::Polls(mpsc::channel(1).1)) {
                Downstream::Body(tx) => self.run_stream(link, tx).await,
                Downstream::Polls(rx) => self.run_polls(link, rx).await,
            };
        self.sessions.sessions.remove(&self.sid);
        end
    }

    /// A message a client POSTed, to the application.
    async fn deliver(link: &mut Link, data: Data) -> Result<(), SessionEnd> {
        link.emit(Event::Message(Message::new(data)))
            .await
            .map_err(|_| SessionEnd::Abandoned)
    }

    async fn run_stream(&mut self, link: &mut Link, tx: mpsc::Sender<Bytes>) -> SessionEnd {
        let mut beat = tokio::time::interval(self.heartbeat);
        beat.reset();
        let heartbeat = match self.down {
            Down::Sse => Bytes::from_static(b": hb\n\n"),
            _ => Bytes::from_static(b"\n"),
        };
        loop {
            tokio::select! {
                req = link.close_req.requested() => {
                    // What was queued before the close goes first.
                    let mut out = BytesMut::new();
                    while let Some(m) = link.outgoing.try_recv() {
                        link.outgoing.release(&m);
                        encode_message(self.down, &m.data, &mut out);
                    }
                    out.extend_from_slice(&close_notice(self.down, req.code, &req.reason));
                    let _ = tx.send(out.freeze()).await;
                    return SessionEnd::Closed(CloseInfo {
                        code: req.code,
                        reason: req.reason,
                        clean: true,
                        unsent: Vec::new(),
                    });
                }
                m = link.outgoing.recv() => {
                    let Some(m) = m else { return lost("the queue closed") };
                    link.outgoing.release(&m);
                    let mut out = BytesMut::new();
                    encode_message(self.down, &m.data, &mut out);
                    // Coalesce what else is queued into the same write.
                    while out.len() < 64 * 1024 {
                        let Some(m) = link.outgoing.try_recv() else { break };
                        link.outgoing.release(&m);
                        encode_message(self.down, &m.data, &mut out);
                    }
                    if tx.send(out.freeze()).await.is_err() {
                        return lost("the client's stream ended");
                    }
                }
                data = self.up.recv() => {
                    let Some(data) = data else { return lost("the session ended") };
                    if let Err(end) = Self::deliver(link, data).await {
                        return end;
                    }
                }
                _ = beat.tick() => {
                    if tx.send(heartbeat.clone()).await.is_err() {
                        return lost("the client's stream ended");
                    }
                }
                _ = tx.closed() => return lost("the client's stream ended"),
            }
        }
    }

    async fn run_polls(
        &mut self,
        link: &mut Link,
        mut polls: mpsc::Receiver<(PollSlot, Duration)>,
    ) -> SessionEnd {
        // The held poll and when it is answered empty; or, with none held,
        // when the client is given up on.
        let mut held: Option<PollSlot> = None;
        let mut deadline = tokio::time::Instant::now() + self.poll_gap;
        let mut closing: Option<crate::session::link::CloseRequest> = None;
        loop {
            let has_slot = held.is_some();
            tokio::select! {
                req = link.close_req.requested(), if closing.is_none() => {
                    closing = Some(req);
                    if let Some(slot) = held.take().filter(|s| !s.is_closed()) {
                        let _ = slot.send(self.answer(link, closing.as_ref()));
                        return Self::closed(closing.take());
                    }
                    // Answered on the next poll, or given up on.
                    deadline = tokio::time::Instant::now() + self.poll_gap.min(Duration::from_secs(5));
                }
                p = polls.recv() => {
                    let Some((slot, wait)) = p else { return lost("the session ended") };
                    if let Some(old) = held.take() {
                        let _ = old.send(self.answer(link, None));
                    }
                    if closing.is_some() {
                        let _ = slot.send(self.answer(link, closing.as_ref()));
                        return Self::closed(closing.take());
                    }
                    if link.outgoing.has_queued() {
                        let _ = slot.send(self.answer(link, None));
                        deadline = tokio::time::Instant::now() + self.poll_gap;
                    } else {
                        held = Some(slot);
                        deadline = tokio::time::Instant::now() + wait;
                    }
                }
                m = link.outgoing.recv(), if has_slot => {
                    let Some(m) = m else { return lost("the queue closed") };
                    link.outgoing.push_front(m);
                    // A poll its client gave up on takes nothing with it:
                    // the messages wait for the next one.
                    if let Some(slot) = held.take().filter(|s| !s.is_closed()) {
                        let _ = slot.send(self.answer(link, None));
                    }
                    deadline = tokio::time::Instant::now() + self.poll_gap;
                }
                data = self.up.recv() => {
                    let Some(data) = data else { return lost("the session ended") };
                    if let Err(end) = Self::deliver(link, data).await {
                        return end;
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    match held.take() {
                        // The hold is over: answer empty, and wait for the next.
                        Some(slot) => {
                            let _ = slot.send(self.answer(link, None));
                            deadline = tokio::time::Instant::now() + self.poll_gap;
                        }
                        None if closing.is_some() => return Self::closed(closing.take()),
                        None => return lost("the client stopped polling"),
                    }
                }
            }
        }
    }

    /// A poll answer: everything queued (up to 1 MiB of payload), and the
    /// close when there is one.
    fn answer(&self, link: &mut Link, close: Option<&crate::session::link::CloseRequest>) -> Bytes {
        let mut messages = Vec::new();
        let mut bytes = 0;
        while bytes < 1 << 20 || close.is_some() {
            let Some(m) = link.outgoing.try_recv() else {
                break;
            };
            link.outgoing.release(&m);
            bytes += m.data.len();
            messages.push(poll_message(&m.data));
        }
        let mut v = json!({ "messages": messages });
        if let Some(c) = close {
            v["close"] = json!({"code": c.code, "reason": c.reason});
        }
        Bytes::from(serde_json::to_vec(&v).expect("JSON serializes"))
    }

    fn closed(req: Option<crate::session::link::CloseRequest>) -> SessionEnd {
        let req = req.expect("closing");
        SessionEnd::Closed(CloseInfo {
            code: req.code,
            reason: req.reason,
            clean: true,
            unsent: Vec::new(),
        })
    }
}
