//! `rtwire_options`: connection settings.
//!
//! One setter per setting, so settings of new transports are added as new
//! functions without changing existing ones. Each setter returns
//! `RTWIRE_RESULT_OK` or an error and records the error text on the options
//! handle (`rtwire_options_last_error()`).

use std::ffi::c_char;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rtwire::{Cursor, CursorFrom, CursorTo, Framing, Options, Proxy, Reconnect, Transport};

use crate::handle::{from_ptr, to_ptr, Table};
use crate::{arg_str, guard, guard_or, rtwire_result, LastError};

/// A set of connection options (opaque). Create with `rtwire_options_new()`,
/// free with `rtwire_options_free()`. `rtwire_context_connect()` copies the
/// options, so one object can serve many connections and may be freed right
/// after connecting.
///
/// Thread safety: every function may be called from any thread; calls on the
/// same object are serialised internally.
#[derive(Debug)]
pub struct rtwire_options {
    _private: [u8; 0],
}

/// Which transport carries a connection. Pass one of these values to
/// `rtwire_options_set_transport()`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtwire_transport {
    /// Follow the URL scheme: `ws`/`wss` → WebSocket, `http`/`https` → SSE
    /// (the default).
    Auto = 0,
    /// WebSocket (RFC 6455).
    Websocket = 1,
    /// Server-Sent Events.
    Sse = 2,
    /// HTTP long polling.
    LongPoll = 3,
    /// HTTP short polling.
    Poll = 4,
    /// HTTP streaming.
    Stream = 5,
}

impl rtwire_transport {
    pub(crate) fn from_core(t: Transport) -> rtwire_transport {
        match t {
            Transport::WebSocket => rtwire_transport::Websocket,
            Transport::Sse => rtwire_transport::Sse,
            Transport::LongPoll => rtwire_transport::LongPoll,
            Transport::Poll => rtwire_transport::Poll,
            Transport::Stream => rtwire_transport::Stream,
            _ => rtwire_transport::Auto,
        }
    }

    fn to_core(code: u32) -> Option<Transport> {
        Some(match code {
            0 => Transport::Auto,
            1 => Transport::WebSocket,
            2 => Transport::Sse,
            3 => Transport::LongPoll,
            4 => Transport::Poll,
            5 => Transport::Stream,
            _ => return None,
        })
    }
}

#[derive(Debug)]
pub(crate) struct OptionsObj {
    pub(crate) options: Mutex<Options>,
    last_error: LastError,
}

pub(crate) static OPTIONS: Table<OptionsObj> = Table::new(1);

/// The options behind a handle, copied.
pub(crate) fn snapshot(opts: *const rtwire_options) -> Option<Options> {
    let obj = OPTIONS.get(from_ptr(opts))?;
    let o = obj.options.lock().unwrap_or_else(|e| e.into_inner());
    Some(o.clone())
}

/// Creates an options object with every setting at its default and writes
/// it to `*out`.
///
/// Defaults: transport auto; proxy from the environment; no extra headers
/// or subprotocols; open and
/// close timeouts 10 s; keepalive ping every 20 s, peer dead after 20 s;
/// max message 64 MiB, max frame 16 MiB; outgoing queue 8 MiB; event queue
/// 256 events per connection; reconnect on with backoff 500 ms doubling to
/// 30 s, unlimited attempts, first attempt not retried; system TLS roots;
/// certificate verification on.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_NULL_ARGUMENT` (`out` is NULL;
/// nothing is allocated) or `RTWIRE_RESULT_INTERNAL` (too many live
/// handles). `*out` is written only on success. The caller owns the object
/// and frees it with `rtwire_options_free()`. Thread-safe.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_new(out: *mut *mut rtwire_options) -> rtwire_result {
    guard(|| {
        if out.is_null() {
            return rtwire_result::NullArgument;
        }
        let obj = Arc::new(OptionsObj {
            options: Mutex::new(Options::new()),
            last_error: LastError::default(),
        });
        match OPTIONS.insert(obj) {
            Some(h) => {
                // SAFETY: `out` is non-NULL and points to writable storage
                // per the API contract.
                unsafe { *out = to_ptr(h) };
                rtwire_result::Ok
            }
            None => rtwire_result::Internal,
        }
    })
}

