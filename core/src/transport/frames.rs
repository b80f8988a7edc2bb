//! A WebSocket connection's frames over any byte stream: the reader of
//! [`crate::proto::frame`] fed from the socket, and writes coalesced into
//! few system calls. Client and server sessions both run on it.
//!
//! Memory: an idle connection holds no buffer. While no frame is under way
//! the socket is read into a buffer on the stack and only what arrived is
//! kept; the read buffer is let go as soon as every frame in it has been
//! taken, and a large write buffer once it is written. Copies: a received
//! payload is unmasked in place and handed on as a slice of the read
//! buffer; on the server a large outgoing payload is written from the
//! message itself (vectored, next to the coalesced small frames), and only
//! small ones are copied into the write buffer. The client must mask, so it
//! copies what it sends.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::message::Data;
use crate::proto::deflate::{self, Params};
use crate::proto::frame::{self, close_payload, put_head, Incoming, OpCode, Reader, Role};
use crate::proto::ws::Fault;

/// Payloads from this size on are written from the message, not copied.
const ZERO_COPY_FROM: usize = 2048;
/// A write buffer grown past this is let go once written.
const KEEP_WRITE_BUFFER: usize = 8 << 10;
/// The stack buffer an idle connection reads into.
const SCRATCH: usize = 16 << 10;
/// Most pieces given to one vectored write.
const MAX_SLICES: usize = 64;

/// Why reading failed.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer broke the protocol or a limit; the connection can still
    /// carry a close frame that says so.
    Fault(Fault),
    /// The connection failed.
    Io(io::Error),
}

/// One WebSocket connection's framing over the stream `S`.
#[derive(Debug)]
pub(crate) struct Frames<S> {
    io: S,
    role: Role,
    reader: Reader,
    read_size: usize,
    rbuf: BytesMut,
    /// Small frames (and the headers of large ones) not yet written.
    wbuf: BytesMut,
    /// Pieces to write before `wbuf`, in order: earlier parts of the
    /// write buffer, and large payloads written without a copy.
    pieces: VecDeque<Bytes>,
    eof: bool,
    /// We sent (or queued) a close frame.
    close_sent: bool,
    /// The peer's close frame came: nothing more is read.
    close_received: bool,
    /// permessage-deflate, when negotiated.
    deflate: Option<Params>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Frames<S> {
    /// Framing for `role` over `io`, with `already` read past the opening
    /// handshake; messages over `max_message` and frames over `max_frame`
    /// bytes are refused; the socket is read `read_size` bytes at a time.
    pub(crate) fn new(
        io: S,
        role: Role,
        already: BytesMut,
        max_message: usize,
        max_frame: usize,
        read_size: usize,
    ) -> Frames<S> {
        Frames {
            io,
            role,
            reader: Reader::new(role, max_message, max_frame),
            read_size: read_size.clamp(512, 1 << 20),
            rbuf: already,
            wbuf: BytesMut::new(),
            pieces: VecDeque::new(),
            eof: false,
            close_sent: false,
            close_received: false,
            deflate: None,
        }
    }

    /// With permessage-deflate as negotiated (`None`: without).
    pub(crate) fn with_deflate(mut self, params: Option<Params>) -> Frames<S> {
        self.reader.set_deflate(params.is_some());
        self.deflate = params;
        self
    }

    /// The next message or control frame; `None` once the stream ended or
    /// the peer's close frame was taken. A ping is answered by queuing a
    /// pong, a close frame by queuing the reply (when we did not close
    /// first): the caller flushes. Cancel-safe.
    pub(crate) fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Incoming, ReadError>>> {
        loop {
            if self.close_received {
                return Poll::Ready(None);
            }
            match self.reader.read(&mut self.rbuf) {
                Err(f) => return Poll::Ready(Some(Err(ReadError::Fault(f)))),
                Ok(Some(item)) => {
                    if self.rbuf.is_empty() {
                        // Let go of the buffer: the payloads handed on keep
                        // what they need of it.
                        self.rbuf = BytesMut::new();
                    }
                    match &item {
                        Incoming::Ping(p) if !self.close_sent => {
                            let p = p.clone();
                            self.feed_frame(OpCode::Pong, false, &p);
                        }
                        Incoming::Close(c) => {
                            self.close_received = true;
                            if !self.close_sent {
                                let reply = match c {
                                    Some((code, _)) => close_payload(*code, ""),
                                    None => Bytes::new(),
                                };
                                self.feed_frame(OpCode::Close, false, &reply);
                                self.close_sent = true;
                            }
                        }
                        _ => {}
                    }
                    return Poll::Ready(Some(Ok(item)));
                }
                Ok(None) => {}
            }
            if self.eof {
                return Poll::Ready(None);
            }
            if let Err(e) = ready!(self.poll_fill(cx)) {
                return Poll::Ready(Some(Err(ReadError::Io(e))));
            }
        }
    }

    /// [`Frames::poll_next`] as a future.
    pub(crate) async fn next(&mut self) -> Option<Result<Incoming, ReadError>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Reads once from the socket into the read buffer.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let wanted = self.reader.wanted();
        if self.rbuf.is_empty() && wanted.is_none() {
            // Idle: read on the stack, keep only what came.
            let mut scratch = [MaybeUninit::<u8>::uninit(); SCRATCH];
            let n = self.read_size.min(SCRATCH);
            let mut rb = ReadBuf::uninit(&mut scratch[..n]);
            ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
            if rb.filled().is_empty() {
                self.eof = true;
            } else {
                self.rbuf.extend_from_slice(rb.filled());
            }
            return Poll::Ready(Ok(()));
        }
        if self.rbuf.capacity() - self.rbuf.len() < 512 {
            // Grow towards the frame under way, at most doubling what is
            // held, so a header announcing a large frame reserves memory
            // only as the payload really arrives.
            let missing = wanted.unwrap_or(0).saturating_sub(self.rbuf.len());
            let grow = missing
                .min(self.rbuf.len().max(self.read_size))
                .max(self.read_size);
            self.rbuf.reserve(grow);
        }
        let spare = self.rbuf.spare_capacity_mut();
        let mut rb = ReadBuf::uninit(spare);
        ready!(Pin::new(&mut self.io).poll_read(cx, &mut rb))?;
        let n = rb.filled().len();
        if n == 0 {
            self.eof = true;
        } else {
            // SAFETY: `poll_read` initialised the first `n` spare bytes.
            unsafe { self.rbuf.set_len(self.rbuf.len() + n) };
        }
        Poll::Ready(Ok(()))
    }

