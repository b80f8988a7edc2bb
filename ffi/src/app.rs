//! The application server over the C ABI: routes whose clients become
//! `rtwire_conn` connections, the acceptance decision as an event
//! (`rtwire_request`), and rooms by connection id.
//!
//! Nothing calls into C from the server's tasks. A route's handler queues
//! a SERVER_ACCEPTED event holding the core connection; the connection is
//! given its `rtwire_conn` handle (the same object, task and functions as
//! a client connection, see `conn`) when the application takes that event,
//! on the application's thread, so that its own events follow it. The
//! acceptance hook queues a SERVER_REQUEST event and waits, bounded by the
//! accept timeout, for `rtwire_request_accept()` or
//! `rtwire_request_reject()`.

use rtwire::options::Value;
use std::ffi::{c_char, c_void};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rtwire::server::{Accept, Reject, Request, ServerOptions, SlowConsumer};
use rtwire::{Connection, Data};
use tokio::sync::oneshot;

use crate::context::CtxObj;
use crate::event::EventObj;
use crate::handle::{from_ptr, Table};
use crate::options::string;
use crate::server::{self, rtwire_server, rtwire_server_options, Reporter};
use crate::{
    arg_bytes, arg_str, copy_str, guard, guard_or, rtwire_result, rtwire_str, ArgError, LastError,
    NulStr,
};

/// What a client asked for when it opened a route or a channel path
/// (opaque): path, query, headers, peer address, the subprotocol chosen,
/// the user pointer of the accept decision.
///
/// Two kinds, never freed by the application:
/// - the pending request of a SERVER_REQUEST event, owned by the event
///   (valid until `rtwire_event_free()`), answered with
///   `rtwire_request_accept()` or `rtwire_request_reject()`;
/// - the request of a connection a route accepted, owned by the connection
///   (`rtwire_conn_request()`, valid until `rtwire_conn_free()`).
///
/// Views its accessors return live as long as the request. Thread safety:
/// every function may be called from any thread.
#[derive(Debug)]
pub struct rtwire_request {
    _private: [u8; 0],
}

/// What a broadcast did (`rtwire_server_broadcast_text()`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct rtwire_delivery {
    /// Receivers the message was queued for.
    pub queued: usize,
    /// Slow consumers left out of it (`RTWIRE_SLOW_CONSUMER_SKIP`).
    pub skipped: usize,
    /// Slow consumers being closed with 1008
    /// (`RTWIRE_SLOW_CONSUMER_DISCONNECT`).
    pub disconnected: usize,
}

/// What a broadcast does with a receiver whose outgoing queue is over
/// `send_queue_bytes` (`rtwire_server_options_set_slow_consumer()`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtwire_slow_consumer {
    /// Close it with 1008 (policy violation) after what it already has
    /// queued; it leaves its rooms at once (the default).
    Disconnect = 0,
    /// Leave it out of this message.
    Skip = 1,
}

/// The default time the application has to answer a request.
const ACCEPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The routes and the acceptance settings of a server options object.
#[derive(Debug, Clone)]
pub(crate) struct AppSettings {
    /// Path and subprotocols of each route.
    routes: Vec<(String, Vec<String>)>,
    accept: bool,
    accept_timeout: Duration,
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            routes: Vec::new(),
            accept: false,
            accept_timeout: ACCEPT_TIMEOUT,
        }
    }
}

/// The user pointer of an accept decision, as the core request carries it.
#[derive(Debug, Clone, Copy)]
struct CUser(usize);

/// The application's answer to a pending request.
#[derive(Debug)]
enum Decision {
    Accept(usize),
    Reject(u16, String),
}

/// A connection a route accepted, waiting in the queue for its handle.
#[derive(Debug)]
pub(crate) struct PendingConn {
    conn: Connection,
    pub(crate) request: Request,
    queue_len: usize,
}

/// The object behind an `rtwire_request` handle.
#[derive(Debug)]
struct RequestObj {
    id: u64,
    peer: NulStr,
    path: NulStr,
    query: NulStr,
    headers: Vec<(NulStr, NulStr)>,
    params: Vec<(String, NulStr)>,
    protocol: Option<NulStr>,
    user: usize,
    /// Pending requests only: where the answer goes (taken by the answer).
    answer: Option<Mutex<Option<oneshot::Sender<Decision>>>>,
    last_error: LastError,
}

