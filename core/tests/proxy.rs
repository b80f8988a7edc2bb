//! Proxies for every transport, against proxies written here: an HTTP
//! proxy (CONNECT and absolute-form forwarding, optional basic auth, over
//! TCP or TLS), a SOCKS5 proxy (no auth or username/password), scripted
//! misbehaving proxies, a WebSocket echo server, an SSE server and a wss
//! echo server with a throwaway CA. Everything listens on 127.0.0.1, serves
//! a bounded number of connections and stops by itself.
//!
//! The environment rules (`HTTPS_PROXY`, `NO_PROXY`, ...) are unit-tested on
//! the pure selection function in `src/proxy.rs`; nothing here sets process
//! environment variables.

mod common;

use common::tls::{acceptor, make_pki, Pki, TempFile};

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{expect_message, expect_open, guard, until_closed};
use futures_util::{SinkExt, StreamExt};
use rtwire::{ErrorKind, Options, Proxy, Transport};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

/// Upper bound on anything a test server waits for.
const LIMIT: Duration = Duration::from_secs(15);
/// Connections a test server accepts before it stops.
const MAX_CONNS: usize = 8;

/// A list shared between a test and its servers.
type Log = Arc<Mutex<Vec<String>>>;

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// Reads an HTTP request or response head (up to 16 KiB); returns it and
/// the bytes read after it.
async fn read_head<S: AsyncRead + Unpin>(s: &mut S) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(i + 4);
            return Some((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
        if buf.len() > 16 << 10 {
            return None;
        }
        let n = tokio::time::timeout(LIMIT, s.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The value of header `name` in a head, if present.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// Copies both ways until either side ends or [`LIMIT`] passes.
async fn splice<A, B>(mut a: A, mut b: B)
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let _ = tokio::time::timeout(LIMIT, tokio::io::copy_bidirectional(&mut a, &mut b)).await;
}

/// Serves up to [`MAX_CONNS`] connections with `handle`, each bounded by
/// [`LIMIT`]; returns the port.
async fn serve<F, Fut>(handle: F) -> u16
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        for _ in 0..MAX_CONNS {
            let Ok(Ok((tcp, _))) = tokio::time::timeout(LIMIT, l.accept()).await else {
                return;
            };
            tokio::spawn(tokio::time::timeout(LIMIT, handle(tcp)));
        }
    });
    port
}

// ---------------------------------------------------------------------------
// Targets

/// A WebSocket echo server; records each handshake's request headers as
/// `name: value` lines.
async fn ws_echo() -> (u16, Log) {
    let seen = log();
    let s = seen.clone();
    let port = serve(move |tcp| echo_ws(tcp, s.clone())).await;
    (port, seen)
}

async fn echo_ws<S: AsyncRead + AsyncWrite + Unpin>(stream: S, seen: Log) {
    // The callback's type is fixed by tungstenite.
    #[allow(clippy::result_large_err)]
    let record = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let lines: Vec<String> = req
            .headers()
            .iter()
            .map(|(k, v)| format!("{}: {}", k, String::from_utf8_lossy(v.as_bytes())))
            .collect();
        seen.lock().unwrap().push(lines.join("\r\n"));
        Ok(resp)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, record).await else {
        return;
    };
    while let Ok(Some(Ok(m))) = tokio::time::timeout(LIMIT, ws.next()).await {
        if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
            return;
        }
    }
}

/// An SSE server (raw TCP): answers every request with one event
/// `data: hello` and keeps the stream open; records each request head.
async fn sse_server() -> (u16, Log) {
    let seen = log();
    let s = seen.clone();
    let port = serve(move |mut tcp| {
        let seen = s.clone();
        async move {
            let Some((head, _)) = read_head(&mut tcp).await else {
                return;
            };
            seen.lock().unwrap().push(head);
            let answer = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                          Cache-Control: no-cache\r\n\r\ndata: hello\n\n";
            if tcp.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
            // Hold the stream until the client goes.
            let mut b = [0u8; 256];
            while let Ok(Ok(n)) = tokio::time::timeout(LIMIT, tcp.read(&mut b)).await {
                if n == 0 {
                    break;
                }
            }
        }
    })
    .await;
    (port, seen)
}

// ---------------------------------------------------------------------------
// Proxies

