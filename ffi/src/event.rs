//! `rtwire_event` and its accessors.
//!
//! Accessors never fail loudly: on a NULL, freed or foreign handle, or on an
//! event of another type, they return the documented "nothing" value (0,
//! false, an empty view, NULL).

use std::ffi::c_void;
use std::sync::Arc;

use rtwire::server::ServerEvent;
use rtwire::{Data, Event, Transport};

use crate::conn::rtwire_conn;
use crate::handle::{from_ptr, to_ptr, Table};
use crate::server::rtwire_server;
use crate::{guard, guard_or, rtwire_bytes, rtwire_result, rtwire_str, NulStr};

/// One event of a connection or of a server (opaque). Taken with
/// `rtwire_context_next_event()` (the caller owns it and frees it with
/// `rtwire_event_free()`) or borrowed inside a dispatch callback.
///
/// Views returned by its accessors (`rtwire_bytes`, `rtwire_str`) point
/// into the event and stay valid until it is freed. An event is immutable:
/// accessors may be called from any thread, but do not free it while
/// another thread still reads it.
#[derive(Debug)]
pub struct rtwire_event {
    _private: [u8; 0],
}

/// The type of an event.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rtwire_event_type {
    /// Not an event: returned for an invalid handle.
    None = 0,
    /// A session opened (first connect or after a reconnect): transport,
    /// URL, subprotocol, response headers.
    Open = 1,
    /// A message: data (text or binary) and, for transports that have
    /// them, an event name and id.
    Message = 2,
    /// The session was lost and attempt N starts after a delay; the error
    /// accessors give the cause.
    Reconnecting = 3,
    /// An error: one that ends the connection (CLOSED follows) or one the
    /// connection survived.
    Error = 4,
    /// The connection is over: close code, reason, whether it was clean,
    /// and messages that were never sent. Always the last event of a
    /// connection, exactly once.
    Closed = 5,
    /// Server (with `rtwire_server_options_set_events()`): a client
    /// subscribed over a long-lived transport: channel, transport
    /// (WebSocket, SSE or streaming), peer address.
    ServerConnected = 6,
    /// Server: that client went away: channel, transport, peer address.
    ServerDisconnected = 7,
    /// Server: a message was published (by a client or through
    /// `rtwire_server_publish_text()` / `_binary()`): channel, id, size.
    ServerPublished = 8,
    /// Server (with `rtwire_server_options_set_client_messages()`): a
    /// WebSocket client sent a message, which was not published: channel
    /// and data. Publish it (or anything else) yourself if you want to.
    ServerMessage = 9,
    /// Server (with `rtwire_server_options_set_accept()`): a client asks
    /// to open a route or a channel path. Answer the request
    /// (`rtwire_event_request()`) with `rtwire_request_accept()` or
    /// `rtwire_request_reject()`; freeing the event unanswered (also the
    /// free after a dispatch callback returns) refuses it with 503, and so
    /// does the accept timeout.
    ServerRequest = 10,
    /// Server: a client opened a route (`rtwire_server_options_add_route()`)
    /// and is now a connection: `rtwire_event_conn()` is its new handle,
    /// which the application owns and frees with `rtwire_conn_free()`; its
    /// own events (OPEN, MESSAGE, ..., CLOSED) follow through the same
    /// context. `rtwire_event_request()` is its request,
    /// `rtwire_event_connection_id()` its id, `rtwire_event_userdata()` the
    /// user pointer of the accept decision.
    ServerAccepted = 11,
}

/// Which transport carries a connection, as `rtwire_event_transport()`
/// reports it (options name a transport by its word, see
/// `rtwire_options_set_transport()`).
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
}

