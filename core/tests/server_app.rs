//! Application routes of the embedded server: each WebSocket client gets a
//! `Connection` of its own, handed to the route's handler. Driven by rtwire
//! clients and by bare tokio-tungstenite clients.

mod common;

use std::time::Duration;

use common::{guard, raw_ws};
use futures_util::{SinkExt, StreamExt};
use rtwire::server::{Request, Server, ServerOptions};
use rtwire::{Connection, Data, ErrorKind, Event, Options, Reconnect};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Sends every message back to its sender.
async fn echo(mut conn: Connection, _req: Request) {
    while let Some(event) = conn.recv().await {
        if let Event::Message(m) = event {
            if conn.send(m.data).await.is_err() {
                break;
            }
        }
    }
}

/// The status line of a plain `method /echo` request.
async fn status_of(addr: std::net::SocketAddr, method: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} /echo?token=s3cret HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

fn no_reconnect() -> Options {
    Options::new().reconnect(Reconnect::disabled())
}

async fn next_message(conn: &mut Connection) -> Data {
    loop {
        match conn.recv().await.expect("a message before the end") {
            Event::Message(m) => return m.data,
            Event::Open(_) => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_answers_each_client_only() {
    guard(async {
        let server = Server::start(ServerOptions::new().route("/echo", echo))
            .await
            .unwrap();
        let url = format!("ws://{}/echo", server.local_addr());
        let mut a = rtwire::connect(&url, no_reconnect()).await.unwrap();
        let mut b = raw_ws(&url).await;
        a.send("from a").await.unwrap();
        b.send(WsMessage::text("from b")).await.unwrap();
        b.send(WsMessage::binary(vec![0u8, 1, 2])).await.unwrap();
        assert_eq!(next_message(&mut a).await, Data::from("from a"));
        let got = b.next().await.unwrap().unwrap();
        assert_eq!(got.into_text().unwrap().as_str(), "from b");
        let got = b.next().await.unwrap().unwrap();
        assert_eq!(got.into_data().as_ref(), &[0u8, 1, 2]);
        // Nothing of b's reached a.
        assert!(
            tokio::time::timeout(Duration::from_millis(200), a.recv())
                .await
                .is_err(),
            "a got something meant for b"
        );
        // A large message both ways.
        let big = vec![7u8; 3 << 20];
        a.send(big.clone()).await.unwrap();
        assert_eq!(next_message(&mut a).await, Data::from(big));
        a.close(1000, "done").unwrap();
        loop {
            if let Some(Event::Closed(c)) = a.recv().await {
                assert_eq!((c.code, c.clean), (1000, true), "{c:?}");
                break;
            }
        }
        server.shutdown().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handler_sees_the_request_and_the_close() {
    guard(async {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let opts = ServerOptions::new().route_with_protocols(
            "/who",
            &["chat.v2", "chat.v1"],
            move |mut conn, req| {
                let tx = tx.clone();
                async move {
                    let name = req.query_param("name").unwrap_or_default();
                    let agent = req.header("x-agent").unwrap_or("").to_string();
                    let proto = req.protocol.clone().unwrap_or_default();
                    let _ = conn
                        .send(format!("{name}|{agent}|{proto}|{}", req.path))
                        .await;
                    while let Some(ev) = conn.recv().await {
                        if let Event::Closed(c) = ev {
                            let _ = tx.send(format!("closed {} {} {}", c.code, c.reason, c.clean));
                        }
                    }
                }
            },
        );
        let server = Server::start(opts).await.unwrap();
        let url = format!("ws://{}/who?name=ada%20l", server.local_addr());
        let mut c = rtwire::connect(
            &url,
            no_reconnect()
                .header("X-Agent", "probe")
                .subprotocol("chat.v1")
                .subprotocol("chat.v2"),
        )
        .await
        .unwrap();
        // The route's preference wins among what the client offers.
        assert_eq!(c.open_info().protocol.as_deref(), Some("chat.v2"));
        assert_eq!(
            next_message(&mut c).await,
            Data::from("ada l|probe|chat.v2|/who")
        );
        c.close(4000, "bye").unwrap();
        let line = rx.recv().await.unwrap();
        assert_eq!(line, "closed 4000 bye true");
        server.shutdown().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_route_connections_with_1001() {
    guard(async {
        let server = Server::start(ServerOptions::new().route("/echo", echo))
            .await
            .unwrap();
        let url = format!("ws://{}/echo", server.local_addr());
        let mut c = rtwire::connect(&url, no_reconnect()).await.unwrap();
        let mut raw = raw_ws(&url).await;
        c.send("x").await.unwrap();
        assert_eq!(next_message(&mut c).await, Data::from("x"));
        let stopping = tokio::spawn(server.shutdown());
        let code = loop {
            match c.recv().await {
                Some(Event::Closed(info)) => break info.code,
                Some(_) => {}
                None => panic!("no Closed event"),
            }
        };
        assert_eq!(code, 1001);
        let frame = loop {
            match raw.next().await {
                Some(Ok(WsMessage::Close(f))) => break f,
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        };
        assert_eq!(u16::from(frame.unwrap().code), 1001);
        stopping.await.unwrap();
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_take_the_token_and_refuse_other_methods_and_plain_requests() {
    guard(async {
        let server = Server::start(ServerOptions::new().token("s3cret").route("/echo", echo))
            .await
            .unwrap();
        let addr = server.local_addr();
        let err = rtwire::connect(&format!("ws://{addr}/echo"), no_reconnect())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Handshake, "{err:?}");
        assert_eq!(err.status(), Some(401));
        let mut c = rtwire::connect(
            &format!("ws://{addr}/echo"),
            no_reconnect().header("Authorization", "Bearer s3cret"),
        )
        .await
        .unwrap();
        c.send("ok").await.unwrap();
        assert_eq!(next_message(&mut c).await, Data::from("ok"));
        // A plain GET (no upgrade) is a 400, another method a 405.
        assert!(status_of(addr, "GET").await.starts_with("HTTP/1.1 400"));
        assert!(status_of(addr, "POST").await.starts_with("HTTP/1.1 405"));
        server.shutdown().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_message_closes_with_1009() {
    guard(async {
        let mut opts = ServerOptions::new().route("/echo", echo);
        opts.max_message_size = 1024;
        let server = Server::start(opts).await.unwrap();
        let url = format!("ws://{}/echo", server.local_addr());
        let mut raw = raw_ws(&url).await;
        raw.send(WsMessage::binary(vec![1u8; 4096])).await.unwrap();
        let frame = loop {
            match raw.next().await {
                Some(Ok(WsMessage::Close(f))) => break f,
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        };
        assert_eq!(u16::from(frame.unwrap().code), 1009);
        server.shutdown().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acceptance_hook_admits_refuses_and_attaches_the_user() {
    guard(async {
        let opts = ServerOptions::new()
            .accept(|req| async move {
                // It may take its time (a token service, a database).
                tokio::time::sleep(Duration::from_millis(20)).await;
                match req.query_param("token").as_deref() {
                    Some("t-ada") => Ok(rtwire::server::Accept::user("ada".to_string())),
                    Some("boom") => panic!("hook bug"),
                    Some(_) => Err(rtwire::server::Reject::new(403, "bad token")),
                    None => Err(rtwire::server::Reject::new(401, "token required")),
                }
            })
            .route("/me", |mut conn, req| async move {
                let who = req.user_as::<String>().cloned().unwrap_or_default();
                let _ = conn.send(format!("hello {who}")).await;
                while conn.recv().await.is_some() {}
            });
        let server = Server::start(opts).await.unwrap();
        let addr = server.local_addr();
        let mut c = rtwire::connect(&format!("ws://{addr}/me?token=t-ada"), no_reconnect())
            .await
            .unwrap();
        assert_eq!(next_message(&mut c).await, Data::from("hello ada"));
        for (q, status, body) in [("", 401, "token required"), ("?token=x", 403, "bad token")] {
            let err = rtwire::connect(&format!("ws://{addr}/me{q}"), no_reconnect())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Handshake, "{err:?}");
            assert_eq!(err.status(), Some(status));
            let got = String::from_utf8_lossy(err.body().unwrap()).to_string();
            assert_eq!(got, body);
        }
        // The built-in channel paths go through it too (SSE here).
        let err = rtwire::connect(
            &format!("http://{addr}/sse/news"),
            no_reconnect().transport(rtwire::Transport::Sse),
        )
        .await
        .unwrap_err();
        assert_eq!(err.status(), Some(401), "{err:?}");
        // A hook that panics refuses with 500; the server goes on.
        let err = rtwire::connect(&format!("ws://{addr}/me?token=boom"), no_reconnect())
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(500), "{err:?}");
        let mut c2 = rtwire::connect(&format!("ws://{addr}/me?token=t-ada"), no_reconnect())
            .await
            .unwrap();
        assert_eq!(next_message(&mut c2).await, Data::from("hello ada"));
        server.shutdown().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limits_get_503_and_the_others_go_on() {
    guard(async {
        let mut opts = ServerOptions::new().route("/echo", echo);
        opts.max_connections = 2;
        let server = Server::start(opts).await.unwrap();
        let url = format!("ws://{}/echo", server.local_addr());
        let mut a = rtwire::connect(&url, no_reconnect()).await.unwrap();
        let mut b = rtwire::connect(&url, no_reconnect()).await.unwrap();
        let err = rtwire::connect(&url, no_reconnect()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Handshake, "{err:?}");
        assert_eq!(err.status(), Some(503));
        assert!(err.is_retryable());
        for c in [&mut a, &mut b] {
            c.send("still here").await.unwrap();
            assert_eq!(next_message(c).await, Data::from("still here"));
        }
        drop(a);
        // The slot comes back once a connection is gone.
        let mut c = None;
        for _ in 0..50 {
            match rtwire::connect(&url, no_reconnect()).await {
                Ok(conn) => {
                    c = Some(conn);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        assert!(c.is_some(), "no slot after a connection closed");
        server.shutdown().await;

        let mut opts = ServerOptions::new().route("/echo", echo);
        opts.max_per_ip = Some(1);
        let server = Server::start(opts).await.unwrap();
        let url = format!("ws://{}/echo", server.local_addr());
        let _one = rtwire::connect(&url, no_reconnect()).await.unwrap();
        let err = rtwire::connect(&url, no_reconnect()).await.unwrap_err();
        assert_eq!(err.status(), Some(503), "{err:?}");
        server.shutdown().await;
    })
    .await
}

/// The whole answer to a plain `method path` request.
async fn raw_http(addr: std::net::SocketAddr, method: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_is_served_as_given_without_the_token() {
    guard(async {
        let opts = ServerOptions::new()
            .token("s3cret")
            .page("/", "text/html; charset=utf-8", "<p>hi</p>")
            .page("/", "text/html; charset=utf-8", "<p>second</p>")
            .route("/echo", echo);
        let server = Server::start(opts).await.unwrap();
        let addr = server.local_addr();
        let got = raw_http(addr, "GET", "/").await;
        assert!(got.starts_with("HTTP/1.1 200"), "{got}");
        assert!(got
            .to_ascii_lowercase()
            .contains("content-type: text/html; charset=utf-8"));
        assert!(got.ends_with("<p>second</p>"), "{got}");
        assert!(raw_http(addr, "POST", "/")
            .await
            .starts_with("HTTP/1.1 405"));
        // Everything else still wants the token.
        assert!(raw_http(addr, "GET", "/latest/x")
            .await
            .starts_with("HTTP/1.1 401"));
        server.shutdown().await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed_and_a_busy_one_stays() {
    guard(async {
        let opts = ServerOptions::new()
            .route("/echo", echo)
            .idle_timeout(Some(Duration::from_millis(400)));
        let server = Server::start(opts).await.unwrap();
        let url = format!("ws://{}/echo", server.local_addr());
        let started = tokio::time::Instant::now();
        let mut idle = raw_ws(&url).await;
        let mut busy = raw_ws(&url).await;
        // The busy one talks every 100 ms for 1.2 s: three idle periods.
        for i in 0..12 {
            busy.send(WsMessage::text(format!("{i}"))).await.unwrap();
            let got = busy.next().await.unwrap().unwrap();
            assert_eq!(got.into_text().unwrap().as_str(), format!("{i}"));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The idle one was closed with 1001 after 400 to 800 ms.
        let close = match idle.next().await.expect("a close frame").unwrap() {
            WsMessage::Close(c) => c.expect("a close code"),
            other => panic!("{other:?}"),
        };
        assert_eq!(u16::from(close.code), 1001);
        assert_eq!(close.reason.as_str(), "idle timeout");
        assert!(started.elapsed() >= Duration::from_millis(400));
        // The busy one is still open.
        busy.send(WsMessage::text("still")).await.unwrap();
        let got = busy.next().await.unwrap().unwrap();
        assert_eq!(got.into_text().unwrap().as_str(), "still");
        assert!(
            Server::start(ServerOptions::new().idle_timeout(Some(Duration::ZERO)))
                .await
                .is_err()
        );
        server.shutdown().await;
    })
    .await
}
