//! The one load client of `bench/server_peers.sh`: bare tokio-tungstenite on
//! a current-thread runtime, so that every echo server compared is driven
//! by exactly the same code.
//!
//! ```sh
//! bench_load_client echo      <ws-url> <rounds> <seconds>
//! bench_load_client idle      <ws-url> <connections> <server pid>
//! bench_load_client broadcast <ws-url> <members> <messages> <rounds>
//! ```
//!
//! `echo` prints the medians of `pingpong <round trips/s>`, `pipelined
//! <messages/s>` (64 B, 1,000 in flight) and `big <MB/s>` (16 MiB echo);
//! `idle` prints `idle <KiB of server RSS per connection> <connections>`;
//! `broadcast` prints `broadcast <deliveries/s>`. Every loop is bounded by a
//! count and a clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TcpStream>;
type Res<T> = Result<T, String>;

const WINDOW: usize = 1000;
const BIG: usize = 16 << 20;
/// No wait in this client lasts longer.
const PATIENCE: Duration = Duration::from_secs(60);

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Opens a WebSocket to `url`; `small` gives it 4 KiB buffers (for the many
/// connections of `idle` and `broadcast`).
async fn open(url: &str, small: bool) -> Res<Ws> {
    let addr = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .ok_or("the URL is ws://host:port/...")?;
    let tcp = TcpStream::connect(addr).await.map_err(err)?;
    tcp.set_nodelay(true).map_err(err)?;
    let mut cfg = WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    if small {
        cfg = cfg.read_buffer_size(4096).write_buffer_size(0);
    }
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, tcp, Some(cfg))
        .await
        .map_err(err)?;
    Ok(ws)
}

/// The next data message, within `PATIENCE`.
async fn next_data(ws: &mut Ws) -> Res<Bytes> {
    loop {
        match tokio::time::timeout(PATIENCE, ws.next()).await {
            Err(_) => return Err("no reply in time".into()),
            Ok(Some(Ok(Message::Binary(b)))) => return Ok(b),
            Ok(Some(Ok(Message::Text(t)))) => return Ok(Bytes::from(t.as_str().to_owned())),
            Ok(Some(Ok(_))) => continue,
            Ok(other) => return Err(format!("connection ended: {other:?}")),
        }
    }
}

/// One message of `payload` at a time for `limit`: round trips done.
async fn ping_pong(ws: &mut Ws, payload: Bytes, limit: Duration) -> Res<u64> {
    let end = Instant::now() + limit;
    let mut n = 0u64;
    while Instant::now() < end && n < 100_000_000 {
        ws.send(Message::Binary(payload.clone()))
            .await
            .map_err(err)?;
        if next_data(ws).await?.len() != payload.len() {
            return Err("echo of another size".into());
        }
        n += 1;
    }
    Ok(n)
}

/// `WINDOW` messages in flight for `limit`: echoes received.
async fn pipelined(ws: &mut Ws, payload: Bytes, limit: Duration) -> Res<u64> {
    let end = Instant::now() + limit;
    let (mut sent, mut got) = (0u64, 0u64);
    for _ in 0..WINDOW {
        ws.feed(Message::Binary(payload.clone()))
            .await
            .map_err(err)?;
        sent += 1;
    }
    ws.flush().await.map_err(err)?;
    while got < sent && got < 1_000_000_000 {
        next_data(ws).await?;
        got += 1;
        // Whatever else is there already, then as many new ones.
        while let Some(Some(Ok(m))) = ws.next().now_or_never() {
            if m.is_binary() {
                got += 1;
            }
        }
        if Instant::now() < end {
            while sent < got + WINDOW as u64 {
                ws.feed(Message::Binary(payload.clone()))
                    .await
                    .map_err(err)?;
                sent += 1;
            }
            ws.flush().await.map_err(err)?;
        }
    }
    Ok(got)
}

/// The median of `xs` (sorted here).
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

/// Runs `rounds` rounds of `secs` (after a warm-up of a quarter of that);
/// the median of `count / seconds * scale`.
async fn rate<F>(ws: &mut Ws, rounds: usize, secs: f64, scale: f64, mut work: F) -> Res<f64>
where
    F: for<'a> FnMut(&'a mut Ws, Duration) -> futures_util::future::BoxFuture<'a, Res<u64>>,
{
    work(ws, Duration::from_secs_f64(secs / 4.0)).await?;
    let mut xs = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let n = work(ws, Duration::from_secs_f64(secs)).await?;
        xs.push(n as f64 * scale / start.elapsed().as_secs_f64());
    }
    Ok(median(xs))
}

