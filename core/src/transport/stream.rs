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
use crate::event::{Event, OpenInfo};
use crate::http::{self, pump_events};
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
        },
        info,
    ))
}

impl StreamSession {
    /// Reads the body through the framing decoder and emits its events.
    /// With an NDJSON id field, each line's id becomes the cursor the next
    /// stream resumes from.
    pub(crate) async fn run(self, link: &mut Link, plan: &Plan, resume: &mut Resume) -> SessionEnd {
        let mut decoder = StreamDecoder::new(&plan.options, &self.url);
        pump_events(
            link,
            plan.http(),
            &plan.options,
            self.resp,
            &self.url,
            |feed, out| {
                let r = decoder.feed(feed, out);
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
