//! [`Mount`]: the server's endpoints (application routes, pages, the
//! channel paths) answered inside another hyper or axum server, on its
//! port, next to its own routes.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use hyper_util::rt::{TokioExecutor, TokioIo};
//! use rtwire::server::{Mount, ServerOptions};
//!
//! let mount = Mount::new(ServerOptions::new().route("/chat", |mut conn, _req| async move {
//!     while conn.recv().await.is_some() {}
//! }))?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! loop {
//!     let (tcp, peer) = listener.accept().await?;
//!     let mount = mount.clone();
//!     tokio::spawn(async move {
//!         let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
//!             let mount = mount.clone();
//!             async move {
//!                 // The application's own paths first, then rtwire's.
//!                 Ok::<_, std::convert::Infallible>(mount.handle(req, peer).await)
//!             }
//!         });
//!         let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
//!             .serve_connection_with_upgrades(TokioIo::new(tcp), svc)
//!             .await;
//!     });
//! }
//! # }
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use tokio::sync::watch;

use super::routes::{self, BoxError};
use super::{Observer, Rooms, ServerOptions, Shared};
use crate::error::{Error, ErrorKind};
use crate::message::Data;

/// The body of the responses of [`Mount::handle`].
pub type ResponseBody = BoxBody<Bytes, Infallible>;

/// The server's endpoints without a listener of their own, answered by
/// [`Mount::handle`] inside another hyper server (serve its connections
/// with upgrades: hyper-util's `serve_connection_with_upgrades`, or
/// hyper's `http1::Builder::serve_connection(..).with_upgrades()`) or an
/// axum one (axum's `serve` keeps upgrades). Cheap to clone: every clone
/// is the same server.
///
/// The host server does TLS and counts its TCP connections; the mount
/// counts its WebSocket sessions and streams against `max_connections`
/// and `max_per_ip`, and applies every other option as
/// [`Server`](super::Server) does.
#[derive(Clone)]
pub struct Mount {
    shared: Arc<Shared>,
    stop: Arc<watch::Sender<bool>>,
}

impl std::fmt::Debug for Mount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mount").finish_non_exhaustive()
    }
}

impl Mount {
    /// The endpoints of `opts` (its `bind` address is only what
    /// `/negotiate` reports when a request has no `Host`).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] for inconsistent options, or TLS
    /// files (the host server does TLS).
    pub fn new(opts: ServerOptions) -> Result<Mount, Error> {
        super::check(&opts)?;
        if opts.tls_cert.is_some() || opts.tls_key.is_some() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a mounted server has no TLS of its own: the host server does TLS",
            ));
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let shared = Shared::new(opts.clone(), opts.bind, false, stop_rx);
        Ok(Mount {
            shared,
            stop: Arc::new(stop_tx),
        })
    }

    /// Answers one request from `peer`: a WebSocket upgrade (the host
    /// server must keep upgrades), a stream, a poll, a publish, a page, or
    /// 404 for a path that is none of the mount's. Must be called on a
    /// tokio runtime.
    pub async fn handle<B>(
        &self,
        req: hyper::Request<B>,
        peer: SocketAddr,
    ) -> hyper::Response<ResponseBody>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        if *self.stop.borrow() {
            return routes::unavailable("shutting down");
        }
        if self.shared.over_limit(peer) {
            return routes::unavailable("too many connections");
        }
        routes::route(self.shared.clone(), routes::boxed(req), peer).await
    }

    /// The application connections and their rooms.
    pub fn rooms(&self) -> Rooms {
        Rooms::new(self.shared.clone())
    }

    /// Publishes to a channel (see [`Server::try_publish`](super::Server::try_publish)).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] for an invalid channel name.
    pub fn publish(&self, channel: &str, data: impl Into<Data>) -> Result<String, Error> {
        self.rooms().publish(channel, data)
    }

    /// Sets the observer of [`ServerEvent`](super::ServerEvent)s.
    pub fn set_observer(&self, observer: Observer) {
        *self.shared.observer.write().expect("observer lock") = Some(observer);
    }

    /// Ends every WebSocket session (close 1001) and stream of the mount,
    /// and refuses new ones with 503; the host server's other paths go on.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }
}
