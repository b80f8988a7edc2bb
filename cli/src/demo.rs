//! `rtwire demo`: the embedded server on a free loopback port, one client per
//! transport (WebSocket, SSE, long polling, short polling, NDJSON streaming,
//! and `auto` behind a proxy that refuses WebSocket), messages published and
//! sent, one cut of every connection, and a check that every client resumed
//! with nothing lost or repeated. Exits 0 when all checks pass.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtwire::server::{Server, ServerOptions};
use rtwire::{Cursor, CursorFrom, Event, Framing, Options, Reconnect, Sender, Transport};

use crate::refusing_proxy;

/// Arguments of `rtwire demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Messages published before and again after the cut.
    #[arg(long, default_value_t = 6)]
    messages: usize,
}

/// What one demo client has seen.
#[derive(Debug, Default)]
struct Seen {
    transport: String,
    received: Vec<String>,
    opens: u32,
    reconnects: u32,
    closed: bool,
}

struct Client {
    name: &'static str,
    /// Short polling shows the latest state: it may skip messages.
    latest_only: bool,
    seen: Arc<Mutex<Seen>>,
    sender: Sender,
    conn_close: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

fn log(start: Instant, who: &str, what: impl std::fmt::Display) {
    println!("{:>7.3}s  {who:<10} {what}", start.elapsed().as_secs_f64());
}

fn payload(m: &rtwire::Message, ndjson: bool) -> String {
    let text = m.data.as_text().unwrap_or("<binary>");
    if ndjson {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            return v["data"].as_str().unwrap_or(text).to_string();
        }
    }
    text.to_string()
}

async fn client(
    start: Instant,
    name: &'static str,
    url: String,
    opts: Options,
    latest_only: bool,
) -> Result<Client, String> {
    let ndjson = opts.http.framing == Framing::Ndjson && opts.transport == Transport::Stream;
    let mut conn = rtwire::connect(&url, opts)
        .await
        .map_err(|e| format!("{name}: {e}"))?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let sender = conn.sender();
    let (close_tx, mut close_rx) = tokio::sync::oneshot::channel::<()>();
    let s = seen.clone();
    let task = tokio::spawn(async move {
        let mut closing = false;
        loop {
            let ev = tokio::select! {
                ev = conn.recv() => ev,
                _ = &mut close_rx, if !closing => {
                    closing = true;
                    let _ = conn.close(1000, "demo over");
                    continue;
                }
            };
            let Some(ev) = ev else { break };
            let mut st = s.lock().expect("demo lock");
            match ev {
                Event::Open(o) => {
                    st.opens += 1;
                    st.transport = o.transport.to_string();
                    if st.opens > 1 {
                        log(
                            start,
                            name,
                            format_args!("open again via {} — resuming", o.transport),
                        );
                    }
                }
                Event::Message(m) if m.event.as_deref().is_none_or(|e| e == "message") => {
                    st.received.push(payload(&m, ndjson))
                }
                Event::Reconnecting {
                    attempt,
                    delay,
                    cause,
                } => {
                    st.reconnects += 1;
                    log(
                        start,
                        name,
                        format_args!(
                            "reconnecting (attempt {attempt} in {} ms): {cause}",
                            delay.as_millis()
                        ),
                    );
                }
                Event::Error(e) => log(start, name, format_args!("error ({}): {e}", e.kind())),
                Event::Closed(_) => {
                    st.closed = true;
                    break;
                }
                _ => {}
            }
        }
    });
    Ok(Client {
        name,
        latest_only,
        seen,
        sender,
        conn_close: close_tx,
        task,
    })
}

fn table(clients: &[Client], expected: &[String]) {
    println!();
    println!(
        "  {:<10} {:<10} {:>8} {:>6} {:>10}  last",
        "client", "transport", "received", "opens", "reconnects"
    );
    for c in clients {
        let s = c.seen.lock().expect("demo lock");
        println!(
            "  {:<10} {:<10} {:>5}/{:<2} {:>6} {:>10}  {}",
            c.name,
            s.transport,
            s.received.len(),
            expected.len(),
            s.opens,
            s.reconnects,
            s.received.last().map(String::as_str).unwrap_or("-")
        );
    }
    println!();
}

