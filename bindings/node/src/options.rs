//! Options from JavaScript, converted to [`rtwire::Options`].
//!
//! The JavaScript layer has already checked the types (a `TypeError` names
//! the option) and that durations are finite and not negative; every range
//! check on values is the core's (`InvalidArgument`).

use std::time::Duration;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use rtwire::{
    Cursor, CursorFrom, CursorTo, Error, ErrorKind, Framing, Options, Proxy, Reconnect, Transport,
};

impl std::fmt::Debug for NativeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeOptions")
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// Connection options, flattened; durations in milliseconds.
#[napi(object)]
#[derive(Default)]
pub struct NativeOptions {
    /// `websocket`, `sse`, `long_poll`, `poll`, `stream` or `auto`.
    pub transport: Option<String>,
    /// Request headers, as `[name, value]`.
    pub headers: Option<Vec<Vec<String>>>,
    /// Subprotocols to offer.
    pub protocols: Option<Vec<String>>,
    /// The `Origin` header.
    pub origin: Option<String>,
    /// Handshake timeout.
    pub open_timeout: Option<f64>,
    /// Close handshake timeout.
    pub close_timeout: Option<f64>,
    /// Ping/pong keepalive on (default) or off.
    pub keepalive: Option<bool>,
    /// Ping after this much silence.
    pub keepalive_interval: Option<f64>,
    /// Peer dead after this long without an answer to a ping.
    pub keepalive_timeout: Option<f64>,
    /// Largest incoming message in bytes.
    pub max_message_size: Option<f64>,
    /// Largest incoming frame in bytes.
    pub max_frame_size: Option<f64>,
    /// High-water mark of the outgoing queue in bytes.
    pub send_queue_bytes: Option<f64>,
    /// Capacity of the incoming event queue.
    pub event_queue: Option<f64>,
    /// Bytes read from the socket at a time.
    pub read_buffer_size: Option<f64>,
    /// PEM file of CA certificates that replace the system roots.
    pub ca: Option<String>,
    /// PEM file of the client certificate chain.
    pub cert: Option<String>,
    /// PEM file of the client private key.
    pub key: Option<String>,
    /// CA certificates as PEM text (instead of `ca`).
    pub ca_pem: Option<Buffer>,
    /// The client certificate chain as PEM text (instead of `cert`).
    pub cert_pem: Option<Buffer>,
    /// The client private key as PEM text (instead of `key`).
    pub key_pem: Option<Buffer>,
    /// Accept any server certificate.
    pub insecure: Option<bool>,
    /// Reconnect at all.
    pub reconnect: Option<bool>,
    /// Upper bound of the first reconnect delay.
    pub reconnect_initial_delay: Option<f64>,
    /// Cap on every reconnect delay.
    pub reconnect_max_delay: Option<f64>,
    /// Give up after this many failed attempts in a row.
    pub reconnect_max_attempts: Option<f64>,
    /// Retry a failing first attempt too.
    pub retry_initial: Option<bool>,
    /// `env` (default), `none`, or a proxy URL.
    pub proxy: Option<String>,
    /// Where `send` POSTs on HTTP transports.
    pub send_url: Option<String>,
    /// Idle read timeout of HTTP streams.
    pub read_timeout: Option<f64>,
    /// Short-poll interval.
    pub poll_interval: Option<f64>,
    /// Longest a long-poll request may be held.
    pub long_poll_timeout: Option<f64>,
    /// Long polling with POST.
    pub long_poll_post: Option<bool>,
    /// Long polling: a JSON array body is one message per element.
    pub json_array: Option<bool>,
    /// Long polling: where the cursor comes from, `header` or `json`.
    pub cursor_from: Option<String>,
    /// Long polling: the header or JSON field name of the cursor.
    pub cursor_from_name: Option<String>,
    /// Long polling: where the cursor goes, `query` or `header`.
    pub cursor_to: Option<String>,
    /// Long polling: the query parameter or header name.
    pub cursor_to_name: Option<String>,
    /// Long polling: the first cursor.
    pub cursor_initial: Option<String>,
    /// HTTP streaming: `lines`, `ndjson` or `chunks`.
    pub framing: Option<String>,
    /// Longest SSE or framed line in bytes.
    pub max_line: Option<f64>,
    /// SSE: the `Last-Event-ID` of the first request.
    pub last_event_id: Option<String>,
    /// SSE: retry on 5xx and 429.
    pub retry_server_errors: Option<bool>,
    /// Redirects followed at most.
    pub max_redirects: Option<f64>,
}

fn ms(v: f64) -> Duration {
    Duration::from_secs_f64(v.max(0.0) / 1000.0)
}

fn count(v: f64) -> usize {
    if v >= usize::MAX as f64 {
        usize::MAX
    } else {
        v.max(0.0) as usize
    }
}

fn bad(msg: String) -> Error {
    Error::new(ErrorKind::InvalidArgument, msg)
}

