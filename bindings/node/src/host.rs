//! The JavaScript thread's libuv loop as the host of its connections (see
//! `rtwire::hosted`): their tasks run on that thread and their sockets are
//! watched by libuv (`uv_poll_t`), so a message is read and parsed in the
//! loop's own callback, and `send` writes before it returns. The tokio
//! runtime only does what is rare (name resolution, the TCP connect,
//! timers) and wakes the loop with a `uv_async_t`.
//!
//! Every libuv handle made here is unreferenced: whether the process stays
//! alive is decided by the JavaScript layer (`ref()`/`unref()`), as before.
//! `RTWIRE_NODE_LOOP_IO=0` turns hosting off (connections then run on the
//! runtime's thread and events cross with a threadsafe function).

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::RawFd;
use std::os::raw::{c_int, c_void};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use napi::sys::uv_loop_s;
use napi::Env;
use rtwire::hosted::{Host, Reactor};

// libuv, as exported by the node executable that loads this addon.
extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_async_init(lp: *mut uv_loop_s, h: *mut c_void, cb: extern "C" fn(*mut c_void)) -> c_int;
    fn uv_async_send(h: *mut c_void) -> c_int;
    fn uv_poll_init(lp: *mut uv_loop_s, h: *mut c_void, fd: c_int) -> c_int;
    fn uv_poll_start(
        h: *mut c_void,
        events: c_int,
        cb: extern "C" fn(*mut c_void, c_int, c_int),
    ) -> c_int;
    fn uv_poll_stop(h: *mut c_void) -> c_int;
    fn uv_close(h: *mut c_void, cb: extern "C" fn(*mut c_void));
    fn uv_unref(h: *mut c_void);
}

/// `uv_handle_type` values (libuv's `UV_HANDLE_TYPE_MAP` order).
const UV_ASYNC: c_int = 1;
const UV_POLL: c_int = 8;
/// `uv_poll_event` bits.
const UV_READABLE: c_int = 1;
const UV_WRITABLE: c_int = 2;

/// A libuv handle's memory: zeroed, sized by libuv at run time. Its first
/// field is libuv's `void *data`, which holds our token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Handle(*mut c_void);

// SAFETY: the pointer is only dereferenced by libuv on the loop's thread,
// except `uv_async_send`, which libuv documents as thread-safe.
unsafe impl Send for Handle {}
// SAFETY: as above; the handles are shared behind mutexes.
unsafe impl Sync for Handle {}

fn layout(kind: c_int) -> Layout {
    // SAFETY: a pure function of libuv.
    let size = unsafe { uv_handle_size(kind) };
    Layout::from_size_align(size.max(8), 16).unwrap_or(Layout::new::<[u64; 32]>())
}

impl Handle {
    fn alloc(kind: c_int, data: usize) -> Handle {
        // SAFETY: a non-zero size; the first word is `void *data`.
        unsafe {
            let p = alloc_zeroed(layout(kind)).cast::<c_void>();
            if p.is_null() {
                std::alloc::handle_alloc_error(layout(kind));
            }
            *(p.cast::<usize>()) = data;
            Handle(p)
        }
    }

    fn data(h: *mut c_void) -> usize {
        // SAFETY: `h` is a handle made by `alloc`, alive during callbacks.
        unsafe { *(h.cast::<usize>()) }
    }
}

extern "C" fn free_poll(h: *mut c_void) {
    // SAFETY: allocated by `Handle::alloc(UV_POLL, ..)`; libuv is done with it.
    unsafe { dealloc(h.cast::<u8>(), layout(UV_POLL)) }
}

extern "C" fn free_async(h: *mut c_void) {
    // SAFETY: allocated by `Handle::alloc(UV_ASYNC, ..)`; libuv is done with it.
    unsafe { dealloc(h.cast::<u8>(), layout(UV_ASYNC)) }
}