impl RequestObj {
    fn of(req: &Request, answer: Option<oneshot::Sender<Decision>>, user: usize) -> RequestObj {
        let params = url_params(&req.query);
        RequestObj {
            id: req.id,
            peer: NulStr::new(&req.peer.to_string()),
            path: NulStr::new(&req.path),
            query: NulStr::new(&req.query),
            headers: req
                .headers
                .iter()
                .map(|(k, v)| (NulStr::new(k), NulStr::new(v)))
                .collect(),
            params,
            protocol: req.protocol.as_deref().map(NulStr::new),
            user,
            answer: answer.map(|a| Mutex::new(Some(a))),
            last_error: LastError::default(),
        }
    }
}

/// The decoded query parameters, in order.
fn url_params(query: &str) -> Vec<(String, NulStr)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), NulStr::new(&percent_decode(v)))
        })
        .collect()
}

/// Decodes `+` and `%XX` (form encoding); invalid UTF-8 is replaced.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

static REQUESTS: Table<RequestObj> = Table::new(8);

/// A request handle owned by an event or a connection: removed from the
/// table when its owner goes (a pending request is then refused with 503).
#[derive(Debug)]
pub(crate) struct OwnedRequest(usize);

impl OwnedRequest {
    pub(crate) fn handle(&self) -> usize {
        self.0
    }
}

impl Drop for OwnedRequest {
    fn drop(&mut self) {
        REQUESTS.remove(self.0);
    }
}

fn request(req: *const rtwire_request) -> Option<Arc<RequestObj>> {
    REQUESTS.get(from_ptr(req))
}

/// Adds the routes and the acceptance hook of `app` to `options`; events
/// go through `reporter`.
pub(crate) fn install(
    mut options: ServerOptions,
    app: &AppSettings,
    reporter: &Arc<Reporter>,
    queue_len: usize,
) -> ServerOptions {
    for (path, protocols) in &app.routes {
        let r = reporter.clone();
        let protocols: Vec<&str> = protocols.iter().map(String::as_str).collect();
        options = options.route_with_protocols(path, &protocols, move |conn, request| {
            let r = r.clone();
            async move {
                let pending = Box::new(PendingConn {
                    conn,
                    request,
                    queue_len,
                });
                // Not queued (the server or its context is gone): the
                // connection is dropped, which closes it with 1001.
                r.deliver(|server, dropped| EventObj::accepted(pending, server, dropped))
                    .await;
            }
        });
    }
    if app.accept {
        let r = reporter.clone();
        let limit = app.accept_timeout;
        options = options.accept(move |req: Request| {
            let r = r.clone();
            async move {
                let (tx, rx) = oneshot::channel();
                let asked = async {
                    let h = REQUESTS.insert(Arc::new(RequestObj::of(&req, Some(tx), 0)))?;
                    let owned = OwnedRequest(h);
                    let (id, peer) = (req.id, req.peer);
                    let queued = r
                        .deliver(|server, dropped| {
                            EventObj::server_request(owned, id, &peer, server, dropped)
                        })
                        .await;
                    if !queued {
                        return None;
                    }
                    rx.await.ok()
                };
                match tokio::time::timeout(limit, asked).await {
                    Ok(Some(Decision::Accept(0))) => Ok(Accept::new()),
                    Ok(Some(Decision::Accept(user))) => Ok(Accept::user(CUser(user))),
                    Ok(Some(Decision::Reject(status, body))) => Err(Reject::new(status, body)),
                    Ok(None) => Err(Reject::new(503, "the request was not answered")),
                    Err(_) => Err(Reject::new(503, "the request was not answered in time")),
                }
            }
        });
    }
    options
}

/// Gives the connection of a SERVER_ACCEPTED event its handles, on the
/// application's thread (called when the event is taken). Other events are
/// left as they are. When no handle can be made the connection is dropped
/// (closed with 1001) and the event carries NULL.
pub(crate) fn materialize(c: &Arc<CtxObj>, event: &mut EventObj) {
    let Some(pending) = event.take_pending() else {
        return;
    };
    let PendingConn {
        conn,
        request,
        queue_len,
    } = *pending;
    let user = request.user_as::<CUser>().map_or(0, |u| u.0);
    let Some(rh) = REQUESTS.insert(Arc::new(RequestObj::of(&request, None, user))) else {
        return;
    };
    if let Ok(h) = crate::conn::adopt(c, conn, user, queue_len, OwnedRequest(rh), request.id) {
        event.set_adopted(h, user, rh);
    }
}

// ---------------------------------------------------------------------------
// Server options

