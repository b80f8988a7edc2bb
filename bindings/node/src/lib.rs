//! Node.js binding of rtwire: a thin napi-rs layer over the Rust core.
//!
//! The JavaScript package (`index.js`) wraps this addon into the public API
//! (`connect`, `Connection`, `WebSocket`, `EventSource`). This crate only
//! converts values and hands the work to `rtwire`:
//!
//! - [`connect`] runs the core's `connect` on napi's tokio runtime and
//!   resolves with a [`NativeConnection`] or an [`ErrorInfo`];
//! - [`NativeConnection::start`] moves events to JavaScript in batches
//!   through one weak (unref'd) threadsafe function per connection, waiting
//!   for each batch to be handled before reading more, so a slow listener
//!   slows the socket instead of growing memory;
//! - [`serve`] starts the core's embedded server ([`NativeServer`]); what
//!   WebSocket clients send is queued by the core's handler and taken by
//!   the JavaScript thread in batches, never handed over on a runtime
//!   thread; with a `path`, it also serves an application route whose
//!   WebSocket clients each get a [`NativeConnection`] (see `app`);
//! - sends go straight into the core's bounded queue (`trySend*`), or wait
//!   for room (`send*`) when it is over its high-water mark.
//!
//! Errors never cross as exceptions: fallible calls return an [`ErrorInfo`]
//! (or `null`), and the JavaScript layer turns it into an `Error` with a
//! stable `code`.
#![deny(missing_docs, unused_must_use)]

mod app;
mod conn;
mod direct;
mod errors;
mod events;
mod host;
mod options;
mod pool;
mod send_fn;
mod server;

pub use app::{NativeReject, NativeRequest};
pub use conn::{connect, NativeConnection};
pub use errors::{error_kinds, ErrorInfo, ErrorKindInfo};
pub use events::NativeEvent;
pub use options::{
    check_options, check_server_options, option_schema, server_option_schema, OptionSpec,
    OptionValue,
};
pub use server::{
    serve, NativeChannelStats, NativeInbound, NativeServer, NativeServerOptions, NativeStats,
};

use napi_derive::napi;

/// The version of the rtwire core this addon was built from.
#[napi]
pub fn core_version() -> &'static str {
    rtwire::VERSION
}

/// Runs the connections on the core's runtime with one worker thread
/// (`RTWIRE_NODE_THREADS`, else `RTWIRE_THREADS`, changes the count): the
/// JavaScript thread does the rest, and on small machines fewer threads
/// means fewer context switches per message.
#[napi_derive::module_init]
fn init() {
    let threads = std::env::var("RTWIRE_NODE_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| rtwire::runtime::threads(1));
    if let Ok(rt) = rtwire::runtime::build("rtwire-node", threads) {
        let _ = host::RUNTIME.set(rt.handle().clone());
        napi::bindgen_prelude::create_custom_tokio_runtime(rt);
    }
}