/// The data behind an event handle.
#[derive(Debug)]
pub(crate) struct EventObj {
    kind: rtwire_event_type,
    conn: usize,
    userdata: usize,
    data: Option<Data>,
    name: Option<NulStr>,
    id: Option<NulStr>,
    transport: rtwire_transport,
    url: Option<NulStr>,
    protocol: Option<NulStr>,
    headers: Vec<(NulStr, NulStr)>,
    attempt: u32,
    delay_ms: u64,
    error: rtwire_result,
    error_message: Option<NulStr>,
    status: u16,
    close_code: u16,
    reason: Option<NulStr>,
    clean: bool,
    unsent: Vec<Data>,
    server: usize,
    channel: Option<NulStr>,
    peer: Option<NulStr>,
    bytes: usize,
    dropped: u64,
    /// SERVER_REQUEST and SERVER_ACCEPTED: the request's handle.
    request: usize,
    /// SERVER_REQUEST: the pending request, owned by the event.
    owned_request: Option<crate::app::OwnedRequest>,
    /// SERVER_REQUEST and SERVER_ACCEPTED: the connection's id.
    conn_id: u64,
    /// SERVER_ACCEPTED, until the event is taken: the connection to give
    /// a handle.
    pending: Option<Box<crate::app::PendingConn>>,
}

impl EventObj {
    fn empty(kind: rtwire_event_type, conn: usize, userdata: usize) -> EventObj {
        EventObj {
            kind,
            conn,
            userdata,
            data: None,
            name: None,
            id: None,
            transport: rtwire_transport::Auto,
            url: None,
            protocol: None,
            headers: Vec::new(),
            attempt: 0,
            delay_ms: 0,
            error: rtwire_result::Ok,
            error_message: None,
            status: 0,
            close_code: 0,
            reason: None,
            clean: false,
            unsent: Vec::new(),
            server: 0,
            channel: None,
            peer: None,
            bytes: 0,
            dropped: 0,
            request: 0,
            owned_request: None,
            conn_id: 0,
            pending: None,
        }
    }

    /// A request waiting for the application's answer.
    pub(crate) fn server_request(
        request: crate::app::OwnedRequest,
        id: u64,
        peer: &std::net::SocketAddr,
        server: usize,
        dropped: u64,
    ) -> EventObj {
        let mut e = EventObj::empty(rtwire_event_type::ServerRequest, 0, 0);
        e.request = request.handle();
        e.owned_request = Some(request);
        e.conn_id = id;
        e.peer = Some(NulStr::new(&peer.to_string()));
        e.server = server;
        e.dropped = dropped;
        e
    }

    /// A connection a route accepted; its handle is made when the event is
    /// taken (`set_adopted`).
    pub(crate) fn accepted(
        pending: Box<crate::app::PendingConn>,
        server: usize,
        dropped: u64,
    ) -> EventObj {
        let mut e = EventObj::empty(rtwire_event_type::ServerAccepted, 0, 0);
        e.conn_id = pending.request.id;
        e.peer = Some(NulStr::new(&pending.request.peer.to_string()));
        e.pending = Some(pending);
        e.server = server;
        e.dropped = dropped;
        e
    }

    /// The connection of a SERVER_ACCEPTED event still to be given a
    /// handle.
    pub(crate) fn take_pending(&mut self) -> Option<Box<crate::app::PendingConn>> {
        self.pending.take()
    }

    /// Records the handles made for a SERVER_ACCEPTED event.
    pub(crate) fn set_adopted(&mut self, conn: usize, userdata: usize, request: usize) {
        self.conn = conn;
        self.userdata = userdata;
        self.request = request;
    }

    fn set_error(&mut self, e: &rtwire::Error) {
        self.error = rtwire_result::from_kind(e.kind());
        self.error_message = Some(NulStr::new(e.message()));
        self.status = e.status().unwrap_or(0);
    }

