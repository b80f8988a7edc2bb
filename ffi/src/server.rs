//! `rtwire_server`: the embedded server (`rtwire::server::Server`), started
//! on a context's runtime; `rtwire_server_options`, its settings; and
//! `rtwire_stats`, a snapshot of its figures.
//!
//! Nothing calls into C from the server's tasks: what the server reports
//! (connections, publishes, client messages) is queued as events of the
//! context, bounded per server, and taken like connection events.

use std::ffi::c_char;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rtwire::server::{Server, ServerEvent, ServerOptions};
use rtwire::Data;
use tokio::sync::Semaphore;

use crate::conn::ConnShared;
use crate::context::{self, rtwire_context, CtxObj, Queued};
use crate::event::EventObj;
use crate::handle::{from_ptr, to_ptr, Table};
use crate::options::{count, string};
use crate::{
    arg_bytes, arg_str, copy_str, guard, guard_or, rtwire_result, rtwire_str, LastError, NulStr,
};
use rtwire::options::{server_spec, Value};

/// A C duration in milliseconds as a schema value (0 is refused by the
/// options that must be longer).
pub(crate) fn millis(ms: u32) -> Value {
    Value::Millis(ms.into())
}

/// Sets server option `name` (its canonical name in
/// `rtwire::options::SERVER_SCHEMA`) through the core, which checks the
/// value; records the core's message when it refuses.
pub(crate) fn apply(s: &mut Settings, err: &LastError, name: &str, value: Value) -> rtwire_result {
    match s.options.set(name, value) {
        Ok(()) => rtwire_result::Ok,
        Err(e) => err.error(&e),
    }
}

/// A count of at least 1, or records why not.
fn positive(n: usize, what: &str, err: &LastError) -> Result<usize, rtwire_result> {
    if n == 0 {
        return Err(err.fail(
            rtwire_result::InvalidArgument,
            format!("{what} must be at least 1"),
        ));
    }
    Ok(n)
}

/// The most bytes a message id of the embedded server takes, including the
/// terminating NUL: an id buffer of this size is never truncated. Ids are
/// `{epoch}-{sequence}` (e.g. `"1f2e3d4c-17"`).
pub const RTWIRE_SERVER_ID_MAX: usize = 64;

/// Settings of an embedded server (opaque). Create with
/// `rtwire_server_options_new()`, free with `rtwire_server_options_free()`.
/// `rtwire_server_start()` copies them, so one object can start many
/// servers and may be freed right after.
///
/// Thread safety: every function may be called from any thread.
#[derive(Debug)]
pub struct rtwire_server_options {
    _private: [u8; 0],
}

/// A running (or stopped) embedded server (opaque), started with
/// `rtwire_server_start()` and freed with `rtwire_server_free()`. It serves
/// named channels over every transport at once on one port:
/// `/ws/{channel}` (WebSocket), `/sse/{channel}`, `/poll/{channel}`,
/// `/stream/{channel}`, `/latest/{channel}`, `POST /publish/{channel}`,
/// `/negotiate/{channel}`, `/healthz` (see docs/server.md), and the
/// application routes added with `rtwire_server_options_add_route()`,
/// whose clients become connections (`RTWIRE_EVENT_TYPE_SERVER_ACCEPTED`)
/// that rooms (`rtwire_server_join()`, `rtwire_server_broadcast_text()`)
/// address by id.
///
/// Thread safety: every function may be called from any thread, also
/// concurrently (e.g. publishes from several threads).
#[derive(Debug)]
pub struct rtwire_server {
    _private: [u8; 0],
}

/// A snapshot of a server's figures (opaque), taken with
/// `rtwire_server_stats()` and freed with `rtwire_stats_free()`.
/// Immutable: its accessors may be called from any thread; views they
/// return are valid until it is freed.
#[derive(Debug)]
pub struct rtwire_stats {
    _private: [u8; 0],
}

/// What `rtwire_server_start()` copies from an options object.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    options: ServerOptions,
    events: bool,
    event_queue: usize,
    client_messages: bool,
    /// Routes and the acceptance hook (see `app`).
    pub(crate) app: crate::app::AppSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            options: ServerOptions::new(),
            events: false,
            event_queue: 256,
            client_messages: false,
            app: crate::app::AppSettings::default(),
        }
    }
}

#[derive(Debug)]
struct OptionsObj {
    settings: Mutex<Settings>,
    last_error: LastError,
}

static OPTIONS: Table<OptionsObj> = Table::new(5);

/// The object behind an `rtwire_server` handle.
#[derive(Debug)]
pub(crate) struct ServerObj {
    ctx: Arc<CtxObj>,
    /// `None` once stopped.
    server: RwLock<Option<Server>>,
    /// Tags the server's events in the context queue.
    source: Arc<ConnShared>,
    addr: SocketAddr,
    base_url: String,
    epoch: String,
    pub(crate) last_error: LastError,
}

