//! Calling a JavaScript callback straight from a libuv callback.
//!
//! When the loop hosts a connection (see `host`), its events are read in a
//! libuv callback on the JavaScript thread. Handing them to a threadsafe
//! function would cost another loop turn (a wake-up write, a poll and a
//! read) per batch; instead the batch is passed to the callback right there.
//! The first call of a libuv callback opens a callback scope in the
//! connection's async context, as Node does for its own I/O callbacks; the
//! calls run inside it, and the ticks and microtasks they queued (a
//! `for await` loop goes on, a Promise resolves) run when it closes: at the
//! end of the libuv callback ([`close_scope`]), after the connection has
//! written what the listeners sent, or before another connection's call. An
//! exception the callback throws is reported as uncaught, as for any event
//! listener.

use std::cell::RefCell;
use std::ptr;
use std::thread::ThreadId;

use napi::sys;

use crate::pool::Pool;

thread_local! {
    /// A direct call is running on this thread: JavaScript is on the stack.
    static CALLING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The callback scope open in this libuv callback, if any.
    static OPEN: std::cell::Cell<Option<Open>> = const { std::cell::Cell::new(None) };
}

/// A callback scope (and the handle scope of its resource) opened by a
/// direct call, kept open until the libuv callback ends.
#[derive(Debug, Clone, Copy)]
struct Open {
    env: sys::napi_env,
    /// The `Direct` whose async context it is in (compared, never used).
    owner: *const Direct,
    handles: sys::napi_handle_scope,
    scope: sys::napi_callback_scope,
}

/// Closes the callback scope a direct call opened, if any: the ticks and
/// microtasks queued in it run now. The host calls it at the end of every
/// libuv callback. While they run, JavaScript is on the stack: no event is
/// handed over directly (and no scope opened) until they are done.
pub(crate) fn close_scope() {
    if let Some(open) = OPEN.with(std::cell::Cell::take) {
        let outer = crate::host::set_in_loop_callback(false);
        // SAFETY: opened by `open_scope` on this thread, closed once, in
        // the reverse order of opening; nothing opened meanwhile (see above).
        unsafe {
            sys::napi_close_callback_scope(open.env, open.scope);
            sys::napi_close_handle_scope(open.env, open.handles);
        }
        crate::host::set_in_loop_callback(outer);
    }
}

/// Whether JavaScript called directly is on this thread's stack (then an
/// event must not be handed over synchronously: it would reach a listener
/// in the middle of, say, its own `send()`).
pub(crate) fn calling() -> bool {
    CALLING.with(std::cell::Cell::get)
}

/// The arguments of one call: up to three values.
#[derive(Debug)]
pub(crate) struct Args {
    argv: [sys::napi_value; 3],
    argc: usize,
}

impl Args {
    /// One argument.
    pub(crate) fn one(a: sys::napi_value) -> Args {
        Args {
            argv: [a, ptr::null_mut(), ptr::null_mut()],
            argc: 1,
        }
    }

    /// Three arguments.
    pub(crate) fn three(a: sys::napi_value, b: sys::napi_value, c: sys::napi_value) -> Args {
        Args {
            argv: [a, b, c],
            argc: 3,
        }
    }
}

/// A JavaScript function and an async context to call it in, and the pool
/// its binary messages are copied into (see `pool`).
pub(crate) struct Direct {
    env: sys::napi_env,
    func: sys::napi_ref,
    ctx: sys::napi_async_context,
    thread: ThreadId,
    pool: RefCell<Pool>,
}

// SAFETY: the handles and the pool are only used on `thread` (checked),
// where they were made; elsewhere `Direct` is only moved, shared or dropped
// (and then leaked).
unsafe impl Send for Direct {}
// SAFETY: as above: every method that touches a handle checks the thread.
unsafe impl Sync for Direct {}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Direct")
    }
}

impl Direct {
    /// Keeps `func` (a function value of `env`) for direct calls.
    pub(crate) fn new(env: sys::napi_env, func: sys::napi_value) -> Option<Direct> {
        let mut func_ref = ptr::null_mut();
        let mut name = ptr::null_mut();
        let mut ctx = ptr::null_mut();
        // SAFETY: called on the JavaScript thread with a live env and value.
        unsafe {
            if sys::napi_create_reference(env, func, 1, &mut func_ref) != sys::Status::napi_ok {
                return None;
            }
            let label = b"rtwire";
            if sys::napi_create_string_utf8(
                env,
                label.as_ptr().cast(),
                label.len() as isize,
                &mut name,
            ) != sys::Status::napi_ok
                || sys::napi_async_init(env, ptr::null_mut(), name, &mut ctx)
                    != sys::Status::napi_ok
            {
                sys::napi_delete_reference(env, func_ref);
                return None;
            }
        }
        Some(Direct {
            env,
            func: func_ref,
            ctx,
            thread: std::thread::current().id(),
            pool: RefCell::new(Pool::default()),
        })
    }

