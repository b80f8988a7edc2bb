//! HTTP long polling: one request at a time (GET, or POST with
//! [`HttpOptions::long_poll_post`](crate::HttpOptions::long_poll_post)),
//! which the server holds until it has news or gives up.
//!
//! # Behaviour
//!
//! - Each request may take up to `long_poll_timeout` in all (the server's
//!   hold plus the body), each body read at most `read_timeout`; the body is
//!   capped at `max_message_size` (a retryable `TooLarge` error). A body cut
//!   short (EOF before `Content-Length`, a chunked body without its last
//!   chunk, an invalid chunk size) is an error, never a shorter message.
//! - A 2xx answer delivers its body: as one message (text when it is UTF-8
//!   and not `application/octet-stream`, else binary); with
//!   [`json_array`](crate::HttpOptions::json_array), one message per element
//!   of a JSON array body (strings as their text, other values as their JSON
//!   text). An empty body carries no message (many servers answer an empty
//!   200 when their hold expires). The next request goes out at once.
//! - 204 and 304 mean "no news": the next request goes out at once.
//! - 408, 429 and 5xx, transport errors and timeouts lose the session: the
//!   connection backs off per the reconnect policy (honouring
//!   `Retry-After`) and starts again with the cursor it had. Any other
//!   status is fatal (an error event, then closed): notably 400, which
//!   long-polling servers answer for an unknown session or cursor, so the
//!   application learns that its position is gone instead of silently
//!   skipping or repeating messages; and 413.
//! - A body that cannot be read as configured (not a JSON array with
//!   `json_array`, not a JSON object with a JSON-field cursor) is a fatal
//!   `Protocol` error: asking again with the same cursor would get the same
//!   answer.
//! - The session opens (the `Open` event) with the first successful answer,
//!   204 and 304 included; its messages follow the `Open` event. Because a
//!   server may hold that first answer, opening may take up to
//!   `open_timeout + long_poll_timeout`.
//! - `send` POSTs to `send_url` while a poll is pending; there is never
//!   more than one poll in flight.
//!
//! # Cursor
//!
//! With [`Cursor`], each answer may carry the cursor of the
//! next request: from a header ([`CursorFrom::Header`]), or from a field of a
//! JSON object body ([`CursorFrom::JsonField`]; the messages are then the
//! elements of its `messages` array, if present, strings as their text and
//! other values as their JSON text; a string cursor is used as is, a number
//! as its JSON text). It goes out as a query parameter or a header
//! ([`CursorTo`]). An answer without a cursor keeps the current one. Each
//! message's `id` is the cursor that came with it.
//!
//! The cursor advances only after every message of its answer was handed to
//! the application's event queue: an answer lost to an error or a reconnect
//! is asked for again with the old cursor, so nothing is skipped or
//! delivered twice (as long as the server keeps its history).

use reqwest::header::{CACHE_CONTROL, CONTENT_LENGTH};
use reqwest::{Method, RequestBuilder};

use crate::error::{Error, ErrorKind};
use crate::event::{CloseInfo, Event, OpenInfo};
use crate::http::{self, serve_while, FetchLimits, Fetched, Wake};
use crate::message::{Data, Message};
use crate::options::{Cursor, CursorTo, Options, Transport};
use crate::proto::long_poll::{decode, Batch};
use crate::session::link::{Link, SessionEnd};
use crate::session::resume::Resume;
use crate::transport::Plan;

/// An open long-polling session: the first answer, not yet delivered.
#[derive(Debug)]
pub(crate) struct LongPollSession {
    first: Batch,
    /// An rtwire application route's session, when the first answer named
    /// one (its `rtwire-send` header): its polls carry the session id.
    route: Option<RoutePoll>,
}

/// The session of an rtwire route polled by this client.
#[derive(Debug)]
struct RoutePoll {
    sid: String,
    send_url: std::sync::Arc<str>,
    /// The server's close, once an answer carried it.
    closed: Option<CloseInfo>,
}

fn fetch_limits(opts: &Options) -> FetchLimits {
    FetchLimits {
        total: opts.http.long_poll_timeout,
        idle: opts.http.read_timeout,
        max_body: opts.limits.max_message_size,
    }
}