impl ServerObj {
    /// Takes the server out, if it still runs.
    fn take(&self) -> Option<Server> {
        self.server
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Cuts the server loose from its context: its queued events are
    /// dropped, no more are queued, and it stops in the background.
    pub(crate) fn detach(&self) {
        self.ctx.shared.purge(&self.source);
        if let Some(server) = self.take() {
            self.ctx.rt.spawn(server.shutdown());
        }
    }

    /// Runs `f` on the running server, or records that it is stopped.
    pub(crate) fn running<R>(&self, f: impl FnOnce(&Server) -> R) -> Result<R, rtwire_result> {
        let g = self.server.read().unwrap_or_else(|e| e.into_inner());
        match g.as_ref() {
            Some(s) => Ok(f(s)),
            None => Err(self.last_error.fail(
                rtwire_result::Closed,
                "the server was stopped with rtwire_server_stop()",
            )),
        }
    }
}

pub(crate) static SERVERS: Table<ServerObj> = Table::new(6);

/// The figures behind an `rtwire_stats` handle.
#[derive(Debug)]
struct StatsObj {
    connections: usize,
    channels: Vec<ChannelRow>,
}

#[derive(Debug)]
struct ChannelRow {
    name: NulStr,
    published: u64,
    history: usize,
    subscribers: usize,
}

static STATS: Table<StatsObj> = Table::new(7);

pub(crate) fn get(server: *const rtwire_server) -> Option<Arc<ServerObj>> {
    SERVERS.get(from_ptr(server))
}

// ---------------------------------------------------------------------------
// Options

/// Creates a server options object with every setting at its default and
/// writes it to `*out`.
///
/// Defaults: bind `127.0.0.1:0` (a free loopback port); history 1000
/// messages per channel; client queue 1024 messages; no token; plain TCP
/// (no TLS); any WebSocket `Origin`; no CORS; WebSocket ping every 20 s;
/// SSE/stream heartbeat every 15 s; long polls held up to 25 s; max message
/// 16 MiB; max 64 request headers; 10 s for a request's headers; no server
/// events; event queue 256; WebSocket client messages published as sent;
/// no routes; every request accepted (no accept decision; 10 s to answer
/// when there is one); route connections' send queues 1 MiB, slow
/// consumers disconnected, no idle timeout.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_NULL_ARGUMENT` (`out` is NULL)
/// or `RTWIRE_RESULT_INTERNAL` (too many live handles). The caller owns the
/// object and frees it with `rtwire_server_options_free()`. Thread-safe.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_options_new(
    out: *mut *mut rtwire_server_options,
) -> rtwire_result {
    guard(|| {
        if out.is_null() {
            return rtwire_result::NullArgument;
        }
        let obj = Arc::new(OptionsObj {
            settings: Mutex::new(Settings::default()),
            last_error: LastError::default(),
        });
        match OPTIONS.insert(obj) {
            Some(h) => {
                // SAFETY: `out` is non-NULL and writable per the contract.
                unsafe { *out = to_ptr(h) };
                rtwire_result::Ok
            }
            None => rtwire_result::Internal,
        }
    })
}

/// Frees a server options object; servers started with it are unaffected.
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE` (NULL,
/// double free, not a server options handle). Thread-safe.
#[no_mangle]
pub extern "C" fn rtwire_server_options_free(opts: *mut rtwire_server_options) -> rtwire_result {
    guard(|| match OPTIONS.remove(from_ptr(opts)) {
        Some(_) => rtwire_result::Ok,
        None => rtwire_result::InvalidHandle,
    })
}

/// Runs a setter on a live server options object.
pub(crate) fn with(
    opts: *mut rtwire_server_options,
    f: impl FnOnce(&mut Settings, &LastError) -> rtwire_result,
) -> rtwire_result {
    guard(|| {
        let Some(obj) = OPTIONS.get(from_ptr(opts)) else {
            return rtwire_result::InvalidHandle;
        };
        let mut s = obj.settings.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut s, &obj.last_error)
    })
}

/// The address to listen on: an IP address and a port, `"127.0.0.1:0"`
/// (the default; port 0 picks a free port, see `rtwire_server_port()`),
/// `"0.0.0.0:8080"`, `"[::1]:9000"`. Host names are not accepted. The
/// string is copied.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (not
/// `IP:PORT`; not UTF-8). An address that cannot be bound makes
/// `rtwire_server_start()` fail with `RTWIRE_RESULT_CONNECT`.
///
/// # Safety
/// `addr` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_options_set_bind(
    opts: *mut rtwire_server_options,
    addr: *const c_char,
) -> rtwire_result {
    with(opts, |s, err| {
        // SAFETY: per this function's contract.
        let a = tri!(unsafe { string(addr, "bind", err) });
        apply(s, err, "bind", Value::Text(a))
    })
}

/// Messages kept per channel for clients that resume (default 1000, at
/// most 2^30).
///
/// This setter and the other `rtwire_server_options_set_*` of the server's
/// options go through the core's server option schema
/// (`docs/server-options.md`), as Python's `rtwire.serve`, Node's `serve()`
/// and `rtwire serve` do: the same values are refused with the same
/// message.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (out of range: 0 or more than 2^30; the
/// reason in `rtwire_server_options_last_error()`).
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_history(
    opts: *mut rtwire_server_options,
    messages: usize,
) -> rtwire_result {
    with(opts, |s, err| apply(s, err, "history", count(messages)))
}

/// How many messages a subscriber may fall behind the live stream before it
/// is cut off (WebSocket: close 1008; SSE and streaming: the response ends
/// and the client resumes from history), default 1024, at most 2^20.
///
/// Returns as `rtwire_server_options_set_history()` (out of range: 0 or
/// more than 2^20).
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_client_queue(
    opts: *mut rtwire_server_options,
    messages: usize,
) -> rtwire_result {
    with(opts, |s, err| {
        apply(s, err, "client_queue", count(messages))
    })
}

/// A bearer token every channel request must carry (`Authorization: Bearer
/// TOKEN` or `?token=TOKEN`), compared in constant time; `""` removes the
/// requirement (the default). The string is copied.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (not
/// UTF-8; control characters or spaces, which no header could carry).
///
/// # Safety
/// `token` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_options_set_token(
    opts: *mut rtwire_server_options,
    token: *const c_char,
) -> rtwire_result {
    with(opts, |s, err| {
        // SAFETY: per this function's contract.
        let t = tri!(unsafe { string(token, "token", err) });
        let v = if t.is_empty() {
            Value::Off
        } else {
            Value::Text(t)
        };
        apply(s, err, "token", v)
    })
}

