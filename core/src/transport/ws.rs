//! WebSocket (RFC 6455): handshake with our own TCP and TLS, then one task
//! over [`Frames`] that reads, writes in coalesced batches, keeps the peer
//! alive with pings and runs the close handshake. The server's application
//! connections run the same session with the server's role.

use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{sleep_until, timeout, Instant};

use crate::error::{Error, ErrorKind};
use crate::event::{CloseInfo, Event, OpenInfo};
use crate::message::{Data, Message, Text};
use crate::net::{self, NetStream};
use crate::options::{Options, Transport};
use crate::proto::frame::{Incoming, Role};
use crate::proto::ws::{Closing, Due, Ending, Liveness};
use crate::session::link::{close_requested, Link, SessionEnd};
use crate::session::resume::Resume;
use crate::transport::frames::{Frames, ReadError};
use crate::transport::Plan;

/// The subprotocol of rtwire servers under which every message carries its
/// id (`{id}\n{payload}`), and notices come as `!name\n{data}`.
pub(crate) const RTWIRE_PROTOCOL: &str = "rtwire.v1";

/// Splits an `rtwire.v1` frame into a message, recording its id.
fn unframe(payload: Bytes, text: bool, resume: &mut Resume) -> Option<Message> {
    let Some(nl) = memchr::memchr(b'\n', &payload) else {
        return Some(Message::new(if text {
            text_data(payload)
        } else {
            Data::Binary(payload)
        }));
    };
    let head = String::from_utf8_lossy(&payload[..nl]).into_owned();
    let rest = payload.slice(nl + 1..);
    let data = if text {
        text_data(rest)
    } else {
        Data::Binary(rest)
    };
    let mut m = Message::new(data);
    match head.strip_prefix('!') {
        // Where the channel is: the resume point, not a message.
        Some("at") => {
            resume.cursor = m.data.as_text().map(str::to_string);
            return None;
        }
        Some(notice) => m.event = Some(format!("rtwire.{notice}")),
        None => {
            resume.cursor = Some(head.clone());
            m.id = Some(head);
        }
    }
    Some(m)
}

/// Text from bytes of a validated text frame (or a piece of one cut at a
/// line feed, which keeps it valid).
fn text_data(b: Bytes) -> Data {
    match Text::from_utf8(b) {
        Ok(t) => Data::Text(t),
        Err(b) => Data::Binary(b),
    }
}

/// Most bytes coalesced into one write before flushing.
const BATCH_BYTES: usize = 1 << 20;
/// Most of a refused handshake's body kept in the error.
const BODY_EXCERPT: usize = 64 << 10;

/// The clock the session's [`Liveness`] is given (tokio's, so that paused
/// test time counts).
fn now() -> std::time::Instant {
    Instant::now().into_std()
}

/// An open WebSocket session.
///
/// The framing is boxed: the session is moved through several nested
/// futures, each of which would otherwise hold its own copy for as long as
/// the connection lives.
#[derive(Debug)]
pub(crate) struct WsSession {
    /// Messages are `rtwire.v1` frames.
    framed: bool,
    ws: Box<Frames<NetStream>>,
}

/// Framing over `io` by the limits of `opts`.
pub(crate) fn frames<S>(io: S, role: Role, already: bytes::BytesMut, opts: &Options) -> Frames<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let l = &opts.limits;
    Frames::new(
        io,
        role,
        already,
        l.max_message_size,
        l.max_frame_size,
        l.read_buffer_size,
    )
}

impl WsSession {
    /// The server side of a session whose upgrade was answered with 101 on
    /// `io`, with the permessage-deflate that answer accepted.
    pub(crate) fn accepted(
        io: Box<dyn crate::net::Io>,
        opts: &Options,
        deflate: Option<crate::proto::deflate::Params>,
    ) -> WsSession {
        WsSession {
            framed: false,
            ws: Box::new(
                frames(
                    NetStream::Boxed(io),
                    Role::Server,
                    bytes::BytesMut::new(),
                    opts,
                )
                .with_deflate(deflate),
            ),
        }
    }
}

