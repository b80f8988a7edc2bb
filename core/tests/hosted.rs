//! Hosted connections (`rtwire::hosted`) driven by a real event loop,
//! written here the way a binding writes one:
//!
//! - a loop thread owns the [`Host`] and polls (`libc::poll`,
//!   level-triggered) the sockets the host asks it to watch
//!   ([`Reactor::watch`]) plus a wake-up socket pair ([`Reactor::wake`]);
//! - it reports socket readiness to [`Host::ready`] and calls [`Host::run`]
//!   after a wake-up;
//! - the test thread talks to it only through commands (closures run on
//!   the loop thread, announced by a wake-up) and channels; every wait is
//!   bounded.
//!
//! The peer is a tokio-tungstenite echo server on 127.0.0.1.
#![cfg(unix)]

mod common;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use common::tls::{acceptor, make_pki, TempFile};
use common::EVENT_LIMIT;
use futures_util::{SinkExt, StreamExt};
use rtwire::hosted::{Host, Reactor};
use rtwire::{CloseInfo, Connection, Data, ErrorKind, Event, OpenInfo, Options, Proxy, Reconnect};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpSocket;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Longest sleep in `poll`. Commands and wake-ups end it early; the bound
/// only keeps a stuck loop from sleeping forever.
const POLL_MS: libc::c_int = 50;
/// How long a test server waits for the next thing before giving up.
const SERVER_LIMIT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------
// The reactor: what the host sees of the loop.
// ---------------------------------------------------------------------------

/// What the loop watches on one descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Interest {
    token: u64,
    read: bool,
    write: bool,
}

/// The loop as the host sees it. `watch` only updates a map (the loop
/// polls what it holds on its next turn); `wake` writes a byte to a socket
/// pair whose other end the loop polls. Misuse by the host is recorded in
/// `violations` and checked at the end of every test.
#[derive(Debug)]
struct PollReactor {
    /// The loop's thread: the only one `watch` may be called on.
    owner: ThreadId,
    wake_tx: UnixStream,
    wake_rx: UnixStream,
    /// What the loop polls: descriptor → interest.
    watched: Mutex<HashMap<RawFd, Interest>>,
    /// Every `watch` call, in order.
    log: Mutex<Vec<(RawFd, Interest)>>,
    violations: Mutex<Vec<String>>,
    /// `Host::ready` calls made by the loop.
    ready_calls: AtomicUsize,
}

impl PollReactor {
    /// A reactor owned by the current thread.
    fn new() -> PollReactor {
        let (wake_tx, wake_rx) = UnixStream::pair().unwrap();
        wake_tx.set_nonblocking(true).unwrap();
        wake_rx.set_nonblocking(true).unwrap();
        PollReactor {
            owner: thread::current().id(),
            wake_tx,
            wake_rx,
            watched: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
            ready_calls: AtomicUsize::new(0),
        }
    }

    fn violation(&self, what: String) {
        self.violations.lock().unwrap().push(what);
    }

    /// Empties the wake-up socket (before running what it asked for, so
    /// that a wake-up coming meanwhile is kept for the next turn).
    fn clear_wake(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.wake_rx).read(&mut buf), Ok(n) if n > 0) {}
    }

    fn watched(&self) -> Vec<(RawFd, Interest)> {
        let mut v: Vec<_> = self.watched.lock().unwrap().clone().into_iter().collect();
        v.sort_unstable_by_key(|(fd, _)| *fd);
        v
    }

    fn log(&self) -> Vec<(RawFd, Interest)> {
        self.log.lock().unwrap().clone()
    }

    fn ready_calls(&self) -> usize {
        self.ready_calls.load(Ordering::SeqCst)
    }
}

impl Reactor for PollReactor {
    fn wake(&self) {
        // A full buffer already holds a wake-up: nothing to do on error.
        let _ = (&self.wake_tx).write(&[1]);
    }

