//! The WebSocket client against misbehaving servers written here with
//! tokio-tungstenite or raw TCP: dropped links, refused handshakes, oversize
//! and invalid frames, silent peers, full queues and bad arguments.

mod common;

use std::time::{Duration, Instant};

use common::{
    assert_one_error, expect_message, expect_open, guard, next_event, raw_handshake,
    read_request_head, until_closed,
};
use futures_util::{SinkExt, StreamExt};
use rtwire::{Data, ErrorKind, Event, Options, Reconnect};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// How long any test server waits for the next thing before giving up.
const SERVER_LIMIT: Duration = Duration::from_secs(15);

async fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

async fn accept(l: &TcpListener) -> TcpStream {
    tokio::time::timeout(SERVER_LIMIT, l.accept())
        .await
        .expect("the client did not connect in time")
        .unwrap()
        .0
}

/// A tokio-tungstenite echo server for up to `conns` connections.
async fn echo_server(conns: usize) -> u16 {
    let (l, port) = listener().await;
    tokio::spawn(async move {
        for _ in 0..conns {
            let Ok(Ok((s, _))) = tokio::time::timeout(SERVER_LIMIT, l.accept()).await else {
                return;
            };
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(s).await else {
                    return;
                };
                while let Ok(Some(Ok(m))) = tokio::time::timeout(SERVER_LIMIT, ws.next()).await {
                    if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// Reads one client frame (masked) from a raw stream: opcode and payload.
async fn read_client_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await.expect("frame header");
    assert!(head[1] & 0x80 != 0, "client frames are masked");
    let len = match head[1] & 0x7F {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).await.unwrap();
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).await.unwrap();
            usize::try_from(u64::from_be_bytes(b)).unwrap()
        }
        n => n as usize,
    };
    assert!(len <= 1 << 20, "unexpectedly large client frame: {len}");
    let mut mask = [0u8; 4];
    s.read_exact(&mut mask).await.unwrap();
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).await.unwrap();
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
    (head[0] & 0x0F, payload)
}