/// Frees an options object. Connections made with it are unaffected (they
/// hold a copy).
///
/// Returns `RTWIRE_RESULT_OK`, or `RTWIRE_RESULT_INVALID_HANDLE` for NULL,
/// an already freed object (double free) or a handle of another type.
/// Thread-safe; after it returns, every call with `opts` returns
/// `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_options_free(opts: *mut rtwire_options) -> rtwire_result {
    guard(|| match OPTIONS.remove(from_ptr(opts)) {
        Some(_) => rtwire_result::Ok,
        None => rtwire_result::InvalidHandle,
    })
}

/// Runs a setter on a live options object.
fn with(
    opts: *mut rtwire_options,
    f: impl FnOnce(&mut Options, &LastError) -> rtwire_result,
) -> rtwire_result {
    guard(|| {
        let Some(obj) = OPTIONS.get(from_ptr(opts)) else {
            return rtwire_result::InvalidHandle;
        };
        let mut o = obj.options.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut o, &obj.last_error)
    })
}

/// Takes a string argument or records why not.
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn string(
    p: *const c_char,
    what: &str,
    err: &LastError,
) -> Result<String, rtwire_result> {
    // SAFETY: forwarded contract.
    unsafe { arg_str(p, what) }
        .map(str::to_owned)
        .map_err(|e| err.arg(e, what))
}

/// A duration in milliseconds, at least 1, or records why not.
pub(crate) fn millis(ms: u32, what: &str, err: &LastError) -> Result<Duration, rtwire_result> {
    if ms == 0 {
        return Err(err.fail(
            rtwire_result::InvalidArgument,
            format!("{what} must be at least 1 ms"),
        ));
    }
    Ok(Duration::from_millis(ms.into()))
}

/// A count of at least 1, or records why not.
pub(crate) fn positive(n: usize, what: &str, err: &LastError) -> Result<usize, rtwire_result> {
    if n == 0 {
        return Err(err.fail(
            rtwire_result::InvalidArgument,
            format!("{what} must be at least 1"),
        ));
    }
    Ok(n)
}

/// Sets the transport: one of the `rtwire_transport` values.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`, or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` for a value that is not an
/// `rtwire_transport`.
#[no_mangle]
pub extern "C" fn rtwire_options_set_transport(
    opts: *mut rtwire_options,
    transport: u32,
) -> rtwire_result {
    with(opts, |o, err| match rtwire_transport::to_core(transport) {
        Some(t) => {
            o.transport = t;
            rtwire_result::Ok
        }
        None => err.fail(
            rtwire_result::InvalidArgument,
            format!("{transport} is not an rtwire_transport value"),
        ),
    })
}

/// Adds a request header sent on every connection attempt. Both strings are
/// copied; they must be NUL-terminated UTF-8. The name and value are checked
/// at connect time (an invalid one makes `rtwire_context_connect()` return
/// `RTWIRE_RESULT_INVALID_ARGUMENT`).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT`
/// (not UTF-8).
///
/// # Safety
/// `name` and `value` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_add_header(
    opts: *mut rtwire_options,
    name: *const c_char,
    value: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let name = tri!(unsafe { string(name, "header name", err) });
        // SAFETY: per this function's contract.
        let value = tri!(unsafe { string(value, "header value", err) });
        o.headers.push((name, value));
        rtwire_result::Ok
    })
}

