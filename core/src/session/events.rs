//! The bounded queue of events from a connection's task to the application.
//!
//! One producer (the connection task), one consumer (the `Connection`). Its
//! buffer is allocated only while events wait and shrinks back after a
//! burst, so an idle connection holds none: tokio's channels keep a block of
//! 32 slots per channel for life, which is most of an idle connection's
//! memory.
//!
//! The consumer may also install a sink ([`EventRx::set_sink`]): while the
//! queue is empty, the producer offers each event to the sink first, on its
//! own thread, and queues it only when the sink hands it back. Order holds:
//! an event is offered only when none waits before it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::event::Event;

/// A buffer larger than this is released when the queue empties.
const KEEP: usize = 8;

/// Takes an event as it is produced, or hands it back to be queued.
pub(crate) type Sink = Box<dyn FnMut(Event) -> Result<(), Event> + Send>;

struct State {
    queue: VecDeque<Event>,
    /// Offered each event while the queue is empty; out while it runs.
    sink: Option<Sink>,
    /// Bumped by every `set_sink`, so that a sink replaced while it ran is
    /// not put back.
    sink_gen: u64,
    cap: usize,
    /// The consumer waiting for an event.
    rx_waker: Option<Waker>,
    /// The producer waiting for room.
    tx_waker: Option<Waker>,
    rx_gone: bool,
    tx_gone: bool,
    /// Events delivered so far (see [`EventTx::meter`]).
    delivered: u64,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("queued", &self.queue.len())
            .field("cap", &self.cap)
            .field("sink", &self.sink.is_some())
            .field("rx_gone", &self.rx_gone)
            .field("tx_gone", &self.tx_gone)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Shared(Mutex<State>);

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the queue torn.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The producing half.
#[derive(Debug)]
pub(crate) struct EventTx(Arc<Shared>);

/// The consuming half.
#[derive(Debug)]
pub(crate) struct EventRx(Arc<Shared>);

/// A queue holding at most `cap` events.
pub(crate) fn channel(cap: usize) -> (EventTx, EventRx) {
    let shared = Arc::new(Shared(Mutex::new(State {
        queue: VecDeque::new(),
        sink: None,
        sink_gen: 0,
        cap: cap.max(1),
        rx_waker: None,
        tx_waker: None,
        rx_gone: false,
        tx_gone: false,
        delivered: 0,
    })));
    (EventTx(shared.clone()), EventRx(shared))
}

fn set_waker(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

impl EventTx {
    /// Queues `event`, waiting while the queue is full; gives it back when
    /// the consumer is gone.
    pub async fn send(&self, event: Event) -> Result<(), Event> {
        let mut event = Some(event);
        std::future::poll_fn(|cx| {
            let mut st = self.0.lock();
            if st.rx_gone {
                return Poll::Ready(Err(event.take().expect("polled after completion")));
            }
            if st.queue.is_empty() {
                if let Some(mut sink) = st.sink.take() {
                    let gen = st.sink_gen;
                    drop(st);
                    // Unlocked: the sink may call back into the connection.
                    let offered = sink(event.take().expect("polled after completion"));
                    st = self.0.lock();
                    if st.sink_gen == gen && !st.rx_gone {
                        st.sink = Some(sink);
                    } else {
                        // Replaced or abandoned meanwhile: dropped unlocked.
                        drop(st);
                        drop(sink);
                        st = self.0.lock();
                    }
                    match offered {
                        Ok(()) => {
                            st.delivered += 1;
                            return Poll::Ready(Ok(()));
                        }
                        Err(back) => event = Some(back),
                    }
                    if st.rx_gone {
                        return Poll::Ready(Err(event.take().expect("handed back")));
                    }
                }
            }
            if st.queue.len() < st.cap {
                st.delivered += 1;
                st.queue
                    .push_back(event.take().expect("polled after completion"));
                if let Some(w) = st.rx_waker.take() {
                    drop(st);
                    w.wake();
                }
                return Poll::Ready(Ok(()));
            }
            set_waker(&mut st.tx_waker, cx);
            Poll::Pending
        })
        .await
    }
}

/// Counts what a queue delivered, for telling an idle connection.
#[derive(Debug, Clone)]
pub(crate) struct EventMeter(Arc<Shared>);

impl EventMeter {
    /// Events delivered so far.
    pub fn count(&self) -> u64 {
        self.0.lock().delivered
    }
}

impl EventTx {
    /// A meter of this queue's deliveries.
    pub fn meter(&self) -> EventMeter {
        EventMeter(self.0.clone())
    }
}

impl Drop for EventTx {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.tx_gone = true;
        if let Some(w) = st.rx_waker.take() {
            drop(st);
            w.wake();
        }
    }
}

impl EventRx {
    /// Installs `sink` (replacing any other): while no event is queued, the
    /// producer offers each new event to it, on the producer's thread, and
    /// queues the events it hands back. The sink must not block; it runs
    /// without the queue's lock, so it may call into the connection.
    pub fn set_sink(&mut self, sink: Sink) {
        let mut st = self.0.lock();
        st.sink_gen += 1;
        let old = st.sink.replace(sink);
        drop(st);
        drop(old);
    }

    /// The next event; `Ready(None)` once the producer is gone and the queue
    /// is empty.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut st = self.0.lock();
        match Self::pop(&mut st) {
            Some((ev, waker)) => {
                drop(st);
                if let Some(w) = waker {
                    w.wake();
                }
                Poll::Ready(Some(ev))
            }
            None if st.tx_gone => Poll::Ready(None),
            None => {
                set_waker(&mut st.rx_waker, cx);
                Poll::Pending
            }
        }
    }

