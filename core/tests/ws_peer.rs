//! The WebSocket client against third-party peers: the Python `websockets`
//! echo server in tests/peers/ws_echo.py and, for permessage-deflate, the
//! Node `ws` server in tests/peers/node/ws_server.mjs (both installed by
//! scripts/peers.sh).

mod common;

use std::time::Duration;

use common::{expect_message, expect_open, guard, next_event, until_closed, PyPeer};
use rtwire::{Data, ErrorKind, Event, Options, Reconnect, Transport};

async fn echo_conn(peer: &PyPeer, options: Options) -> rtwire::Connection {
    let mut conn = rtwire::connect(&peer.url("/echo"), options)
        .await
        .expect("connect to the echo peer");
    let info = expect_open(&mut conn).await;
    assert_eq!(info.transport, Transport::WebSocket);
    assert_eq!(&info, conn.open_info());
    conn
}

async fn close_cleanly(mut conn: rtwire::Connection) {
    conn.close(1000, "done").expect("close");
    let (events, info) = until_closed(&mut conn).await;
    assert!(
        events.iter().all(|e| !matches!(e, Event::Error(_))),
        "{events:?}"
    );
    assert_eq!((info.code, info.clean), (1000, true), "{info:?}");
    assert!(info.unsent.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_and_binary_echo() {
    guard(async {
        let peer = PyPeer::start().await;
        let mut conn = echo_conn(&peer, Options::new()).await;
        assert_eq!(conn.open_info().url, peer.url("/echo"));

        conn.send("héllo wörld ✓").await.unwrap();
        let got = expect_message(&mut conn).await;
        assert_eq!(got.as_text(), Some("héllo wörld ✓"));

        let bin: Vec<u8> = (0..=255u8).collect();
        conn.send(bin.clone()).await.unwrap();
        let got = expect_message(&mut conn).await;
        assert!(!got.is_text(), "binary stays binary: {got:?}");
        assert_eq!(got.as_bytes(), &bin[..]);

        close_cleanly(conn).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_messages_echo() {
    guard(async {
        let peer = PyPeer::start().await;
        let mut conn = echo_conn(&peer, Options::new()).await;
        conn.send("").await.unwrap();
        conn.send(Vec::<u8>::new()).await.unwrap();
        let a = expect_message(&mut conn).await;
        assert_eq!(a.as_text(), Some(""));
        let b = expect_message(&mut conn).await;
        assert!(!b.is_text() && b.is_empty(), "{b:?}");
        close_cleanly(conn).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_mib_message_echo() {
    guard(async {
        const SIZE: usize = 16 << 20;
        let peer = PyPeer::start().await;
        let options = Options::new().max_message_size(SIZE).max_frame_size(SIZE);
        let mut conn = echo_conn(&peer, options).await;
        let payload: Vec<u8> = (0..SIZE).map(|i| (i * 31 % 251) as u8).collect();
        conn.send(payload.clone()).await.unwrap();
        let got = expect_message(&mut conn).await;
        assert_eq!(got.len(), SIZE);
        assert!(got.as_bytes() == &payload[..], "16 MiB payload differs");

        let text = "x".repeat(SIZE);
        conn.send(text.clone()).await.unwrap();
        let got = expect_message(&mut conn).await;
        assert_eq!(got.as_text().map(str::len), Some(SIZE));
        assert!(got.as_text() == Some(text.as_str()));
        close_cleanly(conn).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_messages_in_order() {
    guard(async {
        let peer = PyPeer::start().await;
        let mut conn = echo_conn(&peer, Options::new()).await;
        let sender = conn.sender();
        let writer = tokio::spawn(async move {
            for i in 0..1000 {
                sender.send(format!("msg-{i}")).await.unwrap();
            }
        });
        for i in 0..1000 {
            let got = expect_message(&mut conn).await;
            assert_eq!(got.as_text(), Some(format!("msg-{i}").as_str()));
        }
        writer.await.unwrap();
        close_cleanly(conn).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subprotocol_is_negotiated() {
    guard(async {
        let peer = PyPeer::start().await;
        // The peer prefers chat.v2 over chat.v1.
        let options = Options::new().subprotocol("chat.v1").subprotocol("chat.v2");
        let conn = echo_conn(&peer, options).await;
        assert_eq!(conn.open_info().protocol.as_deref(), Some("chat.v2"));
        let header = conn
            .open_info()
            .headers
            .iter()
            .find(|(k, _)| k == "sec-websocket-protocol")
            .map(|(_, v)| v.as_str());
        assert_eq!(header, Some("chat.v2"));
        close_cleanly(conn).await;

        let conn = echo_conn(&peer, Options::new().subprotocol("chat.v1")).await;
        assert_eq!(conn.open_info().protocol.as_deref(), Some("chat.v1"));
        close_cleanly(conn).await;

        let conn = echo_conn(&peer, Options::new()).await;
        assert_eq!(conn.open_info().protocol, None);
        close_cleanly(conn).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_headers_reach_the_server() {
    guard(async {
        let peer = PyPeer::start().await;
        let options = Options::new()
            .header("X-Rtwire-Test", "value 42")
            .origin("http://origin.test");
        let mut conn = rtwire::connect(&peer.url("/headers"), options)
            .await
            .unwrap();
        expect_open(&mut conn).await;
        let got = expect_message(&mut conn).await;
        let json: serde_json::Value =
            serde_json::from_str(got.as_text().expect("headers come as text")).unwrap();
        assert_eq!(json["x-rtwire-test"], "value 42", "{json}");
        assert_eq!(json["origin"], "http://origin.test", "{json}");
        assert_eq!(json["host"], format!("127.0.0.1:{}", peer.port), "{json}");
        // After the headers, the path echoes.
        conn.send("after").await.unwrap();
        assert_eq!(expect_message(&mut conn).await.as_text(), Some("after"));
        close_cleanly(conn).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_close_code_and_reason() {
    guard(async {
        let peer = PyPeer::start().await;
        let mut conn = echo_conn(&peer, Options::new()).await;
        conn.send("ping").await.unwrap();
        assert_eq!(expect_message(&mut conn).await.as_text(), Some("ping"));
        conn.close(4000, "bye").unwrap();
        // A second close is harmless and changes nothing.
        conn.close(4001, "again").unwrap();
        let (events, info) = until_closed(&mut conn).await;
        assert!(
            events.iter().all(|e| matches!(e, Event::Message(_))),
            "{events:?}"
        );
        assert_eq!(info.code, 4000);
        assert_eq!(info.reason, "bye");
        assert!(info.clean);
        assert!(info.unsent.is_empty());
        let mut err = conn.send("late").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Closed);
        assert_eq!(err.take_unsent(), Some(Data::from("late")));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_close_with_retryable_code_is_reported() {
    guard(async {
        let peer = PyPeer::start().await;
        let options = Options::new().reconnect(Reconnect::disabled());
        let mut conn = rtwire::connect(&peer.url("/close?code=4001&reason=x"), options)
            .await
            .unwrap();
        expect_open(&mut conn).await;
        let (events, info) = until_closed(&mut conn).await;
        assert_eq!(info.code, 4001);
        assert_eq!(info.reason, "x");
        assert!(info.clean, "{info:?}");
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, Event::Reconnecting { .. })),
            "{events:?}"
        );
        let err = common::assert_one_error(&events, ErrorKind::Closed);
        assert_eq!(err.close_code(), Some(4001));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_close_with_retryable_code_reconnects() {
    guard(async {
        let peer = PyPeer::start().await;
        let options =
            Options::new().reconnect(Reconnect::default().initial_delay(Duration::from_millis(50)));
        let mut conn = rtwire::connect(&peer.url("/close?code=4001&reason=x"), options)
            .await
            .unwrap();
        expect_open(&mut conn).await;
        match next_event(&mut conn).await {
            Event::Reconnecting { attempt, cause, .. } => {
                assert_eq!(attempt, 1);
                assert_eq!(cause.kind(), ErrorKind::Closed);
                assert_eq!(cause.close_code(), Some(4001));
            }
            other => panic!("expected Reconnecting, got {other:?}"),
        }
        match next_event(&mut conn).await {
            Event::Open(info) => assert_eq!(info.url, peer.url("/close?code=4001&reason=x")),
            other => panic!("expected a second Open, got {other:?}"),
        }
        conn.close(1000, "enough").unwrap();
        let (_, info) = until_closed(&mut conn).await;
        // Closed either by our request or by the peer's next 4001 racing it.
        assert!(matches!(info.code, 1000 | 4001), "{info:?}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_close_1000_does_not_reconnect() {
    guard(async {
        let peer = PyPeer::start().await;
        let options =
            Options::new().reconnect(Reconnect::default().initial_delay(Duration::from_millis(10)));
        let mut conn = rtwire::connect(&peer.url("/close?code=1000&reason=finished"), options)
            .await
            .unwrap();
        expect_open(&mut conn).await;
        let (events, info) = until_closed(&mut conn).await;
        assert!(
            events.is_empty(),
            "nothing between Open and Closed: {events:?}"
        );
        assert_eq!(info.code, 1000);
        assert_eq!(info.reason, "finished");
        assert!(info.clean);
    })
    .await
}

/// Runs `f` on its own thread and fails if it takes longer than the limit.
fn with_deadline(f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(common::TEST_LIMIT) {
        Ok(()) => handle.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // The closure panicked: surface its message.
            if let Err(p) = handle.join() {
                std::panic::resume_unwind(p);
            }
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("test did not finish within {:?}", common::TEST_LIMIT)
        }
    }
}

#[test]
fn blocking_facade_echo() {
    with_deadline(|| {
        // The peer's process is owned by a runtime of its own; the blocking
        // facade runs on rtwire's shared runtime.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let peer = rt.block_on(PyPeer::start());
        let step = Duration::from_secs(10);

        let mut conn = rtwire::blocking::connect(&peer.url("/echo"), Options::new()).unwrap();
        match conn.recv_timeout(step).unwrap() {
            Some(Event::Open(info)) => assert_eq!(info.url, peer.url("/echo")),
            other => panic!("expected Open, got {other:?}"),
        }
        conn.send("blocking hello").unwrap();
        conn.send(vec![9u8, 8, 7]).unwrap();
        match conn.recv_timeout(step).unwrap() {
            Some(Event::Message(m)) => assert_eq!(m.data.as_text(), Some("blocking hello")),
            other => panic!("expected a message, got {other:?}"),
        }
        match conn.recv_timeout(step).unwrap() {
            Some(Event::Message(m)) => assert_eq!(m.data.as_bytes(), &[9, 8, 7]),
            other => panic!("expected a message, got {other:?}"),
        }
        // Nothing else is coming: recv_timeout reports a timeout.
        let err = conn.recv_timeout(Duration::from_millis(200)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);

        conn.close(1000, "bye").unwrap();
        let mut closed = None;
        for _ in 0..100 {
            match conn.recv_timeout(step).unwrap() {
                Some(Event::Closed(info)) => {
                    closed = Some(info);
                    break;
                }
                Some(_) => {}
                None => break,
            }
        }
        let info = closed.expect("a Closed event");
        assert_eq!(
            (info.code, info.reason.as_str(), info.clean),
            (1000, "bye", true)
        );
        assert!(conn.is_finished());
        assert!(conn.recv_timeout(step).unwrap().is_none());
        drop(peer);
        rt.shutdown_timeout(Duration::from_secs(2));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permessage_deflate_is_negotiated_by_default_and_can_be_turned_off() {
    guard(async {
        let peer = PyPeer::start().await;
        let mut conn = rtwire::connect(&peer.url("/extensions"), Options::new())
            .await
            .unwrap();
        let info = expect_open(&mut conn).await;
        let ext = info
            .headers
            .iter()
            .find(|(k, _)| k == "sec-websocket-extensions")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        assert!(ext.starts_with("permessage-deflate"), "{:?}", info.headers);
        // What websockets negotiated: no context takeover either way.
        let got = expect_message(&mut conn).await;
        let exts: serde_json::Value = serde_json::from_str(got.as_text().unwrap()).unwrap();
        assert_eq!(exts[0]["name"], "permessage-deflate", "{exts}");
        assert_eq!(exts[0]["remote_no_context_takeover"], true, "{exts}");
        assert_eq!(exts[0]["local_no_context_takeover"], true, "{exts}");
        // Compressible messages of every size, text and binary, both ways.
        for n in [0usize, 10, 127, 128, 1000, 100_000, 3 << 20] {
            let text = "{\"user\":\"alice\",\"n\":1}".repeat(n / 22 + 1)[..n].to_string();
            conn.send(text.clone()).await.unwrap();
            assert_eq!(
                expect_message(&mut conn).await.as_text(),
                Some(text.as_str())
            );
            let bin = vec![7u8; n];
            conn.send(bin.clone()).await.unwrap();
            assert_eq!(expect_message(&mut conn).await.as_bytes(), &bin[..]);
        }
        close_cleanly(conn).await;

        let mut off = Options::new();
        off.permessage_deflate = false;
        let mut conn = rtwire::connect(&peer.url("/extensions"), off)
            .await
            .unwrap();
        let info = expect_open(&mut conn).await;
        assert!(
            info.headers
                .iter()
                .all(|(k, _)| k != "sec-websocket-extensions"),
            "{:?}",
            info.headers
        );
        let got = expect_message(&mut conn).await;
        assert_eq!(got.as_text(), Some("[]"));
        close_cleanly(conn).await;
    })
    .await
}

/// The agreed `Sec-WebSocket-Extensions` of an open connection ("" for none).
fn agreed_extensions(info: &rtwire::OpenInfo) -> String {
    info.headers
        .iter()
        .find(|(k, _)| k == "sec-websocket-extensions")
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permessage_deflate_with_node_ws_server() {
    guard(async {
        let peer = PyPeer::start_node("ws_server.mjs").await;
        // /deflate compresses every message it sends (threshold 0), the
        // empty one too; /small-window does so with a 512-byte window it
        // chose without being asked.
        for (path, window) in [("/deflate", None), ("/small-window", Some("9"))] {
            let mut conn = rtwire::connect(&peer.url(path), Options::new())
                .await
                .unwrap();
            let info = expect_open(&mut conn).await;
            let ext = agreed_extensions(&info);
            assert!(ext.starts_with("permessage-deflate"), "{path}: {ext:?}");
            assert!(
                ext.contains("server_no_context_takeover"),
                "{path}: {ext:?}"
            );
            if let Some(bits) = window {
                assert!(
                    ext.contains(&format!("server_max_window_bits={bits}")),
                    "{path}: {ext:?}"
                );
            }
            assert_eq!(
                expect_message(&mut conn).await.as_text(),
                Some("permessage-deflate"),
                "{path}"
            );
            for n in [0usize, 1, 127, 128, 4096, 300_000, 2 << 20] {
                let text = "{\"user\":\"bob\",\"seq\":42}".repeat(n / 23 + 1)[..n].to_string();
                conn.send(text.clone()).await.unwrap();
                assert_eq!(
                    expect_message(&mut conn).await.as_text(),
                    Some(text.as_str()),
                    "{path}: text of {n} bytes"
                );
                // Barely compressible bytes as well as repeated ones.
                let bin: Vec<u8> = (0..n as u32)
                    .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                    .collect();
                conn.send(bin.clone()).await.unwrap();
                assert_eq!(
                    expect_message(&mut conn).await.as_bytes(),
                    &bin[..],
                    "{path}: binary of {n} bytes"
                );
            }
            close_cleanly(conn).await;
        }

        // A server without permessage-deflate declines the offer cleanly.
        let mut conn = rtwire::connect(&peer.url("/plain"), Options::new())
            .await
            .unwrap();
        let info = expect_open(&mut conn).await;
        assert_eq!(agreed_extensions(&info), "");
        assert_eq!(expect_message(&mut conn).await.as_text(), Some(""));
        conn.send("x".repeat(1000)).await.unwrap();
        assert_eq!(
            expect_message(&mut conn).await.as_text(),
            Some("x".repeat(1000).as_str())
        );
        close_cleanly(conn).await;
    })
    .await
}
