//! The embedded server against third-party clients (Python `websockets`,
//! Node `ws` and `eventsource`, curl), installed pinned by
//! `scripts/peers.sh`, and against bad inputs and load: a thousand
//! WebSocket clients, malformed handshakes, oversize frames, slow headers
//! and a client that never reads. After each bad input the server must
//! still serve a new client.

mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{expect_open, guard, next_event, node, python, workspace_root, EVENT_LIMIT};
use futures_util::{stream, SinkExt, StreamExt};
use rtwire::server::{Server, ServerOptions};
use rtwire::{Event, Options};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A peer process that prints one JSON object per line. Killed when dropped;
/// every peer also exits by itself after its `--timeout`.
struct Peer {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    what: String,
}

impl Peer {
    fn spawn(mut cmd: Command, what: &str) -> Peer {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        Peer {
            child,
            lines: BufReader::new(stdout).lines(),
            what: what.to_string(),
        }
    }

    /// The next JSON line, within [`EVENT_LIMIT`]; `None` when the peer
    /// exited.
    async fn next(&mut self) -> Option<Value> {
        let line = tokio::time::timeout(EVENT_LIMIT, self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{}: no output within {EVENT_LIMIT:?}", self.what))
            .unwrap_or_else(|e| panic!("{}: reading stdout: {e}", self.what))?;
        Some(
            serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("{}: not a JSON line ({e}): {line:?}", self.what)),
        )
    }

    /// The next line, which must exist and have `"event": event`.
    async fn expect(&mut self, event: &str) -> Value {
        let v = self
            .next()
            .await
            .unwrap_or_else(|| panic!("{}: exited while waiting for {event}", self.what));
        assert_eq!(v["event"], event, "{}: {v}", self.what);
        v
    }

    /// Waits (bounded) for the process to exit by itself.
    async fn wait_exit(mut self) {
        let status = tokio::time::timeout(EVENT_LIMIT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("{} did not exit by itself", self.what))
            .expect("waiting for the peer");
        assert!(status.success(), "{} exited with {status}", self.what);
    }
}

/// `tests/peers/<script>` run by the venv's Python.
fn py(script: &str) -> Command {
    let mut cmd = Command::new(python());
    cmd.arg(workspace_root().join("tests/peers").join(script));
    cmd
}

