//! Application routes of [`serve`](crate::serve): every WebSocket client
//! that opens the route's path gets a core [`Connection`] of its own, handed
//! to JavaScript with its [`Request`] through a weak threadsafe function
//! and wrapped there in a [`NativeConnection`] (the client's class). The
//! acceptance hook asks a JavaScript function before the upgrade.
//!
//! Server-side connections are driven by the server's tasks on the tokio
//! runtime, never by a hosting loop: their events cross to JavaScript with
//! the connection's threadsafe function (see `conn`).

use std::sync::Arc;

use napi::bindgen_prelude::FnArgs;
use napi::bindgen_prelude::{Function, Promise};
use napi::threadsafe_function::UnknownReturnValue;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Result, Status};
use napi_derive::napi;
use rtwire::server::{Accept, Reject, Request, ServerOptions};
use rtwire::Connection;

use crate::conn::NativeConnection;

/// What a client asked for when it opened a connection.
#[napi(object)]
#[derive(Debug)]
pub struct NativeRequest {
    /// The server's id for the connection.
    pub id: f64,
    /// The client's address.
    pub peer_address: String,
    /// The client's port.
    pub peer_port: u32,
    /// The request path.
    pub path: String,
    /// The query string, without `?` (empty when there is none).
    pub query: String,
    /// The request headers as `[name, value]`, names in lower case.
    pub headers: Vec<Vec<String>>,
    /// The subprotocol chosen, if any.
    pub protocol: Option<String>,
}

impl From<&Request> for NativeRequest {
    fn from(r: &Request) -> NativeRequest {
        NativeRequest {
            id: r.id as f64,
            peer_address: r.peer.ip().to_string(),
            peer_port: r.peer.port().into(),
            path: r.path.clone(),
            query: r.query.clone(),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| vec![k.clone(), v.clone()])
                .collect(),
            protocol: r.protocol.clone(),
        }
    }
}

/// The refusal the JavaScript hook answered with.
#[napi(object)]
#[derive(Debug)]
pub struct NativeReject {
    /// The HTTP status, 400 to 599 (another value becomes 403).
    pub status: u32,
    /// The body (text).
    pub body: String,
}

type OnConnection = ThreadsafeFunction<
    (Connection, Request),
    UnknownReturnValue,
    FnArgs<(NativeConnection, NativeRequest)>,
    Status,
    false,
    true,
>;

type OnAccept = ThreadsafeFunction<
    NativeRequest,
    Promise<Option<NativeReject>>,
    NativeRequest,
    Status,
    false,
    true,
>;

/// Adds the route at `path` whose connections go to `callback` (called on
/// the JavaScript thread with a fresh `NativeConnection` and the request).
/// When JavaScript cannot be called (it is going away), the connection is
/// dropped, which closes it with 1001.
pub(crate) fn route(
    opts: ServerOptions,
    path: &str,
    protocols: &[String],
    callback: &Function<'_, FnArgs<(NativeConnection, NativeRequest)>, UnknownReturnValue>,
) -> Result<ServerOptions> {
    let tsfn: OnConnection = callback
        .build_threadsafe_function::<(Connection, Request)>()
        .weak::<true>()
        .callee_handled::<false>()
        .build_callback(|ctx| {
            let (conn, req) = ctx.value;
            let native = NativeRequest::from(&req);
            Ok(FnArgs::from((NativeConnection::on_runtime(conn), native)))
        })?;
    let tsfn = Arc::new(tsfn);
    let protocols: Vec<&str> = protocols.iter().map(String::as_str).collect();
    Ok(
        opts.route_with_protocols(path, &protocols, move |conn, req| {
            // Dropped (closed with 1001) when the call cannot be queued.
            let _ = tsfn.call((conn, req), ThreadsafeFunctionCallMode::NonBlocking);
            std::future::ready(())
        }),
    )
}

/// Sets the acceptance hook to `callback`, which resolves with `null`
/// (accept) or the refusal; a hook that cannot be asked, or fails, refuses
/// with 500.
pub(crate) fn accept(
    opts: ServerOptions,
    callback: &Function<'_, NativeRequest, Promise<Option<NativeReject>>>,
) -> Result<ServerOptions> {
    let tsfn: OnAccept = callback
        .build_threadsafe_function::<NativeRequest>()
        .weak::<true>()
        .callee_handled::<false>()
        .build_callback(|ctx| Ok(ctx.value))?;
    let tsfn = Arc::new(tsfn);
    Ok(opts.accept(move |req| {
        let tsfn = tsfn.clone();
        async move {
            let asked = match tsfn.call_async_catch(NativeRequest::from(&req)).await {
                Ok(p) => p.await,
                Err(e) => Err(e),
            };
            match asked {
                Ok(None) => Ok(Accept::new()),
                Ok(Some(r)) => Err(Reject::new(u16::try_from(r.status).unwrap_or(403), r.body)),
                Err(_) => Err(Reject::new(500, "")),
            }
        }
    }))
}
