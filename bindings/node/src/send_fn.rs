//! `trySend(data)`: a plain napi function bound to one connection's
//! sender, for the hot path of `send()`.
//!
//! A `#[napi]` method would first unwrap `this` (with a type-tag check) and
//! open a borrow scope for a `&[u8]` argument, which together cost about as
//! much as queueing the message. This function instead finds its sender in
//! the function's own data pointer and reads its one argument (a string or
//! a `Uint8Array`, checked by the JavaScript layer) with two napi calls.

use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use napi::bindgen_prelude::ToNapiValue;
use napi::sys;
use rtwire::{Data, Sender};

use crate::errors::ErrorInfo;
use crate::{direct, host};

/// A new `trySend` function over `sender`: it returns `null` when the
/// message was queued, `false` for bytes in a `SharedArrayBuffer` (which
/// other threads may change while they are copied: refused, the JavaScript
/// layer throws its `TypeError`), else the error's info (`queue_full`,
/// `closed`, ...).
/// The sender is freed with the function.
///
/// # Safety
/// On the JavaScript thread of `env`.
pub(crate) unsafe fn try_send_function(
    env: sys::napi_env,
    sender: Sender,
) -> napi::Result<sys::napi_value> {
    let data = Box::into_raw(Box::new(sender)).cast::<c_void>();
    let name = b"trySend";
    let mut func = ptr::null_mut();
    // SAFETY: per this function's contract; `data` lives until the
    // finalizer frees it, and is not freed twice.
    unsafe {
        if sys::napi_create_function(
            env,
            name.as_ptr().cast(),
            name.len() as isize,
            Some(try_send),
            data,
            &mut func,
        ) != sys::Status::napi_ok
        {
            drop(Box::from_raw(data.cast::<Sender>()));
            return Err(napi::Error::from_reason("cannot create trySend"));
        }
        if sys::napi_add_finalizer(
            env,
            func,
            data,
            Some(free_sender),
            ptr::null_mut(),
            ptr::null_mut(),
        ) != sys::Status::napi_ok
        {
            // The function exists but would never free it: leak rather
            // than free what it may still use.
            return Err(napi::Error::from_reason("cannot create trySend"));
        }
    }
    Ok(func)
}

unsafe extern "C" fn free_sender(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: the box made by `try_send_function`, freed once, by its finalizer.
    drop(unsafe { Box::from_raw(data.cast::<Sender>()) });
}

unsafe extern "C" fn try_send(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // No panic crosses into JavaScript.
    // SAFETY: napi calls this on the JavaScript thread with a live env and info.
    match catch_unwind(AssertUnwindSafe(|| unsafe { try_send_inner(env, info) })) {
        Ok(Ok(v)) => v,
        Ok(Err(msg)) => {
            // SAFETY: as above; the message is a NUL-terminated literal.
            unsafe { sys::napi_throw_type_error(env, ptr::null(), msg.as_ptr().cast()) };
            ptr::null_mut()
        }
        Err(_) => {
            let msg = b"rtwire: internal error in trySend\0";
            // SAFETY: as above.
            unsafe { sys::napi_throw_error(env, ptr::null(), msg.as_ptr().cast()) };
            ptr::null_mut()
        }
    }
}

