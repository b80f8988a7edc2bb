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

use bytes::Bytes;
use reqwest::Response;

use crate::error::{Error, ErrorKind};
use crate::event::{Event, OpenInfo};
use crate::http::{self, pump_events, Feed};
use crate::message::{Data, Message, Text};
use crate::options::{Cursor, CursorFrom, Framing, Options, Transport};
use crate::proto::lines::LineSplitter;
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

/// Cuts a body into events per the framing.
#[derive(Debug)]
pub(crate) struct StreamDecoder {
    framing: Framing,
    lines: LineSplitter,
    max_message: usize,
    /// Lines seen so far (for error messages).
    line_no: u64,
    url: String,
    /// NDJSON: the object field that holds each line's id (the cursor).
    id_field: Option<String>,
}

impl StreamDecoder {
    /// A decoder for a body from `url`, per the options.
    pub(crate) fn new(opts: &Options, url: &str) -> Self {
        let max_message = opts.limits.max_message_size;
        StreamDecoder {
            framing: opts.http.framing,
            lines: LineSplitter::new(opts.http.max_line.min(max_message)),
            max_message,
            line_no: 0,
            url: url.to_string(),
            id_field: match &opts.http.cursor {
                Some(Cursor {
                    from: CursorFrom::JsonField(f),
                    ..
                }) => Some(f.clone()),
                _ => None,
            },
        }
    }

    /// Appends the events `feed` completes; an error loses the session.
    pub(crate) fn feed(&mut self, feed: Feed<'_>, out: &mut Vec<Event>) -> Result<(), Error> {
        if self.framing == Framing::Chunks {
            return match feed {
                Feed::Chunk(c) if c.len() > self.max_message => Err(Error::new(
                    ErrorKind::TooLarge,
                    format!(
                        "a chunk of {} bytes from {} is over max_message_size ({})",
                        c.len(),
                        self.url,
                        self.max_message
                    ),
                )
                .with_retryable(true)),
                Feed::Chunk(c) if !c.is_empty() => {
                    out.push(Event::Message(Message::new(Bytes::copy_from_slice(c))));
                    Ok(())
                }
                _ => Ok(()),
            };
        }
        let mut failed = None;
        match feed {
            Feed::Chunk(c) => {
                let mut lines = std::mem::replace(&mut self.lines, LineSplitter::new(0));
                lines.feed(c, |line| {
                    if failed.is_none() {
                        failed = self.line(line, out).err();
                    }
                });
                self.lines = lines;
            }
            Feed::End => {
                if let Some(rest) = self.lines.finish() {
                    failed = self.line(Ok(&rest), out).err();
                }
            }
            Feed::Cut => self.lines.reset(),
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Handles one line.
    fn line(&mut self, line: Result<&[u8], Error>, out: &mut Vec<Event>) -> Result<(), Error> {
        self.line_no += 1;
        let line = line.map_err(|e| {
            Error::new(
                ErrorKind::TooLarge,
                format!("line {} from {}: {}", self.line_no, self.url, e.message()),
            )
            .with_retryable(true)
        })?;
        match self.framing {
            Framing::Ndjson => {
                if line.iter().all(u8::is_ascii_whitespace) {
                    return Ok(());
                }
                match serde_json::from_slice::<serde_json::Value>(line) {
                    Ok(v) => {
                        // JSON is UTF-8: serde_json checked it.
                        let text = Text::from_utf8(Bytes::copy_from_slice(line))
                            .map_err(|_| self.not_json("invalid UTF-8".into()))?;
                        let mut m = Message::new(text);
                        m.id = self.id_field.as_deref().and_then(|f| match v.get(f) {
                            Some(serde_json::Value::String(s)) => Some(s.clone()),
                            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                            _ => None,
                        });
                        out.push(Event::Message(m));
                    }
                    Err(e) => out.push(Event::Error(self.not_json(e.to_string()))),
                }
            }
            _ => {
                if !line.is_empty() {
                    let text = String::from_utf8_lossy(line).into_owned();
                    out.push(Event::Message(Message::new(Data::from(text))));
                }
            }
        }
        Ok(())
    }

    /// The error for an NDJSON line that is not JSON.
    fn not_json(&self, why: String) -> Error {
        Error::new(
            ErrorKind::Protocol,
            format!(
                "NDJSON line {} from {} is not JSON ({why}); skipped",
                self.line_no, self.url
            ),
        )
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn decoder(framing: Framing, max_line: usize) -> StreamDecoder {
        let mut o = Options::new().framing(framing);
        o.http.max_line = max_line;
        StreamDecoder::new(&o, "http://h/")
    }

    /// Messages as text, errors as `!kind`.
    fn show(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Event::Message(m) => match &m.data {
                    Data::Text(t) => t.to_string(),
                    Data::Binary(b) => format!("bin{b:?}"),
                },
                Event::Error(e) => format!("!{}", e.kind()),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn ndjson_split_bad_and_blank_lines() {
        let mut d = decoder(Framing::Ndjson, 100);
        let mut out = Vec::new();
        for c in [
            &b"{\"a\":"[..],
            b"1}\r\n\n  \nnot json\n[1,",
            b"2]\n\"tail\"",
        ] {
            d.feed(Feed::Chunk(c), &mut out).unwrap();
        }
        d.feed(Feed::End, &mut out).unwrap();
        assert_eq!(show(&out), ["{\"a\":1}", "!protocol", "[1,2]", "\"tail\""]);
    }

    #[test]
    fn cut_drops_the_partial_line() {
        let mut d = decoder(Framing::Lines, 100);
        let mut out = Vec::new();
        d.feed(Feed::Chunk(b"one\n\ntw\xffo\npart"), &mut out)
            .unwrap();
        d.feed(Feed::Cut, &mut out).unwrap();
        assert_eq!(show(&out), ["one", "tw\u{fffd}o"]);
    }

    #[test]
    fn long_line_is_too_large_after_earlier_lines() {
        let mut d = decoder(Framing::Lines, 4);
        let mut out = Vec::new();
        let e = d
            .feed(Feed::Chunk(b"ok\n12345\nlater\n"), &mut out)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge);
        assert!(e.is_retryable());
        assert_eq!(show(&out), ["ok"]);
    }

    #[test]
    fn chunks_are_binary_messages() {
        let mut d = decoder(Framing::Chunks, 4);
        let mut out = Vec::new();
        d.feed(Feed::Chunk(b"ab"), &mut out).unwrap();
        d.feed(Feed::Chunk(b""), &mut out).unwrap();
        d.feed(Feed::End, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        let mut small = decoder(Framing::Chunks, 4);
        small.max_message = 1;
        assert_eq!(
            small.feed(Feed::Chunk(b"ab"), &mut out).unwrap_err().kind(),
            ErrorKind::TooLarge
        );
    }
}