/// Opens TCP (+TLS) and runs the opening handshake.
pub(crate) async fn open(plan: &Plan, resume: &Resume) -> Result<(WsSession, OpenInfo), Error> {
    let opts = &plan.options;
    let target = &plan.target;
    let mut url = target.url.clone();
    if opts.rtwire_protocol {
        if let Some(cursor) = &resume.cursor {
            url.query_pairs_mut().append_pair("cursor", cursor);
        }
    }
    let mut offered = opts.subprotocols.clone();
    if opts.rtwire_protocol {
        offered.push(RTWIRE_PROTOCOL.to_string());
    }
    let headers = crate::http::base_headers(target, opts)?;
    let (request, handshake) =
        crate::proto::handshake::request(&url, &headers, &offered, opts.permessage_deflate);

    let mut stream = net::dial(target, plan.tls.as_ref(), &plan.proxy, plan.host()).await?;
    let io = |e: std::io::Error| {
        Error::new(
            ErrorKind::Io,
            format!(
                "connection to {} failed during the WebSocket handshake: {e}",
                target.display()
            ),
        )
    };
    stream.write_all(&request).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    // Read up to the end of the response head (bounded in size; open_timeout
    // bounds the time). What follows it is kept: frames the server sent
    // right after its 101, or a refusal's body.
    let mut buf = bytes::BytesMut::with_capacity(1024);
    let head = loop {
        if let Some(head) = crate::proto::handshake::parse(&buf)? {
            break head;
        }
        if stream.read_buf(&mut buf).await.map_err(io)? == 0 {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "{} closed the connection during the WebSocket handshake",
                    target.display()
                ),
            ));
        }
    };
    let rest = buf.split_off(head.len);
    if head.status != 101 {
        return Err(refused(&mut stream, head, rest, &target.display()).await);
    }
    let protocol = handshake
        .verify(&head)
        .map_err(|e| Error::new(ErrorKind::Handshake, format!("{}: {e}", target.display())))?;
    let deflate = handshake
        .deflate(&head, opts.deflate_threshold)
        .map_err(|e| Error::new(ErrorKind::Handshake, format!("{}: {e}", target.display())))?;
    let ws = frames(stream, Role::Client, rest, opts).with_deflate(deflate);
    let info = OpenInfo {
        transport: Transport::WebSocket,
        url: target.display(),
        protocol,
        headers: head.headers,
    };
    let framed = opts.rtwire_protocol && info.protocol.as_deref() == Some(RTWIRE_PROTOCOL);
    Ok((
        WsSession {
            ws: Box::new(ws),
            framed,
        },
        info,
    ))
}

