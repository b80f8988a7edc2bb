//! HTTP plumbing shared by the HTTP transports (SSE, long polling, polling,
//! streaming): one reqwest client per connection with the same TLS settings
//! as WebSocket, proxies, redirects, decompression and HTTP/2; request
//! building; refused-response errors; idle-timed body reads; and `send` as
//! POSTs to `send_url` while a transport waits for something else.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, ORIGIN, USER_AGENT};
use reqwest::{Method, RequestBuilder, Response, StatusCode};

use crate::error::{Error, ErrorKind};
use crate::message::Data;
use crate::options::Options;
use crate::session::link::{close_requested, CloseRequest, Link};
use crate::target::Target;

/// Most of a refused response's body kept in the error.
const BODY_EXCERPT: usize = 64 << 10;

/// The HTTP side of a connection: a client and what every request carries.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
    headers: HeaderMap,
}

fn redirect_policy(max: usize) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let downgrade = attempt
            .previous()
            .last()
            .is_some_and(|prev| prev.scheme() == "https")
            && attempt.url().scheme() == "http";
        if downgrade {
            attempt.error("refused a redirect from https to http")
        } else if attempt.previous().len() > max {
            attempt.error(format!("more than {max} redirects"))
        } else {
            attempt.follow()
        }
    })
}

impl HttpClient {
    /// Builds the client for `target` from the options; `tls` is the rustls
    /// config offering h2 and http/1.1.
    pub fn new(target: &Target, opts: &Options, tls: rustls::ClientConfig) -> Result<Self, Error> {
        let mut b = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(opts.open_timeout)
            .redirect(redirect_policy(opts.http.max_redirects))
            .tcp_nodelay(true);
        // The same proxy rules as WebSocket (crate::proxy), not reqwest's own.
        b = match crate::proxy::for_reqwest(&opts.proxy)? {
            Some(p) => b.proxy(p),
            None => b.no_proxy(),
        };
        let client = b.build().map_err(|e| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("HTTP client setup: {e}"),
            )
        })?;
        let headers = base_headers(target, opts)?;
        Ok(HttpClient { client, headers })
    }

    /// A request carrying the user's headers.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.client
            .request(method, url)
            .headers(self.headers.clone())
    }

    /// Sends a request; failures become typed errors naming `url`.
    pub async fn send(&self, req: RequestBuilder, url: &str) -> Result<Response, Error> {
        req.send().await.map_err(|e| request_error(e, url))
    }

    /// POSTs one message to `url`: text as `text/plain; charset=utf-8`,
    /// binary as `application/octet-stream`.
    pub async fn post_message(&self, url: &str, data: Data) -> Result<(), Error> {
        let (ctype, body) = match data {
            Data::Text(t) => ("text/plain; charset=utf-8", t.into_bytes()),
            Data::Binary(b) => ("application/octet-stream", b),
        };
        let req = self
            .request(Method::POST, url)
            .header(reqwest::header::CONTENT_TYPE, ctype)
            .body(body);
        let resp = self.send(req, url).await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(refused(resp, url, "send").await)
        }
    }
}

/// The headers every request of a connection carries, whatever the
/// transport: the user's headers, `Origin`, and `Authorization: Basic` from
/// the URL's userinfo (unless the user set `Authorization`; marked
/// sensitive so it is never logged).
pub(crate) fn base_headers(target: &Target, opts: &Options) -> Result<HeaderMap, Error> {
    let mut headers = HeaderMap::new();
    for (name, value) in &opts.headers {
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("header {name:?}: {e}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("header {name}: {e}")))?;
        headers.append(name, value);
    }
    if let Some(ua) = &opts.user_agent {
        if !headers.contains_key(USER_AGENT) {
            let v = HeaderValue::from_str(ua)
                .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("user_agent: {e}")))?;
            headers.insert(USER_AGENT, v);
        }
    }
    if let Some(origin) = &opts.origin {
        let v = HeaderValue::from_str(origin)
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, format!("origin: {e}")))?;
        headers.insert(ORIGIN, v);
    }
    if let Some(auth) = &target.basic_auth {
        if !headers.contains_key(AUTHORIZATION) {
            let mut v = HeaderValue::from_str(auth)
                .map_err(|e| Error::new(ErrorKind::InvalidUrl, format!("credentials: {e}")))?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
    }
    Ok(headers)
}