    /// A core event, tagged with its connection.
    pub(crate) fn from_core(event: Event, conn: usize, userdata: usize) -> EventObj {
        use rtwire_event_type as T;
        match event {
            Event::Open(info) => {
                let mut e = EventObj::empty(T::Open, conn, userdata);
                e.transport = rtwire_transport::from_core(info.transport);
                e.url = Some(NulStr::new(&info.url));
                e.protocol = info.protocol.as_deref().map(NulStr::new);
                e.headers = info
                    .headers
                    .iter()
                    .map(|(k, v)| (NulStr::new(k), NulStr::new(v)))
                    .collect();
                e
            }
            Event::Message(m) => {
                let mut e = EventObj::empty(T::Message, conn, userdata);
                e.data = Some(m.data);
                e.name = m.event.as_deref().map(NulStr::new);
                e.id = m.id.as_deref().map(NulStr::new);
                e
            }
            Event::Reconnecting {
                attempt,
                delay,
                cause,
            } => {
                let mut e = EventObj::empty(T::Reconnecting, conn, userdata);
                e.attempt = attempt;
                e.delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                e.set_error(&cause);
                e
            }
            Event::Error(err) => {
                let mut e = EventObj::empty(T::Error, conn, userdata);
                e.set_error(&err);
                e
            }
            Event::Closed(info) => {
                let mut e = EventObj::closed(conn, userdata, info.code, &info.reason);
                e.clean = info.clean;
                e.unsent = info.unsent;
                e
            }
            // A kind of event this version does not know: report it as an
            // error the connection survived.
            _ => {
                let mut e = EventObj::empty(T::Error, conn, userdata);
                e.error = rtwire_result::Unknown;
                e.error_message = Some(NulStr::new("an event this version does not know"));
                e
            }
        }
    }

    /// A server event, tagged with its server; `None` for a kind of server
    /// event this version does not know.
    pub(crate) fn from_server(
        event: &ServerEvent,
        server: usize,
        dropped: u64,
    ) -> Option<EventObj> {
        use rtwire_event_type as T;
        let transport = |t: &str| match t {
            "websocket" => rtwire_transport::Websocket,
            "sse" => rtwire_transport::Sse,
            "stream" => rtwire_transport::Stream,
            "long_poll" => rtwire_transport::LongPoll,
            "poll" => rtwire_transport::Poll,
            _ => rtwire_transport::Auto,
        };
        let mut e = match event {
            ServerEvent::Connected {
                transport: t,
                channel,
                peer,
            }
            | ServerEvent::Disconnected {
                transport: t,
                channel,
                peer,
            } => {
                let kind = if matches!(event, ServerEvent::Connected { .. }) {
                    T::ServerConnected
                } else {
                    T::ServerDisconnected
                };
                let mut e = EventObj::empty(kind, 0, 0);
                e.transport = transport(t);
                e.channel = Some(NulStr::new(channel));
                e.peer = Some(NulStr::new(&peer.to_string()));
                e
            }
            ServerEvent::Published { channel, id, bytes } => {
                let mut e = EventObj::empty(T::ServerPublished, 0, 0);
                e.channel = Some(NulStr::new(channel));
                e.id = Some(NulStr::new(id));
                e.bytes = *bytes;
                e
            }
            _ => return None,
        };
        e.server = server;
        e.dropped = dropped;
        Some(e)
    }

    /// A message a WebSocket client sent to a server.
    pub(crate) fn client_message(
        channel: &str,
        data: Data,
        server: usize,
        dropped: u64,
    ) -> EventObj {
        let mut e = EventObj::empty(rtwire_event_type::ServerMessage, 0, 0);
        e.bytes = data.len();
        e.data = Some(data);
        e.channel = Some(NulStr::new(channel));
        e.server = server;
        e.dropped = dropped;
        e
    }

    /// A CLOSED event made here (the connection never opened).
    pub(crate) fn closed(conn: usize, userdata: usize, code: u16, reason: &str) -> EventObj {
        let mut e = EventObj::empty(rtwire_event_type::Closed, conn, userdata);
        e.close_code = code;
        e.reason = Some(NulStr::new(reason));
        e
    }
}

pub(crate) static EVENTS: Table<EventObj> = Table::new(4);

fn get(ev: *const rtwire_event) -> Option<Arc<EventObj>> {
    EVENTS.get(from_ptr(ev))
}

/// Reads a field of a live event, or gives `none`.
fn read<R>(ev: *const rtwire_event, none: R, f: impl FnOnce(&EventObj) -> R) -> R
where
    R: Copy,
{
    guard_or(none, || match get(ev) {
        Some(e) => f(&e),
        None => none,
    })
}

/// The event's type; `RTWIRE_EVENT_TYPE_NONE` for an invalid handle.
#[no_mangle]
pub extern "C" fn rtwire_event_kind(ev: *const rtwire_event) -> rtwire_event_type {
    read(ev, rtwire_event_type::None, |e| e.kind)
}

