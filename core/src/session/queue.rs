//! The bounded outgoing queue shared by every transport, and the close
//! request that travels the same way (application → connection task).
//!
//! Messages wait in a queue whose *bytes* are bounded by a semaphore: `send`
//! takes as many permits as the message has bytes (capped at the high-water
//! mark, at least one so empty messages count too), and the transport gives
//! them back once the message is handed to the socket. When the connection
//! ends, the queue is closed before it is drained, so a message is either
//! handed back in `closed.unsent` or refused with the message returned in
//! the error, never lost in between. The buffer is allocated only while
//! messages wait, so an idle connection holds none.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::sync::{Semaphore, TryAcquireError};

use crate::error::{Error, ErrorKind};
use crate::message::Data;
use crate::session::link::CloseRequest;

/// A buffer larger than this is released when the queue empties.
const KEEP: usize = 8;

/// One queued message and the permits it holds.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub data: Data,
    permits: u32,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Outgoing>,
    /// The connection task, waiting for a message or a close request.
    waker: Option<Waker>,
    /// No more messages are taken.
    closed: bool,
    /// What the application asked, once.
    close: Option<CloseRequest>,
    /// The transport is handling what it read and looks at the queue
    /// before it waits again (see [`QueueRx::set_busy`]): a message
    /// queued meanwhile needs no wake-up.
    busy: bool,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    budget: Semaphore,
    /// Messages that left the queue (see [`QueueRx::meter`]).
    taken: std::sync::atomic::AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes the connection task (after the lock is released).
    fn wake(mut st: MutexGuard<'_, State>) {
        let w = st.waker.take();
        drop(st);
        if let Some(w) = w {
            w.wake();
        }
    }

    fn register(st: &mut State, cx: &Context<'_>) {
        match &st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.waker = Some(cx.waker().clone()),
        }
    }
}

/// Counts the messages that left a queue, for telling an idle connection.
#[derive(Debug, Clone)]
pub(crate) struct QueueMeter(Arc<Shared>);

impl QueueMeter {
    /// Messages taken out so far.
    pub fn count(&self) -> u64 {
        self.0.taken.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The sending half; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct QueueTx {
    shared: Arc<Shared>,
    cap: u32,
    /// Set when the transport cannot send at all: why.
    refuse: Option<Arc<str>>,
}

/// The transport's half.
#[derive(Debug)]
pub(crate) struct QueueRx {
    shared: Arc<Shared>,
    /// A message taken out and put back (its send failed): it goes first.
    front: Option<Outgoing>,
}

/// The application's right to ask for a close (held by `Connection`).
#[derive(Debug)]
pub(crate) struct CloseTx(Arc<Shared>);

/// The connection task's view of close requests.
#[derive(Debug)]
pub(crate) struct CloseRx(Arc<Shared>);

/// A queue whose bytes are bounded by `high_water`. With `refuse`, every
/// send fails with `Unsupported` and that reason.
pub(crate) fn queue(
    high_water: usize,
    refuse: Option<String>,
) -> (QueueTx, QueueRx, CloseTx, CloseRx) {
    let cap = high_water.clamp(1, u32::MAX as usize) as u32;
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        budget: Semaphore::new(cap as usize),
        taken: std::sync::atomic::AtomicU64::new(0),
    });
    (
        QueueTx {
            shared: shared.clone(),
            cap,
            refuse: refuse.map(Arc::from),
        },
        QueueRx {
            shared: shared.clone(),
            front: None,
        },
        CloseTx(shared.clone()),
        CloseRx(shared),
    )
}

fn closed(data: Data) -> Error {
    Error::new(
        ErrorKind::Closed,
        "the connection is closed; the message was not sent",
    )
    .with_unsent(data)
}

impl QueueTx {
    fn permits_for(&self, data: &Data) -> u32 {
        (data.len().min(self.cap as usize) as u32).max(1)
    }

    fn refused(&self, data: Data) -> Result<Data, Error> {
        match &self.refuse {
            None => Ok(data),
            Some(why) => Err(Error::new(ErrorKind::Unsupported, why.to_string()).with_unsent(data)),
        }
    }

    fn push(&self, data: Data, permits: u32) -> Result<(), Error> {
        let mut st = self.shared.lock();
        if st.closed {
            drop(st);
            self.shared.budget.add_permits(permits as usize);
            return Err(closed(data));
        }
        st.queue.push_back(Outgoing { data, permits });
        if st.busy {
            drop(st);
        } else {
            Shared::wake(st);
        }
        Ok(())
    }

    /// Queues `data`, waiting while the queue is over its high-water mark.
    pub async fn send(&self, data: Data) -> Result<(), Error> {
        let data = self.refused(data)?;
        let n = self.permits_for(&data);
        match self.shared.budget.acquire_many(n).await {
            Ok(p) => p.forget(),
            Err(_) => return Err(closed(data)),
        }
        self.push(data, n)
    }

