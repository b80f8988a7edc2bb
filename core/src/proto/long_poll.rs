//! Reading a long-poll answer without I/O: its messages and its cursor,
//! from the status, headers and body as `transport::long_poll` fetched
//! them (plain body, JSON array, or a JSON object with a cursor field and a
//! `messages` array; the cursor from a header or that field).

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::message::{Data, Message};
use crate::options::{CursorFrom, HttpOptions};

/// What one answer delivers: its messages and the cursor that came with
/// them.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// The messages, in order.
    pub messages: Vec<Message>,
    /// The cursor the next request sends, if the answer gave one.
    pub cursor: Option<String>,
}

/// A response read whole (by `http::fetch`).
#[derive(Debug)]
pub(crate) struct Fetched {
    /// A 2xx status or 304.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The URL that answered (after redirects).
    pub url: String,
    /// The whole body (decompressed).
    pub body: Bytes,
}

/// A whole response body as a message payload: binary when the
/// `Content-Type` is `application/octet-stream` or the body is not UTF-8,
/// text otherwise.
pub(crate) fn body_data(headers: &HeaderMap, body: Bytes) -> Data {
    let octets = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|e| e.trim().eq_ignore_ascii_case("application/octet-stream"));
    if octets {
        return Data::Binary(body);
    }
    match crate::message::Text::from_utf8(body) {
        Ok(t) => Data::Text(t),
        Err(b) => Data::Binary(b),
    }
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
pub(crate) fn decode(opts: &HttpOptions, f: &Fetched, url: &str) -> Result<Batch, Error> {
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
        return Ok(vec![body_data(&f.headers, f.body.clone())]);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Cursor;
    use bytes::Bytes;
    use http::header::HeaderValue;

    fn fetched(status: u16, headers: &[(&str, &str)], body: &str) -> Fetched {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
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