    fn watch(&self, fd: RawFd, token: u64, read: bool, write: bool) {
        if thread::current().id() != self.owner {
            self.violation(format!(
                "watch({fd}, {token}, {read}, {write}) on {:?}, not on the loop thread",
                thread::current().id()
            ));
        }
        let new = Interest { token, read, write };
        self.log.lock().unwrap().push((fd, new));
        let mut watched = self.watched.lock().unwrap();
        match watched.get(&fd) {
            Some(old) if old.token != token => self.violation(format!(
                "fd {fd} watched under token {token} while still watched under {}",
                old.token
            )),
            None if !read && !write => {
                self.violation(format!("unwatch of fd {fd} (token {token}), not watched"))
            }
            _ => {}
        }
        if read || write {
            watched.insert(fd, new);
        } else {
            watched.remove(&fd);
        }
    }
}

// ---------------------------------------------------------------------------
// The loop thread.
// ---------------------------------------------------------------------------

/// A message to send, and where to report whether `send` accepted it.
type Outgoing = (Data, Sender<Result<(), String>>);
type Outbox = tokio::sync::mpsc::UnboundedSender<Outgoing>;
/// Where a `connect` reports, and what it got.
type ConnectReply = Sender<Result<ConnHandle, rtwire::Error>>;
type Opened = (ConnectReply, Result<(Connection, Outbox), rtwire::Error>);
type Job = Box<dyn FnOnce(&mut State) + Send>;

enum Cmd {
    /// Run this on the loop thread.
    Run(Job),
    /// Leave the loop, then drop the host, then the connections.
    Stop,
}

/// A connection, on the loop's side.
struct LoopConn {
    conn: Connection,
    /// Its events, forwarded to the test thread.
    events: Sender<Event>,
    /// Feeds its writer task (which keeps `send`'s order and backpressure).
    outbox: Outbox,
}

/// What the loop thread owns; commands get it mutably.
struct State {
    host: Host,
    reactor: Arc<PollReactor>,
    conns: HashMap<u64, LoopConn>,
    next_id: u64,
    opened_tx: Sender<Opened>,
    opened_rx: Receiver<Opened>,
}

impl State {
    /// Connects on the host. The task then stays as the connection's writer.
    fn connect(&mut self, url: String, options: Options, reply: ConnectReply) {
        let opened = self.opened_tx.clone();
        let connecting = rtwire::hosted::connect(&self.host, &url, options.proxy(Proxy::Disabled));
        self.host.spawn(async move {
            let conn = match connecting.await {
                Ok(conn) => conn,
                Err(e) => {
                    let _ = opened.send((reply, Err(e)));
                    return;
                }
            };
            let sender = conn.sender();
            let (outbox, mut rx) = tokio::sync::mpsc::unbounded_channel::<Outgoing>();
            let _ = opened.send((reply, Ok((conn, outbox))));
            while let Some((data, done)) = rx.recv().await {
                let _ = done.send(sender.send(data).await.map_err(|e| e.to_string()));
            }
        });
    }

    /// Registers connections just opened, and forwards every event ready.
    /// A connection is forgotten (dropped) after its `Closed`.
    fn pump(&mut self) {
        while let Ok((reply, r)) = self.opened_rx.try_recv() {
            let r = r.map(|(conn, outbox)| {
                self.next_id += 1;
                let (events, rx) = mpsc::channel();
                let c = LoopConn {
                    conn,
                    events,
                    outbox,
                };
                self.conns.insert(self.next_id, c);
                ConnHandle {
                    id: self.next_id,
                    events: rx,
                }
            });
            let _ = reply.send(r);
        }
        let host = self.host.clone();
        host.enter(|| {
            self.conns.retain(|_, c| {
                while let Some(ev) = c.conn.try_recv() {
                    let _ = c.events.send(ev);
                }
                !c.conn.is_finished()
            })
        });
    }

    fn conn(&self, id: u64) -> &LoopConn {
        self.conns.get(&id).expect("no such connection on the loop")
    }
}

