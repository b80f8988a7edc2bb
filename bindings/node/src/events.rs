//! Events of the core as JavaScript values.
//!
//! A batch is an array. A message without SSE fields is passed as its bare
//! payload (a string for text, a `Buffer` for binary), the common case and
//! the cheapest; every other event is a [`NativeEvent`] object whose `type`
//! says which one it is.

use bytes::Bytes;
use napi::bindgen_prelude::{Buffer, Either, ToNapiValue};
use napi::sys;
use napi_derive::napi;
use rtwire::{Data, Event};

use crate::direct::Args;
use crate::errors::ErrorInfo;
use crate::pool::Pool;

/// An event other than a plain message. Which fields are set depends on
/// `type`: `open` (transport, url, protocol, headers), `message` (data,
/// event, id), `reconnecting` (attempt, delay, error), `error` (error),
/// `close` (code, reason, clean, unsent).
#[napi(object)]
#[derive(Default)]
pub struct NativeEvent {
    /// `open`, `message`, `reconnecting`, `error` or `close`.
    #[napi(js_name = "type")]
    pub kind: String,
    /// `message`: the payload.
    pub data: Option<Either<String, Buffer>>,
    /// `message`: the SSE event type.
    pub event: Option<String>,
    /// `message`: the SSE event id (or long-poll cursor).
    pub id: Option<String>,
    /// `open`: the transport in use.
    pub transport: Option<String>,
    /// `open`: the URL, without credentials.
    pub url: Option<String>,
    /// `open`: the subprotocol the server chose.
    pub protocol: Option<String>,
    /// `open`: the handshake response headers, as `[name, value]`.
    pub headers: Option<Vec<Vec<String>>>,
    /// `reconnecting`: the attempt number, from 1.
    pub attempt: Option<u32>,
    /// `reconnecting`: the wait before the attempt, in milliseconds.
    pub delay: Option<f64>,
    /// `reconnecting`: the cause; `error`: the error.
    pub error: Option<ErrorInfo>,
    /// `close`: the close code.
    pub code: Option<u32>,
    /// `close`: the close reason.
    pub reason: Option<String>,
    /// `close`: whether the close handshake completed.
    pub clean: Option<bool>,
    /// `close`: the messages accepted by `send` that were never written.
    pub unsent: Option<Vec<Either<String, Buffer>>>,
}

impl std::fmt::Debug for NativeEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeEvent")
            .field("type", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Bytes as a `Buffer`, without a copy when the bytes are not shared.
pub(crate) fn bytes_buffer(b: Bytes) -> Buffer {
    if b.is_empty() {
        // A distinct allocation: empty vectors share one dangling pointer,
        // which napi refuses to wrap twice.
        return Buffer::from(Vec::with_capacity(1));
    }
    Buffer::from(Vec::from(b))
}

/// A payload as a JavaScript string or `Buffer`.
pub(crate) fn data_value(d: Data) -> Either<String, Buffer> {
    match d {
        Data::Text(t) => Either::A(t.as_str().to_owned()),
        Data::Binary(b) => Either::B(bytes_buffer(b)),
    }
}

/// Binary messages up to this size reach JavaScript as a copy in a fresh
/// `Buffer`, which costs less than wrapping the bytes (an external buffer
/// needs a finalizer per message).
const COPY_BELOW: usize = 16 * 1024;

/// A `Buffer` holding a copy of `b`.
///
/// # Safety
/// On the JavaScript thread, with a live `env`.
unsafe fn copied_buffer(env: sys::napi_env, b: &[u8]) -> napi::Result<sys::napi_value> {
    let mut data = std::ptr::null_mut();
    let mut value = std::ptr::null_mut();
    // SAFETY: per the function's contract; napi copies `b.len()` bytes.
    let status = unsafe {
        sys::napi_create_buffer_copy(env, b.len(), b.as_ptr().cast(), &mut data, &mut value)
    };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::new(
            napi::Status::GenericFailure,
            "cannot create a Buffer",
        ));
    }
    Ok(value)
}

/// One element of a batch.
#[derive(Debug)]
pub enum Item {
    /// A text message without SSE fields: a string.
    Text(rtwire::Text),
    /// A binary message without SSE fields: a `Buffer`.
    Binary(Bytes),
    /// Any other event: a [`NativeEvent`].
    Event(Box<NativeEvent>),
}