/// Maps a reqwest error to our kinds by its cause.
pub(crate) fn request_error(e: reqwest::Error, url: &str) -> Error {
    let tls = {
        let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        let mut found = None;
        while let Some(s) = src {
            if let Some(r) = s.downcast_ref::<rustls::Error>() {
                found = Some(r.to_string());
                break;
            }
            src = s.source();
        }
        found
    };
    let chain = {
        let mut parts = vec![e.to_string()];
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            parts.push(s.to_string());
            src = s.source();
        }
        parts.dedup();
        parts.join(": ")
    };
    let kind = if let Some(t) = &tls {
        return Error::new(
            ErrorKind::Tls,
            format!("TLS handshake with {url} failed: {t}"),
        );
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_connect() {
        ErrorKind::Connect
    } else if e.is_redirect() {
        ErrorKind::Handshake
    } else if e.is_builder() {
        ErrorKind::InvalidUrl
    } else {
        ErrorKind::Io
    };
    Error::new(kind, format!("request to {url} failed: {chain}")).with_source(e)
}

/// The headers of a response as `(lower-case name, value)` pairs.
pub(crate) fn header_list(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// `Retry-After` in seconds, if present and sane.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: u64 = v.trim().parse().ok()?;
    Some(Duration::from_secs(secs.min(24 * 3600)))
}

/// An error for a response the transport cannot use, with its status,
/// headers and the start of its body. 408, 429 and 5xx are retryable.
pub(crate) async fn refused(resp: Response, url: &str, what: &str) -> Error {
    let status = resp.status();
    let headers = header_list(resp.headers());
    let body = read_excerpt(resp).await;
    let mut msg = format!(
        "{what} to {url} refused: the server answered {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let shown = String::from_utf8_lossy(&body[..body.len().min(200)]);
    if !shown.trim().is_empty() {
        msg = format!("{}: {}", msg.trim_end(), shown.trim());
    }
    Error::new(ErrorKind::Handshake, msg.trim_end().to_string())
        .with_http(status.as_u16(), headers, Some(body))
        .with_retryable(is_retryable_status(status))
}

/// 408, 429 and 5xx.
pub(crate) fn is_retryable_status(s: StatusCode) -> bool {
    s == StatusCode::REQUEST_TIMEOUT || s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error()
}

/// Reads at most [`BODY_EXCERPT`] bytes of a body, within 2 s.
async fn read_excerpt(mut resp: Response) -> Vec<u8> {
    let mut body = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while body.len() < BODY_EXCERPT {
            match resp.chunk().await {
                Ok(Some(c)) => body.extend_from_slice(&c[..c.len().min(BODY_EXCERPT - body.len())]),
                _ => break,
            }
        }
    })
    .await;
    body
}

/// Reads a whole body up to `max` bytes, each read within `idle`.
pub(crate) async fn read_body(
    resp: &mut Response,
    max: usize,
    idle: Duration,
    url: &str,
) -> Result<Bytes, Error> {
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = next_chunk(resp, idle, url).await? {
        if body.len() + chunk.len() > max {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!("response body from {url} is over the limit of {max} bytes"),
            )
            .with_retryable(true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The next body chunk; a stream silent for `idle` is dead.
pub(crate) async fn next_chunk(
    resp: &mut Response,
    idle: Duration,
    url: &str,
) -> Result<Option<Bytes>, Error> {
    match tokio::time::timeout(idle, resp.chunk()).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => {
            let mut err = request_error(e, url);
            if err.kind() == ErrorKind::Io {
                err = Error::new(
                    ErrorKind::Io,
                    format!("{} (the body was cut short)", err.message()),
                );
            }
            Err(err)
        }
        Err(_) => Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "no data from {url} for {} ms (read_timeout)",
                idle.as_millis()
            ),
        )),
    }
}

