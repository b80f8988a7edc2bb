//! [`NativeServer`]: the core's embedded server (`rtwire::server::Server`)
//! on the addon's tokio runtime.
//!
//! Messages WebSocket clients send never reach JavaScript on a runtime
//! thread. The core's handler only queues a copy (bounded) in the core's
//! [`Inbox`] and, for the first message since JavaScript last took the
//! queue, schedules one call of a weak threadsafe function; that call runs
//! on the JavaScript thread and takes everything queued by then, as one
//! batch. Whether the message is also published is decided by the handler
//! at once, without waiting for JavaScript.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use napi::bindgen_prelude::{Buffer, Either, FnArgs, Function, Promise, PromiseRaw};
use napi::threadsafe_function::{
    ThreadsafeFunction, ThreadsafeFunctionCallMode, UnknownReturnValue,
};
use napi::{Env, Result, Status};
use napi_derive::napi;
use rtwire::server::{bind_addr, Inbox, Pushed, Server, ServerOptions};
use rtwire::{Data, Error, ErrorKind};

use crate::app::{self, NativeReject, NativeRequest};
use crate::conn::NativeConnection;
use crate::errors::ErrorInfo;
use crate::events::data_value;

/// Options of [`serve`]: the server schema's options as pairs, and those
/// of the binding. The JavaScript layer has checked the types.
#[napi(object)]
#[derive(Default)]
pub struct NativeServerOptions {
    /// The address or host name to listen on.
    pub host: String,
    /// The port (0: any free one).
    pub port: u32,
    /// `[canonicalName, value]` pairs of the core's server schema
    /// (`serverOptionSchema()`), in schema order; durations in
    /// milliseconds. The core checks them.
    pub options: Vec<(String, crate::options::OptionValue)>,
    /// Publish what WebSocket clients send as it is (default `true`).
    pub publish_received: Option<bool>,
    /// Messages from clients waiting for JavaScript at most (default 1024);
    /// further ones are not reported (they are still published).
    pub queue: Option<f64>,
    /// The path of the application route (exact, e.g. `/chat`), whose
    /// WebSocket clients go to `serve`'s `onConnection`.
    pub path: Option<String>,
    /// Subprotocols the route accepts, in order of preference.
    pub protocols: Option<Vec<String>>,
}

impl std::fmt::Debug for NativeServerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeServerOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// A message a WebSocket client sent.
#[napi(object)]
pub struct NativeInbound {
    /// The channel it was sent on.
    pub channel: String,
    /// The payload: a string for text, a `Buffer` for binary.
    pub data: Either<String, Buffer>,
}

impl std::fmt::Debug for NativeInbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeInbound")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// Figures of one channel.
#[napi(object)]
#[derive(Debug)]
pub struct NativeChannelStats {
    /// The channel name.
    pub name: String,
    /// Messages published since the server started.
    pub published: f64,
    /// Messages kept in history.
    pub history: f64,
    /// Live subscribers (WebSocket, SSE, streaming, held polls).
    pub subscribers: f64,
}

/// Server-wide figures.
#[napi(object)]
#[derive(Debug)]
pub struct NativeStats {
    /// Open TCP connections.
    pub connections: f64,
    /// Per-channel figures.
    pub channels: Vec<NativeChannelStats>,
}

type Wake = ThreadsafeFunction<(), UnknownReturnValue, Vec<NativeInbound>, Status, false, true>;

/// The core's inbox between its handler and the JavaScript thread, with
/// what wakes JavaScript.
struct Inbound {
    inbox: Inbox,
    wake: Mutex<Option<Wake>>,
    /// Whether JavaScript listens for messages at all.
    listening: AtomicBool,
}

