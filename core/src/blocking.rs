//! A blocking facade for callers without a tokio runtime (scripts, the C ABI,
//! the synchronous Python API). Connections run on one process-wide runtime
//! with two worker threads, started on first use.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::runtime::Runtime;

use crate::error::{Error, ErrorKind};
use crate::event::{Event, OpenInfo};
use crate::message::Data;
use crate::options::Options;

/// The shared runtime every blocking connection runs on.
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        crate::runtime::build("rtwire-rt", crate::runtime::threads(2))
            .expect("cannot start the rtwire runtime")
    })
}

/// Connects, blocking until the first session is open. See
/// [`crate::connect`].
///
/// # Errors
/// As [`crate::connect`].
pub fn connect(url: &str, options: Options) -> Result<Connection, Error> {
    let inner = runtime().block_on(crate::connect(url, options))?;
    Ok(Connection { inner })
}

/// A connection driven by the shared runtime; its methods block the calling
/// thread (never call them from inside an async task).
#[derive(Debug)]
pub struct Connection {
    inner: crate::Connection,
}

impl Connection {
    /// The next event, blocking; `None` after `Closed` was returned.
    pub fn recv(&mut self) -> Option<Event> {
        runtime().block_on(self.inner.recv())
    }

    /// The next event, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`ErrorKind::Timeout`] if nothing arrived in time; `Ok(None)` after
    /// `Closed` was returned.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<Event>, Error> {
        let inner = &mut self.inner;
        runtime()
            .block_on(async { tokio::time::timeout(timeout, inner.recv()).await })
            .map_err(|_| {
                Error::new(
                    ErrorKind::Timeout,
                    format!("no event within {} ms", timeout.as_millis()),
                )
            })
    }

    /// The next event if one is ready.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.inner.try_recv()
    }

    /// Queues a message, blocking while the queue is over its high-water
    /// mark.
    ///
    /// # Errors
    /// As [`crate::Sender::send`].
    pub fn send(&self, data: impl Into<Data>) -> Result<(), Error> {
        let data = data.into();
        match self.inner.try_send(data) {
            Err(mut e) if e.kind() == ErrorKind::QueueFull => {
                let data = e.take_unsent().expect("QueueFull hands the message back");
                runtime().block_on(self.inner.send(data))
            }
            other => other,
        }
    }

    /// Queues a message without blocking.
    ///
    /// # Errors
    /// As [`crate::Sender::try_send`].
    pub fn try_send(&self, data: impl Into<Data>) -> Result<(), Error> {
        self.inner.try_send(data)
    }

    /// Starts the close handshake; keep calling [`recv`](Self::recv) until
    /// `Closed`.
    ///
    /// # Errors
    /// As [`crate::Connection::close`].
    pub fn close(&self, code: u16, reason: &str) -> Result<(), Error> {
        self.inner.close(code, reason)
    }

    /// A clonable sender usable from other threads (its `send` is async;
    /// `try_send` works anywhere).
    pub fn sender(&self) -> crate::Sender {
        self.inner.sender()
    }

    /// The `Open` info of the first session.
    pub fn open_info(&self) -> &OpenInfo {
        self.inner.open_info()
    }

    /// Whether `Closed` has been returned.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}
