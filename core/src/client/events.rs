//! The bounded queue of events from a connection's task to the application.
//!
//! One producer (the connection task), one consumer (the `Connection`). Its
//! buffer is allocated only while events wait and shrinks back after a
//! burst, so an idle connection holds none: tokio's channels keep a block of
//! 32 slots per channel for life, which is most of an idle connection's
//! memory.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::event::Event;

/// A buffer larger than this is released when the queue empties.
const KEEP: usize = 8;

#[derive(Debug)]
struct State {
    queue: VecDeque<Event>,
    cap: usize,
    /// The consumer waiting for an event.
    rx_waker: Option<Waker>,
    /// The producer waiting for room.
    tx_waker: Option<Waker>,
    rx_gone: bool,
    tx_gone: bool,
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
        cap: cap.max(1),
        rx_waker: None,
        tx_waker: None,
        rx_gone: false,
        tx_gone: false,
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
            if st.queue.len() < st.cap {
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
        st.queue.clear();
        if let Some(w) = st.tx_waker.take() {
            drop(st);
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
