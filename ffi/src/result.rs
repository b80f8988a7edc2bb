//! `rtwire_result`: the status every fallible function returns, its stable
//! numbering, and the text for each code.

use std::ffi::c_char;

use rtwire::ErrorKind;

/// The status of a call. `RTWIRE_RESULT_OK` (0) is success; every other
/// value is an error or a "try again" signal.
///
/// Codes are numbered in blocks and never renumbered; a retired code is never
/// reused:
/// - 1–99: use of the API itself (NULL argument, stale handle, nothing ready);
/// - 100–199: arguments and configuration (`invalid_argument`, `invalid_url`,
///   `unsupported`);
/// - 200–299: opening a connection (`connect`, `tls`, `handshake`, `timeout`);
/// - 300–399: an established connection (`protocol`, `too_large`, `io`,
///   `closed`, `queue_full`);
/// - 900–999: bugs (`internal`).
///
/// Each core error kind maps to exactly one code; `rtwire_result_name()`
/// gives the kind's stable snake_case name (`"invalid_url"`, ...).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rtwire_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// The handle is NULL, was freed, belongs to a freed context, or is not a
    /// handle of this type.
    InvalidHandle = 2,
    /// Nothing is ready now (no event queued; connection not open yet; woken
    /// by `rtwire_context_wakeup()`); try again later.
    WouldBlock = 3,
    /// A panic inside rtwire was caught at the API boundary (a bug; please
    /// report it). The handle stays usable.
    Panic = 4,
    /// An error of a kind this version of the C API does not know.
    Unknown = 5,
    /// An argument or option had a value outside its allowed range, or a
    /// string was not valid UTF-8.
    InvalidArgument = 100,
    /// The URL could not be used (syntax, scheme, host, port, fragment).
    InvalidUrl = 101,
    /// The feature or transport is not available (yet) for this connection.
    Unsupported = 102,
    /// Name resolution or the TCP connection failed (refused, unreachable).
    Connect = 200,
    /// TLS failed: certificate, CA or key file, handshake.
    Tls = 201,
    /// The HTTP handshake was refused or answered wrongly.
    Handshake = 202,
    /// An operation did not finish in time (handshake, close, dead peer,
    /// `rtwire_context_wait()` with nothing to report).
    Timeout = 203,
    /// The peer broke the protocol.
    Protocol = 300,
    /// A message or frame was over the configured limit.
    TooLarge = 301,
    /// An I/O error on an established connection.
    Io = 302,
    /// The connection is closed or closing; the operation cannot be
    /// performed.
    Closed = 303,
    /// The outgoing queue is over its high-water mark (backpressure); the
    /// message was not queued. Retry later or pass a timeout.
    QueueFull = 304,
    /// A broken invariant inside rtwire (a bug).
    Internal = 900,
}

impl rtwire_result {
    /// Every code, in numeric order.
    pub const ALL: &'static [rtwire_result] = &[
        rtwire_result::Ok,
        rtwire_result::NullArgument,
        rtwire_result::InvalidHandle,
        rtwire_result::WouldBlock,
        rtwire_result::Panic,
        rtwire_result::Unknown,
        rtwire_result::InvalidArgument,
        rtwire_result::InvalidUrl,
        rtwire_result::Unsupported,
        rtwire_result::Connect,
        rtwire_result::Tls,
        rtwire_result::Handshake,
        rtwire_result::Timeout,
        rtwire_result::Protocol,
        rtwire_result::TooLarge,
        rtwire_result::Io,
        rtwire_result::Closed,
        rtwire_result::QueueFull,
        rtwire_result::Internal,
    ];

    /// The code for a core error kind.
    pub fn from_kind(kind: ErrorKind) -> rtwire_result {
        match kind {
            ErrorKind::InvalidUrl => rtwire_result::InvalidUrl,
            ErrorKind::InvalidArgument => rtwire_result::InvalidArgument,
            ErrorKind::Connect => rtwire_result::Connect,
            ErrorKind::Tls => rtwire_result::Tls,
            ErrorKind::Handshake => rtwire_result::Handshake,
            ErrorKind::Protocol => rtwire_result::Protocol,
            ErrorKind::TooLarge => rtwire_result::TooLarge,
            ErrorKind::Timeout => rtwire_result::Timeout,
            ErrorKind::Closed => rtwire_result::Closed,
            ErrorKind::QueueFull => rtwire_result::QueueFull,
            ErrorKind::Unsupported => rtwire_result::Unsupported,
            ErrorKind::Io => rtwire_result::Io,
            ErrorKind::Internal => rtwire_result::Internal,
            _ => rtwire_result::Unknown,
        }
    }

    /// The code with this number, if there is one.
    pub fn from_u32(code: u32) -> Option<rtwire_result> {
        Self::ALL.iter().copied().find(|r| *r as u32 == code)
    }

    /// The stable snake_case name, NUL-terminated. For codes that stand for
    /// a core error kind it is that kind's name.
    pub fn name(self) -> &'static str {
        match self {
            rtwire_result::Ok => "ok\0",
            rtwire_result::NullArgument => "null_argument\0",
            rtwire_result::InvalidHandle => "invalid_handle\0",
            rtwire_result::WouldBlock => "would_block\0",
            rtwire_result::Panic => "panic\0",
            rtwire_result::Unknown => "unknown\0",
            rtwire_result::InvalidArgument => "invalid_argument\0",
            rtwire_result::InvalidUrl => "invalid_url\0",
            rtwire_result::Unsupported => "unsupported\0",
            rtwire_result::Connect => "connect\0",
            rtwire_result::Tls => "tls\0",
            rtwire_result::Handshake => "handshake\0",
            rtwire_result::Timeout => "timeout\0",
            rtwire_result::Protocol => "protocol\0",
            rtwire_result::TooLarge => "too_large\0",
            rtwire_result::Io => "io\0",
            rtwire_result::Closed => "closed\0",
            rtwire_result::QueueFull => "queue_full\0",
            rtwire_result::Internal => "internal\0",
        }
    }

    /// A one-line English description, NUL-terminated.
    pub fn message(self) -> &'static str {
        match self {
            rtwire_result::Ok => "success\0",
            rtwire_result::NullArgument => "a required pointer argument was NULL\0",
            rtwire_result::InvalidHandle => {
                "the handle is NULL, freed, or not a handle of this type\0"
            }
            rtwire_result::WouldBlock => "nothing is ready yet; try again later\0",
            rtwire_result::Panic => "an internal panic was caught (a bug in rtwire)\0",
            rtwire_result::Unknown => "an error of a kind this version does not know\0",
            rtwire_result::InvalidArgument => "an argument or option is out of range or invalid\0",
            rtwire_result::InvalidUrl => "the URL cannot be used\0",
            rtwire_result::Unsupported => "not supported for this connection or build\0",
            rtwire_result::Connect => "name resolution or the TCP connection failed\0",
            rtwire_result::Tls => "TLS failed (certificate, CA or key file, handshake)\0",
            rtwire_result::Handshake => "the server refused or botched the handshake\0",
            rtwire_result::Timeout => "the operation timed out\0",
            rtwire_result::Protocol => "the peer broke the protocol\0",
            rtwire_result::TooLarge => "a message or frame was over the limit\0",
            rtwire_result::Io => "an I/O error on the connection\0",
            rtwire_result::Closed => "the connection is closed or closing\0",
            rtwire_result::QueueFull => "the outgoing queue is full (backpressure)\0",
            rtwire_result::Internal => "an internal error (a bug in rtwire)\0",
        }
    }
}