/// The error for a refused handshake: its status, headers and the start of
/// its body (read up to `Content-Length` or the end, at most
/// [`BODY_EXCERPT`] bytes, within 2 s). 408, 429 and 5xx are retryable.
async fn refused(
    stream: &mut NetStream,
    head: crate::proto::handshake::ResponseHead,
    mut body: bytes::BytesMut,
    url: &str,
) -> Error {
    let want = head
        .content_length()
        .unwrap_or(BODY_EXCERPT)
        .min(BODY_EXCERPT);
    let _ = timeout(Duration::from_secs(2), async {
        while body.len() < want {
            match stream.read_buf(&mut body).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    body.truncate(want.max(body.len().min(BODY_EXCERPT)));
    body.truncate(BODY_EXCERPT);
    let status = http::StatusCode::from_u16(head.status).ok();
    let mut msg = format!(
        "WebSocket handshake with {url} refused: the server answered {} {} instead of 101 Switching Protocols",
        head.status,
        status.and_then(|s| s.canonical_reason()).unwrap_or("")
    );
    if !body.is_empty() {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
        if !text.trim().is_empty() {
            msg.push_str(&format!(": {}", text.trim()));
        }
    }
    let retry = matches!(head.status, 408 | 429 | 500..=599);
    Error::new(ErrorKind::Handshake, msg)
        .with_http(head.status, head.headers, Some(body.to_vec()))
        .with_retryable(retry)
}

/// Our error for a read error, and the close frame to send for it.
fn read_error(e: ReadError) -> (Error, Option<(u16, &'static str)>) {
    match e {
        ReadError::Fault(f) => {
            let code = f.close_code();
            let kind = if code == 1009 {
                ErrorKind::TooLarge
            } else {
                ErrorKind::Protocol
            };
            let msg = f.message().to_string();
            let frame = (code, f.reason());
            (Error::new(kind, msg).with_close_code(code), Some(frame))
        }
        ReadError::Io(io) => (io_error(io), None),
    }
}

/// Our error for a failed read or write on the connection.
fn io_error(io: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("connection lost: {io}")).with_source(io)
}

fn close_info(frame: &Closing, clean: bool) -> CloseInfo {
    let (code, reason) = frame.clone().unwrap_or((1005, String::new()));
    CloseInfo {
        code,
        reason,
        clean,
        unsent: Vec::new(),
    }
}

impl WsSession {
    /// Sends a close frame, best effort, within `limit`.
    async fn send_close(&mut self, code: u16, reason: &str, limit: Duration) {
        self.ws.feed_close(code, reason);
        let _ = timeout(limit, self.ws.flush()).await;
    }

    /// Writes `first` and everything already queued behind it (up to
    /// [`BATCH_BYTES`]), then flushes once.
    async fn write_batch(
        &mut self,
        link: &mut Link,
        first: crate::session::queue::Outgoing,
    ) -> std::io::Result<()> {
        let mut bytes = first.data.len();
        link.outgoing.release(&first);
        self.ws.feed(&first.data);
        while bytes < BATCH_BYTES {
            let Some(next) = link.outgoing.try_recv() else {
                break;
            };
            bytes += next.data.len();
            link.outgoing.release(&next);
            self.ws.feed(&next.data);
        }
        self.ws.flush().await
    }

    /// Sends what was queued before the close request, then the close frame.
    async fn flush_then_close(
        &mut self,
        link: &mut Link,
        req: &crate::session::link::CloseRequest,
        write_limit: Duration,
        close_timeout: Duration,
    ) {
        while let Some(out) = link.outgoing.try_recv() {
            link.outgoing.release(&out);
            self.ws.feed(&out.data);
            if self.ws.unwritten() >= BATCH_BYTES {
                let written = timeout(write_limit, self.ws.flush()).await;
                if written.map_or(true, |r| r.is_err()) {
                    break;
                }
            }
        }
        self.send_close(req.code, &req.reason, close_timeout).await;
    }

    /// Handles one item read from the socket; `Some` ends the session.
    async fn on_item(
        &mut self,
        item: Option<Result<Incoming, ReadError>>,
        st: &mut Liveness,
        link: &mut Link,
        opts: &Options,
        resume: &mut Resume,
    ) -> Option<SessionEnd> {
        st.heard();
        let message = match item {
            Some(Ok(Incoming::Message(Data::Text(t)))) if self.framed => {
                unframe(t.into_bytes(), true, resume)?
            }
            Some(Ok(Incoming::Message(Data::Binary(b)))) if self.framed => {
                unframe(b, false, resume)?
            }
            Some(Ok(Incoming::Message(data))) => Message::new(data),
            Some(Ok(Incoming::Close(frame))) => {
                // The reply is queued; push it out.
                let _ = timeout(opts.close_timeout, self.ws.flush()).await;
                st.peer_closed(now(), frame);
                return None;
            }
            // A ping's pong is queued and goes out with the next write.
            Some(Ok(Incoming::Ping(_) | Incoming::Pong(_))) => return None,
            None => return Some(Self::ended(st.ending())),
            Some(Err(e)) => {
                if st.is_closing() {
                    return Some(Self::ended(st.ending()));
                }
                let (error, frame) = read_error(e);
                if let Some((code, reason)) = frame {
                    // Boxed: rare, see `flush_then_close`.
                    Box::pin(self.send_close(
                        code,
                        reason,
                        Duration::from_secs(1).min(opts.close_timeout),
                    ))
                    .await;
                    let close = CloseInfo {
                        code,
                        reason: error.message().to_string(),
                        clean: false,
                        unsent: Vec::new(),
                    };
                    return Some(SessionEnd::Failed { error, close });
                }
                return Some(SessionEnd::Lost {
                    cause: error,
                    close: CloseInfo::abnormal(""),
                });
            }
        };
        match link.emit(Event::Message(message)).await {
            Ok(()) => None,
            Err(_) => Some(SessionEnd::Abandoned),
        }
    }

    /// Runs the session until it ends.
    pub(crate) async fn run(
        mut self,
        link: &mut Link,
        opts: &Options,
        resume: &mut Resume,
    ) -> SessionEnd {
        let ka = opts.keepalive;
        // A stalled write is given as long as a silent peer would be.
        let write_limit = ka
            .interval
            .map(|i| i + ka.timeout)
            .unwrap_or(Duration::from_secs(3600));
        // Not busy, whatever a session dropped midway left.
        link.outgoing.set_busy(false);
        let mut st = Liveness::new(now(), ka.interval, ka.timeout, opts.close_timeout);
        // One timer, re-armed only when its purpose changes (not per
        // message): keepalive idle check, pong wait, or close wait. An idle
        // check that finds recent traffic re-arms from the last message.
        let far = Instant::now() + Duration::from_secs(365 * 24 * 3600);
        let timer = sleep_until(far);
        tokio::pin!(timer);
        let mut armed = far;

        loop {
            let deadline = st.deadline().map(Instant::from_std);
            let want = deadline.unwrap_or(far);
            if want != armed {
                timer.as_mut().reset(want);
                armed = want;
            }
            tokio::select! {
                biased;
                req = close_requested(&mut link.close_req), if st.may_close() => {
                    // Boxed: a rare path whose future would otherwise size
                    // every idle connection's task.
                    Box::pin(self.flush_then_close(link, &req, write_limit, opts.close_timeout)).await;
                    st.we_closed(now(), Some((req.code, req.reason)));
                }
                item = self.ws.next() => {
                    // The queue is looked at below and again by the select:
                    // replies queued meanwhile need no wake-up.
                    link.outgoing.set_busy(true);
                    let end = self.on_read(item, &mut st, link, opts, resume, write_limit).await;
                    link.outgoing.set_busy(false);
                    if let Some(end) = end {
                        return end;
                    }
                }
                out = link.outgoing.recv(), if !st.is_closing() => {
                    let Some(out) = out else { continue };
                    if let Some(end) = self.write_out(link, out, write_limit).await {
                        return end;
                    }
                }
                _ = &mut timer, if deadline.is_some() => {
                    armed = far; // fired: whatever comes next re-arms it
                    match st.on_deadline(now()) {
                        Due::Nothing => {}
                        Due::CloseWaitOver => return Self::ended(st.ending()),
                        Due::Dead => {
                            let cause = Error::new(ErrorKind::Timeout, format!(
                                "the peer did not answer a ping within {} ms", ka.timeout.as_millis()));
                            return SessionEnd::Lost { cause, close: CloseInfo::abnormal("keepalive timeout") };
                        }
                        Due::Ping => {
                            self.ws.feed_ping(&Bytes::new());
                            if timeout(st.pong_timeout(), self.ws.flush()).await.map_or(true, |r| r.is_err()) {
                                let cause = Error::new(ErrorKind::Timeout, "could not send a keepalive ping");
                                return SessionEnd::Lost { cause, close: CloseInfo::abnormal("keepalive failed") };
                            }
                        }
                    }
                }
            }
        }
    }

    /// Handles `item` and the frames already read behind it, writing the
    /// replies the application queued meanwhile (an event sink runs it
    /// right inside `on_item`) before anything else is read; `Some` ends
    /// the session.
    async fn on_read(
        &mut self,
        item: Option<Result<Incoming, ReadError>>,
        st: &mut Liveness,
        link: &mut Link,
        opts: &Options,
        resume: &mut Resume,
        write_limit: Duration,
    ) -> Option<SessionEnd> {
        if let Some(end) = self.on_item(item, st, link, opts, resume).await {
            return Some(end);
        }
        if let Some(end) = self.write_queued(st, link, write_limit).await {
            return Some(end);
        }
        // Frames already read need no new wake-up: take them now, then
        // write what was queued meanwhile at once.
        let mut more = false;
        for _ in 0..64 {
            let Some(item) = self.ws.next().now_or_never() else {
                break;
            };
            more = true;
            if let Some(end) = self.on_item(item, st, link, opts, resume).await {
                return Some(end);
            }
        }
        if more {
            if let Some(end) = self.write_queued(st, link, write_limit).await {
                return Some(end);
            }
        }
        if self.ws.unwritten() > 0 {
            // Pongs and close replies queued by the reads.
            if let Some(end) = self.flush_within(write_limit).await {
                return Some(end);
            }
        }
        None
    }

    /// Writes what the application has queued, if anything, unless the
    /// session is closing (the close handshake flushes it then).
    async fn write_queued(
        &mut self,
        st: &Liveness,
        link: &mut Link,
        write_limit: Duration,
    ) -> Option<SessionEnd> {
        if st.is_closing() {
            return None;
        }
        let out = link.outgoing.try_recv()?;
        self.write_out(link, out, write_limit).await
    }

    /// Writes `out` and what is queued behind it (see `write_batch`) within
    /// `write_limit`; the session's end if the write failed.
    async fn write_out(
        &mut self,
        link: &mut Link,
        out: crate::session::queue::Outgoing,
        write_limit: Duration,
    ) -> Option<SessionEnd> {
        let written = timeout_if_pending(write_limit, self.write_batch(link, out)).await;
        Self::write_end(written, write_limit)
    }

    /// Writes what is queued within `write_limit`; the session's end if the
    /// write failed.
    async fn flush_within(&mut self, write_limit: Duration) -> Option<SessionEnd> {
        let written = timeout_if_pending(write_limit, self.ws.flush()).await;
        Self::write_end(written, write_limit)
    }

    /// The session's end for a failed or stalled write.
    fn write_end(
        written: Result<std::io::Result<()>, tokio::time::error::Elapsed>,
        write_limit: Duration,
    ) -> Option<SessionEnd> {
        match written {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(SessionEnd::Lost {
                cause: io_error(e),
                close: CloseInfo::abnormal(""),
            }),
            Err(_) => {
                let cause = Error::new(
                    ErrorKind::Timeout,
                    format!("the peer took no data for {} ms", write_limit.as_millis()),
                );
                Some(SessionEnd::Lost {
                    cause,
                    close: CloseInfo::abnormal(""),
                })
            }
        }
    }

    /// The end of the TCP stream (or of the close wait): how the session
    /// is over.
    fn ended(ending: Ending) -> SessionEnd {
        match ending {
            Ending::Answered(frame) => SessionEnd::Closed(close_info(&frame, true)),
            Ending::Unanswered(code, reason) => SessionEnd::Closed(CloseInfo {
                code,
                reason,
                clean: false,
                unsent: Vec::new(),
            }),
            Ending::PeerClosed(frame) => SessionEnd::peer_closed(close_info(&frame, true)),
            Ending::Lost => SessionEnd::Lost {
                cause: Error::new(
                    ErrorKind::Closed,
                    "the connection was lost without a close frame",
                )
                .with_close_code(1006),
                close: CloseInfo::abnormal(""),
            },
        }
    }
}

/// `timeout(limit, fut)`, with the timer set only when `fut` is not ready
/// at once: a write that fits in the socket's buffer (the usual case) costs
/// no clock read and no timer entry.
async fn timeout_if_pending<F: std::future::Future>(
    limit: Duration,
    fut: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    let mut fut = std::pin::pin!(fut);
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx))).await;
    match first {
        std::task::Poll::Ready(v) => Ok(v),
        std::task::Poll::Pending => timeout(limit, fut).await,
    }
}
