//! `rtwire_options`: connection settings.
//!
//! Every option of the schema (`rtwire::options::SCHEMA`, listed in
//! `docs/options.md`) is set by its canonical name from text with
//! `rtwire_options_set()`, switched off with `rtwire_options_unset()`, or
//! set from a C value by the setter generated for it in
//! [`crate::options_gen`]. All of them go through [`set`] or [`set_arg`]:
//! core checks the value, and its error text is recorded on the handle
//! (`rtwire_options_last_error()`).

use std::ffi::c_char;
use std::sync::{Arc, Mutex};

use rtwire::options::{spec, Value};
use rtwire::Options;

use crate::handle::{from_ptr, to_ptr, Table};
use crate::{arg_bytes, arg_str, guard, guard_or, rtwire_result, ArgError, LastError};

/// A set of connection options (opaque). Create with `rtwire_options_new()`,
/// free with `rtwire_options_free()`. `rtwire_context_connect()` copies the
/// options, so one object can serve many connections and may be freed right
/// after connecting.
///
/// Thread safety: every function may be called from any thread; calls on the
/// same object are serialised internally.
#[derive(Debug)]
pub struct rtwire_options {
    _private: [u8; 0],
}

#[derive(Debug)]
pub(crate) struct OptionsObj {
    pub(crate) options: Mutex<Options>,
    last_error: LastError,
}

pub(crate) static OPTIONS: Table<OptionsObj> = Table::new(1);

/// The options behind a handle, copied.
pub(crate) fn snapshot(opts: *const rtwire_options) -> Option<Options> {
    let obj = OPTIONS.get(from_ptr(opts))?;
    let o = obj.options.lock().unwrap_or_else(|e| e.into_inner());
    Some(o.clone())
}

/// Creates an options object with every option at its default and writes
/// it to `*out`.
///
/// The defaults are listed in `docs/options.md`.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_NULL_ARGUMENT` (`out` is NULL;
/// nothing is allocated) or `RTWIRE_RESULT_INTERNAL` (too many live
/// handles). `*out` is written only on success. The caller owns the object
/// and frees it with `rtwire_options_free()`. Thread-safe.
///
/// # Safety
/// `out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_new(out: *mut *mut rtwire_options) -> rtwire_result {
    guard(|| {
        if out.is_null() {
            return rtwire_result::NullArgument;
        }
        let obj = Arc::new(OptionsObj {
            options: Mutex::new(Options::new()),
            last_error: LastError::default(),
        });
        match OPTIONS.insert(obj) {
            Some(h) => {
                // SAFETY: `out` is non-NULL and points to writable storage
                // per the API contract.
                unsafe { *out = to_ptr(h) };
                rtwire_result::Ok
            }
            None => rtwire_result::Internal,
        }
    })
}

/// Frees an options object. Connections made with it are unaffected (they
/// hold a copy).
///
/// Returns `RTWIRE_RESULT_OK`, or `RTWIRE_RESULT_INVALID_HANDLE` for NULL,
/// an already freed object (double free) or a handle of another type.
/// Thread-safe; after it returns, every call with `opts` returns
/// `RTWIRE_RESULT_INVALID_HANDLE`.
#[no_mangle]
pub extern "C" fn rtwire_options_free(opts: *mut rtwire_options) -> rtwire_result {
    guard(|| match OPTIONS.remove(from_ptr(opts)) {
        Some(_) => rtwire_result::Ok,
        None => rtwire_result::InvalidHandle,
    })
}

/// Runs a setter on a live options object.
fn with(
    opts: *mut rtwire_options,
    f: impl FnOnce(&mut Options, &LastError) -> rtwire_result,
) -> rtwire_result {
    guard(|| {
        let Some(obj) = OPTIONS.get(from_ptr(opts)) else {
            return rtwire_result::InvalidHandle;
        };
        let mut o = obj.options.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut o, &obj.last_error)
    })
}