/// The loop: poll, run what a wake-up asked for, run commands, report
/// readiness, hand events over; until `Cmd::Stop`.
fn run_loop(reactor: Arc<PollReactor>, runtime: tokio::runtime::Handle, cmds: Receiver<Cmd>) {
    let (opened_tx, opened_rx) = mpsc::channel();
    let mut st = State {
        host: Host::new(reactor.clone(), runtime),
        reactor: reactor.clone(),
        conns: HashMap::new(),
        next_id: 0,
        opened_tx,
        opened_rx,
    };
    'turns: loop {
        let interest = reactor.watched();
        let mut fds = vec![libc::pollfd {
            fd: reactor.wake_rx.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        fds.extend(interest.iter().map(|(fd, i)| libc::pollfd {
            fd: *fd,
            events: if i.read { libc::POLLIN } else { 0 } | if i.write { libc::POLLOUT } else { 0 },
            revents: 0,
        }));
        // SAFETY: `fds` is a live, exclusively borrowed array of `fds.len()`
        // pollfd structs.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, POLL_MS) };
        if n < 0 {
            let e = io::Error::last_os_error();
            assert_eq!(e.kind(), io::ErrorKind::Interrupted, "poll: {e}");
            continue;
        }
        if fds[0].revents != 0 {
            reactor.clear_wake();
            st.host.run();
        }
        while let Ok(cmd) = cmds.try_recv() {
            match cmd {
                Cmd::Run(job) => job(&mut st),
                Cmd::Stop => break 'turns,
            }
        }
        for (p, (fd, polled)) in fds[1..].iter().zip(&interest) {
            if p.revents & libc::POLLNVAL != 0 {
                reactor.violation(format!(
                    "fd {fd} (token {}) closed while watched",
                    polled.token
                ));
            }
            // An earlier report this turn may have unwatched (and closed)
            // this socket: report only what is still watched, by token.
            let Some(now) = reactor.watched.lock().unwrap().get(fd).copied() else {
                continue;
            };
            if now.token != polled.token {
                continue;
            }
            // Level-triggered; an error or hang-up wakes whoever waits.
            let failed = p.revents & (libc::POLLERR | libc::POLLHUP) != 0;
            let readable = now.read && (failed || p.revents & libc::POLLIN != 0);
            let writable = now.write && (failed || p.revents & libc::POLLOUT != 0);
            if readable || writable {
                reactor.ready_calls.fetch_add(1, Ordering::SeqCst);
                st.host.ready(now.token, readable, writable);
            }
        }
        st.pump();
    }
    // The host goes first: its tasks and sockets go with it, without a
    // close handshake. Then the connections.
    let State { host, conns, .. } = st;
    drop(host);
    drop(conns);
}

/// The test thread's handle on a loop thread.
struct Loop {
    cmds: Sender<Cmd>,
    reactor: Arc<PollReactor>,
    thread: Option<JoinHandle<()>>,
}

/// A connection on the loop, as the test thread sees it.
struct ConnHandle {
    id: u64,
    events: Receiver<Event>,
}

impl Loop {
    fn start(rt: &Runtime) -> Loop {
        let (cmds, cmd_rx) = mpsc::channel();
        let (reactor_tx, reactor_rx) = mpsc::channel();
        let handle = rt.handle().clone();
        let thread = thread::Builder::new()
            .name("event-loop".into())
            .spawn(move || {
                let reactor = Arc::new(PollReactor::new());
                reactor_tx.send(reactor.clone()).unwrap();
                run_loop(reactor, handle, cmd_rx);
            })
            .unwrap();
        let reactor = reactor_rx.recv_timeout(EVENT_LIMIT).unwrap();
        Loop {
            cmds,
            reactor,
            thread: Some(thread),
        }
    }

    fn post(&self, cmd: Cmd) {
        self.cmds.send(cmd).expect("the loop thread is gone");
        self.reactor.wake();
    }

    /// Runs `f` on the loop thread and returns its result.
    fn exec<R: Send + 'static>(&self, f: impl FnOnce(&mut State) -> R + Send + 'static) -> R {
        let (tx, rx) = mpsc::channel();
        self.post(Cmd::Run(Box::new(move |st| {
            let _ = tx.send(f(st));
        })));
        rx.recv_timeout(EVENT_LIMIT)
            .expect("the loop did not run a command in time")
    }

    /// `rtwire::connect` on the host (the loop adds the host to `options`).
    fn connect(&self, url: &str, options: Options) -> Result<ConnHandle, rtwire::Error> {
        let (tx, rx) = mpsc::channel();
        let url = url.to_string();
        self.post(Cmd::Run(Box::new(move |st| st.connect(url, options, tx))));
        rx.recv_timeout(EVENT_LIMIT)
            .expect("connect did not finish in time")
    }

    /// Queues `data` (in order, waiting on backpressure); the receiver says
    /// whether `send` accepted it.
    fn send(&self, c: &ConnHandle, data: impl Into<Data>) -> Receiver<Result<(), String>> {
        let (tx, rx) = mpsc::channel();
        let (id, data) = (c.id, data.into());
        self.post(Cmd::Run(Box::new(move |st| {
            let outbox = st.conn(id).outbox.clone();
            // Within the host's scope, the writer and the driver run before
            // `enter` returns: the message is written from here.
            st.host.enter(|| outbox.send((data, tx))).unwrap();
        })));
        rx
    }

    fn send_ok(&self, c: &ConnHandle, data: impl Into<Data>) {
        let r = self.send(c, data).recv_timeout(EVENT_LIMIT);
        assert_eq!(r, Ok(Ok(())), "send");
    }

    fn close(&self, c: &ConnHandle, code: u16, reason: &str) {
        let (id, reason) = (c.id, reason.to_string());
        let r = self.exec(move |st| st.host.enter(|| st.conn(id).conn.close(code, &reason)));
        r.expect("close");
    }

    /// Drops the connection on the loop thread, without closing it.
    fn drop_conn(&self, c: &ConnHandle) {
        let id = c.id;
        self.exec(move |st| {
            let host = st.host.clone();
            host.enter(|| assert!(st.conns.remove(&id).is_some(), "no connection {id}"));
        });
    }

    /// Waits (bounded) until the host has no task left and the loop
    /// watches no descriptor.
    fn wait_idle(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (tasks, watched) = self.exec(|st| {
                st.host.run();
                (st.host.tasks(), st.reactor.watched())
            });
            if tasks == 0 && watched.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "host not idle: {tasks} tasks, watching {watched:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the loop thread (which then drops the host, then the
    /// connections) and checks the reactor saw no misuse.
    fn stop(mut self) {
        self.post(Cmd::Stop);
        let thread = self.thread.take().unwrap();
        let deadline = Instant::now() + EVENT_LIMIT;
        while !thread.is_finished() {
            assert!(Instant::now() < deadline, "the loop thread did not stop");
            thread::sleep(Duration::from_millis(5));
        }
        thread.join().expect("the loop thread panicked");
        let violations = self.reactor.violations.lock().unwrap().clone();
        assert!(violations.is_empty(), "reactor misuse: {violations:#?}");
    }
}

impl Drop for Loop {
    /// A failed test still stops its loop (without waiting for it).
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.cmds.send(Cmd::Stop);
            self.reactor.wake();
        }
    }
}