impl ToNapiValue for Item {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        // SAFETY: called by napi on the JavaScript thread with a live env.
        unsafe {
            match val {
                Item::Text(t) => <&str>::to_napi_value(env, t.as_str()),
                Item::Binary(b) if b.len() <= COPY_BELOW => copied_buffer(env, &b),
                Item::Binary(b) => Buffer::to_napi_value(env, bytes_buffer(b)),
                Item::Event(e) => NativeEvent::to_napi_value(env, *e),
            }
        }
    }
}

/// The arguments of a direct call for one event: `(arrayBuffer, offset,
/// length)` for a small binary message, copied into `pool` (JavaScript
/// makes the `Buffer`), else `(value)` as in a batch.
///
/// # Safety
/// On the JavaScript thread of `env`, in an open handle scope.
pub(crate) unsafe fn event_args(
    env: sys::napi_env,
    pool: &mut Pool,
    ev: Event,
) -> napi::Result<Args> {
    let item = item(ev);
    if let Item::Binary(b) = &item {
        // SAFETY: per this function's contract.
        if let Some((buffer, offset)) = unsafe { pool.put(env, b) } {
            let (mut off, mut len) = (std::ptr::null_mut(), std::ptr::null_mut());
            // SAFETY: as above; both fit in u32 (a block is 8 KiB).
            unsafe {
                sys::napi_create_uint32(env, offset as u32, &mut off);
                sys::napi_create_uint32(env, b.len() as u32, &mut len);
            }
            if !off.is_null() && !len.is_null() {
                return Ok(Args::three(buffer, off, len));
            }
        }
    }
    // SAFETY: as above.
    unsafe { Item::to_napi_value(env, item) }.map(Args::one)
}

/// Whether this is the last event of a connection.
pub(crate) fn is_final(ev: &Event) -> bool {
    matches!(ev, Event::Closed(_))
}

fn headers(h: Vec<(String, String)>) -> Vec<Vec<String>> {
    h.into_iter().map(|(k, v)| vec![k, v]).collect()
}

/// The JavaScript value of an event.
pub(crate) fn item(ev: Event) -> Item {
    let e = match ev {
        Event::Message(m) if m.event.is_none() && m.id.is_none() => {
            return match m.data {
                Data::Text(t) => Item::Text(t),
                Data::Binary(b) => Item::Binary(b),
            }
        }
        Event::Message(m) => NativeEvent {
            kind: "message".into(),
            data: Some(data_value(m.data)),
            event: m.event,
            id: m.id,
            ..Default::default()
        },
        Event::Open(o) => NativeEvent {
            kind: "open".into(),
            transport: Some(o.transport.as_str().into()),
            url: Some(o.url),
            protocol: o.protocol,
            headers: Some(headers(o.headers)),
            ..Default::default()
        },
        Event::Reconnecting {
            attempt,
            delay,
            cause,
        } => NativeEvent {
            kind: "reconnecting".into(),
            attempt: Some(attempt),
            delay: Some(delay.as_secs_f64() * 1000.0),
            error: Some(cause.into()),
            ..Default::default()
        },
        Event::Error(e) => NativeEvent {
            kind: "error".into(),
            error: Some(e.into()),
            ..Default::default()
        },
        Event::Closed(c) => NativeEvent {
            kind: "close".into(),
            code: Some(c.code.into()),
            reason: Some(c.reason),
            clean: Some(c.clean),
            unsent: Some(c.unsent.into_iter().map(data_value).collect()),
            ..Default::default()
        },
        // A kind of event this addon does not know yet: reported, not lost.
        other => NativeEvent {
            kind: "error".into(),
            error: Some(
                rtwire::Error::new(
                    rtwire::ErrorKind::Internal,
                    format!("unknown event {other:?}"),
                )
                .into(),
            ),
            ..Default::default()
        },
    };
    Item::Event(Box::new(e))
}

/// The `open` info of the first session, as an event object.
pub(crate) fn open_event(o: &rtwire::OpenInfo) -> NativeEvent {
    match item(Event::Open(o.clone())) {
        Item::Event(e) => *e,
        _ => NativeEvent::default(),
    }
}