/// Serves an application at `path` (exact match, e.g. `"/chat"`; it must
/// start with `/`): every client that opens it — over WebSocket, or over
/// SSE, NDJSON streaming or long polling with POST up (docs/server.md) —
/// becomes a connection announced by a `RTWIRE_EVENT_TYPE_SERVER_ACCEPTED`
/// event that carries its new `rtwire_conn` handle. The application owns
/// that handle and uses it as a client connection's: its events (OPEN,
/// MESSAGE, CLOSED last) come through the server's context,
/// `rtwire_conn_send_text()` / `_binary()` queue messages to the client
/// (bounded by `send_queue_bytes`), `rtwire_conn_close()` closes it and
/// `rtwire_conn_free()` frees it (closing with 1001 if still open).
///
/// `protocols`: NULL, or a comma-separated list of WebSocket subprotocols
/// the route accepts, in its order of preference (`"chat.v2, chat.v1"`);
/// the first one the client offers is chosen (`rtwire_request_protocol()`),
/// a client that offers none is served without one. Adding a route at the
/// same path again replaces it. Strings are copied.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` (`path`) or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (not UTF-8; a path not starting with
/// `/` or holding `?`, `#` or spaces; an empty or blank protocol name),
/// with the text on the options handle. Thread-safe.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; so is `protocols`.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_options_add_route(
    opts: *mut rtwire_server_options,
    path: *const c_char,
    protocols: *const c_char,
) -> rtwire_result {
    server::with(opts, |s, err| {
        // SAFETY: per this function's contract.
        let path = tri!(unsafe { string(path, "route path", err) });
        if !path.starts_with('/')
            || path
                .chars()
                .any(|c| c == '?' || c == '#' || c.is_whitespace() || c.is_control())
        {
            return err.fail(
                rtwire_result::InvalidArgument,
                format!("route path {path:?} must start with '/' and hold no '?', '#' or spaces"),
            );
        }
        let protocols = if protocols.is_null() {
            Vec::new()
        } else {
            // SAFETY: per this function's contract.
            let list = tri!(unsafe { string(protocols, "protocols", err) });
            let names: Vec<String> = list.split(',').map(|p| p.trim().to_string()).collect();
            if names
                .iter()
                .any(|p| p.is_empty() || p.chars().any(|c| c.is_whitespace() || c.is_control()))
            {
                return err.fail(
                    rtwire_result::InvalidArgument,
                    format!("protocols {list:?}: a comma-separated list of names, none empty"),
                );
            }
            names
        };
        s.app.routes.retain(|(p, _)| *p != path);
        s.app.routes.push((path, protocols));
        rtwire_result::Ok
    })
}

/// Makes the application decide on every request to a route or a channel
/// path (not `/healthz`), after the token check (default off: every
/// request is accepted). Each one is a `RTWIRE_EVENT_TYPE_SERVER_REQUEST`
/// event whose request (`rtwire_event_request()`) the application answers
/// — from any thread, at once or later while the event lives — with
/// `rtwire_request_accept()` or `rtwire_request_reject()`. A request not
/// answered within the accept timeout
/// (`rtwire_server_options_set_accept_timeout_ms()`, 10 s), or whose event
/// is freed unanswered, is refused with 503.
///
/// The decision is an event rather than a callback so that no application
/// code runs on rtwire's threads, as for every other event; the client
/// waits meanwhile, the server does not.
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_accept(
    opts: *mut rtwire_server_options,
    enabled: bool,
) -> rtwire_result {
    server::with(opts, |s, _| {
        s.app.accept = enabled;
        rtwire_result::Ok
    })
}

/// How long a request waits for the application's answer (with
/// `rtwire_server_options_set_accept()`), in milliseconds (default 10000);
/// then it is refused with 503.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (0).
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_accept_timeout_ms(
    opts: *mut rtwire_server_options,
    ms: u32,
) -> rtwire_result {
    server::with(opts, |s, err| {
        if ms == 0 {
            return err.fail(
                rtwire_result::InvalidArgument,
                "accept timeout must be at least 1 ms",
            );
        }
        s.app.accept_timeout = Duration::from_millis(ms.into());
        rtwire_result::Ok
    })
}

/// The bound in bytes of each route connection's outgoing queue (default
/// 1 MiB): sends with a timeout wait while more is unsent, sends without
/// one return `RTWIRE_RESULT_QUEUE_FULL`, and a broadcast treats the
/// connection as a slow consumer (`rtwire_server_options_set_slow_consumer()`).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (0).
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_send_queue_bytes(
    opts: *mut rtwire_server_options,
    bytes: usize,
) -> rtwire_result {
    server::with(opts, |s, err| {
        server::apply(s, err, "send_queue_bytes", crate::options::count(bytes))
    })
}

