//! The Server-Sent Events (`text/event-stream`) parser.
//!
//! [`SseParser`] implements the "interpreting an event stream" rules of the
//! WHATWG HTML standard (section 9.2, server-sent events) as a pure state
//! machine: feed it the bytes of a response body in chunks of any size and it
//! calls you back with each dispatched [`SseEvent`].
//!
//! ```
//! use rtwire::proto::sse::{SseLimits, SseParser};
//!
//! let mut parser = SseParser::new(SseLimits::default());
//! let mut events = Vec::new();
//! parser.feed(b"id: 7\nevent: greet\ndata: hel", |e| events.push(e))?;
//! parser.feed(b"lo\ndata: world\r\n\r\n", |e| events.push(e))?;
//! assert_eq!(events.len(), 1);
//! assert_eq!(events[0].event, "greet");
//! assert_eq!(events[0].data, "hello\nworld");
//! assert_eq!(events[0].id.as_deref(), Some("7"));
//! assert_eq!(parser.last_event_id(), "7");
//! # Ok::<(), rtwire::Error>(())
//! ```
//!
//! # The rules, as implemented
//!
//! - The stream is UTF-8. Exactly one leading byte order mark (`EF BB BF`) is
//!   dropped, also when it is split across chunks; a second one is data.
//!   Invalid UTF-8 is replaced by U+FFFD, line by line, the way the standard's
//!   lossy UTF-8 decode does it (each maximal invalid subpart becomes one
//!   U+FFFD). A character split across chunks decodes normally.
//! - Lines end with CRLF, LF or CR, in any mix. A CR at the end of one chunk
//!   followed by an LF at the start of the next is one line ending.
//! - A line starting with `:` is a comment and is ignored. Otherwise the text
//!   before the first `:` is the field name and the rest the value, with one
//!   leading space (only one) removed; a line without `:` is a field name with
//!   an empty value. Field names are case-sensitive; unknown fields are
//!   ignored.
//! - `data` appends the value and an LF to the data buffer. `event` sets the
//!   event type. `id` sets the last event ID buffer, unless the value contains
//!   U+0000 NULL (then the field is ignored); an empty `id` resets it.
//!   `retry` sets the reconnection time in milliseconds when the value is one
//!   or more ASCII digits, and is ignored otherwise.
//! - A blank line dispatches: the last event ID ([`SseParser::last_event_id`])
//!   takes the value of the ID buffer; then, if the data buffer is empty,
//!   nothing is dispatched; otherwise its final LF is removed and an event is
//!   dispatched with the type (`"message"` when none or empty was given). The
//!   data and event type buffers are then cleared. The last event ID persists
//!   across events that carry no `id`.
//! - At the end of the stream ([`SseParser::finish`]) an event without its
//!   blank line is discarded.
//!
//! # Limits
//!
//! The parser buffers a line only when it is split across chunks, and an
//! event's data until its blank line. Both are bounded by [`SseLimits`]: over
//! either limit, [`SseParser::feed`] returns an [`ErrorKind::TooLarge`] error
//! instead of growing.
//!
//! # Cost
//!
//! Lines are found with `memchr`. `data` bytes are copied once, from the
//! chunk straight into the event's buffer, even when a line spans chunks;
//! they are checked for UTF-8 in place (only a line that is not valid UTF-8
//! is rewritten, with its replacement characters). An event costs the allocation of its
//! data, of its type and of its id (when it has one).

use std::fmt;
use std::time::Duration;

use memchr::{memchr, memchr2};

use crate::error::{Error, ErrorKind, Result};
use crate::message::{Data, Message, Text};

/// The UTF-8 byte order mark.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// The event type of an event that set none.
const DEFAULT_EVENT: &str = "message";

/// Bytes of a field name kept when it is split across chunks: one more than
/// the longest known name (`retry`), enough to tell that a name is unknown.
const NAME_KEEP: usize = 6;

