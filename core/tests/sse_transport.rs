//! The SSE transport against the third-party `sse-starlette` server
//! (tests/peers/sse_server.py): resume with Last-Event-ID, `retry:`,
//! statuses that stop the connection, wrong Content-Type, gzip, redirects
//! that must drop credentials, and sends through `send_url`.

mod common;

use std::time::{Duration, Instant};

use common::{guard, until_closed, PyPeer};
use rtwire::{ErrorKind, Event, Options, Reconnect, Transport};
use serde_json::Value;

async fn sse_peer() -> PyPeer {
    PyPeer::start_script("sse_server.py").await
}

fn http(peer: &PyPeer, path: &str) -> String {
    format!("http://127.0.0.1:{}{}", peer.port, path)
}

fn fast_reconnect() -> Options {
    Options::new().reconnect(
        Reconnect::default()
            .initial_delay(Duration::from_millis(20))
            .max_delay(Duration::from_millis(100)),
    )
}

async fn stats(peer: &PyPeer) -> Value {
    // The test's own HTTP client needs a process-wide TLS provider; the
    // library never relies on one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let body = reqwest::get(http(peer, "/stats"))
        .await
        .expect("stats request")
        .text()
        .await
        .expect("stats body");
    serde_json::from_str(&body).expect("stats JSON")
}

#[tokio::test]
async fn resumes_with_last_event_id_without_loss_or_duplicates() {
    guard(async {
        let peer = sse_peer().await;
        let url = http(&peer, "/events?total=7&per_conn=2&then=204");
        let mut conn = rtwire::connect(&url, fast_reconnect()).await.unwrap();
        let (events, close) = until_closed(&mut conn).await;
        let messages: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some(m.clone()),
                _ => None,
            })
            .collect();
        let data: Vec<_> = messages
            .iter()
            .map(|m| m.data.as_text().unwrap().to_string())
            .collect();
        let want: Vec<_> = (1..=7).map(|i| format!("event {i}")).collect();
        assert_eq!(data, want, "every event once, in order");
        let ids: Vec<_> = messages.iter().map(|m| m.id.clone().unwrap()).collect();
        assert_eq!(ids, (1..=7).map(|i| i.to_string()).collect::<Vec<_>>());
        assert_eq!(messages[2].event.as_deref(), Some("tick"));
        assert_eq!(messages[0].event.as_deref(), Some("message"));
        let opens = events
            .iter()
            .filter(|e| matches!(e, Event::Open(_)))
            .count();
        assert_eq!(opens, 4, "7 events at 2 per connection take 4 connections");
        // The server's 204 after the last event stops the connection.
        let err = common::assert_one_error(&events, ErrorKind::Handshake);
        assert_eq!(err.status(), Some(204));
        assert!(!close.clean || close.code == 1006, "{close:?}");
        let seen = stats(&peer).await;
        let ids = seen["last_event_ids"].as_array().unwrap().to_vec();
        assert_eq!(
            ids,
            vec![Value::Null, "2".into(), "4".into(), "6".into(), "7".into()],
            "each reconnect sent the last id it had"
        );
    })
    .await;
}

#[tokio::test]
async fn initial_last_event_id_option_is_sent() {
    guard(async {
        let peer = sse_peer().await;
        let url = http(&peer, "/events?total=3&per_conn=5");
        let opts = Options::new()
            .last_event_id("2")
            .reconnect(Reconnect::disabled());
        let mut conn = rtwire::connect(&url, opts).await.unwrap();
        let (events, _) = until_closed(&mut conn).await;
        let data: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => m.data.as_text().map(str::to_string),
                _ => None,
            })
            .collect();
        assert_eq!(data, vec!["event 3".to_string()]);
    })
    .await;
}

#[tokio::test]
async fn retry_field_sets_the_reconnect_delay() {
    guard(async {
        let peer = sse_peer().await;
        let opts = Options::new().reconnect(
            Reconnect::default()
                .initial_delay(Duration::from_millis(1))
                .max_delay(Duration::from_millis(5))
                .max_attempts(3),
        );
        let mut conn = rtwire::connect(&http(&peer, "/retry?ms=400"), opts)
            .await
            .unwrap();
        let mut delays = Vec::new();
        let mut opens = Vec::new();
        while opens.len() < 2 {
            match common::next_event(&mut conn).await {
                Event::Open(_) => opens.push(Instant::now()),
                Event::Reconnecting { delay, .. } => delays.push(delay),
                Event::Closed(c) => panic!("closed early: {c:?}"),
                _ => {}
            }
        }
        conn.close(1000, "").unwrap();
        assert_eq!(
            delays[0],
            Duration::from_millis(400),
            "retry: wins over the policy"
        );
        let gap = opens[1] - opens[0];
        assert!(gap >= Duration::from_millis(400), "waited {gap:?}");
        assert!(gap < Duration::from_millis(3000), "waited {gap:?}");
    })
    .await;
}

