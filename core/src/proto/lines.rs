//! Line framing for HTTP streaming bodies (line-delimited text, NDJSON).
//!
//! [`LineSplitter`] cuts a byte stream into lines, fed in chunks of any size,
//! and gives the same lines whatever the chunking:
//!
//! ```
//! use rtwire::proto::lines::LineSplitter;
//!
//! let mut split = LineSplitter::new(1024);
//! let mut lines = Vec::new();
//! split.feed(b"{\"a\":1}\r\n{\"b\"", |l| lines.push(l.unwrap().to_vec()));
//! split.feed(b":2}\nrest", |l| lines.push(l.unwrap().to_vec()));
//! assert_eq!(lines, [b"{\"a\":1}".to_vec(), b"{\"b\":2}".to_vec()]);
//! assert_eq!(split.finish().as_deref(), Some(&b"rest"[..]));
//! ```
//!
//! # The rules, as implemented
//!
//! - A line ends with LF; a CR right before the LF is part of the line
//!   ending (CRLF), also when the CR ends one chunk and the LF starts the
//!   next. A CR anywhere else is data.
//! - Lines are bytes: the splitter does not decode UTF-8, so a character
//!   split across chunks is simply reassembled.
//! - A line longer than `max_line` bytes (without its line ending) is
//!   reported once, as an [`ErrorKind::TooLarge`] error in its place in the
//!   sequence, as soon as it is known to be too long: the splitter never
//!   buffers more than `max_line + 1` bytes. The rest of that line, up to its
//!   LF, is skipped; the next line is read normally.
//! - Bytes after the last LF are held until more arrive;
//!   [`LineSplitter::finish`] returns them (the last line of a body that ends
//!   without a line ending).

use memchr::memchr;

use crate::error::{Error, ErrorKind};

/// A sans-IO line splitter: bytes in, lines out. See the [module
/// documentation](self) for the rules.
#[derive(Debug, Clone)]
pub struct LineSplitter {
    /// The start of a line whose end has not arrived yet.
    buf: Vec<u8>,
    /// The longest line accepted, in bytes, without its line ending.
    max: usize,
    /// Skipping the rest of a line already reported as too long.
    discarding: bool,
}

impl LineSplitter {
    /// A splitter accepting lines of at most `max_line` bytes (not counting
    /// the line ending).
    pub fn new(max_line: usize) -> Self {
        LineSplitter {
            buf: Vec::new(),
            max: max_line,
            discarding: false,
        }
    }

    /// The longest line accepted.
    pub fn max_line(&self) -> usize {
        self.max
    }

    /// Bytes held for a line whose end has not arrived yet.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Feeds the next chunk of the stream and calls `out` with each line it
    /// completes, in order, without its line ending; or, in the place of a
    /// line longer than `max_line`, once with an [`ErrorKind::TooLarge`]
    /// error.
    pub fn feed<F: FnMut(Result<&[u8], Error>)>(&mut self, mut chunk: &[u8], mut out: F) {
        while !chunk.is_empty() {
            let Some(i) = memchr(b'\n', chunk) else {
                self.hold(chunk, &mut out);
                return;
            };
            let piece = &chunk[..i];
            chunk = &chunk[i + 1..];
            if self.discarding {
                self.discarding = false;
                self.buf.clear();
                continue;
            }
            let total = self.buf.len() + piece.len();
            let ends_cr = match piece.last() {
                Some(&b) => b == b'\r',
                None => self.buf.last() == Some(&b'\r'),
            };
            let len = total - usize::from(ends_cr);
            if len > self.max {
                self.buf.clear();
                out(Err(self.too_long()));
                continue;
            }
            if self.buf.is_empty() {
                out(Ok(&piece[..len]));
            } else {
                self.buf.extend_from_slice(piece);
                out(Ok(&self.buf[..len]));
                self.buf.clear();
            }
        }
    }

    /// Buffers a chunk holding no LF, or reports the line as too long.
    fn hold<F: FnMut(Result<&[u8], Error>)>(&mut self, chunk: &[u8], out: &mut F) {
        if self.discarding {
            return;
        }
        let total = self.buf.len() + chunk.len();
        // A trailing CR may be the first half of a CRLF: it does not count yet.
        let limit = if chunk.last() == Some(&b'\r') {
            self.max.saturating_add(1)
        } else {
            self.max
        };
        if total > limit {
            self.buf = Vec::new();
            self.discarding = true;
            out(Err(self.too_long()));
        } else {
            self.buf.extend_from_slice(chunk);
        }
    }

    /// The error for a line over `max_line`.
    fn too_long(&self) -> Error {
        Error::new(
            ErrorKind::TooLarge,
            format!("a line is longer than {} bytes (max_line)", self.max),
        )
    }