/// What a broadcast does with a slow consumer: `RTWIRE_SLOW_CONSUMER_DISCONNECT`
/// (0, the default: close 1008) or `RTWIRE_SLOW_CONSUMER_SKIP` (1: leave it
/// out of that message). Passed as a number so that no value from C can be
/// out of the enum's range.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (another value).
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_slow_consumer(
    opts: *mut rtwire_server_options,
    policy: u32,
) -> rtwire_result {
    server::with(opts, |s, err| {
        let p = match policy {
            x if x == rtwire_slow_consumer::Disconnect as u32 => SlowConsumer::Disconnect,
            x if x == rtwire_slow_consumer::Skip as u32 => SlowConsumer::Skip,
            _ => {
                return err.fail(
                    rtwire_result::InvalidArgument,
                    format!("slow consumer policy {policy} is neither DISCONNECT (0) nor SKIP (1)"),
                )
            }
        };
        server::apply(s, err, "slow_consumer", Value::Text(p.as_str().into()))
    })
}

/// Closes a route connection that passed this many milliseconds without a
/// message in either direction (pings do not count) with 1001 "idle
/// timeout"; 0 (the default) means no limit.
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_server_options_set_idle_timeout_ms(
    opts: *mut rtwire_server_options,
    ms: u32,
) -> rtwire_result {
    server::with(opts, |s, err| {
        let v = if ms == 0 {
            Value::Off
        } else {
            server::millis(ms)
        };
        server::apply(s, err, "idle_timeout", v)
    })
}

// ---------------------------------------------------------------------------
// Requests

/// Reads a field of a live request, or gives `none`.
fn field<R: Copy>(req: *const rtwire_request, none: R, f: impl FnOnce(&RequestObj) -> R) -> R {
    guard_or(none, || match request(req) {
        Some(r) => f(&r),
        None => none,
    })
}

/// The server's id for the connection (unique while the server runs; the
/// id rooms and broadcasts take); 0 for an invalid handle.
#[no_mangle]
pub extern "C" fn rtwire_request_id(req: *const rtwire_request) -> u64 {
    field(req, 0, |r| r.id)
}

/// The request path (`/chat`). Absent for an invalid handle. Valid as long
/// as the request.
#[no_mangle]
pub extern "C" fn rtwire_request_path(req: *const rtwire_request) -> rtwire_str {
    field(req, rtwire_str::ABSENT, |r| r.path.view())
}

/// The query string without `?`, as sent (empty when there is none).
/// Absent for an invalid handle. Valid as long as the request.
#[no_mangle]
pub extern "C" fn rtwire_request_query(req: *const rtwire_request) -> rtwire_str {
    field(req, rtwire_str::ABSENT, |r| r.query.view())
}

/// The first value of query parameter `name`, decoded (`+` and `%XX`):
/// absent (`data` NULL) when there is no such parameter, empty for
/// `?name=` or `?name`. Absent also for an invalid handle or a NULL or
/// non-UTF-8 `name`. Valid as long as the request.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_request_query_param(
    req: *const rtwire_request,
    name: *const c_char,
) -> rtwire_str {
    guard_or(rtwire_str::ABSENT, || {
        // SAFETY: per this function's contract.
        let Ok(name) = (unsafe { arg_str(name, "name") }) else {
            return rtwire_str::ABSENT;
        };
        field(req, rtwire_str::ABSENT, |r| {
            r.params
                .iter()
                .find(|(k, _)| k == name)
                .map_or(rtwire_str::ABSENT, |(_, v)| v.view())
        })
    })
}

/// The first value of request header `name` (any case): absent (`data`
/// NULL) when the request has no such header, and for an invalid handle
/// or a NULL `name`. Valid as long as the request.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_request_header(
    req: *const rtwire_request,
    name: *const c_char,
) -> rtwire_str {
    guard_or(rtwire_str::ABSENT, || {
        // SAFETY: per this function's contract.
        let Ok(name) = (unsafe { arg_str(name, "name") }) else {
            return rtwire_str::ABSENT;
        };
        field(req, rtwire_str::ABSENT, |r| {
            r.headers
                .iter()
                .find(|(k, _)| k.as_str().eq_ignore_ascii_case(name))
                .map_or(rtwire_str::ABSENT, |(_, v)| v.view())
        })
    })
}

/// The number of request headers (0 for an invalid handle).
#[no_mangle]
pub extern "C" fn rtwire_request_header_count(req: *const rtwire_request) -> usize {
    field(req, 0, |r| r.headers.len())
}