impl ConnHandle {
    /// The next event, within [`EVENT_LIMIT`].
    fn next(&self) -> Event {
        match self.events.recv_timeout(EVENT_LIMIT) {
            Ok(ev) => ev,
            Err(RecvTimeoutError::Timeout) => panic!("no event within {EVENT_LIMIT:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the connection ended without Closed"),
        }
    }

    fn expect_open(&self) -> OpenInfo {
        match self.next() {
            Event::Open(info) => info,
            other => panic!("expected Open, got {other:?}"),
        }
    }

    fn expect_message(&self) -> Data {
        match self.next() {
            Event::Message(m) => m.data,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Events until `Closed` (bounded), and the close info. The loop drops
    /// the connection after `Closed`, so nothing may follow it.
    fn until_closed(&self) -> (Vec<Event>, CloseInfo) {
        let mut seen = Vec::new();
        for _ in 0..10_000 {
            match self.next() {
                Event::Closed(info) => {
                    let after = self.events.recv_timeout(EVENT_LIMIT);
                    assert_eq!(after.err(), Some(RecvTimeoutError::Disconnected));
                    return (seen, info);
                }
                other => seen.push(other),
            }
        }
        panic!("no Closed among {} events", seen.len());
    }
}

// ---------------------------------------------------------------------------
// The peer.
// ---------------------------------------------------------------------------

/// How the server saw one connection end.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// After a close frame with this code.
    Close(Option<u16>),
    /// The TCP connection ended or broke without a close frame.
    Lost,
    /// The server dropped it, as scripted.
    Dropped,
    /// Nothing happened for `SERVER_LIMIT`.
    Stuck,
}

struct Server {
    port: u16,
    /// How each connection ended, in the order they ended.
    ends: Receiver<End>,
}

impl Server {
    fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}/hosted", self.port)
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn next_end(&self, limit: Duration) -> End {
        self.ends
            .recv_timeout(limit)
            .expect("the server saw no connection end in time")
    }
}

