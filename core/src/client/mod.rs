//! [`Connection`]: one ordered stream of events and one `send`, whatever the
//! transport.

use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::{Error, ErrorKind};
use crate::event::{Event, OpenInfo};
use crate::message::Data;
use crate::options::Options;
use crate::transport::Plan;

pub(crate) mod driver;

use crate::session::{events, link, queue, resume};

use link::{CloseRequest, Link};
use queue::QueueTx;

/// Connects to `url` and returns once the first session is open.
///
/// The transport follows `options.transport` (by default the scheme:
/// `ws`/`wss` → WebSocket). The first event of the connection is that
/// session's `Open`. Later losses are retried per
/// [`Options::reconnect`](crate::Options::reconnect); the first attempt is
/// retried only with [`Reconnect::retry_initial`](crate::Reconnect::retry_initial).
///
/// Must be called within a tokio runtime (use [`crate::blocking`] otherwise).
///
/// ```no_run
/// # async fn demo() -> Result<(), rtwire::Error> {
/// let mut conn = rtwire::connect("ws://127.0.0.1:9001/echo", rtwire::Options::new()).await?;
/// conn.send("hello").await?;
/// while let Some(event) = conn.recv().await {
///     if let rtwire::Event::Message(m) = event {
///         println!("{:?}", m.data);
///         conn.close(1000, "done")?;
///     }
/// }
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`ErrorKind::InvalidUrl`] or [`ErrorKind::InvalidArgument`] before any
/// I/O; then whatever the first attempt failed with (`Connect`, `Tls`,
/// `Handshake`, `Timeout`, ...).
pub async fn connect(url: &str, options: Options) -> Result<Connection, Error> {
    connect_planned(Plan::new(url, options)?).await
}

/// Checks a URL and options as [`connect`] does before any I/O (the URL,
/// every option, the TLS files and PEM text, the proxy from the options or
/// the environment), without connecting.
///
/// # Errors
/// What [`connect`] would fail with before any I/O: [`ErrorKind::InvalidUrl`],
/// [`ErrorKind::InvalidArgument`] or [`ErrorKind::Tls`].
pub fn connect_check(url: &str, options: &Options) -> Result<(), Error> {
    Plan::new(url, options.clone()).map(drop)
}

/// Connects with a prepared plan (see [`crate::hosted::connect`]).
pub(crate) async fn connect_planned(plan: Plan) -> Result<Connection, Error> {
    let mut resume = resume::Resume::default();
    let mut attempt = 0u32;
    let (session, info) = loop {
        match plan.open(&mut resume).await {
            Ok((s, info)) => break (s, info),
            Err(e) => {
                attempt += 1;
                let policy = &plan.options.reconnect;
                if !(policy.retry_initial && e.is_retryable() && policy.allows(attempt)) {
                    return Err(e);
                }
                tokio::time::sleep(resume.delay(policy, attempt)).await;
            }
        }
    };
    let refusal = if session.sends_itself() {
        None
    } else {
        plan.send_refusal()
    };
    let (conn, link) = pair_with(&plan.options, info, refusal).await;
    let host = plan.host().cloned();
    spawn_driver(host.as_ref(), driver::drive(plan, link, session, resume))?;
    Ok(conn)
}

pub(crate) use driver::finish;

/// A connection and the link its sessions are run against, with `Open`
/// already queued: what a server hands its application for a client.
pub(crate) async fn pair(options: &Options, info: OpenInfo) -> (Connection, Link) {
    pair_with(options, info, None).await
}

async fn pair_with(
    options: &Options,
    info: OpenInfo,
    refuse: Option<String>,
) -> (Connection, Link) {
    let (events_tx, events) = events::channel(options.limits.event_queue);
    let (queue_tx, queue_rx, close_tx, close_rx) =
        queue::queue(options.limits.send_queue_bytes, refuse);
    // The queue is new and has room: the first event cannot block.
    let _ = events_tx.send(Event::Open(info.clone())).await;
    let link = Link {
        events: events_tx,
        outgoing: queue_rx,
        close_req: close_rx,
    };
    let conn = Connection {
        events,
        sender: Sender { queue: queue_tx },
        close_tx,
        info,
        finished: false,
    };
    (conn, link)
}

/// Runs a connection's driver on its host's loop, else on the runtime.
#[cfg(unix)]
fn spawn_driver(
    host: Option<&crate::hosted::HostRef>,
    fut: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    match host {
        Some(h) => h.upgrade().ok_or_else(crate::hosted::gone)?.spawn(fut),
        None => {
            tokio::spawn(fut);
        }
    }
    Ok(())
}

/// Runs a connection's driver on the runtime.
#[cfg(not(unix))]
fn spawn_driver(
    _host: Option<&std::convert::Infallible>,
    fut: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    tokio::spawn(fut);
    Ok(())
}

/// A live connection. Read events with [`recv`](Connection::recv) (or as a
/// `Stream`), send with [`send`](Connection::send), end with
/// [`close`](Connection::close) and keep reading until [`Event::Closed`].
///
/// Dropping it closes the connection with 1001 (going away) in the
/// background.
#[derive(Debug)]
pub struct Connection {
    events: events::EventRx,
    sender: Sender,
    close_tx: queue::CloseTx,
    info: OpenInfo,
    finished: bool,
}

/// A clonable handle that sends on a connection from other tasks.
#[derive(Debug, Clone)]
pub struct Sender {
    queue: QueueTx,
}