/// Request header number `index`, in the order sent (names in lower case),
/// written to `*name` and `*value` (views valid as long as the request).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT`
/// (`index` out of range). The out-params are written only on success.
///
/// # Safety
/// `name` and `value` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_request_header_at(
    req: *const rtwire_request,
    index: usize,
    name: *mut rtwire_str,
    value: *mut rtwire_str,
) -> rtwire_result {
    guard(|| {
        let Some(r) = request(req) else {
            return rtwire_result::InvalidHandle;
        };
        if name.is_null() || value.is_null() {
            return rtwire_result::NullArgument;
        }
        let Some((k, v)) = r.headers.get(index) else {
            return rtwire_result::InvalidArgument;
        };
        // SAFETY: both are non-NULL and writable per the contract.
        unsafe {
            *name = k.view();
            *value = v.view();
        }
        rtwire_result::Ok
    })
}

/// The client's address (`127.0.0.1:54321`, `[::1]:54321`). Absent for an
/// invalid handle. Valid as long as the request.
#[no_mangle]
pub extern "C" fn rtwire_request_peer(req: *const rtwire_request) -> rtwire_str {
    field(req, rtwire_str::ABSENT, |r| r.peer.view())
}

/// The WebSocket subprotocol chosen for the connection (see
/// `rtwire_server_options_add_route()`): absent when none was, for a
/// pending request (it is chosen after the decision) and for an invalid
/// handle. Valid as long as the request.
#[no_mangle]
pub extern "C" fn rtwire_request_protocol(req: *const rtwire_request) -> rtwire_str {
    field(req, rtwire_str::ABSENT, |r| NulStr::view_opt(&r.protocol))
}

/// The `user` pointer the application gave `rtwire_request_accept()` for
/// this connection (also its `rtwire_conn_userdata()`); NULL without an
/// accept decision, for a pending request and for an invalid handle.
/// rtwire never dereferences it.
#[no_mangle]
pub extern "C" fn rtwire_request_user(req: *const rtwire_request) -> *mut c_void {
    field(req, std::ptr::null_mut(), |r| r.user as *mut c_void)
}

/// Whether the request still waits for an answer (a SERVER_REQUEST's
/// request before `rtwire_request_accept()`, `_reject()` or the timeout).
#[no_mangle]
pub extern "C" fn rtwire_request_is_pending(req: *const rtwire_request) -> bool {
    field(req, false, |r| {
        r.answer.as_ref().is_some_and(|a| {
            a.lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .is_some_and(|tx| !tx.is_closed())
        })
    })
}

/// Hands `decision` to the request's waiting client.
fn answer(req: *const rtwire_request, decision: Decision) -> rtwire_result {
    let Some(r) = request(req) else {
        return rtwire_result::InvalidHandle;
    };
    let err = &r.last_error;
    let Some(slot) = r.answer.as_ref() else {
        return err.fail(
            rtwire_result::InvalidArgument,
            "this is the request of an accepted connection, not a pending one",
        );
    };
    let Some(tx) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return err.fail(rtwire_result::Closed, "the request was already answered");
    };
    match tx.send(decision) {
        Ok(()) => rtwire_result::Ok,
        Err(_) => err.fail(
            rtwire_result::Closed,
            "the request is no longer waiting: it timed out (refused with 503), the client went away or the server stopped",
        ),
    }
}

/// Accepts a pending request (of a SERVER_REQUEST event): the upgrade or
/// the stream goes ahead; for a route, a SERVER_ACCEPTED event follows,
/// whose connection has `user` as its userdata (`rtwire_conn_userdata()`,
/// `rtwire_event_userdata()` of its events, `rtwire_request_user()`).
/// rtwire never dereferences `user`; when the connection does not come
/// about (the client went away, a channel path) nothing tells you, so do
/// not make it the only reference to memory you must free.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (already answered,
/// timed out and refused with 503, or the client or the server is gone),
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (the request of a connection, not a
/// pending one) or `RTWIRE_RESULT_INVALID_HANDLE`, with the text on the
/// request (`rtwire_request_last_error()`). Never blocks; callable from any
/// thread while the event lives.
#[no_mangle]
pub extern "C" fn rtwire_request_accept(
    req: *const rtwire_request,
    user: *mut c_void,
) -> rtwire_result {
    guard(|| answer(req, Decision::Accept(user as usize)))
}

/// Refuses a pending request with HTTP `status` (400 to 599) and `body`
/// (UTF-8 text, copied; NULL for none): rtwire clients see a `handshake`
/// error with that status and body.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_ARGUMENT` (a status
/// out of range, a body not UTF-8, the request of a connection),
/// `RTWIRE_RESULT_CLOSED` and `RTWIRE_RESULT_INVALID_HANDLE` as
/// `rtwire_request_accept()`. A refused argument leaves the request
/// pending.
///
/// # Safety
/// `body` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_request_reject(
    req: *const rtwire_request,
    status: u16,
    body: *const c_char,
) -> rtwire_result {
    guard(|| {
        let Some(r) = request(req) else {
            return rtwire_result::InvalidHandle;
        };
        if !(400..600).contains(&status) {
            return r.last_error.fail(
                rtwire_result::InvalidArgument,
                format!("status {status} is not a refusal (400 to 599)"),
            );
        }
        let body = if body.is_null() {
            String::new()
        } else {
            // SAFETY: per this function's contract.
            match unsafe { arg_str(body, "body") } {
                Ok(b) => b.to_owned(),
                Err(e) => return r.last_error.arg(e, "body"),
            }
        };
        answer(req, Decision::Reject(status, body))
    })
}

