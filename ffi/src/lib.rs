//! The C ABI of rtwire; `include/rtwire.h` is generated from this crate by
//! `ffi/gen-header.sh` (a pinned cbindgen). See `docs/c-api.md`.
//!
//! ## Shape
//! - [`options`]: `rtwire_options`, a reusable bag of connection settings,
//!   set by name (`rtwire_options_set`) or by the setters generated from
//!   core's option schema into [`options_gen`] (`cargo run -p rtwire-gen`).
//! - [`context`]: `rtwire_context`, which owns a tokio runtime (one worker
//!   thread), the event queue and the notify fd.
//! - [`conn`]: `rtwire_conn`, one connection; sends and close.
//! - [`event`]: `rtwire_event` and its accessors.
//! - [`server`]: `rtwire_server`, the embedded server on a context's
//!   runtime; `rtwire_server_options` and `rtwire_stats`.
//! - [`app`]: the application server: routes whose clients become
//!   `rtwire_conn` connections, `rtwire_request` (the acceptance decision
//!   as an event) and rooms by connection id.
//! - [`result`]: `rtwire_result`, the status codes.
//!
//! ## Safety model
//! Every export runs inside `guard` (a panic boundary). Handles are
//! generational (module `handle`), so stale or foreign handles are detected and
//! never dereferenced. Pointers from C are checked for NULL before use.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

/// Returns the error code of a `Result<_, rtwire_result>` from the calling
/// function, or unwraps it.
macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(code) => return code,
        }
    };
}

pub mod app;
pub mod conn;
pub mod context;
pub mod event;
mod handle;
pub mod options;
pub mod options_gen;
pub mod result;
pub mod server;

pub use result::rtwire_result;

/// Major version of the library this header belongs to.
pub const RTWIRE_VERSION_MAJOR: u32 = 0;
/// Minor version of the library this header belongs to.
pub const RTWIRE_VERSION_MINOR: u32 = 1;
/// Patch version of the library this header belongs to.
pub const RTWIRE_VERSION_PATCH: u32 = 0;
/// The version as one number: major * 10000 + minor * 100 + patch, for
/// `#if RTWIRE_VERSION_NUMBER >= ...` checks.
pub const RTWIRE_VERSION_NUMBER: u32 =
    RTWIRE_VERSION_MAJOR * 10000 + RTWIRE_VERSION_MINOR * 100 + RTWIRE_VERSION_PATCH;

/// The library version as a static NUL-terminated string (`"0.1.0"`).
///
/// Compare it with the header's `RTWIRE_VERSION_*` macros to detect a header
/// and library mismatch. Never NULL; do not free. Thread-safe.
#[no_mangle]
pub extern "C" fn rtwire_version() -> *const c_char {
    guard_or(c"".as_ptr(), || VERSION_CSTR.as_ptr())
}

static VERSION_CSTR: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(s) => s,
        Err(_) => c"",
    };

/// A read-only view of bytes owned by rtwire.
///
/// `data` is NULL only when `len` is 0. The view lives as long as the object
/// it came from (for event accessors: until `rtwire_event_free()`); never
/// free `data`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtwire_bytes {
    /// The first byte, or NULL when empty.
    pub data: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl rtwire_bytes {
    pub(crate) const EMPTY: rtwire_bytes = rtwire_bytes {
        data: std::ptr::null(),
        len: 0,
    };

    pub(crate) fn of(b: &[u8]) -> rtwire_bytes {
        if b.is_empty() {
            Self::EMPTY
        } else {
            rtwire_bytes {
                data: b.as_ptr(),
                len: b.len(),
            }
        }
    }
}

/// A read-only view of a UTF-8 string owned by rtwire.
///
/// When present, `data` is NUL-terminated and `len` excludes the NUL (the
/// text itself may contain NUL only if the peer sent one). `data` is NULL
/// when the value is absent (e.g. a message without an event id), which is
/// different from present but empty (`data` = `""`, `len` = 0). Same
/// lifetime rules as `rtwire_bytes`; never free `data`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rtwire_str {
    /// NUL-terminated UTF-8, or NULL when absent.
    pub data: *const c_char,
    /// Length in bytes, excluding the terminating NUL.
    pub len: usize,
}

impl rtwire_str {
    pub(crate) const ABSENT: rtwire_str = rtwire_str {
        data: std::ptr::null(),
        len: 0,
    };
}

/// An owned NUL-terminated string that may contain inner NULs.
#[derive(Debug, Clone)]
pub(crate) struct NulStr(Box<[u8]>);

impl NulStr {
    pub(crate) fn new(s: &str) -> NulStr {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        NulStr(v.into_boxed_slice())
    }

    pub(crate) fn view(&self) -> rtwire_str {
        rtwire_str {
            data: self.0.as_ptr().cast(),
            len: self.0.len() - 1,
        }
    }

    pub(crate) fn view_opt(s: &Option<NulStr>) -> rtwire_str {
        s.as_ref().map_or(rtwire_str::ABSENT, NulStr::view)
    }

    fn as_bytes(&self) -> &[u8] {
        &self.0[..self.0.len() - 1]
    }

    /// The text (it was made from a `&str`).
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

/// Values returned when a panic is caught at the boundary.
pub(crate) trait Fallback {
    fn fallback() -> Self;
}

impl Fallback for rtwire_result {
    fn fallback() -> Self {
        rtwire_result::Panic
    }
}

/// Runs `f`, turning a panic into `rtwire_result::Panic`.
pub(crate) fn guard<R: Fallback>(f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| R::fallback())
}

