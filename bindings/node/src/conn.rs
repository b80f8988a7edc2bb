//! [`NativeConnection`]: one core connection and its event pump.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use napi::bindgen_prelude::{
    Either, FromNapiValue, Function, Object, PromiseRaw, ToNapiValue, Unknown,
};
use napi::threadsafe_function::{ThreadsafeFunctionCallMode, UnknownReturnValue};
use napi::{Env, JsValue, Result};
use napi_derive::napi;
use rtwire::{Connection, Data, Event, Sender};
use tokio::sync::Notify;

use crate::direct::{self, Args, Direct};
use crate::errors::ErrorInfo;
use crate::events::{event_args, is_final, item, open_event, Item, NativeEvent};
use crate::host;
use crate::options::{self, OptionValue};
use crate::pool::Pool;
use crate::send_fn;

/// Events handed to JavaScript in one call at most.
const BATCH: usize = 256;

/// Batches in flight to the JavaScript thread at most.
const IN_FLIGHT: usize = 2;

/// Counts the batches queued on the threadsafe function.
#[derive(Default)]
struct Flight {
    queued: AtomicUsize,
    room: Notify,
}

impl Flight {
    fn put(&self) {
        self.queued.fetch_add(1, Ordering::AcqRel);
    }

    fn take(&self) {
        self.queued.fetch_sub(1, Ordering::AcqRel);
        self.room.notify_one();
    }

    /// No batch waits for the JavaScript thread.
    fn idle(&self) -> bool {
        self.queued.load(Ordering::Acquire) == 0
    }

    async fn wait_room(&self) {
        while self.queued.load(Ordering::Acquire) >= IN_FLIGHT {
            let room = self.room.notified();
            if self.queued.load(Ordering::Acquire) < IN_FLIGHT {
                break;
            }
            room.await;
        }
    }
}

/// What the JavaScript object and the pump task share.
struct Shared {
    conn: Mutex<Connection>,
}

impl Shared {
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether JavaScript asked for no events (`pause()`), shared with the pump
/// and the connection's event sink (not part of [`Shared`], which the sink
/// may not hold: the connection owns the sink).
#[derive(Default)]
struct Gate {
    paused: AtomicBool,
    resumed: Notify,
}

impl Gate {
    fn paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    async fn wait_open(&self) {
        while self.paused() {
            let resumed = self.resumed.notified();
            if !self.paused() {
                break;
            }
            resumed.await;
        }
    }
}

/// Whether an event may be handed to JavaScript directly now: in a libuv
/// callback of the host, with no JavaScript on the stack and no batch
/// waiting in the threadsafe function (which keeps the order).
fn may_call_now(flight: &Flight) -> bool {
    host::in_loop_callback() && !direct::calling() && flight.idle()
}

/// A connection of the core, driven from JavaScript.
///
/// When the JavaScript object is garbage-collected, the connection is
/// closed with 1001 (going away) and freed once the close completes.
#[napi]
pub struct NativeConnection {
    shared: Arc<Shared>,
    gate: Arc<Gate>,
    sender: Sender,
    started: bool,
    /// Never hosted by the loop: the connection's driver runs on the
    /// runtime (a server-side connection), so its events always cross with
    /// the threadsafe function.
    on_runtime: bool,
}

/// Connects and resolves with the connection, or with the error (an
/// option the schema refuses included). `options` are `[canonicalName,
/// value]` pairs in schema order (see `options`). On a thread whose loop
/// hosts connections (see `host`), the connection runs there; else on the
/// runtime.
#[napi(ts_return_type = "Promise<NativeConnection | ErrorInfo>")]
pub fn connect<'env>(
    env: &'env Env,
    url: String,
    options: Vec<(String, OptionValue)>,
) -> Result<Object<'env>> {
    let (deferred, promise) = env.create_deferred()?;
    let hosted = host::host(env);
    type Connecting =
        std::pin::Pin<Box<dyn std::future::Future<Output = rtwire::Result<Connection>> + Send>>;
    let connecting = options::build(options).map(|o| -> Connecting {
        match &hosted {
            Some(h) => Box::pin(rtwire::hosted::connect(h, &url, o)),
            None => Box::pin(async move { rtwire::connect(&url, o).await }),
        }
    });
    let work = async move {
        let r = match connecting {
            Err(e) => Either::B(ErrorInfo::from(e)),
            Ok(connecting) => match connecting.await {
                Ok(conn) => Either::A(NativeConnection::new(conn)),
                Err(e) => Either::B(ErrorInfo::from(e)),
            },
        };
        deferred.resolve(move |_| Ok(r));
    };
    match hosted {
        Some(h) => h.enter(|| h.spawn(work)),
        None => {
            napi::bindgen_prelude::spawn(work);
        }
    }
    Ok(promise)
}