/// Adds a subprotocol to offer (`Sec-WebSocket-Protocol`), in preference
/// order. The string is copied. The server's choice is reported by
/// `rtwire_event_protocol()` on the OPEN event.
///
/// Returns as `rtwire_options_add_header()`.
///
/// # Safety
/// `protocol` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_add_subprotocol(
    opts: *mut rtwire_options,
    protocol: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let p = tri!(unsafe { string(protocol, "subprotocol", err) });
        o.subprotocols.push(p);
        rtwire_result::Ok
    })
}

/// Sets the `Origin` header. The string is copied.
///
/// Returns as `rtwire_options_add_header()`.
///
/// # Safety
/// `origin` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_set_origin(
    opts: *mut rtwire_options,
    origin: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let v = tri!(unsafe { string(origin, "origin", err) });
        o.origin = Some(v);
        rtwire_result::Ok
    })
}

/// Sets the limit on TCP connect + TLS + HTTP handshake, in milliseconds
/// (default 10000).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (0).
#[no_mangle]
pub extern "C" fn rtwire_options_set_open_timeout_ms(
    opts: *mut rtwire_options,
    ms: u32,
) -> rtwire_result {
    with(opts, |o, err| {
        o.open_timeout = tri!(millis(ms, "open timeout", err));
        rtwire_result::Ok
    })
}

/// Sets how long to wait for the peer's reply to our close frame, in
/// milliseconds (default 10000); then the TCP connection is dropped.
///
/// Returns as `rtwire_options_set_open_timeout_ms()`.
#[no_mangle]
pub extern "C" fn rtwire_options_set_close_timeout_ms(
    opts: *mut rtwire_options,
    ms: u32,
) -> rtwire_result {
    with(opts, |o, err| {
        o.close_timeout = tri!(millis(ms, "close timeout", err));
        rtwire_result::Ok
    })
}

/// Sets keepalive: a ping after `interval_ms` without traffic from the peer
/// (0 disables pings), and the peer is declared dead when nothing arrives
/// within `timeout_ms` after a ping. Defaults 20000 and 20000.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (`timeout_ms` is 0).
#[no_mangle]
pub extern "C" fn rtwire_options_set_keepalive(
    opts: *mut rtwire_options,
    interval_ms: u32,
    timeout_ms: u32,
) -> rtwire_result {
    with(opts, |o, err| {
        let timeout = tri!(millis(timeout_ms, "keepalive timeout", err));
        let interval = (interval_ms > 0).then(|| Duration::from_millis(interval_ms.into()));
        o.keepalive.interval = interval;
        o.keepalive.timeout = timeout;
        rtwire_result::Ok
    })
}

/// Sets the largest incoming message in bytes (default 64 MiB). A larger
/// message ends the session with `RTWIRE_RESULT_TOO_LARGE` (close code
/// 1009).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (0).
#[no_mangle]
pub extern "C" fn rtwire_options_set_max_message_size(
    opts: *mut rtwire_options,
    bytes: usize,
) -> rtwire_result {
    with(opts, |o, err| {
        o.limits.max_message_size = tri!(positive(bytes, "max message size", err));
        rtwire_result::Ok
    })
}

/// Sets the largest incoming frame in bytes (default 16 MiB).
///
/// Returns as `rtwire_options_set_max_message_size()`.
#[no_mangle]
pub extern "C" fn rtwire_options_set_max_frame_size(
    opts: *mut rtwire_options,
    bytes: usize,
) -> rtwire_result {
    with(opts, |o, err| {
        o.limits.max_frame_size = tri!(positive(bytes, "max frame size", err));
        rtwire_result::Ok
    })
}

/// Sets the outgoing queue's high-water mark in bytes (default 8 MiB).
/// While more bytes than this wait to be written, sends report
/// `RTWIRE_RESULT_QUEUE_FULL` (or wait, given a timeout).
///
/// Returns as `rtwire_options_set_max_message_size()`.
#[no_mangle]
pub extern "C" fn rtwire_options_set_send_queue_bytes(
    opts: *mut rtwire_options,
    bytes: usize,
) -> rtwire_result {
    with(opts, |o, err| {
        o.limits.send_queue_bytes = tri!(positive(bytes, "send queue bytes", err));
        rtwire_result::Ok
    })
}