/// An HTTP proxy: `CONNECT host:port` tunnels, absolute-form requests
/// (`GET http://host:port/path`) are forwarded. With `auth`, requests
/// without `Proxy-Authorization: <auth>` get 407. Records each request head
/// as received.
struct HttpProxy {
    port: u16,
    seen: Log,
}

impl HttpProxy {
    async fn start(auth: Option<&'static str>, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let seen = log();
        let s = seen.clone();
        let port = serve(move |tcp| {
            let (seen, tls) = (s.clone(), tls.clone());
            async move {
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(tcp).await {
                            proxy_one(stream, auth, seen).await;
                        }
                    }
                    None => proxy_one(tcp, auth, seen).await,
                }
            }
        })
        .await;
        HttpProxy { port, seen }
    }

    fn heads(&self) -> Vec<String> {
        entries(&self.seen)
    }
}

async fn proxy_one<S: AsyncRead + AsyncWrite + Unpin>(
    mut client: S,
    auth: Option<&'static str>,
    seen: Log,
) {
    let Some((head, rest)) = read_head(&mut client).await else {
        return;
    };
    seen.lock().unwrap().push(head.clone());
    if let Some(want) = auth {
        if header(&head, "proxy-authorization") != Some(want) {
            let _ = client
                .write_all(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                      Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
                )
                .await;
            return;
        }
    }
    let request_line = head.lines().next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method == "CONNECT" {
        let Ok(mut upstream) = TcpStream::connect(target).await else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
            return;
        };
        if client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .is_err()
            || upstream.write_all(&rest).await.is_err()
        {
            return;
        }
        splice(client, upstream).await;
        return;
    }
    // Forwarding: `GET http://host:port/path HTTP/1.1`.
    let Some(after) = target.strip_prefix("http://") else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        return;
    };
    let (authority, path) = match after.find('/') {
        Some(i) => (&after[..i], &after[i..]),
        None => (after, "/"),
    };
    let Ok(mut upstream) = TcpStream::connect(authority).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    let mut out = format!("{method} {path} HTTP/1.1\r\n");
    for line in head.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        if name != "proxy-authorization" && name != "proxy-connection" {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    if upstream.write_all(out.as_bytes()).await.is_err() || upstream.write_all(&rest).await.is_err()
    {
        return;
    }
    splice(client, upstream).await;
}

/// A SOCKS5 proxy (RFC 1928; RFC 1929 when `auth` is set). Records each
/// request's destination as `ip <addr>:<port>` or `name <host>:<port>`.
/// Loopback addresses and `localhost` lead to 127.0.0.1, where the test
/// servers listen.
struct SocksProxy {
    port: u16,
    seen: Log,
}

impl SocksProxy {
    async fn start(auth: Option<(&'static str, &'static str)>) -> Self {
        let seen = log();
        let s = seen.clone();
        let port = serve(move |tcp| {
            let seen = s.clone();
            async move {
                let _ = socks_one(tcp, auth, seen).await;
            }
        })
        .await;
        SocksProxy { port, seen }
    }

    fn destinations(&self) -> Vec<String> {
        entries(&self.seen)
    }
}