/// The connection the event belongs to, or NULL for an invalid handle and
/// for server events (see `rtwire_event_server()`) but SERVER_ACCEPTED,
/// whose connection is the new one (owned by the application from then
/// on). The handle is not owned by the event: it stays valid until
/// `rtwire_conn_free()` (after that, calls with it return
/// `RTWIRE_RESULT_INVALID_HANDLE`).
#[no_mangle]
pub extern "C" fn rtwire_event_conn(ev: *const rtwire_event) -> *mut rtwire_conn {
    read(ev, std::ptr::null_mut(), |e| to_ptr(e.conn))
}

/// The `userdata` given to `rtwire_context_connect()` for the event's
/// connection (also valid after the connection is freed); for a connection
/// a server accepted (SERVER_ACCEPTED and its events), the `user` given to
/// `rtwire_request_accept()`. NULL for an invalid handle.
#[no_mangle]
pub extern "C" fn rtwire_event_userdata(ev: *const rtwire_event) -> *mut c_void {
    read(ev, std::ptr::null_mut(), |e| e.userdata as *mut c_void)
}

/// MESSAGE and SERVER_MESSAGE: the payload (UTF-8 for text, not
/// NUL-terminated). Empty for a message without payload, other event types
/// and invalid handles. Valid until `rtwire_event_free()`.
#[no_mangle]
pub extern "C" fn rtwire_event_data(ev: *const rtwire_event) -> rtwire_bytes {
    read(ev, rtwire_bytes::EMPTY, |e| {
        e.data
            .as_ref()
            .map_or(rtwire_bytes::EMPTY, |d| rtwire_bytes::of(d.as_bytes()))
    })
}

/// MESSAGE and SERVER_MESSAGE: whether the payload is text (true) or
/// binary (false). False for
/// other event types and invalid handles.
#[no_mangle]
pub extern "C" fn rtwire_event_is_text(ev: *const rtwire_event) -> bool {
    read(ev, false, |e| e.data.as_ref().is_some_and(Data::is_text))
}

/// MESSAGE: the event name (SSE `event:`), absent (`data` NULL) when the
/// transport has none. Valid until `rtwire_event_free()`.
#[no_mangle]
pub extern "C" fn rtwire_event_name(ev: *const rtwire_event) -> rtwire_str {
    read(ev, rtwire_str::ABSENT, |e| NulStr::view_opt(&e.name))
}

/// MESSAGE: the event id (SSE `id:`, the last event id; with
/// `rtwire_options_set_rtwire_protocol()` the rtwire server's id) or cursor,
/// absent (`data` NULL) when the transport has none. SERVER_PUBLISHED: the
/// new message's id. Valid until `rtwire_event_free()`.
#[no_mangle]
pub extern "C" fn rtwire_event_id(ev: *const rtwire_event) -> rtwire_str {
    read(ev, rtwire_str::ABSENT, |e| NulStr::view_opt(&e.id))
}

/// OPEN: the transport in use. SERVER_CONNECTED and SERVER_DISCONNECTED:
/// the client's transport (`RTWIRE_TRANSPORT_WEBSOCKET`, `_SSE` or
/// `_STREAM`). `RTWIRE_TRANSPORT_AUTO` for other event types and invalid
/// handles.
#[no_mangle]
pub extern "C" fn rtwire_event_transport(ev: *const rtwire_event) -> rtwire_transport {
    read(ev, rtwire_transport::Auto, |e| e.transport)
}

/// OPEN: the URL connected to, without user name or password. Absent for
/// other event types. Valid until `rtwire_event_free()`.
#[no_mangle]
pub extern "C" fn rtwire_event_url(ev: *const rtwire_event) -> rtwire_str {
    read(ev, rtwire_str::ABSENT, |e| NulStr::view_opt(&e.url))
}

/// OPEN: the subprotocol the server chose; absent when none was chosen.
/// Valid until `rtwire_event_free()`.
#[no_mangle]
pub extern "C" fn rtwire_event_protocol(ev: *const rtwire_event) -> rtwire_str {
    read(ev, rtwire_str::ABSENT, |e| NulStr::view_opt(&e.protocol))
}

