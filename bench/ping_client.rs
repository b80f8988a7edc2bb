//! The reference client for the binding benchmarks: bare tokio-tungstenite
//! on one thread, no rtwire code. What it measures against
//! `bench_echo_server` is the machine's floor — the kernel, the loopback
//! and the server — which no client in any language gets under.
//!
//! ```sh
//! cargo run --release -p rtwire --example bench_ping_client -- ws://127.0.0.1:<port>/ 1
//! ```
//!
//! Runs 64 B ping-pong, then 1 MiB echo, each for the given seconds (after
//! a quarter of that to warm up), one message in flight at a time, and
//! prints `RT <round trips/s> MIB <MiB/s> CPU <µs of CPU per round trip>`.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TcpStream>;

/// Round trips of `payload` until `limit` has passed; how many.
async fn round_trips(ws: &mut Ws, payload: &[u8], limit: Duration) -> Result<u64, String> {
    let end = Instant::now() + limit;
    let mut n = 0u64;
    // Bounded by the clock, and by a count no run at this size reaches.
    while Instant::now() < end && n < 100_000_000 {
        ws.send(Message::binary(payload.to_vec()))
            .await
            .map_err(|e| e.to_string())?;
        match ws.next().await {
            Some(Ok(Message::Binary(b))) if b.len() == payload.len() => n += 1,
            other => return Err(format!("unexpected reply: {other:?}")),
        }
    }
    Ok(n)
}

/// CPU time (user + system) of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: `getrusage` fills the zeroed struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Warms up for a quarter of `secs`, then measures: (per second, CPU µs each).
async fn measure(ws: &mut Ws, payload: &[u8], secs: f64) -> Result<(f64, f64), String> {
    round_trips(ws, payload, Duration::from_secs_f64(secs / 4.0)).await?;
    let (start, cpu) = (Instant::now(), cpu_time());
    let n = round_trips(ws, payload, Duration::from_secs_f64(secs)).await?;
    let per_s = n as f64 / start.elapsed().as_secs_f64();
    let cpu_each = (cpu_time() - cpu).as_secs_f64() * 1e6 / n.max(1) as f64;
    Ok((per_s, cpu_each))
}

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: bench_ping_client <ws-url> [seconds]")?;
    let secs: f64 = args
        .next()
        .map_or(Ok(1.0), |s| s.parse().map_err(|_| "bad seconds"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let addr = url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .ok_or("the URL is ws://host:port/...")?;
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let (mut ws, _) = tokio_tungstenite::client_async(url.as_str(), tcp)
            .await
            .map_err(|e| e.to_string())?;
        let (rt_s, cpu) = measure(&mut ws, &[7u8; 64], secs).await?;
        let (big_s, _) = measure(&mut ws, &vec![9u8; 1 << 20], secs).await?;
        println!("RT {rt_s:.0} MIB {big_s:.1} CPU {cpu:.2}");
        let _ = ws.close(None).await;
        Ok(())
    })
}
