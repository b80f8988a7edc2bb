//! Connections driven on the application's own event-loop thread.
//!
//! By default a connection runs as a task on a tokio runtime, and every
//! message crosses from the application's thread to a runtime thread and
//! back: two thread wake-ups per round trip. A binding whose application
//! already runs an event loop (asyncio, libuv) can instead give the
//! connection a [`Host`] (connect with [`connect`] instead of
//! [`crate::connect`]):
//!
//! - the connection's task is polled on the loop's thread, by
//!   [`Host::run`], [`Host::ready`] and [`Host::enter`];
//! - its TCP socket (direct connections; a proxy tunnel stays on the
//!   runtime) is watched by the loop itself, through the binding's
//!   [`Reactor`], so a message goes from the socket to the application,
//!   and from `send` to the socket, without changing threads.
//!
//! The tokio runtime still does what is rare: name resolution, the TCP
//! connect, timers, the HTTP transports. Its wake-ups reach the loop through
//! [`Reactor::wake`], after which the loop calls [`Host::run`].
//!
//! A host belongs to the thread that created it. Its tasks hold it weakly:
//! dropping the last [`Host`] drops the tasks (their sockets are closed
//! without a close handshake), so a binding keeps it as long as its loop.
//!
//! ```
//! use std::os::fd::RawFd;
//! use std::sync::Arc;
//! use rtwire::hosted::{Host, Reactor};
//!
//! /// A reactor for a loop that polls its descriptors itself.
//! #[derive(Debug, Default)]
//! struct MyLoop;
//! impl Reactor for MyLoop {
//!     fn wake(&self) { /* make the loop thread call Host::run soon */ }
//!     fn watch(&self, _fd: RawFd, _token: u64, _read: bool, _write: bool) {
//!         /* (un)register fd; on readiness call host.ready(token, r, w) */
//!     }
//! }
//!
//! let rt = tokio::runtime::Runtime::new().unwrap();
//! let host = Host::new(Arc::new(MyLoop), rt.handle().clone());
//! // rtwire::hosted::connect(&host, "ws://127.0.0.1:9001/", rtwire::Options::new())
//! # let _ = &host;
//! ```

mod io;

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::os::fd::RawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Wake, Waker};

pub(crate) use io::HostIo;

/// The application's event loop, as the host sees it. Implemented by the
/// binding.
pub trait Reactor: Send + Sync + fmt::Debug + 'static {
    /// Asks the loop to call [`Host::run`] soon, on its thread. Called from
    /// any thread, runtime threads included; must not block.
    fn wake(&self);

    /// Sets which readiness of `fd` the loop reports to [`Host::ready`]
    /// (with `token`): readable, writable, both, or neither — neither means
    /// stop watching `fd`, which is closed right after. Readiness is
    /// level-triggered: report it on every loop turn while it lasts.
    /// Called on the host's thread only, from within [`Host::run`],
    /// [`Host::ready`] or [`Host::enter`].
    fn watch(&self, fd: RawFd, token: u64, read: bool, write: bool);
}

/// The error of a connection whose host was dropped.
/// Connects as [`crate::connect`] does, with the connection's task driven
/// on `host`'s loop. The URL and options are checked at once; the host is
/// held weakly from then on: the connection ends (or fails to open, with
/// [`ErrorKind::Closed`](crate::ErrorKind::Closed)) when the last [`Host`]
/// is dropped.
///
/// # Errors
/// As [`crate::connect`].
pub fn connect(
    host: &Host,
    url: &str,
    options: crate::Options,
) -> impl Future<Output = Result<crate::Connection, crate::Error>> + Send + 'static {
    let plan = crate::transport::Plan::new(url, options).map(|mut plan| {
        plan.hosted_by = Some(host.downgrade());
        plan
    });
    async move { crate::client::connect_planned(plan?).await }
}

pub(crate) fn gone() -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::Closed,
        "the event loop driving this connection is gone",
    )
}

/// Polls at most this many task wake-ups per [`Host::run`]; the rest wait
/// for the next loop turn, so that a busy connection cannot starve the loop.
const BUDGET: usize = 256;

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Runs connection tasks on the thread of an application's event loop.
/// Cloning gives another handle to the same host.
#[derive(Clone)]
pub struct Host {
    inner: Arc<Shared>,
}

/// A weak handle to a [`Host`], as kept by [`Options`](crate::Options) (a
/// connection must not keep its host alive).
#[derive(Clone, Default)]
pub struct HostRef(Weak<Shared>);

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host")
            .field("tasks", &lock(&self.inner.tasks).len())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for HostRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.strong_count() > 0 {
            "HostRef"
        } else {
            "HostRef(gone)"
        })
    }
}

impl HostRef {
    /// The host, unless it was dropped.
    pub fn upgrade(&self) -> Option<Host> {
        self.0.upgrade().map(|inner| Host { inner })
    }
}