/// Copies the text of the last error recorded on this request into `buf`,
/// snprintf-style (see `rtwire_context_last_error()`). Returns the full
/// length without the NUL; 0 when there is none or the handle is invalid.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtwire_request_last_error(
    req: *const rtwire_request,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    guard_or(0, || match request(req) {
        // SAFETY: per this function's contract.
        Some(r) => unsafe { r.last_error.copy_to(buf, cap) },
        None => 0,
    })
}

// ---------------------------------------------------------------------------
// Rooms

/// Runs `f` with the rooms of a live, running server and its error slot.
fn rooms(
    srv: *const rtwire_server,
    f: impl FnOnce(&rtwire::server::Rooms, &LastError) -> rtwire_result,
) -> rtwire_result {
    let Some(s) = server::get(srv) else {
        return rtwire_result::InvalidHandle;
    };
    let rooms = tri!(s.running(|srv| srv.rooms()));
    f(&rooms, &s.last_error)
}

/// Reads a room name argument.
///
/// # Safety
/// `room` is NULL or a NUL-terminated string.
unsafe fn room_arg<'a>(room: *const c_char, err: &LastError) -> Result<&'a str, rtwire_result> {
    // SAFETY: per this function's contract.
    unsafe { arg_str(room, "room") }.map_err(|e| err.arg(e, "room"))
}

/// Adds route connection `id` to `room` (1 to 256 bytes of UTF-8). When
/// `added` is not NULL it says whether the connection was not in the room
/// yet.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (no open connection
/// `id`; the server was stopped), `RTWIRE_RESULT_INVALID_ARGUMENT` (room
/// name), `RTWIRE_RESULT_NULL_ARGUMENT` (`room`) or
/// `RTWIRE_RESULT_INVALID_HANDLE`, with the text on the server
/// (`rtwire_server_last_error()`). Never blocks. Thread-safe.
///
/// # Safety
/// `room` is NULL or a NUL-terminated string; `added` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_join(
    server: *mut rtwire_server,
    id: u64,
    room: *const c_char,
    added: *mut bool,
) -> rtwire_result {
    guard(|| {
        rooms(server, |rooms, err| {
            // SAFETY: per this function's contract.
            let room = tri!(unsafe { room_arg(room, err) });
            match rooms.try_join(id, room) {
                Ok(a) => {
                    if !added.is_null() {
                        // SAFETY: non-NULL and writable per the contract.
                        unsafe { *added = a };
                    }
                    rtwire_result::Ok
                }
                Err(e) => err.error(&e),
            }
        })
    })
}

/// Takes route connection `id` out of `room`. When `was_member` is not
/// NULL it says whether it was in it (an unknown id or room is not an
/// error: `false`).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (stopped),
/// `RTWIRE_RESULT_NULL_ARGUMENT`, `RTWIRE_RESULT_INVALID_ARGUMENT` (not
/// UTF-8) or `RTWIRE_RESULT_INVALID_HANDLE`. Thread-safe.
///
/// # Safety
/// `room` is NULL or a NUL-terminated string; `was_member` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_leave(
    server: *mut rtwire_server,
    id: u64,
    room: *const c_char,
    was_member: *mut bool,
) -> rtwire_result {
    guard(|| {
        rooms(server, |rooms, err| {
            // SAFETY: per this function's contract.
            let room = tri!(unsafe { room_arg(room, err) });
            let left = rooms.leave(id, room);
            if !was_member.is_null() {
                // SAFETY: non-NULL and writable per the contract.
                unsafe { *was_member = left };
            }
            rtwire_result::Ok
        })
    })
}

