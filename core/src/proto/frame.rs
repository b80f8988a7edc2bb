//! WebSocket frames (RFC 6455 §5), without I/O: the frame header, masking,
//! and a reader that turns bytes into messages and control frames while
//! enforcing every rule of the framing layer.
//!
//! The reader works on the connection's read buffer in place: a payload is
//! unmasked where it lies and split off as [`Bytes`], so a message that
//! arrives in one frame is never copied. Fragmented messages are joined
//! (without a copy when the fragments lie next to each other in the
//! buffer), and text is checked for UTF-8 fragment by fragment, so a bad
//! byte fails the message when it arrives, not at its end. Limits are
//! checked on the header, before the payload is buffered.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::message::{Data, Text};
use crate::proto::ws::{Closing, Fault};

/// Which side of the connection we are: the client masks what it sends
/// and the server requires masked frames (RFC 6455 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// We opened the connection.
    Client,
    /// We accepted it.
    Server,
}

/// A frame's opcode (RFC 6455 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpCode {
    /// The continuation of a fragmented message.
    Continuation = 0,
    /// A text message (or its first fragment).
    Text = 1,
    /// A binary message (or its first fragment).
    Binary = 2,
    /// Close.
    Close = 8,
    /// Ping.
    Ping = 9,
    /// Pong.
    Pong = 10,
}

impl OpCode {
    fn of(b: u8) -> Option<OpCode> {
        Some(match b {
            0 => OpCode::Continuation,
            1 => OpCode::Text,
            2 => OpCode::Binary,
            8 => OpCode::Close,
            9 => OpCode::Ping,
            10 => OpCode::Pong,
            _ => return None,
        })
    }

    fn is_control(self) -> bool {
        (self as u8) >= 8
    }
}

/// What the reader produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// A whole message.
    Message(Data),
    /// A ping, with its payload (to be answered with a pong).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// A close frame: its code and reason, `None` without a status.
    Close(Closing),
}

/// Appends a frame header to `out`; `compressed` sets RSV1 (the first
/// frame of a message compressed by permessage-deflate).
pub(crate) fn put_head(
    out: &mut BytesMut,
    op: OpCode,
    fin: bool,
    compressed: bool,
    len: usize,
    mask: Option<[u8; 4]>,
) {
    out.put_u8(if fin { 0x80 } else { 0 } | if compressed { 0x40 } else { 0 } | op as u8);
    let m = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.put_u8(m | len as u8);
    } else if len <= u16::MAX as usize {
        out.put_u8(m | 126);
        out.put_u16(len as u16);
    } else {
        out.put_u8(m | 127);
        out.put_u64(len as u64);
    }
    if let Some(k) = mask {
        out.put_slice(&k);
    }
}

/// XORs `buf` with the mask `key` (RFC 6455 §5.3), eight bytes at a time.
pub(crate) fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes((&*c).try_into().expect("8 bytes")) ^ wide;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// A close frame's payload: the code and the reason, cut at a character
/// boundary to fit the 125 bytes of a control frame.
pub(crate) fn close_payload(code: u16, reason: &str) -> Bytes {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut b = BytesMut::with_capacity(2 + end);
    b.put_u16(code);
    b.put_slice(&reason.as_bytes()[..end]);
    b.freeze()
}

/// Whether a peer may send this close code (RFC 6455 §7.4; 1012–1014 are
/// registered with IANA; 1004–1006 and 1015 must never be sent).
pub(crate) fn is_valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// A parsed header of the frame whose payload is awaited.
#[derive(Debug, Clone, Copy)]
struct Head {
    fin: bool,
    /// RSV1 on a message's first frame: compressed (permessage-deflate).
    compressed: bool,
    op: OpCode,
    mask: Option<[u8; 4]>,
    head_len: usize,
    len: usize,
}

/// A fragmented message being joined.
#[derive(Debug)]
struct Partial {
    text: bool,
    /// Compressed: the UTF-8 is checked once it is inflated.
    compressed: bool,
    data: BytesMut,
    /// How much of `data` is known to be valid UTF-8 (text only).
    checked: usize,
}

/// Turns the bytes of a connection into messages and control frames.
#[derive(Debug)]
pub(crate) struct Reader {
    role: Role,
    max_message: usize,
    max_frame: usize,
    head: Option<Head>,
    partial: Option<Partial>,
    /// permessage-deflate was negotiated: RSV1 marks compressed messages.
    deflate: bool,
}

