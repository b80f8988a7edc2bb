//! Cutting an HTTP streaming body into messages (lines, NDJSON, chunks),
//! without I/O: fed chunks in any split, it gives the same messages as if
//! the body had come at once. `transport::stream` reads the body.

use bytes::Bytes;

use crate::error::{Error, ErrorKind};
use crate::event::Event;
use crate::message::{Data, Message, Text};
use crate::options::{Cursor, CursorFrom, Framing, Options};
use crate::proto::lines::LineSplitter;

/// What a body decoder is fed (by `http::pump_events`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Feed<'a> {
    /// The next chunk of the body.
    Chunk(&'a [u8]),
    /// The body ended where its HTTP framing says it ends.
    End,
    /// The body was cut short (read error or idle timeout): a partial
    /// record at the end must not be delivered.
    Cut,
}

/// Cuts a body into events per the framing.
#[derive(Debug)]
pub(crate) struct StreamDecoder {
    framing: Framing,
    lines: LineSplitter,
    max_message: usize,
    /// Lines seen so far (for error messages).
    line_no: u64,
    url: String,
    /// NDJSON: the object field that holds each line's id (the cursor).
    id_field: Option<String>,
}

impl StreamDecoder {
    /// A decoder for a body from `url`, per the options.
    pub(crate) fn new(opts: &Options, url: &str) -> Self {
        let max_message = opts.limits.max_message_size;
        StreamDecoder {
            framing: opts.http.framing,
            lines: LineSplitter::new(opts.http.max_line.min(max_message)),
            max_message,
            line_no: 0,
            url: url.to_string(),
            id_field: match &opts.http.cursor {
                Some(Cursor {
                    from: CursorFrom::JsonField(f),
                    ..
                }) => Some(f.clone()),
                _ => None,
            },
        }
    }

    /// Appends the events `feed` completes; an error loses the session.
    pub(crate) fn feed(&mut self, feed: Feed<'_>, out: &mut Vec<Event>) -> Result<(), Error> {
        if self.framing == Framing::Chunks {
            return match feed {
                Feed::Chunk(c) if c.len() > self.max_message => Err(Error::new(
                    ErrorKind::TooLarge,
                    format!(
                        "a chunk of {} bytes from {} is over max_message_size ({})",
                        c.len(),
                        self.url,
                        self.max_message
                    ),
                )
                .with_retryable(true)),
                Feed::Chunk(c) if !c.is_empty() => {
                    out.push(Event::Message(Message::new(Bytes::copy_from_slice(c))));
                    Ok(())
                }
                _ => Ok(()),
            };
        }
        let mut failed = None;
        match feed {
            Feed::Chunk(c) => {
                let mut lines = std::mem::replace(&mut self.lines, LineSplitter::new(0));
                lines.feed(c, |line| {
                    if failed.is_none() {
                        failed = self.line(line, out).err();
                    }
                });
                self.lines = lines;
            }
            Feed::End => {
                if let Some(rest) = self.lines.finish() {
                    failed = self.line(Ok(&rest), out).err();
                }
            }
            Feed::Cut => self.lines.reset(),
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Handles one line.
    fn line(&mut self, line: Result<&[u8], Error>, out: &mut Vec<Event>) -> Result<(), Error> {
        self.line_no += 1;
        let line = line.map_err(|e| {
            Error::new(
                ErrorKind::TooLarge,
                format!("line {} from {}: {}", self.line_no, self.url, e.message()),
            )
            .with_retryable(true)
        })?;
        match self.framing {
            Framing::Ndjson => {
                if line.iter().all(u8::is_ascii_whitespace) {
                    return Ok(());
                }
                match serde_json::from_slice::<serde_json::Value>(line) {
                    Ok(v) => {
                        // JSON is UTF-8: serde_json checked it.
                        let text = Text::from_utf8(Bytes::copy_from_slice(line))
                            .map_err(|_| self.not_json("invalid UTF-8".into()))?;
                        let mut m = Message::new(text);
                        m.id = self.id_field.as_deref().and_then(|f| match v.get(f) {
                            Some(serde_json::Value::String(s)) => Some(s.clone()),
                            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                            _ => None,
                        });
                        out.push(Event::Message(m));
                    }
                    Err(e) => out.push(Event::Error(self.not_json(e.to_string()))),
                }
            }
            _ => {
                if !line.is_empty() {
                    let text = String::from_utf8_lossy(line).into_owned();
                    out.push(Event::Message(Message::new(Data::from(text))));
                }
            }
        }
        Ok(())
    }

    /// The error for an NDJSON line that is not JSON.
    fn not_json(&self, why: String) -> Error {
        Error::new(
            ErrorKind::Protocol,
            format!(
                "NDJSON line {} from {} is not JSON ({why}); skipped",
                self.line_no, self.url
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoder(framing: Framing, max_line: usize) -> StreamDecoder {
        let mut o = Options::new().framing(framing);
        o.http.max_line = max_line;
        StreamDecoder::new(&o, "http://h/")
    }

    /// Messages as text, errors as `!kind`.
    fn show(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                Event::Message(m) => match &m.data {
                    Data::Text(t) => t.to_string(),
                    Data::Binary(b) => format!("bin{b:?}"),
                },
                Event::Error(e) => format!("!{}", e.kind()),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn ndjson_split_bad_and_blank_lines() {
        let mut d = decoder(Framing::Ndjson, 100);
        let mut out = Vec::new();
        for c in [
            &b"{\"a\":"[..],
            b"1}\r\n\n  \nnot json\n[1,",
            b"2]\n\"tail\"",
        ] {
            d.feed(Feed::Chunk(c), &mut out).unwrap();
        }
        d.feed(Feed::End, &mut out).unwrap();
        assert_eq!(show(&out), ["{\"a\":1}", "!protocol", "[1,2]", "\"tail\""]);
    }

    #[test]
    fn cut_drops_the_partial_line() {
        let mut d = decoder(Framing::Lines, 100);
        let mut out = Vec::new();
        d.feed(Feed::Chunk(b"one\n\ntw\xffo\npart"), &mut out)
            .unwrap();
        d.feed(Feed::Cut, &mut out).unwrap();
        assert_eq!(show(&out), ["one", "tw\u{fffd}o"]);
    }

    #[test]
    fn long_line_is_too_large_after_earlier_lines() {
        let mut d = decoder(Framing::Lines, 4);
        let mut out = Vec::new();
        let e = d
            .feed(Feed::Chunk(b"ok\n12345\nlater\n"), &mut out)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge);
        assert!(e.is_retryable());
        assert_eq!(show(&out), ["ok"]);
    }

    #[test]
    fn chunks_are_binary_messages() {
        let mut d = decoder(Framing::Chunks, 4);
        let mut out = Vec::new();
        d.feed(Feed::Chunk(b"ab"), &mut out).unwrap();
        d.feed(Feed::Chunk(b""), &mut out).unwrap();
        d.feed(Feed::End, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        let mut small = decoder(Framing::Chunks, 4);
        small.max_message = 1;
        assert_eq!(
            small.feed(Feed::Chunk(b"ab"), &mut out).unwrap_err().kind(),
            ErrorKind::TooLarge
        );
    }
}