/// Size limits of an [`SseParser`]. The defaults stop a hostile server from
/// making the parser allocate without bound while leaving room for every
/// ordinary use.
///
/// ```
/// use rtwire::proto::sse::SseLimits;
///
/// let limits = SseLimits::default()
///     .max_line_length(1 << 20)
///     .max_data_size(8 << 20);
/// assert_eq!(limits.max_line_length, 1 << 20);
/// assert_eq!(limits.max_data_size, 8 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SseLimits {
    /// Longest line in bytes, without its line ending (field name, colon and
    /// value all count). Default 16 MiB, like the WebSocket frame limit: a
    /// line is the unit a server writes, and a line that never ends would
    /// otherwise be buffered forever.
    pub max_line_length: usize,
    /// Largest data of one event in bytes: its `data` lines joined with LF,
    /// as dispatched. Default 64 MiB, like the message limit: without it, a
    /// server that sends `data` lines and never a blank line grows the
    /// buffer without end.
    pub max_data_size: usize,
}

impl Default for SseLimits {
    fn default() -> Self {
        SseLimits {
            max_line_length: 16 << 20,
            max_data_size: 64 << 20,
        }
    }
}

impl SseLimits {
    /// Sets [`max_line_length`](SseLimits::max_line_length).
    pub fn max_line_length(mut self, bytes: usize) -> Self {
        self.max_line_length = bytes;
        self
    }

    /// Sets [`max_data_size`](SseLimits::max_data_size).
    pub fn max_data_size(mut self, bytes: usize) -> Self {
        self.max_data_size = bytes;
        self
    }
}

/// One dispatched event: the fields of the standard's `MessageEvent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The event type: the last `event` field of the block, or `"message"`
    /// when there was none or it was empty.
    pub event: String,
    /// The `data` lines of the block joined with LF (no trailing LF).
    pub data: String,
    /// The last event ID when the event was dispatched: set by the last `id`
    /// field of this block or an earlier one. `None` while it is empty (never
    /// set, or reset by an empty `id` field).
    pub id: Option<String>,
}

impl From<SseEvent> for Message {
    /// A text message with the event type and id.
    fn from(e: SseEvent) -> Self {
        let mut m = Message::new(Data::Text(Text::from(e.data)));
        m.event = Some(e.event);
        m.id = e.id;
        m
    }
}

/// The fields the standard knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Data,
    Event,
    Id,
    Retry,
    Unknown,
}

impl Field {
    fn from_name(name: &[u8]) -> Field {
        match name {
            b"data" => Field::Data,
            b"event" => Field::Event,
            b"id" => Field::Id,
            b"retry" => Field::Retry,
            _ => Field::Unknown,
        }
    }
}

/// Where the parser is within the current line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// Nothing of the line seen yet.
    Start,
    /// In the field name (its start is in `name`).
    Name,
    /// After the colon. `started` is false until the first value byte has
    /// been looked at (it may be the one space to drop).
    Value { field: Field, started: bool },
    /// In a comment line.
    Comment,
}

/// The Server-Sent Events parser. See the [module docs](self) for the rules.
///
/// One parser follows one event source across reconnections: call
/// [`finish`](SseParser::finish) when a response body ends, then feed the
/// next one. The last event ID and the reconnection time survive
/// `finish`; everything else is per stream.
pub struct SseParser {
    limits: SseLimits,
    /// Bytes of the BOM matched at the start of the stream so far.
    bom_matched: u8,
    /// Whether the start of the stream has been checked for a BOM.
    bom_done: bool,
    /// The previous chunk ended with CR: an LF first in the next chunk
    /// belongs to the same line ending.
    pending_cr: bool,
    line: Line,
    /// Bytes of the current line so far.
    line_len: usize,
    /// The start of a field name split across chunks (at most `NAME_KEEP`).
    name: Vec<u8>,
    /// The value of an `event`, `id` or `retry` field split across chunks.
    value: Vec<u8>,
    /// The data buffer. Every completed line in it is valid UTF-8 followed
    /// by LF; bytes from `data_line_start` on are the current, unchecked line.
    data: Vec<u8>,
    data_line_start: usize,
    event_type: String,
    id_buffer: String,
    /// Whether `id_buffer` was set since the last blank line.
    id_set: bool,
    last_event_id: String,
    retry: Option<Duration>,
    /// Set by a failed `feed`, returned again until `finish`.
    error: Option<Error>,
}