/// Reads client frames until a close frame; returns its code.
async fn read_close_code(s: &mut TcpStream) -> u16 {
    for _ in 0..100 {
        let (op, payload) = tokio::time::timeout(SERVER_LIMIT, read_client_frame(s))
            .await
            .expect("no close frame in time");
        if op == 0x8 {
            assert!(payload.len() >= 2, "close frame without a code");
            return u16::from_be_bytes([payload[0], payload[1]]);
        }
    }
    panic!("no close frame among 100 frames");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_flushes_messages_queued_while_disconnected() {
    guard(async {
        let (l, port) = listener().await;
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let (got_tx, got_rx) = oneshot::channel::<Vec<String>>();
        tokio::spawn(async move {
            // Session 1: echo one message, then drop the TCP connection
            // without a close frame.
            let mut ws = tokio_tungstenite::accept_async(accept(&l).await)
                .await
                .unwrap();
            let m = ws.next().await.unwrap().unwrap();
            ws.send(m).await.unwrap();
            drop(ws);
            // Answer the reconnect only once the test has queued messages.
            let _ = tokio::time::timeout(SERVER_LIMIT, go_rx).await;
            let mut ws = tokio_tungstenite::accept_async(accept(&l).await)
                .await
                .unwrap();
            let mut got = Vec::new();
            while got.len() < 10 {
                let m = tokio::time::timeout(SERVER_LIMIT, ws.next())
                    .await
                    .unwrap()
                    .unwrap()
                    .unwrap();
                got.push(m.to_text().unwrap().to_string());
                ws.send(m).await.unwrap();
            }
            let _ = got_tx.send(got);
            while let Ok(Some(Ok(_))) = tokio::time::timeout(SERVER_LIMIT, ws.next()).await {}
        });

        let initial = Duration::from_millis(300);
        let options = Options::new().reconnect(Reconnect::default().initial_delay(initial));
        let url = format!("ws://127.0.0.1:{port}/");
        let mut conn = rtwire::connect(&url, options).await.unwrap();
        expect_open(&mut conn).await;
        conn.send("before").await.unwrap();
        assert_eq!(expect_message(&mut conn).await.as_text(), Some("before"));

        match next_event(&mut conn).await {
            Event::Reconnecting {
                attempt,
                delay,
                cause,
            } => {
                assert_eq!(attempt, 1);
                assert!(delay <= initial, "delay {delay:?} over the first ceiling");
                assert!(cause.is_retryable(), "{cause:?}");
                assert!(
                    matches!(cause.kind(), ErrorKind::Closed | ErrorKind::Io),
                    "{cause:?}"
                );
            }
            other => panic!("expected Reconnecting, got {other:?}"),
        }
        let sent: Vec<String> = (0..10).map(|i| format!("queued-{i}")).collect();
        for m in &sent {
            conn.send(m.as_str()).await.unwrap();
        }
        assert!(
            conn.sender().buffered_amount() > 0,
            "messages wait in the queue"
        );
        go_tx.send(()).unwrap();

        match next_event(&mut conn).await {
            Event::Open(info) => assert_eq!(info.url, url),
            other => panic!("expected a second Open, got {other:?}"),
        }
        for m in &sent {
            assert_eq!(expect_message(&mut conn).await.as_text(), Some(m.as_str()));
        }
        let got = tokio::time::timeout(SERVER_LIMIT, got_rx)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, sent, "the server got every queued message, in order");
        assert_eq!(conn.sender().buffered_amount(), 0);

        conn.close(1000, "").unwrap();
        let (events, info) = until_closed(&mut conn).await;
        assert!(events.is_empty(), "{events:?}");
        assert_eq!(info.code, 1000);
        assert!(info.unsent.is_empty());
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_agent_is_sent_replaced_or_left_out() {
    guard(async {
        let (l, port) = listener().await;
        let server = tokio::spawn(async move {
            let mut heads = Vec::new();
            for _ in 0..3 {
                let mut s = accept(&l).await;
                heads.push(read_request_head(&mut s).await);
                s.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                    .await
                    .unwrap();
            }
            heads
        });
        let url = format!("ws://127.0.0.1:{port}/");
        for opts in [
            Options::new(),
            Options::new().user_agent(Some("probe/2".into())),
            Options::new().user_agent(None),
        ] {
            let err = rtwire::connect(&url, opts).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Handshake, "{err:?}");
        }
        let heads = server.await.unwrap();
        let ua = |h: &str| {
            h.lines()
                .find_map(|l| {
                    l.strip_prefix("user-agent: ")
                        .or(l.strip_prefix("User-Agent: "))
                })
                .map(str::to_string)
        };
        assert_eq!(
            ua(&heads[0]).as_deref(),
            Some(rtwire::options::DEFAULT_USER_AGENT)
        );
        assert_eq!(ua(&heads[1]).as_deref(), Some("probe/2"));
        assert_eq!(ua(&heads[2]), None, "{}", heads[2]);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_refused_with_403() {
    guard(async {
        let (l, port) = listener().await;
        let server = tokio::spawn(async move {
            let mut s = accept(&l).await;
            let head = read_request_head(&mut s).await;
            s.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\nnope!\n")
                .await
                .unwrap();
            // Keep the connection until the client lets go.
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(SERVER_LIMIT, s.read_to_end(&mut rest)).await;
            head
        });
        let err = rtwire::connect(&format!("ws://127.0.0.1:{port}/secret"), Options::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Handshake, "{err:?}");
        assert_eq!(err.status(), Some(403));
        let body = String::from_utf8_lossy(err.body().expect("the body is kept"));
        assert!(body.contains("nope"), "body {body:?}");
        assert!(err.message().contains("403"), "{}", err.message());
        assert!(
            err.headers()
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("content-length") && v == "6"),
            "{:?}",
            err.headers()
        );
        assert!(!err.is_retryable());
        let head = server.await.unwrap();
        assert!(head.starts_with("GET /secret HTTP/1.1\r\n"), "{head}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_message_fails_with_1009() {
    guard(async {
        let (l, port) = listener().await;
        let (code_tx, code_rx) = oneshot::channel();
        tokio::spawn(async move {
            let mut ws = tokio_tungstenite::accept_async(accept(&l).await)
                .await
                .unwrap();
            ws.send(WsMessage::binary(vec![7u8; 4096])).await.unwrap();
            let code = loop {
                match tokio::time::timeout(SERVER_LIMIT, ws.next()).await {
                    Ok(Some(Ok(WsMessage::Close(frame)))) => {
                        break frame.map(|f| u16::from(f.code));
                    }
                    Ok(Some(Ok(_))) => continue,
                    _ => break None,
                }
            };
            let _ = code_tx.send(code);
        });
        let options = Options::new().max_message_size(1024);
        let mut conn = rtwire::connect(&format!("ws://127.0.0.1:{port}/"), options)
            .await
            .unwrap();
        expect_open(&mut conn).await;
        let (events, info) = until_closed(&mut conn).await;
        let err = assert_one_error(&events, ErrorKind::TooLarge);
        assert_eq!(err.close_code(), Some(1009));
        assert_eq!(events.len(), 1, "no message, no reconnect: {events:?}");
        assert_eq!(info.code, 1009);
        assert!(!info.clean);
        let server_saw = tokio::time::timeout(SERVER_LIMIT, code_rx)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            server_saw,
            Some(1009),
            "the server got a close frame with 1009"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_fragmented_message_fails_with_1009() {
    guard(async {
        let (l, port) = listener().await;
        let (code_tx, code_rx) = oneshot::channel();
        tokio::spawn(async move {
            let mut s = accept(&l).await;
            raw_handshake(&mut s).await;
            // Three 512-byte fragments: each under the frame limit, together
            // over the message limit.
            let mut bytes = Vec::new();
            for (i, op) in [0x02u8, 0x00, 0x80].iter().enumerate() {
                bytes.extend_from_slice(&[*op, 126, 0x02, 0x00]);
                bytes.extend(std::iter::repeat_n(i as u8, 512));
            }
            s.write_all(&bytes).await.unwrap();
            let _ = code_tx.send(read_close_code(&mut s).await);
        });
        let options = Options::new().max_message_size(1024);
        let mut conn = rtwire::connect(&format!("ws://127.0.0.1:{port}/"), options)
            .await
            .unwrap();
        expect_open(&mut conn).await;
        let (events, info) = until_closed(&mut conn).await;
        assert_one_error(&events, ErrorKind::TooLarge);
        assert_eq!(info.code, 1009);
        let server_saw = tokio::time::timeout(SERVER_LIMIT, code_rx)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(server_saw, 1009);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_fails_with_1007() {
    guard(async {
        let (l, port) = listener().await;
        let (code_tx, code_rx) = oneshot::channel();
        tokio::spawn(async move {
            let mut s = accept(&l).await;
            raw_handshake(&mut s).await;
            // An unmasked text frame holding an overlong encoding of '/'.
            s.write_all(&[0x81, 0x02, 0xC0, 0xAF]).await.unwrap();
            let _ = code_tx.send(read_close_code(&mut s).await);
        });
        let mut conn = rtwire::connect(&format!("ws://127.0.0.1:{port}/"), Options::new())
            .await
            .unwrap();
        expect_open(&mut conn).await;
        let (events, info) = until_closed(&mut conn).await;
        let err = assert_one_error(&events, ErrorKind::Protocol);
        assert_eq!(err.close_code(), Some(1007));
        assert_eq!(events.len(), 1, "no message, no reconnect: {events:?}");
        assert_eq!(info.code, 1007);
        let server_saw = tokio::time::timeout(SERVER_LIMIT, code_rx)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(server_saw, 1007);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_peer_is_declared_dead() {
    guard(async {
        let (l, port) = listener().await;
        let (ping_tx, ping_rx) = oneshot::channel();
        tokio::spawn(async move {
            let mut s = accept(&l).await;
            raw_handshake(&mut s).await;
            // Read, never write: the ping goes unanswered.
            let first = tokio::time::timeout(SERVER_LIMIT, read_client_frame(&mut s)).await;
            let _ = ping_tx.send(first.ok().map(|(op, _)| op));
            let mut sink = Vec::new();
            let _ = tokio::time::timeout(SERVER_LIMIT, s.read_to_end(&mut sink)).await;
        });
        let interval = Duration::from_millis(300);
        let options = Options::new()
            .keepalive(Some(interval), interval)
            .reconnect(Reconnect::disabled());
        let mut conn = rtwire::connect(&format!("ws://127.0.0.1:{port}/"), options)
            .await
            .unwrap();
        let start = Instant::now();
        expect_open(&mut conn).await;
        let (events, info) = until_closed(&mut conn).await;
        let elapsed = start.elapsed();
        let err = assert_one_error(&events, ErrorKind::Timeout);
        assert!(err.message().contains("ping"), "{err}");
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(info.code, 1006);
        assert!(!info.clean);
        assert!(
            elapsed >= Duration::from_millis(550),
            "declared dead after only {elapsed:?}"
        );
        assert!(
            elapsed < Duration::from_secs(3),
            "declared dead after {elapsed:?}"
        );
        let first = tokio::time::timeout(SERVER_LIMIT, ping_rx)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first, Some(0x9), "the first client frame is a ping");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_handshake_times_out() {
    guard(async {
        let (l, port) = listener().await;
        let server = tokio::spawn(async move {
            let mut s = accept(&l).await;
            let mut sink = Vec::new();
            let _ = tokio::time::timeout(SERVER_LIMIT, s.read_to_end(&mut sink)).await;
            sink
        });
        let options = Options::new().open_timeout(Duration::from_millis(500));
        let start = Instant::now();
        let err = rtwire::connect(&format!("ws://127.0.0.1:{port}/"), options)
            .await
            .unwrap_err();
        let elapsed = start.elapsed();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
        assert!(err.message().contains("500"), "{err}");
        assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
        // The client gave up and closed the socket: the server sees EOF.
        let request = tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("the client let go of the socket")
            .unwrap();
        assert!(request.starts_with(b"GET / HTTP/1.1\r\n"));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connection_is_a_connect_error() {
    guard(async {
        let (l, port) = listener().await;
        drop(l);
        let start = Instant::now();
        let err = rtwire::connect(&format!("ws://127.0.0.1:{port}/"), Options::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
        assert!(err.message().contains(&port.to_string()), "{err}");
        assert!(err.is_retryable());
        // No retry of the first attempt unless asked.
        assert!(start.elapsed() < Duration::from_secs(2));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_fails_without_io() {
    guard(async {
        let (l, port) = listener().await;
        let bad_urls = [
            format!("ws://127.0.0.1:{port}/a#fragment"),
            format!("ftp://127.0.0.1:{port}/"),
            format!("ws://127.0.0.1:{port}/a b"),
            format!("ws://127.0.0.1:{port}/a\r\nX-Injected: 1"),
            format!("ws://127.0.0.1:{port}/a\0"),
            format!("ws://127.0.0.1:{port}x/"),
            "ws://127.0.0.1:0/".to_string(),
            "ws://127.0.0.1:65536/".to_string(),
            "ws://".to_string(),
            format!("ws://:{port}/"),
            "ws://[::1/".to_string(),
            "127.0.0.1:1234".to_string(),
            String::new(),
        ];
        for url in &bad_urls {
            let err = rtwire::connect(url, Options::new()).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidUrl, "{url:?}: {err:?}");
            assert!(!err.message().is_empty());
        }
        let bad_options = [
            Options::new().header("Bad Name", "v"),
            Options::new().header("X-Ok", "line\r\nbreak"),
            Options::new().subprotocol("has space"),
            Options::new().max_message_size(0),
            Options::new().open_timeout(Duration::ZERO),
        ];
        for options in bad_options {
            let shown = format!("{options:?}");
            let err = rtwire::connect(&format!("ws://127.0.0.1:{port}/"), options)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{shown}: {err:?}");
        }
        // None of them reached the network.
        let none = tokio::time::timeout(Duration::from_millis(300), l.accept()).await;
        assert!(none.is_err(), "a connection was made: {none:?}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_after_close_hands_the_message_back() {
    guard(async {
        let port = echo_server(1).await;
        let mut conn = rtwire::connect(&format!("ws://127.0.0.1:{port}/"), Options::new())
            .await
            .unwrap();
        expect_open(&mut conn).await;
        let sender = conn.sender();
        conn.close(1000, "done").unwrap();
        let (_, info) = until_closed(&mut conn).await;
        assert_eq!((info.code, info.clean), (1000, true));

        let mut err = conn.send("late").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Closed);
        assert_eq!(err.take_unsent(), Some(Data::from("late")));
        assert_eq!(err.take_unsent(), None, "handed back once");

        let mut err = conn.try_send(vec![1u8, 2, 3]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Closed);
        assert_eq!(err.take_unsent(), Some(Data::from(vec![1u8, 2, 3])));

        let mut err = sender.send("from a sender").await.unwrap_err();
        assert!(err.is_closed());
        assert_eq!(err.take_unsent(), Some(Data::from("from a sender")));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_messages_go_out_before_the_close_frame() {
    guard(async {
        let (l, port) = listener().await;
        let (got_tx, got_rx) = oneshot::channel();
        tokio::spawn(async move {
            let mut ws = tokio_tungstenite::accept_async(accept(&l).await)
                .await
                .unwrap();
            let mut got = Vec::new();
            while let Ok(Some(Ok(m))) = tokio::time::timeout(SERVER_LIMIT, ws.next()).await {
                match m {
                    WsMessage::Text(t) => got.push(t.to_string()),
                    WsMessage::Close(Some(f)) => {
                        got.push(format!("close {} {}", u16::from(f.code), f.reason));
                    }
                    other => got.push(format!("{other:?}")),
                }
            }
            let _ = got_tx.send(got);
        });
        let mut conn = rtwire::connect(&format!("ws://127.0.0.1:{port}/"), Options::new())
            .await
            .unwrap();
        expect_open(&mut conn).await;
        for m in ["a", "b", "c"] {
            conn.send(m).await.unwrap();
        }
        conn.close(4000, "bye").unwrap();
        let (events, info) = until_closed(&mut conn).await;
        assert!(events.is_empty(), "{events:?}");
        assert_eq!(
            (info.code, info.reason.as_str(), info.clean),
            (4000, "bye", true)
        );
        assert!(info.unsent.is_empty());
        let got = tokio::time::timeout(SERVER_LIMIT, got_rx)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, ["a", "b", "c", "close 4000 bye"]);
    })
    .await
}

/// A server that completes the handshake and then never reads, so the
/// client's socket buffers fill up; it drops the link when told to (or
/// after [`SERVER_LIMIT`]).
async fn stalling_server() -> (u16, oneshot::Sender<()>) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    let l = socket.listen(8).unwrap();
    let (drop_tx, drop_rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        raw_handshake(&mut s).await;
        let _ = tokio::time::timeout(SERVER_LIMIT, drop_rx).await;
        drop(s);
    });
    (port, drop_tx)
}

fn numbered(seq: u32, size: usize) -> Data {
    let mut v = vec![0xABu8; size];
    v[..4].copy_from_slice(&seq.to_be_bytes());
    Data::from(v)
}

fn seq_of(d: &Data) -> u32 {
    u32::from_be_bytes(d.as_bytes()[..4].try_into().unwrap())
}

/// Sends numbered messages with `try_send` until the queue has stayed full
/// for a while (the peer is not reading). Returns how many were accepted and
/// the last `QueueFull` error.
async fn fill_until_stuck(conn: &rtwire::Connection, size: usize) -> (u32, rtwire::Error) {
    let deadline = Instant::now() + Duration::from_secs(12);
    let mut accepted = 0u32;
    let mut full_since: Option<(Instant, rtwire::Error)> = None;
    while Instant::now() < deadline {
        match conn.try_send(numbered(accepted, size)) {
            Ok(()) => {
                accepted += 1;
                full_since = None;
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::QueueFull, "{e:?}");
                let since = full_since
                    .get_or_insert_with(|| (Instant::now(), e.clone()))
                    .0;
                if since.elapsed() >= Duration::from_millis(500) {
                    return (accepted, e);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    panic!("the queue never stayed full ({accepted} messages accepted)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_send_on_a_full_queue_hands_the_message_back() {
    guard(async {
        let (port, drop_server) = stalling_server().await;
        let options = Options::new().send_queue_bytes(64 << 10);
        let mut conn = rtwire::connect(&format!("ws://127.0.0.1:{port}/"), options)
            .await
            .unwrap();
        expect_open(&mut conn).await;
        let (accepted, mut err) = fill_until_stuck(&conn, 16 << 10).await;
        assert!(accepted > 4, "only {accepted} messages accepted");
        let back = err.take_unsent().expect("QueueFull hands the message back");
        assert_eq!(back, numbered(accepted, 16 << 10));
        assert!(conn.sender().buffered_amount() >= 48 << 10);
        // Still full: a later try gets the same answer and the message back.
        let mut again = conn.try_send("small").unwrap_err();
        assert_eq!(again.kind(), ErrorKind::QueueFull);
        assert_eq!(again.take_unsent(), Some(Data::from("small")));
        // No event was produced by the refusals.
        assert!(conn.try_recv().is_none());
        let _ = drop_server.send(());
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_messages_come_back_in_closed_when_the_link_drops() {
    guard(async {
        let (port, drop_server) = stalling_server().await;
        let options = Options::new()
            .send_queue_bytes(64 << 10)
            .reconnect(Reconnect::disabled());
        let mut conn = rtwire::connect(&format!("ws://127.0.0.1:{port}/"), options)
            .await
            .unwrap();
        expect_open(&mut conn).await;
        let (accepted, _) = fill_until_stuck(&conn, 16 << 10).await;
        drop_server.send(()).unwrap();
        let (events, info) = until_closed(&mut conn).await;
        let errs = common::errors(&events);
        assert_eq!(errs.len(), 1, "{events:?}");
        assert!(
            matches!(errs[0].kind(), ErrorKind::Io | ErrorKind::Closed),
            "{:?}",
            errs[0]
        );
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, Event::Reconnecting { .. })),
            "{events:?}"
        );
        assert_eq!(info.code, 1006);
        assert!(!info.clean);
        // What was still queued comes back: in order, without gaps, ending
        // with the last accepted message.
        assert!(!info.unsent.is_empty(), "nothing handed back");
        let seqs: Vec<u32> = info.unsent.iter().map(seq_of).collect();
        assert_eq!(*seqs.last().unwrap(), accepted - 1, "{seqs:?}");
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
        assert!(info.unsent.iter().all(|d| d.len() == 16 << 10));
        // And the connection refuses more, handing it back.
        let mut err = conn.try_send("after").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Closed);
        assert_eq!(err.take_unsent(), Some(Data::from("after")));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_rejects_invalid_code_and_reason() {
    guard(async {
        let port = echo_server(1).await;
        let mut conn = rtwire::connect(&format!("ws://127.0.0.1:{port}/"), Options::new())
            .await
            .unwrap();
        expect_open(&mut conn).await;
        for code in [999, 1004, 1005, 1006, 1015, 2999, 5000] {
            let err = conn.close(code, "").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "code {code}");
            assert!(err.message().contains(&code.to_string()), "{err}");
        }
        let err = conn.close(1000, &"r".repeat(124)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        // 62 two-byte characters are 124 bytes.
        let err = conn.close(1000, &"é".repeat(62)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        // Refused closes left the connection working.
        conn.send("still open").await.unwrap();
        assert_eq!(
            expect_message(&mut conn).await.as_text(),
            Some("still open")
        );

        let longest = "é".repeat(61) + "r";
        assert_eq!(longest.len(), 123);
        conn.close(3000, &longest).unwrap();
        let (_, info) = until_closed(&mut conn).await;
        assert_eq!(info.code, 3000);
        assert_eq!(info.reason, longest);
        assert!(info.clean);
    })
    .await
}

/// A one-connection raw server running `script` on the accepted stream.
async fn one_shot<F, Fut>(script: F) -> String
where
    F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", l.local_addr().unwrap());
    tokio::spawn(async move {
        if let Ok((tcp, _)) = l.accept().await {
            script(tcp).await;
        }
    });
    url
}

#[tokio::test]
async fn refused_handshake_body_is_read_across_packets() {
    common::guard(async {
        let url = one_shot(|mut tcp| async move {
            use tokio::io::AsyncWriteExt;
            common::read_request_head(&mut tcp).await;
            let _ = tcp
                .write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 26\r\nWWW-Authenticate: Bearer\r\n\r\n")
                .await;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let _ = tcp.write_all(b"{\"error\":\"token expired\"}\n").await;
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        })
        .await;
        let err = rtwire::connect(&url, rtwire::Options::new()).await.unwrap_err();
        assert_eq!(err.kind(), rtwire::ErrorKind::Handshake);
        assert_eq!(err.status(), Some(401));
        assert_eq!(err.body(), Some(&b"{\"error\":\"token expired\"}\n"[..]));
        assert!(err
            .headers()
            .iter()
            .any(|(k, v)| k == "www-authenticate" && v == "Bearer"));
        assert!(err.to_string().contains("token expired"), "{err}");
    })
    .await;
}

#[tokio::test]
async fn frames_in_the_same_segment_as_the_101_are_delivered() {
    common::guard(async {
        let url = one_shot(|mut tcp| async move {
            use tokio::io::AsyncWriteExt;
            let head = common::read_request_head(&mut tcp).await;
            let key = head
                .lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .unwrap()
                .trim()
                .to_string();
            let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
            let mut out = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            )
            .into_bytes();
            // Two unmasked server text frames, "hi" and "there", in the
            // same write as the handshake.
            out.extend_from_slice(&[0x81, 2, b'h', b'i', 0x81, 5, b't', b'h', b'e', b'r', b'e']);
            let _ = tcp.write_all(&out).await;
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        })
        .await;
        let opts = rtwire::Options::new().reconnect(rtwire::Reconnect::disabled());
        let mut conn = rtwire::connect(&url, opts).await.unwrap();
        common::expect_open(&mut conn).await;
        assert_eq!(common::expect_message(&mut conn).await.as_text(), Some("hi"));
        assert_eq!(common::expect_message(&mut conn).await.as_text(), Some("there"));
    })
    .await;
}

#[tokio::test]
async fn a_flood_of_response_headers_is_refused_quickly() {
    common::guard(async {
        let url = one_shot(|mut tcp| async move {
            use tokio::io::AsyncWriteExt;
            common::read_request_head(&mut tcp).await;
            let mut out = b"HTTP/1.1 101 Switching Protocols\r\n".to_vec();
            for i in 0..10_000 {
                out.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
            }
            let _ = tcp.write_all(&out).await;
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        })
        .await;
        let start = std::time::Instant::now();
        let err = rtwire::connect(&url, rtwire::Options::new())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), rtwire::ErrorKind::Handshake, "{err}");
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    })
    .await;
}
