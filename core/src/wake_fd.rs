//! A descriptor that an event loop watches for readability, made readable
//! from any thread: how the C context and the Python loop bridge tell their
//! loops that something is ready.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};

/// A wake-up descriptor: [`WakeFd::fd`] is readable from [`WakeFd::signal`]
/// until [`WakeFd::clear`]. Signals between two clears cost one write in
/// all. Both ends are non-blocking and close-on-exec; dropping it closes
/// them.
///
/// ```
/// let w = rtwire::WakeFd::new().unwrap();
/// w.signal();
/// w.signal(); // already readable: no second write
/// assert!(w.is_signaled());
/// w.clear();
/// assert!(!w.is_signaled());
/// ```
#[derive(Debug)]
pub struct WakeFd {
    tx: UnixStream,
    rx: UnixStream,
    signaled: AtomicBool,
}

impl WakeFd {
    /// A new, unsignaled descriptor pair.
    ///
    /// # Errors
    /// The system's error when no socket pair can be made.
    pub fn new() -> std::io::Result<WakeFd> {
        let (tx, rx) = UnixStream::pair()?;
        tx.set_nonblocking(true)?;
        rx.set_nonblocking(true)?;
        Ok(WakeFd {
            tx,
            rx,
            signaled: AtomicBool::new(false),
        })
    }

    /// The descriptor to watch for readability (owned by this object).
    pub fn fd(&self) -> RawFd {
        self.rx.as_raw_fd()
    }

    /// Makes the descriptor readable; any thread.
    pub fn signal(&self) {
        if !self.signaled.swap(true, Ordering::SeqCst) {
            // A full buffer already holds a wake-up: nothing to do on error.
            let _ = (&self.tx).write(&[1]);
        }
    }

    /// Whether a signal is pending.
    pub fn is_signaled(&self) -> bool {
        self.signaled.load(Ordering::SeqCst)
    }

    /// Makes the descriptor unreadable again. Call it before handling what
    /// the signal was for, so that a signal meanwhile is kept.
    pub fn clear(&self) {
        if self.signaled.load(Ordering::SeqCst) {
            let mut buf = [0u8; 64];
            while let Ok(k) = (&self.rx).read(&mut buf) {
                if k < buf.len() {
                    break;
                }
            }
            self.signaled.store(false, Ordering::SeqCst);
        }
    }
}