pub(crate) struct Shared {
    reactor: Arc<dyn Reactor>,
    runtime: tokio::runtime::Handle,
    /// Tasks woken and not yet polled.
    queue: Mutex<VecDeque<Arc<Task>>>,
    /// Every live task, so that dropping the host drops them.
    tasks: Mutex<HashMap<u64, Arc<Task>>>,
    next_id: AtomicU64,
    /// `Reactor::wake` was called and `run` has not started since.
    signaled: AtomicBool,
    /// Drains running on the host's thread (more than one when nested).
    draining: std::sync::atomic::AtomicUsize,
    /// Sockets by token.
    ios: Mutex<HashMap<u64, Weak<io::IoState>>>,
    /// Sockets whose watch changed since the last `run`.
    dirty: Mutex<Vec<Arc<io::IoState>>>,
    /// Sockets dropped, to unwatch and close on the host's thread.
    graveyard: Mutex<Vec<io::Buried>>,
}

thread_local! {
    /// The host whose `enter` scope this thread is in (null: none). Wake-ups
    /// inside the scope need no `Reactor::wake`: the scope polls on exit.
    static CURRENT: Cell<*const Shared> = const { Cell::new(std::ptr::null()) };
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn in_scope(&self) -> bool {
        CURRENT.with(|c| std::ptr::eq(c.get(), self))
    }

    /// Makes sure the queue is looked at: by the scope this thread is in,
    /// or by a `run` the loop is asked for.
    fn signal(&self) {
        if self.in_scope() {
            return;
        }
        if !self.signaled.swap(true, Ordering::AcqRel) {
            self.reactor.wake();
        }
    }
}

impl Drop for Shared {
    /// Drops the tasks' futures. Dropping the `Arc`s is not enough: a
    /// pending task's waker is kept by what it waits on (its socket's
    /// `IoState`, a timer, a channel), which its own future owns — a cycle
    /// that would keep the future, and its socket, alive forever.
    fn drop(&mut self) {
        let tasks = std::mem::take(self.tasks.get_mut().unwrap_or_else(|e| e.into_inner()));
        for task in tasks.into_values() {
            // Taken out first: dropping a future may wake other tasks.
            let fut = lock(&task.fut).take();
            drop(fut);
        }
    }
}

/// One spawned future.
struct Task {
    id: u64,
    fut: Mutex<Option<BoxFuture>>,
    queued: AtomicBool,
    host: Weak<Shared>,
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(host) = self.host.upgrade() {
            lock(&host.queue).push_back(self.clone());
            host.signal();
        }
    }
}

/// Restores the previous scope, also when the scope's closure panics.
struct ScopeGuard(*const Shared);

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

impl Host {
    /// A host on the current thread, on `reactor`'s loop; `runtime` is the
    /// tokio runtime for what the loop does not do (name resolution, the
    /// TCP connect, timers, HTTP transports).
    pub fn new(reactor: Arc<dyn Reactor>, runtime: tokio::runtime::Handle) -> Host {
        Host {
            inner: Arc::new(Shared {
                reactor,
                runtime,
                queue: Mutex::new(VecDeque::new()),
                tasks: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                signaled: AtomicBool::new(false),
                draining: std::sync::atomic::AtomicUsize::new(0),
                ios: Mutex::new(HashMap::new()),
                dirty: Mutex::new(Vec::new()),
                graveyard: Mutex::new(Vec::new()),
            }),
        }
    }

    /// A weak handle, as a hosted connection holds its host ([`connect`]).
    pub fn downgrade(&self) -> HostRef {
        HostRef(Arc::downgrade(&self.inner))
    }