/// Runs `f`, turning a panic into `fallback`.
pub(crate) fn guard_or<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// Reads a NUL-terminated UTF-8 string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid and
/// unchanged during the call.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, what: &str) -> Result<&'a str, ArgError> {
    if p.is_null() {
        return Err(ArgError::Null);
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str()
        .map_err(|_| ArgError::Invalid(format!("{what} is not valid UTF-8")))
}

/// Reads a `(pointer, length)` byte argument; `(NULL, 0)` is the empty
/// buffer.
///
/// # Safety
/// When `len > 0`, `p` points to `len` readable bytes that stay valid during
/// the call.
pub(crate) unsafe fn arg_bytes<'a>(p: *const u8, len: usize) -> Result<&'a [u8], ArgError> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(ArgError::Null);
    }
    if len > isize::MAX as usize {
        return Err(ArgError::Invalid(format!("length {len} is too large")));
    }
    // SAFETY: non-NULL, `len` readable bytes per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Why an argument was refused.
#[derive(Debug)]
pub(crate) enum ArgError {
    Null,
    Invalid(String),
}

/// The per-handle "last error" text.
#[derive(Debug, Default)]
pub(crate) struct LastError(Mutex<Option<NulStr>>);

impl LastError {
    pub(crate) fn set(&self, msg: impl AsRef<str>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(NulStr::new(msg.as_ref()));
    }

    /// Records the error of a failed call and returns its code.
    pub(crate) fn fail(&self, code: rtwire_result, msg: impl AsRef<str>) -> rtwire_result {
        self.set(msg);
        code
    }

    /// Records an argument error and returns its code.
    pub(crate) fn arg(&self, e: ArgError, what: &str) -> rtwire_result {
        match e {
            ArgError::Null => self.fail(rtwire_result::NullArgument, format!("{what} is NULL")),
            ArgError::Invalid(m) => self.fail(rtwire_result::InvalidArgument, m),
        }
    }

    /// Records a core error and returns its code.
    pub(crate) fn error(&self, e: &rtwire::Error) -> rtwire_result {
        self.fail(rtwire_result::from_kind(e.kind()), e.message())
    }

    /// Copies the text into `buf` (snprintf-style) and returns its length.
    ///
    /// # Safety
    /// `buf` is NULL or points to `cap` writable bytes.
    pub(crate) unsafe fn copy_to(&self, buf: *mut c_char, cap: usize) -> usize {
        let g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(msg) = g.as_ref() else {
            // SAFETY: per the caller's contract.
            unsafe { write_truncated(&[], buf, cap) };
            return 0;
        };
        // SAFETY: per the caller's contract.
        unsafe { write_truncated(msg.as_bytes(), buf, cap) };
        msg.as_bytes().len()
    }
}

/// Copies `s` into `buf` snprintf-style and returns its full length.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes.
pub(crate) unsafe fn copy_str(s: &str, buf: *mut c_char, cap: usize) -> usize {
    // SAFETY: per the caller's contract.
    unsafe { write_truncated(s.as_bytes(), buf, cap) };
    s.len()
}

/// Writes as much of `src` as fits into `buf` and a terminating NUL.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes.
unsafe fn write_truncated(src: &[u8], buf: *mut c_char, cap: usize) {
    if buf.is_null() || cap == 0 {
        return;
    }
    let n = src.len().min(cap - 1);
    // SAFETY: `buf` has `cap > n` writable bytes; `src` does not overlap a
    // buffer the caller owns.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_macros_match_the_crate() {
        let v = format!("{RTWIRE_VERSION_MAJOR}.{RTWIRE_VERSION_MINOR}.{RTWIRE_VERSION_PATCH}");
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
        assert_eq!(VERSION_CSTR.to_str().unwrap(), v);
        assert_eq!(rtwire::VERSION, v);
    }

    #[test]
    fn the_guard_turns_a_panic_into_a_result() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r: rtwire_result = guard(|| panic!("boom"));
        let p = guard_or(std::ptr::null::<u8>(), || panic!("boom"));
        std::panic::set_hook(prev);
        assert_eq!(r, rtwire_result::Panic);
        assert!(p.is_null());
        assert_eq!(guard(|| rtwire_result::Ok), rtwire_result::Ok);
    }

    #[test]
    fn last_error_copies_like_snprintf() {
        let e = LastError::default();
        let mut buf = [1 as c_char; 8];
        assert_eq!(unsafe { e.copy_to(buf.as_mut_ptr(), buf.len()) }, 0);
        assert_eq!(buf[0], 0);
        e.set("hello world");
        assert_eq!(unsafe { e.copy_to(std::ptr::null_mut(), 0) }, 11);
        assert_eq!(unsafe { e.copy_to(buf.as_mut_ptr(), buf.len()) }, 11);
        let got = unsafe { CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(got.to_str().unwrap(), "hello w");
    }

    #[test]
    fn byte_arguments_allow_null_empty_only() {
        assert!(unsafe { arg_bytes(std::ptr::null(), 0) }
            .unwrap()
            .is_empty());
        assert!(matches!(
            unsafe { arg_bytes(std::ptr::null(), 3) },
            Err(ArgError::Null)
        ));
        let bad = [0xffu8, 0];
        assert!(matches!(
            unsafe { arg_str(bad.as_ptr().cast(), "x") },
            Err(ArgError::Invalid(_))
        ));
    }
}