/// Broadcasts `data` to the members of `room`.
///
/// # Safety
/// See `rtwire_server_broadcast_text`.
unsafe fn broadcast(
    server: *mut rtwire_server,
    room: *const c_char,
    except: *const u64,
    except_count: usize,
    data: Result<Data, (ArgError, &str)>,
    out: *mut rtwire_delivery,
) -> rtwire_result {
    rooms(server, |rooms, err| {
        let room = if room.is_null() {
            None
        } else {
            // SAFETY: per this function's contract.
            Some(tri!(unsafe { room_arg(room, err) }))
        };
        let except: &[u64] = if except_count == 0 {
            &[]
        } else if except.is_null() {
            return err.fail(
                rtwire_result::NullArgument,
                "except is NULL with except_count > 0",
            );
        } else {
            // SAFETY: `except_count` readable ids per the contract.
            unsafe { std::slice::from_raw_parts(except, except_count) }
        };
        let data = match data {
            Ok(d) => d,
            Err((e, what)) => return err.arg(e, what),
        };
        let d = rooms.broadcast(room, except.iter().copied(), data);
        if !out.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe {
                *out = rtwire_delivery {
                    queued: d.queued,
                    skipped: d.skipped,
                    disconnected: d.disconnected,
                }
            };
        }
        rtwire_result::Ok
    })
}

/// Sends a text message (`len` bytes of UTF-8 at `text`, copied once for
/// every receiver) to the route connections in `room` (NULL: every open
/// route connection), but those whose ids are among the `except_count` ids
/// at `except` (the sender, typically; `(NULL, 0)` for none). Never waits:
/// a receiver whose queue is over `send_queue_bytes` is dealt with by the
/// slow-consumer policy, so one slow client never holds the others up.
/// When `out` is not NULL it receives the counts.
///
/// Returns `RTWIRE_RESULT_OK` (also when nobody received it),
/// `RTWIRE_RESULT_CLOSED` (the server was stopped),
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (text or room not UTF-8),
/// `RTWIRE_RESULT_NULL_ARGUMENT` (`text` with `len` > 0, `except` with
/// `except_count` > 0) or `RTWIRE_RESULT_INVALID_HANDLE`, with the text on
/// the server. Thread-safe.
///
/// # Safety
/// `room` is NULL or a NUL-terminated string; `except` points to
/// `except_count` ids (or `except_count` is 0); `text` points to `len`
/// readable bytes (or `len` is 0); `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_broadcast_text(
    server: *mut rtwire_server,
    room: *const c_char,
    except: *const u64,
    except_count: usize,
    text: *const c_char,
    len: usize,
    out: *mut rtwire_delivery,
) -> rtwire_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let data = match unsafe { arg_bytes(text.cast(), len) } {
            Ok(b) => match std::str::from_utf8(b) {
                Ok(t) => Ok(Data::from(t)),
                Err(_) => Err((
                    ArgError::Invalid("text is not valid UTF-8; send it as binary".into()),
                    "text",
                )),
            },
            Err(e) => Err((e, "text")),
        };
        // SAFETY: per this function's contract.
        unsafe { broadcast(server, room, except, except_count, data, out) }
    })
}

/// As `rtwire_server_broadcast_text()`, with a binary message (`len` bytes
/// at `data`, copied once).
///
/// # Safety
/// As `rtwire_server_broadcast_text()`.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_broadcast_binary(
    server: *mut rtwire_server,
    room: *const c_char,
    except: *const u64,
    except_count: usize,
    data: *const u8,
    len: usize,
    out: *mut rtwire_delivery,
) -> rtwire_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let data = match unsafe { arg_bytes(data, len) } {
            Ok(b) => Ok(Data::from(b)),
            Err(e) => Err((e, "data")),
        };
        // SAFETY: per this function's contract.
        unsafe { broadcast(server, room, except, except_count, data, out) }
    })
}

/// Sends a text message to route connection `id` alone, without waiting.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_QUEUE_FULL` (its queue is
/// over `send_queue_bytes`), `RTWIRE_RESULT_CLOSED` (no open connection
/// `id`; stopped), `RTWIRE_RESULT_INVALID_ARGUMENT` (not UTF-8),
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_HANDLE`.
/// Thread-safe.
///
/// # Safety
/// `text` points to `len` readable bytes (or `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_send_text(
    server: *mut rtwire_server,
    id: u64,
    text: *const c_char,
    len: usize,
) -> rtwire_result {
    guard(|| {
        rooms(server, |rooms, err| {
            // SAFETY: per this function's contract.
            let b = match unsafe { arg_bytes(text.cast(), len) } {
                Ok(b) => b,
                Err(e) => return err.arg(e, "text"),
            };
            let Ok(t) = std::str::from_utf8(b) else {
                return err.fail(rtwire_result::InvalidArgument, "text is not valid UTF-8");
            };
            match rooms.send_to(id, t) {
                Ok(()) => rtwire_result::Ok,
                Err(e) => err.error(&e),
            }
        })
    })
}