/// Sends one poll with `cursor` and decodes the answer; the answer of an
/// rtwire route (`rtwire-send`) is decoded as one.
async fn poll(
    plan: &Plan,
    cursor: Option<&str>,
) -> Result<(Fetched, Batch, Option<RoutePoll>), Error> {
    let opts = &plan.options;
    let (req, url) = request(plan, cursor, plan.options.http.long_poll_post);
    let fetched = http::fetch(plan.http(), req, &url, "long poll", fetch_limits(opts)).await?;
    if let Some(send_url) = fetched
        .headers
        .get("rtwire-send")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url::Url::parse(&fetched.url).ok()?.join(v).ok())
    {
        let (batch, sid, closed) = route_answer(&fetched, &url)?;
        let sid = sid.ok_or_else(|| {
            Error::new(ErrorKind::Protocol, format!("{url} named no session (sid)"))
        })?;
        let route = RoutePoll {
            sid,
            send_url: send_url.as_str().into(),
            closed,
        };
        return Ok((fetched, batch, Some(route)));
    }
    let batch = decode(&opts.http, &fetched, &url)?;
    Ok((fetched, batch, None))
}

/// One answer of an rtwire route's poll: `{"messages": [...], "sid"?,
/// "close"?}`, text messages as strings, binary ones as `{"data",
/// "binary": true}` in base64.
fn route_answer(
    fetched: &Fetched,
    url: &str,
) -> Result<(Batch, Option<String>, Option<CloseInfo>), Error> {
    use base64::Engine as _;
    let bad = |why: &str| {
        Error::new(
            ErrorKind::Protocol,
            format!("poll answer from {url}: {why}"),
        )
    };
    let v: serde_json::Value =
        serde_json::from_slice(&fetched.body).map_err(|e| bad(&e.to_string()))?;
    let mut messages = Vec::new();
    for m in v
        .get("messages")
        .and_then(|m| m.as_array())
        .ok_or_else(|| bad("no messages"))?
    {
        let data = match m {
            serde_json::Value::String(t) => Data::from(t.clone()),
            serde_json::Value::Object(o)
                if o.get("binary").and_then(|b| b.as_bool()) == Some(true) =>
            {
                let b64 = o
                    .get("data")
                    .and_then(|d| d.as_str())
                    .ok_or_else(|| bad("binary without data"))?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| bad(&e.to_string()))?;
                Data::from(bytes)
            }
            _ => return Err(bad("a message is neither text nor binary")),
        };
        messages.push(Message::new(data));
    }
    let sid = v.get("sid").and_then(|s| s.as_str()).map(str::to_string);
    let closed = v.get("close").map(|c| CloseInfo {
        code: c
            .get("code")
            .and_then(|c| c.as_u64())
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(1005),
        reason: c
            .get("reason")
            .and_then(|r| r.as_str())
            .unwrap_or_default()
            .to_string(),
        clean: true,
        unsent: Vec::new(),
    });
    Ok((
        Batch {
            messages,
            cursor: None,
        },
        sid,
        closed,
    ))
}

/// The next poll of a route session.
async fn route_poll(plan: &Plan, sid: &str) -> Result<(Batch, Option<CloseInfo>), Error> {
    let mut url = plan.target.url.clone();
    set_query_param(&mut url, "sid", sid);
    let url = url.to_string();
    let req = plan
        .http()
        .request(Method::GET, &url)
        .header(CACHE_CONTROL, "no-cache");
    let fetched = http::fetch(
        plan.http(),
        req,
        &url,
        "long poll",
        fetch_limits(&plan.options),
    )
    .await?;
    let (batch, _, closed) = route_answer(&fetched, &url)?;
    Ok((batch, closed))
}

/// The request of one poll (POST with `post`), and its URL, carrying the
/// cursor where the options say. Also used by HTTP streaming to resume.
pub(crate) fn request(plan: &Plan, cursor: Option<&str>, post: bool) -> (RequestBuilder, String) {
    let opts = &plan.options.http;
    let mut url = plan.target.url.clone();
    let to = opts.cursor.as_ref().map(|c| &c.to);
    if let (Some(CursorTo::Query(name)), Some(value)) = (to, cursor) {
        set_query_param(&mut url, name, value);
    }
    let url = url.to_string();
    let mut req = if post {
        plan.http()
            .request(Method::POST, &url)
            // Said explicitly: some servers answer 411 to a POST without it.
            .header(CONTENT_LENGTH, "0")
            .body(Vec::<u8>::new())
    } else {
        plan.http().request(Method::GET, &url)
    };
    req = req.header(CACHE_CONTROL, "no-cache");
    if let (Some(CursorTo::Header(name)), Some(value)) = (to, cursor) {
        req = req.header(name.as_str(), value);
    }
    (req, url)
}

/// Sets query parameter `name` to `value`, replacing any with that name and
/// leaving the others exactly as they were written.
fn set_query_param(url: &mut url::Url, name: &str, value: &str) {
    let same_name = |part: &str| {
        let key = part.split('=').next().unwrap_or("");
        url::form_urlencoded::parse(format!("{key}=").as_bytes())
            .next()
            .is_some_and(|(k, _)| k == name)
    };
    let mut parts: Vec<String> = url
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !same_name(p))
        .map(str::to_string)
        .collect();
    let pair: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(name, value)
        .finish();
    parts.push(pair);
    url.set_query(Some(&parts.join("&")));
}