/// Sets how many events of one connection may wait, undelivered, in the
/// context's queue (default 256). When the application does not take
/// events, the connection stops reading its socket: memory stays bounded.
///
/// Returns as `rtwire_options_set_max_message_size()`.
#[no_mangle]
pub extern "C" fn rtwire_options_set_event_queue(
    opts: *mut rtwire_options,
    events: usize,
) -> rtwire_result {
    with(opts, |o, err| {
        o.limits.event_queue = tri!(positive(events, "event queue", err));
        rtwire_result::Ok
    })
}

/// Turns reconnecting after a lost session on or off (default on).
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_options_set_reconnect(
    opts: *mut rtwire_options,
    enabled: bool,
) -> rtwire_result {
    with(opts, |o, _| {
        o.reconnect.enabled = enabled;
        rtwire_result::Ok
    })
}

/// Sets the reconnect backoff: the delay before attempt n is drawn from
/// [0, min(max_ms, initial_ms * 2^(n-1))] (defaults 500 and 30000).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (`max_ms` < `initial_ms`).
#[no_mangle]
pub extern "C" fn rtwire_options_set_reconnect_delays(
    opts: *mut rtwire_options,
    initial_ms: u32,
    max_ms: u32,
) -> rtwire_result {
    with(opts, |o, err| {
        if max_ms < initial_ms {
            return err.fail(
                rtwire_result::InvalidArgument,
                format!("reconnect max delay {max_ms} ms is below the initial {initial_ms} ms"),
            );
        }
        let r: Reconnect = o.reconnect;
        o.reconnect = r
            .initial_delay(Duration::from_millis(initial_ms.into()))
            .max_delay(Duration::from_millis(max_ms.into()));
        rtwire_result::Ok
    })
}

/// Gives up reconnecting after `attempts` failed attempts in a row; 0 means
/// never give up (the default).
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_options_set_reconnect_max_attempts(
    opts: *mut rtwire_options,
    attempts: u32,
) -> rtwire_result {
    with(opts, |o, _| {
        o.reconnect.max_attempts = (attempts > 0).then_some(attempts);
        rtwire_result::Ok
    })
}

/// Also retries when the very first connection attempt fails (default off:
/// the first failure is reported as ERROR then CLOSED).
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_options_set_reconnect_initial(
    opts: *mut rtwire_options,
    retry: bool,
) -> rtwire_result {
    with(opts, |o, _| {
        o.reconnect.retry_initial = retry;
        rtwire_result::Ok
    })
}

/// Sets the proxy: `http://[user:pass@]host:port` (HTTP CONNECT),
/// `https://...` (CONNECT over TLS to the proxy), `socks5://` or
/// `socks5h://`; the empty string means never use a proxy. Without this
/// call the proxy comes from the environment (`HTTPS_PROXY` for
/// `wss`/`https`, `HTTP_PROXY` for `ws`/`http`, else `ALL_PROXY`; hosts in
/// `NO_PROXY` connect directly). The string is copied and checked at
/// connect time.
///
/// Returns as `rtwire_options_add_header()`.
///
/// # Safety
/// `proxy_url` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_set_proxy(
    opts: *mut rtwire_options,
    proxy_url: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let url = tri!(unsafe { string(proxy_url, "proxy URL", err) });
        o.proxy = if url.is_empty() {
            Proxy::Disabled
        } else {
            Proxy::Url(url)
        };
        rtwire_result::Ok
    })
}

/// HTTP transports (SSE, long polling, polling, streaming): the URL that
/// sends POST to. Without it, sends on those transports fail with
/// `RTWIRE_RESULT_UNSUPPORTED`. WebSocket ignores it. The string is copied.
///
/// Returns as `rtwire_options_add_header()`.
///
/// # Safety
/// `url` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_set_send_url(
    opts: *mut rtwire_options,
    url: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let v = tri!(unsafe { string(url, "send URL", err) });
        o.http.send_url = Some(v);
        rtwire_result::Ok
    })
}