/// Writes to `*count` how many route connections are in `room` (0 for a
/// room nobody is in).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (stopped),
/// `RTWIRE_RESULT_NULL_ARGUMENT`, `RTWIRE_RESULT_INVALID_ARGUMENT` (not
/// UTF-8) or `RTWIRE_RESULT_INVALID_HANDLE`; `*count` is written only on
/// success. Thread-safe.
///
/// # Safety
/// `room` is NULL or a NUL-terminated string; `count` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_member_count(
    server: *const rtwire_server,
    room: *const c_char,
    count: *mut usize,
) -> rtwire_result {
    // SAFETY: per this function's contract.
    unsafe { rtwire_server_members(server, room, std::ptr::null_mut(), 0, count) }
}

/// Copies the ids of the members of `room`, in increasing order, into
/// `ids` (at most `cap` of them; `ids` may be NULL when `cap` is 0) and
/// writes how many members there are to `*count` (more than `cap` means
/// the list was cut: call again with a larger buffer).
///
/// Returns as `rtwire_server_member_count()`.
///
/// # Safety
/// `room` is NULL or a NUL-terminated string; `ids` points to `cap`
/// writable ids (or `cap` is 0); `count` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_members(
    server: *const rtwire_server,
    room: *const c_char,
    ids: *mut u64,
    cap: usize,
    count: *mut usize,
) -> rtwire_result {
    guard(|| {
        rooms(server, |rooms, err| {
            // SAFETY: per this function's contract.
            let room = tri!(unsafe { room_arg(room, err) });
            if count.is_null() || (ids.is_null() && cap > 0) {
                return err.fail(rtwire_result::NullArgument, "count or ids is NULL");
            }
            let members = rooms.members(room);
            let n = members.len().min(cap);
            // SAFETY: `ids` has `cap >= n` writable slots, `count` is
            // writable, per the contract.
            unsafe {
                if n > 0 {
                    std::ptr::copy_nonoverlapping(members.as_ptr(), ids, n);
                }
                *count = members.len();
            }
            rtwire_result::Ok
        })
    })
}

/// Writes to `*count` how many rooms route connection `id` is in (0 for an
/// id that is not open).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_CLOSED` (stopped),
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_HANDLE`.
///
/// # Safety
/// `count` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_room_count(
    server: *const rtwire_server,
    id: u64,
    count: *mut usize,
) -> rtwire_result {
    guard(|| {
        rooms(server, |rooms, err| {
            if count.is_null() {
                return err.fail(rtwire_result::NullArgument, "count is NULL");
            }
            // SAFETY: non-NULL and writable per the contract.
            unsafe { *count = rooms.rooms_of(id).len() };
            rtwire_result::Ok
        })
    })
}

/// Copies the name of room number `index` (0-based, in name order) of
/// route connection `id` into `buf`, snprintf-style, and writes its full
/// length (without the NUL) to `*len` when `len` is not NULL.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_ARGUMENT` (`index`
/// out of range), `RTWIRE_RESULT_CLOSED` (stopped) or
/// `RTWIRE_RESULT_INVALID_HANDLE`.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes; `len` is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_server_room_name(
    server: *const rtwire_server,
    id: u64,
    index: usize,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> rtwire_result {
    guard(|| {
        rooms(server, |rooms, err| {
            let names = rooms.rooms_of(id);
            let Some(name) = names.get(index) else {
                return err.fail(
                    rtwire_result::InvalidArgument,
                    format!(
                        "connection {id} is in {} rooms; no room number {index}",
                        names.len()
                    ),
                );
            };
            // SAFETY: per this function's contract.
            let n = unsafe { copy_str(name, buf, cap) };
            if !len.is_null() {
                // SAFETY: non-NULL and writable per the contract.
                unsafe { *len = n };
            }
            rtwire_result::Ok
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_decoded() {
        let p = url_params("room=a+b&name=%C3%A9t%C3%A9&token&x=%zz&y=%4");
        let get = |k: &str| {
            p.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        assert_eq!(get("room").as_deref(), Some("a b"));
        assert_eq!(get("name").as_deref(), Some("été"));
        assert_eq!(get("token").as_deref(), Some(""));
        assert_eq!(get("x").as_deref(), Some("%zz"));
        assert_eq!(get("y").as_deref(), Some("%4"));
        assert_eq!(get("nope"), None);
    }
}