    /// Queues one frame (not written until [`Frames::flush`]).
    fn feed_frame(&mut self, op: OpCode, compressed: bool, payload: &Bytes) {
        match self.role {
            Role::Client => {
                let key: [u8; 4] = rand::random();
                put_head(
                    &mut self.wbuf,
                    op,
                    true,
                    compressed,
                    payload.len(),
                    Some(key),
                );
                let at = self.wbuf.len();
                self.wbuf.put_slice(payload);
                frame::apply_mask(&mut self.wbuf[at..], key);
            }
            Role::Server => {
                put_head(&mut self.wbuf, op, true, compressed, payload.len(), None);
                if payload.len() >= ZERO_COPY_FROM {
                    self.pieces.push_back(self.wbuf.split().freeze());
                    self.pieces.push_back(payload.clone());
                } else {
                    self.wbuf.put_slice(payload);
                }
            }
        }
    }

    /// Queues a message (nothing once a close frame was sent).
    pub(crate) fn feed(&mut self, data: &Data) {
        match data {
            Data::Text(t) => self.feed_message(OpCode::Text, t.bytes()),
            Data::Binary(b) => self.feed_message(OpCode::Binary, b),
        }
    }

    /// Queues a message of `op` (text or binary) whose payload is already
    /// encoded (nothing once a close frame was sent). Text must be UTF-8.
    pub(crate) fn feed_message(&mut self, op: OpCode, payload: &Bytes) {
        debug_assert!(op != OpCode::Text || std::str::from_utf8(payload).is_ok());
        if self.close_sent {
            return;
        }
        if let Some(p) = self.deflate.filter(|p| p.compresses(payload.len())) {
            if let Some(c) = deflate::compress_shared(payload, p.send_window) {
                self.feed_frame(op, true, &c);
                return;
            }
        }
        self.feed_frame(op, false, payload);
    }