/// SSE: the `Last-Event-ID` to send on the first request, to resume a
/// stream where an earlier one stopped (later requests send the id of the
/// last event received). The string is copied.
///
/// Returns as `rtwire_options_add_header()`.
///
/// # Safety
/// `id` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_set_last_event_id(
    opts: *mut rtwire_options,
    id: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let v = tri!(unsafe { string(id, "last event id", err) });
        o.http.last_event_id = Some(v);
        rtwire_result::Ok
    })
}

/// HTTP transports: a response that delivers no byte for this long is
/// dead and the connection reconnects (default 60000 ms).
///
/// Returns as `rtwire_options_set_open_timeout_ms()`.
#[no_mangle]
pub extern "C" fn rtwire_options_set_read_timeout_ms(
    opts: *mut rtwire_options,
    ms: u32,
) -> rtwire_result {
    with(opts, |o, err| {
        o.http.read_timeout = tri!(millis(ms, "read timeout", err));
        rtwire_result::Ok
    })
}

/// How an HTTP streaming body is cut into messages. Pass one of these values
/// to `rtwire_options_set_framing()`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtwire_framing {
    /// Each line (LF or CRLF ended) is one text message (the default).
    Lines = 0,
    /// Each line is one JSON value (NDJSON), delivered as a text message; a
    /// line that is not JSON is a protocol error. Blank lines are skipped.
    Ndjson = 1,
    /// Each received chunk is one binary message, as it arrived.
    Chunks = 2,
}

impl rtwire_framing {
    fn to_core(code: u32) -> Option<Framing> {
        Some(match code {
            0 => Framing::Lines,
            1 => Framing::Ndjson,
            2 => Framing::Chunks,
            _ => return None,
        })
    }
}

/// Whether `s` is an HTTP token (a valid header name).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Takes a header-name argument or records why not.
///
/// # Safety
/// As [`arg_str`].
unsafe fn header_name(
    p: *const c_char,
    what: &str,
    err: &LastError,
) -> Result<String, rtwire_result> {
    // SAFETY: forwarded contract.
    let s = unsafe { string(p, what, err) }?;
    if !is_token(&s) {
        return Err(err.fail(
            rtwire_result::InvalidArgument,
            format!("{what} {s:?} is not a valid HTTP header name"),
        ));
    }
    Ok(s)
}

/// Short polling: the time between requests, in milliseconds (default
/// 5000; each wait varies by ±10 %).
///
/// Returns as `rtwire_options_set_open_timeout_ms()` (0 is
/// `RTWIRE_RESULT_INVALID_ARGUMENT`).
#[no_mangle]
pub extern "C" fn rtwire_options_set_poll_interval_ms(
    opts: *mut rtwire_options,
    ms: u32,
) -> rtwire_result {
    with(opts, |o, err| {
        o.http.poll_interval = tri!(millis(ms, "poll interval", err));
        rtwire_result::Ok
    })
}

/// Long polling: the longest a request may be held by the server before it
/// counts as failed, in milliseconds (default 65000: a 60 s hold plus a
/// margin). Set it above the server's hold time.
///
/// Returns as `rtwire_options_set_open_timeout_ms()` (0 is
/// `RTWIRE_RESULT_INVALID_ARGUMENT`).
#[no_mangle]
pub extern "C" fn rtwire_options_set_long_poll_timeout_ms(
    opts: *mut rtwire_options,
    ms: u32,
) -> rtwire_result {
    with(opts, |o, err| {
        o.http.long_poll_timeout = tri!(millis(ms, "long-poll timeout", err));
        rtwire_result::Ok
    })
}

