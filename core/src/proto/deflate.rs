//! permessage-deflate (RFC 7692): the negotiation on both sides, and
//! compressing and inflating one message.
//!
//! Memory is the point of the design. rtwire always negotiates *no context
//! takeover* in both directions: a server answers every offer it accepts
//! with `server_no_context_takeover; client_no_context_takeover` (RFC 7692
//! lets a server add both), and a client offers both. Then every message is
//! compressed on its own, so no connection keeps a zlib stream between
//! messages: one compressor and one inflater per thread serve every
//! connection, reset before each message. A connection with deflate costs
//! the same memory as one without (zlib's windows are about 300 KiB per
//! stream at the defaults; per connection that is what made other servers
//! cap or drop compression). It also makes a broadcast's compressed frame
//! the same bytes for every receiver.
//!
//! Inflating is bounded while it runs: a message that would inflate past
//! the size limit fails as soon as it passes it, whatever its compressed
//! size (`TooLarge`, close code 1009). Messages under a threshold are sent
//! uncompressed, and so is a message that compression would not shrink.

use std::cell::RefCell;

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::proto::ws::Fault;

/// The extension's token.
pub(crate) const NAME: &str = "permessage-deflate";

/// The client's offer: both sides without context takeover, and any
/// window the server wants for what the client compresses.
pub(crate) const CLIENT_OFFER: &str =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits";

/// What a connection negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Params {
    /// The window bits of what we compress (the peer inflates with at most
    /// this window); 8 means we send uncompressed (zlib cannot make an
    /// 8-bit raw deflate stream).
    pub send_window: u8,
    /// Messages under this many bytes are sent uncompressed.
    pub threshold: usize,
}

impl Params {
    /// Whether a message of `len` bytes is worth compressing.
    pub(crate) fn compresses(&self, len: usize) -> bool {
        self.send_window >= 9 && len >= self.threshold
    }
}

/// One extension of a `Sec-WebSocket-Extensions` value: its name and its
/// parameters (values unquoted).
type Extension<'a> = (&'a str, Vec<(&'a str, Option<String>)>);

/// Splits a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1) into
/// extensions; `None` when it is malformed.
fn parse_extensions(value: &str) -> Option<Vec<Extension<'_>>> {
    let mut out = Vec::new();
    for ext in value.split(',') {
        let mut parts = ext.split(';').map(str::trim);
        let name = parts.next().filter(|n| is_token(n))?;
        let mut params = Vec::new();
        for p in parts {
            let (k, v) = match p.split_once('=') {
                Some((k, v)) => {
                    let v = v.trim();
                    let v = v
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .unwrap_or(v);
                    if !is_token(v) {
                        return None;
                    }
                    (k.trim(), Some(v.to_string()))
                }
                None => (p, None),
            };
            if !is_token(k) {
                return None;
            }
            params.push((k, v));
        }
        out.push((name, params));
    }
    Some(out)
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Window bits given as a parameter value: 8 to 15.
fn window_bits(v: &Option<String>) -> Option<u8> {
    let v = v.as_deref()?;
    if v.len() > 2 || v.starts_with('0') {
        return None;
    }
    v.parse().ok().filter(|b| (8..=15).contains(b))
}

/// The server's side: the first acceptable permessage-deflate offer among
/// the request's `Sec-WebSocket-Extensions` values, as the response
/// header's value and what was negotiated. `None` declines them all (the
/// connection goes on uncompressed): offers with unknown or repeated
/// parameters or bad values are declined, as RFC 7692 §5 says.
pub(crate) fn server_accept<'a>(
    values: impl IntoIterator<Item = &'a str>,
    threshold: usize,
) -> Option<(String, Params)> {
    for value in values {
        let Some(exts) = parse_extensions(value) else {
            continue;
        };
        'offers: for (name, params) in exts {
            if !name.eq_ignore_ascii_case(NAME) {
                continue;
            }
            let mut seen: Vec<&str> = Vec::new();
            let mut server_window = None;
            for (k, v) in &params {
                if seen.contains(k) {
                    continue 'offers;
                }
                seen.push(k);
                match *k {
                    "server_no_context_takeover" | "client_no_context_takeover" if v.is_none() => {}
                    "server_max_window_bits" => match window_bits(v) {
                        Some(b) => server_window = Some(b),
                        None => continue 'offers,
                    },
                    "client_max_window_bits" => {
                        if v.is_some() && window_bits(v).is_none() {
                            continue 'offers;
                        }
                    }
                    _ => continue 'offers,
                }
            }
            let mut response =
                format!("{NAME}; server_no_context_takeover; client_no_context_takeover");
            if let Some(b) = server_window {
                response.push_str(&format!("; server_max_window_bits={b}"));
            }
            let params = Params {
                send_window: server_window.unwrap_or(15),
                threshold,
            };
            return Some((response, params));
        }
    }
    None
}