    /// Whether this thread may call.
    pub(crate) fn here(&self) -> bool {
        std::thread::current().id() == self.thread
    }

    /// Calls the function with `value`, turned into its arguments by
    /// `to_js` (which may use the pool) in a fresh handle scope. Only on the
    /// JavaScript thread, outside JavaScript (in a libuv callback). Hands
    /// `value` back if it could not call.
    pub(crate) fn call<T>(
        &self,
        value: T,
        to_js: impl FnOnce(sys::napi_env, &mut Pool, T) -> napi::Result<Args>,
    ) -> Result<(), T> {
        if !self.here() {
            return Err(value);
        }
        let Ok(mut pool) = self.pool.try_borrow_mut() else {
            return Err(value); // a call is already running further up
        };
        let env = self.env;
        let scoped = self.open_scope();
        // SAFETY: on the env's thread; every handle below lives in `scope`.
        unsafe {
            let mut scope = ptr::null_mut();
            if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
                return Err(value);
            }
            let mut func = ptr::null_mut();
            // `napi_make_callback` wants an object as `this`.
            let mut recv = ptr::null_mut();
            if sys::napi_get_reference_value(env, self.func, &mut func) != sys::Status::napi_ok
                || func.is_null()
                || sys::napi_get_global(env, &mut recv) != sys::Status::napi_ok
            {
                sys::napi_close_handle_scope(env, scope);
                return Err(value);
            }
            // A value that cannot be made (out of memory) is dropped, as a
            // threadsafe function would.
            if let Ok(args) = to_js(env, &mut pool, value) {
                drop(pool); // JavaScript may come back for another call
                let mut result = ptr::null_mut();
                let outer = CALLING.with(|c| c.replace(true));
                let status = if scoped {
                    sys::napi_call_function(
                        env,
                        recv,
                        func,
                        args.argc,
                        args.argv.as_ptr(),
                        &mut result,
                    )
                } else {
                    sys::napi_make_callback(
                        env,
                        self.ctx,
                        recv,
                        func,
                        args.argc,
                        args.argv.as_ptr(),
                        &mut result,
                    )
                };
                CALLING.with(|c| c.set(outer));
                if status == sys::Status::napi_pending_exception {
                    let mut err = ptr::null_mut();
                    if sys::napi_get_and_clear_last_exception(env, &mut err) == sys::Status::napi_ok
                    {
                        sys::napi_fatal_exception(env, err);
                    }
                }
            }
            sys::napi_close_handle_scope(env, scope);
            Ok(())
        }
    }
}

impl Direct {
    /// Within a libuv callback of the host, makes sure a callback scope in
    /// this connection's async context is open (closing another
    /// connection's first); false when there is none to be had (then the
    /// call goes through `napi_make_callback`).
    fn open_scope(&self) -> bool {
        if !crate::host::in_loop_callback() {
            return false;
        }
        let me: *const Direct = self;
        match OPEN.with(std::cell::Cell::get) {
            Some(open) if open.owner == me => return true,
            Some(_) => close_scope(),
            None => {}
        }
        let env = self.env;
        // SAFETY: on the env's thread, outside JavaScript (a libuv
        // callback); both scopes are closed by `close_scope`.
        unsafe {
            let mut handles = ptr::null_mut();
            if sys::napi_open_handle_scope(env, &mut handles) != sys::Status::napi_ok {
                return false;
            }
            let mut global = ptr::null_mut();
            let mut scope = ptr::null_mut();
            if sys::napi_get_global(env, &mut global) != sys::Status::napi_ok
                || sys::napi_open_callback_scope(env, global, self.ctx, &mut scope)
                    != sys::Status::napi_ok
            {
                sys::napi_close_handle_scope(env, handles);
                return false;
            }
            OPEN.with(|o| {
                o.set(Some(Open {
                    env,
                    owner: me,
                    handles,
                    scope,
                }))
            });
        }
        true
    }
}

impl Drop for Direct {
    fn drop(&mut self) {
        if !self.here() {
            return; // leaked: these handles may only be freed on their thread
        }
        let me: *const Direct = self;
        if OPEN
            .with(std::cell::Cell::get)
            .is_some_and(|o| o.owner == me)
        {
            close_scope(); // its async context goes below
        }
        self.pool.get_mut().release(self.env);
        // SAFETY: on the env's thread; each handle freed once.
        unsafe {
            sys::napi_async_destroy(self.env, self.ctx);
            sys::napi_delete_reference(self.env, self.func);
        }
    }
}