/// Takes a string argument or records why not.
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn string(
    p: *const c_char,
    what: &str,
    err: &LastError,
) -> Result<String, rtwire_result> {
    // SAFETY: forwarded contract.
    unsafe { arg_str(p, what) }
        .map(str::to_owned)
        .map_err(|e| err.arg(e, what))
}

/// Sets option `name` to `value` through core, recording core's error text
/// on the handle and returning the code of its kind.
pub(crate) fn set(opts: *mut rtwire_options, name: &str, value: Value) -> rtwire_result {
    with(opts, |o, err| apply(o, err, name, value))
}

fn apply(o: &mut Options, err: &LastError, name: &str, value: Value) -> rtwire_result {
    match o.set(name, value) {
        Ok(()) => rtwire_result::Ok,
        Err(e) => err.error(&e),
    }
}

/// A C size or count as a [`Value`] (one beyond `i64` stays out of range).
pub(crate) fn count(n: usize) -> Value {
    i64::try_from(n).map_or(Value::Float(n as f64), Value::Int)
}

/// The pointer arguments of a generated setter, read inside the panic
/// boundary by [`set_arg`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg {
    /// A NUL-terminated string; NULL unsets an option that can be off.
    Text(*const c_char),
    /// `len` bytes of PEM text; NULL unsets.
    Pem(*const u8, usize),
    /// A string appended to a list option.
    Item(*const c_char),
    /// A header name and value appended to a list of headers.
    Header(*const c_char, *const c_char),
}

/// As [`set`], from pointer arguments; a NULL or non-UTF-8 string is
/// recorded like core's errors.
///
/// # Safety
/// Every non-NULL pointer in `arg` is a NUL-terminated string, or for
/// [`Arg::Pem`] points to `len` readable bytes.
pub(crate) unsafe fn set_arg(opts: *mut rtwire_options, name: &str, arg: Arg) -> rtwire_result {
    with(opts, |o, err| {
        let off = spec(name).is_some_and(|s| s.optional.is_some());
        // SAFETY: per this function's contract.
        let text = |p, what: &str| unsafe { string(p, what, err) };
        let value = match arg {
            Arg::Text(p) if p.is_null() && off => Value::Off,
            Arg::Pem(p, _) if p.is_null() && off => Value::Off,
            Arg::Text(p) => Value::Text(tri!(text(p, name))),
            // SAFETY: per this function's contract.
            Arg::Pem(p, len) => match unsafe { arg_bytes(p, len) } {
                Ok(b) if !p.is_null() => Value::Bytes(b.to_vec()),
                Ok(_) => return err.arg(ArgError::Null, name),
                Err(e) => return err.arg(e, name),
            },
            Arg::Item(p) => {
                let mut list = match o.get(name) {
                    Some(Value::List(l)) => l,
                    _ => Vec::new(),
                };
                list.push(tri!(text(p, name)));
                Value::List(list)
            }
            Arg::Header(n, v) => {
                let mut pairs = match o.get(name) {
                    Some(Value::Pairs(l)) => l,
                    _ => Vec::new(),
                };
                pairs.push((tri!(text(n, "header name")), tri!(text(v, "header value"))));
                Value::Pairs(pairs)
            }
        };
        apply(o, err, name, value)
    })
}

/// Sets the option with canonical name `name` (see `docs/options.md`) from
/// text, as a configuration file gives it: `true`/`false`, sizes in bytes
/// with an optional `KiB`/`MiB`/`GiB` suffix (`64KiB`), durations with a
/// unit (`250ms`, `10s`, `2m`) or in seconds, `off` where the option can be
/// off, comma-separated lists (each call adds to the list) and `Name: value`
/// for a header (each call adds one). Both strings are copied.
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (an
/// unknown name, text that is not of the option's kind or out of its
/// range; the reason, naming the option, in `rtwire_options_last_error()`).
///
/// # Safety
/// `name` and `value` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_set(
    opts: *mut rtwire_options,
    name: *const c_char,
    value: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let name = tri!(unsafe { string(name, "option name", err) });
        // SAFETY: per this function's contract.
        let value = tri!(unsafe { string(value, &format!("the value of {name}"), err) });
        match o.set_text(&name, &value) {
            Ok(()) => rtwire_result::Ok,
            Err(e) => err.error(&e),
        }
    })
}