/// The cursor of the next request: the last one delivered, else the
/// configured initial one.
fn current_cursor<'a>(opts: &'a Options, resume: &'a Resume) -> Option<&'a str> {
    resume.cursor.as_deref().or_else(|| {
        opts.http
            .cursor
            .as_ref()
            .and_then(|c: &Cursor| c.initial.as_deref())
    })
}

/// Sends the first poll; the session opens with its answer.
pub(crate) async fn open(
    plan: &Plan,
    resume: &mut Resume,
) -> Result<(LongPollSession, OpenInfo), Error> {
    let cursor = current_cursor(&plan.options, resume).map(str::to_string);
    match poll(plan, cursor.as_deref()).await {
        Ok((fetched, first, route)) => {
            let info = OpenInfo {
                transport: Transport::LongPoll,
                url: fetched.url.clone(),
                protocol: None,
                headers: http::header_list(&fetched.headers),
            };
            Ok((LongPollSession { first, route }, info))
        }
        Err(e) => {
            resume.server_delay = http::retry_after_of(&e);
            Err(e)
        }
    }
}

impl LongPollSession {
    /// Delivers each answer's messages, advances the cursor, polls again;
    /// until the application closes or a poll fails.
    pub(crate) async fn run(self, link: &mut Link, plan: &Plan, resume: &mut Resume) -> SessionEnd {
        if let Some(route) = self.route {
            return run_route(self.first, route, link, plan).await;
        }
        let send_url = plan.options.http.send_url.as_deref();
        let mut batch = self.first;
        loop {
            for m in batch.messages {
                if link.emit(Event::Message(m)).await.is_err() {
                    return SessionEnd::Abandoned;
                }
            }
            if let Some(c) = batch.cursor {
                resume.cursor = Some(c);
            }
            let cursor = current_cursor(&plan.options, resume).map(str::to_string);
            let next = serve_while(link, plan.http(), send_url, poll(plan, cursor.as_deref()));
            let next = next.await;
            if let Ok(Wake::Done(Err(e))) = &next {
                resume.server_delay = http::retry_after_of(e);
            }
            batch = match polled(next) {
                Ok((_, b, _)) => b,
                Err(end) => return end,
            };
        }
    }
}

/// A poll's answer, or how the session ends: the poll failed (lost), the
/// application closed, or a send failed (lost).
fn polled<T>(next: Result<Wake<Result<T, Error>>, Error>) -> Result<T, SessionEnd> {
    match next {
        Ok(Wake::Done(Ok(v))) => Ok(v),
        Ok(Wake::Done(Err(cause))) => Err(SessionEnd::Lost {
            cause,
            close: CloseInfo::abnormal("long poll failed"),
        }),
        Ok(Wake::Close(req)) => Err(SessionEnd::Closed(http::closed_by(req))),
        Err(cause) => Err(SessionEnd::Lost {
            cause,
            close: CloseInfo::abnormal("send failed"),
        }),
    }
}

/// Polls a route session: its messages, sends POSTed to its path, until
/// the server closes it or a poll fails.
async fn run_route(first: Batch, mut route: RoutePoll, link: &mut Link, plan: &Plan) -> SessionEnd {
    let mut batch = first;
    loop {
        for m in batch.messages {
            if link.emit(Event::Message(m)).await.is_err() {
                return SessionEnd::Abandoned;
            }
        }
        if let Some(close) = route.closed.take() {
            return SessionEnd::peer_closed(close);
        }
        let next = serve_while(
            link,
            plan.http(),
            Some(&route.send_url),
            route_poll(plan, &route.sid),
        );
        batch = match polled(next.await) {
            Ok((b, closed)) => {
                route.closed = closed;
                b
            }
            Err(end) => return end,
        };
    }
}

impl LongPollSession {
    /// Whether the server takes this session's sends (an rtwire route).
    pub(crate) fn sends_itself(&self) -> bool {
        self.route.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_param_is_replaced_and_others_kept() {
        let mut u = url::Url::parse("http://h/p?a=1%202&cursor=old&b").unwrap();
        set_query_param(&mut u, "cursor", "x y&z");
        assert_eq!(u.as_str(), "http://h/p?a=1%202&b&cursor=x+y%26z");
        let mut u = url::Url::parse("http://h/p").unwrap();
        set_query_param(&mut u, "c", "1");
        assert_eq!(u.as_str(), "http://h/p?c=1");
    }
}