    /// The next event if one is queued.
    pub fn try_recv(&mut self) -> Option<Event> {
        let mut st = self.0.lock();
        let (ev, waker) = Self::pop(&mut st)?;
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Some(ev)
    }

    /// Whether the producer is gone and nothing is left.
    pub fn is_ended(&self) -> bool {
        let st = self.0.lock();
        st.tx_gone && st.queue.is_empty()
    }

    /// Takes the oldest event, and the producer's waker if it waited for
    /// room; releases a large buffer once empty.
    fn pop(st: &mut State) -> Option<(Event, Option<Waker>)> {
        let ev = st.queue.pop_front()?;
        if st.queue.is_empty() && st.queue.capacity() > KEEP {
            st.queue = VecDeque::new();
        }
        Some((ev, st.tx_waker.take()))
    }
}

impl Drop for EventRx {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.rx_gone = true;
        let queued = std::mem::take(&mut st.queue);
        let sink = st.sink.take();
        let waker = st.tx_waker.take();
        drop(st);
        // Dropped unlocked: an event's or the sink's drop may reach back.
        drop(queued);
        drop(sink);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::message::Message;

    fn msg(i: u8) -> Event {
        Event::Message(Message::new(vec![i]))
    }

    fn byte(ev: Event) -> u8 {
        match ev {
            Event::Message(m) => m.data.as_bytes()[0],
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn bounded_in_order_and_waits_for_room() {
        let (tx, mut rx) = channel(2);
        tx.send(msg(1)).await.unwrap();
        tx.send(msg(2)).await.unwrap();
        let tx = Arc::new(tx);
        let t2 = tx.clone();
        let third = tokio::spawn(async move { t2.send(msg(3)).await.is_ok() });
        tokio::task::yield_now().await;
        assert!(!third.is_finished(), "a full queue makes the producer wait");
        assert_eq!(byte(rx.try_recv().unwrap()), 1);
        assert!(third.await.unwrap());
        assert_eq!(byte(rx.try_recv().unwrap()), 2);
        assert_eq!(
            byte(std::future::poll_fn(|cx| rx.poll_recv(cx)).await.unwrap()),
            3
        );
        assert!(rx.try_recv().is_none());
    }

    #[tokio::test]
    async fn ends_when_either_side_goes() {
        let (tx, mut rx) = channel(4);
        tx.send(msg(1)).await.unwrap();
        drop(tx);
        assert_eq!(byte(rx.try_recv().unwrap()), 1);
        assert!(std::future::poll_fn(|cx| rx.poll_recv(cx)).await.is_none());

        let (tx, rx) = channel(1);
        tx.send(msg(1)).await.unwrap();
        let tx = Arc::new(tx);
        let t2 = tx.clone();
        let blocked = tokio::spawn(async move { t2.send(msg(2)).await.is_err() });
        tokio::task::yield_now().await;
        drop(rx);
        assert!(blocked.await.unwrap(), "the waiting send is refused");
    }

    /// The sink takes events while none is queued; what it hands back is
    /// queued, and later events queue behind it until the queue is empty.
    #[tokio::test]
    async fn sink_takes_events_only_while_none_waits() {
        let (tx, mut rx) = channel(8);
        let taken = Arc::new(Mutex::new(Vec::new()));
        let accept = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (t, a) = (taken.clone(), accept.clone());
        rx.set_sink(Box::new(move |ev| {
            if a.load(std::sync::atomic::Ordering::SeqCst) {
                t.lock().unwrap().push(byte(ev));
                Ok(())
            } else {
                Err(ev)
            }
        }));
        tx.send(msg(1)).await.unwrap();
        accept.store(false, std::sync::atomic::Ordering::SeqCst);
        tx.send(msg(2)).await.unwrap();
        accept.store(true, std::sync::atomic::Ordering::SeqCst);
        // 2 waits in the queue: 3 must queue behind it, not jump ahead.
        tx.send(msg(3)).await.unwrap();
        assert_eq!(*taken.lock().unwrap(), vec![1]);
        assert_eq!(byte(rx.try_recv().unwrap()), 2);
        assert_eq!(byte(rx.try_recv().unwrap()), 3);
        assert!(rx.try_recv().is_none());
        tx.send(msg(4)).await.unwrap();
        assert_eq!(*taken.lock().unwrap(), vec![1, 4]);
        drop(rx);
        assert!(tx.send(msg(5)).await.is_err(), "no consumer, no sink");
    }

    /// A sink may replace itself while it runs: the new one stays.
    #[tokio::test]
    async fn a_sink_replaced_while_running_is_not_put_back() {
        let (tx, rx) = channel(8);
        let rx = Arc::new(Mutex::new(rx));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (r, s) = (rx.clone(), seen.clone());
        rx.lock().unwrap().set_sink(Box::new(move |ev| {
            s.lock().unwrap().push(("first", byte(ev)));
            let s2 = s.clone();
            r.lock().unwrap().set_sink(Box::new(move |ev| {
                s2.lock().unwrap().push(("second", byte(ev)));
                Ok(())
            }));
            Ok(())
        }));
        tx.send(msg(1)).await.unwrap();
        tx.send(msg(2)).await.unwrap();
        assert_eq!(*seen.lock().unwrap(), vec![("first", 1), ("second", 2)]);
    }

    #[tokio::test]
    async fn a_burst_buffer_is_released() {
        let (tx, mut rx) = channel(1000);
        for i in 0..200u8 {
            tx.send(msg(i)).await.unwrap();
        }
        while rx.try_recv().is_some() {}
        assert!(rx.0.lock().queue.capacity() <= KEEP);
    }
}