/// OPEN: the number of handshake response headers (0 for other types).
#[no_mangle]
pub extern "C" fn rtwire_event_header_count(ev: *const rtwire_event) -> usize {
    read(ev, 0, |e| e.headers.len())
}

/// OPEN: response header number `index` (names in lower case), written to
/// `*name` and `*value` (views valid until `rtwire_event_free()`).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT`
/// (`index` out of range). The out-params are written only on success.
///
/// # Safety
/// `name` and `value` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_event_header(
    ev: *const rtwire_event,
    index: usize,
    name: *mut rtwire_str,
    value: *mut rtwire_str,
) -> rtwire_result {
    guard(|| {
        let Some(e) = get(ev) else {
            return rtwire_result::InvalidHandle;
        };
        if name.is_null() || value.is_null() {
            return rtwire_result::NullArgument;
        }
        let Some((k, v)) = e.headers.get(index) else {
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

/// RECONNECTING: the attempt number (1 for the first retry after a loss);
/// 0 for other types.
#[no_mangle]
pub extern "C" fn rtwire_event_reconnect_attempt(ev: *const rtwire_event) -> u32 {
    read(ev, 0, |e| e.attempt)
}

/// RECONNECTING: the wait before the attempt, in milliseconds; 0 for other
/// types.
#[no_mangle]
pub extern "C" fn rtwire_event_reconnect_delay_ms(ev: *const rtwire_event) -> u64 {
    read(ev, 0, |e| e.delay_ms)
}

/// ERROR and RECONNECTING: the result code of the error (or of the cause of
/// the reconnect). `RTWIRE_RESULT_OK` for other types,
/// `RTWIRE_RESULT_INVALID_HANDLE` for an invalid handle.
#[no_mangle]
pub extern "C" fn rtwire_event_error_code(ev: *const rtwire_event) -> rtwire_result {
    read(ev, rtwire_result::InvalidHandle, |e| e.error)
}

/// ERROR and RECONNECTING: the error text (what went wrong, with which
/// input). Absent for other types. Valid until `rtwire_event_free()`.
#[no_mangle]
pub extern "C" fn rtwire_event_error_message(ev: *const rtwire_event) -> rtwire_str {
    read(ev, rtwire_str::ABSENT, |e| {
        NulStr::view_opt(&e.error_message)
    })
}

/// ERROR and RECONNECTING: the HTTP status of a refused handshake; 0 when
/// there is none.
#[no_mangle]
pub extern "C" fn rtwire_event_http_status(ev: *const rtwire_event) -> u16 {
    read(ev, 0, |e| e.status)
}

/// CLOSED: the close code (the peer's, 1005 when its close frame had none,
/// 1006 when the connection was lost or never opened); 0 for other types.
#[no_mangle]
pub extern "C" fn rtwire_event_close_code(ev: *const rtwire_event) -> u16 {
    read(ev, 0, |e| e.close_code)
}

/// CLOSED: the close reason (possibly empty). Absent for other types. Valid
/// until `rtwire_event_free()`.
#[no_mangle]
pub extern "C" fn rtwire_event_close_reason(ev: *const rtwire_event) -> rtwire_str {
    read(ev, rtwire_str::ABSENT, |e| NulStr::view_opt(&e.reason))
}

/// CLOSED: whether the close handshake completed in both directions.
#[no_mangle]
pub extern "C" fn rtwire_event_close_clean(ev: *const rtwire_event) -> bool {
    read(ev, false, |e| e.clean)
}

/// CLOSED: how many messages accepted by sends were never written (they are
/// handed back, in order, rather than lost); 0 for other types.
#[no_mangle]
pub extern "C" fn rtwire_event_unsent_count(ev: *const rtwire_event) -> usize {
    read(ev, 0, |e| e.unsent.len())
}

/// CLOSED: unsent message number `index`: its bytes (a view valid until
/// `rtwire_event_free()`) and whether it was text.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` (`data` or `is_text` NULL) or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (`index` out of range). Out-params are
/// written only on success.
///
/// # Safety
/// `data` and `is_text` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_event_unsent(
    ev: *const rtwire_event,
    index: usize,
    data: *mut rtwire_bytes,
    is_text: *mut bool,
) -> rtwire_result {
    guard(|| {
        let Some(e) = get(ev) else {
            return rtwire_result::InvalidHandle;
        };
        if data.is_null() || is_text.is_null() {
            return rtwire_result::NullArgument;
        }
        let Some(d) = e.unsent.get(index) else {
            return rtwire_result::InvalidArgument;
        };
        // SAFETY: both are non-NULL and writable per the contract.
        unsafe {
            *data = rtwire_bytes::of(d.as_bytes());
            *is_text = d.is_text();
        }
        rtwire_result::Ok
    })
}

/// Server events: the server the event belongs to, or NULL for other
/// events and invalid handles. Not owned by the event: it stays valid until
/// `rtwire_server_free()`.
#[no_mangle]
pub extern "C" fn rtwire_event_server(ev: *const rtwire_event) -> *mut rtwire_server {
    read(ev, std::ptr::null_mut(), |e| to_ptr(e.server))
}

/// Server events: the channel. Absent for other types. Valid until
/// `rtwire_event_free()`.
#[no_mangle]
pub extern "C" fn rtwire_event_channel(ev: *const rtwire_event) -> rtwire_str {
    read(ev, rtwire_str::ABSENT, |e| NulStr::view_opt(&e.channel))
}

/// SERVER_CONNECTED, SERVER_DISCONNECTED, SERVER_REQUEST and
/// SERVER_ACCEPTED: the client's address
/// (`127.0.0.1:54321`, `[::1]:54321`). Absent for other types. Valid until
/// `rtwire_event_free()`.
#[no_mangle]
pub extern "C" fn rtwire_event_peer(ev: *const rtwire_event) -> rtwire_str {
    read(ev, rtwire_str::ABSENT, |e| NulStr::view_opt(&e.peer))
}

/// SERVER_PUBLISHED and SERVER_MESSAGE: the payload size in bytes; 0 for
/// other types.
#[no_mangle]
pub extern "C" fn rtwire_event_byte_count(ev: *const rtwire_event) -> usize {
    read(ev, 0, |e| e.bytes)
}

/// Server events: how many events of this server were dropped just before
/// this one because `event_queue` of them were already waiting in the
/// context (`rtwire_server_options_set_event_queue()`). 0 when none were
/// (and for other types).
#[no_mangle]
pub extern "C" fn rtwire_event_dropped(ev: *const rtwire_event) -> u64 {
    read(ev, 0, |e| e.dropped)
}

/// SERVER_REQUEST: the pending request, owned by the event (valid until
/// `rtwire_event_free()`, which refuses it with 503 if it is still
/// unanswered). SERVER_ACCEPTED: the connection's request, owned by the
/// connection (valid until `rtwire_conn_free()`, the same as
/// `rtwire_conn_request()`). NULL for other types and invalid handles, and
/// for SERVER_ACCEPTED when no handle could be made (the connection was
/// then closed). Never free it.
#[no_mangle]
pub extern "C" fn rtwire_event_request(
    ev: *const rtwire_event,
) -> *const crate::app::rtwire_request {
    read(ev, std::ptr::null(), |e| {
        to_ptr::<crate::app::rtwire_request>(e.request).cast_const()
    })
}

/// SERVER_REQUEST and SERVER_ACCEPTED: the server's id for the connection
/// (`rtwire_request_id()`, `rtwire_conn_id()`), which rooms and broadcasts
/// take; 0 for other types and invalid handles.
#[no_mangle]
pub extern "C" fn rtwire_event_connection_id(ev: *const rtwire_event) -> u64 {
    read(ev, 0, |e| e.conn_id)
}

/// Frees an event taken with `rtwire_context_next_event()`; its views become
/// invalid.
///
/// Returns `RTWIRE_RESULT_OK` or `RTWIRE_RESULT_INVALID_HANDLE` (NULL,
/// double free, not an event). Thread-safe, but not while another thread
/// still reads the event's views.
#[no_mangle]
pub extern "C" fn rtwire_event_free(ev: *mut rtwire_event) -> rtwire_result {
    guard(|| match EVENTS.remove(from_ptr(ev)) {
        Some(_) => rtwire_result::Ok,
        None => rtwire_result::InvalidHandle,
    })
}
