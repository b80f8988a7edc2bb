//! HTTP short polling: a GET every `poll_interval`, delivering the resource
//! each time it changed.
//!
//! # Behaviour
//!
//! - The wait is `poll_interval` ±10 % (uniform jitter), counted from the
//!   end of one answer to the start of the next request, so requests never
//!   overlap however slow the server is.
//! - Each request carries `If-None-Match` (the `ETag`) and
//!   `If-Modified-Since` (the `Last-Modified`) of the last delivered answer,
//!   kept across reconnects.
//! - A 2xx answer is delivered as one message (text when it is UTF-8 and not
//!   `application/octet-stream`, else binary; `id` = its `ETag`, if any)
//!   unless it is the content already delivered: with an `ETag`, when the
//!   `ETag` is the last delivered one; without an `ETag`, when the body is
//!   byte-identical to the last delivered body (for servers that send no
//!   validators, or ignore them and answer 200 every time). An empty body
//!   is content like any other.
//! - 304 and 204 deliver nothing.
//! - Errors follow the long-polling policy: 408, 429, 5xx, transport errors
//!   and timeouts lose the session (back off per the reconnect policy,
//!   honouring `Retry-After`); any other status is fatal. Each request must
//!   complete within `read_timeout`, and its body fit in
//!   `max_message_size` (a retryable `TooLarge` error); a body cut short is
//!   an error, never a shorter message.
//! - The session opens (the `Open` event) with the first successful answer;
//!   its message, if it changed, follows the `Open` event.
//! - `send` POSTs to `send_url`, also while waiting between polls.

use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::{Method, StatusCode};

use crate::error::Error;
use crate::event::{CloseInfo, Event, OpenInfo};
use crate::http::{self, serve_while, FetchLimits, Fetched, Wake};
use crate::message::Message;
use crate::options::Transport;
use crate::session::link::{Link, SessionEnd};
use crate::session::resume::Resume;
use crate::transport::Plan;

/// An open short-polling session: the first answer's message, if it is
/// news, not yet delivered.
#[derive(Debug)]
pub(crate) struct PollSession {
    first: Option<Message>,
}

/// Sends one conditional GET.
async fn poll(plan: &Plan, etag: Option<&str>, modified: Option<&str>) -> Result<Fetched, Error> {
    let opts = &plan.options;
    let url = plan.target.display();
    let mut req = plan.http().request(Method::GET, &url);
    if let Some(e) = etag {
        req = req.header(IF_NONE_MATCH, e);
    }
    if let Some(m) = modified {
        req = req.header(IF_MODIFIED_SINCE, m);
    }
    let limits = FetchLimits {
        total: opts.http.read_timeout,
        idle: opts.http.read_timeout,
        max_body: opts.limits.max_message_size,
    };
    http::fetch(plan.http(), req, &url, "poll", limits).await
}

/// A header as text, if present and visible ASCII.
fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The message of an answer if it is news, remembering it as delivered.
fn news(f: Fetched, resume: &mut Resume) -> Option<Message> {
    if !f.status.is_success() || f.status == StatusCode::NO_CONTENT {
        return None;
    }
    let etag = header(&f.headers, ETAG);
    let seen = match &etag {
        Some(e) => resume.etag.as_ref() == Some(e),
        None => resume.last_body.as_ref() == Some(&f.body),
    };
    if seen {
        return None;
    }
    resume.last_modified = header(&f.headers, LAST_MODIFIED);
    resume.last_body = etag.is_none().then(|| f.body.clone());
    resume.etag = etag.clone();
    let mut m = Message::new(http::body_data(&f.headers, f.body));
    m.id = etag;
    Some(m)
}