/// Switches off or unsets the option with canonical name `name`: no pings
/// for `keepalive.interval`, unlimited attempts for
/// `reconnect.max_attempts`, no proxy for `proxy`, the system roots for
/// `tls.ca_file`, and so on (`docs/options.md` says what off means for each
/// option that can be off).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE`,
/// `RTWIRE_RESULT_NULL_ARGUMENT` or `RTWIRE_RESULT_INVALID_ARGUMENT` (an
/// unknown name, or an option that cannot be off; the reason in
/// `rtwire_options_last_error()`).
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_unset(
    opts: *mut rtwire_options,
    name: *const c_char,
) -> rtwire_result {
    with(opts, |o, err| {
        // SAFETY: per this function's contract.
        let name = tri!(unsafe { string(name, "option name", err) });
        apply(o, err, &name, Value::Off)
    })
}

/// Checks the options as a whole, as `rtwire_context_connect()` does before
/// any I/O: every option's rule again, and the rules between options (a
/// client certificate and its key go together; a CA file or PEM text, not
/// both; the reconnect delays' cap not below the first delay).
///
/// Returns `RTWIRE_RESULT_OK`, `RTWIRE_RESULT_INVALID_HANDLE` or
/// `RTWIRE_RESULT_INVALID_ARGUMENT` (the reason in
/// `rtwire_options_last_error()`). Thread-safe.
#[no_mangle]
pub extern "C" fn rtwire_options_validate(opts: *mut rtwire_options) -> rtwire_result {
    with(opts, |o, err| match o.validate() {
        Ok(()) => rtwire_result::Ok,
        Err(e) => err.error(&e),
    })
}

