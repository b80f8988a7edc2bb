//! The Engine.IO v4 server (`ServerOptions::engineio`): an ordinary echo
//! handler served to the third-party `engine.io-client` (pinned in
//! tests/peers/node/package.json, installed by `scripts/peers.sh`) over
//! polling, a WebSocket and the upgrade between them; and the protocol's
//! answers to raw HTTP requests (the reference server's error codes,
//! maxPayload, the heartbeat, the client's close).

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{guard, workspace_root, EVENT_LIMIT};
use rtwire::proto::engineio::{self, Handshake, Packet, PayloadLimits};
use rtwire::server::{Reject, Server, ServerOptions};
use rtwire::{Connection, Data, Event};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// Ends seen by the handler: (transport it opened on, close code).
type Ends = Arc<Mutex<Vec<(String, u16)>>>;

/// An echo handler: every message back to its sender; `bye` is answered
/// by the server's close.
fn echo_route(opts: ServerOptions, ends: Ends) -> ServerOptions {
    opts.engineio("/engine.io/", move |mut conn: Connection, _req| {
        let ends = ends.clone();
        async move {
            let transport = conn.open_info().transport.to_string();
            while let Some(ev) = conn.recv().await {
                match ev {
                    Event::Message(m) => {
                        if m.data.as_text() == Some("bye") {
                            let _ = conn.close(1000, "bye");
                            continue;
                        }
                        if conn.send(m.data).await.is_err() {
                            break;
                        }
                    }
                    Event::Closed(c) => ends.lock().unwrap().push((transport.clone(), c.code)),
                    Event::Error(e) => eprintln!("handler: {e}"),
                    _ => {}
                }
            }
        }
    })
}

async fn start(opts: ServerOptions) -> (Server, Ends) {
    let ends = Ends::default();
    let opts = echo_route(opts.ping_interval_for_tests(), ends.clone());
    (Server::start(opts).await.expect("server starts"), ends)
}

/// Short heartbeats, so that pings and pongs happen during every test.
trait Quick {
    fn ping_interval_for_tests(self) -> Self;
}

impl Quick for ServerOptions {
    fn ping_interval_for_tests(mut self) -> Self {
        self.ping_interval = Duration::from_millis(400);
        self
    }
}

/// A peer process that prints one JSON object per line; killed when
/// dropped, and exits by itself after its `--timeout`.
struct Peer {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Peer {
    fn spawn(args: &[&str]) -> Peer {
        let dir: PathBuf = workspace_root().join("tests/peers/node");
        if !dir.join("node_modules/engine.io-client").exists() {
            panic!(
                "engine.io-client is not installed in {}; run ./scripts/peers.sh",
                dir.display()
            );
        }
        let mut child = Command::new("node")
            .arg(dir.join("eio_client.mjs"))
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        let stdout = child.stdout.take().expect("piped");
        Peer {
            child,
            lines: BufReader::new(stdout).lines(),
        }
    }