async fn socks_one(mut c: TcpStream, auth: Option<(&str, &str)>, seen: Log) -> Option<()> {
    let mut g = [0u8; 2];
    c.read_exact(&mut g).await.ok()?;
    let mut methods = vec![0u8; usize::from(g[1])];
    c.read_exact(&mut methods).await.ok()?;
    if g[0] != 5 {
        return None;
    }
    match auth {
        None if methods.contains(&0) => c.write_all(&[5, 0]).await.ok()?,
        Some((user, pass)) if methods.contains(&2) => {
            c.write_all(&[5, 2]).await.ok()?;
            let mut v = [0u8; 2];
            c.read_exact(&mut v).await.ok()?;
            let mut u = vec![0u8; usize::from(v[1])];
            c.read_exact(&mut u).await.ok()?;
            let mut pl = [0u8; 1];
            c.read_exact(&mut pl).await.ok()?;
            let mut p = vec![0u8; usize::from(pl[0])];
            c.read_exact(&mut p).await.ok()?;
            let ok = u == user.as_bytes() && p == pass.as_bytes();
            c.write_all(&[1, if ok { 0 } else { 1 }]).await.ok()?;
            if !ok {
                return None;
            }
        }
        _ => {
            c.write_all(&[5, 0xff]).await.ok()?;
            return None;
        }
    }
    let mut r = [0u8; 4];
    c.read_exact(&mut r).await.ok()?;
    let (dest, loopback) = match r[3] {
        1 => {
            let mut a = [0u8; 4];
            c.read_exact(&mut a).await.ok()?;
            let ip = std::net::Ipv4Addr::from(a);
            (format!("ip {ip}"), ip.is_loopback())
        }
        4 => {
            let mut a = [0u8; 16];
            c.read_exact(&mut a).await.ok()?;
            let ip = std::net::Ipv6Addr::from(a);
            (format!("ip [{ip}]"), ip.is_loopback())
        }
        3 => {
            let mut l = [0u8; 1];
            c.read_exact(&mut l).await.ok()?;
            let mut n = vec![0u8; usize::from(l[0])];
            c.read_exact(&mut n).await.ok()?;
            let name = String::from_utf8_lossy(&n).into_owned();
            let lo = name == "localhost";
            (format!("name {name}"), lo)
        }
        _ => return None,
    };
    let mut p = [0u8; 2];
    c.read_exact(&mut p).await.ok()?;
    let port = u16::from_be_bytes(p);
    seen.lock().unwrap().push(format!("{dest}:{port}"));
    let upstream = if loopback {
        TcpStream::connect(("127.0.0.1", port)).await.ok()
    } else {
        None
    };
    let Some(upstream) = upstream else {
        // Host unreachable.
        c.write_all(&[5, 4, 0, 1, 0, 0, 0, 0, 0, 0]).await.ok()?;
        return None;
    };
    c.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).await.ok()?;
    splice(c, upstream).await;
    Some(())
}

/// A proxy that reads the CONNECT request, writes `answer`, then closes
/// (or, with `hold`, keeps the connection open without a word more).
/// Resolves to the request head it read.
async fn scripted_proxy(
    answer: &'static [u8],
    hold: bool,
) -> (u16, tokio::task::JoinHandle<Option<String>>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (mut tcp, _) = tokio::time::timeout(LIMIT, l.accept()).await.ok()?.ok()?;
        let (head, _) = read_head(&mut tcp).await?;
        tcp.write_all(answer).await.ok()?;
        if hold {
            let mut b = [0u8; 256];
            while let Ok(Ok(n)) = tokio::time::timeout(LIMIT, tcp.read(&mut b)).await {
                if n == 0 {
                    break;
                }
            }
        }
        Some(head)
    });
    (port, task)
}

fn via(url: String) -> Options {
    Options::new().proxy(Proxy::Url(url))
}

/// Opens `url`, checks an echo round trip and a clean close.
async fn echo_round_trip(url: &str, options: Options) {
    let mut conn = rtwire::connect(url, options).await.expect("connect");
    let info = expect_open(&mut conn).await;
    assert_eq!(info.url, url);
    conn.send("through the proxy").await.unwrap();
    assert_eq!(
        expect_message(&mut conn).await.as_text(),
        Some("through the proxy")
    );
    conn.send(vec![7u8, 0, 255]).await.unwrap();
    assert_eq!(expect_message(&mut conn).await.as_bytes(), &[7, 0, 255]);
    conn.close(1000, "").unwrap();
    let (events, info) = until_closed(&mut conn).await;
    assert!(events.is_empty(), "{events:?}");
    assert_eq!((info.code, info.clean), (1000, true));
}

/// Opens an SSE stream and expects the one `hello` event.
async fn sse_hello(url: &str, options: Options) {
    let mut conn = rtwire::connect(url, options.transport(Transport::Sse))
        .await
        .expect("connect");
    expect_open(&mut conn).await;
    assert_eq!(expect_message(&mut conn).await.as_text(), Some("hello"));
    conn.close(1000, "").unwrap();
    until_closed(&mut conn).await;
}