/// Long polling: send POST instead of GET (default off).
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_options_set_long_poll_post(
    opts: *mut rtwire_options,
    post: bool,
) -> rtwire_result {
    with(opts, |o, _| {
        o.http.long_poll_post = post;
        rtwire_result::Ok
    })
}

/// Long polling: deliver a JSON array body as one message per element
/// (default off: the whole body is one message).
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_options_set_json_array(
    opts: *mut rtwire_options,
    enabled: bool,
) -> rtwire_result {
    with(opts, |o, _| {
        o.http.json_array = enabled;
        rtwire_result::Ok
    })
}

/// Sets where the cursor comes from, creating the cursor (sent as the query
/// parameter `cursor`) when there is none.
fn set_cursor_from(o: &mut Options, from: CursorFrom) {
    match &mut o.http.cursor {
        Some(c) => c.from = from,
        None => o.http.cursor = Some(Cursor::new(from)),
    }
}

/// The cursor a destination or initial value applies to, or the error
/// saying that a source must be chosen first.
fn cursor_mut<'a>(o: &'a mut Options, err: &LastError) -> Result<&'a mut Cursor, rtwire_result> {
    o.http.cursor.as_mut().ok_or_else(|| {
        err.fail(
            rtwire_result::InvalidArgument,
            "no cursor source yet: call rtwire_options_set_cursor_from_header() or \
             rtwire_options_set_cursor_from_json_field() first",
        )
    })
}

/// Long polling: take the cursor from this response header (e.g.
/// `X-Cursor`) and send it with the next request, so nothing is skipped or
/// repeated across errors and reconnects. Turns cursor handling on; by
/// default the cursor is sent as the query parameter `cursor` (see
/// `rtwire_options_set_cursor_to_query()` and `_to_header()`). Replaces an
/// earlier source, keeping the destination and initial value. The name is
/// copied.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (not a
/// valid header name, e.g. empty or with spaces; not UTF-8).
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_set_cursor_from_header(
    opts: *mut rtwire_options,
    name: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let n = tri!(unsafe { header_name(name, "cursor header", err) });
        set_cursor_from(o, CursorFrom::Header(n));
        rtwire_result::Ok
    })
}

/// Long polling: take the cursor from this top-level field of a JSON object
/// body (e.g. `cursor`); the messages are then the elements of the body's
/// `messages` array. Otherwise as `rtwire_options_set_cursor_from_header()`.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (empty;
/// not UTF-8).
///
/// # Safety
/// `field` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_set_cursor_from_json_field(
    opts: *mut rtwire_options,
    field: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let f = tri!(unsafe { string(field, "cursor JSON field", err) });
        if f.is_empty() {
            return err.fail(
                rtwire_result::InvalidArgument,
                "the cursor JSON field name is empty",
            );
        }
        set_cursor_from(o, CursorFrom::JsonField(f));
        rtwire_result::Ok
    })
}

/// Long polling: send the cursor as this query parameter (the default is
/// `cursor`). Call after choosing a source. The name is copied.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (empty;
/// not UTF-8; no cursor source set yet).
///
/// # Safety
/// `param` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_set_cursor_to_query(
    opts: *mut rtwire_options,
    param: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let p = tri!(unsafe { string(param, "cursor query parameter", err) });
        if p.is_empty() {
            return err.fail(
                rtwire_result::InvalidArgument,
                "the cursor query parameter name is empty",
            );
        }
        tri!(cursor_mut(o, err)).to = CursorTo::Query(p);
        rtwire_result::Ok
    })
}

/// Long polling: send the cursor in this request header instead of the
/// query. Call after choosing a source. The name is copied.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (not a
/// valid header name; not UTF-8; no cursor source set yet).
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_set_cursor_to_header(
    opts: *mut rtwire_options,
    name: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let n = tri!(unsafe { header_name(name, "cursor header", err) });
        tri!(cursor_mut(o, err)).to = CursorTo::Header(n);
        rtwire_result::Ok
    })
}