/// Serves TLS (`https://`, `wss://`) with a PEM certificate chain file and a
/// PEM private key file. Paths are copied; the files are read by
/// `rtwire_server_start()` (unreadable or bad files make it fail with
/// `RTWIRE_RESULT_TLS`).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (not
/// UTF-8).
///
/// # Safety
/// `cert_path` and `key_path` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_options_set_tls(
    opts: *mut rtwire_server_options,
    cert_path: *const c_char,
    key_path: *const c_char,
) -> rtwire_result {
    with(opts, |s, err| {
        // SAFETY: per this function's contract.
        let c = tri!(unsafe { string(cert_path, "tls_cert", err) });
        // SAFETY: per this function's contract.
        let k = tri!(unsafe { string(key_path, "tls_key", err) });
        let mut o = s.options.clone();
        if let Err(e) = o
            .set("tls_cert", Value::Text(c))
            .and_then(|()| o.set("tls_key", Value::Text(k)))
        {
            return err.error(&e);
        }
        s.options = o;
        rtwire_result::Ok
    })
}

/// Allows WebSocket clients with this `Origin` (exact match). Without any
/// call every origin is allowed, including none; after the first call only
/// the origins added are (others get 403). The string is copied.
///
/// Returns as `rtwire_server_options_set_tls()`.
///
/// # Safety
/// `origin` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_options_add_allowed_origin(
    opts: *mut rtwire_server_options,
    origin: *const c_char,
) -> rtwire_result {
    with(opts, |s, err| {
        // SAFETY: per this function's contract.
        let o = tri!(unsafe { string(origin, "allowed_origins", err) });
        let mut list = match s.options.get("allowed_origins") {
            Some(Value::List(l)) => l,
            _ => Vec::new(),
        };
        list.push(o);
        apply(s, err, "allowed_origins", Value::List(list))
    })
}

/// Answers CORS preflights and adds `Access-Control-Allow-Origin`, for
/// browser clients on other origins (default off).
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_cors(
    opts: *mut rtwire_server_options,
    enabled: bool,
) -> rtwire_result {
    with(opts, |s, err| apply(s, err, "cors", Value::Bool(enabled)))
}

/// Accepts permessage-deflate (RFC 7692) from WebSocket clients that offer
/// it (default off), answered without context takeover both ways: no
/// compression state is kept per connection, and a broadcast is compressed
/// once for all its receivers.
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_permessage_deflate(
    opts: *mut rtwire_server_options,
    enabled: bool,
) -> rtwire_result {
    with(opts, |s, err| {
        apply(s, err, "permessage_deflate", Value::Bool(enabled))
    })
}

/// With permessage-deflate: messages under `bytes` bytes are sent
/// uncompressed (default 128).
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_deflate_threshold(
    opts: *mut rtwire_server_options,
    bytes: usize,
) -> rtwire_result {
    with(opts, |s, err| {
        apply(s, err, "deflate_threshold", count(bytes))
    })
}

/// WebSocket ping interval in milliseconds (default 20000); a client silent
/// for this long after a ping, or not taking a write for this long, is
/// disconnected.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (0).
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_ping_interval_ms(
    opts: *mut rtwire_server_options,
    ms: u32,
) -> rtwire_result {
    with(opts, |s, err| apply(s, err, "ping_interval", millis(ms)))
}

/// SSE comment / NDJSON blank-line heartbeat interval in milliseconds
/// (default 15000), so clients' idle timeouts can tell a quiet stream from
/// a dead one.
///
/// Returns as `rtwire_server_options_set_ping_interval_ms()`.
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_heartbeat_ms(
    opts: *mut rtwire_server_options,
    ms: u32,
) -> rtwire_result {
    with(opts, |s, err| apply(s, err, "heartbeat", millis(ms)))
}

/// The longest a long poll is held, in milliseconds (default 25000).
///
/// Returns as `rtwire_server_options_set_ping_interval_ms()`.
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_long_poll_hold_ms(
    opts: *mut rtwire_server_options,
    ms: u32,
) -> rtwire_result {
    with(opts, |s, err| apply(s, err, "long_poll_hold", millis(ms)))
}

/// The largest message accepted from a WebSocket client or a publish body,
/// in bytes (default 16 MiB; over it: close 1009 or 413).
///
/// Returns as `rtwire_server_options_set_history()`.
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_max_message_size(
    opts: *mut rtwire_server_options,
    bytes: usize,
) -> rtwire_result {
    with(opts, |s, err| {
        apply(s, err, "max_message_size", count(bytes))
    })
}

/// The most request headers (default 64, at most 65536; more: 431).
///
/// Returns as `rtwire_server_options_set_history()` (out of range: 0 or
/// more than 65536).
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_max_headers(
    opts: *mut rtwire_server_options,
    headers: usize,
) -> rtwire_result {
    with(opts, |s, err| apply(s, err, "max_headers", count(headers)))
}

