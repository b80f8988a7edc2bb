//! HTTP streaming: one long-lived GET whose body (chunked, or read until the
//! server closes) is cut into messages by [`Framing`].
//!
//! # Behaviour
//!
//! - [`Framing::Chunks`]: each chunk as read from the body (after
//!   decompression) is one binary message. Chunk boundaries are whatever
//!   the network delivered, so this suits consumers that reassemble.
//! - [`Framing::Lines`]: each line (LF or CRLF ended) is one text message;
//!   invalid UTF-8 is replaced by U+FFFD. Empty lines are skipped: streaming
//!   servers send them as keepalives.
//! - [`Framing::Ndjson`]: each line must be one JSON value and is delivered
//!   as its text; blank lines (empty or only whitespace) are skipped. A line
//!   that is not JSON is reported as a `Protocol` error event and skipped,
//!   and the stream goes on: its framing is intact, so the next line is
//!   still good, and reconnecting would not bring the bad line back right.
//! - A line longer than `max_line` (or `max_message_size`, if smaller), or
//!   a chunk over `max_message_size`, is a `TooLarge` error that loses the
//!   session: the connection reconnects per the policy.
//! - At a normal end of the body, a last line without a line ending is
//!   delivered; when the body is cut short (read error, a chunked body
//!   without its last chunk, EOF before `Content-Length`, `read_timeout` of
//!   silence) the partial line is dropped. Either way the connection
//!   reconnects per the policy: HTTP streaming has no resume position, so
//!   the new stream starts wherever the server starts it.
//! - Any 2xx answer opens the stream. 408, 429 and 5xx are retried
//!   (honouring `Retry-After`); any other status is fatal.
//! - `send` POSTs to `send_url` while the stream is read.

use reqwest::Response;

use crate::error::Error;
use crate::event::CloseInfo;
use crate::event::{Event, OpenInfo};
use crate::http::{self, pump_events};
use crate::message::{Data, Message};
#[cfg(doc)]
use crate::options::Framing;
use crate::options::Transport;
use crate::proto::stream::StreamDecoder;
use crate::session::link::{Link, SessionEnd};
use crate::session::resume::Resume;
use crate::transport::long_poll;
use crate::transport::Plan;

/// An open stream.
#[derive(Debug)]
pub(crate) struct StreamSession {
    resp: Response,
    url: String,
    /// Where an rtwire route session takes sends, if it is one: its lines
    /// are then the route's (`{"data", "binary"}`, `{"close"}`).
    send_url: Option<std::sync::Arc<str>>,
}

/// Sends the GET; any 2xx answer opens the stream.
pub(crate) async fn open(
    plan: &Plan,
    resume: &mut Resume,
) -> Result<(StreamSession, OpenInfo), Error> {
    // With a cursor option, the stream resumes where the last one stopped.
    let (req, url) = long_poll::request(plan, resume.cursor.as_deref(), false);
    let resp = plan.http().send(req, &url).await?;
    if !resp.status().is_success() {
        let e = http::refused(resp, &url, "stream").await;
        resume.server_delay = http::retry_after_of(&e);
        return Err(e);
    }
    let final_url = resp.url().to_string();
    let send_url = http::route_send_url(&resp);
    let info = OpenInfo {
        transport: Transport::Stream,
        url: final_url.clone(),
        protocol: None,
        headers: http::header_list(resp.headers()),
    };
    Ok((
        StreamSession {
            resp,
            url: final_url,
            send_url,
        },
        info,
    ))
}

/// What a line of an rtwire route's stream is.
enum RouteLine {
    /// A message.
    Message(Data),
    /// The server's close.
    Close(CloseInfo),
    /// The session line, a heartbeat, or something else: not delivered.
    Skip,
}

fn route_line(text: &str) -> RouteLine {
    use base64::Engine as _;
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return RouteLine::Skip;
    };
    if let Some(c) = v.get("close") {
        let code = c
            .get("code")
            .and_then(|c| c.as_u64())
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(1005);
        let reason = c.get("reason").and_then(|r| r.as_str()).unwrap_or_default();
        return RouteLine::Close(CloseInfo {
            code,
            reason: reason.to_string(),
            clean: true,
            unsent: Vec::new(),
        });
    }
    let Some(data) = v.get("data").and_then(|d| d.as_str()) else {
        return RouteLine::Skip;
    };
    if v.get("binary").and_then(|b| b.as_bool()) == Some(true) {
        return match base64::engine::general_purpose::STANDARD.decode(data) {
            Ok(b) => RouteLine::Message(Data::from(b)),
            Err(_) => RouteLine::Skip,
        };
    }
    RouteLine::Message(Data::from(data.to_string()))
}

impl StreamSession {
    /// Whether the server takes this session's sends (an rtwire route
    /// session).
    pub(crate) fn sends_itself(&self) -> bool {
        self.send_url.is_some()
    }

    /// Reads the body through the framing decoder and emits its events.
    /// With an NDJSON id field, each line's id becomes the cursor the next
    /// stream resumes from. The lines of an rtwire route session are its
    /// messages and close instead.
    pub(crate) async fn run(self, link: &mut Link, plan: &Plan, resume: &mut Resume) -> SessionEnd {
        let mut decoder = StreamDecoder::new(&plan.options, &self.url);
        let route = self.send_url.is_some();
        let control = std::sync::Mutex::new(http::BodyControl {
            send_url: self.send_url.clone(),
            closed: None,
        });
        pump_events(
            link,
            plan.http(),
            &plan.options,
            self.resp,
            &self.url,
            &control,
            |feed, out| {
                let start = out.len();
                let r = decoder.feed(feed, out);
                if route {
                    let lines: Vec<Event> = out.drain(start..).collect();
                    for ev in lines {
                        let Event::Message(m) = ev else {
                            continue;
                        };
                        match route_line(m.data.as_text().unwrap_or_default()) {
                            RouteLine::Message(d) => out.push(Event::Message(Message::new(d))),
                            RouteLine::Close(c) => http::lock(&control).closed = Some(c),
                            RouteLine::Skip => {}
                        }
                    }
                    return r;
                }
                let last = out.iter().rev().find_map(|e| match e {
                    Event::Message(m) => m.id.clone(),
                    _ => None,
                });
                if last.is_some() {
                    resume.cursor = last;
                }
                r
            },
        )
        .await
    }
}
