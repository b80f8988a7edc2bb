//! Route connections over HTTP: the same handler serves WebSocket, SSE,
//! NDJSON streaming and long-polling clients (messages up by POST), with
//! rooms across transports, the server's close, and sessions that end when
//! their client goes. Driven by reqwest, rtwire's SSE client and
//! tokio-tungstenite.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{guard, raw_ws, until_closed};
use futures_util::{SinkExt, StreamExt};
use rtwire::server::{Server, ServerOptions};
use rtwire::{Connection, Event, Options, Reconnect, Transport};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Joins room `all`; answers `echo: T` to the sender (with its transport)
/// and sends `I: T` to the rest of the room; `close` is closed with 4000.
/// Records how each connection ended.
fn app(ends: Arc<Mutex<Vec<(String, u16)>>>) -> ServerOptions {
    ServerOptions::new().route("/chat", move |mut conn: Connection, req| {
        let ends = ends.clone();
        async move {
            req.join("all");
            let rooms = req.rooms();
            let transport = conn.open_info().transport.to_string();
            while let Some(ev) = conn.recv().await {
                match ev {
                    Event::Message(m) => {
                        let text = m.data.as_text().unwrap_or("(binary)").to_string();
                        if text == "close" {
                            let _ = conn.close(4000, "as asked");
                            continue;
                        }
                        let _ = conn.send(format!("echo {transport}: {text}")).await;
                        rooms
                            .to("all")
                            .except(req.id)
                            .send(format!("{}: {text}", req.id));
                    }
                    Event::Closed(c) => ends.lock().unwrap().push((transport.clone(), c.code)),
                    _ => {}
                }
            }
        }
    })
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn json_of(r: reqwest::Response) -> Value {
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

/// Opens a long-polling session: its first answer.
async fn open_poll(http: &reqwest::Client, base: &str) -> Value {
    let r = http
        .get(format!("{base}/chat?transport=poll"))
        .send()
        .await
        .unwrap();
    json_of(r).await
}

async fn post(http: &reqwest::Client, base: &str, send: &str, body: &str) -> u16 {
    http.post(format!("{base}{send}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn poll(http: &reqwest::Client, base: &str, sid: &str) -> Value {
    let r = http
        .get(format!("{base}/chat?transport=poll&sid={sid}&wait=5"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    json_of(r).await
}

/// Polls until `want` messages came (at most 10 polls).
async fn poll_messages(http: &reqwest::Client, base: &str, sid: &str, want: usize) -> Vec<Value> {
    let mut got = Vec::new();
    for _ in 0..10 {
        let v = poll(http, base, sid).await;
        got.extend(v["messages"].as_array().unwrap().iter().cloned());
        if got.len() >= want {
            break;
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_handler_serves_websocket_sse_stream_and_long_polling() {
    guard(async {
        let ends = Arc::new(Mutex::new(Vec::new()));
        let server = Server::start(app(ends.clone())).await.unwrap();
        let base = server.base_url();
        let http = client();

        // Long polling: the first answer names the session.
        let first = open_poll(&http, &base).await;
        let sid = first["sid"].as_str().unwrap().to_string();
        let send = first["send"].as_str().unwrap().to_string();
        assert_eq!(send, format!("/chat?sid={sid}"));
        assert_eq!(sid.len(), 32);
        assert_eq!(post(&http, &base, &send, "hi from poll").await, 204);
        let got = poll_messages(&http, &base, &sid, 1).await;
        assert_eq!(got, [Value::from("echo long_poll: hi from poll")]);

        // SSE with rtwire's client: the session event, then messages.
        let mut sse = client_of(
            &format!("{base}/chat?transport=sse"),
            Options::new().transport(Transport::Sse),
        )
        .await;
        // The send path is in the `rtwire-send` header (and the first
        // event, which the client acts on rather than delivers).
        let sse_send = sse
            .open_info()
            .headers
            .iter()
            .find(|(k, _)| k == "rtwire-send")
            .map(|(_, v)| v.clone())
            .expect("an rtwire-send header");

        // A WebSocket member of the same room.
        let ws_url = format!("ws://{}/chat", server.local_addr());
        let mut ws = raw_ws(&ws_url).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while server.rooms().members("all").len() < 3 {
            assert!(tokio::time::Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        ws.send(WsMessage::text("hi from ws")).await.unwrap();
        let echo = ws.next().await.unwrap().unwrap();
        assert_eq!(echo.to_text().unwrap(), "echo websocket: hi from ws");
        // The SSE and the polling members got it as room members.
        let line = next_text(&mut sse).await;
        assert!(line.ends_with(": hi from ws"), "{line}");
        let got = poll_messages(&http, &base, &sid, 1).await;
        assert!(got[0].as_str().unwrap().ends_with(": hi from ws"));

        // Up over POST from the SSE member; down to it and to the others.
        assert_eq!(post(&http, &base, &sse_send, "hi from sse").await, 204);
        assert_eq!(next_text(&mut sse).await, "echo sse: hi from sse");
        let from_sse = ws.next().await.unwrap().unwrap();
        assert!(from_sse.to_text().unwrap().ends_with(": hi from sse"));

        // NDJSON streaming: the first line names the session.
        let mut stream = http
            .get(format!("{base}/chat?transport=stream"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            stream.headers()["content-type"].to_str().unwrap(),
            "application/x-ndjson"
        );
        let mut buf = String::new();
        let mut lines = Vec::<Value>::new();
        let mut read_lines = async |want: usize, lines: &mut Vec<Value>| {
            while lines.len() < want {
                let chunk = stream.chunk().await.unwrap().expect("more of the stream");
                buf.push_str(std::str::from_utf8(&chunk).unwrap());
                while let Some(i) = buf.find('\n') {
                    let line: String = buf.drain(..=i).collect();
                    if !line.trim().is_empty() {
                        lines.push(serde_json::from_str(&line).unwrap());
                    }
                }
            }
        };
        read_lines(1, &mut lines).await;
        let stream_send = lines[0]["send"].as_str().unwrap().to_string();
        assert_eq!(post(&http, &base, &stream_send, "close").await, 204);
        read_lines(2, &mut lines).await;
        assert_eq!(lines[1]["close"]["code"], 4000);
        assert_eq!(lines[1]["close"]["reason"], "as asked");

        // The server closes the SSE session: the close event, then the end.
        let sse_id = *server.rooms().members("all").last().unwrap();
        let _ = sse_id;
        assert_eq!(post(&http, &base, &sse_send, "close").await, 204);
        let close = until_closed(&mut sse).await.1;
        assert_eq!((close.code, close.reason.as_str()), (4000, "as asked"));
        // A message to a session that is over: 404.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while post(&http, &base, &sse_send, "late").await != 404 {
            assert!(tokio::time::Instant::now() < deadline, "the session stayed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let ends = ends.lock().unwrap().clone();
        assert!(ends.contains(&("stream".into(), 4000)), "{ends:?}");
        assert!(ends.contains(&("sse".into(), 4000)), "{ends:?}");
        server.shutdown().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polling_session_without_polls_ends_and_bad_requests_are_refused() {
    guard(async {
        let ends = Arc::new(Mutex::new(Vec::new()));
        let mut opts = app(ends.clone());
        opts.ping_interval = Duration::from_millis(300);
        let server = Server::start(opts).await.unwrap();
        let base = server.base_url();
        let http = client();
        let first = open_poll(&http, &base).await;
        let send = first["send"].as_str().unwrap().to_string();
        // No poll for ping_interval: the session is over (1006).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while ends.lock().unwrap().is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "the session stayed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(ends.lock().unwrap()[0], ("long_poll".into(), 1006));
        assert_eq!(post(&http, &base, &send, "x").await, 404);
        assert!(server.rooms().members("all").is_empty());
        let status = |path: &'static str| {
            let http = http.clone();
            let base = base.clone();
            async move {
                http.get(format!("{base}{path}"))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(status("/chat?transport=carrier-pigeon").await, 400);
        assert_eq!(status("/chat?sid=00&transport=poll").await, 404);
        assert_eq!(status("/chat?sid=00").await, 400);
        assert_eq!(status("/chat").await, 400, "a plain GET without an upgrade");
        server.shutdown().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_bodies_a_stalled_handler_binary_and_the_token() {
    guard(async {
        // `/slow` never reads: its session's upstream fills up.
        let opts = ServerOptions::new()
            .route("/echo", |mut conn: Connection, _req| async move {
                while let Some(ev) = conn.recv().await {
                    if let Event::Message(m) = ev {
                        let _ = conn.send(m.data).await;
                    }
                }
            })
            .route("/slow", |conn: Connection, _req| async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                drop(conn);
            })
            .token("sesame");
        let mut opts = opts;
        opts.max_message_size = 1024;
        let server = Server::start(opts).await.unwrap();
        let base = server.base_url();
        let http = client();
        // The token is asked for when the session opens.
        let refused = http
            .get(format!("{base}/echo?transport=poll"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
        let open = |path: &'static str| {
            let http = http.clone();
            let base = base.clone();
            async move {
                let r = http
                    .get(format!("{base}{path}?transport=poll&token=sesame"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                json_of(r).await
            }
        };
        let echo = open("/echo").await;
        let send = echo["send"].as_str().unwrap().to_string();
        let sid = echo["sid"].as_str().unwrap().to_string();
        let over = "x".repeat(1025);
        assert_eq!(post(&http, &base, &send, &over).await, 413);
        // Binary in, binary out (base64 in the poll answer).
        let r = http
            .post(format!("{base}{send}"))
            .header("content-type", "application/octet-stream")
            .body(vec![0u8, 159, 146, 150])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let got = http
            .get(format!("{base}/echo?transport=poll&sid={sid}&wait=5"))
            .send()
            .await
            .unwrap();
        let got = json_of(got).await;
        assert_eq!(
            got["messages"],
            serde_json::json!([{"data": "AJ+Slg==", "binary": true}])
        );
        // A handler that does not read: 429 once its event queue (256)
        // and the session's 64 are full; the other session goes on.
        let slow = open("/slow").await;
        let slow_send = slow["send"].as_str().unwrap().to_string();
        let mut statuses = Vec::new();
        for i in 0..400 {
            statuses.push(post(&http, &base, &slow_send, &format!("{i}")).await);
        }
        let accepted = statuses.iter().take_while(|s| **s == 204).count();
        assert!((64..=320).contains(&accepted), "{statuses:?}");
        assert!(
            statuses[accepted..].iter().all(|s| *s == 429),
            "{statuses:?}"
        );
        assert_eq!(post(&http, &base, &send, "still").await, 204);
        let got = http
            .get(format!("{base}/echo?transport=poll&sid={sid}&wait=5"))
            .send()
            .await
            .unwrap();
        assert_eq!(json_of(got).await["messages"], serde_json::json!(["still"]));
        server.shutdown().await;
    })
    .await
}

/// An rtwire client of `url` that does not reconnect.
async fn client_of(url: &str, options: Options) -> Connection {
    rtwire::connect(url, options.reconnect(Reconnect::disabled()))
        .await
        .unwrap()
}

/// The next message of an rtwire connection, skipping `Open`.
async fn next_text(conn: &mut Connection) -> String {
    loop {
        match conn.recv().await.expect("an event") {
            Event::Message(m) => return m.data.as_text().expect("text").to_string(),
            Event::Open(_) => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtwire_clients_send_over_sse_and_auto_falls_back_from_a_refused_upgrade() {
    guard(async {
        let ends = Arc::new(Mutex::new(Vec::new()));
        let mut opts = app(ends.clone());
        // Upgrades from another origin are refused: SSE is not.
        opts.allowed_origins = Some(vec!["http://good.example".into()]);
        let server = Server::start(opts).await.unwrap();
        let base = server.base_url();

        // SSE: the session event is acted on, not delivered; send() POSTs.
        let mut sse = client_of(
            &format!("{base}/chat?transport=sse"),
            Options::new().transport(Transport::Sse),
        )
        .await;
        sse.send("hello").await.unwrap();
        assert_eq!(next_text(&mut sse).await, "echo sse: hello");

        // auto on the route's http URL: WebSocket when the upgrade works...
        let mut ws = client_of(
            &format!("{base}/chat?room=x"),
            Options::new()
                .transport(Transport::Auto)
                .origin("http://good.example"),
        )
        .await;
        ws.send("via auto").await.unwrap();
        assert_eq!(next_text(&mut ws).await, "echo websocket: via auto");
        assert!(next_text(&mut sse).await.ends_with(": via auto"));

        // ...and SSE with POST up when it is refused.
        let mut fallback = client_of(
            &format!("{base}/chat?room=y"),
            Options::new()
                .transport(Transport::Auto)
                .origin("http://evil.example"),
        )
        .await;
        fallback.send("fell back").await.unwrap();
        assert_eq!(next_text(&mut fallback).await, "echo sse: fell back");
        assert!(next_text(&mut ws).await.ends_with(": fell back"));
        assert_eq!(fallback.open_info().transport, Transport::Sse);

        // NDJSON streaming and long polling with rtwire's clients: messages,
        // not lines; the session id rides on every poll; sends POST.
        for (query, transport, name) in [
            ("stream", Transport::Stream, "stream"),
            ("poll", Transport::LongPoll, "long_poll"),
        ] {
            let mut c = client_of(
                &format!("{base}/chat?transport={query}"),
                Options::new().transport(transport),
            )
            .await;
            c.send("hi").await.unwrap();
            assert_eq!(next_text(&mut c).await, format!("echo {name}: hi"));
            c.send("close").await.unwrap();
            let closed = until_closed(&mut c).await.1;
            assert_eq!(
                (closed.code, closed.reason.as_str()),
                (4000, "as asked"),
                "{name}"
            );
        }

        // The server's close reaches the SSE client with its code.
        sse.send("close").await.unwrap();
        let closed = until_closed(&mut sse).await.1;
        assert_eq!((closed.code, closed.reason.as_str()), (4000, "as asked"));
        server.shutdown().await;
    })
    .await
}