/// Time allowed for a request's headers (and a TLS handshake), in
/// milliseconds (default 10000), against slow clients.
///
/// Returns as `rtwire_server_options_set_ping_interval_ms()`.
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_header_timeout_ms(
    opts: *mut rtwire_server_options,
    ms: u32,
) -> rtwire_result {
    with(opts, |s, err| apply(s, err, "header_timeout", millis(ms)))
}

/// The most connections open at once (TCP connections and WebSocket
/// sessions), default 100000; past it a new connection is answered `503`
/// with `Retry-After: 1` (dropped, under TLS) and closed.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (0; the reason in
/// `rtwire_server_options_last_error()`).
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_max_connections(
    opts: *mut rtwire_server_options,
    connections: usize,
) -> rtwire_result {
    with(opts, |s, err| {
        apply(s, err, "max_connections", count(connections))
    })
}

/// The most connections open at once from one IP address; 0 (the default)
/// means no limit (behind a reverse proxy every client has the proxy's
/// address). Past it: as for `rtwire_server_options_set_max_connections()`.
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_max_per_ip(
    opts: *mut rtwire_server_options,
    connections: usize,
) -> rtwire_result {
    let v = if connections == 0 {
        Value::Off
    } else {
        count(connections)
    };
    with(opts, |s, err| apply(s, err, "max_per_ip", v))
}

/// Sets the server option with canonical name `name` from text, as the
/// command line's `rtwire serve` flags take it (`docs/server-options.md`
/// lists every option): `"true"`/`"false"`, whole numbers with an optional
/// `KiB`/`MiB`/`GiB` suffix for sizes, durations with a unit (`"250ms"`,
/// `"10s"`, `"2m"`) or a number of seconds, `"off"` where the option can be
/// off; for `allowed_origins` each call adds one origin. Both strings are
/// copied. The core's server schema checks the value, as it does for the
/// named setters and for every other language.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (an
/// unknown name or a value the option refuses; the reason in
/// `rtwire_server_options_last_error()`).
///
/// # Safety
/// `name` and `value` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_options_set(
    opts: *mut rtwire_server_options,
    name: *const c_char,
    value: *const c_char,
) -> rtwire_result {
    with(opts, |s, err| {
        // SAFETY: per this function's contract.
        let name = tri!(unsafe { string(name, "option name", err) });
        // SAFETY: per this function's contract.
        let value = tri!(unsafe { string(value, &format!("the value of {name}"), err) });
        match s.options.set_text(&name, &value) {
            Ok(()) => rtwire_result::Ok,
            Err(e) => err.error(&e),
        }
    })
}

/// Switches off or unsets the server option with canonical name `name`:
/// no token for `token`, plain TCP for `tls_cert` and `tls_key`, any origin
/// for `allowed_origins`, no limit for `max_per_ip` and `idle_timeout`.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (an
/// unknown name, or an option that cannot be off; the reason in
/// `rtwire_server_options_last_error()`).
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_options_unset(
    opts: *mut rtwire_server_options,
    name: *const c_char,
) -> rtwire_result {
    with(opts, |s, err| {
        // SAFETY: per this function's contract.
        let name = tri!(unsafe { string(name, "option name", err) });
        if server_spec(&name).is_none() {
            return err.fail(
                rtwire_result::InvalidArgument,
                format!("unknown option {name:?}"),
            );
        }
        apply(s, err, &name, Value::Off)
    })
}

/// Reports what happens on the server as events of its context (default
/// off): `RTWIRE_EVENT_TYPE_SERVER_CONNECTED` and `_DISCONNECTED` for
/// clients of WebSocket, SSE and streaming, `_PUBLISHED` for every
/// published message. Take them like connection events;
/// `rtwire_event_server()` tells which server.
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_events(
    opts: *mut rtwire_server_options,
    enabled: bool,
) -> rtwire_result {
    with(opts, |s, _| {
        s.events = enabled;
        rtwire_result::Ok
    })
}

/// Messages WebSocket clients send: when `deliver` is true they are not
/// published but delivered as `RTWIRE_EVENT_TYPE_SERVER_MESSAGE` events
/// (channel and data), and the application publishes what it wants with
/// `rtwire_server_publish_text()` / `_binary()`. Default false: they are
/// published to their channel as sent.
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_client_messages(
    opts: *mut rtwire_server_options,
    deliver: bool,
) -> rtwire_result {
    with(opts, |s, _| {
        s.client_messages = deliver;
        rtwire_result::Ok
    })
}

/// How many events of the server may wait, undelivered, in the context's
/// queue (default 256). The server never waits for the application: when
/// that many are waiting, further events (client messages too) are dropped
/// and counted, and the next event delivered tells how many
/// (`rtwire_event_dropped()`).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (0).
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_event_queue(
    opts: *mut rtwire_server_options,
    events: usize,
) -> rtwire_result {
    with(opts, |s, err| {
        s.event_queue = tri!(positive(events, "event queue", err));
        rtwire_result::Ok
    })
}

/// Copies the text of the last error recorded on this server options object
/// into `buf`, snprintf-style (see `rtwire_options_last_error()`). Returns
/// the full length without the NUL; 0 when there is none or the handle is
/// invalid. Thread-safe.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_options_last_error(
    opts: *const rtwire_server_options,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    guard_or(0, || match OPTIONS.get(from_ptr(opts)) {
        // SAFETY: per this function's contract.
        Some(obj) => unsafe { obj.last_error.copy_to(buf, cap) },
        None => 0,
    })
}