/// Long polling: the cursor of the first request (default none: the first
/// request carries no cursor). Call after choosing a source. The value is
/// copied.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT`
/// (control characters; not UTF-8; no cursor source set yet).
///
/// # Safety
/// `value` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_set_cursor_initial(
    opts: *mut rtwire_options,
    value: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let v = tri!(unsafe { string(value, "initial cursor", err) });
        if v.chars().any(char::is_control) {
            return err.fail(
                rtwire_result::InvalidArgument,
                "the initial cursor must not contain control characters",
            );
        }
        tri!(cursor_mut(o, err)).initial = Some(v);
        rtwire_result::Ok
    })
}

/// HTTP streaming: how the body is cut into messages, one of the
/// `rtwire_framing` values (default `RTWIRE_FRAMING_LINES`).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (not an `rtwire_framing` value).
#[no_mangle]
pub extern "C" fn rtwire_options_set_framing(
    opts: *mut rtwire_options,
    framing: u32,
) -> rtwire_result {
    with(opts, |o, err| match rtwire_framing::to_core(framing) {
        Some(f) => {
            o.http.framing = f;
            rtwire_result::Ok
        }
        None => err.fail(
            rtwire_result::InvalidArgument,
            format!("{framing} is not an rtwire_framing value"),
        ),
    })
}

/// SSE and line framing: the longest line in bytes (default 1 MiB). A
/// longer line is a `RTWIRE_RESULT_TOO_LARGE` error (then a reconnect).
///
/// Returns as `rtwire_options_set_max_message_size()` (0 is
/// `RTWIRE_RESULT_INVALID_ARGUMENT`).
#[no_mangle]
pub extern "C" fn rtwire_options_set_max_line(
    opts: *mut rtwire_options,
    bytes: usize,
) -> rtwire_result {
    with(opts, |o, err| {
        o.http.max_line = tri!(positive(bytes, "max line", err));
        rtwire_result::Ok
    })
}

/// SSE: retry on 5xx and 429 answers, honouring `Retry-After`, instead of
/// failing the connection (default off, as the SSE standard says).
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_options_set_retry_server_errors(
    opts: *mut rtwire_options,
    retry: bool,
) -> rtwire_result {
    with(opts, |o, _| {
        o.http.retry_server_errors = retry;
        rtwire_result::Ok
    })
}

/// HTTP transports: the most redirects followed (default 10; 0 follows
/// none, so a redirect fails the connection). Credentials are not sent to
/// another origin and an https→http redirect is refused.
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_options_set_max_redirects(
    opts: *mut rtwire_options,
    redirects: u32,
) -> rtwire_result {
    with(opts, |o, _| {
        o.http.max_redirects = redirects as usize;
        rtwire_result::Ok
    })
}

/// WebSocket to an rtwire server: offer the subprotocol `rtwire.v1`, under
/// which every message carries its id (`rtwire_event_id()`), and resume
/// with `?cursor=ID` after a reconnect, so nothing is lost or repeated.
/// Default off (other servers would not know it); `RTWIRE_TRANSPORT_AUTO`
/// turns it on for the WebSocket an rtwire server offers.
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_options_set_rtwire_protocol(
    opts: *mut rtwire_options,
    enabled: bool,
) -> rtwire_result {
    with(opts, |o, _| {
        o.rtwire_protocol = enabled;
        rtwire_result::Ok
    })
}

/// Bytes read from the socket at a time (default 2048, at least 256). Kept
/// small so an idle connection costs little memory (about 8 KiB in all);
/// raise it (16–64 KiB) for connections that move large messages.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (below 256).
#[no_mangle]
pub extern "C" fn rtwire_options_set_read_buffer_size(
    opts: *mut rtwire_options,
    bytes: usize,
) -> rtwire_result {
    with(opts, |o, err| {
        if bytes < 256 {
            return err.fail(
                rtwire_result::InvalidArgument,
                format!("read buffer size {bytes} is below the minimum of 256 bytes"),
            );
        }
        o.limits.read_buffer_size = bytes;
        rtwire_result::Ok
    })
}