/// Copies the text of the last error recorded on this options object into
/// `buf` (at most `cap` bytes including the NUL; truncated to fit; nothing
/// written when `buf` is NULL or `cap` is 0) and returns the full length of
/// the text, excluding the NUL, like `snprintf`. Returns 0 when there is no
/// error text or the handle is invalid. Thread-safe.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn rtwire_options_last_error(
    opts: *const rtwire_options,
    buf: *mut c_char,
    cap: usize,
) -> usize {
    guard_or(0, || match OPTIONS.get(from_ptr(opts)) {
        // SAFETY: per this function's contract.
        Some(obj) => unsafe { obj.last_error.copy_to(buf, cap) },
        None => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options_gen::*;
    use rtwire::options::{Kind, SCHEMA};
    use std::ptr::null;

    fn new() -> *mut rtwire_options {
        let mut o = std::ptr::null_mut();
        assert_eq!(unsafe { rtwire_options_new(&mut o) }, rtwire_result::Ok);
        o
    }

    fn last_error(o: *mut rtwire_options) -> String {
        let mut buf = [0 as c_char; 256];
        let n = unsafe { rtwire_options_last_error(o, buf.as_mut_ptr(), buf.len()) };
        let s = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(n, s.to_bytes().len());
        s.to_str().unwrap().to_owned()
    }

    #[test]
    fn setters_go_through_core() {
        let o = new();
        assert_eq!(
            rtwire_options_set_max_message_size(o, 4096),
            rtwire_result::Ok
        );
        assert_eq!(
            rtwire_options_set_max_message_size(o, 0),
            rtwire_result::InvalidArgument
        );
        assert!(last_error(o).contains("limits.max_message_size"));
        assert_eq!(
            rtwire_options_set_max_message_size(o, usize::MAX),
            rtwire_result::InvalidArgument
        );
        assert_eq!(
            rtwire_options_set_open_timeout_ms(o, 0),
            rtwire_result::InvalidArgument
        );
        assert_eq!(
            rtwire_options_set_reconnect_max_attempts(o, 0),
            rtwire_result::Ok
        );
        let t = unsafe { rtwire_options_set_transport(o, c"SSE".as_ptr()) };
        assert_eq!(t, rtwire_result::Ok);
        let t = unsafe { rtwire_options_set_transport(o, c"pigeon".as_ptr()) };
        assert_eq!(t, rtwire_result::InvalidArgument);
        let t = unsafe { rtwire_options_set_transport(o, null()) };
        assert_eq!(t, rtwire_result::NullArgument);
        let r = unsafe { rtwire_options_set_origin(o, c"http://a".as_ptr()) };
        assert_eq!(r, rtwire_result::Ok);
        let r = unsafe { rtwire_options_add_subprotocol(o, c"a".as_ptr()) };
        assert_eq!(r, rtwire_result::Ok);
        let r = unsafe { rtwire_options_add_subprotocol(o, c"b".as_ptr()) };
        assert_eq!(r, rtwire_result::Ok);
        let r = unsafe { rtwire_options_add_header(o, c"X-A".as_ptr(), c"1".as_ptr()) };
        assert_eq!(r, rtwire_result::Ok);
        let pem = b"-----BEGIN CERTIFICATE-----\n";
        let r = unsafe { rtwire_options_set_ca_pem(o, pem.as_ptr(), pem.len()) };
        assert_eq!(r, rtwire_result::Ok);
        let r = unsafe { rtwire_options_set_ca_pem(o, b"nope".as_ptr(), 4) };
        assert_eq!(r, rtwire_result::InvalidArgument);
        let got = snapshot(o).unwrap();
        assert_eq!(got.limits.max_message_size, 4096);
        assert_eq!(got.reconnect.max_attempts, Some(0));
        assert_eq!(got.transport, rtwire::Transport::Sse);
        assert_eq!(got.origin.as_deref(), Some("http://a"));
        assert_eq!(got.subprotocols, ["a", "b"]);
        assert_eq!(got.headers, [("X-A".to_string(), "1".to_string())]);
        assert_eq!(got.tls.ca_pem.as_deref(), Some(&pem[..]));
        // NULL unsets an option that can be off.
        assert_eq!(
            unsafe { rtwire_options_set_origin(o, null()) },
            rtwire_result::Ok
        );
        assert_eq!(
            unsafe { rtwire_options_set_ca_pem(o, null(), 0) },
            rtwire_result::Ok
        );
        let got = snapshot(o).unwrap();
        assert_eq!((got.origin, got.tls.ca_pem), (None, None));
        assert_eq!(rtwire_options_free(o), rtwire_result::Ok);
        assert_eq!(
            rtwire_options_set_insecure(o, true),
            rtwire_result::InvalidHandle
        );
    }

    #[test]
    fn validate_checks_the_rules_between_options() {
        let o = new();
        assert_eq!(rtwire_options_validate(o), rtwire_result::Ok);
        let set = |n: &std::ffi::CStr, v: &std::ffi::CStr| unsafe {
            rtwire_options_set(o, n.as_ptr(), v.as_ptr())
        };
        assert_eq!(set(c"reconnect.max_delay", c"100ms"), rtwire_result::Ok);
        assert_eq!(rtwire_options_validate(o), rtwire_result::InvalidArgument);
        assert!(last_error(o).contains("max_delay"), "{}", last_error(o));
        assert_eq!(set(c"reconnect.initial_delay", c"0"), rtwire_result::Ok);
        assert_eq!(rtwire_options_validate(o), rtwire_result::Ok);
        assert_eq!(
            rtwire_options_validate(std::ptr::null_mut()),
            rtwire_result::InvalidHandle
        );
    }

    #[test]
    fn set_by_name_and_unset() {
        let o = new();
        let set = |n: &std::ffi::CStr, v: &std::ffi::CStr| unsafe {
            rtwire_options_set(o, n.as_ptr(), v.as_ptr())
        };
        assert_eq!(set(c"limits.max_message_size", c"64KiB"), rtwire_result::Ok);
        assert_eq!(set(c"keepalive.interval", c"250ms"), rtwire_result::Ok);
        assert_eq!(set(c"headers", c"X-A: 1"), rtwire_result::Ok);
        assert_eq!(
            set(c"limits.max_message_size", c"0"),
            rtwire_result::InvalidArgument
        );
        assert!(last_error(o).contains("limits.max_message_size"));
        assert_eq!(set(c"no.such", c"1"), rtwire_result::InvalidArgument);
        assert!(last_error(o).contains("no.such"));
        let r = unsafe { rtwire_options_set(o, null(), c"1".as_ptr()) };
        assert_eq!(r, rtwire_result::NullArgument);
        let r = unsafe { rtwire_options_set(o, c"origin".as_ptr(), null()) };
        assert_eq!(r, rtwire_result::NullArgument);
        let got = snapshot(o).unwrap();
        assert_eq!(got.limits.max_message_size, 64 << 10);
        assert_eq!(
            got.keepalive.interval,
            Some(std::time::Duration::from_millis(250))
        );
        let unset = |n: &std::ffi::CStr| unsafe { rtwire_options_unset(o, n.as_ptr()) };
        assert_eq!(unset(c"keepalive.interval"), rtwire_result::Ok);
        assert_eq!(unset(c"reconnect.max_attempts"), rtwire_result::Ok);
        assert_eq!(unset(c"open_timeout"), rtwire_result::InvalidArgument);
        assert!(last_error(o).contains("open_timeout"));
        assert_eq!(unset(c"no.such"), rtwire_result::InvalidArgument);
        let r = unsafe { rtwire_options_unset(o, null()) };
        assert_eq!(r, rtwire_result::NullArgument);
        let got = snapshot(o).unwrap();
        assert_eq!(got.keepalive.interval, None);
        assert_eq!(got.reconnect.max_attempts, None);
        assert_eq!(rtwire_options_free(o), rtwire_result::Ok);
    }

    /// The C function of option `c` of kind `kind`, as `tools/gen` names it.
    fn c_name(kind: Kind, c: &str) -> String {
        match kind {
            Kind::Tokens | Kind::Headers => format!("rtwire_options_add_{c}"),
            Kind::Duration { .. } => format!("rtwire_options_set_{c}_ms"),
            _ => format!("rtwire_options_set_{c}"),
        }
    }

    #[test]
    fn the_header_has_one_setter_per_option() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../include/rtwire.h");
        let header = std::fs::read_to_string(path).unwrap();
        let declared: std::collections::BTreeSet<&str> = header
            .lines()
            .filter(|l| l.starts_with("rtwire_result "))
            .filter_map(|l| l["rtwire_result ".len()..].split_once('(').map(|(f, _)| f))
            .filter(|f| {
                f.starts_with("rtwire_options_set_") || f.starts_with("rtwire_options_add_")
            })
            .collect();
        let wanted: std::collections::BTreeSet<String> = SCHEMA
            .iter()
            .filter(|s| !s.c.is_empty())
            .map(|s| c_name(s.kind, s.c))
            .collect();
        for w in &wanted {
            assert!(
                declared.contains(w.as_str()),
                "{w} is missing from include/rtwire.h: run `cargo run -p rtwire-gen` and \
                 ffi/gen-header.sh"
            );
        }
        for d in &declared {
            assert!(
                wanted.contains(*d),
                "{d} in include/rtwire.h sets no option of the schema"
            );
        }
    }
}
