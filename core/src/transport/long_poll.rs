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

use reqwest::header::{HeaderMap, CACHE_CONTROL, CONTENT_LENGTH};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::event::{CloseInfo, Event, OpenInfo};
use crate::http::{self, serve_while, FetchLimits, Fetched, Wake};
use crate::message::{Data, Message};
use crate::options::{Cursor, CursorFrom, CursorTo, HttpOptions, Options, Transport};
use crate::session::link::{Link, SessionEnd};
use crate::session::resume::Resume;
use crate::transport::Plan;

/// What one answer delivers: its messages and the cursor that came with
/// them.
#[derive(Debug, Default)]
struct Batch {
    messages: Vec<Message>,
    cursor: Option<String>,
}

/// An open long-polling session: the first answer, not yet delivered.
#[derive(Debug)]
pub(crate) struct LongPollSession {
    first: Batch,
}

/// Sends one poll with `cursor` and decodes the answer.
async fn poll(plan: &Plan, cursor: Option<&str>) -> Result<(Fetched, Batch), Error> {
    let opts = &plan.options;
    let (req, url) = request(plan, cursor, plan.options.http.long_poll_post);
    let limits = FetchLimits {
        total: opts.http.long_poll_timeout,
        idle: opts.http.read_timeout,
        max_body: opts.limits.max_message_size,
    };
    let fetched = http::fetch(plan.http(), req, &url, "long poll", limits).await?;
    let batch = decode(&opts.http, &fetched, &url)?;
    Ok((fetched, batch))
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

/// A fatal `Protocol` error about an answer from `url`.
fn protocol(url: &str, what: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Protocol,
        format!("long poll answer from {url}: {what}"),
    )
    .with_retryable(false)
}

/// Checks a cursor taken from an answer: it goes into a header or a query
/// on the next request, so control characters are refused.
fn checked_cursor(url: &str, c: String) -> Result<String, Error> {
    if c.chars().any(char::is_control) {
        return Err(protocol(
            url,
            format_args!("the cursor {c:?} contains control characters"),
        ));
    }
    Ok(c)
}

/// A JSON value as a message payload: a string as its text, anything else as
/// its JSON text.
fn json_data(v: Value) -> Data {
    match v {
        Value::String(s) => Data::from(s),
        other => Data::from(other.to_string()),
    }
}

/// The messages and cursor of an answer, per the options.
fn decode(opts: &HttpOptions, f: &Fetched, url: &str) -> Result<Batch, Error> {
    let no_news = matches!(f.status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED);
    let (data, cursor) = match opts.cursor.as_ref().map(|c| &c.from) {
        Some(CursorFrom::Header(name)) => {
            let cursor = header_cursor(&f.headers, name, url)?;
            let data = if no_news {
                Vec::new()
            } else {
                body_messages(opts, f, url)?
            };
            (data, cursor)
        }
        Some(CursorFrom::JsonField(field)) if !no_news && !is_blank(&f.body) => {
            json_field_messages(field, f, url)?
        }
        Some(CursorFrom::JsonField(_)) => (Vec::new(), None),
        None if no_news => (Vec::new(), None),
        None => (body_messages(opts, f, url)?, None),
    };
    let messages = data
        .into_iter()
        .map(|d| {
            let mut m = Message::new(d);
            m.id = cursor.clone();
            m
        })
        .collect();
    Ok(Batch { messages, cursor })
}

/// Whether a body is empty or only whitespace.
fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// The cursor in header `name`, if present and not empty.
fn header_cursor(headers: &HeaderMap, name: &str, url: &str) -> Result<Option<String>, Error> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(s) if !s.is_empty() => checked_cursor(url, s.to_string()).map(Some),
            Ok(_) => Ok(None),
            Err(_) => Err(protocol(
                url,
                format_args!("the cursor header {name} is not visible ASCII"),
            )),
        },
    }
}

/// The payloads of an answer without a JSON-field cursor.
fn body_messages(opts: &HttpOptions, f: &Fetched, url: &str) -> Result<Vec<Data>, Error> {
    if f.body.is_empty() {
        return Ok(Vec::new());
    }
    if !opts.json_array {
        return Ok(vec![http::body_data(&f.headers, f.body.clone())]);
    }
    if is_blank(&f.body) {
        return Ok(Vec::new());
    }
    match serde_json::from_slice::<Value>(&f.body) {
        Ok(Value::Array(items)) => Ok(items.into_iter().map(json_data).collect()),
        Ok(_) => Err(protocol(
            url,
            "the body is JSON but not an array (json_array)",
        )),
        Err(e) => Err(protocol(
            url,
            format_args!("the body is not JSON (json_array): {e}"),
        )),
    }
}

