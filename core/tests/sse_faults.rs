//! The SSE transport against scripted raw-TCP servers: truncated events,
//! endless lines, silent streams, line endings split across packets,
//! Content-Type parameters, and `Retry-After` on 503.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{guard, next_event, read_request_head};
use rtwire::{ErrorKind, Event, Options, Reconnect};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

const OK_HEAD: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n";

/// One scripted connection: the pieces to write (with a pause after each),
/// then whether to hold the connection open.
#[derive(Clone)]
struct Script {
    pieces: Vec<String>,
    hold: bool,
}

fn script(pieces: &[&str], hold: bool) -> Script {
    Script {
        pieces: pieces.iter().map(|s| s.to_string()).collect(),
        hold,
    }
}

/// Serves the scripts in order, one per connection; records request heads.
async fn serve(scripts: Vec<Script>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let h = heads.clone();
    tokio::spawn(async move {
        for s in scripts {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            let head = read_request_head(&mut tcp).await;
            h.lock().unwrap().push(head);
            tokio::spawn(async move { play(&mut tcp, s).await });
        }
    });
    (url, heads)
}

async fn play(tcp: &mut TcpStream, s: Script) {
    for p in &s.pieces {
        if tcp.write_all(p.as_bytes()).await.is_err() {
            return;
        }
        let _ = tcp.flush().await;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    if s.hold {
        tokio::time::sleep(Duration::from_secs(15)).await;
    }
}

fn quick() -> Reconnect {
    Reconnect::default()
        .initial_delay(Duration::from_millis(10))
        .max_delay(Duration::from_millis(50))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

async fn message(conn: &mut rtwire::Connection) -> rtwire::Message {
    loop {
        match next_event(conn).await {
            Event::Message(m) => return m,
            Event::Closed(c) => panic!("closed while waiting for a message: {c:?}"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn truncated_event_is_dropped_and_resume_uses_last_complete_id() {
    guard(async {
        let (url, heads) = serve(vec![
            script(
                &[OK_HEAD, "id: 1\ndata: a\n\n", "id: 2\ndata: partial"],
                false,
            ),
            script(&[OK_HEAD, "id: 3\ndata: c\n\n"], true),
        ])
        .await;
        let mut conn = rtwire::connect(&url, Options::new().reconnect(quick()))
            .await
            .unwrap();
        let a = message(&mut conn).await;
        assert_eq!((a.data.as_text(), a.id.as_deref()), (Some("a"), Some("1")));
        let c = message(&mut conn).await;
        assert_eq!((c.data.as_text(), c.id.as_deref()), (Some("c"), Some("3")));
        let heads = heads.lock().unwrap().clone();
        assert_eq!(header(&heads[0], "last-event-id"), None);
        assert_eq!(header(&heads[1], "last-event-id"), Some("1"));
        assert_eq!(header(&heads[1], "accept"), Some("text/event-stream"));
        assert_eq!(header(&heads[1], "cache-control"), Some("no-cache"));
    })
    .await;
}

#[tokio::test]
async fn endless_line_hits_the_limit_then_reconnects() {
    guard(async {
        let long = format!("data: {}", "x".repeat(64 * 1024));
        let (url, _) = serve(vec![
            script(&[OK_HEAD, &long, &long], true),
            script(&[OK_HEAD, "data: fine\n\n"], true),
        ])
        .await;
        let mut opts = Options::new().reconnect(quick());
        opts.http.max_line = 16 * 1024;
        let mut conn = rtwire::connect(&url, opts).await.unwrap();
        let mut cause = None;
        loop {
            match next_event(&mut conn).await {
                Event::Reconnecting { cause: c, .. } => cause = Some(c),
                Event::Message(m) => {
                    assert_eq!(m.data.as_text(), Some("fine"));
                    break;
                }
                Event::Closed(c) => panic!("closed: {c:?}"),
                _ => {}
            }
        }
        assert_eq!(
            cause.expect("a reconnect first").kind(),
            ErrorKind::TooLarge
        );
    })
    .await;
}

#[tokio::test]
async fn silent_stream_times_out_and_reconnects() {
    guard(async {
        let (url, _) = serve(vec![
            script(&[OK_HEAD], true),
            script(&[OK_HEAD, "data: back\n\n"], true),
        ])
        .await;
        let opts = Options::new()
            .reconnect(quick())
            .read_timeout(Duration::from_millis(300));
        let start = Instant::now();
        let mut conn = rtwire::connect(&url, opts).await.unwrap();
        let mut cause = None;
        loop {
            match next_event(&mut conn).await {
                Event::Reconnecting { cause: c, .. } => cause = Some(c),
                Event::Message(m) => {
                    assert_eq!(m.data.as_text(), Some("back"));
                    break;
                }
                Event::Closed(c) => panic!("closed: {c:?}"),
                _ => {}
            }
        }
        assert_eq!(cause.expect("reconnected").kind(), ErrorKind::Timeout);
        assert!(start.elapsed() < Duration::from_secs(5));
    })
    .await;
}

#[tokio::test]
async fn cr_and_lf_split_across_packets_are_one_line_break() {
    guard(async {
        let (url, _) = serve(vec![script(
            &[
                "HTTP/1.1 200 OK\r\nContent-Type: Text/Event-Stream; charset=utf-8\r\n\r\n",
                "\u{feff}data: a\r",
                "\ndata: b\r",
                "\n\r",
                "\ndata: c\n\n",
            ],
            true,
        )])
        .await;
        let mut conn = rtwire::connect(&url, Options::new().reconnect(quick()))
            .await
            .unwrap();
        assert_eq!(message(&mut conn).await.data.as_text(), Some("a\nb"));
        assert_eq!(message(&mut conn).await.data.as_text(), Some("c"));
    })
    .await;
}

#[tokio::test]
async fn server_error_with_retry_after_is_retried_only_when_asked() {
    guard(async {
        let unavailable =
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nbusy";
        let (url, _) = serve(vec![
            script(&[unavailable], false),
            script(&[OK_HEAD, "data: up\n\n"], true),
        ])
        .await;
        // Not asked: the 503 fails the connection.
        let err = rtwire::connect(&url, Options::new()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Handshake);
        assert_eq!(err.status(), Some(503));
        assert_eq!(err.body(), Some(&b"busy"[..]));

        let (url, _) = serve(vec![
            script(&[unavailable], false),
            script(&[OK_HEAD, "data: up\n\n"], true),
        ])
        .await;
        let mut opts = Options::new().reconnect(quick().retry_initial(true));
        opts.http.retry_server_errors = true;
        let start = Instant::now();
        let mut conn = rtwire::connect(&url, opts).await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(900),
            "Retry-After: 1 honoured"
        );
        assert_eq!(message(&mut conn).await.data.as_text(), Some("up"));
    })
    .await;
}