    /// Queues a broadcast message of `op` whose compression (window 15,
    /// `None` when compression does not shrink it) was made once for all
    /// its receivers: used as it is when this connection compresses with
    /// window 15 and a message of this size; otherwise as
    /// [`Frames::feed_message`].
    pub(crate) fn feed_compressed(
        &mut self,
        op: OpCode,
        plain: &Bytes,
        compressed: impl FnOnce() -> Option<Bytes>,
    ) {
        match self.deflate {
            Some(p) if p.send_window == 15 && p.compresses(plain.len()) => {
                if self.close_sent {
                    return;
                }
                match compressed() {
                    Some(c) => self.feed_frame(op, true, &c),
                    None => self.feed_frame(op, false, plain),
                }
            }
            _ => self.feed_message(op, plain),
        }
    }

    /// Queues a ping.
    pub(crate) fn feed_ping(&mut self, payload: &Bytes) {
        if !self.close_sent {
            self.feed_frame(OpCode::Ping, false, payload);
        }
    }

    /// Queues a close frame with `code` and `reason` (once).
    pub(crate) fn feed_close(&mut self, code: u16, reason: &str) {
        if !self.close_sent {
            self.close_sent = true;
            self.feed_frame(OpCode::Close, false, &close_payload(code, reason));
        }
    }

    /// Bytes queued and not yet written.
    pub(crate) fn unwritten(&self) -> usize {
        self.wbuf.len() + self.pieces.iter().map(Bytes::len).sum::<usize>()
    }

