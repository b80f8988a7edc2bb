//! `wss://` against a tokio-rustls + tokio-tungstenite echo server with a
//! certificate from a throwaway CA made with rcgen, and plain `ws://` over
//! IPv6 loopback.

mod common;

use std::time::Duration;

use common::tls::{acceptor, make_pki, Pki, TempFile};
use common::{expect_message, expect_open, guard, until_closed};
use futures_util::{SinkExt, StreamExt};
use rtwire::{ErrorKind, Options};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

const SERVER_LIMIT: Duration = Duration::from_secs(15);

/// Echoes WebSocket messages on an accepted stream until it ends.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(stream: S) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    while let Ok(Some(Ok(m))) = tokio::time::timeout(SERVER_LIMIT, ws.next()).await {
        if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
            return;
        }
    }
}

/// A wss echo server on 127.0.0.1 for up to `conns` connections. Failed
/// TLS handshakes (an untrusting client) count and are ignored.
async fn wss_echo_server(pki: &Pki, conns: usize) -> u16 {
    let acceptor = acceptor(pki);
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        for _ in 0..conns {
            let Ok(Ok((tcp, _))) = tokio::time::timeout(SERVER_LIMIT, l.accept()).await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(Ok(tls)) = tokio::time::timeout(SERVER_LIMIT, acceptor.accept(tcp)).await
                {
                    echo(tls).await;
                }
            });
        }
    });
    port
}

async fn echo_round_trip(url: &str, options: Options) {
    let mut conn = rtwire::connect(url, options).await.expect("connect");
    let info = expect_open(&mut conn).await;
    assert_eq!(info.url, url);
    conn.send("over tls").await.unwrap();
    assert_eq!(expect_message(&mut conn).await.as_text(), Some("over tls"));
    conn.send(vec![0u8, 1, 2]).await.unwrap();
    assert_eq!(expect_message(&mut conn).await.as_bytes(), &[0, 1, 2]);
    conn.close(1000, "").unwrap();
    let (events, info) = until_closed(&mut conn).await;
    assert!(events.is_empty(), "{events:?}");
    assert_eq!((info.code, info.clean), (1000, true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_trusted_through_ca_file() {
    guard(async {
        let pki = make_pki("rtwire test");
        let ca = TempFile::new("ca", &pki.ca_pem);
        let port = wss_echo_server(&pki, 1).await;
        let url = format!("wss://127.0.0.1:{port}/echo");
        echo_round_trip(&url, Options::new().ca_file(ca.path())).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_untrusted_certificate_is_a_tls_error() {
    guard(async {
        let pki = make_pki("rtwire test");
        let port = wss_echo_server(&pki, 2).await;
        let url = format!("wss://127.0.0.1:{port}/echo");
        // System roots do not know the throwaway CA.
        let err = rtwire::connect(&url, Options::new()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Tls, "{err:?}");
        assert!(!err.is_retryable());
        // Nor does a different CA.
        let other = make_pki("rtwire test");
        let wrong_ca = TempFile::new("wrong-ca", &other.ca_pem);
        let err = rtwire::connect(&url, Options::new().ca_file(wrong_ca.path()))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Tls, "{err:?}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_insecure_accepts_any_certificate() {
    guard(async {
        let pki = make_pki("rtwire test");
        let port = wss_echo_server(&pki, 1).await;
        let url = format!("wss://127.0.0.1:{port}/echo");
        echo_round_trip(&url, Options::new().insecure(true)).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_ca_file_is_a_tls_error_before_io() {
    guard(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let url = format!("wss://127.0.0.1:{port}/");
        let missing =
            std::env::temp_dir().join(format!("rtwire-test-missing-{}-ca.pem", std::process::id()));
        let err = rtwire::connect(&url, Options::new().ca_file(&missing))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Tls, "{err:?}");
        assert!(
            err.message().contains(&missing.display().to_string()),
            "{err}"
        );
        let not_pem = TempFile::new("not-pem", "this is not a certificate\n");
        let err = rtwire::connect(&url, Options::new().ca_file(not_pem.path()))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Tls, "{err:?}");
        let none = tokio::time::timeout(Duration::from_millis(300), l.accept()).await;
        assert!(none.is_err(), "a connection was made: {none:?}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_over_ipv6_loopback() {
    guard(async {
        let l = match TcpListener::bind("[::1]:0").await {
            Ok(l) => l,
            Err(e) => {
                println!("skipping ws_over_ipv6_loopback: cannot bind [::1]: {e}");
                return;
            }
        };
        let port = l.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let Ok(Ok((tcp, peer))) = tokio::time::timeout(SERVER_LIMIT, l.accept()).await else {
                return None;
            };
            echo(tcp).await;
            Some(peer)
        });
        let url = format!("ws://[::1]:{port}/v6");
        let mut conn = rtwire::connect(&url, Options::new()).await.unwrap();
        let info = expect_open(&mut conn).await;
        assert_eq!(info.url, url);
        conn.send("v6").await.unwrap();
        assert_eq!(expect_message(&mut conn).await.as_text(), Some("v6"));
        conn.close(1000, "").unwrap();
        let (_, info) = until_closed(&mut conn).await;
        assert_eq!((info.code, info.clean), (1000, true));
        let peer = tokio::time::timeout(SERVER_LIMIT, server)
            .await
            .unwrap()
            .unwrap()
            .expect("the server accepted");
        assert!(peer.is_ipv6(), "{peer}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_trusted_through_ca_pem_text() {
    guard(async {
        let pki = make_pki("rtwire test");
        let port = wss_echo_server(&pki, 2).await;
        let url = format!("wss://127.0.0.1:{port}/echo");
        echo_round_trip(&url, Options::new().ca_pem(pki.ca_pem.clone())).await;
        // Another CA's PEM text: refused like another CA's file.
        let other = make_pki("rtwire test");
        let err = rtwire::connect(&url, Options::new().ca_pem(other.ca_pem.clone()))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Tls, "{err:?}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ca_pem_text_is_refused_before_io() {
    guard(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let url = format!("wss://127.0.0.1:{port}/");
        // Not PEM at all: refused by the option's rule, as in every binding.
        let err = rtwire::connect(&url, Options::new().ca_pem("not a certificate"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err:?}");
        assert!(err.message().contains("PEM text"), "{err}");
        // PEM framing around no certificate: refused when TLS is set up.
        let err = rtwire::connect(
            &url,
            Options::new().ca_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Tls, "{err:?}");
        let pki = make_pki("rtwire test");
        let ca = TempFile::new("ca-both", &pki.ca_pem);
        let err = rtwire::connect(
            &url,
            Options::new().ca_file(ca.path()).ca_pem(pki.ca_pem.clone()),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err:?}");
    })
    .await
}