/// A static, NUL-terminated, English one-line description of a result code.
///
/// Never NULL: an unknown code gives "unknown result code". The string lives
/// for the whole process; do not free it. Thread-safe.
#[no_mangle]
pub extern "C" fn rtwire_result_message(code: u32) -> *const c_char {
    crate::guard_or(
        c"unknown result code".as_ptr(),
        || match rtwire_result::from_u32(code) {
            Some(r) => r.message().as_ptr().cast(),
            None => c"unknown result code".as_ptr(),
        },
    )
}

/// The stable snake_case name of a result code (`"ok"`, `"invalid_url"`,
/// `"queue_full"`, ...), static and NUL-terminated.
///
/// For codes that stand for a core error kind it equals that kind's name,
/// as used by every rtwire binding. Never NULL: an unknown code gives
/// `"unknown"`. Do not free it. Thread-safe.
#[no_mangle]
pub extern "C" fn rtwire_result_name(code: u32) -> *const c_char {
    crate::guard_or(c"unknown".as_ptr(), || {
        match rtwire_result::from_u32(code) {
            Some(r) => r.name().as_ptr().cast(),
            None => c"unknown".as_ptr(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_kind_has_its_own_code_named_like_the_kind() {
        let mut seen = HashSet::new();
        for &kind in ErrorKind::ALL {
            let code = rtwire_result::from_kind(kind);
            assert_ne!(code, rtwire_result::Unknown, "{kind:?} has no code");
            assert!(seen.insert(code as u32), "{kind:?} shares a code");
            assert_eq!(code.name().trim_end_matches('\0'), kind.as_str());
        }
    }

    #[test]
    fn numbering_is_stable() {
        let expect = [
            (rtwire_result::Ok, 0),
            (rtwire_result::NullArgument, 1),
            (rtwire_result::InvalidHandle, 2),
            (rtwire_result::WouldBlock, 3),
            (rtwire_result::Panic, 4),
            (rtwire_result::Unknown, 5),
            (rtwire_result::InvalidArgument, 100),
            (rtwire_result::InvalidUrl, 101),
            (rtwire_result::Unsupported, 102),
            (rtwire_result::Connect, 200),
            (rtwire_result::Tls, 201),
            (rtwire_result::Handshake, 202),
            (rtwire_result::Timeout, 203),
            (rtwire_result::Protocol, 300),
            (rtwire_result::TooLarge, 301),
            (rtwire_result::Io, 302),
            (rtwire_result::Closed, 303),
            (rtwire_result::QueueFull, 304),
            (rtwire_result::Internal, 900),
        ];
        assert_eq!(expect.len(), rtwire_result::ALL.len());
        for (r, n) in expect {
            assert_eq!(r as u32, n);
            assert_eq!(rtwire_result::from_u32(n), Some(r));
        }
    }

    #[test]
    fn texts_are_nul_terminated_and_unique() {
        let mut names = HashSet::new();
        for &r in rtwire_result::ALL {
            assert!(r.name().ends_with('\0') && r.message().ends_with('\0'));
            assert_eq!(r.name().matches('\0').count(), 1);
            assert_eq!(r.message().matches('\0').count(), 1);
            assert!(names.insert(r.name()));
        }
        assert_eq!(rtwire_result::from_u32(77), None);
    }
}
