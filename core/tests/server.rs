//! The embedded server against rtwire's own clients, over every transport,
//! and against raw and malformed requests.

mod common;

use std::time::Duration;

use common::{expect_open, guard, next_event};
use rtwire::server::{Server, ServerOptions};
use rtwire::{Cursor, CursorFrom, Event, Framing, Message, Options, Reconnect, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn quick() -> Reconnect {
    Reconnect::default()
        .initial_delay(Duration::from_millis(20))
        .max_delay(Duration::from_millis(100))
}

async fn message(conn: &mut rtwire::Connection) -> Message {
    loop {
        match next_event(conn).await {
            Event::Message(m) => return m,
            Event::Closed(c) => panic!("closed while waiting for a message: {c:?}"),
            _ => {}
        }
    }
}

/// Publishes `text` until the subscriber is surely attached (bounded).
async fn publish_until_seen(server: &Server, conn: &mut rtwire::Connection, text: &str) -> Message {
    for _ in 0..50 {
        server.publish("chat", text);
        if let Ok(m) = tokio::time::timeout(Duration::from_millis(200), message(conn)).await {
            return m;
        }
    }
    panic!("never saw {text}");
}

#[tokio::test]
async fn websocket_clients_receive_publishes_and_their_sends_are_published() {
    guard(async {
        let server = Server::start(ServerOptions::new()).await.unwrap();
        let url = format!("ws://{}/ws/chat", server.local_addr());
        let mut a = rtwire::connect(&url, Options::new()).await.unwrap();
        let mut b = rtwire::connect(&url, Options::new()).await.unwrap();
        expect_open(&mut a).await;
        expect_open(&mut b).await;
        let m = publish_until_seen(&server, &mut a, "hello").await;
        assert_eq!(m.data.as_text(), Some("hello"));
        // b also subscribed: drain until it has hello.
        loop {
            if message(&mut b).await.data.as_text() == Some("hello") {
                break;
            }
        }
        a.send("from a").await.unwrap();
        loop {
            if message(&mut b).await.data.as_text() == Some("from a") {
                break;
            }
        }
        a.send(vec![1u8, 2, 3]).await.unwrap();
        loop {
            if message(&mut b).await.data.as_bytes() == [1, 2, 3] {
                break;
            }
        }
        let stats = server.stats();
        assert_eq!(stats.channels[0].name, "chat");
        assert!(stats.connections >= 2);
        server.shutdown().await;
        // Clients see the server's 1001 and try to come back.
        loop {
            match next_event(&mut a).await {
                Event::Reconnecting { cause, .. } => {
                    assert_eq!(cause.close_code(), Some(1001), "{cause}");
                    break;
                }
                Event::Closed(c) => panic!("{c:?}"),
                _ => {}
            }
        }
    })
    .await;
}

#[tokio::test]
async fn sse_resumes_from_history_after_a_server_side_cut() {
    guard(async {
        let server = Server::start(ServerOptions::new()).await.unwrap();
        let url = format!("http://{}/sse/chat", server.local_addr());
        let mut c = rtwire::connect(&url, Options::new().reconnect(quick()))
            .await
            .unwrap();
        expect_open(&mut c).await;
        let first = publish_until_seen(&server, &mut c, "one").await;
        let id = first.id.clone().unwrap();
        assert!(id.starts_with(server.epoch()), "{id}");
        for i in 2..=5 {
            server.publish("chat", format!("m{i}"));
        }
        for i in 2..=5 {
            assert_eq!(
                message(&mut c).await.data.as_text(),
                Some(format!("m{i}").as_str())
            );
        }
        // A cursor-holding client that reconnects gets what it missed.
        let url2 = format!("http://{}/sse/chat", server.local_addr());
        let opts = Options::new().last_event_id(id).reconnect(quick());
        let mut late = rtwire::connect(&url2, opts).await.unwrap();
        expect_open(&mut late).await;
        for i in 2..=5 {
            let m = message(&mut late).await;
            assert_eq!(m.data.as_text(), Some(format!("m{i}").as_str()));
        }
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_cursor_from_another_epoch_is_told_to_restart() {
    guard(async {
        let server = Server::start(ServerOptions::new()).await.unwrap();
        server.publish("chat", "fresh");
        let url = format!("http://{}/sse/chat", server.local_addr());
        let opts = Options::new()
            .last_event_id("0000dead-42")
            .reconnect(quick());
        let mut c = rtwire::connect(&url, opts).await.unwrap();
        expect_open(&mut c).await;
        let notice = message(&mut c).await;
        assert_eq!(notice.event.as_deref(), Some("rtwire.reset"));
        let m = message(&mut c).await;
        assert_eq!(m.data.as_text(), Some("fresh"));
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn long_poll_and_stream_clients_get_every_message_once() {
    guard(async {
        let server = Server::start(ServerOptions::new().history(100))
            .await
            .unwrap();
        let base = format!("http://{}", server.local_addr());
        let lp = Options::new()
            .transport(Transport::LongPoll)
            .cursor(Cursor::new(CursorFrom::JsonField("cursor".into())))
            .reconnect(quick());
        let mut poller = rtwire::connect(&format!("{base}/poll/chat"), lp)
            .await
            .unwrap();
        expect_open(&mut poller).await;
        let st = Options::new()
            .transport(Transport::Stream)
            .framing(Framing::Ndjson)
            .reconnect(quick());
        let mut streamer = rtwire::connect(
            &format!("{base}/stream/chat?cursor={}-0", server.epoch()),
            st,
        )
        .await
        .unwrap();
        expect_open(&mut streamer).await;
        for i in 1..=20 {
            server.publish("chat", format!("n{i}"));
        }
        for i in 1..=20 {
            let m = message(&mut poller).await;
            assert_eq!(
                m.data.as_text(),
                Some(format!("n{i}").as_str()),
                "long poll"
            );
            let line = message(&mut streamer).await;
            let v: serde_json::Value = serde_json::from_str(line.data.as_text().unwrap()).unwrap();
            assert_eq!(v["data"], format!("n{i}"), "stream");
        }
        server.shutdown().await;
    })
    .await;
}

async fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn malformed_handshakes_are_refused_and_the_server_keeps_serving() {
    guard(async {
        let server = Server::start(ServerOptions::new()).await.unwrap();
        let addr = server.local_addr();
        let no_key = b"GET /ws/c HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
        assert!(raw(addr, no_key).await.starts_with("HTTP/1.1 400"));
        let v8 = b"GET /ws/c HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
        let r = raw(addr, v8).await;
        assert!(r.starts_with("HTTP/1.1 426"), "{r}");
        assert!(r.to_ascii_lowercase().contains("sec-websocket-version: 13"), "{r}");
        let mut many = b"GET /sse/c HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 0..1000 {
            many.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        let r = raw(addr, &many).await;
        assert!(r.starts_with("HTTP/1.1 431") || r.is_empty(), "{r}");
        let upgrade_on_sse = b"GET /sse/c HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
        assert!(raw(addr, upgrade_on_sse).await.starts_with("HTTP/1.1 400"));
        assert!(raw(addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.starts_with("HTTP/1.1 200"));
        // Still serving real clients.
        let url = format!("ws://{addr}/ws/c");
        let mut c = rtwire::connect(&url, Options::new()).await.unwrap();
        expect_open(&mut c).await;
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn bearer_token_is_required_when_set() {
    guard(async {
        let server = Server::start(ServerOptions::new().token("s3cret"))
            .await
            .unwrap();
        let url = format!("ws://{}/ws/c", server.local_addr());
        let err = rtwire::connect(&url, Options::new()).await.unwrap_err();
        assert_eq!(err.status(), Some(401));
        let ok = Options::new().header("Authorization", "Bearer s3cret");
        rtwire::connect(&url, ok).await.unwrap();
        server.shutdown().await;
    })
    .await;
}

/// Collects message texts until `n` arrived (events other than messages are
/// returned too, for checks).
async fn texts(conn: &mut rtwire::Connection, n: usize) -> (Vec<String>, Vec<Event>) {
    let mut got = Vec::new();
    let mut others = Vec::new();
    while got.len() < n {
        match next_event(conn).await {
            Event::Message(m) if m.event.as_deref().is_none_or(|e| e == "message") => {
                got.push(m.data.as_text().unwrap_or("<binary>").to_string())
            }
            Event::Closed(c) => panic!("closed: {c:?} after {got:?}"),
            other => others.push(other),
        }
    }
    (got, others)
}

#[tokio::test]
async fn websocket_with_rtwire_ids_resumes_without_loss_after_a_cut() {
    guard(async {
        let server = Server::start(ServerOptions::new()).await.unwrap();
        let url = format!("ws://{}/ws/chat", server.local_addr());
        let opts = Options::new().rtwire_protocol(true).reconnect(quick());
        let mut c = rtwire::connect(&url, opts).await.unwrap();
        assert_eq!(c.open_info().protocol.as_deref(), Some("rtwire.v1"));
        expect_open(&mut c).await;
        let first = publish_until_seen(&server, &mut c, "before").await;
        assert!(first.id.unwrap().starts_with(server.epoch()));
        server.disconnect_all();
        // Published while the client is cut off: must arrive once, in order.
        for i in 1..=5 {
            server.publish("chat", format!("gap{i}"));
        }
        let (got, others) = texts(&mut c, 5).await;
        let want: Vec<_> = (1..=5).map(|i| format!("gap{i}")).collect();
        assert_eq!(got, want);
        assert!(
            others
                .iter()
                .any(|e| matches!(e, Event::Reconnecting { .. })),
            "{others:?}"
        );
        server.shutdown().await;
    })
    .await;
}

/// A TCP proxy that refuses WebSocket upgrades (403) and passes everything
/// else through, as some corporate proxies do.
async fn upgrade_refusing_proxy(upstream: std::net::SocketAddr) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..200 {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
                    if client.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                if String::from_utf8_lossy(&head)
                    .to_ascii_lowercase()
                    .contains("upgrade: websocket")
                {
                    let _ = client
                        .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .await;
                    return;
                }
                let Ok(mut server) = TcpStream::connect(upstream).await else {
                    return;
                };
                if server.write_all(&head).await.is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn auto_falls_back_from_refused_websocket_to_sse_and_resumes() {
    guard(async {
        let server = Server::start(ServerOptions::new()).await.unwrap();
        // Direct: WebSocket wins.
        let direct = format!("http://{}/negotiate/chat", server.local_addr());
        let c = rtwire::connect(&direct, Options::new()).await.unwrap();
        assert_eq!(c.open_info().transport, Transport::WebSocket);
        drop(c);
        // Behind a proxy that refuses upgrades: SSE, with sends as POSTs.
        let proxy = upgrade_refusing_proxy(server.local_addr()).await;
        let url = format!("http://{proxy}/negotiate/chat");
        let mut c = rtwire::connect(&url, Options::new().reconnect(quick()))
            .await
            .unwrap();
        assert_eq!(c.open_info().transport, Transport::Sse);
        expect_open(&mut c).await;
        publish_until_seen(&server, &mut c, "hi").await;
        c.send("from auto").await.unwrap();
        let (got, _) = texts(&mut c, 1).await;
        assert_eq!(got, ["from auto"]);
        server.disconnect_all();
        for i in 1..=5 {
            server.publish("chat", format!("gap{i}"));
        }
        let (got, _) = texts(&mut c, 5).await;
        assert_eq!(got, (1..=5).map(|i| format!("gap{i}")).collect::<Vec<_>>());
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn auto_on_a_plain_sse_url_is_sse() {
    guard(async {
        let server = Server::start(ServerOptions::new()).await.unwrap();
        let url = format!("http://{}/sse/chat", server.local_addr());
        let mut c = rtwire::connect(&url, Options::new()).await.unwrap();
        assert_eq!(c.open_info().transport, Transport::Sse);
        expect_open(&mut c).await;
        publish_until_seen(&server, &mut c, "plain").await;
        let mut e = c.send("x").await.unwrap_err();
        assert_eq!(e.kind(), rtwire::ErrorKind::Unsupported);
        assert_eq!(e.take_unsent().unwrap().as_text(), Some("x"));
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn ndjson_stream_with_an_id_field_resumes_after_a_cut() {
    guard(async {
        let server = Server::start(ServerOptions::new()).await.unwrap();
        let url = format!(
            "http://{}/stream/chat?cursor={}-0",
            server.local_addr(),
            server.epoch()
        );
        let opts = Options::new()
            .transport(Transport::Stream)
            .framing(Framing::Ndjson)
            .cursor(Cursor::new(CursorFrom::JsonField("id".into())))
            .reconnect(quick());
        let mut c = rtwire::connect(&url, opts).await.unwrap();
        expect_open(&mut c).await;
        server.publish("chat", "a");
        let first = message(&mut c).await;
        assert!(first.id.as_deref().unwrap().ends_with("-1"), "{first:?}");
        server.disconnect_all();
        for i in 1..=5 {
            server.publish("chat", format!("gap{i}"));
        }
        let mut got = Vec::new();
        while got.len() < 5 {
            let m = message(&mut c).await;
            let v: serde_json::Value = serde_json::from_str(m.data.as_text().unwrap()).unwrap();
            got.push(v["data"].as_str().unwrap().to_string());
        }
        assert_eq!(got, (1..=5).map(|i| format!("gap{i}")).collect::<Vec<_>>());
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn try_recv_on_an_empty_queue_does_not_end_the_connection() {
    guard(async {
        let server = Server::start(ServerOptions::new()).await.unwrap();
        let url = format!("ws://{}/ws/chat", server.local_addr());
        let mut c = rtwire::connect(&url, Options::new()).await.unwrap();
        assert!(matches!(c.try_recv(), Some(Event::Open(_))));
        assert!(c.try_recv().is_none());
        assert!(!c.is_finished(), "an empty queue is not the end");
        let m = publish_until_seen(&server, &mut c, "still here").await;
        assert_eq!(m.data.as_text(), Some("still here"));
        c.close(1000, "").unwrap();
        let (_, close) = common::until_closed(&mut c).await;
        assert_eq!(close.code, 1000);
        assert!(c.is_finished());
        assert!(c.try_recv().is_none());
        server.shutdown().await;
    })
    .await;
}

/// Waits until the server has `n` live subscribers on `chat` (bounded).
async fn subscribers(server: &Server, n: usize) {
    for _ in 0..200 {
        let subs = server
            .stats()
            .channels
            .iter()
            .find(|c| c.name == "chat")
            .map_or(0, |c| c.subscribers);
        if subs >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never saw {n} subscribers");
}

#[tokio::test]
async fn a_cut_before_the_first_message_loses_nothing() {
    guard(async {
        let server = Server::start(ServerOptions::new()).await.unwrap();
        server.publish("chat", "old news");
        let ws = Options::new().rtwire_protocol(true).reconnect(quick());
        let mut a = rtwire::connect(&format!("ws://{}/ws/chat", server.local_addr()), ws)
            .await
            .unwrap();
        let sse = Options::new().transport(Transport::Sse).reconnect(quick());
        let mut b = rtwire::connect(&format!("http://{}/sse/chat", server.local_addr()), sse)
            .await
            .unwrap();
        expect_open(&mut a).await;
        expect_open(&mut b).await;
        subscribers(&server, 2).await;
        // Give both a moment to read where the channel is, then cut.
        tokio::time::sleep(Duration::from_millis(100)).await;
        server.disconnect_all();
        for i in 1..=3 {
            server.publish("chat", format!("gap{i}"));
        }
        let want: Vec<_> = (1..=3).map(|i| format!("gap{i}")).collect();
        assert_eq!(texts(&mut a, 3).await.0, want, "websocket");
        assert_eq!(texts(&mut b, 3).await.0, want, "sse");
        server.shutdown().await;
    })
    .await;
}