// ---------------------------------------------------------------------------
// Server

/// Queues the server's events in its context, at most `capacity` waiting.
#[derive(Debug)]
pub(crate) struct Reporter {
    queue: Arc<context::Shared>,
    source: Arc<ConnShared>,
    room: Arc<Semaphore>,
    dropped: AtomicU64,
}

impl Reporter {
    /// Queues the event `make` builds once there is room for it (rather
    /// than dropping it); `false` when the server or its context is gone.
    pub(crate) async fn deliver(&self, make: impl FnOnce(usize, u64) -> EventObj) -> bool {
        let Ok(permit) = self.room.clone().acquire_owned().await else {
            return false;
        };
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        self.queue.push(Queued {
            conn: self.source.clone(),
            event: make(self.source.handle(), dropped),
            permit: Some(permit),
        })
    }

    fn report(&self, make: impl FnOnce(usize, u64) -> Option<EventObj>) {
        let Ok(permit) = self.room.clone().try_acquire_owned() else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        // Counted as reported only when an event carries the count.
        let dropped = self.dropped.load(Ordering::Relaxed);
        if let Some(event) = make(self.source.handle(), dropped) {
            self.dropped.fetch_sub(dropped, Ordering::Relaxed);
            self.queue.push(Queued {
                conn: self.source.clone(),
                event,
                permit: Some(permit),
            });
        }
    }
}

/// Starts an embedded server on the context's runtime with a copy of `opts`
/// (NULL means the defaults) and writes its handle to `*out`. Blocks only
/// until the address is bound (TLS files are read first); then the server
/// runs on the context's background thread until `rtwire_server_stop()`,
/// `rtwire_server_free()` or `rtwire_context_free()`.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CONNECT` (the address cannot
/// be bound, e.g. in use), `RTWIRE_RESULT_TLS` (unreadable or bad
/// certificate or key file), `RTWIRE_RESULT_INVALID_ARGUMENT` (inconsistent
/// options), `RTWIRE_RESULT_NULL_ARGUMENT` (`out`) or
/// `RTWIRE_RESULT_INVALID_HANDLE` (`ctx`, or a non-NULL `opts` that is not
/// live). The error text is kept on the context
/// (`rtwire_context_last_error()`). On success the caller owns `*out` and
/// frees it with `rtwire_server_free()`. Thread-safe; do not call it from a
/// thread of another tokio runtime.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_start(
    ctx: *mut rtwire_context,
    opts: *const rtwire_server_options,
    out: *mut *mut rtwire_server,
) -> rtwire_result {
    guard(|| {
        let Some(c) = context::get(ctx) else {
            return rtwire_result::InvalidHandle;
        };
        if out.is_null() {
            return c
                .last_error
                .fail(rtwire_result::NullArgument, "out is NULL");
        }
        let settings = if opts.is_null() {
            Settings::default()
        } else {
            match OPTIONS.get(from_ptr(opts)) {
                Some(o) => o.settings.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                None => {
                    return c.last_error.fail(
                        rtwire_result::InvalidHandle,
                        "opts is not a live server options handle",
                    )
                }
            }
        };
        match start(&c, settings) {
            Ok(h) => {
                // SAFETY: `out` is non-NULL and writable per the contract.
                unsafe { *out = to_ptr(h) };
                rtwire_result::Ok
            }
            Err(r) => r,
        }
    })
}

fn start(c: &Arc<CtxObj>, settings: Settings) -> Result<usize, rtwire_result> {
    let source = Arc::new(ConnShared::new(0));
    let reporter = Arc::new(Reporter {
        queue: c.shared.clone(),
        source: source.clone(),
        room: Arc::new(Semaphore::new(
            settings.event_queue.clamp(1, Semaphore::MAX_PERMITS),
        )),
        dropped: AtomicU64::new(0),
    });
    let options = crate::app::install(
        settings.options.clone(),
        &settings.app,
        &reporter,
        settings.event_queue,
    );
    let server =
        c.rt.block_on(Server::start(options))
            .map_err(|e| c.last_error.error(&e))?;
    let obj = Arc::new(ServerObj {
        ctx: c.clone(),
        addr: server.local_addr(),
        base_url: server.base_url(),
        epoch: server.epoch().to_owned(),
        server: RwLock::new(None),
        source: source.clone(),
        last_error: LastError::default(),
    });
    let Some(h) = SERVERS.insert(obj.clone()) else {
        c.rt.spawn(server.shutdown());
        return Err(c
            .last_error
            .fail(rtwire_result::Internal, "too many live servers"));
    };
    source.set_handle(h);
    if settings.events {
        let r = reporter.clone();
        server.set_observer(Arc::new(move |ev: &ServerEvent| {
            r.report(|h, dropped| EventObj::from_server(ev, h, dropped));
        }));
    }
    if settings.client_messages {
        server.set_handler(Arc::new(move |channel: &str, data: Data| {
            reporter.report(|h, dropped| Some(EventObj::client_message(channel, data, h, dropped)));
            None
        }));
    }
    *obj.server.write().unwrap_or_else(|e| e.into_inner()) = Some(server);
    if !c.adopt(h) {
        SERVERS.remove(h);
        obj.detach();
        return Err(rtwire_result::InvalidHandle);
    }
    Ok(h)
}

/// The port the server listens on (the real one when bound to port 0); 0
/// for an invalid handle. Also valid after `rtwire_server_stop()`.
/// Thread-safe.
#[no_mangle]
pub extern "C" fn rtwire_server_port(server: *const rtwire_server) -> u16 {
    guard_or(0, || get(server).map_or(0, |s| s.addr.port()))
}