    /// Ends the stream: returns the bytes after the last LF, if any (a
    /// trailing CR removed), and resets the splitter. Nothing is returned
    /// for a line already reported as too long.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        let discarding = std::mem::replace(&mut self.discarding, false);
        let mut rest = std::mem::take(&mut self.buf);
        if discarding || rest.is_empty() {
            return None;
        }
        if rest.last() == Some(&b'\r') {
            rest.pop();
        }
        Some(rest)
    }

    /// Drops a partial line (for a stream that was cut short) and starts
    /// over.
    pub fn reset(&mut self) {
        self.buf = Vec::new();
        self.discarding = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One item of the output: a line, or `None` for a too-long line.
    type Item = Option<Vec<u8>>;

    fn run(max: usize, chunks: &[&[u8]]) -> (Vec<Item>, Option<Vec<u8>>) {
        let mut s = LineSplitter::new(max);
        let mut items = Vec::new();
        for c in chunks {
            s.feed(c, |r| match r {
                Ok(l) => items.push(Some(l.to_vec())),
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::TooLarge);
                    items.push(None)
                }
            });
            assert!(s.buffered() <= max + 1, "held {} bytes", s.buffered());
        }
        let rest = s.finish();
        (items, rest)
    }

    fn lines(v: &[&str]) -> Vec<Item> {
        v.iter().map(|l| Some(l.as_bytes().to_vec())).collect()
    }

    #[test]
    fn lf_and_crlf() {
        let (items, rest) = run(100, &[b"a\nb\r\n\r\nc\rd\n"]);
        assert_eq!(items, lines(&["a", "b", "", "c\rd"]));
        assert_eq!(rest, None);
    }

    #[test]
    fn crlf_split_across_chunks() {
        let (items, rest) = run(3, &[b"abc\r", b"\nxyz\r", b"", b"\n"]);
        assert_eq!(items, lines(&["abc", "xyz"]));
        assert_eq!(rest, None);
    }

    #[test]
    fn line_split_in_many_pieces() {
        let (items, rest) = run(100, &[b"{\"a\"", b":", b"1}", b"\n{", b"}"]);
        assert_eq!(items, lines(&["{\"a\":1}"]));
        assert_eq!(rest.as_deref(), Some(&b"{}"[..]));
    }

    #[test]
    fn too_long_is_reported_once_and_skipped() {
        let (items, rest) = run(4, &[b"ok\n12345", b"6789", b"0\nfine\n"]);
        assert_eq!(
            items,
            vec![Some(b"ok".to_vec()), None, Some(b"fine".to_vec())]
        );
        assert_eq!(rest, None);
        // Exactly max is fine, max + 1 is not, with either line ending.
        let (items, _) = run(4, &[b"1234\n12345\n1234\r\n12345\r\n"]);
        assert_eq!(
            items,
            vec![Some(b"1234".to_vec()), None, Some(b"1234".to_vec()), None]
        );
    }

    #[test]
    fn too_long_partial_line_at_end_is_not_returned() {
        let (items, rest) = run(2, &[b"abcdef"]);
        assert_eq!(items, vec![None]);
        assert_eq!(rest, None);
    }

    #[test]
    fn finish_strips_a_trailing_cr_and_resets() {
        let mut s = LineSplitter::new(10);
        s.feed(b"tail\r", |_| panic!("no complete line"));
        assert_eq!(s.finish().as_deref(), Some(&b"tail"[..]));
        assert_eq!(s.finish(), None);
        s.feed(b"part", |_| panic!("no complete line"));
        s.reset();
        let mut got = Vec::new();
        s.feed(b"new\n", |l| got.push(l.unwrap().to_vec()));
        assert_eq!(got, vec![b"new".to_vec()]);
    }

    /// Cuts `data` at the given points (taken modulo its length).
    fn cut(data: &[u8], points: &[usize]) -> Vec<Vec<u8>> {
        let mut at: Vec<usize> = points.iter().map(|p| p % (data.len() + 1)).collect();
        at.sort_unstable();
        let mut out = Vec::new();
        let mut start = 0;
        for p in at {
            out.push(data[start..p].to_vec());
            start = p;
        }
        out.push(data[start..].to_vec());
        out
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_lines(
            data in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), Just(b'{'), any::<u8>()],
                0..200,
            ),
            points in proptest::collection::vec(any::<usize>(), 0..12),
            max in 0usize..12,
        ) {
            let whole = run(max, &[&data]);
            let chunks = cut(&data, &points);
            let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
            prop_assert_eq!(run(max, &refs), whole.clone());
            let bytewise: Vec<&[u8]> = data.chunks(1).collect();
            prop_assert_eq!(run(max, &bytewise), whole);
        }
    }
}