    /// Queues `data` or hands it back in a `QueueFull` error.
    pub fn try_send(&self, data: Data) -> Result<(), Error> {
        let data = self.refused(data)?;
        let n = self.permits_for(&data);
        match self.shared.budget.try_acquire_many(n) {
            Ok(p) => p.forget(),
            Err(TryAcquireError::NoPermits) => {
                return Err(Error::new(
                    ErrorKind::QueueFull,
                    format!(
                        "the outgoing queue is over its high-water mark ({} bytes); try again after it drains",
                        self.cap
                    ),
                )
                .with_unsent(data))
            }
            Err(TryAcquireError::Closed) => return Err(closed(data)),
        }
        self.push(data, n)
    }

    /// Bytes currently queued and not yet handed to the socket (an
    /// approximation capped per message at the high-water mark).
    pub fn buffered(&self) -> usize {
        (self.cap as usize).saturating_sub(self.shared.budget.available_permits())
    }
}

impl QueueRx {
    /// Waits for the next message (`None` once closed and empty).
    pub async fn recv(&mut self) -> Option<Outgoing> {
        if let Some(out) = self.front.take() {
            return Some(out);
        }
        let shared = &self.shared;
        std::future::poll_fn(|cx| {
            let mut st = shared.lock();
            if let Some(out) = Self::pop(&mut st) {
                return Poll::Ready(Some(out));
            }
            if st.closed {
                return Poll::Ready(None);
            }
            Shared::register(&mut st, cx);
            Poll::Pending
        })
        .await
    }

    fn pop(st: &mut State) -> Option<Outgoing> {
        let out = st.queue.pop_front()?;
        if st.queue.is_empty() && st.queue.capacity() > KEEP {
            st.queue = VecDeque::new();
        }
        Some(out)
    }

    /// Whether a message is queued.
    pub fn has_queued(&self) -> bool {
        self.front.is_some() || !self.shared.lock().queue.is_empty()
    }

    /// The next message if one is queued.
    pub fn try_recv(&mut self) -> Option<Outgoing> {
        self.front
            .take()
            .or_else(|| Self::pop(&mut self.shared.lock()))
    }

    /// Says whether the task is busy handling what it read and will look
    /// at the queue (with [`try_recv`](Self::try_recv) or
    /// [`recv`](Self::recv)) before it waits again: messages queued while
    /// busy do not wake it — a reply sent from an event sink would
    /// otherwise have the task polled once more for nothing. Close
    /// requests always wake it.
    pub fn set_busy(&self, busy: bool) {
        self.shared.lock().busy = busy;
    }

    /// Puts back a message taken out whose send failed: it goes out first
    /// on the next session, still holding its permits.
    pub fn push_front(&mut self, out: Outgoing) {
        debug_assert!(self.front.is_none(), "one message at a time is put back");
        self.front = Some(out);
    }

    /// Gives the message's permits back: it has left the queue.
    pub fn release(&self, out: &Outgoing) {
        self.shared.budget.add_permits(out.permits as usize);
        self.shared
            .taken
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// A meter of the messages that left this queue.
    pub fn meter(&self) -> QueueMeter {
        QueueMeter(self.shared.clone())
    }

    /// Refuses new messages and returns every message still queued, in order.
    pub fn close_and_drain(&mut self) -> Vec<Data> {
        self.shared.budget.close();
        let mut st = self.shared.lock();
        st.closed = true;
        let mut unsent: Vec<Data> = self.front.take().map(|o| o.data).into_iter().collect();
        unsent.extend(std::mem::take(&mut st.queue).into_iter().map(|o| o.data));
        unsent
    }
}

impl CloseTx {
    /// Asks for a close; only the first request counts.
    pub fn request(&self, req: CloseRequest) {
        let mut st = self.0.lock();
        if st.close.is_none() {
            st.close = Some(req);
            Shared::wake(st);
        }
    }
}

impl Drop for CloseTx {
    /// A dropped `Connection` closes with 1001 (going away).
    fn drop(&mut self) {
        self.request(CloseRequest {
            code: 1001,
            reason: String::new(),
        });
    }
}

/// A second way to ask for a close, held by the server for its shutdown
/// (dropping it asks for nothing).
#[derive(Debug, Clone)]
pub(crate) struct CloseHandle(Arc<Shared>);

impl CloseHandle {
    /// Asks for a close; only the first request counts.
    pub fn request(&self, req: CloseRequest) {
        let mut st = self.0.lock();
        if st.close.is_none() {
            st.close = Some(req);
            Shared::wake(st);
        }
    }
}

impl CloseRx {
    /// Another handle that can ask for the close.
    pub fn handle(&self) -> CloseHandle {
        CloseHandle(self.0.clone())
    }