impl Inbound {
    fn wake(&self) -> MutexGuard<'_, Option<Wake>> {
        self.wake.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a message; called on a runtime thread, never blocks on
    /// JavaScript.
    fn push(&self, channel: &str, data: Data) {
        if !matches!(
            self.inbox.push(channel, data),
            Pushed::Queued { wake: true }
        ) {
            return;
        }
        let called = self
            .wake()
            .as_ref()
            .map(|w| w.call((), ThreadsafeFunctionCallMode::NonBlocking));
        if called != Some(Status::Ok) {
            // The JavaScript side is gone or closing: nothing will drain.
            self.inbox.clear();
        }
    }

    /// Everything queued (on the JavaScript thread).
    fn take_all(&self) -> Vec<NativeInbound> {
        self.inbox
            .take_all()
            .into_iter()
            .map(|(channel, data)| NativeInbound {
                channel,
                data: data_value(data),
            })
            .collect()
    }

    fn close(&self) {
        self.inbox.close();
        self.inbox.clear();
        // Releases the threadsafe function.
        self.wake().take();
    }
}

/// A running server, driven from JavaScript.
///
/// When the JavaScript object is garbage-collected without `close`, the
/// server stops (without waiting for its connections).
#[napi]
pub struct NativeServer {
    server: Mutex<Option<Server>>,
    addr: SocketAddr,
    url: String,
    epoch: String,
    inbound: Arc<Inbound>,
}

impl std::fmt::Debug for NativeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeServer")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn size(v: f64) -> usize {
    if v >= usize::MAX as f64 {
        usize::MAX
    } else {
        v as usize
    }
}

/// Starts a server; resolves once it listens, with the server or the error.
/// With `options.path`, WebSocket clients of that path each get a
/// `NativeConnection`, handed to `onConnection` with their request on the
/// JavaScript thread; `authenticate`, if given, is asked about every
/// request the core's acceptance hook sees (the route and the channel
/// paths) and resolves with `null` to accept, else the refusal. Neither
/// callback keeps the process alive.
#[napi(
    ts_args_type = "options: NativeServerOptions, onConnection?: ((conn: NativeConnection, req: NativeRequest) => void) | undefined | null, authenticate?: ((req: NativeRequest) => Promise<NativeReject | null>) | undefined | null",
    ts_return_type = "Promise<NativeServer | ErrorInfo>"
)]
pub fn serve<'env>(
    env: &'env Env,
    options: NativeServerOptions,
    on_connection: Option<
        Function<'_, FnArgs<(NativeConnection, NativeRequest)>, UnknownReturnValue>,
    >,
    authenticate: Option<Function<'_, NativeRequest, Promise<Option<NativeReject>>>>,
) -> Result<PromiseRaw<'env, Either<NativeServer, ErrorInfo>>> {
    let mut o = ServerOptions::new();
    if let (Some(path), Some(cb)) = (&options.path, &on_connection) {
        o = app::route(o, path, options.protocols.as_deref().unwrap_or(&[]), cb)?;
    }
    if let Some(cb) = &authenticate {
        o = app::accept(o, cb)?;
    }
    env.spawn_future(start(o, options))
}

async fn start(
    mut o: ServerOptions,
    mut options: NativeServerOptions,
) -> Result<Either<NativeServer, ErrorInfo>> {
    // The schema's options over the routes and hook set by `serve`; the
    // JavaScript layer has checked them with `checkServerOptions` already.
    let schema = match crate::options::build_server(std::mem::take(&mut options.options)) {
        Ok(s) => s,
        Err(e) => return Ok(Either::B(e.into())),
    };
    for spec in rtwire::options::SERVER_SCHEMA {
        if let Err(e) = o.set(spec.name, spec.get(&schema)) {
            return Ok(Either::B(e.into()));
        }
    }
    let port = u16::try_from(options.port).unwrap_or(0);
    let bind = match bind_addr(&options.host, port).await {
        Ok(a) => a,
        Err(e) => return Ok(Either::B(e.into())),
    };
    if let Err(e) = o.set("bind", rtwire::options::Value::Text(bind.to_string())) {
        return Ok(Either::B(e.into()));
    }
    let server = match Server::start(o).await {
        Ok(s) => s,
        Err(e) => return Ok(Either::B(e.into())),
    };
    let inbound = Arc::new(Inbound {
        inbox: Inbox::new(options.queue.map_or(1024, size).max(1)),
        wake: Mutex::new(None),
        listening: AtomicBool::new(false),
    });
    let publish = options.publish_received.unwrap_or(true);
    let queued = inbound.clone();
    server.set_handler(Arc::new(move |channel: &str, data: Data| {
        if queued.listening.load(Ordering::Acquire) {
            queued.push(channel, data.clone());
        }
        publish.then_some(data)
    }));
    Ok(Either::A(NativeServer {
        addr: server.local_addr(),
        url: server.base_url(),
        epoch: server.epoch().to_string(),
        server: Mutex::new(Some(server)),
        inbound,
    }))
}