/// Copies the bound address (`127.0.0.1:40123`, `[::1]:8080`) into `buf`,
/// snprintf-style: at most `cap` bytes including the NUL, nothing written
/// when `buf` is NULL or `cap` is 0. Returns the full length without the
/// NUL; 0 for an invalid handle. Thread-safe.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_local_addr(
    server: *const rtwire_server,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    guard_or(0, || match get(server) {
        // SAFETY: per this function's contract.
        Some(s) => unsafe { copy_str(&s.addr.to_string(), buf, cap) },
        None => 0,
    })
}

/// Copies the base URL (`http://127.0.0.1:40123`, or `https://...` with
/// TLS) into `buf`, snprintf-style; append `/sse/{channel}` and so on.
/// WebSocket URLs are the same with `ws://` (`wss://`). Returns as
/// `rtwire_server_local_addr()`.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_base_url(
    server: *const rtwire_server,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    guard_or(0, || match get(server) {
        // SAFETY: per this function's contract.
        Some(s) => unsafe { copy_str(&s.base_url, buf, cap) },
        None => 0,
    })
}

/// Copies the ids' epoch (drawn anew every time a server starts; every id
/// is `{epoch}-{sequence}`) into `buf`, snprintf-style. Returns as
/// `rtwire_server_local_addr()`.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_epoch(
    server: *const rtwire_server,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    guard_or(0, || match get(server) {
        // SAFETY: per this function's contract.
        Some(s) => unsafe { copy_str(&s.epoch, buf, cap) },
        None => 0,
    })
}

/// Publishes `data` to `channel` on a live server.
///
/// # Safety
/// `channel` is NULL or a NUL-terminated string; `id_buf` is NULL or
/// points to `id_cap` writable bytes.
unsafe fn publish(
    server: *mut rtwire_server,
    channel: *const c_char,
    data: Result<Data, (crate::ArgError, &str)>,
    id_buf: *mut c_char,
    id_cap: usize,
) -> rtwire_result {
    let Some(s) = get(server) else {
        return rtwire_result::InvalidHandle;
    };
    let err = &s.last_error;
    // SAFETY: per this function's contract.
    let channel = match unsafe { arg_str(channel, "channel") } {
        Ok(c) => c,
        Err(e) => return err.arg(e, "channel"),
    };
    if let Err(e) = rtwire::server::validate_channel(channel) {
        return err.error(&e);
    }
    let data = match data {
        Ok(d) => d,
        Err((e, what)) => return err.arg(e, what),
    };
    let id = tri!(s.running(|srv| srv.publish(channel, data)));
    // SAFETY: per this function's contract.
    unsafe { copy_str(&id, id_buf, id_cap) };
    rtwire_result::Ok
}

/// Publishes a text message (`len` bytes of UTF-8 at `text`, copied; need
/// not be NUL-terminated; `(NULL, 0)` is the empty message) to `channel`:
/// every subscriber gets it, on every transport, and it enters the
/// channel's history. Never blocks on clients.
///
/// When `id_buf` is not NULL and `id_cap` > 0, the new message's id is
/// copied into it snprintf-style (a buffer of `RTWIRE_SERVER_ID_MAX` bytes
/// always fits it).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (the server was
/// stopped), `RTWIRE_RESULT_INVALID_ARGUMENT` (a channel name that is not
/// 1–128 characters of `A-Z a-z 0-9 . _ -`; text not UTF-8),
/// `RTWIRE_RESULT_NULL_ARGUMENT` (`channel`, or `text` with `len` > 0) or
/// `RTWIRE_RESULT_INVALID_HANDLE`. The error text is kept on the server
/// (`rtwire_server_last_error()`). Thread-safe.
///
/// # Safety
/// `channel` is NULL or a NUL-terminated string; `text` points to `len`
/// readable bytes (or `len` is 0); `id_buf` is NULL or points to `id_cap`
/// writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_publish_text(
    server: *mut rtwire_server,
    channel: *const c_char,
    text: *const c_char,
    len: usize,
    id_buf: *mut c_char,
    id_cap: usize,
) -> rtwire_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let data = match unsafe { arg_bytes(text.cast(), len) } {
            Ok(b) => match std::str::from_utf8(b) {
                Ok(t) => Ok(Data::from(t)),
                Err(_) => Err((
                    crate::ArgError::Invalid(
                        "text is not valid UTF-8; publish it as binary".into(),
                    ),
                    "text",
                )),
            },
            Err(e) => Err((e, "text")),
        };
        // SAFETY: per this function's contract.
        unsafe { publish(server, channel, data, id_buf, id_cap) }
    })
}

/// Publishes a binary message (`len` bytes at `data`, copied; `(NULL, 0)`
/// is the empty message). SSE clients get it as event `binary` in base64.
/// Otherwise as `rtwire_server_publish_text()` (without the UTF-8 check).
///
/// # Safety
/// `channel` is NULL or a NUL-terminated string; `data` points to `len`
/// readable bytes (or `len` is 0); `id_buf` is NULL or points to `id_cap`
/// writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_publish_binary(
    server: *mut rtwire_server,
    channel: *const c_char,
    data: *const u8,
    len: usize,
    id_buf: *mut c_char,
    id_cap: usize,
) -> rtwire_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let data = match unsafe { arg_bytes(data, len) } {
            Ok(b) => Ok(Data::from(b)),
            Err(e) => Err((e, "data")),
        };
        // SAFETY: per this function's contract.
        unsafe { publish(server, channel, data, id_buf, id_cap) }
    })
}

