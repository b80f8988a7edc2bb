//! SSE over HTTP/2: a server that speaks only h2 (ALPN) streams events to
//! the SSE transport.

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use common::tls::{acceptor, make_pki, TempFile};
use common::{expect_message, expect_open, guard};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use rtwire::{Options, Reconnect, Transport};

#[tokio::test]
async fn sse_streams_over_http2() {
    guard(async {
        let pki = make_pki("rtwire h2 test");
        let ca = TempFile::new("h2-ca", &pki.ca_pem);
        let mut tls = acceptor(&pki);
        // Only h2: a client that cannot speak HTTP/2 fails the handshake.
        let mut config = (**tls.config()).clone();
        config.alpn_protocols = vec![b"h2".to_vec()];
        tls = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let versions = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = versions.clone();
        tokio::spawn(async move {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let Ok(stream) = tls.accept(tcp).await else {
                return;
            };
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    seen.lock().unwrap().push(req.version());
                    async move {
                        let events = futures_util::stream::iter(
                            ["id: 1\ndata: over h2\n\n", "id: 2\ndata: still h2\n\n"].map(|s| {
                                Ok::<_, Infallible>(Frame::data(Bytes::from_static(s.as_bytes())))
                            }),
                        );
                        let mut resp =
                            hyper::Response::new(BodyExt::boxed(StreamBody::new(events)));
                        resp.headers_mut().insert(
                            hyper::header::CONTENT_TYPE,
                            hyper::header::HeaderValue::from_static("text/event-stream"),
                        );
                        Ok::<_, Infallible>(resp)
                    }
                });
            let _ = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
        let opts = Options::new()
            .transport(Transport::Sse)
            .ca_file(ca.path())
            .reconnect(Reconnect::disabled());
        let url = format!("https://127.0.0.1:{port}/events");
        let mut conn = rtwire::connect(&url, opts).await.unwrap();
        expect_open(&mut conn).await;
        assert_eq!(expect_message(&mut conn).await.as_text(), Some("over h2"));
        assert_eq!(expect_message(&mut conn).await.as_text(), Some("still h2"));
        assert_eq!(*versions.lock().unwrap(), vec![hyper::Version::HTTP_2]);
    })
    .await;
}