async fn echo(url: &str, rounds: usize, secs: f64) -> Res<()> {
    let small = Bytes::from(vec![7u8; 64]);
    let big = Bytes::from(vec![9u8; BIG]);
    let mut ws = open(url, false).await?;
    let pp = rate(&mut ws, rounds, secs, 1.0, |ws, d| {
        ping_pong(ws, small.clone(), d).boxed()
    })
    .await?;
    println!("pingpong {pp:.0}");
    let pl = rate(&mut ws, rounds, secs, 1.0, |ws, d| {
        pipelined(ws, small.clone(), d).boxed()
    })
    .await?;
    println!("pipelined {pl:.0}");
    let mb = rate(&mut ws, rounds, secs, BIG as f64 / 1e6, |ws, d| {
        ping_pong(ws, big.clone(), d).boxed()
    })
    .await?;
    println!("big {mb:.1}");
    let _ = ws.close(None).await;
    Ok(())
}

/// `VmRSS` of process `pid` in KiB.
fn rss_kib(pid: &str) -> Res<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(err)?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS".into())
}

/// `n` connections of 4 KiB buffers, each opened with a round trip.
async fn open_many(url: &str, n: usize) -> Res<Vec<Ws>> {
    let mut conns = Vec::with_capacity(n);
    let hello = Bytes::from_static(b"hi");
    for _ in 0..n {
        let mut ws = open(url, true).await?;
        ws.send(Message::Binary(hello.clone())).await.map_err(err)?;
        next_data(&mut ws).await?;
        conns.push(ws);
    }
    Ok(conns)
}

async fn idle(url: &str, n: usize, pid: &str) -> Res<()> {
    let warm = open_many(url, 1).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid)?;
    let conns = open_many(url, n).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(pid)?;
    println!(
        "idle {:.2} {n}",
        after.saturating_sub(before) as f64 / n as f64
    );
    drop((warm, conns));
    Ok(())
}

/// What a member read: its first byte is 0 for a warm-up message, 1 for a
/// measured one.
async fn member(
    mut rx: futures_util::stream::SplitStream<Ws>,
    warm: Arc<AtomicU64>,
    got: Arc<AtomicU64>,
) {
    let mut warmed = false;
    while let Ok(Some(Ok(m))) = tokio::time::timeout(PATIENCE, rx.next()).await {
        match m.into_data().first() {
            Some(0) if !warmed => {
                warmed = true;
                warm.fetch_add(1, Ordering::Relaxed);
            }
            Some(1) => {
                got.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

/// Waits (polling, bounded by `PATIENCE`) until `counter` reaches `want`.
async fn until(counter: &AtomicU64, want: u64) -> Res<()> {
    let end = Instant::now() + PATIENCE;
    while counter.load(Ordering::Relaxed) < want {
        if Instant::now() > end {
            return Err(format!(
                "only {} of {want} arrived in time",
                counter.load(Ordering::Relaxed)
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

async fn broadcast(url: &str, members: usize, messages: u64, rounds: usize) -> Res<()> {
    let (warm, got) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut sender = None;
    for _ in 0..members {
        let (tx, rx) = open(url, true).await?.split();
        tokio::spawn(member(rx, warm.clone(), got.clone()));
        sender.get_or_insert(tx);
    }
    let mut tx = sender.ok_or("no members")?;
    // Warm-up messages until every member has one: all are in the room.
    let end = Instant::now() + PATIENCE;
    while warm.load(Ordering::Relaxed) < members as u64 && Instant::now() < end {
        tx.send(Message::binary(vec![0u8; 64])).await.map_err(err)?;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    until(&warm, members as u64).await?;
    let payload = Bytes::from(vec![1u8; 64]);
    let mut xs = Vec::new();
    for r in 0..rounds as u64 {
        let start = Instant::now();
        for _ in 0..messages {
            tx.feed(Message::Binary(payload.clone()))
                .await
                .map_err(err)?;
        }
        tx.flush().await.map_err(err)?;
        until(&got, (r + 1) * messages * members as u64).await?;
        xs.push((messages * members as u64) as f64 / start.elapsed().as_secs_f64());
    }
    println!("broadcast {:.0}", median(xs));
    let _ = tx.close().await;
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> Res<&str> {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| "usage: see bench/load_client.rs".to_string())
    };
    let num = |i: usize| -> Res<u64> { arg(i)?.parse().map_err(err) };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(err)?;
    rt.block_on(async {
        let url = arg(1)?;
        match arg(0)? {
            "echo" => echo(url, num(2)? as usize, arg(3)?.parse().map_err(err)?).await,
            "idle" => idle(url, num(2)? as usize, arg(3)?).await,
            "broadcast" => broadcast(url, num(2)? as usize, num(3)?, num(4)? as usize).await,
            other => Err(format!("unknown workload {other}")),
        }
    })
}