/// Trusts the CA certificates in this PEM file instead of the system roots.
/// The path is copied; the file is read at connect time (an unreadable file
/// makes `rtwire_context_connect()` return `RTWIRE_RESULT_TLS`).
///
/// Returns as `rtwire_options_add_header()`.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_set_ca_file(
    opts: *mut rtwire_options,
    path: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let p = tri!(unsafe { string(path, "CA file path", err) });
        o.tls.ca_file = Some(p.into());
        o.tls.ca_pem = None;
        rtwire_result::Ok
    })
}

/// Trusts the CA certificates in this PEM text instead of the system roots
/// (the same as `rtwire_options_set_ca_file()` without a file; the later
/// of the two calls wins). The text is copied; unusable text makes
/// `rtwire_context_connect()` return `RTWIRE_RESULT_TLS`.
///
/// Returns as `rtwire_options_add_header()`.
///
/// # Safety
/// `pem` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_set_ca_pem(
    opts: *mut rtwire_options,
    pem: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let p = tri!(unsafe { string(pem, "CA PEM text", err) });
        o.tls.ca_pem = Some(p.into_bytes());
        o.tls.ca_file = None;
        rtwire_result::Ok
    })
}

/// Presents a client certificate: a PEM certificate chain file and a PEM
/// private key file. Paths are copied; files are read at connect time.
///
/// Returns as `rtwire_options_add_header()`.
///
/// # Safety
/// `cert_path` and `key_path` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_set_client_cert(
    opts: *mut rtwire_options,
    cert_path: *const c_char,
    key_path: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let c = tri!(unsafe { string(cert_path, "client certificate path", err) });
        // SAFETY: per this function's contract.
        let k = tri!(unsafe { string(key_path, "client key path", err) });
        o.tls.client_cert_file = Some(c.into());
        o.tls.client_key_file = Some(k.into());
        o.tls.client_cert_pem = None;
        o.tls.client_key_pem = None;
        rtwire_result::Ok
    })
}

/// Presents a client certificate given as PEM text: the certificate chain
/// and the private key (the later of this and
/// `rtwire_options_set_client_cert()` wins). The texts are copied.
///
/// Returns as `rtwire_options_add_header()`.
///
/// # Safety
/// `cert_pem` and `key_pem` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_set_client_cert_pem(
    opts: *mut rtwire_options,
    cert_pem: *const c_char,
    key_pem: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let c = tri!(unsafe { string(cert_pem, "client certificate PEM text", err) });
        // SAFETY: per this function's contract.
        let k = tri!(unsafe { string(key_pem, "client key PEM text", err) });
        o.tls.client_cert_pem = Some(c.into_bytes());
        o.tls.client_key_pem = Some(k.into_bytes());
        o.tls.client_cert_file = None;
        o.tls.client_key_file = None;
        rtwire_result::Ok
    })
}

/// Accepts any server certificate when `insecure` is true. Off by default;
/// only for tests against self-signed servers, as it opens the connection
/// to interception.
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_options_set_insecure(
    opts: *mut rtwire_options,
    insecure: bool,
) -> rtwire_result {
    with(opts, |o, _| {
        o.tls.insecure = insecure;
        rtwire_result::Ok
    })
}

/// Copies the text of the last error recorded on this options object into
/// `buf` (at most `cap` bytes including the NUL; truncated to fit; nothing
/// written when `buf` is NULL or `cap` is 0) and returns the full length of
/// the text, excluding the NUL, like `snprintf`. Returns 0 when there is no
/// error text or the handle is invalid. Thread-safe.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_last_error(
    opts: *const rtwire_options,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    guard_or(0, || match OPTIONS.get(from_ptr(opts)) {
        // SAFETY: per this function's contract.
        Some(obj) => unsafe { obj.last_error.copy_to(buf, cap) },
        None => 0,
    })
}
