//! Waking an asyncio loop from the runtime without the GIL.
//!
//! A [`LoopNotifier`] owns a socket pair; the loop watches the read end
//! (`loop.add_reader`). A connection's reader registers a [`Waker`] that
//! records the connection's id and writes one byte (coalesced) to the pair.
//! The loop's callback then takes the ids that are ready and polls those
//! connections again, on its own thread. No runtime task and no GIL are
//! needed to hand an event over.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

use pyo3::prelude::*;

/// The shared part of a [`LoopNotifier`].
#[derive(Debug)]
pub(crate) struct Notifier {
    tx: UnixStream,
    rx: UnixStream,
    ready: Mutex<Vec<u64>>,
    signaled: AtomicBool,
}

impl Notifier {
    fn notify(&self, id: u64) {
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id);
        if !self.signaled.swap(true, Ordering::SeqCst) {
            // A full pipe already holds a wake-up: nothing to do on error.
            let _ = (&self.tx).write(&[1]);
        }
    }
}

/// One connection's waker: marks `id` ready on its loop's notifier.
struct ReadyWaker {
    notifier: Arc<Notifier>,
    id: u64,
}

impl Wake for ReadyWaker {
    fn wake(self: Arc<Self>) {
        self.notifier.notify(self.id);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.notifier.notify(self.id);
    }
}

/// Wakes one asyncio loop from the runtime's threads (one per loop).
#[pyclass(module = "rtwire._rtwire", frozen)]
#[derive(Debug)]
pub struct LoopNotifier {
    pub(crate) inner: Arc<Notifier>,
}

impl LoopNotifier {
    /// A waker that marks connection `id` ready.
    pub(crate) fn waker(&self, id: u64) -> Waker {
        Waker::from(Arc::new(ReadyWaker {
            notifier: self.inner.clone(),
            id,
        }))
    }
}

#[pymethods]
impl LoopNotifier {
    #[new]
    fn new() -> PyResult<Self> {
        let (tx, rx) = UnixStream::pair()?;
        tx.set_nonblocking(true)?;
        rx.set_nonblocking(true)?;
        Ok(LoopNotifier {
            inner: Arc::new(Notifier {
                tx,
                rx,
                ready: Mutex::new(Vec::new()),
                signaled: AtomicBool::new(false),
            }),
        })
    }

    /// The file descriptor to watch for reading.
    fn fileno(&self) -> i32 {
        self.inner.rx.as_raw_fd()
    }

    /// Clears the wake-up and returns the ids of the connections that are
    /// ready, each once.
    fn take_ready(&self) -> Vec<u64> {
        let n = &self.inner;
        // Drain first, then clear the flag: a wake-up written after the
        // drain stays in the pipe, and one that found the flag still set
        // pushed its id before we take the list below.
        let mut buf = [0u8; 256];
        while let Ok(k) = (&n.rx).read(&mut buf) {
            if k < buf.len() {
                break;
            }
        }
        n.signaled.store(false, Ordering::SeqCst);
        let mut ids = std::mem::take(&mut *n.ready.lock().unwrap_or_else(|e| e.into_inner()));
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}