/// The client's side: checks the server's answer to [`CLIENT_OFFER`].
/// `Ok(None)`: the server declined (no extension in the answer).
///
/// # Errors
/// The reason, when the answer is not a valid acceptance of the offer (the
/// client must then fail the connection, RFC 7692 §5).
pub(crate) fn client_verify(
    value: Option<&str>,
    threshold: usize,
) -> Result<Option<Params>, String> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let exts = parse_extensions(value)
        .ok_or_else(|| format!("malformed Sec-WebSocket-Extensions {value:?}"))?;
    let [(name, params)] = exts.as_slice() else {
        return Err(format!(
            "the server chose extensions {value:?}; only permessage-deflate was offered"
        ));
    };
    if !name.eq_ignore_ascii_case(NAME) {
        return Err(format!(
            "the server chose extension {name:?}, which was not offered"
        ));
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut send_window = 15;
    let mut server_no_takeover = false;
    for (k, v) in params {
        if seen.contains(k) {
            return Err(format!("permessage-deflate parameter {k} given twice"));
        }
        seen.push(k);
        match (*k, v) {
            ("server_no_context_takeover", None) => server_no_takeover = true,
            ("client_no_context_takeover", None) => {}
            ("server_max_window_bits", v) if window_bits(v).is_some() => {}
            ("client_max_window_bits", v) if window_bits(v).is_some() => {
                send_window = window_bits(v).unwrap_or(15);
            }
            _ => {
                return Err(format!(
                    "invalid permessage-deflate parameter {k}{} in the server's answer",
                    v.as_ref().map(|v| format!("={v}")).unwrap_or_default()
                ))
            }
        }
    }
    if !server_no_takeover {
        return Err(
            "the server accepted permessage-deflate without server_no_context_takeover, which was offered"
                .into(),
        );
    }
    Ok(Some(Params {
        send_window,
        threshold,
    }))
}

/// The tail a sync flush ends with, taken off what is sent (RFC 7692 §7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