/// What ended a [`serve_while`] wait.
#[derive(Debug)]
pub(crate) enum Wake<T> {
    /// The awaited future finished.
    Done(T),
    /// The application asked to close.
    Close(CloseRequest),
}

/// Waits for `fut` while answering close requests and sending queued
/// messages (POST to `send_url`, in order). A failed send ends the wait with
/// the error; the message is handed back to the queue's front.
pub(crate) async fn serve_while<T>(
    link: &mut Link,
    http: &HttpClient,
    send_url: Option<&str>,
    fut: impl Future<Output = T>,
) -> Result<Wake<T>, Error> {
    tokio::pin!(fut);
    loop {
        tokio::select! {
            biased;
            req = close_requested(&mut link.close_req) => return Ok(Wake::Close(req)),
            v = &mut fut => return Ok(Wake::Done(v)),
            out = link.outgoing.recv(), if send_url.is_some() => {
                let Some(out) = out else { continue };
                let url = send_url.unwrap_or_default();
                match http.post_message(url, out.data.clone()).await {
                    Ok(()) => link.outgoing.release(&out),
                    Err(e) => {
                        link.outgoing.push_front(out);
                        return Err(e);
                    }
                }
            }
        }
    }
}

pub(crate) use crate::proto::long_poll::{body_data, Fetched};
pub(crate) use crate::proto::stream::Feed;

/// What a body's decoder may change while the body is read: where sends
/// go (an rtwire route session names its own URL; `send_url` otherwise)
/// and whether the server closed the session.
#[derive(Debug, Default)]
pub(crate) struct BodyControl {
    /// The URL sends are POSTed to, when the body named one.
    pub send_url: Option<std::sync::Arc<str>>,
    /// The server's close, once the body announced it.
    pub closed: Option<crate::event::CloseInfo>,
}

/// Where an rtwire route session takes sends: its `rtwire-send` header,
/// resolved against the response's URL.
pub(crate) fn route_send_url(resp: &Response) -> Option<std::sync::Arc<str>> {
    resp.headers()
        .get("rtwire-send")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| resp.url().join(v).ok())
        .map(|u| std::sync::Arc::from(u.as_str()))
}

/// The control, whatever a panic elsewhere left.
pub(crate) fn lock(
    control: &std::sync::Mutex<BodyControl>,
) -> std::sync::MutexGuard<'_, BodyControl> {
    control.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads a streaming body until it ends, handing each chunk to `decode`,