/// Drops every live WebSocket session and ends every SSE and streaming
/// response and held poll at once, without close frames, as a network cut
/// would; clients reconnect and resume from history. For tests and
/// demonstrations.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (stopped) or
/// `RTWIRE_RESULT_INVALID_HANDLE`. Never blocks. Thread-safe.
#[no_mangle]
pub extern "C" fn rtwire_server_disconnect_all(server: *mut rtwire_server) -> rtwire_result {
    guard(|| {
        let Some(s) = get(server) else {
            return rtwire_result::InvalidHandle;
        };
        tri!(s.running(Server::disconnect_all));
        rtwire_result::Ok
    })
}

/// Takes a snapshot of the server's figures (open connections; per channel:
/// messages published, messages in history, live subscribers) and writes it
/// to `*out`.
///
/// Returns `RTWIRE_RESULT_OK` (the caller owns `*out` and frees it with
/// `rtwire_stats_free()`), `RTWIRE_RESULT_CLOSED` (stopped),
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_HANDLE`.
/// Thread-safe.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_stats(
    server: *const rtwire_server,
    out: *mut *mut rtwire_stats,
) -> rtwire_result {
    guard(|| {
        let Some(s) = get(server) else {
            return rtwire_result::InvalidHandle;
        };
        if out.is_null() {
            return s
                .last_error
                .fail(rtwire_result::NullArgument, "out is NULL");
        }
        let st = tri!(s.running(Server::stats));
        let obj = StatsObj {
            connections: st.connections,
            channels: st
                .channels
                .iter()
                .map(|c| ChannelRow {
                    name: NulStr::new(&c.name),
                    published: c.published,
                    history: c.history,
                    subscribers: c.subscribers,
                })
                .collect(),
        };
        match STATS.insert(Arc::new(obj)) {
            Some(h) => {
                // SAFETY: `out` is non-NULL and writable per the contract.
                unsafe { *out = to_ptr(h) };
                rtwire_result::Ok
            }
            None => rtwire_result::Internal,
        }
    })
}

/// Reads a field of a live stats snapshot, or gives `none`.
fn stat<R: Copy>(st: *const rtwire_stats, none: R, f: impl FnOnce(&StatsObj) -> R) -> R {
    guard_or(none, || match STATS.get(from_ptr(st)) {
        Some(s) => f(&s),
        None => none,
    })
}

/// Reads a field of channel `index` of a live stats snapshot, or gives
/// `none`.
fn row<R: Copy>(
    st: *const rtwire_stats,
    index: usize,
    none: R,
    f: impl FnOnce(&ChannelRow) -> R,
) -> R {
    stat(st, none, |s| s.channels.get(index).map_or(none, f))
}

/// Open TCP connections (of every kind) at the time of the snapshot; 0 for
/// an invalid handle.
#[no_mangle]
pub extern "C" fn rtwire_stats_connections(st: *const rtwire_stats) -> usize {
    stat(st, 0, |s| s.connections)
}

/// How many channels the snapshot lists (every channel published to or
/// subscribed to since the start), sorted by name; 0 for an invalid
/// handle.
#[no_mangle]
pub extern "C" fn rtwire_stats_channel_count(st: *const rtwire_stats) -> usize {
    stat(st, 0, |s| s.channels.len())
}

/// The name of channel `index` (0-based, in name order). Absent for an
/// index out of range or an invalid handle. Valid until
/// `rtwire_stats_free()`.
#[no_mangle]
pub extern "C" fn rtwire_stats_channel_name(st: *const rtwire_stats, index: usize) -> rtwire_str {
    row(st, index, rtwire_str::ABSENT, |r| r.name.view())
}

/// Messages published to channel `index` since the server started; 0 for
/// an index out of range or an invalid handle.
#[no_mangle]
pub extern "C" fn rtwire_stats_channel_published(st: *const rtwire_stats, index: usize) -> u64 {
    row(st, index, 0, |r| r.published)
}

/// Messages of channel `index` kept in history; 0 for an index out of
/// range or an invalid handle.
#[no_mangle]
pub extern "C" fn rtwire_stats_channel_history(st: *const rtwire_stats, index: usize) -> usize {
    row(st, index, 0, |r| r.history)
}

/// Live subscribers of channel `index` (WebSocket, SSE, streaming, held
/// polls); 0 for an index out of range or an invalid handle.
#[no_mangle]
pub extern "C" fn rtwire_stats_channel_subscribers(st: *const rtwire_stats, index: usize) -> usize {
    row(st, index, 0, |r| r.subscribers)
}

/// Finds a channel of the snapshot by name and writes its index to
/// `*index`.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_ARGUMENT` (no such
/// channel in the snapshot; not UTF-8), `RTWIRE_RESULT_NULL_ARGUMENT`
/// (`channel` or `index`) or `RTWIRE_RESULT_INVALID_HANDLE`. `*index` is
/// written only on success.
///
/// # Safety
/// `channel` is NULL or a NUL-terminated string; `index` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_stats_find(
    st: *const rtwire_stats,
    channel: *const c_char,
    index: *mut usize,
) -> rtwire_result {
    guard(|| {
        let Some(s) = STATS.get(from_ptr(st)) else {
            return rtwire_result::InvalidHandle;
        };
        if index.is_null() {
            return rtwire_result::NullArgument;
        }
        // SAFETY: per this function's contract.
        let name = match unsafe { arg_str(channel, "channel") } {
            Ok(n) => n,
            Err(crate::ArgError::Null) => return rtwire_result::NullArgument,
            Err(crate::ArgError::Invalid(_)) => return rtwire_result::InvalidArgument,
        };
        match s
            .channels
            .iter()
            .position(|r| r.name.as_bytes() == name.as_bytes())
        {
            Some(i) => {
                // SAFETY: non-NULL and writable per the contract.
                unsafe { *index = i };
                rtwire_result::Ok
            }
            None => rtwire_result::InvalidArgument,
        }
    })
}