/// What the server does with one connection.
enum Plan {
    /// Echo until the client closes.
    Echo,
    /// Echo this many messages, then drop the TCP connection.
    DropAfter(usize),
    /// Read nothing until told to, then echo.
    Hold(oneshot::Receiver<()>),
}

/// A tokio-tungstenite echo server on 127.0.0.1 (under TLS with `tls`),
/// for one connection per plan.
fn echo_server(rt: &Runtime, tls: Option<TlsAcceptor>, script: Vec<Plan>) -> Server {
    // A small receive buffer (no autotuning): a client that writes much
    // more than it holds meets a full socket, whatever the system's limits.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(64 << 10).unwrap();
    socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
    let listener = {
        let _rt = rt.enter();
        socket.listen(64).unwrap()
    };
    let port = listener.local_addr().unwrap().port();
    let (tx, ends) = mpsc::channel();
    rt.spawn(async move {
        for plan in script {
            let Ok(Ok((tcp, _))) = tokio::time::timeout(SERVER_LIMIT, listener.accept()).await
            else {
                return;
            };
            let (tx, tls) = (tx.clone(), tls.clone());
            tokio::spawn(async move {
                let end = match tls {
                    None => echo(tcp, plan).await,
                    Some(tls) => match tls.accept(tcp).await {
                        Ok(stream) => echo(stream, plan).await,
                        Err(_) => End::Lost,
                    },
                };
                let _ = tx.send(end);
            });
        }
    });
    Server { port, ends }
}

async fn echo<S: AsyncRead + AsyncWrite + Unpin>(stream: S, plan: Plan) -> End {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return End::Lost;
    };
    let limit = match plan {
        Plan::Echo => None,
        Plan::DropAfter(n) => Some(n),
        Plan::Hold(go) => {
            let _ = tokio::time::timeout(SERVER_LIMIT, go).await;
            None
        }
    };
    let (mut echoed, mut close) = (0, None);
    while limit != Some(echoed) {
        match tokio::time::timeout(SERVER_LIMIT, ws.next()).await {
            Ok(Some(Ok(WsMessage::Close(frame)))) => {
                close = Some(frame.map(|f| u16::from(f.code)));
            }
            Ok(Some(Ok(m))) if m.is_text() || m.is_binary() => {
                if ws.send(m).await.is_err() {
                    return End::Lost;
                }
                echoed += 1;
            }
            Ok(Some(Ok(_))) => {}
            // After a close frame the stream ends once the reply is out.
            Ok(Some(Err(_)) | None) => return close.map_or(End::Lost, End::Close),
            Err(_) => return End::Stuck,
        }
    }
    End::Dropped
}