#[tokio::test]
async fn statuses_other_than_200_fail_clearly_without_reconnect() {
    guard(async {
        let peer = sse_peer().await;
        for (path, status) in [
            ("/status/204", 204),
            ("/status/500", 500),
            ("/status/201", 201),
            ("/status/404", 404),
        ] {
            let err = rtwire::connect(&http(&peer, path), Options::new())
                .await
                .expect_err(path);
            assert_eq!(err.kind(), ErrorKind::Handshake, "{path}: {err}");
            assert_eq!(err.status(), Some(status), "{path}");
            assert!(err.to_string().contains(&status.to_string()), "{err}");
        }
        let err = rtwire::connect(&http(&peer, "/html"), Options::new())
            .await
            .expect_err("text/html");
        assert_eq!(err.kind(), ErrorKind::Handshake);
        assert!(err.to_string().contains("text/html"), "{err}");
        assert!(!err.is_retryable());
    })
    .await;
}

#[tokio::test]
async fn gzip_encoded_stream_is_decoded_while_streaming() {
    guard(async {
        let peer = sse_peer().await;
        let opts = Options::new().reconnect(Reconnect::disabled());
        let mut conn = rtwire::connect(&http(&peer, "/gzip"), opts).await.unwrap();
        let (events, _) = until_closed(&mut conn).await;
        let data: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => m.data.as_text().map(str::to_string),
                _ => None,
            })
            .collect();
        assert_eq!(data, vec!["zipped 1", "zipped 2", "zipped 3"]);
    })
    .await;
}

async fn headers_after_redirect(peer: &PyPeer, target: String) -> Value {
    let url = format!("{}?to={}", http(peer, "/redirect"), target);
    let opts = Options::new()
        .transport(Transport::Sse)
        .header("Authorization", "Bearer secret")
        .reconnect(Reconnect::disabled());
    let mut conn = rtwire::connect(&url, opts).await.unwrap();
    match common::next_event(&mut conn).await {
        Event::Open(_) => {}
        other => panic!("expected open, got {other:?}"),
    }
    let data = common::expect_message(&mut conn).await;
    serde_json::from_str(data.as_text().unwrap()).unwrap()
}

#[tokio::test]
async fn cross_origin_redirect_drops_authorization() {
    guard(async {
        let peer = sse_peer().await;
        // Same origin: the credentials follow.
        let same = headers_after_redirect(&peer, http(&peer, "/headers")).await;
        assert_eq!(same["authorization"], "Bearer secret");
        // Another origin (another host name for the same server): dropped.
        let other = format!("http://localhost:{}/headers", peer.port);
        let cross = headers_after_redirect(&peer, other).await;
        assert!(cross.get("authorization").is_none(), "{cross}");
        assert_eq!(cross["accept"], "text/event-stream");
    })
    .await;
}

#[tokio::test]
async fn send_posts_to_send_url_and_is_unsupported_without_it() {
    guard(async {
        let peer = sse_peer().await;
        // Held open after its events: the close below meets an open stream.
        let url = http(&peer, "/events?total=50&per_conn=50&hold=1");
        let opts = Options::new().send_url(http(&peer, "/send"));
        let mut conn = rtwire::connect(&url, opts).await.unwrap();
        conn.send("first").await.unwrap();
        conn.send(vec![0xffu8, 0]).await.unwrap();
        // Wait until the server has both (bounded).
        let mut sent = Vec::new();
        for _ in 0..100 {
            sent = stats(&peer).await["sent"].as_array().unwrap().clone();
            if sent.len() >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert_eq!(sent[0]["body"], "first");
        assert_eq!(sent[0]["type"], "text/plain; charset=utf-8");
        assert_eq!(sent[1]["type"], "application/octet-stream");
        conn.close(1000, "").unwrap();
        let (_, close) = until_closed(&mut conn).await;
        assert_eq!(close.code, 1000);

        let opts = Options::new().transport(Transport::Sse);
        let conn = rtwire::connect(&url, opts).await.unwrap();
        let mut err = conn.send("nowhere").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert!(err.to_string().contains("send_url"), "{err}");
        assert_eq!(err.take_unsent().unwrap().as_text(), Some("nowhere"));
    })
    .await;
}
