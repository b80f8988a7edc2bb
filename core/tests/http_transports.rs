//! Long polling, short polling and HTTP streaming against small HTTP/1.1
//! servers written here over raw TCP, so each test controls status lines,
//! chunking, `Content-Length`, delays and connection drops byte by byte.

use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rtwire::{
    Connection, Cursor, CursorFrom, CursorTo, Data, Error, ErrorKind, Event, Framing, Options,
    Reconnect, Transport,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout, Instant};

/// Upper bound on any single test.
const TEST_LIMIT: Duration = Duration::from_secs(20);
/// Upper bound on waiting for one event.
const EVENT_LIMIT: Duration = Duration::from_secs(8);

/// Runs `fut` within [`TEST_LIMIT`].
async fn guard<T>(fut: impl Future<Output = T>) -> T {
    match timeout(TEST_LIMIT, fut).await {
        Ok(v) => v,
        Err(_) => panic!("test did not finish within {TEST_LIMIT:?}"),
    }
}

// ---------------------------------------------------------------------------
// A tiny HTTP/1.1 server: one request per connection, the handler writes
// the response bytes itself.
// ---------------------------------------------------------------------------

/// A parsed request.
#[derive(Debug, Clone)]
struct Req {
    method: String,
    /// Path and query, as sent.
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    fn query(&self, name: &str) -> Option<String> {
        let q = self.target.split_once('?')?.1;
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// Reads one request (head bounded to 64 KiB, body to 1 MiB); `None` when
/// the client closed first.
async fn read_request(stream: &mut TcpStream) -> Option<Req> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        assert!(buf.len() < 64 * 1024, "request head too large");
        let n = stream.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).expect("UTF-8 head");
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().expect("numeric Content-Length"))
        .unwrap_or(0);
    assert!(len <= 1 << 20, "request body too large");
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Some(Req {
        method,
        target,
        headers,
        body,
    })
}

/// A listener bound with `SO_REUSEADDR`, so a test can stop a server and
/// start another on the same port.
fn bind(addr: SocketAddr) -> TcpListener {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_reuseaddr(true).expect("SO_REUSEADDR");
    socket.bind(addr).expect("bind");
    socket.listen(64).expect("listen")
}