    async fn next(&mut self) -> Value {
        let line = tokio::time::timeout(EVENT_LIMIT, self.lines.next_line())
            .await
            .expect("the peer prints within the limit")
            .expect("reading the peer")
            .expect("the peer printed a line before exiting");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    async fn expect(&mut self, event: &str) -> Value {
        let v = self.next().await;
        assert_eq!(v["event"], event, "{v}");
        v
    }

    async fn exits(mut self) {
        let status = tokio::time::timeout(EVENT_LIMIT, self.child.wait())
            .await
            .expect("the peer exits by itself")
            .expect("waiting for the peer");
        assert!(status.success(), "the peer exited with {status}");
    }
}

fn url(server: &Server) -> String {
    format!("http://{}", server.local_addr())
}

/// Waits (bounded) until the handler saw `n` ends.
async fn ends_reach(ends: &Ends, n: usize) -> Vec<(String, u16)> {
    for _ in 0..200 {
        if ends.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    ends.lock().unwrap().clone()
}

async fn echo_over(mode: &str, count: usize) -> (Value, Vec<Value>) {
    let (server, ends) = start(ServerOptions::new()).await;
    let mut peer = Peer::spawn(&[&url(&server), mode, "--count", &count.to_string()]);
    let open = peer.expect("open").await;
    let mut seen = Vec::new();
    let done = loop {
        let v = peer.next().await;
        match v["event"].as_str() {
            Some("done") => break v,
            Some("upgrade") => seen.push(v),
            _ => panic!("{mode}: {v}"),
        }
    };
    assert_eq!(done["received"], count_or_more(&done, count), "{done}");
    assert_eq!(done["ordered"], true, "{done}");
    assert!(done["binaries"].as_u64().unwrap() >= (count / 2) as u64);
    let close = peer.expect("close").await;
    assert_eq!(close["reason"], "forced close", "{close}");
    peer.exits().await;
    // The client's close reaches the handler as a clean close.
    let ends = ends_reach(&ends, 1).await;
    assert_eq!(ends.len(), 1, "{ends:?}");
    assert_eq!(ends[0].1, 1000, "{ends:?}");
    server.shutdown().await;
    let _ = open;
    (done, seen)
}

fn count_or_more(done: &Value, count: usize) -> Value {
    let n = done["received"].as_u64().unwrap();
    assert!(n >= count as u64, "{done}");
    Value::from(n)
}

#[tokio::test]
async fn engine_io_client_over_polling_only() {
    guard(async {
        let (done, upgrades) = echo_over("polling", 100).await;
        assert!(upgrades.is_empty());
        assert_eq!(done["transport"], "polling");
    })
    .await;
}

#[tokio::test]
async fn engine_io_client_over_websocket_only() {
    guard(async {
        let (done, upgrades) = echo_over("websocket", 100).await;
        assert!(upgrades.is_empty());
        assert_eq!(done["transport"], "websocket");
    })
    .await;
}

#[tokio::test]
async fn engine_io_client_upgrades_midstream_without_loss_or_reorder() {
    guard(async {
        let (done, upgrades) = echo_over("upgrade", 300).await;
        assert_eq!(upgrades.len(), 1, "{upgrades:?}");
        assert_eq!(upgrades[0]["transport"], "websocket");
        // Messages flowed before and after the switch.
        assert!(upgrades[0]["sent"].as_u64().unwrap() > 0, "{upgrades:?}");
        assert!(done["sentAfterUpgrade"].as_u64().unwrap() > 0, "{done}");
        assert_eq!(done["transport"], "websocket");
    })
    .await;
}

#[tokio::test]
async fn engine_io_client_sees_the_token_refused_then_gets_in_with_it() {
    guard(async {
        let (server, _ends) = start(ServerOptions::new().token("sesame")).await;
        let mut peer = Peer::spawn(&[&url(&server), "token", "--token", "sesame"]);
        let err = peer.expect("error").await;
        assert_eq!(err["message"], "xhr poll error", "{err}");
        assert_eq!(err["description"], "401", "{err}");
        let body: Value = serde_json::from_str(err["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["code"], 4, "{body}");
        let open = peer.expect("open").await;
        assert_eq!(open["transport"], "polling");
        peer.expect("close").await;
        peer.exits().await;
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn engine_io_client_sees_the_server_close() {
    guard(async {
        let (server, ends) = start(ServerOptions::new()).await;
        let mut peer = Peer::spawn(&[&url(&server), "close"]);
        peer.expect("open").await;
        let m = peer.expect("message").await;
        assert_eq!(m["data"], "hello");
        let close = peer.expect("close").await;
        assert_eq!(close["reason"], "transport close", "{close}");
        peer.exits().await;
        let ends = ends_reach(&ends, 1).await;
        assert_eq!(ends.len(), 1);
        assert_eq!(ends[0].1, 1000);
        server.shutdown().await;
    })
    .await;
}

// Raw HTTP: the protocol's answers.

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn status_json(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let body = r.bytes().await.unwrap();
    let v = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("not JSON: {:?}", String::from_utf8_lossy(&body)));
    (status, v)
}

/// Opens a polling session: its handshake.
async fn handshake(c: &reqwest::Client, base: &str) -> Handshake {
    let r = c
        .get(format!("{base}/engine.io/?EIO=4&transport=polling"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.bytes().await.unwrap();
    match engineio::decode_payload(&body, &PayloadLimits::default())
        .unwrap()
        .as_slice()
    {
        [Packet::Open(h)] => h.clone(),
        other => panic!("{other:?}"),
    }
}

async fn poll(c: &reqwest::Client, base: &str, sid: &str) -> reqwest::Response {
    c.get(format!(
        "{base}/engine.io/?EIO=4&transport=polling&sid={sid}"
    ))
    .send()
    .await
    .unwrap()
}

async fn poll_packets(c: &reqwest::Client, base: &str, sid: &str) -> Vec<Packet> {
    let r = poll(c, base, sid).await;
    assert_eq!(r.status(), 200);
    let body = r.bytes().await.unwrap();
    engineio::decode_payload(&body, &PayloadLimits::default()).unwrap()
}

async fn post(c: &reqwest::Client, base: &str, sid: &str, body: &[u8]) -> reqwest::Response {
    c.post(format!(
        "{base}/engine.io/?EIO=4&transport=polling&sid={sid}"
    ))
    .header("content-type", "text/plain;charset=UTF-8")
    .body(body.to_vec())
    .send()
    .await
    .unwrap()
}

#[tokio::test]
async fn errors_are_the_reference_servers() {
    guard(async {
        let (server, _ends) = start(ServerOptions::new()).await;
        let base = url(&server);
        let c = client();
        let cases: &[(&str, &str, u8, &str)] = &[
            ("GET", "?EIO=4", 0, "Transport unknown"),
            ("GET", "?EIO=4&transport=flash", 0, "Transport unknown"),
            (
                "GET",
                "?EIO=4&transport=polling&sid=nope",
                1,
                "Session ID unknown",
            ),
            (
                "POST",
                "?EIO=4&transport=polling&sid=nope",
                1,
                "Session ID unknown",
            ),
            (
                "POST",
                "?EIO=4&transport=polling",
                2,
                "Bad handshake method",
            ),
            ("GET", "?EIO=4&transport=websocket", 3, "Bad request"),
            (
                "GET",
                "?EIO=3&transport=polling",
                5,
                "Unsupported protocol version",
            ),
            (
                "GET",
                "?transport=polling",
                5,
                "Unsupported protocol version",
            ),
        ];
        for (method, query, code, message) in cases {
            let u = format!("{base}/engine.io/{query}");
            let r = match *method {
                "GET" => c.get(&u).send().await.unwrap(),
                _ => c.post(&u).body("4x").send().await.unwrap(),
            };
            let (status, v) = status_json(r).await;
            assert_eq!(status, 400, "{method} {query}: {v}");
            assert_eq!(v["code"], *code, "{method} {query}: {v}");
            assert_eq!(v["message"], *message, "{method} {query}");
        }
        // A session's sid on another method is a bad request.
        let h = handshake(&c, &base).await;
        let r = c
            .put(format!(
                "{base}/engine.io/?EIO=4&transport=polling&sid={}",
                h.sid
            ))
            .send()
            .await
            .unwrap();
        let (status, v) = status_json(r).await;
        assert_eq!((status, v["code"].as_u64()), (400, Some(3)));
        // The path matches without its trailing slash too.
        let r = c
            .get(format!("{base}/engine.io?EIO=4&transport=polling"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn polling_round_trip_heartbeat_and_close() {
    guard(async {
        let (server, ends) = start(ServerOptions::new()).await;
        let base = url(&server);
        let c = client();
        let h = handshake(&c, &base).await;
        assert_eq!(h.upgrades, vec!["websocket".to_string()]);
        assert_eq!(h.ping_interval, Duration::from_millis(400));
        assert_eq!(h.ping_timeout, Duration::from_millis(400));
        assert_eq!(h.max_payload, Some(16 << 20));
        // Text and binary up in one payload; the echoes come back in one
        // poll answer (or, with a ping first, two).
        let r = post(&c, &base, &h.sid, b"4hello\x1ebAQID").await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), "ok");
        let mut got = Vec::new();
        for _ in 0..5 {
            for p in poll_packets(&c, &base, &h.sid).await {
                match p {
                    Packet::Message(d) => got.push(d),
                    Packet::Ping(_) => {
                        assert_eq!(post(&c, &base, &h.sid, b"3").await.status(), 200)
                    }
                    other => panic!("{other:?}"),
                }
            }
            if got.len() == 2 {
                break;
            }
        }
        assert_eq!(
            got,
            vec![
                Data::from("hello"),
                Data::Binary(bytes::Bytes::from_static(&[1, 2, 3]))
            ]
        );
        // An idle poll is answered by the server's ping within pingInterval.
        let started = std::time::Instant::now();
        assert_eq!(poll_packets(&c, &base, &h.sid).await, vec![Packet::ping()]);
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(post(&c, &base, &h.sid, b"3").await.status(), 200);
        // Two polls at once: the second is refused and the session ends.
        let first = tokio::spawn({
            let (c, base, sid) = (c.clone(), base.clone(), h.sid.clone());
            async move { poll(&c, &base, &sid).await.status().as_u16() }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, v) = status_json(poll(&c, &base, &h.sid).await).await;
        assert_eq!((status, v["code"].as_u64()), (400, Some(3)), "{v}");
        let _ = first.await;
        let ends_now = ends_reach(&ends, 1).await;
        assert_eq!(ends_now.len(), 1);
        assert_eq!(ends_now[0], ("long_poll".to_string(), 1006));
        // The client's close (`1`) ends a session cleanly.
        let h = handshake(&c, &base).await;
        assert_eq!(post(&c, &base, &h.sid, b"1").await.status(), 200);
        let ends_now = ends_reach(&ends, 2).await;
        assert_eq!(ends_now[1], ("long_poll".to_string(), 1000));
        let (status, v) = status_json(poll(&c, &base, &h.sid).await).await;
        assert_eq!((status, v["code"].as_u64()), (400, Some(1)), "{v}");
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_client_that_does_not_pong_is_gone() {
    guard(async {
        let (server, ends) = start(ServerOptions::new()).await;
        let base = url(&server);
        let c = client();
        let h = handshake(&c, &base).await;
        assert_eq!(poll_packets(&c, &base, &h.sid).await, vec![Packet::ping()]);
        // No pong: within pingTimeout (400 ms) the session is over.
        let ends_now = ends_reach(&ends, 1).await;
        assert_eq!(ends_now, vec![("long_poll".to_string(), 1006)]);
        let (status, v) = status_json(poll(&c, &base, &h.sid).await).await;
        assert_eq!((status, v["code"].as_u64()), (400, Some(1)), "{v}");
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn payloads_over_max_payload_and_garbage_are_refused() {
    guard(async {
        let mut opts = ServerOptions::new();
        opts.max_message_size = 1000;
        let (server, ends) = start(opts).await;
        let base = url(&server);
        let c = client();
        let h = handshake(&c, &base).await;
        assert_eq!(h.max_payload, Some(1000));
        let big = vec![b'x'; 1001];
        let r = post(&c, &base, &h.sid, &[b"4".as_slice(), &big].concat()).await;
        assert_eq!(r.status(), 413);
        // The session lives on: a message at the limit goes through.
        let mut ok = b"4".to_vec();
        ok.extend(vec![b'y'; 999]);
        assert_eq!(post(&c, &base, &h.sid, &ok).await.status(), 200);
        let mut got = None;
        for _ in 0..3 {
            for p in poll_packets(&c, &base, &h.sid).await {
                match p {
                    Packet::Message(d) => got = Some(d),
                    Packet::Ping(_) => {
                        assert_eq!(post(&c, &base, &h.sid, b"3").await.status(), 200)
                    }
                    other => panic!("{other:?}"),
                }
            }
            if got.is_some() {
                break;
            }
        }
        assert_eq!(got.unwrap().len(), 999);
        // A payload that does not parse: 400, and the session ends.
        for garbage in [&b"9x"[..], b"\x1e4a", b"b!!", b"\xff\xfe"] {
            let h = handshake(&c, &base).await;
            let (status, v) = status_json(post(&c, &base, &h.sid, garbage).await).await;
            assert_eq!((status, v["code"].as_u64()), (400, Some(3)), "{garbage:?}");
        }
        let ends_now = ends_reach(&ends, 4).await;
        assert!(ends_now.len() >= 4, "{ends_now:?}");
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn the_token_and_the_acceptance_hook_refuse_in_engine_io_terms() {
    guard(async {
        let opts = ServerOptions::new()
            .token("sesame")
            .accept(|req| async move {
                match req.query_param("user").as_deref() {
                    Some("mallory") => Err(Reject::new(403, "not you")),
                    _ => Ok(rtwire::server::Accept::new()),
                }
            });
        let (server, _ends) = start(opts).await;
        let base = url(&server);
        let c = client();
        let (status, v) = status_json(
            c.get(format!("{base}/engine.io/?EIO=4&transport=polling"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 401);
        assert_eq!(v["code"], 4);
        let (status, v) = status_json(
            c.get(format!(
                "{base}/engine.io/?EIO=4&transport=polling&user=mallory"
            ))
            .bearer_auth("sesame")
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, 403);
        assert_eq!(v, serde_json::json!({"code": 4, "message": "not you"}));
        let r = c
            .get(format!(
                "{base}/engine.io/?EIO=4&transport=polling&token=sesame"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn shutdown_answers_the_held_poll_with_close() {
    guard(async {
        let (server, ends) = start(ServerOptions::new()).await;
        let base = url(&server);
        let c = client();
        let h = handshake(&c, &base).await;
        // The application's message, then the close, in the held poll's
        // answer (a ping may come first).
        let held = tokio::spawn({
            let (c, base, sid) = (c.clone(), base.clone(), h.sid.clone());
            async move {
                let mut all = Vec::new();
                for _ in 0..3 {
                    let packets = poll_packets(&c, &base, &sid).await;
                    let done = packets.contains(&Packet::Close);
                    all.extend(packets);
                    if done {
                        break;
                    }
                }
                all
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        server.shutdown().await;
        let packets = held.await.unwrap();
        assert_eq!(packets.last(), Some(&Packet::Close), "{packets:?}");
        let ends_now = ends_reach(&ends, 1).await;
        assert_eq!(ends_now, vec![("long_poll".to_string(), 1001)]);
    })
    .await;
}