fn protocol(m: impl Into<String>) -> Fault {
    Fault::Protocol(format!(
        "WebSocket protocol violation by the peer: {}",
        m.into()
    ))
}

fn utf8_fault() -> Fault {
    Fault::Utf8("invalid UTF-8 in a text message".into())
}

/// A limit on compressed bytes: `limit` and a sixteenth more, above the
/// most zlib at any setting adds to data it cannot compress.
fn with_slack(limit: usize) -> usize {
    limit.saturating_add(limit / 16)
}

fn too_large(size: usize, max: usize) -> Fault {
    Fault::TooLarge(format!(
        "incoming message of {size} bytes is over the limit of {max} bytes"
    ))
}

impl Reader {
    /// A reader for our `role`, refusing messages over `max_message` and
    /// frames over `max_frame` bytes.
    pub(crate) fn new(role: Role, max_message: usize, max_frame: usize) -> Reader {
        Reader {
            role,
            max_message,
            max_frame: max_frame.min(max_message),
            head: None,
            partial: None,
            deflate: false,
        }
    }

    /// permessage-deflate was negotiated: messages with RSV1 are inflated.
    pub(crate) fn set_deflate(&mut self, on: bool) {
        self.deflate = on;
    }

    /// How many bytes the buffer must hold for the frame under way, once
    /// its header is known (a hint for how much to read).
    pub(crate) fn wanted(&self) -> Option<usize> {
        self.head.map(|h| h.head_len + h.len)
    }

    /// Takes the next message or control frame out of `buf`, `None` when
    /// more bytes are needed. A fault ends the connection: the reader is
    /// not to be used after one.
    pub(crate) fn read(&mut self, buf: &mut BytesMut) -> Result<Option<Incoming>, Fault> {
        loop {
            let head = match self.head {
                Some(h) => h,
                None => match self.parse_head(buf)? {
                    Some(h) => {
                        self.head = Some(h);
                        h
                    }
                    None => return Ok(None),
                },
            };
            if buf.len() < head.head_len + head.len {
                return Ok(None);
            }
            self.head = None;
            buf.advance(head.head_len);
            let mut payload = buf.split_to(head.len);
            if let Some(k) = head.mask {
                apply_mask(&mut payload, k);
            }
            if let Some(done) = self.frame(head, payload)? {
                return Ok(Some(done));
            }
        }
    }

    /// Parses and checks a header; `None` until the whole header is there.
    fn parse_head(&self, buf: &[u8]) -> Result<Option<Head>, Fault> {
        if buf.len() < 2 {
            return Ok(None);
        }
        let (b0, b1) = (buf[0], buf[1]);
        let fin = b0 & 0x80 != 0;
        let op = OpCode::of(b0 & 0x0F)
            .ok_or_else(|| protocol(format!("unknown opcode {}", b0 & 0x0F)))?;
        let compressed = match b0 & 0x70 {
            0 => false,
            0x40 if self.deflate && matches!(op, OpCode::Text | OpCode::Binary) => true,
            0x40 if self.deflate => {
                return Err(protocol("RSV1 set on a control frame or a continuation"))
            }
            _ => return Err(protocol("reserved bits set without a negotiated extension")),
        };
        let masked = b1 & 0x80 != 0;
        match (self.role, masked) {
            (Role::Server, false) => return Err(protocol("unmasked frame from a client")),
            (Role::Client, true) => return Err(protocol("masked frame from the server")),
            _ => {}
        }
        let short = (b1 & 0x7F) as usize;
        if op.is_control() {
            if !fin {
                return Err(protocol("fragmented control frame"));
            }
            if short > 125 {
                return Err(protocol("control frame payload over 125 bytes"));
            }
        }
        let (len, mut at) = match short {
            126 => {
                if buf.len() < 4 {
                    return Ok(None);
                }
                (u16::from_be_bytes([buf[2], buf[3]]) as u64, 4)
            }
            127 => {
                if buf.len() < 10 {
                    return Ok(None);
                }
                let l = u64::from_be_bytes(buf[2..10].try_into().expect("8 bytes"));
                if l >> 63 != 0 {
                    return Err(protocol("frame length with the most significant bit set"));
                }
                (l, 10)
            }
            n => (n as u64, 2),
        };
        let mask = if masked {
            if buf.len() < at + 4 {
                return Ok(None);
            }
            let k = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
            at += 4;
            Some(k)
        } else {
            None
        };
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        // Compressed bytes are bounded with deflate's slack: a peer's
        // compressor may make incompressible data larger (zlib: 5 bytes per
        // stored block of as little as 128 bytes), and the message limit is
        // enforced again, exactly, on the inflated size.
        let compressed_message = match (op, &self.partial) {
            (OpCode::Continuation, Some(p)) => p.compressed,
            _ => compressed,
        };
        let (max_message, max_frame) = if compressed_message {
            (with_slack(self.max_message), with_slack(self.max_frame))
        } else {
            (self.max_message, self.max_frame)
        };
        match (op, &self.partial) {
            (OpCode::Continuation, None) => {
                return Err(protocol("continuation frame without a message to continue"))
            }
            (OpCode::Text | OpCode::Binary, Some(_)) => {
                return Err(protocol(
                    "a new message began before the fragmented one ended",
                ))
            }
            (OpCode::Continuation, Some(p)) if p.data.len().saturating_add(len) > max_message => {
                return Err(too_large(p.data.len().saturating_add(len), max_message))
            }
            _ => {}
        }
        if len > max_frame {
            return Err(too_large(len, max_frame));
        }
        Ok(Some(Head {
            fin,
            compressed,
            op,
            mask,
            head_len: at,
            len,
        }))
    }