    /// Waits until a close is requested.
    pub async fn requested(&mut self) -> CloseRequest {
        std::future::poll_fn(|cx| {
            let mut st = self.0.lock();
            if let Some(req) = &st.close {
                return Poll::Ready(req.clone());
            }
            Shared::register(&mut st, cx);
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_are_bounded_and_try_send_hands_back() {
        let (tx, mut rx, _c, _r) = queue(10, None);
        tx.try_send(Data::from(vec![0u8; 6])).unwrap();
        let mut e = tx.try_send(Data::from(vec![1u8; 6])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::QueueFull);
        assert_eq!(e.take_unsent().unwrap().len(), 6);
        let out = rx.recv().await.unwrap();
        rx.release(&out);
        tx.try_send(Data::from(vec![1u8; 6])).unwrap();
        assert_eq!(tx.buffered(), 6);
    }

    #[tokio::test]
    async fn oversize_message_fits_in_an_empty_queue() {
        let (tx, mut rx, _c, _r) = queue(4, None);
        tx.send(Data::from(vec![0u8; 100])).await.unwrap();
        assert_eq!(rx.recv().await.unwrap().data.len(), 100);
    }

    #[tokio::test]
    async fn close_returns_everything_and_refuses_more() {
        let (tx, mut rx, _c, _r) = queue(1 << 20, None);
        for i in 0..5u8 {
            tx.send(Data::from(vec![i])).await.unwrap();
        }
        let unsent = rx.close_and_drain();
        assert_eq!(unsent.len(), 5);
        assert_eq!(unsent[4].as_bytes(), &[4]);
        let mut e = tx.send("late".into()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Closed);
        assert_eq!(e.take_unsent().unwrap().as_text(), Some("late"));
    }

    #[tokio::test]
    async fn refusing_queue_hands_the_message_back() {
        let (tx, _rx, _c, _r) = queue(10, Some("no send_url".into()));
        let mut e = tx.try_send("x".into()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(e.to_string(), "no send_url");
        assert_eq!(e.take_unsent().unwrap().as_text(), Some("x"));
    }

    #[tokio::test]
    async fn a_message_put_back_goes_first_and_is_drained() {
        let (tx, mut rx, _c, _r) = queue(100, None);
        tx.send("a".into()).await.unwrap();
        tx.send("b".into()).await.unwrap();
        let a = rx.recv().await.unwrap();
        rx.push_front(a);
        assert_eq!(rx.try_recv().unwrap().data.as_text(), Some("a"));
        let b = rx.recv().await.unwrap();
        rx.push_front(b);
        let unsent = rx.close_and_drain();
        assert_eq!(unsent.len(), 1);
        assert_eq!(unsent[0].as_text(), Some("b"));
    }

    #[tokio::test]
    async fn send_waits_for_room() {
        let (tx, mut rx, _c, _r) = queue(4, None);
        tx.send(Data::from(vec![0u8; 4])).await.unwrap();
        let tx2 = tx.clone();
        let waiter = tokio::spawn(async move { tx2.send(Data::from(vec![1u8; 4])).await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        let out = rx.recv().await.unwrap();
        rx.release(&out);
        waiter.await.unwrap().unwrap();
        assert_eq!(rx.recv().await.unwrap().data.as_bytes(), &[1, 1, 1, 1]);
    }

    /// Counts its wake-ups.
    struct Counter(std::sync::atomic::AtomicUsize);

    impl std::task::Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Polls `rx.recv()` once with a counting waker: it must be pending.
    fn wait_once(rx: &mut QueueRx, counter: &Arc<Counter>) {
        use std::future::Future;
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let mut fut = std::pin::pin!(rx.recv());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }

    /// Messages queued while the task is busy do not wake it (it looks at
    /// the queue before waiting again), nor lose their place; a close
    /// request still does; once not busy, a message wakes it again.
    #[test]
    fn a_busy_task_is_not_woken_by_messages() {
        use std::sync::atomic::Ordering::SeqCst;
        let (tx, mut rx, close, _r) = queue(1 << 10, None);
        let counter = Arc::new(Counter(0.into()));
        let wakes = || counter.0.load(SeqCst);

        wait_once(&mut rx, &counter);
        rx.set_busy(true);
        tx.try_send("a".into()).unwrap();
        tx.try_send("b".into()).unwrap();
        assert_eq!(wakes(), 0, "woken while busy");
        assert_eq!(rx.try_recv().unwrap().data.as_text(), Some("a"));
        rx.set_busy(false);
        assert_eq!(rx.try_recv().unwrap().data.as_text(), Some("b"));

        wait_once(&mut rx, &counter);
        tx.try_send("c".into()).unwrap();
        assert_eq!(wakes(), 1, "not woken once not busy");
        assert_eq!(rx.try_recv().unwrap().data.as_text(), Some("c"));

        wait_once(&mut rx, &counter);
        rx.set_busy(true);
        close.request(CloseRequest {
            code: 1000,
            reason: String::new(),
        });
        assert_eq!(wakes(), 2, "a close request must wake a busy task");
    }
}