    /// The tokio runtime the host uses for timers and rare work.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.inner.runtime
    }

    /// Runs `fut` on this host: it is polled in the next
    /// [`run`](Host::run) (or at the end of the current scope).
    pub fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let task = Arc::new(Task {
            id,
            fut: Mutex::new(Some(Box::pin(fut))),
            queued: AtomicBool::new(true),
            host: Arc::downgrade(&self.inner),
        });
        lock(&self.inner.tasks).insert(id, task.clone());
        lock(&self.inner.queue).push_back(task);
        self.inner.signal();
    }

    /// Polls the tasks that were woken. Call it on the host's thread when
    /// the reactor asked for it with [`Reactor::wake`].
    pub fn run(&self) {
        self.enter(|| ());
    }

    /// Reports readiness of the socket registered under `token` (see
    /// [`Reactor::watch`]), then polls what it woke.
    pub fn ready(&self, token: u64, readable: bool, writable: bool) {
        self.enter(|| {
            let io = lock(&self.inner.ios).get(&token).and_then(Weak::upgrade);
            if let Some(io) = io {
                io.ready(&self.inner, readable, writable);
            }
        });
    }

    /// Runs `f` on the host's thread, then polls the tasks it woke (a
    /// `send` writes to the socket before `enter` returns). A nested call —
    /// from code a task runs, such as an event handler — polls the other
    /// tasks it woke at once; the task running it is polled again by the
    /// outer call.
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        let me = Arc::as_ptr(&self.inner);
        let outer = CURRENT.with(|c| c.replace(me));
        let guard = ScopeGuard(outer);
        let r = f();
        self.drain();
        drop(guard);
        r
    }

    /// Whether the current thread is in a scope of this host.
    pub fn in_scope(&self) -> bool {
        self.inner.in_scope()
    }

    /// Live tasks (connections being opened or running).
    pub fn tasks(&self) -> usize {
        lock(&self.inner.tasks).len()
    }

    fn drain(&self) {
        let host = &self.inner;
        let _rt = host.runtime.enter();
        host.signaled.store(false, Ordering::Release);
        host.draining.fetch_add(1, Ordering::AcqRel);
        // Tasks being polled further up this thread's stack (a nested
        // drain): put back for the outer drain.
        let mut busy = Vec::new();
        for _ in 0..BUDGET {
            let Some(task) = lock(&host.queue).pop_front() else {
                break;
            };
            task.queued.store(false, Ordering::Release);
            let locked = match task.fut.try_lock() {
                Ok(slot) => Some(slot),
                Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => None,
            };
            let Some(mut slot) = locked else {
                busy.push(task.clone());
                continue;
            };
            let waker = Waker::from(task.clone());
            let Some(fut) = slot.as_mut() else {
                continue;
            };
            let mut cx = Context::from_waker(&waker);
            // A panicking task is dropped; the loop goes on.
            let done = !matches!(
                catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(&mut cx))),
                Ok(Poll::Pending)
            );
            if done {
                let fut = slot.take();
                drop(slot);
                drop(fut);
                lock(&host.tasks).remove(&task.id);
            }
        }
        if !busy.is_empty() {
            let mut q = lock(&host.queue);
            for task in busy {
                if !task.queued.swap(true, Ordering::AcqRel) {
                    q.push_back(task);
                }
            }
        }
        io::settle(host);
        let nested_left = host.draining.fetch_sub(1, Ordering::AcqRel) > 1;
        // An outer drain goes on with what is left (tasks running further
        // up, wake-ups during `settle`); the outermost asks the loop for
        // another turn.
        if !nested_left
            && !lock(&host.queue).is_empty()
            && !host.signaled.swap(true, Ordering::AcqRel)
        {
            host.reactor.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[derive(Debug, Default)]
    struct CountingReactor {
        wakes: AtomicUsize,
    }

    impl Reactor for CountingReactor {
        fn wake(&self) {
            self.wakes.fetch_add(1, Ordering::SeqCst);
        }
        fn watch(&self, _fd: RawFd, _token: u64, _read: bool, _write: bool) {}
    }

    fn host() -> (tokio::runtime::Runtime, Host, Arc<CountingReactor>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let reactor = Arc::new(CountingReactor::default());
        let host = Host::new(reactor.clone(), rt.handle().clone());
        (rt, host, reactor)
    }

    /// What a nested scope wakes is polled before the scope returns; the
    /// task that opened the scope is not polled again inside it (its lock
    /// is held) but by the outer drain, once it returned.
    #[test]
    fn nested_scope_polls_what_it_woke_but_not_its_own_task() {
        let (_rt, host, reactor) = host();
        let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
        let got = Arc::new(AtomicUsize::new(0));
        let g = got.clone();
        host.spawn(async move {
            g.store(rx.await.unwrap() as usize, Ordering::SeqCst);
        });
        let h = host.clone();
        let seen_inside = Arc::new(AtomicUsize::new(usize::MAX));
        let polls = Arc::new(AtomicUsize::new(0));
        let (seen, p, g2) = (seen_inside.clone(), polls.clone(), got.clone());
        let mut tx = Some(tx);
        host.spawn(std::future::poll_fn(move |cx| {
            if p.fetch_add(1, Ordering::SeqCst) > 0 {
                return Poll::Ready(());
            }
            h.enter(|| {
                let _ = tx.take().unwrap().send(7);
                // Woken while running: must not deadlock.
                cx.waker().wake_by_ref();
            });
            seen.store(g2.load(Ordering::SeqCst), Ordering::SeqCst);
            Poll::Pending
        }));
        host.run();
        assert_eq!(
            seen_inside.load(Ordering::SeqCst),
            7,
            "the receiver ran inside the nested scope"
        );
        assert_eq!(
            polls.load(Ordering::SeqCst),
            2,
            "polled again by the outer drain"
        );
        assert_eq!(host.tasks(), 0);
        // Everything happened inside `run`: no loop turn was asked for.
        assert_eq!(
            reactor.wakes.load(Ordering::SeqCst),
            1,
            "only the first spawn's wake-up"
        );
    }

    /// Wake-ups from another thread ask the loop for a turn, once until
    /// the next `run`.
    #[test]
    fn wakes_from_other_threads_reach_the_reactor_once() {
        let (_rt, host, reactor) = host();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        host.spawn(async move {
            let _ = rx.await;
        });
        host.run();
        let before = reactor.wakes.load(Ordering::SeqCst);
        std::thread::spawn(move || tx.send(()).unwrap())
            .join()
            .unwrap();
        assert_eq!(reactor.wakes.load(Ordering::SeqCst), before + 1);
        assert_eq!(host.tasks(), 1);
        host.run();
        assert_eq!(host.tasks(), 0);
    }
}
