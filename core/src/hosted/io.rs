//! A TCP socket watched by the host's loop instead of the runtime.
//!
//! Reads and writes go straight to the socket. When one would block, the
//! task's waker is kept and the socket's watch is widened; the loop then
//! reports readiness to [`Host::ready`](super::Host::ready), which wakes the
//! waiting task. A readiness nobody waits for narrows the watch again, so a
//! connection that stops reading (backpressure) does not spin the loop.
//! Watch changes and closes are applied by the host at the end of each
//! `run`, on its thread, so the reactor is only ever called there.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::{lock, Host, Shared};

/// Tokens of sockets, unique in the process.
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// What a socket's task waits for, and what the loop watches.
#[derive(Default)]
struct Wait {
    reader: Option<Waker>,
    writer: Option<Waker>,
    /// Wanted watch.
    read: bool,
    write: bool,
    /// Watch the reactor was last told.
    applied: (bool, bool),
    /// Queued in the host's `dirty` list.
    dirty: bool,
}

pub(crate) struct IoState {
    fd: RawFd,
    token: u64,
    wait: Mutex<Wait>,
}

/// A dropped socket, closed once the loop stopped watching it.
pub(crate) struct Buried {
    stream: TcpStream,
    state: Arc<IoState>,
}

impl IoState {
    /// The loop saw `fd` readable and/or writable.
    pub(super) fn ready(self: &Arc<Self>, host: &Shared, readable: bool, writable: bool) {
        let mut w = lock(&self.wait);
        let reader = if readable { w.reader.take() } else { None };
        let writer = if writable { w.writer.take() } else { None };
        let mut changed = false;
        if readable && reader.is_none() && w.read {
            w.read = false;
            changed = true;
        }
        if writable && writer.is_none() && w.write {
            w.write = false;
            changed = true;
        }
        if changed {
            self.mark_dirty(&mut w, host);
        }
        drop(w);
        if let Some(r) = reader {
            r.wake();
        }
        if let Some(wr) = writer {
            wr.wake();
        }
    }

    /// Keeps `cx`'s waker for reading (or writing) and widens the watch.
    fn want(self: &Arc<Self>, host: &Weak<Shared>, cx: &Context<'_>, write: bool) {
        let mut guard = lock(&self.wait);
        let w = &mut *guard;
        let (slot, flag) = if write {
            (&mut w.writer, &mut w.write)
        } else {
            (&mut w.reader, &mut w.read)
        };
        match slot {
            Some(k) if k.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        if !*flag {
            *flag = true;
            if let Some(host) = host.upgrade() {
                self.mark_dirty(w, &host);
            }
        }
    }

    fn mark_dirty(self: &Arc<Self>, w: &mut Wait, host: &Shared) {
        if (w.read, w.write) == w.applied || w.dirty {
            return;
        }
        w.dirty = true;
        lock(&host.dirty).push(self.clone());
        host.signal();
    }
}

/// Applies watch changes and closes dropped sockets (on the host's thread).
pub(super) fn settle(host: &Shared) {
    loop {
        let dirty = std::mem::take(&mut *lock(&host.dirty));
        let buried = std::mem::take(&mut *lock(&host.graveyard));
        if dirty.is_empty() && buried.is_empty() {
            return;
        }
        for io in dirty {
            let mut w = lock(&io.wait);
            w.dirty = false;
            let want = (w.read, w.write);
            if want != w.applied {
                w.applied = want;
                drop(w);
                host.reactor.watch(io.fd, io.token, want.0, want.1);
            }
        }
        for b in buried {
            lock(&host.ios).remove(&b.state.token);
            if lock(&b.state.wait).applied != (false, false) {
                host.reactor.watch(b.state.fd, b.state.token, false, false);
            }
            drop(b.stream);
        }
    }
}

/// A connected TCP socket driven by the host's loop.
pub(crate) struct HostIo {
    stream: Option<TcpStream>,
    state: Arc<IoState>,
    host: Weak<Shared>,
}

impl fmt::Debug for HostIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostIo")
            .field("fd", &self.state.fd)
            .field("token", &self.state.token)
            .finish()
    }
}

impl HostIo {
    /// Moves a connected socket from the runtime's reactor to `host`'s loop.
    pub(crate) fn new(host: &Host, tcp: tokio::net::TcpStream) -> io::Result<HostIo> {
        let stream = tcp.into_std()?;
        stream.set_nonblocking(true)?;
        let state = Arc::new(IoState {
            fd: stream.as_raw_fd(),
            token: NEXT_TOKEN.fetch_add(1, Ordering::Relaxed),
            wait: Mutex::new(Wait::default()),
        });
        lock(&host.inner.ios).insert(state.token, Arc::downgrade(&state));
        Ok(HostIo {
            stream: Some(stream),
            state,
            host: Arc::downgrade(&host.inner),
        })
    }

    fn stream(&self) -> io::Result<&TcpStream> {
        self.stream
            .as_ref()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "socket closed"))
    }

    /// Runs `op` on the socket; on `WouldBlock` keeps the waker and widens
    /// the watch for reading (`write` false) or writing.
    fn poll_op<T>(
        &self,
        cx: &Context<'_>,
        write: bool,
        mut op: impl FnMut(&TcpStream) -> io::Result<T>,
    ) -> Poll<io::Result<T>> {
        let stream = self.stream()?;
        loop {
            match op(stream) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.state.want(&self.host, cx, write);
                    return Poll::Pending;
                }
                r => return Poll::Ready(r),
            }
        }
    }
}

impl Drop for HostIo {
    fn drop(&mut self) {
        let Some(stream) = self.stream.take() else {
            return;
        };
        match self.host.upgrade() {
            // Unwatched and closed by the host on its thread, so that the
            // loop never watches a closed (or reused) descriptor.
            Some(host) => {
                lock(&host.graveyard).push(Buried {
                    stream,
                    state: self.state.clone(),
                });
                host.signal();
            }
            None => drop(stream),
        }
    }
}

impl AsyncRead for HostIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let dst = buf.initialize_unfilled();
        match this.poll_op(cx, false, |mut s| s.read(dst)) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for HostIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_op(cx, true, |mut s| s.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_op(cx, true, |mut s| s.write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = match self.stream() {
            Ok(s) => s.shutdown(Shutdown::Write),
            Err(e) => Err(e),
        };
        Poll::Ready(match r {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        })
    }
}