impl NativeConnection {
    fn new(conn: Connection) -> NativeConnection {
        let sender = conn.sender();
        NativeConnection {
            shared: Arc::new(Shared {
                conn: Mutex::new(conn),
            }),
            gate: Arc::default(),
            sender,
            started: false,
            on_runtime: false,
        }
    }

    /// A connection whose driver runs on the runtime (one a server route
    /// accepted): its events are pumped on the runtime and cross to
    /// JavaScript in batches, as with `RTWIRE_NODE_LOOP_IO=0`.
    pub(crate) fn on_runtime(conn: Connection) -> NativeConnection {
        let mut c = NativeConnection::new(conn);
        c.on_runtime = true;
        c
    }
}

/// The events ready now, up to [`BATCH`], ending at `Closed`; `None` after
/// the end. (The connection's `poll_recv` is used throughout, never
/// `try_recv`, so that the waker stays registered.)
fn next_batch(conn: &mut Connection, cx: &mut Context<'_>) -> Poll<Option<Vec<Event>>> {
    let mut batch = Vec::new();
    while batch.len() < BATCH {
        match conn.poll_recv(cx) {
            Poll::Ready(Some(ev)) => {
                let last = is_final(&ev);
                batch.push(ev);
                if last {
                    break;
                }
            }
            Poll::Ready(None) | Poll::Pending => break,
        }
    }
    if !batch.is_empty() {
        Poll::Ready(Some(batch))
    } else if conn.is_finished() {
        Poll::Ready(None)
    } else {
        Poll::Pending
    }
}

/// A batch as a JavaScript array.
fn batch_to_js(env: napi::sys::napi_env, _pool: &mut Pool, batch: Vec<Event>) -> Result<Args> {
    let items: Vec<Item> = batch.into_iter().map(item).collect();
    // SAFETY: called by `Direct::call` on the JavaScript thread, in a scope.
    unsafe { Vec::<Item>::to_napi_value(env, items) }.map(Args::one)
}

fn outcome(r: std::result::Result<(), rtwire::Error>) -> Option<ErrorInfo> {
    r.err().map(ErrorInfo::from)
}

