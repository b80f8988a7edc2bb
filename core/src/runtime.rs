//! The tokio runtime that the bindings, the C ABI, the CLI and
//! [`crate::blocking`] run connections on: one builder, one thread-count
//! setting.

use tokio::runtime::Runtime;

use crate::error::{Error, ErrorKind};

/// The worker-thread count: `RTWIRE_THREADS` when it is a positive number,
/// else `default`.
pub fn threads(default: usize) -> usize {
    std::env::var("RTWIRE_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// A multi-thread runtime with `threads` workers (at least one), timers and
/// I/O enabled, its threads named `name`.
///
/// # Errors
/// [`ErrorKind::Io`] when the runtime cannot start.
pub fn build(name: &str, threads: usize) -> Result<Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .max_blocking_threads(8)
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot start the rtwire runtime: {e}"),
            )
        })
}