/// The payloads and cursor of a JSON object body.
fn json_field_messages(
    field: &str,
    f: &Fetched,
    url: &str,
) -> Result<(Vec<Data>, Option<String>), Error> {
    let mut obj = match serde_json::from_slice::<Value>(&f.body) {
        Ok(Value::Object(o)) => o,
        Ok(_) => return Err(protocol(url, "the body is JSON but not an object")),
        Err(e) => return Err(protocol(url, format_args!("the body is not JSON: {e}"))),
    };
    let cursor = match obj.remove(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(checked_cursor(url, s)?),
        Some(n @ Value::Number(_)) => Some(n.to_string()),
        Some(_) => {
            return Err(protocol(
                url,
                format_args!("the cursor field {field:?} is neither a string nor a number"),
            ))
        }
    };
    let data = match obj.remove("messages") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.into_iter().map(json_data).collect(),
        Some(_) => return Err(protocol(url, "the messages field is not an array")),
    };
    Ok((data, cursor))
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
        Ok((fetched, first)) => {
            let info = OpenInfo {
                transport: Transport::LongPoll,
                url: fetched.url.clone(),
                protocol: None,
                headers: http::header_list(&fetched.headers),
            };
            Ok((LongPollSession { first }, info))
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
            batch = match next.await {
                Ok(Wake::Done(Ok((_, b)))) => b,
                Ok(Wake::Done(Err(e))) => {
                    resume.server_delay = http::retry_after_of(&e);
                    return SessionEnd::Lost {
                        cause: e,
                        close: CloseInfo::abnormal("long poll failed"),
                    };
                }
                Ok(Wake::Close(req)) => return SessionEnd::Closed(http::closed_by(req)),
                Err(send_error) => {
                    return SessionEnd::Lost {
                        cause: send_error,
                        close: CloseInfo::abnormal("send failed"),
                    }
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use reqwest::header::HeaderValue;

    fn fetched(status: u16, headers: &[(&str, &str)], body: &str) -> Fetched {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        Fetched {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            url: "http://h/".into(),
            body: Bytes::from(body.to_string()),
        }
    }

    fn texts(b: &Batch) -> Vec<&str> {
        b.messages
            .iter()
            .map(|m| m.data.as_text().unwrap())
            .collect()
    }

    #[test]
    fn query_param_is_replaced_and_others_kept() {
        let mut u = url::Url::parse("http://h/p?a=1%202&cursor=old&b").unwrap();
        set_query_param(&mut u, "cursor", "x y&z");
        assert_eq!(u.as_str(), "http://h/p?a=1%202&b&cursor=x+y%26z");
        let mut u = url::Url::parse("http://h/p").unwrap();
        set_query_param(&mut u, "c", "1");
        assert_eq!(u.as_str(), "http://h/p?c=1");
    }

    #[test]
    fn plain_body_json_array_and_empty() {
        let mut o = HttpOptions::default();
        let b = decode(&o, &fetched(200, &[], "[1,2]"), "u").unwrap();
        assert_eq!(texts(&b), ["[1,2]"]);
        o.json_array = true;
        let b = decode(&o, &fetched(200, &[], r#"["a",{"b":1},3]"#), "u").unwrap();
        assert_eq!(texts(&b), ["a", r#"{"b":1}"#, "3"]);
        assert!(decode(&o, &fetched(200, &[], ""), "u")
            .unwrap()
            .messages
            .is_empty());
        let e = decode(&o, &fetched(200, &[], r#"{"a":1}"#), "u").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(!e.is_retryable());
        assert!(decode(&o, &fetched(204, &[], ""), "u")
            .unwrap()
            .messages
            .is_empty());
    }

    #[test]
    fn binary_body() {
        let o = HttpOptions::default();
        let f = fetched(200, &[("content-type", "application/octet-stream")], "ab");
        let b = decode(&o, &f, "u").unwrap();
        assert_eq!(b.messages[0].data, Data::from(&b"ab"[..]));
    }

    #[test]
    fn header_cursor_and_ids() {
        let o = HttpOptions {
            cursor: Some(Cursor::new(CursorFrom::Header("X-Cursor".into()))),
            ..HttpOptions::default()
        };
        let b = decode(&o, &fetched(200, &[("x-cursor", "7")], "hi"), "u").unwrap();
        assert_eq!(b.cursor.as_deref(), Some("7"));
        assert_eq!(b.messages[0].id.as_deref(), Some("7"));
        let b = decode(&o, &fetched(204, &[("x-cursor", "8")], ""), "u").unwrap();
        assert_eq!((b.messages.len(), b.cursor.as_deref()), (0, Some("8")));
        let b = decode(&o, &fetched(200, &[], "x"), "u").unwrap();
        assert_eq!(b.cursor, None);
    }

    #[test]
    fn json_field_cursor() {
        let o = HttpOptions {
            cursor: Some(Cursor::new(CursorFrom::JsonField("next".into()))),
            ..HttpOptions::default()
        };
        let body = r#"{"next":"c2","messages":["a",{"b":[1]},null]}"#;
        let b = decode(&o, &fetched(200, &[], body), "u").unwrap();
        assert_eq!(texts(&b), ["a", r#"{"b":[1]}"#, "null"]);
        assert_eq!(b.messages[1].id.as_deref(), Some("c2"));
        let b = decode(&o, &fetched(200, &[], r#"{"next":42}"#), "u").unwrap();
        assert_eq!((b.messages.len(), b.cursor.as_deref()), (0, Some("42")));
        for bad in [
            "[1]",
            "nope",
            r#"{"next":[1]}"#,
            r#"{"next":"a","messages":"x"}"#,
            r#"{"next":"a\nb"}"#,
        ] {
            let e = decode(&o, &fetched(200, &[], bad), "u").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "{bad}");
        }
        assert!(decode(&o, &fetched(200, &[], " "), "u")
            .unwrap()
            .cursor
            .is_none());
    }
}