impl NativeOptions {
    /// The core options.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown transport, framing, proxy or cursor
    /// place.
    pub(crate) fn into_options(self) -> Result<Options, Error> {
        let mut o = Options::new();
        if let Some(t) = self.transport {
            o.transport = t.parse::<Transport>()?;
        }
        for h in self.headers.unwrap_or_default() {
            match <[String; 2]>::try_from(h) {
                Ok([k, v]) => o.headers.push((k, v)),
                Err(_) => return Err(bad("each header must be a [name, value] pair".into())),
            }
        }
        o.subprotocols = self.protocols.unwrap_or_default();
        o.origin = self.origin;
        if let Some(v) = self.open_timeout {
            o.open_timeout = ms(v);
        }
        if let Some(v) = self.close_timeout {
            o.close_timeout = ms(v);
        }
        if let Some(v) = self.keepalive_interval {
            o.keepalive.interval = Some(ms(v));
        }
        if let Some(v) = self.keepalive_timeout {
            o.keepalive.timeout = ms(v);
        }
        if self.keepalive == Some(false) {
            o.keepalive.interval = None;
        }
        if let Some(v) = self.max_message_size {
            o.limits.max_message_size = count(v);
        }
        if let Some(v) = self.max_frame_size {
            o.limits.max_frame_size = count(v);
        }
        if let Some(v) = self.send_queue_bytes {
            o.limits.send_queue_bytes = count(v);
        }
        if let Some(v) = self.event_queue {
            o.limits.event_queue = count(v);
        }
        if let Some(v) = self.read_buffer_size {
            o.limits.read_buffer_size = count(v);
        }
        o.tls.ca_file = self.ca.map(Into::into);
        o.tls.client_cert_file = self.cert.map(Into::into);
        o.tls.client_key_file = self.key.map(Into::into);
        o.tls.ca_pem = self.ca_pem.map(|b| b.to_vec());
        o.tls.client_cert_pem = self.cert_pem.map(|b| b.to_vec());
        o.tls.client_key_pem = self.key_pem.map(|b| b.to_vec());
        o.tls.insecure = self.insecure.unwrap_or(false);
        let mut r = if self.reconnect == Some(false) {
            Reconnect::disabled()
        } else {
            Reconnect::default()
        };
        if let Some(v) = self.reconnect_initial_delay {
            r = r.initial_delay(ms(v));
        }
        if let Some(v) = self.reconnect_max_delay {
            r = r.max_delay(ms(v));
        }
        if let Some(v) = self.reconnect_max_attempts {
            r = r.max_attempts(v.clamp(0.0, u32::MAX as f64) as u32);
        }
        if let Some(v) = self.retry_initial {
            r = r.retry_initial(v);
        }
        o.reconnect = r;
        o.proxy = match self.proxy.as_deref() {
            None | Some("env") => Proxy::FromEnv,
            Some("none") => Proxy::Disabled,
            Some(url) => Proxy::Url(url.to_string()),
        };
        o.http.send_url = self.send_url;
        if let Some(v) = self.read_timeout {
            o.http.read_timeout = ms(v);
        }
        if let Some(v) = self.poll_interval {
            o.http.poll_interval = ms(v);
        }
        if let Some(v) = self.long_poll_timeout {
            o.http.long_poll_timeout = ms(v);
        }
        o.http.long_poll_post = self.long_poll_post.unwrap_or(false);
        o.http.json_array = self.json_array.unwrap_or(false);
        if let Some(from) = self.cursor_from {
            let name = self.cursor_from_name.unwrap_or_default();
            let from = match from.as_str() {
                "header" => CursorFrom::Header(name),
                "json" => CursorFrom::JsonField(name),
                other => {
                    return Err(bad(format!(
                        "unknown cursor source {other:?} (expected header or json)"
                    )))
                }
            };
            let mut c = Cursor::new(from);
            if let Some(to) = self.cursor_to {
                let name = self.cursor_to_name.unwrap_or_default();
                c.to = match to.as_str() {
                    "query" => CursorTo::Query(name),
                    "header" => CursorTo::Header(name),
                    other => {
                        return Err(bad(format!(
                            "unknown cursor destination {other:?} (expected query or header)"
                        )))
                    }
                };
            }
            c.initial = self.cursor_initial;
            o.http.cursor = Some(c);
        }
        if let Some(f) = self.framing {
            o.http.framing = match f.as_str() {
                "lines" => Framing::Lines,
                "ndjson" => Framing::Ndjson,
                "chunks" => Framing::Chunks,
                other => {
                    return Err(bad(format!(
                        "unknown framing {other:?} (expected lines, ndjson or chunks)"
                    )))
                }
            };
        }
        if let Some(v) = self.max_line {
            o.http.max_line = count(v);
        }
        o.http.last_event_id = self.last_event_id;
        o.http.retry_server_errors = self.retry_server_errors.unwrap_or(false);
        if let Some(v) = self.max_redirects {
            o.http.max_redirects = count(v);
        }
        Ok(o)
    }
}