/// An echo server, a loop and one connection on it that echoed "hello".
fn echoing() -> (Runtime, Server, Loop, ConnHandle) {
    let rt = runtime();
    let server = echo_server(&rt, None, vec![Plan::Echo]);
    let lp = Loop::start(&rt);
    let c = lp
        .connect(&server.url("ws"), Options::new())
        .expect("connect");
    c.expect_open();
    lp.send_ok(&c, "hello");
    assert_eq!(c.expect_message().as_text(), Some("hello"));
    (rt, server, lp, c)
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Message `i` of the echo test: text or binary, of varied sizes (frame
/// length encodings, several socket reads), with contents unique to `i`.
fn message(i: usize) -> Data {
    const SIZES: [usize; 12] = [
        0, 1, 125, 126, 127, 128, 1000, 4096, 65_535, 65_536, 65_537, 100_000,
    ];
    let size = SIZES.get(i / 2).copied().unwrap_or(i * 97 % 3000);
    if i % 2 == 0 {
        let mut s = format!("#{i} ");
        while s.len() < size {
            s.push(['a', 'é', '€', '𝄞'][(s.len() + i) % 4]);
        }
        Data::from(s)
    } else {
        Data::from((0..size).map(|j| (j * 31 + i) as u8).collect::<Vec<u8>>())
    }
}

/// The tokens the loop was ever asked to watch, in order of first use.
fn tokens(log: &[(RawFd, Interest)]) -> Vec<u64> {
    let mut v: Vec<u64> = Vec::new();
    for (_, i) in log {
        if !v.contains(&i.token) {
            v.push(i.token);
        }
    }
    v
}

// ---------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------

/// 1,000 text and binary messages of varied sizes echo in order through a
/// hosted connection, and close(1000) ends it cleanly on both sides.
#[test]
fn echo_in_order_and_clean_close() {
    let rt = runtime();
    let server = echo_server(&rt, None, vec![Plan::Echo]);
    let lp = Loop::start(&rt);
    let url = server.url("ws");
    let c = lp.connect(&url, Options::new()).expect("connect");
    assert_eq!(c.expect_open().url, url);

    let sent: Vec<Data> = (0..1000).map(message).collect();
    let accepted: Vec<_> = sent.iter().map(|d| lp.send(&c, d.clone())).collect();
    for (i, want) in sent.iter().enumerate() {
        let got = c.expect_message();
        assert!(got == *want, "echo {i}: got {got:?}, want {want:?}");
    }
    for (i, a) in accepted.iter().enumerate() {
        assert_eq!(a.recv_timeout(EVENT_LIMIT), Ok(Ok(())), "send {i}");
    }

    lp.close(&c, 1000, "done");
    let (events, info) = c.until_closed();
    assert!(events.is_empty(), "{events:?}");
    assert_eq!((info.code, info.clean), (1000, true), "{info:?}");
    assert!(info.unsent.is_empty());
    assert_eq!(server.next_end(EVENT_LIMIT), End::Close(Some(1000)));
    assert!(
        lp.reactor.ready_calls() > 0,
        "the loop reported no readiness"
    );
    lp.wait_idle();
    lp.stop();
}

/// A 16 MiB message fills the socket buffer: the host widens the watch to
/// writable, and the loop's readiness drives the rest. The echo comes back
/// byte for byte, and a closed connection leaves nothing watched and no
/// task.
#[test]
fn large_message_and_watch_cleared() {
    let rt = runtime();
    let (go, hold) = oneshot::channel();
    let server = echo_server(&rt, None, vec![Plan::Hold(hold)]);
    let lp = Loop::start(&rt);
    let c = lp
        .connect(&server.url("ws"), Options::new().read_buffer_size(64 << 10))
        .expect("connect");
    c.expect_open();

    // The server reads nothing yet: the socket buffers fill, the write
    // would block, and the host asks the loop to watch for writability.
    let big: Vec<u8> = (0..16usize << 20).map(|i| (i ^ (i >> 11)) as u8).collect();
    lp.send_ok(&c, big.clone());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !lp.reactor.log().iter().any(|(_, i)| i.write) {
        assert!(
            Instant::now() < deadline,
            "never watched for writing: {:?}",
            lp.reactor.log()
        );
        thread::sleep(Duration::from_millis(5));
    }
    let writable = lp.reactor.ready_calls();
    go.send(()).unwrap();
    let got = c.expect_message();
    assert!(!got.is_text());
    assert!(got.as_bytes() == big.as_slice(), "the echo differs");
    assert!(lp.reactor.ready_calls() > writable);
    lp.send_ok(&c, "after");
    assert_eq!(c.expect_message().as_text(), Some("after"));
    let log = lp.reactor.log();
    assert_eq!(tokens(&log).len(), 1, "{log:?}");
    lp.close(&c, 1000, "");
    let (events, info) = c.until_closed();
    assert!(events.is_empty(), "{events:?}");
    assert_eq!((info.code, info.clean), (1000, true));
    lp.wait_idle();
    let log = lp.reactor.log();
    let (fd, last) = *log.last().unwrap();
    assert!(!last.read && !last.write, "last watch of fd {fd}: {last:?}");
    lp.stop();
}

/// The socket is watched by the loop, on the loop thread, and it is the
/// loop's readiness reports that deliver the echoes.
#[test]
fn readiness_comes_from_the_loop() {
    let (_rt, server, lp, c) = echoing();

    // Idle: exactly one descriptor watched, for reading, and it is the TCP
    // connection to the server.
    let watched = lp.exec(|st| {
        st.reactor
            .watched()
            .into_iter()
            .map(|(fd, i)| {
                // SAFETY: the host unwatches a socket before closing it, so a
                // watched fd is open; ManuallyDrop leaves it open.
                let s = ManuallyDrop::new(unsafe { std::net::TcpStream::from_raw_fd(fd) });
                (s.peer_addr().ok(), i.read, i.write)
            })
            .collect::<Vec<_>>()
    });
    assert_eq!(watched, vec![(Some(server.addr()), true, false)]);

    let before = lp.reactor.ready_calls();
    for i in 0..20 {
        let m = format!("round trip {i}");
        lp.send_ok(&c, m.as_str());
        assert_eq!(c.expect_message().as_text(), Some(m.as_str()));
    }
    // Each echo arrives after the read would block; almost always the loop
    // then reports it.
    let reported = lp.reactor.ready_calls() - before;
    assert!(reported >= 10, "{reported} readiness reports for 20 echoes");

    lp.close(&c, 1000, "");
    assert_eq!(c.until_closed().1.code, 1000);
    lp.wait_idle();
    let log = lp.reactor.log();
    assert!(!log.is_empty());
    lp.stop(); // asserts that every watch ran on the loop thread
}

/// A connection dropped without `close` still closes with 1001: its driver
/// goes on running on the host.
#[test]
fn dropped_connection_closes_with_1001() {
    let (_rt, server, lp, c) = echoing();
    lp.drop_conn(&c);
    assert_eq!(server.next_end(EVENT_LIMIT), End::Close(Some(1001)));
    lp.wait_idle();
    lp.stop();
}

/// Dropping the host with a connection open ends its TCP connection; a
/// connection asked of a host that is gone fails with `Closed`.
#[test]
fn dropped_host_ends_its_connections() {
    let (rt, server, lp, _c) = echoing();
    lp.stop(); // drops the host, then the connection
    assert_eq!(server.next_end(Duration::from_secs(5)), End::Lost);

    // The TCP connect succeeds (the backlog accepts it); handing the
    // socket to the host does not.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let host = Host::new(Arc::new(PollReactor::new()), rt.handle().clone());
    let connecting = rtwire::hosted::connect(&host, &url, Options::new().proxy(Proxy::Disabled));
    drop(host);
    let err = rt
        .block_on(connecting)
        .expect_err("connect through a dropped host");
    assert_eq!(err.kind(), ErrorKind::Closed, "{err:?}");
}

/// wss through a hosted connection: TLS runs over the loop-watched socket.
#[test]
fn tls_echo() {
    let rt = runtime();
    let pki = make_pki("rtwire hosted");
    let ca = TempFile::new("hosted-ca", &pki.ca_pem);
    let server = echo_server(&rt, Some(acceptor(&pki)), vec![Plan::Echo]);
    let lp = Loop::start(&rt);
    let url = server.url("wss");
    let c = lp
        .connect(&url, Options::new().ca_file(ca.path()))
        .expect("connect");
    assert_eq!(c.expect_open().url, url);
    let sent: Vec<Data> = (0..40).map(message).collect();
    for d in &sent {
        lp.send_ok(&c, d.clone());
    }
    let big = Data::from(vec![7u8; 4 << 20]);
    lp.send_ok(&c, big.clone());
    for (i, want) in sent.iter().chain([&big]).enumerate() {
        assert!(c.expect_message() == *want, "echo {i}");
    }
    lp.close(&c, 1000, "");
    let (events, info) = c.until_closed();
    assert!(events.is_empty(), "{events:?}");
    assert_eq!((info.code, info.clean), (1000, true));
    assert_eq!(server.next_end(EVENT_LIMIT), End::Close(Some(1000)));
    assert!(lp.reactor.ready_calls() > 0);
    lp.wait_idle();
    lp.stop();
}

/// A hosted connection whose link drops reconnects (the delay runs on the
/// runtime, which wakes the loop) and goes on echoing over a new socket,
/// also watched by the loop.
#[test]
fn reconnects_while_hosted() {
    let rt = runtime();
    let server = echo_server(&rt, None, vec![Plan::DropAfter(1), Plan::Echo]);
    let lp = Loop::start(&rt);
    let url = server.url("ws");
    let initial = Duration::from_millis(50);
    let options = Options::new().reconnect(Reconnect::default().initial_delay(initial));
    let c = lp.connect(&url, options).expect("connect");
    c.expect_open();
    lp.send_ok(&c, "one");
    assert_eq!(c.expect_message().as_text(), Some("one"));
    assert_eq!(server.next_end(EVENT_LIMIT), End::Dropped);

    match c.next() {
        Event::Reconnecting { attempt, delay, .. } => {
            assert_eq!(attempt, 1);
            assert!(delay <= initial, "{delay:?}");
        }
        other => panic!("expected Reconnecting, got {other:?}"),
    }
    assert_eq!(c.expect_open().url, url);
    for m in ["two", "three"] {
        lp.send_ok(&c, m);
        assert_eq!(c.expect_message().as_text(), Some(m));
    }
    assert_eq!(
        tokens(&lp.reactor.log()).len(),
        2,
        "one watched socket per session"
    );

    lp.close(&c, 1000, "");
    let (events, info) = c.until_closed();
    assert!(events.is_empty(), "{events:?}");
    assert_eq!((info.code, info.clean), (1000, true));
    assert_eq!(server.next_end(EVENT_LIMIT), End::Close(Some(1000)));
    lp.wait_idle();
    lp.stop();
}

/// An event sink set on a hosted connection runs on the loop's thread,
/// inside the connection's task: it takes each echo and sends the next
/// message from there (written without a command or a loop turn of the
/// test's own). Every tenth echo it hands back: that one is queued, the
/// test thread gets it from `recv` and sends the next itself. Order and
/// content hold across both ways, and the connection closes cleanly.
#[test]
fn event_sink_takes_messages_on_the_loop_thread() {
    const N: usize = 300;
    let (_rt, server, lp, c) = echoing();
    let loop_thread = lp.exec(|_| thread::current().id());
    let taken: Arc<Mutex<Vec<(usize, ThreadId)>>> = Arc::default();
    let log = taken.clone();
    let id = c.id;
    lp.exec(move |st| {
        let conn = &mut st.conns.get_mut(&id).expect("the connection").conn;
        let sender = conn.sender();
        conn.set_event_sink(move |event| {
            let Event::Message(m) = &event else {
                return Err(event);
            };
            let Some(i) = m
                .data
                .as_text()
                .and_then(|t| t.strip_prefix('#')?.parse().ok())
            else {
                return Err(event);
            };
            if i % 10 == 9 {
                return Err(event);
            }
            log.lock().unwrap().push((i, thread::current().id()));
            if i + 1 < N {
                sender
                    .try_send(format!("#{}", i + 1))
                    .expect("try_send in the sink");
            }
            Ok(())
        });
    });

    lp.send_ok(&c, "#0");
    let mut handed_back = Vec::new();
    while handed_back.len() < N / 10 {
        let text = c.expect_message().as_text().expect("text").to_string();
        let i: usize = text[1..].parse().expect("a numbered echo");
        handed_back.push(i);
        if i + 1 < N {
            lp.send_ok(&c, format!("#{}", i + 1));
        }
    }
    let want_back: Vec<usize> = (0..N).filter(|i| i % 10 == 9).collect();
    assert_eq!(handed_back, want_back, "echoes handed back to the queue");
    let taken = taken.lock().unwrap().clone();
    let want_taken: Vec<usize> = (0..N).filter(|i| i % 10 != 9).collect();
    assert_eq!(
        taken.iter().map(|t| t.0).collect::<Vec<_>>(),
        want_taken,
        "echoes the sink took"
    );
    assert!(
        taken.iter().all(|t| t.1 == loop_thread),
        "the sink ran off the loop thread"
    );

    lp.close(&c, 1000, "");
    let (events, info) = c.until_closed();
    assert!(events.is_empty(), "{events:?}");
    assert_eq!((info.code, info.clean), (1000, true), "{info:?}");
    assert_eq!(server.next_end(EVENT_LIMIT), End::Close(Some(1000)));
    lp.wait_idle();
    lp.stop();
}