/// A running server; dropping it (or [`Server::stop`]) closes the listener
/// and every connection it has open.
struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Serves `handler` on a fresh port of 127.0.0.1.
    fn start<F, Fut>(handler: F) -> Server
    where
        F: Fn(Req, TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::start_on("127.0.0.1:0".parse().unwrap(), handler)
    }

    /// Serves `handler` on `addr`.
    fn start_on<F, Fut>(addr: SocketAddr, handler: F) -> Server
    where
        F: Fn(Req, TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = bind(addr);
        let addr = listener.local_addr().unwrap();
        let handler = Arc::new(handler);
        let task = tokio::spawn(async move {
            // Dropped with this task: every connection is aborted with it.
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut stream, _)) = accepted else { return };
                        let handler = handler.clone();
                        conns.spawn(async move {
                            if let Some(req) = read_request(&mut stream).await {
                                handler(req, stream).await;
                            }
                        });
                    }
                    Some(_) = conns.join_next() => {}
                }
            }
        });
        Server { addr, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Writes a whole response with `Content-Length` and closes.
async fn respond(mut s: TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = s.write_all(head.as_bytes()).await;
    let _ = s.write_all(body).await;
    let _ = s.flush().await;
    let _ = s.shutdown().await;
}

/// Writes raw bytes and closes.
async fn raw(mut s: TcpStream, bytes: &[u8]) {
    let _ = s.write_all(bytes).await;
    let _ = s.flush().await;
    let _ = s.shutdown().await;
}

/// Starts a chunked response.
async fn chunked_head(s: &mut TcpStream, headers: &[(&str, &str)]) {
    let mut head =
        String::from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    s.flush().await.unwrap();
}

/// Writes one chunk in its own TCP write and flushes.
async fn chunk(s: &mut TcpStream, data: &[u8]) {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    let _ = s.write_all(&out).await;
    let _ = s.flush().await;
}

/// Holds a connection open (the server never answers further) for a while.
async fn hold(_s: TcpStream, d: Duration) {
    sleep(d).await;
}

/// Counts GETs in flight and remembers the most seen at once.
#[derive(Debug, Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

/// Decrements [`InFlight::now`] when dropped (also when the task is
/// aborted).
struct InFlightGuard(Arc<InFlight>);

impl InFlight {
    fn enter(self: &Arc<Self>) -> InFlightGuard {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(n, Ordering::SeqCst);
        InFlightGuard(self.clone())
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------
// Client helpers.
// ---------------------------------------------------------------------------

fn fast_reconnect() -> Reconnect {
    Reconnect::default()
        .initial_delay(Duration::from_millis(20))
        .max_delay(Duration::from_millis(100))
}

fn opts(t: Transport) -> Options {
    Options::new()
        .transport(t)
        .proxy(rtwire::Proxy::Disabled)
        .reconnect(fast_reconnect())
}

async fn next_event(conn: &mut Connection) -> Event {
    match timeout(EVENT_LIMIT, conn.recv()).await {
        Ok(Some(ev)) => ev,
        Ok(None) => panic!("the connection ended without a Closed event"),
        Err(_) => panic!("no event within {EVENT_LIMIT:?}"),
    }
}

async fn expect_open(conn: &mut Connection) {
    match next_event(conn).await {
        Event::Open(_) => {}
        other => panic!("expected Open, got {other:?}"),
    }
}

async fn expect_text(conn: &mut Connection) -> String {
    match next_event(conn).await {
        Event::Message(m) => m.data.as_text().expect("a text message").to_string(),
        other => panic!("expected a message, got {other:?}"),
    }
}

async fn expect_reconnecting(conn: &mut Connection) -> Error {
    match next_event(conn).await {
        Event::Reconnecting { cause, .. } => cause,
        other => panic!("expected Reconnecting, got {other:?}"),
    }
}

/// Events arriving within `d` (none expected to be `Closed`).
async fn events_for(conn: &mut Connection, d: Duration) -> Vec<Event> {
    let end = Instant::now() + d;
    let mut out = Vec::new();
    while let Ok(Some(ev)) = tokio::time::timeout_at(end, conn.recv()).await {
        assert!(!matches!(ev, Event::Closed(_)), "unexpected {ev:?}");
        out.push(ev);
        assert!(out.len() < 10_000);
    }
    out
}

fn texts(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => m.data.as_text().map(str::to_string),
            _ => None,
        })
        .collect()
}

/// Reads events until `Closed`, bounded.
async fn until_closed(conn: &mut Connection) -> Vec<Event> {
    let mut seen = Vec::new();
    for _ in 0..1000 {
        let ev = next_event(conn).await;
        let done = matches!(ev, Event::Closed(_));
        seen.push(ev);
        if done {
            return seen;
        }
    }
    panic!("no Closed among {seen:?}");
}

// ---------------------------------------------------------------------------
// Long polling.
// ---------------------------------------------------------------------------

/// The history of a long-poll channel, kept by cursor (the index of the
/// next message) across server restarts.
#[derive(Default)]
struct History {
    messages: Mutex<Vec<String>>,
    news: Notify,
}

/// A long-poll handler over `history`: at most three messages per answer as
/// a JSON array with `X-Cursor` = the next index; with nothing new, holds
/// the request up to 300 ms, then 204.
async fn history_poll(h: Arc<History>, inflight: Arc<InFlight>, req: Req, s: TcpStream) {
    let _g = inflight.enter();
    let from: usize = req.query("cursor").map_or(0, |c| c.parse().unwrap());
    let deadline = Instant::now() + Duration::from_millis(300);
    loop {
        let notified = h.news.notified();
        let batch: Vec<String> = {
            let m = h.messages.lock().unwrap();
            m.iter().skip(from).take(3).cloned().collect()
        };
        if !batch.is_empty() {
            let next = (from + batch.len()).to_string();
            let body = serde_json::to_vec(&batch).unwrap();
            let headers = [
                ("Content-Type", "application/json"),
                ("X-Cursor", next.as_str()),
            ];
            respond(s, "200 OK", &headers, &body).await;
            return;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            respond(s, "204 No Content", &[], b"").await;
            return;
        }
    }
}

#[tokio::test]
async fn long_poll_cursor_survives_a_server_restart_without_loss_or_duplicates() {
    guard(async {
        let history = Arc::new(History::default());
        let inflight = Arc::new(InFlight::default());
        let handler = {
            let (h, f) = (history.clone(), inflight.clone());
            move |req, s| history_poll(h.clone(), f.clone(), req, s)
        };
        let server = Server::start(handler.clone());
        let addr = server.addr;
        let mut o =
            opts(Transport::LongPoll).cursor(Cursor::new(CursorFrom::Header("X-Cursor".into())));
        o.http.json_array = true;
        let mut conn = rtwire::connect(&server.url("/poll"), o).await.unwrap();
        expect_open(&mut conn).await;

        let producer = {
            let history = history.clone();
            tokio::spawn(async move {
                let mut server = Some(server);
                for i in 0..30 {
                    history.messages.lock().unwrap().push(format!("m{i}"));
                    history.news.notify_waiters();
                    if i == 12 {
                        if let Some(s) = server.take() {
                            s.stop();
                        }
                        sleep(Duration::from_millis(300)).await;
                        server = Some(Server::start_on(addr, handler.clone()));
                    }
                    sleep(Duration::from_millis(15)).await;
                }
                server
            })
        };

        let mut got = Vec::new();
        let mut ids = Vec::new();
        let mut reconnects = 0;
        while got.len() < 30 {
            match next_event(&mut conn).await {
                Event::Message(m) => {
                    got.push(m.data.as_text().unwrap().to_string());
                    ids.push(m.id.clone());
                }
                Event::Reconnecting { .. } => reconnects += 1,
                Event::Open(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        let want: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
        assert_eq!(got, want, "every message exactly once, in order");
        assert!(reconnects >= 1, "the restart was noticed");
        // Each message's id is the cursor that came with it.
        assert!(ids.iter().all(|id| id.is_some()));
        assert_eq!(ids.last().unwrap().as_deref(), Some("30"));
        let _server = producer.await.unwrap();
        // Nothing more arrives (no duplicates after the end either).
        let late = events_for(&mut conn, Duration::from_millis(400)).await;
        assert!(texts(&late).is_empty(), "late: {late:?}");
        assert_eq!(
            inflight.max.load(Ordering::SeqCst),
            1,
            "never two polls at once"
        );
        conn.close(1000, "done").unwrap();
        until_closed(&mut conn).await;
    })
    .await;
}

#[tokio::test]
async fn long_poll_json_array_delivers_each_element() {
    guard(async {
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let server = Server::start(move |_req, s| {
            let n = c.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    let body = br#"["a",{"b":1},2,null]"#;
                    respond(s, "200 OK", &[("Content-Type", "application/json")], body).await;
                } else {
                    hold(s, Duration::from_secs(5)).await;
                }
            }
        });
        let mut o = opts(Transport::LongPoll);
        o.http.json_array = true;
        let mut conn = rtwire::connect(&server.url("/"), o).await.unwrap();
        match next_event(&mut conn).await {
            Event::Open(info) => assert_eq!(info.transport, Transport::LongPoll),
            other => panic!("{other:?}"),
        }
        for want in ["a", r#"{"b":1}"#, "2", "null"] {
            assert_eq!(expect_text(&mut conn).await, want);
        }
        assert!(events_for(&mut conn, Duration::from_millis(200))
            .await
            .is_empty());
        assert_eq!(
            count.load(Ordering::SeqCst),
            2,
            "one poll pending after the answer"
        );
    })
    .await;
}

#[tokio::test]
async fn long_poll_204_polls_again_at_once() {
    guard(async {
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let server = Server::start(move |_req, s| {
            let n = c.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0..=2 => respond(s, "204 No Content", &[], b"").await,
                    3..=4 => respond(s, "304 Not Modified", &[], b"").await,
                    5 => respond(s, "200 OK", &[], b"news").await,
                    _ => hold(s, Duration::from_secs(5)).await,
                }
            }
        });
        // A long backoff: if "no news" were treated as an error, the news
        // would come far later than allowed below.
        let o = opts(Transport::LongPoll).reconnect(
            Reconnect::default()
                .initial_delay(Duration::from_secs(30))
                .max_delay(Duration::from_secs(30)),
        );
        let start = Instant::now();
        let mut conn = rtwire::connect(&server.url("/"), o).await.unwrap();
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, "news");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        assert!(count.load(Ordering::SeqCst) >= 6);
    })
    .await;
}