impl Sender {
    /// Queues a message, waiting while the outgoing queue is over its
    /// high-water mark. `Ok` means accepted: messages queued while
    /// reconnecting go out, in order, once a new session opens; anything never
    /// written comes back in [`CloseInfo::unsent`](crate::CloseInfo::unsent).
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] after the connection ended, with the message
    /// handed back ([`Error::take_unsent`]).
    pub async fn send(&self, data: impl Into<Data>) -> Result<(), Error> {
        self.queue.send(data.into()).await
    }

    /// Queues a message without waiting.
    ///
    /// # Errors
    /// [`ErrorKind::QueueFull`] when over the high-water mark, or
    /// [`ErrorKind::Closed`]; the message is handed back in both cases.
    pub fn try_send(&self, data: impl Into<Data>) -> Result<(), Error> {
        self.queue.try_send(data.into())
    }

    /// Bytes accepted by `send` and not yet handed to the socket.
    pub fn buffered_amount(&self) -> usize {
        self.queue.buffered()
    }
}

/// Whether an application may send this close code (RFC 6455 section 7.4).
pub fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Checks a close code and reason an application gives.
pub(crate) fn check_close(code: u16, reason: &str) -> Result<(), Error> {
    if !is_valid_close_code(code) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("close code {code} may not be sent (allowed: 1000-1003, 1007-1014, 3000-4999)"),
        ));
    }
    if reason.len() > 123 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "close reason is {} bytes; at most 123 fit in a close frame",
                reason.len()
            ),
        ));
    }
    Ok(())
}

impl Connection {
    /// The next event; `None` after [`Event::Closed`] has been returned.
    pub async fn recv(&mut self) -> Option<Event> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next event if one is ready, without waiting. `None` means none
    /// is queued right now; [`is_finished`](Self::is_finished) tells whether
    /// none will ever come.
    pub fn try_recv(&mut self) -> Option<Event> {
        if self.finished {
            return None;
        }
        let ev = self.events.try_recv();
        match &ev {
            Some(Event::Closed(_)) => self.finished = true,
            None if self.events.is_ended() => self.finished = true,
            _ => {}
        }
        ev
    }

    /// Polls for the next event.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        if self.finished {
            return Poll::Ready(None);
        }
        let r = self.events.poll_recv(cx);
        if let Poll::Ready(Some(Event::Closed(_)) | None) = &r {
            self.finished = true;
        }
        r
    }

    /// Offers each new event to `sink` as the connection produces it,
    /// before it would be queued for [`recv`](Self::recv): the sink returns
    /// `Ok(())` when it took the event, or hands it back with `Err(event)`,
    /// and then the event is queued as usual. An event is offered only while
    /// none is queued, so events reach the application in order whichever
    /// way each one goes; keep calling [`recv`](Self::recv) (or
    /// [`poll_recv`](Self::poll_recv)) for the ones handed back, and for the
    /// end: `None` after the last event, also when the sink took
    /// [`Event::Closed`].
    ///
    /// The sink runs on the connection's task, in the middle of its I/O: on
    /// a runtime thread, or on the loop's thread for a hosted connection
    /// (see [`hosted`](crate::hosted)), where it lets a binding hand a
    /// message to its application without a second task or a loop turn. It
    /// must not block; it may send and close (the queue's lock is not held).
    /// A new sink replaces the previous one.
    ///
    /// ```no_run
    /// # async fn demo(mut conn: rtwire::Connection) {
    /// conn.set_event_sink(|event| match event {
    ///     rtwire::Event::Message(m) => {
    ///         println!("{:?}", m.data);
    ///         Ok(())
    ///     }
    ///     other => Err(other), // queued for recv()
    /// });
    /// while let Some(event) = conn.recv().await {
    ///     println!("{event:?}");
    /// }
    /// # }
    /// ```
    pub fn set_event_sink(
        &mut self,
        sink: impl FnMut(Event) -> Result<(), Event> + Send + 'static,
    ) {
        self.events.set_sink(Box::new(sink));
    }

    /// Whether [`Event::Closed`] has been returned.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// See [`Sender::send`].
    ///
    /// # Errors
    /// See [`Sender::send`].
    pub async fn send(&self, data: impl Into<Data>) -> Result<(), Error> {
        self.sender.send(data).await
    }

    /// See [`Sender::try_send`].
    ///
    /// # Errors
    /// See [`Sender::try_send`].
    pub fn try_send(&self, data: impl Into<Data>) -> Result<(), Error> {
        self.sender.try_send(data)
    }

    /// A clonable handle for sending from other tasks.
    pub fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// The `Open` info of the first session.
    pub fn open_info(&self) -> &OpenInfo {
        &self.info
    }

    /// Starts the close handshake: what was queued before goes out first,
    /// then a close frame with `code` and `reason`; the connection waits up
    /// to `close_timeout` for the reply. Keep reading events: messages still
    /// arriving are delivered, and [`Event::Closed`] comes last. Calling it
    /// again is harmless.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidArgument`] for a code an application may not send
    /// (allowed: 1000–1003, 1007–1014, 3000–4999) or a reason over 123
    /// bytes.
    pub fn close(&self, code: u16, reason: &str) -> Result<(), Error> {
        check_close(code, reason)?;
        self.close_tx.request(CloseRequest {
            code,
            reason: reason.to_string(),
        });
        Ok(())
    }
}

impl futures_util::Stream for Connection {
    type Item = Event;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.get_mut().poll_recv(cx)
    }
}