    /// Handles a whole frame; `Some` when it completes something.
    fn frame(&mut self, head: Head, payload: BytesMut) -> Result<Option<Incoming>, Fault> {
        match head.op {
            OpCode::Ping => Ok(Some(Incoming::Ping(payload.freeze()))),
            OpCode::Pong => Ok(Some(Incoming::Pong(payload.freeze()))),
            OpCode::Close => Ok(Some(Incoming::Close(parse_close(&payload)?))),
            OpCode::Text | OpCode::Binary => {
                let text = head.op == OpCode::Text;
                if head.fin {
                    let data = self.inflated(head.compressed, payload)?;
                    return Ok(Some(Incoming::Message(message(text, data)?)));
                }
                let mut p = Partial {
                    text,
                    compressed: head.compressed,
                    data: payload,
                    checked: 0,
                };
                p.check(false)?;
                self.partial = Some(p);
                Ok(None)
            }
            OpCode::Continuation => {
                let mut p = self.partial.take().expect("checked on the header");
                p.data.unsplit(payload);
                p.check(head.fin)?;
                if !head.fin {
                    self.partial = Some(p);
                    return Ok(None);
                }
                if p.compressed {
                    let data = self.inflated(true, p.data)?;
                    return Ok(Some(Incoming::Message(message(p.text, data)?)));
                }
                Ok(Some(Incoming::Message(if p.text {
                    // SAFETY: checked whole by `check(true)`.
                    Data::Text(unsafe { Text::from_utf8_unchecked(p.data.freeze()) })
                } else {
                    Data::Binary(p.data.freeze())
                })))
            }
        }
    }

    /// A message's payload, inflated when it came compressed (within the
    /// message size limit).
    fn inflated(&self, compressed: bool, payload: BytesMut) -> Result<Bytes, Fault> {
        if compressed {
            crate::proto::deflate::inflate(&payload, self.max_message)
        } else {
            Ok(payload.freeze())
        }
    }
}

impl Partial {
    /// Checks the UTF-8 of what arrived since the last check; an
    /// incomplete character at the end is allowed unless `last`.
    fn check(&mut self, last: bool) -> Result<(), Fault> {
        if !self.text || self.compressed {
            return Ok(());
        }
        match std::str::from_utf8(&self.data[self.checked..]) {
            Ok(_) => self.checked = self.data.len(),
            Err(e) if e.error_len().is_none() && !last => self.checked += e.valid_up_to(),
            Err(_) => return Err(utf8_fault()),
        }
        Ok(())
    }
}

/// A whole message's payload as our data, without a copy.
fn message(text: bool, payload: Bytes) -> Result<Data, Fault> {
    if !text {
        return Ok(Data::Binary(payload));
    }
    if std::str::from_utf8(&payload).is_err() {
        return Err(utf8_fault());
    }
    // SAFETY: checked just above.
    Ok(Data::Text(unsafe { Text::from_utf8_unchecked(payload) }))
}