#[napi]
impl NativeConnection {
    /// Starts delivering events to `callback`: in batches (an array per
    /// call) through a threadsafe function, at most two waiting for the
    /// JavaScript thread; or, on a hosting loop, one event per call made
    /// right where the event is read (see `direct`), a small binary message
    /// then as `(arrayBuffer, offset, length)` in the connection's pool (see
    /// `pool`). The callback does not keep the process alive. Only the
    /// first call has an effect.
    #[napi(
        ts_args_type = "callback: (item: Array<string | Buffer | NativeEvent> | string | Buffer | NativeEvent | ArrayBuffer, offset?: number, length?: number) => void"
    )]
    pub fn start(
        &mut self,
        env: &Env,
        callback: Function<'_, Vec<Item>, UnknownReturnValue>,
    ) -> Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        // Batches handed to the threadsafe function and not yet taken by
        // the JavaScript thread: at most `IN_FLIGHT`, so a slow listener
        // slows the pump (and the socket) instead of growing a queue.
        let flight = Arc::new(Flight::default());
        let taken = flight.clone();
        let tsfn = callback
            .build_threadsafe_function::<Vec<Event>>()
            .weak::<true>()
            .callee_handled::<false>()
            .build_callback(move |ctx| {
                // On a hosting thread the pump runs here, not a loop turn later.
                host::enter(|| taken.take());
                Ok(ctx.value.into_iter().map(item).collect::<Vec<Item>>())
            })?;
        let hosted = if self.on_runtime {
            None
        } else {
            host::host(env)
        };
        let direct = hosted
            .as_ref()
            .and_then(|_| Direct::new(env.raw(), callback.value().value))
            .map(Arc::new);
        if let Some(d) = &direct {
            // Events read in a libuv callback go to JavaScript from the
            // connection's own task, as they are read: no queue, no pump.
            let (d, flight, gate) = (d.clone(), flight.clone(), self.gate.clone());
            self.shared.conn().set_event_sink(move |ev| {
                if gate.paused() || !may_call_now(&flight) {
                    return Err(ev); // queued: the pump takes it
                }
                // SAFETY: `Direct::call` runs it on the JavaScript thread, in a scope.
                d.call(ev, |env, pool, ev| unsafe { event_args(env, pool, ev) })
            });
        }
        let shared = self.shared.clone();
        let gate = self.gate.clone();
        let pump = async move {
            loop {
                gate.wait_open().await;
                flight.wait_room().await;
                let Some(batch) = poll_fn(|cx| next_batch(&mut shared.conn(), cx)).await else {
                    break;
                };
                let done = batch.last().is_some_and(is_final);
                let batch = match &direct {
                    Some(d) if may_call_now(&flight) => match d.call(batch, batch_to_js) {
                        Ok(()) if done => break,
                        Ok(()) => continue,
                        Err(batch) => batch,
                    },
                    _ => batch,
                };
                flight.put();
                // Fails only when the JavaScript environment is going away.
                if tsfn.call(batch, ThreadsafeFunctionCallMode::NonBlocking) != napi::Status::Ok {
                    break;
                }
                if done {
                    break;
                }
            }
        };
        match hosted {
            Some(h) => h.enter(|| h.spawn(pump)),
            None => {
                napi::bindgen_prelude::spawn(pump);
            }
        }
        Ok(())
    }

    /// Stops reading events until [`resume`](Self::resume); the core's
    /// bounded queue then fills and the socket stops being read.
    #[napi]
    pub fn pause(&self) {
        self.gate.paused.store(true, Ordering::Release);
    }

    /// Reads events again after [`pause`](Self::pause).
    #[napi]
    pub fn resume(&self) {
        self.gate.paused.store(false, Ordering::Release);
        host::enter(|| self.gate.resumed.notify_one());
    }

    /// A `trySend(data)` function bound to this connection: it queues a
    /// string as text or a `Uint8Array` as binary (copied) without waiting,
    /// and returns `null` when queued, else the error (`queue_full` when
    /// over the high-water mark, `closed`, ...). A plain napi function (see
    /// `send_fn`), for the hot path of `send()`.
    #[napi(ts_return_type = "(data: string | Uint8Array) => ErrorInfo | null")]
    pub fn try_send_fn<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        // SAFETY: called by napi on the JavaScript thread of `env`.
        unsafe {
            let f = send_fn::try_send_function(env.raw(), self.sender.clone())?;
            Unknown::from_napi_value(env.raw(), f)
        }
    }

    /// Queues a text message, waiting while the queue is over its
    /// high-water mark; resolves with `null` or the error.
    #[napi(ts_return_type = "Promise<ErrorInfo | null>")]
    pub fn send_text<'env>(
        &self,
        env: &'env Env,
        data: String,
    ) -> Result<PromiseRaw<'env, Option<ErrorInfo>>> {
        self.send_later(env, Data::from(data))
    }

    /// Queues a binary message (copied), waiting while the queue is over
    /// its high-water mark; resolves with `null` or the error.
    #[napi(ts_return_type = "Promise<ErrorInfo | null>")]
    pub fn send_binary<'env>(
        &self,
        env: &'env Env,
        data: &[u8],
    ) -> Result<PromiseRaw<'env, Option<ErrorInfo>>> {
        self.send_later(env, Data::from(data))
    }

    fn send_later<'env>(
        &self,
        env: &'env Env,
        data: Data,
    ) -> Result<PromiseRaw<'env, Option<ErrorInfo>>> {
        let sender = self.sender.clone();
        env.spawn_future(async move { Ok(outcome(sender.send(data).await)) })
    }

    /// Bytes accepted by `send` and not yet handed to the socket.
    #[napi(getter)]
    pub fn buffered_amount(&self) -> f64 {
        self.sender.buffered_amount() as f64
    }

    /// Starts the close handshake; `null`, or the error for a code or
    /// reason that may not be sent. Calling it again is harmless.
    #[napi]
    pub fn close(&self, code: u32, reason: String) -> Option<ErrorInfo> {
        let code = u16::try_from(code).unwrap_or(0);
        outcome(host::enter(|| self.shared.conn().close(code, &reason)))
    }

    /// The `open` event of the first session.
    #[napi]
    pub fn open_info(&self) -> NativeEvent {
        open_event(self.shared.conn().open_info())
    }
}

impl std::fmt::Debug for NativeConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeConnection")
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl Drop for NativeConnection {
    fn drop(&mut self) {
        // Garbage-collected without `close`: close it so that the pump
        // finishes and the core frees the connection. (1001: going away.)
        let conn = self.shared.conn();
        if !conn.is_finished() {
            let _ = conn.close(1001, "");
        }
        drop(conn);
        self.resume();
    }
}