impl fmt::Debug for SseParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseParser")
            .field("limits", &self.limits)
            .field("line", &self.line)
            .field("line_len", &self.line_len)
            .field("data_len", &self.data.len())
            .field("event_type", &self.event_type)
            .field("last_event_id", &self.last_event_id)
            .field("retry", &self.retry)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Default for SseParser {
    fn default() -> Self {
        SseParser::new(SseLimits::default())
    }
}

impl SseParser {
    /// A parser at the start of a stream, with no last event ID and no
    /// reconnection time.
    pub fn new(limits: SseLimits) -> Self {
        SseParser {
            limits,
            bom_matched: 0,
            bom_done: false,
            pending_cr: false,
            line: Line::Start,
            line_len: 0,
            name: Vec::new(),
            value: Vec::new(),
            data: Vec::new(),
            data_line_start: 0,
            event_type: String::new(),
            id_buffer: String::new(),
            id_set: false,
            last_event_id: String::new(),
            retry: None,
            error: None,
        }
    }

    /// The limits this parser enforces.
    pub fn limits(&self) -> SseLimits {
        self.limits
    }

    /// Parses the next chunk of the stream, calling `out` with every event
    /// it completes, in order. Chunks may be split anywhere, even inside a
    /// line ending or a UTF-8 character; an empty chunk does nothing.
    ///
    /// # Errors
    /// [`ErrorKind::TooLarge`] when a line is longer than
    /// [`SseLimits::max_line_length`] or an event's data larger than
    /// [`SseLimits::max_data_size`]. Events completed earlier in the same
    /// chunk have been passed to `out`. The stream cannot be parsed further:
    /// every later `feed` returns the same error until
    /// [`finish`](SseParser::finish).
    pub fn feed<F: FnMut(SseEvent)>(&mut self, chunk: &[u8], mut out: F) -> Result<()> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let result = self.feed_inner(chunk, &mut out);
        if let Err(e) = &result {
            self.error = Some(e.clone());
        }
        result
    }

    /// Ends the current stream: an event still waiting for its blank line is
    /// discarded, as is a partial line and any error. The parser is then
    /// ready for a new stream (which may again start with a BOM), keeping
    /// [`last_event_id`](SseParser::last_event_id) and
    /// [`retry`](SseParser::retry); an `id` field of the discarded event is
    /// forgotten.
    pub fn finish(&mut self) {
        self.bom_matched = 0;
        self.bom_done = false;
        self.pending_cr = false;
        self.line = Line::Start;
        self.line_len = 0;
        self.name.clear();
        self.value = Vec::new();
        self.data = Vec::new();
        self.data_line_start = 0;
        self.event_type.clear();
        self.id_buffer.clone_from(&self.last_event_id);
        self.id_set = false;
        self.error = None;
    }

    /// The last event ID: the ID buffer as of the last blank line. Empty when
    /// none was set or an empty `id` reset it. A reconnecting client sends it
    /// as `Last-Event-ID` when it is not empty.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Sets the last event ID (and the ID buffer), as if a previous stream
    /// had ended with it: to resume from an ID known from elsewhere.
    pub fn set_last_event_id(&mut self, id: impl Into<String>) {
        self.last_event_id = id.into();
        self.id_buffer.clone_from(&self.last_event_id);
    }

    /// The reconnection time from the last valid `retry` field of any stream,
    /// if there was one. It takes effect as soon as its line ends, even in an
    /// event that is never dispatched. A value too large for `u64`
    /// milliseconds saturates to `u64::MAX` milliseconds.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    fn feed_inner<F: FnMut(SseEvent)>(&mut self, mut chunk: &[u8], out: &mut F) -> Result<()> {
        if !self.bom_done {
            while let Some(&b) = chunk.first() {
                let n = usize::from(self.bom_matched);
                if b == BOM[n] {
                    chunk = &chunk[1..];
                    self.bom_matched += 1;
                    if n + 1 == BOM.len() {
                        self.bom_done = true;
                        break;
                    }
                } else {
                    self.bom_done = true;
                    // Not a BOM after all: what looked like one is data.
                    self.scan(&BOM[..n], out)?;
                    break;
                }
            }
            if !self.bom_done {
                return Ok(());
            }
        }
        self.scan(chunk, out)
    }

    /// Splits `buf` into lines.
    #[inline]
    fn scan<F: FnMut(SseEvent)>(&mut self, mut buf: &[u8], out: &mut F) -> Result<()> {
        if self.pending_cr && !buf.is_empty() {
            self.pending_cr = false;
            if buf[0] == b'\n' {
                buf = &buf[1..];
            }
        }
        while let Some(i) = memchr2(b'\n', b'\r', buf) {
            self.segment(&buf[..i], true, out)?;
            let mut next = i + 1;
            if buf[i] == b'\r' {
                match buf.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.pending_cr = true,
                }
            }
            buf = &buf[next..];
        }
        if !buf.is_empty() {
            self.segment(buf, false, out)?;
        }
        Ok(())
    }

    /// Handles a piece of the current line; `eol` says whether the line
    /// ends after it.
    #[inline]
    fn segment<F: FnMut(SseEvent)>(
        &mut self,
        mut seg: &[u8],
        eol: bool,
        out: &mut F,
    ) -> Result<()> {
        self.line_len += seg.len();
        if self.line_len > self.limits.max_line_length {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "SSE line longer than max_line_length ({} bytes)",
                    self.limits.max_line_length
                ),
            ));
        }
        loop {
            match self.line {
                Line::Start => match seg.first() {
                    None => {
                        if eol {
                            self.dispatch(out);
                        }
                        return Ok(());
                    }
                    Some(b':') => self.line = Line::Comment,
                    Some(_) => self.line = Line::Name,
                },
                Line::Comment => {
                    if eol {
                        self.end_line();
                    }
                    return Ok(());
                }
                Line::Name => match find_colon(seg) {
                    Some(colon) => {
                        let field = self.field_name(&seg[..colon]);
                        seg = &seg[colon + 1..];
                        self.line = Line::Value {
                            field,
                            started: false,
                        };
                    }
                    None if eol => {
                        let field = self.field_name(seg);
                        self.value_segment(field, &[], true)?;
                        self.end_line();
                        return Ok(());
                    }
                    None => {
                        let keep = seg.len().min(NAME_KEEP - self.name.len().min(NAME_KEEP));
                        self.name.extend_from_slice(&seg[..keep]);
                        return Ok(());
                    }
                },
                Line::Value { field, started } => {
                    if !started {
                        match seg.first() {
                            None if !eol => return Ok(()),
                            Some(b' ') => seg = &seg[1..],
                            _ => {}
                        }
                        self.line = Line::Value {
                            field,
                            started: true,
                        };
                    }
                    self.value_segment(field, seg, eol)?;
                    if eol {
                        self.end_line();
                    }
                    return Ok(());
                }
            }
        }
    }

    /// The field whose name ends with `last` (its start may be in `name`).
    #[inline]
    fn field_name(&mut self, last: &[u8]) -> Field {
        if self.name.is_empty() {
            return Field::from_name(last);
        }
        let keep = last.len().min(NAME_KEEP - self.name.len().min(NAME_KEEP));
        self.name.extend_from_slice(&last[..keep]);
        let field = Field::from_name(&self.name);
        self.name.clear();
        field
    }

    #[inline]
    fn end_line(&mut self) {
        self.line = Line::Start;
        self.line_len = 0;
    }

    /// Handles a piece of a field value; `eol` says whether the value ends
    /// after it.
    #[inline]
    fn value_segment(&mut self, field: Field, seg: &[u8], eol: bool) -> Result<()> {
        match field {
            Field::Data => {
                if self.data.len() + seg.len() > self.limits.max_data_size {
                    return Err(self.data_too_large());
                }
                if eol {
                    self.data.reserve(seg.len() + 1);
                }
                self.data.extend_from_slice(seg);
                if eol {
                    self.end_data_line()?;
                }
            }
            Field::Unknown => {}
            Field::Event | Field::Id | Field::Retry => {
                if !eol {
                    self.value.extend_from_slice(seg);
                } else if self.value.is_empty() {
                    self.apply(field, seg);
                } else {
                    self.value.extend_from_slice(seg);
                    let value = std::mem::take(&mut self.value);
                    self.apply(field, &value);
                    self.value = value;
                    self.value.clear();
                }
            }
        }
        Ok(())
    }

    /// Checks the UTF-8 of the data line just completed, replacing invalid
    /// sequences, and appends its LF.
    fn end_data_line(&mut self) -> Result<()> {
        let start = self.data_line_start;
        if std::str::from_utf8(&self.data[start..]).is_err() {
            let fixed = String::from_utf8_lossy(&self.data[start..]).into_owned();
            self.data.truncate(start);
            if start + fixed.len() > self.limits.max_data_size {
                return Err(self.data_too_large());
            }
            self.data.extend_from_slice(fixed.as_bytes());
        }
        self.data.push(b'\n');
        self.data_line_start = self.data.len();
        Ok(())
    }

    fn data_too_large(&self) -> Error {
        Error::new(
            ErrorKind::TooLarge,
            format!(
                "SSE event data larger than max_data_size ({} bytes)",
                self.limits.max_data_size
            ),
        )
    }

    /// Applies a complete `event`, `id` or `retry` field.
    fn apply(&mut self, field: Field, value: &[u8]) {
        match field {
            Field::Event => {
                self.event_type.clear();
                push_lossy(&mut self.event_type, value);
            }
            Field::Id => {
                if memchr(0, value).is_none() {
                    self.id_buffer.clear();
                    push_lossy(&mut self.id_buffer, value);
                    self.id_set = true;
                }
            }
            Field::Retry => {
                if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
                    let ms = value.iter().fold(0u64, |ms, d| {
                        ms.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                    });
                    self.retry = Some(Duration::from_millis(ms));
                }
            }
            Field::Data | Field::Unknown => {}
        }
    }

    /// The blank-line step of the standard ("dispatch the event").
    #[inline]
    fn dispatch<F: FnMut(SseEvent)>(&mut self, out: &mut F) {
        if self.id_set {
            self.id_set = false;
            self.last_event_id.clone_from(&self.id_buffer);
        }
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        // Every data line ends with LF; the last one is not part of the data.
        self.data.pop();
        let data = std::mem::take(&mut self.data);
        self.data_line_start = 0;
        // SAFETY: `end_data_line` checked (or replaced) every line as UTF-8,
        // and the LFs between them are ASCII.
        let data = unsafe { String::from_utf8_unchecked(data) };
        let event = if self.event_type.is_empty() {
            String::from(DEFAULT_EVENT)
        } else {
            std::mem::take(&mut self.event_type)
        };
        let id = if self.last_event_id.is_empty() {
            None
        } else {
            Some(self.last_event_id.clone())
        };
        out(SseEvent { event, data, id });
    }
}

/// The first `:` in `seg`. Field names are short: look at the first bytes
/// directly before paying for a vectorised search.
#[inline]
fn find_colon(seg: &[u8]) -> Option<usize> {
    match seg.iter().take(NAME_KEEP).position(|&b| b == b':') {
        Some(i) => Some(i),
        None if seg.len() > NAME_KEEP => memchr(b':', &seg[NAME_KEEP..]).map(|i| i + NAME_KEEP),
        None => None,
    }
}

/// Appends `bytes` decoded as UTF-8, invalid sequences replaced by U+FFFD.
fn push_lossy(to: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => to.push_str(s),
        Err(_) => to.push_str(&String::from_utf8_lossy(bytes)),
    }
}