/// Waits (bounded) until `cond` holds for the server's stats.
async fn until(server: &Server, what: &str, cond: impl Fn(&rtwire::server::Stats) -> bool) {
    for _ in 0..200 {
        if cond(&server.stats()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not within 10 s; stats {:?}", server.stats());
}

fn published(server: &Server, channel: &str) -> u64 {
    server
        .stats()
        .channels
        .iter()
        .find(|c| c.name == channel)
        .map_or(0, |c| c.published)
}

fn subscribers(server: &Server, channel: &str) -> usize {
    server
        .stats()
        .channels
        .iter()
        .find(|c| c.name == channel)
        .map_or(0, |c| c.subscribers)
}

/// A message of an rtwire connection (SSE here), skipping other events.
async fn message(conn: &mut rtwire::Connection) -> rtwire::Message {
    loop {
        match next_event(conn).await {
            Event::Message(m) => return m,
            Event::Closed(c) => panic!("closed while waiting for a message: {c:?}"),
            _ => {}
        }
    }
}

/// One run of a third-party WebSocket client peer (`ws_client.py` or
/// `ws_client.mjs`, same arguments and output): it receives what the test
/// publishes, text and binary; what it sends is published to the channel;
/// a resuming `rtwire.v1` client gets ids and the replay.
async fn third_party_ws_client(make: fn(&str) -> Command, script: &str) {
    let server = Server::start(ServerOptions::new()).await.unwrap();
    let url = format!("ws://{}/ws/chat", server.local_addr());
    let mut cmd = make(script);
    cmd.arg(&url)
        .args([
            "--expect",
            "4",
            "--send",
            "from peer",
            "--send-hex",
            "00ff7f",
        ])
        .args(["--timeout", "10"]);
    let mut peer = Peer::spawn(cmd, script);
    let open = peer.expect("open").await;
    assert_eq!(open["subprotocol"], Value::Null, "no subprotocol offered");
    // Its two sends are published (and come back to it, a subscriber too)
    // before what the test publishes.
    until(&server, "the peer's sends published", |_| {
        published(&server, "chat") == 2
    })
    .await;
    let hello = server.publish("chat", "hello");
    server.publish("chat", vec![1u8, 2, 3]);
    let got: Vec<Value> = [
        peer.expect("text").await,
        peer.expect("binary").await,
        peer.expect("text").await,
        peer.expect("binary").await,
    ]
    .into();
    assert_eq!(got[0]["data"], "from peer");
    assert_eq!(got[1]["hex"], "00ff7f");
    assert_eq!(got[2]["data"], "hello");
    assert_eq!(got[3]["hex"], "010203");
    // It closes normally once it has its four messages.
    let close = peer.expect("close").await;
    assert_eq!(close["code"], 1000, "{close}");
    peer.wait_exit().await;
    until(&server, "the peer's session gone", |_| {
        subscribers(&server, "chat") == 0
    })
    .await;

    // History through an rtwire SSE client with a cursor: the same four, in
    // order, binary as base64 events.
    let sse = format!("http://{}/sse/chat", server.local_addr());
    let opts = Options::new().last_event_id(format!("{}-0", server.epoch()));
    let mut c = rtwire::connect(&sse, opts).await.unwrap();
    expect_open(&mut c).await;
    let m = message(&mut c).await;
    assert_eq!(m.data.as_text(), Some("from peer"));
    let m = message(&mut c).await;
    assert_eq!(m.event.as_deref(), Some("binary"));
    assert_eq!(
        m.data.as_text(),
        Some(B64.encode([0u8, 0xff, 0x7f]).as_str())
    );
    let m = message(&mut c).await;
    assert_eq!(m.data.as_text(), Some("hello"));
    assert_eq!(m.id.as_deref(), Some(hello.as_str()));
    drop(c);

    // Resuming with rtwire.v1 after "hello": the replay, then live, each
    // prefixed with its id.
    let mut cmd = make(script);
    cmd.arg(format!("{url}?cursor={hello}"))
        .args(["--subprotocol", "rtwire.v1", "--expect", "2"])
        .args(["--timeout", "10"]);
    let mut peer = Peer::spawn(cmd, script);
    let open = peer.expect("open").await;
    assert_eq!(open["subprotocol"], "rtwire.v1");
    let bin_id = format!("{}-4", server.epoch());
    let replayed = peer.expect("binary").await;
    let want = [format!("{bin_id}\n").as_bytes(), &[1, 2, 3]].concat();
    assert_eq!(replayed["hex"], hex(&want));
    let after = server.publish("chat", "after");
    let live = peer.expect("text").await;
    assert_eq!(live["data"], format!("{after}\nafter"));
    peer.expect("close").await;
    peer.wait_exit().await;
    server.shutdown().await;
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test]
async fn python_websockets_client_receives_and_publishes() {
    guard(third_party_ws_client(py, "ws_client.py")).await;
}

#[tokio::test]
async fn node_ws_client_receives_and_publishes() {
    guard(third_party_ws_client(node, "ws_client.mjs")).await;
}

#[tokio::test]
async fn node_eventsource_resumes_with_last_event_id_after_a_server_side_drop() {
    guard(async {
        let server = Server::start(ServerOptions::new()).await.unwrap();
        let url = format!("http://{}/sse/news", server.local_addr());
        let mut cmd = node("es_client.mjs");
        cmd.arg(&url).args(["--expect", "15", "--timeout", "15"]);
        let mut peer = Peer::spawn(cmd, "es_client.mjs");
        peer.expect("open").await;
        let mut ids = Vec::new();
        let mut got: Vec<(String, String)> = Vec::new();
        let mut opens = 1;
        // Seen before the cut: the client now holds a last id.
        for i in 1..=3 {
            ids.push(server.publish("news", format!("m{i}")));
        }
        while got.len() < 3 {
            es_step(&mut peer, &mut got, &mut opens).await;
        }
        // The cut lands in the middle of a burst: some of m4..m5 may be lost
        // in flight, m6..m10 are published while the client is away.
        for i in 4..=10 {
            ids.push(server.publish("news", format!("m{i}")));
            if i == 5 {
                server.disconnect_all();
            }
        }
        // The package waits 3 s before reconnecting; then it sends the last
        // id it saw as Last-Event-ID and gets the rest from history.
        while got.len() < 10 {
            es_step(&mut peer, &mut got, &mut opens).await;
        }
        assert_eq!(opens, 2, "exactly one reconnection");
        for i in 11..=15 {
            ids.push(server.publish("news", format!("m{i}")));
        }
        while got.len() < 15 {
            es_step(&mut peer, &mut got, &mut opens).await;
        }
        assert_eq!(opens, 2, "no other reconnection");
        let want: Vec<(String, String)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), format!("m{}", i + 1)))
            .collect();
        assert_eq!(got, want, "every message once, in order");
        peer.wait_exit().await;
        server.shutdown().await;
    })
    .await;
}