/// Sends the first poll; the session opens with its answer.
pub(crate) async fn open(
    plan: &Plan,
    resume: &mut Resume,
) -> Result<(PollSession, OpenInfo), Error> {
    let fetched = poll(
        plan,
        resume.etag.as_deref(),
        resume.last_modified.as_deref(),
    )
    .await;
    match fetched {
        Ok(f) => {
            let info = OpenInfo {
                transport: Transport::Poll,
                url: f.url.clone(),
                protocol: None,
                headers: http::header_list(&f.headers),
            };
            let first = news(f, resume);
            Ok((PollSession { first }, info))
        }
        Err(e) => {
            resume.server_delay = http::retry_after_of(&e);
            Err(e)
        }
    }
}

/// `interval` ±10 % (an interval too long to scale is used as is).
fn jittered(interval: Duration) -> Duration {
    let factor: f64 = rand::rng().random_range(0.9..=1.1);
    Duration::try_from_secs_f64(interval.as_secs_f64() * factor).unwrap_or(interval)
}

impl PollSession {
    /// Waits, polls, delivers what changed; until the application closes or
    /// a poll fails.
    pub(crate) async fn run(self, link: &mut Link, plan: &Plan, resume: &mut Resume) -> SessionEnd {
        let send_url = plan.options.http.send_url.as_deref();
        let mut next = self.first;
        loop {
            if let Some(m) = next.take() {
                if link.emit(Event::Message(m)).await.is_err() {
                    return SessionEnd::Abandoned;
                }
            }
            let wait = tokio::time::sleep(jittered(plan.options.http.poll_interval));
            let fetched = match serve_while(link, plan.http(), send_url, async {
                wait.await;
                poll(
                    plan,
                    resume.etag.as_deref(),
                    resume.last_modified.as_deref(),
                )
                .await
            })
            .await
            {
                Ok(Wake::Done(r)) => r,
                Ok(Wake::Close(req)) => return SessionEnd::Closed(http::closed_by(req)),
                Err(send_error) => {
                    return SessionEnd::Lost {
                        cause: send_error,
                        close: CloseInfo::abnormal("send failed"),
                    }
                }
            };
            match fetched {
                Ok(f) => next = news(f, resume),
                Err(e) => {
                    resume.server_delay = http::retry_after_of(&e);
                    return SessionEnd::Lost {
                        cause: e,
                        close: CloseInfo::abnormal("poll failed"),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use reqwest::header::HeaderValue;

    fn fetched(status: u16, etag: Option<&str>, body: &'static str) -> Fetched {
        let mut headers = HeaderMap::new();
        if let Some(e) = etag {
            headers.insert(ETAG, HeaderValue::from_str(e).unwrap());
        }
        Fetched {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            url: "http://h/".into(),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn etag_decides_when_present() {
        let mut r = Resume::default();
        let m = news(fetched(200, Some("\"1\""), "a"), &mut r).unwrap();
        assert_eq!(m.id.as_deref(), Some("\"1\""));
        assert!(r.last_body.is_none());
        assert!(news(fetched(200, Some("\"1\""), "a"), &mut r).is_none());
        assert!(news(fetched(304, None, ""), &mut r).is_none());
        assert_eq!(r.etag.as_deref(), Some("\"1\""));
        // A new ETag is news even with the same body.
        assert!(news(fetched(200, Some("\"2\""), "a"), &mut r).is_some());
    }

    #[test]
    fn identical_body_without_validators_is_skipped() {
        let mut r = Resume::default();
        assert!(news(fetched(200, None, "a"), &mut r).is_some());
        assert!(news(fetched(200, None, "a"), &mut r).is_none());
        assert!(news(fetched(204, None, ""), &mut r).is_none());
        let m = news(fetched(200, None, "b"), &mut r).unwrap();
        assert_eq!(m.data.as_text(), Some("b"));
        assert!(news(fetched(200, None, ""), &mut r).is_some());
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        for _ in 0..1000 {
            let d = jittered(Duration::from_millis(1000));
            assert!(d >= Duration::from_millis(900) && d <= Duration::from_millis(1100));
        }
        assert!(jittered(Duration::MAX) > Duration::ZERO);
    }
}