/// The loop, as the host sees it.
#[derive(Debug)]
struct UvReactor {
    lp: Handle,
    /// The wake-up handle; `None` once the environment is torn down.
    wake: Mutex<Option<Handle>>,
    /// Poll handles by socket token; `None` once torn down (later watches
    /// are ignored: the loop is going away).
    polls: Mutex<Option<HashMap<u64, Handle>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Reactor for UvReactor {
    fn wake(&self) {
        if let Some(h) = *lock(&self.wake) {
            // SAFETY: the handle stays open while it is in `wake`.
            unsafe { uv_async_send(h.0) };
        }
    }

    fn watch(&self, fd: RawFd, token: u64, read: bool, write: bool) {
        let mut guard = lock(&self.polls);
        let Some(polls) = guard.as_mut() else {
            return;
        };
        if !read && !write {
            if let Some(h) = polls.remove(&token) {
                // SAFETY: an initialized poll handle, closed once.
                unsafe {
                    uv_poll_stop(h.0);
                    uv_close(h.0, free_poll);
                }
            }
            return;
        }
        let h = match polls.get(&token) {
            Some(h) => *h,
            None => {
                let h = Handle::alloc(UV_POLL, token as usize);
                // SAFETY: fresh handle memory of libuv's size, on the loop thread.
                if unsafe { uv_poll_init(self.lp.0.cast(), h.0, fd) } != 0 {
                    free_poll(h.0);
                    return;
                }
                // SAFETY: as above.
                unsafe { uv_unref(h.0) };
                polls.insert(token, h);
                h
            }
        };
        let events = if read { UV_READABLE } else { 0 } | if write { UV_WRITABLE } else { 0 };
        // SAFETY: an initialized poll handle.
        unsafe { uv_poll_start(h.0, events, on_poll) };
    }
}

impl UvReactor {
    /// Closes every handle (environment teardown).
    fn close_all(&self) {
        let polls = lock(&self.polls).take().unwrap_or_default();
        for h in polls.into_values() {
            // SAFETY: initialized poll handles, closed once.
            unsafe {
                uv_poll_stop(h.0);
                uv_close(h.0, free_poll);
            }
        }
        if let Some(h) = lock(&self.wake).take() {
            // SAFETY: the async handle, closed once, no longer reachable by `wake`.
            unsafe { uv_close(h.0, free_async) };
        }
    }
}

struct LoopHost {
    host: Host,
    reactor: Arc<UvReactor>,
}

thread_local! {
    /// The host of this JavaScript thread's loop, made on first use.
    static HOST: RefCell<Option<LoopHost>> = const { RefCell::new(None) };
}

thread_local! {
    /// Set while a libuv callback of the host runs: JavaScript is not on
    /// the stack, so events may be handed to it directly (see `direct`).
    static IN_LOOP_CALLBACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is in one of the host's libuv callbacks (and not in
/// a call from JavaScript).
pub(crate) fn in_loop_callback() -> bool {
    IN_LOOP_CALLBACK.with(std::cell::Cell::get)
}

/// Sets whether this thread counts as in a loop callback; the old value.
pub(crate) fn set_in_loop_callback(on: bool) -> bool {
    IN_LOOP_CALLBACK.with(|c| c.replace(on))
}

fn loop_callback(f: impl FnOnce(&Host)) {
    let Some(host) = current() else {
        return;
    };
    let outer = set_in_loop_callback(true);
    f(&host);
    crate::direct::close_scope();
    set_in_loop_callback(outer);
}

extern "C" fn on_wake(_h: *mut c_void) {
    loop_callback(Host::run);
}

extern "C" fn on_poll(h: *mut c_void, status: c_int, events: c_int) {
    let token = Handle::data(h) as u64;
    // An error (status < 0) is reported as both: the next read or write
    // returns it.
    let (r, w) = if status < 0 {
        (true, true)
    } else {
        (events & UV_READABLE != 0, events & UV_WRITABLE != 0)
    };
    loop_callback(|host| host.ready(token, r, w));
}

fn current() -> Option<Host> {
    HOST.with(|h| h.borrow().as_ref().map(|l| l.host.clone()))
}

/// Runs `f`, then (on a hosting thread) the connection tasks it woke: a
/// message sent is written before this returns.
pub(crate) fn enter<R>(f: impl FnOnce() -> R) -> R {
    match current() {
        Some(h) => h.enter(f),
        None => f(),
    }
}

/// The runtime behind hosts (set by the module's init).
pub(crate) static RUNTIME: OnceLock<tokio::runtime::Handle> = OnceLock::new();

/// Whether connections run on the JavaScript thread's loop.
pub(crate) fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("RTWIRE_NODE_LOOP_IO").map_or(true, |v| v != "0"))
}

/// The host of this thread's loop, made on first use; `None` when hosting
/// is off or the loop cannot be reached.
pub(crate) fn host(env: &Env) -> Option<Host> {
    if !enabled() {
        return None;
    }
    if let Some(h) = current() {
        return Some(h);
    }
    let runtime = RUNTIME.get()?.clone();
    let lp = env.get_uv_event_loop().ok()?;
    let wake = Handle::alloc(UV_ASYNC, 0);
    // SAFETY: fresh handle memory of libuv's size, on the loop thread.
    if unsafe { uv_async_init(lp, wake.0, on_wake) } != 0 {
        free_async(wake.0);
        return None;
    }
    // SAFETY: an initialized handle.
    unsafe { uv_unref(wake.0) };
    let reactor = Arc::new(UvReactor {
        lp: Handle(lp.cast()),
        wake: Mutex::new(Some(wake)),
        polls: Mutex::new(Some(HashMap::new())),
    });
    let host = Host::new(reactor.clone(), runtime);
    HOST.with(|h| {
        *h.borrow_mut() = Some(LoopHost {
            host: host.clone(),
            reactor,
        })
    });
    // Torn down with the environment (a worker's, or the main one at exit):
    // libuv handles closed, tasks dropped.
    let _ = env.add_env_cleanup_hook((), |()| {
        if let Some(l) = HOST.with(|h| h.borrow_mut().take()) {
            l.reactor.close_all();
            drop(l.host);
        }
    });
    Some(host)
}