    /// Writes everything queued, then flushes the stream. Cancel-safe:
    /// what was written is not written again.
    pub(crate) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pieces.is_empty() || !self.wbuf.is_empty() {
            let n = {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let mut k = 0;
                for p in self.pieces.iter().take(MAX_SLICES - 1) {
                    slices[k] = IoSlice::new(p);
                    k += 1;
                }
                if self.pieces.len() < MAX_SLICES {
                    slices[k] = IoSlice::new(&self.wbuf);
                    k += 1;
                }
                ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..k]))?
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.consume(n);
        }
        if self.wbuf.capacity() > KEEP_WRITE_BUFFER {
            self.wbuf = BytesMut::new();
        }
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Drops `n` written bytes from the front of what is queued.
    fn consume(&mut self, mut n: usize) {
        while n > 0 {
            match self.pieces.front_mut() {
                Some(p) if p.len() <= n => {
                    n -= p.len();
                    self.pieces.pop_front();
                }
                Some(p) => {
                    p.advance(n);
                    return;
                }
                None => {
                    self.wbuf.advance(n);
                    return;
                }
            }
        }
    }

    /// [`Frames::poll_flush`] as a future.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_flush(cx)).await
    }

    /// Queues `data` and writes it.
    pub(crate) async fn send(&mut self, data: &Data) -> io::Result<()> {
        self.feed(data);
        self.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Text;

    fn pair(
        role: Role,
    ) -> (
        Frames<tokio::io::DuplexStream>,
        Frames<tokio::io::DuplexStream>,
    ) {
        let (a, b) = tokio::io::duplex(1 << 16);
        let other = if role == Role::Client {
            Role::Server
        } else {
            Role::Client
        };
        (
            Frames::new(a, role, BytesMut::new(), 1 << 24, 1 << 24, 4096),
            Frames::new(b, other, BytesMut::new(), 1 << 24, 1 << 24, 4096),
        )
    }

    #[tokio::test]
    async fn messages_pings_and_the_close_handshake_cross_both_ways() {
        let (mut client, mut server) = pair(Role::Client);
        let big = Bytes::from(vec![5u8; 300_000]);
        let write = async {
            client.feed(&Data::Text(Text::from("hi")));
            client.feed(&Data::Binary(big.clone()));
            client.feed_ping(&Bytes::from_static(b"p"));
            client.flush().await.unwrap();
            // The pong the server queued comes back.
            assert_eq!(
                client.next().await.unwrap().unwrap(),
                Incoming::Pong(Bytes::from_static(b"p"))
            );
            client.feed_close(4000, "done");
            client.flush().await.unwrap();
            assert_eq!(
                client.next().await.unwrap().unwrap(),
                Incoming::Close(Some((4000, String::new())))
            );
            assert!(client.next().await.is_none());
        };
        let read = async {
            assert_eq!(
                server.next().await.unwrap().unwrap(),
                Incoming::Message(Data::Text(Text::from("hi")))
            );
            assert_eq!(
                server.next().await.unwrap().unwrap(),
                Incoming::Message(Data::Binary(big.clone()))
            );
            assert!(matches!(server.next().await, Some(Ok(Incoming::Ping(_)))));
            server.flush().await.unwrap();
            assert!(matches!(
                server.next().await,
                Some(Ok(Incoming::Close(Some((4000, _)))))
            ));
            // The reply was queued; nothing more is read.
            assert!(server.unwritten() > 0);
            server.flush().await.unwrap();
            assert!(server.next().await.is_none());
            // After the close handshake nothing more is queued.
            server.feed(&Data::Binary(Bytes::from(vec![1u8; 10_000])));
            assert_eq!(server.unwritten(), 0);
        };
        tokio::join!(write, read);
    }

    #[tokio::test]
    async fn a_server_writes_large_payloads_without_a_copy_in_order() {
        let (mut server, mut client) = pair(Role::Server);
        let msgs: Vec<Data> = (0..50)
            .map(|i| {
                if i % 3 == 0 {
                    Data::Binary(Bytes::from(vec![i as u8; 5000 + i]))
                } else {
                    Data::Text(Text::from(format!("m{i}")))
                }
            })
            .collect();
        let write = async {
            for m in &msgs {
                server.feed(m);
            }
            server.flush().await.unwrap();
            assert_eq!(server.unwritten(), 0);
        };
        let read = async {
            for m in &msgs {
                assert_eq!(
                    client.next().await.unwrap().unwrap(),
                    Incoming::Message(m.clone())
                );
            }
        };
        tokio::join!(write, read);
    }

    #[tokio::test]
    async fn a_fault_is_reported_and_the_end_of_the_stream_is_none() {
        let (a, mut b) = tokio::io::duplex(1024);
        let mut server = Frames::new(a, Role::Server, BytesMut::new(), 100, 100, 4096);
        use tokio::io::AsyncWriteExt;
        // An unmasked frame from a client.
        b.write_all(&[0x81, 0x01, b'x']).await.unwrap();
        assert!(matches!(
            server.next().await,
            Some(Err(ReadError::Fault(Fault::Protocol(_))))
        ));
        let (a, b) = tokio::io::duplex(1024);
        let mut server = Frames::new(a, Role::Server, BytesMut::new(), 100, 100, 4096);
        drop(b);
        assert!(server.next().await.is_none());
    }

    #[tokio::test]
    async fn with_deflate_both_ways_messages_cross_compressed_and_small_ones_plain() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let p = Params {
            send_window: 15,
            threshold: 64,
        };
        let mut client = Frames::new(a, Role::Client, BytesMut::new(), 1 << 20, 1 << 20, 4096)
            .with_deflate(Some(p));
        let (raw_tx, mut raw_rx) = tokio::io::duplex(1 << 16);
        let mut server = Frames::new(b, Role::Server, BytesMut::new(), 1 << 20, 1 << 20, 4096)
            .with_deflate(Some(p));
        let json = Data::Text(Text::from("{\"k\":\"value value value\"}".repeat(40)));
        let small = Data::Text(Text::from("tiny"));
        client.feed(&json);
        client.feed(&small);
        client.flush().await.unwrap();
        assert_eq!(
            server.next().await.unwrap().unwrap(),
            Incoming::Message(json.clone())
        );
        assert_eq!(
            server.next().await.unwrap().unwrap(),
            Incoming::Message(small.clone())
        );
        // What the server writes is compressed: far fewer bytes than the text.
        let mut probe = Frames::new(
            raw_tx,
            Role::Server,
            BytesMut::new(),
            1 << 20,
            1 << 20,
            4096,
        )
        .with_deflate(Some(p));
        probe.feed(&json);
        probe.flush().await.unwrap();
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 4096];
        let n = raw_rx.read(&mut buf).await.unwrap();
        assert!(
            buf[0] & 0x40 != 0 && n < json.len() / 4,
            "{n} bytes, first {:#x}",
            buf[0]
        );
        // A broadcast compressed once is fed as it is.
        let once = deflate::compress(json.as_bytes(), 15).unwrap();
        let plain = Bytes::copy_from_slice(json.as_bytes());
        let used = std::cell::Cell::new(false);
        server.feed_compressed(OpCode::Text, &plain, || {
            used.set(true);
            Some(once.clone())
        });
        assert!(used.get());
        server.flush().await.unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            Incoming::Message(json)
        );
    }
}
