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
struct Wait {
    /// The socket may have data (or room): a read (write) is worth a
    /// syscall. Cleared by `WouldBlock` or a short read (write), set by the
    /// loop's readiness. A stale "no" costs nothing: the loop watches
    /// level-triggered and reports what is there.
    readable: bool,
    writable: bool,
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

impl Default for Wait {
    fn default() -> Self {
        Wait {
            readable: true,
            writable: true,
            reader: None,
            writer: None,
            read: false,
            write: false,
            applied: (false, false),
            dirty: false,
        }
    }
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
        w.readable |= readable;
        w.writable |= writable;
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

    fn ready_for(&self, write: bool) -> bool {
        let w = lock(&self.wait);
        if write {
            w.writable
        } else {
            w.readable
        }
    }

    fn not_ready(&self, write: bool) {
        let mut w = lock(&self.wait);
        if write {
            w.writable = false;
        } else {
            w.readable = false;
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

/// Bytes read from the socket ahead of the reader's small reads.
const AHEAD: usize = 64 * 1024;

/// A connected TCP socket driven by the host's loop.
///
/// Reads are as large as the reader asks, except during a bulk transfer
/// (a read filled the reader's buffer, so more is waiting): then up to
/// [`AHEAD`] bytes are read at once into a buffer the next small reads are
/// served from. WebSocket frames are read in `read_buffer_size` steps
/// (2 KiB by default, to keep idle connections small); without this, a
/// 1 MiB message would take 512 syscalls. The buffer exists only while a
/// transfer lasts (it is dropped once a read comes up short or would block).
pub(crate) struct HostIo {
    stream: Option<TcpStream>,
    state: Arc<IoState>,
    host: Weak<Shared>,
    /// The last read filled the reader's buffer.
    bulk: bool,
    /// The read-ahead buffer, how many of its bytes were handed out, and
    /// where they end (kept, empty, between reads while `bulk`).
    ahead: Option<(Box<[u8]>, usize, usize)>,
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
            bulk: false,
            ahead: None,
        })
    }

    fn stream(&self) -> io::Result<&TcpStream> {
        self.stream
            .as_ref()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "socket closed"))
    }

    /// Runs `op` on the socket (`op` returns the bytes moved) unless the
    /// socket is known not ready; on `WouldBlock` keeps the waker and widens
    /// the watch for reading (`write` false) or writing. A transfer shorter
    /// than `len` marks the socket not ready, which spares the syscall that
    /// would only say `WouldBlock`.
    fn poll_op(
        &self,
        cx: &Context<'_>,
        write: bool,
        len: usize,
        mut op: impl FnMut(&TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let stream = self.stream()?;
        if !self.state.ready_for(write) {
            self.state.want(&self.host, cx, write);
            return Poll::Pending;
        }
        loop {
            match op(stream) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.state.not_ready(write);
                    self.state.want(&self.host, cx, write);
                    return Poll::Pending;
                }
                Ok(n) if n < len && n > 0 => {
                    self.state.not_ready(write);
                    return Poll::Ready(Ok(n));
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
        let len = dst.len();
        if let Some((ahead, start, end)) = &mut this.ahead {
            if start < end {
                let n = (*end - *start).min(len);
                dst[..n].copy_from_slice(&ahead[*start..*start + n]);
                *start += n;
                if *start == *end && !this.bulk {
                    this.ahead = None;
                }
                buf.advance(n);
                return Poll::Ready(Ok(()));
            }
        }
        // Straight into the reader's buffer, or (bulk) into the read-ahead
        // buffer, reused while the transfer lasts.
        let spare = this.ahead.take().map(|(a, _, _)| a);
        let mut ahead = (this.bulk && len < AHEAD)
            .then(|| spare.unwrap_or_else(|| vec![0u8; AHEAD].into_boxed_slice()));
        let want = ahead.as_ref().map_or(len, |a| a.len());
        let got = match this.poll_op(cx, false, want, |mut s| match &mut ahead {
            Some(a) => s.read(a),
            None => s.read(dst),
        }) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => {
                this.bulk = false;
                return Poll::Pending;
            }
        };
        this.bulk = got == want && want > 0;
        let n = match ahead {
            Some(a) => {
                let n = got.min(len);
                dst[..n].copy_from_slice(&a[..n]);
                if n < got || this.bulk {
                    this.ahead = Some((a, n, got));
                }
                n
            }
            None => got,
        };
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for HostIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_op(cx, true, buf.len(), |mut s| s.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.get_mut()
            .poll_op(cx, true, len, |mut s| s.write_vectored(bufs))
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
