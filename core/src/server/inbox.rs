//! The bounded queue between a server's message handler (on a runtime
//! thread) and the application's thread that takes client messages: what
//! the C, Python and Node servers hand to their users.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::message::Data;

/// What [`Inbox::push`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pushed {
    /// Queued. `wake` is true for the first message since the consumer last
    /// took messages: the one push that should wake it (later ones find it
    /// already woken).
    Queued {
        /// Wake the consumer.
        wake: bool,
    },
    /// The queue was full: dropped and counted ([`Inbox::dropped`]).
    Dropped,
    /// The inbox is closed: dropped.
    Closed,
}

#[derive(Debug)]
struct State {
    queue: VecDeque<(String, Data)>,
    capacity: usize,
    dropped: u64,
    closed: bool,
    /// A wake-up is pending: the consumer has not taken messages since.
    woken: bool,
}

/// A bounded, closable queue of `(channel, message)` with a count of what
/// it dropped. Pushing never blocks; taking can wait.
///
/// ```
/// use rtwire::server::{Inbox, Pushed};
/// let inbox = Inbox::new(1);
/// assert_eq!(inbox.push("a", "x".into()), Pushed::Queued { wake: true });
/// assert_eq!(inbox.push("a", "y".into()), Pushed::Dropped);
/// assert_eq!(inbox.take_all().len(), 1);
/// assert_eq!(inbox.dropped(), 1);
/// ```
#[derive(Debug)]
pub struct Inbox {
    state: Mutex<State>,
    ready: Condvar,
}

impl Inbox {
    /// An inbox holding at most `capacity` messages.
    pub fn new(capacity: usize) -> Inbox {
        Inbox {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                capacity,
                dropped: 0,
                closed: false,
                woken: false,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the capacity (messages already queued stay).
    pub fn set_capacity(&self, capacity: usize) {
        self.lock().capacity = capacity;
    }

    /// Queues a message; never blocks.
    pub fn push(&self, channel: &str, data: Data) -> Pushed {
        let mut g = self.lock();
        if g.closed {
            return Pushed::Closed;
        }
        if g.queue.len() >= g.capacity {
            g.dropped += 1;
            return Pushed::Dropped;
        }
        g.queue.push_back((channel.to_string(), data));
        let wake = !std::mem::replace(&mut g.woken, true);
        drop(g);
        self.ready.notify_one();
        Pushed::Queued { wake }
    }

    /// Takes everything queued.
    pub fn take_all(&self) -> Vec<(String, Data)> {
        let mut g = self.lock();
        g.woken = false;
        g.queue.drain(..).collect()
    }

    /// Takes the next message, waiting up to `timeout` for one: `Ok(Some)`,
    /// `Ok(None)` once closed and empty, `Err(())` when the time ran out.
    #[allow(clippy::result_unit_err)]
    pub fn pop_timeout(&self, timeout: Duration) -> Result<Option<(String, Data)>, ()> {
        let deadline = Instant::now().checked_add(timeout);
        let mut g = self.lock();
        loop {
            if let Some(m) = g.queue.pop_front() {
                if g.queue.is_empty() {
                    g.woken = false;
                }
                return Ok(Some(m));
            }
            if g.closed {
                return Ok(None);
            }
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                return Err(());
            }
            g = self
                .ready
                .wait_timeout(g, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Closes the inbox: later pushes are dropped, waiting takers return.
    /// Messages already queued can still be taken.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    /// Clears the queue (the consumer is gone).
    pub fn clear(&self) {
        let mut g = self.lock();
        g.queue.clear();
        g.woken = false;
    }

    /// Messages dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Messages queued now.
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_once_per_batch_and_waits_with_a_deadline() {
        let inbox = std::sync::Arc::new(Inbox::new(4));
        assert_eq!(inbox.push("c", "1".into()), Pushed::Queued { wake: true });
        assert_eq!(inbox.push("c", "2".into()), Pushed::Queued { wake: false });
        assert_eq!(inbox.take_all().len(), 2);
        assert_eq!(inbox.push("c", "3".into()), Pushed::Queued { wake: true });
        assert!(inbox.pop_timeout(Duration::ZERO).unwrap().is_some());
        assert_eq!(inbox.pop_timeout(Duration::from_millis(10)), Err(()));
        let i2 = inbox.clone();
        let t = std::thread::spawn(move || i2.pop_timeout(Duration::from_secs(5)));
        std::thread::sleep(Duration::from_millis(20));
        inbox.close();
        assert_eq!(t.join().unwrap(), Ok(None));
        assert_eq!(inbox.push("c", "4".into()), Pushed::Closed);
    }
}