impl NativeServer {
    fn with_server<R>(&self, f: impl FnOnce(&Server) -> R) -> Option<R> {
        let g = self.server.lock().unwrap_or_else(|e| e.into_inner());
        g.as_ref().map(f)
    }

    /// Publishes to a channel the core's check accepts: the id, or the
    /// error (also once closed).
    fn publish(&self, channel: &str, data: Data) -> Either<String, ErrorInfo> {
        let published = self
            .with_server(|s| s.try_publish(channel, data))
            .unwrap_or_else(|| Err(Error::new(ErrorKind::Closed, "the server is closed")));
        match published {
            Ok(id) => Either::A(id),
            Err(e) => Either::B(e.into()),
        }
    }

    fn broadcast(&self, room: Option<String>, data: Data, except: Vec<f64>) -> u32 {
        self.with_server(|s| {
            let d = s.rooms().broadcast(
                room.as_deref(),
                except.into_iter().map(|id| id as u64),
                data,
            );
            u32::try_from(d.queued).unwrap_or(u32::MAX)
        })
        .unwrap_or(0)
    }

    fn take(&self) -> Option<Server> {
        self.inbound.close();
        self.server.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

#[napi]
impl NativeServer {
    /// The address listened on.
    #[napi(getter)]
    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    /// The port listened on (the real one when started with port 0).
    #[napi(getter)]
    pub fn port(&self) -> u32 {
        self.addr.port().into()
    }

    /// `http://host:port` (`https://` with TLS).
    #[napi(getter)]
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The epoch of the message ids; new at every start.
    #[napi(getter)]
    pub fn epoch(&self) -> String {
        self.epoch.clone()
    }

    /// Whether the server was closed.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.with_server(|_| ()).is_none()
    }

    /// Messages from clients not reported because the queue was full.
    #[napi(getter)]
    pub fn dropped(&self) -> f64 {
        self.inbound.inbox.dropped() as f64
    }

    /// Sets the callback that receives the messages WebSocket clients send,
    /// in batches; it does not keep the process alive. Only the first call
    /// has an effect.
    #[napi(ts_args_type = "callback: (batch: Array<NativeInbound>) => void")]
    pub fn start(
        &self,
        callback: Function<'_, Vec<NativeInbound>, UnknownReturnValue>,
    ) -> Result<()> {
        let mut wake = self.inbound.wake();
        if wake.is_some() || self.closed() {
            return Ok(());
        }
        let inbound = self.inbound.clone();
        let tsfn = callback
            .build_threadsafe_function::<()>()
            .weak::<true>()
            .callee_handled::<false>()
            .build_callback(move |_ctx| Ok(inbound.take_all()))?;
        *wake = Some(tsfn);
        Ok(())
    }

    /// Whether messages from clients are queued for the callback (only
    /// while JavaScript listens for them).
    #[napi]
    pub fn set_listening(&self, on: bool) {
        self.inbound.listening.store(on, Ordering::Release);
    }

    /// Publishes a text message: its id, or the error (an invalid channel
    /// name, or closed).
    #[napi]
    pub fn publish_text(&self, channel: String, data: String) -> Either<String, ErrorInfo> {
        self.publish(&channel, data.into())
    }

    /// Publishes a binary message (copied): its id, or the error (an
    /// invalid channel name, or closed).
    #[napi]
    pub fn publish_binary(&self, channel: String, data: &[u8]) -> Either<String, ErrorInfo> {
        self.publish(&channel, Data::from(data))
    }

    /// Connection count and per-channel figures; `null` once closed.
    #[napi]
    pub fn stats(&self) -> Option<NativeStats> {
        self.with_server(|s| {
            let st = s.stats();
            NativeStats {
                connections: st.connections as f64,
                channels: st
                    .channels
                    .into_iter()
                    .map(|c| NativeChannelStats {
                        name: c.name,
                        published: c.published as f64,
                        history: c.history as f64,
                        subscribers: c.subscribers as f64,
                    })
                    .collect(),
            }
        })
    }

    /// Adds application connection `id` to `room`: whether it was not in
    /// it yet (`false` also when it is not open or the server is closed),
    /// or the error for an invalid room name.
    #[napi]
    pub fn join(&self, id: f64, room: String) -> Either<bool, ErrorInfo> {
        match self.with_server(|s| s.rooms().try_join(id as u64, &room)) {
            Some(Ok(added)) => Either::A(added),
            Some(Err(e)) if e.kind() != ErrorKind::Closed => Either::B(e.into()),
            _ => Either::A(false),
        }
    }

    /// Takes connection `id` out of `room`: whether it was in it.
    #[napi]
    pub fn leave(&self, id: f64, room: String) -> bool {
        self.with_server(|s| s.rooms().leave(id as u64, &room))
            .unwrap_or(false)
    }

    /// The rooms connection `id` is in, sorted.
    #[napi]
    pub fn rooms_of(&self, id: f64) -> Vec<String> {
        self.with_server(|s| s.rooms().rooms_of(id as u64))
            .unwrap_or_default()
    }

    /// The ids of the members of `room`, increasing.
    #[napi]
    pub fn members(&self, room: String) -> Vec<f64> {
        self.with_server(|s| s.rooms().members(&room))
            .unwrap_or_default()
            .into_iter()
            .map(|id| id as f64)
            .collect()
    }

    /// The rooms with members, sorted.
    #[napi]
    pub fn room_names(&self) -> Vec<String> {
        self.with_server(|s| s.rooms().names()).unwrap_or_default()
    }

    /// Queues a text message for the members of `room` (everybody with
    /// `null`) but `except`: how many it was queued for.
    #[napi]
    pub fn broadcast_text(&self, room: Option<String>, data: String, except: Vec<f64>) -> u32 {
        self.broadcast(room, data.into(), except)
    }

    /// As `broadcastText` with a binary message (copied once for all).
    #[napi]
    pub fn broadcast_binary(&self, room: Option<String>, data: &[u8], except: Vec<f64>) -> u32 {
        self.broadcast(room, Data::from(data), except)
    }

    /// Drops every client at once, as a network cut would; `false` once
    /// closed.
    #[napi]
    pub fn disconnect_all(&self) -> bool {
        self.with_server(|s| s.disconnect_all()).is_some()
    }

    /// Stops the server: WebSocket clients get close 1001, streams end,
    /// connections are awaited up to 5 s. Resolves once done; harmless when
    /// already closed.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn close<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        let server = self.take();
        env.spawn_future(async move {
            if let Some(s) = server {
                s.shutdown().await;
            }
            Ok(())
        })
    }
}

impl Drop for NativeServer {
    fn drop(&mut self) {
        // Garbage-collected (or the environment is going away) without
        // `close`: dropping the core's server drops its stop signal, which
        // ends the accept loop and every stream without waiting. (The
        // runtime may already be gone here, so nothing is spawned.)
        drop(self.take());
    }
}