#[tokio::test]
async fn long_poll_json_field_cursor_goes_out_as_a_header() {
    guard(async {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let server = Server::start(move |req: Req, s| {
            let since = req.header("X-Since").map(str::to_string);
            let again = {
                let mut seen = s2.lock().unwrap();
                let again = seen.contains(&since);
                seen.push(since.clone());
                again
            };
            async move {
                if again {
                    return hold(s, Duration::from_secs(5)).await;
                }
                match since.as_deref() {
                    None => respond(s, "200 OK", &[], br#"{"next":"c1","messages":["a"]}"#).await,
                    Some("c1") => {
                        let body = br#"{"next":"c2","messages":["b",{"c":true}]}"#;
                        respond(s, "200 OK", &[], body).await
                    }
                    // No messages, no cursor: the cursor stays c2.
                    Some("c2") => respond(s, "200 OK", &[], br#"{"other":1}"#).await,
                    _ => hold(s, Duration::from_secs(5)).await,
                }
            }
        });
        let mut cursor = Cursor::new(CursorFrom::JsonField("next".into()));
        cursor.to = CursorTo::Header("X-Since".into());
        let o = opts(Transport::LongPoll).cursor(cursor);
        let mut conn = rtwire::connect(&server.url("/lp"), o).await.unwrap();
        expect_open(&mut conn).await;
        let mut got = Vec::new();
        for _ in 0..3 {
            match next_event(&mut conn).await {
                Event::Message(m) => got.push((m.data.as_text().unwrap().to_string(), m.id)),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            got,
            [
                ("a".to_string(), Some("c1".to_string())),
                ("b".to_string(), Some("c2".to_string())),
                (r#"{"c":true}"#.to_string(), Some("c2".to_string())),
            ]
        );
        sleep(Duration::from_millis(200)).await;
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                None,
                Some("c1".into()),
                Some("c2".into()),
                Some("c2".into())
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn long_poll_initial_cursor_and_post_mode() {
    guard(async {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let server = Server::start(move |req: Req, s| {
            s2.lock().unwrap().push(req.clone());
            async move {
                match req.query("pos").as_deref() {
                    Some("5") => respond(s, "200 OK", &[("X-Next", "6")], b"p5").await,
                    _ => hold(s, Duration::from_secs(5)).await,
                }
            }
        });
        let mut cursor = Cursor::new(CursorFrom::Header("X-Next".into()));
        cursor.to = CursorTo::Query("pos".into());
        cursor.initial = Some("5".into());
        let mut o = opts(Transport::LongPoll).cursor(cursor);
        o.http.long_poll_post = true;
        let mut conn = rtwire::connect(&server.url("/lp?keep=a%20b&pos=0"), o)
            .await
            .unwrap();
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, "p5");
        sleep(Duration::from_millis(200)).await;
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2);
        for r in &seen {
            assert_eq!(r.method, "POST");
            assert_eq!(r.header("content-length"), Some("0"));
            assert!(r.target.starts_with("/lp?keep=a%20b&pos="), "{}", r.target);
        }
        assert_eq!(seen[0].query("pos").as_deref(), Some("5"));
        assert_eq!(seen[1].query("pos").as_deref(), Some("6"));
    })
    .await;
}

#[tokio::test]
async fn long_poll_send_posts_to_send_url_while_a_poll_is_held() {
    guard(async {
        let posts = Arc::new(Mutex::new(Vec::new()));
        let inflight = Arc::new(InFlight::default());
        let (p2, f2) = (posts.clone(), inflight.clone());
        let server = Server::start(move |req: Req, s| {
            let (posts, inflight) = (p2.clone(), f2.clone());
            async move {
                if req.method == "POST" && req.path() == "/send" {
                    posts.lock().unwrap().push(req.clone());
                    respond(s, "204 No Content", &[], b"").await;
                } else {
                    let _g = inflight.enter();
                    sleep(Duration::from_millis(150)).await;
                    respond(s, "204 No Content", &[], b"").await;
                }
            }
        });
        let o = opts(Transport::LongPoll).send_url(server.url("/send"));
        let mut conn = rtwire::connect(&server.url("/poll"), o).await.unwrap();
        expect_open(&mut conn).await;
        conn.send("hello").await.unwrap();
        conn.send(vec![1u8, 2, 3]).await.unwrap();
        for _ in 0..200 {
            if posts.lock().unwrap().len() >= 2 {
                break;
            }
            sleep(Duration::from_millis(10)).await;
        }
        let posts = posts.lock().unwrap().clone();
        assert_eq!(posts.len(), 2);
        assert_eq!(posts[0].body, b"hello");
        assert!(posts[0]
            .header("content-type")
            .unwrap()
            .starts_with("text/plain"));
        assert_eq!(posts[1].body, [1, 2, 3]);
        assert_eq!(
            posts[1].header("content-type"),
            Some("application/octet-stream")
        );
        conn.close(1000, "bye").unwrap();
        let events = until_closed(&mut conn).await;
        match events.last() {
            Some(Event::Closed(c)) => {
                assert_eq!(c.code, 1000);
                assert!(c.unsent.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(inflight.max.load(Ordering::SeqCst), 1);
    })
    .await;
}

#[tokio::test]
async fn send_without_send_url_is_unsupported_and_hands_the_message_back() {
    guard(async {
        let server = Server::start(|_req, s| respond(s, "204 No Content", &[], b""));
        for t in [Transport::LongPoll, Transport::Poll] {
            let conn = rtwire::connect(&server.url("/"), opts(t)).await.unwrap();
            let mut e = conn.send("x").await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unsupported);
            assert!(e.message().contains("send_url"), "{e}");
            assert_eq!(e.take_unsent().unwrap().as_text(), Some("x"));
        }
    })
    .await;
}

/// A handler answering from a script, by request number; requests past the
/// end are held.
fn scripted(
    script: Vec<&'static [u8]>,
) -> impl Fn(Req, TcpStream) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync {
    let count = Arc::new(AtomicUsize::new(0));
    move |_req, s| {
        let n = count.fetch_add(1, Ordering::SeqCst);
        let answer = script.get(n).copied();
        Box::pin(async move {
            match answer {
                Some(bytes) => raw(s, bytes).await,
                None => hold(s, Duration::from_secs(10)).await,
            }
        })
    }
}

const NO_NEWS: &[u8] = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
const OK_BODY: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

#[tokio::test]
async fn long_poll_status_policy() {
    guard(async {
        // 503 with Retry-After is retried, and the session comes back.
        let server = Server::start(scripted(vec![
            NO_NEWS,
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy",
            OK_BODY,
        ]));
        let mut conn = rtwire::connect(&server.url("/"), opts(Transport::LongPoll))
            .await
            .unwrap();
        expect_open(&mut conn).await;
        let cause = expect_reconnecting(&mut conn).await;
        assert_eq!(cause.status(), Some(503));
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, "ok");

        // 400 (unknown session or cursor) and 413 are fatal: an error, then
        // closed, and no reconnect.
        for status in ["400 Bad Request", "413 Payload Too Large"] {
            let answer = format!(
                "HTTP/1.1 {status}\r\nContent-Length: 7\r\nConnection: close\r\n\r\nunknown"
            );
            let answer: &'static [u8] = Box::leak(answer.into_bytes().into_boxed_slice());
            let server = Server::start(scripted(vec![OK_BODY, answer, OK_BODY]));
            let mut conn = rtwire::connect(&server.url("/"), opts(Transport::LongPoll))
                .await
                .unwrap();
            expect_open(&mut conn).await;
            assert_eq!(expect_text(&mut conn).await, "ok");
            let events = until_closed(&mut conn).await;
            assert_eq!(events.len(), 2, "{events:?}");
            match &events[0] {
                Event::Error(e) => {
                    assert_eq!(e.status(), Some(status[..3].parse().unwrap()));
                    assert_eq!(e.body(), Some(&b"unknown"[..]));
                    assert!(!e.is_retryable());
                }
                other => panic!("{other:?}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn long_poll_body_over_the_limit_is_too_large_then_retried() {
    guard(async {
        let big = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: 64\r\nConnection: close\r\n\r\n{}",
            "x".repeat(64)
        );
        let big: &'static [u8] = Box::leak(big.into_bytes().into_boxed_slice());
        let server = Server::start(scripted(vec![NO_NEWS, big, OK_BODY]));
        let o = opts(Transport::LongPoll).max_message_size(16);
        let mut conn = rtwire::connect(&server.url("/"), o).await.unwrap();
        expect_open(&mut conn).await;
        let cause = expect_reconnecting(&mut conn).await;
        assert_eq!(cause.kind(), ErrorKind::TooLarge);
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, "ok");
    })
    .await;
}

#[tokio::test]
async fn long_poll_request_timeout_is_retried() {
    guard(async {
        // The second poll is held past long_poll_timeout.
        let server = Server::start(scripted(vec![NO_NEWS]));
        let mut o = opts(Transport::LongPoll).reconnect(fast_reconnect().max_attempts(1));
        o.http.long_poll_timeout = Duration::from_millis(300);
        let mut conn = rtwire::connect(&server.url("/"), o).await.unwrap();
        expect_open(&mut conn).await;
        let cause = expect_reconnecting(&mut conn).await;
        assert_eq!(cause.kind(), ErrorKind::Timeout, "{cause}");
    })
    .await;
}

/// A gzip bomb stops at the limit (BAD_INPUTS 29); a body trickled slowly
/// stops at the per-request timeout (BAD_INPUTS 28).
#[tokio::test]
async fn long_poll_gzip_bomb_and_trickled_body() {
    guard(async {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 32 << 20]).unwrap();
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 64 << 10);
        let count = Arc::new(AtomicUsize::new(0));
        let c2 = count.clone();
        let server = Server::start(move |_req, mut s| {
            let n = c2.fetch_add(1, Ordering::SeqCst);
            let bomb = bomb.clone();
            async move {
                match n {
                    0 => respond(s, "204 No Content", &[], b"").await,
                    1 => respond(s, "200 OK", &[("Content-Encoding", "gzip")], &bomb).await,
                    2 => respond(s, "200 OK", &[], b"ok").await,
                    3 => {
                        let head =
                            "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n";
                        let _ = s.write_all(head.as_bytes()).await;
                        for _ in 0..100 {
                            if s.write_all(b"x").await.is_err() {
                                return;
                            }
                            sleep(Duration::from_millis(50)).await;
                        }
                    }
                    _ => respond(s, "200 OK", &[], b"after").await,
                }
            }
        });
        let mut o = opts(Transport::LongPoll).max_message_size(1 << 20);
        o.http.long_poll_timeout = Duration::from_millis(800);
        let mut conn = rtwire::connect(&server.url("/"), o).await.unwrap();
        expect_open(&mut conn).await;
        let cause = expect_reconnecting(&mut conn).await;
        assert_eq!(cause.kind(), ErrorKind::TooLarge, "{cause}");
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, "ok");
        let cause = expect_reconnecting(&mut conn).await;
        assert_eq!(cause.kind(), ErrorKind::Timeout, "{cause}");
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, "after");
    })
    .await;
}

/// Broken HTTP framing (BAD_INPUTS 26, 27): each is an error and a retry,
/// never a message made of a truncated body.
#[tokio::test]
async fn long_poll_broken_bodies_are_errors_not_truncated_messages() {
    guard(async {
        let broken: Vec<&'static [u8]> = vec![
            // Chunked without the final 0 chunk before EOF.
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n",
            // Invalid chunk sizes.
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
            // EOF before Content-Length.
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nhello",
            // Content-Length "+3" and two different Content-Lengths.
            b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\nConnection: close\r\n\r\nhello",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 3\r\nConnection: close\r\n\r\nhello",
        ];
        for answer in broken {
            let shown = String::from_utf8_lossy(answer).into_owned();
            let server = Server::start(scripted(vec![NO_NEWS, answer, OK_BODY]));
            let mut conn = rtwire::connect(&server.url("/"), opts(Transport::LongPoll))
                .await
                .unwrap();
            expect_open(&mut conn).await;
            match next_event(&mut conn).await {
                Event::Reconnecting { cause, .. } => {
                    assert!(cause.is_retryable(), "{shown:?}: {cause:?}")
                }
                other => panic!("{shown:?}: expected Reconnecting, got {other:?}"),
            }
            expect_open(&mut conn).await;
            assert_eq!(expect_text(&mut conn).await, "ok", "{shown:?}");
        }
    })
    .await;
}

// ---------------------------------------------------------------------------
// Short polling.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn poll_etag_delivers_each_version_once() {
    guard(async {
        let version = Arc::new(AtomicUsize::new(1));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (v2, s2) = (version.clone(), seen.clone());
        let server = Server::start(move |req: Req, s| {
            let v = v2.load(Ordering::SeqCst);
            let inm = req.header("If-None-Match").map(str::to_string);
            s2.lock().unwrap().push(inm.clone());
            async move {
                let etag = format!("\"v{v}\"");
                if inm.as_deref() == Some(etag.as_str()) {
                    respond(s, "304 Not Modified", &[("ETag", &etag)], b"").await;
                } else {
                    let body = format!("content {v}");
                    respond(s, "200 OK", &[("ETag", &etag)], body.as_bytes()).await;
                }
            }
        });
        let o = opts(Transport::Poll).poll_interval(Duration::from_millis(30));
        let mut conn = rtwire::connect(&server.url("/state"), o).await.unwrap();
        match next_event(&mut conn).await {
            Event::Open(info) => assert_eq!(info.transport, Transport::Poll),
            other => panic!("{other:?}"),
        }
        match next_event(&mut conn).await {
            Event::Message(m) => {
                assert_eq!(m.data.as_text(), Some("content 1"));
                assert_eq!(m.id.as_deref(), Some("\"v1\""));
            }
            other => panic!("{other:?}"),
        }
        let quiet = events_for(&mut conn, Duration::from_millis(400)).await;
        assert!(quiet.is_empty(), "{quiet:?}");
        version.store(2, Ordering::SeqCst);
        assert_eq!(expect_text(&mut conn).await, "content 2");
        let quiet = events_for(&mut conn, Duration::from_millis(300)).await;
        assert!(quiet.is_empty(), "{quiet:?}");
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen[0], None);
        let revalidated = seen
            .iter()
            .filter(|s| s.as_deref() == Some("\"v1\""))
            .count();
        assert!(revalidated >= 4, "{seen:?}");
        assert!(
            seen.iter().any(|s| s.as_deref() == Some("\"v2\"")),
            "{seen:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn poll_without_validators_skips_identical_bodies() {
    guard(async {
        let body = Arc::new(Mutex::new("same"));
        let count = Arc::new(AtomicUsize::new(0));
        let (b2, c2) = (body.clone(), count.clone());
        let server = Server::start(move |_req, s| {
            let b = *b2.lock().unwrap();
            c2.fetch_add(1, Ordering::SeqCst);
            async move { respond(s, "200 OK", &[], b.as_bytes()).await }
        });
        let o = opts(Transport::Poll).poll_interval(Duration::from_millis(30));
        let mut conn = rtwire::connect(&server.url("/"), o).await.unwrap();
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, "same");
        let quiet = events_for(&mut conn, Duration::from_millis(300)).await;
        assert!(quiet.is_empty(), "{quiet:?}");
        assert!(count.load(Ordering::SeqCst) >= 4);
        *body.lock().unwrap() = "changed";
        assert_eq!(expect_text(&mut conn).await, "changed");
        let quiet = events_for(&mut conn, Duration::from_millis(200)).await;
        assert!(quiet.is_empty(), "{quiet:?}");
    })
    .await;
}

#[tokio::test]
async fn poll_keeps_validators_across_reconnects() {
    guard(async {
        let count = Arc::new(AtomicUsize::new(0));
        let c2 = count.clone();
        let server = Server::start(move |req: Req, s| {
            let n = c2.fetch_add(1, Ordering::SeqCst);
            let matches = req.header("If-None-Match") == Some("\"e\"");
            async move {
                if n == 1 {
                    respond(s, "502 Bad Gateway", &[], b"").await;
                } else if matches {
                    respond(s, "304 Not Modified", &[], b"").await;
                } else {
                    respond(s, "200 OK", &[("ETag", "\"e\"")], b"doc").await;
                }
            }
        });
        let o = opts(Transport::Poll).poll_interval(Duration::from_millis(30));
        let mut conn = rtwire::connect(&server.url("/"), o).await.unwrap();
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, "doc");
        assert_eq!(expect_reconnecting(&mut conn).await.status(), Some(502));
        expect_open(&mut conn).await;
        let quiet = events_for(&mut conn, Duration::from_millis(300)).await;
        assert!(texts(&quiet).is_empty(), "{quiet:?}");
    })
    .await;
}

// ---------------------------------------------------------------------------
// HTTP streaming.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn stream_ndjson_lines_split_across_writes() {
    guard(async {
        let server = Server::start(|_req, mut s| async move {
            chunked_head(&mut s, &[("Content-Type", "application/x-ndjson")]).await;
            for piece in [&b"{\"a\":"[..], b"1,\"b\"", b":2}\r\n"] {
                chunk(&mut s, piece).await;
                sleep(Duration::from_millis(30)).await;
            }
            // One TCP write, two lines and the start of a third.
            chunk(&mut s, b"{\"c\":3}\n\n[4]\n\"fi").await;
            sleep(Duration::from_millis(30)).await;
            chunk(&mut s, b"ve\"\n").await;
            sleep(Duration::from_secs(5)).await;
        });
        let o = opts(Transport::Stream).framing(Framing::Ndjson);
        let mut conn = rtwire::connect(&server.url("/s"), o).await.unwrap();
        match next_event(&mut conn).await {
            Event::Open(info) => {
                assert_eq!(info.transport, Transport::Stream);
                assert!(info
                    .headers
                    .iter()
                    .any(|(k, v)| k == "content-type" && v == "application/x-ndjson"));
            }
            other => panic!("{other:?}"),
        }
        for want in [r#"{"a":1,"b":2}"#, r#"{"c":3}"#, "[4]", "\"five\""] {
            assert_eq!(expect_text(&mut conn).await, want);
        }
    })
    .await;
}

#[tokio::test]
async fn stream_invalid_ndjson_line_is_reported_and_skipped() {
    guard(async {
        let server = Server::start(|_req, mut s| async move {
            chunked_head(&mut s, &[]).await;
            chunk(&mut s, b"{\"ok\":1}\nnot json\n{\"ok\":2}\n").await;
            sleep(Duration::from_secs(5)).await;
        });
        let o = opts(Transport::Stream).framing(Framing::Ndjson);
        let mut conn = rtwire::connect(&server.url("/"), o).await.unwrap();
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, r#"{"ok":1}"#);
        match next_event(&mut conn).await {
            Event::Error(e) => {
                assert_eq!(e.kind(), ErrorKind::Protocol);
                assert!(e.message().contains("line 2"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(expect_text(&mut conn).await, r#"{"ok":2}"#);
        let quiet = events_for(&mut conn, Duration::from_millis(200)).await;
        assert!(quiet.is_empty(), "no reconnect: {quiet:?}");
    })
    .await;
}

#[tokio::test]
async fn stream_line_over_max_line_is_an_error_then_a_reconnect() {
    guard(async {
        let count = Arc::new(AtomicUsize::new(0));
        let c2 = count.clone();
        let server = Server::start(move |_req, mut s| {
            let n = c2.fetch_add(1, Ordering::SeqCst);
            async move {
                chunked_head(&mut s, &[]).await;
                if n == 0 {
                    chunk(&mut s, b"short\n0123456789").await;
                    sleep(Duration::from_millis(20)).await;
                    chunk(&mut s, b"abcdef\nafter\n").await;
                } else {
                    chunk(&mut s, b"again\n").await;
                }
                sleep(Duration::from_secs(5)).await;
            }
        });
        let mut o = opts(Transport::Stream).framing(Framing::Lines);
        o.http.max_line = 8;
        let mut conn = rtwire::connect(&server.url("/"), o).await.unwrap();
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, "short");
        let cause = expect_reconnecting(&mut conn).await;
        assert_eq!(cause.kind(), ErrorKind::TooLarge, "{cause}");
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, "again");
    })
    .await;
}

#[tokio::test]
async fn stream_chunk_framing_delivers_binary_chunks() {
    guard(async {
        let server = Server::start(|_req, mut s| async move {
            chunked_head(&mut s, &[]).await;
            chunk(&mut s, b"ab").await;
            sleep(Duration::from_millis(100)).await;
            chunk(&mut s, b"c\nd").await;
            sleep(Duration::from_secs(5)).await;
        });
        let o = opts(Transport::Stream).framing(Framing::Chunks);
        let mut conn = rtwire::connect(&server.url("/"), o).await.unwrap();
        expect_open(&mut conn).await;
        for want in [&b"ab"[..], b"c\nd"] {
            match next_event(&mut conn).await {
                Event::Message(m) => assert_eq!(m.data, Data::from(want)),
                other => panic!("{other:?}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn stream_reconnects_after_the_server_ends_the_response() {
    guard(async {
        let count = Arc::new(AtomicUsize::new(0));
        let c2 = count.clone();
        let server = Server::start(move |_req, mut s| {
            let n = c2.fetch_add(1, Ordering::SeqCst);
            async move {
                chunked_head(&mut s, &[]).await;
                if n == 0 {
                    // A last line without a line ending, then a proper end.
                    chunk(&mut s, b"one\ntwo").await;
                    let _ = s.write_all(b"0\r\n\r\n").await;
                    let _ = s.flush().await;
                } else {
                    chunk(&mut s, b"three\n").await;
                    sleep(Duration::from_secs(5)).await;
                }
            }
        });
        let mut conn = rtwire::connect(&server.url("/"), opts(Transport::Stream))
            .await
            .unwrap();
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, "one");
        assert_eq!(expect_text(&mut conn).await, "two");
        let cause = expect_reconnecting(&mut conn).await;
        assert_eq!(cause.kind(), ErrorKind::Closed, "{cause}");
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, "three");
    })
    .await;
}

#[tokio::test]
async fn stream_cut_short_drops_the_partial_line_and_reconnects() {
    guard(async {
        let count = Arc::new(AtomicUsize::new(0));
        let c2 = count.clone();
        let server = Server::start(move |_req, mut s| {
            let n = c2.fetch_add(1, Ordering::SeqCst);
            async move {
                chunked_head(&mut s, &[]).await;
                if n == 0 {
                    // No final 0 chunk before EOF.
                    chunk(&mut s, b"whole\npartial").await;
                    sleep(Duration::from_millis(50)).await;
                    let _ = s.shutdown().await;
                } else {
                    chunk(&mut s, b"next\n").await;
                    sleep(Duration::from_secs(5)).await;
                }
            }
        });
        let mut conn = rtwire::connect(&server.url("/"), opts(Transport::Stream))
            .await
            .unwrap();
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, "whole");
        let cause = expect_reconnecting(&mut conn).await;
        assert_eq!(cause.kind(), ErrorKind::Io, "{cause}");
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, "next");
    })
    .await;
}

#[tokio::test]
async fn stream_gzip_body_is_decoded() {
    guard(async {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"g1\r\ng2\n").unwrap();
        let compressed = gz.finish().unwrap();
        let server = Server::start(move |req: Req, mut s| {
            let compressed = compressed.clone();
            async move {
                assert!(
                    req.header("accept-encoding")
                        .is_some_and(|v| v.contains("gzip")),
                    "{req:?}"
                );
                chunked_head(&mut s, &[("Content-Encoding", "gzip")]).await;
                // The compressed bytes in two chunks.
                let (a, b) = compressed.split_at(compressed.len() / 2);
                chunk(&mut s, a).await;
                sleep(Duration::from_millis(20)).await;
                chunk(&mut s, b).await;
                sleep(Duration::from_secs(5)).await;
            }
        });
        let mut conn = rtwire::connect(&server.url("/"), opts(Transport::Stream))
            .await
            .unwrap();
        expect_open(&mut conn).await;
        assert_eq!(expect_text(&mut conn).await, "g1");
        assert_eq!(expect_text(&mut conn).await, "g2");
    })
    .await;
}

#[tokio::test]
async fn stream_refused_statuses() {
    guard(async {
        let server = Server::start(|_req, s| respond(s, "404 Not Found", &[], b"nope"));
        let e = rtwire::connect(&server.url("/"), opts(Transport::Stream))
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(404));
        assert!(!e.is_retryable());
    })
    .await;
}
