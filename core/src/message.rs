//! Message payloads: [`Text`], [`Data`] and [`Message`].
//!
//! Payloads are reference-counted [`Bytes`]: receiving a message hands out
//! the bytes the protocol layer read, without copying them again.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// UTF-8 text backed by [`Bytes`]: cheap to clone, never invalid UTF-8.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Text(Bytes);

impl Text {
    /// Text from a static string, without allocating.
    pub const fn from_static(s: &'static str) -> Self {
        Text(Bytes::from_static(s.as_bytes()))
    }

    /// Text from bytes, checking that they are UTF-8.
    ///
    /// # Errors
    /// Returns the bytes back if they are not valid UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, Bytes> {
        match std::str::from_utf8(&bytes) {
            Ok(_) => Ok(Text(bytes)),
            Err(_) => Err(bytes),
        }
    }

    /// The text as `&str`.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor guarantees UTF-8.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The underlying bytes, borrowed (a clone of them shares the buffer).
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.0
    }

    /// Wraps bytes that the caller has already validated as UTF-8.
    ///
    /// # Safety
    /// `bytes` must be valid UTF-8.
    pub(crate) unsafe fn from_utf8_unchecked(bytes: Bytes) -> Self {
        Text(bytes)
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text(Bytes::from(s))
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The payload of a message: text or binary.
#[derive(Clone, PartialEq, Eq)]
pub enum Data {
    /// A text message (always valid UTF-8).
    Text(Text),
    /// A binary message.
    Binary(Bytes),
}

impl Data {
    /// The payload bytes (UTF-8 for text).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Data::Text(t) => t.as_bytes(),
            Data::Binary(b) => b,
        }
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this is a text payload.
    pub fn is_text(&self) -> bool {
        matches!(self, Data::Text(_))
    }

    /// The text, if this is a text payload.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Data::Text(t) => Some(t.as_str()),
            Data::Binary(_) => None,
        }
    }
}

impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Data::Text(t) if t.len() <= 256 => write!(f, "Text({t:?})"),
            Data::Text(t) => write!(f, "Text({} bytes)", t.len()),
            Data::Binary(b) if b.len() <= 64 => write!(f, "Binary({b:?})"),
            Data::Binary(b) => write!(f, "Binary({} bytes)", b.len()),
        }
    }
}

impl From<Text> for Data {
    fn from(t: Text) -> Self {
        Data::Text(t)
    }
}
impl From<String> for Data {
    fn from(s: String) -> Self {
        Data::Text(s.into())
    }
}
impl From<&str> for Data {
    fn from(s: &str) -> Self {
        Data::Text(s.into())
    }
}
impl From<Bytes> for Data {
    fn from(b: Bytes) -> Self {
        Data::Binary(b)
    }
}
impl From<Vec<u8>> for Data {
    fn from(b: Vec<u8>) -> Self {
        Data::Binary(b.into())
    }
}
impl From<&[u8]> for Data {
    fn from(b: &[u8]) -> Self {
        Data::Binary(Bytes::copy_from_slice(b))
    }
}

/// A received message: its payload and, for transports that have them
/// (SSE), the event type and the last event id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Message {
    /// The payload.
    pub data: Data,
    /// The event type (SSE `event:`), if the transport has one.
    pub event: Option<String>,
    /// The last event id (SSE `id:`) or cursor, if the transport has one.
    pub id: Option<String>,
}

impl Message {
    /// A message with only a payload.
    pub fn new(data: impl Into<Data>) -> Self {
        Message {
            data: data.into(),
            event: None,
            id: None,
        }
    }
}