/// A close frame's payload: nothing, or a valid code and a UTF-8 reason.
fn parse_close(p: &[u8]) -> Result<Closing, Fault> {
    match p.len() {
        0 => Ok(None),
        1 => Err(protocol("close frame with a one-byte payload")),
        _ => {
            let code = u16::from_be_bytes([p[0], p[1]]);
            if !is_valid_close_code(code) {
                return Err(protocol(format!("invalid close code {code}")));
            }
            let reason = std::str::from_utf8(&p[2..])
                .map_err(|_| Fault::Utf8("invalid UTF-8 in a close reason".into()))?;
            Ok(Some((code, reason.to_string())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 4] = [1, 2, 3, 4];

    fn frame(op: OpCode, fin: bool, payload: &[u8], mask: Option<[u8; 4]>) -> BytesMut {
        let mut b = BytesMut::new();
        put_head(&mut b, op, fin, false, payload.len(), mask);
        let at = b.len();
        b.put_slice(payload);
        if let Some(k) = mask {
            apply_mask(&mut b[at..], k);
        }
        b
    }

    fn server() -> Reader {
        Reader::new(Role::Server, 1 << 20, 1 << 20)
    }

    #[test]
    fn reads_masked_messages_split_anywhere() {
        let mut wire = frame(OpCode::Text, true, "héllo wörld".as_bytes(), Some(KEY));
        wire.extend_from_slice(&frame(OpCode::Binary, true, &[0u8; 300], Some(KEY)));
        wire.extend_from_slice(&frame(OpCode::Binary, true, &vec![7u8; 70_000], Some(KEY)));
        for step in [1, 3, 7, 1000, wire.len()] {
            let mut r = server();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for chunk in wire.chunks(step) {
                buf.extend_from_slice(chunk);
                while let Some(i) = r.read(&mut buf).unwrap() {
                    got.push(i);
                }
            }
            assert_eq!(got.len(), 3, "step {step}");
            assert_eq!(
                got[0],
                Incoming::Message(Data::Text(Text::from("héllo wörld")))
            );
            assert_eq!(
                got[1],
                Incoming::Message(Data::Binary(Bytes::from(vec![0u8; 300])))
            );
            assert_eq!(
                got[2],
                Incoming::Message(Data::Binary(Bytes::from(vec![7u8; 70_000])))
            );
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn joins_fragments_with_controls_between_and_checks_utf8_as_they_come() {
        let s = "añb€c".as_bytes();
        let mut wire = frame(OpCode::Text, false, &s[..2], Some(KEY)); // cuts ñ
        wire.extend_from_slice(&frame(OpCode::Ping, true, b"p", Some(KEY)));
        wire.extend_from_slice(&frame(OpCode::Continuation, false, &s[2..5], Some(KEY)));
        wire.extend_from_slice(&frame(OpCode::Continuation, true, &s[5..], Some(KEY)));
        let mut r = server();
        assert_eq!(
            r.read(&mut wire).unwrap(),
            Some(Incoming::Ping(Bytes::from_static(b"p")))
        );
        assert_eq!(
            r.read(&mut wire).unwrap(),
            Some(Incoming::Message(Data::Text(Text::from("añb€c"))))
        );
        // A bad byte fails at its fragment, before the message ends.
        let mut wire = frame(OpCode::Text, false, b"ok", Some(KEY));
        wire.extend_from_slice(&frame(OpCode::Continuation, false, &[0xff], Some(KEY)));
        let mut r = server();
        assert!(matches!(r.read(&mut wire), Err(Fault::Utf8(_))));
        // A character cut at the end of the last fragment is invalid.
        let mut wire = frame(OpCode::Text, true, &"€".as_bytes()[..2], Some(KEY));
        assert!(matches!(server().read(&mut wire), Err(Fault::Utf8(_))));
    }

    #[test]
    fn refuses_what_rfc_6455_forbids() {
        let bad: Vec<(BytesMut, &str)> = vec![
            (
                {
                    let mut f = frame(OpCode::Text, true, b"x", Some(KEY));
                    f[0] |= 0x40;
                    f
                },
                "reserved",
            ),
            (
                {
                    let mut f = frame(OpCode::Text, true, b"x", Some(KEY));
                    f[0] = 0x83;
                    f
                },
                "opcode 3",
            ),
            (frame(OpCode::Text, true, b"x", None), "unmasked"),
            (
                frame(OpCode::Ping, false, b"x", Some(KEY)),
                "fragmented control",
            ),
            (frame(OpCode::Ping, true, &[0; 126], Some(KEY)), "over 125"),
            (
                frame(OpCode::Continuation, true, b"x", Some(KEY)),
                "without a message",
            ),
            (
                {
                    let mut f = frame(OpCode::Text, false, b"x", Some(KEY));
                    f.extend_from_slice(&frame(OpCode::Text, true, b"y", Some(KEY)));
                    f
                },
                "new message began",
            ),
            (frame(OpCode::Close, true, &[3], Some(KEY)), "one-byte"),
            (
                frame(OpCode::Close, true, &1005u16.to_be_bytes(), Some(KEY)),
                "close code 1005",
            ),
            (
                frame(OpCode::Close, true, &999u16.to_be_bytes(), Some(KEY)),
                "close code 999",
            ),
        ];
        for (mut wire, want) in bad {
            let mut r = server();
            let got = loop {
                match r.read(&mut wire) {
                    Ok(Some(_)) => continue,
                    other => break other,
                }
            };
            match got {
                Err(Fault::Protocol(m)) => assert!(m.contains(want), "{m} / {want}"),
                other => panic!("{want}: {other:?}"),
            }
        }
        // The client refuses masked frames.
        let mut wire = frame(OpCode::Text, true, b"x", Some(KEY));
        let mut r = Reader::new(Role::Client, 100, 100);
        assert!(matches!(r.read(&mut wire), Err(Fault::Protocol(m)) if m.contains("masked frame")));
        // Invalid UTF-8 in a close reason: 1007.
        let mut p = 1000u16.to_be_bytes().to_vec();
        p.push(0xff);
        let mut wire = frame(OpCode::Close, true, &p, Some(KEY));
        assert!(matches!(server().read(&mut wire), Err(Fault::Utf8(_))));
    }

    #[test]
    fn limits_fail_on_the_header_before_the_payload_is_buffered() {
        let mut r = Reader::new(Role::Server, 1000, 100);
        let mut head = BytesMut::new();
        put_head(&mut head, OpCode::Binary, true, false, 101, Some(KEY));
        assert!(matches!(r.read(&mut head), Err(Fault::TooLarge(_))));
        // Fragments within the frame limit whose sum is over the message limit.
        let mut r = Reader::new(Role::Server, 150, 100);
        let mut wire = frame(OpCode::Binary, false, &[0; 100], Some(KEY));
        put_head(&mut wire, OpCode::Continuation, true, false, 60, Some(KEY));
        assert!(matches!(r.read(&mut wire), Err(Fault::TooLarge(m)) if m.contains("160")));
        // A 2^63 length is refused, not wrapped.
        let mut wire = BytesMut::from(&[0x82u8, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0][..]);
        assert!(matches!(server().read(&mut wire), Err(Fault::Protocol(_))));
    }

    #[test]
    fn close_frames_and_headers_round_trip() {
        let mut wire = frame(OpCode::Close, true, &close_payload(4001, "bye"), Some(KEY));
        assert_eq!(
            server().read(&mut wire).unwrap(),
            Some(Incoming::Close(Some((4001, "bye".into()))))
        );
        let mut wire = frame(OpCode::Close, true, b"", Some(KEY));
        assert_eq!(
            server().read(&mut wire).unwrap(),
            Some(Incoming::Close(None))
        );
        // A long reason is cut at a character boundary within 125 bytes.
        let p = close_payload(1000, &"é".repeat(100));
        assert!(p.len() <= 125 && std::str::from_utf8(&p[2..]).is_ok());
        for len in [0, 125, 126, 65_535, 65_536] {
            let mut h = BytesMut::new();
            put_head(&mut h, OpCode::Binary, true, false, len, None);
            assert_eq!(
                h.len(),
                2 + if len < 126 {
                    0
                } else if len < 65_536 {
                    2
                } else {
                    8
                }
            );
        }
        let mut m = vec![9u8; 37];
        apply_mask(&mut m, KEY);
        apply_mask(&mut m, KEY);
        assert_eq!(m, vec![9u8; 37]);
    }

    #[test]
    fn compressed_frames_may_exceed_the_limits_by_what_deflate_adds() {
        // Stored blocks make 4,000 incompressible bytes a few bytes longer.
        let input: Vec<u8> = (0..4000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
            .collect();
        let mut z = flate2::Compress::new(flate2::Compression::none(), false);
        let mut c = Vec::with_capacity(5000);
        z.compress_vec(&input, &mut c, flate2::FlushCompress::Sync)
            .unwrap();
        assert!(c.ends_with(&[0, 0, 0xff, 0xff]));
        c.truncate(c.len() - 4);
        assert!(c.len() > input.len(), "{}", c.len());
        let mut r = deflating_server(4000);
        assert_eq!(
            r.read(&mut compressed_frame(OpCode::Binary, &c)).unwrap(),
            Some(Incoming::Message(Data::Binary(Bytes::from(input))))
        );
        // Beyond a sixteenth more it is too large, and so is what inflates
        // to over the message limit however small it came.
        let mut wire = BytesMut::new();
        put_head(
            &mut wire,
            OpCode::Binary,
            true,
            true,
            4000 + 250 + 1,
            Some(KEY),
        );
        assert!(matches!(
            deflating_server(4000).read(&mut wire),
            Err(Fault::TooLarge(_))
        ));
        let c = crate::proto::deflate::compress(&[b'a'; 4001], 15).unwrap();
        assert!(matches!(
            deflating_server(4000).read(&mut compressed_frame(OpCode::Text, &c)),
            Err(Fault::TooLarge(_))
        ));
    }

    /// A server reader with deflate negotiated and both limits at `max`.
    fn deflating_server(max: usize) -> Reader {
        let mut r = Reader::new(Role::Server, max, max);
        r.set_deflate(true);
        r
    }

    /// One masked, compressed (RSV1) frame of `op` carrying `payload`.
    fn compressed_frame(op: OpCode, payload: &[u8]) -> BytesMut {
        let mut wire = BytesMut::new();
        put_head(&mut wire, op, true, true, payload.len(), Some(KEY));
        let at = wire.len();
        wire.put_slice(payload);
        apply_mask(&mut wire[at..], KEY);
        wire
    }

    #[test]
    fn compressed_messages_are_inflated_when_deflate_was_negotiated() {
        let text = "compress me, compress me, compress me";
        let c = crate::proto::deflate::compress(text.as_bytes(), 15).unwrap();
        let mut one = BytesMut::new();
        put_head(&mut one, OpCode::Text, true, true, c.len(), Some(KEY));
        let at = one.len();
        one.put_slice(&c);
        apply_mask(&mut one[at..], KEY);
        // Without the extension RSV1 is a violation.
        assert!(matches!(
            server().read(&mut one.clone()),
            Err(Fault::Protocol(_))
        ));
        let mut r = server();
        r.set_deflate(true);
        assert_eq!(
            r.read(&mut one.clone()).unwrap(),
            Some(Incoming::Message(Data::Text(Text::from(text))))
        );
        // In two fragments, RSV1 on the first only.
        let mut wire = BytesMut::new();
        let (a, b) = c.split_at(c.len() / 2);
        put_head(&mut wire, OpCode::Text, false, true, a.len(), None);
        wire.put_slice(a);
        put_head(&mut wire, OpCode::Continuation, true, false, b.len(), None);
        wire.put_slice(b);
        let mut r = Reader::new(Role::Client, 1 << 20, 1 << 20);
        r.set_deflate(true);
        assert_eq!(
            r.read(&mut wire).unwrap(),
            Some(Incoming::Message(Data::Text(Text::from(text))))
        );
        // RSV1 on a ping or a continuation is a violation.
        for op in [OpCode::Ping, OpCode::Continuation] {
            let mut w = BytesMut::new();
            if op == OpCode::Continuation {
                put_head(&mut w, OpCode::Text, false, false, 1, None);
                w.put_u8(b'x');
            }
            put_head(&mut w, op, true, true, 1, None);
            w.put_u8(b'y');
            let mut r = Reader::new(Role::Client, 100, 100);
            r.set_deflate(true);
            let got = loop {
                match r.read(&mut w) {
                    Ok(Some(_)) => continue,
                    other => break other,
                }
            };
            assert!(matches!(got, Err(Fault::Protocol(m)) if m.contains("RSV1")));
        }
        // A message inflating past the limit: 1009.
        let big = crate::proto::deflate::compress(&[b'a'; 10_000], 15).unwrap();
        let mut w = BytesMut::new();
        put_head(&mut w, OpCode::Binary, true, true, big.len(), None);
        w.put_slice(&big);
        let mut r = Reader::new(Role::Client, 5_000, 5_000);
        r.set_deflate(true);
        assert!(matches!(r.read(&mut w), Err(Fault::TooLarge(_))));
    }
}