/// Frees a stats snapshot; its views become invalid.
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE` (NULL,
/// double free, not a snapshot). Thread-safe.
#[no_mangle]
pub extern "C" fn rtwire_stats_free(st: *mut rtwire_stats) -> rtwire_result {
    guard(|| match STATS.remove(from_ptr(st)) {
        Some(_) => rtwire_result::Ok,
        None => rtwire_result::InvalidHandle,
    })
}

/// Stops the server gracefully: it stops accepting, WebSocket clients get
/// close 1001, SSE and streaming responses and held polls end, and the call
/// waits for the connections to finish — at most 5 s, then the rest are
/// dropped. Blocks the calling thread meanwhile; keep in mind that clients
/// on the same context deliver their CLOSED or RECONNECTING events to the
/// queue while it waits.
///
/// Afterwards the handle stays valid until `rtwire_server_free()`:
/// `rtwire_server_port()`, `_local_addr()`, `_base_url()` and `_epoch()`
/// still answer; publishing, `rtwire_server_stats()` and
/// `rtwire_server_disconnect_all()` return `RTWIRE_RESULT_CLOSED`. Events the
/// server queued before stay queued.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (already stopped) or
/// `RTWIRE_RESULT_INVALID_HANDLE`. Thread-safe.
#[no_mangle]
pub extern "C" fn rtwire_server_stop(server: *mut rtwire_server) -> rtwire_result {
    guard(|| {
        let Some(s) = get(server) else {
            return rtwire_result::InvalidHandle;
        };
        let Some(srv) = s.take() else {
            return s.last_error.fail(
                rtwire_result::Closed,
                "rtwire_server_stop() was already called",
            );
        };
        // The core bounds the wait at 5 s; the extra second only guards
        // against a stall of the runtime itself.
        let _ = s
            .ctx
            .rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(6), srv.shutdown()).await });
        rtwire_result::Ok
    })
}

/// Frees a server handle. A server still running is stopped in the
/// background without waiting (clients get close 1001 and stream ends, as
/// far as the context keeps running); for a stop that waits, call
/// `rtwire_server_stop()` first. Its undelivered events are discarded;
/// events already taken stay valid until `rtwire_event_free()`.
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE` (NULL,
/// double free, freed with its context, not a server). Never blocks.
/// Thread-safe; after it returns every call with `server` returns
/// `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_server_free(server: *mut rtwire_server) -> rtwire_result {
    guard(|| {
        let h = from_ptr(server);
        let Some(s) = SERVERS.remove(h) else {
            return rtwire_result::InvalidHandle;
        };
        s.ctx.disown(h);
        s.detach();
        rtwire_result::Ok
    })
}

/// Copies the text of the last error recorded on this server (e.g. why a
/// publish failed) into `buf`, snprintf-style (see
/// `rtwire_context_last_error()`). Returns the full length without the
/// NUL; 0 when there is none or the handle is invalid. Thread-safe.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_last_error(
    server: *const rtwire_server,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    guard_or(0, || match get(server) {
        // SAFETY: per this function's contract.
        Some(s) => unsafe { s.last_error.copy_to(buf, cap) },
        None => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_fit_the_documented_buffer() {
        // `{8 hex digits}-{u64}`, plus the NUL.
        let longest = format!("{:08x}-{}", u32::MAX, u64::MAX);
        assert!(longest.len() < RTWIRE_SERVER_ID_MAX);
    }

    #[test]
    fn a_server_starts_publishes_and_stops() {
        let mut ctx = std::ptr::null_mut();
        let mut srv = std::ptr::null_mut();
        unsafe {
            assert_eq!(
                crate::context::rtwire_context_new(&mut ctx),
                rtwire_result::Ok
            );
            assert_eq!(
                rtwire_server_start(ctx, std::ptr::null(), &mut srv),
                rtwire_result::Ok
            );
            assert_ne!(rtwire_server_port(srv), 0);
            let mut id = [0 as c_char; RTWIRE_SERVER_ID_MAX];
            assert_eq!(
                rtwire_server_publish_text(
                    srv,
                    c"news".as_ptr(),
                    c"hi".as_ptr(),
                    2,
                    id.as_mut_ptr(),
                    id.len()
                ),
                rtwire_result::Ok
            );
            let id = std::ffi::CStr::from_ptr(id.as_ptr()).to_str().unwrap();
            assert!(id.ends_with("-1"), "{id}");
            assert_eq!(rtwire_server_stop(srv), rtwire_result::Ok);
            assert_eq!(rtwire_server_stop(srv), rtwire_result::Closed);
            assert_eq!(rtwire_server_free(srv), rtwire_result::Ok);
            assert_eq!(rtwire_server_free(srv), rtwire_result::InvalidHandle);
            assert_eq!(crate::context::rtwire_context_free(ctx), rtwire_result::Ok);
        }
    }
}
