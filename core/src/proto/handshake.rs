//! The client side of the WebSocket opening handshake (RFC 6455 §4.1), sans
//! I/O: the request bytes, and the response checked from the bytes read so
//! far. Reading stops at the end of the headers, so the bytes after them —
//! the body of a refusal, or frames the server sent right after its 101 —
//! stay with the caller.

#[cfg(test)]
use http::header::HeaderValue;
use http::header::{HeaderMap, HeaderName};
use url::Url;

use crate::error::{Error, ErrorKind};

/// Largest response head accepted, in bytes.
pub const MAX_HEAD: usize = 64 << 10;
/// Most response headers accepted.
pub const MAX_HEADERS: usize = 100;

/// What the client must find in the response.
#[derive(Debug)]
pub struct ClientHandshake {
    accept: String,
    offered: Vec<String>,
    /// permessage-deflate was offered.
    deflate: bool,
}

/// A parsed response head.
#[derive(Debug)]
pub struct ResponseHead {
    /// Bytes of the head, including the blank line.
    pub len: usize,
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
}

impl ResponseHead {
    /// The first value of a header (name in lower case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `Content-Length`, when present and well formed.
    pub fn content_length(&self) -> Option<usize> {
        let v = self.get("content-length")?;
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        v.parse().ok()
    }
}

fn handshake_error(msg: String) -> Error {
    Error::new(ErrorKind::Handshake, msg)
}

/// Builds the upgrade request for `url` with `headers` (the user's, already
/// validated) and the subprotocols `offered`, offering permessage-deflate
/// when `deflate`.
pub fn request(
    url: &Url,
    headers: &HeaderMap,
    offered: &[String],
    deflate: bool,
) -> (Vec<u8>, ClientHandshake) {
    let key = tokio_tungstenite::tungstenite::handshake::client::generate_key();
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => String::new(),
    };
    let mut target = url.path().to_string();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n").as_bytes());
    out.extend_from_slice(
        b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
    );
    out.extend_from_slice(format!("Sec-WebSocket-Key: {key}\r\n").as_bytes());
    if !offered.is_empty() {
        out.extend_from_slice(
            format!("Sec-WebSocket-Protocol: {}\r\n", offered.join(", ")).as_bytes(),
        );
    }
    if deflate {
        out.extend_from_slice(
            format!(
                "Sec-WebSocket-Extensions: {}\r\n",
                crate::proto::deflate::CLIENT_OFFER
            )
            .as_bytes(),
        );
    }
    let reserved: [HeaderName; 7] = [
        http::header::SEC_WEBSOCKET_EXTENSIONS,
        http::header::HOST,
        http::header::CONNECTION,
        http::header::UPGRADE,
        http::header::SEC_WEBSOCKET_VERSION,
        http::header::SEC_WEBSOCKET_KEY,
        http::header::SEC_WEBSOCKET_PROTOCOL,
    ];
    for (name, value) in headers {
        if reserved.contains(name) {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    (
        out,
        ClientHandshake {
            accept,
            offered: offered.to_vec(),
            deflate,
        },
    )
}

/// Parses the response head from `buf`: `Ok(None)` while incomplete.
///
/// # Errors
/// `Handshake` for a malformed head, more than [`MAX_HEADERS`] headers, or
/// a head over [`MAX_HEAD`] bytes.
pub fn parse(buf: &[u8]) -> Result<Option<ResponseHead>, Error> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut slots);
    match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => {
            let headers = resp
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_ascii_lowercase(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            Ok(Some(ResponseHead {
                len,
                status: resp.code.unwrap_or(0),
                headers,
            }))
        }
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => Err(handshake_error(format!(
            "the handshake response head is over {MAX_HEAD} bytes"
        ))),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(handshake_error(format!(
            "the handshake response has more than {MAX_HEADERS} headers"
        ))),
        Err(e) => Err(handshake_error(format!(
            "malformed handshake response: {e}"
        ))),
    }
}