thread_local! {
    /// One compressor per window size, shared by every connection of the
    /// thread (no context takeover: each message starts afresh).
    static COMPRESSORS: RefCell<Vec<(u8, Compress)>> = const { RefCell::new(Vec::new()) };
    /// The inflater, likewise (window 15 inflates any window).
    static INFLATER: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// How many recent broadcasts [`compress_shared`] remembers per thread: a
/// connection's session writes all it has queued before the next one runs,
/// so a burst of broadcasts reaches the receivers interleaved, each
/// receiver taking the whole burst in turn.
const SHARED_ENTRIES: usize = 1024;
/// The most input bytes those entries keep alive per thread; a larger
/// message is compressed for each receiver.
const SHARED_BYTES: usize = 1 << 20;

/// The recent results of [`compress_shared`] on one thread: by input
/// (address, length, window), and the inputs oldest first.
#[derive(Default)]
struct Shared {
    results: std::collections::HashMap<(usize, usize, u8), Option<Bytes>>,
    order: std::collections::VecDeque<(Bytes, u8)>,
    bytes: usize,
}

thread_local! {
    /// Holding each input keeps its memory alive, so the same address and
    /// length cannot be another message.
    static SHARED: RefCell<Shared> = RefCell::new(Shared::default());
}

/// As [`compress`], for a payload that may be sent to many connections (a
/// room's broadcast hands each receiver the same `Bytes`): the result of
/// one of the recent calls on this thread ([`SHARED_ENTRIES`], at most
/// [`SHARED_BYTES`] of input) is reused when it was for these very bytes
/// and window, so a broadcast is compressed once per thread, not once per
/// receiver.
pub(crate) fn compress_shared(data: &Bytes, window: u8) -> Option<Bytes> {
    let key = (data.as_ptr() as usize, data.len(), window);
    if let Some(out) = SHARED.with(|s| s.borrow().results.get(&key).cloned()) {
        return out;
    }
    let out = compress(data, window);
    if data.len() <= SHARED_BYTES {
        SHARED.with(|s| {
            let mut s = s.borrow_mut();
            while s.order.len() >= SHARED_ENTRIES || s.bytes + data.len() > SHARED_BYTES {
                let Some((old, w)) = s.order.pop_front() else {
                    break;
                };
                s.bytes -= old.len();
                s.results.remove(&(old.as_ptr() as usize, old.len(), w));
            }
            s.bytes += data.len();
            s.order.push_back((data.clone(), window));
            s.results.insert(key, out.clone());
        });
    }
    out
}

/// `data` compressed as one message with a window of `window` bits (9 to
/// 15), or `None` when that would not make it smaller.
pub(crate) fn compress(data: &[u8], window: u8) -> Option<Bytes> {
    COMPRESSORS.with(|c| {
        let mut c = c.borrow_mut();
        let i = match c.iter().position(|(w, _)| *w == window) {
            Some(i) => i,
            None => {
                c.push((
                    window,
                    Compress::new_with_window_bits(Compression::default(), false, window),
                ));
                c.len() - 1
            }
        };
        let z = &mut c[i].1;
        z.reset();
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        loop {
            let consumed = z.total_in() as usize;
            if out.len() == out.capacity() {
                out.reserve(out.capacity().max(64));
            }
            if z.compress_vec(&data[consumed..], &mut out, FlushCompress::Sync)
                .is_err()
            {
                return None;
            }
            if z.total_in() as usize == data.len() && out.len() < out.capacity() {
                break;
            }
            if out.len() > data.len() + 64 {
                return None;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        (out.len() < data.len()).then(|| Bytes::from(out))
    })
}

/// Inflates one compressed message, failing as soon as it would pass
/// `limit` bytes.
pub(crate) fn inflate(payload: &[u8], limit: usize) -> Result<Bytes, Fault> {
    INFLATER.with(|d| {
        let mut d = d.borrow_mut();
        let z = d.get_or_insert_with(|| Decompress::new_with_window_bits(false, 15));
        z.reset(false);
        let mut out: Vec<u8> =
            Vec::with_capacity((payload.len() * 3).clamp(64, 64 << 10).min(limit + 1));
        let bad = |e: flate2::DecompressError| {
            Fault::Protocol(format!(
                "WebSocket protocol violation by the peer: invalid compressed data ({e})"
            ))
        };
        for input in [payload, &TAIL[..]] {
            let start = z.total_in();
            loop {
                let used = (z.total_in() - start) as usize;
                if out.len() == out.capacity() {
                    if out.len() > limit {
                        break;
                    }
                    // Grow with what came out so far, within the limit (+1
                    // to see that it was passed).
                    let room = out.capacity().max(4096).min(limit + 1 - out.len());
                    out.reserve_exact(room.max(1));
                }
                let before = out.len();
                let status = z
                    .decompress_vec(&input[used..], &mut out, FlushDecompress::Sync)
                    .map_err(bad)?;
                if out.len() > limit {
                    return Err(Fault::TooLarge(format!(
                        "incoming message inflates to over the limit of {limit} bytes"
                    )));
                }
                let done = (z.total_in() - start) as usize == input.len();
                if status == Status::StreamEnd || (done && out.len() < out.capacity()) {
                    break;
                }
                if !done && out.len() == before && out.len() < out.capacity() {
                    // No progress with room to spare: the input is stuck.
                    return Err(Fault::Protocol(
                        "WebSocket protocol violation by the peer: invalid compressed data".into(),
                    ));
                }
            }
        }
        if out.len() > limit {
            return Err(Fault::TooLarge(format!(
                "incoming message inflates to over the limit of {limit} bytes"
            )));
        }
        Ok(Bytes::from(out))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_accepts_the_first_valid_offer_without_context_takeover() {
        // A browser's offer.
        let (resp, p) = server_accept(["permessage-deflate; client_max_window_bits"], 100).unwrap();
        assert_eq!(
            resp,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
        assert_eq!(p.send_window, 15);
        // The first offer is bad (unknown parameter), the second is taken.
        let (resp, p) = server_accept(
            ["permessage-deflate; foo, permessage-deflate; server_max_window_bits=10"],
            0,
        )
        .unwrap();
        assert!(resp.ends_with("; server_max_window_bits=10"), "{resp}");
        assert_eq!(p.send_window, 10);
        // Declined: repeated parameters, bad windows, other extensions.
        for v in [
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=07",
            "permessage-deflate; server_no_context_takeover=1",
            "x-webkit-deflate-frame",
            "permessage-deflate; =",
        ] {
            assert!(server_accept([v], 0).is_none(), "{v}");
        }
        // Window 8 is accepted, and then nothing is compressed.
        let (_, p) = server_accept(["permessage-deflate; server_max_window_bits=8"], 0).unwrap();
        assert!(!p.compresses(1000));
    }

    #[test]
    fn a_client_checks_the_answer_to_its_offer() {
        assert_eq!(client_verify(None, 0), Ok(None));
        let p = client_verify(
            Some("permessage-deflate; server_no_context_takeover; client_max_window_bits=9"),
            7,
        )
        .unwrap()
        .unwrap();
        assert_eq!((p.send_window, p.threshold), (9, 7));
        for bad in [
            "permessage-deflate",
            "permessage-deflate; server_no_context_takeover; client_max_window_bits",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover; mystery",
            "permessage-deflate; server_no_context_takeover, permessage-deflate",
            "x-other",
        ] {
            assert!(client_verify(Some(bad), 0).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_shared_payload_is_compressed_once_per_thread() {
        let a = Bytes::from("broadcast broadcast broadcast broadcast".repeat(20));
        let first = compress_shared(&a, 15).unwrap();
        let again = compress_shared(&a.clone(), 15).unwrap();
        assert_eq!(first.as_ptr(), again.as_ptr(), "the same compressed bytes");
        // The same content in other memory, or another window: compressed anew.
        let b = Bytes::from(a.to_vec());
        assert_ne!(compress_shared(&b, 15).unwrap().as_ptr(), first.as_ptr());
        assert_eq!(
            inflate(&compress_shared(&a, 12).unwrap(), 1 << 20).unwrap(),
            a
        );
        // Broadcasts reach receivers interleaved (each writes all it has
        // queued): a burst of them is still compressed once each.
        let burst: Vec<Bytes> = (0..10)
            .map(|i| Bytes::from(format!("message {i} ").repeat(30)))
            .collect();
        let once: Vec<Bytes> = burst
            .iter()
            .map(|m| compress_shared(m, 15).unwrap())
            .collect();
        for (m, c) in burst.iter().zip(&once) {
            assert_eq!(compress_shared(m, 15).unwrap().as_ptr(), c.as_ptr());
        }
        // The memory it keeps alive is bounded: a message over the bound is
        // not kept, and enough later ones push the old ones out.
        let huge = Bytes::from(vec![b'z'; SHARED_BYTES + 1]);
        let h = compress_shared(&huge, 15).unwrap();
        assert_ne!(compress_shared(&huge, 15).unwrap().as_ptr(), h.as_ptr());
        for i in 0..SHARED_ENTRIES {
            compress_shared(&Bytes::from(format!("filler {i} ").repeat(20)), 15);
        }
        // (Each filler is dropped by the caller but kept alive here, so no
        // two share an address.)
        assert_ne!(
            compress_shared(&burst[0], 15).unwrap().as_ptr(),
            once[0].as_ptr()
        );
        SHARED.with(|s| {
            let s = s.borrow();
            assert!(s.order.len() <= SHARED_ENTRIES && s.bytes <= SHARED_BYTES);
            assert_eq!(s.order.len(), s.results.len());
        });
    }

    #[test]
    fn messages_round_trip_and_inflating_is_bounded() {
        let text = "{\"user\":\"alice\",\"text\":\"hello hello hello\"}".repeat(50);
        for window in [9, 12, 15] {
            let c = compress(text.as_bytes(), window).unwrap();
            assert!(c.len() < text.len() / 5, "{} of {}", c.len(), text.len());
            assert_eq!(inflate(&c, 1 << 20).unwrap(), text.as_bytes());
        }
        // Incompressible data is sent as it is.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..2000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        assert!(compress(&noise, 15).is_none());
        // 10 MB of zeros from a few KB: refused once past the limit.
        let bomb = compress(&vec![0u8; 10 << 20], 15).unwrap();
        assert!(bomb.len() < 20 << 10, "{}", bomb.len());
        assert!(matches!(inflate(&bomb, 1 << 20), Err(Fault::TooLarge(_))));
        assert_eq!(inflate(&bomb, 10 << 20).unwrap().len(), 10 << 20);
        // Garbage is a protocol error, and the inflater works afterwards.
        assert!(matches!(
            inflate(&[0xff, 0xff, 0xff, 0x00], 100),
            Err(Fault::Protocol(_))
        ));
        assert_eq!(
            inflate(&compress(text.as_bytes(), 15).unwrap(), 1 << 20).unwrap(),
            text.as_bytes()
        );
        // An empty message.
        assert_eq!(inflate(&[0x00], 10).unwrap().len(), 0);
    }
}
