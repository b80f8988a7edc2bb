//! `Mount`: rtwire's endpoints inside a hyper server of the application's
//! own, next to its own paths: a WebSocket route with rooms, SSE and
//! publishing on the host's port, and a shutdown that ends only the mount.

mod common;

use std::convert::Infallible;
use std::time::Duration;

use common::guard;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rtwire::server::{Mount, ServerOptions};
use rtwire::{Event, Options, Reconnect, Transport};

/// A host server: `/host` is its own, everything else goes to `mount`.
async fn host(mount: Mount) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                return;
            };
            let mount = mount.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let mount = mount.clone();
                        async move {
                            if req.uri().path() == "/host" {
                                let body = Full::new(bytes::Bytes::from_static(b"the host's own"))
                                    .map_err(|never| match never {})
                                    .boxed();
                                return Ok::<_, Infallible>(hyper::Response::new(body));
                            }
                            Ok(mount.handle(req, peer).await)
                        }
                    },
                );
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection_with_upgrades(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    addr
}

fn no_reconnect() -> Options {
    Options::new().reconnect(Reconnect::disabled())
}

async fn next_text(conn: &mut rtwire::Connection) -> String {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), conn.recv())
            .await
            .expect("an event within 10 s")
            .expect("open")
        {
            Event::Message(m) => return m.data.as_text().expect("text").to_string(),
            Event::Open(_) => {}
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mount_serves_routes_rooms_and_channels_on_the_hosts_port() {
    guard(async {
        let mount = Mount::new(
            ServerOptions::new().route("/chat", |mut conn, req| async move {
                req.join("all");
                let rooms = req.rooms();
                while let Some(ev) = conn.recv().await {
                    if let Event::Message(m) = ev {
                        rooms.to("all").except(req.id).send(m.data);
                    }
                }
            }),
        )
        .unwrap();
        let addr = host(mount.clone()).await;
        let own = raw_get(addr, "/host").await;
        assert!(own.ends_with("the host's own"), "{own}");

        let url = format!("ws://{addr}/chat");
        let mut a = rtwire::connect(&url, no_reconnect()).await.unwrap();
        let mut b = rtwire::connect(&url, no_reconnect()).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while mount.rooms().members("all").len() < 2 {
            assert!(tokio::time::Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        a.send("from a").await.unwrap();
        assert_eq!(next_text(&mut b).await, "from a");

        let sse_url = format!("http://{addr}/sse/news");
        let mut sse = rtwire::connect(&sse_url, no_reconnect().transport(Transport::Sse))
            .await
            .unwrap();
        // The SSE response is open once connect returned; publish reaches it.
        mount.publish("news", "extra").unwrap();
        assert_eq!(next_text(&mut sse).await, "extra");

        // Shutdown ends the mount's sessions with 1001, not the host.
        mount.shutdown();
        let closed = loop {
            match tokio::time::timeout(Duration::from_secs(10), a.recv())
                .await
                .unwrap()
            {
                Some(Event::Closed(c)) => break c,
                Some(_) => {}
                None => panic!("ended without Closed"),
            }
        };
        assert_eq!(closed.code, 1001);
        assert!(raw_get(addr, "/host").await.ends_with("the host's own"));
        assert!(raw_get(addr, "/latest/news")
            .await
            .starts_with("HTTP/1.1 503"));
        assert!(Mount::new(ServerOptions::new().tls("a.pem", "b.pem")).is_err());
        drop(b);
    })
    .await
}

/// The whole answer to `GET path`.
async fn raw_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}