/// Reads one line of `es_client.mjs`: a message is added to `got` as
/// `(id, data)`, an `open` counted; errors (the drop) are expected.
async fn es_step(peer: &mut Peer, got: &mut Vec<(String, String)>, opens: &mut u32) {
    let v = peer
        .next()
        .await
        .unwrap_or_else(|| panic!("es_client exited after {got:?}"));
    match v["event"].as_str() {
        Some("open") => *opens += 1,
        Some("message") => {
            assert_eq!(v["type"], "message", "{v}");
            let id = v["id"].as_str().expect("an id").to_string();
            got.push((id, v["data"].as_str().expect("data").to_string()));
        }
        Some("error") => {}
        _ => panic!("unexpected {v} after {got:?}"),
    }
}

/// Runs curl (bounded by `--max-time` and a timeout) and returns stdout.
async fn curl(args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "--max-time", "10"])
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run curl ({e}); run ./scripts/peers.sh"));
    if let Some(body) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(body).await.unwrap();
        drop(pipe);
    }
    let out = tokio::time::timeout(Duration::from_secs(12), child.wait_with_output())
        .await
        .expect("curl within its --max-time")
        .unwrap();
    assert!(out.status.success(), "curl {args:?}: {}", out.status);
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s:?}"))
}

#[tokio::test]
async fn curl_publishes_long_polls_and_streams() {
    guard(async {
        let server = Server::start(ServerOptions::new()).await.unwrap();
        let base = server.base_url();
        let epoch = server.epoch().to_string();
        // POST /publish, text and binary.
        let url = format!("{base}/publish/c");
        let text = json(
            &curl(
                &[
                    "-X",
                    "POST",
                    "-H",
                    "Content-Type: text/plain",
                    "--data-binary",
                    "from curl",
                    &url,
                ],
                None,
            )
            .await,
        );
        let id1 = text["id"].as_str().expect("an id").to_string();
        assert_eq!(id1, format!("{epoch}-1"));
        let bin = json(
            &curl(
                &[
                    "-X",
                    "POST",
                    "-H",
                    "Content-Type: application/octet-stream",
                    "--data-binary",
                    "@-",
                    &url,
                ],
                Some(&[0, 1, 2, 255]),
            )
            .await,
        );
        let id2 = bin["id"].as_str().expect("an id").to_string();
        assert_eq!(published(&server, "c"), 2);

        // A long poll from the start of the epoch answers at once.
        let all = json(&curl(&[&format!("{base}/poll/c?cursor={epoch}-0")], None).await);
        assert_eq!(all["cursor"], id2.as_str(), "{all}");
        assert_eq!(all["messages"][0], "from curl", "{all}");
        assert_eq!(all["messages"][1]["binary"], true, "{all}");
        assert_eq!(
            all["messages"][1]["data"],
            B64.encode([0u8, 1, 2, 255]),
            "{all}"
        );
        assert_eq!(all["reset"], false);
        assert_eq!(all["missed"], 0);

        // A held long poll returns with what is published meanwhile.
        let held_url = format!("{base}/poll/c?cursor={id2}&wait=8");
        let held = tokio::spawn(async move { curl(&[&held_url], None).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let id3 = server.publish("c", "later");
        let next = json(&held.await.unwrap());
        assert_eq!(next["messages"], serde_json::json!(["later"]), "{next}");
        assert_eq!(next["cursor"], id3.as_str());

        // curl -N on /stream: NDJSON lines, replay then live.
        let mut cmd = Command::new("curl");
        cmd.args(["-sN", "--max-time", "10"])
            .arg(format!("{base}/stream/c?cursor={id1}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("curl");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let l = ndjson_line(&mut lines).await;
        assert_eq!(
            (l["id"].as_str(), l["binary"].as_bool()),
            (Some(id2.as_str()), Some(true))
        );
        let l = ndjson_line(&mut lines).await;
        assert_eq!(l["data"], "later");
        let id4 = server.publish("c", "live");
        let l = ndjson_line(&mut lines).await;
        assert_eq!(
            (l["id"].as_str(), l["data"].as_str()),
            (Some(id4.as_str()), Some("live"))
        );
        drop(child);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn curl_d_publishes_text_and_octet_streams_stay_binary() {
    guard(async {
        let server = Server::start(ServerOptions::new()).await.unwrap();
        let base = server.base_url();
        let epoch = server.epoch().to_string();
        let url = format!("{base}/publish/news");
        // curl -d: application/x-www-form-urlencoded, valid UTF-8: text.
        curl(&["-d", "hello", &url], None).await;
        // No Content-Type and bytes that are not UTF-8: binary.
        curl(
            &["-H", "Content-Type:", "--data-binary", "@-", &url],
            Some(&[0xff, 0xfe]),
        )
        .await;
        // Declared binary: binary even though it is valid UTF-8.
        curl(
            &[
                "-H",
                "Content-Type: image/png",
                "--data-binary",
                "abc",
                &url,
            ],
            None,
        )
        .await;
        let all = json(&curl(&[&format!("{base}/poll/news?cursor={epoch}-0")], None).await);
        assert_eq!(all["messages"][0], "hello", "{all}");
        assert_eq!(all["messages"][1]["binary"], true, "{all}");
        assert_eq!(
            all["messages"][1]["data"],
            B64.encode([0xffu8, 0xfe]),
            "{all}"
        );
        assert_eq!(all["messages"][2]["binary"], true, "{all}");
        server.shutdown().await;
    })
    .await;
}

/// The next non-blank NDJSON line of a curl stream, parsed.
async fn ndjson_line(lines: &mut Lines<BufReader<ChildStdout>>) -> Value {
    loop {
        let l = tokio::time::timeout(EVENT_LIMIT, lines.next_line())
            .await
            .expect("an NDJSON line in time")
            .unwrap()
            .expect("the stream goes on");
        if !l.trim().is_empty() {
            return json(&l);
        }
    }
}

/// A raw WebSocket client, small buffers.
type RawWs = WebSocketStream<TcpStream>;

fn small_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4096)
}

async fn raw_ws(addr: SocketAddr, path: &str) -> RawWs {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let url = format!("ws://{addr}{path}");
    let (ws, resp) = tokio_tungstenite::client_async_with_config(url, tcp, Some(small_config()))
        .await
        .expect("WebSocket handshake");
    assert_eq!(resp.status(), 101);
    ws
}

/// The next data message of a raw client, within [`EVENT_LIMIT`].
async fn raw_next(ws: &mut RawWs) -> WsMessage {
    loop {
        let m = tokio::time::timeout(EVENT_LIMIT, ws.next())
            .await
            .expect("a message in time")
            .expect("the connection is open")
            .expect("no error");
        if m.is_text() || m.is_binary() || m.is_close() {
            return m;
        }
    }
}

/// A brand-new WebSocket client still connects and gets a publish.
async fn assert_serves(server: &Server, after: &str) {
    let channel = format!("probe-{}", published(server, "probe-count"));
    server.publish("probe-count", "x");
    let mut ws = raw_ws(server.local_addr(), &format!("/ws/{channel}")).await;
    server.publish(&channel, "still here");
    match raw_next(&mut ws).await {
        WsMessage::Text(t) => assert_eq!(t.as_str(), "still here", "after {after}"),
        other => panic!("after {after}: got {other:?}"),
    }
    let _ = ws.close(None).await;
}

/// Reads the fd limit: each loopback client costs two descriptors here.
fn open_files_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .unwrap_or(u64::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_websocket_clients_all_receive_a_broadcast() {
    const N: usize = 1000;
    let limit = open_files_limit();
    assert!(
        limit >= 2 * N as u64 + 200,
        "open-files limit {limit} is too low for {N} loopback clients: raise it (ulimit -n 4096)"
    );
    let run = async {
        let server = Server::start(ServerOptions::new()).await.unwrap();
        let addr = server.local_addr();
        let mut clients: Vec<RawWs> = stream::iter(0..N)
            .map(|_| raw_ws(addr, "/ws/fanout"))
            .buffer_unordered(64)
            .collect()
            .await;
        assert_eq!(subscribers(&server, "fanout"), N);
        let id = server.publish("fanout", "to everyone");
        let got: Vec<WsMessage> = stream::iter(clients.iter_mut())
            .map(raw_next)
            .buffer_unordered(N)
            .collect()
            .await;
        assert_eq!(got.len(), N);
        for m in &got {
            assert_eq!(m.to_text().unwrap(), "to everyone");
        }
        assert!(id.ends_with("-1"));
        // They leave; the server lets go of every session.
        stream::iter(clients.iter_mut())
            .for_each_concurrent(N, |ws| async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(None)).await;
            })
            .await;
        drop(clients);
        until(&server, "all sessions gone", |s| s.connections == 0).await;
        assert_serves(&server, "1000 clients").await;
        server.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(40), run)
        .await
        .expect("within 40 s");
}

/// Whether `buf` holds a whole response with a `Content-Length` body (the
/// server may keep the connection open after it).
fn response_complete(buf: &[u8]) -> bool {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|len| buf.len() >= end + 4 + len)
}

/// Sends `request` on a fresh connection (writing concurrently, errors
/// ignored: the server may refuse before reading it all) and returns what
/// came back: one whole response, or what came before the connection ended
/// or 5 s passed.
async fn raw_http(addr: SocketAddr, request: Vec<u8>) -> String {
    let s = TcpStream::connect(addr).await.unwrap();
    let (mut r, mut w) = s.into_split();
    let writer = tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(5), w.write_all(&request)).await;
        w
    });
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let mut chunk = [0u8; 4096];
        while buf.len() < 65536 {
            match r.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if response_complete(&buf) {
                break;
            }
        }
    })
    .await;
    writer.abort();
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test]
async fn malformed_handshakes_are_refused_and_the_server_keeps_serving() {
    guard(async {
        let server = Server::start(ServerOptions::new()).await.unwrap();
        let addr = server.local_addr();
        let head = "GET /ws/c HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";

        let no_key = format!("{head}Sec-WebSocket-Version: 13\r\n\r\n");
        let r = raw_http(addr, no_key.into_bytes()).await;
        assert!(r.starts_with("HTTP/1.1 400"), "missing key: {r}");
        assert_serves(&server, "a missing key").await;

        let v8 = format!(
            "{head}Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        );
        let r = raw_http(addr, v8.into_bytes()).await;
        assert!(r.starts_with("HTTP/1.1 426"), "version 8: {r}");
        assert!(
            r.to_ascii_lowercase()
                .contains("\r\nsec-websocket-version: 13\r\n"),
            "{r}"
        );
        assert_serves(&server, "version 8").await;

        let bad_key =
            format!("{head}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n\r\n");
        let r = raw_http(addr, bad_key.into_bytes()).await;
        assert!(r.starts_with("HTTP/1.1 400"), "bad key: {r}");

        let mut many = format!(
            "{head}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        );
        for i in 0..1000 {
            many.push_str(&format!("X-H{i}: v\r\n"));
        }
        many.push_str("\r\n");
        let r = raw_http(addr, many.into_bytes()).await;
        assert!(
            r.starts_with("HTTP/1.1 431") || r.is_empty(),
            "1000 headers: {r}"
        );
        assert_serves(&server, "1000 headers").await;

        let mut big = format!("{head}Sec-WebSocket-Version: 13\r\nX-Big: ").into_bytes();
        big.extend(std::iter::repeat_n(b'a', 1 << 20));
        big.extend_from_slice(b"\r\n\r\n");
        let r = raw_http(addr, big).await;
        assert!(
            r.starts_with("HTTP/1.1 431") || r.is_empty(),
            "1 MiB header: {r}"
        );
        assert_serves(&server, "a 1 MiB header").await;

        let garbage =
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not HTTP at all\r\n\r\n".to_vec();
        let r = raw_http(addr, garbage).await;
        assert!(
            r.is_empty() || r.starts_with("HTTP/1.1 400"),
            "garbage: {r}"
        );
        assert_serves(&server, "garbage").await;
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn an_oversize_frame_is_closed_with_1009() {
    guard(async {
        let mut opts = ServerOptions::new();
        opts.max_message_size = 1024;
        let server = Server::start(opts).await.unwrap();
        let mut ws = raw_ws(server.local_addr(), "/ws/big").await;
        ws.send(WsMessage::binary(vec![7u8; 1000])).await.unwrap();
        until(&server, "the small message published", |_| {
            published(&server, "big") == 1
        })
        .await;
        // Its own message comes back (it is a subscriber).
        assert_eq!(raw_next(&mut ws).await, WsMessage::binary(vec![7u8; 1000]));
        ws.send(WsMessage::binary(vec![7u8; 4096])).await.unwrap();
        match raw_next(&mut ws).await {
            WsMessage::Close(Some(f)) => assert_eq!(f.code, CloseCode::Size, "{f:?}"),
            other => panic!("expected close 1009, got {other:?}"),
        }
        assert_eq!(
            published(&server, "big"),
            1,
            "the oversize one is not published"
        );
        until(&server, "the session gone", |_| {
            subscribers(&server, "big") == 0
        })
        .await;
        assert_serves(&server, "an oversize frame").await;
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    guard(async {
        let mut opts = ServerOptions::new();
        opts.header_timeout = Duration::from_millis(500);
        let server = Server::start(opts).await.unwrap();
        let s = TcpStream::connect(server.local_addr()).await.unwrap();
        let (mut r, mut w) = s.into_split();
        let start = Instant::now();
        let reader = tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(10), r.read_to_end(&mut buf)).await;
            (start.elapsed(), buf)
        });
        // One header byte per 200 ms, never finishing: at most 50 bytes
        // (10 s), stopping as soon as the server lets go.
        let request = b"GET /sse/c HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        let mut sent = 0;
        for i in 0..50 {
            if reader.is_finished() {
                break;
            }
            let byte = request.get(i).copied().unwrap_or(b'a');
            if w.write_all(&[byte]).await.is_err() {
                break;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let (when, answer) = reader.await.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            when < Duration::from_secs(3),
            "cut off after {when:?} ({sent} bytes sent)"
        );
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
        assert_serves(&server, "slow headers").await;
        server.shutdown().await;
    })
    .await;
}

/// This process's resident set size in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_client_that_never_reads_is_disconnected() {
    guard(async {
        let mut opts = ServerOptions::new().history(16);
        opts.client_queue = 256;
        // Also the bound on one write to a client.
        opts.ping_interval = Duration::from_secs(2);
        let server = Server::start(opts).await.unwrap();
        let addr = server.local_addr();
        let mut stuck = raw_ws(addr, "/ws/firehose").await;
        // A reader that keeps up, for comparison: it is not cut off.
        let mut fine = raw_ws(addr, "/ws/firehose").await;
        let rss0 = rss_kib();
        let payload = bytes::Bytes::from(vec![b'x'; 64 << 10]);
        const TOTAL: u32 = 2000;
        let seen = Arc::new(AtomicU32::new(0));
        let reader = tokio::spawn({
            let seen = seen.clone();
            async move {
                while seen.load(Ordering::Relaxed) < TOTAL {
                    match tokio::time::timeout(Duration::from_secs(5), fine.next()).await {
                        Ok(Some(Ok(m))) if m.is_binary() => {
                            seen.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(Some(Ok(m))) if !m.is_close() => {}
                        other => {
                            panic!("the reading client lost its stream after {seen:?}: {other:?}")
                        }
                    }
                }
                fine
            }
        });
        // 2,000 x 64 KiB = 125 MiB, far more than socket buffers hold, paced
        // by the reading client (at most 128 ahead of it, under its queue).
        for i in 0..TOTAL {
            for _ in 0..1000 {
                if seen.load(Ordering::Relaxed) + 128 > i {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            server.publish("firehose", payload.clone());
        }
        let mut fine = reader.await.unwrap();
        until(&server, "the non-reading session gone", |s| {
            s.connections == 1 && subscribers(&server, "firehose") == 1
        })
        .await;
        let grew = rss_kib().saturating_sub(rss0);
        assert!(grew < 48 * 1024, "memory grew by {grew} KiB");
        // What the stuck client finds when it finally reads: what the
        // socket held, then close 1008 or the end of the TCP stream.
        let end = tokio::time::timeout(Duration::from_secs(10), async {
            let mut n = 0;
            loop {
                match stuck.next().await {
                    Some(Ok(WsMessage::Close(f))) => return (n, f.map(|f| f.code)),
                    Some(Ok(_)) => n += 1,
                    Some(Err(_)) | None => return (n, None),
                }
            }
        })
        .await
        .expect("the stuck client's stream ends");
        eprintln!("never-reading client: {end:?}, memory grew by {grew} KiB");
        assert!(end.0 < 2000, "it got everything: {end:?}");
        assert!(matches!(end.1, None | Some(CloseCode::Policy)), "{end:?}");
        let _ = fine.close(None).await;
        assert_serves(&server, "a client that never reads").await;
        server.shutdown().await;
    })
    .await;
}

/// A third-party client with permessage-deflate on (as both packages have
/// it by default) against a server that accepts it: compressible messages
/// both ways, a broadcast compressed once for every subscriber.
async fn third_party_ws_client_with_deflate(make: fn(&str) -> Command, script: &str) {
    let mut opts = ServerOptions::new();
    opts.permessage_deflate = true;
    let server = Server::start(opts).await.unwrap();
    let url = format!("ws://{}/ws/deflated", server.local_addr());
    let big = "{\"user\":\"alice\",\"text\":\"a compressible line\"}".repeat(100);
    let mut cmd = make(script);
    cmd.arg(&url)
        .args(["--expect", "3", "--send", &big, "--timeout", "10"]);
    let mut peer = Peer::spawn(cmd, script);
    let open = peer.expect("open").await;
    let ext = open["extensions"].as_str().unwrap_or_default();
    assert!(ext.contains("permessage-deflate"), "{open}");
    assert!(ext.contains("server_no_context_takeover"), "{open}");
    until(&server, "the peer's send published", |_| {
        published(&server, "deflated") == 1
    })
    .await;
    server.publish("deflated", "small");
    server.publish("deflated", vec![0u8; 50_000]);
    let got = [
        peer.expect("text").await,
        peer.expect("text").await,
        peer.expect("binary").await,
    ];
    assert_eq!(got[0]["data"].as_str(), Some(big.as_str()));
    assert_eq!(got[1]["data"], "small");
    assert_eq!(got[2]["hex"].as_str().map(str::len), Some(100_000));
    peer.expect("close").await;
    peer.wait_exit().await;
}

#[tokio::test]
async fn python_websockets_client_with_permessage_deflate() {
    guard(third_party_ws_client_with_deflate(py, "ws_client.py")).await;
}

#[tokio::test]
async fn node_ws_client_with_permessage_deflate() {
    guard(third_party_ws_client_with_deflate(node, "ws_client.mjs")).await;
}