// ---------------------------------------------------------------------------
// WebSocket through an HTTP CONNECT proxy

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_through_connect_proxy() {
    guard(async {
        let (wp, target_seen) = ws_echo().await;
        let proxy = HttpProxy::start(None, None).await;
        let url = format!("ws://127.0.0.1:{wp}/chat?room=1");
        echo_round_trip(&url, via(format!("http://127.0.0.1:{}", proxy.port))).await;
        let heads = proxy.heads();
        assert_eq!(heads.len(), 1, "{heads:?}");
        assert!(
            heads[0].starts_with(&format!(
                "CONNECT 127.0.0.1:{wp} HTTP/1.1\r\nHost: 127.0.0.1:{wp}\r\n"
            )),
            "{heads:?}"
        );
        assert_eq!(header(&heads[0], "proxy-authorization"), None);
        // The WebSocket request itself went to the target, not the proxy.
        let target = entries(&target_seen);
        assert_eq!(target.len(), 1, "{target:?}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_through_connect_proxy_with_basic_auth() {
    guard(async {
        let (wp, target_seen) = ws_echo().await;
        // base64("user:p@ss word")
        let want = "Basic dXNlcjpwQHNzIHdvcmQ=";
        let proxy = HttpProxy::start(Some(want), None).await;
        let url = format!("ws://127.0.0.1:{wp}/");
        let options = via(format!(
            "http://user:p%40ss%20word@127.0.0.1:{}",
            proxy.port
        ))
        .header("Authorization", "Bearer for-the-target");
        echo_round_trip(&url, options).await;
        let heads = proxy.heads();
        assert_eq!(header(&heads[0], "proxy-authorization"), Some(want));
        // The proxy saw CONNECT only, never the target's own headers.
        assert_eq!(header(&heads[0], "authorization"), None, "{heads:?}");
        let target = entries(&target_seen);
        assert_eq!(target.len(), 1);
        let lower = target[0].to_ascii_lowercase();
        assert!(!lower.contains("proxy-authorization"), "{target:?}");
        assert!(!target[0].contains("dXNlcjpwQHNzIHdvcmQ="), "{target:?}");
        assert!(
            lower.contains("authorization: bearer for-the-target"),
            "{target:?}"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_proxy_auth_missing_or_refused_is_a_407_connect_error() {
    guard(async {
        let (wp, target_seen) = ws_echo().await;
        let proxy = HttpProxy::start(Some("Basic dXNlcjpwYXNz"), None).await;
        let url = format!("ws://127.0.0.1:{wp}/");

        let err = rtwire::connect(&url, via(format!("http://127.0.0.1:{}", proxy.port)))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
        let msg = err.message();
        assert!(
            msg.contains("407") && msg.contains("proxy authentication"),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("http://127.0.0.1:{}", proxy.port)),
            "{msg}"
        );
        assert_eq!(err.status(), Some(407));
        assert!(!err.is_retryable());

        let err = rtwire::connect(
            &url,
            via(format!("http://user:s3cr3t-wrong@127.0.0.1:{}", proxy.port)),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
        assert!(err.message().contains("407"), "{err}");
        assert!(err.message().contains("refused"), "{err}");
        assert!(!format!("{err} {err:?}").contains("s3cr3t"), "{err:?}");

        assert_eq!(proxy.heads().len(), 2);
        assert!(entries(&target_seen).is_empty(), "the target was reached");
    })
    .await
}

// ---------------------------------------------------------------------------
// WebSocket through SOCKS5

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_through_socks5_resolves_locally() {
    guard(async {
        let (wp, _) = ws_echo().await;
        let proxy = SocksProxy::start(None).await;
        let url = format!("ws://localhost:{wp}/s");
        echo_round_trip(&url, via(format!("socks5://127.0.0.1:{}", proxy.port))).await;
        let dest = proxy.destinations();
        assert_eq!(dest.len(), 1, "{dest:?}");
        // socks5:// sends an address, never the name.
        assert!(
            dest[0] == format!("ip 127.0.0.1:{wp}") || dest[0] == format!("ip [::1]:{wp}"),
            "{dest:?}"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_through_socks5h_sends_the_name() {
    guard(async {
        let (wp, _) = ws_echo().await;
        let proxy = SocksProxy::start(None).await;
        let url = format!("ws://localhost:{wp}/s");
        echo_round_trip(&url, via(format!("socks5h://127.0.0.1:{}", proxy.port))).await;
        assert_eq!(proxy.destinations(), vec![format!("name localhost:{wp}")]);
        // An IP target is sent as an address even with socks5h.
        let url = format!("ws://127.0.0.1:{wp}/s");
        echo_round_trip(&url, via(format!("socks5h://127.0.0.1:{}", proxy.port))).await;
        assert_eq!(proxy.destinations()[1], format!("ip 127.0.0.1:{wp}"));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_through_socks5_with_username_and_password() {
    guard(async {
        let (wp, _) = ws_echo().await;
        let proxy = SocksProxy::start(Some(("alice", "s3cr3t"))).await;
        let url = format!("ws://127.0.0.1:{wp}/");
        echo_round_trip(
            &url,
            via(format!("socks5h://alice:s3cr3t@127.0.0.1:{}", proxy.port)),
        )
        .await;

        let err = rtwire::connect(
            &url,
            via(format!("socks5://alice:wrong-pw@127.0.0.1:{}", proxy.port)),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
        assert!(err.message().contains("authentication failed"), "{err}");
        assert!(!format!("{err} {err:?}").contains("wrong-pw"), "{err:?}");

        let err = rtwire::connect(&url, via(format!("socks5://127.0.0.1:{}", proxy.port)))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
        assert!(err.message().contains("requires authentication"), "{err}");
        assert_eq!(proxy.destinations().len(), 1);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socks5_reply_codes_become_connect_errors() {
    guard(async {
        let proxy = SocksProxy::start(None).await;
        // The test proxy answers "host unreachable" for anything but loopback.
        let err = rtwire::connect(
            "ws://192.0.2.1:9/",
            via(format!("socks5://127.0.0.1:{}", proxy.port)),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
        let msg = err.message();
        assert!(
            msg.contains("host unreachable") && msg.contains("192.0.2.1:9"),
            "{msg}"
        );
        assert!(
            msg.contains(&format!("socks5://127.0.0.1:{}", proxy.port)),
            "{msg}"
        );
    })
    .await
}

// ---------------------------------------------------------------------------
// Proxy::Disabled, unreachable and misbehaving proxies

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_disabled_connects_directly() {
    guard(async {
        let (wp, seen) = ws_echo().await;
        let url = format!("ws://127.0.0.1:{wp}/direct");
        echo_round_trip(&url, Options::new().proxy(Proxy::Disabled)).await;
        assert_eq!(entries(&seen).len(), 1);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_proxy_is_a_connect_error_naming_it() {
    guard(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let err = rtwire::connect(
            "ws://127.0.0.1:9/",
            via(format!("http://user:hunter2@127.0.0.1:{port}")),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
        assert!(
            err.message().contains(&format!(
                "proxy http://127.0.0.1:{port}: cannot reach the proxy"
            )),
            "{err}"
        );
        assert!(!format!("{err} {err:?}").contains("hunter2"));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_proxy_url_fails_before_io() {
    guard(async {
        for (bad, secret) in [
            ("ftp://u:hunter2@127.0.0.1:1", "hunter2"),
            ("http://:1", ""),
            ("socks4://127.0.0.1:1", ""),
        ] {
            for transport in [Transport::WebSocket, Transport::Sse] {
                let url = match transport {
                    Transport::WebSocket => "ws://127.0.0.1:9/",
                    _ => "http://127.0.0.1:9/",
                };
                let err = rtwire::connect(url, via(bad.into()).transport(transport))
                    .await
                    .unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad}: {err:?}");
                if !secret.is_empty() {
                    assert!(!err.message().contains(secret), "{err}");
                }
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_answering_403_is_a_connect_error_with_the_status() {
    guard(async {
        let (pp, task) = scripted_proxy(
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
            false,
        )
        .await;
        let err = rtwire::connect("ws://127.0.0.1:9/", via(format!("http://127.0.0.1:{pp}")))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
        assert!(err.message().contains("403 Forbidden"), "{err}");
        assert_eq!(err.status(), Some(403));
        let head = task.await.unwrap().expect("the proxy got a request");
        assert!(
            head.starts_with("CONNECT 127.0.0.1:9 HTTP/1.1\r\n"),
            "{head}"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_answering_garbage_is_a_connect_error() {
    guard(async {
        for answer in [
            &b"SSH-2.0-OpenSSH_9.6\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\n\x00\x01\x02 junk\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno-colon-here\r\n\r\n",
        ] {
            let (pp, _task) = scripted_proxy(answer, false).await;
            let err = rtwire::connect("ws://127.0.0.1:9/", via(format!("http://127.0.0.1:{pp}")))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
            assert!(err.message().contains("invalid answer to CONNECT"), "{err}");
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_200_then_garbage_fails_the_websocket_handshake() {
    guard(async {
        // The tunnel is up; what follows is not a WebSocket server.
        let (pp, _task) = scripted_proxy(
            b"HTTP/1.1 200 OK\r\n\r\n\x16\x03\x01 not http at all\r\n\r\n",
            false,
        )
        .await;
        let err = rtwire::connect("ws://127.0.0.1:9/", via(format!("http://127.0.0.1:{pp}")))
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Handshake | ErrorKind::Io),
            "{err:?}"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_200_then_eof() {
    guard(async {
        // EOF in the middle of the answer: the proxy's fault.
        let (pp, _task) = scripted_proxy(b"HTTP/1.1 200 OK\r\nVia: x\r\n", false).await;
        let err = rtwire::connect("ws://127.0.0.1:9/", via(format!("http://127.0.0.1:{pp}")))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
        assert!(err.message().contains("closed the connection"), "{err}");
        // EOF right after a complete 200: the tunnel closed before the
        // WebSocket handshake.
        let (pp, _task) = scripted_proxy(b"HTTP/1.1 200 OK\r\n\r\n", false).await;
        let err = rtwire::connect("ws://127.0.0.1:9/", via(format!("http://127.0.0.1:{pp}")))
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Handshake | ErrorKind::Io),
            "{err:?}"
        );
        // No answer at all.
        let (pp, _task) = scripted_proxy(b"", false).await;
        let err = rtwire::connect("ws://127.0.0.1:9/", via(format!("http://127.0.0.1:{pp}")))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Connect, "{err:?}");
        assert!(err.message().contains("without answering"), "{err}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_proxy_times_out_within_open_timeout() {
    guard(async {
        let (pp, task) = scripted_proxy(b"", true).await;
        let open_timeout = Duration::from_millis(500);
        let started = Instant::now();
        let err = rtwire::connect(
            "ws://127.0.0.1:9/",
            via(format!("http://127.0.0.1:{pp}")).open_timeout(open_timeout),
        )
        .await
        .unwrap_err();
        let took = started.elapsed();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
        assert!(took >= open_timeout, "{took:?}");
        assert!(took < open_timeout + Duration::from_secs(2), "{took:?}");
        // The proxy sees the connection go away.
        let head = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the connection was closed")
            .unwrap();
        assert!(head.is_some());
    })
    .await
}

// ---------------------------------------------------------------------------
// SSE (reqwest) through the same proxies

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_through_http_proxy() {
    guard(async {
        let (sp, target_seen) = sse_server().await;
        let want = "Basic dXNlcjpwYXNz"; // user:pass
        let proxy = HttpProxy::start(Some(want), None).await;
        let url = format!("http://127.0.0.1:{sp}/events");
        sse_hello(
            &url,
            via(format!("http://user:pass@127.0.0.1:{}", proxy.port)),
        )
        .await;
        let heads = proxy.heads();
        assert!(!heads.is_empty());
        // An http:// URL is forwarded in absolute form (no tunnel needed).
        assert!(
            heads[0].starts_with(&format!("GET http://127.0.0.1:{sp}/events HTTP/1.1\r\n")),
            "{heads:?}"
        );
        assert_eq!(header(&heads[0], "proxy-authorization"), Some(want));
        let target = entries(&target_seen);
        assert_eq!(target.len(), 1, "{target:?}");
        assert!(
            target[0].starts_with("GET /events HTTP/1.1\r\n"),
            "{target:?}"
        );
        assert_eq!(
            header(&target[0], "proxy-authorization"),
            None,
            "{target:?}"
        );
        assert_eq!(header(&target[0], "accept"), Some("text/event-stream"));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_through_http_proxy_without_credentials_fails() {
    guard(async {
        let (sp, target_seen) = sse_server().await;
        let proxy = HttpProxy::start(Some("Basic dXNlcjpwYXNz"), None).await;
        let url = format!("http://127.0.0.1:{sp}/events");
        let err = rtwire::connect(
            &url,
            via(format!("http://127.0.0.1:{}", proxy.port)).transport(Transport::Sse),
        )
        .await
        .unwrap_err();
        assert_eq!(err.status(), Some(407), "{err:?}");
        assert!(entries(&target_seen).is_empty());
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_through_socks5_and_socks5h() {
    guard(async {
        let (sp, target_seen) = sse_server().await;
        let proxy = SocksProxy::start(Some(("u", "p"))).await;
        let url = format!("http://localhost:{sp}/events");
        sse_hello(&url, via(format!("socks5h://u:p@127.0.0.1:{}", proxy.port))).await;
        sse_hello(&url, via(format!("socks5://u:p@127.0.0.1:{}", proxy.port))).await;
        let dest = proxy.destinations();
        assert_eq!(dest.len(), 2, "{dest:?}");
        assert_eq!(dest[0], format!("name localhost:{sp}"));
        assert!(dest[1].starts_with("ip "), "{dest:?}");
        assert_eq!(entries(&target_seen).len(), 2);
    })
    .await
}

// ---------------------------------------------------------------------------
// wss through CONNECT, and through an HTTPS proxy (TLS inside TLS)

async fn wss_echo(pki: &Pki) -> (u16, Log) {
    let acceptor = acceptor(pki);
    let seen = log();
    let s = seen.clone();
    let port = serve(move |tcp| {
        let (acceptor, seen) = (acceptor.clone(), s.clone());
        async move {
            if let Ok(tls) = acceptor.accept(tcp).await {
                echo_ws(tls, seen).await;
            }
        }
    })
    .await;
    (port, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_through_connect_proxy() {
    guard(async {
        let pki = make_pki("rtwire proxy test");
        let ca = TempFile::new("proxy-ca", &pki.ca_pem);
        let (wp, target_seen) = wss_echo(&pki).await;
        let proxy = HttpProxy::start(None, None).await;
        let url = format!("wss://127.0.0.1:{wp}/secure");
        echo_round_trip(
            &url,
            via(format!("http://127.0.0.1:{}", proxy.port)).ca_file(ca.path()),
        )
        .await;
        let heads = proxy.heads();
        assert!(heads[0].starts_with(&format!("CONNECT 127.0.0.1:{wp} HTTP/1.1\r\n")));
        assert_eq!(entries(&target_seen).len(), 1);

        // The target's certificate is still checked through the tunnel.
        let err = rtwire::connect(&url, via(format!("http://127.0.0.1:{}", proxy.port)))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Tls, "{err:?}");
        assert!(err.message().contains("through proxy"), "{err}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_and_wss_through_https_proxy() {
    guard(async {
        let pki = make_pki("rtwire proxy test");
        let ca = TempFile::new("proxy-ca", &pki.ca_pem);
        let (wsp, _) = ws_echo().await;
        let (wssp, _) = wss_echo(&pki).await;
        let want = "Basic dXNlcjpwYXNz"; // user:pass
        let proxy = HttpProxy::start(Some(want), Some(acceptor(&pki))).await;
        let options = via(format!("https://user:pass@127.0.0.1:{}", proxy.port)).ca_file(ca.path());
        echo_round_trip(&format!("ws://127.0.0.1:{wsp}/plain"), options.clone()).await;
        echo_round_trip(&format!("wss://127.0.0.1:{wssp}/nested"), options).await;
        let heads = proxy.heads();
        assert_eq!(heads.len(), 2, "{heads:?}");
        assert!(heads[0].starts_with(&format!("CONNECT 127.0.0.1:{wsp} ")));
        assert!(heads[1].starts_with(&format!("CONNECT 127.0.0.1:{wssp} ")));
        assert_eq!(header(&heads[1], "proxy-authorization"), Some(want));

        // An untrusted proxy certificate is a TLS error naming the proxy.
        let err = rtwire::connect(
            &format!("ws://127.0.0.1:{wsp}/"),
            via(format!("https://127.0.0.1:{}", proxy.port)),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Tls, "{err:?}");
        assert!(
            err.message()
                .contains(&format!("proxy https://127.0.0.1:{}", proxy.port)),
            "{err}"
        );
    })
    .await
}