fn has_token(head: &ResponseHead, name: &str, token: &str) -> bool {
    head.headers
        .iter()
        .filter(|(k, _)| k == name)
        .any(|(_, v)| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

impl ClientHandshake {
    /// Checks a 101 response; returns the chosen subprotocol.
    ///
    /// # Errors
    /// `Handshake` when `Upgrade`/`Connection` are missing, the
    /// `Sec-WebSocket-Accept` is wrong, or the server chose a subprotocol or
    /// an extension that was not offered.
    pub fn verify(&self, head: &ResponseHead) -> Result<Option<String>, Error> {
        debug_assert_eq!(head.status, 101);
        if !has_token(head, "upgrade", "websocket") {
            return Err(handshake_error(
                "the 101 response lacks Upgrade: websocket".into(),
            ));
        }
        if !has_token(head, "connection", "upgrade") {
            return Err(handshake_error(
                "the 101 response lacks Connection: Upgrade".into(),
            ));
        }
        match head.get("sec-websocket-accept") {
            Some(a) if a.trim() == self.accept => {}
            Some(a) => {
                return Err(handshake_error(format!(
                    "wrong Sec-WebSocket-Accept {a:?} (expected {:?})",
                    self.accept
                )))
            }
            None => {
                return Err(handshake_error(
                    "the 101 response lacks Sec-WebSocket-Accept".into(),
                ))
            }
        }
        if let Some(ext) = head
            .get("sec-websocket-extensions")
            .filter(|_| !self.deflate)
        {
            return Err(handshake_error(format!(
                "the server chose extensions {ext:?} that were not offered"
            )));
        }
        match head.get("sec-websocket-protocol").map(str::trim) {
            None | Some("") => Ok(None),
            Some(p) if self.offered.iter().any(|o| o == p) => Ok(Some(p.to_string())),
            Some(p) => Err(handshake_error(format!(
                "the server chose subprotocol {p:?}, which was not offered"
            ))),
        }
    }

    /// The permessage-deflate the server accepted (`None`: declined, or
    /// not offered), messages under `threshold` bytes to go uncompressed.
    ///
    /// # Errors
    /// `Handshake` when the answer is not a valid acceptance of the offer.
    pub(crate) fn deflate(
        &self,
        head: &ResponseHead,
        threshold: usize,
    ) -> Result<Option<crate::proto::deflate::Params>, Error> {
        if !self.deflate {
            return Ok(None);
        }
        let values: Vec<&str> = head
            .headers
            .iter()
            .filter(|(k, _)| k == "sec-websocket-extensions")
            .map(|(_, v)| v.as_str())
            .collect();
        let joined = values.join(", ");
        crate::proto::deflate::client_verify(
            (!values.is_empty()).then_some(joined.as_str()),
            threshold,
        )
        .map_err(handshake_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(accept: &str, extra: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn request_carries_key_version_protocols_and_user_headers() {
        let url = Url::parse("ws://[::1]:9001/chat?room=a%20b").unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-token", HeaderValue::from_static("t"));
        h.insert(http::header::HOST, HeaderValue::from_static("evil"));
        let (bytes, hs) = request(&url, &h, &["chat.v1".into()], false);
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with("GET /chat?room=a%20b HTTP/1.1\r\nHost: [::1]:9001\r\n"),
            "{text}"
        );
        assert!(text.contains("Sec-WebSocket-Version: 13\r\n"));
        assert!(text.contains("Sec-WebSocket-Protocol: chat.v1\r\n"));
        assert!(text.contains("x-token: t\r\n"));
        assert_eq!(
            text.matches("Host:").count() + text.matches("host:").count(),
            1
        );
        assert!(text.ends_with("\r\n\r\n"));
        let head = parse(&response(&hs.accept, "Sec-WebSocket-Protocol: chat.v1\r\n"))
            .unwrap()
            .unwrap();
        assert_eq!(hs.verify(&head).unwrap().as_deref(), Some("chat.v1"));
    }

    #[test]
    fn wrong_accept_unoffered_protocol_or_extension_fail() {
        let url = Url::parse("ws://h/").unwrap();
        let (_, hs) = request(&url, &HeaderMap::new(), &[], false);
        for extra in [
            "",
            "Sec-WebSocket-Protocol: other\r\n",
            "Sec-WebSocket-Extensions: permessage-deflate\r\n",
        ] {
            let accept = if extra.is_empty() {
                "bogus"
            } else {
                hs.accept.as_str()
            };
            let head = parse(&response(accept, extra)).unwrap().unwrap();
            assert_eq!(
                hs.verify(&head).unwrap_err().kind(),
                ErrorKind::Handshake,
                "{extra:?}"
            );
        }
    }

    #[test]
    fn permessage_deflate_is_offered_and_the_answer_checked() {
        let url = Url::parse("ws://h/").unwrap();
        let (bytes, hs) = request(&url, &HeaderMap::new(), &[], true);
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.contains("Sec-WebSocket-Extensions: permessage-deflate; "),
            "{text}"
        );
        let ok = "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n";
        let head = parse(&response(&hs.accept, ok)).unwrap().unwrap();
        assert!(hs.verify(&head).is_ok());
        assert_eq!(hs.deflate(&head, 5).unwrap().unwrap().threshold, 5);
        // Declined: no header, no compression.
        let head = parse(&response(&hs.accept, "")).unwrap().unwrap();
        assert_eq!(hs.deflate(&head, 5).unwrap(), None);
        // An answer that breaks the offer's rules fails the handshake.
        let bad = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=20\r\n";
        let head = parse(&response(&hs.accept, bad)).unwrap().unwrap();
        assert_eq!(
            hs.deflate(&head, 5).unwrap_err().kind(),
            ErrorKind::Handshake
        );
    }

    #[test]
    fn head_is_found_in_pieces_and_the_rest_is_left() {
        let mut buf = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 4\r\n".to_vec();
        assert!(parse(&buf).unwrap().is_none());
        buf.extend_from_slice(b"\r\nnope");
        let head = parse(&buf).unwrap().unwrap();
        assert_eq!((head.status, head.content_length()), (403, Some(4)));
        assert_eq!(&buf[head.len..], b"nope");
    }

    #[test]
    fn too_many_or_too_large_headers_are_refused() {
        let mut many = b"HTTP/1.1 101 OK\r\n".to_vec();
        for i in 0..10_000 {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(parse(&many).unwrap_err().kind(), ErrorKind::Handshake);
        let mut huge = b"HTTP/1.1 101 OK\r\nX: ".to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_HEAD + 1));
        assert_eq!(parse(&huge).unwrap_err().kind(), ErrorKind::Handshake);
        assert!(parse(b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n").is_err());
    }

    #[test]
    fn content_length_must_be_plain_digits() {
        for (v, want) in [("12", Some(12)), ("+3", None), ("", None), ("1 2", None)] {
            let buf = format!("HTTP/1.1 404 X\r\nContent-Length: {v}\r\n\r\n");
            assert_eq!(
                parse(buf.as_bytes()).unwrap().unwrap().content_length(),
                want,
                "{v:?}"
            );
        }
    }
}