/// # Safety
/// As for a napi callback.
unsafe fn try_send_inner(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> Result<sys::napi_value, &'static [u8]> {
    const WRONG: &[u8] = b"The \"data\" argument must be a string or a Uint8Array\0";
    let mut argc = 1usize;
    let mut arg = ptr::null_mut();
    let mut data = ptr::null_mut();
    // SAFETY: per this function's contract; room for one argument.
    let ok = unsafe {
        sys::napi_get_cb_info(env, info, &mut argc, &mut arg, ptr::null_mut(), &mut data)
    };
    if ok != sys::Status::napi_ok || argc < 1 || data.is_null() {
        return Err(WRONG);
    }
    // SAFETY: the sender of this function (see `try_send_function`), alive
    // as long as the function.
    let sender = unsafe { &*data.cast::<Sender>() };
    let mut result = ptr::null_mut();
    // SAFETY: `arg` is a live value of this call.
    let message = match unsafe { read_data(env, arg) } {
        Read::Data(d) => d,
        Read::Shared => {
            // SAFETY: as above.
            unsafe { sys::napi_get_boolean(env, false, &mut result) };
            return Ok(result);
        }
        Read::Wrong => return Err(WRONG),
    };
    // Within a direct call the connection's own task is running further up
    // and writes the message as soon as the listener returns: no nested
    // drain needed.
    let outcome = if direct::calling() {
        sender.try_send(message)
    } else {
        host::enter(|| sender.try_send(message))
    };
    match outcome {
        // SAFETY: as above.
        Ok(()) => unsafe { sys::napi_get_null(env, &mut result) },
        // SAFETY: as above.
        Err(e) => match unsafe { ErrorInfo::to_napi_value(env, ErrorInfo::from(e)) } {
            Ok(v) => {
                result = v;
                sys::Status::napi_ok
            }
            Err(_) => return Err(b"rtwire: cannot report the send error\0"),
        },
    };
    Ok(result)
}

/// What `trySend` was given.
enum Read {
    /// A message to queue.
    Data(Data),
    /// A view of a `SharedArrayBuffer`.
    Shared,
    /// Neither a string nor a `Uint8Array`.
    Wrong,
}

/// A string as text, a `Uint8Array` as binary (copied).
///
/// # Safety
/// On the JavaScript thread of `env`, with `v` live.
unsafe fn read_data(env: sys::napi_env, v: sys::napi_value) -> Read {
    // SAFETY: per this function's contract.
    match unsafe { read_value(env, v) } {
        Some(r) => r,
        None => Read::Wrong,
    }
}

/// # Safety
/// As for [`read_data`].
unsafe fn read_value(env: sys::napi_env, v: sys::napi_value) -> Option<Read> {
    let mut kind = 0;
    // SAFETY: per this function's contract.
    unsafe {
        if sys::napi_typeof(env, v, &mut kind) != sys::Status::napi_ok {
            return None;
        }
        if kind == sys::ValueType::napi_string {
            let mut len = 0usize;
            if sys::napi_get_value_string_utf8(env, v, ptr::null_mut(), 0, &mut len)
                != sys::Status::napi_ok
            {
                return None;
            }
            let mut buf = Vec::<u8>::with_capacity(len + 1);
            let mut written = 0usize;
            if sys::napi_get_value_string_utf8(
                env,
                v,
                buf.as_mut_ptr().cast(),
                len + 1,
                &mut written,
            ) != sys::Status::napi_ok
            {
                return None;
            }
            buf.set_len(written.min(len));
            // V8 writes UTF-8 (lone surrogates as U+FFFD).
            return String::from_utf8(buf)
                .ok()
                .map(|s| Read::Data(Data::from(s)));
        }
        let mut is_typed = false;
        if sys::napi_is_typedarray(env, v, &mut is_typed) != sys::Status::napi_ok || !is_typed {
            return None;
        }
        let mut ty = 0;
        let mut len = 0usize;
        let mut bytes = ptr::null_mut();
        let mut buffer = ptr::null_mut();
        let mut offset = 0usize;
        if sys::napi_get_typedarray_info(
            env,
            v,
            &mut ty,
            &mut len,
            &mut bytes,
            &mut buffer,
            &mut offset,
        ) != sys::Status::napi_ok
            || ty != sys::TypedarrayType::uint8_array
        {
            return None;
        }
        // `napi_is_arraybuffer` is false for a SharedArrayBuffer.
        let mut plain = false;
        if sys::napi_is_arraybuffer(env, buffer, &mut plain) != sys::Status::napi_ok || !plain {
            return Some(Read::Shared);
        }
        if len == 0 || bytes.is_null() {
            return Some(Read::Data(Data::from(&[][..])));
        }
        Some(Read::Data(Data::from(std::slice::from_raw_parts(
            bytes.cast::<u8>(),
            len,
        ))))
    }
}