/// which appends whole events (messages, and errors the connection
/// survives) and learns whether the body ended normally ([`Feed::End`]) or
/// was cut short ([`Feed::Cut`]), while answering close requests and
/// sending queued messages. Shared by SSE and HTTP streaming. A decoder
/// error ends the session as lost, after the events appended before it.
/// The decoder may change `control` (see [`BodyControl`]).
pub(crate) async fn pump_events(
    link: &mut Link,
    http: &HttpClient,
    opts: &Options,
    mut resp: Response,
    url: &str,
    control: &std::sync::Mutex<BodyControl>,
    mut decode: impl FnMut(Feed<'_>, &mut Vec<crate::event::Event>) -> Result<(), Error>,
) -> crate::session::link::SessionEnd {
    use crate::event::CloseInfo;
    use crate::session::link::SessionEnd;

    let configured: Option<std::sync::Arc<str>> = opts.http.send_url.as_deref().map(Into::into);
    let idle = opts.http.read_timeout;
    let mut batch = Vec::new();
    loop {
        let send_url = lock(control)
            .send_url
            .clone()
            .or_else(|| configured.clone());
        let chunk = match serve_while(
            link,
            http,
            send_url.as_deref(),
            next_chunk(&mut resp, idle, url),
        )
        .await
        {
            Ok(Wake::Done(c)) => c,
            Ok(Wake::Close(req)) => return SessionEnd::Closed(closed_by(req)),
            Err(send_error) => {
                return SessionEnd::Lost {
                    cause: send_error,
                    close: CloseInfo::abnormal("send failed"),
                }
            }
        };
        let (step, end) = match chunk {
            Ok(Some(bytes)) => (decode(Feed::Chunk(&bytes), &mut batch), None),
            Ok(None) => (
                decode(Feed::End, &mut batch),
                Some(Error::new(
                    ErrorKind::Closed,
                    format!("{url} ended the stream"),
                )),
            ),
            Err(e) => (decode(Feed::Cut, &mut batch), Some(e)),
        };
        for ev in batch.drain(..) {
            if link.emit(ev).await.is_err() {
                return SessionEnd::Abandoned;
            }
        }
        let closed = lock(control).closed.take();
        if let Some(close) = closed {
            return SessionEnd::peer_closed(close);
        }
        if let Err(e) = step {
            // Reset the decoder for the next session; what it held is
            // part of the broken stream.
            let _ = decode(Feed::Cut, &mut batch);
            batch.clear();
            return SessionEnd::Lost {
                cause: e,
                close: CloseInfo::abnormal("stream error"),
            };
        }
        if let Some(cause) = end {
            return SessionEnd::Lost {
                cause,
                close: CloseInfo::abnormal("stream ended"),
            };
        }
    }
}

/// The close of a session ended by the application's close request.
pub(crate) fn closed_by(req: CloseRequest) -> crate::event::CloseInfo {
    crate::event::CloseInfo {
        code: req.code,
        reason: req.reason,
        clean: true,
        unsent: Vec::new(),
    }
}

/// `Retry-After` of a refused response kept in a retryable error, if any.
pub(crate) fn retry_after_of(e: &Error) -> Option<Duration> {
    if !e.is_retryable() || e.status().is_none() {
        return None;
    }
    let mut map = HeaderMap::new();
    for (name, value) in e.headers() {
        if name.eq_ignore_ascii_case("retry-after") {
            if let Ok(v) = HeaderValue::from_str(value) {
                map.insert(reqwest::header::RETRY_AFTER, v);
            }
        }
    }
    retry_after(&map)
}

/// Bounds of one whole request and response ([`fetch`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FetchLimits {
    /// From sending the request to the end of the body.
    pub total: Duration,
    /// Longest silence while reading the body.
    pub idle: Duration,
    /// Largest body, after decompression.
    pub max_body: usize,
}

/// Sends `req` and reads the whole answer within `limits`: a 2xx or 304
/// answer comes back whole; any other status becomes a [`refused`] error
/// (408, 429 and 5xx retryable, with `Retry-After` in its headers, see
/// [`retry_after_of`]). A body over `max_body` is a retryable `TooLarge`
/// error, found without buffering more than the limit; a body cut short
/// (EOF before `Content-Length`, a chunked body without its last chunk) is
/// an `Io` error, never a shorter body; an answer not complete within
/// `total` is a `Timeout`.
pub(crate) async fn fetch(
    http: &HttpClient,
    req: RequestBuilder,
    url: &str,
    what: &str,
    limits: FetchLimits,
) -> Result<Fetched, Error> {
    let exchange = async {
        let mut resp = http.send(req, url).await?;
        let status = resp.status();
        if !(status.is_success() || status == StatusCode::NOT_MODIFIED) {
            return Err(refused(resp, url, what).await);
        }
        let headers = resp.headers().clone();
        let final_url = resp.url().to_string();
        let body = read_body(&mut resp, limits.max_body, limits.idle, url).await?;
        Ok(Fetched {
            status,
            headers,
            url: final_url,
            body,
        })
    };
    match tokio::time::timeout(limits.total, exchange).await {
        Ok(r) => r,
        Err(_) => Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "{what} to {url} got no complete answer within {} ms",
                limits.total.as_millis()
            ),
        )),
    }
}