/// Whether a client has everything (or, latest-only, the last message).
fn caught_up(c: &Client, expected: &[String]) -> bool {
    let s = c.seen.lock().expect("demo lock");
    if c.latest_only {
        s.received.last() == expected.last()
    } else {
        s.received.len() >= expected.len()
    }
}

/// Checks a client's messages: all, once, in order (latest-only: an ordered
/// subset ending with the last).
fn verdict(c: &Client, expected: &[String]) -> Result<(), String> {
    let s = c.seen.lock().expect("demo lock");
    if !c.latest_only {
        return if s.received == expected {
            Ok(())
        } else {
            Err(format!("{}: got {:?}", c.name, s.received))
        };
    }
    let mut it = expected.iter();
    let ordered_subset = s.received.iter().all(|r| it.any(|e| e == r));
    if ordered_subset && s.received.last() == expected.last() {
        Ok(())
    } else {
        Err(format!("{}: got {:?}", c.name, s.received))
    }
}

async fn wait_all(clients: &[Client], expected: &[String], limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if clients.iter().all(|c| caught_up(c, expected)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Runs the demo.
/// An application route: each client gets an answer meant for it alone.
async fn hello_route(mut conn: rtwire::Connection, req: rtwire::server::Request) {
    let name = req.query_param("name").unwrap_or_else(|| "stranger".into());
    while let Some(event) = conn.recv().await {
        if let rtwire::Event::Message(m) = event {
            let asked = m.data.as_text().unwrap_or("").to_string();
            let reply = format!(
                "{name}, you asked {asked:?}; you are connection #{}",
                req.id
            );
            if conn.send(reply).await.is_err() {
                break;
            }
        }
    }
}

/// Three clients of the `/hello` route, over WebSocket, SSE with POST up
/// and long polling: each gets its own answer, and only its own.
async fn private_exchange(start: Instant, addr: std::net::SocketAddr) -> Result<(), String> {
    let opts = |t: Transport| Options::new().transport(t).reconnect(Reconnect::disabled());
    let mut people = Vec::new();
    for (name, url, transport) in [
        (
            "alice",
            format!("ws://{addr}/hello?name=alice"),
            Transport::WebSocket,
        ),
        (
            "bob",
            format!("http://{addr}/hello?name=bob&transport=sse"),
            Transport::Sse,
        ),
        (
            "carol",
            format!("http://{addr}/hello?name=carol&transport=poll"),
            Transport::LongPoll,
        ),
    ] {
        let conn = rtwire::connect(&url, opts(transport))
            .await
            .map_err(|e| format!("{name} cannot connect to /hello: {e}"))?;
        people.push((name, conn));
    }
    log(
        start,
        "route",
        "alice (websocket), bob (sse, POST up) and carol (long_poll, POST up) open /hello: \
         one connection and one handler each, the same handler whatever the transport",
    );
    for (name, conn) in &people {
        conn.send(format!("who am I? ({name})"))
            .await
            .map_err(|e| e.to_string())?;
    }
    for (name, conn) in &mut people {
        let reply = loop {
            match tokio::time::timeout(Duration::from_secs(5), conn.recv()).await {
                Ok(Some(rtwire::Event::Message(m))) => {
                    break m.data.as_text().unwrap_or("").to_string()
                }
                Ok(Some(_)) => continue,
                _ => return Err(format!("{name} got no answer from /hello")),
            }
        };
        log(start, name, format_args!("got {reply:?}"));
        if !reply.starts_with(&format!("{name},")) {
            return Err(format!(
                "{name} got an answer meant for someone else: {reply:?}"
            ));
        }
        // Nothing else arrives: the other client's answer went to it alone.
        if let Ok(Some(rtwire::Event::Message(m))) =
            tokio::time::timeout(Duration::from_millis(200), conn.recv()).await
        {
            return Err(format!("{name} also got {:?}", m.data));
        }
        let _ = conn.close(1000, "bye");
    }
    log(start, "route", "each answer reached its own client only");
    Ok(())
}

pub async fn run(a: Args) -> Result<(), String> {
    let start = Instant::now();
    let server = Server::start(ServerOptions::new().route("/hello", hello_route))
        .await
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let addr = server.local_addr();
    let base = server.base_url();
    log(
        start,
        "server",
        format_args!("listening on {base} (epoch {})", server.epoch()),
    );
    let proxy = refusing_proxy::start(addr)
        .await
        .map_err(|e| format!("cannot start the proxy: {e}"))?;
    log(
        start,
        "proxy",
        format_args!("{proxy}: refuses WebSocket upgrades, passes the rest"),
    );

    let quick = Reconnect::default()
        .initial_delay(Duration::from_millis(150))
        .max_delay(Duration::from_secs(1));
    let o = || Options::new().reconnect(quick);
    let ch = "demo";
    let specs: Vec<(&'static str, String, Options, bool)> = vec![
        (
            "websocket",
            format!("ws://{addr}/ws/{ch}"),
            o().rtwire_protocol(true),
            false,
        ),
        (
            "sse",
            format!("{base}/sse/{ch}"),
            o().transport(Transport::Sse),
            false,
        ),
        (
            "long-poll",
            format!("{base}/poll/{ch}"),
            o().transport(Transport::LongPoll)
                .cursor(Cursor::new(CursorFrom::JsonField("cursor".into()))),
            false,
        ),
        (
            "poll",
            format!("{base}/latest/{ch}"),
            o().transport(Transport::Poll)
                .poll_interval(Duration::from_millis(60)),
            true,
        ),
        (
            "stream",
            format!("{base}/stream/{ch}?cursor={}-0", server.epoch()),
            o().transport(Transport::Stream)
                .framing(Framing::Ndjson)
                .cursor(Cursor::new(CursorFrom::JsonField("id".into()))),
            false,
        ),
        ("auto", format!("http://{proxy}/negotiate/{ch}"), o(), false),
    ];
    let mut clients = Vec::new();
    for (name, url, opts, latest) in specs {
        let c = client(start, name, url, opts, latest).await?;
        let t = {
            // The first Open is queued before connect returns.
            tokio::time::sleep(Duration::from_millis(20)).await;
            c.seen.lock().expect("demo lock").transport.clone()
        };
        log(start, name, format_args!("connected via {t}"));
        clients.push(c);
    }
    // Let every subscription settle (long polls hold their second request).
    tokio::time::sleep(Duration::from_millis(300)).await;

    let n = a.messages.max(1);
    let mut expected: Vec<String> = Vec::new();
    for i in 1..=n {
        let m = format!("#{i}");
        server.publish(ch, m.as_str());
        expected.push(m);
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    let hello = "hello from the websocket client".to_string();
    clients[0]
        .sender
        .send(hello.as_str())
        .await
        .map_err(|e| e.to_string())?;
    expected.push(hello);
    let posted = "hello from the auto client (POST)".to_string();
    if !wait_all(&clients, &expected, Duration::from_secs(10)).await {
        table(&clients, &expected);
        return Err("clients did not receive the first messages within 10 s".into());
    }
    clients[5]
        .sender
        .send(posted.as_str())
        .await
        .map_err(|e| e.to_string())?;
    expected.push(posted);
    if !wait_all(&clients, &expected, Duration::from_secs(10)).await {
        table(&clients, &expected);
        return Err("clients did not receive the sent messages within 10 s".into());
    }
    log(start, "demo", "every client has every message so far:");
    table(&clients, &expected);

    log(
        start,
        "server",
        "cutting every connection at once (no close frames)",
    );
    server.disconnect_all();
    for i in n + 1..=2 * n {
        let m = format!("#{i}");
        server.publish(ch, m.as_str());
        expected.push(m);
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    let ok = wait_all(&clients, &expected, Duration::from_secs(15)).await;
    log(start, "demo", "after the cut:");
    table(&clients, &expected);
    let mut failures: Vec<String> = clients
        .iter()
        .filter_map(|c| verdict(c, &expected).err())
        .collect();
    if !ok && failures.is_empty() {
        failures.push("not every client caught up within 15 s".into());
    }
    for c in clients {
        let _ = c.conn_close.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), c.task).await;
    }
    if let Err(e) = private_exchange(start, addr).await {
        failures.push(e);
    }
    server.shutdown().await;
    if failures.is_empty() {
        println!(
            "demo ok: {} messages reached all 6 clients (short polling: the latest state) once each, in order, across a cut; each /hello client got its own answer only",
            expected.len()
        );
        Ok(())
    } else {
        Err(format!("demo failed: {}", failures.join("; ")))
    }
}
